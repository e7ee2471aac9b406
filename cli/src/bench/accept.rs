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
    context::{emit, is_postgres},
    Cli, Failure,
};
use clap::{Args, Subcommand};
use micropay::instructions::OpenChannelArgs;
use micropay_client::{
    accounts,
    ledger::{embedded::EmbeddedLedger, Ledger},
    payer::Payer,
    receiver::{AcceptedMint, Receiver, ReceiverConfig},
    store::{postgres::PostgresStore, ClaimStatus, PayerStore, ReceiverStore, SqliteStore},
    tokens,
};
use micropay_sdk::{
    instructions as mix, pda,
    voucher::{SignerKey, Voucher},
};
use solana_sdk::{
    pubkey::Pubkey,
    signature::{Keypair, Signer},
};
use std::{sync::Arc, time::Instant};

const SOL: Pubkey = anchor_spl::token::spl_token::native_mint::ID;
const TOKEN: Pubkey = anchor_spl::token::spl_token::ID;
/// Lamports per use.
pub(crate) const PRICE: u64 = 1_000;
/// Payments a reserving payer reserves per store write.
pub(crate) const RESERVE_AHEAD: u64 = 64;

/// `micropay bench` runs the reference scenario; `micropay bench accept`
/// the accept/pay throughput cases.
#[derive(Args, Debug)]
#[command(args_conflicts_with_subcommands = true)]
pub struct BenchArgs {
    #[command(subcommand)]
    pub command: Option<BenchCommand>,
    #[command(flatten)]
    pub reference: super::bench_reference::ReferenceArgs,
}

#[derive(Subcommand, Debug)]
pub enum BenchCommand {
    /// Durable accepts and pays per second (SQLite, Postgres), with and
    /// without group commit, beside the verification ceiling.
    Accept(BenchAcceptArgs),
}

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

/// A bench client's channel and its session key.
pub(crate) struct BenchChannel {
    pub channel: Pubkey,
    pub session: Keypair,
}

/// Opens `count` wrapped-SOL channels of `allocation` lamports each to
/// `creator` on the embedded bank, each from its own funded payer, and the
/// creator's earnings account.
pub(crate) async fn open_channels(
    ledger: &EmbeddedLedger,
    creator: &Pubkey,
    count: usize,
    allocation: u64,
) -> Result<Vec<BenchChannel>, Failure> {
    let l: &dyn Ledger = ledger;
    let funder = ledger.payer().insecure_clone();
    l.send(
        &[mix::InitEarnings {
            payer: funder.pubkey(),
            owner: *creator,
            mint: SOL,
        }
        .instruction()],
        &funder,
        &[],
    )
    .await?;
    let mut channels = Vec::with_capacity(count);
    for _ in 0..count {
        let owner = Keypair::new();
        ledger
            .airdrop(&owner.pubkey(), allocation.saturating_add(100_000_000))
            .await?;
        let wsol = tokens::create_token_account(l, &owner, &SOL, &owner.pubkey(), &TOKEN).await?;
        let (escrow, ixs) = mix::FundNewSolEscrow {
            owner: owner.pubkey(),
            wsol,
            lamports: allocation,
        }
        .instructions()?;
        l.send(&ixs, &owner, &[]).await?;
        let state = accounts::escrow(l, &escrow)
            .await?
            .ok_or_else(|| Failure::user("the escrow was not created"))?;
        let session = Keypair::new();
        let (open, channel) = mix::OpenChannel {
            owner: owner.pubkey(),
            escrow,
            slot: pda::ChannelSlot::next(&state),
            args: OpenChannelArgs {
                creator: *creator,
                signer: session.pubkey(),
                allocation,
                fee_recipient: None,
                fee_bps: 0,
                dispute_window_secs: ReceiverConfig::default().min_dispute_window_secs,
                expires_at: 0,
                nonce: 0,
            },
        }
        .with_channel();
        l.send(&[open], &owner, &[]).await?;
        channels.push(BenchChannel { channel, session });
    }
    Ok(channels)
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

/// A fresh creator with `clients` open channels and `per` vouchers signed on
/// each (amounts `PRICE`, `2 PRICE`, …), signed before any clock starts.
pub(crate) async fn signed_channels(
    ledger: &EmbeddedLedger,
    clients: usize,
    per: usize,
    allocation: u64,
) -> Result<(Pubkey, Vec<BenchChannel>, Arc<Vec<Vec<Voucher>>>), Failure> {
    let creator = Keypair::new().pubkey();
    let channels = open_channels(ledger, &creator, clients, allocation).await?;
    let vouchers = channels
        .iter()
        .map(|c| {
            (1..=per)
                .map(|n| {
                    let amount = PRICE.saturating_mul(u64::try_from(n).unwrap_or(u64::MAX));
                    Voucher::sign(&c.session, c.channel, amount)
                })
                .collect()
        })
        .collect();
    Ok((creator, channels, Arc::new(vouchers)))
}

fn rate(operations: u64, started: Instant) -> f64 {
    // operation counts are far below 2^52: exact as f64
    operations as f64 / started.elapsed().as_secs_f64().max(1e-9)
}

/// One accept case: a fresh receiver on `store`, every client accepting its
/// own pre-signed vouchers concurrently.
pub(crate) async fn accept_case(
    ledger: &Arc<EmbeddedLedger>,
    creator: &Pubkey,
    store: Arc<dyn ReceiverStore>,
    group_commit: usize,
    vouchers: &Arc<Vec<Vec<Voucher>>>,
) -> Result<(u64, f64, Option<f64>), Failure> {
    let receiver = Arc::new(Receiver::new(
        ledger.clone(),
        store.clone(),
        *creator,
        ReceiverConfig {
            group_commit,
            ..ReceiverConfig::accepting([AcceptedMint::wrapped_sol()])
        },
    ));
    // warm each channel's state outside the clock (one ledger read each)
    for own in vouchers.iter() {
        if let Some(first) = own.first() {
            receiver.accept(first, PRICE).await?;
        }
    }
    let (commits_before, writes_before) = receiver.commit_stats();
    let started = Instant::now();
    let tasks: Vec<_> = (0..vouchers.len())
        .map(|i| {
            let (receiver, vouchers) = (receiver.clone(), vouchers.clone());
            tokio::spawn(async move {
                for v in vouchers[i].iter().skip(1) {
                    receiver.accept(v, PRICE).await?;
                }
                Ok::<_, micropay_client::error::ClientError>(())
            })
        })
        .collect();
    for task in tasks {
        task.await
            .map_err(|e| Failure::user(format!("an accepting task failed: {e}")))??;
    }
    let timed: u64 = vouchers
        .iter()
        .map(|v| u64::try_from(v.len().saturating_sub(1)).unwrap_or(0))
        .sum();
    let per_second = rate(timed, started);
    let (commits, writes) = receiver.commit_stats();
    let (commits, writes) = (
        commits.saturating_sub(commits_before),
        writes.saturating_sub(writes_before),
    );
    // the store holds exactly the last voucher of every channel
    let rows = store.list(&ClaimStatus::ALL)?;
    for own in vouchers.iter() {
        let Some(last) = own.last() else { continue };
        let held = rows.iter().find(|r| r.voucher.channel == last.channel);
        if held.map(|r| r.voucher) != Some(*last) {
            return Err(Failure::user(format!(
                "the store does not hold the last voucher of channel {}: an accept was lost",
                last.channel
            )));
        }
    }
    let mean_batch = (commits > 0).then(|| writes as f64 / commits as f64);
    Ok((timed, per_second, mean_batch))
}

/// `clients` tasks paying `per` times each on their own channel.
pub(crate) async fn pay_case(
    payer: &Payer,
    channels: &[Pubkey],
    per: usize,
) -> Result<(u64, f64), Failure> {
    let started = Instant::now();
    let tasks: Vec<_> = channels
        .iter()
        .map(|&channel| {
            let payer = payer.clone();
            tokio::task::spawn_blocking(move || {
                for _ in 0..per {
                    payer.pay(&channel, PRICE)?;
                }
                Ok::<_, micropay_client::error::ClientError>(())
            })
        })
        .collect();
    for task in tasks {
        task.await
            .map_err(|e| Failure::user(format!("a paying task failed: {e}")))??;
    }
    let total = u64::try_from(per.saturating_mul(channels.len())).unwrap_or(u64::MAX);
    Ok((total, rate(total, started)))
}

pub async fn run(cli: &Cli, args: &BenchArgs) -> Result<(), Failure> {
    match &args.command {
        Some(BenchCommand::Accept(a)) => accept(cli, a).await,
        None => super::bench_reference::run(cli, &args.reference).await,
    }
}

async fn accept(cli: &Cli, args: &BenchAcceptArgs) -> Result<(), Failure> {
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
    let per = args.vouchers.div_ceil(args.clients);
    let allocation = PRICE.saturating_mul(u64::try_from(per).unwrap_or(u64::MAX));
    let ledger = Arc::new(EmbeddedLedger::start().await);
    let (_, channels, vouchers) = signed_channels(&ledger, args.clients, per, allocation).await?;
    let dir = tempfile::tempdir().map_err(|e| Failure::user(format!("temp dir: {e}")))?;
    let mut cases = Vec::new();

    // the ceiling: strict verification alone, one thread, each channel's
    // key decoded once (as the receiver keeps it)
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
    cases.push(Case {
        operation: "verify",
        store: "none".into(),
        durable: false,
        mode: "one core".into(),
        clients: 1,
        operations: verified,
        per_second: rate(verified, started),
        mean_batch: None,
    });

    let mut stores = vec![BenchStore::SqliteDisk, BenchStore::SqliteMemory];
    stores.extend(args.postgres.clone().map(BenchStore::Postgres));
    let mut fresh = 0usize;
    for kind in &stores {
        let durable = kind.durable();
        for (mode, group) in [("one commit each", 1usize), ("group commit", 512)] {
            if !durable && group == 1 {
                continue;
            }
            fresh = fresh.saturating_add(1);
            let store = kind.open(dir.path(), fresh)?;
            // channels of their own: a shared database keeps every case's rows
            let (creator, _, vouchers) =
                signed_channels(&ledger, args.clients, per, allocation).await?;
            let (operations, per_second, mean_batch) =
                accept_case(&ledger, &creator, store, group, &vouchers).await?;
            cases.push(Case {
                operation: "accept",
                store: kind.name().into(),
                durable,
                mode: mode.into(),
                clients: args.clients,
                operations,
                per_second,
                mean_batch: if group > 1 { mean_batch } else { None },
            });
        }
    }

    for kind in &stores {
        for (mode, ahead) in [
            ("one write each".to_string(), 1),
            (format!("reserve {RESERVE_AHEAD} ahead"), RESERVE_AHEAD),
        ] {
            fresh = fresh.saturating_add(1);
            let Some(store) = kind.open_payer(dir.path(), fresh)? else {
                continue;
            };
            // paying is local (no ledger): fresh random channel addresses
            // keep cases and runs on one database apart
            let ids: Vec<Pubkey> = (0..args.clients).map(|_| Keypair::new().pubkey()).collect();
            let payer = Payer::new(store).with_reserve_ahead(ahead);
            for channel in &ids {
                payer.register(*channel, &Keypair::new(), allocation)?;
            }
            let (operations, per_second) = pay_case(&payer, &ids, per).await?;
            payer.release()?;
            cases.push(Case {
                operation: "pay",
                store: kind.name().into(),
                durable: true,
                mode,
                clients: args.clients,
                operations,
                per_second,
                mean_batch: None,
            });
        }
    }

    emit(
        cli.output,
        &BenchAccept {
            build: if cfg!(debug_assertions) {
                "debug"
            } else {
                "release"
            },
            cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
            cases,
        },
    );
    Ok(())
}
