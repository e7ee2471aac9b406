"""x402's own Python client -- `x402` on PyPI: `wrapRequestsWithPayment`
with its SVM `ExactSvmScheme`, software nobody on micropay wrote -- paying
a URL on a local cluster. The Rust test `x402_python_pays_serve` runs it
against `micropay serve` and checks what the payee received, to the base
unit.

Environment: `X402_URL` (the paid URL), `X402_RPC_URL` (the cluster the
client reads its blockhash and mint from), `X402_KEYPAIR` (a Solana CLI
keypair file, the payer), `X402_NETWORK` and `X402_ASSET` (the cluster's
x402 network id and the token the client may pay in), `X402_MAX_AMOUNT`
(the most it pays per request, base units), `X402_REQUESTS`. Prints one
JSON line: each request's status, body and receipt.

Like its TypeScript sibling, `x402`'s SVM mechanism knows three network ids
(Solana mainnet, devnet, testnet) and raises `Unsupported SVM network` for
any other, even with its `rpc_url` set. `LocalCluster` hands the scheme the
same offer under devnet's id (the id only chooses its RPC client; the
transaction names no network) with `rpc_url` pointed at the local node; the
client still sends the server's offer, as sent, in `accepted`.
"""

import base64
import json
import os

import requests
from solders.keypair import Keypair
from x402 import x402ClientSync
from x402.http.clients import wrapRequestsWithPayment
from x402.mechanisms.svm.exact import ExactSvmClientScheme as ExactSvmScheme
from x402.mechanisms.svm.signers import KeypairSigner

DEVNET = "solana:EtWTRABZaYq6iMfeYKouRu166VU2xqa1"


class LocalCluster:
    """`x402`'s SVM `exact` client on a cluster whose id it does not know."""

    scheme = "exact"

    def __init__(self, inner: ExactSvmScheme):
        self._inner = inner

    def create_payment_payload(self, requirements):
        return self._inner.create_payment_payload(requirements.model_copy(update={"network": DEVNET}))


def env(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise SystemExit(f"set {name}")
    return value


def main() -> None:
    with open(env("X402_KEYPAIR"), encoding="utf-8") as f:
        keypair = Keypair.from_bytes(bytes(json.load(f)))
    network = env("X402_NETWORK")
    client = x402ClientSync()
    client.register(network, LocalCluster(ExactSvmScheme(KeypairSigner(keypair), rpc_url=env("X402_RPC_URL"))))
    client.set_spend_controls(
        {
            "allowed_assets": [
                {"network": network, "asset": env("X402_ASSET"), "max_amount_per_payment": env("X402_MAX_AMOUNT")}
            ]
        }
    )
    session = wrapRequestsWithPayment(requests.Session(), client)
    answers = []
    for _ in range(int(env("X402_REQUESTS"))):
        response = session.get(env("X402_URL"), timeout=60)
        receipt = response.headers.get("PAYMENT-RESPONSE")
        answers.append(
            {
                "status": response.status_code,
                "body": response.text,
                "receipt": json.loads(base64.b64decode(receipt)) if receipt else None,
            }
        )
    print(json.dumps(answers))


if __name__ == "__main__":
    main()
