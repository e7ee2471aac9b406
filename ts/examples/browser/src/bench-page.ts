/**
 * The browser half of the bench (`bench.ts` loads it in Chromium):
 * `micropayBench(config)` measures, in this page, vouchers signed per
 * second (WebCrypto Ed25519 and `@noble/ed25519`), payments per second
 * through the payer with IndexedDB (each one a durable write), and the time
 * a micropay 402 → paid answer takes against a free request to the same
 * server.
 */
import type { Address } from "@solana/kit";
import { forceNobleEd25519, IndexedDbStore, keyFromSeed, Payer, payingFetch, signVoucher, webCryptoEd25519 } from "@micropay/sdk";

interface BenchConfig {
  vouchers: number;
  payments: number;
  requests: number;
  channel: Address;
  creator: Address;
  mint: Address;
  seed: number[];
}

async function rate(n: number, f: (i: number) => Promise<unknown>): Promise<number> {
  const start = performance.now();
  for (let i = 0; i < n; i++) await f(i);
  return n / ((performance.now() - start) / 1000);
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))]!;
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
  const seed = Uint8Array.from(c.seed);
  const webcrypto = await webCryptoEd25519();
  const key = await keyFromSeed(seed);
  const signWebCrypto = await rate(c.vouchers, (i) => signVoucher(key, c.channel, BigInt(i + 1)));
  forceNobleEd25519();
  const nobleKey = await keyFromSeed(seed);
  const signNoble = await rate(c.vouchers, (i) => signVoucher(nobleKey, c.channel, BigInt(i + 1)));
  forceNobleEd25519(false);

  const store = await IndexedDbStore.open(`bench-${Date.now()}`);
  const payer = await Payer.open(store, { total: { [c.mint]: 1n << 62n } });
  const record = { channel: c.channel, escrow: c.channel, owner: c.channel, creator: c.creator, mint: c.mint, nonce: 0n, allocation: 1n << 62n, cumulative: 0n, key: key.stored };
  await payer.adopt(record);
  const pays = await rate(c.payments, async () => {
    const { voucher } = await payer.pay({ origin: location.origin, creator: c.creator, mint: c.mint, price: 1n });
    await payer.answered(voucher);
  });
  const free = await timed(c.requests, () => fetch("/free"));
  const paying = payingFetch(payer);
  const paid = await timed(c.requests, () => paying("/paid"));
  return {
    webcrypto,
    signWebCrypto,
    signNoble,
    pays,
    freeP50: percentile(free, 50),
    freeP99: percentile(free, 99),
    paidP50: percentile(paid, 50),
    paidP99: percentile(paid, 99),
  };
}

Object.assign(window, { micropayBench: bench });
