/**
 * x402's own TypeScript client — `@x402/fetch` with `@x402/svm`'s `exact`
 * scheme, software nobody on micropay wrote — paying a URL on a local
 * cluster. The Rust test `x402_fetch_pays_serve` runs it against
 * `micropay serve` and checks what the payee received, to the base unit.
 *
 * Environment: `X402_URL` (the paid URL), `X402_RPC_URL` (the cluster the
 * client reads its blockhash and mint from), `X402_KEYPAIR` (a Solana CLI
 * keypair file, the payer), `X402_NETWORK` and `X402_ASSET` (the cluster's
 * x402 network id and the token the client may pay in), `X402_MAX_AMOUNT`
 * (the most it pays per request, in base units), `X402_REQUESTS` (how many
 * requests, one payment each). Prints one JSON line: each request's status,
 * body and receipt.
 *
 * The client's spend controls allow only the assets it knows (mainnet and
 * devnet USDC) unless told: the test's mint is allowed by name, capped per
 * payment, as `@x402/core` asks of a non-default token.
 *
 * `@x402/svm` 2.27 knows three networks (Solana mainnet, devnet, testnet)
 * and refuses any other id before it builds anything, even with its own
 * `rpcUrl` option. A local cluster has its own genesis hash, so its own
 * network id; `LocalCluster` hands the scheme the same offer under devnet's
 * id (only its RPC client is chosen by the id; the transaction names no
 * network) with `rpcUrl` pointed at the local node. The payment payload's
 * `accepted` is still the server's offer as sent: `x402Client` builds it.
 */
import { readFileSync } from "node:fs";
import { createKeyPairSignerFromBytes } from "@solana/kit";
import { decodePaymentResponseHeader, wrapFetchWithPayment, x402Client } from "@x402/fetch";
import type { PaymentRequirements, SchemeNetworkClient } from "@x402/core/types";
import { ExactSvmScheme } from "@x402/svm/exact/client";

const DEVNET = "solana:EtWTRABZaYq6iMfeYKouRu166VU2xqa1";

/** `@x402/svm`'s `exact` client on a cluster whose id it does not know. */
class LocalCluster implements SchemeNetworkClient {
  readonly scheme = "exact";
  constructor(private readonly inner: ExactSvmScheme) {}
  createPaymentPayload(version: number, requirements: PaymentRequirements) {
    return this.inner.createPaymentPayload(version, { ...requirements, network: DEVNET });
  }
}

function env(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`set ${name}`);
  return value;
}

const secret = Uint8Array.from(JSON.parse(readFileSync(env("X402_KEYPAIR"), "utf8")) as number[]);
const signer = await createKeyPairSignerFromBytes(secret);
const network = env("X402_NETWORK") as `${string}:${string}`;
const client = x402Client.fromConfig({
  schemes: [{ network, client: new LocalCluster(new ExactSvmScheme(signer, { rpcUrl: env("X402_RPC_URL") })) }],
  spendControls: {
    allowedAssets: [{ network, asset: env("X402_ASSET"), maxAmountPerPayment: env("X402_MAX_AMOUNT") }],
  },
});
const paying = wrapFetchWithPayment(fetch, client);

const answers = [];
for (let i = 0; i < Number(env("X402_REQUESTS")); i++) {
  const response = await paying(env("X402_URL"));
  const header = response.headers.get("PAYMENT-RESPONSE");
  answers.push({
    status: response.status,
    body: await response.text(),
    receipt: header ? decodePaymentResponseHeader(header) : null,
  });
}
console.log(JSON.stringify(answers));
