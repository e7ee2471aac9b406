use micropay_sdk::{events::MicropayEvent, instructions as mix};
use micropay_tests::*;
use solana_sdk::signature::Signer;

#[tokio::test]
async fn request_close_starts_the_window() {
    let mut t = TestContext::new().await;
    let mint = t.spl_mint().await;
    let p = t.payer_with_escrow(&mint, 1_000, 1_000).await;
    let c = t.creator(&mint).await;
    let ch = t
        .open_channel(
            &p,
            &c,
            500,
            ChannelOpts {
                dispute_window_secs: Some(600),
                ..Default::default()
            },
        )
        .await;
    let now = t.now().await;
    let ix = mix::RequestClose {
        owner: p.owner.pubkey(),
        escrow: p.escrow,
        channel: ch.address,
    }
    .instruction();
    let events = t.send_events(&[ix], &[&p.owner]).await.unwrap();
    assert!(
        matches!(&events[..], [MicropayEvent::CloseRequested(e)] if e.requested_at == now && e.closable_at == now + 600)
    );
    assert_eq!(t.channel(ch.address).await.unwrap().close_requested_at, now);

    // twice is refused
    let ix = mix::RequestClose {
        owner: p.owner.pubkey(),
        escrow: p.escrow,
        channel: ch.address,
    }
    .instruction();
    assert_error(
        t.send(&[ix], &[&p.owner]).await,
        MicropayError::ChannelClosing,
    );
    t.assert_invariants().await;
}

#[tokio::test]
async fn request_close_rejections() {
    let mut t = TestContext::new().await;
    let mint = t.spl_mint().await;
    let p = t.payer_with_escrow(&mint, 1_000, 1_000).await;
    let q = t.payer_with_escrow(&mint, 1_000, 1_000).await;
    let c = t.creator(&mint).await;
    let ch = t.open_channel(&p, &c, 500, ChannelOpts::default()).await;
    // q's escrow with p's channel
    let ix = mix::RequestClose {
        owner: q.owner.pubkey(),
        escrow: q.escrow,
        channel: ch.address,
    }
    .instruction();
    assert_error(
        t.send(&[ix], &[&q.owner]).await,
        MicropayError::ChannelEscrowMismatch,
    );
    // the creator cannot request (that is creator_close)
    let ix = mix::RequestClose {
        owner: c.wallet.pubkey(),
        escrow: p.escrow,
        channel: ch.address,
    }
    .instruction();
    assert_error(
        t.send(&[ix], &[&c.wallet]).await,
        MicropayError::NotEscrowOwner,
    );
    assert_eq!(t.channel(ch.address).await.unwrap().close_requested_at, 0);
    t.assert_invariants().await;
}
