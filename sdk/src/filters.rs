//! The `getProgramAccounts` filters that find micropay accounts, as plain
//! data ([`AccountFilter`]) that any transport turns into its own filters
//! (JSON-RPC's `dataSize`/`memcmp`, or a scan of a local bank).
//!
//! A channel's data starts with its discriminator, then `escrow`, `mint`,
//! `creator` (32 bytes each); an escrow's with its discriminator, then
//! `owner`. The size, the discriminator and a memcmp on one field select
//! exactly the accounts wanted.

use anchor_lang::{prelude::Pubkey, Discriminator, Space};
use micropay::state::{Channel, Escrow};

/// One condition on a program account's data, as RPC's filters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AccountFilter {
    /// The data is exactly this many bytes.
    DataSize(u64),
    /// The data holds these bytes at this offset.
    Memcmp(Memcmp),
}

impl AccountFilter {
    /// Whether account data `data` passes this filter.
    pub fn matches(&self, data: &[u8]) -> bool {
        match self {
            AccountFilter::DataSize(size) => u64::try_from(data.len()) == Ok(*size),
            AccountFilter::Memcmp(m) => m
                .offset
                .checked_add(m.bytes.len())
                .and_then(|end| data.get(m.offset..end))
                .is_some_and(|found| found == m.bytes.as_slice()),
        }
    }
}

/// Whether `data` passes every filter of `filters`.
pub fn matches_all(filters: &[AccountFilter], data: &[u8]) -> bool {
    filters.iter().all(|f| f.matches(data))
}

/// The filters selecting the channels of `filter` (every channel when `None`).
pub fn channels(filter: Option<ChannelFilter>) -> Vec<AccountFilter> {
    let mut filters = vec![
        AccountFilter::DataSize(channel_data_size()),
        AccountFilter::Memcmp(channel_discriminator()),
    ];
    filters.extend(filter.map(|f| AccountFilter::Memcmp(f.memcmp())));
    filters
}

/// The filters selecting the escrows of `owner` (every escrow when `None`).
pub fn escrows(owner: Option<Pubkey>) -> Vec<AccountFilter> {
    let mut filters = vec![
        // lossless: account sizes are far below u64::MAX
        AccountFilter::DataSize((8 + Escrow::INIT_SPACE) as u64),
        AccountFilter::Memcmp(Memcmp {
            offset: 0,
            bytes: Escrow::DISCRIMINATOR.to_vec(),
        }),
    ];
    filters.extend(owner.map(|owner| {
        AccountFilter::Memcmp(Memcmp {
            offset: 8,
            bytes: owner.to_bytes().to_vec(),
        })
    }));
    filters
}

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
            assert!(!matches_all(&channels(Some(other)), &data));
        }
        assert!(matches_all(&channels(None), &data));
        assert!(matches_all(
            &channels(Some(ChannelFilter::Creator(channel.creator))),
            &data
        ));
        assert!(!matches_all(&escrows(None), &data));
        // one byte short or long is another account
        assert!(!matches_all(&channels(None), &data[..data.len() - 1]));
    }

    #[test]
    fn escrow_filters_match_a_serialized_escrow() {
        let escrow = Escrow {
            owner: Pubkey::new_unique(),
            mint: Pubkey::new_unique(),
            balance: 7,
            next_channel_id: 2,
            generation: 9,
            open_channels: 1,
            bump: 254,
        };
        let mut data = Vec::new();
        escrow.try_serialize(&mut data).unwrap();
        assert!(matches_all(&escrows(None), &data));
        assert!(matches_all(&escrows(Some(escrow.owner)), &data));
        assert!(!matches_all(&escrows(Some(escrow.mint)), &data));
        assert!(!matches_all(&channels(None), &data));
    }

    #[test]
    fn a_memcmp_past_the_end_matches_nothing() {
        let far = AccountFilter::Memcmp(Memcmp {
            offset: usize::MAX,
            bytes: vec![1],
        });
        assert!(!far.matches(&[1, 2, 3]));
        let empty_at_end = AccountFilter::Memcmp(Memcmp {
            offset: 3,
            bytes: vec![],
        });
        assert!(empty_at_end.matches(&[1, 2, 3]));
    }
}
