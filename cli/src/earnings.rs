//! `micropay earnings`: what a creator or fee recipient has earned.

use super::{
    context::{format_amount, parse_amount, Ctx, MintInfo},
    escrow::destination,
    Cli, Failure,
};
use anchor_lang::prelude::Pubkey;
use clap::{Args, Subcommand};
use micropay_client::{accounts, earnings, tokens::Destination};
use micropay_sdk::pda;

#[derive(Args, Debug)]
pub struct EarningsArgs {
    #[command(subcommand)]
    pub command: EarningsCommand,
}

#[derive(Subcommand, Debug)]
pub enum EarningsCommand {
    /// Create the earnings account of a wallet (default: you) for a mint; you pay its rent.
    Init {
        /// Mint: `sol` or an address.
        #[arg(long)]
        mint: String,
        /// Whose account (a creator, a fee recipient, a split); default: you.
        #[arg(value_parser = crate::context::address, long)]
        owner: Option<Pubkey>,
    },
    /// Withdraw earnings (an amount in UI units, or `all`); SOL is unwrapped.
    Withdraw {
        /// Mint: `sol` or an address.
        #[arg(long)]
        mint: String,
        /// How much, in UI units of the mint, or `all`.
        amount: String,
        /// Token account to pay into (default: SOL to your wallet, other
        /// mints to your token account with the most tokens).
        #[arg(value_parser = crate::context::address, long)]
        to: Option<Pubkey>,
    },
    /// Show earnings.
    Show {
        /// Mint: `sol` or an address.
        #[arg(long)]
        mint: String,
        /// Whose earnings (default: you; with it, no wallet is needed).
        #[arg(value_parser = crate::context::address, long)]
        owner: Option<Pubkey>,
    },
}

pub async fn run(cli: &Cli, args: &EarningsArgs) -> Result<(), Failure> {
    // `show --owner` only reads: it needs no wallet
    let ctx = Ctx::read_only(cli)?;
    ctx.deployed().await?;
    match &args.command {
        EarningsCommand::Show {
            mint,
            owner: Some(owner),
        } => show(&ctx, &ctx.mint(mint).await?, owner, None, None).await,
        EarningsCommand::Show { mint, owner: None } => {
            show(&ctx, &ctx.mint(mint).await?, &ctx.me()?, None, None).await
        }
        EarningsCommand::Init { mint, owner } => {
            init(&ctx, &ctx.mint(mint).await?, owner.unwrap_or(ctx.me()?)).await
        }
        EarningsCommand::Withdraw { mint, amount, to } => {
            withdraw(&ctx, &ctx.mint(mint).await?, amount, *to).await
        }
    }
}

async fn init(ctx: &Ctx, mint: &MintInfo, owner: Pubkey) -> Result<(), Failure> {
    let sent = earnings::init(ctx.ledger(), ctx.keypair()?, &owner, &mint.address)
        .await
        .map_err(|e| match e {
            e if e.is_already_initialized() => Failure::user(format!(
                "the earnings account of {owner} for mint {} exists already ({}): nothing to do",
                mint.address,
                pda::earnings(&owner, &mint.address).0
            )),
            e => e.into(),
        })?;
    show(ctx, mint, &owner, Some(sent.signature.to_string()), None).await
}

async fn withdraw(
    ctx: &Ctx,
    mint: &MintInfo,
    amount: &str,
    to: Option<Pubkey>,
) -> Result<(), Failure> {
    let me = ctx.me()?;
    let address = pda::earnings(&me, &mint.address).0;
    let balance = accounts::earnings(ctx.ledger(), &address)
        .await?
        .map_or(0, |e| e.balance);
    let amount = if amount == "all" {
        balance
    } else {
        parse_amount(amount, mint.decimals)?
    };
    if amount == 0 || amount > balance {
        return Err(Failure::user(format!(
            "you have {} of earnings; withdraw between a base unit and that (or `all`)",
            mint.ui(balance)
        )));
    }
    let to = destination(ctx, mint, to).await?;
    let sent =
        earnings::withdraw(ctx.ledger(), ctx.keypair()?, &mint.mint_ref(), amount, to).await?;
    let went = match to {
        Destination::Account(account) => account.to_string(),
        Destination::UnwrapSol => format!("{me} (your wallet, as SOL)"),
    };
    let signature = Some(sent.signature.to_string());
    show(ctx, mint, &me, signature, Some((amount, went))).await
}

/// Prints `owner`'s earnings account of `mint`, with the transaction that
/// changed it and what a withdrawal moved where.
async fn show(
    ctx: &Ctx,
    mint: &MintInfo,
    owner: &Pubkey,
    signature: Option<String>,
    withdrawn: Option<(u64, String)>,
) -> Result<(), Failure> {
    let address = pda::earnings(owner, &mint.address).0;
    let earnings = accounts::earnings(ctx.ledger(), &address).await?.ok_or_else(|| {
        Failure::user(format!(
            "{owner} has no earnings account for {}; create it with `micropay earnings init --mint {} --owner {owner}`",
            mint.symbol, mint.address
        ))
    })?;
    ctx.show(&EarningsView {
        earnings: address.to_string(),
        owner: earnings.owner.to_string(),
        mint: earnings.mint.to_string(),
        balance: earnings.balance,
        balance_ui: format_amount(earnings.balance, mint.decimals),
        total_earned: earnings.total_earned,
        total_earned_ui: format_amount(earnings.total_earned, mint.decimals),
        withdrawn: withdrawn.as_ref().map(|(a, _)| *a),
        withdrawn_ui: withdrawn
            .as_ref()
            .map(|(a, _)| format_amount(*a, mint.decimals)),
        withdrawn_to: withdrawn.map(|(_, to)| to),
        signature,
        symbol: mint.symbol.clone(),
    });
    Ok(())
}

/// An earnings account as every `earnings` command prints it, with the
/// signature of the transaction that changed it (none for `show`).
#[derive(Debug, serde::Serialize)]
pub struct EarningsView {
    earnings: String,
    owner: String,
    mint: String,
    balance: u64,
    balance_ui: String,
    total_earned: u64,
    total_earned_ui: String,
    /// `withdraw`: base units moved, and where they went.
    #[serde(skip_serializing_if = "Option::is_none")]
    withdrawn: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    withdrawn_ui: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    withdrawn_to: Option<String>,
    signature: Option<String>,
    #[serde(skip)]
    symbol: String,
}

impl std::fmt::Display for EarningsView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "earnings {}\n  balance       {} {s}\n  total earned  {} {s}",
            self.earnings,
            self.balance_ui,
            self.total_earned_ui,
            s = self.symbol
        )?;
        if let (Some(ui), Some(to)) = (&self.withdrawn_ui, &self.withdrawn_to) {
            write!(f, "\n  withdrawn     {ui} {} to {to}", self.symbol)?;
        }
        if let Some(signature) = &self.signature {
            write!(f, "\n  signature     {signature}")?;
        }
        Ok(())
    }
}
