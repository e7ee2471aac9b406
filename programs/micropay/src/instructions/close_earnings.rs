//! `close_earnings`: the owner of an earnings account with nothing left in it
//! takes its rent back. Anyone may create it again with `init_earnings`.
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
    #[account(mut, has_one = owner @ MicropayError::NotEarningsOwner, close = owner)]
    pub earnings: Account<'info, Earnings>,
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
