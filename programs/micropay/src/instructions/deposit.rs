//! `deposit`: tokens from the depositor's account into the vault, credited to
//! the escrow's free balance. Anyone may fund any escrow (a dApp can top up its
//! users); only the owner can take the balance out.
//!
//! The mint's extension policy is checked again on every deposit, not only at
//! `init_escrow`: a Token-2022 mint with a close authority can be closed at zero
//! supply and re-created at the same address with, say, a permanent delegate
//! that could then drain the vault. Such a mint takes no new deposits.

use crate::{
    constants::VAULT_SEED,
    error::MicropayError,
    events::Deposited,
    math,
    state::{ensure, Escrow},
    token::check_mint_extensions,
};
use anchor_lang::prelude::*;
use anchor_spl::token_interface::{self, Mint, TokenAccount, TokenInterface, TransferChecked};

#[derive(AnchorSerialize, AnchorDeserialize, Clone, Debug)]
pub struct DepositArgs {
    /// Base units of the escrow's mint.
    pub amount: u64,
}

#[event_cpi]
#[derive(Accounts)]
pub struct Deposit<'info> {
    /// Authority of `source`.
    pub depositor: Signer<'info>,
    #[account(mut, has_one = mint @ MicropayError::MintMismatch)]
    pub escrow: Account<'info, Escrow>,
    #[account(mint::token_program = token_program)]
    pub mint: InterfaceAccount<'info, Mint>,
    #[account(mut, token::mint = mint, token::token_program = token_program)]
    pub source: InterfaceAccount<'info, TokenAccount>,
    #[account(mut, seeds = [VAULT_SEED, mint.key().as_ref()], bump)]
    pub vault: InterfaceAccount<'info, TokenAccount>,
    pub token_program: Interface<'info, TokenInterface>,
}

impl<'info> Deposit<'info> {
    pub fn validate(&self, args: &DepositArgs) -> Result<()> {
        require!(args.amount > 0, MicropayError::ZeroAmount);
        check_mint_extensions(&self.mint.to_account_info())
    }

    pub fn deposit(ctx: Context<Self>, args: DepositArgs) -> Result<()> {
        let a = &ctx.accounts;
        let vault_before = a.vault.amount;
        token_interface::transfer_checked(
            CpiContext::new(
                a.token_program.key(),
                TransferChecked {
                    from: a.source.to_account_info(),
                    mint: a.mint.to_account_info(),
                    to: a.vault.to_account_info(),
                    authority: a.depositor.to_account_info(),
                },
            ),
            args.amount,
            a.mint.decimals,
        )?;
        // Defense in depth: the vault must have received exactly `amount`.
        ctx.accounts.vault.reload()?;
        require!(
            ctx.accounts.vault.amount == math::add(vault_before, args.amount)?,
            MicropayError::UnsupportedMintExtension
        );

        let escrow = &mut ctx.accounts.escrow;
        escrow.balance = math::add(escrow.balance, args.amount)?;
        ensure(&**escrow)?;

        emit_cpi!(Deposited {
            escrow: ctx.accounts.escrow.key(),
            depositor: ctx.accounts.depositor.key(),
            amount: args.amount,
            balance: ctx.accounts.escrow.balance,
        });
        Ok(())
    }
}
