//! `micropay serve` taking x402's `exact` beside micropay (issue 28), over
//! real HTTP against the local node: a route marked `exact = true` offers a
//! transfer per request after micropay's; the gateway creates the payee's
//! token account at start, and a client without micropay — a signed
//! transfer, as x402 clients build it — is served once its transfer
//! landed, once. The payee's token account holds exactly what was paid.
#![allow(clippy::arithmetic_side_effects)]

mod common;

use axum::{routing::get, Router};
use micropay_client::{accounts, ledger::rpc::RpcLedger, ledger::Ledger};
use micropay_node::{LocalNode, NodeConfig};
use micropay_sdk::x402::{
    self,
    exact::{ExactPayload, ExactPaymentPayload},
    PaymentRequired, SettlementResponse,
};
use micropay_tests::exact::{exact_world, HELD, PRICE};
use solana_commitment_config::CommitmentConfig;
use solana_sdk::signature::{Keypair, Signer};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_sells_per_request_to_a_client_without_micropay() {
    let dir = tempfile::tempdir().unwrap();
    let (setup, fee_payer) = (Keypair::new(), Keypair::new());
    let node = LocalNode::start(NodeConfig {
        airdrop: vec![setup.pubkey(), fee_payer.pubkey()],
        ..NodeConfig::ephemeral().unwrap()
    })
    .unwrap();
    let url = node.rpc_url().to_string();
    let ledger = RpcLedger::new(url.clone(), CommitmentConfig::confirmed());
    let l: &dyn Ledger = &ledger;
    let fee_payer_key = dir.path().join("fee-payer.json");
    common::write_key(&fee_payer_key, &fee_payer);
    let w = exact_world(l, &setup, fee_payer).await;

    let api = Router::new().route("/api/{item}", get(|| async { "the answer" }));
    let upstream = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let upstream_url = format!("http://{}", upstream.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(upstream, api).await });
    let config = dir.path().join("serve.toml");
    std::fs::write(
        &config,
        format!(
            r#"
upstream = "{upstream_url}"
listen = "127.0.0.1:0"
store = "{}"
payee = "{}"
mints = ["{}=1"]

[[route]]
path = "/api/*"
price = {{ "{}" = "0.001" }}
exact = true
"#,
            dir.path().join("receiver.db").display(),
            w.terms.pay_to,
            w.mint,
            w.mint
        ),
    )
    .unwrap();
    // --check says it
    let checked = assert_cmd::Command::cargo_bin("micropay")
        .unwrap()
        .env("HOME", dir.path())
        .args([
            "-u",
            &url,
            "-k",
            fee_payer_key.to_str().unwrap(),
            "--output",
            "json",
        ])
        .args(["serve", "-c", config.to_str().unwrap(), "--check"])
        .assert()
        .success();
    let v: serde_json::Value = serde_json::from_slice(&checked.get_output().stdout).unwrap();
    assert_eq!(v["routes"][0]["exact"], true, "{v}");

    let log = dir.path().join("serve.log");
    let (mut child, banner) = common::serve::start(
        dir.path(),
        &url,
        fee_payer_key.to_str().unwrap(),
        &config,
        &log,
    );
    let gateway = banner["url"].as_str().unwrap().to_string();
    let target = format!("{gateway}/api/one");
    let asked = reqwest::get(&target).await.unwrap();
    assert_eq!(asked.status(), 402);
    let required: PaymentRequired = asked.json().await.unwrap();
    assert!(required.accepts[0].micropay().is_some(), "micropay first");
    let offer = required.accepts[1].exact().expect("then exact").clone();
    assert_eq!(offer.extra.fee_payer, w.fee_payer.pubkey().to_string());
    assert_eq!(offer.amount, PRICE.to_string());

    let transaction = w.payment(l, PRICE, 6).await;
    let header = x402::encode_header(&ExactPaymentPayload {
        x402_version: x402::X402_VERSION,
        resource: Some(required.resource.clone()),
        accepted: offer,
        payload: ExactPayload { transaction },
    });
    let http = reqwest::Client::new();
    let paid = http
        .get(&target)
        .header(x402::PAYMENT_SIGNATURE, &header)
        .send()
        .await
        .unwrap();
    assert_eq!(paid.status(), 200);
    let receipt: SettlementResponse = x402::decode_header(
        x402::PAYMENT_RESPONSE,
        paid.headers()[x402::PAYMENT_RESPONSE].as_bytes(),
    )
    .unwrap();
    assert!(receipt.success);
    assert_eq!(paid.text().await.unwrap(), "the answer");
    // the transaction named is the one that landed
    assert!(ledger
        .transaction_events(&receipt.transaction.parse().unwrap())
        .await
        .is_ok());
    let again = http
        .get(&target)
        .header(x402::PAYMENT_SIGNATURE, &header)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 402, "one transaction, one serving");
    assert_eq!(
        accounts::token_amount(l, &w.destination).await.unwrap(),
        PRICE
    );
    assert_eq!(
        accounts::token_amount(l, &w.source).await.unwrap(),
        HELD - PRICE
    );
    let _ = child.kill();
    let _ = child.wait();
}
