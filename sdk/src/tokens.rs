//! The SPL Token and Token-2022 instructions micropay users need: mints and
//! token accounts (plain keypair accounts: any token account of the mint works
//! with micropay; associated token accounts where only the wallet signs, as
//! in a Solana Action), and wrapping SOL.

use crate::error::SdkError;
use anchor_lang::prelude::{ProgramError, Pubkey};
use anchor_lang::solana_program::{instruction::Instruction, program_pack::Pack, rent::Rent};
use anchor_spl::{
    token::spl_token,
    token_interface::spl_token_2022::{
        self,
        state::{Account as TokenAccount, Mint},
    },
};

fn token_error(program: &Pubkey) -> impl FnOnce(ProgramError) -> SdkError + '_ {
    move |error| SdkError::TokenInstruction {
        program: *program,
        error,
    }
}

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

/// Creates mint `mint` (no extension) with `authority` as mint authority;
/// `payer` and `mint` sign.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CreateMint {
    /// Pays rent.
    pub payer: Pubkey,
    /// The new mint's address (a fresh keypair's).
    pub mint: Pubkey,
    /// The mint authority.
    pub authority: Pubkey,
    /// SPL Token or Token-2022.
    pub token_program: Pubkey,
    /// Decimals of the UI amount.
    pub decimals: u8,
}

impl CreateMint {
    /// The instructions (create the account, initialize the mint).
    pub fn instructions(&self) -> Result<Vec<Instruction>, SdkError> {
        Ok(vec![
            create_account_ix(&self.payer, &self.mint, Mint::LEN, &self.token_program),
            spl_token_2022::instruction::initialize_mint2(
                &self.token_program,
                &self.mint,
                &self.authority,
                None,
                self.decimals,
            )
            .map_err(token_error(&self.token_program))?,
        ])
    }
}

/// Creates token account `account` of `mint` for `owner`; `payer` and
/// `account` sign.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CreateTokenAccount {
    /// Pays rent.
    pub payer: Pubkey,
    /// The new account's address (a fresh keypair's).
    pub account: Pubkey,
    /// The account's mint.
    pub mint: Pubkey,
    /// The account's owner.
    pub owner: Pubkey,
    /// The mint's token program.
    pub token_program: Pubkey,
}

impl CreateTokenAccount {
    /// The instructions (create the account, initialize it).
    pub fn instructions(&self) -> Result<Vec<Instruction>, SdkError> {
        Ok(vec![
            create_account_ix(
                &self.payer,
                &self.account,
                TokenAccount::LEN,
                &self.token_program,
            ),
            spl_token_2022::instruction::initialize_account3(
                &self.token_program,
                &self.account,
                &self.mint,
                &self.owner,
            )
            .map_err(token_error(&self.token_program))?,
        ])
    }
}

/// Mints `amount` of `mint` to `account`; `authority` signs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MintTo {
    /// The mint.
    pub mint: Pubkey,
    /// The token account credited.
    pub account: Pubkey,
    /// The mint authority.
    pub authority: Pubkey,
    /// The mint's token program.
    pub token_program: Pubkey,
    /// Base units.
    pub amount: u64,
}

impl MintTo {
    /// The instruction.
    pub fn instruction(&self) -> Result<Instruction, SdkError> {
        spl_token_2022::instruction::mint_to(
            &self.token_program,
            &self.mint,
            &self.account,
            &self.authority,
            &[],
            self.amount,
        )
        .map_err(token_error(&self.token_program))
    }
}

/// Wraps `lamports` from `from` (signs) into the wSOL account `account`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WrapSol {
    /// The wallet paying the lamports; signs.
    pub from: Pubkey,
    /// A wSOL token account.
    pub account: Pubkey,
    /// Lamports wrapped.
    pub lamports: u64,
}

impl WrapSol {
    /// The instructions (transfer, sync native).
    pub fn instructions(&self) -> Result<Vec<Instruction>, SdkError> {
        Ok(vec![
            solana_system_interface::instruction::transfer(
                &self.from,
                &self.account,
                self.lamports,
            ),
            spl_token::instruction::sync_native(&spl_token::ID, &self.account)
                .map_err(token_error(&spl_token::ID))?,
        ])
    }
}

/// The Associated Token Account program.
pub const ASSOCIATED_TOKEN_PROGRAM: Pubkey =
    anchor_lang::pubkey!("ATokenGPvbdGVxr1b2hvZbsiqW5xWH25efTNsLJA8knL");

/// `owner`'s associated token account of `mint` under `token_program`.
pub fn associated_token_address(owner: &Pubkey, mint: &Pubkey, token_program: &Pubkey) -> Pubkey {
    Pubkey::find_program_address(
        &[owner.as_ref(), token_program.as_ref(), mint.as_ref()],
        &ASSOCIATED_TOKEN_PROGRAM,
    )
    .0
}

/// `owner`'s associated token account of `mint`, created if missing
/// (`CreateIdempotent`): only the payer signs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CreateAssociatedTokenAccount {
    /// Pays rent; signs.
    pub payer: Pubkey,
    /// The account's owner.
    pub owner: Pubkey,
    /// The account's mint.
    pub mint: Pubkey,
    /// The mint's token program.
    pub token_program: Pubkey,
}

impl CreateAssociatedTokenAccount {
    /// The account's address.
    pub fn address(&self) -> Pubkey {
        associated_token_address(&self.owner, &self.mint, &self.token_program)
    }

    /// The instruction.
    pub fn instruction(&self) -> Instruction {
        use anchor_lang::solana_program::instruction::AccountMeta;
        Instruction {
            program_id: ASSOCIATED_TOKEN_PROGRAM,
            accounts: vec![
                AccountMeta::new(self.payer, true),
                AccountMeta::new(self.address(), false),
                AccountMeta::new_readonly(self.owner, false),
                AccountMeta::new_readonly(self.mint, false),
                AccountMeta::new_readonly(solana_system_interface::program::ID, false),
                AccountMeta::new_readonly(self.token_program, false),
            ],
            // 1 = CreateIdempotent
            data: vec![1],
        }
    }
}

/// Closes the wSOL account `account`, unwrapping all of it to `to`; `owner`
/// signs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UnwrapSol {
    /// The wSOL token account closed.
    pub account: Pubkey,
    /// Its owner; signs.
    pub owner: Pubkey,
    /// Receives the lamports.
    pub to: Pubkey,
}

impl UnwrapSol {
    /// The instruction.
    pub fn instruction(&self) -> Result<Instruction, SdkError> {
        spl_token::instruction::close_account(
            &spl_token::ID,
            &self.account,
            &self.to,
            &self.owner,
            &[],
        )
        .map_err(token_error(&spl_token::ID))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unknown_token_program_is_a_typed_error() {
        let program = Pubkey::new_unique();
        let ix = MintTo {
            mint: Pubkey::new_unique(),
            account: Pubkey::new_unique(),
            authority: Pubkey::new_unique(),
            token_program: program,
            amount: 1,
        }
        .instruction();
        assert!(matches!(ix, Err(SdkError::TokenInstruction { program: p, .. }) if p == program));
    }
}
