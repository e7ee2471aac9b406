//! `top_up_channel`: more allocation for an open channel, from the escrow's free
//! balance, so a payer keeps paying without a new channel (and new vouchers).

use crate::{
    error::MicropayError,
    events::ChannelToppedUp,
    math,
    state::{ensure, Channel, Escrow},
};
use anchor_lang::prelude::*;

#[derive(AnchorSerialize, AnchorDeserialize, Clone, Debug)]
pub struct TopUpChannelArgs {
    /// Base units moved from the escrow balance into the channel.
    pub amount: u64,
}

#[event_cpi]
#[derive(Accounts)]
pub struct TopUpChannel<'info> {
    pub owner: Signer<'info>,
    #[account(mut, has_one = owner @ MicropayError::NotEscrowOwner)]
    pub escrow: Account<'info, Escrow>,
    #[account(mut, has_one = escrow @ MicropayError::ChannelEscrowMismatch)]
    pub channel: Account<'info, Channel>,
}

impl<'info> TopUpChannel<'info> {
    pub fn validate(&self, args: &TopUpChannelArgs) -> Result<()> {
        require!(args.amount > 0, MicropayError::ZeroAmount);
        require!(
            args.amount <= self.escrow.balance,
            MicropayError::InsufficientBalance
        );
        require!(
            !self.channel.close_requested(),
            MicropayError::ChannelClosing
        );
        Ok(())
    }

    pub fn top_up_channel(ctx: Context<Self>, args: TopUpChannelArgs) -> Result<()> {
        let escrow = &mut ctx.accounts.escrow;
        escrow.balance = math::sub(escrow.balance, args.amount)?;
        let channel = &mut ctx.accounts.channel;
        channel.allocation = math::add(channel.allocation, args.amount)?;
        ensure(&*ctx.accounts.escrow)?;
        ensure(&*ctx.accounts.channel)?;

        emit_cpi!(ChannelToppedUp {
            channel: ctx.accounts.channel.key(),
            amount: args.amount,
            allocation: ctx.accounts.channel.allocation,
            escrow_balance: ctx.accounts.escrow.balance,
        });
        Ok(())
    }
}
