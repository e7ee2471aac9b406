//! The claim planner: when to claim, and how to pack claims into as few
//! transactions as the limits allow, so that fees stay a bounded fraction of
//! what is paid.
//!
//! Policy:
//!
//! - a channel whose payer requested close, or that expires within
//!   `expiry_margin_secs`, is **urgent**: claimed now, whatever the fee;
//! - any other channel is claimed when its unclaimed value pays for its share
//!   of a full transaction's fee at the target ratio (default 1%), and a
//!   transaction is only sent when its fee is at most `target_fee_ratio` of
//!   the value it settles (an under-filled last batch waits for more value);
//! - batches are packed greedily, most valuable first, measuring the real
//!   serialized transaction against 1,232 bytes, 64 accounts and the compute
//!   budget the fee model sets.
//!
//! Fees are in lamports and payments in a mint's base units, so the planner
//! values each mint in lamports per base unit (`PlannerConfig::prices`; wrapped
//! SOL is 1). Confirmed claims update the store from the program's `Claimed`
//! event: settled vouchers are confirmed, skipped (stale) ones too, so nothing
//! is retried forever; a channel that no longer exists is marked closed.

use crate::{
    accounts,
    error::{ClientError, Result},
    events::MicropayEvent,
    instructions::{self as mix, VoucherClaim},
    ledger::Ledger,
    pda,
    store::{StoredVoucher, VoucherStore},
};
use anchor_lang::prelude::Pubkey;
use anchor_spl::token::spl_token;
use micropay::{events::SkipReason, state::Channel};
use solana_compute_budget_interface::ComputeBudgetInstruction;
use solana_sdk::{
    hash::Hash,
    instruction::Instruction,
    signature::{Keypair, Signer},
    transaction::Transaction,
};
use std::collections::HashMap;

/// Largest serialized transaction, bytes (an IPv6 packet minus headers).
pub const PACKET_DATA_SIZE: usize = 1_232;
/// Most accounts one transaction may lock.
pub const MAX_ACCOUNTS: usize = 64;
/// Compute units one transaction may use.
pub const MAX_COMPUTE_UNITS: u32 = 1_400_000;

/// How the cluster charges, and the compute model of a claim.
#[derive(Clone, Copy, Debug)]
pub struct FeeModel {
    pub lamports_per_signature: u64,
    /// Priority fee, micro-lamports per requested compute unit.
    pub compute_unit_price: u64,
    /// Compute units of a claim instruction besides its vouchers (dispatch,
    /// the event CPI, the compute budget instructions).
    pub base_compute_units: u32,
    /// Compute units per voucher: ≈12,800 for the strict verification
    /// (measured on SBF) plus account (de)serialization.
    pub compute_units_per_voucher: u32,
    /// Safety margin on the requested limit, percent.
    pub margin_percent: u32,
}

impl Default for FeeModel {
    fn default() -> Self {
        FeeModel {
            lamports_per_signature: 5_000,
            compute_unit_price: 0,
            base_compute_units: 10_000,
            compute_units_per_voucher: 15_000,
            margin_percent: 10,
        }
    }
}

impl FeeModel {
    /// The compute-unit limit requested for `vouchers` vouchers.
    pub fn compute_limit(&self, vouchers: usize) -> u32 {
        let per = u64::from(self.compute_units_per_voucher);
        let raw =
            u64::from(self.base_compute_units).saturating_add(per.saturating_mul(vouchers as u64));
        let with_margin = raw.saturating_mul(100 + u64::from(self.margin_percent)) / 100;
        u32::try_from(with_margin)
            .unwrap_or(u32::MAX)
            .min(MAX_COMPUTE_UNITS)
    }

    /// Lamports a claim transaction of `vouchers` vouchers costs (one signature).
    pub fn transaction_fee(&self, vouchers: usize) -> u64 {
        let priority = u128::from(self.compute_unit_price)
            .saturating_mul(u128::from(self.compute_limit(vouchers)))
            .div_ceil(1_000_000);
        self.lamports_per_signature
            .saturating_add(u64::try_from(priority).unwrap_or(u64::MAX))
    }

    /// The compute budget instructions for a claim of `vouchers` vouchers.
    pub fn budget_instructions(&self, vouchers: usize) -> Vec<Instruction> {
        let mut ixs = vec![ComputeBudgetInstruction::set_compute_unit_limit(
            self.compute_limit(vouchers),
        )];
        if self.compute_unit_price > 0 {
            ixs.push(ComputeBudgetInstruction::set_compute_unit_price(
                self.compute_unit_price,
            ));
        }
        ixs
    }
}

#[derive(Clone, Debug)]
pub struct PlannerConfig {
    /// Most a claim transaction's fee may be, as a fraction of what it settles.
    pub target_fee_ratio: f64,
    /// Channels expiring within this many seconds are claimed at once.
    pub expiry_margin_secs: i64,
    /// Lamports per base unit of each mint (wrapped SOL is always 1).
    pub prices: HashMap<Pubkey, f64>,
    pub fees: FeeModel,
}

impl Default for PlannerConfig {
    fn default() -> Self {
        PlannerConfig {
            target_fee_ratio: 0.01,
            expiry_margin_secs: 3_600,
            prices: HashMap::new(),
            fees: FeeModel::default(),
        }
    }
}

impl PlannerConfig {
    /// Lamports per base unit of `mint`.
    pub fn price(&self, mint: &Pubkey) -> Result<f64> {
        if *mint == spl_token::native_mint::ID {
            return Ok(1.0);
        }
        self.prices.get(mint).copied().ok_or_else(|| {
            ClientError::Invalid(format!(
                "no price for mint {mint}: set how many lamports one base unit is worth"
            ))
        })
    }
}

/// One voucher the planner decided to claim.
#[derive(Clone, Debug)]
pub struct PlannedClaim {
    pub stored: StoredVoucher,
    pub channel: Channel,
    /// What it settles now: `min(amount, allocation) − claimed`, base units.
    pub value: u64,
    /// Close requested or expiring soon.
    pub urgent: bool,
    pub claim: VoucherClaim,
}

/// One claim transaction.
#[derive(Clone, Debug)]
pub struct Batch {
    pub claims: Vec<PlannedClaim>,
    /// Lamports it will cost.
    pub fee: u64,
    /// Value it settles, in lamports.
    pub value_lamports: f64,
    /// Serialized size, bytes.
    pub size: usize,
}

#[derive(Clone, Debug, Default)]
pub struct Plan {
    pub batches: Vec<Batch>,
    /// Channels whose voucher waits for more value.
    pub deferred: Vec<Pubkey>,
}

impl Plan {
    pub fn fees(&self) -> u64 {
        self.batches.iter().map(|b| b.fee).sum()
    }

    pub fn vouchers(&self) -> usize {
        self.batches.iter().map(|b| b.claims.len()).sum()
    }
}

/// What executing a plan did.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Execution {
    pub transactions: usize,
    pub vouchers_settled: usize,
    pub vouchers_skipped: usize,
    /// Lamports paid in fees.
    pub fees: u64,
    /// Base units settled (creator + fee shares).
    pub settled_amount: u64,
    /// Every settled voucher as the program reported it.
    pub settled: Vec<micropay::events::SettledVoucher>,
}

pub struct Planner {
    pub config: PlannerConfig,
}

impl Planner {
    pub fn new(config: PlannerConfig) -> Self {
        Planner { config }
    }

    fn transaction(&self, claims: &[VoucherClaim], payer: &Pubkey) -> Transaction {
        let mut ixs = self.config.fees.budget_instructions(claims.len());
        ixs.push(mix::claim(claims));
        let message =
            solana_sdk::message::Message::new_with_blockhash(&ixs, Some(payer), &Hash::default());
        Transaction::new_unsigned(message)
    }

    /// Serialized size and account count of a claim transaction.
    fn measure(&self, claims: &[VoucherClaim], payer: &Pubkey) -> (usize, usize) {
        let tx = self.transaction(claims, payer);
        let size = bincode::serialized_size(&tx).map_or(usize::MAX, |s| s as usize);
        (size, tx.message.account_keys.len())
    }

    fn fits(&self, claims: &[VoucherClaim], payer: &Pubkey) -> Option<usize> {
        let (size, accounts) = self.measure(claims, payer);
        let compute = u64::from(self.config.fees.compute_limit(claims.len()));
        (size <= PACKET_DATA_SIZE
            && accounts <= MAX_ACCOUNTS
            && compute < u64::from(MAX_COMPUTE_UNITS)
            && claims.len() <= usize::from(micropay::constants::MAX_VOUCHERS_PER_CLAIM))
        .then_some(size)
    }

    /// Reads the store and the chain and decides what to claim now.
    /// Vouchers that can pay nothing more are confirmed in the store, and
    /// those of closed channels marked closed.
    pub async fn plan(
        &self,
        ledger: &dyn Ledger,
        store: &dyn VoucherStore,
        fee_payer: &Pubkey,
    ) -> Result<Plan> {
        let stored = store.claimable()?;
        if stored.is_empty() {
            return Ok(Plan::default());
        }
        let addresses: Vec<Pubkey> = stored.iter().map(|s| s.voucher.channel).collect();
        let states = accounts::channels(ledger, &addresses).await?;
        let now = ledger.unix_timestamp().await?;

        let mut candidates = Vec::new();
        for (s, state) in stored.into_iter().zip(states) {
            let Some(channel) = state else {
                store.mark_closed(&s.voucher.channel)?;
                continue;
            };
            let Some(value) =
                micropay::math::claimable(s.voucher.amount, channel.allocation, channel.claimed)
            else {
                store.mark_claimed(&s.voucher.channel, channel.claimed, true)?;
                continue;
            };
            let urgent = channel.close_requested()
                || (channel.expires_at != 0
                    && channel.expires_at.saturating_sub(now) <= self.config.expiry_margin_secs);
            let fee_earnings = (channel.fee_bps > 0)
                .then(|| pda::earnings(&channel.fee_recipient, &channel.mint).0);
            let claim = VoucherClaim {
                channel: s.voucher.channel,
                creator_earnings: pda::earnings(&channel.creator, &channel.mint).0,
                fee_earnings,
                amount: s.voucher.amount,
                signature: s.voucher.signature,
            };
            candidates.push(PlannedClaim {
                stored: s,
                channel,
                value,
                urgent,
                claim,
            });
        }

        // The fee share of one voucher in a full transaction: a voucher worth
        // less than that at the target ratio cannot be claimed economically.
        let full = self.capacity(fee_payer);
        let share = self.config.fees.transaction_fee(full) as f64 / full as f64;
        let mut plan = Plan::default();
        let mut eligible = Vec::new();
        for c in candidates {
            let lamports = c.value as f64 * self.config.price(&c.channel.mint)?;
            if c.urgent || lamports * self.config.target_fee_ratio >= share {
                eligible.push((lamports, c));
            } else {
                plan.deferred.push(c.claim.channel);
            }
        }
        // urgent first, then most valuable
        eligible.sort_by(|(a_value, a), (b_value, b)| {
            b.urgent.cmp(&a.urgent).then(b_value.total_cmp(a_value))
        });

        let mut current: Vec<(f64, PlannedClaim)> = Vec::new();
        let mut batches = Vec::new();
        for (lamports, c) in eligible {
            let mut trial: Vec<VoucherClaim> =
                current.iter().map(|(_, p)| p.claim.clone()).collect();
            trial.push(c.claim.clone());
            if self.fits(&trial, fee_payer).is_none() && !current.is_empty() {
                batches.push(std::mem::take(&mut current));
            }
            current.push((lamports, c));
        }
        if !current.is_empty() {
            batches.push(current);
        }
        for batch in batches {
            let claims: Vec<VoucherClaim> = batch.iter().map(|(_, p)| p.claim.clone()).collect();
            let size = self.fits(&claims, fee_payer).ok_or_else(|| {
                ClientError::Invalid("a single voucher does not fit a transaction".into())
            })?;
            let fee = self.config.fees.transaction_fee(claims.len());
            let value_lamports: f64 = batch.iter().map(|(l, _)| *l).sum();
            let urgent = batch.iter().any(|(_, p)| p.urgent);
            if !urgent && fee as f64 > self.config.target_fee_ratio * value_lamports {
                plan.deferred.extend(claims.iter().map(|c| c.channel));
                continue;
            }
            plan.batches.push(Batch {
                claims: batch.into_iter().map(|(_, p)| p).collect(),
                fee,
                value_lamports,
                size,
            });
        }
        Ok(plan)
    }

    /// How many vouchers fit one transaction (for distinct channels, each with
    /// its own creator and fee recipient: the worst case).
    pub fn capacity(&self, fee_payer: &Pubkey) -> usize {
        let mut claims = Vec::new();
        loop {
            claims.push(VoucherClaim {
                channel: Pubkey::new_unique(),
                creator_earnings: Pubkey::new_unique(),
                fee_earnings: None,
                amount: u64::MAX,
                signature: [0xff; 64],
            });
            if self.fits(&claims, fee_payer).is_none() {
                return claims.len().saturating_sub(1).max(1);
            }
        }
    }

    /// Sends the plan's transactions, paid by `fee_payer`, and records the
    /// outcome in the store. Stops at the first failed transaction (its
    /// vouchers stay claimable).
    pub async fn execute(
        &self,
        plan: &Plan,
        ledger: &dyn Ledger,
        store: &dyn VoucherStore,
        fee_payer: &Keypair,
    ) -> Result<Execution> {
        let mut report = Execution::default();
        for batch in &plan.batches {
            let claims: Vec<VoucherClaim> = batch.claims.iter().map(|c| c.claim.clone()).collect();
            let mut ixs = self.config.fees.budget_instructions(claims.len());
            ixs.push(mix::claim(&claims));
            let channels: Vec<Pubkey> = claims.iter().map(|c| c.channel).collect();
            let sent = ledger.send(&ixs, fee_payer, &[]).await?;
            store.mark_submitted(&channels, &sent.signature.to_string())?;
            report.transactions = report.transactions.saturating_add(1);
            report.fees = report.fees.saturating_add(sent.fee);
            for event in &sent.events {
                let MicropayEvent::Claimed(claimed) = event else {
                    continue;
                };
                for s in &claimed.settled {
                    let planned = batch.claims.iter().find(|c| c.claim.channel == s.channel);
                    let settled = planned.is_some_and(|p| {
                        s.claimed >= p.stored.voucher.amount.min(p.channel.allocation)
                    });
                    store.mark_claimed(&s.channel, s.claimed, settled)?;
                    report.vouchers_settled = report.vouchers_settled.saturating_add(1);
                    report.settled_amount = report.settled_amount.saturating_add(s.delta);
                    report.settled.push(s.clone());
                }
                for s in &claimed.skipped {
                    match s.reason {
                        // settled by someone else: nothing more to claim
                        SkipReason::NotAhead => store.mark_claimed(&s.channel, s.claimed, true)?,
                        // the program saw the channel gone on this cluster
                        SkipReason::ChannelClosed => store.mark_closed(&s.channel)?,
                        // stays pending: the account can be created again
                        SkipReason::EarningsMissing | SkipReason::FeeEarningsMissing => {}
                    }
                    report.vouchers_skipped = report.vouchers_skipped.saturating_add(1);
                }
            }
        }
        Ok(report)
    }

    /// Plans and executes in one call.
    pub async fn run(
        &self,
        ledger: &dyn Ledger,
        store: &dyn VoucherStore,
        fee_payer: &Keypair,
    ) -> Result<(Plan, Execution)> {
        let plan = self.plan(ledger, store, &fee_payer.pubkey()).await?;
        let execution = self.execute(&plan, ledger, store, fee_payer).await?;
        Ok((plan, execution))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fee_model_limits_and_priority() {
        let mut fees = FeeModel::default();
        assert_eq!(fees.compute_limit(1), 27_500);
        assert_eq!(fees.transaction_fee(10), 5_000);
        fees.compute_unit_price = 1_000_000; // 1 lamport per CU
        assert_eq!(fees.transaction_fee(1), 5_000 + 27_500);
        assert_eq!(fees.compute_limit(1_000), MAX_COMPUTE_UNITS);
        assert_eq!(fees.budget_instructions(3).len(), 2);
    }

    #[test]
    fn capacity_is_bounded_by_transaction_size() {
        let planner = Planner::new(PlannerConfig::default());
        let payer = Pubkey::new_unique();
        let n = planner.capacity(&payer);
        // 64-byte signature + 8-byte amount + 3 indexes + 2 distinct accounts
        // per voucher: about 7 vouchers fit a legacy transaction
        assert!((5..=9).contains(&n), "{n}");
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
}
