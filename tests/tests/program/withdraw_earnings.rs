use micropay_sdk::{events::MicropayEvent, instructions as mix};
use micropay_tests::*;
use solana_sdk::signature::Signer;

#[tokio::test]
async fn creator_withdraws_part_then_exact_rest() {
    let mut t = TestContext::new().await;
    let mint = t.spl_mint().await;
    let p = t.payer_with_escrow(&mint, 10_000, 10_000).await;
    let c = t.creator(&mint).await;
    let ch = t.open_channel(&p, &c, 5_000, ChannelOpts::default()).await;
    t.claim(&[ch.voucher(3_000)]).await.unwrap();
    let dest = t.token_account(&mint, &c.wallet.pubkey()).await;

    let ix = mix::WithdrawEarnings {
        owner: c.wallet.pubkey(),
        mint: mint.address,
        destination: dest,
        token_program: mint.token_program,
        amount: 1_000,
    }
    .instruction();
    let events = t.send_events(&[ix], &[&c.wallet]).await.unwrap();
    assert!(
        matches!(&events[..], [MicropayEvent::EarningsWithdrawn(e)] if e.amount == 1_000 && e.balance == 2_000)
    );
    let ix = mix::WithdrawEarnings {
        owner: c.wallet.pubkey(),
        mint: mint.address,
        destination: dest,
        token_program: mint.token_program,
        amount: 2_000,
    }
    .instruction();
    t.send(&[ix], &[&c.wallet]).await.unwrap();
    assert_eq!(t.token_balance(dest).await, 3_000);
    let earnings = t.earnings(c.earnings).await.unwrap();
    assert_eq!((earnings.balance, earnings.total_earned), (0, 3_000));
    t.assert_invariants().await;
}

#[tokio::test]
async fn withdraw_earnings_rejections() {
    let mut t = TestContext::new().await;
    let mint = t.spl_mint().await;
    let other = t.spl_mint().await;
    let p = t.payer_with_escrow(&mint, 10_000, 10_000).await;
    let _q = t.payer_with_escrow(&other, 10_000, 10_000).await; // other's vault holds tokens
    let c = t.creator(&mint).await;
    let ch = t.open_channel(&p, &c, 5_000, ChannelOpts::default()).await;
    t.claim(&[ch.voucher(3_000)]).await.unwrap();
    let dest = t.token_account(&mint, &c.wallet.pubkey()).await;

    let ix = mix::WithdrawEarnings {
        owner: c.wallet.pubkey(),
        mint: mint.address,
        destination: dest,
        token_program: mint.token_program,
        amount: 0,
    }
    .instruction();
    assert_error(t.send(&[ix], &[&c.wallet]).await, MicropayError::ZeroAmount);
    let ix = mix::WithdrawEarnings {
        owner: c.wallet.pubkey(),
        mint: mint.address,
        destination: dest,
        token_program: mint.token_program,
        amount: 3_001,
    }
    .instruction();
    assert_error(
        t.send(&[ix], &[&c.wallet]).await,
        MicropayError::InsufficientBalance,
    );

    // earnings of `mint` paid out of `other`'s vault
    let other_dest = t.token_account(&other, &c.wallet.pubkey()).await;
    let mut ix = mix::WithdrawEarnings {
        owner: c.wallet.pubkey(),
        mint: other.address,
        destination: other_dest,
        token_program: other.token_program,
        amount: 1,
    }
    .instruction();
    ix.accounts[1].pubkey = c.earnings;
    assert_error(
        t.send(&[ix], &[&c.wallet]).await,
        MicropayError::MintMismatch,
    );
    assert_eq!(t.token_balance(other_dest).await, 0);

    // the vault itself as destination is named as such
    let vault = micropay_sdk::pda::vault(&mint.address).0;
    let ix = mix::WithdrawEarnings {
        owner: c.wallet.pubkey(),
        mint: mint.address,
        destination: vault,
        token_program: mint.token_program,
        amount: 1,
    }
    .instruction();
    assert_error(
        t.send(&[ix], &[&c.wallet]).await,
        MicropayError::InvalidVault,
    );
    assert_eq!(t.earnings(c.earnings).await.unwrap().balance, 3_000);
    t.assert_invariants().await;
}
