//! `close_earnings`: the owner of an earnings account with nothing left in it
//! closes it; the rent goes back to whoever paid it (`rent_payer`, the
//! `init_earnings` payer), so a fee recipient that closes the account a
//! creator re-created before each claim gains nothing and pays the fee of
//! every close (it used to pocket the creator's rent each time). Anyone may
//! create it again with `init_earnings`.
//!
//! While it is closed, claims of channels that credit it settle nothing for
//! those channels (they are skipped with `EarningsMissing`, the batch goes on);
//! the client's planner re-creates missing earnings accounts before claiming.

use crate::{error::MicropayError, events::EarningsClosed, state::Earnings};
use anchor_lang::prelude::*;

#[event_cpi]
#[derive(Accounts)]
pub struct CloseEarnings<'info> {
    #[account(mut)]
    pub owner: Signer<'info>,
    #[account(
        mut,
        has_one = owner @ MicropayError::NotEarningsOwner,
        has_one = rent_payer @ MicropayError::RentPayerMismatch,
        close = rent_payer,
    )]
    pub earnings: Account<'info, Earnings>,
    /// CHECK: receives the rent; must be the earnings' `rent_payer`.
    #[account(mut)]
    pub rent_payer: UncheckedAccount<'info>,
}

impl<'info> CloseEarnings<'info> {
    pub fn validate(&self) -> Result<()> {
        require!(self.earnings.balance == 0, MicropayError::EarningsNotEmpty);
        Ok(())
    }

    pub fn close_earnings(ctx: Context<Self>) -> Result<()> {
        let e = &ctx.accounts.earnings;
        emit_cpi!(EarningsClosed {
            earnings: e.key(),
            owner: e.owner,
            mint: e.mint,
            total_earned: e.total_earned,
        });
        Ok(())
    }
}
