//! A royalty split: one payee address that pays several owners in fixed
//! shares.

use crate::constants::{BPS_DENOMINATOR, MAX_SPLIT_RECIPIENTS};
use anchor_lang::prelude::borsh;
use anchor_lang::prelude::*;

/// One owner of a split and its share.
#[derive(AnchorSerialize, AnchorDeserialize, InitSpace, Clone, Copy, Debug, PartialEq, Eq)]
pub struct SplitRecipient {
    /// Wallet that receives this share (its earnings account for the mint).
    pub owner: Pubkey,
    /// Share, basis points of everything the split receives (> 0).
    pub bps: u16,
}

/// PDA `["split", mint, sha256(recipients)]` (recipients Borsh-encoded, in
/// ascending order of owner): one address per set of shares and mint, created
/// once by anyone and never changed. A channel pays a split as it pays a
/// creator (`channel.creator` is the split's address): claims credit the
/// split's own earnings account `["earnings", split, mint]`, which only
/// `distribute` empties (a PDA cannot sign a withdrawal).
#[account]
#[derive(InitSpace, Debug, PartialEq, Eq)]
pub struct Split {
    /// Mint of everything this split receives and pays.
    pub mint: Pubkey,
    /// The owners and their shares: 1 to 32, in strictly ascending order of
    /// owner (so each appears once), shares summing to 10,000 bps.
    #[max_len(32)]
    pub recipients: Vec<SplitRecipient>,
    /// Base units distributed to each recipient so far (same order). After a
    /// distribution each is `floor(received × bps / 10,000)` of the split's
    /// total received, whatever the number of distributions before.
    #[max_len(32)]
    pub distributed: Vec<u64>,
    /// Canonical bump of this PDA.
    pub bump: u8,
}

impl Split {
    /// Account data bytes of a split of `recipients` recipients
    /// (discriminator included): splits are created at their exact size.
    pub const fn space(recipients: usize) -> usize {
        // at most 32 recipients: far from overflowing
        let per = SplitRecipient::INIT_SPACE.saturating_add(8);
        (8 + 32 + 4 + 4 + 1usize).saturating_add(recipients.saturating_mul(per))
    }

    /// The shares are well formed: 1 to 32 recipients, ascending owners
    /// (no duplicates), every share above 0, the shares summing to 10,000.
    pub fn shares_valid(recipients: &[SplitRecipient]) -> bool {
        let total: u64 = recipients.iter().map(|r| u64::from(r.bps)).sum();
        !recipients.is_empty()
            && recipients.len() <= usize::from(MAX_SPLIT_RECIPIENTS)
            && recipients.iter().all(|r| r.bps > 0)
            && recipients.windows(2).all(|w| w[0].owner < w[1].owner)
            && total == BPS_DENOMINATOR
    }

    /// Holds for every split the program writes.
    pub fn invariant(&self) -> bool {
        Self::shares_valid(&self.recipients) && self.distributed.len() == self.recipients.len()
    }
}

/// The hash in a split's seeds: SHA-256 of its recipients, Borsh-encoded.
pub fn split_hash(recipients: &[SplitRecipient]) -> Result<[u8; 32]> {
    use sha2::{Digest, Sha256};
    let bytes = borsh::to_vec(&recipients.to_vec())
        .map_err(|_| error!(crate::error::MicropayError::InvalidSplitShares))?;
    Ok(Sha256::digest(&bytes).into())
}
