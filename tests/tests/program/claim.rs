use anchor_lang::prelude::AccountMeta;
use micropay::{constants::NO_ACCOUNT_INDEX, events::SkipReason, instructions::ClaimEntry};
use micropay_sdk::{events::MicropayEvent, instructions as mix};
use micropay_tests::*;
use solana_sdk::signature::{Keypair, Signer};

struct Setup {
    t: TestContext,
    ch: ChannelFixture,
    c: CreatorFixture,
}

async fn setup(allocation: u64) -> Setup {
    let mut t = TestContext::new().await;
    let mint = t.spl_mint().await;
    let p = t.payer_with_escrow(&mint, 10_000_000, 10_000_000).await;
    let c = t.creator(&mint).await;
    let ch = t
        .open_channel(&p, &c, allocation, ChannelOpts::default())
        .await;
    Setup { t, ch, c }
}

#[tokio::test]
async fn claim_settles_one_voucher() {
    let Setup { mut t, ch, c } = setup(500_000).await;
    let events = t.claim(&[ch.voucher(1_234)]).await.unwrap();
    let claimed = claimed_event(&events);
    assert_eq!(claimed.settled.len(), 1);
    assert_eq!(claimed.settled[0].delta, 1_234);
    assert_eq!(claimed.settled[0].creator_amount, 1_234);
    assert_eq!(claimed.settled[0].claimed, 1_234);
    assert!(claimed.skipped.is_empty());
    assert_eq!(t.earnings(c.earnings).await.unwrap().balance, 1_234);
    assert_eq!(t.channel(ch.address).await.unwrap().claimed, 1_234);

    // a later voucher pays only the increment
    t.claim(&[ch.voucher(2_000)]).await.unwrap();
    assert_eq!(t.earnings(c.earnings).await.unwrap().balance, 2_000);
    assert_eq!(t.earnings(c.earnings).await.unwrap().total_earned, 2_000);
    t.assert_invariants().await;
}

/// The batch: ≥ 5 channels, ≥ 2 payers' escrows (two mints), ≥ 2
/// creators, one stale voucher skipped, all in ONE transaction.
#[tokio::test]
async fn batched_claim_across_payers_mints_and_creators_skips_stale() {
    let mut t = TestContext::new().await;
    let usdc = t.spl_mint().await;
    let other = t.token_2022_mint().await;
    let p1 = t.payer_with_escrow(&usdc, 1_000_000, 1_000_000).await;
    let p2 = t.payer_with_escrow(&usdc, 1_000_000, 1_000_000).await;
    let p3 = t.payer_with_escrow(&other, 1_000_000, 1_000_000).await;
    let c1 = t.creator(&usdc).await;
    let c2 = t.creator(&usdc).await;
    let c2_other = CreatorFixture {
        earnings: t.init_earnings(&c2.wallet.pubkey(), &other).await,
        wallet: c2.wallet.insecure_clone(),
        mint: other,
    };
    let dapp = Keypair::new().pubkey();
    let fee = ChannelOpts {
        fee: Some((dapp, 500)),
        ..Default::default()
    };

    let a = t
        .open_channel(&p1, &c1, 100_000, ChannelOpts::default())
        .await;
    let b = t.open_channel(&p1, &c2, 100_000, fee).await;
    let c = t
        .open_channel(&p2, &c1, 100_000, ChannelOpts::default())
        .await;
    let d = t
        .open_channel(&p2, &c2, 100_000, ChannelOpts::default())
        .await;
    let e = t
        .open_channel(&p3, &c2_other, 100_000, ChannelOpts::default())
        .await;
    let stale = t
        .open_channel(&p2, &c1, 100_000, ChannelOpts::default())
        .await;

    // the stale channel was settled up to 7_000 by someone else before
    t.claim(&[stale.voucher(7_000)]).await.unwrap();

    let vouchers = vec![
        a.voucher(10_000),
        b.voucher(20_000),
        c.voucher(30_000),
        d.voucher(40_000),
        e.voucher(50_000),
        stale.voucher(6_000),
    ];
    let ix = mix::claim(&vouchers);
    let events = t.send_events(&[ix], &[]).await.unwrap();
    let claimed = claimed_event(&events);
    assert_eq!(claimed.settled.len(), 5);
    assert_eq!(
        claimed.skipped,
        vec![micropay::events::SkippedVoucher {
            channel: stale.address,
            voucher_amount: 6_000,
            claimed: 7_000,
            reason: SkipReason::NotAhead,
        }]
    );
    let b_settled = claimed
        .settled
        .iter()
        .find(|s| s.channel == b.address)
        .unwrap();
    assert_eq!(
        (b_settled.creator_amount, b_settled.fee_amount),
        (19_000, 1_000)
    );

    // c1: a (10k) + c (30k) + stale (7k); c2: b (19k) + d (40k); c2 other mint: 50k
    assert_eq!(t.earnings(c1.earnings).await.unwrap().balance, 47_000);
    assert_eq!(t.earnings(c2.earnings).await.unwrap().balance, 59_000);
    assert_eq!(t.earnings(c2_other.earnings).await.unwrap().balance, 50_000);
    assert_eq!(
        t.earnings(b.fee_earnings.unwrap()).await.unwrap().balance,
        1_000
    );
    assert_eq!(t.channel(stale.address).await.unwrap().claimed, 7_000);
    t.assert_invariants().await;
}

#[tokio::test]
async fn fee_share_rounds_down_and_at_bound() {
    let mut t = TestContext::new().await;
    let mint = t.spl_mint().await;
    let p = t.payer_with_escrow(&mint, 1_000_000, 1_000_000).await;
    let c = t.creator(&mint).await;
    let dapp = Keypair::new().pubkey();
    let ch = t
        .open_channel(
            &p,
            &c,
            100_000,
            ChannelOpts {
                fee: Some((dapp, 1_000)),
                ..Default::default()
            },
        )
        .await;
    // 10% of 19 rounds down to 1
    t.claim(&[ch.voucher(19)]).await.unwrap();
    assert_eq!(t.earnings(c.earnings).await.unwrap().balance, 18);
    assert_eq!(
        t.earnings(ch.fee_earnings.unwrap()).await.unwrap().balance,
        1
    );
    t.assert_invariants().await;
}

/// Regression: the fee share was computed per claim, so settling every
/// intermediate voucher (increments below 10⁴/bps) paid the dApp nothing. It is
/// cumulative now: ten claims of 9 units at 10% pay 9, like one claim of 90.
#[tokio::test]
async fn fee_share_is_cumulative_however_finely_claims_are_split() {
    let mut t = TestContext::new().await;
    let mint = t.spl_mint().await;
    let p = t.payer_with_escrow(&mint, 1_000_000, 1_000_000).await;
    let c = t.creator(&mint).await;
    let dapp = Keypair::new().pubkey();
    let fee = ChannelOpts {
        fee: Some((dapp, 1_000)),
        ..Default::default()
    };
    let fine = t.open_channel(&p, &c, 100_000, fee).await;
    let mut fees = 0;
    for i in 1..=10u64 {
        let events = t.claim(&[fine.voucher(9 * i)]).await.unwrap();
        fees += claimed_event(&events).settled[0].fee_amount;
    }
    assert_eq!(fees, 9);
    let dapp_earnings = fine.fee_earnings.unwrap();
    assert_eq!(t.earnings(dapp_earnings).await.unwrap().balance, 9);
    assert_eq!(t.earnings(c.earnings).await.unwrap().balance, 81);

    // the same total in one claim on another channel pays the same split
    let fee = ChannelOpts {
        fee: Some((dapp, 1_000)),
        ..Default::default()
    };
    let coarse = t.open_channel(&p, &c, 100_000, fee).await;
    let events = t.claim(&[coarse.voucher(90)]).await.unwrap();
    let settled = &claimed_event(&events).settled[0];
    assert_eq!((settled.creator_amount, settled.fee_amount), (81, 9));
    t.assert_invariants().await;
}

/// Regression: `total_earned` (a statistic) overflowing failed the claim.
#[tokio::test]
async fn total_earned_saturates_instead_of_failing_a_claim() {
    let Setup { mut t, ch, c } = setup(5_000).await;
    let mut earnings = t.earnings(c.earnings).await.unwrap();
    earnings.total_earned = u64::MAX - 10;
    t.write_state(c.earnings, &earnings).await;
    t.claim(&[ch.voucher(100)]).await.unwrap();
    let earnings = t.earnings(c.earnings).await.unwrap();
    assert_eq!((earnings.balance, earnings.total_earned), (100, u64::MAX));
    t.assert_invariants().await;
}

/// One entry whose channel is gone (finalized ahead of the claim by a
/// front-runner, or closed by its creator) never reverts the batch: it is
/// skipped with its reason and the other entries settle.
#[tokio::test]
async fn a_channel_finalized_ahead_of_the_claim_is_skipped_not_fatal() {
    let mut t = TestContext::new().await;
    let mint = t.spl_mint().await;
    let p = t.payer_with_escrow(&mint, 100_000, 100_000).await;
    let c = t.creator(&mint).await;
    let ch = t.open_channel(&p, &c, 10_000, ChannelOpts::default()).await;
    let gone = t
        .open_channel(
            &p,
            &c,
            10_000,
            ChannelOpts {
                dispute_window_secs: Some(60),
                ..Default::default()
            },
        )
        .await;
    let ix = mix::RequestClose {
        owner: p.owner.pubkey(),
        escrow: p.escrow,
        channel: gone.address,
    }
    .instruction();
    t.send(&[ix], &[&p.owner]).await.unwrap();
    t.advance_time(60).await;
    // the payer's finalize lands first
    let ix = mix::FinalizeClose {
        escrow: p.escrow,
        channel: gone.address,
        owner: p.owner.pubkey(),
    }
    .instruction();
    t.send(&[ix], &[]).await.unwrap();
    assert!(t.channel(gone.address).await.is_none());

    let events = t
        .claim(&[gone.voucher(700), ch.voucher(500)])
        .await
        .unwrap();
    let claimed = claimed_event(&events);
    assert_eq!(claimed.settled.len(), 1);
    assert_eq!(claimed.settled[0].channel, ch.address);
    assert_eq!(
        claimed.skipped,
        vec![micropay::events::SkippedVoucher {
            channel: gone.address,
            voucher_amount: 700,
            claimed: 0,
            reason: SkipReason::ChannelClosed,
        }]
    );
    assert_eq!(t.earnings(c.earnings).await.unwrap().balance, 500);
    t.assert_invariants().await;
}

/// A fee recipient's earnings account that does not exist (closed by its
/// owner) skips the entry with its reason; the batch goes on.
#[tokio::test]
async fn missing_fee_earnings_skip_the_entry_not_the_batch() {
    let mut t = TestContext::new().await;
    let mint = t.spl_mint().await;
    let p = t.payer_with_escrow(&mint, 100_000, 100_000).await;
    let c = t.creator(&mint).await;
    let dapp = t.wallet(1_000_000_000).await;
    let with_fee = t
        .open_channel(
            &p,
            &c,
            10_000,
            ChannelOpts {
                fee: Some((dapp.pubkey(), 500)),
                ..Default::default()
            },
        )
        .await;
    let plain = t.open_channel(&p, &c, 10_000, ChannelOpts::default()).await;
    let ix = mix::CloseEarnings {
        owner: dapp.pubkey(),
        mint: mint.address,
        rent_payer: t.payer().pubkey(),
    }
    .instruction();
    t.send(&[ix], &[&dapp]).await.unwrap();

    let events = t
        .claim(&[with_fee.voucher(1_000), plain.voucher(300)])
        .await
        .unwrap();
    let claimed = claimed_event(&events);
    assert_eq!(claimed.settled.len(), 1);
    assert_eq!(claimed.skipped[0].reason, SkipReason::FeeEarningsMissing);
    assert_eq!(t.channel(with_fee.address).await.unwrap().claimed, 0);
    assert_eq!(t.earnings(c.earnings).await.unwrap().balance, 300);
    t.assert_invariants().await;
}

/// A missing earnings account is a skip only at its own address: any other
/// empty account in its place is the submitter's mistake and fails the claim.
#[tokio::test]
async fn an_empty_account_that_is_not_the_earnings_address_fails() {
    let Setup { mut t, ch, .. } = setup(5_000).await;
    let mut v = ch.voucher(100);
    v.creator_earnings = Keypair::new().pubkey();
    assert_error(t.claim(&[v]).await, MicropayError::CreatorEarningsMismatch);

    let mint = t.spl_mint().await;
    let p = t.payer_with_escrow(&mint, 10_000, 10_000).await;
    let c = t.creator(&mint).await;
    let dapp = Keypair::new().pubkey();
    let with_fee = t
        .open_channel(
            &p,
            &c,
            1_000,
            ChannelOpts {
                fee: Some((dapp, 100)),
                ..Default::default()
            },
        )
        .await;
    let mut v = with_fee.voucher(100);
    v.fee_earnings = Some(Keypair::new().pubkey());
    assert_error(t.claim(&[v]).await, MicropayError::FeeEarningsMismatch);
    t.assert_invariants().await;
}

#[tokio::test]
async fn voucher_above_allocation_is_clamped_and_allocation_exactly_reached() {
    let Setup { mut t, ch, c } = setup(5_000).await;
    let events = t.claim(&[ch.voucher(4_999)]).await.unwrap();
    assert_eq!(claimed_event(&events).settled[0].delta, 4_999);
    let events = t.claim(&[ch.voucher(9_999_999)]).await.unwrap();
    assert_eq!(claimed_event(&events).settled[0].delta, 1);
    let channel = t.channel(ch.address).await.unwrap();
    assert_eq!(channel.claimed, channel.allocation);
    assert_eq!(t.earnings(c.earnings).await.unwrap().balance, 5_000);
    // fully claimed: any further voucher is stale
    let events = t.claim(&[ch.voucher(10_000_000)]).await.unwrap();
    assert_eq!(claimed_event(&events).skipped.len(), 1);
    t.assert_invariants().await;
}

#[tokio::test]
async fn equal_and_zero_vouchers_are_skipped() {
    let Setup { mut t, ch, c } = setup(5_000).await;
    let events = t.claim(&[ch.voucher(0)]).await.unwrap();
    assert_eq!(claimed_event(&events).skipped.len(), 1);
    t.claim(&[ch.voucher(100)]).await.unwrap();
    let events = t.claim(&[ch.voucher(100)]).await.unwrap();
    let claimed = claimed_event(&events);
    assert!(claimed.settled.is_empty());
    assert_eq!(claimed.skipped[0].claimed, 100);
    assert_eq!(t.earnings(c.earnings).await.unwrap().balance, 100);
    t.assert_invariants().await;
}

#[tokio::test]
async fn same_channel_twice_in_one_batch_sees_latest_state() {
    let Setup { mut t, ch, c } = setup(5_000).await;
    let events = t
        .claim(&[ch.voucher(100), ch.voucher(300), ch.voucher(200)])
        .await
        .unwrap();
    let claimed = claimed_event(&events);
    assert_eq!(
        claimed.settled.iter().map(|s| s.delta).collect::<Vec<_>>(),
        vec![100, 200]
    );
    assert_eq!(claimed.skipped.len(), 1);
    assert_eq!(t.earnings(c.earnings).await.unwrap().balance, 300);
    t.assert_invariants().await;
}

#[tokio::test]
async fn claim_during_dispute_window_works() {
    let mut t = TestContext::new().await;
    let mint = t.spl_mint().await;
    let p = t.payer_with_escrow(&mint, 10_000, 10_000).await;
    let c2 = t.creator(&mint).await;
    let ch2 = t
        .open_channel(&p, &c2, 10_000, ChannelOpts::default())
        .await;
    t.send(
        &[mix::RequestClose {
            owner: p.owner.pubkey(),
            escrow: p.escrow,
            channel: ch2.address,
        }
        .instruction()],
        &[&p.owner],
    )
    .await
    .unwrap();
    t.advance_time(3_599).await;
    t.claim(&[ch2.voucher(2_500)]).await.unwrap();
    assert_eq!(t.earnings(c2.earnings).await.unwrap().balance, 2_500);
    t.assert_invariants().await;
}

#[tokio::test]
async fn empty_claim_is_rejected() {
    let Setup { mut t, .. } = setup(5_000).await;
    let ix = mix::claim_raw(vec![], vec![]);
    assert_error(t.send(&[ix], &[]).await, MicropayError::EmptyClaim);
    t.assert_invariants().await;
}

fn entry(ch: &ChannelFixture, channel_index: u8, earnings_index: u8, amount: u64) -> ClaimEntry {
    ClaimEntry {
        channel_index,
        earnings_index,
        fee_earnings_index: NO_ACCOUNT_INDEX,
        amount,
        signature: sign_voucher(&ch.session, &ch.address, amount),
    }
}

#[tokio::test]
async fn index_out_of_range_is_rejected() {
    let Setup { mut t, ch, c } = setup(5_000).await;
    let accounts = vec![
        AccountMeta::new(ch.address, false),
        AccountMeta::new(c.earnings, false),
    ];
    let ix = mix::claim_raw(vec![entry(&ch, 0, 2, 10)], accounts.clone());
    assert_error(
        t.send(&[ix], &[]).await,
        MicropayError::AccountIndexOutOfRange,
    );
    let ix = mix::claim_raw(vec![entry(&ch, 5, 1, 10)], accounts);
    assert_error(
        t.send(&[ix], &[]).await,
        MicropayError::AccountIndexOutOfRange,
    );
    t.assert_invariants().await;
}

#[tokio::test]
async fn readonly_accounts_are_rejected() {
    let Setup { mut t, ch, c } = setup(5_000).await;
    let ix = mix::claim_raw(
        vec![entry(&ch, 0, 1, 10)],
        vec![
            AccountMeta::new_readonly(ch.address, false),
            AccountMeta::new(c.earnings, false),
        ],
    );
    assert_error(t.send(&[ix], &[]).await, MicropayError::AccountNotWritable);
    let ix = mix::claim_raw(
        vec![entry(&ch, 0, 1, 10)],
        vec![
            AccountMeta::new(ch.address, false),
            AccountMeta::new_readonly(c.earnings, false),
        ],
    );
    assert_error(t.send(&[ix], &[]).await, MicropayError::AccountNotWritable);
    t.assert_invariants().await;
}

#[tokio::test]
async fn non_channel_account_is_rejected() {
    let Setup { mut t, ch, c } = setup(5_000).await;
    // the escrow is a micropay account but not a channel
    let mut e = entry(&ch, 0, 1, 10);
    e.signature = sign_voucher(&ch.session, &ch.escrow, 10);
    let ix = mix::claim_raw(
        vec![e],
        vec![
            AccountMeta::new(ch.escrow, false),
            AccountMeta::new(c.earnings, false),
        ],
    );
    assert_error(
        t.send(&[ix], &[]).await,
        MicropayError::InvalidChannelAccount,
    );
    t.assert_invariants().await;
}

#[tokio::test]
async fn non_earnings_account_is_rejected() {
    let Setup { mut t, ch, .. } = setup(5_000).await;
    let ix = mix::claim_raw(
        vec![entry(&ch, 0, 1, 10)],
        vec![
            AccountMeta::new(ch.address, false),
            AccountMeta::new(ch.escrow, false),
        ],
    );
    assert_error(
        t.send(&[ix], &[]).await,
        MicropayError::InvalidEarningsAccount,
    );
    t.assert_invariants().await;
}

#[tokio::test]
async fn fee_earnings_checks() {
    let mut t = TestContext::new().await;
    let mint = t.spl_mint().await;
    let p = t.payer_with_escrow(&mint, 1_000_000, 1_000_000).await;
    let c = t.creator(&mint).await;
    let dapp = Keypair::new().pubkey();
    let with_fee = t
        .open_channel(
            &p,
            &c,
            10_000,
            ChannelOpts {
                fee: Some((dapp, 100)),
                ..Default::default()
            },
        )
        .await;
    let without_fee = t.open_channel(&p, &c, 10_000, ChannelOpts::default()).await;

    // fee channel without fee earnings account
    let mut v = with_fee.voucher(10);
    v.fee_earnings = None;
    assert_error(t.claim(&[v]).await, MicropayError::FeeEarningsMismatch);
    // fee channel with the creator's earnings as fee earnings
    let mut v = with_fee.voucher(10);
    v.fee_earnings = Some(c.earnings);
    assert_error(t.claim(&[v]).await, MicropayError::FeeEarningsMismatch);
    // no-fee channel with a fee earnings account
    let mut v = without_fee.voucher(10);
    v.fee_earnings = with_fee.fee_earnings;
    assert_error(t.claim(&[v]).await, MicropayError::FeeEarningsMismatch);
    // a read-only fee earnings account is reported as such, like the creator's
    let ix = mix::claim_raw(
        vec![ClaimEntry {
            fee_earnings_index: 2,
            ..entry(&with_fee, 0, 1, 10)
        }],
        vec![
            AccountMeta::new(with_fee.address, false),
            AccountMeta::new(c.earnings, false),
            AccountMeta::new_readonly(with_fee.fee_earnings.unwrap(), false),
        ],
    );
    assert_error(t.send(&[ix], &[]).await, MicropayError::AccountNotWritable);
    // and a fee earnings index past the accounts as out of range
    let ix = mix::claim_raw(
        vec![ClaimEntry {
            fee_earnings_index: 7,
            ..entry(&with_fee, 0, 1, 10)
        }],
        vec![
            AccountMeta::new(with_fee.address, false),
            AccountMeta::new(c.earnings, false),
        ],
    );
    assert_error(
        t.send(&[ix], &[]).await,
        MicropayError::AccountIndexOutOfRange,
    );
    t.assert_invariants().await;
}

#[tokio::test]
async fn bad_signature_encodings_are_rejected_one_error_each() {
    let Setup { mut t, ch, .. } = setup(5_000).await;
    // R not canonical: y = p + 1
    let mut v = ch.voucher(10);
    let mut r = [0xffu8; 32];
    r[0] = 0xee;
    r[31] = 0x7f;
    v.signature[..32].copy_from_slice(&r);
    assert_error(
        t.claim(&[v]).await,
        MicropayError::SignaturePointNotCanonical,
    );
    // R of small order: the identity
    let mut v = ch.voucher(10);
    let mut identity = [0u8; 32];
    identity[0] = 1;
    v.signature[..32].copy_from_slice(&identity);
    assert_error(t.claim(&[v]).await, MicropayError::SignaturePointSmallOrder);
    // S = L exactly
    let mut v = ch.voucher(10);
    v.signature[32..].copy_from_slice(&L);
    assert_error(
        t.claim(&[v]).await,
        MicropayError::SignatureScalarNotCanonical,
    );
    // flipped bit in S
    let mut v = ch.voucher(10);
    v.signature[40] ^= 1;
    assert_error(t.claim(&[v]).await, MicropayError::InvalidVoucherSignature);
    t.assert_invariants().await;
}

#[tokio::test]
async fn one_bad_voucher_fails_the_batch_and_changes_nothing() {
    let Setup { mut t, ch, c } = setup(5_000).await;
    let mut bad = ch.voucher(300);
    bad.signature[0] ^= 0x55;
    assert_error(
        t.claim(&[ch.voucher(100), bad]).await,
        MicropayError::InvalidVoucherSignature,
    );
    assert_eq!(t.channel(ch.address).await.unwrap().claimed, 0);
    assert_eq!(t.earnings(c.earnings).await.unwrap().balance, 0);
    t.assert_invariants().await;
}

#[tokio::test]
async fn claimed_event_is_the_only_event() {
    let Setup { mut t, ch, .. } = setup(5_000).await;
    let events = t.claim(&[ch.voucher(1), ch.voucher(2)]).await.unwrap();
    assert_eq!(events.len(), 1);
    assert!(matches!(events[0], MicropayEvent::Claimed(_)));
    t.assert_invariants().await;
}
