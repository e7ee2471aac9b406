//! The paywall layer in front of an axum service, on the embedded bank:
//! free routes pass, priced routes answer 402 in x402 v2 form until a voucher
//! the receiver accepts arrives, each voucher is served once, a client that
//! is behind gets the voucher the server holds (signed by its own key), and
//! an unreachable cluster is a 503, never a free pass.
#![allow(clippy::arithmetic_side_effects)]

use anchor_spl::token::spl_token::native_mint::ID as SOL;
use axum::{body::Body, routing::get, Router};
use http::{Request, Response, StatusCode};
use http_body_util::BodyExt;
use micropay_client::{
    ledger::{embedded::EmbeddedLedger, rpc::RpcLedger, Ledger},
    receiver::{AcceptedMint, Receiver, ReceiverConfig},
    store::SqliteStore,
};
use micropay_http::{
    paywall::{ClaimNow, Paywall, PaywallConfig, Settle},
    route::{PathPattern, Price, Route},
};
use micropay_sdk::{
    voucher::Voucher,
    x402::{self, PaymentPayload, PaymentRequired, RefusalCode, SettlementResponse, WireVoucher},
};
use micropay_tests::client::one_channel;
use solana_sdk::{
    pubkey::Pubkey,
    signature::{Keypair, Signer},
};
use std::sync::{
    atomic::{AtomicUsize, Ordering},
    Arc,
};
use tower::ServiceExt;

const PRICE: u64 = 1_000;

/// A receiver of `creator`'s wrapped-SOL vouchers with an in-memory store.
fn receiver(ledger: Arc<dyn Ledger>, creator: Pubkey) -> Arc<Receiver> {
    Arc::new(Receiver::new(
        ledger,
        Arc::new(SqliteStore::in_memory().unwrap()),
        creator,
        ReceiverConfig::accepting([AcceptedMint::wrapped_sol()]),
    ))
}

fn routes() -> Vec<Route> {
    vec![Route::new(
        Some(http::Method::GET),
        PathPattern::parse("/paid/**").unwrap(),
        vec![Price {
            mint: SOL,
            amount: PRICE,
            decimals: 9,
        }],
    )
    .unwrap()]
}

/// The paywall's configuration for `routes` on `network`: unrouted paths
/// by default, a 404 charged, no fund action.
fn config(routes: Vec<Route>, network: String) -> PaywallConfig {
    PaywallConfig {
        credit_not_found: false,
        unrouted: Default::default(),
        routes,
        network,
        max_timeout_seconds: 60,
        fund_action: None,
    }
}

/// An app whose handler counts how often it ran.
fn app(receiver: Arc<Receiver>, network: String, served: Arc<AtomicUsize>) -> Router {
    let paywall = Paywall::new(
        receiver,
        PaywallConfig {
            credit_not_found: false,
            unrouted: Default::default(),
            routes: routes(),
            network,
            max_timeout_seconds: 60,
            fund_action: Some("http://example.test/actions/fund".into()),
        },
    );
    let count = move || {
        let served = served.clone();
        async move {
            served.fetch_add(1, Ordering::SeqCst);
            "sunny"
        }
    };
    Router::new()
        .route("/free", get(|| async { "free" }))
        .route("/paid/weather", get(count))
        .layer(paywall)
}

async fn call(app: &Router, path: &str, payment: Option<String>) -> Response<Body> {
    let mut request = Request::get(path);
    if let Some(p) = payment {
        request = request.header(x402::PAYMENT_SIGNATURE, p);
    }
    app.clone()
        .oneshot(request.body(Body::empty()).unwrap())
        .await
        .unwrap()
}

async fn body(response: Response<Body>) -> String {
    String::from_utf8(
        response
            .into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .to_vec(),
    )
    .unwrap()
}

/// The 402's header, decoded; checks the body says the same.
async fn required(response: Response<Body>) -> PaymentRequired {
    assert_eq!(response.status(), StatusCode::PAYMENT_REQUIRED);
    let header = response.headers()[x402::PAYMENT_REQUIRED]
        .as_bytes()
        .to_vec();
    let from_header: PaymentRequired =
        x402::decode_header(x402::PAYMENT_REQUIRED, &header).unwrap();
    let from_body: PaymentRequired = serde_json::from_str(&body(response).await).unwrap();
    assert_eq!(from_header, from_body);
    from_header
}

fn pay(required: &PaymentRequired, voucher: &Voucher) -> String {
    x402::encode_header(&PaymentPayload {
        x402_version: x402::X402_VERSION,
        resource: Some(required.resource.clone()),
        accepted: required.for_mint(&SOL).unwrap().clone(),
        payload: WireVoucher::from(voucher),
        extensions: Default::default(),
    })
}

#[tokio::test]
async fn the_paywall_serves_each_accepted_voucher_once() {
    let ledger = Arc::new(EmbeddedLedger::start().await);
    let f = one_channel(&ledger, 10_000_000, 1_000_000, 0).await;
    let receiver = receiver(ledger.clone(), f.creator.pubkey());
    let network = x402::network(&ledger.genesis_hash().await.unwrap());
    let served = Arc::new(AtomicUsize::new(0));
    let app = app(receiver, network.clone(), served.clone());

    // free routes need nothing
    let free = call(&app, "/free", None).await;
    assert_eq!(free.status(), StatusCode::OK);
    assert!(free.headers().get(x402::PAYMENT_RESPONSE).is_none());

    // a priced route without payment: what to pay, in x402 v2 form
    let asked = required(call(&app, "/paid/weather", None).await).await;
    assert_eq!(asked.x402_version, 2);
    assert_eq!(asked.resource.url, "/paid/weather");
    assert_eq!(
        asked.refusal().unwrap().reason,
        RefusalCode::PaymentRequired
    );
    let offer = asked.for_mint(&SOL).unwrap();
    assert_eq!(offer.scheme, "micropay");
    assert_eq!(offer.network, network);
    assert!(network.starts_with("solana:") && network.len() == "solana:".len() + 32);
    assert_eq!(offer.price().unwrap(), PRICE);
    assert_eq!(offer.creator().unwrap(), f.creator.pubkey());
    assert_eq!(
        offer.extra.program_id,
        micropay_client::micropay::ID.to_string()
    );
    assert_eq!(offer.extra.min_dispute_window_secs, 900);
    assert_eq!(
        offer.extra.fund_action.as_deref(),
        Some("http://example.test/actions/fund")
    );
    assert_eq!(served.load(Ordering::SeqCst), 0);

    // paid: served once, with the settlement header
    let first = Voucher::sign(&f.session, f.channel, PRICE);
    let response = call(&app, "/paid/weather", Some(pay(&asked, &first))).await;
    assert_eq!(response.status(), StatusCode::OK);
    let settled: SettlementResponse = x402::decode_header(
        x402::PAYMENT_RESPONSE,
        response.headers()[x402::PAYMENT_RESPONSE].as_bytes(),
    )
    .unwrap();
    assert_eq!(body(response).await, "sunny");
    assert!(settled.success);
    assert_eq!(settled.channel, f.channel.to_string());
    assert_eq!(settled.cumulative, PRICE.to_string());
    assert_eq!(settled.paid, PRICE.to_string());
    assert_eq!(settled.remaining, (1_000_000 - PRICE).to_string());
    assert_eq!(settled.payer, Some(f.session.pubkey().to_string()));
    assert_eq!(settled.transaction, "");
    assert_eq!(served.load(Ordering::SeqCst), 1);

    // the same voucher again: not served twice
    let again = required(call(&app, "/paid/weather", Some(pay(&asked, &first))).await).await;
    let refusal = again.refusal().unwrap();
    assert_eq!(refusal.reason, RefusalCode::Duplicate);
    assert_eq!(
        refusal.verified_held(&f.channel, &f.session.pubkey()),
        Some(first)
    );
    assert_eq!(served.load(Ordering::SeqCst), 1);

    // a client that lost its state signs from 0 again: it is told what the
    // server holds, signed by its own key, and continues from there
    let lost = Voucher::sign(&f.session, f.channel, PRICE / 2);
    let stale = required(call(&app, "/paid/weather", Some(pay(&asked, &lost))).await).await;
    let refusal = stale.refusal().unwrap();
    assert_eq!(refusal.reason, RefusalCode::Stale);
    assert_eq!(refusal.claimed.as_deref(), Some("0"));
    let held = refusal
        .verified_held(&f.channel, &f.session.pubkey())
        .unwrap();
    let next = Voucher::sign(&f.session, f.channel, held.amount + PRICE);
    let response = call(&app, "/paid/weather", Some(pay(&asked, &next))).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(served.load(Ordering::SeqCst), 2);

    // underpaid, forged, wrong creator, wrong network, junk: refused, not served
    let cases: Vec<(String, RefusalCode)> = vec![
        (
            pay(&asked, &Voucher::sign(&f.session, f.channel, 2 * PRICE + 1)),
            RefusalCode::Underpaid,
        ),
        (
            pay(
                &asked,
                &Voucher::sign(&Keypair::new(), f.channel, 10 * PRICE),
            ),
            RefusalCode::BadSignature,
        ),
        (
            pay(
                &asked,
                &Voucher::sign(&f.session, Pubkey::new_unique(), 10 * PRICE),
            ),
            RefusalCode::UnknownChannel,
        ),
        (
            pay(&asked, &Voucher::sign(&f.session, f.channel, 2_000_000)),
            RefusalCode::ExceedsAllocation,
        ),
        ("not base64!".into(), RefusalCode::Malformed),
        (
            x402::encode_header(&serde_json::json!({"x402Version": 2})),
            RefusalCode::Malformed,
        ),
    ];
    for (header, code) in cases {
        let refused = required(call(&app, "/paid/weather", Some(header)).await).await;
        assert_eq!(refused.refusal().unwrap().reason, code);
    }
    let mut elsewhere = asked.clone();
    elsewhere.accepts[0].micropay_mut().unwrap().pay_to = Pubkey::new_unique().to_string();
    let voucher = Voucher::sign(&f.session, f.channel, 10 * PRICE);
    let refused =
        required(call(&app, "/paid/weather", Some(pay(&elsewhere, &voucher))).await).await;
    assert_eq!(refused.refusal().unwrap().reason, RefusalCode::WrongPayTo);
    let mut devnet = asked.clone();
    devnet.accepts[0].micropay_mut().unwrap().network =
        "solana:EtWTRABZaYq6iMfeYKouRu166VU2xqa1".into();
    let refused = required(call(&app, "/paid/weather", Some(pay(&devnet, &voucher))).await).await;
    assert_eq!(refused.refusal().unwrap().reason, RefusalCode::Unsupported);
    assert_eq!(served.load(Ordering::SeqCst), 2);
    // and after all that, the next honest voucher still pays
    let response = call(&app, "/paid/weather", Some(pay(&asked, &voucher))).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(served.load(Ordering::SeqCst), 3);
}

/// An RPC URL carrying credentials where providers put them: user info,
/// path and query.
const SECRET_RPC: &str = "http://user:SECRETPW@127.0.0.1:1/v2/SECRETPATH?api-key=SECRETKEY";

/// A cluster that cannot be reached: the paywall cannot check the voucher,
/// so it answers 503 with Retry-After and never runs the service; the
/// answer carries a code, never the internal error (which names the RPC URL
/// and its credential).
#[tokio::test]
async fn an_unreachable_cluster_is_a_503_not_a_free_pass() {
    let ledger: Arc<dyn Ledger> = Arc::new(RpcLedger::new(
        SECRET_RPC,
        solana_commitment_config::CommitmentConfig::confirmed(),
    ));
    let creator = Pubkey::new_unique();
    let receiver = receiver(ledger, creator);
    let served = Arc::new(AtomicUsize::new(0));
    let app = app(receiver, "solana:local".into(), served.clone());
    let asked = required(call(&app, "/paid/weather", None).await).await;
    let voucher = Voucher::sign(&Keypair::new(), Pubkey::new_unique(), PRICE);
    let response = call(&app, "/paid/weather", Some(pay(&asked, &voucher))).await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(response.headers()[http::header::RETRY_AFTER], "1");
    let headers = format!("{:?}", response.headers());
    let text = body(response).await;
    let answer: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(answer["code"], "cluster_unavailable");
    assert!(text.contains("payment could not be checked"), "{text}");
    for shown in [&text, &headers] {
        assert!(
            !shown.contains("SECRET") && !shown.contains("127.0.0.1"),
            "{shown}"
        );
    }
    assert_eq!(served.load(Ordering::SeqCst), 0);
}

/// Fails its first claim (an RPC hiccup), then claims for real.
struct FlakyOnce {
    inner: ClaimNow,
    failed: std::sync::atomic::AtomicBool,
}

#[async_trait::async_trait]
impl Settle for FlakyOnce {
    async fn settle(
        &self,
        voucher: &Voucher,
    ) -> Result<solana_sdk::signature::Signature, micropay_client::ClientError> {
        if !self.failed.swap(true, Ordering::SeqCst) {
            return Err(micropay_client::ClientError::rpc("connection reset"));
        }
        self.inner.settle(voucher).await
    }
}

/// A settle-first route: the voucher is claimed on chain before the service
/// runs; a failed claim is a 503 and the retry of the same voucher is
/// settled and served once, never twice.
#[tokio::test]
async fn settle_first_routes_claim_before_serving() {
    let ledger = Arc::new(EmbeddedLedger::start().await);
    let f = one_channel(&ledger, 10_000_000, 1_000_000, 0).await;
    let receiver = receiver(ledger.clone(), f.creator.pubkey());
    let fee_payer: Arc<micropay_client::ledger::DynSigner> =
        Arc::new(ledger.payer().insecure_clone());
    let settle = Arc::new(FlakyOnce {
        inner: ClaimNow::new(ledger.clone(), fee_payer),
        failed: std::sync::atomic::AtomicBool::new(false),
    });
    let mut route = routes().remove(0);
    route.settle_first = true;
    let network = x402::network(&ledger.genesis_hash().await.unwrap());
    let paywall = Paywall::with_settle(receiver, config(vec![route], network), settle);
    let served = Arc::new(AtomicUsize::new(0));
    let counter = served.clone();
    let app = Router::new()
        .route(
            "/paid/weather",
            get(move || {
                let counter = counter.clone();
                async move {
                    counter.fetch_add(1, Ordering::SeqCst);
                    "sunny"
                }
            }),
        )
        .layer(paywall);
    let claimed = || async {
        micropay_client::accounts::channel(ledger.as_ref(), &f.channel)
            .await
            .unwrap()
            .unwrap()
            .claimed
    };
    let asked = required(call(&app, "/paid/weather", None).await).await;
    let first = pay(&asked, &Voucher::sign(&f.session, f.channel, PRICE));

    // the claim fails: 503, not served, nothing settled
    let response = call(&app, "/paid/weather", Some(first.clone())).await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(body(response).await.contains("send the same request again"));
    assert_eq!(served.load(Ordering::SeqCst), 0);
    assert_eq!(claimed().await, 0);

    // the same request again: settled on chain, then served, with the claim's signature
    let response = call(&app, "/paid/weather", Some(first.clone())).await;
    assert_eq!(response.status(), StatusCode::OK);
    let settled: SettlementResponse = x402::decode_header(
        x402::PAYMENT_RESPONSE,
        response.headers()[x402::PAYMENT_RESPONSE].as_bytes(),
    )
    .unwrap();
    assert!(!settled.transaction.is_empty());
    assert_eq!(served.load(Ordering::SeqCst), 1);
    assert_eq!(claimed().await, PRICE);

    // and once more: a duplicate now, not served twice
    let again = required(call(&app, "/paid/weather", Some(first)).await).await;
    assert_eq!(again.refusal().unwrap().reason, RefusalCode::Duplicate);
    assert_eq!(served.load(Ordering::SeqCst), 1);

    // the next voucher settles straight away
    let second = pay(&asked, &Voucher::sign(&f.session, f.channel, 2 * PRICE));
    let response = call(&app, "/paid/weather", Some(second)).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(served.load(Ordering::SeqCst), 2);
    assert_eq!(claimed().await, 2 * PRICE);
    let earnings = micropay_client::accounts::earnings(
        ledger.as_ref(),
        &micropay_sdk::pda::earnings(&f.creator.pubkey(), &SOL).0,
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(earnings.balance, 2 * PRICE);
}

/// Issue 25: a junk voucher (any signature) on someone's channel must not
/// make the 402 disclose the payer's latest voucher (which would let anyone
/// replay it); the payer's own stale voucher still gets it.
#[tokio::test]
async fn only_the_channel_key_holder_learns_the_held_voucher() {
    let ledger = Arc::new(EmbeddedLedger::start().await);
    let f = one_channel(&ledger, 10_000_000, 1_000_000, 0).await;
    let receiver = receiver(ledger.clone(), f.creator.pubkey());
    let network = x402::network(&ledger.genesis_hash().await.unwrap());
    let served = Arc::new(AtomicUsize::new(0));
    let app = app(receiver, network, served.clone());
    let asked = required(call(&app, "/paid/weather", None).await).await;
    let paid = Voucher::sign(&f.session, f.channel, 3 * PRICE);
    let ok = call(&app, "/paid/weather", Some(pay(&asked, &paid))).await;
    assert_eq!(ok.status(), StatusCode::OK);

    let junk = Voucher::sign(&Keypair::new(), f.channel, PRICE);
    let refused = required(call(&app, "/paid/weather", Some(pay(&asked, &junk))).await).await;
    let refusal = refused.refusal().unwrap();
    assert_eq!(refusal.reason, RefusalCode::Stale);
    assert!(
        refusal.held.is_none() && refusal.claimed.is_none(),
        "{refusal:?}"
    );

    let own = Voucher::sign(&f.session, f.channel, PRICE);
    let refused = required(call(&app, "/paid/weather", Some(pay(&asked, &own))).await).await;
    let refusal = refused.refusal().unwrap();
    assert_eq!(refusal.reason, RefusalCode::Stale);
    assert_eq!(
        refusal.verified_held(&f.channel, &f.session.pubkey()),
        Some(paid)
    );
    assert_eq!(served.load(Ordering::SeqCst), 1);
}

/// Issue 25: the retry of a settle-first voucher whose claim failed is
/// served on the route it paid for, never on a dearer one; and the 503
/// carries no internal error text.
#[tokio::test]
async fn a_settle_first_retry_is_served_only_on_its_route() {
    let ledger = Arc::new(EmbeddedLedger::start().await);
    let f = one_channel(&ledger, 10_000_000, 1_000_000, 0).await;
    let receiver = receiver(ledger.clone(), f.creator.pubkey());
    let fee_payer: Arc<micropay_client::ledger::DynSigner> =
        Arc::new(ledger.payer().insecure_clone());
    let settle = Arc::new(FlakyOnce {
        inner: ClaimNow::new(ledger.clone(), fee_payer),
        failed: std::sync::atomic::AtomicBool::new(false),
    });
    let route = |path: &str, amount: u64| {
        let mut r = Route::new(
            Some(http::Method::GET),
            PathPattern::parse(path).unwrap(),
            vec![Price {
                mint: SOL,
                amount,
                decimals: 9,
            }],
        )
        .unwrap();
        r.settle_first = true;
        r
    };
    let paywall = Paywall::with_settle(
        receiver,
        config(
            vec![route("/cheap", PRICE), route("/dear", 500 * PRICE)],
            x402::network(&ledger.genesis_hash().await.unwrap()),
        ),
        settle,
    );
    let (cheap, dear) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let counter = |c: &Arc<AtomicUsize>| {
        let c = c.clone();
        get(move || {
            let c = c.clone();
            async move {
                c.fetch_add(1, Ordering::SeqCst);
                "ok"
            }
        })
    };
    let app = Router::new()
        .route("/cheap", counter(&cheap))
        .route("/dear", counter(&dear))
        .layer(paywall);
    let asked = required(call(&app, "/cheap", None).await).await;
    let voucher = pay(&asked, &Voucher::sign(&f.session, f.channel, PRICE));

    // the claim fails: 503 with a code, no internal text
    let response = call(&app, "/cheap", Some(voucher.clone())).await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    let text = body(response).await;
    assert!(text.contains("settlement_failed"), "{text}");
    assert!(!text.contains("connection reset"), "{text}");

    // replayed on the dear route: a duplicate, not served
    let refused = required(call(&app, "/dear", Some(voucher.clone())).await).await;
    assert_eq!(refused.refusal().unwrap().reason, RefusalCode::Duplicate);
    assert_eq!(dear.load(Ordering::SeqCst), 0);

    // on its own route: settled and served, once
    assert_eq!(
        call(&app, "/cheap", Some(voucher.clone())).await.status(),
        StatusCode::OK
    );
    assert_eq!(cheap.load(Ordering::SeqCst), 1);
    let again = required(call(&app, "/cheap", Some(voucher)).await).await;
    assert_eq!(again.refusal().unwrap().reason, RefusalCode::Duplicate);
    assert_eq!(
        (cheap.load(Ordering::SeqCst), dear.load(Ordering::SeqCst)),
        (1, 0)
    );
}

/// A service that fails on purpose: `/flaky` answers 500 until told
/// otherwise, `/missing` 404; both count what they serve.
fn failing_app(
    paywall: Paywall,
    fail: Arc<std::sync::atomic::AtomicBool>,
    served: Arc<AtomicUsize>,
) -> Router {
    let flaky = get(move || {
        let (fail, served) = (fail.clone(), served.clone());
        async move {
            if fail.load(Ordering::SeqCst) {
                (StatusCode::INTERNAL_SERVER_ERROR, "boom")
            } else {
                served.fetch_add(1, Ordering::SeqCst);
                (StatusCode::OK, "served")
            }
        }
    });
    Router::new()
        .route("/paid/flaky", flaky)
        .route(
            "/paid/missing",
            get(|| async { (StatusCode::NOT_FOUND, "no such thing") }),
        )
        .layer(paywall)
}

fn settlement(response: &Response<Body>) -> SettlementResponse {
    x402::decode_header(
        x402::PAYMENT_RESPONSE,
        response.headers()[x402::PAYMENT_RESPONSE].as_bytes(),
    )
    .unwrap()
}

/// Issue 25: a payer does not pay for the server's failures. A paid request
/// whose upstream answers 500 is not charged (the answer says so); the same
/// voucher sent again is served once — after the gateway restarts on the
/// same store too — and never twice. A 404 is charged unless configured.
#[tokio::test]
async fn a_failed_upstream_is_not_charged_and_the_retry_is_served_once() {
    let ledger = Arc::new(EmbeddedLedger::start().await);
    let f = one_channel(&ledger, 10_000_000, 1_000_000, 0).await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("receiver.db");
    let network = x402::network(&ledger.genesis_hash().await.unwrap());
    let gateway = |credit_not_found: bool| {
        let receiver = Arc::new(Receiver::new(
            ledger.clone(),
            Arc::new(SqliteStore::open(&db).unwrap()),
            f.creator.pubkey(),
            ReceiverConfig::accepting([AcceptedMint::wrapped_sol()]),
        ));
        Paywall::new(
            receiver,
            PaywallConfig {
                routes: routes(),
                unrouted: Default::default(),
                network: network.clone(),
                max_timeout_seconds: 60,
                fund_action: None,
                credit_not_found,
            },
        )
    };
    let fail = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let served = Arc::new(AtomicUsize::new(0));
    let app = failing_app(gateway(false), fail.clone(), served.clone());
    let asked = required(call(&app, "/paid/flaky", None).await).await;
    let first = pay(&asked, &Voucher::sign(&f.session, f.channel, PRICE));

    // the upstream fails: not charged, and the answer says so
    let failed = call(&app, "/paid/flaky", Some(first.clone())).await;
    assert_eq!(failed.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let said = settlement(&failed);
    assert!(!said.success);
    assert!(said.error_reason.unwrap().starts_with("upstream_failed"));
    // fails again: kept again (one credit per failure, never more servings)
    let failed = call(&app, "/paid/flaky", Some(first.clone())).await;
    assert_eq!(failed.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert!(!settlement(&failed).success);

    // the gateway restarts on the same store; the upstream is back
    fail.store(false, Ordering::SeqCst);
    let app = failing_app(gateway(false), fail.clone(), served.clone());
    let retried = call(&app, "/paid/flaky", Some(first.clone())).await;
    assert_eq!(retried.status(), StatusCode::OK);
    assert!(settlement(&retried).success);
    assert_eq!(served.load(Ordering::SeqCst), 1);
    let again = required(call(&app, "/paid/flaky", Some(first)).await).await;
    assert_eq!(again.refusal().unwrap().reason, RefusalCode::Duplicate);
    assert_eq!(served.load(Ordering::SeqCst), 1);

    // a 404 is charged by default ...
    let second = pay(&asked, &Voucher::sign(&f.session, f.channel, 2 * PRICE));
    let missing = call(&app, "/paid/missing", Some(second.clone())).await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    assert!(settlement(&missing).success);
    let again = required(call(&app, "/paid/missing", Some(second)).await).await;
    assert_eq!(again.refusal().unwrap().reason, RefusalCode::Duplicate);
    // ... and not when configured
    let app = failing_app(gateway(true), fail, served.clone());
    let third = pay(&asked, &Voucher::sign(&f.session, f.channel, 3 * PRICE));
    let missing = call(&app, "/paid/missing", Some(third.clone())).await;
    assert!(!settlement(&missing).success);
    let retried = call(&app, "/paid/missing", Some(third)).await;
    assert_eq!(retried.status(), StatusCode::NOT_FOUND);
    assert!(!settlement(&retried).success, "still not found: kept again");
}

/// Issue 25: an upstream that is down (the proxy cannot connect: 502) is
/// not charged; once it is up, the same voucher is served once.
#[tokio::test]
async fn an_unreachable_upstream_is_not_charged() {
    let ledger = Arc::new(EmbeddedLedger::start().await);
    let f = one_channel(&ledger, 10_000_000, 1_000_000, 0).await;
    let receiver = receiver(ledger.clone(), f.creator.pubkey());
    // a port nobody listens on yet
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let paywall = Paywall::new(
        receiver,
        config(
            routes(),
            x402::network(&ledger.genesis_hash().await.unwrap()),
        ),
    );
    let proxy = micropay_http::proxy::Proxy::new(&format!("http://127.0.0.1:{port}")).unwrap();
    let app = proxy.router().layer(paywall);
    let asked = required(call(&app, "/paid/weather", None).await).await;
    let voucher = pay(&asked, &Voucher::sign(&f.session, f.channel, PRICE));
    let down = call(&app, "/paid/weather", Some(voucher.clone())).await;
    assert_eq!(down.status(), StatusCode::BAD_GATEWAY);
    assert!(!settlement(&down).success);
    let text = body(down).await;
    assert!(
        !text.contains("127.0.0.1") && !text.contains(&port.to_string()),
        "{text}"
    );

    let served = Arc::new(AtomicUsize::new(0));
    let counter = served.clone();
    let upstream = Router::new().route(
        "/paid/weather",
        get(move || {
            let counter = counter.clone();
            async move {
                counter.fetch_add(1, Ordering::SeqCst);
                "sunny"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .unwrap();
    tokio::spawn(async move { axum::serve(listener, upstream).await });
    let up = call(&app, "/paid/weather", Some(voucher.clone())).await;
    assert_eq!(up.status(), StatusCode::OK);
    assert!(settlement(&up).success);
    let again = required(call(&app, "/paid/weather", Some(voucher)).await).await;
    assert_eq!(again.refusal().unwrap().reason, RefusalCode::Duplicate);
    assert_eq!(served.load(Ordering::SeqCst), 1);
}

/// A handler that says it was entered, then waits for the gate before
/// answering: `500` while `fail` is set, else it counts a serving.
fn gated_app(
    paywall: Paywall,
    entered: Arc<tokio::sync::Notify>,
    gate: Arc<tokio::sync::Notify>,
    fail: Arc<std::sync::atomic::AtomicBool>,
    served: Arc<AtomicUsize>,
) -> Router {
    let slow = get(move || {
        let (entered, gate) = (entered.clone(), gate.clone());
        let (fail, served) = (fail.clone(), served.clone());
        async move {
            entered.notify_one();
            gate.notified().await;
            if fail.load(Ordering::SeqCst) {
                (StatusCode::INTERNAL_SERVER_ERROR, "boom")
            } else {
                served.fetch_add(1, Ordering::SeqCst);
                (StatusCode::OK, "served")
            }
        }
    });
    Router::new().route("/paid/slow", slow).layer(paywall)
}

/// `micropay_paid_requests_total`: paid requests served or credited.
fn paid_total(paywall: &Paywall) -> u64 {
    let metrics = paywall.metrics().render();
    let line = metrics
        .lines()
        .find_map(|l| l.strip_prefix("micropay_paid_requests_total "))
        .unwrap();
    line.parse().unwrap()
}

async fn until(what: &str, done: impl Fn() -> bool) {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    while !done() {
        assert!(tokio::time::Instant::now() < deadline, "never: {what}");
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
}

/// Found by the browser test in CI: a tab closed while its paid request was
/// being served (hyper drops the request's future when the client leaves)
/// had its voucher accepted but its use never served, and the new tab's
/// re-send of that voucher was a duplicate: the payer paid for nothing. Now
/// a paid request runs to its end without its client: the use is served (the
/// re-send is a duplicate of a served use), or, when the service fails,
/// credited (the re-send is served once).
#[tokio::test]
async fn a_paid_request_runs_to_its_end_when_the_client_leaves() {
    let ledger = Arc::new(EmbeddedLedger::start().await);
    let f = one_channel(&ledger, 10_000_000, 1_000_000, 0).await;
    let paywall = Paywall::new(
        receiver(ledger.clone(), f.creator.pubkey()),
        config(
            routes(),
            x402::network(&ledger.genesis_hash().await.unwrap()),
        ),
    );
    let entered = Arc::new(tokio::sync::Notify::new());
    let gate = Arc::new(tokio::sync::Notify::new());
    let fail = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let served = Arc::new(AtomicUsize::new(0));
    let app = gated_app(
        paywall.clone(),
        entered.clone(),
        gate.clone(),
        fail.clone(),
        served.clone(),
    );
    let asked = required(call(&app, "/paid/slow", None).await).await;
    // the client leaves once its paid request is in the handler
    let leave = |voucher: String| {
        let (app, entered) = (app.clone(), entered.clone());
        async move {
            let request =
                tokio::spawn(async move { call(&app, "/paid/slow", Some(voucher)).await });
            entered.notified().await;
            request.abort();
            assert!(request.await.unwrap_err().is_cancelled());
        }
    };

    let first = pay(&asked, &Voucher::sign(&f.session, f.channel, PRICE));
    leave(first.clone()).await;
    gate.notify_one();
    until("the left request served", || {
        served.load(Ordering::SeqCst) == 1
    })
    .await;
    until("counted as paid", || paid_total(&paywall) == 1).await;
    let again = required(call(&app, "/paid/slow", Some(first)).await).await;
    assert_eq!(again.refusal().unwrap().reason, RefusalCode::Duplicate);
    assert_eq!(served.load(Ordering::SeqCst), 1);

    // the service fails after the client left: the voucher is a credit
    fail.store(true, Ordering::SeqCst);
    let second = pay(&asked, &Voucher::sign(&f.session, f.channel, 2 * PRICE));
    leave(second.clone()).await;
    gate.notify_one();
    until("the failure credited", || paid_total(&paywall) == 2).await;
    fail.store(false, Ordering::SeqCst);
    gate.notify_one();
    let retried = call(&app, "/paid/slow", Some(second.clone())).await;
    assert_eq!(retried.status(), StatusCode::OK);
    assert!(settlement(&retried).success);
    assert_eq!(served.load(Ordering::SeqCst), 2);
    let again = required(call(&app, "/paid/slow", Some(second)).await).await;
    assert_eq!(again.refusal().unwrap().reason, RefusalCode::Duplicate);
    assert_eq!(served.load(Ordering::SeqCst), 2);
}

/// Issue 25: junk vouchers on random channel addresses cost the receiver
/// one RPC read each (no clock read, no signature check before it), and a
/// client that keeps sending junk is answered 429 before anything is looked
/// up; another client still pays.
#[tokio::test]
async fn junk_floods_are_bounded_per_client() {
    use axum::extract::ConnectInfo;
    let bank = Arc::new(EmbeddedLedger::start().await);
    let f = one_channel(&bank, 10_000_000, 1_000_000, 0).await;
    let ledger = Arc::new(micropay_tests::client::Faulty::new(bank.clone()));
    let receiver = receiver(ledger.clone(), f.creator.pubkey());
    let network = x402::network(&bank.genesis_hash().await.unwrap());
    let served = Arc::new(AtomicUsize::new(0));
    let app = app(receiver, network, served.clone());
    let from = |ip: [u8; 4], payment: String| {
        let mut request = Request::get("/paid/weather")
            .header(x402::PAYMENT_SIGNATURE, payment)
            .body(Body::empty())
            .unwrap();
        request
            .extensions_mut()
            .insert(ConnectInfo(std::net::SocketAddr::from((ip, 1234))));
        let app = app.clone();
        async move { app.oneshot(request).await.unwrap() }
    };
    let asked = required(call(&app, "/paid/weather", None).await).await;
    let before = ledger.observes();
    let attacker = [10, 0, 0, 66];
    let (mut refused, mut throttled) = (0, 0);
    for _ in 0..200 {
        let junk = Voucher::sign(&Keypair::new(), Pubkey::new_unique(), PRICE);
        let response = from(attacker, pay(&asked, &junk)).await;
        match response.status() {
            StatusCode::PAYMENT_REQUIRED => refused += 1,
            StatusCode::TOO_MANY_REQUESTS => {
                assert_eq!(response.headers()[http::header::RETRY_AFTER], "60");
                throttled += 1;
            }
            other => panic!("{other}"),
        }
    }
    assert_eq!(
        refused,
        micropay_http::paywall::JUNK_PER_CLIENT_PER_MIN as usize
    );
    assert_eq!(throttled, 200 - refused);
    let reads = ledger.observes() - before;
    assert!(
        reads <= refused,
        "{reads} reads for {refused} looked-at junk vouchers"
    );
    // an honest client elsewhere is not affected
    let honest = from(
        [10, 0, 0, 7],
        pay(&asked, &Voucher::sign(&f.session, f.channel, PRICE)),
    )
    .await;
    assert_eq!(honest.status(), StatusCode::OK);
    assert_eq!(served.load(Ordering::SeqCst), 1);
}

/// `pay`, the payment carrying x402 `payment-identifier` id `id`.
fn pay_with_id(required: &PaymentRequired, voucher: &Voucher, id: &str) -> String {
    let mut extensions = std::collections::BTreeMap::new();
    x402::payment_id::attach(&mut extensions, id);
    x402::encode_header(&PaymentPayload {
        x402_version: x402::X402_VERSION,
        resource: Some(required.resource.clone()),
        accepted: required.for_mint(&SOL).unwrap().clone(),
        payload: WireVoucher::from(voucher),
        extensions,
    })
}

/// x402's `payment-identifier` (issue 28): every 402 declares it; an id
/// binds one request to one payment. Its retry is any retry (served once);
/// the id with another payment or another path is a 409 that takes
/// nothing; a payment refused before it was taken frees its id; an id that
/// is not 16–128 safe characters is malformed.
#[tokio::test]
async fn a_payment_identifier_binds_one_request_to_one_payment() {
    let ledger = Arc::new(EmbeddedLedger::start().await);
    let f = one_channel(&ledger, 10_000_000, 1_000_000, 0).await;
    let receiver = receiver(ledger.clone(), f.creator.pubkey());
    let network = x402::network(&ledger.genesis_hash().await.unwrap());
    let served = Arc::new(AtomicUsize::new(0));
    let app = app(receiver.clone(), network, served.clone());
    let asked = required(call(&app, "/paid/weather", None).await).await;
    assert_eq!(
        asked.extensions[x402::payment_id::NAME]["info"]["required"],
        false
    );
    let status = |r: &Response<Body>| r.status();
    let v = |amount: u64| Voucher::sign(&f.session, f.channel, amount);
    let id = "order_7d5d747be160e280504c";

    let first = pay_with_id(&asked, &v(PRICE), id);
    let paid = call(&app, "/paid/weather", Some(first.clone())).await;
    assert_eq!(status(&paid), StatusCode::OK);
    // its retry is a retry of that payment: not served twice, not a conflict
    let again = required(call(&app, "/paid/weather", Some(first.clone())).await).await;
    assert_eq!(again.refusal().unwrap().reason, RefusalCode::Duplicate);

    // the id with another payment, or on another path: 409, nothing taken
    for (path, payment) in [
        ("/paid/weather", pay_with_id(&asked, &v(2 * PRICE), id)),
        ("/paid/other", first.clone()),
    ] {
        let conflict = call(&app, path, Some(payment)).await;
        assert_eq!(status(&conflict), StatusCode::CONFLICT, "{path}");
        let header = conflict.headers()[x402::PAYMENT_REQUIRED]
            .as_bytes()
            .to_vec();
        let refused: PaymentRequired =
            x402::decode_header(x402::PAYMENT_REQUIRED, &header).unwrap();
        assert_eq!(
            refused.refusal().unwrap().reason,
            RefusalCode::PaymentIdentifierConflict
        );
    }
    assert_eq!(served.load(Ordering::SeqCst), 1);
    // the voucher refused with 409 was not taken: it pays now, without an id
    let next = call(&app, "/paid/weather", Some(pay(&asked, &v(2 * PRICE)))).await;
    assert_eq!(status(&next), StatusCode::OK);
    assert_eq!(served.load(Ordering::SeqCst), 2);

    // a payment refused (stale) frees the id it bound: the next one binds it
    let other_id = "order_0f9e8d7c6b5a493827";
    let stale = call(
        &app,
        "/paid/weather",
        Some(pay_with_id(&asked, &v(PRICE), other_id)),
    )
    .await;
    assert_eq!(status(&stale), StatusCode::PAYMENT_REQUIRED);
    let fresh = call(
        &app,
        "/paid/weather",
        Some(pay_with_id(&asked, &v(3 * PRICE), other_id)),
    )
    .await;
    assert_eq!(status(&fresh), StatusCode::OK);
    assert_eq!(served.load(Ordering::SeqCst), 3);

    // not an id: malformed, nothing taken
    let short = required(
        call(
            &app,
            "/paid/weather",
            Some(pay_with_id(&asked, &v(4 * PRICE), "too_short")),
        )
        .await,
    )
    .await;
    assert_eq!(short.refusal().unwrap().reason, RefusalCode::Malformed);
    let next = call(&app, "/paid/weather", Some(pay(&asked, &v(4 * PRICE)))).await;
    assert_eq!(status(&next), StatusCode::OK);
    assert_eq!(served.load(Ordering::SeqCst), 4);
}
