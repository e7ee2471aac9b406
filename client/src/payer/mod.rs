//! The payer side: a session that owns each channel's voucher-signing key
//! (usually a session key, not the wallet) and returns the next cumulative
//! voucher for `pay(channel, price)`.
//!
//! # Durability: reserve, then sign
//!
//! The store row's `cumulative` is a **reservation**: no voucher above it was
//! ever signed. A payment first makes sure the new amount is within the
//! reservation — raising it durably (a compare-and-set) when it is not — and
//! only then signs, so a restart can never sign below an amount already given
//! out.
//!
//! [`Payer::new`] reserves exactly one payment per write (one fsync per
//! payment). [`Payer::with_reserve_ahead`] reserves `n` payments of the same
//! price at once, so durability costs one write per `n` payments. The price
//! of that: after a crash the payer resumes above everything it had
//! reserved, so the next voucher also pays for up to `n − 1` reserved,
//! never-signed payments (at most one block). A clean shutdown gives the
//! unsigned rest back first ([`Payer::release`]).
//!
//! The parsed session keys and the reservations live in memory per channel;
//! a payment inside the reservation does no I/O. Several processes may share
//! one store: a process that finds the row moved past its reservation
//! resumes above it.
//!
//! Async code uses [`AsyncPayer`]: the same payer, whose store calls never
//! block an async worker.

mod offload;

pub use offload::AsyncPayer;

use crate::{
    error::{ClientError, Result},
    store::{
        rules::{self, Reservation},
        PayerRecord, PayerStore,
    },
};
use anchor_lang::prelude::Pubkey;
use micropay_sdk::voucher::Voucher;
use solana_sdk::signature::{Keypair, Signer};
use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

/// A channel's session as this payer holds it in memory.
struct Session {
    key: Keypair,
    /// The highest cumulative amount this payer signed (≤ `row.cumulative`).
    signed: u64,
    /// The row as this payer last wrote or read it.
    row: PayerRecord,
}

impl Session {
    /// The next cumulative amount at `price` when the reservation and the
    /// allocation cover it (no store write needed).
    fn covered(&self, price: u64) -> Option<u64> {
        self.signed
            .checked_add(price)
            .filter(|a| *a <= self.row.cumulative && *a <= self.row.allocation)
    }
}

type Sessions = Mutex<HashMap<Pubkey, Arc<Mutex<Session>>>>;

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn parse_key(row: &PayerRecord) -> Result<Keypair> {
    Keypair::try_from(row.signer_keypair.as_slice())
        .map_err(|_| ClientError::store("corrupt session key in store"))
}

/// The payer's side: signs cumulative vouchers with each channel's session key, durably.
#[derive(Clone)]
pub struct Payer {
    store: Arc<dyn PayerStore>,
    sessions: Arc<Sessions>,
    /// Payments reserved per store write (≥ 1).
    ahead: u64,
}

impl Payer {
    /// A payer keeping its channels in `store`, one store write per payment.
    pub fn new(store: Arc<dyn PayerStore>) -> Self {
        Payer {
            store,
            sessions: Arc::default(),
            ahead: 1,
        }
    }

    /// Reserves `payments` payments per store write (see the module docs:
    /// a crash can then cost up to `payments − 1` prices). 0 counts as 1.
    pub fn with_reserve_ahead(mut self, payments: u64) -> Self {
        self.ahead = payments.max(1);
        self
    }

    /// The in-memory session of `channel`, loaded from the store on first use.
    fn session(&self, channel: &Pubkey) -> Result<Arc<Mutex<Session>>> {
        if let Some(session) = lock(&self.sessions).get(channel) {
            return Ok(session.clone());
        }
        let row = self
            .store
            .get_payer(channel)?
            .ok_or(ClientError::UnknownPayerChannel { channel: *channel })?;
        let session = Arc::new(Mutex::new(Session {
            key: parse_key(&row)?,
            signed: row.cumulative,
            row,
        }));
        Ok(lock(&self.sessions)
            .entry(*channel)
            .or_insert(session)
            .clone())
    }

    /// Re-reads the row of a cached session after a rule wrote it: what this
    /// payer signed stands unless the row moved past its reservation.
    fn refresh(&self, channel: &Pubkey) -> Result<()> {
        let Some(session) = lock(&self.sessions).get(channel).cloned() else {
            return Ok(());
        };
        let mut s = lock(&session);
        match self.store.get_payer(channel)? {
            Some(row) => {
                if row.cumulative != s.row.cumulative {
                    s.signed = s.signed.max(row.cumulative);
                }
                s.key = parse_key(&row)?;
                s.row = row;
            }
            None => {
                drop(s);
                lock(&self.sessions).remove(channel);
            }
        }
        Ok(())
    }

    /// Registers `channel`, its session key and its allocation (again after
    /// a top-up, with the new allocation).
    pub fn register(&self, channel: Pubkey, session: &Keypair, allocation: u64) -> Result<()> {
        rules::register_payer(
            self.store.as_ref(),
            &PayerRecord {
                channel,
                signer_keypair: session.to_bytes(),
                cumulative: 0,
                allocation,
                version: 0,
            },
        )?;
        self.refresh(&channel)
    }

    /// Registers a channel found on chain whose session key the payer can
    /// derive again (see [`micropay_sdk::session`]) after losing its store:
    /// it signs no less than `claimed`, what the channel already settled.
    pub fn adopt(
        &self,
        channel: Pubkey,
        session: &Keypair,
        allocation: u64,
        claimed: u64,
    ) -> Result<()> {
        rules::register_payer(
            self.store.as_ref(),
            &PayerRecord {
                channel,
                signer_keypair: session.to_bytes(),
                cumulative: claimed,
                allocation,
                version: 0,
            },
        )?;
        self.refresh(&channel)
    }

    /// Resumes `channel` from `held`, the voucher a receiver says it holds
    /// (a payer that lost its state signs below it, and is refused as stale).
    /// Only a voucher this channel's session key signed counts: a receiver
    /// cannot make the payer skip ahead. Never lowers the cumulative amount;
    /// `true` when it rose.
    pub fn resync(&self, channel: &Pubkey, held: &Voucher) -> Result<bool> {
        let session = self.session(channel)?;
        let (row, signed) = {
            let s = lock(&session);
            if held.channel != *channel || held.verify(&s.key.pubkey()).is_err() {
                return Err(ClientError::ForeignHeldVoucher { channel: *channel });
            }
            (s.row.clone(), s.signed)
        };
        if held.amount <= signed {
            return Ok(false);
        }
        if held.amount > row.cumulative {
            rules::register_payer(
                self.store.as_ref(),
                &PayerRecord {
                    cumulative: held.amount,
                    ..row
                },
            )?;
            self.refresh(channel)?;
        }
        let mut s = lock(&session);
        s.signed = s.signed.max(held.amount);
        Ok(true)
    }

    /// Raises the allocation the payer may sign up to for `channel` (after a
    /// top-up); never lowers it.
    pub fn raise_allocation(&self, channel: &Pubkey, allocation: u64) -> Result<()> {
        let row = self
            .store
            .get_payer(channel)?
            .ok_or(ClientError::UnknownPayerChannel { channel: *channel })?;
        rules::register_payer(self.store.as_ref(), &PayerRecord { allocation, ..row })?;
        self.refresh(channel)
    }

    /// The allocation the payer knows for `channel`.
    pub fn allocation(&self, channel: &Pubkey) -> Result<Option<u64>> {
        if let Some(session) = lock(&self.sessions).get(channel) {
            return Ok(Some(lock(session).row.allocation));
        }
        Ok(self.store.get_payer(channel)?.map(|s| s.allocation))
    }

    /// Forgets `channel`'s session key if it never signed anything (its
    /// channel failed to open); `true` when forgotten.
    pub fn forget_unused(&self, channel: &Pubkey) -> Result<bool> {
        let forgotten = rules::forget_unused_payer(self.store.as_ref(), channel)?;
        if forgotten {
            lock(&self.sessions).remove(channel);
        }
        Ok(forgotten)
    }

    /// The next voucher: cumulative + `price`, signed by the session key.
    /// Does no I/O while the reservation covers it.
    pub fn pay(&self, channel: &Pubkey, price: u64) -> Result<Voucher> {
        if price == 0 {
            return Err(ClientError::ZeroPayment);
        }
        let session = self.session(channel)?;
        let mut s = lock(&session);
        let amount = match s.covered(price) {
            Some(amount) => amount,
            None => {
                let reservation = rules::reserve_block(
                    self.store.as_ref(),
                    channel,
                    s.signed,
                    s.row.cumulative,
                    price,
                    self.ahead,
                )?;
                match reservation {
                    Reservation::Reserved { row, amount } => {
                        s.row = row;
                        amount
                    }
                    Reservation::Exceeds { row, amount } => {
                        return Err(ClientError::AllocationExceeded {
                            channel: *channel,
                            price,
                            needed: amount,
                            allocation: row.allocation,
                        })
                    }
                }
            }
        };
        s.signed = amount;
        Ok(Voucher::sign(&s.key, *channel, amount))
    }

    /// `read` of the cached session of `channel` when no other call holds
    /// it: what the async façade answers without a store call or a wait.
    fn read_in_memory<T>(&self, channel: &Pubkey, read: impl FnOnce(&Session) -> T) -> Option<T> {
        let session = lock(&self.sessions).get(channel)?.clone();
        let s = session.try_lock().ok()?;
        Some(read(&s))
    }

    /// [`Payer::pay`] when memory is enough: the session is cached, idle,
    /// and its reservation covers `price` (> 0). `None`: the call needs the
    /// store (or waits for another).
    fn pay_in_memory(&self, channel: &Pubkey, price: u64) -> Option<Voucher> {
        let session = lock(&self.sessions).get(channel)?.clone();
        let mut s = session.try_lock().ok()?;
        let amount = s.covered(price)?;
        s.signed = amount;
        Some(Voucher::sign(&s.key, *channel, amount))
    }

    /// Gives back every channel's reserved, never-signed amount (call it at
    /// a clean shutdown of a payer that reserves ahead); the store then
    /// holds exactly what was signed.
    pub fn release(&self) -> Result<()> {
        let sessions: Vec<_> = lock(&self.sessions)
            .iter()
            .map(|(k, v)| (*k, v.clone()))
            .collect();
        for (channel, session) in sessions {
            let mut s = lock(&session);
            let (signed, reserved) = (s.signed, s.row.cumulative);
            if let Some(row) =
                rules::release_reservation(self.store.as_ref(), &channel, signed, reserved)?
            {
                s.row = row;
            }
        }
        Ok(())
    }

    /// Cumulative amount signed so far for `channel`.
    pub fn paid(&self, channel: &Pubkey) -> Result<u64> {
        if let Some(session) = lock(&self.sessions).get(channel) {
            return Ok(lock(session).signed);
        }
        Ok(self.store.get_payer(channel)?.map_or(0, |s| s.cumulative))
    }

    /// The session key's public key for `channel`.
    pub fn signer(&self, channel: &Pubkey) -> Result<Option<Pubkey>> {
        if let Some(session) = lock(&self.sessions).get(channel) {
            return Ok(Some(lock(session).key.pubkey()));
        }
        Ok(self
            .store
            .get_payer(channel)?
            .and_then(|s| parse_key(&s).ok().map(|k| k.pubkey())))
    }
}

#[cfg(all(test, feature = "sqlite"))]
#[allow(clippy::arithmetic_side_effects)] // test bookkeeping on small numbers
mod tests {
    use super::*;
    use crate::store::SqliteStore;

    #[test]
    fn resync_follows_only_vouchers_of_the_session_key_and_never_goes_back() {
        let store: Arc<dyn PayerStore> = Arc::new(SqliteStore::in_memory().unwrap());
        let payer = Payer::new(store);
        let session = Keypair::new();
        let channel = Pubkey::new_unique();
        // the store was lost; the channel is adopted from chain at its claimed amount
        payer.adopt(channel, &session, 1_000, 100).unwrap();
        assert_eq!(payer.paid(&channel).unwrap(), 100);
        // a server's made-up voucher (another key, or another channel) changes nothing
        let forged = Voucher::sign(&Keypair::new(), channel, 900);
        assert!(matches!(
            payer.resync(&channel, &forged),
            Err(ClientError::ForeignHeldVoucher { .. })
        ));
        let elsewhere = Voucher::sign(&session, Pubkey::new_unique(), 900);
        assert!(payer.resync(&channel, &elsewhere).is_err());
        assert_eq!(payer.paid(&channel).unwrap(), 100);
        // a voucher it signed before the loss: resume from it
        let held = Voucher::sign(&session, channel, 400);
        assert!(payer.resync(&channel, &held).unwrap());
        assert_eq!(payer.pay(&channel, 10).unwrap().amount, 410);
        // an older one never lowers the amount
        let older = Voucher::sign(&session, channel, 200);
        assert!(!payer.resync(&channel, &older).unwrap());
        assert_eq!(payer.paid(&channel).unwrap(), 410);
        assert!(matches!(
            payer.resync(&Pubkey::new_unique(), &held),
            Err(ClientError::UnknownPayerChannel { .. })
        ));
    }

    #[test]
    fn pays_cumulatively_and_refuses_beyond_allocation() {
        let store: Arc<dyn PayerStore> = Arc::new(SqliteStore::in_memory().unwrap());
        let payer = Payer::new(store);
        let session = Keypair::new();
        let channel = Pubkey::new_unique();
        payer.register(channel, &session, 100).unwrap();
        let v1 = payer.pay(&channel, 30).unwrap();
        let v2 = payer.pay(&channel, 30).unwrap();
        assert_eq!((v1.amount, v2.amount), (30, 60));
        v2.verify(&session.pubkey()).unwrap();
        let err = payer.pay(&channel, 41).unwrap_err();
        assert!(matches!(
            err,
            ClientError::AllocationExceeded {
                needed: 101,
                allocation: 100,
                ..
            }
        ));
        assert!(err.to_string().contains("top the channel up"));
        assert_eq!(payer.paid(&channel).unwrap(), 60);
        // after a top-up the payer goes on from where it was
        payer.register(channel, &session, 200).unwrap();
        assert_eq!(payer.pay(&channel, 41).unwrap().amount, 101);
        assert!(matches!(
            payer.pay(&channel, 0),
            Err(ClientError::ZeroPayment)
        ));
        assert!(matches!(
            payer.pay(&Pubkey::new_unique(), 1),
            Err(ClientError::UnknownPayerChannel { .. })
        ));
    }

    #[test]
    fn a_restarted_payer_goes_on_from_the_highest_signed_amount() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("payer.db");
        let session = Keypair::new();
        let channel = Pubkey::new_unique();
        {
            let payer = Payer::new(Arc::new(SqliteStore::open(&path).unwrap()));
            payer.register(channel, &session, 1_000).unwrap();
            assert_eq!(payer.pay(&channel, 400).unwrap().amount, 400);
        }
        // a new process, the same file: registering again never resets
        let payer = Payer::new(Arc::new(SqliteStore::open(&path).unwrap()));
        payer.register(channel, &session, 1_000).unwrap();
        assert_eq!(payer.signer(&channel).unwrap(), Some(session.pubkey()));
        assert_eq!(payer.pay(&channel, 1).unwrap().amount, 401);
    }

    /// Counts the store writes a payer makes.
    struct Counting {
        inner: SqliteStore,
        writes: std::sync::atomic::AtomicUsize,
    }

    impl PayerStore for Counting {
        fn get_payer(&self, channel: &Pubkey) -> Result<Option<PayerRecord>> {
            self.inner.get_payer(channel)
        }
        fn insert_payer(&self, record: &PayerRecord) -> Result<bool> {
            self.inner.insert_payer(record)
        }
        fn compare_and_swap_payer(&self, expected: u64, record: &PayerRecord) -> Result<bool> {
            self.writes
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            self.inner.compare_and_swap_payer(expected, record)
        }
        fn delete_payer(&self, channel: &Pubkey, expected: u64) -> Result<bool> {
            self.inner.delete_payer(channel, expected)
        }
    }

    #[test]
    fn reserving_ahead_writes_once_per_block_and_a_crash_skips_at_most_one_block() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("payer.db");
        let store = Arc::new(Counting {
            inner: SqliteStore::open(&path).unwrap(),
            writes: Default::default(),
        });
        let payer = Payer::new(store.clone()).with_reserve_ahead(10);
        let (session, channel) = (Keypair::new(), Pubkey::new_unique());
        payer.register(channel, &session, 1_000).unwrap();
        for i in 1..=25u64 {
            let v = payer.pay(&channel, 2).unwrap();
            assert_eq!(v.amount, 2 * i);
            v.verify(&session.pubkey()).unwrap();
        }
        let writes = store.writes.load(std::sync::atomic::Ordering::Relaxed);
        assert_eq!(writes, 3, "25 payments, blocks of 10: three reservations");
        assert_eq!(payer.paid(&channel).unwrap(), 50);
        // durable before signing: the store never holds less than was signed
        assert_eq!(store.get_payer(&channel).unwrap().unwrap().cumulative, 60);

        // a crash (no release): a new process resumes above the reservation
        drop(payer);
        let restarted = Payer::new(Arc::new(SqliteStore::open(&path).unwrap()));
        let next = restarted.pay(&channel, 2).unwrap().amount;
        assert_eq!(next, 62, "resumes above everything reserved");
        assert!(next - 50 <= 2 * 10, "skips at most one block");
    }

    #[test]
    fn release_gives_back_the_unsigned_reservation() {
        let store: Arc<dyn PayerStore> = Arc::new(SqliteStore::in_memory().unwrap());
        let payer = Payer::new(store.clone()).with_reserve_ahead(100);
        let (session, channel) = (Keypair::new(), Pubkey::new_unique());
        payer.register(channel, &session, 1_000).unwrap();
        payer.pay(&channel, 3).unwrap();
        payer.pay(&channel, 3).unwrap();
        // the reservation stops at the allocation
        assert_eq!(store.get_payer(&channel).unwrap().unwrap().cumulative, 300);
        payer.release().unwrap();
        assert_eq!(store.get_payer(&channel).unwrap().unwrap().cumulative, 6);
        // it goes on after a release, and a new process starts where it left
        assert_eq!(payer.pay(&channel, 3).unwrap().amount, 9);
        payer.release().unwrap();
        let again = Payer::new(store.clone());
        assert_eq!(again.pay(&channel, 1).unwrap().amount, 10);
        // the allocation bounds the reservation and the payments
        let big = Payer::new(store).with_reserve_ahead(1_000);
        assert_eq!(big.pay(&channel, 900).unwrap().amount, 910);
        assert!(matches!(
            big.pay(&channel, 91),
            Err(ClientError::AllocationExceeded {
                needed: 1_001,
                allocation: 1_000,
                ..
            })
        ));
        assert_eq!(big.pay(&channel, 90).unwrap().amount, 1_000);
    }

    /// A top-up registered through one payer handle is seen by a payment
    /// that would otherwise exceed the cached allocation.
    #[test]
    fn a_top_up_elsewhere_is_seen_by_the_next_payment() {
        let store: Arc<dyn PayerStore> = Arc::new(SqliteStore::in_memory().unwrap());
        let (session, channel) = (Keypair::new(), Pubkey::new_unique());
        let payer = Payer::new(store.clone()).with_reserve_ahead(4);
        payer.register(channel, &session, 10).unwrap();
        assert_eq!(payer.pay(&channel, 10).unwrap().amount, 10);
        // another process of the same payer tops up
        Payer::new(store).raise_allocation(&channel, 30).unwrap();
        assert_eq!(payer.pay(&channel, 10).unwrap().amount, 20);
        assert_eq!(payer.allocation(&channel).unwrap(), Some(30));
    }

    mod model {
        use super::*;
        use proptest::prelude::*;

        #[derive(Clone, Debug)]
        enum Op {
            Pay { who: usize, price: u64 },
            Crash { who: usize },
            Release { who: usize },
            TopUp { by: u64 },
        }

        fn op() -> impl Strategy<Value = Op> {
            prop_oneof![
                8 => (0..2usize, 1..50u64).prop_map(|(who, price)| Op::Pay { who, price }),
                1 => (0..2usize).prop_map(|who| Op::Crash { who }),
                1 => (0..2usize).prop_map(|who| Op::Release { who }),
                1 => (1..500u64).prop_map(|by| Op::TopUp { by }),
            ]
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(64))]

            /// Two processes of one payer sharing a store, crashing,
            /// releasing and topping up in any order: no amount is ever
            /// signed twice, each process's amounts only rise, nothing above
            /// the allocation is signed, and the store never holds less than
            /// the highest amount signed (durable before signing).
            #[test]
            fn reservations_never_sign_an_amount_twice(
                ops in prop::collection::vec(op(), 1..80),
                ahead in 1..8u64,
            ) {
                let store: Arc<dyn PayerStore> = Arc::new(SqliteStore::in_memory().unwrap());
                let (session, channel) = (Keypair::new(), Pubkey::new_unique());
                let mut allocation = 500u64;
                let fresh = || Payer::new(store.clone()).with_reserve_ahead(ahead);
                let mut payers = [fresh(), fresh()];
                payers[0].register(channel, &session, allocation).unwrap();
                let mut signed = std::collections::HashSet::new();
                let mut last = [0u64; 2];
                let mut highest = 0u64;
                for op in ops {
                    match op {
                        Op::Pay { who, price } => match payers[who].pay(&channel, price) {
                            Ok(v) => {
                                prop_assert!(signed.insert(v.amount), "{} signed twice", v.amount);
                                prop_assert!(v.amount > last[who]);
                                prop_assert!(v.amount <= allocation);
                                last[who] = v.amount;
                                highest = highest.max(v.amount);
                            }
                            Err(ClientError::AllocationExceeded { .. }) => {}
                            Err(e) => prop_assert!(false, "{e}"),
                        },
                        Op::Crash { who } => {
                            payers[who] = fresh();
                            last[who] = 0;
                        }
                        Op::Release { who } => payers[who].release().unwrap(),
                        Op::TopUp { by } => {
                            allocation += by;
                            payers[0].raise_allocation(&channel, allocation).unwrap();
                        }
                    }
                    let row = store.get_payer(&channel).unwrap().unwrap();
                    prop_assert!(row.cumulative >= highest, "signed above the durable reservation");
                }
            }
        }
    }
}
