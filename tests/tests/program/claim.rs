use micropay_tests::*;

#[tokio::test]
async fn claim_settles_one_voucher() {
    let mut t = TestContext::new().await;
    let mint = t.spl_mint().await;
    let p = t.payer_with_escrow(&mint, 1_000_000, 1_000_000).await;
    let c = t.creator(&mint).await;
    let ch = t.open_channel(&p, &c, 500_000, ChannelOpts::default()).await;
    let events = t.claim(&[ch.voucher(1_234)]).await.unwrap();
    let claimed = claimed_event(&events);
    assert_eq!(claimed.settled.len(), 1);
    assert_eq!(claimed.settled[0].delta, 1_234);
    assert_eq!(t.earnings(c.earnings).await.unwrap().balance, 1_234);
    assert_eq!(t.channel(ch.address).await.unwrap().claimed, 1_234);
    t.assert_invariants().await;
}
