//! The CLI's stores on Postgres (a throwaway cluster, real Postgres) against
//! the local node: a payer whose session key and signed amounts live in one
//! database (`channel open`, `voucher sign`, `channel top-up` with
//! `--store postgres://…`), a creator whose receiver store is another
//! (`accept`, `channel creator-close`), and what each database then holds.
//!
//! Skipped with one line on a machine without Postgres (see
//! `micropay_tests::postgres`); `.ci/run` requires it.
#![allow(clippy::arithmetic_side_effects)]

mod common;

use assert_cmd::Command;
use micropay_node::{LocalNode, NodeConfig};
use micropay_tests::postgres::PgCluster;
use serde_json::Value;
use solana_sdk::signature::{Keypair, Signer};

#[test]
fn payer_and_receiver_commands_keep_their_state_in_postgres() {
    let Some(cluster) = PgCluster::start() else {
        return;
    };
    cluster.create_database("payer");
    cluster.create_database("receiver");
    let (pstore, rstore) = (
        cluster.postgres_url("payer"),
        cluster.postgres_url("receiver"),
    );
    let (payer, creator) = (Keypair::new(), Keypair::new());
    let node = LocalNode::start(NodeConfig {
        airdrop: vec![payer.pubkey(), creator.pubkey()],
        ..NodeConfig::ephemeral().unwrap()
    })
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let key = |name: &str, k: &Keypair| {
        let path = dir.path().join(name);
        common::write_key(&path, k);
        path.to_str().unwrap().to_string()
    };
    let (payer_key, creator_key) = (key("payer.json", &payer), key("creator.json", &creator));
    let url = node.rpc_url().to_string();
    let ok = |k: &str, args: &[&str]| -> Value {
        let out = Command::cargo_bin("micropay")
            .unwrap()
            .env("HOME", dir.path())
            .args(["-u", &url, "-k", k, "--output", "json"])
            .args(args)
            .assert()
            .success();
        // one JSON line per result (`voucher sign --count` prints several)
        let text = String::from_utf8_lossy(&out.get_output().stdout).to_string();
        serde_json::from_str(text.lines().last().unwrap()).unwrap()
    };
    let c = creator.pubkey().to_string();
    ok(&creator_key, &["earnings", "init", "--mint", "sol"]);
    ok(&payer_key, &["escrow", "init", "--mint", "sol"]);
    ok(&payer_key, &["escrow", "deposit", "--mint", "sol", "1"]);
    let opened = ok(
        &payer_key,
        &[
            "channel",
            "open",
            "--mint",
            "sol",
            "--creator",
            &c,
            "--allocation",
            "0.002",
            "--store",
            &pstore,
        ],
    );
    let channel = opened["channel"].as_str().unwrap().to_string();
    // two uses signed from the Postgres payer store (the creator's address
    // finds the channel there), then one accepted into the receiver's
    let signed = ok(
        &payer_key,
        &[
            "voucher", "sign", &c, "0.001", "--count", "2", "--store", &pstore,
        ],
    );
    assert_eq!(signed["amount"], 2_000_000, "{signed}");
    let last = signed["voucher"].as_str().unwrap().to_string();
    let accepted = ok(
        &creator_key,
        &[
            "accept", &last, "--price", "0.002", "--mint", "sol", "--store", &rstore,
        ],
    );
    assert_eq!(accepted["paid"], 2_000_000, "{accepted}");
    // the allocation is used up: a top-up raises it in the payer store
    ok(
        &payer_key,
        &["channel", "top-up", &channel, "0.001", "--store", &pstore],
    );
    let held = cluster.sql("payer", "SELECT count(*) FROM payer_channels");
    assert_eq!(held.trim(), "1");
    let more = ok(
        &payer_key,
        &["voucher", "sign", &channel, "0.001", "--store", &pstore],
    );
    let third = more["voucher"].as_str().unwrap().to_string();
    ok(
        &creator_key,
        &[
            "accept", &third, "--price", "0.001", "--mint", "sol", "--store", &rstore,
        ],
    );
    // the creator closes: the receiver store's pending voucher settles first
    let closed = ok(
        &creator_key,
        &["channel", "creator-close", &channel, "--store", &rstore],
    );
    assert_eq!(closed["settled"], 3_000_000, "{closed}");
    assert_eq!(closed["refund"], 0, "{closed}");
    let status = cluster.sql("receiver", "SELECT status FROM receiver_vouchers");
    assert_eq!(status.trim(), "closed");
    node.stop();
}
