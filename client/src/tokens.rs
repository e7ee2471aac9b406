//! Token plumbing for payers and creators: mints, token accounts, minting and
//! wrapping SOL. Token accounts here are plain keypair accounts (any token
//! account of the mint works with micropay).

use crate::{error::Result, ledger::Ledger};
use anchor_lang::prelude::Pubkey;
use anchor_spl::{
    token::spl_token,
    token_interface::spl_token_2022::{
        self,
        state::{Account as TokenAccount, Mint},
    },
};
use solana_sdk::{
    instruction::Instruction,
    program_pack::Pack,
    rent::Rent,
    signature::{Keypair, Signer},
};

fn create_account_ix(
    payer: &Pubkey,
    account: &Pubkey,
    space: usize,
    owner: &Pubkey,
) -> Instruction {
    solana_system_interface::instruction::create_account(
        payer,
        account,
        Rent::default().minimum_balance(space),
        space as u64,
        owner,
    )
}

/// Creates a mint (no extension) with `authority` as mint authority.
pub async fn create_mint(
    ledger: &dyn Ledger,
    payer: &Keypair,
    authority: &Pubkey,
    token_program: &Pubkey,
    decimals: u8,
) -> Result<Pubkey> {
    let mint = Keypair::new();
    let ixs = [
        create_account_ix(&payer.pubkey(), &mint.pubkey(), Mint::LEN, token_program),
        spl_token_2022::instruction::initialize_mint2(
            token_program,
            &mint.pubkey(),
            authority,
            None,
            decimals,
        )
        .map_err(|e| crate::ClientError::Invalid(e.to_string()))?,
    ];
    ledger.send(&ixs, payer, &[&mint]).await?;
    Ok(mint.pubkey())
}

/// Instructions creating token account `account` of `mint` for `owner`.
pub fn create_token_account_ixs(
    payer: &Pubkey,
    account: &Pubkey,
    mint: &Pubkey,
    owner: &Pubkey,
    token_program: &Pubkey,
) -> Result<Vec<Instruction>> {
    Ok(vec![
        create_account_ix(payer, account, TokenAccount::LEN, token_program),
        spl_token_2022::instruction::initialize_account3(token_program, account, mint, owner)
            .map_err(|e| crate::ClientError::Invalid(e.to_string()))?,
    ])
}

/// Creates a token account of `mint` owned by `owner`; returns its address.
pub async fn create_token_account(
    ledger: &dyn Ledger,
    payer: &Keypair,
    mint: &Pubkey,
    owner: &Pubkey,
    token_program: &Pubkey,
) -> Result<Pubkey> {
    let account = Keypair::new();
    let ixs = create_token_account_ixs(
        &payer.pubkey(),
        &account.pubkey(),
        mint,
        owner,
        token_program,
    )?;
    ledger.send(&ixs, payer, &[&account]).await?;
    Ok(account.pubkey())
}

/// Mints `amount` to `account`; `authority` signs.
pub async fn mint_to(
    ledger: &dyn Ledger,
    payer: &Keypair,
    authority: &Keypair,
    mint: &Pubkey,
    account: &Pubkey,
    token_program: &Pubkey,
    amount: u64,
) -> Result<()> {
    let ix = spl_token_2022::instruction::mint_to(
        token_program,
        mint,
        account,
        &authority.pubkey(),
        &[],
        amount,
    )
    .map_err(|e| crate::ClientError::Invalid(e.to_string()))?;
    ledger.send(&[ix], payer, &[authority]).await?;
    Ok(())
}

/// Instructions wrapping `lamports` from `from` into the wSOL account `account`.
pub fn wrap_sol_ixs(from: &Pubkey, account: &Pubkey, lamports: u64) -> Result<Vec<Instruction>> {
    Ok(vec![
        solana_system_interface::instruction::transfer(from, account, lamports),
        spl_token::instruction::sync_native(&spl_token::ID, account)
            .map_err(|e| crate::ClientError::Invalid(e.to_string()))?,
    ])
}

/// The instruction that closes a wSOL account, unwrapping all of it to `to`.
pub fn unwrap_sol_ix(account: &Pubkey, owner: &Pubkey, to: &Pubkey) -> Result<Instruction> {
    spl_token::instruction::close_account(&spl_token::ID, account, to, owner, &[])
        .map_err(|e| crate::ClientError::Invalid(e.to_string()))
}
