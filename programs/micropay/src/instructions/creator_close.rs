//! `creator_close`: the creator ends a channel now (e.g. after claiming its last
//! voucher); the unclaimed allocation returns to the escrow at once and the rent
//! to the escrow owner.

use crate::{
    error::MicropayError,
    events::ChannelClosed,
    state::{ensure, Channel, Escrow},
};
use anchor_lang::prelude::*;

#[event_cpi]
#[derive(Accounts)]
pub struct CreatorClose<'info> {
    pub creator: Signer<'info>,
    #[account(mut)]
    pub escrow: Account<'info, Escrow>,
    #[account(
        mut,
        has_one = escrow @ MicropayError::ChannelEscrowMismatch,
        has_one = creator @ MicropayError::NotChannelCreator,
        close = owner,
    )]
    pub channel: Account<'info, Channel>,
    /// CHECK: receives the channel's rent; must be the escrow owner.
    #[account(mut, address = escrow.owner @ MicropayError::RentReceiverMismatch)]
    pub owner: UncheckedAccount<'info>,
}

impl<'info> CreatorClose<'info> {
    pub fn creator_close(ctx: Context<Self>) -> Result<()> {
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
            true,
        ));
        Ok(())
    }
}
