//! The conformance suite every store backend passes: the primitives' contract
//! (insert once, compare-and-swap on the version, list by status, exact
//! round-trips of every field including `u64::MAX`), and the rules running on
//! top of the backend, also under concurrent writers. A backend calls these
//! from its tests with fresh, empty stores; each function panics on the first
//! violation, naming it.

// A test suite for backends: panicking is how it reports a violation.
#![allow(clippy::unwrap_used, clippy::arithmetic_side_effects)]

use super::{
    rules, ClaimStatus, Credit, ExactPayment, ExactStatus, ExactTotal, PayerRecord, PayerStore,
    ReceiverStore, RowWrite, VoucherRecord,
};
use anchor_lang::prelude::Pubkey;
use micropay_sdk::{voucher::Voucher, x402::payment_id::Binding};
use solana_sdk::{hash::Hash, signature::Keypair};
use std::sync::Arc;

/// A pending row of `channel` holding a voucher of `amount` (with a
/// placeholder signature) and fresh creator and mint: the row backend tests
/// start from.
pub fn sample_record(channel: Pubkey, amount: u64) -> VoucherRecord {
    VoucherRecord {
        voucher: Voucher {
            channel,
            amount,
            signature: [7; 64],
        },
        creator: Pubkey::new_unique(),
        mint: Pubkey::new_unique(),
        claimed: 0,
        allocation: amount,
        status: ClaimStatus::Pending,
        claim_signature: None,
        claim_valid_until: None,
        cluster: None,
        seen_slot: 0,
        note: None,
        version: 0,
    }
}

fn seen(claimed: u64, allocation: u64) -> rules::Sighting {
    rules::Sighting {
        cluster: Hash::new_from_array([3; 32]),
        slot: 10,
        claimed,
        allocation,
    }
}

/// Credits: kept once per (channel, amount, route), taken once, every
/// field round-trips.
fn credits(store: &dyn ReceiverStore) {
    let credit = Credit {
        channel: Pubkey::new_unique(),
        amount: u64::MAX,
        route: "GET /premium/**".into(),
        net: u64::MAX - 1,
        allocation: u64::MAX,
        signer: Pubkey::new_unique(),
        created_at: u64::MAX,
    };
    assert_eq!(store.count_credits().unwrap(), 0);
    assert!(store.put_credit(&credit).unwrap(), "kept");
    assert!(!store.put_credit(&credit).unwrap(), "kept once");
    let other_route = Credit {
        route: "GET /cheap".into(),
        ..credit.clone()
    };
    assert!(
        store.put_credit(&other_route).unwrap(),
        "another route is another credit"
    );
    assert_eq!(store.count_credits().unwrap(), 2);
    let take = |c: &Credit| store.take_credit(&c.channel, c.amount, &c.route).unwrap();
    assert_eq!(
        store
            .take_credit(&credit.channel, 1, &credit.route)
            .unwrap(),
        None,
        "another amount is not it"
    );
    assert_eq!(take(&credit), Some(credit.clone()));
    assert_eq!(take(&credit), None, "taken once");
    assert_eq!(take(&other_route), Some(other_route.clone()));
    assert_eq!(store.count_credits().unwrap(), 0);
}

/// `exact` payments: recorded once by id, every field round-trips, and a
/// status moves only from the one expected.
fn exact_payments(store: &dyn ReceiverStore) {
    let payment = ExactPayment {
        id: "5VERv8NMvzbJMEkV8xnrLkEaWRtSz9CosKDYjCJjBRnbJLgp8uirBgmQpjKhoR4tjF3ZpRzrFmBV6UjKdiSZkQUW".into(),
        payer: Pubkey::new_unique(),
        mint: Pubkey::new_unique(),
        amount: u64::MAX,
        route: "GET /a/*".into(),
        status: ExactStatus::Sending,
        created_at: u64::MAX,
    };
    assert_eq!(store.get_exact(&payment.id).unwrap(), None);
    assert!(store.put_exact(&payment).unwrap(), "recorded");
    let again = ExactPayment {
        route: "GET /b".into(),
        ..payment.clone()
    };
    assert!(!store.put_exact(&again).unwrap(), "one id, recorded once");
    assert_eq!(store.get_exact(&payment.id).unwrap(), Some(payment.clone()));
    let (sending, settled, failed) = (
        ExactStatus::Sending,
        ExactStatus::Settled,
        ExactStatus::Failed,
    );
    assert!(
        !store
            .set_exact_status(&payment.id, settled, failed)
            .unwrap(),
        "not from another status"
    );
    assert!(store
        .set_exact_status(&payment.id, sending, settled)
        .unwrap());
    assert!(
        !store
            .set_exact_status(&payment.id, sending, failed)
            .unwrap(),
        "moved once"
    );
    assert!(!store.set_exact_status("unknown", sending, settled).unwrap());
    assert_eq!(
        store.get_exact(&payment.id).unwrap().map(|p| p.status),
        Some(settled)
    );
    // served, and given back when the upstream failed
    let served = ExactStatus::Served;
    assert!(store
        .set_exact_status(&payment.id, settled, served)
        .unwrap());
    assert!(store
        .set_exact_status(&payment.id, served, settled)
        .unwrap());
    assert!(store
        .set_exact_status(&payment.id, settled, served)
        .unwrap());
    assert_eq!(
        store.get_exact(&payment.id).unwrap().map(|p| p.status),
        Some(served)
    );
    // totals: settled and served ones, per mint; sending and failed none
    let other = |id: &str, amount: u64, status: ExactStatus| ExactPayment {
        id: id.into(),
        mint: Pubkey::new_from_array([9; 32]),
        amount,
        status,
        ..payment.clone()
    };
    for p in [
        other("b-sending", 1, ExactStatus::Sending),
        other("b-failed", 2, ExactStatus::Failed),
        other("b-settled", 30, ExactStatus::Settled),
        other("b-served", 400, ExactStatus::Served),
    ] {
        assert!(store.put_exact(&p).unwrap());
    }
    let mut expected = vec![
        ExactTotal {
            mint: payment.mint,
            payments: 1,
            amount: u64::MAX,
        },
        ExactTotal {
            mint: Pubkey::new_from_array([9; 32]),
            payments: 2,
            amount: 430,
        },
    ];
    expected.sort_by_key(|t| t.mint.to_bytes());
    let mut totals = store.exact_totals().unwrap();
    totals.sort_by_key(|t| t.mint.to_bytes());
    assert_eq!(totals, expected);
}

/// Payment identifiers: bound once, the binding read back whole by a
/// second binder, freed only by its own binding.
fn payment_ids(store: &dyn ReceiverStore) {
    let id = "pay_7d5d747be160e280504c099d984bcfe0";
    let a = Binding {
        request: [1; 32],
        payment: [2; 32],
    };
    let b = Binding {
        request: [1; 32],
        payment: [3; 32],
    };
    assert_eq!(store.bind_payment_id(id, &a).unwrap(), None, "bound now");
    assert_eq!(
        store.bind_payment_id(id, &a).unwrap(),
        Some(a),
        "its own binding"
    );
    assert_eq!(
        store.bind_payment_id(id, &b).unwrap(),
        Some(a),
        "not rebound"
    );
    assert!(
        !store.unbind_payment_id(id, &b).unwrap(),
        "not another binding's"
    );
    assert!(!store.unbind_payment_id("unknown_identifier", &a).unwrap());
    assert!(store.unbind_payment_id(id, &a).unwrap());
    assert!(!store.unbind_payment_id(id, &a).unwrap(), "freed once");
    assert_eq!(store.bind_payment_id(id, &b).unwrap(), None, "free again");
    assert_eq!(store.bind_payment_id(id, &a).unwrap(), Some(b));
}

/// The receiver primitives and rules on an empty `store`.
pub fn receiver_store(store: &dyn ReceiverStore) {
    credits(store);
    exact_payments(store);
    payment_ids(store);
    let a = Pubkey::new_unique();
    assert_eq!(store.get(&a).unwrap(), None, "empty store has no row");

    // insert once, version 1, exact round-trip of every field
    let mut first = sample_record(a, u64::MAX);
    first.claimed = u64::MAX - 1;
    first.allocation = u64::MAX;
    first.cluster = Some(Hash::new_from_array([9; 32]));
    first.seen_slot = u64::MAX;
    first.claim_signature = Some("sig".into());
    first.claim_valid_until = Some(u64::MAX);
    first.note = Some("note".into());
    first.status = ClaimStatus::Quarantined;
    assert!(store.insert(&first).unwrap(), "insert into an empty slot");
    assert!(!store.insert(&first).unwrap(), "second insert must fail");
    let stored = store.get(&a).unwrap().expect("inserted row");
    assert_eq!(stored.version, 1, "inserted rows have version 1");
    assert_eq!(
        stored,
        VoucherRecord {
            version: 1,
            ..first.clone()
        },
        "every field round-trips"
    );

    // compare-and-swap only on the current version
    let mut next = stored.clone();
    next.status = ClaimStatus::Pending;
    next.note = None;
    assert!(
        !store.compare_and_swap(0, &next).unwrap(),
        "stale version must not write"
    );
    assert!(store.compare_and_swap(1, &next).unwrap());
    assert!(
        !store.compare_and_swap(1, &next).unwrap(),
        "a version is used once"
    );
    let stored = store.get(&a).unwrap().unwrap();
    assert_eq!(
        (stored.version, stored.status, stored.note),
        (2, ClaimStatus::Pending, None)
    );
    assert!(
        !store
            .compare_and_swap(1, &sample_record(Pubkey::new_unique(), 1))
            .unwrap(),
        "no row, no swap"
    );

    // list by status, ordered by channel
    let (b, c) = (Pubkey::new_unique(), Pubkey::new_unique());
    let mut rb = sample_record(b, 5);
    rb.status = ClaimStatus::Closed;
    store.insert(&rb).unwrap();
    store.insert(&sample_record(c, 6)).unwrap();
    let pending = store.list(&[ClaimStatus::Pending]).unwrap();
    let mut expected = vec![a, c];
    expected.sort();
    assert_eq!(
        pending
            .iter()
            .map(|r| r.voucher.channel)
            .collect::<Vec<_>>(),
        expected,
        "list filters by status and orders by channel"
    );
    assert_eq!(store.list(&ClaimStatus::ALL).unwrap().len(), 3);
    assert!(store.list(&[]).unwrap().is_empty());

    // a batch: each write succeeds or fails on its own, in order
    assert!(store.write_batch(&[]).unwrap().is_empty());
    let (e, f, g) = (
        Pubkey::new_unique(),
        Pubkey::new_unique(),
        Pubkey::new_unique(),
    );
    let mut e2 = sample_record(e, 20);
    e2.status = ClaimStatus::Submitted;
    let e3 = sample_record(e, 30);
    let done = store
        .write_batch(&[
            RowWrite::Insert(sample_record(e, 10)),
            RowWrite::Insert(sample_record(e, 11)),
            RowWrite::Swap {
                expected: 1,
                record: e2.clone(),
            },
            RowWrite::Swap {
                expected: 1,
                record: e3,
            },
            RowWrite::Swap {
                expected: 0,
                record: sample_record(f, 1),
            },
            RowWrite::Insert(sample_record(g, u64::MAX)),
        ])
        .unwrap();
    assert_eq!(
        done,
        vec![true, false, true, false, false, true],
        "batched writes check versions one by one, seeing earlier writes"
    );
    assert_eq!(
        store.get(&e).unwrap(),
        Some(VoucherRecord { version: 2, ..e2 }),
        "the batch's last successful write of a row wins"
    );
    assert_eq!(store.get(&f).unwrap(), None);
    assert_eq!(store.get(&g).unwrap().unwrap().voucher.amount, u64::MAX);

    // a batch of distinct rows: each write succeeds or fails on its own,
    // every column kept
    let [h1, h2, h3, missing, fresh] = [(); 5].map(|()| Pubkey::new_unique());
    for h in [h1, h2, h3] {
        assert!(store.insert(&sample_record(h, 5)).unwrap());
    }
    let mut full = sample_record(h1, u64::MAX - 1);
    full.status = ClaimStatus::Submitted;
    full.claimed = u64::MAX - 2;
    full.allocation = u64::MAX;
    full.claim_signature = Some("sig".into());
    full.claim_valid_until = Some(u64::MAX);
    full.cluster = Some(Hash::new_from_array([9; 32]));
    full.seen_slot = u64::MAX;
    full.note = Some("note".into());
    let done = store
        .write_batch(&[
            RowWrite::Insert(sample_record(fresh, u64::MAX)),
            RowWrite::Swap {
                expected: 7,
                record: sample_record(h2, 6),
            },
            RowWrite::Swap {
                expected: 1,
                record: full.clone(),
            },
            RowWrite::Insert(sample_record(h3, 6)),
            RowWrite::Swap {
                expected: 1,
                record: sample_record(missing, 6),
            },
        ])
        .unwrap();
    assert_eq!(done, vec![true, false, true, false, false]);
    assert_eq!(
        store.get(&h1).unwrap(),
        Some(VoucherRecord { version: 2, ..full })
    );
    for h in [h2, h3] {
        let row = store.get(&h).unwrap().unwrap();
        assert_eq!(
            (row.voucher.amount, row.version),
            (5, 1),
            "a failed write changed a row"
        );
    }
    assert_eq!(store.get(&missing).unwrap(), None, "a swap created a row");
    let row = store.get(&fresh).unwrap().unwrap();
    assert_eq!((row.voucher.amount, row.version), (u64::MAX, 1));

    // the rules on this backend
    let d = Pubkey::new_unique();
    let key = Keypair::new();
    let (creator, mint) = (Pubkey::new_unique(), Pubkey::new_unique());
    let v = |amount| Voucher::sign(&key, d, amount);
    let any = |_: u64| true;
    let ok = rules::record_voucher(store, &v(100), &creator, &mint, &seen(0, 1_000), &any);
    assert_eq!(ok.unwrap(), rules::Recorded::Accepted { previous: 0 });
    let again = rules::record_voucher(store, &v(100), &creator, &mint, &seen(0, 1_000), &any);
    assert_eq!(again.unwrap(), rules::Recorded::Duplicate);
    let lower = rules::record_voucher(store, &v(50), &creator, &mint, &seen(0, 1_000), &any);
    assert_eq!(lower.unwrap(), rules::Recorded::NotAhead { current: 100 });
    let cheap = rules::record_voucher(store, &v(150), &creator, &mint, &seen(0, 1_000), &|c| {
        150 - c >= 60
    });
    assert_eq!(cheap.unwrap(), rules::Recorded::Underpaid { current: 100 });
    // the chain already claimed more than the voucher: not ahead
    let behind = rules::record_voucher(store, &v(120), &creator, &mint, &seen(130, 1_000), &any);
    assert_eq!(behind.unwrap(), rules::Recorded::NotAhead { current: 130 });

    // a claim confirming voucher A never confirms a newer A′ accepted meanwhile
    let row = store.get(&d).unwrap().unwrap();
    let sent = rules::update(store, &d, &|r| rules::submitted(r, 100, "claim-1", 77)).unwrap();
    assert_eq!(
        sent.as_ref().and_then(rules::in_flight),
        Some(("claim-1", 77)),
        "the claim's signature is recorded with its validity"
    );
    // a claim that will never land makes the row claimable again, once
    let dropped = rules::update(store, &d, &|r| rules::dropped(r, "claim-1")).unwrap();
    assert_eq!(dropped.map(|r| r.status), Some(ClaimStatus::Pending));
    assert!(rules::update(store, &d, &|r| rules::dropped(r, "claim-1"))
        .unwrap()
        .is_none());
    rules::update(store, &d, &|r| rules::submitted(r, 100, "claim-2", 78)).unwrap();
    assert!(
        rules::update(store, &d, &|r| rules::dropped(r, "claim-1"))
            .unwrap()
            .is_none(),
        "dropping an older claim leaves the newer one in flight"
    );
    let newer = rules::record_voucher(store, &v(200), &creator, &mint, &seen(0, 1_000), &any);
    assert_eq!(newer.unwrap(), rules::Recorded::Accepted { previous: 100 });
    let claimed_a = seen(100, 1_000);
    rules::update(store, &d, &|r| rules::observe(r, &claimed_a)).unwrap();
    let after = store.get(&d).unwrap().unwrap();
    assert_eq!(
        (after.voucher.amount, after.claimed, after.status),
        (200, 100, ClaimStatus::Pending),
        "the newer voucher stays claimable"
    );
    assert!(after.version > row.version);

    // closing needs positive evidence from the cluster the row was seen on
    let elsewhere = rules::CloseEvidence::Absent {
        cluster: Hash::new_from_array([4; 32]),
        slot: 99,
    };
    let stale_slot = rules::CloseEvidence::Absent {
        cluster: Hash::new_from_array([3; 32]),
        slot: 10,
    };
    for evidence in [elsewhere, stale_slot] {
        assert!(
            rules::update(store, &d, &|r| rules::close(r, &evidence).map(|(n, _)| n))
                .unwrap()
                .is_none()
        );
    }
    let gone = rules::CloseEvidence::Absent {
        cluster: Hash::new_from_array([3; 32]),
        slot: 11,
    };
    let closed = rules::update(store, &d, &|r| rules::close(r, &gone).map(|(n, _)| n))
        .unwrap()
        .expect("closed on evidence");
    assert_eq!(closed.status, ClaimStatus::Closed);
    // seen again: live again
    let back = rules::record_voucher(store, &v(300), &creator, &mint, &seen(100, 1_000), &any);
    assert_eq!(back.unwrap(), rules::Recorded::Accepted { previous: 200 });
    assert_eq!(store.get(&d).unwrap().unwrap().status, ClaimStatus::Pending);
}

/// Receivers sharing one backend (`stores` are handles to the same data, e.g.
/// two connections to one file) record the same vouchers at once, out of
/// order: every increment is counted exactly once.
pub fn concurrent_receivers(stores: Vec<Arc<dyn ReceiverStore>>) {
    concurrent_credit_takers(&stores);
    concurrent_exact_recorders(&stores);
    concurrent_payment_id_binders(&stores);
    let channel = Pubkey::new_unique();
    let key = Arc::new(Keypair::new());
    let (creator, mint) = (Pubkey::new_unique(), Pubkey::new_unique());
    let threads: Vec<_> = stores
        .into_iter()
        .enumerate()
        .flat_map(|(i, store)| {
            let key = key.clone();
            (0..2).map(move |j| {
                let (store, key) = (store.clone(), key.clone());
                std::thread::spawn(move || {
                    let mut counted = 0u64;
                    for step in 1..=60u64 {
                        // every thread offers every voucher, in its own order
                        let amount = if (i + j) % 2 == 0 { step } else { 61 - step } * 10;
                        let v = Voucher::sign(key.as_ref(), channel, amount);
                        let seen = seen(0, 1_000);
                        let recorded = rules::record_voucher(
                            store.as_ref(),
                            &v,
                            &creator,
                            &mint,
                            &seen,
                            &|_| true,
                        )
                        .expect("record");
                        if let rules::Recorded::Accepted { previous } = recorded {
                            counted += amount - previous;
                        }
                    }
                    counted
                })
            })
        })
        .collect::<Vec<_>>();
    let counted: u64 = threads.into_iter().map(|t| t.join().expect("thread")).sum();
    assert_eq!(counted, 600, "each increment counted exactly once");
}

/// Gateways sharing one backend record and settle the same `exact`
/// payments at once (a client sending one transaction to several): each
/// is recorded once and moved to settled once.
/// Binders of the same ids through every handle at once, each with its
/// own binding: each id is bound exactly once, and every loser reads the
/// winner's binding.
fn concurrent_payment_id_binders(stores: &[Arc<dyn ReceiverStore>]) {
    let ids: Arc<Vec<String>> = Arc::new(
        (0..20)
            .map(|i| format!("pay_{i:02}_{}", Pubkey::new_unique()))
            .collect(),
    );
    let threads: Vec<_> = stores
        .iter()
        .flat_map(|store| (0..2).map(move |_| store.clone()))
        .enumerate()
        .map(|(n, store)| {
            let ids = ids.clone();
            std::thread::spawn(move || {
                let mine = Binding {
                    request: [0; 32],
                    payment: [u8::try_from(n).unwrap_or(u8::MAX); 32],
                };
                ids.iter()
                    .map(|id| match store.bind_payment_id(id, &mine).expect("bind") {
                        None => (id.clone(), mine),
                        Some(winner) => (id.clone(), winner),
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let seen: Vec<Vec<(String, Binding)>> = threads
        .into_iter()
        .map(|t| t.join().expect("thread"))
        .collect();
    for (i, id) in ids.iter().enumerate() {
        let winners: std::collections::HashSet<Binding> = seen.iter().map(|s| s[i].1).collect();
        assert_eq!(winners.len(), 1, "{id}: one binding, seen by every binder");
        assert_eq!(&seen[0][i].0, id);
    }
}

fn concurrent_exact_recorders(stores: &[Arc<dyn ReceiverStore>]) {
    let payments: Arc<Vec<ExactPayment>> = Arc::new(
        (0..20u64)
            .map(|i| ExactPayment {
                id: format!("tx-{i}-{}", Pubkey::new_unique()),
                payer: Pubkey::new_unique(),
                mint: Pubkey::new_unique(),
                amount: i,
                route: "GET /x".into(),
                status: ExactStatus::Sending,
                created_at: 0,
            })
            .collect(),
    );
    let threads: Vec<_> = stores
        .iter()
        .flat_map(|store| (0..2).map(move |_| store.clone()))
        .map(|store| {
            let payments = payments.clone();
            std::thread::spawn(move || {
                let recorded = payments
                    .iter()
                    .filter(|p| store.put_exact(p).expect("put"))
                    .count();
                let settled = payments
                    .iter()
                    .filter(|p| {
                        store
                            .set_exact_status(&p.id, ExactStatus::Sending, ExactStatus::Settled)
                            .expect("set")
                    })
                    .count();
                (recorded, settled)
            })
        })
        .collect();
    let (recorded, settled) = threads
        .into_iter()
        .map(|t| t.join().expect("thread"))
        .fold((0, 0), |(r, s), (a, b)| (r + a, s + b));
    assert_eq!(
        (recorded, settled),
        (20, 20),
        "each recorded and settled once"
    );
}

/// Receivers sharing one backend take the same credits at once: each is
/// taken exactly once (a paid request is served once on retry).
fn concurrent_credit_takers(stores: &[Arc<dyn ReceiverStore>]) {
    let credits: Vec<Credit> = (0..20u64)
        .map(|i| Credit {
            channel: Pubkey::new_unique(),
            amount: i + 1,
            route: "POST /x".into(),
            net: 1,
            allocation: 100,
            signer: Pubkey::new_unique(),
            created_at: 0,
        })
        .collect();
    for c in &credits {
        assert!(stores[0].put_credit(c).expect("put"));
    }
    let credits = Arc::new(credits);
    let threads: Vec<_> = stores
        .iter()
        .flat_map(|store| (0..2).map(move |_| store.clone()))
        .map(|store| {
            let credits = credits.clone();
            std::thread::spawn(move || {
                credits
                    .iter()
                    .filter(|c| {
                        store
                            .take_credit(&c.channel, c.amount, &c.route)
                            .expect("take")
                            .is_some()
                    })
                    .count()
            })
        })
        .collect();
    let taken: usize = threads.into_iter().map(|t| t.join().expect("thread")).sum();
    assert_eq!(taken, 20, "each credit taken exactly once");
}

/// The payer primitives and rules on an empty `store`.
pub fn payer_store(store: &dyn PayerStore) {
    let ch = Pubkey::new_unique();
    assert_eq!(store.get_payer(&ch).unwrap(), None);
    let row = PayerRecord {
        channel: ch,
        signer_keypair: [5; 64],
        cumulative: 0,
        allocation: 100,
        version: 0,
    };
    assert!(store.insert_payer(&row).unwrap());
    assert!(!store.insert_payer(&row).unwrap());
    let stored = store.get_payer(&ch).unwrap().unwrap();
    assert_eq!(
        stored,
        PayerRecord {
            version: 1,
            ..row.clone()
        }
    );
    assert!(
        !format!("{stored:?}").contains("5, 5"),
        "the key is never printed"
    );
    let next = PayerRecord {
        cumulative: u64::MAX,
        allocation: u64::MAX,
        ..stored.clone()
    };
    assert!(!store.compare_and_swap_payer(0, &next).unwrap());
    assert!(store.compare_and_swap_payer(1, &next).unwrap());
    assert_eq!(store.get_payer(&ch).unwrap().unwrap().cumulative, u64::MAX);

    // the rules: reservations never exceed the allocation, registering never lowers
    let ch = Pubkey::new_unique();
    rules::register_payer(
        store,
        &PayerRecord {
            channel: ch,
            ..row.clone()
        },
    )
    .unwrap();
    assert_eq!(
        rules::reserve_payment(store, &ch, 60)
            .unwrap()
            .unwrap()
            .cumulative,
        60
    );
    assert!(rules::reserve_payment(store, &ch, 41).unwrap().is_none());
    assert_eq!(
        rules::reserve_payment(store, &ch, 40)
            .unwrap()
            .unwrap()
            .cumulative,
        100
    );
    rules::register_payer(
        store,
        &PayerRecord {
            channel: ch,
            allocation: 150,
            ..row.clone()
        },
    )
    .unwrap();
    let after = store.get_payer(&ch).unwrap().unwrap();
    assert_eq!((after.cumulative, after.allocation), (100, 150));
    assert!(rules::reserve_payment(store, &Pubkey::new_unique(), 1).is_err());

    // delete on the version only; a key that signed is never forgotten
    let version = store.get_payer(&ch).unwrap().unwrap().version;
    assert!(!store.delete_payer(&ch, version + 1).unwrap());
    assert!(!rules::forget_unused_payer(store, &ch).unwrap());
    assert!(store.get_payer(&ch).unwrap().is_some());
    let unused = Pubkey::new_unique();
    rules::register_payer(
        store,
        &PayerRecord {
            channel: unused,
            ..row.clone()
        },
    )
    .unwrap();
    assert!(rules::forget_unused_payer(store, &unused).unwrap());
    assert_eq!(store.get_payer(&unused).unwrap(), None);
    assert!(!rules::forget_unused_payer(store, &unused).unwrap());
}
