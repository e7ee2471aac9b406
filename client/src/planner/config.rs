//! The fee model, the fee target and the policies the planner follows.

use super::*;

pub use crate::v1::PACKET_DATA_SIZE;
/// Most accounts one transaction may lock.
pub const MAX_ACCOUNTS: usize = 64;
/// Compute units one transaction may use.
pub const MAX_COMPUTE_UNITS: u32 = 1_400_000;
/// Compute units a transaction without a compute-budget instruction gets for
/// each instruction that is not a builtin (a claim transaction has one).
pub const DEFAULT_COMPUTE_UNITS: u32 = 200_000;
/// Parts per million in one whole.
pub const PPM: u64 = 1_000_000;

/// How the cluster charges, and the compute model of a claim.
#[derive(Clone, Copy, Debug)]
pub struct FeeModel {
    /// Base fee per signature, lamports.
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
        self.lamports_per_signature
            .saturating_add(self.priority_fee(vouchers))
    }

    /// The priority fee of a claim of `vouchers` vouchers, lamports: the
    /// compute-unit price times the limit requested, rounded up (what a
    /// legacy transaction pays, and what a v1 message states).
    pub fn priority_fee(&self, vouchers: usize) -> u64 {
        let priority = u128::from(self.compute_unit_price)
            .saturating_mul(u128::from(self.compute_limit(vouchers)))
            .div_ceil(1_000_000);
        u64::try_from(priority).unwrap_or(u64::MAX)
    }

    /// The compute budget instructions for a claim of `vouchers` vouchers:
    /// none when they would buy nothing (no priority fee, and the default
    /// limit covers the claim) — their 40 bytes make room for one more
    /// voucher in a legacy transaction.
    pub fn budget_instructions(&self, vouchers: usize) -> Vec<Instruction> {
        let limit = self.compute_limit(vouchers);
        if self.compute_unit_price == 0 && limit <= DEFAULT_COMPUTE_UNITS {
            return Vec::new();
        }
        let mut ixs = vec![ComputeBudgetInstruction::set_compute_unit_limit(limit)];
        if self.compute_unit_price > 0 {
            ixs.push(ComputeBudgetInstruction::set_compute_unit_price(
                self.compute_unit_price,
            ));
        }
        ixs
    }
}

/// A fee target given as a fraction (`0.01` = 1%) in parts per million;
/// `None` unless it is finite, above 0 and at most 1.
pub fn ppm_from_ratio(ratio: f64) -> Option<u64> {
    (ratio.is_finite() && ratio > 0.0 && ratio <= 1.0).then(|| {
        // exact for every ratio with at most six decimals; at least 1 ppm
        ((ratio * 1e6).round() as u64).max(1)
    })
}

/// What base units of a mint are worth in lamports, exactly: `lamports` per
/// `per_units` base units.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UnitValue {
    /// Lamports ...
    pub lamports: u64,
    /// ... per this many base units.
    pub per_units: u64,
}

impl UnitValue {
    /// Wrapped SOL: a base unit is a lamport.
    pub const LAMPORT: UnitValue = UnitValue {
        lamports: 1,
        per_units: 1,
    };

    /// `amount` base units in lamports, rounded down (saturating).
    pub fn lamports_of(&self, amount: u64) -> u64 {
        let value = u128::from(amount)
            .saturating_mul(u128::from(self.lamports))
            .checked_div(u128::from(self.per_units))
            .unwrap_or(0);
        u64::try_from(value).unwrap_or(u64::MAX)
    }
}

/// What the planner aims for and how it values vouchers.
#[derive(Clone, Debug)]
pub struct PlannerConfig {
    /// Most a claim transaction's fee may be, in parts per million of the
    /// value it settles (10,000 = 1%).
    pub max_fee_ppm: u64,
    /// Channels expiring within this many seconds are claimed at once.
    pub expiry_margin_secs: i64,
    /// Lamport value of each mint's base units (wrapped SOL is always 1:1).
    pub values: HashMap<Pubkey, UnitValue>,
    /// The cluster's fee model. Its `compute_unit_price` is a floor: the
    /// planner pays more when the cluster's recent fees say it must.
    pub fees: FeeModel,
    /// How the priority fee follows the cluster's recent fees.
    pub priority: PriorityPolicy,
    /// The transaction format claims are packed for (what the cluster
    /// accepts: [`Ledger::transaction_format`]).
    pub format: TxFormat,
}

impl Default for PlannerConfig {
    fn default() -> Self {
        PlannerConfig {
            max_fee_ppm: 10_000,
            expiry_margin_secs: 3_600,
            values: HashMap::new(),
            fees: FeeModel::default(),
            priority: PriorityPolicy::default(),
            format: TxFormat::Legacy,
        }
    }
}

/// How soon a claim must land.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Urgency {
    /// It may wait for a cheap slot: the fee target decides.
    Routine,
    /// A dispute window or an expiry is near: it must land now.
    Deadline,
}

/// The priority fee, from the prioritization fees the cluster saw recently
/// on the accounts a claim writes (`getRecentPrioritizationFees`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PriorityPolicy {
    /// Percentile of recent fees paid for routine claims (0–100).
    pub routine_percentile: u8,
    /// Percentile paid when a deadline is near (0–100).
    pub deadline_percentile: u8,
    /// Never more than this, micro-lamports per compute unit.
    pub max_compute_unit_price: u64,
}

impl Default for PriorityPolicy {
    fn default() -> Self {
        PriorityPolicy {
            routine_percentile: 50,
            deadline_percentile: 90,
            max_compute_unit_price: 1_000_000,
        }
    }
}

impl PriorityPolicy {
    /// The compute-unit price (micro-lamports) for `urgency`, from recent
    /// per-slot fees `samples`: their percentile, capped; 0 without samples.
    pub fn price(&self, samples: &[u64], urgency: Urgency) -> u64 {
        if samples.is_empty() {
            return 0;
        }
        let mut sorted = samples.to_vec();
        sorted.sort_unstable();
        let percentile = match urgency {
            Urgency::Routine => self.routine_percentile,
            Urgency::Deadline => self.deadline_percentile,
        }
        .min(100);
        // nearest rank: ceil(p/100 · n), at least the first
        let rank = (usize::from(percentile).saturating_mul(sorted.len())).div_ceil(100);
        let index = rank.saturating_sub(1).min(sorted.len().saturating_sub(1));
        sorted
            .get(index)
            .copied()
            .unwrap_or(0)
            .min(self.max_compute_unit_price)
    }
}

impl PlannerConfig {
    /// The lamport value of `mint`'s base units, if known.
    pub fn value(&self, mint: &Pubkey) -> Option<UnitValue> {
        if *mint == spl_token::native_mint::ID {
            return Some(UnitValue::LAMPORT);
        }
        self.values.get(mint).copied()
    }

    /// The defaults, valuing the receiver's accepted mints.
    pub fn for_mints(mints: &[crate::receiver::AcceptedMint]) -> Self {
        let mut config = PlannerConfig::default();
        for m in mints {
            config.values.insert(
                m.mint,
                UnitValue {
                    lamports: m.lamports,
                    per_units: m.per_units,
                },
            );
        }
        config
    }
}
