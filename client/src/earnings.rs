//! Creating earnings accounts, in as few transactions as fit: the planner
//! (before claims that credit a missing one) and split creation (each
//! recipient's and the split's own) both need it; and an owner's
//! withdrawal of what it earned.

use crate::{
    error::Result,
    ledger::{DynSigner, Ledger},
};
use anchor_lang::prelude::Pubkey;
use micropay_sdk::instructions as mix;

/// Most `init_earnings` instructions one transaction carries: each adds a
/// writable earnings account and its owner's key, and eight stay well inside
/// a legacy packet beside the fee payer and the program's accounts.
pub const PER_TRANSACTION: usize = 8;

/// What [`create`] did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Created {
    /// Earnings accounts created.
    pub accounts: usize,
    /// Lamports of transaction fees paid (rent not included).
    pub fees: u64,
}

/// Creates the earnings accounts of the `(owner, mint)` pairs, `fee_payer`
/// paying fees and rent, [`PER_TRANSACTION`] per transaction. Stops at the
/// first failure; what was created before stays.
pub async fn create(
    ledger: &dyn Ledger,
    fee_payer: &DynSigner,
    pairs: &[(Pubkey, Pubkey)],
) -> Result<Created> {
    let mut done = Created::default();
    for chunk in pairs.chunks(PER_TRANSACTION) {
        let ixs: Vec<_> = chunk
            .iter()
            .map(|(owner, mint)| {
                mix::InitEarnings {
                    payer: fee_payer.pubkey(),
                    owner: *owner,
                    mint: *mint,
                }
                .instruction()
            })
            .collect();
        let sent = ledger.send(&ixs, fee_payer, &[]).await?;
        done.fees = done.fees.saturating_add(sent.fee);
        done.accounts = done.accounts.saturating_add(chunk.len());
    }
    Ok(done)
}

/// Creates `owner`'s earnings account of `mint`, `payer` paying rent and
/// the fee (anyone may create anyone's).
pub async fn init(
    ledger: &dyn Ledger,
    payer: &DynSigner,
    owner: &Pubkey,
    mint: &Pubkey,
) -> Result<crate::ledger::Sent> {
    let ix = mix::InitEarnings {
        payer: payer.pubkey(),
        owner: *owner,
        mint: *mint,
    }
    .instruction();
    ledger.send(&[ix], payer, &[]).await
}

/// Withdraws `amount` base units of `owner`'s earnings of `mint` to
/// `destination`; `owner` signs and pays the fee. The program refuses more
/// than the balance.
pub async fn withdraw(
    ledger: &dyn Ledger,
    owner: &DynSigner,
    mint: &crate::tokens::MintRef,
    amount: u64,
    destination: crate::tokens::Destination,
) -> Result<crate::ledger::Sent> {
    let me = owner.pubkey();
    crate::tokens::pay_out(ledger, owner, mint, destination, |account| {
        mix::WithdrawEarnings {
            owner: me,
            mint: mint.address,
            destination: *account,
            token_program: mint.token_program,
            amount,
        }
        .instruction()
    })
    .await
}
