//! `create_split`: anyone creates a royalty split for a mint — one payee
//! address that pays 1 to 32 owners fixed shares — and pays its rent. The
//! address follows from the mint and the shares, so the same shares always
//! name the same split, and nothing about it can change afterwards.
//!
//! Every recipient's earnings account for the mint must exist (passed as
//! remaining accounts, in recipient order), so that a distribution never
//! meets a missing account at creation (one closed later just waits).

use crate::{
    constants::SPLIT_SEED,
    create::create_pda_account,
    error::MicropayError,
    events::SplitCreated,
    instructions::claim::earnings_exists,
    state::{ensure, split_hash, Split, SplitRecipient},
};
use anchor_lang::prelude::*;
use anchor_spl::token_interface::Mint;

#[derive(AnchorSerialize, AnchorDeserialize, Clone, Debug)]
pub struct CreateSplitArgs {
    /// The owners and their shares: ascending by owner, each once, each
    /// above 0 bps, summing to 10,000.
    pub recipients: Vec<SplitRecipient>,
}

#[event_cpi]
#[derive(Accounts)]
pub struct CreateSplit<'info> {
    #[account(mut)]
    pub payer: Signer<'info>,
    pub mint: InterfaceAccount<'info, Mint>,
    /// CHECK: created in the handler; must be the PDA
    /// `["split", mint, sha256(recipients)]` (checked in `validate`).
    #[account(mut)]
    pub split: UncheckedAccount<'info>,
    pub system_program: Program<'info, System>,
    // remaining accounts: each recipient's earnings account for `mint`, in
    // recipient order
}

impl<'info> CreateSplit<'info> {
    /// The shares are well formed and `split` is their address; returns its bump.
    pub fn validate(&self, args: &CreateSplitArgs) -> Result<u8> {
        require!(
            Split::shares_valid(&args.recipients),
            MicropayError::InvalidSplitShares
        );
        let hash = split_hash(&args.recipients)?;
        let (expected, bump) = Pubkey::find_program_address(
            &[SPLIT_SEED, self.mint.key().as_ref(), &hash],
            &crate::ID,
        );
        require_keys_eq!(
            self.split.key(),
            expected,
            anchor_lang::error::ErrorCode::ConstraintSeeds
        );
        Ok(bump)
    }

    pub fn create_split(ctx: Context<'info, Self>, args: CreateSplitArgs) -> Result<()> {
        let bump = ctx.accounts.validate(&args)?;
        let a = &ctx.accounts;
        let mint = a.mint.key();
        let remaining = ctx.remaining_accounts;
        require!(
            remaining.len() == args.recipients.len(),
            MicropayError::SplitAccountsMismatch
        );
        for (recipient, info) in args.recipients.iter().zip(remaining) {
            require!(
                earnings_exists(
                    info,
                    &recipient.owner,
                    &mint,
                    MicropayError::SplitAccountsMismatch
                )?,
                MicropayError::SplitEarningsMissing
            );
        }
        let split = Split {
            mint,
            recipients: args.recipients.clone(),
            distributed: vec![0; args.recipients.len()],
            bump,
        };
        ensure(&split)?;
        let hash = split_hash(&args.recipients)?;
        create_pda_account(
            &a.payer,
            &a.split.to_account_info(),
            Split::space(args.recipients.len()),
            &crate::ID,
            &[SPLIT_SEED, mint.as_ref(), &hash, &[bump]],
            &a.system_program,
        )?;
        {
            let info = a.split.to_account_info();
            let mut data = info.try_borrow_mut_data()?;
            let mut writer: &mut [u8] = &mut data;
            split.try_serialize(&mut writer)?;
        }
        emit_cpi!(SplitCreated {
            split: ctx.accounts.split.key(),
            mint,
            recipients: args.recipients,
        });
        Ok(())
    }
}
