/**
 * What a payer does on chain, each step one transaction the wallet signs:
 * create its escrow (once per mint), fund it and open a channel (one
 * approval), top a channel up, close it (`requestClose`, then after the
 * dispute window `finalizeClose`) and take the refund back (`withdraw`). And the
 * way back from lost storage: the wallet's open channels, found on chain,
 * their session keys derived again from the wallet.
 *
 * A new escrow's channel addresses include the slot the escrow was created
 * in, so a first-time payer approves twice: the escrow, then fund + open.
 *
 * Transactions are legacy or v0 (hardware wallets cannot sign v1 yet) and
 * are confirmed by polling signature statuses (no WebSocket needed).
 */
import {
  appendTransactionMessageInstructions,
  createTransactionMessage,
  getBase58Decoder,
  getBase64EncodedWireTransaction,
  getBase64Encoder,
  getSignatureFromTransaction,
  pipe,
  setTransactionMessageFeePayerSigner,
  setTransactionMessageLifetimeUsingBlockhash,
  signTransactionMessageWithSigners,
  type Address,
  type Instruction,
  type MessagePartialSigner,
  type Rpc,
  type Signature,
  type SolanaRpcApi,
  type TransactionSigner,
} from "@solana/kit";
import { findChannelPda } from "./addresses.js";
import {
  fetchMaybeEscrow,
  getChannelDecoder,
  getDepositInstructionAsync,
  getFinalizeCloseInstructionAsync,
  getInitEscrowInstructionAsync,
  getOpenChannelInstructionAsync,
  getRequestCloseInstructionAsync,
  getTopUpChannelInstructionAsync,
  getWithdrawInstructionAsync,
  CHANNEL_DISCRIMINATOR,
  findEscrowPda,
  MICROPAY_PROGRAM_ADDRESS,
  type Channel,
  type Escrow,
} from "./generated/index.js";
import type { Payer } from "./payer.js";
import { deriveSessionKey } from "./session.js";
import type { ChannelRecord } from "./store.js";
import {
  associatedTokenAddress,
  createAssociatedTokenIdempotent,
  NATIVE_MINT,
  syncNative,
  TOKEN_PROGRAM,
  transferSol,
} from "./tokens.js";

/** A wallet as the chain steps need it: signs transactions and the session-key message. */
export type WalletSigner = TransactionSigner & MessagePartialSigner;

/** How a step reaches the cluster. */
export interface ChainContext {
  rpc: Rpc<SolanaRpcApi>;
  wallet: WalletSigner;
  /** `0` (default) or `"legacy"`. */
  version?: 0 | "legacy";
  /** The mint's token program (the Token program unless told: Token-2022 mints name theirs). */
  tokenProgram?: Address;
  /** Keep session keys as seeds (Node) or as WebCrypto keys only (`false`, a browser). */
  keepSeed?: boolean;
  /** How long to wait for confirmation, ms (60 s). */
  timeoutMs?: number;
}

/** A transaction the cluster refused or did not confirm in time. */
export class TransactionFailed extends Error {
  constructor(
    readonly signature: Signature | undefined,
    readonly reason: "refused" | "failed" | "timeout",
    readonly detail: unknown,
  ) {
    super(
      reason === "timeout"
        ? `transaction ${signature} was not confirmed in time: look it up before sending again`
        : `the cluster ${reason === "refused" ? "refused" : "failed"} the transaction${signature ? ` ${signature}` : ""}`,
    );
    this.name = "TransactionFailed";
  }
}

/** The x402 network id of the cluster (`solana:` and its genesis hash's first 32 characters, as `micropay_sdk::x402::network`). */
export async function networkOf(rpc: Rpc<SolanaRpcApi>): Promise<string> {
  const genesis = await rpc.getGenesisHash().send();
  return `solana:${genesis.slice(0, 32)}`;
}

/** The wallet's escrow of `mint` and its state (`null` when it has none). */
export async function escrowOf(ctx: ChainContext, mint: Address): Promise<{ address: Address; state: Escrow | null }> {
  const [address] = await findEscrowPda({ owner: ctx.wallet.address, mint });
  const account = await fetchMaybeEscrow(ctx.rpc, address);
  return { address, state: account.exists ? account.data : null };
}

/** Creates the wallet's escrow of `mint` (one approval). */
export async function createEscrow(ctx: ChainContext, mint: Address): Promise<Signature> {
  const ix = await getInitEscrowInstructionAsync({ owner: ctx.wallet, mint, tokenProgram: token(ctx) });
  return send(ctx, [ix]);
}

/** What to open. */
export interface OpenRequest {
  mint: Address;
  creator: Address;
  /** Base units moved from the wallet into the escrow first (0: none). */
  deposit: bigint;
  /** Base units the channel may pay in total. */
  allocation: bigint;
  /** Seconds between a close request and its end (3,600 unless told). */
  disputeWindowSecs?: number;
  fee?: { recipient: Address; bps: number };
  /** Unix time after which the channel closes at once (0: never). */
  expiresAt?: bigint;
  /** The nonce its session key derives from (random unless told). */
  nonce?: bigint;
}

/** Where opened channels are kept: a `Payer`. */
export type ChannelKeeper = Pick<Payer, "adopt" | "forget">;

/**
 * Funds the escrow and opens a channel in one transaction (one approval,
 * after the wallet signed the session-key message). The channel is kept
 * in `payer` before the transaction is sent (write-ahead, as the Rust
 * payer), and forgotten again when the cluster refused or failed the
 * transaction (it never existed); after a timeout it stays (it may have
 * landed: `channelsOnChain` tells).
 */
export async function fundAndOpen(
  ctx: ChainContext,
  request: OpenRequest,
  payer: ChannelKeeper,
): Promise<{ record: ChannelRecord; signature: Signature }> {
  const escrow = await escrowOf(ctx, request.mint);
  if (!escrow.state) throw new Error(`the wallet has no escrow of ${request.mint}: create it first (createEscrow)`);
  const nonce = request.nonce ?? randomU64();
  const channel = await findChannelPda(escrow.address, { generation: escrow.state.generation, id: escrow.state.nextChannelId }, nonce);
  const key = await deriveSessionKey(ctx.wallet, escrow.address, nonce, ctx.keepSeed ?? true);
  const open = await getOpenChannelInstructionAsync({
    owner: ctx.wallet,
    escrow: escrow.address,
    channel,
    creator: request.creator,
    signer: key.address,
    allocation: request.allocation,
    feeRecipient: request.fee?.recipient ?? null,
    feeBps: request.fee?.bps ?? 0,
    disputeWindowSecs: request.disputeWindowSecs ?? 3_600,
    expiresAt: request.expiresAt ?? 0n,
    nonce,
  });
  const record: ChannelRecord = {
    channel,
    escrow: escrow.address,
    owner: ctx.wallet.address,
    creator: request.creator,
    mint: request.mint,
    nonce,
    allocation: request.allocation,
    cumulative: 0n,
    key: key.stored,
  };
  await payer.adopt(record);
  const funding = request.deposit > 0n ? await depositInstructions(ctx, escrow.address, request.mint, request.deposit) : [];
  try {
    return { record, signature: await send(ctx, [...funding, open]) };
  } catch (e) {
    if (!(e instanceof TransactionFailed && e.reason === "timeout")) await payer.forget(record.channel);
    throw e;
  }
}

/**
 * Moves `deposit` into the escrow and `amount` into `record`'s channel, in
 * one transaction; once confirmed, `payer` keeps the larger allocation.
 */
export async function topUp(
  ctx: ChainContext,
  record: ChannelRecord,
  deposit: bigint,
  amount: bigint,
  payer: ChannelKeeper,
): Promise<Signature> {
  const funding = deposit > 0n ? await depositInstructions(ctx, record.escrow, record.mint, deposit) : [];
  const ix = await getTopUpChannelInstructionAsync({ owner: ctx.wallet, escrow: record.escrow, channel: record.channel, amount });
  const signature = await send(ctx, [...funding, ix]);
  await payer.adopt({ ...record, allocation: record.allocation + amount });
  return signature;
}

/** Asks to close `record`'s channel: after its dispute window, what it did not pay returns to the escrow. */
export async function requestClose(ctx: ChainContext, record: ChannelRecord): Promise<Signature> {
  const ix = await getRequestCloseInstructionAsync({ owner: ctx.wallet, escrow: record.escrow, channel: record.channel });
  return send(ctx, [ix]);
}

/**
 * Ends `record`'s channel once its dispute window has passed since the
 * close request (anyone may send it; the wallet pays the fee): what the
 * channel did not pay returns to the escrow's free balance, and its rent
 * to the wallet. Then `withdraw` takes the refund back to the wallet.
 */
export async function finalizeClose(ctx: ChainContext, record: ChannelRecord): Promise<Signature> {
  const ix = await getFinalizeCloseInstructionAsync({ escrow: record.escrow, channel: record.channel, owner: record.owner });
  return send(ctx, [ix]);
}

/** Takes `amount` of the escrow's free balance back to the wallet's token account. */
export async function withdraw(ctx: ChainContext, mint: Address, amount: bigint): Promise<Signature> {
  const tokenProgram = token(ctx);
  const destination = await associatedTokenAddress(ctx.wallet.address, mint, tokenProgram);
  const { address: escrow } = await escrowOf(ctx, mint);
  const ix = await getWithdrawInstructionAsync({ owner: ctx.wallet, escrow, mint, destination, tokenProgram, amount });
  return send(ctx, [ix]);
}

/**
 * The wallet's open channels of `mint`, found on chain: each whose signer
 * is the session key this wallet derives for it (one message signature
 * each). Their reservation starts at what was claimed on chain; the
 * server's first `stale` refusal brings it up to what it holds.
 *
 * The node's answer is checked before the wallet is asked anything: an
 * account is taken only if it is the program's, decodes as a channel of
 * this escrow and mint, sits at the address its own seeds give, has an id
 * the escrow handed out and has paid no more than its allocation. So a
 * lying or broken node cannot have the wallet sign a message per made-up
 * account, nor fail the search with one malformed account. It is still
 * trusted for what it says of the real ones (their `claimed`): use a node
 * you trust (SECURITY.md).
 */
export async function channelsOnChain(ctx: ChainContext, mint: Address): Promise<ChannelRecord[]> {
  const { address: escrow, state } = await escrowOf(ctx, mint);
  if (!state) return [];
  const accounts = await ctx.rpc
    .getProgramAccounts(MICROPAY_PROGRAM_ADDRESS, {
      encoding: "base64",
      filters: [
        { memcmp: { offset: 0n, bytes: getBase58Decoder().decode(CHANNEL_DISCRIMINATOR) as never, encoding: "base58" } },
        { memcmp: { offset: 8n, bytes: escrow as never, encoding: "base58" } },
      ],
    })
    .send();
  const found: ChannelRecord[] = [];
  for (const { pubkey, account } of accounts) {
    if (found.some((f) => f.channel === pubkey)) continue;
    const channel = await openChannelAt(pubkey, account, escrow, state, mint);
    if (!channel) continue;
    const key = await deriveSessionKey(ctx.wallet, escrow, channel.nonce, ctx.keepSeed ?? true);
    if (key.address !== channel.signer) continue;
    found.push({
      channel: pubkey,
      escrow,
      owner: ctx.wallet.address,
      creator: channel.creator,
      mint: channel.mint,
      nonce: channel.nonce,
      allocation: channel.allocation,
      cumulative: channel.claimed,
      key: key.stored,
    });
  }
  return found;
}

/** The open channel a node says is at `address`, if the program could have made it there (see `channelsOnChain`). */
async function openChannelAt(
  address: Address,
  account: { owner: Address; data: readonly [string, string] },
  escrow: Address,
  state: Escrow,
  mint: Address,
): Promise<Channel | undefined> {
  if (account.owner !== MICROPAY_PROGRAM_ADDRESS) return undefined;
  const data = getBase64Encoder().encode(account.data[0]);
  if (data.length < CHANNEL_DISCRIMINATOR.length || !CHANNEL_DISCRIMINATOR.every((b, i) => data[i] === b)) return undefined;
  let channel: Channel;
  try {
    channel = getChannelDecoder().decode(data);
  } catch {
    return undefined;
  }
  const plausible =
    channel.escrow === escrow &&
    channel.mint === mint &&
    channel.id < state.nextChannelId &&
    channel.claimed <= channel.allocation &&
    channel.closeRequestedAt === 0n;
  if (!plausible) return undefined;
  const seeded = await findChannelPda(escrow, { generation: state.generation, id: channel.id }, channel.nonce);
  return seeded === address ? channel : undefined;
}

function token(ctx: ChainContext): Address {
  return ctx.tokenProgram ?? TOKEN_PROGRAM;
}

/** `deposit` from the wallet's associated token account (wrapping SOL into it first for the native mint). */
async function depositInstructions(ctx: ChainContext, escrow: Address, mint: Address, amount: bigint): Promise<Instruction[]> {
  const tokenProgram = token(ctx);
  const source = await associatedTokenAddress(ctx.wallet.address, mint, tokenProgram);
  const wrap =
    mint === NATIVE_MINT
      ? [
          createAssociatedTokenIdempotent(ctx.wallet, source, ctx.wallet.address, mint, tokenProgram),
          transferSol(ctx.wallet, source, amount),
          syncNative(source),
        ]
      : [];
  const deposit = await getDepositInstructionAsync({ depositor: ctx.wallet, escrow, mint, source, tokenProgram, amount });
  return [...wrap, deposit];
}

/** Signs `instructions` with the wallet (fee payer), sends them and waits for confirmation. */
export async function send(ctx: ChainContext, instructions: Instruction[]): Promise<Signature> {
  const { value: blockhash } = await ctx.rpc.getLatestBlockhash({ commitment: "confirmed" }).send();
  const message = pipe(
    createTransactionMessage({ version: ctx.version ?? 0 }),
    (m) => setTransactionMessageFeePayerSigner(ctx.wallet, m),
    (m) => setTransactionMessageLifetimeUsingBlockhash(blockhash, m),
    (m) => appendTransactionMessageInstructions(instructions, m),
  );
  const signed = await signTransactionMessageWithSigners(message);
  const signature = getSignatureFromTransaction(signed);
  try {
    await ctx.rpc.sendTransaction(getBase64EncodedWireTransaction(signed), { encoding: "base64", preflightCommitment: "confirmed" }).send();
  } catch (e) {
    throw new TransactionFailed(signature, "refused", e);
  }
  await confirm(ctx, signature, blockhash.lastValidBlockHeight);
  return signature;
}

async function confirm(ctx: ChainContext, signature: Signature, lastValid: bigint): Promise<void> {
  const deadline = Date.now() + (ctx.timeoutMs ?? 60_000);
  while (Date.now() < deadline) {
    const { value } = await ctx.rpc.getSignatureStatuses([signature]).send();
    const status = value[0];
    if (status?.err) throw new TransactionFailed(signature, "failed", status.err);
    if (status?.confirmationStatus === "confirmed" || status?.confirmationStatus === "finalized") return;
    const height = await ctx.rpc.getBlockHeight({ commitment: "confirmed" }).send();
    if (height > lastValid) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new TransactionFailed(signature, "timeout", undefined);
}

function randomU64(): bigint {
  const bytes = crypto.getRandomValues(new Uint8Array(8));
  return new DataView(bytes.buffer).getBigUint64(0, true);
}
