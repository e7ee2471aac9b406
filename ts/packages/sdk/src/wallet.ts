/**
 * Any Wallet Standard wallet (Phantom, Solflare, Backpack, …) as kit's
 * signers: `solana:signTransaction` signs the fund/open/top-up/close
 * transactions, `solana:signMessage` the session-key message. The wallet is
 * asked for those only — never per payment (vouchers are signed by session
 * keys).
 */
import {
  address,
  getTransactionDecoder,
  getTransactionEncoder,
  type Address,
  type MessagePartialSigner,
  type SignatureBytes,
  type Transaction,
  type TransactionModifyingSigner,
  type TransactionWithinSizeLimit,
  type TransactionWithLifetime,
} from "@solana/kit";
import {
  SolanaSignMessage,
  SolanaSignTransaction,
  type SolanaSignMessageFeature,
  type SolanaSignTransactionFeature,
} from "@solana/wallet-standard-features";
import type { IdentifierString, Wallet, WalletAccount } from "@wallet-standard/base";

/** The wallet did not do what it was asked; nothing was sent. */
export class WalletError extends Error {
  constructor(
    readonly reason: "refused" | "unsupported" | "message_changed" | "no_signature",
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "WalletError";
  }
}

type SignTransaction = SolanaSignTransactionFeature[typeof SolanaSignTransaction];
type SignMessage = SolanaSignMessageFeature[typeof SolanaSignMessage];

function feature<T>(wallet: Wallet, name: string): T {
  const f = (wallet.features as Record<string, unknown>)[name] as T | undefined;
  if (!f) throw new WalletError("unsupported", `${wallet.name} cannot ${name.replace("solana:", "")}`);
  return f;
}

/** The transaction version to build for `wallet`: v0 when it signs them, else legacy. */
export function transactionVersionFor(wallet: Wallet): 0 | "legacy" {
  const versions = feature<SignTransaction>(wallet, SolanaSignTransaction).supportedTransactionVersions;
  return versions.includes(0) ? 0 : "legacy";
}

/** `account` of `wallet` on `chain` (`solana:devnet`, `solana:mainnet`, …) as kit's signers. */
export function walletSigner(
  wallet: Wallet,
  account: WalletAccount,
  chain: IdentifierString,
): TransactionModifyingSigner & MessagePartialSigner {
  const self: Address = address(account.address);
  return {
    address: self,
    async modifyAndSignTransactions(transactions: readonly (Transaction | (Transaction & TransactionWithLifetime))[]) {
      const sign = feature<SignTransaction>(wallet, SolanaSignTransaction);
      const inputs = transactions.map((tx) => ({ account, chain, transaction: new Uint8Array(getTransactionEncoder().encode(tx)) }));
      let outputs;
      try {
        outputs = await sign.signTransaction(...inputs);
      } catch (cause) {
        throw new WalletError("refused", `${wallet.name} did not sign the transaction`, { cause });
      }
      return outputs.map((out, i) => {
        const signed = getTransactionDecoder().decode(out.signedTransaction);
        if (!signed.signatures[self]) throw new WalletError("no_signature", `${wallet.name} returned the transaction unsigned`);
        // the lifetime (and anything else kit tracks) stays the one we built
        return { ...transactions[i]!, ...signed } as Transaction & TransactionWithinSizeLimit & TransactionWithLifetime;
      });
    },
    async signMessages(messages) {
      const sign = feature<SignMessage>(wallet, SolanaSignMessage);
      const out = [];
      for (const { content } of messages) {
        let answer;
        try {
          [answer] = await sign.signMessage({ account, message: new Uint8Array(content) });
        } catch (cause) {
          throw new WalletError("refused", `${wallet.name} did not sign the message`, { cause });
        }
        if (!answer || !sameBytes(answer.signedMessage, content)) {
          // a wallet that signs other bytes would derive another session key
          throw new WalletError("message_changed", `${wallet.name} signed another message than the one asked`);
        }
        out.push(Object.freeze({ [self]: answer.signature as SignatureBytes }));
      }
      return out;
    },
  };
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
