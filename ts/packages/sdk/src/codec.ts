/**
 * The payer's state as JSON (the file store's format): amounts as decimal
 * strings, bytes as hex. A session key is kept only as its seed; a WebCrypto
 * key pair cannot be written to a file.
 */
import type { Address } from "@solana/kit";
import type { StoredKey } from "./ed25519.js";
import type { ChannelRecord, PayerState, SpentRecord } from "./store.js";
import { parseU64 } from "./voucher.js";

/** The file format's version. */
export const STATE_VERSION = 1;

const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
function unhex(h: unknown, len: number, what: string): Uint8Array {
  if (typeof h !== "string" || h.length !== len * 2 || !/^[0-9a-f]*$/.test(h)) throw new Error(`${what}: not ${len} bytes of hex`);
  return Uint8Array.from(h.match(/../g)!, (x) => parseInt(x, 16));
}
function amount(v: unknown, what: string): bigint {
  const value = parseU64(v);
  if (value === undefined) throw new Error(`${what}: not a decimal amount`);
  return value;
}
function text(v: unknown, what: string): string {
  if (typeof v !== "string" || v.length === 0) throw new Error(`${what}: missing`);
  return v;
}

function keyToJson(key: StoredKey) {
  if (!("seed" in key)) throw new Error("a WebCrypto key cannot be written to a file: derive keys with keepSeed");
  return hex(key.seed);
}

/** `state` as the JSON text a file keeps. */
export function encodeState(state: PayerState): string {
  const channels = state.channels.map((c) => ({
    channel: c.channel,
    escrow: c.escrow,
    owner: c.owner,
    creator: c.creator,
    mint: c.mint,
    nonce: c.nonce.toString(),
    allocation: c.allocation.toString(),
    cumulative: c.cumulative.toString(),
    ...(c.pending ? { pending: { amount: c.pending.amount.toString(), signature: hex(c.pending.signature) } } : {}),
    seed: keyToJson(c.key),
    ...(c.retired ? { retired: c.retired } : {}),
  }));
  const spent = state.spent.map((s) => ({ origin: s.origin, mint: s.mint, amount: s.amount.toString() }));
  return JSON.stringify({ version: STATE_VERSION, channels, spent }, null, 1) + "\n";
}

/** The state in `json`; throws naming the field when it is malformed. */
export function decodeState(json: string): PayerState {
  const raw = JSON.parse(json) as { version?: unknown; channels?: unknown[]; spent?: unknown[] };
  if (raw.version !== STATE_VERSION) throw new Error(`payer state version ${String(raw.version)}: this sdk reads ${STATE_VERSION}`);
  const channels = (raw.channels ?? []).map((r, i): ChannelRecord => {
    const c = r as Record<string, unknown>;
    const at = `channels[${i}]`;
    const pending = c.pending as Record<string, unknown> | undefined;
    return {
      channel: text(c.channel, `${at}.channel`) as Address,
      escrow: text(c.escrow, `${at}.escrow`) as Address,
      owner: text(c.owner, `${at}.owner`) as Address,
      creator: text(c.creator, `${at}.creator`) as Address,
      mint: text(c.mint, `${at}.mint`) as Address,
      nonce: amount(c.nonce, `${at}.nonce`),
      allocation: amount(c.allocation, `${at}.allocation`),
      cumulative: amount(c.cumulative, `${at}.cumulative`),
      ...(pending
        ? { pending: { amount: amount(pending.amount, `${at}.pending.amount`), signature: unhex(pending.signature, 64, `${at}.pending.signature`) } }
        : {}),
      key: { seed: unhex(c.seed, 32, `${at}.seed`) },
      ...(typeof c.retired === "string" ? { retired: c.retired } : {}),
    };
  });
  const spent = (raw.spent ?? []).map((r, i): SpentRecord => {
    const s = r as Record<string, unknown>;
    return { origin: text(s.origin, `spent[${i}].origin`), mint: text(s.mint, `spent[${i}].mint`) as Address, amount: amount(s.amount, `spent[${i}].amount`) };
  });
  return { channels, spent };
}
