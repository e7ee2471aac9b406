//! Checked arithmetic for every balance change.
//!
//! Rounding: the dApp fee share rounds **down** (`floor(delta × bps / 10_000)`),
//! so a claim never pays a fee recipient more than its share and the creator gets
//! the remainder; creator + fee always equals the claimed delta exactly.

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

/// Splits a claimed `delta` into `(creator_part, fee_part)` for a fee of `fee_bps`.
/// The fee rounds down; the two parts always add up to `delta`.
pub fn split_fee(delta: u64, fee_bps: u16) -> Result<(u64, u64)> {
    let product = u128::from(delta)
        .checked_mul(u128::from(fee_bps))
        .ok_or_else(|| error!(MicropayError::MathOverflow))?;
    let fee = product
        .checked_div(u128::from(BPS_DENOMINATOR))
        .ok_or_else(|| error!(MicropayError::MathOverflow))?;
    let fee = u64::try_from(fee).map_err(|_| error!(MicropayError::MathOverflow))?;
    Ok((sub(delta, fee)?, fee))
}

/// What a voucher of cumulative `amount` newly pays on a channel that has paid
/// `claimed` of `allocation`: `min(amount, allocation) − claimed`, or `None` when
/// the voucher is not ahead of what was already claimed (a stale voucher).
pub fn claimable(amount: u64, allocation: u64, claimed: u64) -> Option<u64> {
    let payable = amount.min(allocation);
    payable.checked_sub(claimed).filter(|delta| *delta > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_fee_rounds_down_and_conserves() {
        assert_eq!(split_fee(10_000, 1_000).unwrap(), (9_000, 1_000));
        assert_eq!(split_fee(9, 1_000).unwrap(), (9, 0));
        assert_eq!(split_fee(19, 1_000).unwrap(), (18, 1));
        assert_eq!(split_fee(u64::MAX, 1_000).unwrap().1, u64::MAX / 10);
        for (delta, bps) in [(0u64, 0u16), (1, 1), (12_345, 999), (u64::MAX, 10_000)] {
            let (c, f) = split_fee(delta, bps).unwrap();
            assert_eq!(c + f, delta);
        }
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
