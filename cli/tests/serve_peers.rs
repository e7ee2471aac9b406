//! `micropay serve`'s `micropay` scheme paid by peers' x402 clients with
//! micropay's plug-ins (issue 28), over real HTTP against the local node:
//!
//! - x402's own TypeScript client, `@x402/fetch`'s `wrapFetchWithPayment`
//!   with micropay's `@x402/core` scheme module registered
//!   (`@micropay/sdk`'s `src/scheme.ts`, run by `ts/examples/interop/x402-fetch-micropay.ts`).
//!   The channel is opened by `micropay fetch` (Rust), which pays two
//!   requests; the TypeScript payer knows only the wallet: it finds the
//!   channel on chain, derives the same session key, is refused `stale` on
//!   its first voucher, verifies the held voucher the refusal carries,
//!   continues from it, and pays on.
//! - the other way round: `@micropay/sdk` opens the channel
//!   (`ts/examples/interop/open-channel.ts`) and `micropay fetch` pays from
//!   it, its session key derived in Rust from the same wallet.
//! - x402-rs's `x402-reqwest` middleware with micropay's x402-rs plug-in
//!   (`micropay_http::x402rs::MicropayScheme`) registered: it opens the
//!   channel itself and pays until its budget.
//!
//! After the payer asks to close, the watcher inside `serve` claims
//! everything: the creator's earnings equal what the gateway counted, to
//! the lamport, and every paid request was served once.
#![allow(clippy::arithmetic_side_effects)]

mod common;

use anchor_spl::token::spl_token::native_mint::ID as SOL;
use axum::routing::get;
use micropay_client::{
    ledger::{rpc::RpcLedger, DynSigner, Ledger},
    payer::Payer,
    store::SqliteStore,
};
use micropay_http::{
    pay::{Budget, Pay, PayPolicy},
    x402rs::MicropayScheme,
};
use micropay_node::{LocalNode, NodeConfig};
use micropay_sdk::{
    voucher::Voucher,
    x402::{self, SettlementResponse},
};
use solana_commitment_config::CommitmentConfig;
use solana_sdk::signature::{Keypair, Signer};
use std::{
    path::PathBuf,
    process::Child,
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    },
    time::Duration,
};

/// Lamports per request.
const PRICE: u64 = 10_000;

/// A local node, a payer with a SOL escrow, a creator with earnings, and
/// `serve` selling `/api/*` at [`PRICE`] with its watcher on.
struct Gateway {
    _node: LocalNode,
    dir: tempfile::TempDir,
    url: String,
    ledger: RpcLedger,
    payer: Keypair,
    payer_key: String,
    creator: Keypair,
    url_of_gateway: String,
    serve: Child,
    log: PathBuf,
    /// Requests the upstream served.
    served: Arc<AtomicUsize>,
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.serve.kill();
        let _ = self.serve.wait();
    }
}

async fn gateway() -> Gateway {
    let dir = tempfile::tempdir().unwrap();
    let (payer, creator, fee_payer) = (Keypair::new(), Keypair::new(), Keypair::new());
    let node = LocalNode::start(NodeConfig {
        airdrop: vec![payer.pubkey(), creator.pubkey(), fee_payer.pubkey()],
        ..NodeConfig::ephemeral().unwrap()
    })
    .unwrap();
    let url = node.rpc_url().to_string();
    let key = |name: &str, k: &Keypair| {
        let path = dir.path().join(name);
        common::write_key(&path, k);
        path.to_str().unwrap().to_string()
    };
    let (payer_key, creator_key) = (key("payer.json", &payer), key("creator.json", &creator));
    let fee_payer_key = key("fee-payer.json", &fee_payer);
    let g = |k: &str, args: &[&str]| micropay(dir.path(), &url, k, args);
    g(&creator_key, &["earnings", "init", "--mint", "sol"]);
    g(&payer_key, &["escrow", "init", "--mint", "sol"]);
    g(&payer_key, &["escrow", "deposit", "--mint", "sol", "1"]);

    let (upstream_url, served) = common::serve::counted_api().await;
    let config = dir.path().join("serve.toml");
    std::fs::write(
        &config,
        format!(
            r#"
upstream = "{upstream_url}"
listen = "127.0.0.1:0"
store = "{}"
mints = ["sol"]
payee = "{}"

[watch]
poll_secs = 1
plan_secs = 1

[[route]]
path = "/api/*"
price = {{ sol = "0.00001" }}
"#,
            dir.path().join("receiver.db").display(),
            creator.pubkey()
        ),
    )
    .unwrap();
    let log = dir.path().join("serve.log");
    let (serve, banner) = common::serve::start(dir.path(), &url, &fee_payer_key, &config, &log);
    Gateway {
        url_of_gateway: banner["url"].as_str().unwrap().to_string(),
        ledger: RpcLedger::new(url.clone(), CommitmentConfig::confirmed()),
        _node: node,
        dir,
        url,
        payer,
        payer_key,
        creator,
        serve,
        log,
        served,
    }
}

/// `micropay -u url -k key --output json ARGS`, which must succeed.
fn micropay(
    home: &std::path::Path,
    url: &str,
    key: &str,
    args: &[&str],
) -> assert_cmd::assert::Assert {
    assert_cmd::Command::cargo_bin("micropay")
        .unwrap()
        .env("HOME", home)
        .args(["-u", url, "-k", key, "--output", "json"])
        .args(args)
        .assert()
        .success()
}

impl Gateway {
    /// The payer's paying middleware on the node, `budget` lamports in
    /// total and per creator, its store on disk.
    fn pay(&self, budget: u64) -> Pay {
        let ledger: Arc<dyn Ledger> = Arc::new(RpcLedger::new(
            self.url.clone(),
            CommitmentConfig::confirmed(),
        ));
        let wallet: Arc<DynSigner> = Arc::new(self.payer.insecure_clone());
        let store = SqliteStore::open(self.dir.path().join("middleware-payer.db")).unwrap();
        Pay::new(
            ledger,
            wallet,
            Payer::new(Arc::new(store)),
            PayPolicy {
                budgets: std::collections::BTreeMap::from([(
                    SOL,
                    Budget {
                        per_creator: budget,
                        total: budget,
                    },
                )]),
                allocation_requests: 100,
            },
        )
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The payer closes `channel`; the watcher claims it, and the
    /// creator's earnings become exactly `counted`.
    async fn settles_to(&self, channel: &str, counted: u64) {
        micropay(
            self.dir.path(),
            &self.url,
            &self.payer_key,
            &["channel", "request-close", channel],
        );
        let earnings = micropay_sdk::pda::earnings(&self.creator.pubkey(), &SOL).0;
        let balance = common::serve::earnings_reaching(
            &self.ledger,
            &earnings,
            counted,
            Duration::from_secs(60),
        )
        .await;
        assert_eq!(balance, counted, "{}", self.log());
    }
}

/// Requests `micropay fetch` pays before the TypeScript payer takes over.
const BY_CLI: u64 = 2;
/// Requests the TypeScript payer makes.
const BY_TS: u64 = 5;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn x402_fetch_pays_micropay() {
    if !common::peers::available() {
        return;
    }
    let g = gateway().await;
    let gateway = g.url_of_gateway.clone();
    let (url, payer_key) = (g.url.clone(), g.payer_key.clone());
    let micropay = |k: &str, args: &[&str]| micropay(g.dir.path(), &url, k, args);
    // Rust opens the channel and pays from it
    let cli_store = g.dir.path().join("cli-payer.db");
    for i in 0..BY_CLI {
        let target = format!("{gateway}/api/cli{i}");
        let fetched = micropay(
            &payer_key,
            &["fetch", &target, "--store", cli_store.to_str().unwrap()],
        );
        let v: serde_json::Value = serde_json::from_slice(&fetched.get_output().stdout).unwrap();
        assert_eq!(v["status"], 200, "{v}");
    }

    // @x402/fetch with micropay's scheme module, from the wallet alone
    let network = x402::network(&g.ledger.genesis_hash().await.unwrap());
    let out = common::peers::run(
        "x402-fetch-micropay",
        &[
            ("X402_URL", &format!("{gateway}/api/ts")),
            ("X402_RPC_URL", &url),
            ("X402_KEYPAIR", &payer_key),
            ("X402_NETWORK", &network),
            ("X402_ASSET", &SOL.to_string()),
            ("X402_BUDGET", &(BY_TS * PRICE).to_string()),
            ("X402_REQUESTS", &(BY_TS + 1).to_string()),
        ],
    )
    .await;
    let answers = out["answers"].as_array().unwrap();
    let channel = out["channels"][0]
        .as_str()
        .expect("the channel, found on chain");
    assert_eq!(out["channels"].as_array().unwrap().len(), 1, "{out}");
    // each paid request continues the CLI's cumulative amount
    for (i, a) in answers[..BY_TS as usize].iter().enumerate() {
        assert_eq!(a["status"], 200, "{a}\n{}", g.log());
        assert_eq!(a["body"], "the answer");
        let receipt = &a["receipt"];
        assert_eq!(receipt["success"], true, "{a}");
        assert_eq!(receipt["channel"], channel);
        let cumulative = (BY_CLI + 1 + i as u64) * PRICE;
        assert_eq!(receipt["cumulative"], cumulative.to_string(), "{a}");
    }
    // one more is past its budget: refused before anything is signed
    let over = answers[BY_TS as usize]["error"]
        .as_str()
        .unwrap_or_default();
    assert!(over.contains("budget"), "{out}");
    assert_eq!(out["signedFor"], (BY_TS * PRICE).to_string(), "{out}");
    assert_eq!(
        g.served.load(Ordering::SeqCst) as u64,
        BY_CLI + BY_TS,
        "each paid request served once"
    );

    // the payer asks to close: the watcher claims it all
    g.settles_to(channel, (BY_CLI + BY_TS) * PRICE).await;
}

/// The other way round: `@micropay/sdk` opens the channel (fund + open
/// signed by the wallet, its session key derived in TypeScript), and
/// `micropay fetch` — Rust, with an empty store — finds it on chain,
/// derives the same session key and pays from it; the watcher claims
/// exactly what the gateway counted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_channel_opened_in_typescript_is_paid_from_rust() {
    if !common::peers::available() {
        return;
    }
    let g = gateway().await;
    let opened = common::peers::run(
        "open-channel",
        &[
            ("X402_RPC_URL", &g.url),
            ("X402_KEYPAIR", &g.payer_key),
            ("X402_ASSET", &SOL.to_string()),
            ("CREATOR", &g.creator.pubkey().to_string()),
            ("ALLOCATION", &(10 * PRICE).to_string()),
        ],
    )
    .await;
    let channel = opened["channel"].as_str().unwrap().to_string();
    let store = g.dir.path().join("rust-payer.db");
    for i in 0..3 {
        let fetched = micropay(
            g.dir.path(),
            &g.url,
            &g.payer_key,
            &[
                "fetch",
                &format!("{}/api/rs{i}", g.url_of_gateway),
                "--store",
                store.to_str().unwrap(),
            ],
        );
        let v: serde_json::Value = serde_json::from_slice(&fetched.get_output().stdout).unwrap();
        assert_eq!(v["status"], 200, "{v}\n{}", g.log());
        assert_eq!(
            v["payment"]["channel"],
            channel.as_str(),
            "paid from the TypeScript channel: {v}"
        );
    }
    assert_eq!(g.served.load(Ordering::SeqCst), 3);
    g.settles_to(&channel, 3 * PRICE).await;
}

/// x402-rs's reqwest middleware (`x402-reqwest` 2.0) with micropay's
/// plug-in registered pays with vouchers: the plug-in opens the channel
/// from the wallet's escrow on the first 402, each retry carries the next
/// cumulative voucher, and past the budget nothing is signed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn x402_reqwest_pays_micropay() {
    use x402_reqwest::{ReqwestWithPayments, ReqwestWithPaymentsBuild};
    const REQUESTS: u64 = 6;
    let g = gateway().await;
    let pay = g.pay(REQUESTS * PRICE);
    let x402 =
        x402_reqwest::X402Client::new().register(MicropayScheme::new(pay.clone()).await.unwrap());
    let http = reqwest013::Client::new().with_payments(x402).build();
    let mut channel = String::new();
    for i in 1..=REQUESTS {
        let answer = http
            .get(format!("{}/api/rs{i}", g.url_of_gateway))
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status().as_u16(), 200, "{}", g.log());
        let receipt: SettlementResponse = x402::decode_header(
            x402::PAYMENT_RESPONSE,
            answer.headers()[x402::PAYMENT_RESPONSE].as_bytes(),
        )
        .unwrap();
        assert_eq!(receipt.cumulative, (i * PRICE).to_string());
        channel = receipt.channel;
        assert_eq!(answer.text().await.unwrap(), "the answer");
    }
    let past = http
        .get(format!("{}/api/rs-past", g.url_of_gateway))
        .send()
        .await;
    let err = past.expect_err("past the budget");
    assert!(err.to_string().contains("cap"), "{err}");
    assert_eq!(pay.spending().in_mint(&SOL), REQUESTS * PRICE);
    assert_eq!(g.served.load(Ordering::SeqCst) as u64, REQUESTS);
    g.settles_to(&channel, REQUESTS * PRICE).await;
}

/// The server side in x402-rs: an `x402-axum` route whose price tag is a
/// `micropay` offer and whose facilitator is micropay's
/// (`MicropayFacilitator`, a receiver in process). Our paying middleware
/// pays it with vouchers, each request served once; after the payer asks
/// to close, `micropay claim` on that receiver's store puts exactly what it
/// took in the creator's earnings.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn x402_axum_sells_with_vouchers() {
    use micropay_client::receiver::{AcceptedMint, Receiver, ReceiverConfig};
    use micropay_http::x402rs::MicropayFacilitator;
    use micropay_sdk::x402::{MicropayExtra, PaymentRequirements};
    const REQUESTS: u64 = 3;
    let g = gateway().await;
    let network = x402::network(&g.ledger.genesis_hash().await.unwrap());
    let store_path = g.dir.path().join("axum-receiver.db");
    let ledger: Arc<dyn Ledger> =
        Arc::new(RpcLedger::new(g.url.clone(), CommitmentConfig::confirmed()));
    let receiver = Arc::new(Receiver::new(
        ledger.clone(),
        Arc::new(SqliteStore::open(&store_path).unwrap()),
        g.creator.pubkey(),
        ReceiverConfig::accepting([AcceptedMint::wrapped_sol()]),
    ));
    let offer = PaymentRequirements {
        scheme: x402::SCHEME.into(),
        network: network.clone(),
        amount: PRICE.to_string(),
        asset: SOL.to_string(),
        pay_to: g.creator.pubkey().to_string(),
        max_timeout_seconds: 60,
        extra: MicropayExtra {
            program_id: micropay_client::micropay::ID.to_string(),
            decimals: 9,
            min_dispute_window_secs: receiver.config().min_dispute_window_secs,
            fee_recipients: Vec::new(),
            max_fee_bps: 0,
            fund_action: None,
        },
    };
    let facilitator = Arc::new(MicropayFacilitator::new(receiver, network));
    let x402 =
        x402_axum::X402Middleware::from_facilitator(facilitator.clone()).settle_before_execution();
    let served = Arc::new(AtomicUsize::new(0));
    let count = served.clone();
    let app = axum::Router::new().route(
        "/axum/{item}",
        get(move || {
            count.fetch_add(1, Ordering::SeqCst);
            async { "sold by x402-axum" }
        })
        .layer(x402.with_price_tag(MicropayFacilitator::price_tag(&offer).unwrap())),
    );
    let server = common::serve::upstream(app).await;

    let pay = g.pay(REQUESTS * PRICE);
    let http = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
        .with(pay.clone())
        .build();
    let mut channel = String::new();
    for i in 1..=REQUESTS {
        let answer = http.get(format!("{server}/axum/{i}")).send().await.unwrap();
        assert_eq!(answer.status(), 200);
        let receipt: SettlementResponse = x402::decode_header(
            x402::PAYMENT_RESPONSE,
            answer.headers()[x402::PAYMENT_RESPONSE].as_bytes(),
        )
        .unwrap();
        assert_eq!(receipt.cumulative, (i * PRICE).to_string());
        channel = receipt.channel;
        assert_eq!(answer.text().await.unwrap(), "sold by x402-axum");
    }
    assert!(
        http.get(format!("{server}/axum/past"))
            .send()
            .await
            .is_err(),
        "past the budget"
    );
    assert_eq!(served.load(Ordering::SeqCst) as u64, REQUESTS);

    // the facilitator as x402-axum's settle-after mode calls it: a voucher
    // verified once is valid once (a second request carrying it is a
    // duplicate), its settle answers from the verify, and a voucher with a
    // forged signature never borrows a verified one's standing
    let topped = g.dir.path().join("top-up-payer.db");
    micropay(
        g.dir.path(),
        &g.url,
        &g.payer_key,
        &[
            "channel",
            "top-up",
            &channel,
            "0.00001",
            "--store",
            topped.to_str().unwrap(),
        ],
    );
    let next = the_channels_next_voucher(&g, &channel, (REQUESTS + 1) * PRICE).await;
    let request = |v: &Voucher| {
        let body = serde_json::json!({
            "x402Version": 2,
            "paymentPayload": x402::PaymentPayload {
                x402_version: 2,
                resource: None,
                accepted: offer.clone(),
                payload: x402::WireVoucher::from(v),
                extensions: Default::default(),
            },
            "paymentRequirements": offer,
        });
        x402_types::proto::VerifyRequest::from(serde_json::value::to_raw_value(&body).unwrap())
    };
    use x402_types::facilitator::Facilitator;
    let verified = facilitator.verify(&request(&next)).await.unwrap();
    assert_eq!(verified.0["isValid"], true, "{:?}", verified.0);
    let again = facilitator.verify(&request(&next)).await.unwrap();
    assert_eq!(again.0["isValid"], false, "verified once: {:?}", again.0);
    let forged = Voucher {
        signature: [7; 64],
        ..next
    };
    let settled = facilitator.settle(&request(&forged)).await.unwrap();
    assert_eq!(settled.0["success"], false, "{:?}", settled.0);
    let settled = facilitator.settle(&request(&next)).await.unwrap();
    assert_eq!(settled.0["success"], true, "{:?}", settled.0);
    assert_eq!(
        settled.0["cumulative"],
        ((REQUESTS + 1) * PRICE).to_string()
    );
    let twice = facilitator.settle(&request(&next)).await.unwrap();
    assert_eq!(twice.0["success"], false, "settled once: {:?}", twice.0);
    let taken = (REQUESTS + 1) * PRICE;

    micropay(
        g.dir.path(),
        &g.url,
        &g.payer_key,
        &["channel", "request-close", &channel],
    );
    let creator_key = g.dir.path().join("creator.json");
    micropay(
        g.dir.path(),
        &g.url,
        creator_key.to_str().unwrap(),
        &["claim", "--store", store_path.to_str().unwrap()],
    );
    let earnings = micropay_sdk::pda::earnings(&g.creator.pubkey(), &SOL).0;
    let balance =
        common::serve::earnings_reaching(&g.ledger, &earnings, taken, Duration::from_secs(30))
            .await;
    assert_eq!(balance, taken, "exactly what the x402-axum route took");
}

/// The voucher of `amount` on `channel` (the payer's), signed by its
/// session key derived from the wallet as every micropay client does.
async fn the_channels_next_voucher(g: &Gateway, channel: &str, amount: u64) -> Voucher {
    let channel: solana_sdk::pubkey::Pubkey = channel.parse().unwrap();
    let state = micropay_client::accounts::channel(&g.ledger, &channel)
        .await
        .unwrap()
        .unwrap();
    let session = micropay_sdk::session::derive(&g.payer, &state.escrow, state.nonce).unwrap();
    Voucher::sign(&session, channel, amount)
}
