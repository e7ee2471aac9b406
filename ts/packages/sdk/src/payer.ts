/**
 * The payer: signs each channel's next cumulative voucher, within the
 * channel's allocation and the budgets, and writes it before it leaves.
 *
 * Rules, as the Rust payer (`micropay_client::payer`, `micropay_http::pay`):
 * - write-ahead: the new reservation, the voucher and its spending are one
 *   store write, done before `pay` returns the voucher. A crash never lets
 *   the same amount pay for two uses.
 * - a voucher whose answer was not seen (a transport error, a closed tab, a
 *   5xx, a refusal the payer did not cause) stays *pending* and is sent
 *   again with the next payment on its channel, never signed anew: a
 *   failure that was not the payer's is not paid twice.
 * - resync: a refusal carrying the server's held voucher moves the channel
 *   only when that voucher verifies against the channel's own session key;
 *   a voucher sent for the first time that the server holds more than
 *   added nothing and its spending is given back; one it holds exactly, or
 *   a re-sent one, stays counted (see `resync`).
 *
 * One payment at a time per channel: vouchers are cumulative, so a later
 * one arriving first would pay for the earlier use too (`payingFetch`
 * keeps one paid request in flight per origin).
 */
import type { Address } from "@solana/kit";
import { admit, spendWrites, spentIn, type BudgetRefusal, type Budgets } from "./budget.js";
import { keyFromStored, type Ed25519Key } from "./ed25519.js";
import { applyWrite, StoreConflict, TOTAL, type ChannelRecord, type PayerState, type PayerStore, type Write } from "./store.js";
import { signVoucher, U64_MAX, verifyVoucher, type Voucher } from "./voucher.js";

/** Why the payer did not pay. */
export type PaymentRefusal =
  | { reason: "bad_price"; price: bigint }
  | { reason: "no_channel"; creator: Address; mint: Address }
  | { reason: "exceeds_allocation"; channel: Address; allocation: bigint; cumulative: bigint; price: bigint }
  | ({ reason: "budget"; mint: Address; origin: string; price: bigint } & BudgetRefusal);

/** A payment the payer refused; nothing was signed. */
export class PaymentError extends Error {
  constructor(readonly refusal: PaymentRefusal) {
    super(describe(refusal));
    this.name = "PaymentError";
  }
}

function describe(r: PaymentRefusal): string {
  switch (r.reason) {
    case "bad_price":
      return `a price of ${r.price} base units cannot be paid: a price is a positive u64`;
    case "no_channel":
      return `no open channel pays ${r.creator} in ${r.mint}: open one`;
    case "exceeds_allocation":
      return `channel ${r.channel} holds ${r.allocation} and has paid ${r.cumulative}; ${r.price} more needs a top-up`;
    case "budget":
      return `paying ${r.price} would pass the ${r.scope === "total" ? "total" : r.origin} budget of ${r.limit} in ${r.mint} (${r.spent} spent)`;
  }
}

/** A payment asked for. */
export interface PaymentRequest {
  /** Where the request goes (`https://host:port`), for its budget. */
  origin: string;
  creator: Address;
  mint: Address;
  price: bigint;
}

/** A voucher to send, and whether it is a pending one sent again. */
export interface Payment {
  voucher: Voucher;
  resent: boolean;
}

/** The payer's side of micropay, over a store. */
export class Payer {
  private state: PayerState;
  private readonly keys = new Map<Address, Ed25519Key>();
  /** Per channel, the voucher this payer signed and sent once, not re-sent yet. */
  private readonly fresh = new Map<Address, bigint>();
  private readonly queues = new Map<Address, Promise<unknown>>();

  private constructor(
    private readonly store: PayerStore,
    public budgets: Budgets,
    state: PayerState,
  ) {
    this.state = state;
  }

  /** The payer of `store`'s state. */
  static async open(store: PayerStore, budgets: Budgets): Promise<Payer> {
    return new Payer(store, budgets, await store.load());
  }

  /** The channels held (copies). */
  channels(): ChannelRecord[] {
    return structuredClone(this.state.channels);
  }

  /** What was signed for in `mint`, in total or from `origin`. */
  spent(mint: Address, origin: string = TOTAL): bigint {
    return spentIn(this.state, origin, mint);
  }

  /** Reads the store again (another tab or process may have written). */
  async reload(): Promise<void> {
    this.state = await this.store.load();
  }

  /**
   * Keeps `record` (a channel opened here, found on chain, or topped up).
   * A channel already held keeps the higher reservation of the two and its
   * pending voucher; the allocation is `record`'s.
   */
  async adopt(record: ChannelRecord): Promise<void> {
    await this.serial(record.channel, async () => {
      const held = this.find(record.channel);
      const cumulative = held && held.cumulative > record.cumulative ? held.cumulative : record.cumulative;
      const next = { ...record, cumulative, ...(held?.pending ? { pending: held.pending } : {}) };
      await this.commit({ channels: [{ record: next, expected: held?.cumulative ?? null }] });
    });
  }

  /** The next voucher for `request`: the pending one, or a new one written first. */
  pay(request: PaymentRequest): Promise<Payment> {
    if (request.price <= 0n || request.price > U64_MAX) {
      return Promise.reject(new PaymentError({ reason: "bad_price", price: request.price }));
    }
    const channel = this.usable(request.creator, request.mint);
    if (!channel) {
      return Promise.reject(new PaymentError({ reason: "no_channel", creator: request.creator, mint: request.mint }));
    }
    return this.serial(channel.channel, () => this.payOn(channel.channel, request));
  }

  private async payOn(address: Address, request: PaymentRequest): Promise<Payment> {
    for (let attempt = 0; ; attempt++) {
      const channel = this.find(address);
      if (!channel || channel.retired) throw new PaymentError({ reason: "no_channel", creator: request.creator, mint: request.mint });
      if (channel.pending) {
        const { amount, signature } = channel.pending;
        this.fresh.delete(address); // sent before: no longer its first time
        return { voucher: { channel: address, amount, signature }, resent: true };
      }
      const next = this.admitted(channel, request);
      const voucher = await signVoucher(await this.key(channel), address, next);
      try {
        await this.commit({
          channels: [{ record: { ...channel, cumulative: next, pending: { amount: next, signature: voucher.signature } }, expected: channel.cumulative }],
          spend: spendWrites(this.budgets, request.origin, request.mint, request.price),
        });
        this.fresh.set(address, next);
        return { voucher, resent: false };
      } catch (e) {
        // another tab moved the channel or spent: read again, decide again
        if (!(e instanceof StoreConflict) || attempt > 0) throw this.refusalOf(e, request);
        await this.reload();
      }
    }
  }

  /** The next cumulative amount for `request` on `channel`, or a `PaymentError`. */
  private admitted(channel: ChannelRecord, request: PaymentRequest): bigint {
    const next = channel.cumulative + request.price;
    if (next > channel.allocation) {
      throw new PaymentError({
        reason: "exceeds_allocation",
        channel: channel.channel,
        allocation: channel.allocation,
        cumulative: channel.cumulative,
        price: request.price,
      });
    }
    const refusal = admit(this.state, this.budgets, request.origin, request.mint, request.price);
    if (refusal) throw new PaymentError({ reason: "budget", mint: request.mint, origin: request.origin, price: request.price, ...refusal });
    return next;
  }

  private refusalOf(e: unknown, request: PaymentRequest): unknown {
    if (!(e instanceof StoreConflict) || e.kind !== "over_limit") return e;
    const refusal = admit(this.state, this.budgets, request.origin, request.mint, request.price);
    return refusal
      ? new PaymentError({ reason: "budget", mint: request.mint, origin: request.origin, price: request.price, ...refusal })
      : e;
  }

  /**
   * The server served the request `voucher` paid for: it is no longer
   * pending. Kept in memory only — the next payment's write records it — so
   * a payment costs one store write. After a crash before that write the
   * voucher is sent once more, and the server's `duplicate` (holding it)
   * proves it was taken.
   */
  async answered(voucher: Voucher): Promise<void> {
    await this.serial(voucher.channel, async () => {
      const channel = this.find(voucher.channel);
      if (channel?.pending?.amount !== voucher.amount) return;
      this.fresh.delete(voucher.channel);
      const { pending: _, ...rest } = channel;
      this.state = { ...this.state, channels: this.state.channels.map((c) => (c.channel === rest.channel ? rest : c)) };
    });
  }

  /**
   * The server refused `sent` (`stale` or `duplicate`) holding `held`.
   * True when the channel moved to it (pay again); false when `held` is
   * not this channel's own voucher at or above ours (nothing changes).
   *
   * A voucher signed and sent once that the server holds more than added
   * nothing (the held one was signed elsewhere: another tab, the CLI, this
   * payer before its storage was wiped): its spending is given back. One
   * the server says it holds exactly stays counted: it can be claimed, and
   * a hostile server could echo any voucher it was just sent to have it
   * given back (after a wipe, the use paid before is counted once more). A
   * re-sent voucher the server holds, or holds more than, may have been
   * taken for a use whose answer was lost: it stays counted as well (never
   * less than what can be claimed).
   */
  async resync(sent: Voucher, held: Voucher, origin: string, price: bigint): Promise<boolean> {
    return this.serial(sent.channel, async () => {
      const channel = this.find(sent.channel);
      if (!channel || held.channel !== sent.channel || held.amount < sent.amount || held.amount > channel.allocation) return false;
      if (!(await verifyVoucher(held, (await this.key(channel)).address))) return false;
      const fresh = this.fresh.get(sent.channel) === sent.amount;
      this.fresh.delete(sent.channel);
      const { pending: _, ...rest } = channel;
      const cumulative = held.amount > channel.cumulative ? held.amount : channel.cumulative;
      const giveBack = fresh && held.amount > sent.amount ? spendWrites(this.budgets, origin, channel.mint, -price) : [];
      await this.commit({ channels: [{ record: { ...rest, cumulative }, expected: channel.cumulative }], spend: giveBack });
      return true;
    });
  }

  /** Stops paying from `channel` (a server refused it for good, or it is closing). */
  async retire(channel: Address, why: string): Promise<void> {
    await this.serial(channel, async () => {
      const held = this.find(channel);
      if (!held || held.retired) return;
      await this.commit({ channels: [{ record: { ...held, retired: why }, expected: held.cumulative }] });
    });
  }

  /** Forgets `channel` (closed and settled). */
  async forget(channel: Address): Promise<void> {
    await this.serial(channel, () => this.commit({ removed: [channel] }));
  }

  /** The session key of `channel`. */
  async key(channel: ChannelRecord): Promise<Ed25519Key> {
    let key = this.keys.get(channel.channel);
    if (!key) {
      key = await keyFromStored(channel.key);
      this.keys.set(channel.channel, key);
    }
    return key;
  }

  private usable(creator: Address, mint: Address): ChannelRecord | undefined {
    const open = this.state.channels.filter((c) => !c.retired && c.creator === creator && c.mint === mint);
    // one with a pending voucher first (it must be sent again), then the one with most left
    const left = (c: ChannelRecord) => c.allocation - c.cumulative;
    return open.find((c) => c.pending) ?? open.sort((a, b) => (left(b) > left(a) ? 1 : left(b) < left(a) ? -1 : 0))[0];
  }

  private find(channel: Address): ChannelRecord | undefined {
    return this.state.channels.find((c) => c.channel === channel);
  }

  private async commit(write: Write): Promise<void> {
    await this.store.write(write);
    // the store took it: mirror it without reading back
    this.state = applyWrite(this.state, write, false);
  }

  /** Runs `f` after every earlier call on `channel` settled. */
  private serial<T>(channel: Address, f: () => Promise<T>): Promise<T> {
    const run = (this.queues.get(channel) ?? Promise.resolve()).then(f, f);
    this.queues.set(channel, run.catch(() => undefined));
    return run;
  }
}
