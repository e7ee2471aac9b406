/**
 * The cross-language vectors (`idl/vectors.json`, made and checked by the
 * Rust sdk's `sdk/tests/vectors.rs`): the TypeScript side must make the
 * same voucher messages and signatures, derive the same session keys from
 * the same wallets, and find the same program addresses. No cluster needed.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import anchor from "@coral-xyz/anchor";
import { PublicKey } from "@solana/web3.js";
import nacl from "tweetnacl";
import { channelAddress, earningsAddress, escrowAddress, signVoucher, voucherMessage } from "../src/micropay.js";
import { deriveSessionKey } from "../src/x402-micropay.js";

const vectors = JSON.parse(readFileSync(new URL("../../../../idl/vectors.json", import.meta.url), "utf8"));
const bs58 = anchor.utils.bytes.bs58;
const unhex = (h: string) => Uint8Array.from(Buffer.from(h, "hex"));
const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

test("voucher messages and signatures agree with Rust", () => {
  assert.ok(vectors.vouchers.length > 0);
  for (const v of vectors.vouchers) {
    const session = nacl.sign.keyPair.fromSeed(unhex(v.session_seed));
    assert.equal(new PublicKey(session.publicKey).toBase58(), v.session);
    const channel = new PublicKey(v.channel);
    const amount = new anchor.BN(v.amount);
    assert.equal(hex(voucherMessage(channel, amount)), v.message);
    assert.equal(bs58.encode(Uint8Array.from(signVoucher(session.secretKey, channel, amount))), v.signature);
  }
});

test("session keys derive as in Rust", async () => {
  assert.ok(vectors.sessions.length > 0);
  for (const s of vectors.sessions) {
    const wallet = nacl.sign.keyPair.fromSeed(unhex(s.wallet_seed));
    assert.equal(new PublicKey(wallet.publicKey).toBase58(), s.wallet);
    const derived = await deriveSessionKey(wallet.secretKey, new PublicKey(s.escrow), BigInt(s.nonce));
    assert.equal(new PublicKey(derived.publicKey).toBase58(), s.session);
  }
});

test("program addresses agree with Rust", () => {
  const a = vectors.addresses;
  const program = new PublicKey(a.program);
  const [owner, mint] = [new PublicKey(a.owner), new PublicKey(a.mint)];
  assert.equal(escrowAddress(program, owner, mint).toBase58(), a.escrow);
  assert.equal(earningsAddress(program, owner, mint).toBase58(), a.earnings);
  const c = a.channel;
  const channel = channelAddress(program, new PublicKey(c.escrow), BigInt(c.generation), BigInt(c.id), BigInt(c.nonce));
  assert.equal(channel.toBase58(), c.address);
});
