/**
 * What the bench measures the same way in Node (`bench.ts`) and in
 * Chromium (`bench-page.ts`): vouchers signed per second with each Ed25519
 * library, and payments per second through the payer over a store.
 */
import type { Address } from "@solana/kit";
import { forceNobleEd25519, keyFromSeed, Payer, signVoucher, webCryptoEd25519, type PayerStore } from "@micropay/sdk";

/** The channel measured on, and its session key's seed. */
export interface Subject {
  channel: Address;
  creator: Address;
  mint: Address;
  seed: Uint8Array;
}

/** Calls per second of `f`, `n` times one after another. */
export async function rate(n: number, f: (i: number) => Promise<unknown>): Promise<number> {
  const start = performance.now();
  for (let i = 0; i < n; i++) await f(i);
  return n / ((performance.now() - start) / 1000);
}

/** The `p`th percentile of `sorted`. */
export function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))]!;
}

/** `n` vouchers signed with WebCrypto Ed25519, then with `@noble/ed25519`. */
export async function signRates(s: Subject, n: number) {
  const webcrypto = await webCryptoEd25519();
  const key = await keyFromSeed(s.seed);
  const signWebCrypto = await rate(n, (i) => signVoucher(key, s.channel, BigInt(i + 1)));
  forceNobleEd25519();
  const nobleKey = await keyFromSeed(s.seed);
  const signNoble = await rate(n, (i) => signVoucher(nobleKey, s.channel, BigInt(i + 1)));
  forceNobleEd25519(false);
  return { webcrypto, signWebCrypto, signNoble };
}

/** `n` payments of 1 from `origin`, each answered, through a payer over `store`; the payer, to go on with. */
export async function paysPerSecond(store: PayerStore, s: Subject, n: number, origin: string) {
  const key = await keyFromSeed(s.seed);
  const payer = await Payer.open(store, { total: { [s.mint]: 1n << 62n } });
  await payer.adopt({ channel: s.channel, escrow: s.channel, owner: s.channel, creator: s.creator, mint: s.mint, nonce: 0n, allocation: 1n << 62n, cumulative: 0n, key: key.stored });
  const perSecond = await rate(n, async () => {
    const { voucher } = await payer.pay({ origin, creator: s.creator, mint: s.mint, price: 1n });
    await payer.answered(voucher);
  });
  return { payer, perSecond };
}
