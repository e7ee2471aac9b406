//! One event per state change, emitted with `emit_cpi!` so that it travels as an
//! inner instruction (readable from `getTransaction` and from simulations, and
//! the only channel that works when the program runs natively). Every event that
//! moves value carries the amounts and the resulting balances, so an indexer can
//! rebuild all balances from events alone.

use anchor_lang::prelude::*;

/// A payer created an escrow (and, for the first escrow of a mint, its vault).
#[event]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EscrowInitialized {
    pub escrow: Pubkey,
    pub owner: Pubkey,
    pub mint: Pubkey,
    pub vault: Pubkey,
    /// True when this instruction created the mint's vault.
    pub vault_created: bool,
    /// The escrow's generation (the slot it was created in; in channel seeds).
    pub generation: u64,
}

/// Tokens moved from a depositor's token account into the vault.
#[event]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Deposited {
    pub escrow: Pubkey,
    pub depositor: Pubkey,
    /// Base units deposited.
    pub amount: u64,
    /// Escrow free balance after the deposit, base units.
    pub balance: u64,
}

/// The escrow owner took free balance out of the vault.
#[event]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Withdrawn {
    pub escrow: Pubkey,
    pub destination: Pubkey,
    pub amount: u64,
    pub balance: u64,
}

/// A channel was opened: `allocation` left the escrow's free balance.
#[event]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChannelOpened {
    pub escrow: Pubkey,
    pub channel: Pubkey,
    /// The escrow's generation: with `id` and `nonce`, the channel's seeds.
    pub generation: u64,
    pub id: u64,
    pub nonce: u64,
    pub creator: Pubkey,
    pub signer: Pubkey,
    pub allocation: u64,
    pub fee_recipient: Pubkey,
    pub fee_bps: u16,
    pub dispute_window_secs: u32,
    /// Unix timestamp, 0 when the channel never expires.
    pub expires_at: i64,
    /// Escrow free balance after the allocation left it.
    pub escrow_balance: u64,
}

/// More allocation moved from the escrow into a channel.
#[event]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChannelToppedUp {
    pub channel: Pubkey,
    pub amount: u64,
    pub allocation: u64,
    pub escrow_balance: u64,
}

/// A creator (or fee recipient) earnings account was created.
#[event]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EarningsInitialized {
    pub earnings: Pubkey,
    pub owner: Pubkey,
    pub mint: Pubkey,
}

/// One voucher settled by a claim.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Debug, PartialEq, Eq)]
pub struct SettledVoucher {
    pub channel: Pubkey,
    /// Cumulative amount the voucher carried.
    pub voucher_amount: u64,
    /// Newly paid by this voucher: creator part + fee part.
    pub delta: u64,
    /// Credited to the creator's earnings.
    pub creator_amount: u64,
    /// Credited to the fee recipient's earnings (0 without fee share).
    pub fee_amount: u64,
    /// Channel's cumulative `claimed` after this voucher.
    pub claimed: u64,
}

/// Why a claim entry settled nothing. None of these fails the batch: each is
/// something another party may cause (a relayer settling first, a payer
/// finalizing first, an earnings account closed by its owner).
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum SkipReason {
    /// The voucher is not ahead of the channel's `claimed` (settled before).
    NotAhead,
    /// The channel account does not exist (closed, or finalized ahead of this
    /// claim). Nothing is verified or credited.
    ChannelClosed,
    /// The creator's earnings account for the mint does not exist; anyone may
    /// create it (`init_earnings`) and claim again.
    EarningsMissing,
    /// The fee recipient's earnings account for the mint does not exist.
    FeeEarningsMissing,
}

/// A claim entry that settled nothing, and why.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Debug, PartialEq, Eq)]
pub struct SkippedVoucher {
    pub channel: Pubkey,
    pub voucher_amount: u64,
    /// Channel's `claimed` (0 when the channel does not exist).
    pub claimed: u64,
    pub reason: SkipReason,
}

/// One event per claim instruction, however many vouchers it settled.
#[event]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Claimed {
    pub settled: Vec<SettledVoucher>,
    pub skipped: Vec<SkippedVoucher>,
}

/// Earnings moved from the vault to a token account of the earnings owner's choice.
#[event]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EarningsWithdrawn {
    pub earnings: Pubkey,
    pub destination: Pubkey,
    pub amount: u64,
    pub balance: u64,
}

/// The payer asked to close a channel; the creator has the dispute window to claim.
#[event]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CloseRequested {
    pub channel: Pubkey,
    pub requested_at: i64,
    /// First unix timestamp at which `finalize_close` succeeds.
    pub closable_at: i64,
}

/// A channel was closed: its unclaimed allocation returned to the escrow balance.
#[event]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChannelClosed {
    pub channel: Pubkey,
    pub escrow: Pubkey,
    /// Allocation − claimed, returned to the escrow's free balance.
    pub refund: u64,
    /// Cumulative amount the channel paid out.
    pub claimed: u64,
    pub escrow_balance: u64,
    /// True when the creator closed it (`creator_close`).
    pub by_creator: bool,
}

impl ChannelClosed {
    /// The event for `channel` (of `escrow`) closing with `refund` returned.
    pub fn new(
        channel: Pubkey,
        escrow: &crate::state::Escrow,
        escrow_key: Pubkey,
        closed: &crate::state::Channel,
        refund: u64,
        by_creator: bool,
    ) -> Self {
        ChannelClosed {
            channel,
            escrow: escrow_key,
            refund,
            claimed: closed.claimed,
            escrow_balance: escrow.balance,
            by_creator,
        }
    }
}

/// An escrow without channels was closed: its remaining balance swept to a
/// token account of the owner's choice, its rent returned to the owner.
#[event]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EscrowClosed {
    pub escrow: Pubkey,
    pub owner: Pubkey,
    /// Free balance moved out of the vault by the close, base units.
    pub swept: u64,
    /// Where the swept balance went (any token account of the mint).
    pub destination: Pubkey,
}

/// An earnings account with zero balance was closed by its owner (rent back).
#[event]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EarningsClosed {
    pub earnings: Pubkey,
    pub owner: Pubkey,
    pub mint: Pubkey,
    /// Its `total_earned` statistic at close.
    pub total_earned: u64,
}

/// A split was created: from now on it pays `recipients` their shares of
/// everything its earnings account receives.
#[event]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SplitCreated {
    pub split: Pubkey,
    pub mint: Pubkey,
    pub recipients: Vec<crate::state::SplitRecipient>,
}

/// A split's earnings moved to its recipients' earnings accounts.
#[event]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Distributed {
    pub split: Pubkey,
    pub mint: Pubkey,
    /// Everything the split has received so far, base units (for another
    /// mint than the split's: what its earnings account held before).
    pub received: u64,
    /// Credited to each recipient by this distribution (recipient order; 0
    /// for one whose earnings account was closed: its share waits).
    pub amounts: Vec<u64>,
    /// Each recipient's total distributed after it (empty for another mint
    /// than the split's, of which no record is kept).
    pub distributed: Vec<u64>,
    /// The split's earnings balance after it (the rounding remainder, and
    /// shares waiting for a closed earnings account).
    pub balance: u64,
}
