/**
 * A Wallet Standard wallet as the sdk's signer (`walletSigner`): it derives
 * the same session key as the wallet's own key pair would, signs legacy and
 * v0 transactions, and a refusal or a wallet that signs other bytes than
 * asked is a typed error, with nothing derived or sent.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  appendTransactionMessageInstructions,
  blockhash,
  createKeyPairSignerFromPrivateKeyBytes,
  createTransactionMessage,
  getBase58Decoder,
  pipe,
  setTransactionMessageFeePayerSigner,
  setTransactionMessageLifetimeUsingBlockhash,
  signTransactionMessageWithSigners,
  type Address,
} from "@solana/kit";
import { SolanaSignMessage } from "@solana/wallet-standard-features";
import {
  deriveSessionKey,
  SessionDerivationError,
  transactionVersionFor,
  transferSol,
  verifyEd25519,
  walletSigner,
  WalletError,
} from "../src/index.js";
import { KeypairWallet } from "../src/testing.js";

const SEED = new Uint8Array(32).fill(8);
const ESCROW = "cGfHiC6Kgg3FpFZvgwGcswsCRtp4aBP2fzuXRQPizuN" as Address;

async function signer() {
  const wallet = await KeypairWallet.fromSeed(SEED);
  return { wallet, signer: walletSigner(wallet, wallet.accounts[0]!, "solana:localnet") };
}

test("the session key derived through the wallet is the one its key pair derives", async () => {
  const { wallet, signer: viaWallet } = await signer();
  const direct = await createKeyPairSignerFromPrivateKeyBytes(SEED);
  assert.equal(viaWallet.address, direct.address);
  const a = await deriveSessionKey(viaWallet, ESCROW, 42n);
  const b = await deriveSessionKey(direct, ESCROW, 42n);
  assert.equal(a.address, b.address);
  assert.deepEqual(wallet.asked, { transactions: 0, messages: 1 });
});

for (const version of [0, "legacy"] as const) {
  test(`the wallet signs a ${version} transaction`, async () => {
    const { wallet, signer: s } = await signer();
    assert.equal(transactionVersionFor(wallet), 0);
    const message = pipe(
      createTransactionMessage({ version }),
      (m) => setTransactionMessageFeePayerSigner(s, m),
      (m) => setTransactionMessageLifetimeUsingBlockhash({ blockhash: blockhash("11111111111111111111111111111111"), lastValidBlockHeight: 1n }, m),
      (m) => appendTransactionMessageInstructions([transferSol(s, ESCROW, 1n)], m),
    );
    const signed = await signTransactionMessageWithSigners(message);
    const signature = signed.signatures[s.address]!;
    assert.ok(await verifyEd25519(s.address, signature, new Uint8Array(signed.messageBytes)));
    assert.equal(wallet.asked.transactions, 1);
    assert.equal(getBase58Decoder().decode(signature).length > 80, true);
  });
}

test("a wallet that refuses: typed errors, nothing derived", async () => {
  const { wallet, signer: s } = await signer();
  wallet.refusing = true;
  await assert.rejects(deriveSessionKey(s, ESCROW, 1n), (e) => e instanceof SessionDerivationError && e.reason === "refused" && e.cause instanceof WalletError);
  const message = pipe(
    createTransactionMessage({ version: 0 }),
    (m) => setTransactionMessageFeePayerSigner(s, m),
    (m) => setTransactionMessageLifetimeUsingBlockhash({ blockhash: blockhash("11111111111111111111111111111111"), lastValidBlockHeight: 1n }, m),
    (m) => appendTransactionMessageInstructions([transferSol(s, ESCROW, 1n)], m),
  );
  await assert.rejects(signTransactionMessageWithSigners(message), (e) => e instanceof WalletError && e.reason === "refused");
});

test("a wallet that signs other bytes than asked is refused (it would derive another key)", async () => {
  const { wallet } = await signer();
  const honest = wallet.features[SolanaSignMessage] as { signMessage: (...i: { message: Uint8Array }[]) => Promise<unknown> };
  const lying = Object.create(wallet, {
    features: {
      value: {
        ...wallet.features,
        [SolanaSignMessage]: { ...honest, signMessage: (i: { account: unknown; message: Uint8Array }) => honest.signMessage({ ...i, message: new Uint8Array([...i.message, 0]) }) },
      },
    },
  });
  const s = walletSigner(lying, wallet.accounts[0]!, "solana:localnet");
  await assert.rejects(deriveSessionKey(s, ESCROW, 1n), (e) => e instanceof SessionDerivationError && (e.cause as WalletError).reason === "message_changed");
});

test("a wallet without the features is refused by name", async () => {
  const { wallet } = await signer();
  const bare = Object.create(wallet, { features: { value: {} } });
  assert.throws(() => transactionVersionFor(bare), (e) => e instanceof WalletError && e.reason === "unsupported");
});
