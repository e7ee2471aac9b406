/**
 * The `micropay` x402 scheme for `@x402/core` clients, and `payingFetch`:
 * `fetch` that answers a micropay 402 with a voucher — no transaction, no
 * wallet prompt per request.
 *
 * The scheme asks the `Payer` (which keeps the budgets, the write-ahead
 * rule and pending vouchers) and reads the answer: a served request clears
 * its voucher; a refusal `stale` or `duplicate` carrying the server's held
 * voucher resyncs the channel (only when that voucher verifies against the
 * channel's own key) and `@x402/fetch` pays once more; a refusal that ends
 * the channel (`closing`, `expiring`, …) retires it.
 *
 * Budgets per origin need the origin the request really went to, which a
 * server could misstate in its 402: `payingFetch` binds one scheme to each
 * origin it fetches from, refuses to pay a 402 that came from another
 * origin (a redirect), and keeps one request per origin in flight.
 */
import { x402Client, type PaymentResponseContext } from "@x402/core/client";
import { wrapFetchWithPayment } from "@x402/fetch";
import type {
  PaymentPayloadContext,
  PaymentPayloadResult,
  PaymentRequirements,
  SchemeClientHooks,
  SchemeNetworkClient,
} from "@x402/core/types";
import type { Address } from "@solana/kit";
import { MICROPAY_PROGRAM_ADDRESS } from "./generated/programs/index.js";
import type { Payer } from "./payer.js";
import { fromWire, parseU64, toWire, type Voucher } from "./voucher.js";

/** The scheme's name in `accepts[].scheme`. */
export const SCHEME = "micropay";

/** Refusals after which a channel is not paid from again. */
const ENDS_CHANNEL = new Set(["closing", "expiring", "dispute_window_too_short", "wrong_creator", "fee_not_accepted", "mint_not_accepted"]);

/** Why the scheme did not make a payload. */
export class SchemeError extends Error {
  constructor(
    readonly reason: "unsupported" | "other_network" | "spend_cap",
    message: string,
  ) {
    super(message);
    this.name = "SchemeError";
  }
}

/** micropay's refusal in a 402's `extensions.micropay.info`. */
interface Refusal {
  reason?: string;
  held?: unknown;
}

/** `@x402/core`'s client side of `micropay`, paying for requests to one origin. */
export class MicropayScheme implements SchemeNetworkClient {
  readonly scheme = SCHEME;
  readonly schemeHooks: SchemeClientHooks;
  /** Why the last payload was not made (`@x402/fetch` rethrows it as a plain `Error`). */
  lastError: unknown;

  /**
   * `network`: the x402 id of the cluster the payer's channels are on
   * (`networkOf`); an offer on another network is refused. Unset, any
   * Solana network's offer is paid (the voucher is worth something only
   * where its channel exists, but it counts against the budget).
   */
  constructor(
    private readonly payer: Payer,
    private readonly origin: string,
    private readonly programAddress: Address = MICROPAY_PROGRAM_ADDRESS,
    private readonly network?: string,
  ) {
    this.schemeHooks = { onPaymentResponse: (ctx) => this.answered(ctx) };
  }

  async createPaymentPayload(
    x402Version: number,
    requirements: PaymentRequirements,
    context?: PaymentPayloadContext,
  ): Promise<PaymentPayloadResult> {
    try {
      return { x402Version, payload: { ...toWire(await this.voucherFor(requirements, context)) } };
    } catch (e) {
      this.lastError = e;
      throw e;
    }
  }

  /** The voucher paying `requirements`, or why not. */
  private async voucherFor(requirements: PaymentRequirements, context?: PaymentPayloadContext): Promise<Voucher> {
    const extra = requirements.extra as { programId?: string } | undefined;
    if (requirements.scheme !== SCHEME || extra?.programId !== this.programAddress) {
      throw new SchemeError("unsupported", "not an offer of this micropay program");
    }
    if (this.network !== undefined && requirements.network !== this.network) {
      throw new SchemeError("other_network", `an offer on ${requirements.network}, not on ${this.network} where the channels are`);
    }
    // a price is a positive u64 in decimal: a negative one would give budget back
    const price = parseU64(requirements.amount);
    if (!price) {
      throw new SchemeError("unsupported", `the offer's price ${JSON.stringify(requirements.amount)} is not a positive whole number of base units`);
    }
    if (context?.maxAmountPerPayment !== undefined && price > BigInt(context.maxAmountPerPayment)) {
      throw new SchemeError("spend_cap", `the price ${price} is above the per-payment cap`);
    }
    const { voucher } = await this.payer.pay({
      origin: this.origin,
      creator: requirements.payTo as Address,
      mint: requirements.asset as Address,
      price,
    });
    return voucher;
  }

  /** Reads the answer to a paid request (see the module docs). */
  private async answered(ctx: PaymentResponseContext): Promise<void | { recovered: true }> {
    const sent = fromWire(ctx.paymentPayload.payload) as Voucher | undefined;
    if (!sent) return;
    if (ctx.settleResponse?.success) return void (await this.payer.answered(sent));
    const refusal = (ctx.paymentRequired?.extensions?.[SCHEME] as { info?: Refusal } | undefined)?.info;
    if (!refusal?.reason) return;
    if (ENDS_CHANNEL.has(refusal.reason)) return void (await this.payer.retire(sent.channel, refusal.reason));
    if (refusal.reason !== "stale" && refusal.reason !== "duplicate") return;
    const held = fromWire(refusal.held);
    if (!held) return;
    const moved = await this.payer.resync(sent, held, this.origin, BigInt(ctx.requirements.amount));
    return moved ? { recovered: true } : undefined;
  }
}

/** Registers `micropay` on `client` for every Solana network, paying for requests to `origin`. */
export function registerMicropayScheme(
  client: x402Client,
  payer: Payer,
  origin: string,
  programAddress?: Address,
  network?: string,
): MicropayScheme {
  const scheme = new MicropayScheme(payer, origin, programAddress, network);
  client.register("solana:*", scheme);
  return scheme;
}

/** A paid request answered with a 402 from another origin than asked (a redirect): not paid. */
export class OriginMismatch extends Error {
  constructor(
    readonly asked: string,
    readonly answered: string,
  ) {
    super(`a request to ${asked} was answered by ${answered}: not paid`);
    this.name = "OriginMismatch";
  }
}

export interface PayingFetchOptions {
  /** The fetch underneath (the platform's unless told). */
  fetch?: typeof globalThis.fetch;
  programAddress?: Address;
  /** The x402 network id of the channels' cluster (`networkOf`): offers on others are refused. */
  network?: string;
  /** Called with each client made for an origin (to register other schemes, hooks). */
  configure?: (client: x402Client, origin: string) => void;
}

/**
 * `fetch` that pays micropay 402s from `payer`: budgets per origin, one
 * request per origin in flight, a 402 from a redirect's origin not paid.
 * A payment the payer refused rejects with its typed error
 * (`PaymentError`, `SchemeError`), not `@x402/fetch`'s text.
 */
export function payingFetch(payer: Payer, options: PayingFetchOptions = {}): typeof globalThis.fetch {
  const inner = options.fetch ?? globalThis.fetch.bind(globalThis);
  const perOrigin = new Map<string, { pay: typeof globalThis.fetch; queue: Promise<unknown> }>();
  const forOrigin = (origin: string) => {
    let entry = perOrigin.get(origin);
    if (!entry) {
      // the payer's budgets are the spend control for micropay's mints;
      // x402's own per-payment USD cap still applies to its default assets
      const client = x402Client.fromConfig({ schemes: [], spendControls: { allowedAssets: true } });
      const scheme = registerMicropayScheme(client, payer, origin, options.programAddress, options.network);
      options.configure?.(client, origin);
      const sameOrigin: typeof globalThis.fetch = async (input, init) => {
        const response = await inner(input, init);
        const answered = response.url ? new URL(response.url).origin : origin;
        if (response.status === 402 && answered !== origin) throw new OriginMismatch(origin, answered);
        return response;
      };
      const paying = wrapFetchWithPayment(sameOrigin, client);
      const pay: typeof globalThis.fetch = async (input, init) => {
        scheme.lastError = undefined;
        try {
          return await paying(input, init);
        } catch (e) {
          throw scheme.lastError ?? e;
        }
      };
      entry = { pay, queue: Promise.resolve() };
      perOrigin.set(origin, entry);
    }
    return entry;
  };
  return (input, init) => {
    const url = input instanceof Request ? input.url : String(input);
    // a relative URL is the page's (in a browser)
    const entry = forOrigin(new URL(url, globalThis.location?.href).origin);
    const run = entry.queue.then(() => entry.pay(input, init));
    entry.queue = run.catch(() => undefined);
    return run;
  };
}
