//! `micropay bench accept`: how many vouchers per second a receiver makes
//! durable, and how many a payer signs durably, on this machine.
//!
//! On the embedded bank (no validator) it opens one funded channel per
//! client, signs every voucher before the clock starts, warms each channel's
//! state (one ledger read per channel, outside the clock), then has
//! `--clients` concurrent tasks call `Receiver::accept` — the full check:
//! cached channel state, strict Ed25519 verification, compare-and-swap,
//! durable commit. Each case runs on a fresh store:
//!
//! - SQLite on disk (`synchronous = FULL`), one commit per accept, then with
//!   group commit; SQLite in memory (not durable) as the store-free ceiling;
//! - the payer: `Payer::pay` on SQLite on disk, one store write per payment
//!   and reserving 64 payments per write;
//! - the ceiling: strict verification alone, on one thread (one core);
//! - with `--postgres URL`, accepts and pays on that database likewise. The
//!   bench adds rows of fresh random channels and leaves them: give it a
//!   scratch database.
//!
//! It checks its own result: each accept case must have stored exactly the
//! vouchers it was given, or it fails.

use super::{
    build_name,
    cases::{accept_case, pay_case, rate, signed_channels, BenchChannel, PRICE, RESERVE_AHEAD},
};
use crate::{
    context::{emit, is_postgres},
    Cli, Failure,
};
use clap::Args;
use micropay_client::{
    ledger::embedded::EmbeddedLedger,
    payer::Payer,
    store::{postgres::PostgresStore, PayerStore, ReceiverStore, SqliteStore},
};
use micropay_sdk::voucher::{SignerKey, Voucher};
use solana_sdk::{
    pubkey::Pubkey,
    signature::{Keypair, Signer},
};
use std::{sync::Arc, time::Instant};

#[derive(Args, Debug)]
pub struct BenchAcceptArgs {
    /// Concurrent clients, each paying on its own channel.
    #[arg(long, default_value_t = 16)]
    pub clients: usize,
    /// Vouchers per case (spread over the clients).
    #[arg(long, default_value_t = 40_000)]
    pub vouchers: usize,
    /// Also measure a Postgres store at this URL (`postgres://…`; a scratch
    /// database: the bench leaves its rows).
    #[arg(long, value_name = "URL")]
    pub postgres: Option<String>,
}

/// One measured case.
#[derive(Debug, serde::Serialize)]
pub struct Case {
    /// What ran: "accept", "pay" or "verify".
    pub operation: &'static str,
    /// The store, or "none".
    pub store: String,
    /// Whether a result is on disk before the call returns.
    pub durable: bool,
    /// "group commit", "one commit each", "reserve 64 ahead", ...
    pub mode: String,
    /// Concurrent tasks.
    pub clients: usize,
    /// Operations timed.
    pub operations: u64,
    /// Operations per second.
    pub per_second: f64,
    /// Mean rows per durable commit (accepts through group commit).
    pub mean_batch: Option<f64>,
}

/// What `bench accept` measured.
#[derive(Debug, serde::Serialize)]
pub struct BenchAccept {
    /// "release" or "debug".
    pub build: &'static str,
    /// CPU cores this process may use.
    pub cores: usize,
    pub cases: Vec<Case>,
}

impl std::fmt::Display for BenchAccept {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "accept/pay throughput ({} build, {} cores, embedded bank)",
            self.build, self.cores
        )?;
        writeln!(
            f,
            "{:<8} {:<22} {:<8} {:<18} {:>7} {:>9} {:>10} {:>10}",
            "op", "store", "durable", "mode", "clients", "ops", "ops/s", "mean batch"
        )?;
        for c in &self.cases {
            writeln!(
                f,
                "{:<8} {:<22} {:<8} {:<18} {:>7} {:>9} {:>10.0} {:>10}",
                c.operation,
                c.store,
                if c.durable { "yes" } else { "no" },
                c.mode,
                c.clients,
                c.operations,
                c.per_second,
                c.mean_batch.map_or("-".into(), |b| format!("{b:.1}"))
            )?;
        }
        Ok(())
    }
}

/// A store a case runs on.
enum BenchStore {
    SqliteDisk,
    SqliteMemory,
    Postgres(String),
}

impl BenchStore {
    fn name(&self) -> &'static str {
        match self {
            BenchStore::SqliteDisk => "sqlite (disk)",
            BenchStore::SqliteMemory => "sqlite (memory)",
            BenchStore::Postgres(_) => "postgres",
        }
    }

    fn durable(&self) -> bool {
        !matches!(self, BenchStore::SqliteMemory)
    }

    /// A fresh receiver store (`n` tells cases apart; on Postgres a new
    /// handle on the same database, whose rows the fresh channels never meet).
    fn open(&self, dir: &std::path::Path, n: usize) -> Result<Arc<dyn ReceiverStore>, Failure> {
        Ok(match self {
            BenchStore::SqliteDisk => {
                Arc::new(SqliteStore::open(dir.join(format!("receiver-{n}.db")))?)
            }
            BenchStore::SqliteMemory => Arc::new(SqliteStore::in_memory()?),
            BenchStore::Postgres(url) => Arc::new(PostgresStore::connect(url)?),
        })
    }

    /// A fresh payer store, when this kind is one the bench pays on.
    fn open_payer(
        &self,
        dir: &std::path::Path,
        n: usize,
    ) -> Result<Option<Arc<dyn PayerStore>>, Failure> {
        Ok(match self {
            BenchStore::SqliteDisk => Some(Arc::new(SqliteStore::open(
                dir.join(format!("payer-{n}.db")),
            )?)),
            BenchStore::SqliteMemory => None,
            BenchStore::Postgres(url) => Some(Arc::new(PostgresStore::connect(url)?)),
        })
    }
}

/// `micropay bench accept`.
pub async fn run(cli: &Cli, args: &BenchAcceptArgs) -> Result<(), Failure> {
    validate(args)?;
    let per = args.vouchers.div_ceil(args.clients);
    let allocation = PRICE.saturating_mul(u64::try_from(per).unwrap_or(u64::MAX));
    let ledger = Arc::new(EmbeddedLedger::start().await);
    let (_, channels, vouchers) = signed_channels(&ledger, args.clients, per, allocation).await?;
    let dir = tempfile::tempdir().map_err(|e| Failure::user(format!("temp dir: {e}")))?;
    let mut stores = vec![BenchStore::SqliteDisk, BenchStore::SqliteMemory];
    stores.extend(args.postgres.clone().map(BenchStore::Postgres));
    let shape = Shape {
        clients: args.clients,
        per,
        allocation,
    };
    let mut cases = vec![verify_case(&channels, &vouchers)?];
    cases.extend(accept_cases(&ledger, &stores, dir.path(), &shape).await?);
    cases.extend(pay_cases(&stores, dir.path(), &shape).await?);
    emit(
        cli.output,
        &BenchAccept {
            build: build_name(),
            cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
            cases,
        },
    );
    Ok(())
}

fn validate(args: &BenchAcceptArgs) -> Result<(), Failure> {
    if args.clients == 0 || args.clients > 1_024 {
        return Err(Failure::user("--clients takes 1 to 1024"));
    }
    if args.vouchers < args.clients || args.vouchers > 10_000_000 {
        return Err(Failure::user(
            "--vouchers takes at least one per client and at most 10000000",
        ));
    }
    if let Some(url) = &args.postgres {
        if !is_postgres(std::path::Path::new(url)) {
            return Err(Failure::user(
                "--postgres takes a postgres:// URL, e.g. postgres://user@host/scratch",
            ));
        }
    }
    Ok(())
}

/// The load every case puts on its store.
struct Shape {
    clients: usize,
    /// Vouchers per client.
    per: usize,
    /// Each channel's allocation, lamports.
    allocation: u64,
}

/// The ceiling: strict verification alone, one thread, each channel's key
/// decoded once (as the receiver keeps it).
fn verify_case(channels: &[BenchChannel], vouchers: &[Vec<Voucher>]) -> Result<Case, Failure> {
    let signers = channels
        .iter()
        .map(|c| SignerKey::new(&c.session.pubkey()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| Failure::user(format!("a bench session key: {e}")))?;
    let sample: Vec<(Voucher, &SignerKey)> = vouchers
        .iter()
        .zip(&signers)
        .flat_map(|(own, signer)| own.iter().map(move |v| (*v, signer)))
        .take(20_000)
        .collect();
    let started = Instant::now();
    for (v, signer) in &sample {
        v.verify_with(signer)
            .map_err(|e| Failure::user(format!("a bench voucher did not verify: {e}")))?;
    }
    let verified = u64::try_from(sample.len()).unwrap_or(0);
    Ok(Case {
        operation: "verify",
        store: "none".into(),
        durable: false,
        mode: "one core".into(),
        clients: 1,
        operations: verified,
        per_second: rate(verified, started),
        mean_batch: None,
    })
}

/// Accepts on each store, one commit each (durable stores) and grouped.
async fn accept_cases(
    ledger: &Arc<EmbeddedLedger>,
    stores: &[BenchStore],
    dir: &std::path::Path,
    shape: &Shape,
) -> Result<Vec<Case>, Failure> {
    let mut cases = Vec::new();
    for (n, kind) in stores.iter().enumerate() {
        let durable = kind.durable();
        for (m, (mode, group)) in [("one commit each", 1usize), ("group commit", 512)]
            .into_iter()
            .enumerate()
        {
            if !durable && group == 1 {
                continue;
            }
            // a file of its own per case
            let store = kind.open(dir, n.saturating_mul(2).saturating_add(m))?;
            // channels of their own: a shared database keeps every case's rows
            let (creator, _, vouchers) =
                signed_channels(ledger, shape.clients, shape.per, shape.allocation).await?;
            let (operations, per_second, mean_batch) =
                accept_case(ledger, &creator, store, group, &vouchers).await?;
            cases.push(Case {
                operation: "accept",
                store: kind.name().into(),
                durable,
                mode: mode.into(),
                clients: shape.clients,
                operations,
                per_second,
                mean_batch: if group > 1 { mean_batch } else { None },
            });
        }
    }
    Ok(cases)
}

/// Pays on each store a payer runs on, one write each and reserving ahead.
async fn pay_cases(
    stores: &[BenchStore],
    dir: &std::path::Path,
    shape: &Shape,
) -> Result<Vec<Case>, Failure> {
    let mut cases = Vec::new();
    for (n, kind) in stores.iter().enumerate() {
        for (m, (mode, ahead)) in [
            ("one write each".to_string(), 1),
            (format!("reserve {RESERVE_AHEAD} ahead"), RESERVE_AHEAD),
        ]
        .into_iter()
        .enumerate()
        {
            let fresh = n.saturating_mul(2).saturating_add(m);
            let Some(store) = kind.open_payer(dir, fresh)? else {
                continue;
            };
            // paying is local (no ledger): fresh random channel addresses
            // keep cases and runs on one database apart
            let ids: Vec<Pubkey> = (0..shape.clients)
                .map(|_| Keypair::new().pubkey())
                .collect();
            let payer = Payer::new(store).with_reserve_ahead(ahead);
            for channel in &ids {
                payer.register(*channel, &Keypair::new(), shape.allocation)?;
            }
            let (operations, per_second) = pay_case(&payer, &ids, shape.per).await?;
            payer.release()?;
            cases.push(Case {
                operation: "pay",
                store: kind.name().into(),
                durable: true,
                mode,
                clients: shape.clients,
                operations,
                per_second,
                mean_batch: None,
            });
        }
    }
    Ok(cases)
}
