//! The paying client: a `reqwest-middleware` middleware that answers a
//! micropay `402` by itself.
//!
//! On a `402` whose `PAYMENT-REQUIRED` offers the `micropay` scheme on the
//! ledger's cluster, in a mint the [`PayPolicy`] has a budget for, it finds
//! a channel to `payTo` — in memory, else on chain among its escrow's
//! channels (the session key is derived from the wallet, see
//! [`micropay_sdk::session`], so a client that lost its store finds its
//! channels again), else it opens one from the escrow's free balance — signs
//! the next voucher and retries. It tops a channel up when its allocation
//! runs out, and resumes from the server's held voucher when told it is
//! behind (only a voucher its own session key signed counts).
//!
//! # Never more than the budget
//!
//! A signed voucher is spendable whatever the server answers, so every
//! increment counts against the caps (per creator and in total, per mint)
//! **when it is signed**, and stays counted ([`Spending`]). Only one thing
//! gives an increment back: the server proves, with a later voucher this
//! channel's own key signed (its `held` voucher), that the new voucher adds
//! nothing to what can be claimed.
//!
//! A voucher not yet known to have paid for a served request stays
//! *pending* on its channel and is sent again, instead of a new one, with
//! the next request: after a transport error, a `503`, a `5xx`, or a refusal
//! the payer did not cause (`unknown_channel` while the server's node lags,
//! `exceeds_allocation` while its view of the channel is old, …). So a
//! refusal never makes the next request pay twice. Per request the
//! middleware signs at most one new increment (plus a price rise it was
//! asked for in an `underpaid` refusal, within the caps, and one more after
//! a `duplicate`, which proves that voucher claimable: re-sent, it was
//! taken before; signed afresh, a lost store signed the same amount again),
//! tops up at most once, and never allocates past the budget. A channel
//! refused for good (`closing`, `expiring`, `dispute_window_too_short`,
//! `wrong_creator`, `fee_not_accepted`, `mint_not_accepted`) is dropped for
//! another.
//!
//! Requests on one channel are sent one at a time (from signing until the
//! server's answer): vouchers are cumulative, so a later voucher arriving
//! first would pay for the earlier request too.
//!
//! # x402 `exact`
//!
//! A server that offers only x402's standard `exact` on Solana — or offers
//! micropay in a mint the wallet has no escrow of — is paid with a token
//! transfer per request from the wallet's associated token account
//! ([`micropay_client::exact::pay`]; the server's fee payer pays the
//! transaction fee). micropay is preferred whenever it can be paid. The
//! transfer counts against the same caps when it is signed and stays
//! counted whatever the server answers: it holds a signed transfer it may
//! still send.
//!
//! A request whose body cannot be cloned (a stream) is sent once, unpaid.

use micropay_client::{
    accounts, channels, exact,
    ledger::{ChannelFilter, DynSigner, Ledger},
    micropay::state::{Channel, Escrow},
    payer::AsyncPayer,
    ClientError,
};
use micropay_sdk::{
    pda,
    voucher::Voucher,
    x402::{
        self,
        exact::{ExactPayload, ExactPaymentPayload, ExactRequirements, Terms},
        Offer, PaymentPayload, PaymentRequired, PaymentRequirements, RefusalCode, WireVoucher,
    },
};
use reqwest::{Request, Response, StatusCode};
use reqwest_middleware::{Middleware, Next};
use solana_sdk::{pubkey::Pubkey, signature::Signer};
use std::{
    collections::{BTreeMap, HashMap, HashSet},
    sync::{Arc, Mutex as StdMutex},
};
use tokio::sync::{Mutex, OnceCell};

/// What the middleware may spend in one mint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Budget {
    /// Most base units paid to one creator.
    pub per_creator: u64,
    /// Most base units paid in total.
    pub total: u64,
}

/// How the middleware pays.
#[derive(Clone, Debug)]
pub struct PayPolicy {
    /// Mints it pays in, with their budgets; offers in other mints are ignored.
    pub budgets: BTreeMap<Pubkey, Budget>,
    /// A new channel (or a top-up) allocates this many requests at the
    /// offered price, within the budget and the escrow's free balance.
    pub allocation_requests: u64,
}

/// What the middleware has signed, base units: every increment, whatever
/// the server answered (a signed voucher can be claimed).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Spending {
    /// Per mint.
    pub total: BTreeMap<Pubkey, u64>,
    /// Per (creator, mint).
    pub by_creator: BTreeMap<(Pubkey, Pubkey), u64>,
    /// Requests served after a payment.
    pub requests: u64,
}

impl Spending {
    /// Paid in `mint`.
    pub fn in_mint(&self, mint: &Pubkey) -> u64 {
        self.total.get(mint).copied().unwrap_or(0)
    }
}

/// Why the middleware could not pay.
#[derive(Debug, thiserror::Error)]
pub enum PayError {
    /// Paying would pass a spending cap.
    #[error("paying {price} to {creator} in mint {mint} would pass the {cap} cap ({spent} spent)")]
    Budget {
        /// The creator.
        creator: Pubkey,
        /// The mint.
        mint: Pubkey,
        /// The price asked.
        price: u64,
        /// What was spent under this cap.
        spent: u64,
        /// The cap.
        cap: u64,
    },
    /// The wallet has no escrow for the mint.
    #[error("no escrow for mint {mint}: create and fund one (micropay escrow init / deposit, or the server's fund action)")]
    NoEscrow {
        /// The mint.
        mint: Pubkey,
    },
    /// The escrow's free balance cannot fund a channel or a top-up.
    #[error("escrow for mint {mint} has {free} free, {needed} needed: deposit more (micropay escrow deposit)")]
    EscrowShort {
        /// The mint.
        mint: Pubkey,
        /// Free balance, base units.
        free: u64,
        /// Needed, base units.
        needed: u64,
    },
    /// The offer is not one this client can pay (a malformed field).
    #[error("the server's offer cannot be read: {0}")]
    Offer(#[from] x402::WireError),
    /// The ledger, store or signer failed.
    #[error(transparent)]
    Client(#[from] ClientError),
}

/// The middleware; cheap to clone.
#[derive(Clone)]
pub struct Pay {
    shared: Arc<Shared>,
}

struct Shared {
    ledger: Arc<dyn Ledger>,
    wallet: Arc<DynSigner>,
    payer: AsyncPayer,
    policy: PayPolicy,
    network: OnceCell<String>,
    /// Known channel per (creator, mint); its lock is held from signing to
    /// the server's answer.
    channels: Mutex<Slots>,
    /// Channels a server refused for good: never picked again.
    dropped: StdMutex<HashSet<Pubkey>>,
    spending: StdMutex<Spending>,
}

/// One channel in use.
struct Slot {
    channel: Pubkey,
    /// Cumulative amount that paid for served requests (or was signed
    /// before this process): the next request pays its price on top of it.
    base: u64,
    /// The newest voucher, above `base`, not yet known to have paid for a
    /// served request: sent again with the next request instead of a new
    /// one, so an answer that never came or a refusal costs nothing.
    pending: Option<Voucher>,
}

/// Channels in use by (creator, mint).
type Slots = HashMap<(Pubkey, Pubkey), Arc<Mutex<Slot>>>;

/// How many times one request is retried with a (new) voucher.
const PAID_ATTEMPTS: usize = 3;

impl Pay {
    /// A middleware paying from `wallet`'s escrows on `ledger`, keeping
    /// session keys and amounts in `payer` (a [`Payer`] or its
    /// [`AsyncPayer`]: store calls run on tokio's blocking pool, payments
    /// inside a reservation in place).
    ///
    /// A `Payer::new(store)` makes each payment durable with its own store
    /// write (one fsync). A client paying many times per second passes
    /// `Payer::new(store).with_reserve_ahead(n)` (one write per `n`
    /// payments) and calls [`Payer::release`] when it stops; a crash then
    /// costs it at most `n − 1` prices on one channel (see [`Payer`]).
    ///
    /// [`Payer`]: micropay_client::payer::Payer
    /// [`Payer::release`]: micropay_client::payer::Payer::release
    pub fn new(
        ledger: Arc<dyn Ledger>,
        wallet: Arc<DynSigner>,
        payer: impl Into<AsyncPayer>,
        policy: PayPolicy,
    ) -> Self {
        Pay {
            shared: Arc::new(Shared {
                ledger,
                wallet,
                payer: payer.into(),
                policy,
                network: OnceCell::new(),
                channels: Mutex::new(HashMap::new()),
                dropped: StdMutex::new(HashSet::new()),
                spending: StdMutex::new(Spending::default()),
            }),
        }
    }

    /// What was paid so far.
    pub fn spending(&self) -> Spending {
        self.shared
            .spending
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    async fn network(&self) -> Result<&String, ClientError> {
        self.shared
            .network
            .get_or_try_init(|| async {
                Ok(x402::network(&self.shared.ledger.genesis_hash().await?))
            })
            .await
    }

    /// The offer of `required` this client pays: micropay on its cluster, in
    /// a mint it has a budget for.
    async fn pick<'a>(
        &self,
        required: &'a PaymentRequired,
    ) -> Result<Option<&'a PaymentRequirements>, PayError> {
        let network = self.network().await?;
        Ok(required
            .accepts
            .iter()
            .filter_map(Offer::micropay)
            .find(|r| self.payable(r, network)))
    }

    /// Whether micropay's `offer` is one this client pays on `network`: of
    /// this program, in a mint it has a budget for.
    pub fn payable(&self, offer: &PaymentRequirements, network: &str) -> bool {
        offer.network == network
            && offer.extra.program_id == micropay_client::micropay::ID.to_string()
            && offer
                .mint()
                .is_ok_and(|m| self.shared.policy.budgets.contains_key(&m))
    }

    /// The x402 network id of this client's cluster (read once).
    pub async fn cluster_network(&self) -> Result<String, PayError> {
        Ok(self.network().await?.clone())
    }

    /// The `PAYMENT-SIGNATURE` paying `required` with micropay, for a
    /// transport that sends the request itself and never shows this
    /// middleware the answer (x402-rs's `x402-reqwest`, through
    /// `x402rs`, feature `x402-rs`): the channel's next voucher — the channel found,
    /// opened or topped up as for a request this middleware sends, the
    /// voucher counted when signed — taken as accepted, so the next one
    /// signs past it. `None` when no micropay offer of `required` is
    /// payable here.
    ///
    /// Without the answer nothing corrects a refused voucher: a payer whose
    /// store is behind what the server holds (lost, or shared with another
    /// process) stays behind on this path; the middleware itself resyncs
    /// from the server's refusal.
    pub async fn sign_unanswered(
        &self,
        required: &PaymentRequired,
    ) -> Result<Option<String>, PayError> {
        let Some(offer) = self.pick(required).await? else {
            return Ok(None);
        };
        let (creator, mint, price) = (offer.creator()?, offer.mint()?, offer.price()?);
        let slot = self.channel_for(creator, mint, offer, price).await?;
        let mut slot = slot.lock().await;
        let mut allowance = Allowance::default();
        let voucher = self
            .voucher_for(&mut slot, &creator, &mint, price, &mut allowance)
            .await?;
        slot.base = slot.base.max(voucher.amount);
        slot.pending = None;
        Ok(Some(x402::encode_header(&PaymentPayload {
            x402_version: x402::X402_VERSION,
            resource: Some(required.resource.clone()),
            accepted: offer.clone(),
            payload: WireVoucher::from(&voucher),
            extensions: Default::default(),
        })))
    }

    /// The `exact` offer of `required` this client pays: on its cluster, in
    /// a mint it has a budget for, with a fee payer other than its wallet.
    async fn pick_exact<'a>(
        &self,
        required: &'a PaymentRequired,
    ) -> Result<Option<(&'a ExactRequirements, Terms)>, PayError> {
        let network = self.network().await?;
        let wallet = self.shared.wallet.pubkey();
        Ok(required
            .accepts
            .iter()
            .filter_map(Offer::exact)
            .filter(|o| o.network == *network)
            .filter_map(|o| Some((o, o.terms().ok()?)))
            .find(|(_, t)| {
                t.fee_payer != wallet && self.shared.policy.budgets.contains_key(&t.asset)
            }))
    }

    /// Whether micropay's `offer` can be paid: the wallet has an escrow of
    /// its mint (else an `exact` offer, when there is one, is paid instead).
    async fn has_escrow(&self, offer: &PaymentRequirements) -> Result<bool, PayError> {
        let (creator, mint) = (offer.creator()?, offer.mint()?);
        // a channel in use came from the escrow: no read per request (the
        // map is not waited for: an opening elsewhere may hold it)
        if let Ok(channels) = self.shared.channels.try_lock() {
            if channels.contains_key(&(creator, mint)) {
                return Ok(true);
            }
        }
        match self.escrow(&mint).await {
            Ok(_) => Ok(true),
            Err(PayError::NoEscrow { .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Pays `offer` (`exact`) with a transfer the wallet signs, counted
    /// against the caps when signed and kept counted: the server holds a
    /// signed transfer it may send whatever it answers.
    async fn pay_exact(
        &self,
        (retry, next, extensions): (Request, Next<'_>, &mut http::Extensions),
        required: &PaymentRequired,
        (offer, terms): (&ExactRequirements, Terms),
    ) -> Result<Response, reqwest_middleware::Error> {
        let fail = reqwest_middleware::Error::middleware;
        let (creator, mint, price) = (terms.pay_to, terms.asset, terms.amount);
        self.reserve(&creator, &mint, price).map_err(fail)?;
        let wallet = self.shared.wallet.as_ref();
        let transaction = match exact::pay(self.shared.ledger.as_ref(), wallet, &terms).await {
            Ok(t) => t,
            Err(e) => {
                // nothing was signed
                self.release(&creator, &mint, price);
                return Err(fail(PayError::from(e)));
            }
        };
        let header = x402::encode_header(&ExactPaymentPayload {
            x402_version: x402::X402_VERSION,
            resource: Some(required.resource.clone()),
            accepted: offer.clone(),
            payload: ExactPayload { transaction },
            extensions: Default::default(),
        });
        let mut paid = retry;
        if let Ok(value) = http::HeaderValue::from_str(&header) {
            paid.headers_mut().insert(x402::PAYMENT_SIGNATURE, value);
        }
        let response = next.run(paid, extensions).await?;
        if response.status().is_success() {
            self.served();
        }
        Ok(response)
    }

    /// Counts `price` as spent if it stays within both caps of `mint`.
    fn reserve(&self, creator: &Pubkey, mint: &Pubkey, price: u64) -> Result<(), PayError> {
        let budget = self
            .shared
            .policy
            .budgets
            .get(mint)
            .copied()
            .unwrap_or(Budget {
                per_creator: 0,
                total: 0,
            });
        let mut s = self
            .shared
            .spending
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        let by_creator = s.by_creator.get(&(*creator, *mint)).copied().unwrap_or(0);
        let total = s.total.get(mint).copied().unwrap_or(0);
        for (spent, cap) in [(by_creator, budget.per_creator), (total, budget.total)] {
            if spent.checked_add(price).is_none_or(|n| n > cap) {
                return Err(PayError::Budget {
                    creator: *creator,
                    mint: *mint,
                    price,
                    spent,
                    cap,
                });
            }
        }
        s.total.insert(*mint, total.saturating_add(price));
        s.by_creator
            .insert((*creator, *mint), by_creator.saturating_add(price));
        Ok(())
    }

    /// Takes back an amount counted by [`Pay::reserve`] that was not
    /// signed, or that a later voucher of the channel's own key proved adds
    /// nothing claimable.
    fn release(&self, creator: &Pubkey, mint: &Pubkey, price: u64) {
        let mut s = self
            .shared
            .spending
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if let Some(t) = s.total.get_mut(mint) {
            *t = t.saturating_sub(price);
        }
        if let Some(t) = s.by_creator.get_mut(&(*creator, *mint)) {
            *t = t.saturating_sub(price);
        }
    }

    fn served(&self) {
        let mut s = self
            .shared
            .spending
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        s.requests = s.requests.saturating_add(1);
    }

    /// The channel lock for (creator, mint): found, discovered or opened.
    async fn channel_for(
        &self,
        creator: Pubkey,
        mint: Pubkey,
        offer: &PaymentRequirements,
        price: u64,
    ) -> Result<Arc<Mutex<Slot>>, PayError> {
        let mut channels = self.shared.channels.lock().await;
        if let Some(known) = channels.get(&(creator, mint)) {
            return Ok(known.clone());
        }
        let channel = match self.discover(creator, mint, offer).await? {
            Some(c) => c,
            None => self.open(creator, mint, offer, price).await?,
        };
        let slot = Arc::new(Mutex::new(Slot {
            channel,
            base: self.shared.payer.paid(&channel).await?,
            pending: None,
        }));
        channels.insert((creator, mint), slot.clone());
        Ok(slot)
    }

    /// A usable channel of the wallet's escrow to `creator`, registered with
    /// the payer (adopted with its derived session key when the store lost
    /// it); the one with the most allocation left.
    async fn discover(
        &self,
        creator: Pubkey,
        mint: Pubkey,
        offer: &PaymentRequirements,
    ) -> Result<Option<Pubkey>, PayError> {
        let wallet = self.shared.wallet.pubkey();
        let escrow = pda::escrow(&wallet, &mint).0;
        let ledger = self.shared.ledger.as_ref();
        let Some(escrow_state) = accounts::escrow(ledger, &escrow).await? else {
            return Ok(None);
        };
        let mut best: Option<(u64, Pubkey)> = None;
        for (address, channel) in ledger.channels(ChannelFilter::Escrow(escrow)).await? {
            if !self.usable(&channel, creator, offer)
                || self.is_dropped(&address)
                || !channels::made_by_program(&address, &channel, &escrow, &escrow_state)
            {
                continue;
            }
            // a channel whose store was lost: its key derives from the wallet
            let ours = channels::recover(
                &self.shared.payer,
                self.shared.wallet.as_ref(),
                &address,
                &channel,
            )
            .await?;
            if !ours {
                continue; // opened elsewhere with another key: not ours to sign
            }
            let left = channel
                .allocation
                .saturating_sub(self.shared.payer.paid(&address).await?);
            if best.is_none_or(|(l, _)| left > l) {
                best = Some((left, address));
            }
        }
        Ok(best.map(|(_, a)| a))
    }

    fn is_dropped(&self, channel: &Pubkey) -> bool {
        self.shared
            .dropped
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains(channel)
    }

    /// Drops `channel` (refused for good) for `(creator, mint)`: the next
    /// payment finds or opens another.
    async fn drop_channel(&self, channel: Pubkey, creator: Pubkey, mint: Pubkey) {
        self.shared
            .dropped
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(channel);
        self.shared.channels.lock().await.remove(&(creator, mint));
    }

    fn usable(&self, channel: &Channel, creator: Pubkey, offer: &PaymentRequirements) -> bool {
        channel.creator == creator
            && !channel.close_requested()
            && channel.expires_at == 0
            && channel.fee_bps == 0
            && channel.dispute_window_secs >= offer.extra.min_dispute_window_secs
    }

    /// How much to allocate for `creator` at `price`: the policy's number of
    /// requests, within what the budget leaves beyond `unsigned` (allocation
    /// already there and not signed yet), and at least `price`.
    fn allocation(&self, creator: &Pubkey, mint: &Pubkey, price: u64, unsigned: u64) -> u64 {
        let budget = self.shared.policy.budgets.get(mint);
        let spending = self.spending();
        let spent_creator = spending
            .by_creator
            .get(&(*creator, *mint))
            .copied()
            .unwrap_or(0);
        let left = budget.map_or(0, |b| {
            b.per_creator
                .saturating_sub(spent_creator)
                .min(b.total.saturating_sub(spending.in_mint(mint)))
                .saturating_sub(unsigned)
        });
        price
            .saturating_mul(self.shared.policy.allocation_requests.max(1))
            .min(left)
            .max(price)
    }

    /// The wallet's escrow for `mint`: its address and state.
    async fn escrow(&self, mint: &Pubkey) -> Result<(Pubkey, Escrow), PayError> {
        let escrow = pda::escrow(&self.shared.wallet.pubkey(), mint).0;
        let state = accounts::escrow(self.shared.ledger.as_ref(), &escrow)
            .await?
            .ok_or(PayError::NoEscrow { mint: *mint })?;
        Ok((escrow, state))
    }

    /// Opens a channel to `creator` with a derived session key.
    async fn open(
        &self,
        creator: Pubkey,
        mint: Pubkey,
        offer: &PaymentRequirements,
        price: u64,
    ) -> Result<Pubkey, PayError> {
        let (_, state) = self.escrow(&mint).await?;
        let allocation = self
            .allocation(&creator, &mint, price, 0)
            .min(state.balance);
        if allocation < price {
            return Err(PayError::EscrowShort {
                mint,
                free: state.balance,
                needed: price,
            });
        }
        let opened = channels::open(
            self.shared.ledger.as_ref(),
            &self.shared.payer,
            self.shared.wallet.as_ref(),
            &state,
            &channels::OpenRequest {
                mint,
                creator,
                allocation,
                fee: None,
                dispute_window_secs: offer.extra.min_dispute_window_secs,
                expires_at: 0,
                nonce: None,
            },
        )
        .await?;
        Ok(opened.channel)
    }

    /// Raises `channel`'s allocation: to what the chain says if it is higher
    /// than the store's, else by a top-up from the escrow.
    async fn top_up(
        &self,
        channel: &Pubkey,
        creator: &Pubkey,
        mint: &Pubkey,
        price: u64,
    ) -> Result<(), PayError> {
        let on_chain = accounts::channel(self.shared.ledger.as_ref(), channel)
            .await?
            .ok_or(ClientError::AccountNotFound(*channel))?;
        let known = self.shared.payer.allocation(channel).await?.unwrap_or(0);
        let paid = self.shared.payer.paid(channel).await?;
        if on_chain.allocation > known && on_chain.allocation.saturating_sub(paid) >= price {
            // topped up elsewhere (another process, the CLI)
            return Ok(self
                .shared
                .payer
                .raise_allocation(channel, on_chain.allocation)
                .await?);
        }
        let (_, state) = self.escrow(mint).await?;
        let unsigned = on_chain.allocation.saturating_sub(paid);
        let amount = self
            .allocation(creator, mint, price, unsigned)
            .min(state.balance);
        if amount < price {
            return Err(PayError::EscrowShort {
                mint: *mint,
                free: state.balance,
                needed: price,
            });
        }
        channels::top_up(
            self.shared.ledger.as_ref(),
            &self.shared.payer,
            self.shared.wallet.as_ref(),
            channel,
            &on_chain,
            amount,
        )
        .await?;
        Ok(())
    }
}

/// What one request may still do (see the module docs).
#[derive(Debug, Default)]
struct Allowance {
    /// The channel was topped up for this request.
    topped_up: bool,
    /// The price was raised for this request (an `underpaid` refusal).
    repriced: bool,
    /// A channel was dropped for this request.
    switched: bool,
}

/// What to do after the server's answer to a paid request.
enum Then {
    /// Return this answer to the caller.
    Answer(Response),
    /// Try again (a new voucher, or the pending one, on this or another channel).
    Retry(Response),
}

/// Refusals that condemn the channel, not the voucher.
fn refused_for_good(code: RefusalCode) -> bool {
    matches!(
        code,
        RefusalCode::Closing
            | RefusalCode::Expiring
            | RefusalCode::DisputeWindowTooShort
            | RefusalCode::WrongCreator
            | RefusalCode::FeeNotAccepted
            | RefusalCode::MintNotAccepted
    )
}

impl Pay {
    /// The voucher for the next request on `slot` at `price`: the pending
    /// one when it covers it, else a new one (counted against the caps as it
    /// is signed; one top-up at most per request).
    async fn voucher_for(
        &self,
        slot: &mut Slot,
        creator: &Pubkey,
        mint: &Pubkey,
        price: u64,
        allowance: &mut Allowance,
    ) -> Result<Voucher, PayError> {
        let channel = slot.channel;
        let signed = self.shared.payer.paid(&channel).await?;
        if slot.pending.is_none() {
            slot.base = slot.base.max(signed);
        }
        let target = slot.base.saturating_add(price);
        if let Some(v) = slot.pending.filter(|v| v.amount >= target) {
            return Ok(v);
        }
        let increment = target.saturating_sub(signed).max(1);
        self.reserve(creator, mint, increment)?;
        let voucher = match self.shared.payer.pay(&channel, increment).await {
            Err(ClientError::AllocationExceeded { .. }) if !allowance.topped_up => {
                allowance.topped_up = true;
                match self.top_up(&channel, creator, mint, increment).await {
                    Ok(()) => self
                        .shared
                        .payer
                        .pay(&channel, increment)
                        .await
                        .map_err(PayError::from),
                    Err(e) => Err(e),
                }
            }
            other => other.map_err(PayError::from),
        };
        match voucher {
            Ok(v) => {
                slot.pending = Some(v);
                Ok(v)
            }
            Err(e) => {
                // nothing was signed: the reservation goes back
                self.release(creator, mint, increment);
                Err(e)
            }
        }
    }

    /// Decides what the answer `response` to `voucher` means for `slot`,
    /// and what to do next.
    #[allow(clippy::too_many_arguments)]
    async fn answered(
        &self,
        slot: &mut Slot,
        voucher: Voucher,
        response: Response,
        (creator, mint): (Pubkey, Pubkey),
        price: &mut u64,
        allowance: &mut Allowance,
    ) -> Result<Then, PayError> {
        let status = response.status();
        if status.is_server_error() && status != StatusCode::PAYMENT_REQUIRED {
            // not served (503: not even checked): the same voucher goes
            // with the next request; the server says if it took it
            return Ok(Then::Answer(response));
        }
        let Some(refused) = payment_required(&response) else {
            slot.base = slot.base.max(voucher.amount);
            slot.pending = None;
            self.served();
            return Ok(Then::Answer(response));
        };
        let Some(refusal) = refused.refusal() else {
            return Ok(Then::Answer(response));
        };
        let channel = slot.channel;
        let held = self
            .shared
            .payer
            .signer(&channel)
            .await?
            .and_then(|s| refusal.verified_held(&channel, &s));
        match refusal.reason {
            // the server holds exactly this voucher: it can be claimed, so
            // it stays counted and the next one is new. Re-sent, it was
            // taken before (an answer lost); signed afresh, a lost store
            // signed it again (the same amount signs the same bytes) — or
            // a hostile server echoes what it was just sent, which is why
            // a duplicate never gives anything back
            RefusalCode::Duplicate if held.is_some_and(|h| h.amount == voucher.amount) => {
                slot.base = slot.base.max(voucher.amount);
                slot.pending = None;
                Ok(Then::Retry(response))
            }
            // behind: the server holds a later voucher of this key, so the
            // refused one adds nothing claimable
            RefusalCode::Stale if held.is_some_and(|h| h.amount > voucher.amount) => {
                let held = held.unwrap_or(voucher);
                self.shared.payer.resync(&channel, &held).await?;
                // counted when signed: what it added above `base`
                self.release(&creator, &mint, voucher.amount.saturating_sub(slot.base));
                slot.base = slot.base.max(held.amount);
                slot.pending = None;
                Ok(Then::Retry(response))
            }
            RefusalCode::Underpaid if !allowance.repriced => {
                let asked = refused
                    .for_mint(&mint)
                    .and_then(|o| o.price().ok())
                    .filter(|p| *p > *price);
                match asked {
                    Some(p) => {
                        allowance.repriced = true;
                        *price = p;
                        Ok(Then::Retry(response))
                    }
                    None => Ok(Then::Answer(response)),
                }
            }
            RefusalCode::ExceedsAllocation if !allowance.topped_up => {
                let on_chain = accounts::channel(self.shared.ledger.as_ref(), &channel)
                    .await?
                    .ok_or(ClientError::AccountNotFound(channel))?;
                if on_chain.allocation >= voucher.amount {
                    // the server's view lags: the same voucher next time
                    return Ok(Then::Answer(response));
                }
                allowance.topped_up = true;
                let short = voucher.amount.saturating_sub(on_chain.allocation);
                self.top_up(&channel, &creator, &mint, short).await?;
                Ok(Then::Retry(response))
            }
            code if refused_for_good(code) && !allowance.switched => {
                allowance.switched = true;
                self.drop_channel(channel, creator, mint).await;
                Ok(Then::Retry(response))
            }
            _ => Ok(Then::Answer(response)),
        }
    }
}

/// The `PAYMENT-REQUIRED` of a `402` response, decoded; `None` for any
/// other response or an unreadable header.
pub fn payment_required(response: &Response) -> Option<PaymentRequired> {
    if response.status() != StatusCode::PAYMENT_REQUIRED {
        return None;
    }
    let header = response.headers().get(x402::PAYMENT_REQUIRED)?;
    x402::decode_header(x402::PAYMENT_REQUIRED, header.as_bytes()).ok()
}

#[async_trait::async_trait]
impl Middleware for Pay {
    async fn handle(
        &self,
        request: Request,
        extensions: &mut http::Extensions,
        next: Next<'_>,
    ) -> reqwest_middleware::Result<Response> {
        let Some(retry) = request.try_clone() else {
            return next.run(request, extensions).await;
        };
        let response = next.clone().run(request, extensions).await?;
        let Some(required) = payment_required(&response) else {
            return Ok(response);
        };
        let fail = reqwest_middleware::Error::middleware;
        let micropay = self.pick(&required).await.map_err(fail)?;
        let exact = self.pick_exact(&required).await.map_err(fail)?;
        // micropay when it can be paid; else `exact`
        let micropay = match (micropay, &exact) {
            (Some(offer), Some(_)) if !self.has_escrow(offer).await.map_err(fail)? => None,
            (offer, _) => offer,
        };
        let Some(offer) = micropay else {
            return match exact {
                Some(exact) => {
                    self.pay_exact((retry, next, extensions), &required, exact)
                        .await
                }
                None => Ok(response),
            };
        };
        let (creator, mint, mut price) = (
            offer.creator().map_err(|e| fail(PayError::from(e)))?,
            offer.mint().map_err(|e| fail(PayError::from(e)))?,
            offer.price().map_err(|e| fail(PayError::from(e)))?,
        );
        let mut allowance = Allowance::default();
        let mut last = response;
        for _ in 0..PAID_ATTEMPTS {
            let slot = self
                .channel_for(creator, mint, offer, price)
                .await
                .map_err(fail)?;
            let mut slot = slot.lock().await;
            let voucher = self
                .voucher_for(&mut slot, &creator, &mint, price, &mut allowance)
                .await
                .map_err(fail)?;
            let header = x402::encode_header(&PaymentPayload {
                x402_version: x402::X402_VERSION,
                resource: Some(required.resource.clone()),
                accepted: PaymentRequirements {
                    amount: price.to_string(),
                    ..offer.clone()
                },
                payload: WireVoucher::from(&voucher),
                extensions: Default::default(),
            });
            let Some(mut paid) = retry.try_clone() else {
                return Ok(last);
            };
            if let Ok(value) = http::HeaderValue::from_str(&header) {
                paid.headers_mut().insert(x402::PAYMENT_SIGNATURE, value);
            }
            // a transport error leaves the voucher pending for the next request
            let response = next.clone().run(paid, extensions).await?;
            let answer = self
                .answered(
                    &mut slot,
                    voucher,
                    response,
                    (creator, mint),
                    &mut price,
                    &mut allowance,
                )
                .await
                .map_err(fail)?;
            match answer {
                Then::Answer(response) => return Ok(response),
                Then::Retry(response) => last = response,
            }
        }
        Ok(last)
    }
}
