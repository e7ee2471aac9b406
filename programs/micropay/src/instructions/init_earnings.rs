//! `init_earnings`: anyone creates the earnings account of a wallet for a mint
//! (a creator, a fee recipient, or a relayer on their behalf) and pays its rent.

use crate::{
    constants::EARNINGS_SEED,
    create::create_state_account,
    events::EarningsInitialized,
    state::{ensure, Earnings},
};
use anchor_lang::prelude::*;
use anchor_spl::token_interface::Mint;

#[derive(AnchorSerialize, AnchorDeserialize, Clone, Debug)]
pub struct InitEarningsArgs {
    /// Wallet the earnings will belong to.
    pub owner: Pubkey,
}

#[event_cpi]
#[derive(Accounts)]
#[instruction(args: InitEarningsArgs)]
pub struct InitEarnings<'info> {
    #[account(mut)]
    pub payer: Signer<'info>,
    pub mint: InterfaceAccount<'info, Mint>,
    /// CHECK: created in the handler (see `create`): must be empty.
    #[account(
        mut,
        seeds = [EARNINGS_SEED, args.owner.as_ref(), mint.key().as_ref()],
        bump,
    )]
    pub earnings: UncheckedAccount<'info>,
    pub system_program: Program<'info, System>,
}

impl<'info> InitEarnings<'info> {
    pub fn init_earnings(ctx: Context<Self>, args: InitEarningsArgs) -> Result<()> {
        let a = &ctx.accounts;
        let mint = a.mint.key();
        let earnings = Earnings {
            owner: args.owner,
            mint,
            balance: 0,
            total_earned: 0,
            bump: ctx.bumps.earnings,
            rent_payer: a.payer.key(),
        };
        ensure(&earnings)?;
        create_state_account(
            &a.payer,
            &a.earnings.to_account_info(),
            &[
                EARNINGS_SEED,
                args.owner.as_ref(),
                mint.as_ref(),
                &[ctx.bumps.earnings],
            ],
            &a.system_program,
            &earnings,
        )?;
        emit_cpi!(EarningsInitialized {
            earnings: ctx.accounts.earnings.key(),
            owner: args.owner,
            mint: ctx.accounts.mint.key(),
        });
        Ok(())
    }
}
