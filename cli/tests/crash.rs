//! Crash safety across process boundaries, against a local node: the
//! `micropay` receiver (`accept -`, fed through a pipe) and payer
//! (`voucher sign --count`) are killed with SIGKILL at random moments and
//! restarted on the same store files.
//!
//! - Receiver: no acknowledged voucher is lost (the store holds at least every
//!   acknowledged amount) and none is counted twice (acknowledged increments
//!   never overlap, and add up to at most what the store holds).
//! - Payer: after any restart it never signs a cumulative amount at or below
//!   one it already gave out.
#![allow(clippy::arithmetic_side_effects)]

mod common;

use anchor_spl::token::spl_token::{native_mint::ID as SOL, ID as TOKEN};
use micropay_client::{
    accounts,
    ledger::{rpc::RpcLedger, Ledger},
    micropay::instructions::OpenChannelArgs,
    payer::Payer,
    store::{PayerStore, ReceiverStore, SqliteStore},
    tokens,
};
use micropay_node::{LocalNode, NodeConfig};
use micropay_sdk::{instructions as mix, pda, voucher::Voucher};
use rand::{rngs::StdRng, Rng, SeedableRng};
use solana_commitment_config::CommitmentConfig;
use solana_sdk::{
    pubkey::Pubkey,
    signature::{Keypair, Signer},
};
use std::{
    collections::HashMap,
    io::{BufRead, BufReader, Write},
    path::{Path, PathBuf},
    process::{Command, Stdio},
    sync::Arc,
};

struct World {
    node: LocalNode,
    dir: tempfile::TempDir,
    creator_key: PathBuf,
    payer_key: PathBuf,
    payer_store: PathBuf,
    channels: Vec<Pubkey>,
}

/// A local node, a creator with its earnings account, and one payer with an
/// escrow and `channels` channels to the creator whose session keys live in
/// the payer store file.
async fn world(channels: usize) -> World {
    let (payer, creator) = (Keypair::new(), Keypair::new());
    let node = LocalNode::start(NodeConfig {
        airdrop: vec![payer.pubkey(), creator.pubkey()],
        airdrop_lamports: 100_000_000_000,
        ..NodeConfig::ephemeral().unwrap()
    })
    .unwrap();
    let ledger = RpcLedger::new(node.rpc_url(), CommitmentConfig::confirmed());
    let l: &dyn Ledger = &ledger;
    let dir = tempfile::tempdir().unwrap();
    let (creator_key, payer_key) = (
        dir.path().join("creator.json"),
        dir.path().join("payer.json"),
    );
    common::write_key(&creator_key, &creator);
    common::write_key(&payer_key, &payer);
    let payer_store = dir.path().join("payer.db");

    let deposit = 10_000_000_000;
    let wsol = tokens::create_token_account(l, &payer, &SOL, &payer.pubkey(), &TOKEN)
        .await
        .unwrap();
    let (escrow, mut ixs) = common::escrow_ixs(&payer.pubkey(), &wsol, deposit);
    ixs.push(
        mix::InitEarnings {
            payer: payer.pubkey(),
            owner: creator.pubkey(),
            mint: SOL,
        }
        .instruction(),
    );
    l.send(&ixs, &payer, &[]).await.unwrap();
    let sessions = Payer::new(Arc::new(SqliteStore::open(&payer_store).unwrap()));
    let mut opened = Vec::new();
    for _ in 0..channels {
        let session = Keypair::new();
        let state = accounts::escrow(l, &escrow).await.unwrap().unwrap();
        let allocation = deposit / channels as u64;
        let (ix, channel) = mix::OpenChannel {
            owner: payer.pubkey(),
            escrow,
            slot: pda::ChannelSlot::next(&state),
            args: OpenChannelArgs {
                creator: creator.pubkey(),
                signer: session.pubkey(),
                allocation,
                fee_recipient: None,
                fee_bps: 0,
                dispute_window_secs: 3_600,
                expires_at: 0,
                nonce: rand::random(),
            },
        }
        .with_channel();
        l.send(&[ix], &payer, &[]).await.unwrap();
        sessions.register(channel, &session, allocation).unwrap();
        opened.push(channel);
    }
    World {
        node,
        dir,
        creator_key,
        payer_key,
        payer_store,
        channels: opened,
    }
}

fn micropay(url: &str, key: &Path) -> Command {
    let mut cmd = Command::new(assert_cmd::cargo::cargo_bin("micropay"));
    cmd.args(["-u", url, "-k"])
        .arg(key)
        .args(["--output", "json"]);
    cmd
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receiver_killed_at_random_moments_loses_nothing_acknowledged_and_counts_nothing_twice() {
    let w = world(2).await;
    let url = w.node.rpc_url().to_string();
    let store = w.dir.path().join("receiver.db");
    // 2 channels, 120 uses each, interleaved: the vouchers a metering
    // process would hand the receiver, in order
    let payer = Payer::new(Arc::new(SqliteStore::open(&w.payer_store).unwrap()));
    let price = 1_000u64;
    let vouchers: Vec<Voucher> = (0..240)
        .map(|i| payer.pay(&w.channels[i % 2], price).unwrap())
        .collect();
    let lines: Vec<String> = vouchers
        .iter()
        .map(|v| bs58::encode(v.to_bytes()).into_string())
        .collect();

    let mut rng = StdRng::seed_from_u64(8);
    let mut next = 0usize; // first voucher without a result line
    let mut acked: Vec<(Pubkey, u64, u64)> = Vec::new(); // (channel, amount, paid)
    let mut kills = 0;
    let mut refused = 0usize;
    while next < lines.len() {
        // a restarted metering process re-sends a few it may not have seen
        // answered (retries of acknowledged vouchers included)
        let from = next.saturating_sub(rng.gen_range(0..4));
        let kill_after = (kills < 6).then(|| rng.gen_range(1..30usize));
        let mut child = micropay(&url, &w.creator_key)
            .args([
                "accept", "-", "--price", "0.000001", "--mint", "sol", "--store",
            ])
            .arg(&store)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        let to_send: Vec<String> = lines[from..].to_vec();
        let writer = std::thread::spawn(move || {
            for line in to_send {
                if writeln!(stdin, "{line}").is_err() {
                    return; // killed
                }
            }
        });
        let mut results = 0usize;
        let mut killed = false;
        for line in BufReader::new(child.stdout.take().unwrap()).lines() {
            let Ok(line) = line else { break };
            let v: serde_json::Value = serde_json::from_str(&line).unwrap();
            let voucher = &vouchers[from + results];
            results += 1;
            if let Some(paid) = v["paid"].as_u64() {
                assert_eq!(v["amount"].as_u64(), Some(voucher.amount));
                acked.push((voucher.channel, voucher.amount, paid));
            } else {
                // a duplicate (3: re-sent, or stored just before a kill), or a
                // re-sent voucher behind the stored one (1): never counted
                let code = v["code"].as_i64().unwrap();
                assert!(code == 3 || (code == 1 && from + results <= next), "{line}");
                refused += 1;
            }
            if !killed && kill_after.is_some_and(|k| results >= k) {
                // SIGKILL, at a random moment relative to the work in flight
                std::thread::sleep(std::time::Duration::from_micros(rng.gen_range(0..3_000)));
                child.kill().unwrap();
                killed = true;
                kills += 1;
            }
        }
        child.wait().unwrap();
        writer.join().unwrap();
        next = next.max(from + results);
    }
    assert!(kills >= 6, "{kills} kills");

    let store = SqliteStore::open(&store).unwrap();
    let mut by_channel: HashMap<Pubkey, Vec<(u64, u64)>> = HashMap::new();
    for (ch, amount, paid) in &acked {
        by_channel.entry(*ch).or_default().push((*amount, *paid));
    }
    for ch in &w.channels {
        let stored = store.get(ch).unwrap().unwrap().voucher.amount;
        let last = vouchers.iter().rev().find(|v| v.channel == *ch).unwrap();
        assert_eq!(stored, last.amount, "the last voucher is stored");
        let mut acks = by_channel.remove(ch).unwrap_or_default();
        acks.sort();
        let mut covered = 0u64;
        for (amount, paid) in acks {
            // nothing acknowledged is lost
            assert!(amount <= stored);
            // acknowledged increments never overlap: none counted twice
            assert!(amount - paid >= covered, "overlap at {amount}");
            covered = amount;
        }
    }
    println!(
        "{kills} kills, {} acknowledged of {} ({refused} re-sent or stored-then-killed refused)",
        acked.len(),
        lines.len()
    );
    w.node.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_payer_killed_while_signing_never_signs_lower_after_restart() {
    let w = world(1).await;
    let url = w.node.rpc_url().to_string();
    let channel = w.channels[0];
    let mut rng = StdRng::seed_from_u64(9);
    let mut given: Vec<u64> = Vec::new();
    for _ in 0..6 {
        let mut child = micropay(&url, &w.payer_key)
            .args(["voucher", "sign"])
            .arg(channel.to_string())
            .args(["0.000001", "--count", "100000", "--store"])
            .arg(&w.payer_store)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let kill_after = rng.gen_range(1..80usize);
        let mut seen = 0usize;
        // every line printed before the kill was given out: read them all
        for line in BufReader::new(child.stdout.take().unwrap()).lines() {
            let Ok(line) = line else { break };
            let v: serde_json::Value = serde_json::from_str(&line).unwrap();
            given.push(v["amount"].as_u64().unwrap());
            seen += 1;
            if seen == kill_after {
                std::thread::sleep(std::time::Duration::from_micros(rng.gen_range(0..2_000)));
                child.kill().unwrap(); // SIGKILL
            }
        }
        child.wait().unwrap();
    }
    assert!(given.len() >= 6);
    // strictly increasing across every restart: never a lower (or equal) amount
    for pair in given.windows(2) {
        assert!(pair[1] > pair[0], "signed {} after {}", pair[1], pair[0]);
    }
    let store = SqliteStore::open(&w.payer_store).unwrap();
    let row = store.get_payer(&channel).unwrap().unwrap();
    assert!(row.cumulative >= *given.last().unwrap());
    println!(
        "{} vouchers over 6 runs, the last at {}, {} reserved",
        given.len(),
        given.last().unwrap(),
        row.cumulative
    );
    w.node.stop();
}
