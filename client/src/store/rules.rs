//! The store's rules, in Rust: pure functions from a row and a fact to the next
//! row, and the compare-and-set loop that applies them. Backends only provide
//! `get` / `insert` / `compare_and_swap` / `list` ([`ReceiverStore`],
//! [`PayerStore`]); every decision lives here, once, for all of them.
//!
//! Receiver rows follow these rules:
//!
//! - a voucher is recorded only when it is ahead of everything the row knows
//!   (the best voucher held, what the chain had claimed) and the receiver's price
//!   rule accepts the increment; the very same voucher again is a duplicate;
//! - a newer voucher makes the row pending again, whatever it was: a claim in
//!   flight carries the older voucher, so it can never confirm the newer one;
//! - what the chain shows (`claimed`, `allocation`) only ever raises what the
//!   row knows, and the row is confirmed only when the chain's `claimed` covers
//!   everything its voucher can pay;
//! - a row is closed only on positive evidence from the cluster it was seen on
//!   (see [`CloseEvidence`]); the value it could no longer collect is reported;
//! - a closed row whose channel is seen again is live again.

use super::{ClaimStatus, PayerRecord, PayerStore, ReceiverStore, VoucherRecord};
use crate::{
    error::{ClientError, Result},
    voucher::Voucher,
};
use anchor_lang::prelude::Pubkey;
use solana_sdk::hash::Hash;

/// How often a compare-and-set is retried against concurrent writers before
/// giving up with [`ClientError::StoreContention`].
pub const CAS_ATTEMPTS: usize = 64;

/// A channel as the receiver or the planner saw it on chain.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sighting {
    /// Genesis hash of the cluster it was read from.
    pub cluster: Hash,
    /// Slot of the read (the RPC response's context slot).
    pub slot: u64,
    /// The channel's `claimed` at that slot.
    pub claimed: u64,
    /// The channel's `allocation` at that slot.
    pub allocation: u64,
}

/// Why a row may be closed: only these count, never a mere failed read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CloseEvidence {
    /// The program said so: a `ChannelClosed` event, or a claim's skip with
    /// reason `ChannelClosed`, with the channel's final `claimed` when known.
    Event { claimed: Option<u64> },
    /// The account was absent at `slot` (confirmed commitment or higher) on
    /// `cluster`. Counts only on the cluster the row was seen on and at a slot
    /// after the last sighting — so a wrong cluster, a restarted local node
    /// (slots start again) or a lagging RPC node never closes a row.
    Absent { cluster: Hash, slot: u64 },
}

impl CloseEvidence {
    /// Whether this evidence may close `record`.
    pub fn holds_for(&self, record: &VoucherRecord) -> bool {
        match self {
            CloseEvidence::Event { .. } => true,
            CloseEvidence::Absent { cluster, slot } => {
                record.cluster == Some(*cluster) && *slot > record.seen_slot
            }
        }
    }
}

/// What recording a voucher did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Recorded {
    /// Stored as the channel's highest; `previous` is the amount it is ahead of.
    Accepted { previous: u64 },
    /// The very same voucher was stored before: not counted again.
    Duplicate,
    /// Not above what the row (or the chain) already has.
    NotAhead { current: u64 },
    /// Ahead, but the price rule refused the increment.
    Underpaid { current: u64 },
}

/// The pure decision of [`record_voucher`]: the row to write, or why not.
pub fn decide_record(
    existing: Option<&VoucherRecord>,
    voucher: &Voucher,
    creator: &Pubkey,
    mint: &Pubkey,
    seen: &Sighting,
    pays_enough: &dyn Fn(u64) -> bool,
) -> std::result::Result<(VoucherRecord, u64), Recorded> {
    if let Some(r) = existing {
        if r.voucher.amount == voucher.amount && r.voucher.signature == voucher.signature {
            return Err(Recorded::Duplicate);
        }
    }
    let current = existing
        .map_or(0, |r| r.voucher.amount.max(r.claimed))
        .max(seen.claimed);
    if voucher.amount <= current {
        return Err(Recorded::NotAhead { current });
    }
    if !pays_enough(current) {
        return Err(Recorded::Underpaid { current });
    }
    let record = match existing {
        Some(r) => VoucherRecord {
            voucher: *voucher,
            claimed: r.claimed.max(seen.claimed),
            allocation: r.allocation.max(seen.allocation),
            // newer than anything in flight, and the channel was just seen
            status: ClaimStatus::Pending,
            cluster: Some(seen.cluster),
            seen_slot: r.seen_slot.max(seen.slot),
            note: None,
            ..r.clone()
        },
        None => VoucherRecord {
            voucher: *voucher,
            creator: *creator,
            mint: *mint,
            claimed: seen.claimed,
            allocation: seen.allocation,
            status: ClaimStatus::Pending,
            claim_signature: None,
            cluster: Some(seen.cluster),
            seen_slot: seen.slot,
            note: None,
            version: 0,
        },
    };
    Ok((record, current))
}

/// Atomically records `voucher` (see the module rules): get, decide, then
/// insert or compare-and-swap, retried when another writer got there first.
pub fn record_voucher(
    store: &dyn ReceiverStore,
    voucher: &Voucher,
    creator: &Pubkey,
    mint: &Pubkey,
    seen: &Sighting,
    pays_enough: &dyn Fn(u64) -> bool,
) -> Result<Recorded> {
    for _ in 0..CAS_ATTEMPTS {
        let existing = store.get(&voucher.channel)?;
        let (record, previous) =
            match decide_record(existing.as_ref(), voucher, creator, mint, seen, pays_enough) {
                Ok(next) => next,
                Err(outcome) => return Ok(outcome),
            };
        let written = match &existing {
            Some(row) => store.compare_and_swap(row.version, &record)?,
            None => store.insert(&record)?,
        };
        if written {
            return Ok(Recorded::Accepted { previous });
        }
    }
    Err(ClientError::StoreContention {
        channel: voucher.channel,
    })
}

/// The row after the chain was seen: `claimed` and `allocation` only rise, a
/// closed row whose channel exists again is live, and the row is confirmed
/// when the chain's `claimed` covers all its voucher can pay. `None` when
/// nothing changes.
pub fn observe(record: &VoucherRecord, seen: &Sighting) -> Option<VoucherRecord> {
    if record.cluster.is_some_and(|c| c != seen.cluster) {
        return None;
    }
    let mut next = record.clone();
    next.cluster = Some(seen.cluster);
    next.claimed = record.claimed.max(seen.claimed);
    next.allocation = record.allocation.max(seen.allocation);
    next.seen_slot = record.seen_slot.max(seen.slot);
    let payable = next.voucher.amount.min(next.allocation);
    next.status = if payable <= next.claimed {
        ClaimStatus::Confirmed
    } else {
        match record.status {
            // the channel exists: a closed (or confirmed-too-early) row is live
            ClaimStatus::Closed | ClaimStatus::Confirmed => ClaimStatus::Pending,
            other => other,
        }
    };
    if next.status != ClaimStatus::Quarantined && record.status == ClaimStatus::Closed {
        next.note = None;
    }
    (next != *record).then_some(next)
}

/// The row closed on `evidence`, and the value it can no longer collect
/// (`min(voucher, allocation) − claimed`, base units). `None` when the
/// evidence does not hold for this row or it is already closed.
pub fn close(record: &VoucherRecord, evidence: &CloseEvidence) -> Option<(VoucherRecord, u64)> {
    if record.status == ClaimStatus::Closed || !evidence.holds_for(record) {
        return None;
    }
    let mut next = record.clone();
    if let CloseEvidence::Event {
        claimed: Some(claimed),
    } = evidence
    {
        next.claimed = next.claimed.max(*claimed);
    }
    let lost = next
        .voucher
        .amount
        .min(next.allocation)
        .saturating_sub(next.claimed);
    next.status = ClaimStatus::Closed;
    next.note = (lost > 0).then(|| format!("channel closed with {lost} base units unclaimed"));
    Some((next, lost))
}

/// The row once a claim transaction carrying its voucher was sent.
pub fn submitted(
    record: &VoucherRecord,
    voucher_amount: u64,
    signature: &str,
) -> Option<VoucherRecord> {
    // a newer voucher arrived meanwhile: this claim does not carry it
    if record.voucher.amount != voucher_amount
        || !matches!(
            record.status,
            ClaimStatus::Pending | ClaimStatus::Submitted | ClaimStatus::Quarantined
        )
    {
        return None;
    }
    let mut next = record.clone();
    next.status = ClaimStatus::Submitted;
    next.claim_signature = Some(signature.to_string());
    next.note = None;
    Some(next)
}

/// The row set aside with `reason`: reported, retried alone, never batched.
pub fn quarantine(
    record: &VoucherRecord,
    voucher_amount: u64,
    reason: &str,
) -> Option<VoucherRecord> {
    if record.voucher.amount != voucher_amount
        || matches!(record.status, ClaimStatus::Confirmed | ClaimStatus::Closed)
    {
        return None;
    }
    let mut next = record.clone();
    next.status = ClaimStatus::Quarantined;
    next.note = Some(reason.to_string());
    (next != *record).then_some(next)
}

/// Applies `rule` to the row of `channel` with compare-and-set, re-reading and
/// re-deciding when a concurrent writer changed it. Returns the row written,
/// or `None` when there is no row or the rule changes nothing.
pub fn update(
    store: &dyn ReceiverStore,
    channel: &Pubkey,
    rule: &dyn Fn(&VoucherRecord) -> Option<VoucherRecord>,
) -> Result<Option<VoucherRecord>> {
    for _ in 0..CAS_ATTEMPTS {
        let Some(row) = store.get(channel)? else {
            return Ok(None);
        };
        let Some(next) = rule(&row) else {
            return Ok(None);
        };
        if store.compare_and_swap(row.version, &next)? {
            return Ok(Some(next));
        }
    }
    Err(ClientError::StoreContention { channel: *channel })
}

/// Payer side: registers a channel and its session key, or raises the
/// allocation (after a top-up) of one registered before. The cumulative
/// amount signed never goes down, whatever is registered.
pub fn register_payer(store: &dyn PayerStore, record: &PayerRecord) -> Result<()> {
    for _ in 0..CAS_ATTEMPTS {
        match store.get_payer(&record.channel)? {
            None => {
                if store.insert_payer(record)? {
                    return Ok(());
                }
            }
            Some(row) => {
                let next = PayerRecord {
                    allocation: row.allocation.max(record.allocation),
                    cumulative: row.cumulative.max(record.cumulative),
                    ..row.clone()
                };
                if next == row || store.compare_and_swap_payer(row.version, &next)? {
                    return Ok(());
                }
            }
        }
    }
    Err(ClientError::StoreContention {
        channel: record.channel,
    })
}

/// Payer side: raises the channel's cumulative amount by `price` when it stays
/// within the allocation, durably, before anything is signed. Returns the new
/// row, or `None` when it would exceed the allocation.
pub fn reserve_payment(
    store: &dyn PayerStore,
    channel: &Pubkey,
    price: u64,
) -> Result<Option<PayerRecord>> {
    for _ in 0..CAS_ATTEMPTS {
        let row = store
            .get_payer(channel)?
            .ok_or(ClientError::UnknownPayerChannel { channel: *channel })?;
        let Some(cumulative) = row
            .cumulative
            .checked_add(price)
            .filter(|n| *n <= row.allocation)
        else {
            return Ok(None);
        };
        let next = PayerRecord {
            cumulative,
            ..row.clone()
        };
        if store.compare_and_swap_payer(row.version, &next)? {
            return Ok(Some(PayerRecord {
                version: row.version.saturating_add(1),
                ..next
            }));
        }
    }
    Err(ClientError::StoreContention { channel: *channel })
}
