//! `micropay demo`: the whole story on the embedded bank by default (no keys,
//! no validator), or on any cluster with `-u`. Prints what settling the
//! payments cost, next to what one transfer per payment would have cost, and
//! checks exact conservation.

use super::{
    config,
    context::{emit, format_amount as ui},
    Cli, Failure, Output,
};
use crate::scenario::{
    self, RpcTimeControl, ScenarioConfig, ScenarioMint, ScenarioReport, TimeControl,
};
use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use micropay_client::ledger::{embedded::EmbeddedLedger, rpc::RpcLedger, Ledger};
use solana_sdk::signature::Signer;
use std::{io::IsTerminal, sync::Arc, time::Instant};

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum DemoMint {
    /// SOL, as wrapped SOL.
    Sol,
    /// A new 6-decimal token (USDC-like), valued at `--token-lamports`.
    Token,
}

#[derive(Args, Debug)]
pub struct DemoArgs {
    /// Payers (each funds an escrow and opens a channel to every creator).
    #[arg(long, default_value_t = 3)]
    pub payers: usize,
    /// Creators (each accepts vouchers through its receiver).
    #[arg(long, default_value_t = 4)]
    pub creators: usize,
    /// Payments (uses) to stream.
    #[arg(long, default_value_t = 10_000)]
    pub payments: usize,
    /// Mean price of one use, in UI units of the mint (prices vary ±50%).
    /// Default: 0.00001 SOL, or 0.01 token.
    #[arg(long)]
    pub price: Option<f64>,
    /// Most a claim transaction's fee may be, as a fraction of what it settles.
    #[arg(long, default_value_t = 0.01)]
    pub target_fee_ratio: f64,
    /// Random seed: the same seed gives the same run.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// What the payments are in: a new token mint (default), or SOL.
    #[arg(long, value_enum, default_value_t = DemoMint::Token)]
    pub mint: DemoMint,
    /// For `--mint token`: lamports one whole token is worth (for the fee ratio).
    #[arg(long, default_value_t = 6_666_666)]
    pub token_lamports: u64,
    /// dApp fee share, basis points, on every other payer's channels.
    #[arg(long, default_value_t = 250)]
    pub fee_bps: u16,
    /// The first creator is a royalty split of three owners (50%, 30%, 20%):
    /// the split distributes and each owner withdraws its share.
    #[arg(long)]
    pub splits: bool,
}

/// The owners' shares of `--splits`, basis points.
const SPLIT_SHARES: [u16; 3] = [5_000, 3_000, 2_000];

fn to_base_units(ui: f64, decimals: u8) -> Result<u64, Failure> {
    let scaled = ui * 10f64.powi(i32::from(decimals));
    if !(scaled.is_finite() && (2.0..1e15).contains(&scaled)) {
        return Err(Failure::user(format!(
            "--price {ui} is out of range: it must be at least 2 base units (1e-{decimals} each)"
        )));
    }
    Ok(scaled.round() as u64)
}

fn config_from(args: &DemoArgs) -> Result<ScenarioConfig, Failure> {
    if args.payers == 0 || args.creators == 0 || args.payments == 0 {
        return Err(Failure::user(
            "--payers, --creators and --payments must be at least 1",
        ));
    }
    if !(args.target_fee_ratio > 0.0 && args.target_fee_ratio < 1.0) {
        return Err(Failure::user(
            "--target-fee-ratio must be between 0 and 1, e.g. 0.01 for 1%",
        ));
    }
    if args.fee_bps > micropay::constants::MAX_FEE_BPS {
        return Err(Failure::user(format!(
            "--fee-bps is at most {} (10%)",
            micropay::constants::MAX_FEE_BPS
        )));
    }
    let (mint, decimals, default_price) = match args.mint {
        DemoMint::Sol => (ScenarioMint::WrappedSol, 9, 0.000_01),
        DemoMint::Token => (
            ScenarioMint::NewToken {
                decimals: 6,
                value: micropay_client::planner::UnitValue {
                    lamports: args.token_lamports,
                    per_units: 1_000_000,
                },
            },
            6,
            0.01,
        ),
    };
    let mean = to_base_units(args.price.unwrap_or(default_price), decimals)?;
    Ok(ScenarioConfig {
        payers: args.payers,
        creators: args.creators,
        payments: args.payments,
        min_price: (mean / 2).max(1),
        max_price: mean.saturating_add(mean / 2),
        target_fee_ratio: args.target_fee_ratio,
        seed: args.seed,
        mint,
        dapp_fee_bps: args.fee_bps,
        closing_payers: usize::from(args.payers > 1),
        claim_every: (args.payments / 10).max(1),
        // the receiver's default minimum: 15 minutes for the watcher to claim
        dispute_window_secs: micropay_client::receiver::ReceiverConfig::default()
            .min_dispute_window_secs,
        // set from the cluster once it is reached
        format: micropay_client::v1::TxFormat::Legacy,
        split: args.splits.then_some(SPLIT_SHARES),
    })
}

pub async fn run(cli: &Cli, args: &DemoArgs) -> Result<(), Failure> {
    let mut config = config_from(args)?;
    let target = config::target(cli.url.as_deref().or(Some("embedded")), "embedded")?;

    let progress = progress_bar(
        cli.output == Output::Text && std::io::stderr().is_terminal(),
        args.payments,
        "payments",
    );
    // the clock of the rate and the eta starts with the payments, not the set-up
    let on_payment = |done: usize| {
        if done == 1 {
            progress.reset_elapsed();
            progress.reset_eta();
        }
        progress.set_position(done as u64);
    };

    let started = Instant::now();
    let (where_, report) = match target {
        config::Target::Embedded => {
            let bank = Arc::new(EmbeddedLedger::start().await);
            let funder = bank.payer().insecure_clone();
            let time: &dyn TimeControl = bank.as_ref();
            let ledger: Arc<dyn Ledger> = bank.clone();
            let report = scenario::run(ledger, time, &funder, &config, &on_payment).await?;
            ("embedded bank".to_string(), report)
        }
        config::Target::Rpc(url) => {
            let funder = config::signer(cli.keypair.as_deref())?;
            let rpc = Arc::new(RpcLedger::new(url.clone(), cli.commitment.config()));
            let balance = rpc.balance(&funder.pubkey()).await?;
            if balance < 10_000_000_000 {
                // a local node airdrops on request; a real cluster may refuse
                let _ = rpc
                    .client()
                    .request_airdrop(&funder.pubkey(), 100_000_000_000)
                    .await;
            }
            let time = RpcTimeControl::new(url.clone());
            config.format = rpc.transaction_format().await?;
            let report = scenario::run(rpc, &time, &funder, &config, &on_payment).await?;
            (url, report)
        }
    };
    progress.finish_and_clear();
    let result = DemoResult::new(
        where_,
        args,
        &config,
        &report,
        started.elapsed().as_secs_f64(),
    );
    emit(cli.output, &result);
    if report.unaccounted != 0 {
        return Err(Failure::user(format!(
            "{} base units unaccounted: conservation failed",
            report.unaccounted
        )));
    }
    Ok(())
}

/// A progress bar of `payments` payments on stderr (hidden unless `show`).
pub(crate) fn progress_bar(show: bool, payments: usize, label: &str) -> ProgressBar {
    let progress = if show {
        ProgressBar::with_draw_target(Some(payments as u64), ProgressDrawTarget::stderr())
    } else {
        ProgressBar::hidden()
    };
    progress.set_style(
        ProgressStyle::with_template(&format!(
            "{{spinner}} {label} {{bar:40}} {{pos}}/{{len}} {{per_sec}} eta {{eta}}"
        ))
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    progress
}

/// One owner of the demo's split creator.
#[derive(serde::Serialize, Debug)]
pub struct SplitOwnerResult {
    pub owner: String,
    pub bps: u16,
    pub withdrawn: u64,
}

/// The demo's split creator.
#[derive(serde::Serialize, Debug)]
pub struct SplitResult {
    pub split: String,
    /// What its receiver counted net (what the owners share).
    pub accepted_net: u64,
    pub owners: Vec<SplitOwnerResult>,
    pub remainder: u64,
}

/// What `micropay demo` prints: the cost of settling the payments, next to
/// one transfer per payment, and the conservation check.
#[derive(serde::Serialize, Debug)]
pub struct DemoResult {
    /// "embedded bank", or the cluster's URL.
    pub cluster: String,
    /// The mint the payments were made in.
    pub mint: String,
    pub payers: usize,
    pub creators: usize,
    pub payments: usize,
    /// Payments refused on a closing channel (one attempt, to show it).
    pub payments_refused: usize,
    /// Base units paid (accepted by receivers).
    pub value_paid: u64,
    /// The same, in UI units of the mint.
    pub value_paid_ui: String,
    pub claim_transactions: usize,
    pub vouchers_settled: usize,
    pub vouchers_skipped: usize,
    pub fees_lamports: u64,
    pub fee_per_payment_lamports: f64,
    pub fee_ratio: f64,
    pub target_fee_ratio: f64,
    /// Fees of the same payments settled one transfer each.
    pub per_payment_fees_lamports: u64,
    /// Deposits found in no escrow and no withdrawal (0 when conserved), base units.
    pub unaccounted_lamports: i128,
    /// Accepted base units a closed channel took before they were claimed.
    pub lost_base_units: u64,
    pub quarantined: usize,
    /// Base units the dApp withdrew as its fee share.
    pub dapp_fees: u64,
    /// With `--splits`: the split creator's owners, what each withdrew
    /// (its share of the creator's net, to the base unit) and the remainder
    /// left in the split.
    pub split: Option<SplitResult>,
    pub seconds: f64,
    #[serde(skip)]
    symbol: &'static str,
    #[serde(skip)]
    decimals: u8,
}

impl DemoResult {
    fn new(
        cluster: String,
        args: &DemoArgs,
        config: &ScenarioConfig,
        r: &ScenarioReport,
        seconds: f64,
    ) -> Self {
        let (symbol, decimals) = match config.mint {
            ScenarioMint::WrappedSol => ("SOL", 9u8),
            ScenarioMint::NewToken { decimals, .. } => ("TOKEN", decimals),
        };
        Self {
            cluster,
            mint: r.mint.to_string(),
            payers: args.payers,
            creators: args.creators,
            payments: r.payments,
            payments_refused: r.refused,
            value_paid: r.value_paid,
            value_paid_ui: ui(r.value_paid, decimals),
            claim_transactions: r.claim_transactions,
            vouchers_settled: r.vouchers_settled,
            vouchers_skipped: r.vouchers_skipped,
            fees_lamports: r.fees_lamports,
            fee_per_payment_lamports: r.fee_per_payment_lamports,
            fee_ratio: r.fee_ratio,
            target_fee_ratio: config.target_fee_ratio,
            per_payment_fees_lamports: r.per_payment_fees_lamports,
            unaccounted_lamports: r.unaccounted,
            lost_base_units: r.lost,
            quarantined: r.quarantined,
            dapp_fees: r.dapp_withdrawn,
            split: r.creators.iter().find_map(|c| {
                c.split.as_ref().map(|split| SplitResult {
                    split: c.wallet.to_string(),
                    accepted_net: c.accepted_net,
                    owners: split
                        .owners
                        .iter()
                        .map(|o| SplitOwnerResult {
                            owner: o.owner.to_string(),
                            bps: o.bps,
                            withdrawn: o.withdrawn,
                        })
                        .collect(),
                    remainder: split.remainder,
                })
            }),
            seconds,
            symbol,
            decimals,
        }
    }
}

impl DemoResult {
    /// The table's rows: what each line says.
    fn rows(&self) -> [(&'static str, String); 10] {
        let (symbol, decimals) = (self.symbol, self.decimals);
        [
            (
                "payments",
                format!(
                    "{} (and {} refused on a closing channel)",
                    self.payments, self.payments_refused
                ),
            ),
            ("value paid", format!("{} {symbol}", self.value_paid_ui)),
            ("claim transactions", self.claim_transactions.to_string()),
            (
                "vouchers settled",
                format!(
                    "{} ({} stale skipped)",
                    self.vouchers_settled, self.vouchers_skipped
                ),
            ),
            ("total fees", format!("{} lamports", self.fees_lamports)),
            (
                "fee per payment",
                format!("{:.2} lamports", self.fee_per_payment_lamports),
            ),
            (
                "fee as % of value",
                format!(
                    "{:.4} % (target {} %)",
                    self.fee_ratio * 100.0,
                    self.target_fee_ratio * 100.0
                ),
            ),
            (
                "one transfer per payment",
                format!(
                    "{} lamports ({:.0}x more)",
                    self.per_payment_fees_lamports,
                    self.per_payment_fees_lamports as f64 / self.fees_lamports.max(1) as f64
                ),
            ),
            (
                "dApp fee share earned",
                format!("{} {symbol}", ui(self.dapp_fees, decimals)),
            ),
            (
                "unaccounted",
                format!("{} {}", self.unaccounted_lamports, self.unit()),
            ),
        ]
    }

    /// What the base units of the demo's mint are called.
    fn unit(&self) -> &'static str {
        if self.decimals == 9 {
            "lamports"
        } else {
            "base units"
        }
    }
}

impl std::fmt::Display for DemoResult {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (symbol, decimals) = (self.symbol, self.decimals);
        write!(
            f,
            "micropay demo on the {}: {} payers, {} creators, {:.1} s",
            self.cluster, self.payers, self.creators, self.seconds
        )?;
        for (k, v) in self.rows() {
            write!(f, "\n  {k:<26} {v}")?;
        }
        if let Some(split) = &self.split {
            write!(
                f,
                "\n  split creator {} received {} {symbol} net:",
                split.split,
                ui(split.accepted_net, decimals)
            )?;
            for o in &split.owners {
                write!(
                    f,
                    "\n    {} {:>5.1}%  withdrew {} {symbol}",
                    o.owner,
                    f64::from(o.bps) / 100.0,
                    ui(o.withdrawn, decimals)
                )?;
            }
            write!(
                f,
                "\n    left in the split (rounding): {} {}",
                split.remainder,
                self.unit()
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ui_amounts() {
        assert_eq!(to_base_units(0.00001, 9).unwrap(), 10_000);
        assert!(to_base_units(0.0, 9).is_err());
        assert!(to_base_units(f64::NAN, 9).is_err());
    }
}
