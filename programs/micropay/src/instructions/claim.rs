//! `claim`: permissionless, batched settlement of vouchers.
//!
//! One instruction settles many channels, from many escrows (payers, mints) and
//! creators. The accounts are passed once, as remaining accounts, and each entry
//! names its channel and earnings accounts by index, so a creator's earnings
//! account serves all of its channels. Per entry:
//!
//! - a channel account that does not exist (closed, or finalized ahead of this
//!   claim) is **skipped** (`ChannelClosed`): nothing to verify or credit;
//! - otherwise it must be a writable micropay channel, and the voucher
//!   signature is verified strictly, in the program (see `voucher`);
//! - the earnings account must be the channel creator's for the channel's mint
//!   and the fee earnings account the fee recipient's (or `NO_ACCOUNT_INDEX`
//!   for a channel without fee share); either one may be missing (skipped with
//!   `EarningsMissing` / `FeeEarningsMissing`) but never another account;
//! - `min(amount, allocation) − claimed` is credited, split between creator and
//!   fee recipient on cumulative amounts (see `math`); a voucher not ahead of
//!   `claimed` (settled before, e.g. by another relayer) is skipped (`NotAhead`).
//!
//! So an entry fails the whole instruction only for what its submitter got
//! wrong or forged (a bad signature, a wrong or read-only account); whatever
//! other parties may do in the meantime makes it a skip, reported in the event.
//!
//! Each account is read and written back per entry, so an account that appears
//! in several entries (even the same channel twice) always sees the latest state.
//! One `Claimed` event reports the whole batch.

use crate::{
    constants::{EARNINGS_SEED, MAX_VOUCHERS_PER_CLAIM, NO_ACCOUNT_INDEX},
    error::MicropayError,
    events::{Claimed, SettledVoucher, SkipReason, SkippedVoucher},
    math,
    state::{ensure, Channel, Earnings},
    voucher::{verify_strict, voucher_message, SignatureError},
};
use anchor_lang::{prelude::*, system_program};

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

fn account_at<'a, 'info>(
    accounts: &'a [AccountInfo<'info>],
    index: u8,
) -> Result<&'a AccountInfo<'info>> {
    accounts
        .get(usize::from(index))
        .ok_or_else(|| error!(MicropayError::AccountIndexOutOfRange))
}

fn writable(info: &AccountInfo) -> Result<()> {
    require!(info.is_writable, MicropayError::AccountNotWritable);
    Ok(())
}

/// True when no account exists at the address (never created, or closed:
/// owned by the system program with no data, whatever lamports it holds).
fn is_gone(info: &AccountInfo) -> bool {
    *info.owner == system_program::ID && info.data_is_empty()
}

/// Checks an earnings account slot: `Ok(true)` when it is the (existing,
/// writable) earnings account of `owner` for `mint`, `Ok(false)` when that
/// account does not exist (the address is checked), an error otherwise.
pub(crate) fn check_earnings(
    info: &AccountInfo,
    owner: &Pubkey,
    mint: &Pubkey,
    mismatch: MicropayError,
) -> Result<bool> {
    let exists = earnings_exists(info, owner, mint, mismatch)?;
    if exists {
        writable(info)?;
    }
    Ok(exists)
}

/// As [`check_earnings`], without requiring the account to be writable.
pub(crate) fn earnings_exists(
    info: &AccountInfo,
    owner: &Pubkey,
    mint: &Pubkey,
    mismatch: MicropayError,
) -> Result<bool> {
    if is_gone(info) {
        let (expected, _) = Pubkey::find_program_address(
            &[EARNINGS_SEED, owner.as_ref(), mint.as_ref()],
            &crate::ID,
        );
        require_keys_eq!(info.key(), expected, mismatch);
        return Ok(false);
    }
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
    Ok(true)
}

/// Adds `amount` to an earnings account and writes it back at once.
pub(crate) fn credit<'info>(info: &'info AccountInfo<'info>, amount: u64) -> Result<()> {
    let mut earnings = Account::<Earnings>::try_from(info)?;
    earnings.balance = math::add(earnings.balance, amount)?;
    earnings.total_earned = earnings.total_earned.saturating_add(amount);
    ensure(&*earnings)?;
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
        let skip = |channel: Pubkey, entry: &ClaimEntry, claimed: u64, reason: SkipReason| {
            SkippedVoucher {
                channel,
                voucher_amount: entry.amount,
                claimed,
                reason,
            }
        };

        for entry in &args.entries {
            let channel_info = account_at(remaining, entry.channel_index)?;
            if is_gone(channel_info) {
                skipped.push(skip(
                    channel_info.key(),
                    entry,
                    0,
                    SkipReason::ChannelClosed,
                ));
                continue;
            }
            writable(channel_info)?;
            let mut channel = Account::<Channel>::try_from(channel_info)
                .map_err(|_| error!(MicropayError::InvalidChannelAccount))?;

            let message = voucher_message(channel_info.key, entry.amount);
            verify_strict(&channel.signer.to_bytes(), &entry.signature, &message)
                .map_err(|e| error!(MicropayError::from(e)))?;

            let earnings_info = account_at(remaining, entry.earnings_index)?;
            let earnings_exist = check_earnings(
                earnings_info,
                &channel.creator,
                &channel.mint,
                MicropayError::CreatorEarningsMismatch,
            )?;
            let fee_info = if channel.fee_bps > 0 {
                require!(
                    entry.fee_earnings_index != NO_ACCOUNT_INDEX,
                    MicropayError::FeeEarningsMismatch
                );
                let info = account_at(remaining, entry.fee_earnings_index)?;
                let exists = check_earnings(
                    info,
                    &channel.fee_recipient,
                    &channel.mint,
                    MicropayError::FeeEarningsMismatch,
                )?;
                Some((info, exists))
            } else {
                require!(
                    entry.fee_earnings_index == NO_ACCOUNT_INDEX,
                    MicropayError::FeeEarningsMismatch
                );
                None
            };

            let claimed_before = channel.claimed;
            let Some(delta) = math::claimable(entry.amount, channel.allocation, claimed_before)
            else {
                skipped.push(skip(
                    channel_info.key(),
                    entry,
                    claimed_before,
                    SkipReason::NotAhead,
                ));
                continue;
            };
            let missing = if !earnings_exist {
                Some(SkipReason::EarningsMissing)
            } else if matches!(fee_info, Some((_, false))) {
                Some(SkipReason::FeeEarningsMissing)
            } else {
                None
            };
            if let Some(reason) = missing {
                skipped.push(skip(channel_info.key(), entry, claimed_before, reason));
                continue;
            }
            let (creator_amount, fee_amount) =
                math::split_fee(claimed_before, delta, channel.fee_bps)?;

            channel.claimed = math::add(claimed_before, delta)?;
            ensure(&*channel)?;
            channel.exit(&crate::ID)?;
            credit(earnings_info, creator_amount)?;
            if let Some((info, _)) = fee_info {
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
