//! `micropay escrow`: a payer's deposit for one mint.

use super::{
    context::{parse_amount, Ctx, MintInfo},
    Cli, Failure,
};
use anchor_lang::prelude::Pubkey;
use clap::{Args, Subcommand};
use micropay_client::accounts;
use micropay_sdk::{instructions as mix, pda};
use solana_sdk::{
    instruction::Instruction,
    signature::{Keypair, Signer},
};

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
        #[arg(long)]
        mint: String,
        /// Amount in UI units, e.g. 1.5
        amount: String,
        /// Token account to take from (default: your account of the mint with the most tokens).
        #[arg(long)]
        from: Option<Pubkey>,
    },
    /// Take free balance back (SOL is unwrapped).
    Withdraw {
        #[arg(long)]
        mint: String,
        amount: String,
        /// Token account to pay into (default: yours with the most tokens).
        #[arg(long)]
        to: Option<Pubkey>,
    },
    /// Show an escrow.
    Show {
        #[arg(long)]
        mint: String,
        /// Escrow owner (default: you).
        #[arg(long)]
        owner: Option<Pubkey>,
    },
}

/// Wraps `middle(temp)` in a temporary wSOL account of the signer: created
/// first, closed last (unwrapping whatever it holds back to the signer).
fn through_temp_wsol(
    me: &Pubkey,
    mint: &MintInfo,
    middle: impl FnOnce(&Pubkey) -> Result<Vec<Instruction>, Failure>,
) -> Result<(Vec<Instruction>, Keypair), Failure> {
    let temp = Keypair::new();
    let mut ixs = micropay_sdk::tokens::CreateTokenAccount {
        payer: *me,
        account: temp.pubkey(),
        mint: mint.address,
        owner: *me,
        token_program: mint.token_program,
    }
    .instructions()?;
    ixs.extend(middle(&temp.pubkey())?);
    ixs.push(
        micropay_sdk::tokens::UnwrapSol {
            account: temp.pubkey(),
            owner: *me,
            to: *me,
        }
        .instruction()?,
    );
    Ok((ixs, temp))
}

/// Instructions that pay `build(destination)` out to the signer: through a
/// temporary wSOL account closed at once (unwrapping) for SOL, else into
/// `to` or the signer's best token account of the mint.
pub async fn payout(
    ctx: &Ctx,
    mint: &MintInfo,
    to: Option<Pubkey>,
    build: impl Fn(&Pubkey) -> Instruction,
) -> Result<(Vec<Instruction>, Option<Keypair>), Failure> {
    let me = ctx.me()?;
    if let Some(to) = to {
        return Ok((vec![build(&to)], None));
    }
    if mint.is_sol() {
        let (ixs, temp) = through_temp_wsol(&me, mint, |temp| Ok(vec![build(temp)]))?;
        return Ok((ixs, Some(temp)));
    }
    let (account, _) = ctx.token_account(&me, mint).await?.ok_or_else(|| {
        Failure::user(format!(
            "you have no token account of {}; create one (spl-token create-account {}) or pass --to",
            mint.address, mint.address
        ))
    })?;
    Ok((vec![build(&account)], None))
}

pub async fn run(cli: &Cli, args: &EscrowArgs) -> Result<(), Failure> {
    // `show --owner` only reads: it needs no wallet
    let ctx = Ctx::read_only(cli)?;
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
            let sent = ctx
                .send(
                    &[mix::InitEscrow {
                        owner: me,
                        mint: mint.address,
                        token_program: mint.token_program,
                    }
                    .instruction()],
                    &[],
                )
                .await?;
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

async fn deposit(
    ctx: &Ctx,
    mint: &MintInfo,
    amount: &str,
    from: Option<&Pubkey>,
) -> Result<(), Failure> {
    let me = ctx.me()?;
    let amount = parse_amount(amount, mint.decimals)?;
    let escrow = pda::escrow(&me, &mint.address).0;
    if accounts::escrow(ctx.ledger(), &escrow).await?.is_none() {
        return Err(Failure::user(format!(
            "you have no escrow for {}; create it with `micropay escrow init --mint {}`",
            mint.symbol, mint.address
        )));
    }
    let deposit_from = |source: &Pubkey| {
        mix::Deposit {
            depositor: me,
            escrow,
            mint: mint.address,
            source: *source,
            token_program: mint.token_program,
            amount,
        }
        .instruction()
    };
    let mut signers = Vec::new();
    let ixs = match (from, mint.is_sol()) {
        (Some(from), _) => vec![deposit_from(from)],
        (None, true) => {
            // SOL is wrapped into a temporary account, deposited, closed
            let (ixs, temp) = through_temp_wsol(&me, mint, |temp| {
                let mut ixs = micropay_sdk::tokens::WrapSol {
                    from: me,
                    account: *temp,
                    lamports: amount,
                }
                .instructions()?;
                ixs.push(deposit_from(temp));
                Ok(ixs)
            })?;
            signers.push(temp);
            ixs
        }
        (None, false) => {
            let (source, held) = ctx.token_account(&me, mint).await?.unwrap_or_default();
            if held < amount {
                return Err(Failure::user(format!(
                    "you hold {} of this mint; deposit at most that",
                    mint.ui(held)
                )));
            }
            vec![deposit_from(&source)]
        }
    };
    let sent = ctx.send(&ixs, &signers).await?;
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
    let (ixs, temp) = payout(ctx, mint, to, |dest| {
        mix::Withdraw {
            owner: me,
            mint: mint.address,
            destination: *dest,
            token_program: mint.token_program,
            amount,
        }
        .instruction()
    })
    .await?;
    let sent = ctx.send(&ixs, temp.as_slice()).await?;
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
