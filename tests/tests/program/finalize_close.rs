use micropay_sdk::{events::MicropayEvent, instructions as mix};
use micropay_tests::*;
use solana_sdk::signature::Signer;

#[tokio::test]
async fn finalize_at_window_edge() {
    let mut t = TestContext::new().await;
    let mint = t.spl_mint().await;
    let p = t.payer_with_escrow(&mint, 1_000, 1_000).await;
    let c = t.creator(&mint).await;
    let ch = t
        .open_channel(
            &p,
            &c,
            800,
            ChannelOpts {
                dispute_window_secs: Some(600),
                ..Default::default()
            },
        )
        .await;
    t.claim(&[ch.voucher(300)]).await.unwrap();
    let ix = mix::RequestClose {
        owner: p.owner.pubkey(),
        escrow: p.escrow,
        channel: ch.address,
    }
    .instruction();
    t.send(&[ix], &[&p.owner]).await.unwrap();
    let requested = t.channel(ch.address).await.unwrap().close_requested_at;

    // one second before the window ends
    t.set_time(requested + 599).await;
    let ix = mix::FinalizeClose {
        escrow: p.escrow,
        channel: ch.address,
        owner: p.owner.pubkey(),
    }
    .instruction();
    assert_error(
        t.send(std::slice::from_ref(&ix), &[]).await,
        MicropayError::DisputeWindowOpen,
    );

    // the creator claims its last voucher inside the window
    t.claim(&[ch.voucher(450)]).await.unwrap();

    // exactly at the end: anyone finalizes
    t.set_time(requested + 600).await;
    let owner_lamports = t.lamports(p.owner.pubkey()).await;
    let channel_rent = t.lamports(ch.address).await;
    let events = t.send_events(&[ix], &[]).await.unwrap();
    let MicropayEvent::ChannelClosed(e) = &events[0] else {
        panic!("{events:?}")
    };
    assert_eq!(
        (e.refund, e.claimed, e.escrow_balance, e.by_creator),
        (350, 450, 550, false)
    );
    assert!(t.channel(ch.address).await.is_none());
    assert_eq!(
        t.lamports(p.owner.pubkey()).await,
        owner_lamports + channel_rent
    );
    let escrow = t.escrow(p.escrow).await.unwrap();
    assert_eq!((escrow.balance, escrow.open_channels), (550, 0));
    assert_eq!(t.earnings(c.earnings).await.unwrap().balance, 450);

    // a closed channel pays nothing more: its voucher is skipped, not fatal
    let events = t.claim(&[ch.voucher(800)]).await.unwrap();
    let claimed = claimed_event(&events);
    assert!(claimed.settled.is_empty());
    assert_eq!(
        claimed.skipped[0].reason,
        micropay::events::SkipReason::ChannelClosed
    );
    assert_eq!(t.earnings(c.earnings).await.unwrap().balance, 450);
    t.assert_invariants().await;
}

#[tokio::test]
async fn expired_channel_closes_at_once_without_request() {
    let mut t = TestContext::new().await;
    let mint = t.spl_mint().await;
    let p = t.payer_with_escrow(&mint, 1_000, 1_000).await;
    let c = t.creator(&mint).await;
    let now = t.now().await;
    let ch = t
        .open_channel(
            &p,
            &c,
            800,
            ChannelOpts {
                expires_at: now + 100,
                ..Default::default()
            },
        )
        .await;
    let ix = mix::FinalizeClose {
        escrow: p.escrow,
        channel: ch.address,
        owner: p.owner.pubkey(),
    }
    .instruction();
    t.set_time(now + 99).await;
    assert_error(
        t.send(std::slice::from_ref(&ix), &[]).await,
        MicropayError::CloseNotRequested,
    );
    t.set_time(now + 100).await;
    t.send(&[ix], &[]).await.unwrap();
    assert_eq!(t.escrow(p.escrow).await.unwrap().balance, 1_000);
    t.assert_invariants().await;
}

#[tokio::test]
async fn rent_goes_only_to_the_escrow_owner() {
    let mut t = TestContext::new().await;
    let mint = t.spl_mint().await;
    let p = t.payer_with_escrow(&mint, 1_000, 1_000).await;
    let c = t.creator(&mint).await;
    let ch = t.open_channel(&p, &c, 800, ChannelOpts::default()).await;
    let ix = mix::RequestClose {
        owner: p.owner.pubkey(),
        escrow: p.escrow,
        channel: ch.address,
    }
    .instruction();
    t.send(&[ix], &[&p.owner]).await.unwrap();
    t.advance_time(3_600).await;
    let ix = mix::FinalizeClose {
        escrow: p.escrow,
        channel: ch.address,
        owner: c.wallet.pubkey(),
    }
    .instruction();
    assert_error(
        t.send(&[ix], &[]).await,
        MicropayError::RentReceiverMismatch,
    );
    assert!(t.channel(ch.address).await.is_some());
    t.assert_invariants().await;
}
