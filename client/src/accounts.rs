//! Decoding of micropay accounts from raw account data, and typed reads
//! through any [`Ledger`].

use crate::{
    error::{ClientError, Result},
    ledger::Ledger,
    pda,
};
use anchor_lang::{prelude::Pubkey, AccountDeserialize};
use micropay::state::{Channel, Earnings, Escrow};
use solana_sdk::account::Account;

/// Decodes a micropay account of type `T`; `None` when the account is not
/// owned by the program (closed, or never created).
pub fn decode<T: AccountDeserialize>(
    address: &Pubkey,
    account: &Account,
    kind: &'static str,
) -> Result<Option<T>> {
    if account.owner != micropay::ID {
        return Ok(None);
    }
    T::try_deserialize(&mut account.data.as_slice())
        .map(Some)
        .map_err(|_| ClientError::Decode {
            address: *address,
            kind,
        })
}

async fn fetch<T: AccountDeserialize>(
    ledger: &dyn Ledger,
    address: &Pubkey,
    kind: &'static str,
) -> Result<Option<T>> {
    match ledger.account(address).await? {
        Some(account) => decode(address, &account, kind),
        None => Ok(None),
    }
}

pub async fn escrow(ledger: &dyn Ledger, address: &Pubkey) -> Result<Option<Escrow>> {
    fetch(ledger, address, "escrow").await
}

pub async fn channel(ledger: &dyn Ledger, address: &Pubkey) -> Result<Option<Channel>> {
    fetch(ledger, address, "channel").await
}

pub async fn earnings(ledger: &dyn Ledger, address: &Pubkey) -> Result<Option<Earnings>> {
    fetch(ledger, address, "earnings").await
}

/// Many channels in one read; `None` for closed ones.
pub async fn channels(ledger: &dyn Ledger, addresses: &[Pubkey]) -> Result<Vec<Option<Channel>>> {
    let accounts = ledger.accounts(addresses).await?;
    addresses
        .iter()
        .zip(accounts)
        .map(|(address, account)| match account {
            Some(a) => decode(address, &a, "channel"),
            None => Ok(None),
        })
        .collect()
}

/// Token amount held by the mint's vault.
pub async fn vault_amount(ledger: &dyn Ledger, mint: &Pubkey) -> Result<u64> {
    token_amount(ledger, &pda::vault(mint).0).await
}

/// Token amount of any SPL Token / Token-2022 account (0 when it does not exist).
pub async fn token_amount(ledger: &dyn Ledger, address: &Pubkey) -> Result<u64> {
    use anchor_spl::token_interface::spl_token_2022::{
        extension::StateWithExtensions, state::Account as TokenAccount,
    };
    match ledger.account(address).await? {
        None => Ok(0),
        Some(a) => StateWithExtensions::<TokenAccount>::unpack(&a.data)
            .map(|s| s.base.amount)
            .map_err(|_| ClientError::Decode {
                address: *address,
                kind: "token account",
            }),
    }
}
