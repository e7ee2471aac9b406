//! The receiver side, for creators and dApps: `accept(voucher, price)` decides
//! whether a use is paid.
//!
//! Checks, in order: the channel exists and pays this creator; it is not
//! closing and not about to expire; the signature verifies strictly against the
//! channel's signer; the amount stays within the allocation; and it is ahead of
//! the best voucher held (or of what was already claimed) by at least the
//! price. The voucher is durable in the store before `accept` returns. The
//! compare-and-store is one store transaction, so concurrent requests on one
//! channel can never both count the same increment.

use crate::{
    accounts,
    error::{ClientError, Result},
    ledger::Ledger,
    store::{RecordOutcome, VoucherStore},
    voucher::Voucher,
};
use anchor_lang::prelude::Pubkey;
use micropay::state::Channel;
use std::{
    collections::HashMap,
    sync::Arc,
    time::{Duration, Instant},
};
use tokio::sync::Mutex;

/// Why a voucher was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    #[error("channel {0} does not exist (closed or never opened)")]
    UnknownChannel(Pubkey),
    #[error("channel {channel} pays {actual}, not this creator")]
    WrongCreator { channel: Pubkey, actual: Pubkey },
    #[error("channel {0} is closing; ask the payer for a new channel")]
    ChannelClosing(Pubkey),
    #[error("channel {0} expires too soon to accept more payments")]
    ChannelExpiring(Pubkey),
    #[error("voucher amount {amount} is above the channel allocation {allocation}")]
    ExceedsAllocation { amount: u64, allocation: u64 },
    #[error("voucher amount {amount} is not above the {current} already held")]
    NotAhead { amount: u64, current: u64 },
    #[error("voucher pays {paid} more, less than the price {price}")]
    Underpaid { paid: u64, price: u64 },
}

/// What an accepted voucher paid.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Acceptance {
    /// A new, higher voucher: it paid `increment` (≥ the price).
    Paid { increment: u64 },
    /// The same voucher again (a retry): accepted, not counted twice.
    Duplicate,
}

#[derive(Clone, Copy, Debug)]
pub struct ReceiverConfig {
    /// How long a fetched channel state is trusted.
    pub max_age: Duration,
    /// Refuse vouchers on channels that expire within this many seconds (the
    /// planner needs time to claim).
    pub expiry_margin_secs: i64,
}

impl Default for ReceiverConfig {
    fn default() -> Self {
        ReceiverConfig {
            max_age: Duration::from_secs(30),
            expiry_margin_secs: 600,
        }
    }
}

struct Cached {
    channel: Channel,
    /// Cluster clock when fetched.
    unix_timestamp: i64,
    fetched: Instant,
}

pub struct Receiver {
    ledger: Arc<dyn Ledger>,
    store: Arc<dyn VoucherStore>,
    creator: Pubkey,
    config: ReceiverConfig,
    cache: Mutex<HashMap<Pubkey, Cached>>,
}

impl Receiver {
    pub fn new(
        ledger: Arc<dyn Ledger>,
        store: Arc<dyn VoucherStore>,
        creator: Pubkey,
        config: ReceiverConfig,
    ) -> Self {
        Receiver {
            ledger,
            store,
            creator,
            config,
            cache: Mutex::new(HashMap::new()),
        }
    }

    pub fn creator(&self) -> Pubkey {
        self.creator
    }

    /// Channel state and an estimate of the cluster clock, from the cache or
    /// the ledger; `refresh` forces a read.
    async fn channel(&self, address: &Pubkey, refresh: bool) -> Result<(Channel, i64)> {
        let mut cache = self.cache.lock().await;
        if !refresh {
            if let Some(c) = cache.get(address) {
                let age = c.fetched.elapsed();
                if age <= self.config.max_age {
                    let now = c
                        .unix_timestamp
                        .saturating_add(i64::try_from(age.as_secs()).unwrap_or(i64::MAX));
                    return Ok((c.channel.clone(), now));
                }
            }
        }
        let channel = accounts::channel(self.ledger.as_ref(), address)
            .await?
            .ok_or(ClientError::Rejected(Rejection::UnknownChannel(*address)))?;
        let unix_timestamp = self.ledger.unix_timestamp().await?;
        cache.insert(
            *address,
            Cached {
                channel: channel.clone(),
                unix_timestamp,
                fetched: Instant::now(),
            },
        );
        Ok((channel, unix_timestamp))
    }

    /// Forgets cached channel state (e.g. after a top-up or a close request
    /// was seen).
    pub async fn invalidate(&self, channel: &Pubkey) {
        self.cache.lock().await.remove(channel);
    }

    /// Accepts `voucher` as payment of `price` for one use.
    pub async fn accept(&self, voucher: &Voucher, price: u64) -> Result<Acceptance> {
        let (mut channel, mut now) = self.channel(&voucher.channel, false).await?;
        if voucher.amount > channel.allocation || channel.close_requested() {
            // maybe topped up, or the cache is behind: look again once
            (channel, now) = self.channel(&voucher.channel, true).await?;
        }
        if channel.creator != self.creator {
            return Err(Rejection::WrongCreator {
                channel: voucher.channel,
                actual: channel.creator,
            }
            .into());
        }
        if channel.close_requested() {
            return Err(Rejection::ChannelClosing(voucher.channel).into());
        }
        if channel.expires_at != 0
            && now.saturating_add(self.config.expiry_margin_secs) >= channel.expires_at
        {
            return Err(Rejection::ChannelExpiring(voucher.channel).into());
        }
        voucher.verify(&channel.signer)?;
        if voucher.amount > channel.allocation {
            return Err(Rejection::ExceedsAllocation {
                amount: voucher.amount,
                allocation: channel.allocation,
            }
            .into());
        }
        match self.store.record(
            voucher,
            &channel.creator,
            &channel.mint,
            channel.claimed,
            price,
        )? {
            RecordOutcome::Accepted { previous } => Ok(Acceptance::Paid {
                increment: voucher.amount.saturating_sub(previous),
            }),
            RecordOutcome::Duplicate => Ok(Acceptance::Duplicate),
            RecordOutcome::NotAhead { current } => Err(Rejection::NotAhead {
                amount: voucher.amount,
                current,
            }
            .into()),
            RecordOutcome::Underpaid { current } => Err(Rejection::Underpaid {
                paid: voucher.amount.saturating_sub(current),
                price,
            }
            .into()),
        }
    }
}
