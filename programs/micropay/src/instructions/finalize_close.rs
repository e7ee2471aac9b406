//! `finalize_close`: anyone closes a channel once its dispute window has passed
//! since the payer's close request, or at once when the channel has expired.
//! The unclaimed allocation returns to the escrow's free balance and the
//! channel's rent to the escrow owner.

use crate::{
    error::MicropayError,
    events::ChannelClosed,
    state::{ensure, Channel, Escrow},
};
use anchor_lang::prelude::*;

#[event_cpi]
#[derive(Accounts)]
pub struct FinalizeClose<'info> {
    #[account(mut)]
    pub escrow: Account<'info, Escrow>,
    #[account(
        mut,
        has_one = escrow @ MicropayError::ChannelEscrowMismatch,
        close = owner,
    )]
    pub channel: Account<'info, Channel>,
    /// CHECK: receives the channel's rent; must be the escrow owner.
    #[account(mut, address = escrow.owner @ MicropayError::RentReceiverMismatch)]
    pub owner: UncheckedAccount<'info>,
}

impl<'info> FinalizeClose<'info> {
    pub fn validate(&self) -> Result<()> {
        let now = Clock::get()?.unix_timestamp;
        if self.channel.is_expired(now) {
            return Ok(());
        }
        require!(
            self.channel.close_requested(),
            MicropayError::CloseNotRequested
        );
        let closable_at = self
            .channel
            .close_requested_at
            .checked_add(i64::from(self.channel.dispute_window_secs))
            .ok_or_else(|| error!(MicropayError::MathOverflow))?;
        require!(now >= closable_at, MicropayError::DisputeWindowOpen);
        Ok(())
    }

    pub fn finalize_close(ctx: Context<Self>) -> Result<()> {
        let refund = ctx
            .accounts
            .escrow
            .absorb_closed_channel(&ctx.accounts.channel)?;
        ensure(&*ctx.accounts.escrow)?;
        emit_cpi!(ChannelClosed::new(
            ctx.accounts.channel.key(),
            &ctx.accounts.escrow,
            ctx.accounts.escrow.key(),
            &ctx.accounts.channel,
            refund,
            false,
        ));
        Ok(())
    }
}
