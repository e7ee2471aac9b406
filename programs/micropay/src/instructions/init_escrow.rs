//! `init_escrow`: a payer creates its escrow for a mint; the first escrow of a
//! mint also creates the mint's vault. The escrow's generation is the current
//! slot (see `Escrow::generation`).

use crate::{
    constants::{ESCROW_SEED, VAULT_SEED},
    create::create_state_account,
    events::EscrowInitialized,
    state::{ensure, Escrow},
    token::{check_mint_extensions, check_vault, create_vault},
};
use anchor_lang::prelude::*;
use anchor_spl::token_interface::{Mint, TokenInterface};

#[event_cpi]
#[derive(Accounts)]
pub struct InitEscrow<'info> {
    /// Escrow owner; pays the escrow's rent (and the vault's, if it is new).
    #[account(mut)]
    pub owner: Signer<'info>,
    #[account(mint::token_program = token_program)]
    pub mint: InterfaceAccount<'info, Mint>,
    /// CHECK: created in the handler (see `create`): must be empty.
    #[account(
        mut,
        seeds = [ESCROW_SEED, owner.key().as_ref(), mint.key().as_ref()],
        bump,
    )]
    pub escrow: UncheckedAccount<'info>,
    /// CHECK: the mint's vault PDA; created here when empty, otherwise its
    /// contents are checked in `validate()`.
    #[account(mut, seeds = [VAULT_SEED, mint.key().as_ref()], bump)]
    pub vault: UncheckedAccount<'info>,
    pub token_program: Interface<'info, TokenInterface>,
    pub system_program: Program<'info, System>,
}

impl<'info> InitEscrow<'info> {
    pub fn validate(&self) -> Result<()> {
        check_mint_extensions(&self.mint.to_account_info())?;
        if !self.vault_is_new() {
            check_vault(&self.vault, &self.mint.key(), &self.token_program.key())?;
        }
        Ok(())
    }

    fn vault_is_new(&self) -> bool {
        self.vault.data_is_empty()
    }

    pub fn init_escrow(ctx: Context<Self>) -> Result<()> {
        let vault_created = ctx.accounts.vault_is_new();
        if vault_created {
            let a = &ctx.accounts;
            create_vault(
                &a.owner,
                &a.vault.to_account_info(),
                &a.mint,
                &a.token_program,
                &a.system_program,
                ctx.bumps.vault,
            )?;
        }

        let a = &ctx.accounts;
        let (owner, mint) = (a.owner.key(), a.mint.key());
        let escrow = Escrow {
            owner,
            mint,
            balance: 0,
            next_channel_id: 0,
            generation: Clock::get()?.slot,
            open_channels: 0,
            bump: ctx.bumps.escrow,
        };
        ensure(&escrow)?;
        create_state_account(
            &a.owner,
            &a.escrow.to_account_info(),
            &[
                ESCROW_SEED,
                owner.as_ref(),
                mint.as_ref(),
                &[ctx.bumps.escrow],
            ],
            &a.system_program,
            &escrow,
        )?;

        emit_cpi!(EscrowInitialized {
            escrow: ctx.accounts.escrow.key(),
            owner: ctx.accounts.owner.key(),
            mint: ctx.accounts.mint.key(),
            vault: ctx.accounts.vault.key(),
            vault_created,
            generation: escrow.generation,
        });
        Ok(())
    }
}
