//! `micropay claim`: run the planner over the receiver store and settle what
//! is worth settling (you pay the fees, `-k`; claims are permissionless).
//!
//! `--dry-run` reconciles and plans without writing anything. A real run
//! also reports vouchers set aside (quarantined, with the reason) and value
//! lost because a channel closed before its voucher was claimed.

use super::{
    context::{format_amount, receiver_store, Ctx},
    Cli, Failure,
};
use anchor_lang::prelude::Pubkey;
use clap::Args;
use micropay_client::{
    ledger::Ledger,
    planner::{
        ppm_from_ratio, Execution, Lost, Plan, Planner, PlannerConfig, Quarantined, UnitValue,
    },
    store::{AsyncStore, ClaimStatus},
    v1::TxFormat,
};
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct ClaimArgs {
    /// Print the plan and its fees; send and write nothing.
    #[arg(long)]
    pub dry_run: bool,
    #[command(flatten)]
    pub planner: PlannerArgs,
    /// Receiver store: a SQLite file, or a `postgres://` URL: one database shared by gateways on several machines.
    #[arg(long)]
    pub store: Option<PathBuf>,
}

/// How claims are valued and paid for (shared by `claim` and `watch`).
#[derive(Args, Debug)]
pub struct PlannerArgs {
    /// Most a claim's fee may be, as a fraction of what it settles (0 < r ≤ 1).
    #[arg(long, default_value_t = 0.01, allow_negative_numbers = true)]
    pub target_fee_ratio: f64,
    /// Lamports one base unit of the non-SOL mints in the store is worth (for
    /// the fee ratio), as `lamports` or `lamports/units` (e.g. `6666666/1000000`).
    #[arg(long)]
    pub unit_lamports: Option<String>,
    /// A mint you accept and its value: `sol`, or `MINT=LAMPORTS[/UNITS]`
    /// (lamports per `UNITS` base units); repeat for several. Vouchers of a
    /// mint without a value are set aside (quarantined), never claimed blind.
    #[arg(long = "mint")]
    pub mints: Vec<String>,
    /// Least priority fee, micro-lamports per compute unit. More is paid when
    /// the cluster's recent fees on the claimed channels ask for it (their
    /// median for routine claims, their 90th percentile near a deadline).
    #[arg(long, default_value_t = 0)]
    pub compute_unit_price: u64,
    /// Most priority fee ever paid, micro-lamports per compute unit.
    #[arg(long, default_value_t = 1_000_000)]
    pub max_compute_unit_price: u64,
    /// Transaction format of claims: `auto` asks the cluster whether it
    /// accepts v1 (4 KB, about 35 vouchers of one creator per claim) and
    /// falls back to `legacy` (1,232 bytes, 7–9 vouchers).
    #[arg(long, value_enum, default_value_t = FormatChoice::Auto)]
    pub tx_format: FormatChoice,
}

/// `--tx-format`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum FormatChoice {
    /// What the cluster accepts (a v1 probe over RPC).
    Auto,
    /// Legacy transactions, accepted everywhere.
    Legacy,
    /// v1 transactions (the cluster must accept them).
    V1,
}

impl FormatChoice {
    /// The format to pack for on `ledger`.
    pub async fn resolve(self, ledger: &dyn Ledger) -> Result<TxFormat, Failure> {
        Ok(match self {
            FormatChoice::Auto => ledger.transaction_format().await?,
            FormatChoice::Legacy => TxFormat::Legacy,
            FormatChoice::V1 => TxFormat::V1,
        })
    }
}

impl PlannerArgs {
    /// Checks the flags (before any file or cluster is touched).
    pub fn validate(&self) -> Result<(), Failure> {
        if ppm_from_ratio(self.target_fee_ratio).is_none() {
            return Err(Failure::user(format!(
                "--target-fee-ratio {} must be above 0 and at most 1 (0.01 = 1%)",
                self.target_fee_ratio
            )));
        }
        self.unit_lamports
            .as_deref()
            .map(|v| unit_value(v, "--unit-lamports"))
            .transpose()?;
        mint_values(&self.mints, "--mint")?;
        Ok(())
    }

    /// The planner configuration for the vouchers in `store`.
    pub async fn config(&self, store: &AsyncStore) -> Result<PlannerConfig, Failure> {
        self.validate()?;
        let mut config = PlannerConfig {
            max_fee_ppm: ppm_from_ratio(self.target_fee_ratio).unwrap_or(10_000),
            ..PlannerConfig::default()
        };
        config.fees.compute_unit_price = self.compute_unit_price;
        config.priority.max_compute_unit_price = self.max_compute_unit_price;
        let unit = self
            .unit_lamports
            .as_deref()
            .map(|v| unit_value(v, "--unit-lamports"))
            .transpose()?;
        if let Some(value) = unit {
            for v in store.list(&ClaimStatus::ALL).await? {
                config.values.insert(v.mint, value);
            }
        }
        config.values.extend(mint_values(&self.mints, "--mint")?);
        Ok(config)
    }
}

/// Parses mint values: `sol`, or `MINT=LAMPORTS[/UNITS]`; errors name
/// `source` (`--mint`, or a file's key).
pub fn mint_values(args: &[String], source: &str) -> Result<Vec<(Pubkey, UnitValue)>, Failure> {
    args.iter()
        .map(|arg| {
            if arg.eq_ignore_ascii_case("sol") {
                return Ok((
                    anchor_spl::token::spl_token::native_mint::ID,
                    UnitValue::LAMPORT,
                ));
            }
            let (mint, value) = arg.split_once('=').ok_or_else(|| {
                Failure::user(format!(
                    "{source}: `{arg}`: give the mint's value, as MINT=LAMPORTS[/UNITS] (or `sol`)"
                ))
            })?;
            let mint = mint.parse().map_err(|_| {
                Failure::user(format!("{source}: `{arg}`: `{mint}` is not a mint address"))
            })?;
            Ok((
                mint,
                unit_value(value, &format!("{source}: `{arg}`: its value"))?,
            ))
        })
        .collect()
}

/// Parses `lamports` or `lamports/units`; errors name `source`.
pub fn unit_value(text: &str, source: &str) -> Result<UnitValue, Failure> {
    let bad = || {
        Failure::user(format!(
            "{source} `{text}` must be `lamports` or `lamports/units`, whole numbers (units > 0)"
        ))
    };
    let (lamports, per_units) = text.split_once('/').unwrap_or((text, "1"));
    let lamports = lamports.trim().parse().map_err(|_| bad())?;
    let per_units: u64 = per_units.trim().parse().map_err(|_| bad())?;
    if per_units == 0 {
        return Err(bad());
    }
    Ok(UnitValue {
        lamports,
        per_units,
    })
}

fn lost_json(lost: &[Lost]) -> serde_json::Value {
    serde_json::Value::Array(
        lost.iter()
            .map(|l| {
                serde_json::json!({
                    "channel": l.channel.to_string(), "mint": l.mint.to_string(),
                    "creator": l.creator.to_string(), "amount": l.amount,
                })
            })
            .collect(),
    )
}

fn quarantined_json(q: &[Quarantined]) -> serde_json::Value {
    serde_json::Value::Array(
        q.iter()
            .map(|q| {
                serde_json::json!({
                    "channel": q.channel.to_string(), "amount": q.amount, "reason": q.reason,
                })
            })
            .collect(),
    )
}

/// A loud line per lost voucher, for the text output.
fn lost_text(lost: &[Lost]) -> String {
    lost.iter()
        .map(|l| {
            format!(
                "\nLOST: channel {} closed with {} base units of mint {} unclaimed (creator {})",
                l.channel, l.amount, l.mint, l.creator
            )
        })
        .collect()
}

pub async fn run(cli: &Cli, args: &ClaimArgs) -> Result<(), Failure> {
    args.planner.validate()?;
    let ctx = Ctx::new(cli)?;
    // local input first: a wrong store path is said without the network
    let (store, _) = receiver_store(args.store.as_ref(), true)?;
    ctx.deployed().await?;
    let store = &AsyncStore::new(store);
    let mut config = args.planner.config(store).await?;
    config.format = args.planner.tx_format.resolve(ctx.ledger()).await?;
    let tx_format = config.format;
    let planner = Planner::new(config);
    let (exact, exact_text) = exact_received(&ctx, store).await?;
    if args.dry_run {
        let (recon, plan) = planner.dry_run(ctx.ledger(), store, &ctx.me()?).await?;
        ctx.show(&PlanResult {
            tx_format,
            transactions: plan.batches.len(),
            vouchers: plan.vouchers(),
            fees_lamports: plan.fees(),
            fees_sol: format_amount(plan.fees(), 9),
            deferred: plan.deferred.len(),
            would_quarantine: quarantined_json(&plan.quarantine),
            would_lose: lost_json(&recon.lost),
            unverified: recon.unverified.len(),
            other_cluster: recon.other_cluster.len(),
            earnings_to_create: plan.create_earnings.len(),
            batches: plan
                .batches
                .iter()
                .map(|b| BatchView {
                    vouchers: b.claims.len(),
                    bytes: b.size,
                    fee_lamports: b.fee,
                    value_lamports: b.value_lamports,
                    urgent: b.urgent,
                })
                .collect(),
            exact_received: exact,
            quarantine_count: plan.quarantine.len(),
            notes: lost_text(&recon.lost)
                + &other_cluster_text(recon.other_cluster.len())
                + &exact_text,
        });
        return Ok(());
    }
    let (plan, done) = planner.run(ctx.ledger(), store, ctx.keypair()?).await?;
    let mut result = ClaimResult::new(&ctx, &plan, &done, tx_format).await?;
    result.exact_received = exact;
    result.notes.push_str(&exact_text);
    ctx.show(&result);
    Ok(())
}

/// One claim transaction of a plan.
#[derive(Debug, serde::Serialize)]
pub struct BatchView {
    vouchers: usize,
    bytes: usize,
    fee_lamports: u64,
    value_lamports: u64,
    urgent: bool,
}

/// `claim --dry-run`: what a claim would send, and what it would cost.
#[derive(Debug, serde::Serialize)]
pub struct PlanResult {
    /// The transaction format the plan packs for.
    tx_format: TxFormat,
    transactions: usize,
    vouchers: usize,
    fees_lamports: u64,
    fees_sol: String,
    deferred: usize,
    would_quarantine: serde_json::Value,
    would_lose: serde_json::Value,
    unverified: usize,
    other_cluster: usize,
    earnings_to_create: usize,
    batches: Vec<BatchView>,
    /// x402 `exact` payments the receiver took, per mint (in the payee's
    /// token accounts already: nothing to claim).
    exact_received: Vec<ExactReceived>,
    #[serde(skip)]
    quarantine_count: usize,
    #[serde(skip)]
    notes: String,
}

impl std::fmt::Display for PlanResult {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "plan: {} {} transaction(s), {} voucher(s), {} SOL of fees; {} voucher(s) wait for more value, {} cannot be valued{}",
            self.transactions,
            self.tx_format,
            self.vouchers,
            self.fees_sol,
            self.deferred,
            self.quarantine_count,
            self.notes
        )
    }
}

/// An amount of one mint, in base units and in the mint's units.
#[derive(Debug, serde::Serialize)]
pub struct MintAmount {
    mint: String,
    amount: u64,
    amount_ui: String,
    #[serde(skip)]
    symbol: String,
}

/// What `micropay claim` did: one struct for its text and its JSON.
#[derive(Debug, serde::Serialize)]
pub struct ClaimResult {
    /// The transaction format the claims were sent in.
    tx_format: TxFormat,
    transactions: usize,
    signatures: Vec<String>,
    vouchers_settled: usize,
    vouchers_skipped: usize,
    /// Base units settled over all mints (see `settled` per mint).
    settled_amount: u64,
    settled: Vec<MintAmount>,
    fees_lamports: u64,
    fees_sol: String,
    deferred: usize,
    expired: usize,
    quarantined: serde_json::Value,
    lost: serde_json::Value,
    bisections: usize,
    earnings_created: usize,
    /// Store rows of another cluster, left alone.
    other_cluster: usize,
    /// x402 `exact` payments the receiver took, per mint (in the payee's
    /// token accounts already: nothing to claim).
    exact_received: Vec<ExactReceived>,
    #[serde(skip)]
    notes: String,
}

/// Settled x402 `exact` payments of one mint.
#[derive(Debug, serde::Serialize)]
pub struct ExactReceived {
    mint: String,
    payments: u64,
    amount: u64,
    amount_ui: String,
    #[serde(skip)]
    symbol: String,
}

/// The store's settled `exact` payments, and their line for the text.
async fn exact_received(
    ctx: &Ctx,
    store: &AsyncStore,
) -> Result<(Vec<ExactReceived>, String), Failure> {
    let totals = store.call(|s| s.exact_totals()).await?;
    let mut received = Vec::with_capacity(totals.len());
    for t in totals {
        let info = ctx.mint(&t.mint.to_string()).await?;
        received.push(ExactReceived {
            mint: t.mint.to_string(),
            payments: t.payments,
            amount: t.amount,
            amount_ui: format_amount(t.amount, info.decimals),
            symbol: info.symbol,
        });
    }
    let text = received
        .iter()
        .map(|r| {
            format!(
                "\nx402 exact: {} payment(s), {} {} received in the payee's token account (settled on arrival: nothing to claim)",
                r.payments, r.amount_ui, r.symbol
            )
        })
        .collect();
    Ok((received, text))
}

/// The note for `n` vouchers of another cluster, for the text output.
fn other_cluster_text(n: usize) -> String {
    if n == 0 {
        return String::new();
    }
    format!(
        "\n{n} voucher(s) of another cluster ignored: the store keeps them for the cluster that accepted them; claim them with -u pointing there"
    )
}

impl ClaimResult {
    async fn new(
        ctx: &Ctx,
        plan: &Plan,
        done: &Execution,
        tx_format: TxFormat,
    ) -> Result<Self, Failure> {
        let mint_of: std::collections::HashMap<Pubkey, Pubkey> = plan
            .batches
            .iter()
            .flat_map(|b| b.claims.iter())
            .map(|c| (c.claim.channel, c.channel.mint))
            .collect();
        let mut per_mint: std::collections::BTreeMap<Pubkey, u64> = Default::default();
        for s in &done.settled {
            if let Some(mint) = mint_of.get(&s.channel) {
                let sum = per_mint.entry(*mint).or_default();
                *sum = sum.saturating_add(s.delta);
            }
        }
        let mut settled = Vec::with_capacity(per_mint.len());
        for (mint, amount) in per_mint {
            let info = ctx.mint(&mint.to_string()).await?;
            settled.push(MintAmount {
                mint: mint.to_string(),
                amount,
                amount_ui: format_amount(amount, info.decimals),
                symbol: info.symbol,
            });
        }
        let mut notes = String::new();
        for q in &done.quarantined {
            notes.push_str(&format!(
                "\nquarantined: channel {}: {}",
                q.channel, q.reason
            ));
        }
        notes.push_str(&lost_text(&done.lost));
        notes.push_str(&other_cluster_text(done.other_cluster));
        Ok(ClaimResult {
            tx_format,
            transactions: done.transactions,
            signatures: done.signatures.iter().map(|s| s.to_string()).collect(),
            vouchers_settled: done.vouchers_settled,
            vouchers_skipped: done.vouchers_skipped,
            settled_amount: done.settled_amount,
            settled,
            fees_lamports: done.fees,
            fees_sol: format_amount(done.fees, 9),
            deferred: plan.deferred.len(),
            expired: done.expired,
            quarantined: quarantined_json(&done.quarantined),
            lost: lost_json(&done.lost),
            bisections: done.bisections,
            earnings_created: done.earnings_created,
            other_cluster: done.other_cluster,
            exact_received: Vec::new(),
            notes,
        })
    }
}

impl std::fmt::Display for ClaimResult {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let settled = if self.settled.is_empty() {
            "nothing".to_string()
        } else {
            self.settled
                .iter()
                .map(|m| format!("{} {}", m.amount_ui, m.symbol))
                .collect::<Vec<_>>()
                .join(", ")
        };
        write!(
            f,
            "claimed: {} {} transaction(s), {} voucher(s) settled ({} skipped): {settled}; {} SOL of fees; {} waiting{}",
            self.transactions,
            self.tx_format,
            self.vouchers_settled,
            self.vouchers_skipped,
            self.fees_sol,
            self.deferred,
            self.notes
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unit_values_parse_exactly() {
        assert_eq!(
            unit_value("6666666/1000000", "--unit-lamports").unwrap(),
            UnitValue {
                lamports: 6_666_666,
                per_units: 1_000_000
            }
        );
        assert_eq!(
            unit_value("7", "--unit-lamports").unwrap(),
            UnitValue {
                lamports: 7,
                per_units: 1
            }
        );
        for bad in ["", "1.5", "-1", "3/0", "x/2", "1/2/3"] {
            assert!(unit_value(bad, "--unit-lamports").is_err(), "{bad}");
        }
        let mint = Pubkey::new_unique();
        let values = mint_values(&["sol".into(), format!("{mint}=5/2")], "--mint").unwrap();
        assert_eq!(
            values[1],
            (
                mint,
                UnitValue {
                    lamports: 5,
                    per_units: 2
                }
            )
        );
        assert_eq!(values[0].1, UnitValue::LAMPORT);
        assert!(mint_values(&[mint.to_string()], "--mint").is_err());
        assert!(mint_values(&["nope=1".into()], "--mint").is_err());
    }
}
