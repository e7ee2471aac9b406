/**
 * Session keys, derived from the wallet exactly as `micropay_sdk::session`
 * does: the wallet signs `"micropay session key v1\0" ‖ escrow ‖ nonce (u64
 * LE)` once, and SHA-256 of that signature is the session key's seed. So a
 * channel opened in Rust is paid from a browser and the other way round, and
 * a payer that lost its storage finds its channels' keys again from the
 * wallet alone (one signature per channel, no transaction).
 *
 * The wallet signs through kit's `MessagePartialSigner` (a Wallet Standard
 * wallet's `solana:signMessage`, see `wallet.ts`, or a key pair).
 */
import { getAddressEncoder, getU64Encoder, type Address, type MessagePartialSigner } from "@solana/kit";
import { keyFromSeed, type Ed25519Key } from "./ed25519.js";

/** `micropay_sdk::session::DOMAIN`. */
export const SESSION_DOMAIN = new TextEncoder().encode("micropay session key v1\0");

/** What the wallet signs to derive the session key of `escrow`'s channel with `nonce`. */
export function sessionMessage(escrow: Address, nonce: bigint): Uint8Array {
  const message = new Uint8Array(SESSION_DOMAIN.length + 40);
  message.set(SESSION_DOMAIN);
  message.set(getAddressEncoder().encode(escrow), SESSION_DOMAIN.length);
  message.set(getU64Encoder().encode(nonce), SESSION_DOMAIN.length + 32);
  return message;
}

/** Why no session key came out of the wallet. */
export class SessionDerivationError extends Error {
  constructor(
    readonly reason: "refused" | "no_signature",
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "SessionDerivationError";
  }
}

/** The 32-byte seed of the session key: SHA-256 of the wallet's signature of [`sessionMessage`]. */
export async function sessionSeed(wallet: MessagePartialSigner, escrow: Address, nonce: bigint): Promise<Uint8Array> {
  const content = sessionMessage(escrow, nonce);
  let signatures;
  try {
    [signatures] = await wallet.signMessages([{ content, signatures: {} }]);
  } catch (cause) {
    throw new SessionDerivationError("refused", "the wallet did not sign the session-key message", { cause });
  }
  const signature = signatures?.[wallet.address];
  if (!signature || signature.length !== 64) {
    throw new SessionDerivationError("no_signature", "the wallet answered without its signature of the message");
  }
  return new Uint8Array(await crypto.subtle.digest("SHA-256", signature as Uint8Array<ArrayBuffer>));
}

/**
 * The session key of `escrow`'s channel with `nonce`. `keepSeed: false`
 * (a browser) keeps only a WebCrypto key whose private half cannot be read.
 */
export async function deriveSessionKey(
  wallet: MessagePartialSigner,
  escrow: Address,
  nonce: bigint,
  keepSeed = true,
): Promise<Ed25519Key> {
  return keyFromSeed(await sessionSeed(wallet, escrow, nonce), keepSeed);
}
