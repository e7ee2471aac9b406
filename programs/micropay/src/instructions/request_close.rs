//! `request_close`: the payer starts closing a channel. The creator then has the
//! channel's dispute window to claim its newest voucher before `finalize_close`.

use crate::{
    error::MicropayError,
    events::CloseRequested,
    state::{ensure, Channel, Escrow},
};
use anchor_lang::prelude::*;

#[event_cpi]
#[derive(Accounts)]
pub struct RequestClose<'info> {
    pub owner: Signer<'info>,
    #[account(has_one = owner @ MicropayError::NotEscrowOwner)]
    pub escrow: Account<'info, Escrow>,
    #[account(mut, has_one = escrow @ MicropayError::ChannelEscrowMismatch)]
    pub channel: Account<'info, Channel>,
}

impl<'info> RequestClose<'info> {
    pub fn validate(&self) -> Result<()> {
        require!(
            !self.channel.close_requested(),
            MicropayError::ChannelClosing
        );
        Ok(())
    }

    pub fn request_close(ctx: Context<Self>) -> Result<()> {
        let now = Clock::get()?.unix_timestamp;
        let channel = &mut ctx.accounts.channel;
        channel.close_requested_at = now;
        let closable_at = now
            .checked_add(i64::from(channel.dispute_window_secs))
            .ok_or_else(|| error!(MicropayError::MathOverflow))?;
        ensure(&**channel)?;

        emit_cpi!(CloseRequested {
            channel: ctx.accounts.channel.key(),
            requested_at: now,
            closable_at,
        });
        Ok(())
    }
}
