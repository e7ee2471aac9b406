//! Pay-per-request end to end over real HTTP on 127.0.0.1 against the local
//! node: a JSON API behind `micropay serve` (a child process, configured by
//! its TOML file), `micropay fetch` paying its first request and one on a
//! settle-first route (claimed on chain before it is served), then a library
//! client (the paying middleware) making many paid requests and losing its
//! whole store midway; the watcher inside `serve` settles everything (the
//! last part when the payer asks to close its channel). At the end the
//! creator's on-chain earnings equal what the gateway counted, to the base
//! unit, and every request was served exactly once.
#![allow(clippy::arithmetic_side_effects)]

mod common;

use anchor_spl::token::spl_token::native_mint::ID as SOL;
use assert_cmd::Command;
use axum::{extract::Path, routing::get, Json, Router};
use micropay_client::{
    accounts,
    ledger::{rpc::RpcLedger, DynSigner, Ledger},
    payer::Payer,
    store::{ClaimStatus, ReceiverStore, SqliteStore},
};
use micropay_http::pay::{Budget, Pay, PayPolicy};
use micropay_node::{LocalNode, NodeConfig};
use solana_commitment_config::CommitmentConfig;
use solana_sdk::signature::{Keypair, Signer};
use std::{
    collections::BTreeMap,
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

/// Lamports per request.
const PRICE: u64 = 10_000;
/// Paid requests made by the library client (half before losing its store).
const REQUESTS: usize = 10_000;
/// Lamports of the one settle-first request.
const PREMIUM: u64 = 100_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_api_behind_micropay_serve_is_paid_per_request_and_settled() {
    let dir = tempfile::tempdir().unwrap();
    // the recommended setup: the gateway holds a fee payer's key, never the
    // creator's (claims are permissionless; earnings go to the payee)
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
    let micropay = |k: &str, args: &[&str]| {
        Command::cargo_bin("micropay")
            .unwrap()
            .env("HOME", dir.path())
            .args(["-u", &url, "-k", k, "--output", "json"])
            .args(args)
            .assert()
            .success()
    };
    micropay(&creator_key, &["earnings", "init", "--mint", "sol"]);
    micropay(&payer_key, &["escrow", "init", "--mint", "sol"]);
    micropay(&payer_key, &["escrow", "deposit", "--mint", "sol", "50"]);

    // the API sold: counts what it serves
    let hits = Arc::new(AtomicUsize::new(0));
    let counted = hits.clone();
    let api = Router::new()
        .route(
            "/weather/{city}",
            get(move |Path(city): Path<String>| {
                let counted = counted.clone();
                async move {
                    counted.fetch_add(1, Ordering::SeqCst);
                    Json(serde_json::json!({ "city": city, "temp": 21 }))
                }
            }),
        )
        .route("/premium/report", get(|| async { "the full report" }))
        .route("/health", get(|| async { "ok" }));
    let upstream_url = common::serve::upstream(api).await;

    let listen = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let store = dir.path().join("receiver.db");
    let config = dir.path().join("serve.toml");
    std::fs::write(
        &config,
        format!(
            r#"
upstream = "{upstream_url}"
listen = "{listen}"
store = "{}"
mints = ["sol"]
payee = "{}"

[watch]
poll_secs = 1
plan_secs = 1

[[route]]
path = "/premium/**"
price = {{ sol = "0.0001" }}
settle_first = true

[[route]]
method = "GET"
path = "/weather/*"
price = {{ sol = "0.00001" }}
description = "today's weather"
"#,
            store.display(),
            creator.pubkey()
        ),
    )
    .unwrap();

    // `--check` validates and says what it would serve
    let checked = micropay(
        &fee_payer_key,
        &["serve", "-c", config.to_str().unwrap(), "--check"],
    );
    let v: serde_json::Value = serde_json::from_slice(&checked.get_output().stdout).unwrap();
    assert_eq!(v["routes"][0]["settle_first"], true);
    assert_eq!(v["routes"][1]["prices"]["SOL"], PRICE);
    assert_eq!(v["creator"], creator.pubkey().to_string());
    assert_eq!(v["fee_payer"], fee_payer.pubkey().to_string());
    // what is served free is said (issue 25): /health is, by design here
    assert_eq!(v["unrouted"], "free");
    assert!(
        v["warnings"][0].as_str().unwrap().contains("FREE"),
        "{}",
        v["warnings"]
    );
    let stderr = String::from_utf8_lossy(&checked.get_output().stderr);
    assert!(
        stderr.contains("warning: paths no [[route]] names"),
        "{stderr}"
    );

    let (mut serve, banner) = common::serve::start(
        dir.path(),
        &url,
        &fee_payer_key,
        &config,
        &dir.path().join("serve.log"),
    );
    let base = banner["url"].as_str().unwrap().to_string();
    assert!(banner["watcher"].as_bool().unwrap());

    // free routes pass through; priced ones are 402 without payment
    let plain = reqwest::Client::new();
    let health = plain.get(format!("{base}/health")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    let unpaid = plain
        .get(format!("{base}/weather/oslo"))
        .send()
        .await
        .unwrap();
    assert_eq!(unpaid.status(), 402);
    assert!(unpaid.headers().contains_key("payment-required"));
    let required: serde_json::Value = unpaid.json().await.unwrap();
    let action = format!("{base}/actions/fund");
    assert_eq!(
        required["accepts"][0]["extra"]["fundAction"],
        action.as_str()
    );
    assert_eq!(banner["fund_action"], action.as_str());
    // the Action a wallet funds from, never priced
    let meta: serde_json::Value = plain
        .get(&action)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(meta["type"], "action");
    let rules = plain
        .get(format!("{base}/actions.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(rules.headers()["access-control-allow-origin"], "*");
    assert_eq!(hits.load(Ordering::SeqCst), 0);

    // `micropay fetch` pays by itself: opens a channel, pays, prints the body
    let fetched = micropay(
        &payer_key,
        &[
            "fetch",
            &format!("{base}/weather/paris"),
            "--store",
            dir.path().join("cli-payer.db").to_str().unwrap(),
        ],
    );
    let v: serde_json::Value = serde_json::from_slice(&fetched.get_output().stdout).unwrap();
    assert_eq!(v["status"], 200);
    assert_eq!(v["paid"], PRICE);
    let body: serde_json::Value = serde_json::from_str(v["body"].as_str().unwrap()).unwrap();
    assert_eq!(body["city"], "paris");
    assert_eq!(v["payment"]["cumulative"], PRICE.to_string());
    assert_eq!(hits.load(Ordering::SeqCst), 1);

    // a settle-first route: the voucher is claimed on chain before serving
    let premium = micropay(
        &payer_key,
        &[
            "fetch",
            &format!("{base}/premium/report"),
            "--store",
            dir.path().join("cli-payer.db").to_str().unwrap(),
        ],
    );
    let v: serde_json::Value = serde_json::from_slice(&premium.get_output().stdout).unwrap();
    assert_eq!(v["body"], "the full report");
    let claim = v["payment"]["transaction"].as_str().unwrap().to_string();
    assert!(!claim.is_empty(), "{v}");
    let earnings_account = micropay_sdk::pda::earnings(&creator.pubkey(), &SOL).0;
    let ledger_now = RpcLedger::new(url.clone(), CommitmentConfig::confirmed());
    let settled_first = accounts::earnings(&ledger_now, &earnings_account)
        .await
        .unwrap()
        .unwrap()
        .balance;
    assert!(
        settled_first >= PREMIUM,
        "settled before serving: {settled_first}"
    );

    // the library client: many paid requests, its store lost halfway
    let ledger: Arc<dyn Ledger> =
        Arc::new(RpcLedger::new(url.clone(), CommitmentConfig::confirmed()));
    let wallet: Arc<DynSigner> = Arc::new(payer.insecure_clone());
    let client = |store: &str| {
        let pay = Pay::new(
            ledger.clone(),
            wallet.clone(),
            Payer::new(Arc::new(SqliteStore::open(dir.path().join(store)).unwrap())),
            PayPolicy {
                budgets: BTreeMap::from([(
                    SOL,
                    Budget {
                        per_creator: 10_000_000_000,
                        total: 10_000_000_000,
                    },
                )]),
                allocation_requests: 1_000,
            },
        );
        let http = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
            .with(pay.clone())
            .build();
        (pay, http)
    };
    let started = Instant::now();
    let mut spent = 0;
    for (half, store) in ["lib-payer.db", "lib-payer-after-loss.db"]
        .iter()
        .enumerate()
    {
        let (pay, http) = client(store);
        for i in 0..REQUESTS / 2 {
            let response = http
                .get(format!("{base}/weather/city{half}-{i}"))
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 200, "request {half}/{i}");
        }
        spent += pay.spending().in_mint(&SOL);
    }
    let elapsed = started.elapsed();
    eprintln!(
        "{REQUESTS} paid requests through micropay serve in {:.1} s ({:.0}/s)",
        elapsed.as_secs_f64(),
        REQUESTS as f64 / elapsed.as_secs_f64()
    );
    let served = 1 + REQUESTS;
    assert_eq!(
        hits.load(Ordering::SeqCst),
        served,
        "each request served once"
    );
    assert_eq!(spent, (REQUESTS as u64) * PRICE);

    // what the gateway counted, and what the watcher settles on chain
    let gateway = SqliteStore::open_existing(&store).unwrap();
    let counted: u64 = gateway
        .list(&ClaimStatus::ALL)
        .unwrap()
        .iter()
        .map(|r| r.voucher.amount)
        .sum();
    assert_eq!(
        counted,
        (served as u64) * PRICE + PREMIUM,
        "no unit lost or paid twice"
    );
    // routine claims wait until they are worth their fee; the payer closing
    // its channel makes the rest urgent, and the watcher claims it at once
    let rows = gateway.list(&ClaimStatus::ALL).unwrap();
    assert_eq!(rows.len(), 1, "one channel for all requests");
    let channel = rows[0].voucher.channel.to_string();
    micropay(&payer_key, &["channel", "request-close", &channel]);
    let earnings = micropay_sdk::pda::earnings(&creator.pubkey(), &SOL).0;
    let balance = common::serve::earnings_reaching(
        ledger.as_ref(),
        &earnings,
        counted,
        Duration::from_secs(60),
    )
    .await;
    assert_eq!(
        balance,
        counted,
        "the creator's earnings equal what the gateway counted; serve's log:\n{}",
        std::fs::read_to_string(dir.path().join("serve.log")).unwrap_or_default()
    );

    // SIGTERM: serve stops cleanly
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &serve.id().to_string()])
        .status();
    let status = serve.wait().unwrap();
    assert!(status.success(), "{status:?}");
    node.stop();

    // the operator's log: one JSON line per priced request (issue 27) —
    // each paid one with its channel, what it paid, the upstream's status
    // and the latency; the unpaid one with its reason; free ones none
    let log = std::fs::read_to_string(dir.path().join("serve.log")).unwrap();
    let requests: Vec<serde_json::Value> = log
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["target"] == "micropay::request")
        .collect();
    let paid: Vec<&serde_json::Value> = requests
        .iter()
        .filter(|v| v["fields"]["message"] == "paid")
        .collect();
    assert!(
        paid.len() >= REQUESTS,
        "{} paid lines for {REQUESTS} paid requests of the library client alone; the log begins:\n{}",
        paid.len(),
        log.lines().take(8).collect::<Vec<_>>().join("\n")
    );
    let line = &paid[0]["fields"];
    assert_eq!(line["method"], "GET", "{line}");
    assert_eq!(line["channel"], channel.as_str(), "{line}");
    assert!(line["paid"].as_u64().unwrap() > 0, "{line}");
    assert_eq!(line["upstream"], 200, "{line}");
    assert!(line["latency_us"].as_u64().is_some(), "{line}");
    assert!(
        requests.iter().any(|v| v["fields"]["message"] == "refused"
            && v["fields"]["path"] == "/weather/oslo"
            && v["fields"]["reason"].is_string()),
        "the unpaid request's line"
    );
    assert!(
        !requests.iter().any(|v| v["fields"]["path"] == "/health"),
        "free requests are not priced requests"
    );
}
