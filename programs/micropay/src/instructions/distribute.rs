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
//!
//! Earnings of **another mint** than the split's (a channel of that mint
//! paid the split: nothing in the program can stop a payer from naming a
//! split as the creator of a channel of any mint, nor anyone from creating
//! the split's earnings account of that mint) are distributed too, so that
//! no claimed value is ever stranded: each distribution moves
//! `floor(balance × bps / 10,000)` of what the account holds to each
//! recipient's earnings account of that mint; what rounding leaves stays for
//! the next one. Only the split's own mint keeps the cumulative record.

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
    /// The split's own earnings account, for its mint or another.
    #[account(
        mut,
        seeds = [EARNINGS_SEED, split.key().as_ref(), split_earnings.mint.as_ref()],
        bump = split_earnings.bump,
    )]
    pub split_earnings: Account<'info, Earnings>,
    // remaining accounts: each recipient's earnings account for that mint,
    // writable, in recipient order
}

/// Takes what a distribution moved out of the split's earnings.
fn debit(split_earnings: &mut Earnings, moved: u64) -> Result<()> {
    split_earnings.balance = split_earnings
        .balance
        .checked_sub(moved)
        .ok_or_else(|| error!(MicropayError::InvariantViolated))?;
    ensure(split_earnings)
}

impl<'info> Distribute<'info> {
    pub fn distribute(ctx: Context<'info, Self>) -> Result<()> {
        require!(
            ctx.remaining_accounts.len() == ctx.accounts.split.recipients.len(),
            MicropayError::SplitAccountsMismatch
        );
        if ctx.accounts.split_earnings.mint != ctx.accounts.split.mint {
            return Self::distribute_foreign(ctx);
        }
        let remaining = ctx.remaining_accounts;
        let split_key = ctx.accounts.split.key();
        let split = &mut ctx.accounts.split;
        let mint = split.mint;
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
        debit(split_earnings, moved)?;
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

    /// Earnings of a mint that is not the split's: shares of what the
    /// account holds now (see the module docs); the split's record of its
    /// own mint is not touched.
    fn distribute_foreign(ctx: Context<'info, Self>) -> Result<()> {
        let overflow = || error!(MicropayError::MathOverflow);
        let split = &ctx.accounts.split;
        let mint = ctx.accounts.split_earnings.mint;
        let balance = ctx.accounts.split_earnings.balance;
        let mut amounts = vec![0u64; split.recipients.len()];
        let mut moved = 0u64;
        for (i, (recipient, info)) in split
            .recipients
            .iter()
            .zip(ctx.remaining_accounts)
            .enumerate()
        {
            let due = math::split_share(balance, recipient.bps).ok_or_else(overflow)?;
            if due == 0
                || !check_earnings(
                    info,
                    &recipient.owner,
                    &mint,
                    MicropayError::SplitAccountsMismatch,
                )?
            {
                continue;
            }
            credit(info, due)?;
            if let Some(a) = amounts.get_mut(i) {
                *a = due;
            }
            moved = moved.checked_add(due).ok_or_else(overflow)?;
        }
        let split_key = split.key();
        let split_earnings = &mut ctx.accounts.split_earnings;
        debit(split_earnings, moved)?;
        let event = Distributed {
            split: split_key,
            mint,
            received: balance,
            amounts,
            distributed: Vec::new(),
            balance: split_earnings.balance,
        };
        emit_cpi!(event);
        Ok(())
    }
}
