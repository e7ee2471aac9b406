//! The receiver on the embedded bank: every acceptance rule, durability before
//! success, duplicates, and many concurrent requests on one channel.
#![allow(clippy::arithmetic_side_effects)]

use anchor_spl::token::spl_token::native_mint::ID as SOL;
use micropay_tests::client as common;

use micropay_client::{
    ledger::{embedded::EmbeddedLedger, Ledger},
    payer::Payer,
    receiver::{AcceptedMint, Payment, Receiver, ReceiverConfig, Rejection},
    store::{ReceiverStore, SqliteStore},
    ClientError,
};
use micropay_sdk::{
    instructions as mix,
    voucher::{Voucher, VoucherError},
};
use solana_sdk::{
    pubkey::Pubkey,
    signature::{Keypair, Signer},
};
use std::sync::Arc;

fn rejection(result: Result<Payment, ClientError>) -> Rejection {
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
        Payment {
            channel: f.channel,
            cumulative: 100,
            increment: 100,
            net: 100,
            allocation: 1_000_000,
            signer: f.session.pubkey(),
            mint: SOL,
        }
    );
    // durable before success
    assert_eq!(store.get(&f.channel).unwrap().unwrap().voucher, v);
    // Regression: the same voucher again was `Ok(Duplicate)`, which callers
    // took for a payment (one voucher bought unlimited uses). It is an error.
    assert_eq!(
        rejection(receiver.accept(&v, 100).await),
        Rejection::Duplicate {
            channel: f.channel,
            amount: 100
        }
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
        ReceiverConfig::accepting([AcceptedMint::wrapped_sol()]),
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
        &[mix::RequestClose {
            owner: f.user.pubkey(),
            escrow: f.escrow,
            channel: f.channel,
        }
        .instruction()],
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
    let config = ReceiverConfig::accepting([AcceptedMint::wrapped_sol()]);
    let f = common::one_channel(
        &ledger,
        10_000_000,
        1_000_000,
        now + config.expiry_margin_secs + 60,
    )
    .await;
    let store: Arc<dyn ReceiverStore> = Arc::new(SqliteStore::in_memory().unwrap());
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
    let store: Arc<dyn ReceiverStore> =
        Arc::new(SqliteStore::open(dir.path().join("receiver.db")).unwrap());
    let receiver = Arc::new(Receiver::new(
        ledger.clone(),
        store.clone(),
        f.creator.pubkey(),
        ReceiverConfig::accepting([AcceptedMint::wrapped_sol()]),
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
            Ok(payment) => counted += payment.increment,
            Err(ClientError::Rejected(_)) => {}
            Err(e) => panic!("{e}"),
        }
    }
    let best = store.get(&f.channel).unwrap().unwrap().voucher.amount;
    assert_eq!(best, 1_400);
    // what was counted never exceeds what the best voucher pays
    assert_eq!(counted, best);
}

/// Opens a channel of `f`'s escrow with `args` (creator, signer and the rest
/// as given) and returns its address.
async fn open_with(
    ledger: &EmbeddedLedger,
    f: &common::OneChannel,
    args: micropay_client::micropay::instructions::OpenChannelArgs,
) -> solana_sdk::pubkey::Pubkey {
    let l: &dyn Ledger = ledger;
    let escrow = micropay_client::accounts::escrow(l, &f.escrow)
        .await
        .unwrap()
        .unwrap();
    let slot = micropay_sdk::pda::ChannelSlot::next(&escrow);
    let (ix, channel) = mix::OpenChannel {
        owner: f.user.pubkey(),
        escrow: f.escrow,
        slot,
        args,
    }
    .with_channel();
    l.send(&[ix], &f.user, &[]).await.unwrap();
    channel
}

fn args(
    f: &common::OneChannel,
    session: &Keypair,
) -> micropay_client::micropay::instructions::OpenChannelArgs {
    micropay_client::micropay::instructions::OpenChannelArgs {
        creator: f.creator.pubkey(),
        signer: session.pubkey(),
        allocation: 1_000_000,
        fee_recipient: None,
        fee_bps: 0,
        dispute_window_secs: 900,
        expires_at: 0,
        nonce: rand::random(),
    }
}

/// Regressions of the receiver's contract: each case was a voucher the
/// receiver reported as paid that the creator would not collect in full.
#[tokio::test]
async fn the_receiver_accepts_only_what_the_creator_collects() {
    let ledger = Arc::new(EmbeddedLedger::start().await);
    let l: &dyn Ledger = ledger.as_ref();
    let f = common::one_channel(&ledger, 100_000_000, 1_000_000, 0).await;
    let (store, receiver) = common::receiver(&ledger, &f.creator.pubkey());
    let session = Keypair::new();

    // a mint the creator does not accept (a payer can mint its own for free)
    let strict = Receiver::new(
        ledger.clone(),
        store.clone(),
        f.creator.pubkey(),
        ReceiverConfig::accepting([AcceptedMint {
            mint: Keypair::new().pubkey(),
            lamports: 1,
            per_units: 1,
        }]),
    );
    let v = Voucher::sign(&f.session, f.channel, 100);
    assert!(matches!(
        rejection(strict.accept(&v, 100).await),
        Rejection::MintNotAccepted { .. }
    ));

    // the payer names itself fee recipient at 10%: refused by default
    let mut a = args(&f, &session);
    a.fee_recipient = Some(f.user.pubkey());
    a.fee_bps = 1_000;
    let selfish = open_with(&ledger, &f, a).await;
    assert_eq!(
        rejection(
            receiver
                .accept(&Voucher::sign(&session, selfish, 10_000), 1)
                .await
        ),
        Rejection::FeeNotAccepted {
            channel: selfish,
            recipient: f.user.pubkey(),
            bps: 1_000
        }
    );

    // a dispute window shorter than the receiver needs to claim in time
    let mut a = args(&f, &session);
    a.dispute_window_secs = 60;
    let hasty = open_with(&ledger, &f, a).await;
    assert_eq!(
        rejection(
            receiver
                .accept(&Voucher::sign(&session, hasty, 10), 10)
                .await
        ),
        Rejection::DisputeWindowTooShort {
            channel: hasty,
            secs: 60,
            min: 900
        }
    );

    // a creator without earnings account: its claim would settle nothing
    let stranger = Keypair::new();
    let mut a = args(&f, &session);
    a.creator = stranger.pubkey();
    let unsettleable = open_with(&ledger, &f, a).await;
    let (_, stranger_receiver) = common::receiver(&ledger, &stranger.pubkey());
    let v = Voucher::sign(&session, unsettleable, 10);
    assert!(matches!(
        rejection(stranger_receiver.accept(&v, 10).await),
        Rejection::EarningsMissing { .. }
    ));
    let sol = anchor_spl::token::spl_token::native_mint::ID;
    l.send(
        &[mix::InitEarnings {
            payer: f.user.pubkey(),
            owner: stranger.pubkey(),
            mint: sol,
        }
        .instruction()],
        &f.user,
        &[],
    )
    .await
    .unwrap();
    assert_eq!(stranger_receiver.accept(&v, 10).await.unwrap().net, 10);
}

/// Regression: the receiver counted a fee channel's increment in full while
/// the creator collects it net of the fee share. It counts net now, and the
/// fee recipient's earnings account must exist too.
#[tokio::test]
async fn fee_shares_are_counted_net_and_need_their_earnings_account() {
    let ledger = Arc::new(EmbeddedLedger::start().await);
    let l: &dyn Ledger = ledger.as_ref();
    let f = common::one_channel(&ledger, 100_000_000, 1_000_000, 0).await;
    let dapp = Keypair::new().pubkey();
    let session = Keypair::new();
    let mut a = args(&f, &session);
    a.fee_recipient = Some(dapp);
    a.fee_bps = 250;
    let channel = open_with(&ledger, &f, a).await;
    let store: Arc<dyn ReceiverStore> = Arc::new(SqliteStore::in_memory().unwrap());
    let mut config = ReceiverConfig::accepting([AcceptedMint::wrapped_sol()]);
    config.fees = config.fees.allow(dapp, 250);
    let receiver = Receiver::new(ledger.clone(), store, f.creator.pubkey(), config);

    let v = Voucher::sign(&session, channel, 10_000);
    assert!(matches!(
        rejection(receiver.accept(&v, 10_000).await),
        Rejection::EarningsMissing { owner, .. } if owner == dapp
    ));
    let sol = anchor_spl::token::spl_token::native_mint::ID;
    l.send(
        &[mix::InitEarnings {
            payer: f.user.pubkey(),
            owner: dapp,
            mint: sol,
        }
        .instruction()],
        &f.user,
        &[],
    )
    .await
    .unwrap();
    // 10,000 gross is 9,750 for the creator: less than a price of 10,000
    assert_eq!(
        rejection(receiver.accept(&v, 10_000).await),
        Rejection::Underpaid {
            paid: 9_750,
            price: 10_000
        }
    );
    let gross = micropay_client::receiver::gross_for_net(0, 10_000, 250).unwrap();
    let paid = receiver
        .accept(&Voucher::sign(&session, channel, gross), 10_000)
        .await
        .unwrap();
    assert_eq!((paid.increment, paid.net), (gross, 10_000));
    // the next use: net counted on cumulative amounts, as the program splits
    let next = gross + micropay_client::receiver::gross_for_net(gross, 10_000, 250).unwrap();
    let paid = receiver
        .accept(&Voucher::sign(&session, channel, next), 10_000)
        .await
        .unwrap();
    assert!(paid.net >= 10_000);
    assert_eq!(
        paid.net + 10_000,
        micropay_client::receiver::creator_share(next, 250)
    );
}

/// Availability: retries and old vouchers are answered from the store, and an
/// unknown channel from a negative cache entry, without asking the cluster.
#[tokio::test]
async fn cheap_refusals_cost_no_cluster_reads() {
    let bank = Arc::new(EmbeddedLedger::start().await);
    let f = common::one_channel(&bank, 10_000_000, 1_000_000, 0).await;
    let ledger = Arc::new(common::Faulty::new(bank.clone()));
    let reads = || ledger.observes();
    let store: Arc<dyn ReceiverStore> = Arc::new(SqliteStore::in_memory().unwrap());
    let receiver = Receiver::new(
        ledger.clone(),
        store,
        f.creator.pubkey(),
        ReceiverConfig::accepting([AcceptedMint::wrapped_sol()]),
    );
    let v = Voucher::sign(&f.session, f.channel, 500);
    receiver.accept(&v, 500).await.unwrap();
    assert_eq!(reads(), 1);
    // a retry, and an older voucher: answered by the store
    assert!(matches!(
        rejection(receiver.accept(&v, 500).await),
        Rejection::Duplicate { .. }
    ));
    let older = Voucher::sign(&f.session, f.channel, 100);
    assert!(matches!(
        rejection(receiver.accept(&older, 1).await),
        Rejection::NotAhead { .. }
    ));
    assert_eq!(reads(), 1);
    // an unknown channel is read once, then answered from the negative entry
    let junk = Voucher::sign(&f.session, Keypair::new().pubkey(), 500);
    for _ in 0..5 {
        assert!(matches!(
            rejection(receiver.accept(&junk, 1).await),
            Rejection::UnknownChannel(_)
        ));
    }
    assert_eq!(reads(), 2);
}

/// A price per mint (the paywall's routes): the channel's mint picks the
/// price, a mint without one is refused like an unaccepted mint; `held`
/// returns the best voucher for a payer that lost its state.
#[tokio::test]
async fn prices_follow_the_channel_mint_and_held_is_the_best_voucher() {
    let ledger = Arc::new(EmbeddedLedger::start().await);
    let f = common::one_channel(&ledger, 10_000_000, 1_000_000, 0).await;
    let (store, receiver) = common::receiver(&ledger, &f.creator.pubkey());
    let sol = anchor_spl::token::spl_token::native_mint::ID;
    assert_eq!(receiver.held(&f.channel).await.unwrap(), None);

    let v = Voucher::sign(&f.session, f.channel, 300);
    let only_usdc = |mint: &Pubkey| (*mint != sol).then_some(1);
    assert_eq!(
        rejection(receiver.accept_priced(&v, &only_usdc).await),
        Rejection::MintNotAccepted {
            channel: f.channel,
            mint: sol
        }
    );
    let sol_at_300 = |mint: &Pubkey| (*mint == sol).then_some(300);
    let paid = receiver.accept_priced(&v, &sol_at_300).await.unwrap();
    assert_eq!((paid.cumulative, paid.net), (300, 300));
    let v2 = Voucher::sign(&f.session, f.channel, 500);
    assert_eq!(
        rejection(receiver.accept_priced(&v2, &sol_at_300).await),
        Rejection::Underpaid {
            paid: 200,
            price: 300
        }
    );
    assert_eq!(receiver.held(&f.channel).await.unwrap(), Some((v, 0)));
    // another creator's receiver on the same store holds nothing of it
    let other = Receiver::new(
        ledger.clone(),
        store.clone(),
        Pubkey::new_unique(),
        ReceiverConfig::accepting([AcceptedMint::wrapped_sol()]),
    );
    assert_eq!(other.held(&f.channel).await.unwrap(), None);
}
