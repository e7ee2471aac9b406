//! `micropay bench`: the reference scenario, every number of the fee and
//! speed claims from one run on this machine.
//!
//! The scenario: `--payers` payers (100) each open a wrapped-SOL channel to
//! each of `--creators` creators (20), and pay `--payments` payments (200,000)
//! of `--price` lamports (1,000) to random creators through `Payer` →
//! `Receiver`; a relayer claims with the planner at the default 1% target;
//! every payer then closes and the planner settles what is left before the
//! dispute window ends. It runs on the embedded bank four times — legacy and
//! v1 claim transactions, each under two planner policies:
//!
//! - **periodic**: the planner runs every `--claim-every` payments (a
//!   channel is claimed once its unclaimed value pays for its share of a full
//!   transaction at the target) and once more at the close — what a creator
//!   who wants little at risk runs;
//! - **at close**: the planner runs only at the close, so each channel is
//!   settled once, in full batches per creator — the fee floor.
//!
//! The v1 runs use a bank that takes v1 transactions
//! (`EmbeddedLedger::with_v1`): each claim is built, signed and checked as
//! a v1 transaction (≤ 4,096 bytes, ≤ 64 accounts) and its exact
//! instructions executed in the bank, paying one signature.
//!
//! Beside them, computed from the same settlements and the same fee model:
//! the **precompile design** of the Solana Foundation's payment-channels
//! program (5 vouchers per legacy transaction, 5,000 lamports per voucher
//! signature plus the transaction's) and **x402 exact** (one transfer per
//! payment). Then the durable accept and pay rates and the raw Ed25519
//! verify and sign rates, all on one core (this thread pinned to one CPU, the
//! store's threads with it), and the accounts' sizes and rent at the bank's
//! rent rate beside the peers' channel (a 256-byte PDA plus an escrow token
//! account).

use super::{
    build_name,
    cases::{accept_case, pay_case, signed_channels, BenchChannel, PRICE, RESERVE_AHEAD},
};
use crate::{
    context::emit,
    scenario::{self, ScenarioConfig, ScenarioReport, TimeControl},
    Cli, Failure,
};
use anchor_lang::Space;
use clap::Args;
use micropay::state::{Channel, Earnings, Escrow};
use micropay_client::{
    ledger::{embedded::EmbeddedLedger, Ledger},
    payer::Payer,
    store::SqliteStore,
    v1::TxFormat,
};
use micropay_sdk::voucher::{SignerKey, Voucher};
use solana_sdk::{
    pubkey::Pubkey,
    rent::Rent,
    signature::{Keypair, Signer},
};
use std::{sync::Arc, time::Instant};

/// Lamports per signature the fee model charges (the cluster's base fee).
const SIGNATURE_FEE: u64 = 5_000;
/// Vouchers per transaction in the precompile design.
const PRECOMPILE_VOUCHERS_PER_TX: u64 = 5;
/// Account data bytes of the peers' channel PDA.
const PEER_CHANNEL_BYTES: usize = 256;
/// An SPL token account's data bytes (the peers' escrow token account).
const TOKEN_ACCOUNT_BYTES: usize = 165;
/// Concurrent clients of the durable throughput cases.
const THROUGHPUT_CLIENTS: usize = 16;

#[derive(Args, Debug)]
pub struct ReferenceArgs {
    /// Payers, each with a channel to every creator.
    #[arg(long, default_value_t = 100)]
    pub payers: usize,
    /// Creators.
    #[arg(long, default_value_t = 20)]
    pub creators: usize,
    /// Payments, spread at random over the channels.
    #[arg(long, default_value_t = 200_000)]
    pub payments: usize,
    /// Price of one payment, lamports of wrapped SOL.
    #[arg(long, default_value_t = 1_000)]
    pub price: u64,
    /// The planner's fee target, as a fraction of what a claim settles.
    #[arg(long, default_value_t = 0.01)]
    pub target_fee_ratio: f64,
    /// The periodic policy runs the planner every this many payments.
    #[arg(long, default_value_t = 10_000)]
    pub claim_every: usize,
    /// Seed of the payments' random spread.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Vouchers of each durable throughput case.
    #[arg(long, default_value_t = 20_000)]
    pub throughput_vouchers: usize,
}

/// One design's cost for the scenario's payments.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Row {
    /// "micropay", "precompile design" or "x402 exact".
    pub design: &'static str,
    /// "legacy" or "v1".
    pub tx_format: &'static str,
    /// "periodic", "at close" or "per payment".
    pub policy: &'static str,
    /// Executed on the bank (`true`) or computed from the fee model.
    pub executed: bool,
    /// Settlement transactions.
    pub transactions: u64,
    /// Vouchers (channel settlements) they carry.
    pub settlements: u64,
    /// Mean vouchers per transaction.
    pub vouchers_per_tx: f64,
    /// Fees paid, lamports.
    pub fees_lamports: u64,
    /// Fees per channel settlement, lamports.
    pub lamports_per_settled_channel: f64,
    /// Fees per payment, lamports.
    pub fee_per_payment_lamports: f64,
    /// Fees over the value paid.
    pub fee_ratio: f64,
}

/// An account's size and rent.
#[derive(Debug, serde::Serialize)]
pub struct AccountCost {
    pub account: &'static str,
    /// Bytes of account data (discriminator included).
    pub bytes: usize,
    /// Rent-exempt minimum at the bank's rate, lamports.
    pub rent_lamports: u64,
}

/// What `micropay bench` measured: one struct for the table and the JSON.
#[derive(Debug, serde::Serialize)]
pub struct BenchReport {
    /// "release" or "debug".
    pub build: &'static str,
    /// CPU cores this process may use.
    pub cores: usize,
    /// The CPU, as the kernel names it.
    pub cpu: String,
    pub payers: usize,
    pub creators: usize,
    pub channels: usize,
    pub payments: usize,
    pub price_lamports: u64,
    pub value_lamports: u64,
    pub target_fee_ratio: f64,
    /// The planner policy of `fee_per_payment_lamports` and `fee_ratio`.
    pub policy: String,
    /// Mean vouchers per claim transaction when each channel is settled
    /// once (full batches per creator).
    pub vouchers_per_tx_legacy: f64,
    pub vouchers_per_tx_v1: f64,
    /// Most vouchers of one creator one claim transaction carries.
    pub max_vouchers_per_tx_legacy: usize,
    pub max_vouchers_per_tx_v1: usize,
    /// Fees per channel settled once, lamports.
    pub lamports_per_settled_channel_legacy: f64,
    pub lamports_per_settled_channel_v1: f64,
    /// Fees per payment under `policy`, v1.
    pub fee_per_payment_lamports: f64,
    /// Fees over value under `policy`, v1.
    pub fee_ratio: f64,
    /// The floor: each channel settled once at the close, v1.
    pub fee_per_payment_floor_lamports: f64,
    /// Durable accepts per second, one core (SQLite on disk, group commit).
    pub accept_per_sec: f64,
    /// Durable payments signed per second, one core (SQLite on disk,
    /// reserving 64 ahead).
    pub sign_per_sec: f64,
    /// Strict Ed25519 verifications per second of one core (the ceiling of
    /// `accept_per_sec`).
    pub verify_per_sec_ceiling: f64,
    /// Ed25519 signatures per second of one core (the ceiling of
    /// `sign_per_sec`).
    pub raw_sign_per_sec: f64,
    /// Whether the throughput thread was pinned to one CPU.
    pub pinned_to_one_core: bool,
    pub channel_account_bytes: usize,
    pub channel_rent_lamports: u64,
    /// The peers' channel: a 256-byte PDA plus an escrow token account.
    pub peer_channel_rent_lamports: u64,
    pub accounts: Vec<AccountCost>,
    /// Every design and policy, executed or computed.
    pub rows: Vec<Row>,
    /// The baselines, by name.
    pub precompile_design: Row,
    pub x402_exact: Row,
    /// Wall-clock seconds of the whole bench.
    pub seconds: f64,
}

impl std::fmt::Display for BenchReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "micropay bench: {} payers × {} creators ({} channels), {} payments of {} lamports (wrapped SOL), {:.0}% fee target",
            self.payers,
            self.creators,
            self.channels,
            self.payments,
            self.price_lamports,
            self.target_fee_ratio * 100.0
        )?;
        writeln!(
            f,
            "{} build, {} cores, {}; {:.0} s",
            self.build, self.cores, self.cpu, self.seconds
        )?;
        writeln!(f)?;
        writeln!(
            f,
            "{:<18} {:<7} {:<12} {:>6} {:>9} {:>9} {:>8} {:>13} {:>12} {:>11} {:>9}",
            "design",
            "format",
            "policy",
            "bank",
            "txs",
            "settled",
            "v/tx",
            "fees (lam)",
            "lam/channel",
            "lam/payment",
            "fee/value"
        )?;
        for r in &self.rows {
            writeln!(
                f,
                "{:<18} {:<7} {:<12} {:>6} {:>9} {:>9} {:>8.2} {:>13} {:>12.1} {:>11.2} {:>8.3}%",
                r.design,
                r.tx_format,
                r.policy,
                if r.executed { "yes" } else { "model" },
                r.transactions,
                r.settlements,
                r.vouchers_per_tx,
                r.fees_lamports,
                r.lamports_per_settled_channel,
                r.fee_per_payment_lamports,
                r.fee_ratio * 100.0
            )?;
        }
        writeln!(f)?;
        writeln!(
            f,
            "one core{}: durable accepts {:.0}/s (ceiling: verify {:.0}/s), durable pays {:.0}/s (ceiling: sign {:.0}/s)",
            if self.pinned_to_one_core {
                ""
            } else {
                " (NOT pinned: affinity refused)"
            },
            self.accept_per_sec,
            self.verify_per_sec_ceiling,
            self.sign_per_sec,
            self.raw_sign_per_sec
        )?;
        write!(f, "accounts:")?;
        for a in &self.accounts {
            write!(
                f,
                " {} {} B ({} lamports);",
                a.account, a.bytes, a.rent_lamports
            )?;
        }
        write!(
            f,
            " the peers' channel {} lamports",
            self.peer_channel_rent_lamports
        )
    }
}

fn ratio(numerator: u64, denominator: u64) -> f64 {
    // lamport counts stay far below 2^52: exact as f64
    if denominator == 0 {
        0.0
    } else {
        numerator as f64 / denominator as f64
    }
}

/// A row from what a design paid for `settlements` settlements.
fn row(
    (design, tx_format, policy): (&'static str, &'static str, &'static str),
    executed: bool,
    (transactions, settlements, fees): (u64, u64, u64),
    (payments, value): (u64, u64),
) -> Row {
    Row {
        design,
        tx_format,
        policy,
        executed,
        transactions,
        settlements,
        vouchers_per_tx: ratio(settlements, transactions),
        fees_lamports: fees,
        lamports_per_settled_channel: ratio(fees, settlements),
        fee_per_payment_lamports: ratio(fees, payments),
        fee_ratio: ratio(fees, value),
    }
}

/// The precompile design for the same settlements: 5 vouchers per legacy
/// transaction, one signature fee per voucher plus the transaction's.
fn precompile_design(policy: &'static str, settlements: u64, totals: (u64, u64)) -> Row {
    let transactions = settlements.div_ceil(PRECOMPILE_VOUCHERS_PER_TX);
    let fees = transactions
        .saturating_add(settlements)
        .saturating_mul(SIGNATURE_FEE);
    row(
        ("precompile design", "legacy", policy),
        false,
        (transactions, settlements, fees),
        totals,
    )
}

/// The scenario on a fresh bank, in `format`, the planner every
/// `claim_every` payments.
async fn scenario_run(
    args: &ReferenceArgs,
    format: TxFormat,
    claim_every: usize,
    label: &str,
    show_progress: bool,
) -> Result<ScenarioReport, Failure> {
    let bank = EmbeddedLedger::start().await;
    let bank = Arc::new(match format {
        TxFormat::Legacy => bank,
        TxFormat::V1 => bank.with_v1().await?,
    });
    let funder = bank.payer().insecure_clone();
    let time: &dyn TimeControl = bank.as_ref();
    let ledger: Arc<dyn Ledger> = bank.clone();
    let config = ScenarioConfig {
        payers: args.payers,
        creators: args.creators,
        payments: args.payments,
        min_price: args.price,
        max_price: args.price,
        target_fee_ratio: args.target_fee_ratio,
        seed: args.seed,
        mint: scenario::ScenarioMint::WrappedSol,
        dapp_fee_bps: 0,
        closing_payers: 0,
        claim_every,
        dispute_window_secs: micropay_client::receiver::ReceiverConfig::default()
            .min_dispute_window_secs,
        format,
        split: None,
    };
    let progress = crate::demo::progress_bar(show_progress, args.payments, label);
    let on_payment = |done: usize| progress.set_position(done as u64);
    let report = scenario::run(ledger, time, &funder, &config, &on_payment).await?;
    progress.finish_and_clear();
    if report.unaccounted != 0 || report.lost != 0 {
        return Err(Failure::user(format!(
            "{label}: {} base units unaccounted, {} lost: the run broke its own promise",
            report.unaccounted, report.lost
        )));
    }
    Ok(report)
}

/// Pins the calling thread (and the threads it starts) to one CPU.
#[cfg(target_os = "linux")]
fn pin_to_one_core() -> bool {
    let mut set = nix::sched::CpuSet::new();
    let first = nix::sched::sched_getaffinity(nix::unistd::Pid::from_raw(0))
        .ok()
        .and_then(|allowed| {
            (0..nix::sched::CpuSet::count()).find(|&c| allowed.is_set(c).unwrap_or(false))
        })
        .unwrap_or(0);
    set.set(first).is_ok()
        && nix::sched::sched_setaffinity(nix::unistd::Pid::from_raw(0), &set).is_ok()
}

#[cfg(not(target_os = "linux"))]
fn pin_to_one_core() -> bool {
    false
}

/// The one-core rates: (accept, pay, verify, sign, pinned).
struct Throughput {
    accept: f64,
    pay: f64,
    verify: f64,
    sign: f64,
    pinned: bool,
}

/// Measures on a thread pinned to one CPU, with a runtime of its own.
fn throughput(vouchers: usize) -> Result<Throughput, Failure> {
    std::thread::spawn(move || -> Result<Throughput, Failure> {
        let pinned = pin_to_one_core();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| Failure::user(format!("a runtime for the throughput cases: {e}")))?;
        runtime.block_on(async move {
            let per = vouchers.div_ceil(THROUGHPUT_CLIENTS).max(2);
            let allocation = PRICE.saturating_mul(u64::try_from(per).unwrap_or(u64::MAX));
            let ledger = Arc::new(EmbeddedLedger::start().await);
            let dir = tempfile::tempdir().map_err(|e| Failure::user(format!("temp dir: {e}")))?;

            // raw signing and verification, one core
            let key = Keypair::new();
            let channel = Pubkey::new_unique();
            let count = u64::try_from(per.saturating_mul(4)).unwrap_or(u64::MAX);
            let started = Instant::now();
            let signed: Vec<Voucher> = (1..=count)
                .map(|n| Voucher::sign(&key, channel, n))
                .collect();
            let sign = count as f64 / started.elapsed().as_secs_f64().max(1e-9);
            let signer = SignerKey::new(&key.pubkey())
                .map_err(|e| Failure::user(format!("a bench key: {e}")))?;
            let started = Instant::now();
            for v in &signed {
                v.verify_with(&signer)
                    .map_err(|e| Failure::user(format!("a bench voucher did not verify: {e}")))?;
            }
            let verify = count as f64 / started.elapsed().as_secs_f64().max(1e-9);

            // durable accepts: SQLite on disk, group commit
            let (creator, _, vouchers): (Pubkey, Vec<BenchChannel>, _) =
                signed_channels(&ledger, THROUGHPUT_CLIENTS, per, allocation).await?;
            let store = Arc::new(SqliteStore::open(dir.path().join("receiver.db"))?);
            let (_, accept, _) = accept_case(&ledger, &creator, store, 512, &vouchers).await?;

            // durable pays: SQLite on disk, reserving ahead
            let payer_store = Arc::new(SqliteStore::open(dir.path().join("payer.db"))?);
            let payer = Payer::new(payer_store).with_reserve_ahead(RESERVE_AHEAD);
            let ids: Vec<Pubkey> = (0..THROUGHPUT_CLIENTS)
                .map(|_| Keypair::new().pubkey())
                .collect();
            for id in &ids {
                payer.register(*id, &Keypair::new(), allocation)?;
            }
            let (_, pay) = pay_case(&payer, &ids, per).await?;
            payer.release()?;
            Ok(Throughput {
                accept,
                pay,
                verify,
                sign,
                pinned,
            })
        })
    })
    .join()
    .map_err(|_| Failure::user("the throughput thread panicked"))?
}

pub async fn run(cli: &Cli, args: &ReferenceArgs) -> Result<(), Failure> {
    validate(args)?;
    let started = Instant::now();
    let show =
        cli.output == crate::Output::Text && std::io::IsTerminal::is_terminal(&std::io::stderr());
    let runs = designs(args, show).await?;
    // the rent rate of the bank
    let bank = EmbeddedLedger::start().await;
    let rent: Rent = bank
        .account(&solana_sdk::sysvar::rent::ID)
        .await?
        .and_then(|a| bincode::deserialize(&a.data).ok())
        .ok_or_else(|| Failure::user("the bank has no Rent sysvar"))?;
    let speed = throughput(args.throughput_vouchers)?;
    let mut report = assemble(args, runs, &rent, speed)?;
    report.seconds = started.elapsed().as_secs_f64();
    emit(cli.output, &report);
    Ok(())
}

fn validate(args: &ReferenceArgs) -> Result<(), Failure> {
    if args.payers == 0 || args.creators == 0 || args.payments == 0 || args.price == 0 {
        return Err(Failure::user(
            "--payers, --creators, --payments and --price must be at least 1",
        ));
    }
    if args.claim_every == 0 {
        return Err(Failure::user("--claim-every must be at least 1"));
    }
    if args.throughput_vouchers < THROUGHPUT_CLIENTS || args.throughput_vouchers > 10_000_000 {
        return Err(Failure::user(format!(
            "--throughput-vouchers takes {THROUGHPUT_CLIENTS} to 10000000"
        )));
    }
    Ok(())
}

/// Every design's row: micropay executed in both formats under both
/// policies, the precompile design and x402 exact from the fee model.
struct Runs {
    rows: Vec<Row>,
    at_close: Vec<Row>,
    periodic: Vec<Row>,
    x402: Row,
}

/// (payments, value in lamports) of the scenario.
fn totals(args: &ReferenceArgs) -> (u64, u64) {
    let payments = u64::try_from(args.payments).unwrap_or(u64::MAX);
    (payments, payments.saturating_mul(args.price))
}

async fn designs(args: &ReferenceArgs, show: bool) -> Result<Runs, Failure> {
    let totals = totals(args);
    let (payments, value) = totals;
    let (mut rows, mut at_close, mut periodic) = (Vec::new(), Vec::new(), Vec::new());
    // at close: the planner never runs before the close
    let never = args.payments.saturating_add(1);
    for (policy, every) in [("periodic", args.claim_every), ("at close", never)] {
        let mut legacy_settled = 0;
        for format in [TxFormat::Legacy, TxFormat::V1] {
            let label = format!("{format} {policy}");
            let report = scenario_run(args, format, every, &label, show).await?;
            if report.value_paid != value {
                return Err(Failure::user(format!(
                    "{label}: receivers accepted {} lamports of the {value} paid",
                    report.value_paid
                )));
            }
            let settled = u64::try_from(report.vouchers_settled).unwrap_or(u64::MAX);
            if format == TxFormat::Legacy {
                legacy_settled = settled;
            }
            let transactions = u64::try_from(report.claim_transactions).unwrap_or(u64::MAX);
            let r = row(
                ("micropay", format.name(), policy),
                true,
                (transactions, settled, report.fees_lamports),
                totals,
            );
            match policy {
                "periodic" => periodic.push(r.clone()),
                _ => at_close.push(r.clone()),
            }
            rows.push(r);
        }
        rows.push(precompile_design(policy, legacy_settled, totals));
    }
    let x402 = row(
        ("x402 exact", "legacy", "per payment"),
        false,
        (payments, payments, payments.saturating_mul(SIGNATURE_FEE)),
        totals,
    );
    rows.push(x402.clone());
    Ok(Runs {
        rows,
        at_close,
        periodic,
        x402,
    })
}

/// The report from the runs, the rent rate and the one-core rates
/// (`seconds` left for the caller).
fn assemble(
    args: &ReferenceArgs,
    runs: Runs,
    rent: &Rent,
    speed: Throughput,
) -> Result<BenchReport, Failure> {
    let cost = |account: &'static str, bytes: usize| AccountCost {
        account,
        bytes,
        rent_lamports: rent.minimum_balance(bytes),
    };
    let channel_bytes = 8usize.saturating_add(Channel::INIT_SPACE);
    let accounts = vec![
        cost("Escrow", 8usize.saturating_add(Escrow::INIT_SPACE)),
        cost("Channel", channel_bytes),
        cost("Earnings", 8usize.saturating_add(Earnings::INIT_SPACE)),
    ];
    let capacity = |format| {
        micropay_client::planner::Planner::new(micropay_client::planner::PlannerConfig {
            format,
            ..Default::default()
        })
        .capacity_one_creator(&Pubkey::new_unique())
    };
    let pick = |list: &[Row], format: &str| {
        list.iter()
            .find(|r| r.tx_format == format)
            .cloned()
            .ok_or_else(|| Failure::user("a run is missing"))
    };
    let (legacy_end, v1_end) = (pick(&runs.at_close, "legacy")?, pick(&runs.at_close, "v1")?);
    let v1_periodic = pick(&runs.periodic, "v1")?;
    let precompile = runs
        .rows
        .iter()
        .find(|r| r.design == "precompile design" && r.policy == "at close")
        .cloned()
        .ok_or_else(|| Failure::user("a baseline is missing"))?;
    Ok(BenchReport {
        build: build_name(),
        cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
        cpu: cpu_name(),
        payers: args.payers,
        creators: args.creators,
        channels: args.payers.saturating_mul(args.creators),
        payments: args.payments,
        price_lamports: args.price,
        value_lamports: totals(args).1,
        target_fee_ratio: args.target_fee_ratio,
        policy: format!(
            "periodic: the planner every {} payments at the {}% target, and at the close",
            args.claim_every,
            args.target_fee_ratio * 100.0
        ),
        vouchers_per_tx_legacy: legacy_end.vouchers_per_tx,
        vouchers_per_tx_v1: v1_end.vouchers_per_tx,
        max_vouchers_per_tx_legacy: capacity(TxFormat::Legacy),
        max_vouchers_per_tx_v1: capacity(TxFormat::V1),
        lamports_per_settled_channel_legacy: legacy_end.lamports_per_settled_channel,
        lamports_per_settled_channel_v1: v1_end.lamports_per_settled_channel,
        fee_per_payment_lamports: v1_periodic.fee_per_payment_lamports,
        fee_ratio: v1_periodic.fee_ratio,
        fee_per_payment_floor_lamports: v1_end.fee_per_payment_lamports,
        accept_per_sec: speed.accept,
        sign_per_sec: speed.pay,
        verify_per_sec_ceiling: speed.verify,
        raw_sign_per_sec: speed.sign,
        pinned_to_one_core: speed.pinned,
        channel_account_bytes: channel_bytes,
        channel_rent_lamports: rent.minimum_balance(channel_bytes),
        peer_channel_rent_lamports: rent
            .minimum_balance(PEER_CHANNEL_BYTES)
            .saturating_add(rent.minimum_balance(TOKEN_ACCOUNT_BYTES)),
        accounts,
        rows: runs.rows,
        precompile_design: precompile,
        x402_exact: runs.x402,
        seconds: 0.0,
    })
}

/// The CPU's model name (Linux), or "unknown CPU".
fn cpu_name() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, name)| name.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into())
}
