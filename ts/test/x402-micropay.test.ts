/**
 * The `@x402/core` scheme module's own rules, without a cluster: a voucher
 * is the channel's next cumulative amount signed by its session key; the
 * store is written before a voucher exists (a failed write signs nothing
 * and counts nothing); budgets, the allocation and `@x402/core`'s
 * per-payment cap refuse before signing; a `stale` refusal moves the
 * channel only to a held voucher signed by its own key.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import anchor from "@coral-xyz/anchor";
import { PublicKey } from "@solana/web3.js";
import nacl from "tweetnacl";
import type { PaymentRequirements } from "@x402/core/types";
import { voucherMessage } from "../src/micropay.js";
import { MemoryChannels, MicropayScheme, type MicropayChannel, type MicropayChannels } from "../src/x402-micropay.js";

const programId = new PublicKey(new Uint8Array(32).fill(1));
const [creator, mint] = [new PublicKey(new Uint8Array(32).fill(2)), new PublicKey(new Uint8Array(32).fill(3))];
const PRICE = 1_000n;

function channel(cumulative = 0n, allocation = 10_000n): MicropayChannel {
  return {
    channel: new PublicKey(new Uint8Array(32).fill(4)),
    creator,
    mint,
    allocation,
    cumulative,
    session: nacl.sign.keyPair.fromSeed(new Uint8Array(32).fill(5)),
  };
}

function offer(): PaymentRequirements {
  return {
    scheme: "micropay",
    network: "solana:local",
    amount: PRICE.toString(),
    asset: mint.toBase58(),
    payTo: creator.toBase58(),
    maxTimeoutSeconds: 60,
    extra: { programId: programId.toBase58() },
  } as PaymentRequirements;
}

function scheme(channels: MicropayChannels, budget = 5_000n) {
  return new MicropayScheme({ channels, budgets: { [mint.toBase58()]: budget }, programId });
}

type Wire = { channel: string; amount: string; signature: string };

function verifies(c: MicropayChannel, v: Wire): boolean {
  const message = voucherMessage(c.channel, new anchor.BN(v.amount));
  return nacl.sign.detached.verify(message, anchor.utils.bytes.bs58.decode(v.signature), c.session.publicKey);
}

test("each payment signs the next cumulative amount, written first", async () => {
  const c = channel();
  const saved: bigint[] = [];
  const s = scheme({ find: async () => c, save: async (ch) => void saved.push(ch.cumulative) });
  for (const expected of [1_000n, 2_000n]) {
    const paid = await s.createPaymentPayload(2, offer());
    const v = paid.payload as unknown as Wire;
    assert.equal(v.amount, expected.toString());
    assert.ok(verifies(c, v));
  }
  assert.deepEqual(saved, [1_000n, 2_000n]);
  assert.equal(s.spending(mint), 2_000n);
});

test("a failed store write signs nothing and counts nothing", async () => {
  const c = channel();
  const s = scheme({
    find: async () => c,
    save: async () => {
      throw new Error("disk full");
    },
  });
  await assert.rejects(s.createPaymentPayload(2, offer()), /disk full/);
  assert.equal(c.cumulative, 0n);
  assert.equal(s.spending(mint), 0n);
});

test("budget, allocation, per-payment cap and a missing channel refuse before signing", async () => {
  const reason = async (s: MicropayScheme, cap?: string) =>
    s.createPaymentPayload(2, offer(), cap ? { maxAmountPerPayment: cap } : undefined).then(
      () => "paid",
      (e) => e.reason,
    );
  assert.equal(await reason(scheme(new MemoryChannels([channel()]), 999n)), "budget");
  assert.equal(await reason(scheme(new MemoryChannels([channel(9_500n)]))), "exceeds_allocation");
  assert.equal(await reason(scheme(new MemoryChannels([channel()])), "999"), "spend_cap");
  assert.equal(await reason(scheme(new MemoryChannels([]))), "no_channel");
});

test("a stale refusal moves the channel only to a held voucher of its own key", async () => {
  const c = channel();
  const s = scheme(new MemoryChannels([c]));
  const sent = (await s.createPaymentPayload(2, offer())).payload;
  const held = (amount: bigint, key: nacl.SignKeyPair) => ({
    channel: c.channel.toBase58(),
    amount: amount.toString(),
    signature: anchor.utils.bytes.bs58.encode(
      nacl.sign.detached(voucherMessage(c.channel, new anchor.BN(amount.toString())), key.secretKey),
    ),
  });
  const refusal = (h: object) => ({
    paymentPayload: { x402Version: 2, payload: sent, accepted: offer() },
    requirements: offer(),
    paymentRequired: { x402Version: 2, accepts: [], extensions: { micropay: { info: { reason: "stale", held: h } } } },
  });
  const hook = s.schemeHooks.onPaymentResponse!;
  // a held voucher signed by another key: nothing moves
  const forged = await hook(refusal(held(5_000n, nacl.sign.keyPair())) as never);
  assert.equal(forged, undefined);
  assert.equal(c.cumulative, 1_000n);
  // its own key's: the channel continues from it, the refused one uncounted
  const recovered = await hook(refusal(held(5_000n, c.session)) as never);
  assert.deepEqual(recovered, { recovered: true });
  assert.equal(c.cumulative, 5_000n);
  assert.equal(s.spending(mint), 0n);
  const next = (await s.createPaymentPayload(2, offer())).payload as unknown as Wire;
  assert.equal(next.amount, "6000");
});
