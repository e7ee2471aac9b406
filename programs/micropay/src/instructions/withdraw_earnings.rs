//! `withdraw_earnings`: the earnings owner moves earned tokens from the vault to
//! any token account of the mint.

use crate::{
    constants::VAULT_SEED,
    error::MicropayError,
    events::EarningsWithdrawn,
    math,
    state::{ensure, Earnings},
    token::transfer_from_vault,
};
use anchor_lang::prelude::*;
use anchor_spl::token_interface::{Mint, TokenAccount, TokenInterface};

#[derive(AnchorSerialize, AnchorDeserialize, Clone, Debug)]
pub struct WithdrawEarningsArgs {
    /// Base units; at most the earnings balance.
    pub amount: u64,
}

#[event_cpi]
#[derive(Accounts)]
pub struct WithdrawEarnings<'info> {
    pub owner: Signer<'info>,
    #[account(
        mut,
        has_one = owner @ MicropayError::NotEarningsOwner,
        has_one = mint @ MicropayError::MintMismatch,
    )]
    pub earnings: Account<'info, Earnings>,
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

impl<'info> WithdrawEarnings<'info> {
    pub fn validate(&self, args: &WithdrawEarningsArgs) -> Result<()> {
        require!(args.amount > 0, MicropayError::ZeroAmount);
        require!(
            args.amount <= self.earnings.balance,
            MicropayError::InsufficientBalance
        );
        Ok(())
    }

    pub fn withdraw_earnings(ctx: Context<Self>, args: WithdrawEarningsArgs) -> Result<()> {
        let earnings = &mut ctx.accounts.earnings;
        earnings.balance = math::sub(earnings.balance, args.amount)?;
        ensure(&**earnings)?;

        let a = &ctx.accounts;
        transfer_from_vault(
            &a.token_program,
            &a.vault,
            &a.mint,
            &a.destination,
            ctx.bumps.vault,
            args.amount,
        )?;

        emit_cpi!(EarningsWithdrawn {
            earnings: ctx.accounts.earnings.key(),
            destination: ctx.accounts.destination.key(),
            amount: args.amount,
            balance: ctx.accounts.earnings.balance,
        });
        Ok(())
    }
}
