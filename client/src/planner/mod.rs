//! The claim planner: when to claim, and how to pack claims into as few
//! transactions as the limits allow, so that fees stay a bounded fraction of
//! what is paid — and never at the cost of an accepted voucher.
//!
//! Three steps, I/O apart from decisions:
//!
//! 1. [`Planner::reconcile`] (reads only): the store's open rows and the
//!    chain's view of their channels, at confirmed commitment, on the cluster
//!    each row was seen on. It yields candidates and *facts* (a channel seen,
//!    or closed on positive evidence); [`Planner::apply`] writes the facts with
//!    the store's compare-and-set rules. A dry run stops before `apply`.
//! 2. [`Planner::plan`] (pure): from the candidates, the clock and the fee
//!    model, with integer lamport values per mint ([`UnitValue`]) and an integer
//!    fee target (parts per million) — no floating-point money.
//! 3. [`Planner::execute`]: creates missing earnings accounts, then in
//!    rounds: signs and sends **every** batch (each simulated first), waits
//!    for all of them **together** ([`Ledger::confirm_many`]: one status
//!    query per poll), confirms by reading every claimed channel's `claimed`
//!    at confirmed commitment in one read — not only the event — and
//!    **bisects** a failing batch into the next round so that the healthy
//!    vouchers still settle; a voucher that fails alone is **quarantined**
//!    (with its reason; retried alone on later runs, never blocking others).
//!
//! Policy:
//!
//! - a channel whose payer requested close, or that expires within
//!   `expiry_margin_secs`, is **urgent**: claimed now, whatever the fee;
//! - any other channel is claimed when its unclaimed value pays for its share
//!   of a full transaction's fee at the target (default 1%), and a transaction
//!   is only sent when its fee is at most the target of the value it settles;
//! - batches are packed for the cluster's transaction format
//!   ([`PlannerConfig::format`], from [`Ledger::transaction_format`]):
//!   legacy (1,232 bytes; no compute-budget instruction when it buys nothing,
//!   which makes room for one more voucher) or v1 (4,096 bytes, the compute
//!   limit, priority fee and loaded-data limit in the message's config).
//!   Vouchers are grouped by creator and fee recipient (channels of one
//!   creator share its earnings account: 9 per legacy transaction, 35 per
//!   v1, against 7 and 27 for distinct creators), most valuable group first,
//!   and packed greedily, measuring the real serialized transaction against
//!   the format's size, 64 accounts and the compute budget the fee model
//!   sets. The program's cap of 64 vouchers per claim is above both formats'
//!   capacity, so it stays.
//!
//! Value a channel could no longer collect because it closed before its
//! voucher was claimed is reported loudly: in [`Execution::lost`] (and the
//! CLI's output) and as a `tracing` warning.

//!
//! The code follows the steps: `reconcile` (step 1 and the facts it
//! writes), `plan` (step 2 and the packing it measures), `execute` (steps 0
//! and 3); `config` holds the fee model and the policy, `types` what the
//! steps hand each other.

mod config;
mod execute;
mod plan;
mod reconcile;
mod types;

pub use config::*;
#[cfg(test)]
pub(crate) use plan::largest_claim;
pub use plan::voucher_claim;
pub use reconcile::apply_facts;
pub use types::*;

use crate::{
    error::{ClientError, Result},
    ledger::{sign_transaction, DynSigner, Ledger, Sent},
    store::{
        rules::{self, CloseEvidence, Sighting},
        AsyncStore, ClaimStatus, ReceiverStore, VoucherRecord,
    },
    v1::{self, TxFormat},
};
use anchor_lang::prelude::Pubkey;
use anchor_spl::token::spl_token;
use micropay::{events::SkipReason, state::Channel};
use micropay_sdk::{
    events::MicropayEvent,
    instructions::{self as mix, VoucherClaim},
    pda,
};
use solana_compute_budget_interface::ComputeBudgetInstruction;
use solana_sdk::{
    hash::Hash,
    instruction::Instruction,
    signature::{Signature, Signer},
    transaction::Transaction,
};
use std::collections::{BTreeSet, HashMap};

/// The claim planner: resume, reconcile, plan, execute.
pub struct Planner {
    /// What it aims for.
    pub config: PlannerConfig,
}

impl Planner {
    /// A planner with `config`.
    pub fn new(config: PlannerConfig) -> Self {
        Planner { config }
    }

    /// Resumes, reconciles, applies, plans and executes in one call.
    pub async fn run(
        &self,
        ledger: &dyn Ledger,
        store: &AsyncStore,
        fee_payer: &DynSigner,
    ) -> Result<(Plan, Execution)> {
        self.resume(ledger, store).await?;
        let recon = self.reconcile(ledger, store).await?;
        let applied = self.apply(store, &recon).await?;
        let planner = self.priced(ledger, &recon).await?;
        let plan = planner.plan(&recon, &fee_payer.pubkey());
        let mut execution = planner.execute(&plan, ledger, store, fee_payer).await?;
        execution.add_lost(applied.lost);
        execution.other_cluster = recon.other_cluster.len();
        Ok((plan, execution))
    }

    /// The urgency of a reconciliation's work: a deadline when any voucher
    /// is urgent.
    pub fn urgency(&self, recon: &Reconciliation) -> Urgency {
        let margin = self.config.expiry_margin_secs;
        if recon.candidates.iter().any(|c| c.urgent(recon.now, margin)) {
            Urgency::Deadline
        } else {
            Urgency::Routine
        }
    }

    /// This planner with its compute-unit price raised to what the cluster's
    /// recent fees on the candidates' channels ask for the work's urgency
    /// (never below the configured price).
    pub async fn priced(&self, ledger: &dyn Ledger, recon: &Reconciliation) -> Result<Planner> {
        let mut config = self.config.clone();
        if recon.candidates.is_empty() {
            return Ok(Planner { config });
        }
        // the RPC method takes at most 128 accounts
        let accounts: Vec<Pubkey> = recon
            .candidates
            .iter()
            .take(128)
            .map(|c| c.claim.channel)
            .collect();
        let samples = ledger.recent_prioritization_fees(&accounts).await?;
        let price = config.priority.price(&samples, self.urgency(recon));
        config.fees.compute_unit_price = config.fees.compute_unit_price.max(price);
        Ok(Planner { config })
    }

    /// Reconciles and plans without writing anything (a dry run).
    pub async fn dry_run(
        &self,
        ledger: &dyn Ledger,
        store: &AsyncStore,
        fee_payer: &Pubkey,
    ) -> Result<(Reconciliation, Plan)> {
        let recon = self.reconcile(ledger, store).await?;
        // priced as a real run would be (reading fees writes nothing)
        let plan = self.priced(ledger, &recon).await?.plan(&recon, fee_payer);
        Ok((recon, plan))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn priority_follows_recent_fees_by_urgency_and_is_capped() {
        let policy = PriorityPolicy {
            routine_percentile: 50,
            deadline_percentile: 90,
            max_compute_unit_price: 8,
        };
        assert_eq!(policy.price(&[], Urgency::Deadline), 0, "no fee market");
        let samples: Vec<u64> = (1..=10).rev().collect();
        assert_eq!(policy.price(&samples, Urgency::Routine), 5);
        assert_eq!(policy.price(&samples, Urgency::Deadline), 8, "capped at 8");
        let uncapped = PriorityPolicy {
            max_compute_unit_price: u64::MAX,
            ..policy
        };
        assert_eq!(uncapped.price(&samples, Urgency::Deadline), 9);
        let extremes = PriorityPolicy {
            routine_percentile: 0,
            deadline_percentile: 200,
            max_compute_unit_price: u64::MAX,
        };
        assert_eq!(extremes.price(&samples, Urgency::Routine), 1);
        assert_eq!(extremes.price(&samples, Urgency::Deadline), 10);
        assert_eq!(extremes.price(&[u64::MAX], Urgency::Deadline), u64::MAX);
    }

    #[test]
    fn fee_model_limits_and_priority() {
        let mut fees = FeeModel::default();
        assert_eq!(fees.compute_limit(1), 27_500);
        assert_eq!(fees.transaction_fee(10), 5_000);
        fees.compute_unit_price = 1_000_000; // 1 lamport per CU
        assert_eq!(fees.transaction_fee(1), 5_000 + 27_500);
        assert_eq!(fees.compute_limit(1_000), MAX_COMPUTE_UNITS);
        assert_eq!(fees.budget_instructions(3).len(), 2);
        // without a priority fee a limit is set only when the default is short
        fees.compute_unit_price = 0;
        assert_eq!(fees.compute_limit(11), 192_500);
        assert!(fees.budget_instructions(11).is_empty());
        assert_eq!(fees.compute_limit(12), 209_000);
        assert_eq!(fees.budget_instructions(12).len(), 1);
    }

    #[test]
    fn fee_targets_convert_to_ppm() {
        assert_eq!(ppm_from_ratio(0.01), Some(10_000));
        assert_eq!(ppm_from_ratio(1.0), Some(1_000_000));
        assert_eq!(ppm_from_ratio(0.000_000_1), Some(1));
        for bad in [0.0, -1.0, 5.0, f64::NAN, f64::INFINITY] {
            assert_eq!(ppm_from_ratio(bad), None, "{bad}");
        }
    }

    #[test]
    fn unit_values_are_exact_integers() {
        // a 6-decimal token at 6,666,666 lamports per whole token
        let usdc = UnitValue {
            lamports: 6_666_666,
            per_units: 1_000_000,
        };
        assert_eq!(usdc.lamports_of(1_000_000), 6_666_666);
        assert_eq!(usdc.lamports_of(3), 19);
        assert_eq!(usdc.lamports_of(u64::MAX), u64::MAX);
        assert_eq!(UnitValue::LAMPORT.lamports_of(42), 42);
        let broken = UnitValue {
            lamports: 1,
            per_units: 0,
        };
        assert_eq!(broken.lamports_of(5), 0);
    }

    #[test]
    fn capacity_is_bounded_by_transaction_size() {
        let planner = Planner::new(PlannerConfig::default());
        let payer = Pubkey::new_unique();
        let n = planner.capacity(&payer);
        // 64-byte signature + 8-byte amount + 3 indexes + 2 distinct accounts
        // per voucher: 7 vouchers fit a legacy transaction (6 with a
        // compute-budget instruction)
        assert_eq!(n, 7);
        let mut priced = PlannerConfig::default();
        priced.fees.compute_unit_price = 1;
        assert_eq!(Planner::new(priced).capacity(&payer), 6);
        // channels of one creator share its earnings account: 9 fit
        let earnings = Pubkey::new_unique();
        let one_creator = |n: usize| -> Vec<VoucherClaim> {
            (0..n).map(|_| largest_claim(Some(earnings))).collect()
        };
        assert!(planner.fits(&one_creator(9), &payer).is_some());
        assert!(planner.fits(&one_creator(10), &payer).is_none());
        let claims: Vec<VoucherClaim> = (0..n)
            .map(|_| VoucherClaim {
                channel: Pubkey::new_unique(),
                creator_earnings: Pubkey::new_unique(),
                fee_earnings: None,
                amount: 1,
                signature: [1; 64],
            })
            .collect();
        assert!(planner.fits(&claims, &payer).is_some());
        let mut more = claims.clone();
        more.push(claims[0].clone());
        more.last_mut().unwrap().channel = Pubkey::new_unique();
        more.last_mut().unwrap().creator_earnings = Pubkey::new_unique();
        assert!(planner.fits(&more, &payer).is_none());
    }

    /// v1 transactions carry about four times the vouchers of a legacy one;
    /// the compute limit always travels in the message (no instruction).
    #[test]
    fn v1_capacity_and_the_compute_limit_in_the_message() {
        let payer = Pubkey::new_unique();
        let planner = Planner::new(PlannerConfig {
            format: TxFormat::V1,
            ..PlannerConfig::default()
        });
        let one_creator = planner.capacity_one_creator(&payer);
        let distinct = planner.capacity(&payer);
        eprintln!("v1: {one_creator} vouchers of one creator, {distinct} of distinct creators");
        assert!(one_creator >= 30, "{one_creator}");
        assert!(distinct >= 25 && distinct < one_creator, "{distinct}");
        let legacy = Planner::new(PlannerConfig::default());
        assert!(legacy.capacity_one_creator(&payer) >= 9);
        assert!(legacy.capacity(&payer) >= 7);
        // the largest v1 claim: within 4,096 bytes and 64 accounts, with its
        // limit and priority fee in the config
        let mut priced = planner.config.clone();
        priced.fees.compute_unit_price = 1_000;
        let priced = Planner::new(priced);
        let earnings = Pubkey::new_unique();
        let claims: Vec<VoucherClaim> = (0..priced.capacity_one_creator(&payer))
            .map(|_| largest_claim(Some(earnings)))
            .collect();
        let m = priced
            .v1_message(&claims, &payer, &Hash::default())
            .unwrap();
        assert!(v1::transaction_size(&m) <= v1::MAX_TRANSACTION_SIZE);
        assert!(m.account_keys.len() <= v1::MAX_ACCOUNTS);
        assert_eq!(m.instructions.len(), 1, "no compute-budget instruction");
        let limit = priced.config.fees.compute_limit(claims.len());
        assert_eq!(m.config.compute_unit_limit, Some(limit));
        assert_eq!(
            m.config.priority_fee,
            Some(u64::from(limit).saturating_mul(1_000).div_ceil(1_000_000))
        );
        assert_eq!(
            m.config.loaded_accounts_data_size_limit,
            Some(v1::LOADED_ACCOUNTS_DATA_SIZE_LIMIT)
        );
    }

    /// Vouchers of the same creator (and fee recipient) are packed together,
    /// whatever order they come in: each group is contiguous, and the plan
    /// needs no more transactions than the groups' own sizes ask for.
    #[test]
    fn claims_are_packed_by_creator() {
        let payer = Pubkey::new_unique();
        let sol = spl_token::native_mint::ID;
        let groups: Vec<Pubkey> = (0..3).map(|_| Pubkey::new_unique()).collect();
        let mut candidates = Vec::new();
        for i in 0..36 {
            let mut c = candidate(sol, 10_000_000 + i, 0);
            c.claim.creator_earnings = groups[i as usize % 3];
            candidates.push(c);
        }
        let recon = Reconciliation {
            candidates,
            ..Reconciliation::default()
        };
        for format in [TxFormat::Legacy, TxFormat::V1] {
            let planner = Planner::new(PlannerConfig {
                format,
                ..PlannerConfig::default()
            });
            let plan = planner.plan(&recon, &payer);
            let order: Vec<Pubkey> = plan
                .batches
                .iter()
                .flat_map(|b| b.claims.iter().map(|c| c.claim.creator_earnings))
                .collect();
            assert_eq!(order.len(), 36);
            let changes = order.windows(2).filter(|w| w[0] != w[1]).count();
            assert_eq!(changes, 2, "{format}: each creator's vouchers together");
            let per = planner.capacity_one_creator(&payer);
            // 12 per creator: at most one transaction more per group boundary
            assert!(
                plan.batches.len() <= 36usize.div_ceil(per) + 2,
                "{format}: {} transactions",
                plan.batches.len()
            );
            if format == TxFormat::V1 {
                assert_eq!(plan.batches.len(), 2, "36 vouchers of 3 creators");
            }
        }
    }

    fn candidate(mint: Pubkey, value: u64, close_requested_at: i64) -> Candidate {
        let channel = Channel {
            escrow: Pubkey::new_unique(),
            mint,
            creator: Pubkey::new_unique(),
            signer: Pubkey::new_unique(),
            allocation: value,
            claimed: 0,
            fee_recipient: Pubkey::default(),
            fee_bps: 0,
            dispute_window_secs: 900,
            expires_at: 0,
            close_requested_at,
            id: 0,
            nonce: 0,
            bump: 0,
        };
        let address = Pubkey::new_unique();
        Candidate {
            record: VoucherRecord {
                voucher: micropay_sdk::voucher::Voucher {
                    channel: address,
                    amount: value,
                    signature: [1; 64],
                },
                creator: channel.creator,
                mint,
                claimed: 0,
                allocation: value,
                status: ClaimStatus::Pending,
                claim_signature: None,
                claim_valid_until: None,
                cluster: None,
                seen_slot: 0,
                note: None,
                version: 1,
            },
            claim: VoucherClaim {
                channel: address,
                creator_earnings: Pubkey::new_unique(),
                fee_earnings: None,
                amount: value,
                signature: [1; 64],
            },
            channel,
            value,
        }
    }

    /// The plan is a pure function of candidates, clock and fee model:
    /// cheap vouchers wait, urgent ones go first whatever their value, and a
    /// mint without a value is quarantined without stopping the others.
    #[test]
    fn plan_is_pure_and_integer() {
        let planner = Planner::new(PlannerConfig::default());
        let payer = Pubkey::new_unique();
        let sol = spl_token::native_mint::ID;
        let unknown = Pubkey::new_unique();
        let recon = Reconciliation {
            now: 10_000,
            candidates: vec![
                candidate(sol, 10_000, 0),         // 50% fee: waits
                candidate(sol, 50, 9_000),         // closing: urgent
                candidate(sol, 10_000_000, 0),     // worth it
                candidate(unknown, 10_000_000, 0), // cannot be valued
            ],
            ..Reconciliation::default()
        };
        let plan = planner.plan(&recon, &payer);
        let again = planner.plan(&recon, &payer);
        assert_eq!(format!("{plan:?}"), format!("{again:?}"));
        assert_eq!(plan.deferred, vec![recon.candidates[0].claim.channel]);
        assert_eq!(plan.quarantine.len(), 1);
        assert_eq!(
            plan.quarantine[0].channel,
            recon.candidates[3].claim.channel
        );
        assert_eq!(plan.batches.len(), 1);
        let batch = &plan.batches[0];
        assert!(batch.urgent);
        assert_eq!(
            batch.claims[0].claim.channel,
            recon.candidates[1].claim.channel
        );
        assert_eq!(batch.value_lamports, 10_000_050);
        // exactly at the target ratio: 5,000 lamports on 500,000 is 1%
        let edge = Reconciliation {
            now: 0,
            candidates: vec![candidate(sol, 500_000, 0)],
            ..Reconciliation::default()
        };
        assert_eq!(planner.plan(&edge, &payer).batches.len(), 1);
        let below = Reconciliation {
            now: 0,
            candidates: vec![candidate(sol, 499_999, 0)],
            ..Reconciliation::default()
        };
        assert!(planner.plan(&below, &payer).batches.is_empty());
    }
}
