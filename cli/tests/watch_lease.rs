//! Three `micropay watch` processes on one Postgres store (issue 25): the
//! watcher is not a single point of failure. Exactly one holds the store's
//! lease and claims; when it is SIGKILLed, another takes over within
//! seconds and claims every channel whose payer then asks to close; the
//! third stays on standby and never runs a pass, so no two send claims.
#![allow(clippy::arithmetic_side_effects)]

mod common;

use anchor_spl::token::spl_token::{native_mint::ID as SOL, ID as TOKEN};
use micropay_client::{
    accounts,
    ledger::{rpc::RpcLedger, Ledger},
    micropay::instructions::OpenChannelArgs,
    payer::Payer,
    receiver::{AcceptedMint, Receiver, ReceiverConfig},
    store::{postgres::PostgresStore, SqliteStore},
    tokens,
};
use micropay_node::{LocalNode, NodeConfig};
use micropay_sdk::{instructions as mix, pda};
use micropay_tests::postgres::PgCluster;
use solana_commitment_config::CommitmentConfig;
use solana_sdk::{
    pubkey::Pubkey,
    signature::{Keypair, Signer},
};
use std::{
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::Arc,
    time::{Duration, Instant},
};

const PAID: u64 = 2_000_000;
const CHANNELS: usize = 3;

fn watcher(node: &LocalNode, key: &Path, store: &str, log: &Path) -> Child {
    Command::new(assert_cmd::cargo::cargo_bin("micropay"))
        .args(["-u", node.rpc_url(), "-k"])
        .arg(key)
        .args(["--output", "json", "watch", "--ws-url", node.ws_url()])
        .args(["--poll-secs", "1", "--log-format", "json", "--store", store])
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log).unwrap())
        .spawn()
        .expect("start micropay watch")
}

fn log(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

/// Waits until `done` holds, or panics saying `what`.
async fn until(what: &str, timeout: Duration, done: impl Fn() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < timeout, "{what}: not within {timeout:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn claimed(l: &dyn Ledger, channel: &Pubkey) -> u64 {
    accounts::channel(l, channel)
        .await
        .unwrap()
        .map_or(0, |c| c.claimed)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_watcher_is_active_and_another_takes_over_when_it_dies() {
    let Some(pg) = PgCluster::start() else {
        return;
    };
    pg.create_database("lease");
    let store_url = pg.postgres_url("lease");
    let (funder, relayer, creator, owner) = (
        Keypair::new(),
        Keypair::new(),
        Keypair::new(),
        Keypair::new(),
    );
    let node = LocalNode::start(NodeConfig {
        airdrop: vec![funder.pubkey(), relayer.pubkey(), owner.pubkey()],
        airdrop_lamports: 100_000_000_000,
        ..NodeConfig::ephemeral().unwrap()
    })
    .unwrap();
    let ledger = Arc::new(RpcLedger::new(
        node.rpc_url(),
        CommitmentConfig::confirmed(),
    ));
    let l: &dyn Ledger = ledger.as_ref();
    let dir = tempfile::tempdir().unwrap();
    let relayer_key = dir.path().join("relayer.json");
    common::write_key(&relayer_key, &relayer);

    // the creator's earnings, a receiver on the shared store, one payer
    // with three channels each paid PAID by an accepted voucher
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
    let receiver = Receiver::new(
        ledger.clone(),
        Arc::new(PostgresStore::connect(&store_url).unwrap()),
        creator.pubkey(),
        ReceiverConfig::accepting([AcceptedMint::wrapped_sol()]),
    );
    let wsol = tokens::create_token_account(l, &owner, &SOL, &owner.pubkey(), &TOKEN)
        .await
        .unwrap();
    let (escrow, ixs) = common::escrow_ixs(&owner.pubkey(), &wsol, PAID * CHANNELS as u64);
    l.send(&ixs, &owner, &[]).await.unwrap();
    let payer = Payer::new(Arc::new(SqliteStore::in_memory().unwrap()));
    let mut channels = Vec::new();
    for _ in 0..CHANNELS {
        let session = Keypair::new();
        let state = accounts::escrow(l, &escrow).await.unwrap().unwrap();
        let (ix, channel) = mix::OpenChannel {
            owner: owner.pubkey(),
            escrow,
            slot: pda::ChannelSlot::next(&state),
            args: OpenChannelArgs {
                creator: creator.pubkey(),
                signer: session.pubkey(),
                allocation: PAID,
                fee_recipient: None,
                fee_bps: 0,
                dispute_window_secs: 900,
                expires_at: 0,
                nonce: rand::random(),
            },
        }
        .with_channel();
        l.send(&[ix], &owner, &[]).await.unwrap();
        payer.register(channel, &session, PAID).unwrap();
        receiver
            .accept(&payer.pay(&channel, PAID).unwrap(), PAID)
            .await
            .unwrap();
        channels.push(channel);
    }
    let close = |channel: Pubkey| {
        mix::RequestClose {
            owner: owner.pubkey(),
            escrow,
            channel,
        }
        .instruction()
    };

    // three watchers on the one store: exactly one becomes active
    let logs: Vec<PathBuf> = (0..3)
        .map(|i| dir.path().join(format!("watch{i}.log")))
        .collect();
    let mut watchers: Vec<Child> = logs
        .iter()
        .map(|log| watcher(&node, &relayer_key, &store_url, log))
        .collect();
    const ACTIVE: &str = "lease held: this watcher is active";
    let active = |logs: &[PathBuf]| -> Vec<usize> {
        (0..logs.len())
            .filter(|&i| log(&logs[i]).contains(ACTIVE))
            .collect()
    };
    until("a watcher becomes active", Duration::from_secs(60), || {
        !active(&logs).is_empty()
    })
    .await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let first = active(&logs);
    assert_eq!(first.len(), 1, "one active watcher: {first:?}");
    let first = first[0];

    // a payer asks to close: the active watcher claims at once
    l.send(&[close(channels[0])], &owner, &[]).await.unwrap();
    let start = Instant::now();
    while claimed(l, &channels[0]).await < PAID {
        assert!(start.elapsed() < Duration::from_secs(60), "not claimed");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // the active watcher dies; the others race for the lease, one wins
    watchers[first].kill().unwrap();
    watchers[first].wait().unwrap();
    let killed_at = Instant::now();
    for &ch in &channels[1..] {
        l.send(&[close(ch)], &owner, &[]).await.unwrap();
    }
    until(
        "another watcher takes over",
        Duration::from_secs(30),
        || active(&logs).iter().any(|&i| i != first),
    )
    .await;
    let took_over = killed_at.elapsed();
    let start = Instant::now();
    for &ch in &channels[1..] {
        while claimed(l, &ch).await < PAID {
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "not claimed after takeover"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    eprintln!("takeover after {took_over:?}");
    assert!(took_over < Duration::from_secs(15), "{took_over:?}");
    tokio::time::sleep(Duration::from_secs(3)).await;

    // every voucher settled once; only the active watchers ran passes
    let earnings = pda::earnings(&creator.pubkey(), &SOL).0;
    let balance = accounts::earnings(l, &earnings)
        .await
        .unwrap()
        .unwrap()
        .balance;
    assert_eq!(balance, PAID * CHANNELS as u64);
    let now_active = active(&logs);
    assert_eq!(now_active.len(), 2, "{now_active:?}");
    let second = now_active.into_iter().find(|&i| i != first).unwrap();
    let standby = (0..3).find(|&i| i != first && i != second).unwrap();
    let standby_log = log(&logs[standby]);
    assert!(
        !standby_log.contains("pass done") && !standby_log.contains(ACTIVE),
        "the standby watcher ran: {standby_log}"
    );
    // claim transactions sent, over all watchers: one per settled voucher
    // at most (none sent twice)
    let transactions: u64 = logs
        .iter()
        .flat_map(|p| {
            log(p)
                .lines()
                .filter(|l| l.contains("\"pass done\""))
                .map(|l| {
                    let v: serde_json::Value = serde_json::from_str(l).unwrap();
                    v["fields"]["transactions"].as_u64().unwrap_or(0)
                })
                .collect::<Vec<_>>()
        })
        .sum();
    assert!(
        (1..=CHANNELS as u64).contains(&transactions),
        "{transactions} claim transactions"
    );
    for mut w in watchers {
        let _ = w.kill();
        let _ = w.wait();
    }
    drop(pg);
}
