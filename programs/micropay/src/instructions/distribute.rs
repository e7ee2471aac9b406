//! `distribute`: anyone moves a split's earnings into its recipients'
//! earnings accounts by share (permissionless, like `claim`).
//!
//! Rounding is cumulative: after any distribution each recipient has
//! received `floor(received × bps / 10,000)` of everything the split ever
//! received, so what a recipient gets never depends on how often anyone
//! distributes; the remainder stays in the split until it adds up to a whole
//! base unit of someone's share. A recipient whose earnings account was
//! closed since the split was created is skipped: its share waits in the
//! split for the next distribution after the account exists again.

use crate::{
    constants::EARNINGS_SEED,
    error::MicropayError,
    events::Distributed,
    instructions::claim::{check_earnings, credit},
    math,
    state::{ensure, Earnings, Split},
};
use anchor_lang::prelude::*;

#[event_cpi]
#[derive(Accounts)]
pub struct Distribute<'info> {
    #[account(mut)]
    pub split: Account<'info, Split>,
    /// The split's own earnings account for its mint.
    #[account(
        mut,
        seeds = [EARNINGS_SEED, split.key().as_ref(), split.mint.as_ref()],
        bump = split_earnings.bump,
    )]
    pub split_earnings: Account<'info, Earnings>,
    // remaining accounts: each recipient's earnings account for the split's
    // mint, writable, in recipient order
}

impl<'info> Distribute<'info> {
    pub fn distribute(ctx: Context<'info, Self>) -> Result<()> {
        let remaining = ctx.remaining_accounts;
        let split_key = ctx.accounts.split.key();
        let split = &mut ctx.accounts.split;
        let mint = split.mint;
        require!(
            remaining.len() == split.recipients.len(),
            MicropayError::SplitAccountsMismatch
        );
        let overflow = || error!(MicropayError::MathOverflow);
        let already = split
            .distributed
            .iter()
            .try_fold(0u64, |sum, d| sum.checked_add(*d))
            .ok_or_else(overflow)?;
        let balance = ctx.accounts.split_earnings.balance;
        let received = balance.checked_add(already).ok_or_else(overflow)?;
        let mut amounts = vec![0u64; split.recipients.len()];
        let mut moved = 0u64;
        let recipients = split.recipients.clone();
        for (i, (recipient, info)) in recipients.iter().zip(remaining).enumerate() {
            let owed = math::split_share(received, recipient.bps).ok_or_else(overflow)?;
            let paid = split.distributed.get(i).copied().ok_or_else(overflow)?;
            // `received` never decreases, so neither does `owed`
            let due = owed
                .checked_sub(paid)
                .ok_or_else(|| error!(MicropayError::InvariantViolated))?;
            if due == 0 {
                continue;
            }
            if !check_earnings(
                info,
                &recipient.owner,
                &mint,
                MicropayError::SplitAccountsMismatch,
            )? {
                continue;
            }
            credit(info, due)?;
            if let (Some(d), Some(a)) = (split.distributed.get_mut(i), amounts.get_mut(i)) {
                *d = owed;
                *a = due;
            }
            moved = moved.checked_add(due).ok_or_else(overflow)?;
        }
        let split_earnings = &mut ctx.accounts.split_earnings;
        split_earnings.balance = split_earnings
            .balance
            .checked_sub(moved)
            .ok_or_else(|| error!(MicropayError::InvariantViolated))?;
        ensure(&**split_earnings)?;
        ensure(&**split)?;
        let event = Distributed {
            split: split_key,
            mint,
            received,
            amounts,
            distributed: split.distributed.clone(),
            balance: split_earnings.balance,
        };
        emit_cpi!(event);
        Ok(())
    }
}
