//! Which channels to list, and the `getProgramAccounts` filters that find
//! them: a channel's data starts with its discriminator, then `escrow`,
//! `mint`, `creator` (32 bytes each), so a memcmp on one field and the
//! discriminator selects exactly the channels wanted.

use anchor_lang::{prelude::Pubkey, Discriminator};
use micropay::state::Channel;

/// Which channels to list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChannelFilter {
    /// Channels paying this creator.
    Creator(Pubkey),
    /// Channels funded by this escrow.
    Escrow(Pubkey),
}

/// A byte comparison against account data, as RPC's `memcmp` filter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Memcmp {
    /// Offset in the account data, bytes.
    pub offset: usize,
    /// The bytes expected there.
    pub bytes: Vec<u8>,
}

impl ChannelFilter {
    /// Whether `channel` is one of the channels the filter selects.
    pub fn matches(&self, channel: &Channel) -> bool {
        match self {
            ChannelFilter::Creator(c) => channel.creator == *c,
            ChannelFilter::Escrow(e) => channel.escrow == *e,
        }
    }

    /// The memcmp filter on the field this filter names.
    pub fn memcmp(&self) -> Memcmp {
        // discriminator (8), escrow (32), mint (32), creator (32)
        let (offset, key) = match self {
            ChannelFilter::Escrow(e) => (8, *e),
            ChannelFilter::Creator(c) => (8 + 32 + 32, *c),
        };
        Memcmp {
            offset,
            bytes: key.to_bytes().to_vec(),
        }
    }
}

/// The memcmp filter selecting channel accounts (their discriminator).
pub fn channel_discriminator() -> Memcmp {
    Memcmp {
        offset: 0,
        bytes: Channel::DISCRIMINATOR.to_vec(),
    }
}

/// The data size of every channel account, for RPC's `dataSize` filter.
pub fn channel_data_size() -> u64 {
    use anchor_lang::Space;
    // lossless: account sizes are far below u64::MAX
    (8 + Channel::INIT_SPACE) as u64
}

#[cfg(test)]
mod tests {
    use super::*;
    use anchor_lang::AccountSerialize;

    /// The offsets are the ones Anchor's serialization puts the fields at.
    #[test]
    fn memcmps_match_a_serialized_channel() {
        let channel = Channel {
            escrow: Pubkey::new_unique(),
            mint: Pubkey::new_unique(),
            creator: Pubkey::new_unique(),
            signer: Pubkey::new_unique(),
            allocation: 10,
            claimed: 5,
            fee_recipient: Pubkey::new_unique(),
            fee_bps: 100,
            dispute_window_secs: 900,
            expires_at: 0,
            close_requested_at: 0,
            id: 3,
            nonce: 4,
            bump: 255,
        };
        let mut data = Vec::new();
        channel.try_serialize(&mut data).unwrap();
        assert_eq!(data.len() as u64, channel_data_size());
        let at = |m: &Memcmp| data[m.offset..m.offset + m.bytes.len()].to_vec();
        assert_eq!(at(&channel_discriminator()), channel_discriminator().bytes);
        for filter in [
            ChannelFilter::Creator(channel.creator),
            ChannelFilter::Escrow(channel.escrow),
        ] {
            assert!(filter.matches(&channel));
            assert_eq!(at(&filter.memcmp()), filter.memcmp().bytes, "{filter:?}");
        }
        for other in [
            ChannelFilter::Creator(channel.escrow),
            ChannelFilter::Escrow(channel.creator),
        ] {
            assert!(!other.matches(&channel));
            assert_ne!(at(&other.memcmp()), other.memcmp().bytes, "{other:?}");
        }
    }
}
