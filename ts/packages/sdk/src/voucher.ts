/**
 * Vouchers: "this channel may pay its creator `amount` in total", signed by
 * the channel's signer. The message is the same 47 bytes as
 * `micropay_sdk::voucher`: `VOUCHER_DOMAIN ‖ channel ‖ amount (u64 LE)`.
 */
import { getAddressEncoder, getBase58Decoder, getBase58Encoder, type Address } from "@solana/kit";
import { verifyEd25519, type Ed25519Key } from "./ed25519.js";
import { VOUCHER_DOMAIN } from "./generated/constants.js";

/** A signed cumulative voucher. */
export interface Voucher {
  channel: Address;
  /** Cumulative base units the channel may pay its creator. */
  amount: bigint;
  /** Ed25519 signature of [`voucherMessage`], 64 bytes. */
  signature: Uint8Array;
}

/** The voucher on the wire (`micropay_sdk::x402::WireVoucher`): amount in decimal, signature in base58. */
export interface WireVoucher {
  channel: string;
  amount: string;
  signature: string;
}

/** Bytes in a voucher message. */
export const VOUCHER_MESSAGE_LEN = VOUCHER_DOMAIN.length + 32 + 8;

/** The largest u64. */
export const U64_MAX = 0xffff_ffff_ffff_ffffn;

/** `text` as a u64 when it is one in decimal digits (what the wire and the state file carry), else `undefined`. */
export function parseU64(text: unknown): bigint | undefined {
  if (typeof text !== "string" || !/^[0-9]{1,20}$/.test(text)) return undefined;
  const value = BigInt(text);
  return value <= U64_MAX ? value : undefined;
}

// a payer signs many vouchers of one channel: its domain ‖ channel prefix is kept
let lastPrefix: { channel: Address; bytes: Uint8Array } | undefined;

/** The 47 bytes a voucher's signature covers. */
export function voucherMessage(channel: Address, amount: bigint): Uint8Array {
  if (amount < 0n || amount > U64_MAX) throw new RangeError(`a voucher amount is a u64, not ${amount}`);
  if (lastPrefix?.channel !== channel) {
    const bytes = new Uint8Array(VOUCHER_DOMAIN.length + 32);
    bytes.set(VOUCHER_DOMAIN);
    bytes.set(getAddressEncoder().encode(channel), VOUCHER_DOMAIN.length);
    lastPrefix = { channel, bytes };
  }
  const message = new Uint8Array(VOUCHER_MESSAGE_LEN);
  message.set(lastPrefix.bytes);
  new DataView(message.buffer).setBigUint64(lastPrefix.bytes.length, amount, true);
  return message;
}

/** Signs `amount` on `channel` with `key` (the channel's signer). */
export async function signVoucher(key: Ed25519Key, channel: Address, amount: bigint): Promise<Voucher> {
  return { channel, amount, signature: await key.sign(voucherMessage(channel, amount)) };
}

/** Whether `voucher` is signed by `signer`. */
export function verifyVoucher(voucher: Voucher, signer: Address): Promise<boolean> {
  return verifyEd25519(signer, voucher.signature, voucherMessage(voucher.channel, voucher.amount));
}

/** `voucher` as the wire carries it. */
export function toWire(voucher: Voucher): WireVoucher {
  return {
    channel: voucher.channel,
    amount: voucher.amount.toString(),
    signature: getBase58Decoder().decode(voucher.signature),
  };
}

/** A wire voucher read back; `undefined` when any field is malformed. */
export function fromWire(wire: unknown): Voucher | undefined {
  const w = wire as Partial<WireVoucher> | undefined;
  if (typeof w?.channel !== "string" || typeof w.amount !== "string" || typeof w.signature !== "string") return undefined;
  const amount = parseU64(w.amount);
  if (amount === undefined) return undefined;
  try {
    const channel = w.channel as Address;
    getAddressEncoder().encode(channel);
    const signature = Uint8Array.from(getBase58Encoder().encode(w.signature));
    return signature.length === 64 ? { channel, amount, signature } : undefined;
  } catch {
    return undefined;
  }
}
