//! Checked arithmetic for every balance change.
//!
//! Rounding: the dApp fee share is computed on **cumulative** amounts and rounds
//! down: after a channel has paid `claimed` in total, its fee recipient has
//! received exactly `floor(claimed × bps / 10_000)`, however the claims were
//! split. A claim of `delta` on top of `before` pays the fee recipient
//! `floor((before + delta) × bps / 10_000) − floor(before × bps / 10_000)` and
//! the creator the rest; creator + fee always equals `delta` exactly.

use crate::{constants::BPS_DENOMINATOR, error::MicropayError};
use anchor_lang::prelude::*;

/// `a + b`, or `MathOverflow`.
pub fn add(a: u64, b: u64) -> Result<u64> {
    a.checked_add(b)
        .ok_or_else(|| error!(MicropayError::MathOverflow))
}

/// `a - b`, or `InsufficientBalance` when `b > a` (every subtraction in the
/// program takes from a balance).
pub fn sub(a: u64, b: u64) -> Result<u64> {
    a.checked_sub(b)
        .ok_or_else(|| error!(MicropayError::InsufficientBalance))
}

/// The fee share of a cumulative amount: `floor(amount × fee_bps / 10_000)`.
pub fn cumulative_fee(amount: u64, fee_bps: u16) -> Result<u64> {
    let product = u128::from(amount)
        .checked_mul(u128::from(fee_bps))
        .ok_or_else(|| error!(MicropayError::MathOverflow))?;
    let fee = product
        .checked_div(u128::from(BPS_DENOMINATOR))
        .ok_or_else(|| error!(MicropayError::MathOverflow))?;
    u64::try_from(fee).map_err(|_| error!(MicropayError::MathOverflow))
}

/// Splits a claim of `delta` on a channel that had paid `claimed_before` into
/// `(creator_part, fee_part)` for a fee of `fee_bps`, cumulatively (see the
/// module docs). The two parts always add up to `delta`.
pub fn split_fee(claimed_before: u64, delta: u64, fee_bps: u16) -> Result<(u64, u64)> {
    let after = add(claimed_before, delta)?;
    let fee = sub(
        cumulative_fee(after, fee_bps)?,
        cumulative_fee(claimed_before, fee_bps)?,
    )?;
    Ok((sub(delta, fee)?, fee))
}

/// What a voucher of cumulative `amount` newly pays on a channel that has paid
/// `claimed` of `allocation`: `min(amount, allocation) − claimed`, or `None` when
/// the voucher is not ahead of what was already claimed (a stale voucher).
pub fn claimable(amount: u64, allocation: u64, claimed: u64) -> Option<u64> {
    let payable = amount.min(allocation);
    payable.checked_sub(claimed).filter(|delta| *delta > 0)
}

/// What a split recipient of `bps` basis points is owed once the split has
/// received `received` base units in all: `floor(received × bps / 10,000)`.
/// Cumulative, so what a recipient gets never depends on how often anyone
/// distributes; `None` only for `bps` above 10,000.
pub fn split_share(received: u64, bps: u16) -> Option<u64> {
    if u64::from(bps) > crate::constants::BPS_DENOMINATOR {
        return None;
    }
    let share = u128::from(received)
        .checked_mul(u128::from(bps))?
        .checked_div(u128::from(crate::constants::BPS_DENOMINATOR))?;
    u64::try_from(share).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_fee_rounds_down_and_conserves() {
        assert_eq!(split_fee(0, 10_000, 1_000).unwrap(), (9_000, 1_000));
        assert_eq!(split_fee(0, 9, 1_000).unwrap(), (9, 0));
        assert_eq!(split_fee(0, 19, 1_000).unwrap(), (18, 1));
        assert_eq!(split_fee(0, u64::MAX, 1_000).unwrap().1, u64::MAX / 10);
        for (before, delta, bps) in [
            (0u64, 0u64, 0u16),
            (0, 1, 1),
            (7, 12_345, 999),
            (0, u64::MAX, 10_000),
            (u64::MAX - 5, 5, 1_000),
        ] {
            let (c, f) = split_fee(before, delta, bps).unwrap();
            assert_eq!(c + f, delta);
        }
        assert!(split_fee(u64::MAX, 1, 1).is_err());
    }

    /// Settling every intermediate voucher pays the fee recipient exactly what
    /// one claim of the total would: increments below 10⁴/bps still add up.
    #[test]
    fn fee_share_does_not_depend_on_how_claims_are_split() {
        for (bps, step, steps) in [(250u16, 1u64, 1_000u64), (1_000, 9, 500), (1, 3, 10_000)] {
            let (mut claimed, mut fees) = (0u64, 0u64);
            for _ in 0..steps {
                let (_, fee) = split_fee(claimed, step, bps).unwrap();
                claimed += step;
                fees += fee;
            }
            assert_eq!(
                fees,
                cumulative_fee(claimed, bps).unwrap(),
                "{bps} bps by {step}"
            );
            assert_eq!(fees, split_fee(0, claimed, bps).unwrap().1);
        }
        // 9 units at 10%: one unit of fee, never zero, after ten such claims
        assert_eq!(cumulative_fee(90, 1_000).unwrap(), 9);
    }

    #[test]
    fn claimable_clamps_and_detects_stale() {
        assert_eq!(claimable(50, 100, 20), Some(30));
        assert_eq!(claimable(500, 100, 20), Some(80));
        assert_eq!(claimable(20, 100, 20), None);
        assert_eq!(claimable(10, 100, 20), None);
        assert_eq!(claimable(500, 100, 100), None);
    }

    #[test]
    fn add_sub_checked() {
        assert!(add(u64::MAX, 1).is_err());
        assert!(sub(1, 2).is_err());
        assert_eq!(add(2, 3).unwrap(), 5);
        assert_eq!(sub(3, 2).unwrap(), 1);
    }
}
