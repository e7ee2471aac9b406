//! Seeds, limits and the voucher domain tag.
//!
//! Everything here is part of the program's public contract: the client crate
//! derives addresses and builds vouchers from these values instead of retyping them.

use anchor_lang::prelude::*;

/// Seed of the per-mint vault token account PDA: `["vault", mint]`.
#[constant]
pub const VAULT_SEED: &[u8] = b"vault";

/// Seed of a payer's escrow PDA: `["escrow", owner, mint]`.
#[constant]
pub const ESCROW_SEED: &[u8] = b"escrow";

/// Seed of a channel PDA: `["channel", escrow, id (u64 LE), nonce (u64 LE)]`.
#[constant]
pub const CHANNEL_SEED: &[u8] = b"channel";

/// Seed of an earnings PDA: `["earnings", owner, mint]`.
#[constant]
pub const EARNINGS_SEED: &[u8] = b"earnings";

/// Seed of a split PDA: `["split", mint, sha256(recipients)]`.
#[constant]
pub const SPLIT_SEED: &[u8] = b"split";

/// Most recipients one split pays.
#[constant]
pub const MAX_SPLIT_RECIPIENTS: u8 = 32;

/// Domain tag that starts every voucher message. Seven bytes, so that a whole
/// voucher message (tag ‖ channel ‖ amount) is 47 bytes and R‖A‖M fits one
/// SHA-512 block.
#[constant]
pub const VOUCHER_DOMAIN: &[u8; 7] = b"mpay-v1";

/// Length of a voucher message: domain tag, channel address, amount (u64 LE).
pub const VOUCHER_MESSAGE_LEN: usize = 7 + 32 + 8;

/// Basis points in one whole (100%).
pub const BPS_DENOMINATOR: u64 = 10_000;

/// Highest dApp fee share a channel may carry: 10% of every claim.
#[constant]
pub const MAX_FEE_BPS: u16 = 1_000;

/// Shortest dispute window a channel may have, in seconds. Long enough for a
/// creator's watchtower to notice a close request and claim.
#[constant]
pub const MIN_DISPUTE_WINDOW_SECS: u32 = 60;

/// Longest dispute window a channel may have, in seconds (30 days), so that a
/// payer's funds are never locked for longer than that after a close request.
#[constant]
pub const MAX_DISPUTE_WINDOW_SECS: u32 = 30 * 24 * 60 * 60;

/// Most vouchers one `claim` instruction settles. The transaction size bounds a
/// batch to about 14 vouchers first; this bound keeps compute (≈13k CU each)
/// far below 1.4M even if a caller packs several instructions.
#[constant]
pub const MAX_VOUCHERS_PER_CLAIM: u8 = 64;

/// Marks "no account" in a claim entry's fee-earnings index.
#[constant]
pub const NO_ACCOUNT_INDEX: u8 = u8::MAX;
