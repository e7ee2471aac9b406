/**
 * Program addresses. The escrow, vault, earnings and event-authority PDAs
 * are generated from the IDL (`findEscrowPda`, …); a channel's seeds
 * include its escrow's slot (generation, id) and its nonce, which the IDL
 * cannot name, so it is written here, as `micropay_sdk::pda::channel`.
 */
import { getAddressEncoder, getProgramDerivedAddress, getU64Encoder, type Address } from "@solana/kit";
import { CHANNEL_SEED } from "./generated/constants.js";
import { MICROPAY_PROGRAM_ADDRESS } from "./generated/programs/index.js";

/** A channel's place in its escrow: the escrow's generation and the channel's id in it. */
export interface ChannelSlot {
  generation: bigint;
  id: bigint;
}

/** `["channel", escrow, generation, id, nonce]` (each u64 LE). */
export async function findChannelPda(
  escrow: Address,
  slot: ChannelSlot,
  nonce: bigint,
  programAddress: Address = MICROPAY_PROGRAM_ADDRESS,
): Promise<Address> {
  const u64 = getU64Encoder();
  const [address] = await getProgramDerivedAddress({
    programAddress,
    seeds: [CHANNEL_SEED, getAddressEncoder().encode(escrow), u64.encode(slot.generation), u64.encode(slot.id), u64.encode(nonce)],
  });
  return address;
}
