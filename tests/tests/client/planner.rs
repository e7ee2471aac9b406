//! The planner on the embedded bank: deferral below the target ratio, urgent
//! claims, stale vouchers recognised, batching — and the rules that keep every
//! accepted voucher: a newer voucher is never confirmed by an older claim, a
//! row is closed only on positive evidence from its own cluster, a dry run
//! writes nothing, a failing voucher is quarantined while the rest settle,
//! missing earnings accounts are created, lost value is reported.
#![allow(clippy::arithmetic_side_effects)]

use micropay_tests::client as common;

use micropay_client::ClientError;
use micropay_client::{
    ledger::{embedded::EmbeddedLedger, Ledger},
    planner::{Planner, PlannerConfig},
    store::{ClaimStatus, ReceiverStore},
    v1::{self, TxFormat},
};
use micropay_sdk::{instructions as mix, voucher::Voucher};
use solana_sdk::signature::{Keypair, Signer};
use std::sync::{atomic::Ordering, Arc};

fn status(store: &Arc<dyn ReceiverStore>, channel: &solana_sdk::pubkey::Pubkey) -> ClaimStatus {
    store.get(channel).unwrap().unwrap().status
}

/// `n` channels of one payer to one creator, each with an accepted voucher
/// of 5,000,000 lamports; the creator's receiver store and the channels.
async fn one_creator_owed(
    ledger: &Arc<EmbeddedLedger>,
    n: usize,
) -> (Arc<dyn ReceiverStore>, Vec<solana_sdk::pubkey::Pubkey>) {
    let f = common::one_channel(ledger, 10_000_000_000, 10_000_000, 0).await;
    let (store, receiver) = common::receiver(ledger, &f.creator.pubkey());
    let mut channels = vec![f.channel];
    channels.extend(common::more_channels(ledger, &f, n - 1, 10_000_000).await);
    for ch in &channels {
        receiver
            .accept(&Voucher::sign(&f.session, *ch, 5_000_000), 1)
            .await
            .unwrap();
    }
    (store, channels)
}

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
    let (_, plan) = planner
        .dry_run(l, &store.clone().into(), &relayer.pubkey())
        .await
        .unwrap();
    assert!(plan.batches.is_empty());
    assert_eq!(plan.deferred, vec![f.channel]);

    // worth 1,000,000: 0.5% fee, claim
    receiver
        .accept(&Voucher::sign(&f.session, f.channel, 1_000_000), 1)
        .await
        .unwrap();
    let (plan, done) = planner
        .run(l, &store.clone().into(), &relayer)
        .await
        .unwrap();
    assert_eq!(
        (plan.batches.len(), done.transactions, done.settled_amount),
        (1, 1, 1_000_000)
    );
    assert_eq!(status(&store, &f.channel), ClaimStatus::Confirmed);
    assert!(store.list(&ClaimStatus::OPEN).unwrap().is_empty());

    // a small voucher becomes urgent once the payer asks to close
    receiver
        .accept(&Voucher::sign(&f.session, f.channel, 1_000_100), 100)
        .await
        .unwrap();
    let (_, plan) = planner
        .dry_run(l, &store.clone().into(), &relayer.pubkey())
        .await
        .unwrap();
    assert!(plan.batches.is_empty());
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
    let (_, done) = planner
        .run(l, &store.clone().into(), &relayer)
        .await
        .unwrap();
    assert_eq!(done.settled_amount, 100);

    // a voucher someone else settled first is recognised, not retried
    let g = common::one_channel(&ledger, 100_000_000, 50_000_000, 0).await;
    let (store2, receiver2) = common::receiver(&ledger, &g.creator.pubkey());
    let v = Voucher::sign(&g.session, g.channel, 2_000_000);
    receiver2.accept(&v, 1).await.unwrap();
    let other_relayer = mix::claim(&[mix::VoucherClaim {
        channel: g.channel,
        creator_earnings: micropay_sdk::pda::earnings(
            &g.creator.pubkey(),
            &anchor_spl::token::spl_token::native_mint::ID,
        )
        .0,
        fee_earnings: None,
        amount: v.amount,
        signature: v.signature,
    }]);
    l.send(&[other_relayer], &relayer, &[]).await.unwrap();
    let (plan, done) = planner
        .run(l, &store2.clone().into(), &relayer)
        .await
        .unwrap();
    assert!(plan.batches.is_empty() && plan.deferred.is_empty());
    assert_eq!(done.transactions, 0);
    assert_eq!(status(&store2, &g.channel), ClaimStatus::Confirmed);
}

/// Regressions: a channel closed before its voucher was claimed is closed in
/// the store only on positive evidence from the cluster the voucher was seen
/// on — never by a claim (not even a dry run) against another cluster, and
/// not by a read that is not after the last sighting (a lagging node). The
/// value lost is reported.
#[tokio::test]
async fn a_voucher_is_closed_only_on_positive_evidence_and_loss_is_reported() {
    let ledger = Arc::new(EmbeddedLedger::start().await);
    let l: &dyn Ledger = ledger.as_ref();
    let relayer = ledger.payer().insecure_clone();
    let planner = Planner::new(PlannerConfig::default());
    let h = common::one_channel(&ledger, 100_000_000, 50_000_000, 0).await;
    let (store, receiver) = common::receiver(&ledger, &h.creator.pubkey());
    receiver
        .accept(&Voucher::sign(&h.session, h.channel, 5), 5)
        .await
        .unwrap();
    let before = store.get(&h.channel).unwrap().unwrap();

    // the wrong cluster: another bank, where this channel never existed
    let elsewhere = EmbeddedLedger::start().await;
    assert_ne!(
        elsewhere.genesis_hash().await.unwrap(),
        l.genesis_hash().await.unwrap()
    );
    let (recon, _) = planner
        .dry_run(&elsewhere, &store.clone().into(), &relayer.pubkey())
        .await
        .unwrap();
    assert_eq!(recon.other_cluster, vec![h.channel]);
    let other_payer = elsewhere.payer().insecure_clone();
    let (_, done) = planner
        .run(&elsewhere, &store.clone().into(), &other_payer)
        .await
        .unwrap();
    assert!(done.lost.is_empty());
    assert_eq!(done.other_cluster, 1, "said, not claimed");
    assert_eq!(store.get(&h.channel).unwrap().unwrap(), before);

    // the creator closes the channel without claiming; a read at the slot of
    // the last sighting is no evidence (the bank has not moved a slot)
    l.send(
        &[mix::CreatorClose {
            creator: h.creator.pubkey(),
            escrow: h.escrow,
            channel: h.channel,
            owner: h.user.pubkey(),
        }
        .instruction()],
        &relayer,
        &[&h.creator],
    )
    .await
    .unwrap();
    let (recon, _) = planner
        .dry_run(l, &store.clone().into(), &relayer.pubkey())
        .await
        .unwrap();
    assert_eq!(recon.unverified, vec![h.channel]);
    planner
        .run(l, &store.clone().into(), &relayer)
        .await
        .unwrap();
    assert_eq!(status(&store, &h.channel), ClaimStatus::Pending);

    // lamports sent to the closed address do not make it a channel again
    ledger.airdrop(&h.channel, 1_000_000).await.unwrap();
    // a later slot on the same cluster: the account is gone, the row closes,
    // and the 5 lamports it could no longer collect are reported (the dry run
    // says so first, and writes nothing)
    ledger.warp_slots(1).await.unwrap();
    let (recon, _) = planner
        .dry_run(l, &store.clone().into(), &relayer.pubkey())
        .await
        .unwrap();
    assert_eq!(recon.lost.len(), 1);
    assert_eq!(status(&store, &h.channel), ClaimStatus::Pending);
    let (_, done) = planner
        .run(l, &store.clone().into(), &relayer)
        .await
        .unwrap();
    assert_eq!(done.lost.len(), 1);
    assert_eq!((done.lost[0].channel, done.lost[0].amount), (h.channel, 5));
    assert_eq!(status(&store, &h.channel), ClaimStatus::Closed);
}

/// Regression: a claim confirming voucher A marked a newer voucher A′,
/// accepted while the claim was in flight, as confirmed: A′ was lost.
#[tokio::test]
async fn a_claim_never_confirms_a_newer_voucher() {
    let ledger = Arc::new(EmbeddedLedger::start().await);
    let l: &dyn Ledger = ledger.as_ref();
    let relayer = ledger.payer().insecure_clone();
    let f = common::one_channel(&ledger, 100_000_000, 50_000_000, 0).await;
    let (store, receiver) = common::receiver(&ledger, &f.creator.pubkey());
    let planner = Planner::new(PlannerConfig::default());
    receiver
        .accept(&Voucher::sign(&f.session, f.channel, 1_000_000), 1)
        .await
        .unwrap();
    let recon = planner.reconcile(l, &store.clone().into()).await.unwrap();
    planner.apply(&store.clone().into(), &recon).await.unwrap();
    let plan = planner.plan(&recon, &relayer.pubkey());
    assert_eq!(plan.vouchers(), 1);

    // A′ arrives after the plan was made
    receiver
        .accept(&Voucher::sign(&f.session, f.channel, 3_000_000), 1)
        .await
        .unwrap();
    let done = planner
        .execute(&plan, l, &store.clone().into(), &relayer)
        .await
        .unwrap();
    assert_eq!(done.settled_amount, 1_000_000);
    let row = store.get(&f.channel).unwrap().unwrap();
    assert_eq!(
        (row.voucher.amount, row.claimed, row.status),
        (3_000_000, 1_000_000, ClaimStatus::Pending)
    );
    let (_, done) = planner
        .run(l, &store.clone().into(), &relayer)
        .await
        .unwrap();
    assert_eq!(done.settled_amount, 2_000_000);
    assert_eq!(status(&store, &f.channel), ClaimStatus::Confirmed);
}

/// Regression: `claim --dry-run` wrote the store (marking vouchers confirmed
/// or closed). A dry run reads only.
#[tokio::test]
async fn a_dry_run_writes_nothing() {
    let ledger = Arc::new(EmbeddedLedger::start().await);
    let l: &dyn Ledger = ledger.as_ref();
    let relayer = ledger.payer().insecure_clone();
    let f = common::one_channel(&ledger, 100_000_000, 50_000_000, 0).await;
    let (store, receiver) = common::receiver(&ledger, &f.creator.pubkey());
    let v = Voucher::sign(&f.session, f.channel, 2_000_000);
    receiver.accept(&v, 1).await.unwrap();
    // settled by someone else: a real run would confirm the row
    let earnings = micropay_sdk::pda::earnings(
        &f.creator.pubkey(),
        &anchor_spl::token::spl_token::native_mint::ID,
    )
    .0;
    let ix = mix::claim(&[mix::VoucherClaim {
        channel: f.channel,
        creator_earnings: earnings,
        fee_earnings: None,
        amount: v.amount,
        signature: v.signature,
    }]);
    l.send(&[ix], &relayer, &[]).await.unwrap();
    let before = store.get(&f.channel).unwrap().unwrap();
    let planner = Planner::new(PlannerConfig::default());
    let (recon, plan) = planner
        .dry_run(l, &store.clone().into(), &relayer.pubkey())
        .await
        .unwrap();
    assert_eq!(recon.settled, vec![f.channel]);
    assert!(plan.batches.is_empty());
    assert_eq!(store.get(&f.channel).unwrap().unwrap(), before);
}

/// One voucher that cannot settle (its stored signature got corrupted) is
/// found by bisection and quarantined with its reason; the others settle in
/// the same run, and the run does not fail.
#[tokio::test]
async fn a_failing_voucher_is_quarantined_and_the_rest_settle() {
    let ledger = Arc::new(EmbeddedLedger::start().await);
    let l: &dyn Ledger = ledger.as_ref();
    let relayer = ledger.payer().insecure_clone();
    let f = common::one_channel(&ledger, 100_000_000, 10_000_000, 0).await;
    let (store, receiver) = common::receiver(&ledger, &f.creator.pubkey());
    let mut channels = vec![f.channel];
    channels.extend(common::more_channels(&ledger, &f, 3, 10_000_000).await);
    for ch in &channels {
        receiver
            .accept(&Voucher::sign(&f.session, *ch, 5_000_000), 1)
            .await
            .unwrap();
    }
    let bad = channels[2];
    let mut row = store.get(&bad).unwrap().unwrap();
    row.voucher.signature[0] ^= 1;
    assert!(store.compare_and_swap(row.version, &row).unwrap());

    let planner = Planner::new(PlannerConfig::default());
    let (_, done) = planner
        .run(l, &store.clone().into(), &relayer)
        .await
        .unwrap();
    assert_eq!(done.vouchers_settled, 3);
    assert!(done.bisections >= 1);
    assert_eq!(done.quarantined.len(), 1);
    assert_eq!(done.quarantined[0].channel, bad);
    assert!(
        done.quarantined[0]
            .reason
            .contains("InvalidVoucherSignature"),
        "{}",
        done.quarantined[0].reason
    );
    assert_eq!(status(&store, &bad), ClaimStatus::Quarantined);
    for ch in channels.iter().filter(|c| **c != bad) {
        assert_eq!(status(&store, ch), ClaimStatus::Confirmed);
    }
    // quarantined vouchers are reported again, never block: a later run
    // settles nothing else and fails nothing
    let (_, again) = planner
        .run(l, &store.clone().into(), &relayer)
        .await
        .unwrap();
    assert_eq!((again.vouchers_settled, again.quarantined.len()), (0, 1));
}

/// A creator's earnings account closed after the voucher was accepted is
/// created again by the planner (paid by the relayer) before claiming.
#[tokio::test]
async fn missing_earnings_accounts_are_created_before_claiming() {
    let ledger = Arc::new(EmbeddedLedger::start().await);
    let l: &dyn Ledger = ledger.as_ref();
    let relayer = ledger.payer().insecure_clone();
    let f = common::one_channel(&ledger, 100_000_000, 10_000_000, 0).await;
    let (store, receiver) = common::receiver(&ledger, &f.creator.pubkey());
    receiver
        .accept(&Voucher::sign(&f.session, f.channel, 5_000_000), 1)
        .await
        .unwrap();
    ledger
        .airdrop(&f.creator.pubkey(), 100_000_000)
        .await
        .unwrap();
    let sol = anchor_spl::token::spl_token::native_mint::ID;
    let earnings = micropay_sdk::pda::earnings(&f.creator.pubkey(), &sol).0;
    let rent_payer = micropay_client::accounts::earnings(l, &earnings)
        .await
        .unwrap()
        .unwrap()
        .rent_payer;
    l.send(
        &[mix::CloseEarnings {
            owner: f.creator.pubkey(),
            mint: sol,
            rent_payer,
        }
        .instruction()],
        &f.creator,
        &[],
    )
    .await
    .unwrap();
    let planner = Planner::new(PlannerConfig::default());
    let (_, done) = planner
        .run(l, &store.clone().into(), &relayer)
        .await
        .unwrap();
    assert_eq!((done.earnings_created, done.settled_amount), (1, 5_000_000));
    assert_eq!(status(&store, &f.channel), ClaimStatus::Confirmed);
}

#[tokio::test]
async fn many_channels_pack_into_full_transactions() {
    let ledger = Arc::new(EmbeddedLedger::start().await);
    let l: &dyn Ledger = ledger.as_ref();
    let (store, _) = one_creator_owed(&ledger, 20).await;
    let planner = Planner::new(PlannerConfig::default());
    let relayer = Keypair::new();
    ledger
        .airdrop(&relayer.pubkey(), 1_000_000_000)
        .await
        .unwrap();
    let capacity = planner.capacity(&relayer.pubkey());
    let (plan, done) = planner
        .run(l, &store.clone().into(), &relayer)
        .await
        .unwrap();
    // one creator's earnings account is shared, so more than the worst case fit
    assert!(plan.batches.iter().all(|b| b.size <= 1_232));
    assert!(plan.batches[0].claims.len() >= capacity);
    assert_eq!(done.vouchers_settled, 20);
    assert_eq!(done.transactions, plan.batches.len());
    assert!(done.transactions <= 20usize.div_ceil(capacity));
    assert_eq!(done.fees, 5_000 * done.transactions as u64);
    assert_eq!(done.settled_amount, 100_000_000);
}

/// Issue 12's proof on the bank: the largest v1 claim the planner packs
/// (channels of one creator) is built with the SDK's v1 message, signed,
/// serialized, decoded and checked as a v1 cluster's ingest would (format,
/// ≤ 4,096 bytes, ≤ 64 accounts, compute limit, signature: `v1::verify`),
/// and its exact instructions run in the bank — which does not enforce the
/// packet size — settling every voucher for exactly one signature fee.
#[tokio::test]
async fn the_largest_v1_claim_settles_every_voucher_for_one_signature_fee() {
    let ledger = Arc::new(EmbeddedLedger::start().await.with_v1().await.unwrap());
    let l: &dyn Ledger = ledger.as_ref();
    assert_eq!(l.transaction_format().await.unwrap(), TxFormat::V1);
    let relayer = ledger.payer().insecure_clone();
    let planner = Planner::new(PlannerConfig {
        format: TxFormat::V1,
        ..PlannerConfig::default()
    });
    let capacity = planner.capacity_one_creator(&relayer.pubkey());
    assert!(
        capacity >= 30,
        "{capacity} vouchers of one creator per v1 claim"
    );
    let n = capacity + 3;
    let (store, channels) = one_creator_owed(&ledger, n).await;
    let (_, plan) = planner
        .dry_run(l, &store.clone().into(), &relayer.pubkey())
        .await
        .unwrap();
    assert_eq!(plan.batches.len(), 2);
    assert_eq!(plan.batches[0].claims.len(), capacity, "the first is full");
    assert!(plan
        .batches
        .iter()
        .all(|b| b.size <= v1::MAX_TRANSACTION_SIZE));
    assert!(
        plan.batches[0].size > 1_232,
        "larger than any legacy transaction"
    );

    let before = l.balance(&relayer.pubkey()).await.unwrap();
    let (_, done) = planner
        .run(l, &store.clone().into(), &relayer)
        .await
        .unwrap();
    let after = l.balance(&relayer.pubkey()).await.unwrap();
    assert_eq!(done.transactions, 2);
    assert_eq!(done.vouchers_settled, n);
    assert_eq!(done.settled_amount, 5_000_000 * n as u64);
    // one signature fee per transaction, nothing else
    assert_eq!(done.fees, 2 * 5_000);
    assert_eq!(before - after, done.fees);
    assert!(store.list(&ClaimStatus::OPEN).unwrap().is_empty());
    for ch in &channels {
        let state = micropay_client::accounts::channel(l, ch)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(state.claimed, 5_000_000);
    }
}

/// A bank that is not v1-capable refuses v1 transactions (the planner must
/// pack legacy there), and a v1-capable one refuses a transaction it cannot
/// check: signed by a key that is not the message's signer, or altered.
#[tokio::test]
async fn v1_transactions_are_refused_where_they_cannot_land() {
    let legacy = EmbeddedLedger::start().await;
    assert_eq!(legacy.transaction_format().await.unwrap(), TxFormat::Legacy);
    let payer = legacy.payer().insecure_clone();
    let transfer = solana_system_interface::instruction::transfer(
        &payer.pubkey(),
        &Keypair::new().pubkey(),
        1,
    );
    let blockhash = legacy.latest_blockhash().await.unwrap();
    let message = v1::message(&[transfer], &payer.pubkey(), &blockhash, 10_000, 0).unwrap();
    let wire = v1::sign(&message, &[&payer]).unwrap();
    assert!(matches!(
        legacy.submit_v1(&wire).await,
        Err(ClientError::V1Transaction { .. })
    ));

    let capable = EmbeddedLedger::start().await.with_v1().await.unwrap();
    let payer = capable.payer().insecure_clone();
    let to = Keypair::new().pubkey();
    let transfer = solana_system_interface::instruction::transfer(&payer.pubkey(), &to, 1_000_000);
    let blockhash = capable.latest_blockhash().await.unwrap();
    let message = v1::message(&[transfer], &payer.pubkey(), &blockhash, 10_000, 0).unwrap();
    let wire = v1::sign(&message, &[&payer]).unwrap();
    // one flipped byte in the message: the signature no longer verifies
    let mut altered = wire.clone();
    altered[wire.len() - 70] ^= 1;
    assert!(capable.submit_v1(&altered).await.is_err());
    // another payer's transaction: the bank cannot run it
    let stranger = Keypair::new();
    let theirs = v1::message(
        &[solana_system_interface::instruction::transfer(
            &stranger.pubkey(),
            &to,
            1,
        )],
        &stranger.pubkey(),
        &blockhash,
        10_000,
        0,
    )
    .unwrap();
    assert!(matches!(
        capable
            .submit_v1(&v1::sign(&theirs, &[&stranger]).unwrap())
            .await,
        Err(ClientError::V1Transaction { .. })
    ));
    assert_eq!(capable.balance(&to).await.unwrap(), 0, "nothing ran");
    // the real one lands, once, under its own signature
    capable.submit_v1(&wire).await.unwrap();
    capable.submit_v1(&wire).await.unwrap();
    let sent = capable
        .confirm(&v1::first_signature(&wire).unwrap(), 0)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(sent.fee, 5_000);
    assert_eq!(capable.balance(&to).await.unwrap(), 1_000_000);
}

/// A plan's claim transactions are sent together and confirmed together:
/// one `confirm_many` for all of them, one read of every claimed channel —
/// not one round trip per transaction.
#[tokio::test]
async fn a_plans_claims_are_sent_and_confirmed_together() {
    let bank = Arc::new(EmbeddedLedger::start().await);
    let ledger = common::Faulty::new(bank.clone());
    let (store, _) = one_creator_owed(&bank, 25).await;
    let planner = Planner::new(PlannerConfig::default());
    let relayer = bank.payer().insecure_clone();
    let (plan, done) = planner
        .run(&ledger, &store.clone().into(), &relayer)
        .await
        .unwrap();
    assert!(plan.batches.len() >= 3, "{} batches", plan.batches.len());
    assert_eq!(done.transactions, plan.batches.len());
    assert_eq!(done.vouchers_settled, 25);
    assert_eq!(ledger.confirm_calls(), vec![plan.batches.len()]);
    // one read to reconcile, one to confirm every claimed channel
    assert_eq!(ledger.observes(), 2);
    assert!(store.list(&ClaimStatus::OPEN).unwrap().is_empty());
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
    let (_, plan) = planner
        .dry_run(l, &store.clone().into(), &relayer.pubkey())
        .await
        .unwrap();
    assert!(plan.batches.is_empty());
    ledger.advance_time(400).await.unwrap();
    let (plan, done) = planner
        .run(l, &store.clone().into(), &relayer)
        .await
        .unwrap();
    assert!(plan.batches[0].urgent);
    assert_eq!(done.settled_amount, 300);
}

/// A claim's signature is in the store before the claim leaves. A planner
/// killed after sending resumes by waiting for that claim, not by sending a
/// second one; a claim lost before it left is dropped and sent anew.
#[tokio::test]
async fn a_restart_resumes_the_claim_in_flight_instead_of_sending_another() {
    let bank = Arc::new(EmbeddedLedger::start().await);
    let f = common::one_channel(&bank, 100_000_000, 50_000_000, 0).await;
    let (store, receiver) = common::receiver(&bank, &f.creator.pubkey());
    let ledger = common::Faulty::new(bank.clone());
    let planner = Planner::new(PlannerConfig::default());
    let relayer = bank.payer().insecure_clone();
    let claimed = |store: &Arc<dyn ReceiverStore>| store.get(&f.channel).unwrap().unwrap();

    // sent, not landed yet, and the process dies before it learns more
    receiver
        .accept(&Voucher::sign(&f.session, f.channel, 2_000_000), 1)
        .await
        .unwrap();
    ledger.hold_next_submit.store(true, Ordering::SeqCst);
    ledger.crash_next_confirm.store(true, Ordering::SeqCst);
    let crashed = planner.run(&ledger, &store.clone().into(), &relayer).await;
    assert!(matches!(crashed, Err(ClientError::Rpc(_))), "{crashed:?}");
    assert_eq!(ledger.submits(), 1);
    let row = claimed(&store);
    assert_eq!(row.status, ClaimStatus::Submitted);
    let (recorded, _) = micropay_client::store::rules::in_flight(&row).expect("in flight");
    assert_eq!(
        Some(recorded),
        row.claim_signature.as_deref(),
        "the signature of the claim that left is the one recorded"
    );

    let on_chain = || async {
        micropay_client::accounts::channel(bank.as_ref(), &f.channel)
            .await
            .unwrap()
            .unwrap()
            .claimed
    };
    assert_eq!(on_chain().await, 0, "still in flight");

    // the restart waits for the claim in flight (it lands); nothing is sent again
    let (_, done) = planner
        .run(&ledger, &store.clone().into(), &relayer)
        .await
        .unwrap();
    assert_eq!((ledger.submits(), done.transactions), (1, 0));
    let row = claimed(&store);
    assert_eq!(
        (row.status, row.claimed),
        (ClaimStatus::Confirmed, 2_000_000)
    );

    // recorded, but lost before it left: after the restart it is sent anew
    receiver
        .accept(&Voucher::sign(&f.session, f.channel, 3_000_000), 1)
        .await
        .unwrap();
    ledger.lose_next_submit.store(true, Ordering::SeqCst);
    assert!(planner
        .run(&ledger, &store.clone().into(), &relayer)
        .await
        .is_err());
    assert_eq!(claimed(&store).status, ClaimStatus::Submitted);
    let resumed = planner
        .resume(&ledger, &store.clone().into())
        .await
        .unwrap();
    assert_eq!((resumed.landed, resumed.dropped), (0, 1));
    assert_eq!(claimed(&store).status, ClaimStatus::Pending);
    let (_, done) = planner
        .run(&ledger, &store.clone().into(), &relayer)
        .await
        .unwrap();
    assert_eq!((ledger.submits(), done.transactions), (2, 1));
    let row = claimed(&store);
    assert_eq!(
        (row.status, row.claimed),
        (ClaimStatus::Confirmed, 3_000_000)
    );
    assert_eq!(on_chain().await, 3_000_000);
}

/// On a busy cluster the priority fee follows its recent fees: a routine
/// claim that would cost more than the fee target waits; once the payer asks
/// to close, the deadline price is paid and the claim lands.
#[tokio::test]
async fn priority_fees_follow_the_cluster_and_the_deadline() {
    let bank = Arc::new(EmbeddedLedger::start().await);
    let f = common::one_channel(&bank, 100_000_000, 50_000_000, 0).await;
    let (store, receiver) = common::receiver(&bank, &f.creator.pubkey());
    let ledger = common::Faulty::new(bank.clone());
    let planner = Planner::new(PlannerConfig::default());
    let relayer = bank.payer().insecure_clone();
    receiver
        .accept(&Voucher::sign(&f.session, f.channel, 1_000_000), 1)
        .await
        .unwrap();

    // quiet cluster: 5,000 lamports for 1,000,000 is within the 1% target
    let recon = planner
        .reconcile(&ledger, &store.clone().into())
        .await
        .unwrap();
    let quiet = planner.priced(&ledger, &recon).await.unwrap();
    assert_eq!(quiet.config.fees.compute_unit_price, 0);
    assert_eq!(quiet.plan(&recon, &relayer.pubkey()).batches.len(), 1);

    // busy: the median paid is 1,000,000 micro-lamports per CU
    *ledger.priority_samples.lock().unwrap() = vec![0, 1_000_000, 1_000_000, 1_000_000];
    let busy = planner.priced(&ledger, &recon).await.unwrap();
    assert_eq!(busy.config.fees.compute_unit_price, 1_000_000);
    let plan = busy.plan(&recon, &relayer.pubkey());
    assert!(
        plan.batches.is_empty(),
        "routine claims wait out a fee spike"
    );
    assert_eq!(plan.deferred, vec![f.channel]);

    // the payer asks to close: a deadline, paid at the 90th percentile
    bank.send(
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
    let (plan, done) = planner
        .run(&ledger, &store.clone().into(), &relayer)
        .await
        .unwrap();
    assert_eq!((plan.batches.len(), done.transactions), (1, 1));
    let priority = done.fees - 5_000;
    assert!(
        priority >= 10_000,
        "the bank charged {priority} lamports of priority"
    );
    assert_eq!(status(&store, &f.channel), ClaimStatus::Confirmed);
}
