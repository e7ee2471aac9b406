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

use crate::{
    error::{ClientError, Result},
    ledger::{sign_transaction, DynSigner, Ledger, Sent},
    store::{
        rules::{self, CloseEvidence, Sighting},
        ClaimStatus, ReceiverStore, VoucherRecord,
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

/// A voucher that may be claimed now.
#[derive(Clone, Debug)]
pub struct Candidate {
    /// The store's row.
    pub record: VoucherRecord,
    /// The channel as read.
    pub channel: Channel,
    /// What it settles now: `min(amount, allocation) − claimed`, base units.
    pub value: u64,
    /// The claim entry that settles the row's voucher.
    pub claim: VoucherClaim,
}

impl Candidate {
    /// Close requested, or expiring within `margin` seconds of `now`.
    pub fn urgent(&self, now: i64, margin: i64) -> bool {
        self.channel.close_requested()
            || (self.channel.expires_at != 0
                && self.channel.expires_at.saturating_sub(now) <= margin)
    }

    /// The last unix time a claim can land: the end of the dispute window
    /// after a close request, or the expiry (after which anyone may finalize).
    pub fn deadline(&self) -> Option<i64> {
        let closing = self.channel.close_requested().then(|| {
            self.channel
                .close_requested_at
                .saturating_add(i64::from(self.channel.dispute_window_secs))
        });
        let expiry = (self.channel.expires_at != 0).then_some(self.channel.expires_at);
        closing.into_iter().chain(expiry).min()
    }
}

/// A store write the chain justifies, applied with compare-and-set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fact {
    /// The channel was read at a slot.
    Seen(Sighting),
    /// The channel is gone, with the evidence.
    Closed(CloseEvidence),
}

/// Value that can no longer be collected: the channel closed first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lost {
    /// The channel that closed.
    pub channel: Pubkey,
    /// Its mint.
    pub mint: Pubkey,
    /// Its creator.
    pub creator: Pubkey,
    /// Base units of `mint`.
    pub amount: u64,
}

/// What the chain says about the store's open vouchers.
#[derive(Clone, Debug, Default)]
pub struct Reconciliation {
    /// Cluster clock, unix seconds.
    pub now: i64,
    /// Genesis hash of the cluster read.
    pub cluster: Hash,
    /// Rows with value left to claim.
    pub candidates: Vec<Candidate>,
    /// Store writes the chain justifies (not yet applied).
    pub facts: Vec<(Pubkey, Fact)>,
    /// Rows the facts will close with value lost.
    pub lost: Vec<Lost>,
    /// Vouchers fully settled already (by anyone).
    pub settled: Vec<Pubkey>,
    /// Rows seen on another cluster: left alone.
    pub other_cluster: Vec<Pubkey>,
    /// Channels absent without positive evidence (never seen, or not after
    /// the last sighting): left open, reported.
    pub unverified: Vec<Pubkey>,
    /// Quarantined vouchers found healthy again by this read are candidates;
    /// these stay quarantined (their channel is not readable as a channel).
    pub undecodable: Vec<Pubkey>,
    /// Earnings accounts `(owner, mint)` the candidates need and that do not
    /// exist: created before claiming.
    pub missing_earnings: Vec<(Pubkey, Pubkey)>,
}

/// What applying a reconciliation wrote.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Applied {
    /// Rows confirmed by what the chain shows.
    pub confirmed: usize,
    /// Rows closed on positive evidence.
    pub closed: usize,
    /// Value lost to channels that closed first.
    pub lost: Vec<Lost>,
}

/// One claim transaction.
#[derive(Clone, Debug)]
pub struct Batch {
    /// The vouchers claimed, in order.
    pub claims: Vec<Candidate>,
    /// Lamports it will cost.
    pub fee: u64,
    /// Value it settles, in lamports.
    pub value_lamports: u64,
    /// Serialized size, bytes.
    pub size: usize,
    /// Carries a voucher whose channel is closing or about to expire.
    pub urgent: bool,
}

/// A voucher set aside, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Quarantined {
    /// The channel.
    pub channel: Pubkey,
    /// The voucher's cumulative amount set aside.
    pub amount: u64,
    /// Why, in words.
    pub reason: String,
}

/// What to claim now, in which transactions (the output of [`Planner::plan`]).
#[derive(Clone, Debug, Default)]
pub struct Plan {
    /// Claim transactions, in sending order.
    pub batches: Vec<Batch>,
    /// Channels whose voucher waits for more value.
    pub deferred: Vec<Pubkey>,
    /// Vouchers that cannot be valued: set aside with the reason.
    pub quarantine: Vec<Quarantined>,
    /// Earnings accounts `(owner, mint)` to create before claiming.
    pub create_earnings: Vec<(Pubkey, Pubkey)>,
}

impl Plan {
    /// Lamports the batches cost.
    pub fn fees(&self) -> u64 {
        self.batches.iter().map(|b| b.fee).sum()
    }

    /// Vouchers the batches settle.
    pub fn vouchers(&self) -> usize {
        self.batches.iter().map(|b| b.claims.len()).sum()
    }
}

/// What executing a plan did.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Execution {
    /// Claim transactions that landed.
    pub transactions: usize,
    /// Vouchers the program settled.
    pub vouchers_settled: usize,
    /// Vouchers the program skipped (with the reason in its event).
    pub vouchers_skipped: usize,
    /// Lamports paid in fees (claims and earnings accounts' setup).
    pub fees: u64,
    /// Base units settled (creator + fee shares).
    pub settled_amount: u64,
    /// Every settled voucher as the program reported it.
    pub settled: Vec<micropay::events::SettledVoucher>,
    /// Vouchers set aside (cannot be valued or settled), with the reason.
    pub quarantined: Vec<Quarantined>,
    /// Value lost because channels closed before their vouchers were claimed.
    pub lost: Vec<Lost>,
    /// Failing batches split to find the failing vouchers.
    pub bisections: usize,
    /// Earnings accounts created so that claims can settle.
    pub earnings_created: usize,
    /// Claims whose blockhash expired before they landed (their vouchers
    /// are claimable again).
    pub expired: usize,
    /// Signatures of the claim transactions that landed, in order.
    pub signatures: Vec<Signature>,
}

/// What [`Planner::resume`] found of the claims left in flight.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Resumed {
    /// In-flight claims that landed.
    pub landed: usize,
    /// In-flight claims that never will (their vouchers are claimable again).
    pub dropped: usize,
}

impl Execution {
    /// Adds lost value to the report, with a `tracing` warning for each.
    pub fn add_lost(&mut self, lost: Vec<Lost>) {
        for l in &lost {
            tracing::warn!(
                channel = %l.channel, mint = %l.mint, creator = %l.creator, amount = l.amount,
                "value lost: the channel closed before its voucher was claimed"
            );
        }
        self.lost.extend(lost);
    }
}

/// A signed claim transaction, in the format it was packed for.
enum SignedClaim {
    Legacy(Transaction),
    /// Serialized (see [`crate::v1`]).
    V1(Vec<u8>),
}

impl SignedClaim {
    /// Its id: the fee payer's signature.
    fn signature(&self) -> Result<Signature> {
        match self {
            SignedClaim::Legacy(tx) => Ok(tx.signatures[0]),
            SignedClaim::V1(wire) => v1::first_signature(wire),
        }
    }

    async fn submit(&self, ledger: &dyn Ledger) -> Result<()> {
        match self {
            SignedClaim::Legacy(tx) => ledger.submit(tx).await,
            SignedClaim::V1(wire) => ledger.submit_v1(wire).await,
        }
    }
}

/// The claim planner: resume, reconcile, plan, execute.
pub struct Planner {
    /// What it aims for.
    pub config: PlannerConfig,
}

/// The claim of `voucher` on `channel` (state as read): the creator's and,
/// with a fee share, the fee recipient's earnings accounts for its mint.
pub fn voucher_claim(voucher: &micropay_sdk::voucher::Voucher, channel: &Channel) -> VoucherClaim {
    VoucherClaim {
        channel: voucher.channel,
        creator_earnings: pda::earnings(&channel.creator, &channel.mint).0,
        fee_earnings: (channel.fee_bps > 0)
            .then(|| pda::earnings(&channel.fee_recipient, &channel.mint).0),
        amount: voucher.amount,
        signature: voucher.signature,
    }
}

/// A claim of the largest encoding (every amount and signature byte set) on a
/// fresh channel: of the creator whose earnings account is `earnings`, else
/// of a creator of its own (the worst case for packing).
pub(crate) fn largest_claim(earnings: Option<Pubkey>) -> VoucherClaim {
    VoucherClaim {
        channel: Pubkey::new_unique(),
        creator_earnings: earnings.unwrap_or_else(Pubkey::new_unique),
        fee_earnings: None,
        amount: u64::MAX,
        signature: [0xff; 64],
    }
}

/// A channel as read: `Ok(None)` when no micropay account is there (never
/// created, or closed — lamports sent to the address afterwards do not make
/// it a channel again, as the program's own `is_gone` holds), `Err` when a
/// micropay account there does not decode as a channel.
fn read_channel(
    address: &Pubkey,
    account: Option<solana_sdk::account::Account>,
) -> Result<Option<Channel>> {
    match account {
        Some(a) => Ok(micropay_sdk::accounts::decode::<Channel>(
            address, &a, "channel",
        )?),
        None => Ok(None),
    }
}

impl Planner {
    /// A planner with `config`.
    pub fn new(config: PlannerConfig) -> Self {
        Planner { config }
    }

    /// The instructions of a legacy claim transaction: compute budget (when
    /// it buys something), then the claim.
    fn legacy_instructions(&self, claims: &[VoucherClaim]) -> Vec<Instruction> {
        let mut ixs = self.config.fees.budget_instructions(claims.len());
        ixs.push(mix::claim(claims));
        ixs
    }

    /// The v1 message of a claim: the claim alone, with the compute limit
    /// and the priority fee of the fee model in the message's config.
    fn v1_message(
        &self,
        claims: &[VoucherClaim],
        payer: &Pubkey,
        blockhash: &Hash,
    ) -> Result<solana_message_v1::v1::Message> {
        let fees = &self.config.fees;
        v1::message(
            &[mix::claim(claims)],
            payer,
            blockhash,
            fees.compute_limit(claims.len()),
            fees.priority_fee(claims.len()),
        )
    }

    /// Serialized size and account count of a claim transaction in the
    /// configured format (`usize::MAX` when it cannot be built).
    fn measure(&self, claims: &[VoucherClaim], payer: &Pubkey) -> (usize, usize) {
        match self.config.format {
            TxFormat::Legacy => {
                let ixs = self.legacy_instructions(claims);
                let message = solana_sdk::message::Message::new_with_blockhash(
                    &ixs,
                    Some(payer),
                    &Hash::default(),
                );
                let tx = Transaction::new_unsigned(message);
                let size = bincode::serialized_size(&tx).map_or(usize::MAX, |s| s as usize);
                (size, tx.message.account_keys.len())
            }
            TxFormat::V1 => match self.v1_message(claims, payer, &Hash::default()) {
                Ok(m) => (v1::transaction_size(&m), m.account_keys.len()),
                Err(_) => (usize::MAX, usize::MAX),
            },
        }
    }

    fn fits(&self, claims: &[VoucherClaim], payer: &Pubkey) -> Option<usize> {
        let (size, accounts) = self.measure(claims, payer);
        let compute = u64::from(self.config.fees.compute_limit(claims.len()));
        (size <= self.config.format.max_size()
            && accounts <= MAX_ACCOUNTS
            && compute < u64::from(MAX_COMPUTE_UNITS)
            && claims.len() <= usize::from(micropay::constants::MAX_VOUCHERS_PER_CLAIM))
        .then_some(size)
    }

    /// How many vouchers fit one transaction of the configured format, for
    /// distinct channels each with its own creator (the worst case).
    pub fn capacity(&self, fee_payer: &Pubkey) -> usize {
        self.capacity_of(fee_payer, None)
    }

    /// How many vouchers of channels of one creator (one shared earnings
    /// account) fit one transaction of the configured format.
    pub fn capacity_one_creator(&self, fee_payer: &Pubkey) -> usize {
        self.capacity_of(fee_payer, Some(Pubkey::new_unique()))
    }

    fn capacity_of(&self, fee_payer: &Pubkey, earnings: Option<Pubkey>) -> usize {
        let mut claims = Vec::new();
        loop {
            claims.push(largest_claim(earnings));
            if self.fits(&claims, fee_payer).is_none() {
                return claims.len().saturating_sub(1).max(1);
            }
        }
    }

    /// Step 1: reads the store's open rows and their channels (confirmed
    /// commitment) and says what the chain justifies. Writes nothing.
    pub async fn reconcile(
        &self,
        ledger: &dyn Ledger,
        store: &dyn ReceiverStore,
    ) -> Result<Reconciliation> {
        let rows = store.list(&ClaimStatus::OPEN)?;
        let cluster = ledger.genesis_hash().await?;
        let now = ledger.unix_timestamp().await?;
        let mut recon = Reconciliation {
            now,
            cluster,
            ..Reconciliation::default()
        };
        if rows.is_empty() {
            return Ok(recon);
        }
        let addresses: Vec<Pubkey> = rows.iter().map(|r| r.voucher.channel).collect();
        let observed = ledger.observe(&addresses).await?;
        let mut earnings_needed = BTreeSet::new();
        for ((row, account), slot) in rows.into_iter().zip(observed.accounts).zip(observed.slots) {
            let address = row.voucher.channel;
            if row.cluster.is_some_and(|c| c != cluster) {
                recon.other_cluster.push(address);
                continue;
            }
            let Ok(state) = read_channel(&address, account) else {
                recon.undecodable.push(address);
                continue;
            };
            let Some(channel) = state else {
                let evidence = CloseEvidence::Absent { cluster, slot };
                match rules::close(&row, &evidence) {
                    Some((_, lost)) => {
                        if lost > 0 {
                            recon.lost.push(Lost {
                                channel: address,
                                mint: row.mint,
                                creator: row.creator,
                                amount: lost,
                            });
                        }
                        recon.facts.push((address, Fact::Closed(evidence)));
                    }
                    None => recon.unverified.push(address),
                }
                continue;
            };
            let seen = Sighting {
                cluster,
                slot,
                claimed: channel.claimed,
                allocation: channel.allocation,
            };
            recon.facts.push((address, Fact::Seen(seen)));
            let Some(value) =
                micropay::math::claimable(row.voucher.amount, channel.allocation, channel.claimed)
            else {
                recon.settled.push(address);
                continue;
            };
            earnings_needed.insert((channel.creator, channel.mint));
            if channel.fee_bps > 0 {
                earnings_needed.insert((channel.fee_recipient, channel.mint));
            }
            let claim = voucher_claim(&row.voucher, &channel);
            recon.candidates.push(Candidate {
                record: row,
                channel,
                value,
                claim,
            });
        }
        let needed: Vec<(Pubkey, Pubkey)> = earnings_needed.into_iter().collect();
        let earnings: Vec<Pubkey> = needed
            .iter()
            .map(|(owner, mint)| pda::earnings(owner, mint).0)
            .collect();
        let found = ledger.accounts(&earnings).await?;
        recon.missing_earnings = needed
            .into_iter()
            .zip(found)
            .filter(|(_, account)| account.as_ref().is_none_or(|a| a.owner != micropay::ID))
            .map(|(pair, _)| pair)
            .collect();
        Ok(recon)
    }

    /// Writes the facts of a reconciliation, each with compare-and-set on the
    /// row as it is now (a voucher accepted meanwhile is never lost).
    pub fn apply(&self, store: &dyn ReceiverStore, recon: &Reconciliation) -> Result<Applied> {
        apply_facts(store, &recon.facts)
    }

    /// Step 2 (pure): what to claim now, in which transactions.
    pub fn plan(&self, recon: &Reconciliation, fee_payer: &Pubkey) -> Plan {
        let now = recon.now;
        let margin = self.config.expiry_margin_secs;
        let mut plan = Plan {
            create_earnings: recon.missing_earnings.clone(),
            ..Plan::default()
        };
        // A voucher is worth claiming when its value pays for its share of a
        // full transaction at the target: value·ppm·full ≥ fee(full)·10⁶.
        let full = self.capacity(fee_payer);
        let full_fee = u128::from(self.config.fees.transaction_fee(full));
        let ppm = u128::from(self.config.max_fee_ppm);
        let mut eligible: Vec<(u64, bool, &Candidate)> = Vec::new();
        for c in &recon.candidates {
            let Some(value) = self.config.value(&c.channel.mint) else {
                plan.quarantine.push(Quarantined {
                    channel: c.claim.channel,
                    amount: c.record.voucher.amount,
                    reason: format!(
                        "no lamport value for mint {}: accept the mint with its value (micropay claim --unit-lamports)",
                        c.channel.mint
                    ),
                });
                continue;
            };
            let lamports = value.lamports_of(c.value);
            let urgent = c.urgent(now, margin);
            let pays_its_share = u128::from(lamports)
                .saturating_mul(ppm)
                .saturating_mul(full as u128)
                >= full_fee.saturating_mul(u128::from(PPM));
            if urgent || pays_its_share {
                eligible.push((lamports, urgent, c));
            } else {
                plan.deferred.push(c.claim.channel);
            }
        }
        // Urgent first (earliest deadline first); then by group — channels
        // paying the same creator and fee recipient share their earnings
        // accounts, so a group packs the most vouchers per transaction —
        // most valuable group first, most valuable voucher first within it.
        let group = |c: &Candidate| (c.claim.creator_earnings, c.claim.fee_earnings);
        let mut group_value: HashMap<(Pubkey, Option<Pubkey>), u64> = HashMap::new();
        for (lamports, _, c) in &eligible {
            let total = group_value.entry(group(c)).or_default();
            *total = total.saturating_add(*lamports);
        }
        let value_of = |c: &Candidate| group_value.get(&group(c)).copied().unwrap_or(0);
        eligible.sort_by(|(a_value, a_urgent, a), (b_value, b_urgent, b)| {
            b_urgent
                .cmp(a_urgent)
                .then_with(|| {
                    if *a_urgent {
                        a.deadline().cmp(&b.deadline())
                    } else {
                        std::cmp::Ordering::Equal
                    }
                })
                .then(value_of(b).cmp(&value_of(a)))
                .then(group(a).cmp(&group(b)))
                .then(b_value.cmp(a_value))
        });

        let mut batches: Vec<Vec<(u64, bool, &Candidate)>> = Vec::new();
        let mut current: Vec<(u64, bool, &Candidate)> = Vec::new();
        for entry in eligible {
            let mut trial: Vec<VoucherClaim> =
                current.iter().map(|(_, _, c)| c.claim.clone()).collect();
            trial.push(entry.2.claim.clone());
            if self.fits(&trial, fee_payer).is_none() && !current.is_empty() {
                batches.push(std::mem::take(&mut current));
            }
            current.push(entry);
        }
        if !current.is_empty() {
            batches.push(current);
        }
        for batch in batches {
            let claims: Vec<VoucherClaim> = batch.iter().map(|(_, _, c)| c.claim.clone()).collect();
            let Some(size) = self.fits(&claims, fee_payer) else {
                // one voucher alone does not fit: cannot be settled this way
                for (_, _, c) in batch {
                    plan.quarantine.push(Quarantined {
                        channel: c.claim.channel,
                        amount: c.record.voucher.amount,
                        reason: "its claim does not fit one transaction".into(),
                    });
                }
                continue;
            };
            let fee = self.config.fees.transaction_fee(claims.len());
            let value_lamports = batch
                .iter()
                .fold(0u64, |sum, (l, _, _)| sum.saturating_add(*l));
            let urgent = batch.iter().any(|(_, u, _)| *u);
            let within_target = u128::from(fee).saturating_mul(u128::from(PPM))
                <= ppm.saturating_mul(u128::from(value_lamports));
            if !urgent && !within_target {
                plan.deferred.extend(claims.iter().map(|c| c.channel));
                continue;
            }
            plan.batches.push(Batch {
                claims: batch.into_iter().map(|(_, _, c)| c.clone()).collect(),
                fee,
                value_lamports,
                size,
                urgent,
            });
        }
        plan
    }

    /// Step 3: creates missing earnings accounts, then settles each batch
    /// (bisecting failures, quarantining what fails alone), paid by
    /// `fee_payer`, and confirms from the chain.
    pub async fn execute(
        &self,
        plan: &Plan,
        ledger: &dyn Ledger,
        store: &dyn ReceiverStore,
        fee_payer: &DynSigner,
    ) -> Result<Execution> {
        let mut report = Execution::default();
        for q in &plan.quarantine {
            set_aside(store, q, &mut report)?;
        }
        let created = crate::earnings::create(ledger, fee_payer, &plan.create_earnings).await?;
        report.fees = report.fees.saturating_add(created.fees);
        report.earnings_created = report.earnings_created.saturating_add(created.accounts);
        // read once: every confirmation below is from this cluster
        let cluster = if plan.batches.is_empty() {
            Hash::default()
        } else {
            ledger.genesis_hash().await?
        };
        // Rounds: send every pending claim, confirm them together (one
        // status query for all), record what landed; a claim that fails is
        // split in two for the next round, one voucher failing alone is set
        // aside.
        let mut pending: Vec<Vec<Candidate>> =
            plan.batches.iter().map(|b| b.claims.clone()).collect();
        while !pending.is_empty() {
            let mut failed: Vec<(Vec<Candidate>, ClientError)> = Vec::new();
            let mut in_flight: Vec<(Vec<Candidate>, Signature, u64)> = Vec::new();
            for claims in pending.drain(..) {
                match self.send_claim(&claims, ledger, store, fee_payer).await {
                    Ok((signature, valid_until)) => {
                        in_flight.push((claims, signature, valid_until))
                    }
                    // the cluster, or the format, not a voucher: stop (the
                    // rows stay in flight, or claimable again)
                    Err(e @ (ClientError::Rpc(_) | ClientError::V1Transaction { .. })) => {
                        return Err(e)
                    }
                    Err(e) => failed.push((claims, e)),
                }
            }
            let waits: Vec<(Signature, u64)> = in_flight.iter().map(|(_, s, v)| (*s, *v)).collect();
            // unreachable: every claim stays in flight, for `resume`
            let outcomes = ledger.confirm_many(&waits).await?;
            let mut landed: Vec<(Vec<Candidate>, Sent)> = Vec::new();
            for ((claims, signature, _), outcome) in in_flight.into_iter().zip(outcomes) {
                let recorded = signature.to_string();
                let channels = || claims.iter().map(|c| &c.claim.channel);
                match outcome {
                    Ok(Some(sent)) => landed.push((claims, sent)),
                    Ok(None) => {
                        tracing::info!(%signature, "claim expired before landing: claimable again");
                        drop_claim(store, channels(), &recorded)?;
                        report.expired = report.expired.saturating_add(1);
                    }
                    Err(e @ ClientError::Rpc(_)) => return Err(e),
                    // it failed on chain: nothing of it settled
                    Err(e) => {
                        drop_claim(store, channels(), &recorded)?;
                        failed.push((claims, e));
                    }
                }
            }
            self.record_landed(&landed, cluster, ledger, store, &mut report)
                .await?;
            for (claims, e) in failed {
                if claims.len() > 1 {
                    tracing::info!(vouchers = claims.len(), error = %e, "claim fails: bisecting");
                    report.bisections = report.bisections.saturating_add(1);
                    let (left, right) = claims.split_at(claims.len() / 2);
                    pending.push(left.to_vec());
                    pending.push(right.to_vec());
                } else if let Some(c) = claims.first() {
                    let q = Quarantined {
                        channel: c.claim.channel,
                        amount: c.record.voucher.amount,
                        reason: format!("its claim fails: {e}"),
                    };
                    set_aside(store, &q, &mut report)?;
                }
            }
        }
        Ok(report)
    }

    /// The claim transaction of `claims` in the configured format, signed
    /// by `fee_payer`.
    fn sign_claim(
        &self,
        claims: &[Candidate],
        fee_payer: &DynSigner,
        blockhash: Hash,
    ) -> Result<SignedClaim> {
        let vouchers: Vec<VoucherClaim> = claims.iter().map(|c| c.claim.clone()).collect();
        Ok(match self.config.format {
            TxFormat::Legacy => SignedClaim::Legacy(sign_transaction(
                &self.legacy_instructions(&vouchers),
                fee_payer,
                &[],
                blockhash,
            )?),
            TxFormat::V1 => {
                let payer = fee_payer.try_pubkey().map_err(ClientError::Signing)?;
                let message = self.v1_message(&vouchers, &payer, &blockhash)?;
                SignedClaim::V1(v1::sign(&message, &[fee_payer as &dyn Signer])?)
            }
        })
    }

    /// Signs one claim transaction, records its signature on the rows, and
    /// hands it to the cluster; returns the signature and the block height
    /// after which it can no longer land.
    ///
    /// The claim's signature is in the store before the transaction leaves:
    /// a crash after sending leaves rows that [`Planner::resume`] waits for,
    /// never a second claim sent blind. `Err` when the ledger refused the
    /// transaction before sending it (the rows are claimable again), or the
    /// cluster could not be reached (the rows stay in flight).
    async fn send_claim(
        &self,
        claims: &[Candidate],
        ledger: &dyn Ledger,
        store: &dyn ReceiverStore,
        fee_payer: &DynSigner,
    ) -> Result<(Signature, u64)> {
        let blockhash = ledger.recent_blockhash().await?;
        let tx = self.sign_claim(claims, fee_payer, blockhash.hash)?;
        let signature = tx.signature()?;
        let recorded = signature.to_string();
        let valid_until = blockhash.last_valid_block_height;
        for c in claims {
            rules::update(store, &c.claim.channel, &|r| {
                rules::submitted(r, c.record.voucher.amount, &recorded, valid_until)
            })?;
        }
        match tx.submit(ledger).await {
            Ok(()) => Ok((signature, valid_until)),
            // it may have left: it stays in flight, for `resume`
            Err(e @ ClientError::Rpc(_)) => Err(e),
            Err(e) => {
                // it never left: its rows are claimable again
                drop_claim(store, claims.iter().map(|c| &c.claim.channel), &recorded)?;
                Err(e)
            }
        }
    }

    /// Records the claims that landed: their events in the report, and each
    /// channel's `claimed` as the chain has it now (one read for all).
    /// `cluster`: the ledger's genesis hash, for the confirmations.
    async fn record_landed(
        &self,
        landed: &[(Vec<Candidate>, Sent)],
        cluster: Hash,
        ledger: &dyn Ledger,
        store: &dyn ReceiverStore,
        report: &mut Execution,
    ) -> Result<()> {
        if landed.is_empty() {
            return Ok(());
        }
        let mut facts = Vec::new();
        for (_, sent) in landed {
            report.transactions = report.transactions.saturating_add(1);
            report.signatures.push(sent.signature);
            report.fees = report.fees.saturating_add(sent.fee);
            for event in &sent.events {
                let MicropayEvent::Claimed(claimed) = event else {
                    continue;
                };
                for s in &claimed.settled {
                    report.vouchers_settled = report.vouchers_settled.saturating_add(1);
                    report.settled_amount = report.settled_amount.saturating_add(s.delta);
                    report.settled.push(s.clone());
                }
                for s in &claimed.skipped {
                    report.vouchers_skipped = report.vouchers_skipped.saturating_add(1);
                    if s.reason == SkipReason::ChannelClosed {
                        facts.push((
                            s.channel,
                            Fact::Closed(CloseEvidence::Event { claimed: None }),
                        ));
                    }
                }
            }
        }
        // confirmation: each channel's `claimed` as the chain has it now
        let addresses: Vec<Pubkey> = landed
            .iter()
            .flat_map(|(claims, _)| claims.iter().map(|c| c.claim.channel))
            .collect();
        let observed = ledger.observe(&addresses).await?;
        for ((address, account), slot) in
            addresses.iter().zip(observed.accounts).zip(observed.slots)
        {
            let fact = match read_channel(address, account) {
                Ok(Some(channel)) => Fact::Seen(Sighting {
                    cluster,
                    slot,
                    claimed: channel.claimed,
                    allocation: channel.allocation,
                }),
                Ok(None) => Fact::Closed(CloseEvidence::Absent { cluster, slot }),
                // not readable as a channel: nothing to conclude
                Err(_) => continue,
            };
            facts.push((*address, fact));
        }
        let applied = apply_facts(store, &facts)?;
        report.add_lost(applied.lost);
        Ok(())
    }

    /// Step 0: waits for every claim the store has in flight (signed and
    /// recorded by an earlier run, maybe sent, maybe not), so that no second
    /// claim of the same vouchers is sent while the first can still land.
    /// A claim that landed is confirmed by the next reconciliation; one that
    /// can no longer land leaves its rows claimable again. Returns how many
    /// in-flight claims landed and how many were dropped.
    pub async fn resume(&self, ledger: &dyn Ledger, store: &dyn ReceiverStore) -> Result<Resumed> {
        let rows = store.list(&[ClaimStatus::Submitted])?;
        let mut claims: HashMap<String, (u64, Vec<Pubkey>)> = HashMap::new();
        for row in &rows {
            if let Some((signature, valid_until)) = rules::in_flight(row) {
                let entry = claims
                    .entry(signature.to_string())
                    .or_insert((valid_until, Vec::new()));
                entry.1.push(row.voucher.channel);
            }
        }
        let mut resumed = Resumed::default();
        for (recorded, (valid_until, channels)) in claims {
            let Ok(signature) = recorded.parse::<Signature>() else {
                drop_claim(store, channels.iter(), &recorded)?;
                continue;
            };
            match ledger.confirm(&signature, valid_until).await {
                Ok(Some(_)) => resumed.landed = resumed.landed.saturating_add(1),
                // it failed on chain: nothing of it settled
                Ok(None)
                | Err(
                    ClientError::Program { .. }
                    | ClientError::Instruction { .. }
                    | ClientError::Transaction { .. },
                ) => {
                    drop_claim(store, channels.iter(), &recorded)?;
                    resumed.dropped = resumed.dropped.saturating_add(1);
                }
                Err(e) => return Err(e),
            }
        }
        Ok(resumed)
    }

    /// Resumes, reconciles, applies, plans and executes in one call.
    pub async fn run(
        &self,
        ledger: &dyn Ledger,
        store: &dyn ReceiverStore,
        fee_payer: &DynSigner,
    ) -> Result<(Plan, Execution)> {
        self.resume(ledger, store).await?;
        let recon = self.reconcile(ledger, store).await?;
        let applied = self.apply(store, &recon)?;
        let planner = self.priced(ledger, &recon).await?;
        let plan = planner.plan(&recon, &fee_payer.pubkey());
        let mut execution = planner.execute(&plan, ledger, store, fee_payer).await?;
        execution.add_lost(applied.lost);
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
        store: &dyn ReceiverStore,
        fee_payer: &Pubkey,
    ) -> Result<(Reconciliation, Plan)> {
        let recon = self.reconcile(ledger, store).await?;
        // priced as a real run would be (reading fees writes nothing)
        let plan = self.priced(ledger, &recon).await?.plan(&recon, fee_payer);
        Ok((recon, plan))
    }
}

/// Makes the rows of `channels` claimable again when they still wait for
/// the claim `signature`, which will never land.
fn drop_claim<'a>(
    store: &dyn ReceiverStore,
    channels: impl Iterator<Item = &'a Pubkey>,
    signature: &str,
) -> Result<()> {
    for channel in channels {
        rules::update(store, channel, &|r| rules::dropped(r, signature))?;
    }
    Ok(())
}

/// Quarantines `q` in the store (when the row still holds that voucher).
fn set_aside(store: &dyn ReceiverStore, q: &Quarantined, report: &mut Execution) -> Result<()> {
    tracing::warn!(channel = %q.channel, reason = %q.reason, "voucher quarantined");
    rules::update(store, &q.channel, &|r| {
        rules::quarantine(r, q.amount, &q.reason)
    })?;
    report.quarantined.push(q.clone());
    Ok(())
}

/// Writes facts with the store's rules; reports rows closed with value lost.
pub fn apply_facts(store: &dyn ReceiverStore, facts: &[(Pubkey, Fact)]) -> Result<Applied> {
    let mut applied = Applied::default();
    for (channel, fact) in facts {
        match fact {
            Fact::Seen(seen) => {
                let written = rules::update(store, channel, &|r| rules::observe(r, seen))?;
                if written.is_some_and(|r| r.status == ClaimStatus::Confirmed) {
                    applied.confirmed = applied.confirmed.saturating_add(1);
                }
            }
            Fact::Closed(evidence) => {
                let lost = std::cell::Cell::new(0u64);
                let written = rules::update(store, channel, &|r| {
                    rules::close(r, evidence).map(|(next, l)| {
                        lost.set(l);
                        next
                    })
                })?;
                if let Some(row) = written {
                    applied.closed = applied.closed.saturating_add(1);
                    if lost.get() > 0 {
                        applied.lost.push(Lost {
                            channel: *channel,
                            mint: row.mint,
                            creator: row.creator,
                            amount: lost.get(),
                        });
                    }
                }
            }
        }
    }
    Ok(applied)
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
