/**
 * x402's own TypeScript client — `@x402/fetch`'s `wrapFetchWithPayment`,
 * inside `@micropay/sdk`'s `payingFetch` — paying `micropay` offers with
 * vouchers. The Rust test `x402_fetch_pays_micropay` runs it against
 * `micropay serve` after `micropay fetch` opened the channel and paid from
 * it: the script knows only the wallet, finds the channel on chain, derives
 * its session key, and catches up with what the CLI signed from the
 * server's `stale` refusal (whose held voucher it verifies).
 *
 * Environment: `X402_URL`, `X402_RPC_URL`, `X402_KEYPAIR` (the wallet's
 * Solana CLI keypair file), `X402_ASSET` (the mint), `X402_BUDGET` (base
 * units this client may sign for), `X402_REQUESTS`. Prints one JSON line:
 * the answers, the channels, what it signed for.
 */
import { readFileSync } from "node:fs";
import { createKeyPairSignerFromBytes, createSolanaRpc, type Address } from "@solana/kit";
import { decodePaymentResponseHeader } from "@x402/fetch";
import { channelsOnChain, MemoryStore, Payer, payingFetch } from "@micropay/sdk";

function env(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`set ${name}`);
  return value;
}

const secret = Uint8Array.from(JSON.parse(readFileSync(env("X402_KEYPAIR"), "utf8")) as number[]);
const wallet = await createKeyPairSignerFromBytes(secret);
const mint = env("X402_ASSET") as Address;
const rpc = createSolanaRpc(env("X402_RPC_URL"));

const found = await channelsOnChain({ rpc, wallet }, mint);
const payer = await Payer.open(new MemoryStore(), { total: { [mint]: BigInt(env("X402_BUDGET")) } });
for (const channel of found) await payer.adopt(channel);
const paying = payingFetch(payer);

const answers = [];
for (let i = 0; i < Number(env("X402_REQUESTS")); i++) {
  try {
    const response = await paying(env("X402_URL"));
    const header = response.headers.get("PAYMENT-RESPONSE");
    answers.push({
      status: response.status,
      body: await response.text(),
      receipt: header ? decodePaymentResponseHeader(header) : null,
    });
  } catch (e) {
    answers.push({ error: e instanceof Error ? e.message : String(e) });
  }
}
console.log(
  JSON.stringify({
    answers,
    channels: found.map((c) => c.channel),
    signedFor: payer.spent(mint).toString(),
  }),
);
