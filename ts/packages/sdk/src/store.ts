/**
 * Where a payer keeps its state: the channels it signs for (each with its
 * session key, its reservation and the voucher whose answer it has not
 * seen) and what it has spent, per mint, in total and per origin.
 *
 * A store is a dumb primitive under two rules every backend keeps (the
 * conformance suite in `testing.ts` checks them; `MemoryStore` here,
 * `FileStore` in `node.ts`, `IndexedDbStore` in `indexeddb.ts`):
 *
 * 1. A write is all or nothing, and durable when its promise resolves: a
 *    voucher leaves the payer only after the write naming it resolved.
 * 2. A write is a compare-and-set: each channel written names the
 *    reservation it expects to replace, and each spend the limit it may not
 *    pass; when either does not hold, nothing is written and the write
 *    fails with `StoreConflict`. So two tabs (or processes) sharing a store
 *    never sign the same amount twice, nor together pass a budget.
 */
import type { Address } from "@solana/kit";
import type { StoredKey } from "./ed25519.js";

/** A channel as its payer keeps it. */
export interface ChannelRecord {
  channel: Address;
  escrow: Address;
  /** The wallet that owns the escrow. */
  owner: Address;
  creator: Address;
  mint: Address;
  /** The nonce the session key derives from. */
  nonce: bigint;
  /** Most the channel can pay in total, base units. */
  allocation: bigint;
  /** The reservation: no voucher above it was ever signed. */
  cumulative: bigint;
  /** The voucher signed last whose answer was not seen: sent again, never signed anew. */
  pending?: { amount: bigint; signature: Uint8Array };
  /** The session key that signs this channel's vouchers. */
  key: StoredKey;
  /** Why this channel is no longer paid from (a server refused it for good, it is closing). */
  retired?: string;
}

/** What was signed for in `mint` from `origin` (`"*"`: every origin). */
export interface SpentRecord {
  origin: string;
  mint: Address;
  amount: bigint;
}

/** The origin under which total spending is kept. */
export const TOTAL = "*";

/** Everything a store holds. */
export interface PayerState {
  channels: ChannelRecord[];
  spent: SpentRecord[];
}

/** A channel to write, and the reservation the store must hold now (`null`: no such channel yet). */
export interface ChannelWrite {
  record: ChannelRecord;
  expected: bigint | null;
}

/** Spending to add (negative: given back), and the most the total may then be. */
export interface SpendWrite {
  origin: string;
  mint: Address;
  delta: bigint;
  limit?: bigint;
}

/** One atomic write. */
export interface Write {
  channels?: ChannelWrite[];
  spend?: SpendWrite[];
  /** Channels to forget. */
  removed?: Address[];
}

/** A write refused by the compare-and-set rule; nothing was written. */
export class StoreConflict extends Error {
  constructor(
    readonly kind: "channel_moved" | "over_limit",
    readonly subject: string,
  ) {
    super(
      kind === "channel_moved"
        ? `channel ${subject} moved in the store since it was read`
        : `spending in ${subject} would pass its limit`,
    );
    this.name = "StoreConflict";
  }
}

/** The payer's store. */
export interface PayerStore {
  load(): Promise<PayerState>;
  /** Writes all of `write` or nothing (rule 2); durable when it resolves (rule 1). */
  write(write: Write): Promise<void>;
}

/**
 * Applies `write` to `state` under rule 2 (a new state; `state` is left
 * alone), or throws `StoreConflict`. Backends that hold the whole state
 * (memory, a file) write with it; `check: false` mirrors a write a store
 * already took.
 */
export function applyWrite(state: PayerState, write: Write, check = true): PayerState {
  const channels = new Map(state.channels.map((c) => [c.channel, c]));
  for (const w of write.channels ?? []) {
    if (check) checkChannel(channels.get(w.record.channel), w);
    channels.set(w.record.channel, w.record);
  }
  for (const gone of write.removed ?? []) channels.delete(gone);
  const spent = new Map(state.spent.map((s) => [spentKey(s.origin, s.mint), s]));
  for (const s of write.spend ?? []) {
    const key = spentKey(s.origin, s.mint);
    spent.set(key, spentAfter(spent.get(key), s, check));
  }
  return { channels: [...channels.values()], spent: [...spent.values()] };
}

/** Rule 2 for one channel: `now` (the store's) must hold the reservation `w` expects. */
export function checkChannel(now: ChannelRecord | undefined, w: ChannelWrite): void {
  if ((now?.cumulative ?? null) !== w.expected) throw new StoreConflict("channel_moved", w.record.channel);
}

/** `now` (the store's) with `s` added, never below zero; rule 2: never past `s.limit` when it grows. */
export function spentAfter(now: SpentRecord | undefined, s: SpendWrite, check = true): SpentRecord {
  const amount = (now?.amount ?? 0n) + s.delta;
  if (check && s.limit !== undefined && s.delta > 0n && amount > s.limit) {
    throw new StoreConflict("over_limit", spentKey(s.origin, s.mint));
  }
  return { origin: s.origin, mint: s.mint, amount: amount < 0n ? 0n : amount };
}

/** The key of an origin's spending in a mint. */
export function spentKey(origin: string, mint: Address): string {
  return `${origin} ${mint}`;
}

/** A store in memory: for tests, and a process that recovers its channels from the chain. */
export class MemoryStore implements PayerStore {
  private state: PayerState = { channels: [], spent: [] };
  async load(): Promise<PayerState> {
    return structuredClone(this.state);
  }
  async write(write: Write): Promise<void> {
    this.state = applyWrite(this.state, structuredClone(write));
  }
}
