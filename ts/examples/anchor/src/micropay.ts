/**
 * What a TypeScript dApp needs beside the IDL to use micropay with
 * `@anchor-lang/core`: the typed `Program`, the voucher (signed off chain
 * with tweetnacl), the claim's remaining accounts, and the events, which
 * micropay emits with `emit_cpi!` (as inner instructions, not log lines:
 * `program.addEventListener` and `EventParser` never see them).
 */
// Anchor ships CommonJS whose exports Node's ESM loader cannot all name:
// take values from the default export, types by name.
import anchor from "@anchor-lang/core";
import type { AnchorProvider, BN, Program } from "@anchor-lang/core";
import { PublicKey, VersionedTransactionResponse } from "@solana/web3.js";
import nacl from "tweetnacl";
import idlJson from "../../../../idl/micropay.json" with { type: "json" };
import type { Micropay } from "../../../../idl/micropay.js";

export type { Micropay };

/** The micropay program through `provider` (the IDL carries its address). */
export function micropayProgram(provider: AnchorProvider): Program<Micropay> {
  return new anchor.Program<Micropay>(idlJson as Micropay, provider);
}

/** A named constant of the IDL, as bytes (seeds, the voucher domain). */
function constantBytes(name: string): Buffer {
  const constant = idlJson.constants.find((c) => c.name === name);
  if (!constant) throw new Error(`the IDL has no constant ${name}`);
  return Buffer.from(JSON.parse(constant.value) as number[]);
}

/** `NO_ACCOUNT_INDEX`: a claim entry without a fee recipient. */
export const NO_ACCOUNT_INDEX: number = Number(
  idlJson.constants.find((c) => c.name === "NO_ACCOUNT_INDEX")?.value,
);

/** The payer's escrow for `mint`: `["escrow", owner, mint]`. */
export function escrowAddress(programId: PublicKey, owner: PublicKey, mint: PublicKey): PublicKey {
  return PublicKey.findProgramAddressSync(
    [constantBytes("ESCROW_SEED"), owner.toBuffer(), mint.toBuffer()],
    programId,
  )[0];
}

/** A channel of `escrow`: `["channel", escrow, generation, id, nonce]` (each u64 LE). */
export function channelAddress(
  programId: PublicKey,
  escrow: PublicKey,
  generation: bigint,
  id: bigint,
  nonce: bigint,
): PublicKey {
  const u64 = (v: bigint) => {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(v);
    return b;
  };
  return PublicKey.findProgramAddressSync(
    [constantBytes("CHANNEL_SEED"), escrow.toBuffer(), u64(generation), u64(id), u64(nonce)],
    programId,
  )[0];
}

/** An earnings account: `["earnings", owner, mint]`. */
export function earningsAddress(programId: PublicKey, owner: PublicKey, mint: PublicKey): PublicKey {
  return PublicKey.findProgramAddressSync(
    [constantBytes("EARNINGS_SEED"), owner.toBuffer(), mint.toBuffer()],
    programId,
  )[0];
}

/**
 * The 47-byte voucher message: `VOUCHER_DOMAIN ‖ channel ‖ amount (u64 LE)`.
 * A voucher is cumulative: it says "this channel may pay its creator
 * `amount` in total".
 */
export function voucherMessage(channel: PublicKey, amount: BN): Uint8Array {
  return Buffer.concat([
    constantBytes("VOUCHER_DOMAIN"),
    channel.toBuffer(),
    amount.toArrayLike(Buffer, "le", 8),
  ]);
}

/** Signs a voucher with the channel's session key (a tweetnacl secret key). */
export function signVoucher(sessionSecretKey: Uint8Array, channel: PublicKey, amount: BN): number[] {
  return Array.from(nacl.sign.detached(voucherMessage(channel, amount), sessionSecretKey));
}

/** One voucher to claim. */
export interface VoucherToClaim {
  channel: PublicKey;
  /** The channel creator's earnings account for the channel's mint. */
  creatorEarnings: PublicKey;
  /** The fee recipient's earnings account, for channels with a fee share. */
  feeEarnings?: PublicKey;
  amount: BN;
  signature: number[];
}

/**
 * The `claim` arguments and remaining accounts for `vouchers`: each distinct
 * account once, writable, and every entry pointing at its accounts by index.
 */
export function claimArgs(vouchers: VoucherToClaim[]) {
  const keys: PublicKey[] = [];
  const index = (key: PublicKey): number => {
    const at = keys.findIndex((k) => k.equals(key));
    if (at >= 0) return at;
    keys.push(key);
    return keys.length - 1;
  };
  const entries = vouchers.map((v) => ({
    channelIndex: index(v.channel),
    earningsIndex: index(v.creatorEarnings),
    feeEarningsIndex: v.feeEarnings ? index(v.feeEarnings) : NO_ACCOUNT_INDEX,
    amount: v.amount,
    signature: v.signature,
  }));
  const remainingAccounts = keys.map((pubkey) => ({ pubkey, isSigner: false, isWritable: true }));
  return { args: { entries }, remainingAccounts };
}

/** Anchor's event-CPI tag: the first 8 bytes of every event instruction. */
const EVENT_IX_TAG = Buffer.from("e445a52e51cb9a1d", "hex");

/** A decoded micropay event: its (camelCase) name and data. */
export interface MicropayEvent {
  name: string;
  data: Record<string, unknown>;
}

/**
 * The micropay events of a confirmed transaction (`getTransaction`), in
 * order: each is an inner instruction of the program to itself whose data is
 * the event-CPI tag, then the event (discriminator and Borsh fields).
 */
export function eventsOf(
  program: Program<Micropay>,
  tx: VersionedTransactionResponse,
): MicropayEvent[] {
  const keys = tx.transaction.message.getAccountKeys({
    accountKeysFromLookups: tx.meta?.loadedAddresses,
  });
  const events: MicropayEvent[] = [];
  for (const inner of tx.meta?.innerInstructions ?? []) {
    for (const ix of inner.instructions) {
      if (!keys.get(ix.programIdIndex)?.equals(program.programId)) continue;
      const data = Buffer.from(anchor.utils.bytes.bs58.decode(ix.data));
      if (data.length < 8 || !data.subarray(0, 8).equals(EVENT_IX_TAG)) continue;
      const event = program.coder.events.decode(data.subarray(8).toString("base64"));
      if (event) events.push({ name: event.name, data: event.data as Record<string, unknown> });
    }
  }
  return events;
}
