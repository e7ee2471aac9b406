//! What an operator sees of a running `micropay serve` (issue 27), over
//! real HTTP against the local node: the Prometheus endpoint counts paid
//! and refused requests (by reason) and the value accepted, and follows the
//! watcher (what waits to be claimed); a refusal that is the operator's
//! fault — a channel in a mint the gateway does not accept — is warned
//! about loudly, once; and when the cluster under it changes (the local node
//! restarted: another genesis hash), `serve` says it lost the cluster, says
//! it changed, and exits 2 instead of answering for a cluster that is gone.
#![allow(clippy::arithmetic_side_effects)]

mod common;

use anchor_spl::token::spl_token::{self, native_mint::ID as SOL};
use assert_cmd::Command;
use axum::{routing::get, Router};
use micropay_client::{
    accounts, channels, escrow,
    ledger::rpc::RpcLedger,
    payer::{AsyncPayer, Payer},
    store::SqliteStore,
    tokens::{self, MintRef, Source},
};
use micropay_node::{LocalNode, NodeConfig};
use micropay_sdk::{
    pda,
    voucher::Voucher,
    x402::{self, PaymentPayload, PaymentRequired, WireVoucher},
};
use solana_commitment_config::CommitmentConfig;
use solana_sdk::signature::{Keypair, Signer};
use std::{
    sync::Arc,
    time::{Duration, Instant},
};

/// Lamports per request.
const PRICE: u64 = 10_000;

/// The sample of `series` (name and labels) in a metrics text.
fn sample(text: &str, series: &str) -> Option<u64> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

/// The metrics text once `ready` holds of it (or the last one read).
async fn metrics_when(url: &str, ready: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let text = reqwest::get(url).await.unwrap().text().await.unwrap();
        if ready(&text) || Instant::now() >= deadline {
            return text;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

/// A channel from `payer`'s escrow of a new token mint to `creator`, and a
/// voucher on it: a payment in a mint the gateway does not accept.
async fn voucher_in_another_mint(url: &str, payer: &Keypair, creator: &Keypair) -> Voucher {
    let l = RpcLedger::new(url.to_string(), CommitmentConfig::confirmed());
    let me = payer.pubkey();
    let token = spl_token::ID;
    let mint = tokens::create_mint(&l, payer, &me, &token, 6)
        .await
        .unwrap();
    let account = tokens::create_token_account(&l, payer, &mint, &me, &token)
        .await
        .unwrap();
    tokens::mint_to(&l, payer, payer, &mint, &account, &token, 5_000_000)
        .await
        .unwrap();
    let mint_ref = MintRef {
        address: mint,
        token_program: token,
    };
    escrow::init(&l, payer, &mint_ref).await.unwrap();
    escrow::deposit(&l, payer, &mint_ref, 5_000_000, Source::Account(account))
        .await
        .unwrap();
    let state = accounts::escrow(&l, &pda::escrow(&me, &mint).0)
        .await
        .unwrap()
        .unwrap();
    let wallet = AsyncPayer::from(Payer::new(Arc::new(SqliteStore::in_memory().unwrap())));
    let opened = channels::open(
        &l,
        &wallet,
        payer,
        &state,
        &channels::OpenRequest {
            mint,
            creator: creator.pubkey(),
            allocation: 1_000_000,
            fee: None,
            dispute_window_secs: 86_400,
            expires_at: 0,
            nonce: None,
        },
    )
    .await
    .unwrap();
    wallet.pay(&opened.channel, 1_000).await.unwrap()
}

/// `GET url` paid with `voucher` against the gateway's own 402; the answer's
/// status and its refusal code, if any.
async fn pay_with(url: &str, voucher: &Voucher) -> (u16, Option<String>) {
    let http = reqwest::Client::new();
    let asked = http.get(url).send().await.unwrap();
    assert_eq!(asked.status(), 402);
    let required: PaymentRequired = asked.json().await.unwrap();
    let header = x402::encode_header(&PaymentPayload {
        x402_version: x402::X402_VERSION,
        resource: Some(required.resource.clone()),
        accepted: required.for_mint(&SOL).unwrap().clone(),
        payload: WireVoucher::from(voucher),
        extensions: Default::default(),
    });
    let answer = http
        .get(url)
        .header(x402::PAYMENT_SIGNATURE, header)
        .send()
        .await
        .unwrap();
    let status = answer.status().as_u16();
    let refused: Option<PaymentRequired> = answer.json().await.ok();
    let code = refused
        .as_ref()
        .and_then(|r| r.refusal())
        .and_then(|r| serde_json::to_value(r.reason).ok())
        .and_then(|v| v.as_str().map(str::to_owned));
    (status, code)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_sees_what_serve_does_and_a_changed_cluster_stops_it() {
    let dir = tempfile::tempdir().unwrap();
    let (payer, creator) = (Keypair::new(), Keypair::new());
    let node_config = NodeConfig {
        airdrop: vec![payer.pubkey(), creator.pubkey()],
        ..NodeConfig::ephemeral().unwrap()
    };
    let node = LocalNode::start(node_config.clone()).unwrap();
    let url = node.rpc_url().to_string();
    let key = |name: &str, k: &Keypair| {
        let path = dir.path().join(name);
        common::write_key(&path, k);
        path.to_str().unwrap().to_string()
    };
    let (payer_key, creator_key) = (key("payer.json", &payer), key("creator.json", &creator));
    let micropay = |k: &str, args: &[&str]| {
        let out = Command::cargo_bin("micropay")
            .unwrap()
            .env("HOME", dir.path())
            .args(["-u", &url, "-k", k, "--output", "json"])
            .args(args)
            .assert()
            .success();
        serde_json::from_slice::<serde_json::Value>(&out.get_output().stdout).unwrap()
    };
    micropay(&payer_key, &["escrow", "init", "--mint", "sol"]);
    micropay(&payer_key, &["escrow", "deposit", "--mint", "sol", "1"]);
    let foreign = voucher_in_another_mint(&url, &payer, &creator).await;

    let api = Router::new().route("/api/{item}", get(|| async { "the answer" }));
    let upstream_url = common::serve::upstream(api).await;
    let config = dir.path().join("serve.toml");
    std::fs::write(
        &config,
        format!(
            r#"
upstream = "{upstream_url}"
listen = "127.0.0.1:0"
metrics = "127.0.0.1:0"
store = "{}"
mints = ["sol"]

[watch]
poll_secs = 1
plan_secs = 1

[[route]]
path = "/api/*"
price = {{ sol = "0.00001" }}
"#,
            dir.path().join("receiver.db").display()
        ),
    )
    .unwrap();
    let log = dir.path().join("serve.log");
    let (mut child, banner) = common::serve::start(dir.path(), &url, &creator_key, &config, &log);
    let gateway = banner["url"].as_str().unwrap().to_string();
    let metrics = banner["metrics"]
        .as_str()
        .expect("the banner names the endpoint");
    assert!(metrics.ends_with("/metrics"), "{metrics}");
    assert_ne!(
        metrics.trim_end_matches("/metrics"),
        gateway,
        "its own address"
    );

    // one paid request (after the 402 that `fetch` answers by itself)
    let fetched = micropay(&payer_key, &["fetch", &format!("{gateway}/api/one")]);
    assert_eq!(fetched["status"], 200, "{fetched}");
    // a payment in a mint the gateway does not accept, twice
    for _ in 0..2 {
        let answer = pay_with(&format!("{gateway}/api/two"), &foreign).await;
        assert_eq!(answer, (402, Some("mint_not_accepted".to_string())));
    }

    let sol = format!("{{mint=\"{SOL}\"}}");
    let text = metrics_when(metrics, |t| {
        sample(t, "micropay_watcher_passes_total").is_some_and(|n| n >= 1)
            && sample(t, "micropay_unclaimed_vouchers") == Some(1)
    })
    .await;
    assert_eq!(
        sample(&text, "micropay_paid_requests_total"),
        Some(1),
        "{text}"
    );
    assert_eq!(
        sample(
            &text,
            "micropay_refused_requests_total{reason=\"mint_not_accepted\"}"
        ),
        Some(2),
        "{text}"
    );
    // `fetch`'s first try and each of the two 402s asked for above
    assert_eq!(
        sample(
            &text,
            "micropay_refused_requests_total{reason=\"payment_required\"}"
        ),
        Some(3),
        "{text}"
    );
    assert_eq!(
        sample(&text, &format!("micropay_accepted_base_units_total{sol}")),
        Some(PRICE),
        "{text}"
    );
    // one voucher of one price is not worth a claim's fee yet: it waits
    assert_eq!(
        sample(&text, "micropay_unclaimed_vouchers"),
        Some(1),
        "{text}"
    );
    assert_eq!(
        sample(&text, &format!("micropay_unclaimed_base_units{sol}")),
        Some(PRICE),
        "{text}"
    );
    assert_eq!(sample(&text, "micropay_claim_transactions_total"), Some(0));
    assert_eq!(sample(&text, "micropay_store_errors_total"), Some(0));
    assert!(sample(&text, "micropay_watcher_last_pass_timestamp_seconds").is_some());
    // no channel closes or expires: no deadline
    assert!(!text.contains("deadline_timestamp_seconds "), "{text}");

    // the operator's fault is said loudly, once per mint
    let logged = std::fs::read_to_string(&log).unwrap();
    assert_eq!(
        logged.matches("OPERATOR CHECK").count(),
        1,
        "the wrong mint is warned about once: {logged}"
    );
    assert!(logged.contains("add it to `mints`"), "{logged}");

    // the cluster under it goes away, and another one answers at its URL
    drop(node);
    let lost = wait_for_log(&log, "cannot reach the cluster").await;
    assert!(lost, "serve says it lost the cluster");
    let _restarted = LocalNode::start(node_config).unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if Instant::now() >= deadline {
            break None;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let Some(status) = status else {
        let _ = child.kill();
        panic!(
            "serve kept serving another cluster: {}",
            std::fs::read_to_string(&log).unwrap()
        );
    };
    let logged = std::fs::read_to_string(&log).unwrap();
    assert_eq!(status.code(), Some(2), "{logged}");
    assert!(logged.contains("changed under serve"), "{logged}");
    assert!(logged.contains("Restart serve"), "{logged}");
}

/// Whether `needle` shows up in the log at `path` within 30 seconds.
async fn wait_for_log(path: &std::path::Path, needle: &str) -> bool {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if std::fs::read_to_string(path).is_ok_and(|l| l.contains(needle)) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    false
}
