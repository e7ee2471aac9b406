/**
 * The cross-language vectors (`idl/vectors.json`, made and checked by the
 * Rust sdk's `sdk/tests/vectors.rs`): this sdk must make the same voucher
 * messages and signatures, derive the same session keys from the same
 * wallets, find the same program addresses and encode the same instruction
 * data with the generated client. With WebCrypto Ed25519 and with the
 * `@noble/ed25519` fallback. No cluster needed.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import {
  createKeyPairSignerFromPrivateKeyBytes,
  getBase58Decoder,
  type Address,
} from "@solana/kit";
import {
  findChannelPda,
  findEarningsPda,
  findEscrowPda,
  findVaultPda,
  forceNobleEd25519,
  getClaimInstructionDataEncoder,
  getDepositInstructionDataEncoder,
  getOpenChannelInstructionDataEncoder,
  getTopUpChannelInstructionDataEncoder,
  keyFromSeed,
  deriveSessionKey,
  sessionMessage,
  signVoucher,
  verifyVoucher,
  voucherMessage,
  MICROPAY_PROGRAM_ADDRESS,
  webCryptoEd25519,
} from "../src/index.js";

const vectors = JSON.parse(readFileSync(new URL("../../../../../idl/vectors.json", import.meta.url), "utf8"));
const unhex = (h: string) => Uint8Array.from(Buffer.from(h, "hex"));
const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

for (const noble of [false, true]) {
  const lib = noble ? "@noble/ed25519" : "WebCrypto";
  test(`voucher messages and signatures agree with Rust (${lib})`, async () => {
    forceNobleEd25519(noble);
    assert.equal(await webCryptoEd25519(), !noble);
    assert.ok(vectors.vouchers.length > 0);
    for (const v of vectors.vouchers) {
      const key = await keyFromSeed(unhex(v.session_seed));
      assert.equal(key.address, v.session);
      assert.equal(hex(voucherMessage(v.channel, BigInt(v.amount))), v.message);
      const voucher = await signVoucher(key, v.channel, BigInt(v.amount));
      assert.equal(getBase58Decoder().decode(voucher.signature), v.signature);
      assert.ok(await verifyVoucher(voucher, key.address));
      assert.ok(!(await verifyVoucher({ ...voucher, amount: voucher.amount ^ 1n }, key.address)));
    }
  });

  test(`session keys derive as in Rust (${lib})`, async () => {
    forceNobleEd25519(noble);
    assert.ok(vectors.sessions.length > 0);
    for (const s of vectors.sessions) {
      const wallet = await createKeyPairSignerFromPrivateKeyBytes(unhex(s.wallet_seed));
      assert.equal(wallet.address, s.wallet);
      assert.equal(hex(sessionMessage(s.escrow, BigInt(s.nonce))), s.message);
      const session = await deriveSessionKey(wallet, s.escrow, BigInt(s.nonce));
      assert.equal(session.address, s.session);
    }
  });
}

test("program addresses agree with Rust", async () => {
  forceNobleEd25519(false);
  const a = vectors.addresses;
  assert.equal(MICROPAY_PROGRAM_ADDRESS, a.program);
  assert.equal((await findEscrowPda({ owner: a.owner, mint: a.mint }))[0], a.escrow);
  assert.equal((await findEarningsPda({ owner: a.owner, mint: a.mint }))[0], a.earnings);
  assert.equal((await findVaultPda({ mint: a.mint }))[0], a.vault);
  const c = a.channel;
  const slot = { generation: BigInt(c.generation), id: BigInt(c.id) };
  assert.equal(await findChannelPda(c.escrow, slot, BigInt(c.nonce)), c.address);
});

/** The generated encoders' arguments from a vector's JSON (amounts are decimal strings). */
function argsOf(v: { instruction: string; args: Record<string, unknown> }) {
  const a = v.args;
  switch (v.instruction) {
    case "deposit":
    case "topUpChannel":
      return { amount: BigInt(a.amount as string) };
    case "openChannel":
      return {
        creator: a.creator as Address,
        signer: a.signer as Address,
        allocation: BigInt(a.allocation as string),
        feeRecipient: (a.feeRecipient as Address | null) ?? null,
        feeBps: a.feeBps as number,
        disputeWindowSecs: a.disputeWindowSecs as number,
        expiresAt: BigInt(a.expiresAt as string),
        nonce: BigInt(a.nonce as string),
      };
    case "claim":
      return {
        entries: (a.entries as Record<string, unknown>[]).map((e) => ({
          channelIndex: e.channelIndex as number,
          earningsIndex: e.earningsIndex as number,
          feeEarningsIndex: e.feeEarningsIndex as number,
          amount: BigInt(e.amount as string),
          signature: unhex(e.signature as string),
        })),
      };
  }
  throw new Error(`no encoder for ${v.instruction}`);
}

test("instruction data agrees with Rust (the Codama-generated encoders)", () => {
  const encoders: Record<string, { encode(args: never): ArrayLike<number> }> = {
    deposit: getDepositInstructionDataEncoder(),
    openChannel: getOpenChannelInstructionDataEncoder(),
    topUpChannel: getTopUpChannelInstructionDataEncoder(),
    claim: getClaimInstructionDataEncoder(),
  };
  assert.ok(vectors.instructions.length >= 5);
  for (const v of vectors.instructions) {
    const encoder = encoders[v.instruction];
    assert.ok(encoder, v.instruction);
    assert.equal(hex(Uint8Array.from(encoder.encode(argsOf(v) as never))), v.data, v.instruction);
  }
});
