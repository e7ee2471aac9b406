//! `close_escrow`: the owner closes an escrow that has no open channel. Any
//! remaining free balance is swept to a token account of the owner's choice in
//! the same instruction, so a stranger's deposit (anyone may deposit) cannot
//! keep an escrow open; the rent returns to the owner.
//!
//! An escrow cannot be closed in the slot it was created in: that keeps the
//! generation of a re-created escrow strictly above the closed one's (see
//! `Escrow::generation`), so channel addresses are never derived twice.

use crate::{
    constants::VAULT_SEED, error::MicropayError, events::EscrowClosed, state::Escrow,
    token::transfer_from_vault,
};
use anchor_lang::prelude::*;
use anchor_spl::token_interface::{Mint, TokenAccount, TokenInterface};

#[event_cpi]
#[derive(Accounts)]
pub struct CloseEscrow<'info> {
    #[account(mut)]
    pub owner: Signer<'info>,
    #[account(
        mut,
        has_one = owner @ MicropayError::NotEscrowOwner,
        has_one = mint @ MicropayError::MintMismatch,
        close = owner,
    )]
    pub escrow: Account<'info, Escrow>,
    #[account(mint::token_program = token_program)]
    pub mint: InterfaceAccount<'info, Mint>,
    #[account(mut, seeds = [VAULT_SEED, mint.key().as_ref()], bump)]
    pub vault: InterfaceAccount<'info, TokenAccount>,
    /// Receives the remaining balance: any token account of the mint but the
    /// vault itself (`dup` lets the constraint name that case).
    #[account(
        mut,
        dup,
        token::mint = mint,
        token::token_program = token_program,
        constraint = destination.key() != vault.key() @ MicropayError::InvalidVault,
    )]
    pub destination: InterfaceAccount<'info, TokenAccount>,
    pub token_program: Interface<'info, TokenInterface>,
}

impl<'info> CloseEscrow<'info> {
    pub fn validate(&self) -> Result<()> {
        require!(
            self.escrow.open_channels == 0,
            MicropayError::EscrowHasOpenChannels
        );
        require!(
            Clock::get()?.slot > self.escrow.generation,
            MicropayError::EscrowCreatedThisSlot
        );
        Ok(())
    }

    pub fn close_escrow(ctx: Context<Self>) -> Result<()> {
        let swept = ctx.accounts.escrow.balance;
        ctx.accounts.escrow.balance = 0;
        if swept > 0 {
            let a = &ctx.accounts;
            transfer_from_vault(
                &a.token_program,
                &a.vault,
                &a.mint,
                &a.destination,
                ctx.bumps.vault,
                swept,
            )?;
        }
        emit_cpi!(EscrowClosed {
            escrow: ctx.accounts.escrow.key(),
            owner: ctx.accounts.owner.key(),
            swept,
            destination: ctx.accounts.destination.key(),
        });
        Ok(())
    }
}
