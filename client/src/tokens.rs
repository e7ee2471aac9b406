//! Token plumbing that sends transactions: creating mints and token accounts,
//! minting, and the token side of deposits and payouts (wrapping and
//! unwrapping SOL on the way). The instructions themselves are
//! [`micropay_sdk::tokens`]'s.

use crate::{
    error::Result,
    ledger::{DynSigner, Ledger},
};
use anchor_lang::prelude::Pubkey;
use micropay_sdk::tokens as sdk;
use solana_sdk::signature::{Keypair, Signer};

/// Creates a mint (no extension) with `authority` as mint authority.
pub async fn create_mint(
    ledger: &dyn Ledger,
    payer: &DynSigner,
    authority: &Pubkey,
    token_program: &Pubkey,
    decimals: u8,
) -> Result<Pubkey> {
    let mint = Keypair::new();
    let ixs = sdk::CreateMint {
        payer: payer.pubkey(),
        mint: mint.pubkey(),
        authority: *authority,
        token_program: *token_program,
        decimals,
    }
    .instructions()?;
    ledger.send(&ixs, payer, &[&mint]).await?;
    Ok(mint.pubkey())
}

/// Creates a token account of `mint` owned by `owner`; returns its address.
pub async fn create_token_account(
    ledger: &dyn Ledger,
    payer: &DynSigner,
    mint: &Pubkey,
    owner: &Pubkey,
    token_program: &Pubkey,
) -> Result<Pubkey> {
    let account = Keypair::new();
    let ixs = sdk::CreateTokenAccount {
        payer: payer.pubkey(),
        account: account.pubkey(),
        mint: *mint,
        owner: *owner,
        token_program: *token_program,
    }
    .instructions()?;
    ledger.send(&ixs, payer, &[&account]).await?;
    Ok(account.pubkey())
}

/// Mints `amount` to `account`; `authority` signs.
pub async fn mint_to(
    ledger: &dyn Ledger,
    payer: &DynSigner,
    authority: &DynSigner,
    mint: &Pubkey,
    account: &Pubkey,
    token_program: &Pubkey,
    amount: u64,
) -> Result<()> {
    let ix = sdk::MintTo {
        mint: *mint,
        account: *account,
        authority: authority.pubkey(),
        token_program: *token_program,
        amount,
    }
    .instruction()?;
    ledger.send(&[ix], payer, &[authority]).await?;
    Ok(())
}

/// A mint as the escrow and earnings instructions need it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MintRef {
    /// The mint.
    pub address: Pubkey,
    /// Its token program (SPL Token or Token-2022).
    pub token_program: Pubkey,
}

/// Where a deposit's tokens come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// A token account of the mint, owned by the signer.
    Account(Pubkey),
    /// The signer's lamports, wrapped in a temporary wSOL account created
    /// and closed in the same transaction (wrapped SOL only).
    WrapSol,
}

/// Where a payout (escrow or earnings withdrawal) goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Destination {
    /// A token account of the mint.
    Account(Pubkey),
    /// The signer's wallet, as SOL: through a temporary wSOL account closed
    /// in the same transaction (wrapped SOL only).
    UnwrapSol,
}

/// Instructions that move tokens from `source` with `build(account)`,
/// wrapping `amount` lamports of `signer`'s first when the source is
/// [`Source::WrapSol`]; with the temporary account's keypair to sign.
pub fn from_source(
    signer: &Pubkey,
    mint: &Pubkey,
    token_program: &Pubkey,
    source: Source,
    amount: u64,
    build: impl FnOnce(&Pubkey) -> solana_sdk::instruction::Instruction,
) -> Result<(Vec<solana_sdk::instruction::Instruction>, Option<Keypair>)> {
    match source {
        Source::Account(account) => Ok((vec![build(&account)], None)),
        Source::WrapSol => {
            let (ixs, temp) = through_temp_wsol(signer, mint, token_program, |temp| {
                let mut ixs = sdk::WrapSol {
                    from: *signer,
                    account: *temp,
                    lamports: amount,
                }
                .instructions()?;
                ixs.push(build(temp));
                Ok(ixs)
            })?;
            Ok((ixs, Some(temp)))
        }
    }
}

/// Instructions that pay `build(account)` out to `destination`, with the
/// temporary account's keypair to sign for [`Destination::UnwrapSol`].
pub fn to_destination(
    signer: &Pubkey,
    mint: &Pubkey,
    token_program: &Pubkey,
    destination: Destination,
    build: impl FnOnce(&Pubkey) -> solana_sdk::instruction::Instruction,
) -> Result<(Vec<solana_sdk::instruction::Instruction>, Option<Keypair>)> {
    match destination {
        Destination::Account(account) => Ok((vec![build(&account)], None)),
        Destination::UnwrapSol => {
            let (ixs, temp) =
                through_temp_wsol(signer, mint, token_program, |temp| Ok(vec![build(temp)]))?;
            Ok((ixs, Some(temp)))
        }
    }
}

/// Sends `build(account)` paying out to `destination`, `signer` signing
/// and paying the fee (with the temporary account's key for
/// [`Destination::UnwrapSol`]): escrow and earnings withdrawals share it.
pub async fn pay_out(
    ledger: &dyn Ledger,
    signer: &DynSigner,
    mint: &MintRef,
    destination: Destination,
    build: impl FnOnce(&Pubkey) -> solana_sdk::instruction::Instruction,
) -> Result<crate::ledger::Sent> {
    let (ixs, temp) = to_destination(
        &signer.pubkey(),
        &mint.address,
        &mint.token_program,
        destination,
        build,
    )?;
    send_with(ledger, signer, &ixs, temp.as_ref()).await
}

/// Sends `ixs`, `signer` paying the fee, with `temp` (a temporary account's
/// keypair) signing too when there is one.
pub async fn send_with(
    ledger: &dyn Ledger,
    signer: &DynSigner,
    ixs: &[solana_sdk::instruction::Instruction],
    temp: Option<&Keypair>,
) -> Result<crate::ledger::Sent> {
    let extra: Vec<&DynSigner> = temp.iter().map(|k| *k as &DynSigner).collect();
    ledger.send(ixs, signer, &extra).await
}

/// Wraps `middle(temp)` in a temporary wSOL account of `signer`: created
/// first, closed last (unwrapping whatever it holds back to `signer`).
fn through_temp_wsol(
    signer: &Pubkey,
    mint: &Pubkey,
    token_program: &Pubkey,
    middle: impl FnOnce(&Pubkey) -> Result<Vec<solana_sdk::instruction::Instruction>>,
) -> Result<(Vec<solana_sdk::instruction::Instruction>, Keypair)> {
    if *mint != anchor_spl::token::spl_token::native_mint::ID {
        return Err(crate::ClientError::NotWrappedSol { mint: *mint });
    }
    let temp = Keypair::new();
    let mut ixs = sdk::CreateTokenAccount {
        payer: *signer,
        account: temp.pubkey(),
        mint: *mint,
        owner: *signer,
        token_program: *token_program,
    }
    .instructions()?;
    ixs.extend(middle(&temp.pubkey())?);
    ixs.push(
        sdk::UnwrapSol {
            account: temp.pubkey(),
            owner: *signer,
            to: *signer,
        }
        .instruction()?,
    );
    Ok((ixs, temp))
}
