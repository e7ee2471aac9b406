//! The receiver on the embedded bank: every acceptance rule, durability before
//! success, duplicates, and many concurrent requests on one channel.
#![allow(clippy::arithmetic_side_effects)]

mod common;

use micropay_client::{
    instructions as mix,
    ledger::{embedded::EmbeddedLedger, Ledger},
    payer::Payer,
    receiver::{Acceptance, Receiver, ReceiverConfig, Rejection},
    store::{SqliteStore, VoucherStore},
    voucher::{Voucher, VoucherError},
    ClientError,
};
use solana_sdk::signature::{Keypair, Signer};
use std::sync::Arc;

fn rejection(result: Result<Acceptance, ClientError>) -> Rejection {
    match result {
        Err(ClientError::Rejected(r)) => r,
        other => panic!("expected a rejection, got {other:?}"),
    }
}

#[tokio::test]
async fn acceptance_rules() {
    let ledger = Arc::new(EmbeddedLedger::start().await);
    let f = common::one_channel(&ledger, 10_000_000, 1_000_000, 0).await;
    let (store, receiver) = common::receiver(&ledger, &f.creator.pubkey());

    let v = Voucher::sign(&f.session, f.channel, 100);
    assert_eq!(
        receiver.accept(&v, 100).await.unwrap(),
        Acceptance::Paid { increment: 100 }
    );
    // durable before success
    assert_eq!(store.get(&f.channel).unwrap().unwrap().voucher, v);
    // the same voucher again: accepted, not counted
    assert_eq!(
        receiver.accept(&v, 100).await.unwrap(),
        Acceptance::Duplicate
    );
    // lower or equal amounts (another signature) are refused
    let lower = Voucher::sign(&f.session, f.channel, 50);
    assert_eq!(
        rejection(receiver.accept(&lower, 1).await),
        Rejection::NotAhead {
            amount: 50,
            current: 100
        }
    );
    // an increment below the price
    let small = Voucher::sign(&f.session, f.channel, 150);
    assert_eq!(
        rejection(receiver.accept(&small, 60).await),
        Rejection::Underpaid {
            paid: 50,
            price: 60
        }
    );
    // above the allocation
    let big = Voucher::sign(&f.session, f.channel, f.allocation + 1);
    assert_eq!(
        rejection(receiver.accept(&big, 1).await),
        Rejection::ExceedsAllocation {
            amount: f.allocation + 1,
            allocation: f.allocation
        }
    );
    // signed by the wallet instead of the session key
    let forged = Voucher::sign(&f.user, f.channel, 500);
    assert!(matches!(
        receiver.accept(&forged, 1).await,
        Err(ClientError::Voucher(VoucherError::BadSignature))
    ));
    // a receiver for another creator
    let other = Receiver::new(
        ledger.clone(),
        store.clone(),
        Keypair::new().pubkey(),
        ReceiverConfig::default(),
    );
    assert!(matches!(
        rejection(other.accept(&small, 50).await),
        Rejection::WrongCreator { .. }
    ));
    // an unknown channel
    let nowhere = Voucher::sign(&f.session, Keypair::new().pubkey(), 500);
    assert!(matches!(
        rejection(receiver.accept(&nowhere, 1).await),
        Rejection::UnknownChannel(_)
    ));
    // nothing refused changed the stored voucher
    assert_eq!(store.get(&f.channel).unwrap().unwrap().voucher.amount, 100);

    // a close request (seen after the cache refresh) stops acceptance
    let l: &dyn Ledger = ledger.as_ref();
    l.send(
        &[mix::request_close(&f.user.pubkey(), &f.escrow, &f.channel)],
        &f.user,
        &[],
    )
    .await
    .unwrap();
    receiver.invalidate(&f.channel).await;
    assert_eq!(
        rejection(receiver.accept(&small, 50).await),
        Rejection::ChannelClosing(f.channel)
    );
}

#[tokio::test]
async fn channels_about_to_expire_are_refused() {
    let ledger = Arc::new(EmbeddedLedger::start().await);
    let now = ledger.unix_timestamp().await.unwrap();
    let config = ReceiverConfig::default();
    let f = common::one_channel(
        &ledger,
        10_000_000,
        1_000_000,
        now + config.expiry_margin_secs + 60,
    )
    .await;
    let store: Arc<dyn VoucherStore> = Arc::new(SqliteStore::in_memory().unwrap());
    let receiver = Receiver::new(ledger.clone(), store, f.creator.pubkey(), config);
    receiver
        .accept(&Voucher::sign(&f.session, f.channel, 10), 10)
        .await
        .unwrap();
    ledger.advance_time(60).await.unwrap();
    receiver.invalidate(&f.channel).await;
    assert_eq!(
        rejection(
            receiver
                .accept(&Voucher::sign(&f.session, f.channel, 20), 10)
                .await
        ),
        Rejection::ChannelExpiring(f.channel)
    );
}

/// 200 payments signed in order and presented all at once, out of order: the
/// store counts every increment exactly once, whatever the interleaving.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_requests_on_one_channel_never_double_count() {
    let ledger = Arc::new(EmbeddedLedger::start().await);
    let f = common::one_channel(&ledger, 10_000_000, 1_000_000, 0).await;
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn VoucherStore> =
        Arc::new(SqliteStore::open(dir.path().join("receiver.db")).unwrap());
    let receiver = Arc::new(Receiver::new(
        ledger.clone(),
        store.clone(),
        f.creator.pubkey(),
        ReceiverConfig::default(),
    ));
    let payer = Payer::new(Arc::new(SqliteStore::in_memory().unwrap()));
    payer.register(f.channel, &f.session, f.allocation).unwrap();
    let vouchers: Vec<Voucher> = (0..200)
        .map(|_| payer.pay(&f.channel, 7).unwrap())
        .collect();

    let mut tasks = Vec::new();
    for &v in vouchers.iter().rev().chain(vouchers.iter()) {
        let receiver = receiver.clone();
        tasks.push(tokio::spawn(async move { receiver.accept(&v, 7).await }));
    }
    let mut counted = 0u64;
    for t in tasks {
        match t.await.unwrap() {
            Ok(Acceptance::Paid { increment }) => counted += increment,
            Ok(Acceptance::Duplicate) | Err(ClientError::Rejected(_)) => {}
            Err(e) => panic!("{e}"),
        }
    }
    let best = store.get(&f.channel).unwrap().unwrap().voucher.amount;
    assert_eq!(best, 1_400);
    // what was counted never exceeds what the best voucher pays
    assert_eq!(counted, best);
}
