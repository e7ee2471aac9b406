//! `micropay watch`: the creator's (or a relayer's) daemon. It follows the
//! receiver store's open vouchers and their channels, claims every voucher
//! whose payer asked to close (or whose channel expires soon) before its
//! deadline, with an escalating priority fee, claims the rest on a schedule
//! at the target fee ratio, and stops cleanly on SIGINT / SIGTERM. It keeps
//! no state of its own, so it may be killed and restarted at any time.
//!
//! Logs go to stderr (`--log-format json` for structured lines); the summary
//! printed at exit follows `--output`.

use super::{
    context::{format_amount, receiver_store, Ctx},
    Cli, Failure,
};
use anchor_lang::prelude::Pubkey;
use clap::{Args, ValueEnum};
use micropay_client::watcher::{subscribe_channels, Watcher, WatcherConfig};
use std::{path::PathBuf, time::Duration};

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// One line a person reads.
    Text,
    /// One JSON object per line, for a log shipper.
    Json,
}

/// How a long-running command logs (on stderr).
#[derive(Args, Debug, Clone)]
pub struct Logging {
    /// Log lines: text or json.
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// What to log: error, warn, info, debug or trace, or a tracing filter
    /// (`info,micropay::request=warn`). `RUST_LOG`, when set, wins.
    #[arg(long, default_value = "info")]
    pub log_level: String,
}

#[derive(Args, Debug)]
pub struct WatchArgs {
    /// Receiver store to watch: a SQLite file, or a `postgres://` URL: one database shared by gateways on several machines.
    #[arg(long)]
    pub store: Option<PathBuf>,
    /// Follow channels of this creator for early notice of close requests
    /// (default: the creator of the store's vouchers when there is one;
    /// otherwise, or with --all-creators, every micropay channel).
    #[arg(value_parser = crate::context::address, long)]
    pub creator: Option<Pubkey>,
    /// Subscribe to every micropay channel (a relayer for many creators).
    #[arg(long, conflicts_with = "creator")]
    pub all_creators: bool,
    /// WebSocket URL (default: derived from the RPC URL, port + 1).
    #[arg(long)]
    pub ws_url: Option<String>,
    /// Seconds between two looks at the chain when nothing happens.
    #[arg(long, default_value_t = 10)]
    pub poll_secs: u64,
    /// Seconds between two routine (non-urgent) claim plans.
    #[arg(long, default_value_t = 300)]
    pub plan_secs: u64,
    #[command(flatten)]
    pub planner: super::claim::PlannerArgs,
    #[command(flatten)]
    pub logging: Logging,
    /// One pass, then exit (for cron jobs and scripts).
    #[arg(long)]
    pub once: bool,
    /// A royalty split to distribute on the routine schedule (repeat for
    /// several): when what it would move is worth its fee at the target.
    #[arg(value_parser = crate::context::address, long = "distribute", value_name = "SPLIT")]
    pub distribute: Vec<Pubkey>,
}

/// Solana's convention: the WebSocket port is the RPC port + 1.
pub fn websocket_url(rpc: &str) -> String {
    let (scheme, rest) = match rpc.split_once("://") {
        Some(("https", rest)) => ("wss", rest),
        Some((_, rest)) => ("ws", rest),
        None => ("ws", rpc),
    };
    let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
    let authority = match authority.rsplit_once(':') {
        Some((host, port)) => match port.parse::<u16>() {
            Ok(p) => format!("{host}:{}", p.saturating_add(1)),
            Err(_) => authority.to_string(),
        },
        None => authority.to_string(),
    };
    if path.is_empty() {
        format!("{scheme}://{authority}")
    } else {
        format!("{scheme}://{authority}/{path}")
    }
}

/// Logs on stderr as `logging` (or `RUST_LOG`) says.
pub(crate) fn init_logs(logging: &Logging) -> Result<(), Failure> {
    use tracing_subscriber::EnvFilter;
    let filter = match std::env::var("RUST_LOG") {
        Ok(directives) if !directives.trim().is_empty() => EnvFilter::try_new(&directives)
            .map_err(|e| Failure::user(format!("RUST_LOG `{directives}`: {e}")))?,
        _ => EnvFilter::try_new(&logging.log_level).map_err(|e| {
            Failure::user(format!(
                "--log-level `{}`: {e} (a level: error, warn, info, debug, trace; or a filter like `info,micropay::request=warn`)",
                logging.log_level
            ))
        })?,
    };
    let builder = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(filter);
    // JSON keeps each line's target (`micropay::request` for the paywall's
    // one line per priced request), for a log shipper to route on
    let _ = match logging.log_format {
        LogFormat::Text => builder.with_target(false).try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
    Ok(())
}

/// A future that resolves on SIGINT or SIGTERM. The handlers are installed
/// now, before any work, so a signal arriving during the first pass is not
/// fatal but waits for the pass to end.
pub(crate) fn shutdown_signal() -> Result<impl std::future::Future<Output = ()>, Failure> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let fail = |e: std::io::Error| Failure::user(format!("cannot handle signals: {e}"));
        let mut term = signal(SignalKind::terminate()).map_err(fail)?;
        let mut int = signal(SignalKind::interrupt()).map_err(fail)?;
        Ok(async move {
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
        })
    }
    #[cfg(not(unix))]
    {
        Ok(async {
            let _ = tokio::signal::ctrl_c().await;
        })
    }
}

pub async fn run(cli: &Cli, args: &WatchArgs) -> Result<(), Failure> {
    if args.poll_secs == 0 {
        return Err(Failure::user("--poll-secs must be at least 1"));
    }
    args.planner.validate()?;
    init_logs(&args.logging)?;
    let shutdown = shutdown_signal()?;
    let ctx = Ctx::new(cli)?;
    // local input first: a wrong store path is said without the network
    let (store, store_name) = receiver_store(args.store.as_ref(), true)?;
    ctx.deployed().await?;
    let facade = micropay_client::store::AsyncStore::new(store.clone());
    let mut planner = args.planner.config(&facade).await?;
    planner.format = args.planner.tx_format.resolve(ctx.ledger()).await?;
    tracing::info!(format = %planner.format, "claims are packed for this transaction format");
    let config = WatcherConfig {
        poll_interval: Duration::from_secs(args.poll_secs),
        plan_interval: Duration::from_secs(args.plan_secs),
        planner,
        distribute: args.distribute.clone(),
        ..WatcherConfig::default()
    };
    let fee_payer = ctx.keypair()?.insecure_clone();
    let creator = subscribed_creator(args, &facade).await?;
    let watcher = Watcher::new(
        ctx.ledger.clone(),
        store,
        std::sync::Arc::new(fee_payer),
        config,
    );
    tracing::info!(store = %store_name, rpc = %micropay_client::error::redact_url(&ctx.ledger.url()), "watching");
    if args.once {
        return once(&ctx, &watcher).await;
    }
    let ws = args
        .ws_url
        .clone()
        .unwrap_or_else(|| websocket_url(&ctx.ledger.url()));
    let wake = match subscribe_channels(&ws, creator).await {
        Ok(rx) => {
            tracing::info!(ws = %ws, "subscribed to channel changes");
            Some(rx)
        }
        Err(e) => {
            tracing::warn!(error = %e, "no WebSocket subscription: polling only");
            None
        }
    };
    let report = watcher.run(wake, shutdown).await;
    stopped(&ctx, report)
}

/// The creator whose channels the subscription follows: `--creator`, or the
/// only creator of the store's open vouchers; every channel with
/// `--all-creators` (or several creators).
async fn subscribed_creator(
    args: &WatchArgs,
    store: &micropay_client::store::AsyncStore,
) -> Result<Option<Pubkey>, Failure> {
    Ok(match (args.all_creators, args.creator) {
        (true, _) => None,
        (false, Some(c)) => Some(c),
        (false, None) => {
            let creators: std::collections::BTreeSet<Pubkey> = store
                .list(&micropay_client::store::ClaimStatus::OPEN)
                .await?
                .iter()
                .map(|r| r.creator)
                .collect();
            (creators.len() == 1)
                .then(|| creators.into_iter().next())
                .flatten()
        }
    })
}

/// `--once`: one pass, and what it did.
async fn once(ctx: &Ctx, watcher: &Watcher) -> Result<(), Failure> {
    let mut state = Default::default();
    let pass = watcher.pass(&mut state).await?;
    let e = &pass.execution;
    ctx.show(&OnePass {
        open: pass.open,
        urgent: pass.urgent,
        claim_transactions: e.transactions,
        signatures: e.signatures.iter().map(|s| s.to_string()).collect(),
        vouchers_settled: e.vouchers_settled,
        settled_amount: e.settled_amount,
        fees_lamports: e.fees,
        fees_sol: format_amount(e.fees, 9),
        quarantined: e.quarantined.len(),
        distributions: pass.distributions,
        lost: e
            .lost
            .iter()
            .map(|l| LostAmount {
                channel: l.channel.to_string(),
                amount: l.amount,
            })
            .collect(),
    });
    Ok(())
}

/// What the watcher did until it stopped; an error (exit code 2) when it
/// gave up, so that a supervisor (systemd, a container) restarts it.
fn stopped(ctx: &Ctx, report: micropay_client::watcher::WatchReport) -> Result<(), Failure> {
    let lost: u64 = report
        .lost
        .iter()
        .fold(0u64, |s, l| s.saturating_add(l.amount));
    ctx.show(&Stopped {
        passes: report.passes,
        errors: report.errors,
        claim_transactions: report.claim_transactions,
        vouchers_settled: report.vouchers_settled,
        settled_amount: report.settled_amount,
        fees_lamports: report.fees,
        fees_sol: format_amount(report.fees, 9),
        quarantined: report.quarantined,
        distributions: report.distributions,
        lost_amount: lost,
        lost_vouchers: report.lost.len(),
    });
    match report.gave_up {
        Some(why) => Err(Failure {
            message: format!("watcher stopped: {why}"),
            code: 2,
        }),
        None => Ok(()),
    }
}

/// Value lost on one channel (base units of its mint).
#[derive(Debug, serde::Serialize)]
pub struct LostAmount {
    channel: String,
    amount: u64,
}

/// `watch --once`: what the one pass found and did.
#[derive(Debug, serde::Serialize)]
pub struct OnePass {
    open: usize,
    urgent: usize,
    claim_transactions: usize,
    signatures: Vec<String>,
    vouchers_settled: usize,
    /// Base units over all mints.
    settled_amount: u64,
    fees_lamports: u64,
    fees_sol: String,
    quarantined: usize,
    /// Split distributions sent.
    distributions: usize,
    lost: Vec<LostAmount>,
}

impl std::fmt::Display for OnePass {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "one pass: {} open voucher(s), {} urgent; {} claim transaction(s) settled {} voucher(s) for {} SOL of fees",
            self.open, self.urgent, self.claim_transactions, self.vouchers_settled, self.fees_sol
        )?;
        for l in &self.lost {
            write!(
                f,
                "\nLOST: {} base units on channel {}",
                l.amount, l.channel
            )?;
        }
        Ok(())
    }
}

/// `watch` once stopped: what it did over all its passes.
#[derive(Debug, serde::Serialize)]
pub struct Stopped {
    passes: usize,
    errors: usize,
    claim_transactions: usize,
    vouchers_settled: usize,
    /// Base units over all mints.
    settled_amount: u64,
    fees_lamports: u64,
    fees_sol: String,
    quarantined: usize,
    /// Split distributions sent.
    distributions: usize,
    /// Base units lost over all channels.
    lost_amount: u64,
    lost_vouchers: usize,
}

impl std::fmt::Display for Stopped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "stopped after {} pass(es): {} claim transaction(s) settled {} voucher(s) for {} SOL of fees; {} voucher(s) lost value",
            self.passes, self.claim_transactions, self.vouchers_settled, self.fees_sol, self.lost_vouchers
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn websocket_urls_follow_the_solana_convention() {
        assert_eq!(
            websocket_url("http://127.0.0.1:8899"),
            "ws://127.0.0.1:8900"
        );
        assert_eq!(
            websocket_url("https://api.devnet.solana.com"),
            "wss://api.devnet.solana.com"
        );
        assert_eq!(websocket_url("http://host:1234/rpc"), "ws://host:1235/rpc");
    }
}
