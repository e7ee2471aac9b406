use micropay::events::SkipReason;
use micropay_sdk::{events::MicropayEvent, instructions as mix};
use micropay_tests::*;
use solana_sdk::signature::Signer;

#[tokio::test]
async fn owner_closes_empty_earnings_and_anyone_recreates_them() {
    let mut t = TestContext::new().await;
    let mint = t.spl_mint().await;
    let p = t.payer_with_escrow(&mint, 10_000, 10_000).await;
    let c = t.creator(&mint).await;
    let ch = t.open_channel(&p, &c, 5_000, ChannelOpts::default()).await;
    t.claim(&[ch.voucher(1_000)]).await.unwrap();

    let sponsor = t.payer().pubkey();
    assert_eq!(t.earnings(c.earnings).await.unwrap().rent_payer, sponsor);
    let close = mix::CloseEarnings {
        owner: c.wallet.pubkey(),
        mint: mint.address,
        rent_payer: sponsor,
    }
    .instruction();
    assert_error(
        t.send(std::slice::from_ref(&close), &[&c.wallet]).await,
        MicropayError::EarningsNotEmpty,
    );
    let dest = t.token_account(&mint, &c.wallet.pubkey()).await;
    let ix = mix::WithdrawEarnings {
        owner: c.wallet.pubkey(),
        mint: mint.address,
        destination: dest,
        token_program: mint.token_program,
        amount: 1_000,
    }
    .instruction();
    t.send(&[ix], &[&c.wallet]).await.unwrap();

    let (owner_before, sponsor_before) = (
        t.lamports(c.wallet.pubkey()).await,
        t.lamports(sponsor).await,
    );
    let rent = t.lamports(c.earnings).await;
    let events = t.send_events(&[close], &[&c.wallet]).await.unwrap();
    assert!(
        matches!(&events[..], [MicropayEvent::EarningsClosed(e)]
            if e.earnings == c.earnings && e.total_earned == 1_000),
        "{events:?}"
    );
    assert!(t.earnings(c.earnings).await.is_none());
    // the rent goes back to who paid it (the sponsor also paid the fee of
    // two signatures), not to the owner
    assert_eq!(t.lamports(c.wallet.pubkey()).await, owner_before);
    assert_eq!(t.lamports(sponsor).await, sponsor_before + rent - 10_000);

    // while it is gone a claim settles nothing for the channel, and fails nothing
    let events = t.claim(&[ch.voucher(2_000)]).await.unwrap();
    let claimed = claimed_event(&events);
    assert!(claimed.settled.is_empty());
    assert_eq!(claimed.skipped[0].reason, SkipReason::EarningsMissing);
    assert_eq!(claimed.skipped[0].claimed, 1_000);
    assert_eq!(t.channel(ch.address).await.unwrap().claimed, 1_000);

    // anyone re-creates it; the same voucher then settles
    t.init_earnings(&c.wallet.pubkey(), &mint).await;
    let events = t.claim(&[ch.voucher(2_000)]).await.unwrap();
    assert_eq!(claimed_event(&events).settled[0].delta, 1_000);
    let earnings = t.earnings(c.earnings).await.unwrap();
    assert_eq!((earnings.balance, earnings.total_earned), (1_000, 1_000));
    t.assert_invariants().await;
}

#[tokio::test]
async fn only_the_owner_closes_earnings() {
    let mut t = TestContext::new().await;
    let mint = t.spl_mint().await;
    let c = t.creator(&mint).await;
    let mallory = t.wallet(1_000_000_000).await;
    let mut ix = mix::CloseEarnings {
        owner: mallory.pubkey(),
        mint: mint.address,
        rent_payer: t.payer().pubkey(),
    }
    .instruction();
    ix.accounts[1].pubkey = c.earnings;
    assert_error(
        t.send(&[ix], &[&mallory]).await,
        MicropayError::NotEarningsOwner,
    );
    assert!(t.earnings(c.earnings).await.is_some());
    t.assert_invariants().await;
}

/// Issue 25: a fee recipient that closes its empty earnings account again
/// and again, so that the creator pays rent to re-create it before each
/// claim, gains nothing: the rent goes back to the creator who paid it,
/// and each close costs the griefer its fee. Naming another account for the
/// rent is refused.
#[tokio::test]
async fn closing_earnings_someone_else_paid_for_earns_the_closer_nothing() {
    let mut t = TestContext::new().await;
    let mint = t.spl_mint().await;
    let creator = t.wallet(1_000_000_000).await;
    let griefer = t.wallet(1_000_000_000).await;
    let recreate = |payer: &solana_sdk::signature::Keypair| {
        mix::InitEarnings {
            payer: payer.pubkey(),
            owner: griefer.pubkey(),
            mint: mint.address,
        }
        .instruction()
    };
    let earnings = micropay_sdk::pda::earnings(&griefer.pubkey(), &mint.address).0;
    t.send(&[recreate(&creator)], &[&creator]).await.unwrap();
    assert_eq!(
        t.earnings(earnings).await.unwrap().rent_payer,
        creator.pubkey()
    );
    let rent = t.lamports(earnings).await;

    // the rent cannot be sent elsewhere
    let to_self = mix::CloseEarnings {
        owner: griefer.pubkey(),
        mint: mint.address,
        rent_payer: griefer.pubkey(),
    }
    .instruction();
    assert_error(
        t.send(&[to_self], &[&griefer]).await,
        MicropayError::RentPayerMismatch,
    );
    assert!(t.earnings(earnings).await.is_some());

    for _ in 0..3 {
        let (creator_before, griefer_before) = (
            t.lamports(creator.pubkey()).await,
            t.lamports(griefer.pubkey()).await,
        );
        let close = mix::CloseEarnings {
            owner: griefer.pubkey(),
            mint: mint.address,
            rent_payer: creator.pubkey(),
        }
        .instruction();
        t.send(&[close], &[&griefer]).await.unwrap();
        assert!(t.earnings(earnings).await.is_none());
        // the creator got its rent back; the griefer got nothing (the
        // transaction's fee payer is the test's, so its balance is unchanged)
        assert_eq!(t.lamports(creator.pubkey()).await, creator_before + rent);
        assert_eq!(t.lamports(griefer.pubkey()).await, griefer_before);
        // the creator re-creates it, paying the same rent again
        t.send(&[recreate(&creator)], &[&creator]).await.unwrap();
    }
    t.assert_invariants().await;
}
