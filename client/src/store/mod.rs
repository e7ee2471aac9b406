//! Durable voucher store behind a trait. The embedded default is SQLite
//! ([`SqliteStore`]); a service running on several machines would put the same
//! trait on a shared database.
//!
//! Receiver side: the highest voucher per channel and its claim status —
//! `pending` (not yet settled), `submitted` (a claim transaction carries it),
//! `confirmed` (the chain's `claimed` reached it), `closed` (the channel closed
//! before it was settled). A voucher stays claimable until its claim is
//! confirmed on chain. Payer side: each channel's session key and the
//! cumulative amount signed so far, which only ever grows.

mod sqlite;

pub use sqlite::SqliteStore;

use crate::{error::Result, voucher::Voucher};
use anchor_lang::prelude::Pubkey;

/// Claim status of a stored voucher.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClaimStatus {
    Pending,
    Submitted,
    Confirmed,
    Closed,
}

impl ClaimStatus {
    pub fn as_str(&self) -> &'static str {
        match self {
            ClaimStatus::Pending => "pending",
            ClaimStatus::Submitted => "submitted",
            ClaimStatus::Confirmed => "confirmed",
            ClaimStatus::Closed => "closed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "pending" => ClaimStatus::Pending,
            "submitted" => ClaimStatus::Submitted,
            "confirmed" => ClaimStatus::Confirmed,
            "closed" => ClaimStatus::Closed,
            _ => return None,
        })
    }
}

/// The highest voucher a receiver holds for a channel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredVoucher {
    pub voucher: Voucher,
    pub creator: Pubkey,
    pub mint: Pubkey,
    /// The channel's `claimed` as last confirmed on chain.
    pub claimed: u64,
    pub status: ClaimStatus,
    /// Signature of the last claim transaction that carried it.
    pub claim_signature: Option<String>,
}

/// What `record` did with a voucher.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecordOutcome {
    /// Stored as the channel's highest; `previous` is the amount it replaced.
    Accepted { previous: u64 },
    /// The very same voucher was stored before: not counted again.
    Duplicate,
    /// Not above the stored (or already claimed) amount.
    NotAhead { current: u64 },
    /// Ahead, but `pays_enough` refused the increment.
    Underpaid { current: u64 },
}

/// A payer's state for one channel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PayerChannel {
    pub channel: Pubkey,
    /// The session key's 64-byte keypair (secret ‖ public).
    pub signer_keypair: [u8; 64],
    /// Cumulative amount signed so far.
    pub cumulative: u64,
    /// The channel's allocation as the payer knows it.
    pub allocation: u64,
}

pub trait VoucherStore: Send + Sync {
    /// Atomically stores `voucher` as the channel's highest when it is ahead of
    /// `current` — the stored amount, what the store last saw claimed, and
    /// `floor` (the on-chain `claimed`), whichever is highest — and
    /// `pays_enough(current)` holds (the receiver's price rule, e.g. net of a
    /// fee share). The read, the rule and the write are one transaction.
    fn record(
        &self,
        voucher: &Voucher,
        creator: &Pubkey,
        mint: &Pubkey,
        floor: u64,
        pays_enough: &dyn Fn(u64) -> bool,
    ) -> Result<RecordOutcome>;

    fn get(&self, channel: &Pubkey) -> Result<Option<StoredVoucher>>;

    /// Vouchers not yet confirmed on chain (pending or submitted).
    fn claimable(&self) -> Result<Vec<StoredVoucher>>;

    /// A claim transaction carrying these channels' vouchers was sent.
    fn mark_submitted(&self, channels: &[Pubkey], signature: &str) -> Result<()>;

    /// The chain reports `claimed` for the channel; `settled` when the stored
    /// voucher can pay nothing more (confirmed).
    fn mark_claimed(&self, channel: &Pubkey, claimed: u64, settled: bool) -> Result<()>;

    /// The channel no longer exists: its voucher can never be claimed.
    fn mark_closed(&self, channel: &Pubkey) -> Result<()>;

    /// Payer side: registers a channel and its session key (idempotent; a
    /// larger allocation replaces a smaller one).
    fn register_payer_channel(&self, state: &PayerChannel) -> Result<()>;

    fn payer_channel(&self, channel: &Pubkey) -> Result<Option<PayerChannel>>;

    /// Atomically raises the channel's cumulative amount by `price` when it
    /// stays within the allocation; returns the new cumulative amount, or
    /// `None` when it would exceed the allocation.
    fn reserve_payment(&self, channel: &Pubkey, price: u64) -> Result<Option<PayerChannel>>;
}
