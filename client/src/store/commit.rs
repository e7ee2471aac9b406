//! Group commit: concurrent writers of receiver rows share one durable commit.
//!
//! A durable commit costs an fsync (SQLite) or a round trip and a WAL flush
//! (Postgres) whether it carries one row or a thousand, so one commit per
//! accepted voucher caps a receiver at the disk's fsync rate. [`GroupCommit`]
//! runs writer threads per store handle — one per batch the store runs at
//! once to advantage ([`ReceiverStore::concurrent_batches`]: one for SQLite,
//! two for Postgres): writes queue while a writer commits, and the next free
//! writer then commits everything queued (up to `max_batch` rows) in one
//! [`ReceiverStore::write_batch`]. Two batches in flight may carry writes of
//! one row; each is a compare-and-swap on the row's version, so whichever
//! commits second fails its check and its writer re-reads, as with any
//! concurrent writer. Each writer's future resolves only after
//! the commit that carried its write, so "durable before `accept` returns"
//! holds exactly as with one commit per write; what changes is that waiting
//! writers share the fsync. There is no timer: a lone writer is committed at
//! once, and batches grow only as fast as writers arrive.
//!
//! Nothing here blocks an async worker thread: the writer is a dedicated
//! thread, and [`GroupCommit::get`] reads through [`AsyncStore`].
//!
//! If a batch fails, none of it was applied (the primitive is atomic) and
//! every writer in it gets the error.

use super::{
    rules::{self, Recorded, Sighting},
    AsyncStore, ReceiverStore, RowWrite, VoucherRecord,
};
use crate::error::{ClientError, Result};
use anchor_lang::prelude::Pubkey;
use micropay_sdk::voucher::Voucher;
use std::sync::{
    atomic::{AtomicU64, Ordering},
    mpsc, Arc, Mutex,
};
use tokio::sync::oneshot;

/// Default most rows per commit.
pub const DEFAULT_MAX_BATCH: usize = 512;

struct Job {
    write: RowWrite,
    reply: oneshot::Sender<Result<bool>>,
}

#[derive(Default)]
struct Counters {
    commits: AtomicU64,
    writes: AtomicU64,
}

/// A store handle whose writes are group-committed; see the module docs.
pub struct GroupCommit {
    store: AsyncStore,
    queue: mpsc::Sender<Job>,
    counters: Arc<Counters>,
}

impl GroupCommit {
    /// Starts the writer threads for `store`, each committing at most
    /// `max_batch` writes at once (1: one commit per write, no grouping).
    /// They end when this handle is dropped, after committing what was
    /// queued.
    pub fn start(store: Arc<dyn ReceiverStore>, max_batch: usize) -> Result<Self> {
        let (queue, jobs) = mpsc::channel::<Job>();
        let jobs = Arc::new(Mutex::new(jobs));
        let counters = Arc::new(Counters::default());
        for _ in 0..store.concurrent_batches().max(1) {
            let (writer, jobs, stats) = (store.clone(), jobs.clone(), counters.clone());
            std::thread::Builder::new()
                .name("micropay-commit".into())
                .spawn(move || run(writer.as_ref(), &jobs, max_batch.max(1), &stats))
                .map_err(|e| ClientError::store(format!("cannot start the commit thread: {e}")))?;
        }
        Ok(GroupCommit {
            store: AsyncStore::new(store),
            queue,
            counters,
        })
    }

    /// The store written to.
    pub fn store(&self) -> &AsyncStore {
        &self.store
    }

    /// Writes `write` in the next commit and returns, once that commit is
    /// durable, whether it was written (its version check passed).
    pub async fn write(&self, write: RowWrite) -> Result<bool> {
        let (reply, answer) = oneshot::channel();
        let stopped = || ClientError::store("the commit thread stopped");
        self.queue
            .send(Job { write, reply })
            .map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }

    /// The row of `channel`, read on the blocking pool.
    pub async fn get(&self, channel: &Pubkey) -> Result<Option<VoucherRecord>> {
        self.store.get(channel).await
    }

    /// [`rules::record_voucher`] through group commit, deciding on `cached`
    /// (the caller's copy of the row, `Some(None)` for no row; read when
    /// `None`, and emptied when a compare-and-swap finds the row moved, so the
    /// next attempt reads it again). Refusals decided on a stale copy are
    /// sound: rows only move up.
    pub async fn record_voucher(
        &self,
        cached: &mut Option<Option<VoucherRecord>>,
        voucher: &Voucher,
        creator: &Pubkey,
        mint: &Pubkey,
        seen: &Sighting,
        pays_enough: &(dyn Fn(u64) -> bool + Sync),
    ) -> Result<Recorded> {
        for _ in 0..rules::CAS_ATTEMPTS {
            let existing = match cached.take() {
                Some(row) => row,
                None => self.get(&voucher.channel).await?,
            };
            let decided =
                rules::decide_record(existing.as_ref(), voucher, creator, mint, seen, pays_enough);
            let (record, previous) = match decided {
                Ok(next) => next,
                Err(outcome) => {
                    *cached = Some(existing);
                    return Ok(outcome);
                }
            };
            let (write, version) = match &existing {
                Some(row) => (
                    RowWrite::Swap {
                        expected: row.version,
                        record: record.clone(),
                    },
                    row.version.saturating_add(1),
                ),
                None => (RowWrite::Insert(record.clone()), 1),
            };
            if self.write(write).await? {
                *cached = Some(Some(VoucherRecord { version, ..record }));
                return Ok(Recorded::Accepted { previous });
            }
            // another writer moved the row: `cached` stays empty, read it again
        }
        Err(ClientError::StoreContention {
            channel: voucher.channel,
        })
    }

    /// Commits made so far and the writes they carried: their ratio is the
    /// mean batch size.
    pub fn stats(&self) -> (u64, u64) {
        (
            self.counters.commits.load(Ordering::Relaxed),
            self.counters.writes.load(Ordering::Relaxed),
        )
    }
}

/// The error for each writer of a failed batch (errors are not `Clone`).
fn shared(error: &ClientError) -> ClientError {
    match error {
        ClientError::Store { path, reason } => ClientError::Store {
            path: path.clone(),
            reason: reason.clone(),
        },
        other => ClientError::store(other.to_string()),
    }
}

/// The next batch: waits for a first write, then takes what else is queued.
/// `None` once the handle is gone and the queue is empty.
fn next_batch(jobs: &Mutex<mpsc::Receiver<Job>>, max_batch: usize) -> Option<Vec<Job>> {
    // another writer thread panicked while collecting: the queue is intact
    let jobs = jobs
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let mut batch = vec![jobs.recv().ok()?];
    while batch.len() < max_batch {
        match jobs.try_recv() {
            Ok(job) => batch.push(job),
            Err(_) => break,
        }
    }
    Some(batch)
}

fn run(
    store: &dyn ReceiverStore,
    jobs: &Mutex<mpsc::Receiver<Job>>,
    max_batch: usize,
    stats: &Counters,
) {
    while let Some(batch) = next_batch(jobs, max_batch) {
        let (writes, replies): (Vec<RowWrite>, Vec<_>) =
            batch.into_iter().map(|j| (j.write, j.reply)).unzip();
        let outcome = store.write_batch(&writes);
        stats.commits.fetch_add(1, Ordering::Relaxed);
        stats.writes.fetch_add(
            u64::try_from(writes.len()).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
        match outcome {
            Ok(done) if done.len() == replies.len() => {
                for (reply, written) in replies.into_iter().zip(done) {
                    // a writer that gave up waiting no longer listens
                    let _ = reply.send(Ok(written));
                }
            }
            Ok(done) => {
                let wrong = ClientError::store(format!(
                    "the store answered {} of {} batched writes",
                    done.len(),
                    replies.len()
                ));
                for reply in replies {
                    let _ = reply.send(Err(shared(&wrong)));
                }
            }
            Err(error) => {
                for reply in replies {
                    let _ = reply.send(Err(shared(&error)));
                }
            }
        }
    }
}

#[cfg(all(test, feature = "sqlite"))]
#[allow(clippy::arithmetic_side_effects)]
mod tests {
    use super::*;
    use crate::store::{conformance::sample_record as row, ClaimStatus, SqliteStore};

    /// SQLite claiming to run `n` batches at once: group commit then runs
    /// `n` writer threads on one queue.
    struct Parallel(SqliteStore, usize);

    impl ReceiverStore for Parallel {
        fn get(&self, channel: &Pubkey) -> Result<Option<VoucherRecord>> {
            ReceiverStore::get(&self.0, channel)
        }
        fn insert(&self, record: &VoucherRecord) -> Result<bool> {
            self.0.insert(record)
        }
        fn compare_and_swap(&self, expected: u64, record: &VoucherRecord) -> Result<bool> {
            self.0.compare_and_swap(expected, record)
        }
        fn list(&self, statuses: &[ClaimStatus]) -> Result<Vec<VoucherRecord>> {
            self.0.list(statuses)
        }
        fn write_batch(&self, writes: &[RowWrite]) -> Result<Vec<bool>> {
            self.0.write_batch(writes)
        }
        fn concurrent_batches(&self) -> usize {
            self.1
        }
        fn put_credit(&self, credit: &crate::store::Credit) -> Result<bool> {
            self.0.put_credit(credit)
        }
        fn take_credit(
            &self,
            channel: &Pubkey,
            amount: u64,
            route: &str,
        ) -> Result<Option<crate::store::Credit>> {
            self.0.take_credit(channel, amount, route)
        }
        fn count_credits(&self) -> Result<u64> {
            self.0.count_credits()
        }
    }

    /// Many concurrent writers: each write is visible to another connection
    /// when answered, and the writers shared commits — with one writer
    /// thread, and with three taking batches from one queue.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_writes_share_commits_and_are_durable_when_answered() {
        for threads in [1, 3] {
            concurrent_writes(threads).await;
        }
    }

    async fn concurrent_writes(threads: usize) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("receiver.db");
        let store: Arc<dyn ReceiverStore> =
            Arc::new(Parallel(SqliteStore::open(&path).unwrap(), threads));
        let commit = Arc::new(GroupCommit::start(store, DEFAULT_MAX_BATCH).unwrap());
        let channels: Vec<Pubkey> = (0..64).map(|_| Pubkey::new_unique()).collect();
        let tasks: Vec<_> = channels
            .iter()
            .map(|&channel| {
                let (commit, path) = (commit.clone(), path.clone());
                tokio::spawn(async move {
                    let other = SqliteStore::open_existing(&path).unwrap();
                    for amount in 1..=20u64 {
                        let write = match commit.get(&channel).await.unwrap() {
                            None => RowWrite::Insert(row(channel, amount)),
                            Some(r) => RowWrite::Swap {
                                expected: r.version,
                                record: row(channel, amount),
                            },
                        };
                        assert!(commit.write(write).await.unwrap());
                        let seen = ReceiverStore::get(&other, &channel).unwrap().unwrap();
                        assert_eq!(seen.voucher.amount, amount, "answered before committed");
                    }
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        let (commits, writes) = commit.stats();
        assert_eq!(writes, 64 * 20);
        assert!(
            commits < writes,
            "64 concurrent writers never shared a commit ({commits} commits)"
        );
        drop(commit);
        let reopened = SqliteStore::open_existing(&path).unwrap();
        for channel in channels {
            let r = ReceiverStore::get(&reopened, &channel).unwrap().unwrap();
            assert_eq!((r.voucher.amount, r.version), (20, 20));
        }
    }

    /// Without grouping every write is its own commit.
    #[tokio::test]
    async fn max_batch_one_commits_each_write() {
        let store: Arc<dyn ReceiverStore> = Arc::new(SqliteStore::in_memory().unwrap());
        let commit = GroupCommit::start(store, 1).unwrap();
        for _ in 0..5 {
            let write = RowWrite::Insert(row(Pubkey::new_unique(), 1));
            assert!(commit.write(write).await.unwrap());
        }
        assert_eq!(commit.stats(), (5, 5));
    }

    /// A batch that fails is applied not at all, and each of its writers
    /// gets the error (here a trigger refuses one row of the batch).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_failed_batch_applies_nothing_and_fails_every_writer() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("receiver.db");
        let sqlite = SqliteStore::open(&path).unwrap();
        rusqlite::Connection::open(&path)
            .unwrap()
            .execute_batch(
                "CREATE TRIGGER refuse BEFORE INSERT ON receiver_vouchers
                 WHEN NEW.amount = 13 BEGIN SELECT RAISE(ABORT, 'disk full'); END;",
            )
            .unwrap();
        let store: Arc<dyn ReceiverStore> = Arc::new(sqlite);
        let (good, bad) = (row(Pubkey::new_unique(), 5), row(Pubkey::new_unique(), 13));
        let err = store
            .write_batch(&[
                RowWrite::Insert(good.clone()),
                RowWrite::Insert(bad.clone()),
            ])
            .unwrap_err();
        assert!(err.to_string().contains("disk full"), "{err}");
        assert_eq!(store.get(&good.voucher.channel).unwrap(), None);

        let commit = Arc::new(GroupCommit::start(store.clone(), DEFAULT_MAX_BATCH).unwrap());
        let answers = futures_util::future::join_all((0..32u64).map(|i| {
            let commit = commit.clone();
            async move {
                let amount = if i == 31 { 13 } else { 100 + i };
                commit
                    .write(RowWrite::Insert(row(Pubkey::new_unique(), amount)))
                    .await
            }
        }))
        .await;
        let failed = answers.iter().filter(|a| a.is_err()).count();
        let written = answers.iter().filter(|a| matches!(a, Ok(true))).count();
        assert!(failed >= 1, "the refused row's writer was told");
        assert_eq!(failed + written, 32);
        assert_eq!(
            store.list(&ClaimStatus::ALL).unwrap().len(),
            written,
            "exactly the writes answered true are stored"
        );
    }
}
