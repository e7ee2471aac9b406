//! The watcher: the process the dispute window assumes.
//!
//! A payer may ask to close a channel at any time; whatever the creator has
//! not claimed when the dispute window ends goes back to the payer. The
//! watcher (a library type here, `micropay watch` in the CLI) follows the
//! receiver store's open vouchers and their channels and:
//!
//! - claims every **urgent** voucher at once — its payer asked to close, or
//!   its channel expires within the planner's margin — whatever the fee, with
//!   a priority fee that escalates after each failed attempt
//!   ([`WatcherConfig::urgent_fee_ladder`]);
//! - runs the planner for routine claims on a schedule
//!   ([`WatcherConfig::plan_interval`]), at the target fee ratio;
//! - wakes on its poll interval, before the next expiry deadline, and whenever
//!   a WebSocket subscription to the program's channel accounts reports a
//!   change (a close request shows up within a second instead of a poll);
//! - backs off (bounded) after errors and keeps going: an unreachable node or
//!   a failing claim never stops it; a store that keeps failing does
//!   ([`WatcherConfig::max_store_failures`]), so that a supervisor restarts it;
//! - on a store shared by several gateways (Postgres), runs passes only
//!   while it holds the store's lease ([`crate::store::WatcherLease`]): every
//!   gateway may run its watcher, exactly one is active, and another takes
//!   over within [`WatcherConfig::lease_poll`] when it dies (its database
//!   session ends, and the lock with it), so the watcher is no single point
//!   of failure and no two send claims;
//! - keeps no state of its own: everything lives in the store and on chain,
//!   so it can be killed at any moment (SIGKILL included) and restarted;
//! - stops cleanly when its shutdown future resolves (SIGINT / SIGTERM in the
//!   CLI), between two passes.
//!
//! Every decision and its numbers go to `tracing`; a caller that exports
//! them (`micropay serve`'s metrics) follows the running report through
//! [`Watcher::reporting`]: after every pass it holds what was claimed, what
//! it cost and what still waits ([`Backlog`]).
//!
//! A pass reaches the store through [`AsyncStore`] (its blocking calls run
//! on tokio's blocking pool), so the watcher is one more task beside
//! latency-bound work such as a paywall on the same runtime, as in
//! `micropay serve`: a pass never holds up a request's worker.

use crate::ledger::DynSigner;
use crate::{
    error::Result,
    ledger::Ledger,
    planner::{Execution, Lost, Planner, PlannerConfig},
    store::{AsyncLease, AsyncStore, ReceiverStore},
};
use anchor_lang::prelude::Pubkey;
use solana_sdk::signature::Signer;
use std::{
    collections::{BTreeMap, HashSet},
    future::Future,
    sync::Arc,
    time::{Duration, Instant},
};
use tokio::sync::{mpsc, watch};

/// How the watcher paces itself.
#[derive(Clone, Debug)]
pub struct WatcherConfig {
    /// Longest time between two looks at the chain.
    pub poll_interval: Duration,
    /// How often routine (non-urgent) claims are planned.
    pub plan_interval: Duration,
    /// Priority fee for urgent claims, micro-lamports per compute unit: the
    /// first entry on the first attempt, the next after each failure.
    pub urgent_fee_ladder: Vec<u64>,
    /// First wait after an error; doubled per consecutive error up to `max_backoff`.
    pub min_backoff: Duration,
    /// Longest wait after failures.
    pub max_backoff: Duration,
    /// The planner's configuration for routine passes.
    pub planner: PlannerConfig,
    /// Royalty splits to distribute on the routine schedule (for their
    /// owners, who asked for it): each when what it would move is worth its
    /// fee at the planner's target ratio.
    pub distribute: Vec<Pubkey>,
    /// Consecutive passes failing on the store after which the watcher
    /// stops ([`WatchReport::gave_up`]) so that its supervisor restarts it
    /// (the store may need a new process: a moved database, a full disk).
    /// The cluster failing never stops it: it backs off and tries again.
    pub max_store_failures: u32,
    /// How often a standby watcher tries for the store's lease (a store
    /// shared by several gateways: one watcher is active, the others take
    /// over within this long after it dies; see
    /// [`crate::store::ReceiverStore::watcher_lease`]).
    pub lease_poll: Duration,
}

impl Default for WatcherConfig {
    fn default() -> Self {
        WatcherConfig {
            poll_interval: Duration::from_secs(10),
            plan_interval: Duration::from_secs(300),
            urgent_fee_ladder: vec![0, 10_000, 100_000, 1_000_000],
            min_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(60),
            planner: PlannerConfig::default(),
            distribute: Vec::new(),
            max_store_failures: 10,
            lease_poll: Duration::from_secs(2),
        }
    }
}

/// What the watcher did, summed over its passes.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct WatchReport {
    /// Passes run.
    pub passes: usize,
    /// Passes that failed.
    pub errors: usize,
    /// Claim transactions that landed.
    pub claim_transactions: usize,
    /// Vouchers settled.
    pub vouchers_settled: usize,
    /// Base units settled.
    pub settled_amount: u64,
    /// Lamports paid (claims and earnings accounts' setup).
    pub fees: u64,
    /// Vouchers quarantined.
    pub quarantined: usize,
    /// Value lost to channels that closed before their voucher was claimed.
    pub lost: Vec<Lost>,
    /// Split distributions sent.
    pub distributions: usize,
    /// Why the watcher stopped by itself (the store kept failing), if it
    /// did: its supervisor should restart it (`micropay watch` exits 2).
    pub gave_up: Option<String>,
    /// What waited to be claimed after the last pass that ran.
    pub backlog: Backlog,
    /// Wall-clock unix time of the last pass that ran (`None`: none yet).
    pub last_pass_at: Option<u64>,
}

/// What waits to be claimed: the store's vouchers that still pay something
/// on chain, as a pass left them (those it settled taken out).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Backlog {
    /// Vouchers waiting.
    pub vouchers: usize,
    /// What they would settle now, base units by mint.
    pub value: BTreeMap<Pubkey, u64>,
    /// The earliest last moment one of them can be claimed (unix time, the
    /// chain's clock): a dispute window's end or an expiry.
    pub earliest_deadline: Option<i64>,
}

impl Backlog {
    /// The candidates of `recon` that `execution` did not settle.
    fn after(recon: &crate::planner::Reconciliation, execution: &Execution) -> Self {
        let settled: HashSet<Pubkey> = execution.settled.iter().map(|s| s.channel).collect();
        let mut backlog = Backlog::default();
        for c in recon
            .candidates
            .iter()
            .filter(|c| !settled.contains(&c.record.voucher.channel))
        {
            backlog.vouchers = backlog.vouchers.saturating_add(1);
            let value = backlog.value.entry(c.record.mint).or_default();
            *value = value.saturating_add(c.value);
            backlog.earliest_deadline = match (backlog.earliest_deadline, c.deadline()) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
        }
        backlog
    }
}

impl WatchReport {
    fn add(&mut self, e: &Execution) {
        self.claim_transactions = self.claim_transactions.saturating_add(e.transactions);
        self.vouchers_settled = self.vouchers_settled.saturating_add(e.vouchers_settled);
        self.settled_amount = self.settled_amount.saturating_add(e.settled_amount);
        self.fees = self.fees.saturating_add(e.fees);
        self.quarantined = self.quarantined.saturating_add(e.quarantined.len());
        self.lost.extend(e.lost.iter().cloned());
    }
}

/// What one distribution would move, from the split and its earnings
/// balance: every owner's share not yet distributed (the program skips an
/// owner whose earnings account was closed, so it may move less).
fn distributable(split: &micropay::state::Split, balance: u64) -> u64 {
    let received = split
        .distributed
        .iter()
        .fold(balance, |sum, d| sum.saturating_add(*d));
    split
        .recipients
        .iter()
        .zip(&split.distributed)
        .map(|(r, d)| {
            micropay::math::split_share(received, r.bps)
                .unwrap_or(0)
                .saturating_sub(*d)
        })
        .fold(0u64, u64::saturating_add)
}

/// What one pass found and did.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Pass {
    /// Vouchers that may still pay something.
    pub open: usize,
    /// Of those, urgent ones (closing or expiring).
    pub urgent: usize,
    /// The planner ran (urgent work, or the routine interval passed).
    pub planned: bool,
    /// What the planner did, if it ran.
    pub execution: Execution,
    /// Split distributions sent.
    pub distributions: usize,
    /// When the next pass is due at the latest.
    pub next_in: Duration,
    /// What waits to be claimed after it.
    pub backlog: Backlog,
}

/// The watcher's memory between passes; nothing in it needs to survive a
/// restart (a restarted watcher only claims routine vouchers a bit earlier).
#[derive(Debug, Default)]
pub struct WatchState {
    last_routine: Option<Instant>,
    /// Consecutive failed passes with urgent work (climbs the fee ladder).
    urgent_failures: usize,
    /// Consecutive failed passes (backoff).
    failures: u32,
    /// Consecutive passes failed by the store.
    store_failures: u32,
}

/// The claim daemon: passes over the store, claiming before deadlines.
pub struct Watcher {
    ledger: Arc<dyn Ledger>,
    store: AsyncStore,
    fee_payer: Arc<DynSigner>,
    config: WatcherConfig,
    /// Where [`Watcher::run`] publishes its report after every pass.
    progress: Option<watch::Sender<WatchReport>>,
}

impl Watcher {
    /// A watcher of `store`'s vouchers on `ledger`, paying fees with `fee_payer`.
    pub fn new(
        ledger: Arc<dyn Ledger>,
        store: Arc<dyn ReceiverStore>,
        fee_payer: Arc<DynSigner>,
        config: WatcherConfig,
    ) -> Self {
        Watcher {
            ledger,
            store: AsyncStore::new(store),
            fee_payer,
            config,
            progress: None,
        }
    }

    /// The watcher, publishing its running report to `progress` after
    /// every pass, failed or not (for metrics and health checks).
    pub fn reporting(mut self, progress: watch::Sender<WatchReport>) -> Self {
        self.progress = Some(progress);
        self
    }

    /// One pass: reconcile the store with the chain, then claim urgent
    /// vouchers now (at the fee ladder's current step) and routine ones when
    /// their interval has passed.
    pub async fn pass(&self, state: &mut WatchState) -> Result<Pass> {
        let ledger = self.ledger.as_ref();
        let store = &self.store;
        let planner = Planner::new(self.config.planner.clone());
        // claims a killed watcher left in flight land or expire first
        planner.resume(ledger, store).await?;
        let recon = planner.reconcile(ledger, store).await?;
        let applied = planner.apply(store, &recon).await?;
        let margin = self.config.planner.expiry_margin_secs;
        let urgent = recon
            .candidates
            .iter()
            .filter(|c| c.urgent(recon.now, margin))
            .count();
        let routine_due = state
            .last_routine
            .is_none_or(|t| t.elapsed() >= self.config.plan_interval);
        let mut pass = Pass {
            open: recon.candidates.len(),
            urgent,
            next_in: self.next_in(&recon),
            ..Pass::default()
        };
        if urgent == 0 && !routine_due {
            pass.execution.add_lost(applied.lost);
            pass.backlog = Backlog::after(&recon, &pass.execution);
            return Ok(pass);
        }
        let step = state
            .urgent_failures
            .min(self.config.urgent_fee_ladder.len().saturating_sub(1));
        let mut config = self.config.planner.clone();
        if urgent > 0 {
            let price = self
                .config
                .urgent_fee_ladder
                .get(step)
                .copied()
                .unwrap_or(0);
            config.fees.compute_unit_price = config.fees.compute_unit_price.max(price);
        }
        // the ladder is a floor; a busy cluster's recent fees may ask more
        let planner = Planner::new(config).priced(ledger, &recon).await?;
        let plan = planner.plan(&recon, &self.fee_payer.pubkey());
        tracing::info!(
            open = recon.candidates.len(),
            urgent,
            batches = plan.batches.len(),
            deferred = plan.deferred.len(),
            compute_unit_price = planner.config.fees.compute_unit_price,
            "planning claims"
        );
        let result = planner
            .execute(&plan, ledger, store, self.fee_payer.as_ref())
            .await;
        let mut execution = match result {
            Ok(execution) => execution,
            Err(e) => {
                if urgent > 0 {
                    state.urgent_failures = state.urgent_failures.saturating_add(1);
                }
                return Err(e);
            }
        };
        execution.add_lost(applied.lost);
        state.urgent_failures = 0;
        if routine_due {
            let (count, fees) = self.distribute_due().await?;
            pass.distributions = count;
            execution.fees = execution.fees.saturating_add(fees);
            state.last_routine = Some(Instant::now());
        }
        pass.planned = true;
        pass.backlog = Backlog::after(&recon, &execution);
        pass.execution = execution;
        Ok(pass)
    }

    /// Distributes each configured split whose distributable value pays for
    /// its transaction at the target ratio; returns how many were sent and
    /// their fees.
    async fn distribute_due(&self) -> Result<(usize, u64)> {
        let ledger = self.ledger.as_ref();
        let config = &self.config.planner;
        let fee = config.fees.lamports_per_signature;
        let mut sent = (0usize, 0u64);
        for address in &self.config.distribute {
            let Some(split) = crate::accounts::split(ledger, address).await? else {
                tracing::warn!(split = %address, "no split there: nothing to distribute");
                continue;
            };
            let earnings = micropay_sdk::pda::earnings(address, &split.mint).0;
            let balance = crate::accounts::earnings(ledger, &earnings)
                .await?
                .map_or(0, |e| e.balance);
            let moved = distributable(&split, balance);
            let lamports = config
                .value(&split.mint)
                .map_or(0, |v| v.lamports_of(moved));
            let worth = u128::from(lamports).saturating_mul(u128::from(config.max_fee_ppm))
                >= u128::from(fee).saturating_mul(u128::from(crate::planner::PPM));
            if moved == 0 || !worth {
                tracing::debug!(split = %address, moved, "distribution not worth its fee yet");
                continue;
            }
            let done = crate::splits::distribute(
                ledger,
                self.fee_payer.as_ref(),
                address,
                &split,
                &split.mint,
            )
            .await?;
            tracing::info!(split = %address, moved, fee = done.fee, "split distributed");
            sent = (sent.0.saturating_add(1), sent.1.saturating_add(done.fee));
        }
        Ok(sent)
    }

    /// The poll interval, or less when an expiry deadline comes sooner.
    fn next_in(&self, recon: &crate::planner::Reconciliation) -> Duration {
        let margin = self.config.planner.expiry_margin_secs;
        let soonest = recon
            .candidates
            .iter()
            .filter(|c| !c.urgent(recon.now, margin) && c.channel.expires_at != 0)
            .map(|c| {
                c.channel
                    .expires_at
                    .saturating_sub(margin)
                    .saturating_sub(recon.now)
            })
            .min();
        let poll = self.config.poll_interval;
        match soonest.and_then(|secs| u64::try_from(secs).ok()) {
            Some(secs) => poll.min(Duration::from_secs(secs.max(1))),
            None => poll,
        }
    }

    /// Runs passes until `shutdown` resolves: on the poll interval, before
    /// deadlines, and whenever `wake` delivers (e.g. a WebSocket notification),
    /// backing off after errors. On a store shared by several watchers
    /// ([`ReceiverStore::watcher_lease`]) it runs passes only while it holds
    /// the lease, and tries for it every `lease_poll` otherwise. Returns what
    /// it did; it stops by itself when the store keeps failing
    /// ([`WatchReport::gave_up`]).
    pub async fn run(
        &self,
        mut wake: Option<mpsc::Receiver<()>>,
        shutdown: impl Future<Output = ()>,
    ) -> WatchReport {
        let mut report = WatchReport::default();
        let mut state = WatchState::default();
        let lease = match self.store.watcher_lease().await {
            Ok(lease) => lease,
            Err(e) => {
                report.gave_up = Some(format!("the store gives no watcher lease: {e}"));
                return report;
            }
        };
        let mut active = lease.is_none();
        tokio::pin!(shutdown);
        loop {
            let held = match &lease {
                Some(lease) => {
                    self.holds(lease, &mut active, &mut state, &mut report)
                        .await
                }
                None => Some(true),
            };
            let wait = match held {
                None => return report, // gave up on the store
                Some(false) => self.config.lease_poll,
                Some(true) => match self.pass_logged(&mut state, &mut report).await {
                    Some(wait) => wait,
                    None => return report,
                },
            };
            if let Some(progress) = &self.progress {
                progress.send_replace(report.clone());
            }
            let woken = async {
                match wake.as_mut() {
                    Some(rx) => {
                        if rx.recv().await.is_none() {
                            // the subscription ended: poll only from now on
                            std::future::pending::<()>().await;
                        }
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            tokio::select! {
                () = &mut shutdown => {
                    tracing::info!(passes = report.passes, "shutting down");
                    return report;
                }
                () = tokio::time::sleep(wait) => {}
                () = woken => {
                    tracing::debug!("woken by a channel change");
                }
            }
        }
    }

    /// Whether this watcher holds `lease` now (saying so when that
    /// changes); `None` when the store failed too often (given up).
    async fn holds(
        &self,
        lease: &AsyncLease,
        active: &mut bool,
        state: &mut WatchState,
        report: &mut WatchReport,
    ) -> Option<bool> {
        match lease.hold().await {
            Ok(now) => {
                if now != *active {
                    if now {
                        tracing::info!("lease held: this watcher is active");
                    } else {
                        tracing::info!("standby: another watcher holds the lease");
                    }
                    *active = now;
                }
                Some(now)
            }
            Err(e) => self.failed(e, state, report).map(|_| false),
        }
    }

    /// One pass, logged; the wait until the next, or `None` when the store
    /// failed too often (given up).
    async fn pass_logged(
        &self,
        state: &mut WatchState,
        report: &mut WatchReport,
    ) -> Option<Duration> {
        match self.pass(state).await {
            Ok(pass) => {
                state.failures = 0;
                state.store_failures = 0;
                report.passes = report.passes.saturating_add(1);
                report.add(&pass.execution);
                report.distributions = report.distributions.saturating_add(pass.distributions);
                report.backlog = pass.backlog.clone();
                report.last_pass_at = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .ok()
                    .map(|d| d.as_secs());
                if pass.planned {
                    tracing::info!(
                        open = pass.open,
                        urgent = pass.urgent,
                        transactions = pass.execution.transactions,
                        settled = pass.execution.vouchers_settled,
                        amount = pass.execution.settled_amount,
                        fees = pass.execution.fees,
                        "pass done"
                    );
                } else {
                    tracing::debug!(open = pass.open, "nothing due");
                }
                Some(pass.next_in)
            }
            Err(e) => self.failed(e, state, report),
        }
    }

    /// Counts a failure: the backoff before the next try, or `None` when the
    /// store has failed `max_store_failures` times in a row (given up).
    fn failed(
        &self,
        e: crate::ClientError,
        state: &mut WatchState,
        report: &mut WatchReport,
    ) -> Option<Duration> {
        report.errors = report.errors.saturating_add(1);
        state.failures = state.failures.saturating_add(1);
        if e.is_store() {
            state.store_failures = state.store_failures.saturating_add(1);
            if state.store_failures >= self.config.max_store_failures {
                let why = format!(
                    "the store failed {} passes in a row (last: {e}); restart the watcher once the store is back",
                    state.store_failures
                );
                tracing::error!(reason = %why, "watcher stopping");
                report.gave_up = Some(why);
                return None;
            }
        } else {
            state.store_failures = 0;
        }
        let backoff = self
            .config
            .min_backoff
            .saturating_mul(2u32.saturating_pow(state.failures.saturating_sub(1)))
            .min(self.config.max_backoff);
        tracing::warn!(error = %e, retry_in_ms = backoff.as_millis() as u64, "pass failed");
        Some(backoff)
    }
}

/// Subscribes to changes of micropay channel accounts (of `creator`, when
/// given) over `ws_url`; each notification wakes the watcher. `Err` when the
/// node offers no subscription: the watcher then polls.
pub async fn subscribe_channels(
    ws_url: &str,
    creator: Option<Pubkey>,
) -> Result<mpsc::Receiver<()>> {
    use futures_util::StreamExt;
    use solana_pubsub_client::nonblocking::pubsub_client::PubsubClient;
    use solana_rpc_client_api::config::{RpcAccountInfoConfig, RpcProgramAccountsConfig};
    let client = PubsubClient::new(ws_url)
        .await
        .map_err(|e| crate::ClientError::rpc(format!("WebSocket {ws_url}: {e}")))?;
    let filters = crate::ledger::rpc::rpc_filters(&micropay_sdk::filters::channels(
        creator.map(crate::ledger::ChannelFilter::Creator),
    ));
    let config = RpcProgramAccountsConfig {
        filters: Some(filters),
        account_config: RpcAccountInfoConfig {
            encoding: Some(solana_account_decoder_client_types::UiAccountEncoding::Base64),
            commitment: Some(solana_commitment_config::CommitmentConfig::confirmed()),
            ..Default::default()
        },
        ..Default::default()
    };
    let (tx, rx) = mpsc::channel(16);
    // the stream borrows the client: both live in the forwarding task
    let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
    tokio::spawn(async move {
        let subscribed = client.program_subscribe(&micropay::ID, Some(config)).await;
        let (mut stream, _unsubscribe) = match subscribed {
            Ok(s) => {
                let _ = ready_tx.send(Ok(()));
                s
            }
            Err(e) => {
                let _ = ready_tx.send(Err(e.to_string()));
                return;
            }
        };
        while stream.next().await.is_some() {
            // a full queue already holds a wake-up: dropping this one is fine
            let _ = tx.try_send(());
        }
        tracing::warn!("channel subscription ended; polling only");
    });
    match ready_rx.await {
        Ok(Ok(())) => Ok(rx),
        Ok(Err(e)) => Err(crate::ClientError::rpc(format!(
            "programSubscribe on {ws_url}: {e}"
        ))),
        Err(_) => Err(crate::ClientError::rpc(format!(
            "programSubscribe on {ws_url}: the subscription task ended"
        ))),
    }
}

#[cfg(test)]
mod distribution_tests {
    use super::*;
    use micropay::state::{Split, SplitRecipient};

    #[test]
    fn distributable_is_what_the_program_would_move() {
        let recipients = vec![
            SplitRecipient {
                owner: Pubkey::new_unique(),
                bps: 5_000,
            },
            SplitRecipient {
                owner: Pubkey::new_unique(),
                bps: 5_000,
            },
        ];
        let mut split = Split {
            mint: Pubkey::new_unique(),
            recipients,
            distributed: vec![0, 0],
            bump: 0,
        };
        // 1,001 received: 500 each, 1 left
        assert_eq!(distributable(&split, 1_001), 1_000);
        split.distributed = vec![500, 500];
        assert_eq!(distributable(&split, 1), 0, "the remainder is not whole");
        assert_eq!(distributable(&split, 3), 2);
        assert_eq!(distributable(&split, 0), 0);
    }
}
