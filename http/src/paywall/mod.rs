//! The paywall: a tower [`Layer`] that prices requests by route and lets a
//! request through only when its `PAYMENT-SIGNATURE` carries a voucher the
//! creator's [`Receiver`] accepts.
//!
//! The voucher is verified and recorded durably *before* the inner service
//! runs (the receiver's contract), so an accepted voucher is money even if
//! the service then fails or the process dies; a retry of the same voucher
//! is refused as a duplicate, never served twice. A payer who wants another
//! try pays again. What cannot be decided (the cluster or the store is
//! unreachable) is a `503` with `Retry-After`, never a free pass.
//!
//! Paths are canonicalised first ([`crate::path`]): a spelling with more
//! than one meaning is a `400`, and the inner service sees exactly the path
//! that was priced. A method no route names on a priced path is priced by
//! that path's first route; paths no route covers follow
//! [`PaywallConfig::unrouted`].
//!
//! A paid request that is not served — the service answers a `5xx` (the
//! proxy's `502` when the upstream cannot be reached), or a `404` with
//! [`PaywallConfig::credit_not_found`] — is not charged: its voucher stays
//! accepted (it is the channel's newest), and a **credit** for (channel,
//! amount, route) is kept durably in the receiver's store; the
//! `PAYMENT-RESPONSE` says `success: false` with `errorReason`
//! [`NOT_SERVED`]. The same voucher sent again for the same route takes the
//! credit and is served once — after a restart too, and on any gateway
//! sharing the store ([`micropay_client::store::Credit`]).
//!
//! A request carrying a payment runs to its end even when its client leaves
//! (a closed tab, a timeout: hyper drops the request's future): it runs on
//! its own task, so a voucher accepted is always followed by its serving or
//! its credit, never by nothing. The payer's re-send of that voucher is then
//! a duplicate of a served use, or takes the credit.
//!
//! A route marked `settle_first` also claims the voucher on chain (through
//! a [`Settle`]) before the service runs, and the `PAYMENT-RESPONSE` names
//! the claim transaction. If the claim fails (or waits: at most
//! [`SETTLE_FIRST_PER_SEC`] claims a second, each costs the creator a fee),
//! the answer is a `503` and a credit is kept the same way: the client's
//! retry of the same request with the same voucher **on the same route** is
//! settled and served, not refused as a duplicate. While the store keeps
//! [`MAX_CREDITS`] credits, settle-first routes answer `503` before taking a
//! voucher.
//!
//! A client address whose payments were refused as junk
//! [`JUNK_PER_CLIENT_PER_MIN`] times this minute gets `429` before its next
//! payment is looked at (the address is the connection's: behind a reverse
//! proxy every client shares the proxy's, so put the limit there too).
//!
//! The best voucher held for a channel (in `stale`/`duplicate` refusals) is
//! disclosed only to a requester whose voucher verifies against the
//! channel's signer ([`Receiver::held_for`]). A `503` carries a code
//! ([`Unavailable`]), never internal error text: that goes to the log
//! (RPC URLs carry credentials).
//!
//! A route marked [`Route::exact`] also offers x402's standard `exact`
//! scheme, after micropay's: a client without micropay pays each request
//! with a token transfer it signed, which the paywall checks, co-signs as
//! fee payer and sends before the request runs ([`ExactSettlement`], recorded in the
//! same store so that a transaction is served once).
//!
//! Refusals are `402` with the x402 body and header; the `micropay`
//! extension says why in a machine-readable code and, when the client is
//! behind the server, carries the best voucher held so the client resumes
//! from it (see [`micropay_sdk::x402`]).
//!
//! Sizing: nothing here blocks an async worker (store calls run on tokio's
//! blocking pool, commits on group commit's own thread), so any worker count
//! is correct. For latency on a small machine, give the runtime one worker
//! fewer than the cores (`micropay serve` does): with a worker per core and
//! a busy commit thread, the kernel time-slices two workers on one core and
//! a request held by the waiting one waits a scheduler tick (2–4 ms added
//! p99 on two cores instead of 1–2 ms; README, "Sell an API per request").

mod exact;
mod exact_remote;
mod facilitator;
mod payment_id;

pub use exact::ExactSettlement;
pub use facilitator::{FacilitatorError, RemoteFacilitator, Verdict};

use crate::{
    metrics::Metrics,
    path::{CanonicalPath, PathError},
    route::{Route, Unrouted},
};
use axum::body::Body;
use bytes::Bytes;
use http::{header, uri::PathAndQuery, HeaderValue, Method, Request, Response, StatusCode, Uri};
use micropay_client::{
    accounts,
    ledger::{DynSigner, Ledger},
    receiver::{Payment, Receiver, Rejection, MAX_CREDITS},
    store::Credit,
    ClientError,
};
use micropay_sdk::x402::{
    self, encode_header, Extension, MicropayExtra, Offer, PaymentPayload, PaymentRequired,
    PaymentRequirements, Refusal, RefusalCode, ResourceInfo, SettlementResponse, WireVoucher,
};
use micropay_sdk::{instructions as mix, pda, voucher::Voucher};
use solana_sdk::{pubkey::Pubkey, signature::Signature};
use std::{
    collections::{BTreeMap, HashMap, HashSet},
    future::Future,
    net::IpAddr,
    pin::Pin,
    sync::{Arc, Mutex as StdMutex},
    task::{Context, Poll},
};
use tower::{Layer, Service};

/// Claims one accepted voucher on chain now, for `settle_first` routes.
#[async_trait::async_trait]
pub trait Settle: Send + Sync {
    /// Claims `voucher`; the claim transaction's signature once the channel
    /// has settled at least its amount.
    async fn settle(&self, voucher: &Voucher) -> Result<Signature, ClientError>;
}

/// [`Settle`] with a one-voucher `claim`, fees paid by `fee_payer`.
pub struct ClaimNow {
    ledger: Arc<dyn Ledger>,
    fee_payer: Arc<DynSigner>,
}

impl ClaimNow {
    /// Claims through `ledger`, paying fees with `fee_payer` (the creator).
    pub fn new(ledger: Arc<dyn Ledger>, fee_payer: Arc<DynSigner>) -> Self {
        ClaimNow { ledger, fee_payer }
    }
}

#[async_trait::async_trait]
impl Settle for ClaimNow {
    async fn settle(&self, voucher: &Voucher) -> Result<Signature, ClientError> {
        let ledger = self.ledger.as_ref();
        let channel = accounts::channel(ledger, &voucher.channel)
            .await?
            .ok_or(ClientError::AccountNotFound(voucher.channel))?;
        let claim = mix::claim(&[micropay_client::planner::voucher_claim(voucher, &channel)]);
        let sent = ledger.send(&[claim], self.fee_payer.as_ref(), &[]).await?;
        // settled by this claim, or by another (the watcher) before it
        let after = accounts::channel(ledger, &voucher.channel)
            .await?
            .ok_or(ClientError::AccountNotFound(voucher.channel))?;
        if after.claimed < voucher.amount {
            return Err(ClientError::rpc(format!(
                "claim {} landed but channel {} settled only {} of {}",
                sent.signature, voucher.channel, after.claimed, voucher.amount
            )));
        }
        Ok(sent.signature)
    }
}

/// How the paywall presents itself.
#[derive(Clone, Debug)]
pub struct PaywallConfig {
    /// Priced routes; the first match prices a request (see [`crate::route`]).
    pub routes: Vec<Route>,
    /// What happens to a request no route's path matches.
    pub unrouted: Unrouted,
    /// The cluster's CAIP-2 id ([`x402::network`] of its genesis hash).
    pub network: String,
    /// How long a client has for its paid retry, seconds (told, not enforced:
    /// a voucher does not expire).
    pub max_timeout_seconds: u64,
    /// URL of a Solana Action that funds an escrow and opens a channel.
    pub fund_action: Option<String>,
    /// A `404` from the service is not charged either (a `5xx` never is):
    /// the voucher is kept for a retry of the same request.
    pub credit_not_found: bool,
}

/// What the paywall decided for one request.
#[derive(Clone, Debug, PartialEq)]
pub enum Decision {
    /// No route prices it.
    Free,
    /// No route prices it and the paywall denies unrouted paths: `403`.
    Denied,
    /// The path has more than one meaning (see [`crate::path`]): `400`.
    BadPath(PathError),
    /// The client sent too much junk this minute: `429`.
    Throttled,
    /// Paid: serve it, and answer with this `PAYMENT-RESPONSE` (or keep
    /// the credit, if it is not served).
    Paid(Box<Paid>),
    /// Not paid: answer `402` with this.
    Refused(Box<PaymentRequired>),
    /// The payment's `payment-identifier` id is bound to another request
    /// or payment: answer `409` with this (nothing was taken).
    Conflict(Box<PaymentRequired>),
    /// Cannot decide now (cluster or store unreachable): `503`. The
    /// details went to the server's log; the answer carries only the code.
    Unavailable(Unavailable),
}

/// Why a payment could not be decided now: the public, machine-readable
/// part of a `503` (internal error text, which may name an RPC URL with
/// its credential, goes to the server's log only).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unavailable {
    /// The cluster could not be reached or failed.
    Cluster,
    /// The receiver's store failed.
    Store,
    /// A payment was taken but its settlement did not complete (a
    /// settle-first voucher's claim failed; an `exact` transfer's outcome
    /// is not known yet): send the
    /// same request again.
    Settlement,
    /// Too many settle-first claims now: send the same request again.
    SettlementBusy,
    /// The route settles first, but the paywall has no claimer.
    Unconfigured,
}

impl Unavailable {
    /// The code (`cluster_unavailable`, …).
    pub fn code(self) -> &'static str {
        match self {
            Unavailable::Cluster => "cluster_unavailable",
            Unavailable::Store => "store_unavailable",
            Unavailable::Settlement => "settlement_failed",
            Unavailable::SettlementBusy => "settlement_busy",
            Unavailable::Unconfigured => "settlement_unconfigured",
        }
    }

    /// What the client should do.
    pub fn sentence(self) -> &'static str {
        match self {
            Unavailable::Cluster | Unavailable::Store => {
                "payment could not be checked now; try again"
            }
            Unavailable::Settlement => {
                "the payment is taken but its settlement did not complete; send the same request again, with the same payment"
            }
            Unavailable::SettlementBusy => {
                "too many requests settle first now; send the same request again"
            }
            Unavailable::Unconfigured => {
                "this route settles first, but the server cannot claim; tell its operator"
            }
        }
    }

    /// The class of `error`, logged with its details.
    fn of(error: &ClientError) -> Self {
        let class = if error.is_store() {
            Unavailable::Store
        } else {
            Unavailable::Cluster
        };
        tracing::warn!(code = class.code(), %error, "payment could not be decided");
        class
    }
}

/// The tower layer; cheap to clone.
#[derive(Clone)]
pub struct Paywall {
    shared: Arc<Shared>,
}

struct Shared {
    receiver: Arc<Receiver>,
    config: PaywallConfig,
    settle: Option<Arc<dyn Settle>>,
    /// Settle-first claims sent in the current second.
    claims: StdMutex<(std::time::Instant, u32)>,
    /// Junk payments per client in its current minute.
    junk: StdMutex<HashMap<Option<IpAddr>, (std::time::Instant, u32)>>,
    metrics: Arc<Metrics>,
    /// How `exact` payments are settled, once configured.
    exact: std::sync::OnceLock<exact::Settler>,
    /// Operator-fault refusals already warned about, by (code, mint).
    warned: StdMutex<HashSet<(&'static str, Pubkey)>>,
}

/// Distinct (refusal, mint) pairs warned about at most: a payer opening
/// channels in junk mints cannot flood the log.
const MAX_WARNED: usize = 16;

/// Payments refused as junk (`unknown_channel`, `bad_signature`,
/// `wrong_creator`, `malformed`, `unsupported`, `wrong_pay_to`,
/// `invalid_transaction`) per client
/// address per minute; past it the client's payments are answered `429`
/// before anything is looked up (a junk voucher on a random channel costs
/// the receiver an RPC read).
pub const JUNK_PER_CLIENT_PER_MIN: u32 = 60;

/// Client addresses tracked at once; past it the table is cleared of
/// windows that ended.
const MAX_TRACKED_CLIENTS: usize = 10_000;

fn junk(code: RefusalCode) -> bool {
    matches!(
        code,
        RefusalCode::UnknownChannel
            | RefusalCode::BadSignature
            | RefusalCode::WrongCreator
            | RefusalCode::Malformed
            | RefusalCode::Unsupported
            | RefusalCode::WrongPayTo
            | RefusalCode::InvalidTransaction
    )
}

/// What a payment bought: the `PAYMENT-RESPONSE`, and how it is given
/// back if the request is then not served.
#[derive(Clone, Debug, PartialEq)]
pub struct Paid {
    /// The `PAYMENT-RESPONSE`.
    pub settlement: SettlementResponse,
    /// What a request not served keeps for its retry.
    pub refund: Refund,
}

/// How a paid request that was not served keeps its payment for a retry of
/// the same request with the same payment (served once, after a restart
/// too, on any gateway sharing the store).
#[derive(Clone, Debug, PartialEq)]
pub enum Refund {
    /// micropay: the voucher, route and what it paid, kept as a credit.
    Credit(Credit),
    /// `exact`: the payment, marked settled-not-served again.
    Exact {
        /// The transaction's id.
        id: String,
        /// Who paid.
        payer: Pubkey,
        /// Base units paid.
        amount: u64,
    },
}

impl Refund {
    /// Who paid (the channel for micropay, the payer for `exact`) and what
    /// the creator received: for the request's log line.
    fn logged(&self) -> (Pubkey, u64) {
        match self {
            Refund::Credit(c) => (c.channel, c.net),
            Refund::Exact { payer, amount, .. } => (*payer, *amount),
        }
    }
}

/// Most settle-first claims sent per second: each costs the creator a
/// transaction fee. Past it, an accepted voucher waits for its retry (`503`).
pub const SETTLE_FIRST_PER_SEC: u32 = 20;

/// A route's name in credits: method and path pattern.
pub fn route_key(route: &Route) -> String {
    format!("{} {}", route.method_name(), route.path)
}

/// What the answer says when a paid request was not served and its voucher
/// is kept for a retry of the same request.
pub const NOT_SERVED: &str =
    "upstream_failed: not charged; send the same request with the same voucher again";

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl Paywall {
    /// A paywall accepting vouchers through `receiver`.
    pub fn new(receiver: Arc<Receiver>, config: PaywallConfig) -> Self {
        Self::build(receiver, config, None)
    }

    /// A paywall whose `settle_first` routes claim through `settle`.
    pub fn with_settle(
        receiver: Arc<Receiver>,
        config: PaywallConfig,
        settle: Arc<dyn Settle>,
    ) -> Self {
        Self::build(receiver, config, Some(settle))
    }

    fn build(
        receiver: Arc<Receiver>,
        config: PaywallConfig,
        settle: Option<Arc<dyn Settle>>,
    ) -> Self {
        Paywall {
            shared: Arc::new(Shared {
                receiver,
                config,
                settle,
                claims: StdMutex::new((std::time::Instant::now(), 0)),
                junk: StdMutex::new(HashMap::new()),
                metrics: Metrics::new(),
                exact: std::sync::OnceLock::new(),
                warned: StdMutex::new(HashSet::new()),
            }),
        }
    }

    /// What it counted (paid and refused requests, accepted value); export
    /// it with [`Metrics::router`].
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.shared.metrics
    }

    /// Says loudly, once per mint, a refusal that is the operator's fault
    /// (every payment like it is refused until the operator acts).
    fn warn_operator(&self, rejection: &Rejection) {
        let config = self.shared.receiver.config();
        let (code, mint) = match rejection {
            Rejection::MintNotAccepted { mint, .. } => ("mint_not_accepted", *mint),
            Rejection::EarningsMissing { owner, account, .. } => {
                // the account derives from (owner, mint): which accepted mint
                let Some(mint) = config
                    .mints
                    .iter()
                    .map(|m| m.mint)
                    .find(|m| pda::earnings(owner, m).0 == *account)
                else {
                    return;
                };
                ("earnings_missing", mint)
            }
            _ => return,
        };
        {
            let mut warned = self.shared.warned.lock().unwrap_or_else(|p| p.into_inner());
            if warned.len() >= MAX_WARNED || !warned.insert((code, mint)) {
                return;
            }
        }
        match rejection {
            Rejection::EarningsMissing { owner, account, .. } => tracing::warn!(
                payee = %owner,
                %mint,
                %account,
                "OPERATOR ACTION NEEDED: the payee's earnings account for mint {mint} does not exist, so every payment in it is refused (earnings_missing); create it: micropay earnings init --mint {mint} --owner {owner} (said once per mint)"
            ),
            _ => {
                let accepted: Vec<String> =
                    config.mints.iter().map(|m| m.mint.to_string()).collect();
                tracing::warn!(
                    %mint,
                    accepted = %accepted.join(","),
                    "OPERATOR CHECK: a payer's channel pays in mint {mint}, which this gateway does not accept (it accepts {}), so its payments are refused (mint_not_accepted); if payers are meant to pay in it, add it to `mints` (devnet and mainnet mints differ) (said once per mint)",
                    accepted.join(", ")
                );
            }
        }
    }

    fn paid(&self, credit: Credit, transaction: String) -> Decision {
        Decision::Paid(Box::new(Paid {
            settlement: SettlementResponse {
                success: true,
                transaction,
                network: self.shared.config.network.clone(),
                payer: Some(credit.signer.to_string()),
                channel: credit.channel.to_string(),
                cumulative: credit.amount.to_string(),
                paid: credit.net.to_string(),
                remaining: credit.allocation.saturating_sub(credit.amount).to_string(),
                error_reason: None,
            },
            refund: Refund::Credit(credit),
        }))
    }

    /// Keeps what a request that was not served paid, for its retry; `true`
    /// when kept.
    async fn give_back(&self, refund: Refund) -> bool {
        match refund {
            Refund::Credit(credit) => self.keep(credit).await,
            Refund::Exact { id, .. } => self.unserve_exact(id).await,
        }
    }

    /// Takes one settle-first claim from this second's allowance.
    fn claim_allowed(&self) -> bool {
        let mut c = self.shared.claims.lock().unwrap_or_else(|p| p.into_inner());
        if c.0.elapsed() >= std::time::Duration::from_secs(1) {
            *c = (std::time::Instant::now(), 0);
        }
        if c.1 >= SETTLE_FIRST_PER_SEC {
            return false;
        }
        c.1 = c.1.saturating_add(1);
        true
    }

    /// Keeps `credit` for the retry of a request that was not served; `true`
    /// when it is kept (durably: also across restarts and gateways).
    async fn keep(&self, credit: Credit) -> bool {
        let (channel, amount) = (credit.channel, credit.amount);
        match self.shared.receiver.keep_credit(credit).await {
            Ok(kept) => {
                if !kept {
                    tracing::error!(%channel, amount, "credit not kept (already kept, or the store keeps the most it may)");
                }
                kept
            }
            Err(e) => {
                tracing::error!(%channel, amount, error = %e, "credit not kept: the store failed");
                false
            }
        }
    }

    /// Claims `voucher` first (a `settle_first` route): paid with the claim's
    /// signature, or `503` with the voucher kept as a credit for its retry.
    async fn settle_then_pay(&self, voucher: &Voucher, credit: Credit) -> Decision {
        let Some(settle) = &self.shared.settle else {
            tracing::error!("a settle-first route was paid, but the paywall has no claimer");
            self.keep(credit).await;
            return Decision::Unavailable(Unavailable::Unconfigured);
        };
        if !self.claim_allowed() {
            self.keep(credit).await;
            return Decision::Unavailable(Unavailable::SettlementBusy);
        }
        match settle.settle(voucher).await {
            Ok(signature) => self.paid(credit, signature.to_string()),
            Err(e) => {
                tracing::warn!(channel = %voucher.channel, amount = voucher.amount, error = %e, "settle-first claim failed; the voucher waits for its retry");
                self.keep(credit).await;
                Decision::Unavailable(Unavailable::Settlement)
            }
        }
    }

    /// Whether an answer of `status` means the request was not served (its
    /// voucher is then kept for a retry): a `5xx` (the proxy answers `502`
    /// when the upstream cannot be reached), and a `404` when configured.
    pub fn not_served(&self, status: StatusCode) -> bool {
        status.is_server_error()
            || (status == StatusCode::NOT_FOUND && self.shared.config.credit_not_found)
    }

    /// The receiver behind it.
    pub fn receiver(&self) -> &Arc<Receiver> {
        &self.shared.receiver
    }

    /// The route pricing `method path` (a canonical path): the first
    /// matching both; else the first whose path matches (a method no route
    /// names is priced, not free); else the unrouted price, if any.
    pub fn route(&self, method: &Method, path: &str) -> Option<&Route> {
        let routes = &self.shared.config.routes;
        routes
            .iter()
            .find(|r| r.matches(method, path))
            .or_else(|| routes.iter().find(|r| r.path.matches(path)))
            .or(match &self.shared.config.unrouted {
                Unrouted::Priced(route) => Some(route),
                Unrouted::Free | Unrouted::Deny => None,
            })
    }

    /// The ways to pay for `route`: one per priced mint.
    /// The route's offers: micropay's, then `exact`'s when the route and
    /// the paywall take it.
    fn offers(&self, route: &Route) -> Vec<Offer> {
        let mut offers: Vec<Offer> = self
            .requirements(route)
            .into_iter()
            .map(Offer::from)
            .collect();
        offers.extend(self.exact_offers(route).into_iter().map(Offer::Exact));
        offers
    }

    fn requirements(&self, route: &Route) -> Vec<PaymentRequirements> {
        let receiver = &self.shared.receiver;
        let config = receiver.config();
        let mut fee_recipients: Vec<String> = config
            .fees
            .recipients
            .iter()
            .map(ToString::to_string)
            .collect();
        fee_recipients.sort();
        route
            .prices
            .iter()
            .map(|price| PaymentRequirements {
                scheme: x402::SCHEME.to_string(),
                network: self.shared.config.network.clone(),
                amount: price.amount.to_string(),
                asset: price.mint.to_string(),
                pay_to: receiver.creator().to_string(),
                max_timeout_seconds: self.shared.config.max_timeout_seconds,
                extra: MicropayExtra {
                    program_id: micropay_client::micropay::ID.to_string(),
                    decimals: price.decimals,
                    min_dispute_window_secs: config.min_dispute_window_secs,
                    fee_recipients: fee_recipients.clone(),
                    max_fee_bps: config.fees.max_bps,
                    fund_action: self.shared.config.fund_action.clone(),
                },
            })
            .collect()
    }

    fn refused(&self, route: &Route, url: &str, refusal: Refusal, error: String) -> Decision {
        Decision::Refused(Box::new(PaymentRequired {
            x402_version: x402::X402_VERSION,
            error: Some(error),
            resource: ResourceInfo {
                url: url.to_string(),
                description: route.description.clone(),
                mime_type: None,
            },
            accepts: self.offers(route),
            extensions: BTreeMap::from([
                (
                    x402::EXTENSION.to_string(),
                    Extension::refusal(refusal).value(),
                ),
                (
                    x402::payment_id::NAME.to_string(),
                    x402::payment_id::declaration(),
                ),
            ]),
        }))
    }

    /// [`Paywall::decide`] for a request from `client` (its address, when
    /// known) to `path`, already canonical: a client that sent
    /// [`JUNK_PER_CLIENT_PER_MIN`] junk payments this minute is
    /// [`Decision::Throttled`] before its payment is looked at.
    pub async fn decide_from(
        &self,
        client: Option<IpAddr>,
        method: &Method,
        path: &CanonicalPath,
        payment: Option<&[u8]>,
    ) -> Decision {
        if payment.is_some() && self.junk_count(client, false) >= JUNK_PER_CLIENT_PER_MIN {
            return Decision::Throttled;
        }
        let decision = self.decide_canonical(method, path, payment).await;
        if let Decision::Refused(required) = &decision {
            if required.refusal().is_some_and(|r| junk(r.reason)) {
                self.junk_count(client, true);
            }
        }
        decision
    }

    /// `client`'s junk payments this minute, one more when `add`.
    fn junk_count(&self, client: Option<IpAddr>, add: bool) -> u32 {
        let minute = std::time::Duration::from_secs(60);
        let mut table = self.shared.junk.lock().unwrap_or_else(|p| p.into_inner());
        if add && table.len() >= MAX_TRACKED_CLIENTS {
            table.retain(|_, (since, _)| since.elapsed() < minute);
        }
        let now = std::time::Instant::now();
        let entry = match table.get_mut(&client) {
            Some(e) => e,
            None if add => table.entry(client).or_insert((now, 0)),
            None => return 0,
        };
        if entry.0.elapsed() >= minute {
            *entry = (now, 0);
        }
        if add {
            entry.1 = entry.1.saturating_add(1);
        }
        entry.1
    }

    /// Decides `method path` with payment header `payment` (the raw
    /// `PAYMENT-SIGNATURE`); records an accepted voucher durably before it
    /// returns [`Decision::Paid`]. `path` is canonicalised first (a path
    /// with more than one meaning is [`Decision::BadPath`]).
    pub async fn decide(&self, method: &Method, path: &str, payment: Option<&[u8]>) -> Decision {
        match CanonicalPath::parse(path) {
            Ok(path) => self.decide_canonical(method, &path, payment).await,
            Err(e) => Decision::BadPath(e),
        }
    }

    /// [`Paywall::decide`] on a path already canonical (the layer parses
    /// each request's path once).
    async fn decide_canonical(
        &self,
        method: &Method,
        path: &CanonicalPath,
        payment: Option<&[u8]>,
    ) -> Decision {
        let path = path.as_str();
        let Some(route) = self.route(method, path) else {
            return match self.shared.config.unrouted {
                Unrouted::Deny => Decision::Denied,
                Unrouted::Free | Unrouted::Priced(_) => Decision::Free,
            };
        };
        let refuse =
            |code: RefusalCode, error: String| self.refused(route, path, Refusal::new(code), error);
        let Some(payment) = payment else {
            return refuse(
                RefusalCode::PaymentRequired,
                "this resource is paid: send a micropay voucher in the PAYMENT-SIGNATURE header"
                    .into(),
            );
        };
        let bound = match self.bind_payment_id(route, (method, path), payment).await {
            Ok(bound) => bound,
            Err(decision) => return decision,
        };
        let decision = self.decide_payment(route, path, payment).await;
        self.release_payment_id(bound, &decision).await;
        decision
    }

    /// The decision on `payment` for `route`: by its scheme.
    async fn decide_payment(&self, route: &Route, path: &str, payment: &[u8]) -> Decision {
        let refuse =
            |code: RefusalCode, error: String| self.refused(route, path, Refusal::new(code), error);
        if exact::is_exact(payment) {
            return self.decide_exact(route, path, payment).await;
        }
        let payload: PaymentPayload = match x402::decode_header(x402::PAYMENT_SIGNATURE, payment) {
            Ok(p) => p,
            Err(e) => return refuse(RefusalCode::Malformed, e.to_string()),
        };
        let accepted = &payload.accepted;
        if payload.x402_version != x402::X402_VERSION
            || accepted.scheme != x402::SCHEME
            || accepted.network != self.shared.config.network
        {
            return refuse(
                RefusalCode::Unsupported,
                format!(
                    "this server takes x402 version {} with scheme `{}` on {}",
                    x402::X402_VERSION,
                    x402::SCHEME,
                    self.shared.config.network
                ),
            );
        }
        let creator = self.shared.receiver.creator();
        if accepted.pay_to != creator.to_string() {
            return refuse(
                RefusalCode::WrongPayTo,
                format!("payments here go to {creator}, not {}", accepted.pay_to),
            );
        }
        let voucher = match payload.payload.voucher() {
            Ok(v) => v,
            Err(e) => return refuse(RefusalCode::Malformed, e.to_string()),
        };
        if route.settle_first {
            // nothing taken while no credit could be kept for a failed claim
            match self.shared.receiver.count_credits().await {
                Ok(n) if n < MAX_CREDITS => {}
                Ok(_) => return Decision::Unavailable(Unavailable::SettlementBusy),
                Err(e) => return Decision::Unavailable(Unavailable::of(&e)),
            }
        }
        let price = |mint: &_| route.price(mint);
        let credit_of = |p: Payment| Credit {
            channel: p.channel,
            amount: p.cumulative,
            route: route_key(route),
            net: p.net,
            allocation: p.allocation,
            signer: p.signer,
            created_at: unix_now(),
        };
        let accepted = self.shared.receiver.accept_priced(&voucher, &price).await;
        if let Ok(paid) = &accepted {
            self.shared.metrics.accepted(&paid.mint, paid.net);
        }
        match accepted {
            Ok(paid) if route.settle_first => self.settle_then_pay(&voucher, credit_of(paid)).await,
            Ok(paid) => self.paid(credit_of(paid), String::new()),
            Err(ClientError::Rejected(rejection)) => {
                self.warn_operator(&rejection);
                // the retry of a request not served (its upstream failed,
                // or its settle-first claim did not go through) on the same
                // route: a duplicate is byte for byte a voucher that
                // verified; the credit is taken, so one retry alone is served
                if matches!(rejection, Rejection::Duplicate { .. }) {
                    let taken = self
                        .shared
                        .receiver
                        .take_credit(&voucher.channel, voucher.amount, &route_key(route))
                        .await;
                    match taken {
                        Ok(Some(credit)) if route.settle_first => {
                            return self.settle_then_pay(&voucher, credit).await
                        }
                        Ok(Some(credit)) => return self.paid(credit, String::new()),
                        Ok(None) => {}
                        Err(e) => return Decision::Unavailable(Unavailable::of(&e)),
                    }
                }
                let code = refusal_code(&rejection);
                let mut refusal = Refusal {
                    channel: Some(voucher.channel.to_string()),
                    ..Refusal::new(code)
                };
                if matches!(code, RefusalCode::Stale | RefusalCode::Duplicate) {
                    // only to the holder of a voucher of the channel's key
                    match self.shared.receiver.held_for(&voucher).await {
                        Ok(Some((held, claimed))) => {
                            refusal.held = Some(WireVoucher::from(&held));
                            refusal.claimed = Some(claimed.to_string());
                        }
                        Ok(None) => {}
                        Err(e) => return Decision::Unavailable(Unavailable::of(&e)),
                    }
                }
                self.refused(route, path, refusal, rejection.to_string())
            }
            Err(ClientError::Voucher(e)) => {
                let refusal = Refusal {
                    channel: Some(voucher.channel.to_string()),
                    ..Refusal::new(RefusalCode::BadSignature)
                };
                self.refused(route, path, refusal, e.to_string())
            }
            Err(other) => Decision::Unavailable(Unavailable::of(&other)),
        }
    }
}

/// The wire code of a receiver's rejection.
pub fn refusal_code(rejection: &Rejection) -> RefusalCode {
    match rejection {
        Rejection::UnknownChannel(_) => RefusalCode::UnknownChannel,
        Rejection::WrongCreator { .. } => RefusalCode::WrongCreator,
        Rejection::MintNotAccepted { .. } => RefusalCode::MintNotAccepted,
        Rejection::FeeNotAccepted { .. } => RefusalCode::FeeNotAccepted,
        Rejection::DisputeWindowTooShort { .. } => RefusalCode::DisputeWindowTooShort,
        Rejection::ChannelClosing(_) => RefusalCode::Closing,
        Rejection::ChannelExpiring(_) => RefusalCode::Expiring,
        Rejection::EarningsMissing { .. } => RefusalCode::EarningsMissing,
        Rejection::ExceedsAllocation { .. } => RefusalCode::ExceedsAllocation,
        Rejection::NotAhead { .. } => RefusalCode::Stale,
        Rejection::Underpaid { .. } => RefusalCode::Underpaid,
        Rejection::Duplicate { .. } => RefusalCode::Duplicate,
    }
}

/// The `402` for `required`: its JSON as the body and, base64, the header.
pub fn payment_required(required: &PaymentRequired) -> Response<Body> {
    let json = serde_json::to_vec(required).unwrap_or_default();
    let mut response = Response::new(Body::from(json));
    *response.status_mut() = StatusCode::PAYMENT_REQUIRED;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if let Ok(value) = HeaderValue::from_str(&encode_header(required)) {
        headers.insert(x402::PAYMENT_REQUIRED, value);
    }
    response
}

/// A plain-text answer.
fn plain(status: StatusCode, text: String) -> Response<Body> {
    let mut response = Response::new(Body::from(text));
    *response.status_mut() = status;
    response
}

/// `request` with its path replaced by `path` (the query kept), so the
/// inner service sees exactly the path that was priced.
fn with_path<B>(mut request: Request<B>, path: &CanonicalPath) -> Request<B> {
    let target = match request.uri().query() {
        Some(q) => format!("{path}?{q}"),
        None => path.to_string(),
    };
    let mut parts = request.uri().clone().into_parts();
    if let Ok(pq) = PathAndQuery::try_from(target) {
        parts.path_and_query = Some(pq);
        if let Ok(uri) = Uri::from_parts(parts) {
            *request.uri_mut() = uri;
        }
    }
    request
}

/// A JSON answer `{"error", "code"}` of `status`, to be tried again after
/// `retry_after` seconds.
fn coded(status: StatusCode, error: &str, code: &str, retry_after: &'static str) -> Response<Body> {
    let body = serde_json::json!({ "error": error, "code": code });
    let mut response = Response::new(Body::from(body.to_string()));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(header::RETRY_AFTER, HeaderValue::from_static(retry_after));
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// The `429` for a client that sent too much junk.
fn throttled() -> Response<Body> {
    coded(
        StatusCode::TOO_MANY_REQUESTS,
        "too many invalid payments from this address; wait a minute",
        "too_many_invalid_payments",
        "60",
    )
}

/// The `503` for a decision that could not be made: JSON `{"error",
/// "code"}` and `Retry-After`, nothing internal.
pub fn unavailable(why: Unavailable) -> Response<Body> {
    coded(
        StatusCode::SERVICE_UNAVAILABLE,
        why.sentence(),
        why.code(),
        "1",
    )
}

/// The one log line of a priced request (target `micropay::request`):
/// method, path, and either the channel, what it paid the creator (net),
/// the upstream's status and whether the payment was kept as a credit, or
/// why it was refused; with the time from the request to the decision
/// (refused) or to the upstream's answer (paid).
struct RequestLog {
    method: Method,
    path: String,
    started: std::time::Instant,
}

impl RequestLog {
    fn micros(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_micros()).unwrap_or(u64::MAX)
    }

    fn paid(
        &self,
        channel: &anchor_lang::prelude::Pubkey,
        net: u64,
        status: StatusCode,
        credited: bool,
    ) {
        tracing::info!(
            target: "micropay::request",
            method = %self.method,
            path = %self.path,
            %channel,
            paid = net,
            upstream = status.as_u16(),
            credited,
            latency_us = self.micros(),
            "paid"
        );
    }

    fn refused(&self, reason: &str) {
        tracing::info!(
            target: "micropay::request",
            method = %self.method,
            path = %self.path,
            reason,
            latency_us = self.micros(),
            "refused"
        );
    }
}

impl<S> Layer<S> for Paywall {
    type Service = PaywallService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        PaywallService {
            paywall: self.clone(),
            inner,
        }
    }
}

/// The paywall in front of `S`.
#[derive(Clone)]
pub struct PaywallService<S> {
    paywall: Paywall,
    inner: S,
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

impl<S, B, ResBody> Service<Request<B>> for PaywallService<S>
where
    S: Service<Request<B>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    B: Send + 'static,
    ResBody: http_body::Body<Data = Bytes> + Send + 'static,
    ResBody::Error: Into<BoxError>,
{
    type Response = Response<Body>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Response<Body>, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        // the ready service serves this request; a fresh clone waits for the next
        let clone = self.inner.clone();
        let inner = std::mem::replace(&mut self.inner, clone);
        let paywall = self.paywall.clone();
        let pays = request.headers().contains_key(x402::PAYMENT_SIGNATURE);
        let answering = answer(paywall, inner, request);
        if !pays {
            return Box::pin(answering);
        }
        // A client that leaves makes hyper drop this future. A payment runs
        // on to its end anyway: once its voucher is accepted it is money, so
        // the use it paid for is served, or credited if it fails (a closed
        // tab's voucher, sent again, is then a duplicate of a served use).
        Box::pin(async move {
            match tokio::spawn(answering).await {
                Ok(answered) => answered,
                Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
                Err(_) => Ok(plain(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "the gateway is shutting down\n".into(),
                )),
            }
        })
    }
}

/// One request through the paywall: decided, then served or refused.
async fn answer<S, B, ResBody>(
    paywall: Paywall,
    mut inner: S,
    request: Request<B>,
) -> Result<Response<Body>, S::Error>
where
    S: Service<Request<B>, Response = Response<ResBody>>,
    ResBody: http_body::Body<Data = Bytes> + Send + 'static,
    ResBody::Error: Into<BoxError>,
{
    let path = match CanonicalPath::parse(request.uri().path()) {
        Ok(p) => p,
        Err(e) => return Ok(plain(StatusCode::BAD_REQUEST, format!("{e}\n"))),
    };
    let request = with_path(request, &path);
    if request.uri().path() != path.as_str() {
        // cannot happen for a canonical path; never forward another
        return Ok(plain(
            StatusCode::BAD_REQUEST,
            "the path cannot be forwarded as priced\n".into(),
        ));
    }
    let payment = request
        .headers()
        .get(x402::PAYMENT_SIGNATURE)
        .map(|v| v.as_bytes().to_vec());
    let client = request
        .extensions()
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip());
    let started = std::time::Instant::now();
    let method = request.method().clone();
    let decision = paywall
        .decide_from(client, request.method(), &path, payment.as_deref())
        .await;
    let log = RequestLog {
        method,
        path: path.as_str().to_owned(),
        started,
    };
    match decision {
        Decision::Free => Ok(inner.call(request).await?.map(Body::new)),
        Decision::Denied => Ok(plain(
            StatusCode::FORBIDDEN,
            "this path is not served here\n".into(),
        )),
        Decision::BadPath(e) => Ok(plain(StatusCode::BAD_REQUEST, format!("{e}\n"))),
        Decision::Throttled => {
            log.refused("throttled");
            paywall.metrics().refused("throttled");
            Ok(throttled())
        }
        Decision::Paid(paid) => serve_paid(&paywall, inner, request, *paid, &log).await,
        Decision::Refused(required) => {
            // the wire's snake_case code, as clients see it
            let reason = required
                .refusal()
                .and_then(|r| serde_json::to_value(r.reason).ok())
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_else(|| "payment_required".to_owned());
            log.refused(&reason);
            paywall.metrics().refused(&reason);
            Ok(payment_required(&required))
        }
        Decision::Conflict(required) => {
            log.refused("payment_identifier_conflict");
            paywall.metrics().refused("payment_identifier_conflict");
            let mut response = payment_required(&required);
            *response.status_mut() = StatusCode::CONFLICT;
            Ok(response)
        }
        Decision::Unavailable(why) => {
            log.refused(why.code());
            let metrics = paywall.metrics();
            metrics.refused(why.code());
            match why {
                Unavailable::Store => metrics.store_error(),
                Unavailable::Cluster => metrics.cluster_error(),
                _ => {}
            }
            Ok(unavailable(why))
        }
    }
}

/// Serves a paid request; an answer that is not a serving (a `5xx`, …)
/// keeps the voucher as a credit and says so in the `PAYMENT-RESPONSE`.
async fn serve_paid<S, B, ResBody>(
    paywall: &Paywall,
    mut inner: S,
    request: Request<B>,
    paid: Paid,
    log: &RequestLog,
) -> Result<Response<Body>, S::Error>
where
    S: Service<Request<B>, Response = Response<ResBody>>,
    ResBody: http_body::Body<Data = Bytes> + Send + 'static,
    ResBody::Error: Into<BoxError>,
{
    let Paid {
        mut settlement,
        refund,
    } = paid;
    let (channel, net) = refund.logged();
    let mut response = inner.call(request).await?.map(Body::new);
    let status = response.status();
    let kept = paywall.not_served(status) && paywall.give_back(refund).await;
    if kept {
        settlement.success = false;
        settlement.error_reason = Some(NOT_SERVED.into());
    }
    if let Ok(value) = HeaderValue::from_str(&encode_header(&settlement)) {
        response.headers_mut().insert(x402::PAYMENT_RESPONSE, value);
    }
    log.paid(&channel, net, status, kept);
    paywall.metrics().paid();
    Ok(response)
}
