//! x402's standard `exact` scheme on Solana, as a server that is its own
//! facilitator must check it before it signs as fee payer: the client sends
//! a transaction it signed, paying `amount` of `asset` to `payTo`'s
//! associated token account with one `TransferChecked`; the server adds the
//! fee payer's signature and sends it. Signing a transaction it did not
//! build makes the server the target: every rule of the specification's
//! "Facilitator Verification Rules (MUST)" is checked here, stricter where
//! it costs a client nothing (no address lookup tables: every account the
//! server signs for is in the message it reads).
//!
//! The rules, in order ([`verify`]):
//!
//! 1. Layout: 3 to 6 instructions — `SetComputeUnitLimit`,
//!    `SetComputeUnitPrice`, one `TransferChecked` of SPL Token or
//!    Token-2022, then at most three Lighthouse or Memo instructions (wallets
//!    add Lighthouse guards; clients add a Memo nonce).
//! 2. The fee payer is the message's first account and appears in no
//!    instruction: it is neither the transfer's authority nor its source.
//! 3. The compute unit price is at most [`MAX_COMPUTE_UNIT_PRICE`], and
//!    the priority fee it makes at the unit limit at most
//!    [`MAX_PRIORITY_FEE`] (stricter than the spec: see there).
//! 4. The transfer moves exactly `amount` of `asset` to the associated token
//!    account of (`payTo`, `asset`) under the instruction's token program.
//! 5. With `extra.memo`, exactly one Memo instruction, carrying it.
//! 6. Every signature but the fee payer's is present and verifies.
//!
//! What only the cluster knows (the source holds the tokens, the decimals
//! are the mint's, the blockhash is recent) is checked when the
//! transaction is simulated and sent. Everything here is pure.

use super::{parse_address, parse_amount, WireError};
use crate::tokens::associated_token_address;
use anchor_lang::prelude::Pubkey;
use base64::{engine::general_purpose::STANDARD, Engine};
use ed25519_dalek::{Signature, VerifyingKey};
use serde::{Deserialize, Serialize};
use solana_transaction::versioned::VersionedTransaction;

/// The scheme's name in `accepts`.
pub const SCHEME: &str = "exact";

/// Highest compute unit price accepted, micro-lamports per compute unit
/// (the reference implementation's 5 lamports per unit).
pub const MAX_COMPUTE_UNIT_PRICE: u64 = 5_000_000;

/// Highest priority fee accepted (compute unit limit × price), lamports.
/// The price cap alone lets a client make the fee payer pay up to 7,000,000
/// lamports a request (1.4 million units at 5 lamports): this one, stricter
/// as the spec allows, keeps a hostile client's cost to the server within
/// 0.0001 SOL above the base fee, and still lets a client bid 1 lamport a
/// unit for the 100,000 units a transfer never needs.
pub const MAX_PRIORITY_FEE: u64 = 100_000;

/// The Compute Budget program.
pub const COMPUTE_BUDGET: Pubkey =
    anchor_lang::pubkey!("ComputeBudget111111111111111111111111111111");
/// The SPL Memo program.
pub const MEMO: Pubkey = anchor_lang::pubkey!("MemoSq4gqABAXKb96qnH8TysNcWxMyWCqXgDLGmfcHr");
/// Lighthouse, the guard program wallets add.
pub const LIGHTHOUSE: Pubkey = anchor_lang::pubkey!("L2TExMFKdjpN9kozasaurPirfHy9P8sbXoAN1qA3S95");

/// SPL Token's `TransferChecked` tag.
const TRANSFER_CHECKED: u8 = 12;
/// Compute Budget's `SetComputeUnitLimit` and `SetComputeUnitPrice` tags.
const SET_LIMIT: u8 = 2;
const SET_PRICE: u8 = 3;
/// Longest memo `extra.memo` may ask for, bytes.
pub const MAX_MEMO: usize = 256;

/// The `extra` of an `exact` offer on Solana.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExactExtra {
    /// Who pays the transaction fee and signs last: the server (or its
    /// facilitator), base58.
    pub fee_payer: String,
    /// A reference the transaction's Memo must carry, when the server asks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memo: Option<String>,
}

/// An `exact` offer on Solana (x402 `PaymentRequirements`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExactRequirements {
    /// [`SCHEME`].
    pub scheme: String,
    /// CAIP-2 cluster id.
    pub network: String,
    /// Base units to transfer, decimal.
    pub amount: String,
    /// The mint, base58.
    pub asset: String,
    /// The owner whose associated token account receives, base58.
    pub pay_to: String,
    /// How long the server waits for the paid retry, seconds.
    pub max_timeout_seconds: u64,
    /// The fee payer and the memo.
    pub extra: ExactExtra,
}

impl ExactRequirements {
    /// What a transaction must pay to meet this offer.
    pub fn terms(&self) -> Result<Terms, WireError> {
        Ok(Terms {
            amount: parse_amount("amount", &self.amount)?,
            asset: parse_address("asset", &self.asset)?,
            pay_to: parse_address("payTo", &self.pay_to)?,
            fee_payer: parse_address("extra.feePayer", &self.extra.fee_payer)?,
            memo: self.extra.memo.clone(),
        })
    }
}

/// An `exact` payment's `PAYMENT-SIGNATURE` (x402 `PaymentPayload`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExactPaymentPayload {
    /// [`super::X402_VERSION`].
    pub x402_version: u32,
    /// The resource paid for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<super::ResourceInfo>,
    /// The offer chosen, as the server sent it.
    pub accepted: ExactRequirements,
    /// The client-signed transaction.
    pub payload: ExactPayload,
    /// Extensions the client adds (`payment-identifier`), as sent.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub extensions: std::collections::BTreeMap<String, serde_json::Value>,
}

/// The `payload` of an `exact` payment: the client-signed transaction.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExactPayload {
    /// The transaction, bincode then base64, signed by all but the fee payer.
    pub transaction: String,
}

/// What a transaction must pay, parsed from the offer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Terms {
    /// Base units to transfer, exactly.
    pub amount: u64,
    /// The mint.
    pub asset: Pubkey,
    /// The owner whose associated token account receives.
    pub pay_to: Pubkey,
    /// The fee payer the server signs with.
    pub fee_payer: Pubkey,
    /// The memo the server asked for, if any.
    pub memo: Option<String>,
}

/// Why a transaction is refused: each a stable snake_case code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ExactRefusal {
    /// Not base64 of a transaction.
    #[error("the payload is not a base64, bincode-encoded Solana transaction")]
    Undecodable,
    /// Address lookup tables are not accepted (every account must be seen).
    #[error("the transaction uses address lookup tables; list every account in the message")]
    LookupTables,
    /// Not the scheme's instruction layout.
    #[error("the transaction must be SetComputeUnitLimit, SetComputeUnitPrice, TransferChecked, then at most three Memo or Lighthouse instructions")]
    Layout,
    /// The compute unit price is above [`MAX_COMPUTE_UNIT_PRICE`].
    #[error("the compute unit price is above 5,000,000 micro-lamports per unit")]
    ComputePrice,
    /// The compute unit limit × price is above [`MAX_PRIORITY_FEE`].
    #[error("the priority fee (compute unit limit × price) is above 100,000 lamports")]
    PriorityFee,
    /// The message's fee payer is not the server's.
    #[error("the transaction's fee payer is not the one the offer names")]
    FeePayer,
    /// The fee payer appears in an instruction (it would pay, or sign for, more than the fee).
    #[error("the fee payer may not appear in any instruction")]
    FeePayerExposed,
    /// The transfer is of another mint.
    #[error("the transfer is not of the offer's asset")]
    Asset,
    /// The transfer goes elsewhere than `payTo`'s associated token account.
    #[error("the transfer does not go to payTo's associated token account for the asset")]
    Destination,
    /// The transfer's amount is not the offer's.
    #[error("the transfer's amount is not the offer's amount")]
    Amount,
    /// The memo is missing, doubled or not the one asked for.
    #[error("the transaction must carry exactly one Memo with the offer's memo")]
    Memo,
    /// A signature other than the fee payer's is missing or does not verify.
    #[error("a signature other than the fee payer's is missing or invalid")]
    Signature,
}

impl ExactRefusal {
    /// The wire code.
    pub fn code(self) -> &'static str {
        match self {
            ExactRefusal::Undecodable => "invalid_transaction",
            ExactRefusal::LookupTables => "lookup_tables_unsupported",
            ExactRefusal::Layout => "invalid_instruction_layout",
            ExactRefusal::ComputePrice => "compute_price_too_high",
            ExactRefusal::PriorityFee => "priority_fee_too_high",
            ExactRefusal::FeePayer => "wrong_fee_payer",
            ExactRefusal::FeePayerExposed => "fee_payer_in_instruction",
            ExactRefusal::Asset => "wrong_asset",
            ExactRefusal::Destination => "wrong_destination",
            ExactRefusal::Amount => "wrong_amount",
            ExactRefusal::Memo => "memo_mismatch",
            ExactRefusal::Signature => "invalid_signature",
        }
    }
}

/// A transaction that passed [`verify`]: what it pays, and from whom.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transfer {
    /// The token account debited.
    pub source: Pubkey,
    /// The token account credited (`payTo`'s associated one).
    pub destination: Pubkey,
    /// Who signed the transfer: the payer.
    pub authority: Pubkey,
    /// SPL Token or Token-2022.
    pub token_program: Pubkey,
    /// The mint moved.
    pub mint: Pubkey,
    /// Base units moved.
    pub amount: u64,
    /// The decimals the transfer states (the cluster checks them).
    pub decimals: u8,
    /// The payer's signature, base58: the transaction's identity once the
    /// fee payer has signed too (its first signature is the fee payer's).
    pub payer_signature: String,
}

/// `transaction` as an `exact` payload carries it: bincode, then base64.
pub fn encode(transaction: &VersionedTransaction) -> String {
    // a transaction in memory always serializes
    STANDARD.encode(bincode::serialize(transaction).unwrap_or_default())
}

/// The transaction of an `exact` payload.
pub fn decode(transaction: &str) -> Result<VersionedTransaction, ExactRefusal> {
    let bytes = STANDARD
        .decode(transaction)
        .map_err(|_| ExactRefusal::Undecodable)?;
    bincode::deserialize(&bytes).map_err(|_| ExactRefusal::Undecodable)
}

/// One instruction as the checks see it: its program, accounts, data.
struct Ix<'a> {
    program: Pubkey,
    accounts: Vec<Pubkey>,
    data: &'a [u8],
}

/// The message's instructions with their accounts resolved (no lookup
/// tables: every index is a static key).
fn instructions(tx: &VersionedTransaction) -> Result<Vec<Ix<'_>>, ExactRefusal> {
    if tx
        .message
        .address_table_lookups()
        .is_some_and(|l| !l.is_empty())
    {
        return Err(ExactRefusal::LookupTables);
    }
    let keys = tx.message.static_account_keys();
    let key = |i: u8| {
        keys.get(usize::from(i))
            .copied()
            .ok_or(ExactRefusal::Undecodable)
    };
    tx.message
        .instructions()
        .iter()
        .map(|ix| {
            Ok(Ix {
                program: key(ix.program_id_index)?,
                accounts: ix
                    .accounts
                    .iter()
                    .map(|a| key(*a))
                    .collect::<Result<_, _>>()?,
                data: &ix.data,
            })
        })
        .collect()
}

/// Checks `tx` against `terms` (see the module docs); the transfer it makes.
pub fn verify(tx: &VersionedTransaction, terms: &Terms) -> Result<Transfer, ExactRefusal> {
    let ixs = instructions(tx)?;
    if !(3..=6).contains(&ixs.len()) {
        return Err(ExactRefusal::Layout);
    }
    if tx.message.static_account_keys().first() != Some(&terms.fee_payer) {
        return Err(ExactRefusal::FeePayer);
    }
    if ixs.iter().any(|ix| ix.accounts.contains(&terms.fee_payer)) {
        return Err(ExactRefusal::FeePayerExposed);
    }
    compute_budget(&ixs[0], &ixs[1])?;
    let transfer = transfer(&ixs[2], terms)?;
    optional(&ixs[3..], terms.memo.as_deref())?;
    signatures(tx)?;
    Ok(Transfer {
        payer_signature: payer_signature(tx, &transfer.authority)?,
        ..transfer
    })
}

/// `SetComputeUnitLimit` then `SetComputeUnitPrice`, the price capped.
fn compute_budget(limit: &Ix<'_>, price: &Ix<'_>) -> Result<(), ExactRefusal> {
    let is = |ix: &Ix<'_>, tag: u8, len: usize| {
        ix.program == COMPUTE_BUDGET && ix.data.len() == len && ix.data.first() == Some(&tag)
    };
    if !is(limit, SET_LIMIT, 5) || !is(price, SET_PRICE, 9) {
        return Err(ExactRefusal::Layout);
    }
    let mut units = [0u8; 4];
    units.copy_from_slice(&limit.data[1..5]);
    let mut micro_lamports = [0u8; 8];
    micro_lamports.copy_from_slice(&price.data[1..9]);
    let micro_lamports = u64::from_le_bytes(micro_lamports);
    if micro_lamports > MAX_COMPUTE_UNIT_PRICE {
        return Err(ExactRefusal::ComputePrice);
    }
    // the runtime's rounding: up to the next lamport
    let fee = u128::from(u32::from_le_bytes(units))
        .saturating_mul(u128::from(micro_lamports)) // < 2^96: never saturates
        .div_ceil(1_000_000);
    if fee > u128::from(MAX_PRIORITY_FEE) {
        return Err(ExactRefusal::PriorityFee);
    }
    Ok(())
}

/// The `TransferChecked`: `[source, mint, destination, authority]`, data
/// `[12, amount (u64 LE), decimals]`.
fn transfer(ix: &Ix<'_>, terms: &Terms) -> Result<Transfer, ExactRefusal> {
    let token_program = ix.program;
    if token_program != anchor_spl::token::ID && token_program != anchor_spl::token_2022::ID {
        return Err(ExactRefusal::Layout);
    }
    let (&[source, mint, destination, authority], [TRANSFER_CHECKED, rest @ ..]) =
        (ix.accounts.as_slice(), ix.data)
    else {
        return Err(ExactRefusal::Layout);
    };
    let [a0, a1, a2, a3, a4, a5, a6, a7, decimals] = *rest else {
        return Err(ExactRefusal::Layout);
    };
    if mint != terms.asset {
        return Err(ExactRefusal::Asset);
    }
    if destination != associated_token_address(&terms.pay_to, &terms.asset, &token_program) {
        return Err(ExactRefusal::Destination);
    }
    let amount = u64::from_le_bytes([a0, a1, a2, a3, a4, a5, a6, a7]);
    if amount != terms.amount {
        return Err(ExactRefusal::Amount);
    }
    Ok(Transfer {
        source,
        destination,
        authority,
        token_program,
        mint,
        amount,
        decimals,
        payer_signature: String::new(),
    })
}

/// At most three Memo or Lighthouse instructions; with `memo`, exactly one
/// Memo, carrying it.
fn optional(ixs: &[Ix<'_>], memo: Option<&str>) -> Result<(), ExactRefusal> {
    if ixs
        .iter()
        .any(|ix| ix.program != MEMO && ix.program != LIGHTHOUSE)
    {
        return Err(ExactRefusal::Layout);
    }
    if let Some(memo) = memo {
        let memos: Vec<&[u8]> = ixs
            .iter()
            .filter(|ix| ix.program == MEMO)
            .map(|ix| ix.data)
            .collect();
        if memos != [memo.as_bytes()] {
            return Err(ExactRefusal::Memo);
        }
    }
    Ok(())
}

/// Every required signature but the fee payer's (the first) verifies over
/// the message; the fee payer's slot is empty (the server signs last).
fn signatures(tx: &VersionedTransaction) -> Result<(), ExactRefusal> {
    let required = usize::from(tx.message.header().num_required_signatures);
    let keys = tx.message.static_account_keys();
    if required < 2 || tx.signatures.len() != required || keys.len() < required {
        return Err(ExactRefusal::Signature);
    }
    let message = tx.message.serialize();
    for (signature, key) in tx.signatures.iter().zip(keys).skip(1) {
        let key = VerifyingKey::from_bytes(&key.to_bytes()).map_err(|_| ExactRefusal::Signature)?;
        let signature = Signature::from_bytes(&(*signature).into());
        key.verify_strict(&message, &signature)
            .map_err(|_| ExactRefusal::Signature)?;
    }
    Ok(())
}

/// The signature of `authority` (which must be a signer), base58.
fn payer_signature(tx: &VersionedTransaction, authority: &Pubkey) -> Result<String, ExactRefusal> {
    let required = usize::from(tx.message.header().num_required_signatures);
    let at = tx.message.static_account_keys()[..required]
        .iter()
        .position(|k| k == authority)
        .ok_or(ExactRefusal::Signature)?;
    Ok(tx.signatures[at].to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use anchor_lang::solana_program::instruction::Instruction;
    use anchor_spl::token::spl_token;
    use solana_keypair::Keypair;
    use solana_signer::Signer;
    use solana_transaction::Transaction;

    /// A payer, a server (fee payer), a creator, a mint; the terms of 1,000.
    struct World {
        payer: Keypair,
        fee_payer: Pubkey,
        terms: Terms,
        source: Pubkey,
    }

    fn world() -> World {
        let payer = Keypair::new();
        let (asset, pay_to, fee_payer) = (
            Pubkey::new_unique(),
            Pubkey::new_unique(),
            Pubkey::new_unique(),
        );
        World {
            source: associated_token_address(&payer.pubkey(), &asset, &spl_token::ID),
            payer,
            fee_payer,
            terms: Terms {
                amount: 1_000,
                asset,
                pay_to,
                fee_payer,
                memo: None,
            },
        }
    }

    fn limit(units: u32) -> Instruction {
        let mut data = vec![SET_LIMIT];
        data.extend(units.to_le_bytes());
        Instruction::new_with_bytes(COMPUTE_BUDGET, &data, vec![])
    }

    fn price(micro_lamports: u64) -> Instruction {
        let mut data = vec![SET_PRICE];
        data.extend(micro_lamports.to_le_bytes());
        Instruction::new_with_bytes(COMPUTE_BUDGET, &data, vec![])
    }

    fn memo(text: &str) -> Instruction {
        Instruction::new_with_bytes(MEMO, text.as_bytes(), vec![])
    }

    impl World {
        /// `TransferChecked` of `amount` from the payer to `destination`.
        fn transfer_to(&self, program: &Pubkey, destination: &Pubkey, amount: u64) -> Instruction {
            let mut ix = spl_token::instruction::transfer_checked(
                &spl_token::ID,
                &self.source,
                &self.terms.asset,
                destination,
                &self.payer.pubkey(),
                &[],
                amount,
                6,
            )
            .unwrap();
            ix.program_id = *program; // Token-2022's TransferChecked is the same
            ix
        }

        /// The transfer a client builds from the terms.
        fn transfer(&self) -> Instruction {
            let destination =
                associated_token_address(&self.terms.pay_to, &self.terms.asset, &spl_token::ID);
            self.transfer_to(&spl_token::ID, &destination, self.terms.amount)
        }

        /// The scheme's layout with `rest` after the transfer.
        fn layout(&self, rest: &[Instruction]) -> Vec<Instruction> {
            let mut ixs = vec![limit(20_000), price(1_000), self.transfer()];
            ixs.extend_from_slice(rest);
            ixs
        }

        /// `ixs` paid by `fee_payer`, signed by the payer only.
        fn signed_by_payer(&self, ixs: &[Instruction], fee_payer: &Pubkey) -> VersionedTransaction {
            let mut tx = Transaction::new_with_payer(ixs, Some(fee_payer));
            let blockhash = solana_hash::Hash::new_unique();
            tx.try_partial_sign(&[&self.payer], blockhash).unwrap();
            VersionedTransaction::from(tx)
        }

        fn tx(&self, ixs: &[Instruction]) -> VersionedTransaction {
            self.signed_by_payer(ixs, &self.fee_payer)
        }
    }

    #[test]
    fn a_client_built_transfer_passes_and_says_what_it_pays() {
        let w = world();
        let tx = w.tx(&w.layout(&[memo("0123456789abcdef0123456789abcdef")]));
        let transfer = verify(&tx, &w.terms).unwrap();
        assert_eq!(
            transfer,
            Transfer {
                source: w.source,
                destination: associated_token_address(
                    &w.terms.pay_to,
                    &w.terms.asset,
                    &spl_token::ID
                ),
                authority: w.payer.pubkey(),
                token_program: spl_token::ID,
                mint: w.terms.asset,
                amount: 1_000,
                decimals: 6,
                payer_signature: tx.signatures[1].to_string(),
            }
        );
        // over the wire: bincode, then base64
        assert_eq!(decode(&encode(&tx)).unwrap(), tx);
        assert_eq!(decode("not base64!"), Err(ExactRefusal::Undecodable));
        assert_eq!(
            decode(&STANDARD.encode([1, 2, 3])),
            Err(ExactRefusal::Undecodable)
        );
        // without a memo, and with wallets' Lighthouse guards, it passes too
        let guard = Instruction::new_with_bytes(LIGHTHOUSE, &[1], vec![]);
        verify(&w.tx(&w.layout(&[])), &w.terms).unwrap();
        verify(
            &w.tx(&w.layout(&[guard.clone(), guard, memo("n")])),
            &w.terms,
        )
        .unwrap();
    }

    #[test]
    fn the_layout_is_the_schemes_and_nothing_else() {
        let w = world();
        let no_limit = [price(1), w.transfer(), memo("n")];
        assert_eq!(
            verify(&w.tx(&no_limit), &w.terms),
            Err(ExactRefusal::Layout)
        );
        let swapped = [price(1), limit(1), w.transfer()];
        assert_eq!(verify(&w.tx(&swapped), &w.terms), Err(ExactRefusal::Layout));
        // anything else beside the transfer: a system transfer, a second transfer
        let drain = solana_system_interface::instruction::transfer(
            &w.payer.pubkey(),
            &Pubkey::new_unique(),
            1,
        );
        assert_eq!(
            verify(&w.tx(&w.layout(&[drain])), &w.terms),
            Err(ExactRefusal::Layout)
        );
        assert_eq!(
            verify(&w.tx(&w.layout(&[w.transfer()])), &w.terms),
            Err(ExactRefusal::Layout)
        );
        // at most three optional instructions (six in all)
        let four = [memo("a"), memo("b"), memo("c"), memo("d")];
        assert_eq!(
            verify(&w.tx(&w.layout(&four)), &w.terms),
            Err(ExactRefusal::Layout)
        );
        verify(&w.tx(&w.layout(&four[..3])), &w.terms).unwrap();
        // a plain Transfer (tag 3) is not TransferChecked
        let mut plain = w.transfer();
        plain.data = {
            let mut d = vec![3u8];
            d.extend(1_000u64.to_le_bytes());
            d
        };
        let ixs = [limit(1), price(1), plain];
        assert_eq!(verify(&w.tx(&ixs), &w.terms), Err(ExactRefusal::Layout));
    }

    #[test]
    fn the_compute_price_is_capped_at_five_lamports_a_unit() {
        let w = world();
        let at = |p: u64| w.tx(&[limit(20_000), price(p), w.transfer()]);
        verify(&at(MAX_COMPUTE_UNIT_PRICE), &w.terms).unwrap();
        assert_eq!(
            verify(&at(MAX_COMPUTE_UNIT_PRICE + 1), &w.terms),
            Err(ExactRefusal::ComputePrice)
        );
    }

    /// Regression (found reviewing the spec's cap): at 5 lamports a unit
    /// and the largest limit, a client made the fee payer pay 7,000,000
    /// lamports of priority fee for one request. The product is capped.
    #[test]
    fn the_priority_fee_is_capped_at_a_tenth_of_a_milli_sol() {
        let w = world();
        let at = |units: u32, p: u64| w.tx(&[limit(units), price(p), w.transfer()]);
        assert_eq!(
            verify(&at(1_400_000, MAX_COMPUTE_UNIT_PRICE), &w.terms),
            Err(ExactRefusal::PriorityFee)
        );
        // exactly 100,000 lamports passes; one micro-lamport a unit more
        // (rounded up to a lamport) does not
        verify(&at(100_000, 1_000_000), &w.terms).unwrap();
        verify(&at(20_000, MAX_COMPUTE_UNIT_PRICE), &w.terms).unwrap();
        assert_eq!(
            verify(&at(100_000, 1_000_001), &w.terms),
            Err(ExactRefusal::PriorityFee)
        );
    }

    #[test]
    fn the_fee_payer_pays_the_fee_and_nothing_else() {
        let w = world();
        // the payer pays its own fee: not this server's transaction
        let own = w.signed_by_payer(&w.layout(&[]), &w.payer.pubkey());
        assert_eq!(verify(&own, &w.terms), Err(ExactRefusal::FeePayer));
        // the fee payer as the transfer's authority, or its source
        let destination = associated_token_address(&w.terms.pay_to, &w.terms.asset, &spl_token::ID);
        let mut as_authority = w.transfer_to(&spl_token::ID, &destination, 1_000);
        as_authority.accounts[3].pubkey = w.fee_payer;
        let mut as_source = w.transfer();
        as_source.accounts[0].pubkey = w.fee_payer;
        // (with the fee payer as authority the payer signs nothing: it is
        // refused before signatures are looked at)
        let unsigned = VersionedTransaction::from(Transaction::new_with_payer(
            &[limit(1), price(1), as_authority],
            Some(&w.fee_payer),
        ));
        assert_eq!(
            verify(&unsigned, &w.terms),
            Err(ExactRefusal::FeePayerExposed)
        );
        let tx = w.tx(&[limit(1), price(1), as_source]);
        assert_eq!(verify(&tx, &w.terms), Err(ExactRefusal::FeePayerExposed));
        // or named by a memo
        let mut named = memo("n");
        named.accounts.push(
            anchor_lang::solana_program::instruction::AccountMeta::new_readonly(w.fee_payer, false),
        );
        assert_eq!(
            verify(&w.tx(&w.layout(&[named])), &w.terms),
            Err(ExactRefusal::FeePayerExposed)
        );
    }

    #[test]
    fn the_transfer_pays_exactly_the_offer() {
        let w = world();
        let to_ata =
            |program: &Pubkey| associated_token_address(&w.terms.pay_to, &w.terms.asset, program);
        let pay = |ix: Instruction| verify(&w.tx(&[limit(1), price(1), ix]), &w.terms);
        assert_eq!(
            pay(w.transfer_to(&spl_token::ID, &to_ata(&spl_token::ID), 999)),
            Err(ExactRefusal::Amount)
        );
        assert_eq!(
            pay(w.transfer_to(&spl_token::ID, &to_ata(&spl_token::ID), 1_001)),
            Err(ExactRefusal::Amount)
        );
        // payTo's wallet itself, or another token account of it
        assert_eq!(
            pay(w.transfer_to(&spl_token::ID, &w.terms.pay_to, 1_000)),
            Err(ExactRefusal::Destination)
        );
        // Token-2022: the associated account under Token-2022, not SPL Token's
        let t22 = anchor_spl::token_2022::ID;
        pay(w.transfer_to(&t22, &to_ata(&t22), 1_000)).unwrap();
        assert_eq!(
            pay(w.transfer_to(&t22, &to_ata(&spl_token::ID), 1_000)),
            Err(ExactRefusal::Destination)
        );
        // another mint
        let mut other = w.transfer();
        other.accounts[1].pubkey = Pubkey::new_unique();
        assert_eq!(pay(other), Err(ExactRefusal::Asset));
        // another program's instruction with TransferChecked's shape
        let mut fake = w.transfer();
        fake.program_id = Pubkey::new_unique();
        assert_eq!(pay(fake), Err(ExactRefusal::Layout));
    }

    #[test]
    fn a_memo_asked_for_is_there_exactly_once() {
        let w = world();
        let terms = Terms {
            memo: Some("invoice-42".into()),
            ..w.terms.clone()
        };
        verify(&w.tx(&w.layout(&[memo("invoice-42")])), &terms).unwrap();
        for rest in [
            vec![],
            vec![memo("invoice-43")],
            vec![memo("invoice-42"), memo("invoice-42")],
        ] {
            assert_eq!(
                verify(&w.tx(&w.layout(&rest)), &terms),
                Err(ExactRefusal::Memo)
            );
        }
    }

    #[test]
    fn every_signature_but_the_fee_payers_is_there_and_true() {
        let w = world();
        // unsigned by the payer
        let unsigned = VersionedTransaction::from(Transaction::new_with_payer(
            &w.layout(&[]),
            Some(&w.fee_payer),
        ));
        assert_eq!(verify(&unsigned, &w.terms), Err(ExactRefusal::Signature));
        // signed, then changed (the memo's bytes)
        let mut changed = w.tx(&w.layout(&[memo("nonce-a")]));
        let bytes = bincode::serialize(&changed).unwrap();
        let at = bytes.windows(7).position(|s| s == b"nonce-a").unwrap();
        let mut bytes = bytes;
        bytes[at + 6] = b'b';
        changed = bincode::deserialize(&bytes).unwrap();
        assert_eq!(verify(&changed, &w.terms), Err(ExactRefusal::Signature));
        // a transaction with the fee payer as its only signer
        let mut alone = w.transfer();
        alone.accounts[3].is_signer = false;
        let tx = VersionedTransaction::from(Transaction::new_with_payer(
            &[limit(1), price(1), alone],
            Some(&w.fee_payer),
        ));
        assert_eq!(verify(&tx, &w.terms), Err(ExactRefusal::Signature));
    }

    #[test]
    fn accounts_behind_lookup_tables_are_refused() {
        let w = world();
        let legacy = w.tx(&w.layout(&[]));
        let solana_transaction::VersionedMessage::Legacy(m) = legacy.message else {
            unreachable!("built legacy")
        };
        let v0 = solana_message::v0::Message {
            header: m.header,
            account_keys: m.account_keys,
            recent_blockhash: m.recent_blockhash,
            instructions: m.instructions,
            address_table_lookups: vec![solana_message::v0::MessageAddressTableLookup {
                account_key: Pubkey::new_unique(),
                writable_indexes: vec![0],
                readonly_indexes: vec![],
            }],
        };
        let tx = VersionedTransaction {
            signatures: legacy.signatures,
            message: solana_transaction::VersionedMessage::V0(v0),
        };
        assert_eq!(verify(&tx, &w.terms), Err(ExactRefusal::LookupTables));
    }

    #[test]
    fn an_offer_gives_its_terms_and_bad_fields_are_named() {
        let w = world();
        let offer = ExactRequirements {
            scheme: SCHEME.into(),
            network: "solana:EtWTRABZaYq6iMfeYKouRu166VU2xqa1".into(),
            amount: "1000".into(),
            asset: w.terms.asset.to_string(),
            pay_to: w.terms.pay_to.to_string(),
            max_timeout_seconds: 60,
            extra: ExactExtra {
                fee_payer: w.fee_payer.to_string(),
                memo: None,
            },
        };
        assert_eq!(offer.terms().unwrap(), w.terms);
        let json = serde_json::to_value(&offer).unwrap();
        assert_eq!(json["payTo"], w.terms.pay_to.to_string());
        assert_eq!(json["extra"]["feePayer"], w.fee_payer.to_string());
        assert!(json["extra"].get("memo").is_none());
        let bad = ExactRequirements {
            extra: ExactExtra {
                fee_payer: "nope".into(),
                memo: None,
            },
            ..offer.clone()
        };
        assert!(matches!(
            bad.terms(),
            Err(WireError::Address {
                field: "extra.feePayer",
                ..
            })
        ));
        let negative = ExactRequirements {
            amount: "-1".into(),
            ..offer
        };
        assert!(matches!(negative.terms(), Err(WireError::Amount { .. })));
    }
}
