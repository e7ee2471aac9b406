use micropay_client::{events::MicropayEvent, instructions as mix};
use micropay_tests::*;
use solana_sdk::signature::Signer;

#[tokio::test]
async fn deposit_credits_escrow_and_vault() {
    let mut t = TestContext::new().await;
    let mint = t.spl_mint().await;
    let p = t.payer_with_escrow(&mint, 1_000, 0).await;
    let events = t
        .send_events(
            &[mix::deposit(&p.owner.pubkey(), &p.escrow, &mint.address, &p.token_account, &mint.token_program, 1_000)],
            &[&p.owner],
        )
        .await
        .unwrap();
    assert!(matches!(&events[..], [MicropayEvent::Deposited(d)] if d.amount == 1_000 && d.balance == 1_000));
    assert_eq!(t.escrow(p.escrow).await.unwrap().balance, 1_000);
    assert_eq!(t.token_balance(p.token_account).await, 0);
    t.assert_invariants().await;
}
