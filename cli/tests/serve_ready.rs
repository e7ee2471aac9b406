//! `serve` checks what it needs before it serves (issue 27): the payee's
//! earnings account of every accepted mint (claims credit it) and SOL in
//! the fee payer. A fee payer with nothing refuses to start, `--check`
//! included, with the commands that fix it; funded, `--check` says it will
//! create the missing account and creates nothing, and `serve` creates it
//! before answering a request. Creating it again by hand names whose
//! account and which mint exists already.
#![allow(clippy::arithmetic_side_effects)]

mod common;

use anchor_spl::token::spl_token::native_mint::ID as SOL;
use assert_cmd::Command;
use micropay_client::{accounts, ledger::rpc::RpcLedger};
use micropay_node::{LocalNode, NodeConfig};
use micropay_sdk::pda;
use solana_commitment_config::CommitmentConfig;
use solana_sdk::signature::{Keypair, Signer};

/// The error a failed `--output json` command printed.
fn error_of(assert: &assert_cmd::assert::Assert) -> String {
    let v: serde_json::Value = serde_json::from_slice(&assert.get_output().stdout).unwrap();
    v["error"].as_str().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_creates_the_payees_earnings_account_or_says_how_to_fund_it() {
    let dir = tempfile::tempdir().unwrap();
    let (creator, fee_payer, wallet) = (Keypair::new(), Keypair::new(), Keypair::new());
    // the fee payer starts with nothing; the creator never needs SOL
    let node = LocalNode::start(NodeConfig {
        airdrop: vec![wallet.pubkey()],
        ..NodeConfig::ephemeral().unwrap()
    })
    .unwrap();
    let url = node.rpc_url().to_string();
    let fee_key = dir.path().join("fee-payer.json");
    common::write_key(&fee_key, &fee_payer);
    let wallet_key = dir.path().join("wallet.json");
    common::write_key(&wallet_key, &wallet);
    let micropay = |key: &std::path::Path, args: &[&str]| {
        Command::cargo_bin("micropay")
            .unwrap()
            .env("HOME", dir.path())
            .args(["-u", &url, "-k", key.to_str().unwrap(), "--output", "json"])
            .args(args)
            .assert()
    };
    let listen = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let config = dir.path().join("api.toml");
    std::fs::write(
        &config,
        format!(
            "upstream = \"http://127.0.0.1:9\"\nlisten = \"{listen}\"\nstore = \"{}\"\nmints = [\"sol\"]\npayee = \"{}\"\n\n[[route]]\npath = \"/weather/*\"\nprice = {{ sol = \"0.00001\" }}\n",
            dir.path().join("receiver.db").display(),
            creator.pubkey()
        ),
    )
    .unwrap();
    let check = ["serve", "-c", config.to_str().unwrap(), "--check"];

    // nothing in the fee payer: refused, with the commands that fix it
    let refused = micropay(&fee_key, &check).failure().code(1);
    let stderr = error_of(&refused);
    for said in [
        format!("the fee payer {} holds 0 SOL", fee_payer.pubkey()),
        format!("earnings init --mint {SOL} --owner {}", creator.pubkey()),
        format!("airdrop 1 {}", fee_payer.pubkey()),
        "for claim fees".to_string(),
    ] {
        assert!(stderr.contains(&said), "{said:?} not in {stderr}");
    }

    // funded: --check plans the account and creates nothing
    micropay(
        &wallet_key,
        &["airdrop", "1", &fee_payer.pubkey().to_string()],
    )
    .success();
    let checked = micropay(&fee_key, &check).success();
    let v: serde_json::Value = serde_json::from_slice(&checked.get_output().stdout).unwrap();
    assert_eq!(v["earnings_to_create"], serde_json::json!(["SOL"]));
    let ledger = RpcLedger::new(&url, CommitmentConfig::confirmed());
    let earnings = pda::earnings(&creator.pubkey(), &SOL).0;
    assert!(accounts::earnings(&ledger, &earnings)
        .await
        .unwrap()
        .is_none());

    // serving: created before the banner
    let (mut serve, banner) = common::serve::start(
        dir.path(),
        &url,
        fee_key.to_str().unwrap(),
        &config,
        &dir.path().join("serve.log"),
    );
    assert_eq!(banner["earnings_to_create"], serde_json::json!(["SOL"]));
    let created = accounts::earnings(&ledger, &earnings).await.unwrap();
    let _ = serve.kill();
    let _ = serve.wait();
    assert_eq!(created.map(|e| e.balance), Some(0));
    let log = std::fs::read_to_string(dir.path().join("serve.log")).unwrap();
    assert!(
        log.contains("created the payee's earnings account"),
        "{log}"
    );

    // by hand again: whose account, which mint
    let again = micropay(
        &wallet_key,
        &[
            "earnings",
            "init",
            "--mint",
            "sol",
            "--owner",
            &creator.pubkey().to_string(),
        ],
    )
    .failure()
    .code(1);
    let stderr = error_of(&again);
    assert!(
        stderr.contains(&format!(
            "the earnings account of {} for mint {SOL} exists already ({earnings})",
            creator.pubkey()
        )),
        "{stderr}"
    );
    // and a second escrow the same
    micropay(&wallet_key, &["escrow", "init", "--mint", "sol"]).success();
    let again = micropay(&wallet_key, &["escrow", "init", "--mint", "sol"])
        .failure()
        .code(1);
    let stderr = error_of(&again);
    assert!(
        stderr.contains(&format!(
            "your escrow ({}) for mint {SOL} exists already",
            wallet.pubkey()
        )),
        "{stderr}"
    );
}
