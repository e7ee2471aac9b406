//! Token plumbing shared by the instructions: the per-mint vault and the mint
//! extension policy.
//!
//! The vault is a token account at PDA `["vault", mint]` whose authority is its
//! own address, created by the first `init_escrow` of a mint. SPL Token and
//! Token-2022 are both served through `token_interface` with `transfer_checked`.

use crate::{constants::VAULT_SEED, create::create_pda_account, error::MicropayError};
use anchor_lang::{prelude::*, solana_program::program_pack::Pack};
use anchor_spl::token_interface::{
    self,
    spl_token_2022::{
        extension::{BaseStateWithExtensions, ExtensionType, StateWithExtensions},
        state::{Account as SplAccount, Mint as SplMint},
    },
    InitializeAccount3, Mint, TokenAccount, TokenInterface, TransferChecked,
};

/// Token-2022 mint extensions that leave amounts and transfers untouched, so
/// escrow accounting stays exact. Every other extension (transfer fee, transfer
/// hook, permanent delegate, default account state, non-transferable,
/// confidential transfers or mint/burn, pausable, and any future one) is refused.
pub const ALLOWED_MINT_EXTENSIONS: [ExtensionType; 8] = [
    ExtensionType::MintCloseAuthority,
    ExtensionType::InterestBearingConfig,
    ExtensionType::MetadataPointer,
    ExtensionType::TokenMetadata,
    ExtensionType::GroupPointer,
    ExtensionType::TokenGroup,
    ExtensionType::GroupMemberPointer,
    ExtensionType::TokenGroupMember,
];

/// Extension types of a mint account (empty for SPL Token mints).
fn mint_extensions(mint: &AccountInfo) -> Result<Vec<ExtensionType>> {
    if *mint.owner == anchor_spl::token::ID {
        return Ok(Vec::new());
    }
    let data = mint.try_borrow_data()?;
    let state = StateWithExtensions::<SplMint>::unpack(&data)?;
    Ok(state.get_extension_types()?)
}

/// Refuses mints whose extensions would break the accounting.
pub fn check_mint_extensions(mint: &AccountInfo) -> Result<()> {
    let unsupported = mint_extensions(mint)?
        .iter()
        .any(|ext| !ALLOWED_MINT_EXTENSIONS.contains(ext));
    require!(!unsupported, MicropayError::UnsupportedMintExtension);
    Ok(())
}

/// Creates and initializes the vault for `mint` at its PDA; works even when
/// someone sent lamports to the address beforehand.
pub fn create_vault<'info>(
    payer: &Signer<'info>,
    vault: &AccountInfo<'info>,
    mint: &InterfaceAccount<'info, Mint>,
    token_program: &Interface<'info, TokenInterface>,
    system: &Program<'info, System>,
    vault_bump: u8,
) -> Result<()> {
    let mint_key = mint.key();
    let space = if token_program.key() == anchor_spl::token::ID {
        SplAccount::LEN
    } else {
        let mint_types = mint_extensions(&mint.to_account_info())?;
        let account_types = ExtensionType::get_required_init_account_extensions(&mint_types);
        ExtensionType::try_calculate_account_len::<SplAccount>(&account_types)?
    };
    create_pda_account(
        payer,
        vault,
        space,
        &token_program.key(),
        &[VAULT_SEED, mint_key.as_ref(), &[vault_bump]],
        system,
    )?;
    token_interface::initialize_account3(CpiContext::new(
        token_program.key(),
        InitializeAccount3 {
            account: vault.clone(),
            mint: mint.to_account_info(),
            authority: vault.clone(),
        },
    ))
}

/// Checks that an existing account at the vault address is the mint's vault.
pub fn check_vault(vault: &AccountInfo, mint: &Pubkey, token_program: &Pubkey) -> Result<()> {
    require_keys_eq!(*vault.owner, *token_program, MicropayError::InvalidVault);
    let data = vault.try_borrow_data()?;
    let account = StateWithExtensions::<SplAccount>::unpack(&data)
        .map_err(|_| error!(MicropayError::InvalidVault))?;
    require_keys_eq!(account.base.mint, *mint, MicropayError::InvalidVault);
    require_keys_eq!(account.base.owner, vault.key(), MicropayError::InvalidVault);
    Ok(())
}

/// Moves `amount` out of the vault (which signs for itself) to `destination`.
pub fn transfer_from_vault<'info>(
    token_program: &Interface<'info, TokenInterface>,
    vault: &InterfaceAccount<'info, TokenAccount>,
    mint: &InterfaceAccount<'info, Mint>,
    destination: &InterfaceAccount<'info, TokenAccount>,
    vault_bump: u8,
    amount: u64,
) -> Result<()> {
    let mint_key = mint.key();
    let seeds: &[&[u8]] = &[VAULT_SEED, mint_key.as_ref(), &[vault_bump]];
    token_interface::transfer_checked(
        CpiContext::new_with_signer(
            token_program.key(),
            TransferChecked {
                from: vault.to_account_info(),
                mint: mint.to_account_info(),
                to: destination.to_account_info(),
                authority: vault.to_account_info(),
            },
            &[seeds],
        ),
        amount,
        mint.decimals,
    )
}
