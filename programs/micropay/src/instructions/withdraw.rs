//! `withdraw`: the escrow owner takes free balance back, at once.

use crate::{
    constants::VAULT_SEED,
    error::MicropayError,
    events::Withdrawn,
    math,
    state::{ensure, Escrow},
    token::transfer_from_vault,
};
use anchor_lang::prelude::*;
use anchor_spl::token_interface::{Mint, TokenAccount, TokenInterface};

#[derive(AnchorSerialize, AnchorDeserialize, Clone, Debug)]
pub struct WithdrawArgs {
    /// Base units; at most the escrow's free balance.
    pub amount: u64,
}

#[event_cpi]
#[derive(Accounts)]
pub struct Withdraw<'info> {
    pub owner: Signer<'info>,
    #[account(
        mut,
        has_one = owner @ MicropayError::NotEscrowOwner,
        has_one = mint @ MicropayError::MintMismatch,
    )]
    pub escrow: Account<'info, Escrow>,
    #[account(mint::token_program = token_program)]
    pub mint: InterfaceAccount<'info, Mint>,
    #[account(mut, seeds = [VAULT_SEED, mint.key().as_ref()], bump)]
    pub vault: InterfaceAccount<'info, TokenAccount>,
    /// Any token account of the mint but the vault itself (paying the vault
    /// would take the amount off the books without moving it). `dup` lets the
    /// constraint below name that case (`InvalidVault`) instead of Anchor's
    /// generic duplicate-account error.
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

impl<'info> Withdraw<'info> {
    pub fn validate(&self, args: &WithdrawArgs) -> Result<()> {
        require!(args.amount > 0, MicropayError::ZeroAmount);
        require!(
            args.amount <= self.escrow.balance,
            MicropayError::InsufficientBalance
        );
        Ok(())
    }

    pub fn withdraw(ctx: Context<Self>, args: WithdrawArgs) -> Result<()> {
        let escrow = &mut ctx.accounts.escrow;
        escrow.balance = math::sub(escrow.balance, args.amount)?;
        ensure(&**escrow)?;

        let a = &ctx.accounts;
        transfer_from_vault(
            &a.token_program,
            &a.vault,
            &a.mint,
            &a.destination,
            ctx.bumps.vault,
            args.amount,
        )?;

        emit_cpi!(Withdrawn {
            escrow: ctx.accounts.escrow.key(),
            destination: ctx.accounts.destination.key(),
            amount: args.amount,
            balance: ctx.accounts.escrow.balance,
        });
        Ok(())
    }
}
