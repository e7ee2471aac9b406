/**
 * The browser half of the bench (`bench.ts` loads it in Chromium):
 * `micropayBench(config)` measures, in this page, vouchers signed per
 * second (WebCrypto Ed25519 and `@noble/ed25519`), payments per second
 * through the payer with IndexedDB (each one a durable write), and the time
 * a micropay 402 → paid answer takes against a free request to the same
 * server.
 */
import type { Address } from "@solana/kit";
import { IndexedDbStore, payingFetch } from "@micropay/sdk";
import { paysPerSecond, percentile, signRates } from "./measure.js";

interface BenchConfig {
  vouchers: number;
  payments: number;
  requests: number;
  channel: Address;
  creator: Address;
  mint: Address;
  seed: number[];
}

async function timed(n: number, f: () => Promise<Response>): Promise<number[]> {
  const times = [];
  for (let i = 0; i < n; i++) {
    const start = performance.now();
    const response = await f();
    await response.arrayBuffer();
    if (response.status !== 200) throw new Error(`answered ${response.status}`);
    times.push(performance.now() - start);
  }
  return times.sort((a, b) => a - b);
}

async function bench(c: BenchConfig) {
  const subject = { channel: c.channel, creator: c.creator, mint: c.mint, seed: Uint8Array.from(c.seed) };
  const signing = await signRates(subject, c.vouchers);
  const store = await IndexedDbStore.open(`bench-${Date.now()}`);
  const { payer, perSecond: pays } = await paysPerSecond(store, subject, c.payments, location.origin);
  const free = await timed(c.requests, () => fetch("/free"));
  const paying = payingFetch(payer);
  const paid = await timed(c.requests, () => paying("/paid"));
  return {
    ...signing,
    pays,
    freeP50: percentile(free, 50),
    freeP99: percentile(free, 99),
    paidP50: percentile(paid, 50),
    paidP99: percentile(paid, 99),
  };
}

Object.assign(window, { micropayBench: bench });
