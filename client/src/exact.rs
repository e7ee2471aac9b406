//! x402's `exact` payments on Solana, both sides. A client pays an offer
//! with [`pay`]: a transfer it signs, the server's fee payer left to sign.
//! A server that is its own facilitator checks the client's transfer
//! ([`micropay_sdk::x402::exact::verify`]), signs as fee payer, sends it
//! and waits for it ([`prepare`], [`send`]).
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
use micropay_sdk::{
    tokens::associated_token_address,
    x402::exact::{self, ExactRefusal, Terms, Transfer, COMPUTE_BUDGET, MEMO},
};
use solana_sdk::{
    instruction::Instruction,
    message::{v0, VersionedMessage},
    signature::Signature,
    transaction::VersionedTransaction,
};

/// Compute units a client's payment asks for: a Token-2022 `TransferChecked`
/// with a transfer hook-free mint and a memo use well under it.
pub const PAYMENT_COMPUTE_UNITS: u32 = 50_000;

/// The client's side: a transaction paying `terms` from `wallet`'s
/// associated token account of the asset, as x402 clients build it —
/// compute limit and price (no priority fee), `TransferChecked`, and a
/// Memo (the offer's memo, else a random nonce, so two equal payments are
/// two transactions); v0, signed by the wallet, the fee payer's signature
/// left empty. Encoded as the `exact` payload carries it. Refused when the
/// offer names the wallet itself as fee payer (it would sign for fees it
/// never agreed to) or when its mint does not exist.
pub async fn pay(ledger: &dyn Ledger, wallet: &DynSigner, terms: &Terms) -> Result<String> {
    let me = wallet.pubkey();
    if terms.fee_payer == me {
        return Err(ExactRefusal::FeePayerExposed.into());
    }
    let mint = ledger
        .account(&terms.asset)
        .await?
        .ok_or(ClientError::AccountNotFound(terms.asset))?;
    let decimals = micropay_sdk::accounts::mint_decimals(&terms.asset, &mint)?;
    let program = mint.owner;
    let transfer = Instruction {
        program_id: program,
        accounts: vec![
            solana_sdk::instruction::AccountMeta::new(
                associated_token_address(&me, &terms.asset, &program),
                false,
            ),
            solana_sdk::instruction::AccountMeta::new_readonly(terms.asset, false),
            solana_sdk::instruction::AccountMeta::new(
                associated_token_address(&terms.pay_to, &terms.asset, &program),
                false,
            ),
            solana_sdk::instruction::AccountMeta::new_readonly(me, true),
        ],
        data: transfer_checked_data(terms.amount, decimals),
    };
    let memo = match &terms.memo {
        Some(memo) => memo.clone().into_bytes(),
        None => hex_nonce(),
    };
    let ixs = [
        budget_ix(2, &PAYMENT_COMPUTE_UNITS.to_le_bytes()),
        budget_ix(3, &0u64.to_le_bytes()),
        transfer,
        Instruction::new_with_bytes(MEMO, &memo, vec![]),
    ];
    let blockhash = ledger.latest_blockhash().await?;
    let message =
        v0::Message::try_compile(&terms.fee_payer, &ixs, &[], blockhash).map_err(|e| {
            ClientError::V1Transaction {
                reason: format!("cannot compile the payment: {e}"),
            }
        })?;
    let message = VersionedMessage::V0(message);
    let signers = usize::from(message.header().num_required_signatures);
    let mut signatures = vec![Signature::default(); signers];
    let at = message
        .static_account_keys()
        .iter()
        .take(signers)
        .position(|k| *k == me)
        .ok_or(ExactRefusal::Signature)?;
    signatures[at] = wallet
        .try_sign_message(&message.serialize())
        .map_err(ClientError::Signing)?;
    Ok(exact::encode(&VersionedTransaction {
        signatures,
        message,
    }))
}

/// A Compute Budget instruction: `tag` then its little-endian argument.
fn budget_ix(tag: u8, argument: &[u8]) -> Instruction {
    let mut data = vec![tag];
    data.extend_from_slice(argument);
    Instruction::new_with_bytes(COMPUTE_BUDGET, &data, vec![])
}

/// SPL Token's (and Token-2022's) `TransferChecked` data.
fn transfer_checked_data(amount: u64, decimals: u8) -> Vec<u8> {
    let mut data = vec![12u8];
    data.extend_from_slice(&amount.to_le_bytes());
    data.push(decimals);
    data
}

/// 16 random bytes, hex: a memo that makes each payment its own transaction.
fn hex_nonce() -> Vec<u8> {
    let bytes: [u8; 16] = rand::random();
    bytes
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<String>()
        .into_bytes()
}

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
/// mint's) comes back typed. Sending one that was sent before is not an
/// error: it is confirmed like the first (so two gateways, or a retry,
/// never mark a landed payment refused). `Expired` when its blockhash ran out first:
/// it never lands, and the client must sign a new one.
pub async fn send(ledger: &dyn Ledger, prepared: &Prepared) -> Result<Sent> {
    // the client's blockhash is older than a fresh one: past this height
    // it can no longer land
    let bound = ledger.recent_blockhash().await?.last_valid_block_height;
    // sent before (a retry, another gateway), it is submitted again
    // harmlessly (`Ledger::submit_versioned`) and confirmed as the first
    ledger.submit_versioned(&prepared.transaction).await?;
    ledger
        .confirm(&prepared.transaction.signatures[0], bound)
        .await?
        .ok_or(ClientError::Expired { attempts: 1 })
}
