//! `claim`: permissionless, batched settlement of vouchers.
//!
//! One instruction settles many channels, from many escrows (payers, mints) and
//! creators. The accounts are passed once, as remaining accounts, and each entry
//! names its channel and earnings accounts by index, so a creator's earnings
//! account serves all of its channels. Per entry:
//!
//! - the channel must be a writable micropay channel; the earnings account must
//!   be the channel creator's for the channel's mint; the fee earnings account
//!   must be the fee recipient's when the channel has a fee share and
//!   `NO_ACCOUNT_INDEX` otherwise;
//! - the voucher signature is verified strictly, in the program (see `voucher`);
//! - `min(amount, allocation) − claimed` is credited, split between creator and
//!   fee recipient; a voucher not ahead of `claimed` (settled before, e.g. by
//!   another relayer) is skipped and reported, so one stale voucher never fails
//!   a batch.
//!
//! Each account is read and written back per entry, so an account that appears
//! in several entries (even the same channel twice) always sees the latest state.
//! One `Claimed` event reports the whole batch.

use crate::{
    constants::{MAX_VOUCHERS_PER_CLAIM, NO_ACCOUNT_INDEX},
    error::MicropayError,
    events::{Claimed, SettledVoucher, SkippedVoucher},
    math,
    state::{Channel, Earnings},
    voucher::{verify_strict, voucher_message, SignatureError},
};
use anchor_lang::prelude::*;

/// One voucher to settle.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Debug, PartialEq, Eq)]
pub struct ClaimEntry {
    /// Index in the remaining accounts of the channel (writable).
    pub channel_index: u8,
    /// Index of the creator's earnings account (writable).
    pub earnings_index: u8,
    /// Index of the fee recipient's earnings account, or `NO_ACCOUNT_INDEX`.
    pub fee_earnings_index: u8,
    /// Cumulative amount the voucher pays, base units.
    pub amount: u64,
    /// Ed25519 signature (R ‖ S) of the voucher message by the channel's signer.
    pub signature: [u8; 64],
}

#[derive(AnchorSerialize, AnchorDeserialize, Clone, Debug, PartialEq, Eq)]
pub struct ClaimArgs {
    pub entries: Vec<ClaimEntry>,
}

/// Channels and earnings accounts come as remaining accounts.
#[event_cpi]
#[derive(Accounts)]
pub struct Claim<'info> {}

impl From<SignatureError> for MicropayError {
    fn from(e: SignatureError) -> Self {
        match e {
            SignatureError::ScalarNotCanonical => MicropayError::SignatureScalarNotCanonical,
            SignatureError::PointNotCanonical => MicropayError::SignaturePointNotCanonical,
            SignatureError::PointSmallOrder => MicropayError::SignaturePointSmallOrder,
            SignatureError::InvalidPublicKey => MicropayError::InvalidVoucherSigner,
            SignatureError::Mismatch => MicropayError::InvalidVoucherSignature,
        }
    }
}

fn writable_account<'a, 'info>(
    accounts: &'a [AccountInfo<'info>],
    index: u8,
) -> Result<&'a AccountInfo<'info>> {
    let info = accounts
        .get(usize::from(index))
        .ok_or_else(|| error!(MicropayError::AccountIndexOutOfRange))?;
    require!(info.is_writable, MicropayError::AccountNotWritable);
    Ok(info)
}

/// Checks that `info` is the earnings account of `owner` for `mint`.
fn check_earnings(
    info: &AccountInfo,
    owner: &Pubkey,
    mint: &Pubkey,
    mismatch: MicropayError,
) -> Result<()> {
    require_keys_eq!(
        *info.owner,
        crate::ID,
        MicropayError::InvalidEarningsAccount
    );
    let data = info.try_borrow_data()?;
    let earnings = Earnings::try_deserialize(&mut &data[..])
        .map_err(|_| error!(MicropayError::InvalidEarningsAccount))?;
    if earnings.owner != *owner || earnings.mint != *mint {
        return Err(mismatch.into());
    }
    Ok(())
}

/// Adds `amount` to an earnings account and writes it back at once.
fn credit<'info>(info: &'info AccountInfo<'info>, amount: u64) -> Result<()> {
    let mut earnings = Account::<Earnings>::try_from(info)?;
    earnings.balance = math::add(earnings.balance, amount)?;
    earnings.total_earned = math::add(earnings.total_earned, amount)?;
    earnings.exit(&crate::ID)
}

/// A claim settles between 1 and `MAX_VOUCHERS_PER_CLAIM` vouchers.
pub fn check_batch_len(len: usize) -> Result<()> {
    require!(len > 0, MicropayError::EmptyClaim);
    require!(
        len <= usize::from(MAX_VOUCHERS_PER_CLAIM),
        MicropayError::TooManyVouchers
    );
    Ok(())
}

impl<'info> Claim<'info> {
    pub fn validate(&self, args: &ClaimArgs) -> Result<()> {
        check_batch_len(args.entries.len())
    }

    pub fn claim(ctx: Context<'info, Self>, args: ClaimArgs) -> Result<()> {
        let remaining = ctx.remaining_accounts;
        let mut settled = Vec::with_capacity(args.entries.len());
        let mut skipped = Vec::new();

        for entry in &args.entries {
            let channel_info = writable_account(remaining, entry.channel_index)?;
            let mut channel = Account::<Channel>::try_from(channel_info)
                .map_err(|_| error!(MicropayError::InvalidChannelAccount))?;

            let message = voucher_message(channel_info.key, entry.amount);
            verify_strict(&channel.signer.to_bytes(), &entry.signature, &message)
                .map_err(|e| error!(MicropayError::from(e)))?;

            let earnings_info = writable_account(remaining, entry.earnings_index)?;
            check_earnings(
                earnings_info,
                &channel.creator,
                &channel.mint,
                MicropayError::CreatorEarningsMismatch,
            )?;
            let fee_info = if channel.fee_bps > 0 {
                let info = writable_account(remaining, entry.fee_earnings_index)
                    .map_err(|_| error!(MicropayError::FeeEarningsMismatch))?;
                check_earnings(
                    info,
                    &channel.fee_recipient,
                    &channel.mint,
                    MicropayError::FeeEarningsMismatch,
                )?;
                Some(info)
            } else {
                require!(
                    entry.fee_earnings_index == NO_ACCOUNT_INDEX,
                    MicropayError::FeeEarningsMismatch
                );
                None
            };

            let Some(delta) = math::claimable(entry.amount, channel.allocation, channel.claimed)
            else {
                skipped.push(SkippedVoucher {
                    channel: channel_info.key(),
                    voucher_amount: entry.amount,
                    claimed: channel.claimed,
                });
                continue;
            };
            let (creator_amount, fee_amount) = math::split_fee(delta, channel.fee_bps)?;

            channel.claimed = math::add(channel.claimed, delta)?;
            channel.exit(&crate::ID)?;
            credit(earnings_info, creator_amount)?;
            if let Some(info) = fee_info {
                credit(info, fee_amount)?;
            }

            settled.push(SettledVoucher {
                channel: channel_info.key(),
                voucher_amount: entry.amount,
                delta,
                creator_amount,
                fee_amount,
                claimed: channel.claimed,
            });
        }

        emit_cpi!(Claimed { settled, skipped });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_len_bounds() {
        assert_eq!(
            check_batch_len(0).unwrap_err(),
            error!(MicropayError::EmptyClaim)
        );
        assert!(check_batch_len(1).is_ok());
        assert!(check_batch_len(64).is_ok());
        assert_eq!(
            check_batch_len(65).unwrap_err(),
            error!(MicropayError::TooManyVouchers)
        );
    }
}
