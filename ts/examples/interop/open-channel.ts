/**
 * `@micropay/sdk` opens a channel that Rust then pays from: the Rust test
 * `a_channel_opened_in_typescript_is_paid_from_rust` runs this, then
 * `micropay fetch`, which finds the channel on chain and derives the same
 * session key from the same wallet.
 *
 * Environment: `X402_RPC_URL`, `X402_KEYPAIR` (the wallet's Solana CLI
 * keypair file; its escrow of the mint exists), `X402_ASSET` (the mint),
 * `CREATOR`, `ALLOCATION` (base units). Prints one JSON line: the channel
 * and its session key.
 */
import { readFileSync } from "node:fs";
import { createKeyPairSignerFromBytes, createSolanaRpc, type Address } from "@solana/kit";
import { fundAndOpen, keyFromStored, MemoryStore, Payer } from "@micropay/sdk";

function env(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`set ${name}`);
  return value;
}

const wallet = await createKeyPairSignerFromBytes(Uint8Array.from(JSON.parse(readFileSync(env("X402_KEYPAIR"), "utf8")) as number[]));
const ctx = { rpc: createSolanaRpc(env("X402_RPC_URL")), wallet };
const payer = await Payer.open(new MemoryStore(), { total: {} });
const { record } = await fundAndOpen(
  ctx,
  { mint: env("X402_ASSET") as Address, creator: env("CREATOR") as Address, deposit: 0n, allocation: BigInt(env("ALLOCATION")) },
  payer,
);
console.log(JSON.stringify({ channel: record.channel, session: (await keyFromStored(record.key)).address }));
