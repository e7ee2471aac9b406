//! `micropay claim`: run the planner over the receiver store and settle what
//! is worth settling (you pay the fees, `-k`; claims are permissionless).

use super::{
    context::{store_path, Ctx},
    Cli, Failure,
};
use crate::{
    planner::{Planner, PlannerConfig},
    store::SqliteStore,
};
use clap::Args;
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct ClaimArgs {
    /// Print the plan and its fees; send nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Most a claim's fee may be, as a fraction of what it settles.
    #[arg(long, default_value_t = 0.01)]
    pub target_fee_ratio: f64,
    /// Lamports one base unit of non-SOL mints is worth (for the fee ratio).
    #[arg(long)]
    pub unit_lamports: Option<f64>,
    /// Priority fee, micro-lamports per compute unit.
    #[arg(long, default_value_t = 0)]
    pub compute_unit_price: u64,
    /// Receiver store.
    #[arg(long)]
    pub store: Option<PathBuf>,
}

pub async fn run(cli: &Cli, args: &ClaimArgs) -> Result<(), Failure> {
    let ctx = Ctx::new(cli)?;
    let store = SqliteStore::open(store_path(args.store.as_ref(), "receiver"))?;
    let mut config = PlannerConfig {
        target_fee_ratio: args.target_fee_ratio,
        ..PlannerConfig::default()
    };
    config.fees.compute_unit_price = args.compute_unit_price;
    if let Some(price) = args.unit_lamports {
        for v in crate::store::VoucherStore::claimable(&store)? {
            config.prices.insert(v.mint, price);
        }
    }
    let planner = Planner::new(config);
    let plan = planner
        .plan(ctx.ledger(), &store, &ctx.me())
        .await
        .map_err(|e| {
            let mut f = Failure::from(e);
            if f.message.contains("no price for mint") {
                f.message.push_str(" (pass --unit-lamports)");
            }
            f
        })?;
    let planned = serde_json::json!({
        "transactions": plan.batches.len(),
        "vouchers": plan.vouchers(),
        "fees_lamports": plan.fees(),
        "deferred": plan.deferred.len(),
        "batches": plan.batches.iter().map(|b| serde_json::json!({
            "vouchers": b.claims.len(), "bytes": b.size, "fee_lamports": b.fee, "value_lamports": b.value_lamports,
            "urgent": b.claims.iter().any(|c| c.urgent),
        })).collect::<Vec<_>>(),
    });
    if args.dry_run {
        ctx.print(planned, || {
            format!(
                "plan: {} transaction(s), {} voucher(s), {} lamports of fees; {} voucher(s) wait for more value",
                plan.batches.len(),
                plan.vouchers(),
                plan.fees(),
                plan.deferred.len()
            )
        });
        return Ok(());
    }
    let done = planner
        .execute(&plan, ctx.ledger(), &store, &ctx.keypair)
        .await?;
    ctx.print(
        serde_json::json!({
            "transactions": done.transactions,
            "vouchers_settled": done.vouchers_settled,
            "vouchers_skipped": done.vouchers_skipped,
            "settled_amount": done.settled_amount,
            "fees_lamports": done.fees,
            "deferred": plan.deferred.len(),
        }),
        || {
            format!(
                "claimed: {} transaction(s), {} voucher(s) settled ({} stale), {} base units, {} lamports of fees; {} waiting",
                done.transactions, done.vouchers_settled, done.vouchers_skipped, done.settled_amount, done.fees, plan.deferred.len()
            )
        },
    );
    Ok(())
}
