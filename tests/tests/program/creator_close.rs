use micropay_sdk::{events::MicropayEvent, instructions as mix};
use micropay_tests::*;
use solana_sdk::signature::Signer;

#[tokio::test]
async fn creator_claims_then_closes_at_once() {
    let mut t = TestContext::new().await;
    let mint = t.spl_mint().await;
    let p = t.payer_with_escrow(&mint, 1_000, 1_000).await;
    let c = t.creator(&mint).await;
    let ch = t.open_channel(&p, &c, 800, ChannelOpts::default()).await;
    let claim = mix::claim(&[ch.voucher(200)]);
    let close = mix::CreatorClose {
        creator: c.wallet.pubkey(),
        escrow: p.escrow,
        channel: ch.address,
        owner: p.owner.pubkey(),
    }
    .instruction();
    let events = t.send_events(&[claim, close], &[&c.wallet]).await.unwrap();
    assert!(events.iter().any(|e| matches!(e, MicropayEvent::ChannelClosed(c) if c.by_creator && c.refund == 600 && c.claimed == 200)));
    assert!(t.channel(ch.address).await.is_none());
    let escrow = t.escrow(p.escrow).await.unwrap();
    assert_eq!((escrow.balance, escrow.open_channels), (800, 0));
    t.assert_invariants().await;
}

#[tokio::test]
async fn creator_close_rejections() {
    let mut t = TestContext::new().await;
    let mint = t.spl_mint().await;
    let p = t.payer_with_escrow(&mint, 1_000, 1_000).await;
    let q = t.payer_with_escrow(&mint, 1_000, 1_000).await;
    let c = t.creator(&mint).await;
    let ch = t.open_channel(&p, &c, 800, ChannelOpts::default()).await;
    // the payer is not the creator
    let ix = mix::CreatorClose {
        creator: p.owner.pubkey(),
        escrow: p.escrow,
        channel: ch.address,
        owner: p.owner.pubkey(),
    }
    .instruction();
    assert_error(
        t.send(&[ix], &[&p.owner]).await,
        MicropayError::NotChannelCreator,
    );
    // refund into another escrow
    let ix = mix::CreatorClose {
        creator: c.wallet.pubkey(),
        escrow: q.escrow,
        channel: ch.address,
        owner: q.owner.pubkey(),
    }
    .instruction();
    assert_error(
        t.send(&[ix], &[&c.wallet]).await,
        MicropayError::ChannelEscrowMismatch,
    );
    // rent to the creator instead of the owner
    let ix = mix::CreatorClose {
        creator: c.wallet.pubkey(),
        escrow: p.escrow,
        channel: ch.address,
        owner: c.wallet.pubkey(),
    }
    .instruction();
    assert_error(
        t.send(&[ix], &[&c.wallet]).await,
        MicropayError::RentReceiverMismatch,
    );
    t.assert_invariants().await;
}
