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
use micropay_sdk::{
    instructions as mix,
    voucher::Voucher,
    x402::{self, Extension, PaymentPayload, PaymentRequired, Refusal, RefusalCode, WireVoucher},
};
use micropay_tests::client::escrow_ixs;
use solana_sdk::{
    pubkey::Pubkey,
    signature::{Keypair, Signer},
};
use std::{
    collections::BTreeMap,
    sync::{Arc, Mutex as StdMutex},
};

const PRICE: u64 = 1_000;

/// A budget no test here reaches.
const GENEROUS: Budget = Budget {
    per_creator: 1_000_000,
    total: 1_000_000,
};

struct World {
    ledger: Arc<EmbeddedLedger>,
    wallet: Arc<Keypair>,
    creator: Keypair,
    store: Arc<dyn ReceiverStore>,
    url: String,
    /// Every voucher the server was sent.
    received: Arc<StdMutex<Vec<Voucher>>>,
}

/// What a hostile server answers to the `n`th paid request (0-based), in
/// place of the honest paywall; `None` lets the paywall decide.
type Hostile = Arc<dyn Fn(&Voucher, usize) -> Option<Answer> + Send + Sync>;

/// A hostile answer.
#[derive(Clone)]
enum Answer {
    /// A 402 with this refusal, asking this price.
    Refuse(Refusal, u64),
    /// A bare status.
    Status(u16),
    /// What the paywall answers, with this status instead.
    Served(u16),
}

/// A funded payer with a wSOL escrow, and a creator serving `/paid/**`
/// behind the paywall on a local port.
async fn world(deposit: u64) -> World {
    world_with(deposit, None, false).await
}

/// [`world`] with `hostile` in front of the paywall; with `foreign`, every
/// 402 also offers other schemes and chains before micropay's (as a server
/// selling to every x402 client does).
async fn world_with(deposit: u64, hostile: Option<Hostile>, foreign: bool) -> World {
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
            credit_not_found: false,
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
    let received = Arc::new(StdMutex::new(Vec::new()));
    let seen = received.clone();
    let mut app = Router::new()
        .route("/paid/weather", get(|| async { "sunny" }))
        .layer(paywall)
        .layer(axum::middleware::from_fn(
            move |request: axum::extract::Request, next: axum::middleware::Next| {
                let (seen, hostile) = (seen.clone(), hostile.clone());
                async move { intercept(request, next, seen, hostile).await }
            },
        ));
    if foreign {
        app = app.layer(axum::middleware::from_fn(with_foreign_offers));
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    World {
        ledger,
        wallet: Arc::new(wallet),
        creator,
        store,
        url,
        received,
    }
}

/// Records the voucher of a paid request and lets `hostile` answer it.
async fn intercept(
    request: axum::extract::Request,
    next: axum::middleware::Next,
    seen: Arc<StdMutex<Vec<Voucher>>>,
    hostile: Option<Hostile>,
) -> axum::response::Response {
    let voucher = request
        .headers()
        .get(x402::PAYMENT_SIGNATURE)
        .and_then(|h| {
            x402::decode_header::<PaymentPayload>(x402::PAYMENT_SIGNATURE, h.as_bytes()).ok()
        })
        .and_then(|p| p.payload.voucher().ok());
    let Some(voucher) = voucher else {
        return next.run(request).await;
    };
    let n = {
        let mut seen = seen.lock().unwrap();
        seen.push(voucher);
        seen.len() - 1
    };
    let uri = request.uri().clone();
    let answer = hostile.as_ref().and_then(|h| h(&voucher, n));
    match answer {
        None => next.run(request).await,
        Some(Answer::Status(code)) => {
            let mut r = axum::response::Response::new(axum::body::Body::from("no"));
            *r.status_mut() = http::StatusCode::from_u16(code).unwrap();
            r
        }
        Some(Answer::Served(code)) => {
            let mut r = next.run(request).await;
            *r.status_mut() = http::StatusCode::from_u16(code).unwrap();
            r
        }
        Some(Answer::Refuse(refusal, price)) => {
            // the paywall's own 402 for this path, with the hostile refusal
            let unpaid = http::Request::get(uri)
                .body(axum::body::Body::empty())
                .unwrap();
            let asked = next.run(unpaid).await;
            let header = asked.headers()[x402::PAYMENT_REQUIRED].as_bytes().to_vec();
            let mut required: PaymentRequired =
                x402::decode_header(x402::PAYMENT_REQUIRED, &header).unwrap();
            for offer in required
                .accepts
                .iter_mut()
                .filter_map(x402::Offer::micropay_mut)
            {
                offer.amount = price.to_string();
            }
            required.extensions = BTreeMap::from([(
                x402::EXTENSION.to_string(),
                Extension::refusal(refusal).value(),
            )]);
            micropay_http::paywall::payment_required(&required)
        }
    }
}

/// A 402 with an EVM `exact` offer and a Solana `exact` offer (from
/// another fee payer) before micropay's, and an unknown scheme after.
async fn with_foreign_offers(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let answer = next.run(request).await;
    let Some(header) = answer.headers().get(x402::PAYMENT_REQUIRED) else {
        return answer;
    };
    let mut required: PaymentRequired =
        x402::decode_header(x402::PAYMENT_REQUIRED, header.as_bytes()).unwrap();
    let evm = serde_json::json!({
        "scheme": "exact", "network": "eip155:8453", "amount": "1",
        "asset": "0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913", "payTo": "0xabc",
        "maxTimeoutSeconds": 60, "extra": { "name": "USD Coin", "version": "2" }
    });
    let micropay = required.accepts[0].micropay().unwrap().clone();
    let exact = serde_json::json!({
        "scheme": "exact", "network": micropay.network, "amount": "1",
        "asset": micropay.asset, "payTo": micropay.pay_to, "maxTimeoutSeconds": 60,
        "extra": { "feePayer": Pubkey::new_unique().to_string() }
    });
    let upto = serde_json::json!({ "scheme": "upto", "network": "solana:x" });
    let mut accepts: Vec<x402::Offer> = vec![
        serde_json::from_value(evm).unwrap(),
        serde_json::from_value(exact).unwrap(),
    ];
    accepts.append(&mut required.accepts);
    accepts.push(serde_json::from_value(upto).unwrap());
    required.accepts = accepts;
    micropay_http::paywall::payment_required(&required)
}

fn client(
    w: &World,
    budget: Budget,
    allocation_requests: u64,
) -> (Pay, reqwest_middleware::ClientWithMiddleware) {
    client_of(
        w.ledger.clone(),
        w.wallet.clone(),
        budget,
        allocation_requests,
    )
}

/// A paying client of `wallet` through `ledger`, with a new (empty) store.
fn client_of(
    ledger: Arc<dyn Ledger>,
    wallet: Arc<DynSigner>,
    budget: Budget,
    allocation_requests: u64,
) -> (Pay, reqwest_middleware::ClientWithMiddleware) {
    let pay = Pay::new(
        ledger,
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
    let generous = GENEROUS;
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

/// Found by the lying-node test: a payer whose store was lost right after a
/// paid request signs, on the channel it finds again, the very voucher the
/// server holds (same amount, same key: the same bytes), which is refused
/// as a `duplicate`; that refusal ended the request. Now the payer goes on
/// from it. It stays counted (the server can claim it; a hostile server
/// could echo any fresh voucher as a duplicate to have it given back), so
/// the budget counts the use paid before the loss once more.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_lost_right_after_a_payment_goes_on_paying() {
    let w = world(100_000_000).await;
    let budget = GENEROUS;
    let url = format!("{}/paid/weather", w.url);
    let (_, http) = client(&w, budget, 5);
    assert_eq!(http.get(&url).send().await.unwrap().status(), 200);
    let (channel, _) = channels(&w).await.remove(0);

    let (pay, http) = client(&w, budget, 5);
    for n in 2..=3 {
        assert_eq!(http.get(&url).send().await.unwrap().status(), 200);
        assert_eq!(held(&w, &channel), n * PRICE);
    }
    assert_eq!(channels(&w).await.len(), 1);
    assert_eq!(pay.spending().requests, 2);
    assert_eq!(
        pay.spending().in_mint(&SOL),
        3 * PRICE,
        "never less than what can be claimed"
    );
}

/// A wallet that counts the session-key messages it is asked to sign (a
/// hardware wallet asks its user for each).
struct CountingWallet {
    key: Arc<Keypair>,
    session_messages: std::sync::atomic::AtomicUsize,
}

impl Signer for CountingWallet {
    fn try_pubkey(&self) -> Result<Pubkey, solana_sdk::signer::SignerError> {
        Ok(self.key.pubkey())
    }
    fn try_sign_message(
        &self,
        message: &[u8],
    ) -> Result<solana_sdk::signature::Signature, solana_sdk::signer::SignerError> {
        if message.starts_with(micropay_sdk::session::DOMAIN) {
            self.session_messages
                .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
        self.key.try_sign_message(message)
    }
    fn is_interactive(&self) -> bool {
        false
    }
}

/// A payer that lost its store searches its channels through a node that
/// adds accounts of its own: channels at addresses their seeds do not give,
/// with ids the escrow never handed out, paying past their allocation, and
/// one that does not decode. None costs the wallet a signature nor hides
/// the real channel, on which the payer goes on paying.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lying_node_s_made_up_channels_cost_the_wallet_nothing() {
    let w = world(100_000_000).await;
    let budget = GENEROUS;
    let (_, http) = client(&w, budget, 5);
    let url = format!("{}/paid/weather", w.url);
    assert_eq!(http.get(&url).send().await.unwrap().status(), 200);
    let (channel, real) = channels(&w).await.remove(0);

    let escrow = real.escrow;
    let state = accounts::escrow(w.ledger.as_ref(), &escrow)
        .await
        .unwrap()
        .unwrap();
    let account = |c: &micropay_client::micropay::state::Channel| {
        let mut data = Vec::new();
        anchor_lang::AccountSerialize::try_serialize(c, &mut data).unwrap();
        solana_sdk::account::Account {
            lamports: 1_000_000,
            data,
            owner: micropay_client::micropay::ID,
            executable: false,
            rent_epoch: 0,
        }
    };
    let seeded = |id: u64, nonce: u64| {
        let slot = micropay_sdk::pda::ChannelSlot {
            generation: state.generation,
            id,
        };
        micropay_sdk::pda::channel(&escrow, slot, nonce).0
    };
    let fresh = micropay_client::micropay::state::Channel {
        nonce: 7,
        signer: Pubkey::new_unique(),
        ..real.clone()
    };
    let unissued = micropay_client::micropay::state::Channel {
        id: state.next_channel_id,
        ..fresh.clone()
    };
    let overpaid = micropay_client::micropay::state::Channel {
        claimed: real.allocation + 1,
        ..fresh.clone()
    };
    let mut malformed = account(&fresh);
    malformed.data.truncate(20);
    let lying = Arc::new(micropay_tests::client::Faulty::new(w.ledger.clone()));
    *lying.invented.lock().unwrap() = vec![
        (Pubkey::new_unique(), account(&fresh)),
        (seeded(unissued.id, 7), account(&unissued)),
        (seeded(real.id, 7), account(&overpaid)),
        (Pubkey::new_unique(), malformed),
    ];

    // the store is lost; the new payer searches through the lying node
    let wallet = Arc::new(CountingWallet {
        key: w.wallet.clone(),
        session_messages: Default::default(),
    });
    let (pay, http) = client_of(lying, wallet.clone(), budget, 5);
    assert_eq!(http.get(&url).send().await.unwrap().status(), 200);
    assert_eq!(
        wallet
            .session_messages
            .load(std::sync::atomic::Ordering::SeqCst),
        1,
        "one message: the real channel's"
    );
    assert_eq!(channels(&w).await.len(), 1, "no new channel opened");
    assert_eq!(held(&w, &channel), 2 * PRICE);
    // the first voucher signed again was the server's: counted again
    assert_eq!(pay.spending().in_mint(&SOL), 2 * PRICE);
}

/// A server offering other schemes and chains beside micropay (x402's
/// `exact`, EVM networks, schemes yet unknown) is paid in micropay, at
/// micropay's price: the other offers are read past, never paid.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_middleware_pays_micropay_among_other_offers() {
    let w = world_with(100_000_000, None, true).await;
    let (pay, http) = client(
        &w,
        Budget {
            per_creator: 10 * PRICE,
            total: 10 * PRICE,
        },
        10,
    );
    let url = format!("{}/paid/weather", w.url);
    for _ in 0..3 {
        let answer = http.get(&url).send().await.unwrap();
        assert_eq!(answer.status(), 200);
        assert_eq!(answer.text().await.unwrap(), "sunny");
    }
    assert_eq!(pay.spending().in_mint(&SOL), 3 * PRICE);
    let found = channels(&w).await;
    assert_eq!(held(&w, &found[0].0), 3 * PRICE);
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
    let (_, http) = client_of(w.ledger.clone(), Arc::new(stranger), GENEROUS, 10);
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

/// A refusal of `code` on the voucher's channel, holding `held`.
fn refusal(code: RefusalCode, voucher: &Voucher, held: Option<&Voucher>) -> Refusal {
    Refusal {
        channel: Some(voucher.channel.to_string()),
        held: held.map(WireVoucher::from),
        ..Refusal::new(code)
    }
}

/// Issue 25: a server that refuses every paid request, in every way a
/// server can (lies about prices, forged and replayed held vouchers,
/// errors), never gets the payer to sign past its caps, and everything it
/// could claim is counted in `spending()`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hostile_server_never_gets_more_than_the_budget() {
    let stranger = Keypair::new();
    let hostile: Hostile = Arc::new(move |v: &Voucher, n: usize| {
        let forged = Voucher::sign(&stranger, v.channel, v.amount + 1_000_000);
        Some(match n % 9 {
            0 => Answer::Refuse(refusal(RefusalCode::UnknownChannel, v, None), PRICE),
            // lies about prices: ever higher
            1 => Answer::Refuse(
                refusal(RefusalCode::Underpaid, v, None),
                PRICE * (n as u64 + 2),
            ),
            2 => Answer::Refuse(refusal(RefusalCode::BadSignature, v, None), PRICE),
            // "you sent this before" for a voucher never sent before
            3 => Answer::Refuse(refusal(RefusalCode::Duplicate, v, Some(v)), PRICE),
            // a held voucher another key signed, far ahead
            4 => Answer::Refuse(refusal(RefusalCode::Stale, v, Some(&forged)), PRICE),
            // "stale" with the payer's own voucher, not ahead of it
            5 => Answer::Refuse(refusal(RefusalCode::Stale, v, Some(v)), PRICE),
            6 => Answer::Refuse(refusal(RefusalCode::ExceedsAllocation, v, None), PRICE),
            7 => Answer::Status(500),
            _ => Answer::Status(503),
        })
    });
    let w = world_with(100_000_000, Some(hostile), false).await;
    let budget = Budget {
        per_creator: 10 * PRICE,
        total: 10 * PRICE,
    };
    let (pay, http) = client(&w, budget, 5);
    let url = format!("{}/paid/weather", w.url);
    for _ in 0..40 {
        if let Ok(response) = http.get(&url).send().await {
            assert_ne!(response.status(), 200);
        }
    }
    let received = w.received.lock().unwrap().clone();
    assert!(
        received.len() >= 9,
        "every mode was tried: {}",
        received.len()
    );
    let claimable = received.iter().map(|v| v.amount).max().unwrap();
    let spent = pay.spending();
    assert!(claimable <= budget.total, "the server holds {claimable}");
    assert!(spent.in_mint(&SOL) >= claimable, "{spent:?} < {claimable}");
    assert!(spent.in_mint(&SOL) <= budget.total, "{spent:?}");
    assert_eq!(spent.requests, 0);
    let allocated: u64 = channels(&w).await.iter().map(|(_, c)| c.allocation).sum();
    assert!(allocated <= budget.total, "allocated {allocated}");
}

/// A server that answers each voucher it was just sent with "`duplicate`:
/// I hold this one" (true: it was just sent it) and serves the next: were
/// the echoed voucher given back as adding nothing, the server could claim
/// two prices per use while the budget counted one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_echoing_each_voucher_as_a_duplicate_gets_what_is_counted() {
    let hostile: Hostile = Arc::new(|v: &Voucher, n: usize| {
        n.is_multiple_of(2)
            .then(|| Answer::Refuse(refusal(RefusalCode::Duplicate, v, Some(v)), PRICE))
    });
    let w = world_with(100_000_000, Some(hostile), false).await;
    let budget = Budget {
        per_creator: 10 * PRICE,
        total: 10 * PRICE,
    };
    let (pay, http) = client(&w, budget, 5);
    let url = format!("{}/paid/weather", w.url);
    for _ in 0..10 {
        let _ = http.get(&url).send().await;
    }
    let claimable = w.received.lock().unwrap().iter().map(|v| v.amount).max();
    let spent = pay.spending();
    assert_eq!(Some(spent.in_mint(&SOL)), claimable, "{spent:?}");
    assert!(spent.in_mint(&SOL) <= budget.total);
    assert_eq!(
        spent.requests, 5,
        "half the budget's uses: the other half echoed"
    );
}

/// Issue 25: one refusal the payer did not cause (the server's node lags
/// behind the channel's opening) does not make the next request pay twice:
/// the same voucher is sent again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refusal_the_payer_did_not_cause_costs_nothing() {
    let hostile: Hostile = Arc::new(|v: &Voucher, n: usize| {
        (n == 0).then(|| Answer::Refuse(refusal(RefusalCode::UnknownChannel, v, None), PRICE))
    });
    let w = world_with(100_000_000, Some(hostile), false).await;
    let (pay, http) = client(&w, GENEROUS, 10);
    let url = format!("{}/paid/weather", w.url);
    assert_eq!(http.get(&url).send().await.unwrap().status(), 402);
    for _ in 0..3 {
        assert_eq!(http.get(&url).send().await.unwrap().status(), 200);
    }
    let channel = channels(&w).await[0].0;
    assert_eq!(held(&w, &channel), 3 * PRICE, "three served, three paid");
    assert_eq!(pay.spending().in_mint(&SOL), 3 * PRICE);
    assert_eq!(pay.spending().requests, 3);
    let received = w.received.lock().unwrap().clone();
    assert_eq!(
        received[0], received[1],
        "the refused voucher was sent again"
    );
}

/// Issue 25: a price rise (`underpaid` asking more) is paid once, at the
/// new price, not on top of the refused voucher.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_price_rise_is_paid_once() {
    let hostile: Hostile = Arc::new(|v: &Voucher, n: usize| {
        (n == 0).then(|| Answer::Refuse(refusal(RefusalCode::Underpaid, v, None), 2 * PRICE))
    });
    let w = world_with(100_000_000, Some(hostile), false).await;
    let (pay, http) = client(&w, GENEROUS, 10);
    let url = format!("{}/paid/weather", w.url);
    assert_eq!(http.get(&url).send().await.unwrap().status(), 200);
    let channel = channels(&w).await[0].0;
    assert_eq!(held(&w, &channel), 2 * PRICE);
    assert_eq!(pay.spending().in_mint(&SOL), 2 * PRICE);
    assert_eq!(pay.spending().requests, 1);
}

/// A server error after the paywall took the voucher: the client sends the
/// same voucher again; told it is a duplicate (it was taken), it pays the
/// next request once. Nothing is counted twice on either side.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_error_leaves_the_voucher_pending() {
    let hostile: Hostile =
        Arc::new(|_: &Voucher, n: usize| (n == 0).then_some(Answer::Served(500)));
    let w = world_with(100_000_000, Some(hostile), false).await;
    let (pay, http) = client(&w, GENEROUS, 10);
    let url = format!("{}/paid/weather", w.url);
    assert_eq!(http.get(&url).send().await.unwrap().status(), 500);
    assert_eq!(http.get(&url).send().await.unwrap().status(), 200);
    let channel = channels(&w).await[0].0;
    let received = w.received.lock().unwrap().clone();
    assert_eq!(received[0], received[1], "the voucher was sent again");
    assert_eq!(held(&w, &channel), 2 * PRICE);
    assert_eq!(pay.spending().in_mint(&SOL), 2 * PRICE);
}
