//! Token plumbing that sends transactions: creating mints and token accounts,
//! minting. The instructions themselves are [`micropay_sdk::tokens`]'s.

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
