//! The payer as async code sees it: [`AsyncPayer`].
//!
//! A payment inside its reservation does no I/O (see [`Payer`]), but one
//! that raises the reservation writes the store (an fsync, a database round
//! trip), and registering, adopting, resyncing or topping up a channel
//! always does. On an async worker that write stalls every request the
//! worker holds. [`AsyncPayer`] answers from memory when memory is enough —
//! the common payment costs no hand-off — and otherwise runs the call on
//! tokio's blocking pool, as [`crate::store::AsyncStore`] does for the
//! receiver. A session another call holds (its reservation being written)
//! is never waited for on the worker either: the call goes to the pool.

use super::Payer;
use crate::error::{ClientError, Result};
use anchor_lang::prelude::Pubkey;
use micropay_sdk::voucher::Voucher;
use solana_sdk::signature::{Keypair, Signer};

/// A [`Payer`] whose calls never block the async worker calling them; see
/// the module docs. Cheap to clone; clones share sessions and store.
#[derive(Clone)]
pub struct AsyncPayer {
    payer: Payer,
}

impl From<Payer> for AsyncPayer {
    fn from(payer: Payer) -> Self {
        AsyncPayer { payer }
    }
}

impl AsyncPayer {
    /// The façade of `payer`.
    pub fn new(payer: Payer) -> Self {
        AsyncPayer { payer }
    }

    /// The blocking payer behind it (for code on a thread of its own).
    pub fn blocking(&self) -> &Payer {
        &self.payer
    }

    /// `f` on the payer, run on tokio's blocking pool.
    async fn call<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Payer) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let payer = self.payer.clone();
        tokio::task::spawn_blocking(move || f(&payer))
            .await
            .map_err(|e| ClientError::store(format!("payer task failed: {e}")))?
    }

    /// [`Payer::pay`]: signed in place while the reservation covers it.
    pub async fn pay(&self, channel: &Pubkey, price: u64) -> Result<Voucher> {
        if price == 0 {
            return Err(ClientError::ZeroPayment);
        }
        if let Some(voucher) = self.payer.pay_in_memory(channel, price) {
            return Ok(voucher);
        }
        let channel = *channel;
        self.call(move |p| p.pay(&channel, price)).await
    }

    /// [`Payer::paid`].
    pub async fn paid(&self, channel: &Pubkey) -> Result<u64> {
        if let Some(paid) = self.payer.read_in_memory(channel, |s| s.signed) {
            return Ok(paid);
        }
        let channel = *channel;
        self.call(move |p| p.paid(&channel)).await
    }

    /// [`Payer::signer`].
    pub async fn signer(&self, channel: &Pubkey) -> Result<Option<Pubkey>> {
        if let Some(key) = self.payer.read_in_memory(channel, |s| s.key.pubkey()) {
            return Ok(Some(key));
        }
        let channel = *channel;
        self.call(move |p| p.signer(&channel)).await
    }

    /// [`Payer::allocation`].
    pub async fn allocation(&self, channel: &Pubkey) -> Result<Option<u64>> {
        if let Some(allocation) = self.payer.read_in_memory(channel, |s| s.row.allocation) {
            return Ok(Some(allocation));
        }
        let channel = *channel;
        self.call(move |p| p.allocation(&channel)).await
    }

    /// [`Payer::register`].
    pub async fn register(
        &self,
        channel: Pubkey,
        session: &Keypair,
        allocation: u64,
    ) -> Result<()> {
        let session = session.insecure_clone();
        self.call(move |p| p.register(channel, &session, allocation))
            .await
    }

    /// [`Payer::adopt`].
    pub async fn adopt(
        &self,
        channel: Pubkey,
        session: &Keypair,
        allocation: u64,
        claimed: u64,
    ) -> Result<()> {
        let session = session.insecure_clone();
        self.call(move |p| p.adopt(channel, &session, allocation, claimed))
            .await
    }

    /// [`Payer::resync`].
    pub async fn resync(&self, channel: &Pubkey, held: &Voucher) -> Result<bool> {
        let (channel, held) = (*channel, *held);
        self.call(move |p| p.resync(&channel, &held)).await
    }

    /// [`Payer::raise_allocation`].
    pub async fn raise_allocation(&self, channel: &Pubkey, allocation: u64) -> Result<()> {
        let channel = *channel;
        self.call(move |p| p.raise_allocation(&channel, allocation))
            .await
    }

    /// [`Payer::forget_unused`].
    pub async fn forget_unused(&self, channel: &Pubkey) -> Result<bool> {
        let channel = *channel;
        self.call(move |p| p.forget_unused(&channel)).await
    }

    /// [`Payer::release`].
    pub async fn release(&self) -> Result<()> {
        self.call(|p| p.release()).await
    }
}

#[cfg(all(test, feature = "sqlite"))]
#[allow(clippy::arithmetic_side_effects)] // test bookkeeping on small numbers
mod tests {
    use super::*;
    use crate::store::{PayerRecord, PayerStore, SqliteStore};
    use std::{
        sync::{
            atomic::{AtomicU64, Ordering},
            Arc,
        },
        time::{Duration, Instant},
    };

    /// A payer store whose every call takes `delay`, counting its writes.
    struct Slow {
        inner: SqliteStore,
        delay: Duration,
        writes: AtomicU64,
    }

    impl PayerStore for Slow {
        fn get_payer(&self, channel: &Pubkey) -> Result<Option<PayerRecord>> {
            std::thread::sleep(self.delay);
            self.inner.get_payer(channel)
        }
        fn insert_payer(&self, record: &PayerRecord) -> Result<bool> {
            self.writes.fetch_add(1, Ordering::SeqCst);
            self.inner.insert_payer(record)
        }
        fn compare_and_swap_payer(&self, expected: u64, record: &PayerRecord) -> Result<bool> {
            std::thread::sleep(self.delay);
            self.writes.fetch_add(1, Ordering::SeqCst);
            self.inner.compare_and_swap_payer(expected, record)
        }
        fn delete_payer(&self, channel: &Pubkey, expected: u64) -> Result<bool> {
            self.writes.fetch_add(1, Ordering::SeqCst);
            self.inner.delete_payer(channel, expected)
        }
    }

    fn slow(delay: Duration) -> Arc<Slow> {
        Arc::new(Slow {
            inner: SqliteStore::in_memory().unwrap(),
            delay,
            writes: AtomicU64::new(0),
        })
    }

    /// On a runtime with a single thread, a task beside a payment that
    /// writes its reservation keeps running: the write blocks a pool
    /// thread, not the worker. (Were it run on the worker, the ticker would
    /// get no turn until it ended.)
    #[tokio::test(flavor = "current_thread")]
    async fn a_payment_that_writes_the_store_never_holds_the_worker() {
        let delay = Duration::from_millis(300);
        let store = slow(delay);
        let payer = AsyncPayer::new(Payer::new(store.clone()));
        let (channel, session) = (Pubkey::new_unique(), Keypair::new());
        payer.register(channel, &session, 1_000).await.unwrap();
        let started = Instant::now();
        let ticker = tokio::spawn(async move {
            let mut ticks = Vec::new();
            for _ in 0..5 {
                tokio::time::sleep(Duration::from_millis(20)).await;
                ticks.push(started.elapsed());
            }
            ticks
        });
        let voucher = payer.pay(&channel, 10).await.unwrap();
        assert!(
            started.elapsed() >= delay,
            "the payment wrote no reservation"
        );
        assert_eq!(voucher.amount, 10);
        voucher.verify(&session.pubkey()).unwrap();
        let ticks = ticker.await.unwrap();
        assert!(
            ticks[4] < delay,
            "the ticker ran only after the payment: {ticks:?}"
        );
    }

    /// Payments inside a reservation are signed in place (no store call),
    /// and the façade signs exactly what the blocking payer would: the same
    /// amounts, one write per block, everything given back on release.
    #[tokio::test(flavor = "current_thread")]
    async fn payments_inside_the_reservation_need_no_store_and_sign_the_same() {
        let store = slow(Duration::ZERO);
        let payer = AsyncPayer::new(Payer::new(store.clone()).with_reserve_ahead(5));
        let (channel, session) = (Pubkey::new_unique(), Keypair::new());
        payer.register(channel, &session, 1_000).await.unwrap();
        let registered = store.writes.load(Ordering::SeqCst);
        for n in 1..=12u64 {
            let voucher = payer.pay(&channel, 10).await.unwrap();
            assert_eq!((voucher.channel, voucher.amount), (channel, 10 * n));
            voucher.verify(&session.pubkey()).unwrap();
        }
        // blocks reserved at the 1st, 6th and 11th payment
        assert_eq!(store.writes.load(Ordering::SeqCst) - registered, 3);
        assert_eq!(payer.paid(&channel).await.unwrap(), 120);
        assert_eq!(
            payer.signer(&channel).await.unwrap(),
            Some(session.pubkey())
        );
        assert_eq!(payer.allocation(&channel).await.unwrap(), Some(1_000));
        assert_eq!(
            store.inner.get_payer(&channel).unwrap().unwrap().cumulative,
            150
        );
        payer.release().await.unwrap();
        assert_eq!(
            store.inner.get_payer(&channel).unwrap().unwrap().cumulative,
            120
        );
        assert!(matches!(
            payer.pay(&channel, 0).await,
            Err(ClientError::ZeroPayment)
        ));
        // past the allocation: refused, nothing signed
        assert!(matches!(
            payer.pay(&channel, 881).await,
            Err(ClientError::AllocationExceeded { .. })
        ));
        assert_eq!(payer.paid(&channel).await.unwrap(), 120);
    }
}
