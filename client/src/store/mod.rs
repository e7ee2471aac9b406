//! Durable state behind two small traits of **dumb compare-and-set
//! primitives** — `get`, `insert`, `compare_and_swap`, `list` — with every rule
//! in Rust ([`rules`]), once, for all backends. The embedded default is SQLite
//! ([`SqliteStore`]); a shared database (Postgres, for receivers on several
//! machines) implements the same traits and must pass the same
//! [`conformance`] suite.
//!
//! Receiver side ([`ReceiverStore`]): per channel, the highest voucher accepted
//! and its claim status — `pending` (not settled), `submitted` (a claim
//! transaction carries it), `confirmed` (the chain's `claimed` covers it),
//! `closed` (the channel closed before it was settled: only on positive
//! evidence, see [`rules::CloseEvidence`]), `quarantined` (it cannot be valued or
//! settled now: set aside with a reason, retried alone, never blocking others).
//! Each row remembers the cluster (genesis hash) and slot it was last seen at.
//!
//! Beside the rows, a receiver keeps **credits** ([`Credit`]): paid requests
//! that were not served (the upstream failed, or a settle-first claim did
//! not go through), so the same voucher sent again for the same route is
//! served once — after a restart too, and on any gateway sharing the store.
//!
//! Payer side ([`PayerStore`]): each channel's session key and the cumulative
//! amount reserved for signing (nothing above it was ever signed).
//!
//! Amounts are `u64` everywhere; a backend with signed 64-bit integers stores
//! the same bits (see `sqlite.rs`), so every `u64` round-trips.

pub mod commit;
pub mod conformance;
pub mod offload;
#[cfg(feature = "postgres")]
mod pg_tls;
#[cfg(feature = "postgres")]
pub mod postgres;
pub mod rules;
#[cfg(feature = "sqlite")]
mod sqlite;

pub use offload::{AsyncLease, AsyncStore};
#[cfg(feature = "sqlite")]
pub use sqlite::SqliteStore;

use crate::error::{ClientError, Result};
use anchor_lang::prelude::Pubkey;
use micropay_sdk::{voucher::Voucher, x402::payment_id::Binding};
use solana_sdk::hash::Hash;

// Column codecs shared by the SQL backends: `u64` stored as the signed
// 64-bit integer with the same bits, keys as 32 bytes.
#[cfg(any(feature = "sqlite", feature = "postgres"))]
fn bits(value: u64) -> i64 {
    i64::from_ne_bytes(value.to_ne_bytes())
}

#[cfg(any(feature = "sqlite", feature = "postgres"))]
fn unbits(value: i64) -> u64 {
    u64::from_ne_bytes(value.to_ne_bytes())
}

#[cfg(any(feature = "sqlite", feature = "postgres"))]
fn corrupt(what: &str) -> crate::error::ClientError {
    crate::error::ClientError::store(format!("corrupt {what} in store"))
}

#[cfg(any(feature = "sqlite", feature = "postgres"))]
fn key(bytes: Vec<u8>) -> Result<Pubkey> {
    Pubkey::try_from(bytes.as_slice()).map_err(|_| corrupt("key"))
}

/// Claim status of a stored voucher.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ClaimStatus {
    /// Accepted, not yet claimed.
    Pending,
    /// A claim carrying it was signed and recorded (maybe sent).
    Submitted,
    /// The chain settled it.
    Confirmed,
    /// The channel is gone; any unclaimed value is reported lost.
    Closed,
    /// Set aside with a reason; retried alone.
    Quarantined,
}

impl ClaimStatus {
    /// Every status.
    pub const ALL: [ClaimStatus; 5] = [
        ClaimStatus::Pending,
        ClaimStatus::Submitted,
        ClaimStatus::Confirmed,
        ClaimStatus::Closed,
        ClaimStatus::Quarantined,
    ];

    /// Statuses of vouchers that may still pay something.
    pub const OPEN: [ClaimStatus; 3] = [
        ClaimStatus::Pending,
        ClaimStatus::Submitted,
        ClaimStatus::Quarantined,
    ];

    /// The status's name in stores and output.
    pub fn as_str(&self) -> &'static str {
        match self {
            ClaimStatus::Pending => "pending",
            ClaimStatus::Submitted => "submitted",
            ClaimStatus::Confirmed => "confirmed",
            ClaimStatus::Closed => "closed",
            ClaimStatus::Quarantined => "quarantined",
        }
    }

    /// The status named `s`.
    pub fn parse(s: &str) -> Option<Self> {
        ClaimStatus::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

/// A receiver's row for one channel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VoucherRecord {
    /// The highest voucher accepted (its `channel` is the row's key).
    pub voucher: Voucher,
    /// The channel's creator.
    pub creator: Pubkey,
    /// The channel's mint.
    pub mint: Pubkey,
    /// The channel's `claimed` as last seen on chain, base units.
    pub claimed: u64,
    /// The channel's `allocation` as last seen on chain, base units.
    pub allocation: u64,
    /// Where the voucher's claim stands.
    pub status: ClaimStatus,
    /// Signature of the last claim transaction that carried the voucher,
    /// recorded before that transaction was sent.
    pub claim_signature: Option<String>,
    /// The last block height at which that transaction can land (`None`
    /// when unknown). Until then a restart waits for it rather than sending
    /// a second claim.
    pub claim_valid_until: Option<u64>,
    /// Genesis hash of the cluster the channel was seen on (`None`: rows
    /// written before this was recorded, until the channel is seen again).
    pub cluster: Option<Hash>,
    /// Highest slot at which the channel was seen to exist.
    pub seen_slot: u64,
    /// Why the row is quarantined or closed with value lost, for reports.
    pub note: Option<String>,
    /// Compare-and-set version: bumped by every write; 0 before the first.
    pub version: u64,
}

/// A paid request that was not served: the voucher `(channel, amount)`
/// buys one serving of `route` when it is sent again. Keyed by all three.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Credit {
    /// The channel paid.
    pub channel: Pubkey,
    /// The voucher's cumulative amount.
    pub amount: u64,
    /// The route it paid for (method and path pattern, as the paywall names it).
    pub route: String,
    /// What the voucher paid the creator, net of the fee share.
    pub net: u64,
    /// The channel's allocation when it was accepted.
    pub allocation: u64,
    /// The channel's signer (the payer's session key).
    pub signer: Pubkey,
    /// When it was kept, Unix seconds.
    pub created_at: u64,
}

/// Where an x402 `exact` payment's transaction stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExactStatus {
    /// Recorded; its transaction may have been sent (it lands at most once:
    /// sending it again and confirming is safe).
    Sending,
    /// The transaction landed: the payment buys one serving, not given yet
    /// (or given back: the upstream failed).
    Settled,
    /// Settled and served: nothing more is owed.
    Served,
    /// The cluster refused the transaction: it never lands.
    Failed,
}

impl ExactStatus {
    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            ExactStatus::Sending => "sending",
            ExactStatus::Settled => "settled",
            ExactStatus::Served => "served",
            ExactStatus::Failed => "failed",
        }
    }

    /// The status spelled `text`.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "sending" => Some(ExactStatus::Sending),
            "settled" => Some(ExactStatus::Settled),
            "served" => Some(ExactStatus::Served),
            "failed" => Some(ExactStatus::Failed),
            _ => None,
        }
    }
}

/// An x402 `exact` payment, recorded before its transaction is sent: its
/// id is served at most once (a cluster answers the resend of a landed
/// transaction as if it were new; this row is what says it is not).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExactPayment {
    /// The transaction's id: its first signature (the fee payer's), base58.
    pub id: String,
    /// Who paid: the transfer's authority.
    pub payer: Pubkey,
    /// The mint paid in.
    pub mint: Pubkey,
    /// Base units transferred.
    pub amount: u64,
    /// The route it paid for (as the paywall names routes).
    pub route: String,
    /// Where it stands.
    pub status: ExactStatus,
    /// When it was recorded, Unix seconds.
    pub created_at: u64,
}

/// Settled `exact` payments of one mint ([`ReceiverStore::exact_totals`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExactTotal {
    /// The mint.
    pub mint: Pubkey,
    /// Payments settled.
    pub payments: u64,
    /// Base units they moved to the payee.
    pub amount: u64,
}

/// A payer's row for one channel.
#[derive(Clone, PartialEq, Eq)]
pub struct PayerRecord {
    /// The channel (the row's key).
    pub channel: Pubkey,
    /// The session key's 64-byte keypair (secret ‖ public). Never printed.
    pub signer_keypair: [u8; 64],
    /// The reservation: no voucher above this cumulative amount was ever
    /// signed (base units). It rises before anything above it is signed, by
    /// one payment or a block of them (see [`crate::payer`]), and falls only
    /// when a payer gives back its own reservation's unsigned rest.
    pub cumulative: u64,
    /// The channel's allocation as the payer knows it.
    pub allocation: u64,
    /// Compare-and-set version, as for [`VoucherRecord::version`].
    pub version: u64,
}

impl std::fmt::Debug for PayerRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PayerRecord")
            .field("channel", &self.channel)
            .field("signer_keypair", &"<redacted>")
            .field("cumulative", &self.cumulative)
            .field("allocation", &self.allocation)
            .field("version", &self.version)
            .finish()
    }
}

/// The receiver's primitives. Implementations make each call atomic and
/// durable before it returns; they decide nothing.
pub trait ReceiverStore: Send + Sync {
    /// The row of `channel`.
    fn get(&self, channel: &Pubkey) -> Result<Option<VoucherRecord>>;

    /// Inserts `record` with version 1 unless its channel has a row already;
    /// `true` when inserted.
    fn insert(&self, record: &VoucherRecord) -> Result<bool>;

    /// Replaces the row of `record.voucher.channel` with `record` (version
    /// `expected + 1`) only while the stored version is `expected`; `true`
    /// when replaced.
    fn compare_and_swap(&self, expected: u64, record: &VoucherRecord) -> Result<bool>;

    /// Rows with one of `statuses`, by channel.
    fn list(&self, statuses: &[ClaimStatus]) -> Result<Vec<VoucherRecord>>;

    /// Applies `writes` in order, each exactly as [`ReceiverStore::insert`]
    /// or [`ReceiverStore::compare_and_swap`] alone would (each succeeds or
    /// fails on its own version check; a later write sees the earlier ones),
    /// in **one atomic, durable commit**: when it returns `Ok`, every write
    /// reported `true` is durable; when it returns `Err`, none was applied.
    /// This is group commit's primitive ([`commit::GroupCommit`]): one fsync
    /// or one round trip for many writers.
    fn write_batch(&self, writes: &[RowWrite]) -> Result<Vec<bool>>;

    /// How many [`ReceiverStore::write_batch`] calls this store runs at once
    /// to advantage: 1 for a store with one writer (SQLite: concurrent
    /// batches would only queue on its lock), more for one whose commits
    /// wait on a round trip and a server's flush (Postgres: one per writer
    /// connection). Group commit keeps that many batches in flight.
    fn concurrent_batches(&self) -> usize {
        1
    }

    /// Keeps `credit` durably unless one with its `(channel, amount,
    /// route)` is kept already; `true` when kept.
    fn put_credit(&self, credit: &Credit) -> Result<bool>;

    /// Takes (deletes and returns) the credit of `(channel, amount,
    /// route)`: of concurrent takers, exactly one gets it.
    fn take_credit(&self, channel: &Pubkey, amount: u64, route: &str) -> Result<Option<Credit>>;

    /// How many credits are kept.
    fn count_credits(&self) -> Result<u64>;

    /// Records the `exact` payment `payment` unless its id is recorded;
    /// `true` when recorded. (Backends that take `exact` payments implement
    /// the three `exact` primitives; the conformance suite checks them.)
    fn put_exact(&self, payment: &ExactPayment) -> Result<bool> {
        let _ = payment;
        Err(ClientError::store("this store keeps no exact payments"))
    }

    /// The `exact` payment recorded under `id`.
    fn get_exact(&self, id: &str) -> Result<Option<ExactPayment>> {
        let _ = id;
        Err(ClientError::store("this store keeps no exact payments"))
    }

    /// Moves the payment `id` from `from` to `to`; `true` when it was at
    /// `from` (of concurrent movers, exactly one wins).
    fn set_exact_status(&self, id: &str, from: ExactStatus, to: ExactStatus) -> Result<bool> {
        let _ = (id, from, to);
        Err(ClientError::store("this store keeps no exact payments"))
    }

    /// What settled `exact` payments brought, per mint (settled and
    /// served ones; sending and failed ones moved nothing here): the
    /// receiver's reports show it beside its channels' vouchers. A store
    /// that keeps no `exact` payments has none.
    fn exact_totals(&self) -> Result<Vec<ExactTotal>> {
        Ok(Vec::new())
    }

    /// Binds the x402 payment identifier `id` to `binding` unless it is
    /// bound: `None` when bound now, else the binding it has (of
    /// concurrent binders, exactly one binds). Backends that take paid
    /// requests implement both primitives; the conformance suite checks
    /// them.
    fn bind_payment_id(&self, id: &str, binding: &Binding) -> Result<Option<Binding>> {
        let _ = (id, binding);
        Err(ClientError::store(
            "this store keeps no payment identifiers",
        ))
    }

    /// Frees `id` if it is bound to `binding` (a payment refused before it
    /// was taken); `true` when freed.
    fn unbind_payment_id(&self, id: &str, binding: &Binding) -> Result<bool> {
        let _ = (id, binding);
        Err(ClientError::store(
            "this store keeps no payment identifiers",
        ))
    }

    /// The lease that makes one watcher active among several processes
    /// watching this store (gateways sharing a database); `None` when one
    /// watcher per store is the rule (a local file: the default).
    fn watcher_lease(&self) -> Result<Option<Box<dyn WatcherLease>>> {
        Ok(None)
    }
}

/// The right to be the one active watcher of a shared store.
pub trait WatcherLease: Send + Sync {
    /// Takes the lease when it is free, keeps it when held: `true` while this
    /// process holds it. One process holds it at a time; it is released when
    /// that process dies (for Postgres: when its database session ends, at
    /// once for a killed process, whose connection the kernel closes).
    fn hold(&self) -> Result<bool>;
}

/// One write of a [`ReceiverStore::write_batch`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RowWrite {
    /// As [`ReceiverStore::insert`].
    Insert(VoucherRecord),
    /// As [`ReceiverStore::compare_and_swap`] from version `expected`.
    Swap {
        /// The version the row must have.
        expected: u64,
        /// The row to write (its channel is the key).
        record: VoucherRecord,
    },
}

impl RowWrite {
    /// The row written.
    pub fn record(&self) -> &VoucherRecord {
        match self {
            RowWrite::Insert(record) | RowWrite::Swap { record, .. } => record,
        }
    }
}

/// The payer's primitives, with the same contract as [`ReceiverStore`].
pub trait PayerStore: Send + Sync {
    /// The payer's row of `channel`.
    fn get_payer(&self, channel: &Pubkey) -> Result<Option<PayerRecord>>;

    /// Inserts with version 1 unless the channel has a row; `true` when inserted.
    fn insert_payer(&self, record: &PayerRecord) -> Result<bool>;

    /// Replaces the row while its version is `expected`; `true` when replaced.
    fn compare_and_swap_payer(&self, expected: u64, record: &PayerRecord) -> Result<bool>;

    /// Deletes the row of `channel` while its version is `expected`; `true`
    /// when deleted.
    fn delete_payer(&self, channel: &Pubkey, expected: u64) -> Result<bool>;
}
