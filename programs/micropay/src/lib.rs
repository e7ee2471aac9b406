//! # micropay
//!
//! Pay-per-use micropayments on Solana. Payers deposit into an escrow (one
//! vault per mint, internal balances), open channels to creators, and pay each
//! use with an off-chain, cumulative, ed25519-signed voucher. Anyone settles
//! the newest vouchers of many channels in one batched `claim`, verified in the
//! program, so one transaction fee pays for thousands of uses.
//!
//! This file only dispatches; each instruction lives in `instructions/`.

#![cfg_attr(not(test), deny(clippy::unwrap_used))]

use anchor_lang::prelude::*;

pub mod constants;
pub mod create;
pub mod error;
pub mod events;
pub mod instructions;
pub mod math;
pub mod state;
pub mod token;
pub mod voucher;

use instructions::*;

declare_id!("4wPrW6yL7jopqbJBc4JFHqM5Pa6qEiktAAYNmqGUWhf3");

/// The program's security.txt (readable with `query-security-txt` from the
/// deployed binary). A deployer replaces the contact with its own before
/// deploying; SECURITY.md holds the threat model.
#[cfg(not(feature = "no-entrypoint"))]
#[allow(unsafe_code)] // the macro exports a `#[no_mangle]` static
mod security {
    solana_security_txt::security_txt! {
        name: "micropay",
        project_url: "SECURITY.md",
        contacts: "link:SECURITY.md",
        policy: "SECURITY.md in the source repository: report privately to the deployer; do not exploit or disclose before a fix",
        preferred_languages: "en",
        source_code: "programs/micropay in the source repository"
    }
}

#[program]
pub mod micropay {
    use super::*;

    /// Creates the payer's escrow for a mint (and the mint's vault if missing).
    #[access_control(ctx.accounts.validate())]
    pub fn init_escrow(ctx: Context<InitEscrow>) -> Result<()> {
        InitEscrow::init_escrow(ctx)
    }

    /// Moves tokens into the vault, credited to the escrow's free balance.
    #[access_control(ctx.accounts.validate(&args))]
    pub fn deposit(ctx: Context<Deposit>, args: DepositArgs) -> Result<()> {
        Deposit::deposit(ctx, args)
    }

    /// Returns free escrow balance to the owner.
    #[access_control(ctx.accounts.validate(&args))]
    pub fn withdraw(ctx: Context<Withdraw>, args: WithdrawArgs) -> Result<()> {
        Withdraw::withdraw(ctx, args)
    }

    /// Opens a channel to a creator, funded from the escrow balance.
    #[access_control(ctx.accounts.validate(&args))]
    pub fn open_channel(ctx: Context<OpenChannel>, args: OpenChannelArgs) -> Result<()> {
        OpenChannel::open_channel(ctx, args)
    }

    /// Adds allocation to an open channel from the escrow balance.
    #[access_control(ctx.accounts.validate(&args))]
    pub fn top_up_channel(ctx: Context<TopUpChannel>, args: TopUpChannelArgs) -> Result<()> {
        TopUpChannel::top_up_channel(ctx, args)
    }

    /// Creates the earnings account of a wallet for a mint.
    pub fn init_earnings(ctx: Context<InitEarnings>, args: InitEarningsArgs) -> Result<()> {
        InitEarnings::init_earnings(ctx, args)
    }

    /// Settles a batch of vouchers (permissionless).
    #[access_control(ctx.accounts.validate(&args))]
    pub fn claim<'info>(ctx: Context<'info, Claim<'info>>, args: ClaimArgs) -> Result<()> {
        Claim::claim(ctx, args)
    }

    /// Moves earnings to a token account of the owner's choice.
    #[access_control(ctx.accounts.validate(&args))]
    pub fn withdraw_earnings(
        ctx: Context<WithdrawEarnings>,
        args: WithdrawEarningsArgs,
    ) -> Result<()> {
        WithdrawEarnings::withdraw_earnings(ctx, args)
    }

    /// Payer starts closing a channel; the dispute window starts now.
    #[access_control(ctx.accounts.validate())]
    pub fn request_close(ctx: Context<RequestClose>) -> Result<()> {
        RequestClose::request_close(ctx)
    }

    /// Anyone closes a channel after its dispute window, or once it expired.
    #[access_control(ctx.accounts.validate())]
    pub fn finalize_close(ctx: Context<FinalizeClose>) -> Result<()> {
        FinalizeClose::finalize_close(ctx)
    }

    /// The creator closes a channel at once.
    pub fn creator_close(ctx: Context<CreatorClose>) -> Result<()> {
        CreatorClose::creator_close(ctx)
    }

    /// Closes an escrow with no open channel, sweeping its balance to the owner.
    #[access_control(ctx.accounts.validate())]
    pub fn close_escrow(ctx: Context<CloseEscrow>) -> Result<()> {
        CloseEscrow::close_escrow(ctx)
    }

    /// Closes an earnings account with zero balance (rent back to its owner).
    #[access_control(ctx.accounts.validate())]
    pub fn close_earnings(ctx: Context<CloseEarnings>) -> Result<()> {
        CloseEarnings::close_earnings(ctx)
    }

    /// Creates a royalty split: one payee that pays several owners fixed shares.
    pub fn create_split<'info>(
        ctx: Context<'info, CreateSplit<'info>>,
        args: CreateSplitArgs,
    ) -> Result<()> {
        CreateSplit::create_split(ctx, args)
    }

    /// Moves a split's earnings to its recipients by share (permissionless).
    pub fn distribute<'info>(ctx: Context<'info, Distribute<'info>>) -> Result<()> {
        Distribute::distribute(ctx)
    }
}
