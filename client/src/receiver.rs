//! The receiver side, for creators and dApps: `accept(voucher, price)` decides
//! whether a use is paid, and only says so when the creator will collect it.
//!
//! # The receiver's contract
//!
//! What `accept` returns as a [`Payment`], the creator collects on chain — net
//! of the fee share it agreed to — provided its watcher runs (`micropay watch`,
//! or `micropay claim` at least once per dispute window). So the receiver
//! refuses, cheapest check first:
//!
//! - a channel that does not pay this creator, or does not exist (unknown
//!   channels are remembered for a short while: a negative cache entry);
//! - a mint outside [`ReceiverConfig::mints`] (a payer can mint a token of its
//!   own for free);
//! - a fee share outside [`FeePolicy`] (default: none allowed), and it counts
//!   the increment **net of the fee share** against the price;
//! - a dispute window below [`ReceiverConfig::min_dispute_window_secs`]
//!   (default 15 minutes), a close request, or an expiry too close;
//! - a channel whose creator or fee-recipient earnings account for the mint
//!   does not exist (its claim would settle nothing);
//! - a bad signature (strict, as the program verifies), an amount above the
//!   allocation, a voucher not ahead of the best one held (or of what was
//!   claimed on chain), an increment below the price;
//! - **a duplicate**: the same voucher again is a [`Rejection::Duplicate`]
//!   error, never a payment, so a retry can never buy a second use.
//!
//! A voucher the store already answers (a retry, an older amount) is refused
//! before any RPC call; unknown channels are remembered for the state-age
//! bound (a negative cache entry), so junk costs one read per channel.
//!
//! Channel state is never older than [`ReceiverConfig::max_state_age`]
//! (capped at a tenth of the minimum dispute window), so a voucher accepted
//! after a close request still leaves the watcher almost the whole window to
//! claim it.
//!
//! The voucher is durable in the store before `accept` returns. Accepts of one
//! channel are serialized by a per-channel lock (never a global one across RPC
//! calls); accepts of different channels run in parallel and share durable
//! commits ([`crate::store::commit`]: group commit, one fsync for all the
//! accepts waiting on the disk). The write is a compare-and-swap on the row's
//! version, so even receivers on several machines sharing one store can never
//! count the same increment twice. The receiver keeps each channel's row
//! beside its cached state and re-reads it only when a swap finds it moved; no
//! store I/O runs on the async worker threads.

use crate::{
    accounts,
    error::Result,
    ledger::Ledger,
    store::{
        commit::GroupCommit,
        rules::{self, Recorded, Sighting},
        AsyncStore, Credit, ReceiverStore, VoucherRecord,
    },
};
use anchor_lang::prelude::Pubkey;
use micropay::state::Channel;
use micropay_sdk::{
    pda,
    voucher::{SignerKey, Voucher},
};
use solana_sdk::hash::Hash;
use std::{
    collections::{HashMap, HashSet},
    sync::{Arc, Mutex as StdMutex},
    time::{Duration, Instant},
};
use tokio::sync::{Mutex, OnceCell};

pub use crate::rejection::Rejection;

/// What an accepted voucher paid: the only success `accept` returns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Payment {
    /// The channel paid.
    pub channel: Pubkey,
    /// The voucher's cumulative amount, base units.
    pub cumulative: u64,
    /// Gross increment over the best voucher held before (creator + fee share).
    pub increment: u64,
    /// The creator's part of `increment` (net of the fee share, computed
    /// cumulatively as the program does): what the creator collects. ≥ price.
    pub net: u64,
    /// The channel's allocation as read: `allocation - cumulative` is what
    /// the payer can still pay without a top-up.
    pub allocation: u64,
    /// The channel's voucher-signing key (the payer's session key).
    pub signer: Pubkey,
    /// The channel's mint: what `net` is counted in.
    pub mint: Pubkey,
}

/// A mint the receiver accepts, and what one base unit is worth in lamports,
/// as an exact ratio (`lamports` per `per_units` base units): the claim
/// planner weighs settled value against fees paid in lamports with it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AcceptedMint {
    /// The mint.
    pub mint: Pubkey,
    /// Lamports ...
    pub lamports: u64,
    /// ... per this many base units.
    pub per_units: u64,
}

impl AcceptedMint {
    /// Wrapped SOL: one base unit is one lamport.
    pub fn wrapped_sol() -> Self {
        AcceptedMint {
            mint: anchor_spl::token::spl_token::native_mint::ID,
            lamports: 1,
            per_units: 1,
        }
    }
}

/// Which dApp fee shares a receiver accepts. A channel without fee share is
/// always accepted; one with a share must name an allowed recipient and at
/// most `max_bps`. Default: no fee share allowed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FeePolicy {
    /// Fee recipients allowed.
    pub recipients: HashSet<Pubkey>,
    /// Highest fee share allowed, basis points.
    pub max_bps: u16,
}

impl FeePolicy {
    /// Allows `recipient` to take up to `max_bps` (and keeps earlier ones).
    pub fn allow(mut self, recipient: Pubkey, max_bps: u16) -> Self {
        self.recipients.insert(recipient);
        self.max_bps = self.max_bps.max(max_bps);
        self
    }

    /// Whether `channel`'s fee share is acceptable.
    pub fn accepts(&self, channel: &Channel) -> bool {
        channel.fee_bps == 0
            || (self.recipients.contains(&channel.fee_recipient) && channel.fee_bps <= self.max_bps)
    }
}

/// Most credits (paid requests not served, see [`Receiver::keep_credit`])
/// a store keeps: each costs whoever made it a paid request, so it bounds
/// a payer who pays to fill the table.
pub const MAX_CREDITS: u64 = 100_000;

/// What a receiver accepts.
#[derive(Clone, Debug)]
pub struct ReceiverConfig {
    /// Accepted mints; a voucher of any other mint is refused.
    pub mints: Vec<AcceptedMint>,
    /// Accepted dApp fee shares.
    pub fees: FeePolicy,
    /// Shortest dispute window accepted, seconds (default 15 minutes): the
    /// time the watcher has to claim after a close request.
    pub min_dispute_window_secs: u32,
    /// How long a fetched channel state is trusted; capped at a tenth of
    /// `min_dispute_window_secs`.
    pub max_state_age: Duration,
    /// Refuse vouchers on channels that expire within this many seconds (the
    /// planner needs time to claim).
    pub expiry_margin_secs: i64,
    /// Most channels whose state is cached (entries in use are never evicted).
    pub cache_capacity: usize,
    /// Most accepted vouchers made durable by one commit (group commit; 1:
    /// one commit each). Accepts waiting for the disk share the next commit.
    pub group_commit: usize,
}

impl Default for ReceiverConfig {
    /// Accepts no mint: name them with [`ReceiverConfig::accepting`].
    fn default() -> Self {
        ReceiverConfig {
            mints: Vec::new(),
            fees: FeePolicy::default(),
            min_dispute_window_secs: 15 * 60,
            max_state_age: Duration::from_secs(30),
            expiry_margin_secs: 600,
            cache_capacity: 100_000,
            group_commit: crate::store::commit::DEFAULT_MAX_BATCH,
        }
    }
}

impl ReceiverConfig {
    /// The defaults, accepting `mints`.
    pub fn accepting(mints: impl IntoIterator<Item = AcceptedMint>) -> Self {
        ReceiverConfig {
            mints: mints.into_iter().collect(),
            ..ReceiverConfig::default()
        }
    }

    /// The effective state age bound: at most a tenth of the minimum window.
    pub fn state_age_bound(&self) -> Duration {
        self.max_state_age.min(Duration::from_secs(
            u64::from(self.min_dispute_window_secs) / 10,
        ))
    }

    fn accepts_mint(&self, mint: &Pubkey) -> bool {
        self.mints.iter().any(|m| m.mint == *mint)
    }
}

/// The creator's part of a cumulative amount on a channel with `fee_bps`:
/// `amount − floor(amount × bps / 10⁴)`, as the program settles it.
pub fn creator_share(amount: u64, fee_bps: u16) -> u64 {
    let fee = micropay::math::cumulative_fee(amount, fee_bps).unwrap_or(u64::MAX);
    amount.saturating_sub(fee)
}

/// The smallest gross increment over `cumulative` whose creator part is at
/// least `net` on a channel with `fee_bps`: what a payer pays for a use the
/// creator prices at `net`. `None` when it would overflow.
pub fn gross_for_net(cumulative: u64, net: u64, fee_bps: u16) -> Option<u64> {
    let base = creator_share(cumulative, fee_bps);
    let keep = micropay::constants::BPS_DENOMINATOR.checked_sub(u64::from(fee_bps))?;
    if keep == 0 {
        return (net == 0).then_some(0);
    }
    // The creator part of g is at most g·keep/10⁴ + 1, so no g below this
    // bound pays `net`; the answer is at most three steps above it.
    let lower = u128::from(net.saturating_sub(1))
        .checked_mul(u128::from(micropay::constants::BPS_DENOMINATOR))?
        .checked_div(u128::from(keep))?;
    let mut gross = u64::try_from(lower).ok()?;
    loop {
        let after = cumulative.checked_add(gross)?;
        if creator_share(after, fee_bps).saturating_sub(base) >= net {
            return Some(gross);
        }
        gross = gross.checked_add(1)?;
    }
}

/// The lock slot of `channel` in `cache`; when the cache is full, idle slots
/// (held by no one) are evicted down to three quarters of `capacity`. Slots in
/// use are never evicted, so two accepts of one channel always share a lock.
fn slot_in(cache: &mut HashMap<Pubkey, Slot>, channel: &Pubkey, capacity: usize) -> Slot {
    if cache.len() >= capacity.max(1) && !cache.contains_key(channel) {
        let keep = capacity.saturating_mul(3) / 4;
        let idle: Vec<Pubkey> = cache
            .iter()
            .filter(|(_, slot)| Arc::strong_count(slot) == 1)
            .map(|(k, _)| *k)
            .take(cache.len().saturating_sub(keep))
            .collect();
        for key in idle {
            cache.remove(&key);
        }
    }
    cache.entry(*channel).or_default().clone()
}

/// What a cache slot knows about a channel.
#[derive(Clone)]
enum Known {
    Channel(Box<Channel>),
    Missing,
}

struct Cached {
    known: Known,
    /// Cluster clock when fetched.
    unix_timestamp: i64,
    /// Slot of the read.
    slot: u64,
    fetched: Instant,
}

/// A channel's state and where and when it was read.
struct Read {
    channel: Channel,
    /// Estimate of the cluster clock now.
    now: i64,
    slot: u64,
}

/// What the receiver keeps per channel, under the channel's lock.
#[derive(Default)]
struct SlotState {
    /// The channel's state as last read from the ledger.
    chain: Option<Cached>,
    /// The store row as last read or written (`Some(None)`: no row). With a
    /// store shared by other receivers it may be behind: refusals decided on
    /// it are still sound (rows only move up), and a write decided on it is a
    /// compare-and-swap that fails, and is re-decided on a fresh read, if the
    /// row moved.
    row: Option<Option<VoucherRecord>>,
    /// The channel's signer, checked and decoded once.
    key: Option<SignerKey>,
}

type Slot = Arc<Mutex<SlotState>>;

/// The creator's side: accepts vouchers that will be money, durably, once each.
pub struct Receiver {
    ledger: Arc<dyn Ledger>,
    store: AsyncStore,
    creator: Pubkey,
    config: ReceiverConfig,
    /// The cluster's genesis hash, read once: rows record where they were seen.
    cluster: OnceCell<Hash>,
    /// Per-channel slots: the std mutex is held only to find a slot, never
    /// across an await; each slot's async mutex serializes one channel.
    cache: StdMutex<HashMap<Pubkey, Slot>>,
    /// The store's group-committing writer (started on first use).
    commit: OnceCell<GroupCommit>,
    /// (owner, mint) pairs whose earnings account was seen to exist (they are
    /// closed only by their owner; the planner re-creates a missing one before
    /// claiming). Keyed by the pair, not the address: a known pair then costs
    /// no PDA search, whose off-curve checks each cost a field square root.
    earnings: StdMutex<HashSet<(Pubkey, Pubkey)>>,
}

impl Receiver {
    /// A receiver for `creator`, reading `ledger`, recording in `store`.
    pub fn new(
        ledger: Arc<dyn Ledger>,
        store: Arc<dyn ReceiverStore>,
        creator: Pubkey,
        config: ReceiverConfig,
    ) -> Self {
        Receiver {
            ledger,
            store: AsyncStore::new(store),
            creator,
            config,
            cluster: OnceCell::new(),
            cache: StdMutex::new(HashMap::new()),
            commit: OnceCell::new(),
            earnings: StdMutex::new(HashSet::new()),
        }
    }

    /// The creator paid.
    pub fn creator(&self) -> Pubkey {
        self.creator
    }

    /// Its store, as async code reaches it (the paywall records `exact`
    /// payments there, beside the vouchers).
    pub fn store(&self) -> &AsyncStore {
        &self.store
    }

    /// What it accepts.
    pub fn config(&self) -> &ReceiverConfig {
        &self.config
    }

    /// The lock slot of `channel`; evicts idle slots when over capacity.
    fn slot(&self, channel: &Pubkey) -> Slot {
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        slot_in(&mut cache, channel, self.config.cache_capacity)
    }

    /// Channel state and an estimate of the cluster clock, from `cached` when
    /// fresh enough (and `refresh` is false), otherwise read from the ledger
    /// (confirmed commitment, with the slot of the read).
    async fn channel_state(
        &self,
        address: &Pubkey,
        cached: &mut Option<Cached>,
        refresh: bool,
    ) -> Result<Read> {
        let bound = self.config.state_age_bound();
        if let Some(c) = cached
            .as_ref()
            .filter(|c| !refresh && c.fetched.elapsed() <= bound)
        {
            let age = i64::try_from(c.fetched.elapsed().as_secs()).unwrap_or(i64::MAX);
            return match &c.known {
                Known::Channel(channel) => Ok(Read {
                    channel: (**channel).clone(),
                    now: c.unix_timestamp.saturating_add(age),
                    slot: c.slot,
                }),
                Known::Missing => Err(Rejection::UnknownChannel(*address).into()),
            };
        }
        let observed = self.ledger.observe(std::slice::from_ref(address)).await?;
        let slot = observed.slots.first().copied().unwrap_or(0);
        let channel = match observed.accounts.into_iter().next().flatten() {
            Some(account) => {
                micropay_sdk::accounts::decode::<Channel>(address, &account, "channel")?
            }
            None => None,
        };
        // the clock only matters for a channel that exists: junk on random
        // addresses costs one read, not two
        let unix_timestamp = match channel {
            Some(_) => self.ledger.unix_timestamp().await?,
            None => 0,
        };
        *cached = Some(Cached {
            known: channel
                .clone()
                .map_or(Known::Missing, |c| Known::Channel(Box::new(c))),
            unix_timestamp,
            slot,
            fetched: Instant::now(),
        });
        let channel = channel.ok_or(Rejection::UnknownChannel(*address))?;
        Ok(Read {
            channel,
            now: unix_timestamp,
            slot,
        })
    }

    /// The group-committing writer of the store, started on first use.
    async fn committer(&self) -> Result<&GroupCommit> {
        self.commit
            .get_or_try_init(|| async {
                GroupCommit::start(self.store.blocking().clone(), self.config.group_commit)
            })
            .await
    }

    /// Commits made and rows written through group commit so far.
    pub fn commit_stats(&self) -> (u64, u64) {
        self.commit.get().map_or((0, 0), GroupCommit::stats)
    }

    /// The best voucher held for `channel` of this creator, and what the
    /// channel had settled on chain when last seen (base units): what a payer
    /// that lost its state resumes from. Reads only the store, on tokio's
    /// blocking pool (a store read may be a database round trip).
    pub async fn held(&self, channel: &Pubkey) -> Result<Option<(Voucher, u64)>> {
        Ok(self
            .store
            .get(channel)
            .await?
            .filter(|row| row.creator == self.creator)
            .map(|row| (row.voucher, row.claimed)))
    }

    /// [`Receiver::held`], disclosed only to the holder of `presented`: a
    /// voucher of the same channel that verifies against the channel's
    /// signer (or is the held voucher itself). A junk voucher on someone
    /// else's channel learns nothing (`None`), so nobody but the payer can
    /// read, and replay, the payer's latest voucher. Costs at most one
    /// cached channel read.
    pub async fn held_for(&self, presented: &Voucher) -> Result<Option<(Voucher, u64)>> {
        let Some((held, claimed)) = self.held(&presented.channel).await? else {
            return Ok(None);
        };
        if held == *presented {
            return Ok(Some((held, claimed)));
        }
        let slot = self.slot(&presented.channel);
        let mut state = slot.lock().await;
        let read = match self
            .channel_state(&presented.channel, &mut state.chain, false)
            .await
        {
            Ok(read) => read,
            Err(crate::ClientError::Rejected(_)) => return Ok(None),
            Err(e) => return Err(e),
        };
        let key = match &mut state.key {
            Some(key) if key.pubkey() == &read.channel.signer => key,
            slot => slot.insert(SignerKey::new(&read.channel.signer)?),
        };
        Ok(presented
            .verify_with(key)
            .is_ok()
            .then_some((held, claimed)))
    }

    /// Keeps `credit` durably (a paid request that was not served: the
    /// same voucher sent again for the same route buys one serving); `false`
    /// when it was kept already, or when [`MAX_CREDITS`] are kept (then it
    /// is not: the paywall's answer says so).
    pub async fn keep_credit(&self, credit: Credit) -> Result<bool> {
        Ok(self
            .store
            .put_credit_within(credit, MAX_CREDITS)
            .await?
            .unwrap_or(false))
    }

    /// Takes the credit of `(channel, amount, route)`, if one is kept: of
    /// concurrent takers (on any gateway sharing the store) one gets it.
    pub async fn take_credit(
        &self,
        channel: &Pubkey,
        amount: u64,
        route: &str,
    ) -> Result<Option<Credit>> {
        self.store.take_credit(channel, amount, route).await
    }

    /// How many credits the store keeps.
    pub async fn count_credits(&self) -> Result<u64> {
        self.store.count_credits().await
    }

    /// Forgets cached channel state (e.g. after a top-up or a close request
    /// was seen).
    pub async fn invalidate(&self, channel: &Pubkey) {
        *self.slot(channel).lock().await = SlotState::default();
    }

    /// Refuses the channel unless `owner`'s earnings account for the mint exists.
    async fn require_earnings(
        &self,
        channel: &Pubkey,
        owner: &Pubkey,
        mint: &Pubkey,
    ) -> Result<()> {
        let known = self
            .earnings
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains(&(*owner, *mint));
        if known {
            return Ok(());
        }
        let account = pda::earnings(owner, mint).0;
        if accounts::earnings(self.ledger.as_ref(), &account)
            .await?
            .is_none()
        {
            return Err(Rejection::EarningsMissing {
                channel: *channel,
                owner: *owner,
                account,
            }
            .into());
        }
        self.earnings
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert((*owner, *mint));
        Ok(())
    }

    /// Accepts `voucher` as payment of `price` (base units the creator must
    /// receive, net of any fee share) for one use. `Ok` only for a new payment.
    /// Holds the channel's lock (only this channel's) until the voucher is
    /// stored, so accepts of one channel never race within this receiver.
    pub async fn accept(&self, voucher: &Voucher, price: u64) -> Result<Payment> {
        self.accept_priced(voucher, &|_| Some(price)).await
    }

    /// [`Receiver::accept`] with a price that depends on the channel's mint
    /// (`price(mint)`, base units of that mint): a mint it gives no price
    /// for is refused as [`Rejection::MintNotAccepted`], like a mint outside
    /// the receiver's configuration.
    pub async fn accept_priced(
        &self,
        voucher: &Voucher,
        price: &(dyn Fn(&Pubkey) -> Option<u64> + Sync),
    ) -> Result<Payment> {
        let lock = self.slot(&voucher.channel);
        let mut state = lock.lock().await;
        let commit = self.committer().await?;
        // cheap checks first: a retry or an old voucher of this creator's
        // channel needs no RPC call (a shared store may hold other creators')
        if state.row.is_none() {
            state.row = Some(commit.get(&voucher.channel).await?);
        }
        let known = state.row.as_ref().and_then(Option::as_ref);
        if let Some(row) = known.filter(|r| r.creator == self.creator) {
            rules::standing(Some(row), voucher, 0)
                .map_err(|outcome| refusal(outcome, voucher, &|_| 0, 0))?;
        }
        let mut read = self
            .channel_state(&voucher.channel, &mut state.chain, false)
            .await?;
        if voucher.amount > read.channel.allocation {
            // maybe topped up since: look again once
            read = self
                .channel_state(&voucher.channel, &mut state.chain, true)
                .await?;
        }
        let Read {
            channel,
            now,
            slot: read_slot,
        } = read;
        let id = voucher.channel;
        let price = admit(
            &self.config,
            &self.creator,
            &id,
            &channel,
            now,
            price(&channel.mint),
        )?;
        let key = match &mut state.key {
            Some(key) if key.pubkey() == &channel.signer => key,
            cached => cached.insert(SignerKey::new(&channel.signer)?),
        };
        voucher.verify_with(key)?;
        if voucher.amount > channel.allocation {
            return Err(Rejection::ExceedsAllocation {
                amount: voucher.amount,
                allocation: channel.allocation,
            }
            .into());
        }
        self.require_earnings(&id, &channel.creator, &channel.mint)
            .await?;
        if channel.fee_bps > 0 {
            self.require_earnings(&id, &channel.fee_recipient, &channel.mint)
                .await?;
        }
        let cluster = *self
            .cluster
            .get_or_try_init(|| self.ledger.genesis_hash())
            .await?;
        let seen = Sighting {
            cluster,
            slot: read_slot,
            claimed: channel.claimed,
            allocation: channel.allocation,
        };
        let bps = channel.fee_bps;
        let net_above = |current: u64| {
            creator_share(voucher.amount, bps).saturating_sub(creator_share(current, bps))
        };
        let outcome = commit
            .record_voucher(
                &mut state.row,
                voucher,
                &channel.creator,
                &channel.mint,
                &seen,
                &|current| net_above(current) >= price,
            )
            .await?;
        drop(state);
        match outcome {
            Recorded::Accepted { previous } => Ok(Payment {
                channel: id,
                cumulative: voucher.amount,
                increment: voucher.amount.saturating_sub(previous),
                net: net_above(previous),
                allocation: channel.allocation,
                signer: channel.signer,
                mint: channel.mint,
            }),
            refused => Err(refusal(refused, voucher, &net_above, price).into()),
        }
    }
}

/// Why a recording refused `voucher` (priced at `price`; `net_above(current)`
/// is what it pays the creator above `current`), as the receiver says it.
fn refusal(
    outcome: Recorded,
    voucher: &Voucher,
    net_above: &dyn Fn(u64) -> u64,
    price: u64,
) -> Rejection {
    match outcome {
        Recorded::NotAhead { current } => Rejection::NotAhead {
            amount: voucher.amount,
            current,
        },
        Recorded::Underpaid { current } => Rejection::Underpaid {
            paid: net_above(current),
            price,
        },
        Recorded::Duplicate | Recorded::Accepted { .. } => Rejection::Duplicate {
            channel: voucher.channel,
            amount: voucher.amount,
        },
    }
}

/// The receiver's admission rule, before the signature is checked: the
/// channel (`id`, its on-chain `channel` at unix time `now`) must pay
/// `creator` in a mint `config` accepts and `price` gives a price for
/// (that price is returned), with an accepted fee share, a long enough
/// dispute window, no close request and no expiry within the margin.
pub fn admit(
    config: &ReceiverConfig,
    creator: &Pubkey,
    id: &Pubkey,
    channel: &Channel,
    now: i64,
    price: Option<u64>,
) -> std::result::Result<u64, Rejection> {
    let id = *id;
    if channel.creator != *creator {
        return Err(Rejection::WrongCreator {
            channel: id,
            actual: channel.creator,
        });
    }
    let price = match price {
        Some(price) if config.accepts_mint(&channel.mint) => price,
        _ => {
            return Err(Rejection::MintNotAccepted {
                channel: id,
                mint: channel.mint,
            })
        }
    };
    if !config.fees.accepts(channel) {
        return Err(Rejection::FeeNotAccepted {
            channel: id,
            recipient: channel.fee_recipient,
            bps: channel.fee_bps,
        });
    }
    if channel.dispute_window_secs < config.min_dispute_window_secs {
        return Err(Rejection::DisputeWindowTooShort {
            channel: id,
            secs: channel.dispute_window_secs,
            min: config.min_dispute_window_secs,
        });
    }
    if channel.close_requested() {
        return Err(Rejection::ChannelClosing(id));
    }
    if channel.expires_at != 0
        && now.saturating_add(config.expiry_margin_secs) >= channel.expires_at
    {
        return Err(Rejection::ChannelExpiring(id));
    }
    Ok(price)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The admission rule alone, one refusal per condition, in its order,
    /// with the boundaries of the dispute window and the expiry margin.
    #[test]
    fn admission_refuses_each_condition_at_its_boundary() {
        let creator = Pubkey::new_unique();
        let id = Pubkey::new_unique();
        let sol = anchor_spl::token::spl_token::native_mint::ID;
        let config = ReceiverConfig::accepting([AcceptedMint::wrapped_sol()]);
        let good = || Channel {
            escrow: Pubkey::new_unique(),
            mint: sol,
            creator,
            signer: Pubkey::new_unique(),
            allocation: 1_000,
            claimed: 0,
            fee_recipient: Pubkey::default(),
            fee_bps: 0,
            dispute_window_secs: config.min_dispute_window_secs,
            expires_at: 0,
            close_requested_at: 0,
            id: 0,
            nonce: 0,
            bump: 255,
        };
        let admit_ = |c: &Channel, now: i64, price: Option<u64>| {
            admit(&config, &creator, &id, c, now, price)
        };
        assert_eq!(admit_(&good(), 0, Some(7)), Ok(7));
        let other = Pubkey::new_unique();
        let c = Channel {
            creator: other,
            ..good()
        };
        assert_eq!(
            admit_(&c, 0, Some(7)),
            Err(Rejection::WrongCreator {
                channel: id,
                actual: other
            })
        );
        let mint = Pubkey::new_unique();
        let c = Channel { mint, ..good() };
        assert_eq!(
            admit_(&c, 0, Some(7)),
            Err(Rejection::MintNotAccepted { channel: id, mint })
        );
        // an accepted mint the caller gives no price for is refused alike
        assert_eq!(
            admit_(&good(), 0, None),
            Err(Rejection::MintNotAccepted {
                channel: id,
                mint: sol
            })
        );
        let recipient = Pubkey::new_unique();
        let c = Channel {
            fee_recipient: recipient,
            fee_bps: 1,
            ..good()
        };
        assert_eq!(
            admit_(&c, 0, Some(7)),
            Err(Rejection::FeeNotAccepted {
                channel: id,
                recipient,
                bps: 1
            })
        );
        let min = config.min_dispute_window_secs;
        let c = Channel {
            dispute_window_secs: min - 1,
            ..good()
        };
        assert_eq!(
            admit_(&c, 0, Some(7)),
            Err(Rejection::DisputeWindowTooShort {
                channel: id,
                secs: min - 1,
                min
            })
        );
        let c = Channel {
            close_requested_at: 5,
            ..good()
        };
        assert_eq!(admit_(&c, 0, Some(7)), Err(Rejection::ChannelClosing(id)));
        let margin = config.expiry_margin_secs;
        let c = Channel {
            expires_at: 10_000,
            ..good()
        };
        assert_eq!(admit_(&c, 10_000 - margin - 1, Some(7)), Ok(7));
        assert_eq!(
            admit_(&c, 10_000 - margin, Some(7)),
            Err(Rejection::ChannelExpiring(id))
        );
    }

    #[test]
    fn creator_share_is_cumulative_and_monotone() {
        assert_eq!(creator_share(90, 1_000), 81);
        assert_eq!(creator_share(9, 1_000), 9);
        assert_eq!(creator_share(10, 1_000), 9);
        let mut last = 0;
        for amount in 0..2_000u64 {
            let share = creator_share(amount, 333);
            assert!(share >= last);
            last = share;
        }
        assert_eq!(creator_share(u64::MAX, 0), u64::MAX);
    }

    #[test]
    fn gross_for_net_is_the_smallest_sufficient_increment() {
        for bps in [0u16, 1, 250, 999, 1_000] {
            for cumulative in [0u64, 1, 9, 12_345, 99_999] {
                for net in [0u64, 1, 2, 9, 10, 1_000, 20_000] {
                    let g = gross_for_net(cumulative, net, bps).unwrap();
                    let share = |x| creator_share(x, bps);
                    assert!(share(cumulative + g) - share(cumulative) >= net);
                    if g > 0 {
                        assert!(share(cumulative + g - 1) - share(cumulative) < net);
                    }
                }
            }
        }
        assert_eq!(gross_for_net(u64::MAX, 1, 0), None);
    }

    #[test]
    fn the_cache_is_bounded_and_never_evicts_a_slot_in_use() {
        let mut cache = HashMap::new();
        let busy = Pubkey::new_unique();
        let held = slot_in(&mut cache, &busy, 8);
        for _ in 0..100 {
            drop(slot_in(&mut cache, &Pubkey::new_unique(), 8));
            assert!(cache.len() <= 8, "{}", cache.len());
            assert!(cache.contains_key(&busy), "a slot in use was evicted");
        }
        // the same channel gets the same lock while it is held
        assert!(Arc::ptr_eq(&held, &slot_in(&mut cache, &busy, 8)));
    }

    #[test]
    fn state_age_is_capped_by_the_minimum_window() {
        let mut config = ReceiverConfig::default();
        assert_eq!(config.state_age_bound(), Duration::from_secs(30));
        config.min_dispute_window_secs = 60;
        assert_eq!(config.state_age_bound(), Duration::from_secs(6));
    }

    #[test]
    fn fee_policy_allows_only_listed_recipients_up_to_the_bound() {
        let dapp = Pubkey::new_unique();
        let mut channel = Channel {
            escrow: Pubkey::new_unique(),
            mint: Pubkey::new_unique(),
            creator: Pubkey::new_unique(),
            signer: Pubkey::new_unique(),
            allocation: 1,
            claimed: 0,
            fee_recipient: Pubkey::default(),
            fee_bps: 0,
            dispute_window_secs: 900,
            expires_at: 0,
            close_requested_at: 0,
            id: 0,
            nonce: 0,
            bump: 0,
        };
        let none = FeePolicy::default();
        assert!(none.accepts(&channel));
        channel.fee_recipient = dapp;
        channel.fee_bps = 1;
        assert!(!none.accepts(&channel));
        let policy = FeePolicy::default().allow(dapp, 250);
        channel.fee_bps = 250;
        assert!(policy.accepts(&channel));
        channel.fee_bps = 251;
        assert!(!policy.accepts(&channel));
        channel.fee_bps = 100;
        channel.fee_recipient = Pubkey::new_unique();
        assert!(!policy.accepts(&channel));
    }
}
