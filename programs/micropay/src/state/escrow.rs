//! A payer's deposit for one mint.

use anchor_lang::prelude::*;

/// PDA `["escrow", owner, mint]`.
#[account]
#[derive(InitSpace, Debug, PartialEq, Eq)]
pub struct Escrow {
    /// Wallet that deposits, withdraws, opens and closes channels.
    pub owner: Pubkey,
    /// Mint of every amount in this escrow and its channels.
    pub mint: Pubkey,
    /// Free balance, base units of `mint`: withdrawable at once, not committed
    /// to any channel.
    pub balance: u64,
    /// Id the next channel gets. Only ever grows within this escrow.
    pub next_channel_id: u64,
    /// Slot in which this escrow was created. It is part of every channel's
    /// seeds, and `close_escrow` needs a later slot, so an escrow re-created for
    /// the same owner and mint always has a higher generation: no channel
    /// address (and so no voucher) of an earlier escrow can ever be derived again.
    pub generation: u64,
    /// Channels of this escrow that exist (opened and not yet closed).
    pub open_channels: u32,
    /// Canonical bump of this PDA.
    pub bump: u8,
}

impl Escrow {
    /// Holds for every escrow the program writes.
    pub fn invariant(&self) -> bool {
        u64::from(self.open_channels) <= self.next_channel_id
    }

    /// Takes back a closing channel's unclaimed allocation into the free balance
    /// and counts the channel as closed. Returns the refund.
    pub fn absorb_closed_channel(&mut self, channel: &super::Channel) -> Result<u64> {
        let refund = crate::math::sub(channel.allocation, channel.claimed)?;
        self.balance = crate::math::add(self.balance, refund)?;
        self.open_channels = self
            .open_channels
            .checked_sub(1)
            .ok_or_else(|| error!(crate::error::MicropayError::MathOverflow))?;
        Ok(refund)
    }
}
