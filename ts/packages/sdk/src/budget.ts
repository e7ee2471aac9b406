/**
 * Budgets: the most a payer signs for, per mint, in total and per origin.
 * A voucher counts when it is signed — the server may hold it whatever it
 * answers — and stays counted unless the server proves, with a later
 * voucher of the same channel's key, that it added nothing.
 *
 * `admit` is the pure decision; the store enforces the same limits again
 * inside its write (so tabs sharing a store cannot pass them together).
 */
import type { Address } from "@solana/kit";
import { spentKey, TOTAL, type PayerState, type SpendWrite } from "./store.js";

/** Limits in base units. A mint with no `total` limit is not paid at all. */
export interface Budgets {
  /** Per mint (base58): the most signed for from every origin together. */
  total: Record<string, bigint>;
  /** Per origin (`https://api.example.com`), per mint: the most signed for there. */
  perOrigin?: Record<string, Record<string, bigint>>;
}

/** Why a payment was not admitted. */
export interface BudgetRefusal {
  scope: "total" | "origin";
  limit: bigint;
  spent: bigint;
}

/** What `origin` has signed for in `mint` (`TOTAL`: everywhere). */
export function spentIn(state: PayerState, origin: string, mint: Address): bigint {
  const key = spentKey(origin, mint);
  return state.spent.find((s) => spentKey(s.origin, s.mint) === key)?.amount ?? 0n;
}

/** The spend writes of `price` from `origin` in `mint`, each with its limit. */
export function spendWrites(budgets: Budgets, origin: string, mint: Address, delta: bigint): SpendWrite[] {
  const writes: SpendWrite[] = [{ origin: TOTAL, mint, delta, limit: budgets.total[mint] ?? 0n }];
  const perOrigin = budgets.perOrigin?.[origin]?.[mint];
  writes.push({ origin, mint, delta, ...(perOrigin === undefined ? {} : { limit: perOrigin }) });
  return writes;
}

/** Whether `price` more from `origin` in `mint` stays within `budgets`. */
export function admit(
  state: PayerState,
  budgets: Budgets,
  origin: string,
  mint: Address,
  price: bigint,
): BudgetRefusal | undefined {
  for (const w of spendWrites(budgets, origin, mint, price)) {
    if (w.limit === undefined) continue;
    const spent = spentIn(state, w.origin, mint);
    if (spent + price > w.limit) return { scope: w.origin === TOTAL ? "total" : "origin", limit: w.limit, spent };
  }
  return undefined;
}
