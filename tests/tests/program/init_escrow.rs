use micropay_client::{events::MicropayEvent, instructions as mix, pda};
use micropay_tests::*;
use solana_sdk::signature::Signer;

#[tokio::test]
async fn creates_escrow_and_vault_once_per_mint() {
    let mut t = TestContext::new().await;
    let mint = t.spl_mint().await;
    let a = t.wallet(1_000_000_000).await;
    let b = t.wallet(1_000_000_000).await;

    let events = t
        .send_events(&[mix::init_escrow(&a.pubkey(), &mint.address, &mint.token_program)], &[&a])
        .await
        .unwrap();
    let escrow_a = pda::escrow(&a.pubkey(), &mint.address).0;
    t.track_escrow(escrow_a);
    assert!(matches!(&events[..], [MicropayEvent::EscrowInitialized(e)] if e.vault_created && e.escrow == escrow_a));

    let events = t
        .send_events(&[mix::init_escrow(&b.pubkey(), &mint.address, &mint.token_program)], &[&b])
        .await
        .unwrap();
    assert!(matches!(&events[..], [MicropayEvent::EscrowInitialized(e)] if !e.vault_created));
    t.track_escrow(pda::escrow(&b.pubkey(), &mint.address).0);

    let escrow = t.escrow(escrow_a).await.unwrap();
    assert_eq!(escrow.owner, a.pubkey());
    assert_eq!(escrow.mint, mint.address);
    assert_eq!((escrow.balance, escrow.next_channel_id, escrow.open_channels), (0, 0, 0));
    t.assert_invariants().await;
}
