//! The same end-to-end story as the client's embedded test, through `RpcLedger`
//! against a local node started by the test: 3 payers, 4 creators, 10,000
//! payments, verified on chain over JSON-RPC.
#![allow(clippy::arithmetic_side_effects)] // test bookkeeping on small numbers

mod common;

use common::verify;

use micropay_cli::scenario::{self, ScenarioConfig};
use micropay_client::ledger::{rpc::RpcLedger, Ledger};
use micropay_node::{LocalNode, NodeConfig};
use solana_commitment_config::CommitmentConfig;
use solana_sdk::signature::{Keypair, Signer};
use std::sync::Arc;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_payments_through_rpc_against_the_local_node() {
    let funder = Keypair::new();
    let node = LocalNode::start(NodeConfig {
        airdrop: vec![funder.pubkey()],
        airdrop_lamports: 10_000_000_000_000,
        ..NodeConfig::ephemeral().unwrap()
    })
    .unwrap();
    let ledger = Arc::new(RpcLedger::new(
        node.rpc_url(),
        CommitmentConfig::confirmed(),
    ));
    assert!(ledger.balance(&funder.pubkey()).await.unwrap() >= 10_000_000_000_000);

    let config = ScenarioConfig::default();
    let report = scenario::run(ledger.clone(), &node, &funder, &config, &|_| {})
        .await
        .unwrap();
    let l: &dyn Ledger = ledger.as_ref();
    verify::report_on_chain(l, &config, &report).await;
    println!(
        "rpc: {} payments worth {} lamports, {} claim transactions, {} lamports of fees, ratio {:.5}",
        report.payments, report.value_paid, report.claim_transactions, report.fees_lamports, report.fee_ratio
    );
    node.stop();
}
