//! `open_channel`: moves an allocation from the escrow's free balance into a new
//! channel to a creator. The escrow's generation, the channel id (from
//! `escrow.next_channel_id`) and the payer's nonce are all in the channel's
//! seeds, so the program itself makes every channel address unique forever.

use crate::{
    constants::{CHANNEL_SEED, MAX_DISPUTE_WINDOW_SECS, MAX_FEE_BPS, MIN_DISPUTE_WINDOW_SECS},
    create::create_state_account,
    error::MicropayError,
    events::ChannelOpened,
    math,
    state::{ensure, Channel, Escrow},
    voucher::is_valid_signer_key,
};
use anchor_lang::prelude::*;

#[derive(AnchorSerialize, AnchorDeserialize, Clone, Debug, PartialEq, Eq)]
pub struct OpenChannelArgs {
    /// Wallet credited by claims.
    pub creator: Pubkey,
    /// Ed25519 key that signs vouchers (a session key, or the owner itself).
    pub signer: Pubkey,
    /// Base units moved from the escrow balance into the channel.
    pub allocation: u64,
    /// dApp fee recipient; `None` for no fee share.
    pub fee_recipient: Option<Pubkey>,
    /// Fee share in basis points, ≤ `MAX_FEE_BPS`; 0 without fee recipient.
    pub fee_bps: u16,
    /// Seconds the creator has to claim after a close request.
    pub dispute_window_secs: u32,
    /// Unix timestamp after which the payer may close at once; 0 = never.
    pub expires_at: i64,
    /// Random value; part of the channel's address (binds the cluster).
    pub nonce: u64,
}

#[event_cpi]
#[derive(Accounts)]
#[instruction(args: OpenChannelArgs)]
pub struct OpenChannel<'info> {
    /// Escrow owner; pays the channel's rent and gets it back on close.
    #[account(mut)]
    pub owner: Signer<'info>,
    #[account(mut, has_one = owner @ MicropayError::NotEscrowOwner)]
    pub escrow: Account<'info, Escrow>,
    /// CHECK: created in the handler (see `create`): must be empty.
    #[account(
        mut,
        seeds = [
            CHANNEL_SEED,
            escrow.key().as_ref(),
            &escrow.generation.to_le_bytes(),
            &escrow.next_channel_id.to_le_bytes(),
            &args.nonce.to_le_bytes(),
        ],
        bump,
    )]
    pub channel: UncheckedAccount<'info>,
    pub system_program: Program<'info, System>,
}

impl<'info> OpenChannel<'info> {
    pub fn validate(&self, args: &OpenChannelArgs) -> Result<()> {
        require!(args.allocation > 0, MicropayError::ZeroAmount);
        require!(
            args.allocation <= self.escrow.balance,
            MicropayError::InsufficientBalance
        );
        require!(args.fee_bps <= MAX_FEE_BPS, MicropayError::FeeTooHigh);
        require!(
            args.fee_recipient.is_some() == (args.fee_bps > 0)
                && args.fee_recipient != Some(Pubkey::default()),
            MicropayError::FeeRecipientMismatch
        );
        require!(
            (MIN_DISPUTE_WINDOW_SECS..=MAX_DISPUTE_WINDOW_SECS).contains(&args.dispute_window_secs),
            MicropayError::DisputeWindowOutOfRange
        );
        if args.expires_at != 0 {
            let now = Clock::get()?.unix_timestamp;
            require!(args.expires_at > now, MicropayError::ExpiryInPast);
        }
        require!(
            is_valid_signer_key(&args.signer.to_bytes()),
            MicropayError::InvalidVoucherSigner
        );
        Ok(())
    }

    pub fn open_channel(ctx: Context<Self>, args: OpenChannelArgs) -> Result<()> {
        let escrow = &mut ctx.accounts.escrow;
        let id = escrow.next_channel_id;
        escrow.balance = math::sub(escrow.balance, args.allocation)?;
        escrow.next_channel_id = math::add(id, 1)?;
        escrow.open_channels = escrow
            .open_channels
            .checked_add(1)
            .ok_or_else(|| error!(MicropayError::MathOverflow))?;
        ensure(&**escrow)?;
        let escrow_key = escrow.key();
        let mint = escrow.mint;
        let escrow_balance = escrow.balance;
        let generation = escrow.generation;

        let channel_bump = ctx.bumps.channel;
        let channel = Channel {
            escrow: escrow_key,
            mint,
            creator: args.creator,
            signer: args.signer,
            allocation: args.allocation,
            claimed: 0,
            fee_recipient: args.fee_recipient.unwrap_or_default(),
            fee_bps: args.fee_bps,
            dispute_window_secs: args.dispute_window_secs,
            expires_at: args.expires_at,
            close_requested_at: 0,
            id,
            nonce: args.nonce,
            bump: channel_bump,
        };
        ensure(&channel)?;
        let a = &ctx.accounts;
        create_state_account(
            &a.owner,
            &a.channel.to_account_info(),
            &[
                CHANNEL_SEED,
                escrow_key.as_ref(),
                &generation.to_le_bytes(),
                &id.to_le_bytes(),
                &args.nonce.to_le_bytes(),
                &[channel_bump],
            ],
            &a.system_program,
            &channel,
        )?;

        emit_cpi!(ChannelOpened {
            escrow: escrow_key,
            channel: ctx.accounts.channel.key(),
            generation,
            id,
            nonce: args.nonce,
            creator: args.creator,
            signer: args.signer,
            allocation: args.allocation,
            fee_recipient: args.fee_recipient.unwrap_or_default(),
            fee_bps: args.fee_bps,
            dispute_window_secs: args.dispute_window_secs,
            expires_at: args.expires_at,
            escrow_balance,
        });
        Ok(())
    }
}
