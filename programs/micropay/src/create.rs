//! Creating program-derived accounts so that nobody can block them.
//!
//! Anyone can send lamports to a PDA before it exists. A plain `create_account`
//! then fails, and Anchor 1.x's `init` falls back to the system instruction
//! `CreateAccountAllowPrefund`, which clusters on the agave 3.1 line reject
//! (`InvalidInstructionData`). Escrow and earnings addresses are predictable, so
//! that would let anyone block a payer or creator for good. Every micropay
//! account is therefore created here: `create_account` when the address is
//! empty, otherwise top-up, `allocate` and `assign`, each signed by the PDA.

use crate::error::MicropayError;
use anchor_lang::{prelude::*, system_program, AccountSerialize};

/// Creates `account` (a PDA of `seeds`) with `space` bytes owned by `owner`,
/// rent paid by `payer`.
pub fn create_pda_account<'info>(
    payer: &Signer<'info>,
    account: &AccountInfo<'info>,
    space: usize,
    owner: &Pubkey,
    seeds: &[&[u8]],
    system: &Program<'info, System>,
) -> Result<()> {
    require!(
        account.data_is_empty() && *account.owner == system_program::ID,
        MicropayError::AlreadyInitialized
    );
    let signer: &[&[&[u8]]] = &[seeds];
    let space_u64 = u64::try_from(space).map_err(|_| error!(MicropayError::MathOverflow))?;
    let rent = Rent::get()?.minimum_balance(space);
    let system_id = system.key();
    let current = account.lamports();
    if current == 0 {
        return system_program::create_account(
            CpiContext::new_with_signer(
                system_id,
                system_program::CreateAccount {
                    from: payer.to_account_info(),
                    to: account.clone(),
                },
                signer,
            ),
            rent,
            space_u64,
            owner,
        );
    }
    let shortfall = rent.saturating_sub(current);
    if shortfall > 0 {
        system_program::transfer(
            CpiContext::new(
                system_id,
                system_program::Transfer {
                    from: payer.to_account_info(),
                    to: account.clone(),
                },
            ),
            shortfall,
        )?;
    }
    system_program::allocate(
        CpiContext::new_with_signer(
            system_id,
            system_program::Allocate {
                account_to_allocate: account.clone(),
            },
            signer,
        ),
        space_u64,
    )?;
    system_program::assign(
        CpiContext::new_with_signer(
            system_id,
            system_program::Assign {
                account_to_assign: account.clone(),
            },
            signer,
        ),
        owner,
    )
}

/// Creates a micropay state account at a PDA and writes `state` into it
/// (discriminator included).
pub fn create_state_account<'info, T: AccountSerialize + Space>(
    payer: &Signer<'info>,
    account: &AccountInfo<'info>,
    seeds: &[&[u8]],
    system: &Program<'info, System>,
    state: &T,
) -> Result<()> {
    let space = 8usize
        .checked_add(T::INIT_SPACE)
        .ok_or_else(|| error!(MicropayError::MathOverflow))?;
    create_pda_account(payer, account, space, &crate::ID, seeds, system)?;
    let mut data = account.try_borrow_mut_data()?;
    let mut writer: &mut [u8] = &mut data;
    state.try_serialize(&mut writer)
}
