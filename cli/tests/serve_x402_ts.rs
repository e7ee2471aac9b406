//! `micropay serve`'s `micropay` scheme paid by x402's own TypeScript
//! client (issue 28): `@x402/fetch`'s `wrapFetchWithPayment` with micropay's
//! `@x402/core` scheme module registered (`ts/src/x402-micropay.ts`, run by
//! `ts/interop/x402-fetch-micropay.ts`), over real HTTP against the local
//! node.
//!
//! The channel is opened by `micropay fetch` (Rust), which pays two
//! requests; the TypeScript payer knows only the wallet: it finds the
//! channel on chain, derives the same session key, is refused `stale` on
//! its first voucher, verifies the held voucher the refusal carries,
//! continues from it, and pays on. After the payer asks to close, the
//! watcher inside `serve` claims everything: the creator's earnings equal
//! what the gateway counted, to the lamport, and every paid request was
//! served once.
#![allow(clippy::arithmetic_side_effects)]

mod common;

use anchor_spl::token::spl_token::native_mint::ID as SOL;
use axum::{routing::get, Router};
use micropay_client::ledger::{rpc::RpcLedger, Ledger};
use micropay_node::{LocalNode, NodeConfig};
use micropay_sdk::x402;
use solana_commitment_config::CommitmentConfig;
use solana_sdk::signature::{Keypair, Signer};
use std::{
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    },
    time::Duration,
};

/// Lamports per request.
const PRICE: u64 = 10_000;
/// Requests `micropay fetch` pays before the TypeScript payer takes over.
const BY_CLI: u64 = 2;
/// Requests the TypeScript payer makes.
const BY_TS: u64 = 5;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn x402_fetch_pays_micropay() {
    if !common::peers::available() {
        return;
    }
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
    let micropay = |k: &str, args: &[&str]| {
        assert_cmd::Command::cargo_bin("micropay")
            .unwrap()
            .env("HOME", dir.path())
            .args(["-u", &url, "-k", k, "--output", "json"])
            .args(args)
            .assert()
            .success()
    };
    micropay(&creator_key, &["earnings", "init", "--mint", "sol"]);
    micropay(&payer_key, &["escrow", "init", "--mint", "sol"]);
    micropay(&payer_key, &["escrow", "deposit", "--mint", "sol", "1"]);

    let served = Arc::new(AtomicUsize::new(0));
    let count = served.clone();
    let api = Router::new().route(
        "/api/{item}",
        get(move || {
            count.fetch_add(1, Ordering::SeqCst);
            async { "the answer" }
        }),
    );
    let upstream_url = common::serve::upstream(api).await;
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
    let (mut serve, banner) = common::serve::start(dir.path(), &url, &fee_payer_key, &config, &log);
    let gateway = banner["url"].as_str().unwrap().to_string();

    // Rust opens the channel and pays from it
    let cli_store = dir.path().join("cli-payer.db");
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
    let ledger = RpcLedger::new(url.clone(), CommitmentConfig::confirmed());
    let network = x402::network(&ledger.genesis_hash().await.unwrap());
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
    let log_text = || std::fs::read_to_string(&log).unwrap_or_default();
    let answers = out["answers"].as_array().unwrap();
    let channel = out["channels"][0]
        .as_str()
        .expect("the channel, found on chain");
    assert_eq!(out["channels"].as_array().unwrap().len(), 1, "{out}");
    // each paid request continues the CLI's cumulative amount
    for (i, a) in answers[..BY_TS as usize].iter().enumerate() {
        assert_eq!(a["status"], 200, "{a}\n{}", log_text());
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
        served.load(Ordering::SeqCst) as u64,
        BY_CLI + BY_TS,
        "each paid request served once"
    );

    // the payer asks to close: the watcher claims it all
    let counted = (BY_CLI + BY_TS) * PRICE;
    micropay(&payer_key, &["channel", "request-close", channel]);
    let earnings = micropay_sdk::pda::earnings(&creator.pubkey(), &SOL).0;
    let balance =
        common::serve::earnings_reaching(&ledger, &earnings, counted, Duration::from_secs(60))
            .await;
    assert_eq!(balance, counted, "{}", log_text());
    let _ = serve.kill();
    let _ = serve.wait();
    node.stop();
}
