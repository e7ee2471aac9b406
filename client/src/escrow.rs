//! A payer's escrow, one per (owner, mint): created, funded and emptied by
//! its owner. Each step is one transaction the owner signs and pays for;
//! SOL is wrapped on the way in and unwrapped on the way out when asked
//! ([`Source::WrapSol`], [`Destination::UnwrapSol`]). Choosing the token
//! account (a wallet's best one) is the caller's: it needs an RPC index a
//! ledger does not promise.

use crate::{
    accounts,
    error::{ClientError, Result},
    ledger::{DynSigner, Ledger, Sent},
    tokens::{self, Destination, MintRef, Source},
};
use micropay_sdk::{instructions as mix, pda};

/// Creates `owner`'s escrow of `mint` (and the mint's vault if it is the
/// first escrow of it); `owner` pays rent and the fee.
pub async fn init(ledger: &dyn Ledger, owner: &DynSigner, mint: &MintRef) -> Result<Sent> {
    let ix = mix::InitEscrow {
        owner: owner.pubkey(),
        mint: mint.address,
        token_program: mint.token_program,
    }
    .instruction();
    ledger.send(&[ix], owner, &[]).await
}

/// Deposits `amount` base units of `mint` from `source` into `owner`'s
/// escrow. `AccountNotFound(escrow)` when the escrow does not exist (create
/// it with [`init`]); nothing is sent then.
pub async fn deposit(
    ledger: &dyn Ledger,
    owner: &DynSigner,
    mint: &MintRef,
    amount: u64,
    source: Source,
) -> Result<Sent> {
    let me = owner.pubkey();
    let escrow = pda::escrow(&me, &mint.address).0;
    if accounts::escrow(ledger, &escrow).await?.is_none() {
        return Err(ClientError::AccountNotFound(escrow));
    }
    let (ixs, temp) = tokens::from_source(
        &me,
        &mint.address,
        &mint.token_program,
        source,
        amount,
        |account| {
            mix::Deposit {
                depositor: me,
                escrow,
                mint: mint.address,
                source: *account,
                token_program: mint.token_program,
                amount,
            }
            .instruction()
        },
    )?;
    tokens::send_with(ledger, owner, &ixs, temp.as_ref()).await
}

/// Withdraws `amount` base units of `owner`'s free escrow balance of `mint`
/// to `destination`. The program refuses more than the free balance.
pub async fn withdraw(
    ledger: &dyn Ledger,
    owner: &DynSigner,
    mint: &MintRef,
    amount: u64,
    destination: Destination,
) -> Result<Sent> {
    let me = owner.pubkey();
    tokens::pay_out(ledger, owner, mint, destination, |account| {
        mix::Withdraw {
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
