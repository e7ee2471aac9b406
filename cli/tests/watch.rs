//! `micropay watch` against a local node: several payers ask to close their
//! channels while their accepted vouchers are still unclaimed; the daemon,
//! started late and killed once with SIGKILL midway, claims every one of them
//! before its dispute window ends, stops cleanly on SIGTERM, and the creator
//! collects exactly what its receiver accepted.
#![allow(clippy::arithmetic_side_effects)]

mod common;

use anchor_spl::token::spl_token::{native_mint::ID as SOL, ID as TOKEN};
use micropay_cli::scenario::{RpcTimeControl, TimeControl};
use micropay_client::{
    accounts,
    ledger::{rpc::RpcLedger, Ledger},
    micropay::instructions::OpenChannelArgs,
    payer::Payer,
    receiver::{AcceptedMint, Receiver, ReceiverConfig},
    store::SqliteStore,
    tokens,
};
use micropay_node::{LocalNode, NodeConfig};
use micropay_sdk::{instructions as mix, pda};
use solana_commitment_config::CommitmentConfig;
use solana_sdk::{
    pubkey::Pubkey,
    signature::{Keypair, Signer},
};
use std::{
    path::Path,
    process::{Child, Command, Stdio},
    sync::Arc,
    time::{Duration, Instant},
};

const WINDOW: u32 = 900;
const PAYERS: usize = 3;
const CHANNELS_PER_PAYER: usize = 4;
const PAID: u64 = 2_000_000;

fn watcher(node: &LocalNode, key: &Path, store: &Path, poll_secs: u64) -> Child {
    Command::new(assert_cmd::cargo::cargo_bin("micropay"))
        .args(["-u", node.rpc_url(), "-k"])
        .arg(key)
        .args(["--output", "json", "watch", "--ws-url", node.ws_url()])
        .args(["--poll-secs", &poll_secs.to_string(), "--store"])
        .arg(store)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start micropay watch")
}

async fn claimed(l: &dyn Ledger, channels: &[Pubkey]) -> Vec<u64> {
    let mut out = Vec::new();
    for ch in channels {
        out.push(
            accounts::channel(l, ch)
                .await
                .unwrap()
                .map_or(0, |c| c.claimed),
        );
    }
    out
}

/// Polls until `done` holds for the channels' claimed amounts, or panics.
async fn wait_for(l: &dyn Ledger, channels: &[Pubkey], done: impl Fn(&[u64]) -> bool) -> Vec<u64> {
    let start = Instant::now();
    loop {
        let now = claimed(l, channels).await;
        if done(&now) {
            return now;
        }
        assert!(
            start.elapsed() < Duration::from_secs(90),
            "the watcher did not claim in time: {now:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A local node; a creator with its earnings account and a receiver with a
/// file store; `PAYERS` payers with `CHANNELS_PER_PAYER` channels each to the
/// creator, each channel paid `paid` by one voucher the receiver accepted.
struct World {
    node: LocalNode,
    ledger: Arc<RpcLedger>,
    _dir: tempfile::TempDir,
    store_path: std::path::PathBuf,
    relayer: Keypair,
    relayer_key: std::path::PathBuf,
    creator: Keypair,
    owners: Vec<Keypair>,
    channels: Vec<(Pubkey, Pubkey)>,
    addresses: Vec<Pubkey>,
}

async fn world(paid: u64) -> World {
    let (funder, relayer, creator) = (Keypair::new(), Keypair::new(), Keypair::new());
    let node = LocalNode::start(NodeConfig {
        airdrop: vec![funder.pubkey(), relayer.pubkey()],
        airdrop_lamports: 1_000_000_000_000,
        ..NodeConfig::ephemeral().unwrap()
    })
    .unwrap();
    let url = node.rpc_url().to_string();
    let ledger = Arc::new(RpcLedger::new(&url, CommitmentConfig::confirmed()));
    let l: &dyn Ledger = ledger.as_ref();
    let dir = tempfile::tempdir().unwrap();
    let store_path = dir.path().join("receiver.db");
    let relayer_key = dir.path().join("relayer.json");
    common::write_key(&relayer_key, &relayer);

    // the creator's earnings account, and a receiver with its durable store
    l.send(
        &[mix::InitEarnings {
            payer: funder.pubkey(),
            owner: creator.pubkey(),
            mint: SOL,
        }
        .instruction()],
        &funder,
        &[],
    )
    .await
    .unwrap();
    let store = Arc::new(SqliteStore::open(&store_path).unwrap());
    let receiver = Receiver::new(
        ledger.clone(),
        store,
        creator.pubkey(),
        ReceiverConfig::accepting([AcceptedMint::wrapped_sol()]),
    );

    // payers fund escrows, open channels, pay; the receiver accepts
    let mut channels = Vec::new();
    let mut owners = Vec::new();
    for _ in 0..PAYERS {
        let owner = Keypair::new();
        let deposit = paid * CHANNELS_PER_PAYER as u64;
        l.send(
            &[solana_system_interface::instruction::transfer(
                &funder.pubkey(),
                &owner.pubkey(),
                deposit + 1_000_000_000,
            )],
            &funder,
            &[],
        )
        .await
        .unwrap();
        let wsol = tokens::create_token_account(l, &owner, &SOL, &owner.pubkey(), &TOKEN)
            .await
            .unwrap();
        let (escrow, ixs) = common::escrow_ixs(&owner.pubkey(), &wsol, deposit);
        l.send(&ixs, &owner, &[]).await.unwrap();
        let payer = Payer::new(Arc::new(SqliteStore::in_memory().unwrap()));
        for _ in 0..CHANNELS_PER_PAYER {
            let session = Keypair::new();
            let state = accounts::escrow(l, &escrow).await.unwrap().unwrap();
            let (ix, channel) = mix::OpenChannel {
                owner: owner.pubkey(),
                escrow,
                slot: pda::ChannelSlot::next(&state),
                args: OpenChannelArgs {
                    creator: creator.pubkey(),
                    signer: session.pubkey(),
                    allocation: paid,
                    fee_recipient: None,
                    fee_bps: 0,
                    dispute_window_secs: WINDOW,
                    expires_at: 0,
                    nonce: rand::random(),
                },
            }
            .with_channel();
            l.send(&[ix], &owner, &[]).await.unwrap();
            payer.register(channel, &session, paid).unwrap();
            let payment = receiver
                .accept(&payer.pay(&channel, paid).unwrap(), paid)
                .await
                .unwrap();
            assert_eq!(payment.net, paid);
            channels.push((channel, escrow));
        }
        owners.push(owner);
    }
    let addresses: Vec<Pubkey> = channels.iter().map(|(c, _)| *c).collect();

    World {
        node,
        ledger,
        _dir: dir,
        store_path,
        relayer,
        relayer_key,
        creator,
        owners,
        channels,
        addresses,
    }
}

impl World {
    /// Every payer asks to close all its channels.
    async fn close_all(&self) {
        let l: &dyn Ledger = self.ledger.as_ref();
        for (p, owner) in self.owners.iter().enumerate() {
            let ixs: Vec<_> = self.channels[p * CHANNELS_PER_PAYER..(p + 1) * CHANNELS_PER_PAYER]
                .iter()
                .map(|(ch, escrow)| {
                    mix::RequestClose {
                        owner: owner.pubkey(),
                        escrow: *escrow,
                        channel: *ch,
                    }
                    .instruction()
                })
                .collect();
            l.send(&ixs, owner, &[]).await.unwrap();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_watcher_claims_every_closing_channel_before_its_window_ends_across_a_sigkill() {
    let w = world(PAID).await;
    let (node, l, addresses) = (&w.node, w.ledger.as_ref() as &dyn Ledger, &w.addresses);
    let url = node.rpc_url().to_string();
    let (relayer_key, store_path) = (&w.relayer_key, &w.store_path);
    let (owners, channels, relayer, creator) = (&w.owners, &w.channels, &w.relayer, &w.creator);

    // every payer asks to close: the windows start, nothing is claimed yet
    w.close_all().await;
    let requested_at = l.unix_timestamp().await.unwrap();
    assert!(claimed(l, addresses).await.iter().all(|c| *c == 0));

    // the watcher starts late, and is killed with SIGKILL as soon as it has
    // claimed something
    let mut first = watcher(node, relayer_key, store_path, 1);
    let at_kill = wait_for(l, addresses, |c| c.iter().any(|x| *x > 0)).await;
    first.kill().unwrap(); // SIGKILL
    first.wait().unwrap();
    println!(
        "killed with {} of {} channels claimed",
        at_kill.iter().filter(|c| **c == PAID).count(),
        addresses.len()
    );

    // restarted, it claims the rest; SIGTERM stops it cleanly
    let second = watcher(node, relayer_key, store_path, 1);
    wait_for(l, addresses, |c| c.iter().all(|x| *x == PAID)).await;
    let now = l.unix_timestamp().await.unwrap();
    assert!(
        now < requested_at + i64::from(WINDOW),
        "claimed after the window ended"
    );
    let status = Command::new("kill")
        .args(["-TERM", &second.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let out = second.wait_with_output().unwrap();
    assert!(out.status.success(), "watch exit: {:?}", out.status);
    let summary: serde_json::Value =
        serde_json::from_str(String::from_utf8_lossy(&out.stdout).trim()).unwrap();
    assert_eq!(summary["lost_amount"].as_u64(), Some(0));

    // the windows end; the payers finalize; the creator holds every unit
    RpcTimeControl::new(url.clone())
        .advance(i64::from(WINDOW))
        .await
        .unwrap();
    for (p, owner) in owners.iter().enumerate() {
        let ixs: Vec<_> = channels[p * CHANNELS_PER_PAYER..(p + 1) * CHANNELS_PER_PAYER]
            .iter()
            .map(|(ch, escrow)| {
                mix::FinalizeClose {
                    escrow: *escrow,
                    channel: *ch,
                    owner: owner.pubkey(),
                }
                .instruction()
            })
            .collect();
        l.send(&ixs, relayer, &[]).await.unwrap();
    }
    let earnings = accounts::earnings(l, &pda::earnings(&creator.pubkey(), &SOL).0)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(earnings.balance, PAID * addresses.len() as u64);
    let World { node, .. } = w;
    node.stop();
}

/// The watcher's subscription to channel changes: with a one-minute poll, a
/// close request on channels whose vouchers were too small to claim so far
/// still gets them claimed within seconds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_close_request_wakes_the_watcher_through_its_subscription() {
    let w = world(20_000).await;
    let l: &dyn Ledger = w.ledger.as_ref();
    let mut child = watcher(&w.node, &w.relayer_key, &w.store_path, 60);
    // its first pass finds the vouchers not worth a claim yet
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(claimed(l, &w.addresses).await.iter().all(|c| *c == 0));
    let start = Instant::now();
    w.close_all().await;
    wait_for(l, &w.addresses, |c| c.iter().all(|x| *x == 20_000)).await;
    let took = start.elapsed();
    assert!(
        took < Duration::from_secs(20),
        "claimed after {took:?}: not woken"
    );
    println!("claimed {took:?} after the close requests (poll interval 60 s)");
    child.kill().unwrap();
    child.wait().unwrap();
    let World { node, .. } = w;
    node.stop();
}
