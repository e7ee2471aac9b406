//! The attacks the program must refuse, each with its exact error, and each
//! leaving balances unchanged (the per-mint invariant is checked after each).

use anchor_lang::error::ErrorCode;
use micropay_sdk::{instructions as mix, pda};
use micropay_tests::*;
use solana_sdk::signature::{Keypair, Signer};

struct World {
    t: TestContext,
    p: PayerFixture,
    c: CreatorFixture,
    ch: ChannelFixture,
    other: ChannelFixture,
}

async fn world() -> World {
    let mut t = TestContext::new().await;
    let mint = t.spl_mint().await;
    let p = t.payer_with_escrow(&mint, 1_000_000, 1_000_000).await;
    let c = t.creator(&mint).await;
    let ch = t
        .open_channel(&p, &c, 100_000, ChannelOpts::default())
        .await;
    let other = t
        .open_channel(&p, &c, 100_000, ChannelOpts::default())
        .await;
    World { t, p, c, ch, other }
}

#[tokio::test]
async fn voucher_replayed_on_another_channel() {
    let World {
        mut t, ch, other, ..
    } = world().await;
    // same session key on both would be needed for a real replay: sign with the
    // other channel's key but for `ch`'s address and present it on `other`
    let mut v = other.voucher(500);
    v.signature = sign_voucher(&other.session, &ch.address, 500);
    assert_error(t.claim(&[v]).await, MicropayError::InvalidVoucherSignature);

    // and with a shared key: a voucher for `a` presented on `b` fails too
    let mint = t.spl_mint().await;
    let p = t.payer_with_escrow(&mint, 10_000, 10_000).await;
    let c = t.creator(&mint).await;
    let key = Keypair::new();
    let a = t
        .open_channel(
            &p,
            &c,
            1_000,
            ChannelOpts {
                session: Some(key.insecure_clone()),
                ..Default::default()
            },
        )
        .await;
    let b = t
        .open_channel(
            &p,
            &c,
            1_000,
            ChannelOpts {
                session: Some(key),
                ..Default::default()
            },
        )
        .await;
    let mut replay = b.voucher(500);
    replay.signature = a.voucher(500).signature;
    assert_error(
        t.claim(&[replay]).await,
        MicropayError::InvalidVoucherSignature,
    );
    assert_eq!(t.channel(b.address).await.unwrap().claimed, 0);
    t.assert_invariants().await;
}

#[tokio::test]
async fn voucher_signed_by_owner_instead_of_session_key() {
    let World { mut t, p, ch, .. } = world().await;
    let mut v = ch.voucher(500);
    v.signature = sign_voucher(&p.owner, &ch.address, 500);
    assert_error(t.claim(&[v]).await, MicropayError::InvalidVoucherSignature);
    t.assert_invariants().await;
}

#[tokio::test]
async fn amount_tampered_after_signing() {
    let World { mut t, ch, c, .. } = world().await;
    let mut v = ch.voucher(500);
    v.amount = 50_000;
    assert_error(t.claim(&[v]).await, MicropayError::InvalidVoucherSignature);
    assert_eq!(t.earnings(c.earnings).await.unwrap().balance, 0);
    t.assert_invariants().await;
}

#[tokio::test]
async fn malleated_signature_s_plus_l() {
    let World { mut t, ch, .. } = world().await;
    let mut v = ch.voucher(500);
    v.signature = malleate(&v.signature);
    assert_error(
        t.claim(&[v]).await,
        MicropayError::SignatureScalarNotCanonical,
    );
    t.assert_invariants().await;
}

#[tokio::test]
async fn second_claim_of_same_voucher_pays_once() {
    let World { mut t, ch, c, .. } = world().await;
    t.claim(&[ch.voucher(700)]).await.unwrap();
    // the identical transaction again (fresh blockhash, so it really executes)
    let events = t.claim(&[ch.voucher(700)]).await.unwrap();
    assert_eq!(claimed_event(&events).skipped.len(), 1);
    assert_eq!(t.earnings(c.earnings).await.unwrap().balance, 700);
    assert_eq!(t.channel(ch.address).await.unwrap().claimed, 700);
    t.assert_invariants().await;
}

#[tokio::test]
async fn claim_crediting_someone_elses_earnings() {
    let World { mut t, p, ch, .. } = world().await;
    let thief = t.creator(&p.mint).await;
    let mut v = ch.voucher(500);
    v.creator_earnings = thief.earnings;
    assert_error(t.claim(&[v]).await, MicropayError::CreatorEarningsMismatch);
    t.assert_invariants().await;
}

#[tokio::test]
async fn claim_crediting_earnings_of_another_mint() {
    let World { mut t, c, ch, .. } = world().await;
    let other_mint = t.spl_mint().await;
    let wrong = t.init_earnings(&c.wallet.pubkey(), &other_mint).await;
    let mut v = ch.voucher(500);
    v.creator_earnings = wrong;
    assert_error(t.claim(&[v]).await, MicropayError::CreatorEarningsMismatch);
    t.assert_invariants().await;
}

#[tokio::test]
async fn withdraw_more_than_balance() {
    let World { mut t, p, .. } = world().await;
    let free = t.escrow(p.escrow).await.unwrap().balance;
    let ix = mix::Withdraw {
        owner: p.owner.pubkey(),
        mint: p.mint.address,
        destination: p.token_account,
        token_program: p.mint.token_program,
        amount: free + 1,
    }
    .instruction();
    assert_error(
        t.send(&[ix], &[&p.owner]).await,
        MicropayError::InsufficientBalance,
    );
    t.assert_invariants().await;
}

#[tokio::test]
async fn channel_closed_by_non_owner() {
    let World { mut t, p, ch, .. } = world().await;
    let mallory = t.wallet(1_000_000_000).await;
    let ix = mix::RequestClose {
        owner: mallory.pubkey(),
        escrow: p.escrow,
        channel: ch.address,
    }
    .instruction();
    assert_error(
        t.send(&[ix], &[&mallory]).await,
        MicropayError::NotEscrowOwner,
    );
    // finalize by anyone only after a request: none was made
    let ix = mix::FinalizeClose {
        escrow: p.escrow,
        channel: ch.address,
        owner: p.owner.pubkey(),
    }
    .instruction();
    assert_error(t.send(&[ix], &[]).await, MicropayError::CloseNotRequested);
    // creator_close by someone who is not the creator
    let ix = mix::CreatorClose {
        creator: mallory.pubkey(),
        escrow: p.escrow,
        channel: ch.address,
        owner: p.owner.pubkey(),
    }
    .instruction();
    assert_error(
        t.send(&[ix], &[&mallory]).await,
        MicropayError::NotChannelCreator,
    );
    assert!(t.channel(ch.address).await.is_some());
    t.assert_invariants().await;
}

#[tokio::test]
async fn earnings_withdrawn_by_non_owner() {
    let World {
        mut t, p, c, ch, ..
    } = world().await;
    t.claim(&[ch.voucher(900)]).await.unwrap();
    let mallory = t.wallet(1_000_000_000).await;
    let loot = t.token_account(&p.mint, &mallory.pubkey()).await;
    // mallory names the creator's earnings account but signs herself
    let mut ix = mix::WithdrawEarnings {
        owner: mallory.pubkey(),
        mint: p.mint.address,
        destination: loot,
        token_program: p.mint.token_program,
        amount: 900,
    }
    .instruction();
    ix.accounts[1].pubkey = c.earnings;
    assert_error(
        t.send(&[ix], &[&mallory]).await,
        MicropayError::NotEarningsOwner,
    );
    // her own (nonexistent) earnings account is no way in either
    let ix = mix::WithdrawEarnings {
        owner: mallory.pubkey(),
        mint: p.mint.address,
        destination: loot,
        token_program: p.mint.token_program,
        amount: 900,
    }
    .instruction();
    assert_anchor_error(
        t.send(&[ix], &[&mallory]).await,
        ErrorCode::AccountNotInitialized,
    );
    assert_eq!(t.token_balance(loot).await, 0);
    assert_eq!(
        t.earnings(pda::earnings(&c.wallet.pubkey(), &p.mint.address).0)
            .await
            .unwrap()
            .balance,
        900
    );
    t.assert_invariants().await;
}

/// Regression: after `close_escrow` + `init_escrow`, channel ids restarted at 0,
/// so a payer re-opening with the same nonce and session key recreated an old
/// channel address and revived its vouchers. The escrow's generation (its
/// creation slot, strictly higher for a re-created escrow) is in the seeds now:
/// the new channel has another address, and old vouchers pay nothing anywhere.
#[tokio::test]
async fn channel_address_is_never_reused_after_escrow_recreation() {
    let mut t = TestContext::new().await;
    let mint = t.spl_mint().await;
    let p = t.payer_with_escrow(&mint, 100_000, 10_000).await;
    let c = t.creator(&mint).await;
    let key = Keypair::new();
    let opts = |key: &Keypair| ChannelOpts {
        session: Some(key.insecure_clone()),
        ..Default::default()
    };
    let old = t.open_channel(&p, &c, 5_000, opts(&key)).await;
    t.claim(&[old.voucher(1_000)]).await.unwrap();
    let old_generation = t.escrow(p.escrow).await.unwrap().generation;
    let ix = mix::CreatorClose {
        creator: c.wallet.pubkey(),
        escrow: p.escrow,
        channel: old.address,
        owner: p.owner.pubkey(),
    }
    .instruction();
    t.send(&[ix], &[&c.wallet]).await.unwrap();
    t.next_slot().await;
    let ix = mix::CloseEscrow {
        owner: p.owner.pubkey(),
        mint: p.mint.address,
        destination: p.token_account,
        token_program: p.mint.token_program,
    }
    .instruction();
    t.send(&[ix], &[&p.owner]).await.unwrap();

    // the same owner and mint again, the same nonce and session key, id 0 again
    let ixs = [
        mix::InitEscrow {
            owner: p.owner.pubkey(),
            mint: p.mint.address,
            token_program: p.mint.token_program,
        }
        .instruction(),
        mix::Deposit {
            depositor: p.owner.pubkey(),
            escrow: p.escrow,
            mint: p.mint.address,
            source: p.token_account,
            token_program: p.mint.token_program,
            amount: 10_000,
        }
        .instruction(),
    ];
    t.send(&ixs, &[&p.owner]).await.unwrap();
    let escrow = t.escrow(p.escrow).await.unwrap();
    assert!(escrow.generation > old_generation);
    assert_eq!(escrow.next_channel_id, 0);
    let mut args = t.channel_args(&c.wallet.pubkey(), &key.pubkey(), 5_000);
    args.nonce = old.nonce;
    let (ix, new_address) = t.open_channel_ix(&p, args).await;
    t.send(&[ix], &[&p.owner]).await.unwrap();
    t.track_channel(new_address);
    assert_ne!(new_address, old.address);

    // the old voucher as it is: its channel is gone, so it pays nothing
    let events = t.claim(&[old.voucher(5_000)]).await.unwrap();
    assert_eq!(
        claimed_event(&events).skipped[0].reason,
        micropay::events::SkipReason::ChannelClosed
    );
    // its signature presented for the new channel does not verify
    let mut replay = old.voucher(5_000);
    replay.channel = new_address;
    assert_error(
        t.claim(&[replay]).await,
        MicropayError::InvalidVoucherSignature,
    );
    assert_eq!(t.channel(new_address).await.unwrap().claimed, 0);
    assert_eq!(t.earnings(c.earnings).await.unwrap().balance, 1_000);
    t.assert_invariants().await;
}

/// Every handler checks the invariants of what it wrote: a corrupted channel
/// (claimed above allocation, which no instruction sequence reaches) cannot be
/// written back by a top-up, and nothing changes.
#[tokio::test]
async fn a_broken_invariant_fails_the_instruction() {
    let World { mut t, p, ch, .. } = world().await;
    let good = t.channel(ch.address).await.unwrap();
    let mut corrupt = good.clone();
    corrupt.claimed = corrupt.allocation + 1_000;
    t.write_state(ch.address, &corrupt).await;
    let ix = mix::TopUpChannel {
        owner: p.owner.pubkey(),
        escrow: p.escrow,
        channel: ch.address,
        amount: 1,
    }
    .instruction();
    assert_error(
        t.send(&[ix], &[&p.owner]).await,
        MicropayError::InvariantViolated,
    );
    assert_eq!(t.channel(ch.address).await.unwrap(), corrupt);
    t.write_state(ch.address, &good).await;
    t.assert_invariants().await;
}
