//! v1 transactions (SIMD-0296 / SIMD-0385, on mainnet since 2026-09-15):
//! up to 4,096 bytes and 64 inline accounts (no lookup tables), with the
//! compute-unit limit and the priority fee in the message's config instead of
//! compute-budget instructions (a v1 transaction without an explicit limit
//! fails).
//!
//! The message is the Solana SDK's own v1 type (`solana-message` 6.x,
//! `v1::Message`), newer than the rest of the SDK this crate builds on, so
//! instructions and hashes cross over by value. The wire format differs from
//! legacy and v0: the message bytes (version byte `0x81` first), then one
//! 64-byte signature per required signer with no length prefix.

use crate::error::{ClientError, Result};
use anchor_lang::prelude::Pubkey;
use solana_message_v1::{
    compiled_instruction::CompiledInstruction,
    v1::{self, TransactionConfig},
};
use solana_sdk::{
    hash::Hash,
    instruction::Instruction,
    signature::{Signature, Signer},
};

/// Largest serialized legacy transaction, bytes (an IPv6 packet minus
/// headers).
pub const PACKET_DATA_SIZE: usize = 1_232;

/// Largest serialized v1 transaction, bytes.
pub const MAX_TRANSACTION_SIZE: usize = v1::MAX_TRANSACTION_SIZE;
/// Most accounts a v1 message names.
pub const MAX_ACCOUNTS: usize = 64;
/// The loaded-accounts data limit every v1 message states: a v1 message
/// without one may load 0 bytes (and so fails), and this is the limit a
/// legacy transaction gets by default (64 MiB), so a v1 claim loads what
/// its legacy twin would.
pub const LOADED_ACCOUNTS_DATA_SIZE_LIMIT: u32 = 64 * 1024 * 1024;

/// The transaction format claims are packed for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TxFormat {
    /// Legacy: 1,232 bytes, compute budget by instruction. Every cluster.
    #[default]
    Legacy,
    /// v1 (SIMD-0296/0385): 4,096 bytes, ≤ 64 accounts, compute budget in
    /// the message's config.
    V1,
}

impl TxFormat {
    /// Largest serialized transaction, bytes.
    pub const fn max_size(self) -> usize {
        match self {
            TxFormat::Legacy => PACKET_DATA_SIZE,
            TxFormat::V1 => MAX_TRANSACTION_SIZE,
        }
    }

    /// Its name as the CLI and JSON spell it.
    pub const fn name(self) -> &'static str {
        match self {
            TxFormat::Legacy => "legacy",
            TxFormat::V1 => "v1",
        }
    }
}

impl std::fmt::Display for TxFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A v1 message compiled from `instructions`, paid by `payer`, valid for
/// `blockhash`, requesting `compute_unit_limit` units and paying
/// `priority_fee` lamports on top of the signature fees.
pub fn message(
    instructions: &[Instruction],
    payer: &Pubkey,
    blockhash: &Hash,
    compute_unit_limit: u32,
    priority_fee: u64,
) -> Result<v1::Message> {
    let converted: Vec<solana_message_v1::Instruction> = instructions
        .iter()
        .map(|ix| solana_message_v1::Instruction {
            program_id: to_address(&ix.program_id),
            accounts: ix
                .accounts
                .iter()
                .map(|m| solana_message_v1::AccountMeta {
                    pubkey: to_address(&m.pubkey),
                    is_signer: m.is_signer,
                    is_writable: m.is_writable,
                })
                .collect(),
            data: ix.data.clone(),
        })
        .collect();
    let mut config = TransactionConfig::empty()
        .with_compute_unit_limit(compute_unit_limit)
        .with_loaded_accounts_data_size_limit(LOADED_ACCOUNTS_DATA_SIZE_LIMIT);
    if priority_fee > 0 {
        config = config.with_priority_fee(priority_fee);
    }
    let message = v1::Message::try_compile_with_config(
        &to_address(payer),
        &converted,
        solana_message_v1::Hash::new_from_array(blockhash.to_bytes()),
        config,
    )
    .map_err(v1_error)?;
    message.validate().map_err(v1_error)?;
    Ok(message)
}

fn v1_error(e: impl std::fmt::Display) -> ClientError {
    ClientError::V1Transaction {
        reason: e.to_string(),
    }
}

fn to_address(key: &Pubkey) -> solana_message_v1::Address {
    solana_message_v1::Address::new_from_array(key.to_bytes())
}

/// Serialized size of a transaction of `message`: the message (version
/// byte first) and one signature per required signer.
pub fn transaction_size(message: &v1::Message) -> usize {
    message
        .size()
        .saturating_add(1)
        .saturating_add(usize::from(message.header.num_required_signatures).saturating_mul(64))
}

/// The first signature of a serialized v1 transaction (its id), without
/// parsing the rest.
pub fn first_signature(wire: &[u8]) -> Result<Signature> {
    let (_, signatures) = decode(wire)?;
    signatures
        .first()
        .copied()
        .ok_or_else(|| v1_error("a transaction without a signature"))
}

/// The bytes the signers sign: the serialized message, version byte first.
pub fn message_bytes(message: &v1::Message) -> Vec<u8> {
    message.serialize()
}

/// Signs `message` with `signers` (the fee payer first, in the message's
/// signer order) and serializes the transaction: message, then signatures.
pub fn sign(message: &v1::Message, signers: &[&dyn Signer]) -> Result<Vec<u8>> {
    let bytes = message_bytes(message);
    let required = usize::from(message.header.num_required_signatures);
    let mut wire = bytes.clone();
    for index in 0..required {
        let key = message
            .account_keys
            .get(index)
            .ok_or_else(|| v1_error("a signer index past the accounts"))?;
        let signer = signers
            .iter()
            .find(|s| s.pubkey().to_bytes() == key.to_bytes())
            .ok_or_else(|| {
                v1_error(format!(
                    "no signer for {}",
                    Pubkey::new_from_array(key.to_bytes())
                ))
            })?;
        let signature = signer.try_sign_message(&bytes).map_err(v1_error)?;
        wire.extend_from_slice(signature.as_ref());
    }
    Ok(wire)
}

/// Parses a serialized v1 transaction back into its message and signatures;
/// refuses trailing or missing bytes and a message that does not sanitize.
pub fn decode(wire: &[u8]) -> Result<(v1::Message, Vec<Signature>)> {
    if wire.first() != Some(&v1::V1_PREFIX) {
        return Err(v1_error("not a v1 transaction (version byte)"));
    }
    let body = wire.get(1..).unwrap_or_default();
    let message = v1::deserialize(body).map_err(v1_error)?;
    message.validate().map_err(v1_error)?;
    let size = message.size().saturating_add(1);
    let required = usize::from(message.header.num_required_signatures);
    let signatures = wire
        .get(size..)
        .ok_or_else(|| v1_error("shorter than its message"))?;
    if signatures.len() != required.saturating_mul(64) {
        return Err(v1_error(format!(
            "{} signature bytes for {required} signers",
            signatures.len()
        )));
    }
    let signatures = signatures
        .chunks_exact(64)
        .map(|c| Signature::try_from(c).map_err(v1_error))
        .collect::<Result<Vec<_>>>()?;
    Ok((message, signatures))
}

/// The message's instructions with their accounts' signer and writable
/// flags as the header states them (what a v1 cluster executes).
pub fn instructions(message: &v1::Message) -> Result<Vec<Instruction>> {
    let header = &message.header;
    let keys = &message.account_keys;
    let signers = usize::from(header.num_required_signatures);
    let writable_signers = signers.saturating_sub(usize::from(header.num_readonly_signed_accounts));
    let writable_unsigned = keys
        .len()
        .saturating_sub(usize::from(header.num_readonly_unsigned_accounts));
    let meta = |index: u8| -> Result<solana_sdk::instruction::AccountMeta> {
        let i = usize::from(index);
        let key = keys
            .get(i)
            .ok_or_else(|| v1_error(format!("account index {i} past the accounts")))?;
        let is_signer = i < signers;
        let is_writable = if is_signer {
            i < writable_signers
        } else {
            i < writable_unsigned
        };
        Ok(solana_sdk::instruction::AccountMeta {
            pubkey: Pubkey::new_from_array(key.to_bytes()),
            is_signer,
            is_writable,
        })
    };
    message
        .instructions
        .iter()
        .map(|ix| {
            Ok(Instruction {
                program_id: meta(ix.program_id_index)?.pubkey,
                accounts: ix
                    .accounts
                    .iter()
                    .map(|a| meta(*a))
                    .collect::<Result<_>>()?,
                data: ix.data.clone(),
            })
        })
        .collect()
}

/// Checks a serialized v1 transaction as a cluster's ingest would: the
/// format, at most [`MAX_TRANSACTION_SIZE`] bytes and [`MAX_ACCOUNTS`]
/// accounts, a compute-unit limit stated, and every signature valid over
/// the message bytes. Returns the message and its signatures.
pub fn verify(wire: &[u8]) -> Result<(v1::Message, Vec<Signature>)> {
    if wire.len() > MAX_TRANSACTION_SIZE {
        return Err(v1_error(format!(
            "{} bytes: more than {MAX_TRANSACTION_SIZE}",
            wire.len()
        )));
    }
    let (message, signatures) = decode(wire)?;
    if message.account_keys.len() > MAX_ACCOUNTS {
        return Err(v1_error(format!(
            "{} accounts: more than {MAX_ACCOUNTS}",
            message.account_keys.len()
        )));
    }
    if message.config.compute_unit_limit.is_none() {
        return Err(v1_error(
            "no compute-unit limit: a v1 transaction without one fails",
        ));
    }
    let bytes = message_bytes(&message);
    for (signature, key) in signatures.iter().zip(&message.account_keys) {
        if !signature.verify(key.as_ref(), &bytes) {
            return Err(v1_error(format!(
                "the signature of {} does not verify",
                Pubkey::new_from_array(key.to_bytes())
            )));
        }
    }
    Ok((message, signatures))
}

/// A compiled instruction's program and accounts as keys (for tests and
/// inspection).
pub fn instruction_keys(message: &v1::Message, ix: &CompiledInstruction) -> Vec<Pubkey> {
    std::iter::once(usize::from(ix.program_id_index))
        .chain(ix.accounts.iter().map(|a| usize::from(*a)))
        .filter_map(|i| message.account_keys.get(i))
        .map(|a| Pubkey::new_from_array(a.to_bytes()))
        .collect()
}

#[cfg(test)]
#[allow(clippy::arithmetic_side_effects)]
mod tests {
    use super::*;
    use crate::planner::largest_claim;
    use micropay_sdk::instructions::{self as mix, VoucherClaim};
    use solana_sdk::signature::Keypair;

    /// A claim of `n` vouchers on channels of one creator.
    fn one_creator_claim(n: usize) -> Instruction {
        let earnings = Pubkey::new_unique();
        let claims: Vec<VoucherClaim> = (0..n).map(|_| largest_claim(Some(earnings))).collect();
        mix::claim(&claims)
    }

    fn signed(n: usize, payer: &Keypair) -> Result<Vec<u8>> {
        let m = message(
            &[one_creator_claim(n)],
            &payer.pubkey(),
            &Hash::new_unique(),
            1_400_000,
            0,
        )?;
        sign(&m, &[payer])
    }

    /// The largest one-creator claim fits 4,096 bytes and 64 accounts, and
    /// carries at least 30 vouchers; it decodes back to the same message,
    /// sanitizes, and its signature verifies over the message bytes.
    #[test]
    fn a_v1_claim_carries_thirty_vouchers_and_round_trips() {
        let payer = Keypair::new();
        let fits = |n: usize| {
            signed(n, &payer).is_ok_and(|wire| {
                let (m, _) = decode(&wire).unwrap();
                wire.len() <= MAX_TRANSACTION_SIZE && m.account_keys.len() <= MAX_ACCOUNTS
            })
        };
        let largest = (1..=64).take_while(|&n| fits(n)).last().unwrap();
        assert!(largest >= 30, "{largest} vouchers per v1 claim");
        eprintln!("{largest} vouchers of one creator per v1 claim transaction");
        assert!(!fits(largest + 1));

        let ix = one_creator_claim(largest);
        let blockhash = Hash::new_unique();
        let m = message(
            std::slice::from_ref(&ix),
            &payer.pubkey(),
            &blockhash,
            600_000,
            7,
        )
        .unwrap();
        let wire = sign(&m, &[&payer]).unwrap();
        let (decoded, signatures) = decode(&wire).unwrap();
        assert_eq!(decoded, m);
        assert_eq!(decoded.config.compute_unit_limit, Some(600_000));
        assert_eq!(decoded.config.priority_fee, Some(7));
        assert_eq!(decoded.lifetime_specifier.to_bytes(), blockhash.to_bytes());
        assert_eq!(signatures.len(), 1);
        assert!(signatures[0].verify(payer.pubkey().as_ref(), &message_bytes(&m)));
        // the claim instruction survives: same program, accounts and data
        let compiled = &decoded.instructions[0];
        let keys = instruction_keys(&decoded, compiled);
        assert_eq!(keys[0], ix.program_id);
        let expected: Vec<Pubkey> = ix.accounts.iter().map(|a| a.pubkey).collect();
        assert_eq!(&keys[1..], expected.as_slice());
        assert_eq!(compiled.data, ix.data);
    }

    #[test]
    fn malformed_v1_bytes_are_refused() {
        let payer = Keypair::new();
        let wire = signed(3, &payer).unwrap();
        // a missing signature byte, a trailing byte, a legacy first byte
        assert!(decode(&wire[..wire.len() - 1]).is_err());
        let mut longer = wire.clone();
        longer.push(0);
        assert!(decode(&longer).is_err());
        let mut legacy = wire.clone();
        legacy[0] = 1;
        assert!(matches!(
            decode(&legacy),
            Err(ClientError::V1Transaction { .. })
        ));
        // a signer missing from the list
        let m = message(
            &[one_creator_claim(1)],
            &payer.pubkey(),
            &Hash::new_unique(),
            100_000,
            0,
        )
        .unwrap();
        assert!(sign(&m, &[&Keypair::new()]).is_err());
    }
}
