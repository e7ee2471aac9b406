//! The whole micropay story on any ledger, as one call: payers fund escrows and
//! open channels with session keys (a dApp fee share on some), stream payments
//! of random prices to creators through `Payer` → `Receiver`, a relayer runs
//! the planner to claim in batches, some payers request close midway (so the
//! planner must claim before the dispute window ends), everything closes, and
//! creators and the dApp withdraw their earnings.
//!
//! It is what `micropay demo` runs and what the end-to-end tests check, on the
//! embedded bank and through RPC against the local node. The report carries
//! every number and every address, so a caller can verify it on chain.

//!
//! The story's acts, each in its own module: `cast` (the world: mint,
//! funded payers, creators and their receivers, channels), `play` (the
//! payments, a payer leaving midway, the planner's claims, the closes) and
//! `settle` (withdrawals, the outcomes, the books balanced); `time` moves
//! each kind of ledger's clock.

mod cast;
mod play;
mod settle;
mod time;

pub use time::{clock_reaching, time_travel, RpcTimeControl, TRAVEL_POLLS};

use anchor_lang::prelude::Pubkey;
use micropay::events::SettledVoucher;
use micropay_client::{
    error::{ClientError, Result},
    ledger::Ledger,
    planner::{ppm_from_ratio, UnitValue},
    v1::TxFormat,
};
use rand::{rngs::StdRng, SeedableRng};
use solana_sdk::signature::Keypair;
use std::sync::Arc;

/// Why the scenario could not run, or found its own promise broken.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    /// The configuration cannot make a story.
    #[error("need at least one payer and one creator, and 0 < min price ({min_price}) <= max price ({max_price})")]
    Shape {
        /// The smallest price asked, base units.
        min_price: u64,
        /// The largest price asked, base units.
        max_price: u64,
    },
    /// The fee target is outside (0, 1].
    #[error("the target fee ratio must be above 0 and at most 1, not {0}")]
    FeeRatio(f64),
    /// A price grossed up for the fee share overflows.
    #[error("a price of {price} base units overflows once grossed up for the fee share")]
    PriceOverflow {
        /// The price, base units.
        price: u64,
    },
    /// A receiver accepted a payment on a channel whose payer asked to close.
    #[error("channel {channel}: a closing channel accepted a payment")]
    ClosingChannelAccepted {
        /// The channel.
        channel: Pubkey,
    },
    /// Vouchers were still open after the closing claims.
    #[error("{count} voucher(s) left unclaimed after the channels closed")]
    LeftUnclaimed {
        /// How many.
        count: usize,
    },
    /// Accepted value was lost to a close.
    #[error("{amount} base units accepted on channel {channel} were lost: the channel closed before its voucher was claimed")]
    Lost {
        /// The channel.
        channel: Pubkey,
        /// Base units lost.
        amount: u64,
    },
    /// The split's shares cannot be encoded, or its owners and remainder
    /// do not add up to what its receiver counted.
    #[error("the split's owners and remainder do not add up to what its receiver counted (or its shares cannot be encoded)")]
    SplitShares,
    /// A split owner did not get its share.
    #[error("split owner {owner} withdrew {withdrawn} base units, not its share {share}")]
    SplitShare {
        owner: Pubkey,
        withdrawn: u64,
        share: u64,
    },
    /// The client failed.
    #[error(transparent)]
    Client(#[from] ClientError),
}

impl From<micropay_sdk::SdkError> for ScenarioError {
    fn from(e: micropay_sdk::SdkError) -> Self {
        ScenarioError::Client(e.into())
    }
}

/// Moves a ledger's clock (the embedded bank, or a local node's cheatcode).
#[async_trait::async_trait]
pub trait TimeControl: Send + Sync {
    async fn advance(&self, secs: i64) -> Result<()>;
}

/// Which token the scenario pays in.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ScenarioMint {
    /// SOL as wrapped SOL: one base unit is one lamport.
    WrappedSol,
    /// A new SPL Token mint; `value` says what its base units are worth in
    /// lamports (for the fee ratio), exactly.
    NewToken { decimals: u8, value: UnitValue },
}

#[derive(Clone, Debug)]
pub struct ScenarioConfig {
    pub payers: usize,
    pub creators: usize,
    pub payments: usize,
    /// Price range of one use, base units (inclusive).
    pub min_price: u64,
    pub max_price: u64,
    pub target_fee_ratio: f64,
    pub seed: u64,
    pub mint: ScenarioMint,
    /// dApp fee share on the channels of every other payer.
    pub dapp_fee_bps: u16,
    /// Payers that request close halfway through.
    pub closing_payers: usize,
    /// The relayer runs the planner every this many payments.
    pub claim_every: usize,
    pub dispute_window_secs: u32,
    /// The claim transactions' format (v1 needs a ledger that takes it).
    pub format: TxFormat,
    /// The first creator is a royalty split of three owners with these
    /// shares (basis points summing to 10,000) instead of one wallet.
    pub split: Option<[u16; 3]>,
}

impl Default for ScenarioConfig {
    fn default() -> Self {
        ScenarioConfig {
            payers: 3,
            creators: 4,
            payments: 10_000,
            min_price: 1_000,
            max_price: 20_000,
            target_fee_ratio: 0.01,
            seed: 1,
            mint: ScenarioMint::WrappedSol,
            dapp_fee_bps: 250,
            closing_payers: 1,
            claim_every: 1_000,
            dispute_window_secs: 900,
            format: TxFormat::Legacy,
            split: None,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct PayerOutcome {
    pub owner: Pubkey,
    pub escrow: Pubkey,
    pub deposited: u64,
    /// Sum of the payments receivers accepted from this payer.
    pub paid: u64,
    pub escrow_balance: u64,
    pub channels: Vec<Pubkey>,
}

/// One owner of a split creator, after the split distributed and the owner
/// withdrew.
#[derive(Clone, Debug, PartialEq)]
pub struct SplitOwnerOutcome {
    pub owner: Pubkey,
    pub bps: u16,
    /// Token account it withdrew to, and the amount.
    pub withdrawn_to: Pubkey,
    pub withdrawn: u64,
}

/// A creator that is a royalty split.
#[derive(Clone, Debug, PartialEq)]
pub struct SplitOutcome {
    pub owners: Vec<SplitOwnerOutcome>,
    /// Left in the split's earnings: the rounding remainder (less than one
    /// base unit per owner), waiting for more.
    pub remainder: u64,
}

#[derive(Clone, Debug, PartialEq)]
pub struct CreatorOutcome {
    pub wallet: Pubkey,
    /// Sum of the payments this creator's receiver accepted (gross: creator
    /// and fee shares).
    pub accepted: u64,
    /// The creator's part of `accepted` (net of fee shares), as its receiver
    /// counted it: what the creator must be able to withdraw, to the unit.
    pub accepted_net: u64,
    /// Token account the earnings were withdrawn to, and its balance (for
    /// a split: the first owner's, and the sum its owners withdrew).
    pub withdrawn_to: Pubkey,
    pub withdrawn: u64,
    /// The owners' outcomes when this creator is a split.
    pub split: Option<SplitOutcome>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ScenarioReport {
    pub mint: Pubkey,
    pub payments: usize,
    /// Payments refused: one attempt on a closing channel, to show it.
    pub refused: usize,
    /// Base units paid (accepted by receivers).
    pub value_paid: u64,
    pub claim_transactions: usize,
    pub vouchers_settled: usize,
    pub vouchers_skipped: usize,
    pub fees_lamports: u64,
    pub fee_per_payment_lamports: f64,
    /// Claim fees over the value paid (both in lamports).
    pub fee_ratio: f64,
    /// The same payments settled one transfer (one signature) each.
    pub per_payment_fees_lamports: u64,
    /// Deposits not found in escrows, creators' or the dApp's withdrawals.
    pub unaccounted: i128,
    pub payers: Vec<PayerOutcome>,
    pub creators: Vec<CreatorOutcome>,
    pub dapp: Pubkey,
    pub dapp_fee_bps: u16,
    pub dapp_withdrawn: u64,
    pub dapp_withdrawn_to: Pubkey,
    /// Every voucher the claims settled, as the program reported it.
    pub settled: Vec<SettledVoucher>,
    /// Base units accepted but lost because a channel closed before its
    /// voucher was claimed (the planner's job is to keep this 0).
    pub lost: u64,
    /// Vouchers the planner had to set aside.
    pub quarantined: usize,
}

/// Runs the story. `funder` pays for everything set up and relays claims;
/// `on_payment` is called after each payment with the number done.
pub async fn run(
    ledger: Arc<dyn Ledger>,
    time: &dyn TimeControl,
    funder: &Keypair,
    config: &ScenarioConfig,
    on_payment: &(dyn Fn(usize) + Send + Sync),
) -> Result<ScenarioReport, ScenarioError> {
    if config.payers == 0
        || config.creators == 0
        || config.min_price == 0
        || config.max_price < config.min_price
    {
        return Err(ScenarioError::Shape {
            min_price: config.min_price,
            max_price: config.max_price,
        });
    }
    let max_fee_ppm = ppm_from_ratio(config.target_fee_ratio)
        .ok_or(ScenarioError::FeeRatio(config.target_fee_ratio))?;
    let mut rng = StdRng::seed_from_u64(config.seed);
    let world = cast::World::new(ledger, funder, config).await?;
    let mut cast = world.cast(&mut rng).await?;
    let mut stage = play::Stage::new(&world, &cast, max_fee_ppm, time);
    let refused = stage.payments(&mut cast, &mut rng, on_payment).await?;
    stage.close_all(&cast).await?;
    let total = stage.total;
    settle::settle(&world, cast, total, refused).await
}
