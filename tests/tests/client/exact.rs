//! x402 `exact` payments settled by the server as its own facilitator, on
//! the embedded bank with the real SPL Token program: a client signs a v0
//! transfer to the creator's associated token account (as x402 clients
//! build it); the server checks it, co-signs as fee payer and sends it. The
//! creator receives exactly the price; a refused transaction is never
//! sent; a resent one moves nothing twice; one the cluster would refuse
//! costs the fee payer nothing. (`cli/tests/rpc_ledger.rs` runs the same
//! through RPC against the local node.)

use micropay_client::{
    exact,
    ledger::{embedded::EmbeddedLedger, Ledger},
    ClientError,
};
use micropay_sdk::x402::exact::{ExactRefusal, Terms};
use micropay_tests::exact::{exact_world, ExactWorld, HELD, PRICE};
use solana_sdk::signature::{Keypair, Signer};
use std::sync::Arc;

const FUNDS: u64 = 1_000_000_000;

async fn world() -> (Arc<EmbeddedLedger>, ExactWorld) {
    let bank = Arc::new(EmbeddedLedger::start().await);
    let fee_payer = Keypair::new();
    bank.airdrop(&fee_payer.pubkey(), FUNDS).await.unwrap();
    let setup = bank.payer().insecure_clone();
    let w = exact_world(bank.as_ref(), &setup, fee_payer).await;
    (bank, w)
}

#[tokio::test]
async fn the_server_settles_a_client_signed_transfer_exactly_once() {
    let (bank, w) = world().await;
    let l: &dyn Ledger = bank.as_ref();
    let wire = w.payment(l, PRICE, 6).await;
    let prepared = exact::prepare(&wire, &w.terms, &w.fee_payer).unwrap();
    assert_eq!(prepared.transfer.amount, PRICE);
    assert_eq!(prepared.transfer.authority, w.client.pubkey());
    // its id is known before it is sent (to be recorded first)
    let id = prepared.id();
    let sent = exact::send(l, &prepared).await.unwrap();
    assert_eq!(sent.signature.to_string(), id);
    let (source, destination, lamports) = w.balances(l).await;
    assert_eq!((source, destination), (HELD - PRICE, PRICE));
    assert_eq!(
        lamports,
        FUNDS - sent.fee,
        "the fee payer paid the fee only"
    );
    // sent again, the ledger answers as for the first time and moves
    // nothing: exactly once is the caller's record, not the cluster's
    let again = exact::send(l, &prepared).await.unwrap();
    assert_eq!(again.signature, sent.signature);
    assert_eq!(w.balances(l).await, (source, destination, lamports));
}

#[tokio::test]
async fn a_refused_payment_is_never_sent() {
    let (bank, w) = world().await;
    let l: &dyn Ledger = bank.as_ref();
    let before = w.balances(l).await;
    let wire = w.payment(l, PRICE, 6).await;
    // another price
    let dearer = Terms {
        amount: PRICE + 1,
        ..w.terms.clone()
    };
    assert!(matches!(
        exact::prepare(&wire, &dearer, &w.fee_payer),
        Err(ClientError::Exact(ExactRefusal::Amount))
    ));
    // a server whose key is not the offer's fee payer
    assert!(matches!(
        exact::prepare(&wire, &w.terms, &Keypair::new()),
        Err(ClientError::Exact(ExactRefusal::FeePayer))
    ));
    assert!(matches!(
        exact::prepare("AAAA", &w.terms, &w.fee_payer),
        Err(ClientError::Exact(ExactRefusal::Undecodable))
    ));
    assert_eq!(w.balances(l).await, before);
}

/// What only the cluster knows — the client holds the tokens, the
/// decimals are the mint's — fails the send before it lands, typed: it
/// moves nothing and costs the fee payer nothing.
#[tokio::test]
async fn what_the_cluster_refuses_moves_nothing_and_costs_nothing() {
    let (bank, w) = world().await;
    let l: &dyn Ledger = bank.as_ref();
    let before = w.balances(l).await;
    for (amount, decimals) in [(10 * HELD, 6), (PRICE, 5)] {
        let err = w.refused_by_cluster(l, amount, decimals).await;
        assert!(
            matches!(err, ClientError::Instruction { index: 2, .. }),
            "{err:?}"
        );
    }
    assert_eq!(w.balances(l).await, before);
}

/// The client's side builds what the server's side takes: a payment made
/// with `exact::pay` is checked, co-signed and lands; two payments of the
/// same offer are two transactions; an offer naming the wallet itself as
/// fee payer is refused before anything is signed.
#[tokio::test]
async fn a_client_pays_an_offer_the_server_takes() {
    let (bank, w) = world().await;
    let l: &dyn Ledger = bank.as_ref();
    let first = exact::pay(l, &w.client, &w.terms).await.unwrap();
    let second = exact::pay(l, &w.client, &w.terms).await.unwrap();
    assert_ne!(first, second, "a memo nonce each");
    for wire in [&first, &second] {
        let prepared = exact::prepare(wire, &w.terms, &w.fee_payer).unwrap();
        exact::send(l, &prepared).await.unwrap();
    }
    let (source, destination, _) = w.balances(l).await;
    assert_eq!((source, destination), (HELD - 2 * PRICE, 2 * PRICE));
    let own = Terms {
        fee_payer: w.client.pubkey(),
        ..w.terms.clone()
    };
    assert!(matches!(
        exact::pay(l, &w.client, &own).await,
        Err(ClientError::Exact(ExactRefusal::FeePayerExposed))
    ));
}
