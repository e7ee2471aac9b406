//! x402's `exact` payments on Solana, settled by a server that is its own
//! facilitator: the client signed a transfer to the server's payee; the
//! server checks it ([`micropay_sdk::x402::exact::verify`]), signs as fee
//! payer, sends it and waits for it.
//!
//! Two steps, because "exactly once" is the caller's to keep: a
//! transaction lands at most once, but a cluster answers the resend of one
//! that landed as if it were new (the spec's "duplicate settlement"). The
//! transaction's id — the fee payer's signature, deterministic — is known
//! after [`prepare`], before anything is sent: record it durably there,
//! refuse a payment whose id is recorded, then [`send`].
//!
//! The fee payer's risk: a transaction is simulated before it is sent (a
//! cluster's preflight; the embedded bank does the same), so one that
//! would fail costs nothing; one that fails after it (the client moved its
//! tokens in between) costs the fee payer one fee — the risk the spec
//! leaves with the facilitator, bounded by the compute price cap.

use crate::{
    error::{ClientError, Result},
    ledger::{DynSigner, Ledger, Sent},
};
use micropay_sdk::x402::exact::{self, ExactRefusal, Terms, Transfer};
use solana_sdk::transaction::VersionedTransaction;

/// A checked transaction, signed by the fee payer too: ready to send.
#[derive(Clone, Debug)]
pub struct Prepared {
    /// The transaction, every signature in place.
    pub transaction: VersionedTransaction,
    /// What it pays, and from whom.
    pub transfer: Transfer,
}

impl Prepared {
    /// The transaction's id (its first signature, the fee payer's), base58.
    pub fn id(&self) -> String {
        self.transaction.signatures[0].to_string()
    }
}

/// Decodes `transaction` (an `exact` payload's), checks it against
/// `terms`, and signs it as `fee_payer`, who must be the terms' fee payer.
/// Nothing is sent.
pub fn prepare(transaction: &str, terms: &Terms, fee_payer: &DynSigner) -> Result<Prepared> {
    if fee_payer.pubkey() != terms.fee_payer {
        return Err(ExactRefusal::FeePayer.into());
    }
    let mut transaction = exact::decode(transaction)?;
    let transfer = exact::verify(&transaction, terms)?;
    let message = transaction.message.serialize();
    let signature = fee_payer
        .try_sign_message(&message)
        .map_err(ClientError::Signing)?;
    transaction.signatures[0] = signature;
    Ok(Prepared {
        transaction,
        transfer,
    })
}

/// Sends a prepared transaction and waits until it is confirmed; a
/// program error (the source lacks the tokens, the decimals are not the
/// mint's) comes back typed. `Expired` when its blockhash ran out first:
/// it never lands, and the client must sign a new one.
pub async fn send(ledger: &dyn Ledger, prepared: &Prepared) -> Result<Sent> {
    // the client's blockhash is older than a fresh one: past this height
    // it can no longer land
    let bound = ledger.recent_blockhash().await?.last_valid_block_height;
    ledger.submit_versioned(&prepared.transaction).await?;
    ledger
        .confirm(&prepared.transaction.signatures[0], bound)
        .await?
        .ok_or(ClientError::Expired { attempts: 1 })
}
