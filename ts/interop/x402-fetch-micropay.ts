/**
 * x402's own TypeScript client — `@x402/fetch`'s `wrapFetchWithPayment` —
 * paying `micropay` offers through micropay's `@x402/core` scheme module
 * (`ts/src/x402-micropay.ts`). The Rust test `x402_fetch_pays_micropay`
 * runs it against `micropay serve` after `micropay fetch` opened the channel
 * and paid from it: the script knows only the wallet, finds the channel on
 * chain, derives its session key, and catches up with what the CLI signed
 * from the server's `stale` refusal (whose held voucher it verifies).
 *
 * Environment: `X402_URL`, `X402_RPC_URL`, `X402_KEYPAIR` (the wallet's
 * Solana CLI keypair file), `X402_NETWORK`, `X402_ASSET` (the mint),
 * `X402_BUDGET` (base units this client may sign for), `X402_REQUESTS`.
 * Prints one JSON line: the answers, the channel, what it signed for.
 */
import { readFileSync } from "node:fs";
import anchor from "@coral-xyz/anchor";
import { Connection, Keypair, PublicKey } from "@solana/web3.js";
import { decodePaymentResponseHeader, wrapFetchWithPayment, x402Client } from "@x402/fetch";
import { micropayProgram } from "../src/micropay.js";
import { channelsOnChain, MemoryChannels, registerMicropayScheme } from "../src/x402-micropay.js";

function env(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`set ${name}`);
  return value;
}

const secret = Uint8Array.from(JSON.parse(readFileSync(env("X402_KEYPAIR"), "utf8")) as number[]);
const mint = new PublicKey(env("X402_ASSET"));
const connection = new Connection(env("X402_RPC_URL"), "confirmed");
const program = micropayProgram(
  new anchor.AnchorProvider(connection, new anchor.Wallet(Keypair.fromSecretKey(secret)), {}),
);
const channels = await channelsOnChain(program, secret, mint);

const network = env("X402_NETWORK") as `${string}:${string}`;
const client = x402Client.fromConfig({
  schemes: [],
  spendControls: { allowedAssets: [{ network, asset: mint.toBase58() }] },
});
const scheme = registerMicropayScheme(client, {
  channels: new MemoryChannels(channels),
  budgets: { [mint.toBase58()]: BigInt(env("X402_BUDGET")) },
  programId: program.programId,
});
const paying = wrapFetchWithPayment(fetch, client);

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
    channels: channels.map((c) => c.channel.toBase58()),
    signedFor: scheme.spending(mint).toString(),
  }),
);
