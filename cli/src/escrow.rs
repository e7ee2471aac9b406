//! `micropay escrow`: a payer's deposit for one mint.

use super::{
    context::{parse_amount, Ctx, MintInfo},
    Cli, Failure,
};
use anchor_lang::prelude::Pubkey;
use clap::{Args, Subcommand};
use micropay_client::{
    accounts, escrow,
    tokens::{Destination, Source},
    ClientError,
};
use micropay_sdk::pda;

#[derive(Args, Debug)]
pub struct EscrowArgs {
    #[command(subcommand)]
    pub command: EscrowCommand,
}

#[derive(Subcommand, Debug)]
pub enum EscrowCommand {
    /// Create your escrow for a mint (and the mint's vault if it is the first).
    Init {
        /// Mint address, or `sol` for wrapped SOL.
        #[arg(long)]
        mint: String,
    },
    /// Deposit tokens (SOL is wrapped on the way in).
    Deposit {
        /// Mint address, or `sol` for wrapped SOL.
        #[arg(long)]
        mint: String,
        /// Amount in UI units, e.g. 1.5
        amount: String,
        /// Token account to take from (default: your account of the mint with the most tokens).
        #[arg(value_parser = crate::context::address, long)]
        from: Option<Pubkey>,
    },
    /// Take free balance back (SOL is unwrapped).
    Withdraw {
        /// Mint address, or `sol` for wrapped SOL.
        #[arg(long)]
        mint: String,
        /// Amount in UI units, at most the escrow's free balance.
        amount: String,
        /// Token account to pay into (default: SOL to your wallet, other
        /// mints to your token account with the most tokens).
        #[arg(value_parser = crate::context::address, long)]
        to: Option<Pubkey>,
    },
    /// Show an escrow.
    Show {
        /// Mint address, or `sol` for wrapped SOL.
        #[arg(long)]
        mint: String,
        /// Escrow owner (default: you; with it, no wallet is needed).
        #[arg(value_parser = crate::context::address, long)]
        owner: Option<Pubkey>,
    },
}

/// Where a payout of `mint` to the signer goes: `to`, else SOL itself
/// for wrapped SOL (through a temporary account), else the signer's
/// token account of the mint with the most tokens.
pub async fn destination(
    ctx: &Ctx,
    mint: &MintInfo,
    to: Option<Pubkey>,
) -> Result<Destination, Failure> {
    if let Some(to) = to {
        return Ok(Destination::Account(to));
    }
    if mint.is_sol() {
        return Ok(Destination::UnwrapSol);
    }
    let (account, _) = ctx.token_account(&ctx.me()?, mint).await?.ok_or_else(|| {
        Failure::user(format!(
            "you have no token account of {}; create one (spl-token create-account {}) or pass --to",
            mint.address, mint.address
        ))
    })?;
    Ok(Destination::Account(account))
}

pub async fn run(cli: &Cli, args: &EscrowArgs) -> Result<(), Failure> {
    // `show --owner` only reads: it needs no wallet
    let ctx = Ctx::read_only(cli)?;
    ctx.deployed().await?;
    if let EscrowCommand::Show {
        mint,
        owner: Some(owner),
    } = &args.command
    {
        let mint = ctx.mint(mint).await?;
        return show(&ctx, &mint, owner, None).await;
    }
    let me = ctx.me()?;
    match &args.command {
        EscrowCommand::Init { mint } => {
            let mint = ctx.mint(mint).await?;
            let sent = escrow::init(ctx.ledger(), ctx.keypair()?, &mint.mint_ref())
                .await
                .map_err(|e| match e {
                    e if e.is_already_initialized() => Failure::user(format!(
                        "your escrow ({me}) for mint {} exists already ({}): deposit with `micropay escrow deposit --mint {} <AMOUNT>`",
                        mint.address,
                        pda::escrow(&me, &mint.address).0,
                        mint.address
                    )),
                    e => e.into(),
                })?;
            show(&ctx, &mint, &me, Some(sent.signature.to_string())).await
        }
        EscrowCommand::Deposit { mint, amount, from } => {
            deposit(&ctx, &ctx.mint(mint).await?, amount, from.as_ref()).await
        }
        EscrowCommand::Withdraw { mint, amount, to } => {
            withdraw(&ctx, &ctx.mint(mint).await?, amount, *to).await
        }
        EscrowCommand::Show { mint, owner } => {
            let mint = ctx.mint(mint).await?;
            show(&ctx, &mint, &owner.unwrap_or(me), None).await
        }
    }
}

/// Lamports a SOL deposit needs besides the amount: a temporary
/// wrapped-SOL account's rent (back when the transaction closes it; the
/// same rent `micropay_sdk::tokens::WrapSol` pays) and the fee of its two
/// signatures (the wallet's and the account's).
fn wrap_reserve() -> u64 {
    use anchor_lang::solana_program::{program_pack::Pack, rent::Rent};
    let rent = Rent::default().minimum_balance(anchor_spl::token::spl_token::state::Account::LEN);
    rent.saturating_add(2 * 5_000)
}

async fn deposit(
    ctx: &Ctx,
    mint: &MintInfo,
    amount: &str,
    from: Option<&Pubkey>,
) -> Result<(), Failure> {
    let me = ctx.me()?;
    let amount = parse_amount(amount, mint.decimals)?;
    let source = match (from, mint.is_sol()) {
        (Some(from), _) => Source::Account(*from),
        (None, true) => {
            let held = ctx.ledger().balance(&me).await?;
            let most = held.saturating_sub(wrap_reserve());
            if amount > most {
                return Err(Failure::user(format!(
                    "your wallet holds {}; deposit at most {} (the rest pays the fee and, while the transaction runs, a temporary wrapped-SOL account)",
                    mint.ui(held),
                    mint.ui(most)
                )));
            }
            Source::WrapSol
        }
        (None, false) => {
            let (source, held) = ctx.token_account(&me, mint).await?.unwrap_or_default();
            if held < amount {
                return Err(Failure::user(format!(
                    "you hold {} of this mint; deposit at most that",
                    mint.ui(held)
                )));
            }
            Source::Account(source)
        }
    };
    let sent = escrow::deposit(
        ctx.ledger(),
        ctx.keypair()?,
        &mint.mint_ref(),
        amount,
        source,
    )
    .await
    .map_err(|e| match e {
        ClientError::AccountNotFound(_) => Failure::user(format!(
            "you have no escrow for {}; create it with `micropay escrow init --mint {}`",
            mint.symbol, mint.address
        )),
        e => e.into(),
    })?;
    show(ctx, mint, &me, Some(sent.signature.to_string())).await
}

async fn withdraw(
    ctx: &Ctx,
    mint: &MintInfo,
    amount: &str,
    to: Option<Pubkey>,
) -> Result<(), Failure> {
    let me = ctx.me()?;
    let amount = parse_amount(amount, mint.decimals)?;
    let escrow = pda::escrow(&me, &mint.address).0;
    let free = accounts::escrow(ctx.ledger(), &escrow)
        .await?
        .map_or(0, |e| e.balance);
    if amount > free {
        return Err(Failure::user(format!(
            "escrow has {} free; withdraw at most that (or close channels to free more)",
            mint.ui(free)
        )));
    }
    let to = destination(ctx, mint, to).await?;
    let sent = escrow::withdraw(ctx.ledger(), ctx.keypair()?, &mint.mint_ref(), amount, to).await?;
    show(ctx, mint, &me, Some(sent.signature.to_string())).await
}

async fn show(
    ctx: &Ctx,
    mint: &MintInfo,
    owner: &Pubkey,
    signature: Option<String>,
) -> Result<(), Failure> {
    let address = pda::escrow(owner, &mint.address).0;
    let escrow = accounts::escrow(ctx.ledger(), &address)
        .await?
        .ok_or_else(|| {
            Failure::user(format!(
                "no escrow for {owner} and {}; create it with `micropay escrow init --mint {}`",
                mint.symbol, mint.address
            ))
        })?;
    ctx.show(&EscrowView {
        escrow: address.to_string(),
        owner: escrow.owner.to_string(),
        mint: escrow.mint.to_string(),
        balance: escrow.balance,
        balance_ui: super::context::format_amount(escrow.balance, mint.decimals),
        open_channels: escrow.open_channels,
        next_channel_id: escrow.next_channel_id,
        generation: escrow.generation,
        signature,
        symbol: mint.symbol.clone(),
    });
    Ok(())
}

/// An escrow as every `escrow` command prints it, with the signature of the
/// transaction that changed it (none for `show`).
#[derive(Debug, serde::Serialize)]
pub struct EscrowView {
    escrow: String,
    owner: String,
    mint: String,
    balance: u64,
    balance_ui: String,
    open_channels: u32,
    next_channel_id: u64,
    generation: u64,
    signature: Option<String>,
    #[serde(skip)]
    symbol: String,
}

impl std::fmt::Display for EscrowView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "escrow {}\n  owner          {}\n  free balance   {} {}\n  open channels  {}",
            self.escrow, self.owner, self.balance_ui, self.symbol, self.open_channels
        )?;
        if let Some(signature) = &self.signature {
            write!(f, "\n  signature      {signature}")?;
        }
        Ok(())
    }
}
