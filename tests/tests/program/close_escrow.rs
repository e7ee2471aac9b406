use micropay_sdk::{events::MicropayEvent, instructions as mix, pda};
use micropay_tests::*;
use solana_sdk::signature::Signer;

#[tokio::test]
async fn close_escrow_needs_no_open_channel_and_sweeps_the_balance() {
    let mut t = TestContext::new().await;
    let mint = t.spl_mint().await;
    let p = t.payer_with_escrow(&mint, 1_000, 1_000).await;
    let c = t.creator(&mint).await;
    let ch = t.open_channel(&p, &c, 400, ChannelOpts::default()).await;
    t.next_slot().await;
    let close = mix::CloseEscrow {
        owner: p.owner.pubkey(),
        mint: mint.address,
        destination: p.token_account,
        token_program: mint.token_program,
    }
    .instruction();
    assert_error(
        t.send(std::slice::from_ref(&close), &[&p.owner]).await,
        MicropayError::EscrowHasOpenChannels,
    );

    let ix = mix::CreatorClose {
        creator: c.wallet.pubkey(),
        escrow: p.escrow,
        channel: ch.address,
        owner: p.owner.pubkey(),
    }
    .instruction();
    t.send(&[ix], &[&c.wallet]).await.unwrap();

    // someone else cannot close it
    let mallory = t.wallet(1_000_000_000).await;
    let loot = t.token_account(&mint, &mallory.pubkey()).await;
    let mut ix = mix::CloseEscrow {
        owner: mallory.pubkey(),
        mint: mint.address,
        destination: loot,
        token_program: mint.token_program,
    }
    .instruction();
    ix.accounts[1].pubkey = p.escrow;
    assert_error(
        t.send(&[ix], &[&mallory]).await,
        MicropayError::NotEscrowOwner,
    );

    // a stranger's 1-unit deposit does not keep it open: the close sweeps it
    let stranger = t.wallet(1_000_000_000).await;
    let stranger_tokens = t.token_account(&mint, &stranger.pubkey()).await;
    t.fund_token_account(&mint, &stranger_tokens, 1).await;
    let ix = mix::Deposit {
        depositor: stranger.pubkey(),
        escrow: p.escrow,
        mint: mint.address,
        source: stranger_tokens,
        token_program: mint.token_program,
        amount: 1,
    }
    .instruction();
    t.send(&[ix], &[&stranger]).await.unwrap();
    assert_eq!(t.escrow(p.escrow).await.unwrap().balance, 1_001);

    let lamports = t.lamports(p.owner.pubkey()).await;
    let rent = t.lamports(p.escrow).await;
    let events = t.send_events(&[close], &[&p.owner]).await.unwrap();
    assert!(
        matches!(&events[..], [MicropayEvent::EscrowClosed(e)]
            if e.escrow == p.escrow && e.swept == 1_001 && e.destination == p.token_account),
        "{events:?}"
    );
    assert!(t.escrow(p.escrow).await.is_none());
    // the fee payer is the fixture's payer, so the owner gets the whole rent
    assert_eq!(t.lamports(p.owner.pubkey()).await, lamports + rent);
    assert_eq!(t.token_balance(p.token_account).await, 1_001);
    assert_eq!(t.token_balance(loot).await, 0);
    t.assert_invariants().await;
}

#[tokio::test]
async fn an_empty_escrow_closes_and_sweeps_nothing() {
    let mut t = TestContext::new().await;
    let mint = t.spl_mint().await;
    let p = t.payer_with_escrow(&mint, 1_000, 0).await;
    t.next_slot().await;
    let close = mix::CloseEscrow {
        owner: p.owner.pubkey(),
        mint: mint.address,
        destination: p.token_account,
        token_program: mint.token_program,
    }
    .instruction();
    let events = t.send_events(&[close], &[&p.owner]).await.unwrap();
    assert!(matches!(&events[..], [MicropayEvent::EscrowClosed(e)] if e.swept == 0));
    assert_eq!(t.token_balance(p.token_account).await, 1_000);
    t.assert_invariants().await;
}

#[tokio::test]
async fn close_escrow_rejections() {
    let mut t = TestContext::new().await;
    let mint = t.spl_mint().await;
    let p = t.payer_with_escrow(&mint, 1_000, 1_000).await;

    // not in the slot the escrow was created in (keeps generations unique)
    let close = mix::CloseEscrow {
        owner: p.owner.pubkey(),
        mint: mint.address,
        destination: p.token_account,
        token_program: mint.token_program,
    }
    .instruction();
    assert_error(
        t.send(std::slice::from_ref(&close), &[&p.owner]).await,
        MicropayError::EscrowCreatedThisSlot,
    );
    t.next_slot().await;

    // the sweep may not pay the vault itself
    let vault = pda::vault(&mint.address).0;
    let ix = mix::CloseEscrow {
        owner: p.owner.pubkey(),
        mint: mint.address,
        destination: vault,
        token_program: mint.token_program,
    }
    .instruction();
    assert_error(
        t.send(&[ix], &[&p.owner]).await,
        MicropayError::InvalidVault,
    );
    // nor a token account of another mint
    let other = t.spl_mint().await;
    let wrong = t.token_account(&other, &p.owner.pubkey()).await;
    let ix = mix::CloseEscrow {
        owner: p.owner.pubkey(),
        mint: mint.address,
        destination: wrong,
        token_program: mint.token_program,
    }
    .instruction();
    assert_anchor_error(
        t.send(&[ix], &[&p.owner]).await,
        anchor_lang::error::ErrorCode::ConstraintTokenMint,
    );
    assert_eq!(t.escrow(p.escrow).await.unwrap().balance, 1_000);

    t.send(&[close], &[&p.owner]).await.unwrap();
    t.assert_invariants().await;
}
