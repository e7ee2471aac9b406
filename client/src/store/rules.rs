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
use crate::error::{ClientError, Result};
use anchor_lang::prelude::Pubkey;
use micropay_sdk::voucher::Voucher;
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
    /// The program said the channel closed (with its last `claimed`, if known).
    Event {
        /// The channel's `claimed` when it closed, if the event said.
        claimed: Option<u64>,
    },
    /// The account was absent at `slot` (confirmed commitment or higher) on
    /// `cluster`. Counts only on the cluster the row was seen on and at a slot
    /// after the last sighting — so a wrong cluster, a restarted local node
    /// (slots start again) or a lagging RPC node never closes a row.
    /// The account was absent on `cluster` at `slot`.
    Absent {
        /// Genesis hash of the cluster read.
        cluster: Hash,
        /// The slot of the read.
        slot: u64,
    },
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
    /// Recorded; `previous` was the amount held before.
    Accepted {
        /// The amount held before.
        previous: u64,
    },
    /// The very same voucher was stored before: not counted again.
    Duplicate,
    /// Not above what the row (or the chain) already has.
    /// Not above `current` (held or claimed).
    NotAhead {
        /// What is held or claimed.
        current: u64,
    },
    /// Ahead, but the price rule refused the increment.
    /// Above `current`, but the increment does not pay the price.
    Underpaid {
        /// What is held.
        current: u64,
    },
}

/// Whether `voucher` stands above what the channel's row (`existing`) and
/// the chain (`claimed`) hold: the amount it is ahead of, or why not (the
/// very same voucher again, or not above). The one place this is decided:
/// the receiver asks it before reading the chain, and again at the write.
pub fn standing(
    existing: Option<&VoucherRecord>,
    voucher: &Voucher,
    claimed: u64,
) -> std::result::Result<u64, Recorded> {
    if let Some(r) = existing {
        if r.voucher.amount == voucher.amount && r.voucher.signature == voucher.signature {
            return Err(Recorded::Duplicate);
        }
    }
    let current = existing
        .map_or(0, |r| r.voucher.amount.max(r.claimed))
        .max(claimed);
    if voucher.amount <= current {
        return Err(Recorded::NotAhead { current });
    }
    Ok(current)
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
    let current = standing(existing, voucher, seen.claimed)?;
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
            claim_valid_until: None,
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

/// The row once a claim transaction carrying its voucher was signed, before
/// it is sent: `signature` can land until block height `valid_until`.
pub fn submitted(
    record: &VoucherRecord,
    voucher_amount: u64,
    signature: &str,
    valid_until: u64,
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
    next.claim_valid_until = Some(valid_until);
    next.note = None;
    Some(next)
}

/// The claim transaction `signature` will never land (it was refused before
/// sending, or its blockhash expired): the row is claimable again. Any other
/// row (a later claim, a confirmation meanwhile) is left as it is.
pub fn dropped(record: &VoucherRecord, signature: &str) -> Option<VoucherRecord> {
    if record.status != ClaimStatus::Submitted
        || record.claim_signature.as_deref() != Some(signature)
    {
        return None;
    }
    let mut next = record.clone();
    next.status = ClaimStatus::Pending;
    next.claim_valid_until = None;
    Some(next)
}

/// The claim transaction a row waits for, if one may still be in flight:
/// its signature and the last block height at which it can land.
pub fn in_flight(record: &VoucherRecord) -> Option<(&str, u64)> {
    match (
        record.status,
        &record.claim_signature,
        record.claim_valid_until,
    ) {
        (ClaimStatus::Submitted, Some(signature), Some(valid_until)) => {
            Some((signature.as_str(), valid_until))
        }
        _ => None,
    }
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

/// Payer side: forgets a channel's session key when nothing was ever signed
/// with it (its channel failed to open). Returns whether it was forgotten; a
/// key that signed anything is kept, whatever happens.
pub fn forget_unused_payer(store: &dyn PayerStore, channel: &Pubkey) -> Result<bool> {
    for _ in 0..CAS_ATTEMPTS {
        let Some(row) = store.get_payer(channel)? else {
            return Ok(false);
        };
        if row.cumulative > 0 {
            return Ok(false);
        }
        if store.delete_payer(channel, row.version)? {
            return Ok(true);
        }
    }
    Err(ClientError::StoreContention { channel: *channel })
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

/// What [`reserve_block`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reservation {
    /// `row` (as written, with its new version) reserves up to its
    /// `cumulative`; the payer signs `amount`.
    Reserved {
        /// The row as stored now.
        row: PayerRecord,
        /// The cumulative amount to sign.
        amount: u64,
    },
    /// Signing `amount` would exceed the allocation of `row` (as read).
    Exceeds {
        /// The row as read.
        row: PayerRecord,
        /// The cumulative amount that did not fit.
        amount: u64,
    },
}

/// Payer side: makes `signed + price` signable, reserving ahead. The row's
/// `cumulative` is the reservation: no voucher above it was ever signed.
/// `signed` is the highest amount this payer signed and `reserved` the row's
/// `cumulative` as this payer last wrote or read it; if the row moved past
/// `reserved` (another process of the same payer reserved), signing resumes
/// above it. The new reservation covers `ahead` payments of `price` (at
/// least this one), within the allocation, so the next `ahead − 1`
/// payments of that price need no store write.
pub fn reserve_block(
    store: &dyn PayerStore,
    channel: &Pubkey,
    signed: u64,
    reserved: u64,
    price: u64,
    ahead: u64,
) -> Result<Reservation> {
    for _ in 0..CAS_ATTEMPTS {
        let row = store
            .get_payer(channel)?
            .ok_or(ClientError::UnknownPayerChannel { channel: *channel })?;
        let base = if row.cumulative == reserved {
            signed
        } else {
            signed.max(row.cumulative)
        };
        let Some(amount) = base.checked_add(price).filter(|a| *a <= row.allocation) else {
            return Ok(Reservation::Exceeds {
                amount: base.saturating_add(price),
                row,
            });
        };
        if amount <= row.cumulative && row.cumulative == reserved {
            return Ok(Reservation::Reserved { row, amount });
        }
        let target = amount
            .saturating_add(price.saturating_mul(ahead.saturating_sub(1)))
            .min(row.allocation);
        let next = PayerRecord {
            cumulative: target,
            ..row.clone()
        };
        if store.compare_and_swap_payer(row.version, &next)? {
            return Ok(Reservation::Reserved {
                row: PayerRecord {
                    version: row.version.saturating_add(1),
                    ..next
                },
                amount,
            });
        }
    }
    Err(ClientError::StoreContention { channel: *channel })
}

/// Payer side: gives back what was reserved and never signed, lowering the
/// row's `cumulative` from `reserved` to `signed` — only while the row still
/// holds this payer's reservation (nobody can have signed above `signed`).
/// Returns the row written, or `None` when nothing was given back.
pub fn release_reservation(
    store: &dyn PayerStore,
    channel: &Pubkey,
    signed: u64,
    reserved: u64,
) -> Result<Option<PayerRecord>> {
    for _ in 0..CAS_ATTEMPTS {
        let Some(row) = store.get_payer(channel)? else {
            return Ok(None);
        };
        if row.cumulative != reserved || signed >= reserved {
            return Ok(None);
        }
        let next = PayerRecord {
            cumulative: signed,
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

#[cfg(all(test, feature = "sqlite"))]
#[allow(clippy::arithmetic_side_effects)] // the model's bookkeeping on small numbers
mod tests {
    use super::*;
    use crate::store::SqliteStore;
    use proptest::prelude::*;
    use solana_sdk::signature::Keypair;

    /// What can happen to one channel's row, in any order.
    #[derive(Clone, Debug)]
    enum Op {
        /// The receiver accepts the payer's next voucher (`step` more).
        Pay { step: u64 },
        /// A retry of the last voucher.
        Retry,
        /// A claim of the current voucher is signed and recorded.
        Submit,
        /// The last recorded claim will never land (refused, or expired).
        Drop,
        /// The chain is read: `claimed` moved to `fraction`/4 of what the
        /// last submitted voucher pays (a claim landing, partly or fully).
        Observe { fraction: u64, later_slot: bool },
        /// A read finds the account absent, at a later slot or not, on this
        /// cluster or another.
        Absent {
            later_slot: bool,
            same_cluster: bool,
        },
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            4 => (1..1_000u64).prop_map(|step| Op::Pay { step }),
            1 => Just(Op::Retry),
            2 => Just(Op::Submit),
            1 => Just(Op::Drop),
            3 => (0..=4u64, any::<bool>()).prop_map(|(fraction, later_slot)| Op::Observe { fraction, later_slot }),
            1 => (any::<bool>(), any::<bool>()).prop_map(|(later_slot, same_cluster)| Op::Absent { later_slot, same_cluster }),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// Over any sequence: the stored voucher never goes down; every
        /// increment is counted once (the counted increments add up to the
        /// stored amount); a row is confirmed only when the chain's claimed
        /// covers its voucher; closed only on evidence from its cluster at a
        /// later slot; and what a close reports lost is exactly what the
        /// chain had not paid.
        #[test]
        fn rows_never_lose_or_double_count_a_voucher(ops in prop::collection::vec(op(), 1..60)) {
            let store = SqliteStore::in_memory().unwrap();
            let key = Keypair::new();
            let (channel, creator, mint) = (Pubkey::new_unique(), Pubkey::new_unique(), Pubkey::new_unique());
            let here = Hash::new_from_array([1; 32]);
            let allocation = 1_000_000u64;
            let (mut signed, mut counted, mut slot) = (0u64, 0u64, 10u64);
            let mut last: Option<Voucher> = None;
            let mut submitted_amount = 0u64;
            let mut chain_claimed = 0u64;
            for op in ops {
                let before = store.get(&channel).unwrap();
                match op {
                    Op::Pay { step } => {
                        signed += step;
                        let v = Voucher::sign(&key, channel, signed);
                        let seen = Sighting { cluster: here, slot, claimed: chain_claimed, allocation };
                        let r = record_voucher(&store, &v, &creator, &mint, &seen, &|_| true).unwrap();
                        let closed = before.as_ref().is_some_and(|r| r.status == ClaimStatus::Closed);
                        match r {
                            Recorded::Accepted { previous } => counted += signed - previous,
                            other => prop_assert!(closed || signed <= chain_claimed, "{other:?}"),
                        }
                        last = Some(v);
                    }
                    Op::Retry => {
                        if let Some(v) = last {
                            let seen = Sighting { cluster: here, slot, claimed: chain_claimed, allocation };
                            let r = record_voucher(&store, &v, &creator, &mint, &seen, &|_| true).unwrap();
                            prop_assert!(!matches!(r, Recorded::Accepted { .. }), "a retry counted");
                        }
                    }
                    Op::Submit => {
                        if let Some(row) = &before {
                            if update(&store, &channel, &|r| submitted(r, row.voucher.amount, "sig", slot + 150)).unwrap().is_some() {
                                submitted_amount = row.voucher.amount;
                            }
                        }
                    }
                    Op::Drop => {
                        let written = update(&store, &channel, &|r| dropped(r, "sig")).unwrap();
                        if let Some(row) = written {
                            prop_assert_eq!(row.status, ClaimStatus::Pending, "a dropped claim leaves the voucher claimable");
                            prop_assert!(in_flight(&row).is_none());
                        }
                        // the claim never lands: nothing of it reaches the chain
                        submitted_amount = chain_claimed.min(submitted_amount);
                    }
                    Op::Observe { fraction, later_slot } => {
                        if later_slot { slot += 1; }
                        chain_claimed = chain_claimed.max(submitted_amount * fraction / 4);
                        let seen = Sighting { cluster: here, slot, claimed: chain_claimed, allocation };
                        update(&store, &channel, &|r| observe(r, &seen)).unwrap();
                    }
                    Op::Absent { later_slot, same_cluster } => {
                        let at = if later_slot { slot + 1 } else { slot };
                        let cluster = if same_cluster { here } else { Hash::new_from_array([2; 32]) };
                        let evidence = CloseEvidence::Absent { cluster, slot: at };
                        let lost = std::cell::Cell::new(None);
                        let written = update(&store, &channel, &|r| close(r, &evidence).map(|(n, l)| { lost.set(Some(l)); n })).unwrap();
                        if let Some(row) = written {
                            prop_assert!(same_cluster, "closed on another cluster's read");
                            prop_assert!(before.as_ref().is_some_and(|b| at > b.seen_slot), "closed on a stale read");
                            prop_assert_eq!(lost.get(), Some(row.voucher.amount.min(allocation).saturating_sub(row.claimed)));
                        }
                    }
                }
                let after = store.get(&channel).unwrap();
                if let (Some(b), Some(a)) = (&before, &after) {
                    prop_assert!(a.voucher.amount >= b.voucher.amount, "the voucher went down");
                    prop_assert!(a.claimed >= b.claimed);
                }
                if let Some(a) = &after {
                    prop_assert_eq!(counted, a.voucher.amount, "counted once, all of it");
                    if a.status == ClaimStatus::Confirmed {
                        prop_assert!(a.claimed >= a.voucher.amount.min(a.allocation), "confirmed unpaid");
                    }
                }
            }
        }
    }
}
