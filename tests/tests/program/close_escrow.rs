use micropay_client::{events::MicropayEvent, instructions as mix};
use micropay_tests::*;
use solana_sdk::signature::Signer;

#[tokio::test]
async fn close_escrow_needs_no_channels_and_no_balance() {
    let mut t = TestContext::new().await;
    let mint = t.spl_mint().await;
    let p = t.payer_with_escrow(&mint, 1_000, 1_000).await;
    let c = t.creator(&mint).await;
    let ch = t.open_channel(&p, &c, 400, ChannelOpts::default()).await;
    let close = mix::close_escrow(&p.owner.pubkey(), &mint.address);
    assert_error(
        t.send(std::slice::from_ref(&close), &[&p.owner]).await,
        MicropayError::EscrowHasOpenChannels,
    );

    let ix = mix::creator_close(
        &c.wallet.pubkey(),
        &p.escrow,
        &ch.address,
        &p.owner.pubkey(),
    );
    t.send(&[ix], &[&c.wallet]).await.unwrap();
    assert_error(
        t.send(std::slice::from_ref(&close), &[&p.owner]).await,
        MicropayError::EscrowNotEmpty,
    );

    // someone else cannot close it
    let mallory = t.wallet(1_000_000_000).await;
    let mut ix = mix::close_escrow(&mallory.pubkey(), &mint.address);
    ix.accounts[1].pubkey = p.escrow;
    assert_error(
        t.send(&[ix], &[&mallory]).await,
        MicropayError::NotEscrowOwner,
    );

    let ix = mix::withdraw(
        &p.owner.pubkey(),
        &mint.address,
        &p.token_account,
        &mint.token_program,
        1_000,
    );
    t.send(&[ix], &[&p.owner]).await.unwrap();
    let lamports = t.lamports(p.owner.pubkey()).await;
    let rent = t.lamports(p.escrow).await;
    let events = t.send_events(&[close], &[&p.owner]).await.unwrap();
    assert!(matches!(&events[..], [MicropayEvent::EscrowClosed(e)] if e.escrow == p.escrow));
    assert!(t.escrow(p.escrow).await.is_none());
    // the fee payer is the fixture's payer, so the owner gets the whole rent
    assert_eq!(t.lamports(p.owner.pubkey()).await, lamports + rent);
    assert_eq!(t.token_balance(p.token_account).await, 1_000);
    t.assert_invariants().await;
}
