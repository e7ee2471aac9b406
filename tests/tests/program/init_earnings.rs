use micropay_sdk::{events::MicropayEvent, instructions as mix, pda};
use micropay_tests::*;
use solana_sdk::signature::{Keypair, Signer};

#[tokio::test]
async fn anyone_creates_earnings_for_a_creator() {
    let mut t = TestContext::new().await;
    let mint = t.spl_mint().await;
    let creator = Keypair::new().pubkey();
    let relayer = t.wallet(1_000_000_000).await;
    let ix = mix::InitEarnings {
        payer: relayer.pubkey(),
        owner: creator,
        mint: mint.address,
    }
    .instruction();
    let events = t.send_events(&[ix], &[&relayer]).await.unwrap();
    let address = pda::earnings(&creator, &mint.address).0;
    t.track_earnings(address);
    assert!(
        matches!(&events[..], [MicropayEvent::EarningsInitialized(e)] if e.earnings == address && e.owner == creator)
    );
    let earnings = t.earnings(address).await.unwrap();
    assert_eq!(
        (earnings.owner, earnings.mint, earnings.balance),
        (creator, mint.address, 0)
    );

    // a second time is refused, nothing changes
    let ix = mix::InitEarnings {
        payer: relayer.pubkey(),
        owner: creator,
        mint: mint.address,
    }
    .instruction();
    assert_error(
        t.send(&[ix], &[&relayer]).await,
        MicropayError::AlreadyInitialized,
    );
    t.assert_invariants().await;
}

#[tokio::test]
async fn earnings_need_a_real_mint() {
    let mut t = TestContext::new().await;
    let creator = Keypair::new().pubkey();
    let not_a_mint = t.wallet(1_000_000).await.pubkey();
    let ix = mix::InitEarnings {
        payer: t.payer().pubkey(),
        owner: creator,
        mint: not_a_mint,
    }
    .instruction();
    assert_anchor_error(
        t.send(&[ix], &[]).await,
        anchor_lang::error::ErrorCode::AccountOwnedByWrongProgram,
    );
    t.assert_invariants().await;
}
