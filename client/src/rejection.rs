//! Why a receiver refuses a voucher: a leaf, so that the client's error
//! type can carry a refusal without depending on the receiver.

use anchor_lang::prelude::Pubkey;

/// Why a voucher was refused. Every variant carries what a caller needs to
/// report or act on it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    /// No channel at that address.
    #[error("channel {0} does not exist (closed or never opened)")]
    UnknownChannel(Pubkey),
    /// The channel pays another creator (`actual`).
    #[error("channel {channel} pays {actual}, not this creator")]
    WrongCreator {
        /// The channel.
        channel: Pubkey,
        /// The creator it pays.
        actual: Pubkey,
    },
    /// The channel's mint is not accepted.
    #[error("channel {channel} pays in mint {mint}, which this receiver does not accept")]
    MintNotAccepted {
        /// The channel.
        channel: Pubkey,
        /// Its mint.
        mint: Pubkey,
    },
    #[error(
        "channel {channel} gives {bps} bps to {recipient}, outside this receiver's fee policy"
    )]
    /// The channel's fee share is not accepted.
    FeeNotAccepted {
        /// The channel.
        channel: Pubkey,
        /// Its fee recipient.
        recipient: Pubkey,
        /// Its fee share, basis points.
        bps: u16,
    },
    /// The channel's dispute window is shorter than accepted.
    #[error("channel {channel} has a dispute window of {secs} s, below the {min} s this receiver needs to claim in time")]
    DisputeWindowTooShort {
        /// The channel.
        channel: Pubkey,
        /// Its window, seconds.
        secs: u32,
        /// The shortest accepted, seconds.
        min: u32,
    },
    /// The payer asked to close the channel.
    #[error("channel {0} is closing; ask the payer for a new channel")]
    ChannelClosing(Pubkey),
    /// The channel expires too soon to claim.
    #[error("channel {0} expires too soon to accept more payments")]
    ChannelExpiring(Pubkey),
    /// An earnings account the claim needs does not exist.
    #[error("earnings account {account} (of {owner}) does not exist, so a claim of channel {channel} would settle nothing; create it with `micropay earnings init`")]
    EarningsMissing {
        /// The channel.
        channel: Pubkey,
        /// Who the earnings account is for.
        owner: Pubkey,
        /// Its address.
        account: Pubkey,
    },
    /// The voucher is above the channel's allocation.
    #[error("voucher amount {amount} is above the channel allocation {allocation}")]
    ExceedsAllocation {
        /// The voucher's cumulative amount.
        amount: u64,
        /// The channel's allocation.
        allocation: u64,
    },
    /// The voucher is not above what is held or claimed.
    #[error("voucher amount {amount} is not above the {current} already held")]
    NotAhead {
        /// The voucher's cumulative amount.
        amount: u64,
        /// What is held or claimed already.
        current: u64,
    },
    /// The voucher pays the creator less than the price.
    #[error("voucher pays {paid} more (net of the fee share), less than the price {price}")]
    Underpaid {
        /// What the voucher pays the creator, net.
        paid: u64,
        /// The price asked.
        price: u64,
    },
    /// This exact voucher was accepted before.
    #[error("voucher for {amount} on channel {channel} was accepted before: a retry pays nothing")]
    Duplicate {
        /// The channel.
        channel: Pubkey,
        /// The voucher's cumulative amount.
        amount: u64,
    },
}
