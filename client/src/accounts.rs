//! Typed reads of micropay accounts through any [`Ledger`], decoded with
//! [`micropay_sdk::accounts`].

use crate::{error::Result, ledger::Ledger};
use anchor_lang::{prelude::Pubkey, AccountDeserialize};
use micropay::state::{Channel, Earnings, Escrow, Split};
use micropay_sdk::{accounts::decode, pda};

async fn fetch<T: AccountDeserialize>(
    ledger: &dyn Ledger,
    address: &Pubkey,
    kind: &'static str,
) -> Result<Option<T>> {
    match ledger.account(address).await? {
        Some(account) => Ok(decode(address, &account, kind)?),
        None => Ok(None),
    }
}

/// The escrow at `address`; `None` when it does not exist.
pub async fn escrow(ledger: &dyn Ledger, address: &Pubkey) -> Result<Option<Escrow>> {
    fetch(ledger, address, "escrow").await
}

/// The channel at `address`; `None` when it does not exist (or was closed).
pub async fn channel(ledger: &dyn Ledger, address: &Pubkey) -> Result<Option<Channel>> {
    fetch(ledger, address, "channel").await
}

/// The earnings account at `address`; `None` when it does not exist.
pub async fn earnings(ledger: &dyn Ledger, address: &Pubkey) -> Result<Option<Earnings>> {
    fetch(ledger, address, "earnings").await
}

/// The royalty split at `address`; `None` when it does not exist.
pub async fn split(ledger: &dyn Ledger, address: &Pubkey) -> Result<Option<Split>> {
    fetch(ledger, address, "split").await
}

/// Many accounts of one kind in one read; `None` for missing ones.
async fn fetch_many<T: AccountDeserialize>(
    ledger: &dyn Ledger,
    addresses: &[Pubkey],
    kind: &'static str,
) -> Result<Vec<Option<T>>> {
    let accounts = ledger.accounts(addresses).await?;
    addresses
        .iter()
        .zip(accounts)
        .map(|(address, account)| match account {
            Some(a) => Ok(decode(address, &a, kind)?),
            None => Ok(None),
        })
        .collect()
}

/// Many channels in one read; `None` for closed ones.
pub async fn channels(ledger: &dyn Ledger, addresses: &[Pubkey]) -> Result<Vec<Option<Channel>>> {
    fetch_many(ledger, addresses, "channel").await
}

/// Many escrows in one read; `None` for missing ones.
pub async fn escrows(ledger: &dyn Ledger, addresses: &[Pubkey]) -> Result<Vec<Option<Escrow>>> {
    fetch_many(ledger, addresses, "escrow").await
}

/// Token amount held by the mint's vault.
pub async fn vault_amount(ledger: &dyn Ledger, mint: &Pubkey) -> Result<u64> {
    token_amount(ledger, &pda::vault(mint).0).await
}

/// Token amount of any SPL Token / Token-2022 account (0 when it does not exist).
pub async fn token_amount(ledger: &dyn Ledger, address: &Pubkey) -> Result<u64> {
    match ledger.account(address).await? {
        None => Ok(0),
        Some(a) => Ok(micropay_sdk::accounts::token_amount(address, &a.data)?),
    }
}
