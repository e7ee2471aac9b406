//! The paywall's `exact` scheme over real HTTP on the embedded bank (issue
//! 28): a route offers x402's `exact` after micropay's; a client without
//! micropay pays with a signed token transfer, and the paywall — its own
//! facilitator — checks it, co-signs it as fee payer, sends it and serves
//! the request once it landed. The same transaction again is a duplicate;
//! a transfer that pays the wrong amount, or that the cluster refuses, is
//! refused with a machine-readable reason and moves nothing; a request
//! whose upstream failed is served on its retry with the same payment, and
//! only once. The paying middleware pays such a route by itself, within its
//! budget, when the wallet has no escrow; a server that takes the transfer
//! and answers 402 anyway gets no more than that budget.
#![allow(clippy::arithmetic_side_effects)]

use axum::{routing::get, Router};
use micropay_client::{
    ledger::{embedded::EmbeddedLedger, DynSigner, Ledger},
    payer::Payer,
    receiver::{AcceptedMint, Receiver, ReceiverConfig},
    store::{ExactStatus, ReceiverStore, SqliteStore},
};
use micropay_http::{
    pay::{Budget, Pay, PayError, PayPolicy},
    paywall::{ExactSettlement, Paywall, PaywallConfig, NOT_SERVED},
    route::{PathPattern, Price, Route},
};
use micropay_sdk::x402::{
    self,
    exact::{ExactPayload, ExactPaymentPayload},
    PaymentRequired, RefusalCode, SettlementResponse,
};
use micropay_tests::exact::{exact_world, ExactWorld, HELD, PRICE};
use solana_sdk::signature::{Keypair, Signer};
use std::sync::{
    atomic::{AtomicUsize, Ordering},
    Arc, OnceLock,
};

struct Gateway {
    bank: Arc<EmbeddedLedger>,
    w: ExactWorld,
    store: Arc<dyn ReceiverStore>,
    url: String,
    /// Requests the upstream served.
    served: Arc<AtomicUsize>,
}

/// The world, and a paywall selling `/paid/*` (micropay and `exact`) and
/// `/voucher-only` (micropay) at [`PRICE`] of its mint; `/paid/flaky`
/// fails its first request; `/paid/liar` is served, and then a hostile
/// layer in front of the paywall answers its own first 402 instead.
async fn gateway() -> Gateway {
    let bank = Arc::new(EmbeddedLedger::start().await);
    let fee_payer = Keypair::new();
    bank.airdrop(&fee_payer.pubkey(), 1_000_000_000)
        .await
        .unwrap();
    let setup = bank.payer().insecure_clone();
    let w = exact_world(bank.as_ref(), &setup, fee_payer).await;
    let store: Arc<dyn ReceiverStore> = Arc::new(SqliteStore::in_memory().unwrap());
    let mint = AcceptedMint {
        mint: w.mint,
        lamports: 1,
        per_units: 1,
    };
    let receiver = Arc::new(Receiver::new(
        bank.clone(),
        store.clone(),
        w.terms.pay_to,
        ReceiverConfig::accepting([mint]),
    ));
    let price = vec![Price {
        mint: w.mint,
        amount: PRICE,
        decimals: 6,
    }];
    let route = |path: &str, exact: bool| Route {
        exact,
        ..Route::new(None, PathPattern::parse(path).unwrap(), price.clone()).unwrap()
    };
    let paywall = Paywall::new(
        receiver,
        PaywallConfig {
            routes: vec![route("/paid/*", true), route("/voucher-only", false)],
            unrouted: Default::default(),
            network: x402::network(&bank.genesis_hash().await.unwrap()),
            max_timeout_seconds: 60,
            fund_action: None,
            credit_not_found: false,
        },
    );
    assert!(paywall.settle_exact(ExactSettlement {
        ledger: bank.clone(),
        fee_payer: Arc::new(w.fee_payer.insecure_clone()),
    }));
    let served = Arc::new(AtomicUsize::new(0));
    let (count, flaky) = (served.clone(), Arc::new(AtomicUsize::new(0)));
    let first_402 = Arc::new(OnceLock::new());
    let app = Router::new()
        .route(
            "/paid/weather",
            get(move || {
                count.fetch_add(1, Ordering::SeqCst);
                async { "sunny" }
            }),
        )
        .route(
            "/paid/flaky",
            get(move || {
                let first = flaky.fetch_add(1, Ordering::SeqCst) == 0;
                async move {
                    if first {
                        (http::StatusCode::BAD_GATEWAY, "down")
                    } else {
                        (http::StatusCode::OK, "up")
                    }
                }
            }),
        )
        .route("/voucher-only", get(|| async { "v" }))
        .route("/paid/liar", get(|| async { "taken" }))
        .layer(paywall)
        .layer(axum::middleware::from_fn(
            move |request: axum::extract::Request, next: axum::middleware::Next| {
                liar(request, next, first_402.clone())
            },
        ));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    Gateway {
        bank,
        w,
        store,
        url,
        served,
    }
}

/// A hostile server on `/paid/liar`: lets the paywall settle and serve a
/// paid request, then answers the 402 it gave the first unpaid one.
async fn liar(
    request: axum::extract::Request,
    next: axum::middleware::Next,
    first_402: Arc<OnceLock<(http::HeaderMap, String)>>,
) -> axum::response::Response {
    if request.uri().path() != "/paid/liar" {
        return next.run(request).await;
    }
    let paid = request.headers().contains_key(x402::PAYMENT_SIGNATURE);
    let response = next.run(request).await;
    if !paid {
        let headers = response.headers().clone();
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        let body = String::from_utf8(body.to_vec()).unwrap();
        let _ = first_402.set((headers.clone(), body.clone()));
        let mut again = axum::response::Response::new(axum::body::Body::from(body));
        *again.status_mut() = http::StatusCode::PAYMENT_REQUIRED;
        *again.headers_mut() = headers;
        return again;
    }
    assert_eq!(response.status(), 200, "the paywall settled and served it");
    let (headers, body) = first_402
        .get()
        .expect("an unpaid request came first")
        .clone();
    let mut lie = axum::response::Response::new(axum::body::Body::from(body));
    *lie.status_mut() = http::StatusCode::PAYMENT_REQUIRED;
    *lie.headers_mut() = headers;
    lie
}

/// A GET's status, its `PAYMENT-RESPONSE` and its refusal (code, detail).
struct Answer {
    status: u16,
    receipt: Option<SettlementResponse>,
    refusal: Option<(RefusalCode, Option<String>)>,
}

async fn get_with(url: &str, payment: Option<&str>) -> Answer {
    let mut request = reqwest::Client::new().get(url);
    if let Some(p) = payment {
        request = request.header(x402::PAYMENT_SIGNATURE, p);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let receipt = response
        .headers()
        .get(x402::PAYMENT_RESPONSE)
        .map(|v| x402::decode_header(x402::PAYMENT_RESPONSE, v.as_bytes()).unwrap());
    let refusal = response
        .headers()
        .get(x402::PAYMENT_REQUIRED)
        .map(|v| x402::decode_header::<PaymentRequired>(x402::PAYMENT_REQUIRED, v.as_bytes()))
        .and_then(|r| r.ok())
        .and_then(|r| r.refusal().map(|f| (f.reason, f.detail.clone())));
    Answer {
        status,
        receipt,
        refusal,
    }
}

impl Gateway {
    /// The `exact` header paying `path` with a transfer of `amount` stating
    /// `decimals`, against the route's own offer.
    async fn payment(&self, path: &str, amount: u64, decimals: u8) -> String {
        let asked = reqwest::get(format!("{}{path}", self.url)).await.unwrap();
        assert_eq!(asked.status(), 402);
        let required: PaymentRequired = asked.json().await.unwrap();
        let offer = required
            .accepts
            .iter()
            .find_map(|o| o.exact())
            .expect("an exact offer")
            .clone();
        let transaction = self.w.payment(self.bank.as_ref(), amount, decimals).await;
        x402::encode_header(&ExactPaymentPayload {
            x402_version: x402::X402_VERSION,
            resource: Some(required.resource.clone()),
            accepted: offer,
            payload: ExactPayload { transaction },
            extensions: Default::default(),
        })
    }

    async fn balances(&self) -> (u64, u64, u64) {
        self.w.balances(self.bank.as_ref()).await
    }

    /// The paying middleware of the world's client (tokens, no escrow),
    /// `budget` base units of the mint in total and per creator.
    fn paying(&self, budget: u64) -> (Pay, reqwest_middleware::ClientWithMiddleware) {
        let wallet: Arc<DynSigner> = Arc::new(self.w.client.insecure_clone());
        let pay = Pay::new(
            self.bank.clone(),
            wallet,
            Payer::new(Arc::new(SqliteStore::in_memory().unwrap())),
            PayPolicy {
                budgets: std::collections::BTreeMap::from([(
                    self.w.mint,
                    Budget {
                        per_creator: budget,
                        total: budget,
                    },
                )]),
                allocation_requests: 10,
            },
        );
        let http = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
            .with(pay.clone())
            .build();
        (pay, http)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_without_micropay_pays_each_request_with_a_transfer() {
    let g = gateway().await;
    let url = format!("{}/paid/weather", g.url);
    // the 402 offers micropay first, then exact: same price, the creator,
    // the paywall's fee payer
    let required: PaymentRequired = reqwest::get(&url).await.unwrap().json().await.unwrap();
    assert!(required.accepts[0].micropay().is_some());
    let offer = required.accepts[1].exact().expect("exact after micropay");
    assert_eq!(offer.amount, PRICE.to_string());
    assert_eq!(offer.pay_to, g.w.terms.pay_to.to_string());
    assert_eq!(offer.extra.fee_payer, g.w.fee_payer.pubkey().to_string());
    // a micropay-only route offers micropay alone
    let only: PaymentRequired = reqwest::get(format!("{}/voucher-only", g.url))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(only.accepts.iter().all(|o| o.exact().is_none()));

    let (_, _, lamports) = g.balances().await;
    let payment = g.payment("/paid/weather", PRICE, 6).await;
    let paid = get_with(&url, Some(&payment)).await;
    assert_eq!(paid.status, 200);
    let receipt = paid.receipt.unwrap();
    assert!(receipt.success);
    assert_eq!(receipt.paid, PRICE.to_string());
    assert_eq!(receipt.payer, Some(g.w.client.pubkey().to_string()));
    let recorded = g.store.get_exact(&receipt.transaction).unwrap().unwrap();
    assert_eq!(recorded.status, ExactStatus::Served);
    let (source, destination, after) = g.balances().await;
    assert_eq!((source, destination), (HELD - PRICE, PRICE));
    assert!(lamports - after <= 20_000, "the fee payer paid a fee only");
    assert_eq!(g.served.load(Ordering::SeqCst), 1);

    // the same transaction again: served once
    let again = get_with(&url, Some(&payment)).await;
    assert_eq!(
        (again.status, again.refusal),
        (402, Some((RefusalCode::Duplicate, None)))
    );
    // on a micropay-only route: not taken
    let elsewhere = get_with(&format!("{}/voucher-only", g.url), Some(&payment)).await;
    assert_eq!(
        (elsewhere.status, elsewhere.refusal),
        (402, Some((RefusalCode::Unsupported, None)))
    );
    assert_eq!(g.balances().await, (source, destination, after));
    assert_eq!(g.served.load(Ordering::SeqCst), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_or_refused_transfer_moves_nothing_and_says_why() {
    let g = gateway().await;
    let url = format!("{}/paid/weather", g.url);
    let before = g.balances().await;
    let invalid = |detail: &str| Some((RefusalCode::InvalidTransaction, Some(detail.into())));
    // one base unit short
    let short = g.payment("/paid/weather", PRICE - 1, 6).await;
    let answer = get_with(&url, Some(&short)).await;
    assert_eq!(
        (answer.status, answer.refusal),
        (402, invalid("wrong_amount"))
    );
    // the cluster refuses it (decimals not the mint's): recorded as failed,
    // and refused the same way when sent again
    let refused = g.payment("/paid/weather", PRICE, 5).await;
    for _ in 0..2 {
        let answer = get_with(&url, Some(&refused)).await;
        assert_eq!(
            (answer.status, answer.refusal),
            (402, invalid("cluster_refused"))
        );
    }
    // its blockhash is one the cluster does not know (expired): refused,
    // nothing sent
    let mut expired: ExactPaymentPayload =
        x402::decode_header(x402::PAYMENT_SIGNATURE, short.as_bytes()).unwrap();
    expired.payload.transaction =
        g.w.payment_at(PRICE, 6, solana_sdk::hash::Hash::new_unique());
    let answer = get_with(&url, Some(&x402::encode_header(&expired))).await;
    assert_eq!(
        (answer.status, answer.refusal),
        (402, invalid("cluster_refused"))
    );
    // not a transaction at all
    let mut junk: ExactPaymentPayload =
        x402::decode_header(x402::PAYMENT_SIGNATURE, short.as_bytes()).unwrap();
    junk.payload.transaction = "AAAA".into();
    let answer = get_with(&url, Some(&x402::encode_header(&junk))).await;
    assert_eq!(
        (answer.status, answer.refusal),
        (402, invalid("invalid_transaction"))
    );
    assert_eq!(g.balances().await, before, "nothing moved, no fee paid");
    assert_eq!(g.served.load(Ordering::SeqCst), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_whose_upstream_failed_is_served_on_its_retry_once() {
    let g = gateway().await;
    let url = format!("{}/paid/flaky", g.url);
    let payment = g.payment("/paid/flaky", PRICE, 6).await;
    let failed = get_with(&url, Some(&payment)).await;
    assert_eq!(failed.status, 502);
    let receipt = failed.receipt.unwrap();
    assert!(!receipt.success);
    assert_eq!(receipt.error_reason.as_deref(), Some(NOT_SERVED));
    // paid (the transfer landed), not served: the same payment serves it
    assert_eq!(g.balances().await.1, PRICE);
    let retried = get_with(&url, Some(&payment)).await;
    assert_eq!(retried.status, 200);
    assert!(retried.receipt.unwrap().success);
    let third = get_with(&url, Some(&payment)).await;
    assert_eq!(
        (third.status, third.refusal),
        (402, Some((RefusalCode::Duplicate, None)))
    );
    assert_eq!(g.balances().await.1, PRICE, "paid once");
}

/// The paying middleware, whose wallet has tokens but no escrow, pays the
/// route's `exact` offer (micropay's cannot be paid), counting each
/// transfer against its budget: past it, nothing more is signed or moved.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_middleware_pays_exact_within_its_budget_when_it_has_no_escrow() {
    let g = gateway().await;
    let (pay, http) = g.paying(2 * PRICE);
    let url = format!("{}/paid/weather", g.url);
    for _ in 0..2 {
        let answer = http.get(&url).send().await.unwrap();
        assert_eq!(answer.status(), 200);
        assert_eq!(answer.text().await.unwrap(), "sunny");
    }
    assert_eq!(pay.spending().in_mint(&g.w.mint), 2 * PRICE);
    let err = http.get(&url).send().await.unwrap_err();
    let reqwest_middleware::Error::Middleware(e) = err else {
        panic!("expected the middleware's error, got {err:?}");
    };
    assert!(
        matches!(e.downcast_ref::<PayError>(), Some(PayError::Budget { .. })),
        "{e:?}"
    );
    let (source, destination, _) = g.balances().await;
    assert_eq!((source, destination), (HELD - 2 * PRICE, 2 * PRICE));
    assert_eq!(g.served.load(Ordering::SeqCst), 2);
}

/// A hostile server takes each transfer (the paywall settles it) and
/// answers 402 as if unpaid. The middleware does not pay again for the same
/// request, counts each signed transfer against its budget, and past the
/// budget signs nothing: the server got exactly the budget, never more.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_takes_the_transfer_and_answers_402_gets_no_more_than_the_budget() {
    let g = gateway().await;
    let (pay, http) = g.paying(2 * PRICE);
    let url = format!("{}/paid/liar", g.url);
    // each request: one transfer signed and taken, a 402 handed back
    for n in 1..=2 {
        let answer = http.get(&url).send().await.unwrap();
        assert_eq!(answer.status(), 402);
        assert_eq!(pay.spending().in_mint(&g.w.mint), n * PRICE);
        assert_eq!(g.balances().await.1, n * PRICE, "the server took it");
    }
    for _ in 0..3 {
        let err = http.get(&url).send().await.unwrap_err();
        let reqwest_middleware::Error::Middleware(e) = err else {
            panic!("expected the middleware's error, got {err:?}");
        };
        assert!(
            matches!(e.downcast_ref::<PayError>(), Some(PayError::Budget { .. })),
            "{e:?}"
        );
    }
    let (source, destination, _) = g.balances().await;
    assert_eq!((source, destination), (HELD - 2 * PRICE, 2 * PRICE));
    assert_eq!(pay.spending().in_mint(&g.w.mint), 2 * PRICE);
}

/// x402's `payment-identifier` on the `exact` scheme: an id bound to one
/// transfer; another transfer under the same id is a 409 that sends
/// nothing (the fee payer signs nothing, no token moves).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_payment_identifier_binds_one_transfer() {
    let g = gateway().await;
    let url = format!("{}/paid/weather", g.url);
    let with_id = |header: String| {
        let mut p: ExactPaymentPayload =
            x402::decode_header(x402::PAYMENT_SIGNATURE, header.as_bytes()).unwrap();
        x402::payment_id::attach(&mut p.extensions, "pay_0123456789abcdef");
        x402::encode_header(&p)
    };
    let first = with_id(g.payment("/paid/weather", PRICE, 6).await);
    assert_eq!(get_with(&url, Some(&first)).await.status, 200);
    let after_first = g.balances().await;
    let second = with_id(g.payment("/paid/weather", PRICE, 6).await);
    let conflict = get_with(&url, Some(&second)).await;
    assert_eq!(
        (conflict.status, conflict.refusal),
        (409, Some((RefusalCode::PaymentIdentifierConflict, None)))
    );
    assert_eq!(g.balances().await, after_first, "nothing sent");
    assert_eq!(g.served.load(Ordering::SeqCst), 1);
}
