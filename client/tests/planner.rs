//! The planner on the embedded bank: deferral below the target ratio, urgent
//! claims, stale vouchers recognised, closed channels, batching.
#![allow(clippy::arithmetic_side_effects)]

mod common;

use micropay_client::{
    instructions as mix,
    ledger::{embedded::EmbeddedLedger, Ledger},
    planner::{Planner, PlannerConfig},
    store::ClaimStatus,
    voucher::Voucher,
};
use solana_sdk::signature::{Keypair, Signer};
use std::sync::Arc;

#[tokio::test]
async fn small_value_waits_urgent_is_claimed_stale_is_confirmed() {
    let ledger = Arc::new(EmbeddedLedger::start().await);
    let l: &dyn Ledger = ledger.as_ref();
    let f = common::one_channel(&ledger, 100_000_000, 50_000_000, 0).await;
    let (store, receiver) = common::receiver(&ledger, &f.creator.pubkey());
    let planner = Planner::new(PlannerConfig::default());
    let relayer = ledger.payer().insecure_clone();

    // 10,000 lamports owed: a 5,000-lamport claim would be 50% of it: wait
    receiver
        .accept(&Voucher::sign(&f.session, f.channel, 10_000), 10_000)
        .await
        .unwrap();
    let plan = planner
        .plan(l, store.as_ref(), &relayer.pubkey())
        .await
        .unwrap();
    assert!(plan.batches.is_empty());
    assert_eq!(plan.deferred, vec![f.channel]);

    // worth 1,000,000: 0.5% fee, claim
    receiver
        .accept(&Voucher::sign(&f.session, f.channel, 1_000_000), 1)
        .await
        .unwrap();
    let (plan, done) = planner.run(l, store.as_ref(), &relayer).await.unwrap();
    assert_eq!(
        (plan.batches.len(), done.transactions, done.settled_amount),
        (1, 1, 1_000_000)
    );
    assert_eq!(
        store.get(&f.channel).unwrap().unwrap().status,
        ClaimStatus::Confirmed
    );
    assert!(store.claimable().unwrap().is_empty());

    // a small voucher becomes urgent once the payer asks to close
    receiver
        .accept(&Voucher::sign(&f.session, f.channel, 1_000_100), 100)
        .await
        .unwrap();
    assert!(planner
        .plan(l, store.as_ref(), &relayer.pubkey())
        .await
        .unwrap()
        .batches
        .is_empty());
    l.send(
        &[mix::request_close(&f.user.pubkey(), &f.escrow, &f.channel)],
        &f.user,
        &[],
    )
    .await
    .unwrap();
    let (_, done) = planner.run(l, store.as_ref(), &relayer).await.unwrap();
    assert_eq!(done.settled_amount, 100);

    // a voucher someone else settled first is recognised, not retried
    let g = common::one_channel(&ledger, 100_000_000, 50_000_000, 0).await;
    let (store2, receiver2) = common::receiver(&ledger, &g.creator.pubkey());
    let v = Voucher::sign(&g.session, g.channel, 2_000_000);
    receiver2.accept(&v, 1).await.unwrap();
    let other_relayer = mix::claim(&[mix::VoucherClaim {
        channel: g.channel,
        creator_earnings: micropay_client::pda::earnings(
            &g.creator.pubkey(),
            &anchor_spl::token::spl_token::native_mint::ID,
        )
        .0,
        fee_earnings: None,
        amount: v.amount,
        signature: v.signature,
    }]);
    l.send(&[other_relayer], &relayer, &[]).await.unwrap();
    let plan = planner
        .plan(l, store2.as_ref(), &relayer.pubkey())
        .await
        .unwrap();
    assert!(plan.batches.is_empty() && plan.deferred.is_empty());
    assert_eq!(
        store2.get(&g.channel).unwrap().unwrap().status,
        ClaimStatus::Confirmed
    );

    // a channel that closed before its voucher was claimed is marked closed
    let h = common::one_channel(&ledger, 100_000_000, 50_000_000, 0).await;
    let (store3, receiver3) = common::receiver(&ledger, &h.creator.pubkey());
    receiver3
        .accept(&Voucher::sign(&h.session, h.channel, 5), 5)
        .await
        .unwrap();
    l.send(
        &[mix::creator_close(
            &h.creator.pubkey(),
            &h.escrow,
            &h.channel,
            &h.user.pubkey(),
        )],
        &relayer,
        &[&h.creator],
    )
    .await
    .unwrap();
    planner
        .plan(l, store3.as_ref(), &relayer.pubkey())
        .await
        .unwrap();
    assert_eq!(
        store3.get(&h.channel).unwrap().unwrap().status,
        ClaimStatus::Closed
    );
}

#[tokio::test]
async fn many_channels_pack_into_full_transactions() {
    let ledger = Arc::new(EmbeddedLedger::start().await);
    let l: &dyn Ledger = ledger.as_ref();
    let f = common::one_channel(&ledger, 1_000_000_000, 10_000_000, 0).await;
    let (store, receiver) = common::receiver(&ledger, &f.creator.pubkey());
    let mut channels = vec![f.channel];
    for _ in 0..19 {
        channels.push(
            common::open(
                &ledger,
                &f.user,
                &f.escrow,
                &f.creator.pubkey(),
                &f.session.pubkey(),
                10_000_000,
                0,
            )
            .await,
        );
    }
    for ch in &channels {
        receiver
            .accept(&Voucher::sign(&f.session, *ch, 5_000_000), 1)
            .await
            .unwrap();
    }
    let planner = Planner::new(PlannerConfig::default());
    let relayer = Keypair::new();
    ledger
        .airdrop(&relayer.pubkey(), 1_000_000_000)
        .await
        .unwrap();
    let capacity = planner.capacity(&relayer.pubkey());
    let (plan, done) = planner.run(l, store.as_ref(), &relayer).await.unwrap();
    // one creator's earnings account is shared, so more than the worst case fit
    assert!(plan.batches.iter().all(|b| b.size <= 1_232));
    assert!(plan.batches[0].claims.len() >= capacity);
    assert_eq!(done.vouchers_settled, 20);
    assert_eq!(done.transactions, plan.batches.len());
    assert!(done.transactions <= 20usize.div_ceil(capacity));
    assert_eq!(done.fees, 5_000 * done.transactions as u64);
    assert_eq!(done.settled_amount, 100_000_000);
}

#[tokio::test]
async fn a_channel_near_expiry_is_claimed_whatever_its_value() {
    let ledger = Arc::new(EmbeddedLedger::start().await);
    let l: &dyn Ledger = ledger.as_ref();
    let now = l.unix_timestamp().await.unwrap();
    let f = common::one_channel(&ledger, 100_000_000, 50_000_000, now + 4_000).await;
    let (store, receiver) = common::receiver(&ledger, &f.creator.pubkey());
    receiver
        .accept(&Voucher::sign(&f.session, f.channel, 300), 300)
        .await
        .unwrap();
    let planner = Planner::new(PlannerConfig::default()); // claims within 3,600 s of expiry
    let relayer = ledger.payer().insecure_clone();
    assert!(planner
        .plan(l, store.as_ref(), &relayer.pubkey())
        .await
        .unwrap()
        .batches
        .is_empty());
    ledger.advance_time(400).await.unwrap();
    let (plan, done) = planner.run(l, store.as_ref(), &relayer).await.unwrap();
    assert!(plan.batches[0].claims[0].urgent);
    assert_eq!(done.settled_amount, 300);
}
