//! Decoding of micropay accounts and token accounts from raw account data.

use crate::error::SdkError;
use anchor_lang::{prelude::Pubkey, AccountDeserialize};
use solana_account::Account;

/// Decodes a micropay account of type `T` (`Escrow`, `Channel`, `Earnings`);
/// `None` when the account is not owned by the program (closed, or never
/// created). `kind` names `T` in the error.
pub fn decode<T: AccountDeserialize>(
    address: &Pubkey,
    account: &Account,
    kind: &'static str,
) -> Result<Option<T>, SdkError> {
    if account.owner != micropay::ID {
        return Ok(None);
    }
    T::try_deserialize(&mut account.data.as_slice())
        .map(Some)
        .map_err(|_| SdkError::Decode {
            address: *address,
            kind,
        })
}

/// The token amount of an SPL Token or Token-2022 account's data.
pub fn token_amount(address: &Pubkey, data: &[u8]) -> Result<u64, SdkError> {
    use anchor_spl::token_interface::spl_token_2022::{
        extension::StateWithExtensions, state::Account as TokenAccount,
    };
    StateWithExtensions::<TokenAccount>::unpack(data)
        .map(|s| s.base.amount)
        .map_err(|_| SdkError::Decode {
            address: *address,
            kind: "token account",
        })
}

/// The decimals of an SPL Token or Token-2022 mint account; an error for
/// anything else (an account owned by another program too).
pub fn mint_decimals(address: &Pubkey, account: &Account) -> Result<u8, SdkError> {
    use anchor_spl::token_interface::spl_token_2022::{
        extension::StateWithExtensions, state::Mint,
    };
    let not_a_mint = || SdkError::Decode {
        address: *address,
        kind: "token mint",
    };
    if account.owner != anchor_spl::token::ID && account.owner != anchor_spl::token_2022::ID {
        return Err(not_a_mint());
    }
    StateWithExtensions::<Mint>::unpack(&account.data)
        .map(|s| s.base.decimals)
        .map_err(|_| not_a_mint())
}

#[cfg(test)]
mod tests {
    use super::*;
    use micropay::state::Escrow;

    #[test]
    fn foreign_accounts_are_absent_and_garbage_is_an_error() {
        let address = Pubkey::new_unique();
        let foreign = Account {
            owner: Pubkey::new_unique(),
            data: vec![1; 10],
            ..Account::default()
        };
        assert_eq!(
            decode::<Escrow>(&address, &foreign, "escrow").map(|e| e.is_some()),
            Ok(false)
        );
        let garbage = Account {
            owner: micropay::ID,
            ..foreign
        };
        assert_eq!(
            decode::<Escrow>(&address, &garbage, "escrow").map(|e| e.is_some()),
            Err(SdkError::Decode {
                address,
                kind: "escrow"
            })
        );
        assert!(token_amount(&address, &[0; 3]).is_err());
    }
}
