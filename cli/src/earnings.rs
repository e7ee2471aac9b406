//! `micropay earnings`: what a creator or fee recipient has earned.

use super::{
    context::{format_amount, parse_amount, Ctx},
    escrow::destination,
    Cli, Failure,
};
use anchor_lang::prelude::Pubkey;
use clap::{Args, Subcommand};
use micropay_client::{accounts, earnings};
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
        #[arg(long)]
        mint: String,
        #[arg(long)]
        owner: Option<Pubkey>,
    },
    /// Withdraw earnings (an amount in UI units, or `all`); SOL is unwrapped.
    Withdraw {
        #[arg(long)]
        mint: String,
        amount: String,
        #[arg(long)]
        to: Option<Pubkey>,
    },
    /// Show earnings.
    Show {
        #[arg(long)]
        mint: String,
        #[arg(long)]
        owner: Option<Pubkey>,
    },
}

pub async fn run(cli: &Cli, args: &EarningsArgs) -> Result<(), Failure> {
    let ctx = Ctx::new(cli)?;
    let me = ctx.me()?;
    let (mint, owner, signature) = match &args.command {
        EarningsCommand::Init { mint, owner } => {
            let mint = ctx.mint(mint).await?;
            let owner = owner.unwrap_or(me);
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
            (mint, owner, Some(sent.signature))
        }
        EarningsCommand::Withdraw { mint, amount, to } => {
            let mint = ctx.mint(mint).await?;
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
            let to = destination(&ctx, &mint, *to).await?;
            let sent =
                earnings::withdraw(ctx.ledger(), ctx.keypair()?, &mint.mint_ref(), amount, to)
                    .await?;
            (mint, me, Some(sent.signature))
        }
        EarningsCommand::Show { mint, owner } => (ctx.mint(mint).await?, owner.unwrap_or(me), None),
    };
    let address = pda::earnings(&owner, &mint.address).0;
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
        signature: signature.map(|s| s.to_string()),
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
        if let Some(signature) = &self.signature {
            write!(f, "\n  signature     {signature}")?;
        }
        Ok(())
    }
}
