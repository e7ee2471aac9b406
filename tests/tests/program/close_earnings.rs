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

    let close = mix::CloseEarnings {
        owner: c.wallet.pubkey(),
        mint: mint.address,
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

    let lamports = t.lamports(c.wallet.pubkey()).await;
    let rent = t.lamports(c.earnings).await;
    let events = t.send_events(&[close], &[&c.wallet]).await.unwrap();
    assert!(
        matches!(&events[..], [MicropayEvent::EarningsClosed(e)]
            if e.earnings == c.earnings && e.total_earned == 1_000),
        "{events:?}"
    );
    assert!(t.earnings(c.earnings).await.is_none());
    assert_eq!(t.lamports(c.wallet.pubkey()).await, lamports + rent);

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
