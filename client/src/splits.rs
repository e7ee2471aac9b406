//! Splits: one payee address whose earnings are shared among owners by
//! fixed basis points. Creating one creates the earnings accounts it pays
//! into first (each recipient's and the split's own), so that the first
//! distribution cannot fail for a missing one; distributing is
//! permissionless (the watcher runs it when worth its fee).

use crate::{
    earnings,
    error::{ClientError, Result},
    ledger::{DynSigner, Ledger, Sent},
};
use anchor_lang::prelude::Pubkey;
use micropay::state::{Split, SplitRecipient};
use micropay_sdk::{instructions as mix, pda};

/// What [`create`] did.
#[derive(Clone, Debug)]
pub struct CreatedSplit {
    /// The split's address.
    pub split: Pubkey,
    /// Earnings accounts created before it (and their fees).
    pub earnings: earnings::Created,
    /// The creating transaction.
    pub sent: Sent,
}

/// The address of the split of `mint` with `recipients` (in any order:
/// the program sorts them by owner).
pub fn address(mint: &Pubkey, recipients: &[SplitRecipient]) -> Result<Pubkey> {
    mix::CreateSplit {
        payer: Pubkey::default(),
        mint: *mint,
        recipients: recipients.to_vec(),
    }
    .split()
    .ok_or(ClientError::UnencodableSplit {
        recipients: recipients.len(),
    })
}

/// Creates the split of `mint` paying `recipients`, `payer` paying rent and
/// fees: first the missing earnings accounts (the recipients', then the
/// split's own), then the split. The program refuses a split that exists
/// (the same owners and shares name the same split) and shares that do not
/// sum to 10,000.
pub async fn create(
    ledger: &dyn Ledger,
    payer: &DynSigner,
    mint: &Pubkey,
    recipients: Vec<SplitRecipient>,
) -> Result<CreatedSplit> {
    let count = recipients.len();
    let builder = mix::CreateSplit {
        payer: payer.pubkey(),
        mint: *mint,
        recipients,
    };
    let (ix, split) = builder
        .instruction()
        .ok_or(ClientError::UnencodableSplit { recipients: count })?;
    let mut owners: Vec<Pubkey> = builder.sorted().iter().map(|r| r.owner).collect();
    owners.push(split);
    let addresses: Vec<Pubkey> = owners.iter().map(|o| pda::earnings(o, mint).0).collect();
    let found = ledger.accounts(&addresses).await?;
    let missing: Vec<(Pubkey, Pubkey)> = owners
        .iter()
        .zip(found)
        .filter(|(_, account)| account.is_none())
        .map(|(owner, _)| (*owner, *mint))
        .collect();
    let earnings = earnings::create(ledger, payer, &missing).await?;
    let sent = ledger.send(&[ix], payer, &[]).await?;
    Ok(CreatedSplit {
        split,
        earnings,
        sent,
    })
}

/// Distributes what the split at `address` holds of `mint` (its own mint,
/// or another it was paid in) to its recipients' earnings accounts;
/// `fee_payer` pays the fee.
pub async fn distribute(
    ledger: &dyn Ledger,
    fee_payer: &DynSigner,
    address: &Pubkey,
    split: &Split,
    mint: &Pubkey,
) -> Result<Sent> {
    let ix = mix::Distribute {
        split: *address,
        mint: *mint,
        owners: split.recipients.iter().map(|r| r.owner).collect(),
    }
    .instruction();
    ledger.send(&[ix], fee_payer, &[]).await
}
