/**
 * `payingFetch` and the `micropay` scheme against servers in this process:
 * an honest one (a small receiver: it verifies each voucher and holds the
 * highest) and hostile ones — one that takes every voucher and answers 402
 * anyway, one that echoes each voucher as a duplicate, one whose refusal carries a forged held voucher, one that raises
 * its price past the budget, one offering another program, one that
 * redirects a paid request to another origin. The payer never signs past
 * its budget, never resyncs to a voucher its key did not sign, never pays
 * a redirect.
 */
import assert from "node:assert/strict";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { test } from "node:test";
import type { Address } from "@solana/kit";
import { decodePaymentSignatureHeader, encodePaymentRequiredHeader, encodePaymentResponseHeader } from "@x402/core/http";
import {
  fromWire,
  keyFromSeed,
  MemoryStore,
  MICROPAY_PROGRAM_ADDRESS,
  OriginMismatch,
  Payer,
  PaymentError,
  payingFetch,
  SchemeError,
  signVoucher,
  toWire,
  verifyVoucher,
  type Voucher,
} from "../src/index.js";

const MINT = "So11111111111111111111111111111111111111112" as Address;
const CREATOR = "CktRuQ2mttgRGkXJtyksdKHjUdc2C4TgDzyB98oEzy8" as Address;
const CHANNEL = "8qbHbw2BbbTHBW1sbeqakYXVKRQM8Ne7pLK7m6CVfeR" as Address;
const SEED = new Uint8Array(32).fill(1);

type Mode = "honest" | "take-and-402" | "echo-duplicate" | "forged-held" | "price-rise" | "other-program" | "closing" | "negative-price" | "fractional-price";

/** A server selling `/item` at `price` under `mode`; `served` counts what it served. */
async function server(mode: Mode, price = 10n) {
  const session = await keyFromSeed(SEED);
  const state = { held: undefined as Voucher | undefined, served: 0, price, echoed: 0 };
  const offer = (url: string, info?: object) => ({
    x402Version: 2,
    error: "payment required",
    resource: { url, description: "", mimeType: "text/plain" },
    accepts: [
      {
        scheme: "micropay",
        network: "solana:localnet",
        amount: mode === "negative-price" ? "-100" : mode === "fractional-price" ? "0.5" : state.price.toString(),
        asset: MINT,
        payTo: CREATOR,
        maxTimeoutSeconds: 60,
        extra: { programId: mode === "other-program" ? CREATOR : MICROPAY_PROGRAM_ADDRESS },
      },
    ],
    ...(info ? { extensions: { micropay: { info } } } : {}),
  });
  const refuse = (res: ServerResponse, url: string, info?: object) => {
    res.writeHead(402, { "PAYMENT-REQUIRED": encodePaymentRequiredHeader(offer(url, info) as never) }).end();
  };
  const http = createServer(async (req: IncomingMessage, res: ServerResponse) => {
    const url = `http://${req.headers.host}${req.url}`;
    const header = req.headers["payment-signature"] as string | undefined;
    if (!header) return refuse(res, url);
    const voucher = fromWire(decodePaymentSignatureHeader(header).payload);
    if (!voucher || !(await verifyVoucher(voucher, session.address))) return refuse(res, url, { reason: "bad_signature" });
    const held = state.held?.amount ?? 0n;
    if (mode === "closing") return refuse(res, url, { reason: "closing", channel: CHANNEL });
    if (mode === "take-and-402") {
      state.held = voucher;
      return refuse(res, url);
    }
    if (mode === "echo-duplicate" && voucher.amount > held && state.echoed++ % 2 === 0) {
      // "I hold this one already" — true: it was just sent it
      state.held = voucher;
      return refuse(res, url, { reason: "duplicate", channel: CHANNEL, held: toWire(voucher) });
    }
    if (voucher.amount - held < state.price) {
      const h = mode === "forged-held" ? { ...toWire(await signVoucher(session, CHANNEL, held + 1_000n)), amount: (held + 2_000n).toString() } : state.held && toWire(state.held);
      return refuse(res, url, { reason: voucher.amount === held ? "duplicate" : "stale", channel: CHANNEL, held: h });
    }
    state.held = voucher;
    state.served++;
    if (mode === "price-rise") state.price *= 10n;
    res.writeHead(200, { "PAYMENT-RESPONSE": encodePaymentResponseHeader({ success: true, transaction: "", network: "solana:localnet", payer: CHANNEL } as never) }).end("item");
  });
  await new Promise<void>((r) => http.listen(0, "127.0.0.1", r));
  const origin = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  return { origin, state, close: () => new Promise((r) => (http.closeAllConnections(), http.close(r))) };
}

async function payer(budget = 100n, cumulative = 0n) {
  const key = await keyFromSeed(SEED);
  const p = await Payer.open(new MemoryStore(), { total: { [MINT]: budget } });
  await p.adopt({ channel: CHANNEL, escrow: CHANNEL, owner: CHANNEL, creator: CREATOR, mint: MINT, nonce: 1n, allocation: 10_000n, cumulative, key: key.stored });
  return p;
}

test("an honest server is paid once per request, to its budget, and then the payer stops", async () => {
  const s = await server("honest");
  const p = await payer(50n);
  const fetch = payingFetch(p);
  for (let i = 0; i < 5; i++) assert.equal((await fetch(`${s.origin}/item`)).status, 200);
  await assert.rejects(fetch(`${s.origin}/item`), (e) => e instanceof PaymentError && e.refusal.reason === "budget");
  assert.equal(s.state.served, 5);
  assert.equal(s.state.held?.amount, 50n);
  assert.equal(p.spent(MINT), 50n);
  assert.equal(p.spent(MINT, s.origin), 50n);
  await s.close();
});

test("a payer behind the server catches up from the verified held voucher", async () => {
  const s = await server("honest");
  const other = await payer(1_000n);
  const f1 = payingFetch(other);
  for (let i = 0; i < 3; i++) await f1(`${s.origin}/item`);
  // a second payer of the same channel (another tab that lost its storage) starts at 0
  const p = await payer(1_000n);
  const response = await payingFetch(p)(`${s.origin}/item`);
  assert.equal(response.status, 200);
  assert.equal(s.state.held?.amount, 40n);
  assert.equal(p.spent(MINT), 10n, "the refused voucher is uncounted");
  await s.close();
});

test("a server that takes every voucher and answers 402 gets one price: the unanswered voucher is sent again, not signed anew", async () => {
  const s = await server("take-and-402");
  const p = await payer(30n);
  const fetch = payingFetch(p);
  for (let i = 0; i < 6; i++) assert.equal((await fetch(`${s.origin}/item`)).status, 402);
  assert.equal(s.state.held?.amount, 10n);
  assert.equal(p.spent(MINT), 10n);
  assert.equal(s.state.served, 0);
  await s.close();
});

test("a server that echoes each voucher as a duplicate gets what was counted, never more than the budget", async () => {
  const s = await server("echo-duplicate");
  const p = await payer(100n);
  const fetch = payingFetch(p);
  for (let i = 0; i < 10; i++) await fetch(`${s.origin}/item`).catch(() => undefined);
  assert.equal(s.state.held?.amount, p.spent(MINT), "what it can claim is what was counted");
  assert.equal(p.spent(MINT), 100n);
  assert.equal(s.state.served, 5, "half the budget's uses: the other half echoed");
  await s.close();
});

test("a refusal carrying a forged held voucher moves nothing", async () => {
  const s = await server("forged-held");
  const p = await payer(1_000n);
  const fetch = payingFetch(p);
  assert.equal((await fetch(`${s.origin}/item`)).status, 200);
  // the payer's channel is now behind by a forged "held" of 2,010
  const behind = await payer(1_000n);
  assert.equal((await payingFetch(behind)(`${s.origin}/item`)).status, 402);
  assert.equal(behind.channels()[0]!.cumulative, 10n, "not moved to the forged amount");
  await s.close();
});

test("a price raised past the budget is not paid", async () => {
  const s = await server("price-rise");
  const p = await payer(50n);
  const fetch = payingFetch(p);
  assert.equal((await fetch(`${s.origin}/item`)).status, 200);
  await assert.rejects(fetch(`${s.origin}/item`), /budget of 50/);
  assert.equal(p.spent(MINT), 10n);
  await s.close();
});

test("an offer of another program is not paid", async () => {
  const s = await server("other-program");
  const p = await payer();
  await assert.rejects(payingFetch(p)(`${s.origin}/item`), (e) => e instanceof SchemeError && e.reason === "unsupported");
  assert.equal(p.spent(MINT), 0n);
  await s.close();
});

test("a 402 from another origin (a redirect) is not paid", async () => {
  const target = await server("honest");
  const redirect = createServer((req, res) => res.writeHead(302, { location: `${target.origin}${req.url}` }).end());
  await new Promise<void>((r) => redirect.listen(0, "127.0.0.1", r));
  const origin = `http://127.0.0.1:${(redirect.address() as AddressInfo).port}`;
  const p = await payer();
  await assert.rejects(payingFetch(p)(`${origin}/item`), (e) => e instanceof OriginMismatch && e.answered === target.origin);
  assert.equal(p.spent(MINT), 0n);
  assert.equal(target.state.served, 0);
  redirect.closeAllConnections();
  redirect.close();
  await target.close();
});

test("an offer on another network than the channels' is not paid", async () => {
  const s = await server("honest");
  const p = await payer();
  await assert.rejects(payingFetch(p, { network: "solana:EtWTRABZaYq6iMfeYKouRu166VU2xqa1" })(`${s.origin}/item`), (e) => e instanceof SchemeError && e.reason === "other_network");
  assert.equal(p.spent(MINT), 0n);
  assert.equal((await payingFetch(p, { network: "solana:localnet" })(`${s.origin}/item`)).status, 200);
  await s.close();
});

test("a channel closed elsewhere is retired at the server's refusal; the next payment says to open one", async () => {
  const s = await server("closing");
  const p = await payer();
  const fetch = payingFetch(p);
  assert.equal((await fetch(`${s.origin}/item`)).status, 402);
  assert.equal(p.channels()[0]!.retired, "closing");
  await assert.rejects(fetch(`${s.origin}/item`), (e) => e instanceof PaymentError && e.refusal.reason === "no_channel");
  await s.close();
});

test("a negative, fractional or malformed price is refused: it cannot give budget back", async () => {
  for (const mode of ["negative-price", "fractional-price"] as const) {
    const s = await server(mode);
    // a channel that paid 500 already: "-100" would have signed 400 and taken 100 off the spending
    const p = await payer(100n, 500n);
    await assert.rejects(payingFetch(p)(`${s.origin}/item`), (e) => e instanceof SchemeError && e.reason === "unsupported");
    assert.equal(p.spent(MINT), 0n);
    assert.equal(p.channels()[0]!.cumulative, 500n);
    await s.close();
  }
});
