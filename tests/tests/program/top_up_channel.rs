use micropay_sdk::{events::MicropayEvent, instructions as mix};
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
    let ix = mix::TopUpChannel {
        owner: p.owner.pubkey(),
        escrow: p.escrow,
        channel: ch.address,
        amount: 600,
    }
    .instruction();
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

    let ix = mix::TopUpChannel {
        owner: p.owner.pubkey(),
        escrow: p.escrow,
        channel: ch.address,
        amount: 0,
    }
    .instruction();
    assert_error(t.send(&[ix], &[&p.owner]).await, MicropayError::ZeroAmount);
    let ix = mix::TopUpChannel {
        owner: p.owner.pubkey(),
        escrow: p.escrow,
        channel: ch.address,
        amount: 601,
    }
    .instruction();
    assert_error(
        t.send(&[ix], &[&p.owner]).await,
        MicropayError::InsufficientBalance,
    );
    // p's escrow funding q's channel
    let ix = mix::TopUpChannel {
        owner: p.owner.pubkey(),
        escrow: p.escrow,
        channel: q_ch.address,
        amount: 10,
    }
    .instruction();
    assert_error(
        t.send(&[ix], &[&p.owner]).await,
        MicropayError::ChannelEscrowMismatch,
    );
    // q signing for p's escrow
    let ix = mix::TopUpChannel {
        owner: q.owner.pubkey(),
        escrow: p.escrow,
        channel: ch.address,
        amount: 10,
    }
    .instruction();
    assert_error(
        t.send(&[ix], &[&q.owner]).await,
        MicropayError::NotEscrowOwner,
    );
    // after a close request
    let ix = mix::RequestClose {
        owner: p.owner.pubkey(),
        escrow: p.escrow,
        channel: ch.address,
    }
    .instruction();
    t.send(&[ix], &[&p.owner]).await.unwrap();
    let ix = mix::TopUpChannel {
        owner: p.owner.pubkey(),
        escrow: p.escrow,
        channel: ch.address,
        amount: 10,
    }
    .instruction();
    assert_error(
        t.send(&[ix], &[&p.owner]).await,
        MicropayError::ChannelClosing,
    );
    t.assert_invariants().await;
}
