/**
 * Ed25519 for vouchers and session keys: WebCrypto's where the platform has
 * it (Node ≥ 20, Chromium ≥ 137, Firefox, Safari 17), else `@noble/ed25519`
 * (audited, no dependencies). Both sign deterministically (RFC 8032), so a
 * voucher is the same bytes whichever signs it.
 *
 * A key is held as a seed (32 bytes: what the Rust store keeps) or as a
 * WebCrypto key pair whose private half cannot be read back (what a browser
 * keeps in IndexedDB).
 */
import * as noble from "@noble/ed25519";
import {
  createKeyPairFromPrivateKeyBytes,
  getAddressDecoder,
  getAddressEncoder,
  getPublicKeyFromAddress,
  verifySignature,
  type Address,
  type SignatureBytes,
} from "@solana/kit";

/** A key as stored: a seed, or a WebCrypto key pair (non-extractable private key). */
export type StoredKey = { seed: Uint8Array } | { pair: CryptoKeyPair; address: Address };

let webCrypto: Promise<boolean> | undefined;

/** Whether this platform's WebCrypto signs with Ed25519 (asked once). */
export function webCryptoEd25519(): Promise<boolean> {
  webCrypto ??= (async () => {
    try {
      const pair = (await crypto.subtle.generateKey({ name: "Ed25519" }, false, ["sign", "verify"])) as CryptoKeyPair;
      await crypto.subtle.sign({ name: "Ed25519" }, pair.privateKey, new Uint8Array(1));
      return true;
    } catch {
      return false;
    }
  })();
  return webCrypto;
}

/** Uses `@noble/ed25519` from now on, as on a platform without WebCrypto Ed25519 (tests, benches). */
export function forceNobleEd25519(force = true): void {
  webCrypto = Promise.resolve(!force);
}

/** A key that signs: its address (public key) and `sign`. */
export interface Ed25519Key {
  readonly address: Address;
  sign(message: Uint8Array): Promise<Uint8Array>;
  /** The form a store keeps. */
  readonly stored: StoredKey;
}

const addressCodec = { encode: getAddressEncoder(), decode: getAddressDecoder() };

/**
 * The key of `seed`. With WebCrypto, `keepSeed: false` gives a key whose
 * private half cannot be read back (`stored` is the key pair).
 */
export async function keyFromSeed(seed: Uint8Array, keepSeed = true): Promise<Ed25519Key> {
  if (seed.length !== 32) throw new RangeError("an Ed25519 seed is 32 bytes");
  if (await webCryptoEd25519()) {
    const pair = await createKeyPairFromPrivateKeyBytes(seed, false);
    const key = await keyFromPair(pair);
    return keepSeed ? { ...key, stored: { seed: Uint8Array.from(seed) } } : key;
  }
  const publicKey = await noble.getPublicKeyAsync(seed);
  const copy = Uint8Array.from(seed);
  return {
    address: addressCodec.decode.decode(publicKey),
    sign: (message) => noble.signAsync(message, copy),
    stored: { seed: copy },
  };
}

/** The key of a WebCrypto Ed25519 key pair. */
export async function keyFromPair(pair: CryptoKeyPair): Promise<Ed25519Key> {
  const raw = new Uint8Array(await crypto.subtle.exportKey("raw", pair.publicKey));
  const address = addressCodec.decode.decode(raw);
  return {
    address,
    // straight to WebCrypto: kit's `signBytes` checks and copies, halving the rate in Node
    sign: async (message) => new Uint8Array(await crypto.subtle.sign("Ed25519", pair.privateKey, message as Uint8Array<ArrayBuffer>)),
    stored: { pair, address },
  };
}

/** The key a store kept. */
export async function keyFromStored(stored: StoredKey): Promise<Ed25519Key> {
  return "seed" in stored ? keyFromSeed(stored.seed) : keyFromPair(stored.pair);
}

/** Whether `signature` is `signer`'s signature of `message`. */
export async function verifyEd25519(signer: Address, signature: Uint8Array, message: Uint8Array): Promise<boolean> {
  if (signature.length !== 64) return false;
  if (await webCryptoEd25519()) {
    try {
      const key = await getPublicKeyFromAddress(signer);
      return await verifySignature(key, signature as SignatureBytes, message);
    } catch {
      return false;
    }
  }
  try {
    return await noble.verifyAsync(signature, message, addressCodec.encode.encode(signer) as Uint8Array);
  } catch {
    return false;
  }
}
