/**
 * The payer's rules (see `src/payer.ts`), each as an attacker or a crash
 * would test it: write-ahead, pending vouchers sent again and never signed
 * anew, budgets in total and per origin (also across two tabs sharing a
 * store), a failed store write that signs nothing, and resync only to a
 * held voucher of the channel's own key.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import type { Address } from "@solana/kit";
import {
  keyFromSeed,
  MemoryStore,
  Payer,
  PaymentError,
  signVoucher,
  verifyVoucher,
  type Budgets,
  type ChannelRecord,
  type PayerStore,
  type Write,
} from "../src/index.js";

const MINT = "So11111111111111111111111111111111111111112" as Address;
const CREATOR = "CktRuQ2mttgRGkXJtyksdKHjUdc2C4TgDzyB98oEzy8" as Address;
const CHANNEL = "8qbHbw2BbbTHBW1sbeqakYXVKRQM8Ne7pLK7m6CVfeR" as Address;
const A = "https://a.example";
const B = "https://b.example";
const SEED = new Uint8Array(32).fill(1);

async function channel(allocation = 1_000n): Promise<ChannelRecord> {
  const key = await keyFromSeed(SEED);
  return { channel: CHANNEL, escrow: CHANNEL, owner: CHANNEL, creator: CREATOR, mint: MINT, nonce: 7n, allocation, cumulative: 0n, key: key.stored };
}

async function payer(budgets: Budgets = { total: { [MINT]: 10_000n } }, store: PayerStore = new MemoryStore()) {
  const p = await Payer.open(store, budgets);
  await p.adopt(await channel());
  return p;
}

const pay = (p: Payer, price = 10n, origin = A) => p.pay({ origin, creator: CREATOR, mint: MINT, price });

function refusal(reason: string) {
  return (e: unknown) => e instanceof PaymentError && e.refusal.reason === reason;
}

test("each payment signs the next cumulative amount, written before it is returned", async () => {
  const store = new MemoryStore();
  const p = await payer(undefined, store);
  const first = await pay(p);
  assert.equal(first.voucher.amount, 10n);
  assert.ok(await verifyVoucher(first.voucher, (await keyFromSeed(SEED)).address));
  const stored = (await store.load()).channels[0]!;
  assert.equal(stored.cumulative, 10n);
  assert.deepEqual(stored.pending, { amount: 10n, signature: first.voucher.signature });
  await p.answered(first.voucher);
  assert.ok((await store.load()).channels[0]!.pending, "answered costs no write");
  const second = await pay(p, 15n);
  assert.equal(second.voucher.amount, 25n);
  assert.equal(p.spent(MINT), 25n);
});

test("a voucher whose answer was not seen is sent again, not signed anew — also after a restart", async () => {
  const store = new MemoryStore();
  const p = await payer(undefined, store);
  const sent = await pay(p);
  // the tab closed before the answer: a new payer over the same store
  const again = await Payer.open(store, { total: { [MINT]: 10_000n } });
  const resent = await pay(again);
  assert.equal(resent.resent, true);
  assert.deepEqual(resent.voucher, sent.voucher);
  assert.equal(again.spent(MINT), 10n, "counted once");
});

test("budgets: nothing is signed past the total or an origin's budget", async () => {
  const p = await payer({ total: { [MINT]: 50n }, perOrigin: { [A]: { [MINT]: 20n } } });
  await p.answered((await pay(p, 20n, A)).voucher);
  await assert.rejects(pay(p, 1n, A), (e) => refusal("budget")(e) && (e as PaymentError).refusal.reason === "budget" && ((e as PaymentError).refusal as { scope: string }).scope === "origin");
  await p.answered((await pay(p, 30n, B)).voucher);
  await assert.rejects(pay(p, 1n, B), (e) => refusal("budget")(e) && ((e as PaymentError).refusal as { scope: string }).scope === "total");
  assert.equal(p.spent(MINT), 50n);
  assert.equal(p.channels()[0]!.cumulative, 50n, "nothing signed past the budget");
});

test("a mint without a budget is not paid", async () => {
  const p = await payer({ total: {} });
  await assert.rejects(pay(p), refusal("budget"));
});

test("the channel's allocation bounds it; another creator or mint has no channel", async () => {
  const p = await payer();
  await assert.rejects(pay(p, 1_001n), refusal("exceeds_allocation"));
  await assert.rejects(p.pay({ origin: A, creator: MINT, mint: MINT, price: 1n }), refusal("no_channel"));
  await assert.rejects(p.pay({ origin: A, creator: CREATOR, mint: CREATOR, price: 1n }), refusal("no_channel"));
});

class FailingStore extends MemoryStore {
  failing = false;
  override async write(w: Write) {
    if (this.failing) throw new Error("disk full");
    return super.write(w);
  }
}

test("a failed store write signs nothing: no voucher, no spending, the channel where it was", async () => {
  const store = new FailingStore();
  const p = await payer(undefined, store);
  store.failing = true;
  await assert.rejects(pay(p), /disk full/);
  assert.equal(p.spent(MINT), 0n);
  assert.equal(p.channels()[0]!.cumulative, 0n);
  store.failing = false;
  assert.equal((await pay(p)).voucher.amount, 10n);
});

test("two tabs sharing a store never sign one amount twice nor pass the budget together", async () => {
  const store = new MemoryStore();
  const budgets = { total: { [MINT]: 30n } };
  const tab1 = await payer(budgets, store);
  const tab2 = await Payer.open(store, budgets);
  const v1 = await pay(tab1);
  await tab1.answered(v1.voucher);
  // tab2 read the store before tab1 paid: its write conflicts, it reads
  // again and finds tab1's voucher pending: sent again, not signed anew
  const v2 = await pay(tab2);
  assert.equal(v2.resent, true);
  assert.deepEqual(v2.voucher, v1.voucher);
  // the server holds it (a duplicate): tab2 goes on from there
  assert.equal(await tab2.resync(v2.voucher, v1.voucher, A, 10n), true);
  const v3 = await pay(tab2);
  assert.equal(v3.voucher.amount, 20n);
  await tab2.answered(v3.voucher);
  await tab1.reload();
  const v4 = await pay(tab1);
  assert.deepEqual(v4.voucher, v3.voucher);
  assert.equal(await tab1.resync(v4.voucher, v3.voucher, A, 10n), true);
  assert.equal((await pay(tab1)).voucher.amount, 30n);
  await tab2.reload();
  const last = await pay(tab2); // tab1's 30, pending: sent again
  assert.equal(last.resent, true);
  await tab2.answered(last.voucher);
  await assert.rejects(pay(tab2), refusal("budget"));
  assert.equal((await store.load()).spent[0]!.amount, 30n);
});

test("resync: a held voucher of the channel's own key ahead of ours moves the channel and gives ours back", async () => {
  const p = await payer();
  const sent = (await pay(p)).voucher; // 10
  const held = await signVoucher(await keyFromSeed(SEED), CHANNEL, 500n);
  assert.equal(await p.resync(sent, held, A, 10n), true);
  assert.equal(p.channels()[0]!.cumulative, 500n);
  assert.equal(p.spent(MINT), 0n, "ours added nothing");
  assert.equal((await pay(p)).voucher.amount, 510n);
});

test("resync refuses a forged, foreign, behind or over-allocation held voucher", async () => {
  const p = await payer();
  const sent = (await pay(p)).voucher;
  const other = await keyFromSeed(new Uint8Array(32).fill(2));
  const own = await keyFromSeed(SEED);
  const forged = { ...(await signVoucher(own, CHANNEL, 500n)), amount: 600n };
  const cases = [
    forged,
    await signVoucher(other, CHANNEL, 500n),
    await signVoucher(own, CREATOR, 500n),
    await signVoucher(own, CHANNEL, 5n),
    await signVoucher(own, CHANNEL, 1_001n),
  ];
  for (const held of cases) assert.equal(await p.resync(sent, held, A, 10n), false);
  assert.equal(p.channels()[0]!.cumulative, 10n);
  assert.equal(p.spent(MINT), 10n);
  assert.ok(p.channels()[0]!.pending, "ours is still pending");
});

test("after a crash that lost an answer, the voucher is sent again and the server's duplicate proves it taken", async () => {
  const store = new MemoryStore();
  const p = await payer(undefined, store);
  const sent = (await pay(p)).voucher;
  await p.answered(sent); // served, then the tab died before the next write
  const again = await Payer.open(store, { total: { [MINT]: 10_000n } });
  const resent = await pay(again);
  assert.equal(resent.resent, true);
  assert.equal(await again.resync(sent, sent, A, 10n), true);
  assert.equal((await pay(again)).voucher.amount, 20n);
  assert.equal(again.spent(MINT), 20n);
});

test("a duplicate of our re-sent voucher proves it was taken: it stays counted and the next is new", async () => {
  const p = await payer();
  const first = (await pay(p)).voucher;
  const again = await pay(p); // no answer seen: sent again
  assert.equal(again.resent, true);
  assert.equal(await p.resync(again.voucher, first, A, 10n), true);
  assert.equal(p.spent(MINT), 10n);
  const next = await pay(p);
  assert.equal(next.resent, false);
  assert.equal(next.voucher.amount, 20n);
});

test("a voucher sent the first time that the server says it holds stays counted: the server may be echoing it", async () => {
  const p = await payer();
  // another tab signed 10 and the server holds it, this payer's store was
  // wiped — or a hostile server echoes the voucher it was just sent
  const sent = (await pay(p)).voucher;
  assert.equal(await p.resync(sent, sent, A, 10n), true);
  assert.equal(p.spent(MINT), 10n, "it can be claimed");
  assert.equal((await pay(p)).voucher.amount, 20n);
  assert.equal(p.spent(MINT), 20n);
});

test("payments asked at once before any answer all send the one pending voucher, counted once", async () => {
  const p = await payer();
  const payments = await Promise.all(Array.from({ length: 20 }, () => pay(p, 1n)));
  assert.deepEqual(new Set(payments.map((x) => x.voucher.amount)), new Set([1n]));
  assert.equal(payments.filter((x) => !x.resent).length, 1);
  assert.equal(p.spent(MINT), 1n);
});

test("a retired channel is not paid from", async () => {
  const p = await payer();
  await p.retire(CHANNEL, "closing");
  await assert.rejects(pay(p), refusal("no_channel"));
  assert.equal(p.channels()[0]!.retired, "closing");
});

test("a price that is not a positive u64 is refused before anything is signed or counted", async () => {
  const p = await payer();
  for (const price of [0n, -10n, 1n << 64n]) await assert.rejects(pay(p, price), refusal("bad_price"));
  assert.equal(p.spent(MINT), 0n);
  assert.equal(p.channels()[0]!.cumulative, 0n);
});
