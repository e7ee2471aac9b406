//! The paying middleware against the paywall over real HTTP on 127.0.0.1,
//! both on the embedded bank: it opens a channel by itself, tops it up,
//! keeps to its budget, and after losing its whole store finds its channel on
//! chain and resumes from the server's held voucher — no unit lost or paid
//! twice.
#![allow(clippy::arithmetic_side_effects)]

use anchor_spl::token::spl_token::{native_mint::ID as SOL, ID as TOKEN};
use axum::{routing::get, Router};
use micropay_client::{
    accounts,
    ledger::{embedded::EmbeddedLedger, ChannelFilter, DynSigner, Ledger},
    payer::Payer,
    receiver::{AcceptedMint, Receiver, ReceiverConfig},
    store::{ReceiverStore, SqliteStore},
    tokens,
};
use micropay_http::{
    pay::{Budget, Pay, PayError, PayPolicy},
    paywall::{Paywall, PaywallConfig},
    route::{PathPattern, Price, Route},
};
use micropay_sdk::{instructions as mix, x402};
use micropay_tests::client::escrow_ixs;
use solana_sdk::{
    pubkey::Pubkey,
    signature::{Keypair, Signer},
};
use std::{collections::BTreeMap, sync::Arc};

const PRICE: u64 = 1_000;

struct World {
    ledger: Arc<EmbeddedLedger>,
    wallet: Arc<Keypair>,
    creator: Keypair,
    store: Arc<dyn ReceiverStore>,
    url: String,
}

/// A funded payer with a wSOL escrow, and a creator serving `/paid/**`
/// behind the paywall on a local port.
async fn world(deposit: u64) -> World {
    let ledger = Arc::new(EmbeddedLedger::start().await);
    let l: &dyn Ledger = ledger.as_ref();
    let wallet = Keypair::new();
    let creator = Keypair::new();
    ledger
        .airdrop(&wallet.pubkey(), deposit + 1_000_000_000)
        .await
        .unwrap();
    let wsol = tokens::create_token_account(l, &wallet, &SOL, &wallet.pubkey(), &TOKEN)
        .await
        .unwrap();
    let (_, mut ixs) = escrow_ixs(&wallet.pubkey(), &wsol, deposit);
    ixs.push(
        mix::InitEarnings {
            payer: wallet.pubkey(),
            owner: creator.pubkey(),
            mint: SOL,
        }
        .instruction(),
    );
    l.send(&ixs, &wallet, &[]).await.unwrap();

    let store: Arc<dyn ReceiverStore> = Arc::new(SqliteStore::in_memory().unwrap());
    let receiver = Arc::new(Receiver::new(
        ledger.clone(),
        store.clone(),
        creator.pubkey(),
        ReceiverConfig::accepting([AcceptedMint::wrapped_sol()]),
    ));
    let paywall = Paywall::new(
        receiver,
        PaywallConfig {
            unrouted: Default::default(),
            routes: vec![Route::new(
                None,
                PathPattern::parse("/paid/**").unwrap(),
                vec![Price {
                    mint: SOL,
                    amount: PRICE,
                    decimals: 9,
                }],
            )
            .unwrap()],
            network: x402::network(&l.genesis_hash().await.unwrap()),
            max_timeout_seconds: 60,
            fund_action: None,
        },
    );
    let app = Router::new()
        .route("/paid/weather", get(|| async { "sunny" }))
        .layer(paywall);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    World {
        ledger,
        wallet: Arc::new(wallet),
        creator,
        store,
        url,
    }
}

fn client(
    w: &World,
    budget: Budget,
    allocation_requests: u64,
) -> (Pay, reqwest_middleware::ClientWithMiddleware) {
    let wallet: Arc<DynSigner> = w.wallet.clone();
    let pay = Pay::new(
        w.ledger.clone(),
        wallet,
        Payer::new(Arc::new(SqliteStore::in_memory().unwrap())),
        PayPolicy {
            budgets: BTreeMap::from([(SOL, budget)]),
            allocation_requests,
        },
    );
    let http = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
        .with(pay.clone())
        .build();
    (pay, http)
}

/// What the creator's store holds for the wallet's one channel.
fn held(w: &World, channel: &Pubkey) -> u64 {
    w.store.get(channel).unwrap().unwrap().voucher.amount
}

async fn channels(w: &World) -> Vec<(Pubkey, micropay_client::micropay::state::Channel)> {
    let escrow = micropay_sdk::pda::escrow(&w.wallet.pubkey(), &SOL).0;
    w.ledger
        .channels(ChannelFilter::Escrow(escrow))
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_middleware_pays_tops_up_and_recovers_its_lost_state() {
    let w = world(100_000_000).await;
    let generous = Budget {
        per_creator: 1_000_000,
        total: 1_000_000,
    };
    let (pay, http) = client(&w, generous, 5);
    let url = format!("{}/paid/weather", w.url);

    // 12 requests: a channel of 5 requests is opened, then topped up twice
    for _ in 0..12 {
        let response = http.get(&url).send().await.unwrap();
        assert_eq!(response.status(), 200);
        assert!(response.headers().contains_key(x402::PAYMENT_RESPONSE));
        assert_eq!(response.text().await.unwrap(), "sunny");
    }
    let spent = pay.spending();
    assert_eq!(spent.requests, 12);
    assert_eq!(spent.in_mint(&SOL), 12 * PRICE);
    let found = channels(&w).await;
    assert_eq!(
        found.len(),
        1,
        "one channel, topped up, not one per request"
    );
    let (channel, state) = &found[0];
    assert_eq!(state.creator, w.creator.pubkey());
    assert_eq!(state.allocation, 15 * PRICE);
    assert_eq!(held(&w, channel), 12 * PRICE);

    // the client loses everything: a new store, a new middleware
    let (pay2, http2) = client(&w, generous, 5);
    for _ in 0..3 {
        let response = http2.get(&url).send().await.unwrap();
        assert_eq!(response.status(), 200);
    }
    // it found its channel (no new one) and resumed from the held voucher:
    // the server counted each request once, nothing paid twice
    assert_eq!(channels(&w).await.len(), 1);
    assert_eq!(held(&w, channel), 15 * PRICE);
    assert_eq!(pay2.spending().requests, 3);
    assert_eq!(pay2.spending().in_mint(&SOL), 3 * PRICE);

    // and the creator collects exactly that: one claim of the held voucher
    let voucher = w.store.get(channel).unwrap().unwrap().voucher;
    let earnings = micropay_sdk::pda::earnings(&w.creator.pubkey(), &SOL).0;
    let claim = mix::claim(&[mix::VoucherClaim {
        channel: *channel,
        creator_earnings: earnings,
        fee_earnings: None,
        amount: voucher.amount,
        signature: voucher.signature,
    }]);
    w.ledger
        .send(&[claim], w.ledger.payer(), &[])
        .await
        .unwrap();
    let earned = accounts::earnings(w.ledger.as_ref(), &earnings)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(earned.balance, 15 * PRICE);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_middleware_keeps_to_its_budget() {
    let w = world(100_000_000).await;
    let (pay, http) = client(
        &w,
        Budget {
            per_creator: 3 * PRICE,
            total: 10 * PRICE,
        },
        10,
    );
    let url = format!("{}/paid/weather", w.url);
    for _ in 0..3 {
        assert_eq!(http.get(&url).send().await.unwrap().status(), 200);
    }
    let err = http.get(&url).send().await.unwrap_err();
    let reqwest_middleware::Error::Middleware(e) = err else {
        panic!("expected the middleware's error, got {err:?}");
    };
    match e.downcast_ref::<PayError>() {
        Some(PayError::Budget { spent, cap, .. }) => {
            assert_eq!((*spent, *cap), (3 * PRICE, 3 * PRICE));
        }
        other => panic!("expected a budget error, got {other:?}"),
    }
    // the channel allocated only what the budget allows
    let found = channels(&w).await;
    assert_eq!(found[0].1.allocation, 3 * PRICE);
    assert_eq!(pay.spending().in_mint(&SOL), 3 * PRICE);
    // free routes and other sites are untouched
    let none = http.get(format!("{}/free", w.url)).send().await.unwrap();
    assert_eq!(none.status(), 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_an_escrow_the_middleware_says_so() {
    let w = world(100_000_000).await;
    // another wallet, with SOL but no escrow
    let stranger = Keypair::new();
    w.ledger
        .airdrop(&stranger.pubkey(), 1_000_000_000)
        .await
        .unwrap();
    let wallet: Arc<DynSigner> = Arc::new(stranger);
    let pay = Pay::new(
        w.ledger.clone(),
        wallet,
        Payer::new(Arc::new(SqliteStore::in_memory().unwrap())),
        PayPolicy {
            budgets: BTreeMap::from([(
                SOL,
                Budget {
                    per_creator: 1_000_000,
                    total: 1_000_000,
                },
            )]),
            allocation_requests: 10,
        },
    );
    let http = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
        .with(pay)
        .build();
    let err = http
        .get(format!("{}/paid/weather", w.url))
        .send()
        .await
        .unwrap_err();
    let reqwest_middleware::Error::Middleware(e) = err else {
        panic!("expected the middleware's error, got {err:?}");
    };
    assert!(
        matches!(e.downcast_ref::<PayError>(), Some(PayError::NoEscrow { mint }) if *mint == SOL),
        "{e}"
    );
}
