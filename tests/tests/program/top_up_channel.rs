use micropay_client::{events::MicropayEvent, instructions as mix};
use micropay_tests::*;
use solana_sdk::signature::Signer;

#[tokio::test]
async fn top_up_moves_balance_into_allocation() {
    let mut t = TestContext::new().await;
    let mint = t.spl_mint().await;
    let p = t.payer_with_escrow(&mint, 1_000, 1_000).await;
    let c = t.creator(&mint).await;
    let ch = t.open_channel(&p, &c, 400, ChannelOpts::default()).await;
    // exactly the remaining balance
    let ix = mix::top_up_channel(&p.owner.pubkey(), &p.escrow, &ch.address, 600);
    let events = t.send_events(&[ix], &[&p.owner]).await.unwrap();
    assert!(
        matches!(&events[..], [MicropayEvent::ChannelToppedUp(e)] if e.allocation == 1_000 && e.escrow_balance == 0)
    );
    // the old vouchers keep working up to the new allocation
    t.claim(&[ch.voucher(900)]).await.unwrap();
    assert_eq!(t.earnings(c.earnings).await.unwrap().balance, 900);
    t.assert_invariants().await;
}

#[tokio::test]
async fn top_up_rejections() {
    let mut t = TestContext::new().await;
    let mint = t.spl_mint().await;
    let p = t.payer_with_escrow(&mint, 1_000, 1_000).await;
    let q = t.payer_with_escrow(&mint, 1_000, 1_000).await;
    let c = t.creator(&mint).await;
    let ch = t.open_channel(&p, &c, 400, ChannelOpts::default()).await;
    let q_ch = t.open_channel(&q, &c, 400, ChannelOpts::default()).await;

    let ix = mix::top_up_channel(&p.owner.pubkey(), &p.escrow, &ch.address, 0);
    assert_error(t.send(&[ix], &[&p.owner]).await, MicropayError::ZeroAmount);
    let ix = mix::top_up_channel(&p.owner.pubkey(), &p.escrow, &ch.address, 601);
    assert_error(
        t.send(&[ix], &[&p.owner]).await,
        MicropayError::InsufficientBalance,
    );
    // p's escrow funding q's channel
    let ix = mix::top_up_channel(&p.owner.pubkey(), &p.escrow, &q_ch.address, 10);
    assert_error(
        t.send(&[ix], &[&p.owner]).await,
        MicropayError::ChannelEscrowMismatch,
    );
    // q signing for p's escrow
    let ix = mix::top_up_channel(&q.owner.pubkey(), &p.escrow, &ch.address, 10);
    assert_error(
        t.send(&[ix], &[&q.owner]).await,
        MicropayError::NotEscrowOwner,
    );
    // after a close request
    let ix = mix::request_close(&p.owner.pubkey(), &p.escrow, &ch.address);
    t.send(&[ix], &[&p.owner]).await.unwrap();
    let ix = mix::top_up_channel(&p.owner.pubkey(), &p.escrow, &ch.address, 10);
    assert_error(
        t.send(&[ix], &[&p.owner]).await,
        MicropayError::ChannelClosing,
    );
    t.assert_invariants().await;
}
