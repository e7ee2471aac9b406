//! A payment channel from one escrow to one creator.

use anchor_lang::prelude::*;

/// PDA `["channel", escrow, generation (u64 LE), id (u64 LE), nonce (u64 LE)]`
/// (`generation` is the escrow's; see `Escrow::generation`). Opening it moves
/// `allocation` out of the escrow balance: the channel *is* the commitment.
/// Vouchers name this address, so they bind the program, payer, mint, escrow
/// generation, channel id and, through the random nonce, the cluster. The
/// generation is not stored here (the escrow holds it while the channel exists,
/// and `ChannelOpened` reports it), which keeps the rented account small.
#[account]
#[derive(InitSpace, Debug, PartialEq, Eq)]
pub struct Channel {
    /// The escrow that funds the channel.
    pub escrow: Pubkey,
    /// The escrow's mint (copied so a claim needs no escrow account).
    pub mint: Pubkey,
    /// Wallet whose earnings account claims credit.
    pub creator: Pubkey,
    /// Ed25519 key that signs vouchers; may be a session key, not the owner.
    pub signer: Pubkey,
    /// Most the channel can ever pay, base units (grows with top-ups).
    pub allocation: u64,
    /// Cumulative amount paid out by claims, base units; `claimed ≤ allocation`.
    pub claimed: u64,
    /// Wallet whose earnings account receives the dApp fee share;
    /// `Pubkey::default()` when `fee_bps == 0`.
    pub fee_recipient: Pubkey,
    /// dApp fee share of every claim, basis points (≤ `MAX_FEE_BPS`), fixed at open.
    pub fee_bps: u16,
    /// Seconds the creator has to claim after a close request.
    pub dispute_window_secs: u32,
    /// Unix timestamp after which the payer may close at once; 0 = never expires.
    pub expires_at: i64,
    /// Unix timestamp of the payer's close request; 0 = none.
    pub close_requested_at: i64,
    /// Channel id within the escrow generation (from `escrow.next_channel_id`).
    pub id: u64,
    /// Random value chosen by the payer at open; part of the seeds.
    pub nonce: u64,
    /// Canonical bump of this PDA.
    pub bump: u8,
}

impl Channel {
    /// Holds for every channel the program writes.
    pub fn invariant(&self) -> bool {
        self.claimed <= self.allocation
            && (self.fee_bps == 0) == (self.fee_recipient == Pubkey::default())
    }

    /// Allocation not yet paid out: what returns to the escrow on close.
    pub fn remaining(&self) -> u64 {
        self.allocation.saturating_sub(self.claimed)
    }

    /// True once the payer has asked to close.
    pub fn close_requested(&self) -> bool {
        self.close_requested_at != 0
    }

    /// True when the channel has an expiry and `now` has reached it.
    pub fn is_expired(&self, now: i64) -> bool {
        self.expires_at != 0 && now >= self.expires_at
    }
}
