//! Two `micropay serve` gateways in front of one API, sharing one Postgres
//! receiver store (a throwaway cluster, real Postgres), against the local
//! node. Four paying clients spread 10,000 paid requests over both at
//! random; every so often a client replays the voucher it just paid with on
//! the *other* gateway, which must refuse it as a duplicate (counted and
//! served once). Midway one gateway is SIGKILLed; the clients carry on with
//! the other. At the end every voucher was counted once — what the store
//! holds lies between what was acknowledged and that plus the requests cut
//! by the kill — and after the surviving gateway's watcher claims, the
//! creator's on-chain earnings equal the sum counted, to the base unit.
//!
//! Skipped with one line on a machine without Postgres (see
//! `micropay_tests::postgres`); `.ci/run` requires it.
#![allow(clippy::arithmetic_side_effects)]

mod common;

use anchor_spl::token::spl_token::native_mint::ID as SOL;
use assert_cmd::Command;
use axum::{routing::get, Json, Router};
use micropay_client::{
    accounts,
    ledger::{rpc::RpcLedger, DynSigner, Ledger},
    payer::Payer,
    store::{postgres::PostgresStore, ClaimStatus, ReceiverStore, SqliteStore},
};
use micropay_http::pay::{payment_required, Budget, Pay, PayPolicy};
use micropay_node::{LocalNode, NodeConfig};
use micropay_sdk::x402::{self, RefusalCode};
use micropay_tests::postgres::PgCluster;
use rand::{rngs::StdRng, Rng, SeedableRng};
use solana_commitment_config::CommitmentConfig;
use solana_sdk::signature::{Keypair, Signer};
use std::{
    collections::BTreeMap,
    os::unix::process::ExitStatusExt,
    process::Child,
    sync::{
        atomic::{AtomicBool, AtomicUsize, Ordering},
        Arc, Mutex,
    },
    time::{Duration, Instant},
};

/// Lamports per request.
const PRICE: u64 = 10_000;
/// Paying clients, each with its own wallet and channel.
const CLIENTS: usize = 4;
/// Paid requests in all.
const REQUESTS: usize = 10_000;
/// One paid request in this many is replayed on the other gateway.
const REPLAY_EVERY: usize = 20;

/// Remembers the last `PAYMENT-SIGNATURE` a client sent (it sits inside the
/// paying middleware, so it sees the paid request).
#[derive(Clone, Default)]
struct LastPayment(Arc<Mutex<Option<http::HeaderValue>>>);

#[async_trait::async_trait]
impl reqwest_middleware::Middleware for LastPayment {
    async fn handle(
        &self,
        request: reqwest::Request,
        extensions: &mut http::Extensions,
        next: reqwest_middleware::Next<'_>,
    ) -> reqwest_middleware::Result<reqwest::Response> {
        if let Some(header) = request.headers().get(x402::PAYMENT_SIGNATURE) {
            *self.0.lock().unwrap() = Some(header.clone());
        }
        next.run(request, extensions).await
    }
}

/// What one client saw.
#[derive(Debug, Default)]
struct Tally {
    /// Paid requests answered 200, per gateway.
    served: [usize; 2],
    /// Requests that failed in transport (the killed gateway) and were
    /// retried on the other one.
    cut: usize,
    /// Replays refused as duplicates by the other gateway.
    replays_refused: usize,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_gateways_on_one_postgres_count_each_voucher_once_and_survive_a_sigkill() {
    let Some(cluster) = PgCluster::start() else {
        return;
    };
    cluster.create_database("gateways");
    let store_url = cluster.postgres_url("gateways");

    let dir = tempfile::tempdir().unwrap();
    let creator = Keypair::new();
    let payers: Vec<Keypair> = (0..CLIENTS).map(|_| Keypair::new()).collect();
    let node = LocalNode::start(NodeConfig {
        airdrop: payers
            .iter()
            .map(|p| p.pubkey())
            .chain([creator.pubkey()])
            .collect(),
        ..NodeConfig::ephemeral().unwrap()
    })
    .unwrap();
    let url = node.rpc_url().to_string();
    let key = |name: &str, k: &Keypair| {
        let path = dir.path().join(name);
        common::write_key(&path, k);
        path.to_str().unwrap().to_string()
    };
    let creator_key = key("creator.json", &creator);
    let payer_keys: Vec<String> = payers
        .iter()
        .enumerate()
        .map(|(i, p)| key(&format!("payer{i}.json"), p))
        .collect();
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
    for k in &payer_keys {
        micropay(k, &["escrow", "init", "--mint", "sol"]);
        micropay(k, &["escrow", "deposit", "--mint", "sol", "1"]);
    }

    // the API sold: counts what it serves
    let hits = Arc::new(AtomicUsize::new(0));
    let counted = hits.clone();
    let api = Router::new().route(
        "/weather/{city}",
        get(move || {
            let counted = counted.clone();
            async move {
                counted.fetch_add(1, Ordering::SeqCst);
                Json(serde_json::json!({ "temp": 21 }))
            }
        }),
    );
    let upstream_url = common::serve::upstream(api).await;

    // gateway 0 runs the watcher; gateway 1 only sells (one watcher per
    // store is enough: see the README)
    let start_gateway = |n: usize, watcher: bool| -> (Child, String) {
        let config = dir.path().join(format!("serve{n}.toml"));
        std::fs::write(
            &config,
            format!(
                r#"
upstream = "{upstream_url}"
listen = "127.0.0.1:0"
store = "{store_url}"
mints = ["sol"]

[watch]
enabled = {watcher}
poll_secs = 1
plan_secs = 1

[[route]]
method = "GET"
path = "/weather/*"
price = {{ sol = "0.00001" }}
"#
            ),
        )
        .unwrap();
        let (child, banner) = common::serve::start(
            dir.path(),
            &url,
            &creator_key,
            &config,
            &dir.path().join(format!("serve{n}.log")),
        );
        assert_eq!(banner["watcher"], watcher);
        assert!(banner["store"]
            .as_str()
            .unwrap()
            .starts_with("postgresql://"));
        (child, banner["url"].as_str().unwrap().to_string())
    };
    let (mut gateway0, url0) = start_gateway(0, true);
    let (mut gateway1, url1) = start_gateway(1, false);
    let gateways = Arc::new([url0, url1]);
    let alive1 = Arc::new(AtomicBool::new(true));
    let done = Arc::new(AtomicUsize::new(0));

    let seed: u64 = rand::random();
    eprintln!("seed {seed}");
    let ledger: Arc<dyn Ledger> =
        Arc::new(RpcLedger::new(url.clone(), CommitmentConfig::confirmed()));
    let started = Instant::now();
    let mut clients = Vec::new();
    for (c, payer) in payers.iter().enumerate() {
        let pay = Pay::new(
            ledger.clone(),
            Arc::new(payer.insecure_clone()) as Arc<DynSigner>,
            Payer::new(Arc::new(
                SqliteStore::open(dir.path().join(format!("payer{c}.db"))).unwrap(),
            )),
            PayPolicy {
                budgets: BTreeMap::from([(
                    SOL,
                    Budget {
                        per_creator: 1_000_000_000,
                        total: 1_000_000_000,
                    },
                )]),
                allocation_requests: REQUESTS as u64,
            },
        );
        let last = LastPayment::default();
        let http = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
            .with(pay)
            .with(last.clone())
            .build();
        let (gateways, alive1, done) = (gateways.clone(), alive1.clone(), done.clone());
        let mut rng = StdRng::seed_from_u64(seed.wrapping_add(c as u64));
        clients.push(tokio::spawn(async move {
            let plain = reqwest::Client::new();
            let mut tally = Tally::default();
            for i in 0..REQUESTS / CLIENTS {
                let mut target = usize::from(alive1.load(Ordering::SeqCst) && rng.gen_bool(0.5));
                loop {
                    let sent = http
                        .get(format!("{}/weather/c{c}-{i}", gateways[target]))
                        .send()
                        .await;
                    match sent {
                        Ok(response) => {
                            assert_eq!(response.status(), 200, "client {c} request {i}");
                            tally.served[target] += 1;
                            break;
                        }
                        // only the killed gateway fails; the other takes over
                        Err(e) => {
                            assert_eq!(target, 1, "client {c} request {i}: {e}");
                            tally.cut += 1;
                            target = 0;
                        }
                    }
                }
                done.fetch_add(1, Ordering::SeqCst);
                if i % REPLAY_EVERY == 0 {
                    let other = 1 - target;
                    if other == 1 && !alive1.load(Ordering::SeqCst) {
                        continue;
                    }
                    let header = last.0.lock().unwrap().clone().unwrap();
                    let replay = plain
                        .get(format!("{}/weather/c{c}-{i}", gateways[other]))
                        .header(x402::PAYMENT_SIGNATURE, header)
                        .send()
                        .await;
                    match replay {
                        Ok(response) => {
                            assert_eq!(response.status(), 402, "replay {c}/{i}");
                            let refused = payment_required(&response).unwrap();
                            assert_eq!(
                                refused.refusal().unwrap().reason,
                                RefusalCode::Duplicate,
                                "replay {c}/{i}"
                            );
                            tally.replays_refused += 1;
                        }
                        // killed meanwhile
                        Err(_) => assert_eq!(other, 1),
                    }
                }
            }
            tally
        }));
    }

    // SIGKILL gateway 1 halfway through
    while done.load(Ordering::SeqCst) < REQUESTS / 2 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    gateway1.kill().unwrap();
    alive1.store(false, Ordering::SeqCst);
    let status = gateway1.wait().unwrap();
    assert_eq!(status.signal(), Some(9), "{status:?}");

    let mut tally = Tally::default();
    for client in clients {
        let t = client.await.unwrap();
        for g in 0..2 {
            tally.served[g] += t.served[g];
        }
        tally.cut += t.cut;
        tally.replays_refused += t.replays_refused;
    }
    let elapsed = started.elapsed();
    eprintln!(
        "{REQUESTS} paid requests over two gateways on Postgres in {:.1} s ({:.0}/s): {tally:?}",
        elapsed.as_secs_f64(),
        REQUESTS as f64 / elapsed.as_secs_f64()
    );
    let acknowledged = tally.served[0] + tally.served[1];
    assert_eq!(acknowledged, REQUESTS);
    assert!(
        tally.served[0] > 0 && tally.served[1] > 0,
        "both gateways sold"
    );
    assert!(
        tally.replays_refused >= REQUESTS / REPLAY_EVERY / 4,
        "{tally:?}"
    );
    // the upstream ran once per acknowledged request, plus at most once per
    // request the kill cut after the upstream answered and before the client
    // heard (paid for: its voucher counts below); never for a replay
    let upstream = hits.load(Ordering::SeqCst);
    assert!(
        upstream >= acknowledged && upstream <= acknowledged + tally.cut,
        "upstream ran {upstream} times for {acknowledged} served and {} cut",
        tally.cut
    );

    // what the gateways counted: nothing acknowledged is missing, and only
    // a voucher cut by the kill (accepted, never answered) is counted unserved
    let store = PostgresStore::connect(&store_url).unwrap();
    let rows = store.list(&ClaimStatus::ALL).unwrap();
    assert_eq!(rows.len(), CLIENTS, "one channel per client");
    let counted: u64 = rows.iter().map(|r| r.voucher.amount).sum();
    assert!(
        counted >= acknowledged as u64 * PRICE,
        "acknowledged payments lost: counted {counted}"
    );
    assert!(
        counted <= (acknowledged + tally.cut) as u64 * PRICE,
        "counted {counted} for {acknowledged} served and {} cut",
        tally.cut
    );
    assert_eq!(counted % PRICE, 0);

    // the payers ask to close: the surviving gateway's watcher claims all
    for row in &rows {
        let channel = accounts::channel(ledger.as_ref(), &row.voucher.channel)
            .await
            .unwrap()
            .unwrap();
        let owner = payers
            .iter()
            .position(|p| micropay_sdk::pda::escrow(&p.pubkey(), &SOL).0 == channel.escrow)
            .unwrap();
        micropay(
            &payer_keys[owner],
            &["channel", "request-close", &row.voucher.channel.to_string()],
        );
    }
    let earnings = micropay_sdk::pda::earnings(&creator.pubkey(), &SOL).0;
    let balance = common::serve::earnings_reaching(
        ledger.as_ref(),
        &earnings,
        counted,
        Duration::from_secs(90),
    )
    .await;
    assert_eq!(
        balance,
        counted,
        "the creator's earnings equal what the gateways counted; log:\n{}",
        std::fs::read_to_string(dir.path().join("serve0.log")).unwrap_or_default()
    );

    let _ = std::process::Command::new("kill")
        .args(["-TERM", &gateway0.id().to_string()])
        .status();
    assert!(gateway0.wait().unwrap().success());
    node.stop();
}
