//! The receiver store as async code sees it: [`AsyncStore`].
//!
//! The store traits are blocking primitives on purpose (a backend is a few
//! lines of SQL, and the conformance suite calls them directly), but a
//! blocking call on an async worker stalls every request that worker holds:
//! a disk page, an fsync or a database round trip. [`AsyncStore`] runs each
//! call on tokio's blocking pool, so async callers — the receiver, the
//! planner, the watcher — never block a worker and never need to know that
//! the store blocks: a gateway runs its watcher as one more task on its own
//! runtime. Rules that read and write a row (compare-and-set loops) run
//! whole in one hop, so a pass costs one hand-off per step, not per row.

use super::{rules, ClaimStatus, Credit, ReceiverStore, VoucherRecord, WatcherLease};
use crate::error::{ClientError, Result};
use anchor_lang::prelude::Pubkey;
use std::sync::Arc;

/// A receiver store whose calls never block the async worker calling them;
/// see the module docs. Cheap to clone (one `Arc`).
#[derive(Clone)]
pub struct AsyncStore {
    store: Arc<dyn ReceiverStore>,
}

impl From<Arc<dyn ReceiverStore>> for AsyncStore {
    fn from(store: Arc<dyn ReceiverStore>) -> Self {
        AsyncStore { store }
    }
}

impl AsyncStore {
    /// The façade of `store`.
    pub fn new(store: Arc<dyn ReceiverStore>) -> Self {
        AsyncStore { store }
    }

    /// The blocking store behind it (for group commit's writer threads and
    /// for code that runs on a thread of its own).
    pub fn blocking(&self) -> &Arc<dyn ReceiverStore> {
        &self.store
    }

    /// `f` on the store, run on tokio's blocking pool.
    pub async fn call<T: Send + 'static>(
        &self,
        f: impl FnOnce(&dyn ReceiverStore) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let store = self.store.clone();
        tokio::task::spawn_blocking(move || f(store.as_ref()))
            .await
            .map_err(|e| ClientError::store(format!("store task failed: {e}")))?
    }

    /// The row of `channel`.
    pub async fn get(&self, channel: &Pubkey) -> Result<Option<VoucherRecord>> {
        let channel = *channel;
        self.call(move |s| s.get(&channel)).await
    }

    /// Rows with one of `statuses`, by channel.
    pub async fn list(&self, statuses: &[ClaimStatus]) -> Result<Vec<VoucherRecord>> {
        let statuses = statuses.to_vec();
        self.call(move |s| s.list(&statuses)).await
    }

    /// [`rules::update`]: `rule` applied to the row of `channel` with
    /// compare-and-set; the row written, if any.
    pub async fn update(
        &self,
        channel: &Pubkey,
        rule: impl Fn(&VoucherRecord) -> Option<VoucherRecord> + Send + 'static,
    ) -> Result<Option<VoucherRecord>> {
        let channel = *channel;
        self.call(move |s| rules::update(s, &channel, &rule)).await
    }

    /// [`ReceiverStore::put_credit`], refused with `None` when `limit`
    /// credits are kept already (checked in the same hop).
    pub async fn put_credit_within(&self, credit: Credit, limit: u64) -> Result<Option<bool>> {
        self.call(move |s| {
            if s.count_credits()? >= limit {
                return Ok(None);
            }
            s.put_credit(&credit).map(Some)
        })
        .await
    }

    /// [`ReceiverStore::take_credit`].
    pub async fn take_credit(
        &self,
        channel: &Pubkey,
        amount: u64,
        route: &str,
    ) -> Result<Option<Credit>> {
        let (channel, route) = (*channel, route.to_owned());
        self.call(move |s| s.take_credit(&channel, amount, &route))
            .await
    }

    /// [`ReceiverStore::count_credits`].
    pub async fn count_credits(&self) -> Result<u64> {
        self.call(|s| s.count_credits()).await
    }

    /// [`ReceiverStore::watcher_lease`], as a lease whose `hold` is async.
    pub async fn watcher_lease(&self) -> Result<Option<AsyncLease>> {
        let lease = self.call(|s| s.watcher_lease()).await?;
        Ok(lease.map(|lease| AsyncLease {
            lease: Arc::from(lease),
        }))
    }
}

/// A [`WatcherLease`] whose `hold` runs on tokio's blocking pool.
#[derive(Clone)]
pub struct AsyncLease {
    lease: Arc<dyn WatcherLease>,
}

impl AsyncLease {
    /// [`WatcherLease::hold`].
    pub async fn hold(&self) -> Result<bool> {
        let lease = self.lease.clone();
        tokio::task::spawn_blocking(move || lease.hold())
            .await
            .map_err(|e| ClientError::store(format!("lease task failed: {e}")))?
    }
}

#[cfg(all(test, feature = "sqlite"))]
#[allow(clippy::arithmetic_side_effects)]
mod tests {
    use super::*;
    use crate::store::{conformance::sample_record, RowWrite, SqliteStore};
    use std::time::{Duration, Instant};

    /// SQLite whose every read takes `delay`: a disk or a database far away.
    struct Slow(SqliteStore, Duration);

    impl ReceiverStore for Slow {
        fn get(&self, channel: &Pubkey) -> Result<Option<VoucherRecord>> {
            std::thread::sleep(self.1);
            ReceiverStore::get(&self.0, channel)
        }
        fn insert(&self, record: &VoucherRecord) -> Result<bool> {
            self.0.insert(record)
        }
        fn compare_and_swap(&self, expected: u64, record: &VoucherRecord) -> Result<bool> {
            self.0.compare_and_swap(expected, record)
        }
        fn list(&self, statuses: &[ClaimStatus]) -> Result<Vec<VoucherRecord>> {
            std::thread::sleep(self.1);
            self.0.list(statuses)
        }
        fn write_batch(&self, writes: &[RowWrite]) -> Result<Vec<bool>> {
            self.0.write_batch(writes)
        }
        fn put_credit(&self, credit: &Credit) -> Result<bool> {
            self.0.put_credit(credit)
        }
        fn take_credit(
            &self,
            channel: &Pubkey,
            amount: u64,
            route: &str,
        ) -> Result<Option<Credit>> {
            self.0.take_credit(channel, amount, route)
        }
        fn count_credits(&self) -> Result<u64> {
            self.0.count_credits()
        }
    }

    /// On a runtime with a single thread, a task beside a slow store call
    /// keeps running: the call blocks a pool thread, not the worker. (Were
    /// it run on the worker, the ticker would get no turn until it ended.)
    #[tokio::test(flavor = "current_thread")]
    async fn a_slow_store_call_never_holds_the_worker() {
        let delay = Duration::from_millis(300);
        let store = AsyncStore::new(Arc::new(Slow(SqliteStore::in_memory().unwrap(), delay)));
        let row = sample_record(Pubkey::new_unique(), 7);
        assert!(store
            .call({
                let row = row.clone();
                move |s| s.insert(&row)
            })
            .await
            .unwrap());
        let started = Instant::now();
        let ticker = tokio::spawn(async move {
            let mut ticks = Vec::new();
            for _ in 0..5 {
                tokio::time::sleep(Duration::from_millis(20)).await;
                ticks.push(started.elapsed());
            }
            ticks
        });
        let read = store.get(&row.voucher.channel).await.unwrap();
        assert_eq!(read.map(|r| r.voucher), Some(row.voucher));
        let ticks = ticker.await.unwrap();
        assert!(
            ticks[4] < delay,
            "the ticker ran only after the read: {ticks:?}"
        );
        // the compare-and-set rule runs whole in the same hop
        let moved = store
            .update(&row.voucher.channel, |r| {
                Some(VoucherRecord {
                    claimed: r.claimed + 1,
                    ..r.clone()
                })
            })
            .await
            .unwrap();
        assert_eq!(moved.map(|r| r.claimed), Some(row.claimed + 1));
    }
}
