//! `distribute`: a split's earnings reach its recipients by share, with
//! cumulative rounding (independent of how often anyone distributes), a
//! closed recipient's share waits, wrong accounts are refused, and the
//! per-mint invariant holds with splits in it.

use micropay_sdk::{events::MicropayEvent, instructions as mix, pda};
use micropay_tests::*;
use proptest::prelude::*;
use solana_sdk::{instruction::AccountMeta, pubkey::Pubkey, signature::Signer};

/// A split of an SPL mint paid by one payer's channel, `owed` base units
/// claimed into the split's earnings.
struct World {
    t: TestContext,
    mint: MintInfo,
    split: Pubkey,
    recipients: Vec<SplitRecipient>,
    channel: ChannelFixture,
}

async fn world(bps: &[u16], owed: u64) -> World {
    let mut t = TestContext::new().await;
    let mint = t.spl_mint().await;
    let owners: Vec<(Pubkey, u16)> = bps.iter().map(|b| (Pubkey::new_unique(), *b)).collect();
    let (split, recipients) = t.split(&mint, &owners).await;
    let payer = t.payer_with_escrow(&mint, 100_000_000, 100_000_000).await;
    let earnings = pda::earnings(&split, &mint.address).0;
    let channel = t
        .open_channel_to(
            &payer,
            (split, earnings),
            50_000_000,
            ChannelOpts::default(),
        )
        .await;
    if owed > 0 {
        t.claim(&[channel.voucher(owed)]).await.unwrap();
    }
    World {
        t,
        mint,
        split,
        recipients,
        channel,
    }
}

fn distributed(events: &[MicropayEvent]) -> &micropay::events::Distributed {
    events
        .iter()
        .find_map(|e| match e {
            MicropayEvent::Distributed(d) => Some(d),
            _ => None,
        })
        .expect("a Distributed event")
}

async fn balance(t: &mut TestContext, owner: &Pubkey, mint: &MintInfo) -> u64 {
    t.earnings(pda::earnings(owner, &mint.address).0)
        .await
        .map_or(0, |e| e.balance)
}

#[tokio::test]
async fn one_recipient_gets_everything() {
    let World {
        mut t,
        mint,
        split,
        recipients,
        ..
    } = world(&[10_000], 1_234_567).await;
    let events = t.distribute(&split, &mint, &recipients).await.unwrap();
    let d = distributed(&events);
    assert_eq!(
        (d.received, d.amounts.clone(), d.balance),
        (1_234_567, vec![1_234_567], 0)
    );
    assert_eq!(
        balance(&mut t, &recipients[0].owner, &mint).await,
        1_234_567
    );
    assert_eq!(balance(&mut t, &split, &mint).await, 0);
    t.assert_invariants().await;
}

/// Claims into the split, distributions in between: every recipient ends
/// with its share of everything received, rounded down; the remainder stays
/// in the split; the invariant holds throughout.
#[tokio::test]
async fn three_recipients_by_share_with_the_remainder_kept() {
    let World {
        mut t,
        mint,
        split,
        recipients,
        channel,
    } = world(&[5_000, 3_333, 1_667], 1_001).await;
    let events = t.distribute(&split, &mint, &recipients).await.unwrap();
    let d = distributed(&events);
    let expected: Vec<u64> = recipients
        .iter()
        .map(|r| 1_001 * u64::from(r.bps) / 10_000)
        .collect();
    assert_eq!(d.amounts, expected);
    assert_eq!(d.balance, 1_001 - expected.iter().sum::<u64>());
    t.assert_invariants().await;
    // more claimed, distributed again: cumulative shares of 5,000,003
    t.claim(&[channel.voucher(5_000_003)]).await.unwrap();
    t.distribute(&split, &mint, &recipients).await.unwrap();
    for r in &recipients {
        assert_eq!(
            balance(&mut t, &r.owner, &mint).await,
            5_000_003 * u64::from(r.bps) / 10_000
        );
    }
    let state = t.split_state(split).await.unwrap();
    let paid: u64 = state.distributed.iter().sum();
    assert_eq!(balance(&mut t, &split, &mint).await, 5_000_003 - paid);
    // nothing new: a distribution moves nothing
    let events = t.distribute(&split, &mint, &recipients).await.unwrap();
    assert!(distributed(&events).amounts.iter().all(|a| *a == 0));
    t.assert_invariants().await;
}

#[tokio::test]
async fn thirty_two_recipients_are_paid() {
    let mut bps = vec![312u16; 32];
    bps[0] = 10_000 - 312 * 31;
    let World {
        mut t,
        mint,
        split,
        recipients,
        ..
    } = world(&bps, 10_000_000).await;
    t.distribute(&split, &mint, &recipients).await.unwrap();
    for r in &recipients {
        assert_eq!(
            balance(&mut t, &r.owner, &mint).await,
            10_000_000 * u64::from(r.bps) / 10_000
        );
    }
    t.assert_invariants().await;
}

/// A recipient that closed its (empty) earnings account is skipped; its
/// share waits in the split and reaches it once the account exists again.
#[tokio::test]
async fn a_closed_recipient_account_waits_for_its_share() {
    let mut t = TestContext::new().await;
    let mint = t.spl_mint().await;
    let leaver = t.wallet(1_000_000_000).await;
    let stayer = Pubkey::new_unique();
    let (split, recipients) = t
        .split(&mint, &[(leaver.pubkey(), 4_000), (stayer, 6_000)])
        .await;
    let close = mix::CloseEarnings {
        owner: leaver.pubkey(),
        mint: mint.address,
        rent_payer: t.payer().pubkey(),
    }
    .instruction();
    t.send(&[close], &[&leaver]).await.unwrap();
    let payer = t.payer_with_escrow(&mint, 10_000_000, 10_000_000).await;
    let earnings = pda::earnings(&split, &mint.address).0;
    let ch = t
        .open_channel_to(&payer, (split, earnings), 1_000_000, ChannelOpts::default())
        .await;
    t.claim(&[ch.voucher(1_000_000)]).await.unwrap();
    t.distribute(&split, &mint, &recipients).await.unwrap();
    assert_eq!(balance(&mut t, &stayer, &mint).await, 600_000);
    assert_eq!(balance(&mut t, &split, &mint).await, 400_000);
    t.assert_invariants().await;
    t.init_earnings(&leaver.pubkey(), &mint).await;
    t.distribute(&split, &mint, &recipients).await.unwrap();
    assert_eq!(balance(&mut t, &leaver.pubkey(), &mint).await, 400_000);
    assert_eq!(balance(&mut t, &split, &mint).await, 0);
    t.assert_invariants().await;
}

#[tokio::test]
async fn wrong_recipient_accounts_are_refused_and_change_nothing() {
    let World {
        mut t,
        mint,
        split,
        recipients,
        ..
    } = world(&[5_000, 5_000], 1_000).await;
    let ix = |owners: Vec<Pubkey>| {
        mix::Distribute {
            split,
            mint: mint.address,
            owners,
        }
        .instruction()
    };
    let owners: Vec<Pubkey> = recipients.iter().map(|r| r.owner).collect();
    // one missing, the order swapped, a stranger's account
    let cases = [
        (vec![owners[0]], MicropayError::SplitAccountsMismatch),
        (
            vec![owners[1], owners[0]],
            MicropayError::SplitAccountsMismatch,
        ),
        (
            vec![owners[0], Pubkey::new_unique()],
            MicropayError::SplitAccountsMismatch,
        ),
    ];
    for (list, error) in cases {
        assert_error(t.send(&[ix(list)], &[]).await, error);
    }
    // a recipient's account passed read-only
    let mut read_only = ix(owners.clone());
    let last = read_only.accounts.len() - 1;
    read_only.accounts[last] = AccountMeta::new_readonly(read_only.accounts[last].pubkey, false);
    assert_error(
        t.send(&[read_only], &[]).await,
        MicropayError::AccountNotWritable,
    );
    assert_eq!(balance(&mut t, &split, &mint).await, 1_000);
    assert_eq!(t.split_state(split).await.unwrap().distributed, vec![0, 0]);
    t.assert_invariants().await;
}

/// Issue 25: a channel of another mint than the split's pays the split
/// (nothing stops a payer from naming a split as creator, nor anyone from
/// creating the split's earnings of that mint): the claimed value is not
/// stranded, `distribute` moves it to the recipients' earnings of that mint
/// by share, and the split's own record is untouched.
#[tokio::test]
async fn another_mints_earnings_of_a_split_are_distributed_not_stranded() {
    let World {
        mut t,
        mint,
        split,
        recipients,
        ..
    } = world(&[7_000, 3_000], 0).await;
    let other = t.spl_mint().await;
    for r in &recipients {
        t.init_earnings(&r.owner, &other).await;
    }
    let split_other = t.init_earnings(&split, &other).await;
    let payer = t.payer_with_escrow(&other, 100_000_000, 100_000_000).await;
    let channel = t
        .open_channel_to(
            &payer,
            (split, split_other),
            50_000_000,
            ChannelOpts::default(),
        )
        .await;
    t.claim(&[channel.voucher(1_001)]).await.unwrap();
    assert_eq!(balance(&mut t, &split, &other).await, 1_001);

    // wrong accounts first: the split's mint's recipient accounts, a
    // stranger's earnings as the split's
    let owners: Vec<Pubkey> = recipients.iter().map(|r| r.owner).collect();
    let mut wrong_mint = mix::Distribute {
        split,
        mint: other.address,
        owners: owners.clone(),
    }
    .instruction();
    let n = wrong_mint.accounts.len();
    for (i, owner) in owners.iter().enumerate() {
        wrong_mint.accounts[n - owners.len() + i] =
            AccountMeta::new(pda::earnings(owner, &mint.address).0, false);
    }
    assert_error(
        t.send(&[wrong_mint], &[]).await,
        MicropayError::SplitAccountsMismatch,
    );
    let stranger = Pubkey::new_unique();
    let stranger_earnings = t.init_earnings(&stranger, &other).await;
    let mut not_the_splits = mix::Distribute {
        split,
        mint: other.address,
        owners: owners.clone(),
    }
    .instruction();
    not_the_splits.accounts[1] = AccountMeta::new(stranger_earnings, false);
    assert_anchor_error(
        t.send(&[not_the_splits], &[]).await,
        anchor_lang::error::ErrorCode::ConstraintSeeds,
    );
    assert_eq!(balance(&mut t, &split, &other).await, 1_001);

    let events = t.distribute(&split, &other, &recipients).await.unwrap();
    let d = distributed(&events);
    assert_eq!(d.mint, other.address);
    assert_eq!(
        (d.received, d.amounts.clone(), d.balance),
        (1_001, vec![700, 300], 1)
    );
    assert!(d.distributed.is_empty());
    assert_eq!(balance(&mut t, &recipients[0].owner, &other).await, 700);
    assert_eq!(balance(&mut t, &recipients[1].owner, &other).await, 300);
    assert_eq!(balance(&mut t, &split, &other).await, 1);
    // the split's own mint's record is untouched
    assert_eq!(t.split_state(split).await.unwrap().distributed, vec![0, 0]);
    t.assert_invariants().await;
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2_000, ..ProptestConfig::default() })]

    /// What a recipient has received never depends on how often anyone
    /// distributed: any schedule of distributions over any sequence of
    /// credits ends with `floor(total × bps / 10,000)` for each, and the
    /// split never pays out more than it received.
    #[test]
    fn rounding_is_independent_of_distribution_frequency(
        credits in prop::collection::vec((0u64..1_000_000_000, any::<bool>()), 1..40),
        raw in prop::collection::vec(1u16..1_000, 1..32),
    ) {
        // shares summing to 10,000
        let total: u64 = raw.iter().map(|b| u64::from(*b)).sum();
        let mut bps: Vec<u16> = raw.iter().map(|b| (u64::from(*b) * 10_000 / total) as u16).collect();
        let short = 10_000 - bps.iter().map(|b| u64::from(*b)).sum::<u64>();
        bps[0] += short as u16;
        prop_assume!(bps.iter().all(|b| *b > 0));
        let mut received = 0u64;
        let mut paid = vec![0u64; bps.len()];
        let distribute = |received: u64, paid: &mut Vec<u64>| {
            for (p, b) in paid.iter_mut().zip(&bps) {
                let owed = micropay::math::split_share(received, *b).unwrap();
                prop_assert!(owed >= *p, "a share never shrinks");
                *p = owed;
            }
            prop_assert!(paid.iter().sum::<u64>() <= received);
            Ok(())
        };
        for (credit, now) in &credits {
            received += credit;
            if *now {
                distribute(received, &mut paid)?;
            }
        }
        distribute(received, &mut paid)?;
        for (p, b) in paid.iter().zip(&bps) {
            prop_assert_eq!(*p, received * u64::from(*b) / 10_000);
        }
    }
}
