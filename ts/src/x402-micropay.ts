/**
 * The `micropay` x402 scheme as an `@x402/core` client scheme: register it
 * on an `x402Client` and `@x402/fetch`'s `wrapFetchWithPayment` pays
 * micropay offers with vouchers — no transaction per request.
 *
 * A voucher says "this channel may pay its creator `amount` in total"; each
 * paid request signs the channel's next cumulative amount (the last one plus
 * the price) with the channel's session key. The session key is derived
 * from the wallet exactly as `micropay_sdk::session::derive` does (the
 * wallet's Ed25519 signature of `"micropay session key v1\0" ‖ escrow ‖
 * nonce (u64 LE)`, SHA-256, used as a seed), so a channel opened by the Rust
 * client or CLI is paid from here, and the other way round.
 *
 * Rules kept here, as the Rust payer keeps them:
 * - write-ahead: a channel's new cumulative amount is saved (`save`) before
 *   the voucher leaves; a crash never lets the same amount be signed twice
 *   for two requests.
 * - budgets count a voucher when it is signed (the server may hold it
 *   whatever it answers), per mint; nothing is signed past one, past the
 *   channel's allocation, or past `@x402/core`'s per-payment cap.
 * - resync: a 402 refusing a voucher as `stale` or `duplicate` carries the
 *   voucher the server holds; it is trusted only when it verifies against
 *   the channel's own session key, and the next voucher continues from it
 *   (the refused one moved no money: its amount was not ahead). The scheme
 *   answers `{ recovered: true }` and `@x402/fetch` retries once.
 *
 * A payer that lost its state finds its channels on chain
 * (`channelsOnChain`) from the wallet alone: the on-chain `claimed` amount
 * is a floor, and the server's first `stale` refusal brings it up to date.
 */
import type { Program } from "@coral-xyz/anchor";
import type { x402Client } from "@x402/core/client";
import type {
  PaymentPayloadContext,
  PaymentPayloadResult,
  PaymentRequirements,
  SchemeClientHooks,
  SchemeNetworkClient,
} from "@x402/core/types";
import { PublicKey } from "@solana/web3.js";
import anchor from "@coral-xyz/anchor";
import nacl from "tweetnacl";
import { escrowAddress, voucherMessage, type Micropay } from "./micropay.js";

/** The scheme's name in `accepts[].scheme`. */
export const SCHEME = "micropay";
/** `micropay_sdk::session::DOMAIN`. */
const SESSION_DOMAIN = new TextEncoder().encode("micropay session key v1\0");

/** A channel this payer signs vouchers for. */
export interface MicropayChannel {
  channel: PublicKey;
  creator: PublicKey;
  mint: PublicKey;
  /** Most the channel can pay in total, base units. */
  allocation: bigint;
  /** The cumulative amount of the last voucher signed. */
  cumulative: bigint;
  /** The session key (a tweetnacl key pair) that signs the vouchers. */
  session: nacl.SignKeyPair;
}

/** Where the payer keeps its channels; `save` must be durable when it returns. */
export interface MicropayChannels {
  /** The channel paying `creator` in `mint`, if any. */
  find(creator: PublicKey, mint: PublicKey): Promise<MicropayChannel | undefined>;
  /** Records `channel`'s cumulative amount before a voucher of it leaves. */
  save(channel: MicropayChannel): Promise<void>;
}

/** Channels kept in memory (a Node process that recovers from the chain). */
export class MemoryChannels implements MicropayChannels {
  private readonly channels: MicropayChannel[];
  constructor(channels: MicropayChannel[]) {
    this.channels = channels;
  }
  async find(creator: PublicKey, mint: PublicKey) {
    return this.channels.find((c) => c.creator.equals(creator) && c.mint.equals(mint));
  }
  async save(_channel: MicropayChannel) {}
}

/** Why the scheme did not sign. */
export class MicropayPaymentError extends Error {
  constructor(
    readonly reason: "no_channel" | "exceeds_allocation" | "budget" | "spend_cap" | "unsupported",
    message: string,
  ) {
    super(message);
    this.name = "MicropayPaymentError";
  }
}

export interface MicropaySchemeConfig {
  channels: MicropayChannels;
  /** Most this client signs for, per mint (base58), in base units. */
  budgets: Record<string, bigint>;
  /** The micropay program (the IDL's address unless told). */
  programId: PublicKey;
}

/** The session key of `escrow`'s channel with `nonce`, from the wallet. */
export async function deriveSessionKey(
  walletSecretKey: Uint8Array,
  escrow: PublicKey,
  nonce: bigint,
): Promise<nacl.SignKeyPair> {
  const message = new Uint8Array(SESSION_DOMAIN.length + 40);
  message.set(SESSION_DOMAIN);
  message.set(escrow.toBytes(), SESSION_DOMAIN.length);
  new DataView(message.buffer).setBigUint64(SESSION_DOMAIN.length + 32, nonce, true);
  const signature = new Uint8Array(nacl.sign.detached(message, walletSecretKey));
  const seed = new Uint8Array(await crypto.subtle.digest("SHA-256", signature));
  return nacl.sign.keyPair.fromSeed(seed);
}

/**
 * The wallet's open channels in `mint`, found on chain: each one whose
 * signer is the session key this wallet derives for it. Their cumulative
 * amount starts at what was claimed on chain.
 */
export async function channelsOnChain(
  program: Program<Micropay>,
  walletSecretKey: Uint8Array,
  mint: PublicKey,
): Promise<MicropayChannel[]> {
  const wallet = nacl.sign.keyPair.fromSecretKey(walletSecretKey);
  const escrow = escrowAddress(program.programId, new PublicKey(wallet.publicKey), mint);
  // the discriminator, then `escrow`
  const accounts = await program.account.channel.all([{ memcmp: { offset: 8, bytes: escrow.toBase58() } }]);
  const found: MicropayChannel[] = [];
  for (const { publicKey, account } of accounts) {
    if (!account.closeRequestedAt.isZero()) continue;
    const session = await deriveSessionKey(walletSecretKey, escrow, BigInt(account.nonce.toString()));
    if (!new PublicKey(session.publicKey).equals(account.signer)) continue;
    found.push({
      channel: publicKey,
      creator: account.creator,
      mint: account.mint,
      allocation: BigInt(account.allocation.toString()),
      cumulative: BigInt(account.claimed.toString()),
      session,
    });
  }
  return found;
}

/** The wire voucher (`micropay_sdk::x402::WireVoucher`). */
interface WireVoucher {
  channel: string;
  amount: string;
  signature: string;
}

/** micropay's refusal in a 402's `extensions.micropay.info`. */
interface Refusal {
  reason: string;
  channel?: string;
  held?: WireVoucher;
}

/** `@x402/core`'s client side of the `micropay` scheme. */
export class MicropayScheme implements SchemeNetworkClient {
  readonly scheme = SCHEME;
  readonly schemeHooks: SchemeClientHooks;
  private readonly spent = new Map<string, bigint>();

  constructor(private readonly config: MicropaySchemeConfig) {
    this.schemeHooks = { onPaymentResponse: async (ctx) => this.resync(ctx) };
  }

  /** What this client signed for in `mint`, base units. */
  spending(mint: PublicKey): bigint {
    return this.spent.get(mint.toBase58()) ?? 0n;
  }

  async createPaymentPayload(
    x402Version: number,
    requirements: PaymentRequirements,
    context?: PaymentPayloadContext,
  ): Promise<PaymentPayloadResult> {
    const extra = requirements.extra as { programId?: string } | undefined;
    if (requirements.scheme !== SCHEME || extra?.programId !== this.config.programId.toBase58()) {
      throw new MicropayPaymentError("unsupported", "not an offer of this micropay program");
    }
    const [creator, mint] = [new PublicKey(requirements.payTo), new PublicKey(requirements.asset)];
    const price = BigInt(requirements.amount);
    if (context?.maxAmountPerPayment !== undefined && price > BigInt(context.maxAmountPerPayment)) {
      throw new MicropayPaymentError("spend_cap", `the price ${price} is above the per-payment cap`);
    }
    const channel = await this.config.channels.find(creator, mint);
    if (!channel) {
      throw new MicropayPaymentError(
        "no_channel",
        `no micropay channel pays ${creator.toBase58()} in ${mint.toBase58()}: open one (micropay channel open)`,
      );
    }
    const next = channel.cumulative + price;
    if (next > channel.allocation) {
      throw new MicropayPaymentError("exceeds_allocation", `the channel holds ${channel.allocation}: top it up`);
    }
    const spent = this.spending(mint) + price;
    const budget = this.config.budgets[mint.toBase58()] ?? 0n;
    if (spent > budget) {
      throw new MicropayPaymentError("budget", `paying ${price} would pass the budget of ${budget} in ${mint.toBase58()}`);
    }
    // counted (before any await: concurrent payments see it) and saved
    // before the voucher exists outside this process; a failed save signs
    // nothing and gives both back
    const before = channel.cumulative;
    this.spent.set(mint.toBase58(), spent);
    channel.cumulative = next;
    try {
      await this.config.channels.save(channel);
    } catch (e) {
      // unless a later payment already went past it
      if (channel.cumulative === next) channel.cumulative = before;
      this.spent.set(mint.toBase58(), this.spending(mint) - price);
      throw e;
    }
    const signature = nacl.sign.detached(
      voucherMessage(channel.channel, new anchor.BN(next.toString())),
      channel.session.secretKey,
    );
    const payload: WireVoucher = {
      channel: channel.channel.toBase58(),
      amount: next.toString(),
      signature: anchor.utils.bytes.bs58.encode(signature),
    };
    return { x402Version, payload: { ...payload } };
  }

  /**
   * A corrective 402: a verified held voucher ahead of ours moves the channel
   * to it, and our refused voucher (not ahead, so worth nothing) is uncounted.
   */
  private async resync(ctx: Parameters<NonNullable<SchemeClientHooks["onPaymentResponse"]>>[0]) {
    const refusal = (ctx.paymentRequired?.extensions?.[SCHEME] as { info?: Refusal } | undefined)?.info;
    const sent = ctx.paymentPayload.payload as unknown as WireVoucher;
    if (!refusal?.held || (refusal.reason !== "stale" && refusal.reason !== "duplicate")) return;
    const [creator, mint] = [new PublicKey(ctx.requirements.payTo), new PublicKey(ctx.requirements.asset)];
    const channel = await this.config.channels.find(creator, mint);
    if (!channel || refusal.held.channel !== channel.channel.toBase58() || sent.channel !== refusal.held.channel) return;
    const held = BigInt(refusal.held.amount);
    const signature = anchor.utils.bytes.bs58.decode(refusal.held.signature);
    const message = voucherMessage(channel.channel, new anchor.BN(held.toString()));
    if (!nacl.sign.detached.verify(message, signature, channel.session.publicKey)) return;
    if (held < BigInt(sent.amount) || held > channel.allocation) return;
    // ours added nothing when the server holds more; an equal one stays
    // counted (it may be the one we signed)
    if (held > BigInt(sent.amount)) {
      this.spent.set(mint.toBase58(), this.spending(mint) - BigInt(ctx.requirements.amount));
    }
    channel.cumulative = held;
    await this.config.channels.save(channel);
    return { recovered: true as const };
  }
}

/** Registers the `micropay` scheme on `client` for every Solana network. */
export function registerMicropayScheme(client: x402Client, config: MicropaySchemeConfig): MicropayScheme {
  const scheme = new MicropayScheme(config);
  client.register("solana:*", scheme);
  return scheme;
}
