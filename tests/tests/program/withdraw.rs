use anchor_lang::error::ErrorCode;
use micropay_sdk::{events::MicropayEvent, instructions as mix};
use micropay_tests::*;
use solana_sdk::signature::Signer;

#[tokio::test]
async fn withdraw_part_then_exact_rest() {
    let mut t = TestContext::new().await;
    let mint = t.spl_mint().await;
    let p = t.payer_with_escrow(&mint, 1_000, 1_000).await;
    let ix = mix::Withdraw {
        owner: p.owner.pubkey(),
        mint: mint.address,
        destination: p.token_account,
        token_program: mint.token_program,
        amount: 400,
    }
    .instruction();
    let events = t.send_events(&[ix], &[&p.owner]).await.unwrap();
    assert!(
        matches!(&events[..], [MicropayEvent::Withdrawn(w)] if w.amount == 400 && w.balance == 600)
    );
    assert_eq!(t.token_balance(p.token_account).await, 400);
    // exactly the remaining balance
    let ix = mix::Withdraw {
        owner: p.owner.pubkey(),
        mint: mint.address,
        destination: p.token_account,
        token_program: mint.token_program,
        amount: 600,
    }
    .instruction();
    t.send(&[ix], &[&p.owner]).await.unwrap();
    assert_eq!(t.escrow(p.escrow).await.unwrap().balance, 0);
    assert_eq!(t.token_balance(p.token_account).await, 1_000);
    t.assert_invariants().await;
}

#[tokio::test]
async fn withdraw_to_any_token_account_of_the_mint() {
    let mut t = TestContext::new().await;
    let mint = t.spl_mint().await;
    let p = t.payer_with_escrow(&mint, 1_000, 1_000).await;
    let friend = t.wallet(1_000_000).await;
    let dest = t.token_account(&mint, &friend.pubkey()).await;
    let ix = mix::Withdraw {
        owner: p.owner.pubkey(),
        mint: mint.address,
        destination: dest,
        token_program: mint.token_program,
        amount: 10,
    }
    .instruction();
    t.send(&[ix], &[&p.owner]).await.unwrap();
    assert_eq!(t.token_balance(dest).await, 10);
    t.assert_invariants().await;
}

#[tokio::test]
async fn withdraw_rejections() {
    let mut t = TestContext::new().await;
    let mint = t.spl_mint().await;
    let p = t.payer_with_escrow(&mint, 1_000, 1_000).await;
    let ix = mix::Withdraw {
        owner: p.owner.pubkey(),
        mint: mint.address,
        destination: p.token_account,
        token_program: mint.token_program,
        amount: 0,
    }
    .instruction();
    assert_error(t.send(&[ix], &[&p.owner]).await, MicropayError::ZeroAmount);
    let ix = mix::Withdraw {
        owner: p.owner.pubkey(),
        mint: mint.address,
        destination: p.token_account,
        token_program: mint.token_program,
        amount: 1_001,
    }
    .instruction();
    assert_error(
        t.send(&[ix], &[&p.owner]).await,
        MicropayError::InsufficientBalance,
    );

    // someone else signing for this escrow
    let mallory = t.wallet(1_000_000_000).await;
    let mut ix = mix::Withdraw {
        owner: mallory.pubkey(),
        mint: mint.address,
        destination: p.token_account,
        token_program: mint.token_program,
        amount: 1,
    }
    .instruction();
    ix.accounts[1].pubkey = p.escrow;
    assert_error(
        t.send(&[ix], &[&mallory]).await,
        MicropayError::NotEscrowOwner,
    );

    // a destination of another mint
    let other = t.spl_mint().await;
    let wrong = t.token_account(&other, &p.owner.pubkey()).await;
    let ix = mix::Withdraw {
        owner: p.owner.pubkey(),
        mint: mint.address,
        destination: wrong,
        token_program: mint.token_program,
        amount: 1,
    }
    .instruction();
    assert_anchor_error(
        t.send(&[ix], &[&p.owner]).await,
        ErrorCode::ConstraintTokenMint,
    );
    // the vault itself as destination is named as such (not Anchor's
    // duplicate-account error)
    let vault = micropay_sdk::pda::vault(&mint.address).0;
    let ix = mix::Withdraw {
        owner: p.owner.pubkey(),
        mint: mint.address,
        destination: vault,
        token_program: mint.token_program,
        amount: 1,
    }
    .instruction();
    assert_error(
        t.send(&[ix], &[&p.owner]).await,
        MicropayError::InvalidVault,
    );
    assert_eq!(t.escrow(p.escrow).await.unwrap().balance, 1_000);
    t.assert_invariants().await;
}
