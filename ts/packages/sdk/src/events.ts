/**
 * micropay's events. The program emits them with Anchor's `emit_cpi!`: each
 * is an inner instruction of the program to itself whose data is the
 * event-CPI tag, the event's discriminator, then its Borsh fields — so they
 * are read from a confirmed transaction's inner instructions, never from
 * its logs.
 */
import type { Address, ReadonlyUint8Array } from "@solana/kit";
import { MICROPAY_EVENTS, type MicropayEvent } from "./generated/events.js";
import { MICROPAY_PROGRAM_ADDRESS } from "./generated/programs/index.js";

/** Anchor's event-CPI tag: the first 8 bytes of every event instruction. */
export const EVENT_IX_TAG = new Uint8Array([0xe4, 0x45, 0xa5, 0x2e, 0x51, 0xcb, 0x9a, 0x1d]);

const startsWith = (data: ReadonlyUint8Array, prefix: ReadonlyUint8Array, at = 0) =>
  data.length >= at + prefix.length && prefix.every((b, i) => data[at + i] === b);

/** The event in an event instruction's data, or `undefined` when it is none of micropay's. */
export function decodeEvent(data: ReadonlyUint8Array): MicropayEvent | undefined {
  if (!startsWith(data, EVENT_IX_TAG)) return undefined;
  for (const [name, { discriminator, decoder }] of Object.entries(MICROPAY_EVENTS)) {
    if (startsWith(data, discriminator, 8)) {
      return { name, data: decoder.decode(data.subarray(16)) } as MicropayEvent;
    }
  }
  return undefined;
}

/** An inner instruction as `getTransaction` with `encoding: "json"` gives it: account indexes, base58 data. */
export interface InnerInstruction {
  programIdIndex: number;
  data: ReadonlyUint8Array;
}

/**
 * The micropay events of a confirmed transaction, in order: `accountKeys`
 * is the message's keys then the loaded ones, `inner` each inner
 * instruction with its data decoded from base58.
 */
export function eventsOf(
  accountKeys: readonly Address[],
  inner: readonly InnerInstruction[],
  programAddress: Address = MICROPAY_PROGRAM_ADDRESS,
): MicropayEvent[] {
  return inner
    .filter((ix) => accountKeys[ix.programIdIndex] === programAddress)
    .map((ix) => decodeEvent(ix.data))
    .filter((e): e is MicropayEvent => e !== undefined);
}
