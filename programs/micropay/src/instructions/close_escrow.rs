//! `close_escrow`: the owner closes an escrow with no open channel and no
//! balance; its rent returns to the owner.

use crate::{error::MicropayError, events::EscrowClosed, state::Escrow};
use anchor_lang::prelude::*;

#[event_cpi]
#[derive(Accounts)]
pub struct CloseEscrow<'info> {
    #[account(mut)]
    pub owner: Signer<'info>,
    #[account(mut, has_one = owner @ MicropayError::NotEscrowOwner, close = owner)]
    pub escrow: Account<'info, Escrow>,
}

impl<'info> CloseEscrow<'info> {
    pub fn validate(&self) -> Result<()> {
        require!(
            self.escrow.open_channels == 0,
            MicropayError::EscrowHasOpenChannels
        );
        require!(self.escrow.balance == 0, MicropayError::EscrowNotEmpty);
        Ok(())
    }

    pub fn close_escrow(ctx: Context<Self>) -> Result<()> {
        emit_cpi!(EscrowClosed {
            escrow: ctx.accounts.escrow.key(),
            owner: ctx.accounts.owner.key(),
        });
        Ok(())
    }
}
