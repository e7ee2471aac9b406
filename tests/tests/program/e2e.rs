//! End-to-end flows on Token-2022 and wrapped SOL, and a property test of random
//! operation sequences against an off-chain model.

use anchor_spl::token::spl_token;
use micropay_sdk::instructions as mix;
use micropay_tests::*;
use proptest::prelude::*;
use solana_sdk::signature::{Keypair, Signer};

#[tokio::test]
async fn token_2022_full_lifecycle_conserves_every_unit() {
    let mut t = TestContext::new().await;
    let mint = t.token_2022_mint().await;
    let p = t.payer_with_escrow(&mint, 1_000_000, 600_000).await;
    let c = t.creator(&mint).await;
    let dapp = t.wallet(1_000_000_000).await;
    let ch = t
        .open_channel(
            &p,
            &c,
            500_000,
            ChannelOpts {
                fee: Some((dapp.pubkey(), 250)),
                ..Default::default()
            },
        )
        .await;
    // 1,000 uses of 7 units each, settled in two claims
    t.claim(&[ch.voucher(3_500)]).await.unwrap();
    t.send(
        &[mix::RequestClose {
            owner: p.owner.pubkey(),
            escrow: p.escrow,
            channel: ch.address,
        }
        .instruction()],
        &[&p.owner],
    )
    .await
    .unwrap();
    t.claim(&[ch.voucher(7_000)]).await.unwrap();
    t.advance_time(3_600).await;
    t.send(
        &[mix::FinalizeClose {
            escrow: p.escrow,
            channel: ch.address,
            owner: p.owner.pubkey(),
        }
        .instruction()],
        &[],
    )
    .await
    .unwrap();

    let creator_dest = t.token_account(&mint, &c.wallet.pubkey()).await;
    let dapp_dest = t.token_account(&mint, &dapp.pubkey()).await;
    let creator_earned = t.earnings(c.earnings).await.unwrap().balance;
    let fee_earned = t.earnings(ch.fee_earnings.unwrap()).await.unwrap().balance;
    assert_eq!(creator_earned + fee_earned, 7_000);
    // cumulative: 2.5% of 7,000 (the two claims of 3,500 paid 87, then 88)
    assert_eq!(fee_earned, 175);
    t.send(
        &[mix::WithdrawEarnings {
            owner: c.wallet.pubkey(),
            mint: mint.address,
            destination: creator_dest,
            token_program: mint.token_program,
            amount: creator_earned,
        }
        .instruction()],
        &[&c.wallet],
    )
    .await
    .unwrap();
    t.send(
        &[mix::WithdrawEarnings {
            owner: dapp.pubkey(),
            mint: mint.address,
            destination: dapp_dest,
            token_program: mint.token_program,
            amount: fee_earned,
        }
        .instruction()],
        &[&dapp],
    )
    .await
    .unwrap();
    let rest = t.escrow(p.escrow).await.unwrap().balance;
    t.next_slot().await;
    t.send(
        &[
            mix::Withdraw {
                owner: p.owner.pubkey(),
                mint: mint.address,
                destination: p.token_account,
                token_program: mint.token_program,
                amount: rest,
            }
            .instruction(),
            mix::CloseEscrow {
                owner: p.owner.pubkey(),
                mint: mint.address,
                destination: p.token_account,
                token_program: mint.token_program,
            }
            .instruction(),
        ],
        &[&p.owner],
    )
    .await
    .unwrap();

    let payer_tokens = t.token_balance(p.token_account).await;
    assert_eq!(payer_tokens, 1_000_000 - 7_000);
    assert_eq!(t.token_balance(creator_dest).await, creator_earned);
    assert_eq!(t.token_balance(dapp_dest).await, fee_earned);
    assert_eq!(
        t.token_balance(micropay_sdk::pda::vault(&mint.address).0)
            .await,
        0
    );
    t.assert_invariants().await;
}

#[tokio::test]
async fn wrapped_sol_deposit_claim_and_unwrap() {
    let mut t = TestContext::new().await;
    let sol = t.wrapped_sol();
    let lamports = 2_000_000_000u64;
    let p = t.payer_with_escrow(&sol, lamports, lamports).await;
    let c = t.creator(&sol).await;
    let ch = t
        .open_channel(&p, &c, lamports / 2, ChannelOpts::default())
        .await;
    t.claim(&[ch.voucher(123_456_789)]).await.unwrap();

    // the creator withdraws into a wSOL account and unwraps it by closing it
    let wsol = t.token_account(&sol, &c.wallet.pubkey()).await;
    t.send(
        &[mix::WithdrawEarnings {
            owner: c.wallet.pubkey(),
            mint: sol.address,
            destination: wsol,
            token_program: sol.token_program,
            amount: 123_456_789,
        }
        .instruction()],
        &[&c.wallet],
    )
    .await
    .unwrap();
    let account_rent = t.lamports(wsol).await - 123_456_789;
    let before = t.lamports(c.wallet.pubkey()).await;
    let close = spl_token::instruction::close_account(
        &spl_token::ID,
        &wsol,
        &c.wallet.pubkey(),
        &c.wallet.pubkey(),
        &[],
    )
    .unwrap();
    t.send(&[close], &[&c.wallet]).await.unwrap();
    assert_eq!(
        t.lamports(c.wallet.pubkey()).await,
        before + 123_456_789 + account_rent
    );
    let escrow = t.escrow(p.escrow).await.unwrap();
    assert_eq!(escrow.balance, lamports / 2);
    t.assert_invariants().await;
}

// ---------- property test: random operation sequences against a model ----------

#[derive(Clone, Debug)]
enum Op {
    Deposit {
        payer: usize,
        amount: u64,
    },
    Withdraw {
        payer: usize,
        amount: u64,
    },
    Open {
        payer: usize,
        creator: usize,
        allocation: u64,
    },
    TopUp {
        channel: usize,
        amount: u64,
    },
    PayAndClaim {
        channel: usize,
        increment: u64,
        stale: bool,
    },
    RequestClose {
        channel: usize,
    },
    Advance {
        secs: i64,
    },
    Finalize {
        channel: usize,
    },
    CreatorClose {
        channel: usize,
    },
    WithdrawEarnings {
        creator: usize,
        amount: u64,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0..2usize, 0..4_000u64).prop_map(|(payer, amount)| Op::Deposit { payer, amount }),
        (0..2usize, 0..4_000u64).prop_map(|(payer, amount)| Op::Withdraw { payer, amount }),
        (0..2usize, 0..2usize, 0..3_000u64).prop_map(|(payer, creator, allocation)| Op::Open {
            payer,
            creator,
            allocation
        }),
        (0..8usize, 0..1_000u64).prop_map(|(channel, amount)| Op::TopUp { channel, amount }),
        (0..8usize, 0..1_500u64, any::<bool>()).prop_map(|(channel, increment, stale)| {
            Op::PayAndClaim {
                channel,
                increment,
                stale,
            }
        }),
        (0..8usize).prop_map(|channel| Op::RequestClose { channel }),
        (0..1_000i64).prop_map(|secs| Op::Advance { secs }),
        (0..8usize).prop_map(|channel| Op::Finalize { channel }),
        (0..8usize).prop_map(|channel| Op::CreatorClose { channel }),
        (0..2usize, 0..3_000u64)
            .prop_map(|(creator, amount)| Op::WithdrawEarnings { creator, amount }),
    ]
}

struct ModelChannel {
    fixture: ChannelFixture,
    payer: usize,
    creator: usize,
    allocation: u64,
    claimed: u64,
    /// Highest voucher the payer signed, and the one before it.
    voucher: u64,
    previous: u64,
    close_requested_at: Option<i64>,
    open: bool,
}

const WINDOW: i64 = 600;
const FUNDS: u64 = 10_000;

async fn run(ops: Vec<Op>) {
    let mut t = TestContext::new().await;
    let mint = t.spl_mint().await;
    let payers = [
        t.payer_with_escrow(&mint, FUNDS, 0).await,
        t.payer_with_escrow(&mint, FUNDS, 0).await,
    ];
    let creators = [t.creator(&mint).await, t.creator(&mint).await];
    let dests = [
        t.token_account(&mint, &creators[0].wallet.pubkey()).await,
        t.token_account(&mint, &creators[1].wallet.pubkey()).await,
    ];
    let mut wallet = [FUNDS, FUNDS];
    let mut escrow = [0u64; 2];
    let mut earnings = [0u64; 2];
    let mut withdrawn = [0u64; 2];
    let mut channels: Vec<ModelChannel> = Vec::new();

    for op in ops {
        let expected: Result<(), MicropayError>;
        let result = match op.clone() {
            Op::Deposit { payer, amount } => {
                let p = &payers[payer];
                let ix = mix::Deposit {
                    depositor: p.owner.pubkey(),
                    escrow: p.escrow,
                    mint: mint.address,
                    source: p.token_account,
                    token_program: mint.token_program,
                    amount,
                }
                .instruction();
                let r = t.send(&[ix], &[&p.owner]).await;
                if amount == 0 {
                    expected = Err(MicropayError::ZeroAmount);
                } else if amount > wallet[payer] {
                    assert!(r.is_err(), "deposit above wallet balance succeeded");
                    continue;
                } else {
                    expected = Ok(());
                    wallet[payer] -= amount;
                    escrow[payer] += amount;
                }
                r
            }
            Op::Withdraw { payer, amount } => {
                let p = &payers[payer];
                let ix = mix::Withdraw {
                    owner: p.owner.pubkey(),
                    mint: mint.address,
                    destination: p.token_account,
                    token_program: mint.token_program,
                    amount,
                }
                .instruction();
                expected = if amount == 0 {
                    Err(MicropayError::ZeroAmount)
                } else if amount > escrow[payer] {
                    Err(MicropayError::InsufficientBalance)
                } else {
                    wallet[payer] += amount;
                    escrow[payer] -= amount;
                    Ok(())
                };
                t.send(&[ix], &[&p.owner]).await
            }
            Op::Open {
                payer,
                creator,
                allocation,
            } => {
                expected = if allocation == 0 {
                    Err(MicropayError::ZeroAmount)
                } else if allocation > escrow[payer] {
                    Err(MicropayError::InsufficientBalance)
                } else {
                    Ok(())
                };
                if expected.is_ok() {
                    let fixture = t
                        .open_channel(
                            &payers[payer],
                            &creators[creator],
                            allocation,
                            ChannelOpts {
                                dispute_window_secs: Some(WINDOW as u32),
                                ..Default::default()
                            },
                        )
                        .await;
                    escrow[payer] -= allocation;
                    channels.push(ModelChannel {
                        fixture,
                        payer,
                        creator,
                        allocation,
                        claimed: 0,
                        voucher: 0,
                        previous: 0,
                        close_requested_at: None,
                        open: true,
                    });
                    Ok(())
                } else {
                    let session = Keypair::new();
                    let args = t.channel_args(
                        &creators[creator].wallet.pubkey(),
                        &session.pubkey(),
                        allocation,
                    );
                    let (ix, _) = t.open_channel_ix(&payers[payer], args).await;
                    t.send(&[ix], &[&payers[payer].owner]).await
                }
            }
            Op::TopUp { channel, amount } => {
                let Some(ch) = channels.get_mut(channel).filter(|c| c.open) else {
                    continue;
                };
                let p = &payers[ch.payer];
                expected = if amount == 0 {
                    Err(MicropayError::ZeroAmount)
                } else if amount > escrow[ch.payer] {
                    Err(MicropayError::InsufficientBalance)
                } else if ch.close_requested_at.is_some() {
                    Err(MicropayError::ChannelClosing)
                } else {
                    escrow[ch.payer] -= amount;
                    ch.allocation += amount;
                    Ok(())
                };
                let ix = mix::TopUpChannel {
                    owner: p.owner.pubkey(),
                    escrow: p.escrow,
                    channel: ch.fixture.address,
                    amount,
                }
                .instruction();
                t.send(&[ix], &[&p.owner]).await
            }
            Op::PayAndClaim {
                channel,
                increment,
                stale,
            } => {
                let Some(ch) = channels.get_mut(channel) else {
                    continue;
                };
                ch.previous = ch.voucher;
                ch.voucher += increment;
                let amount = if stale { ch.previous } else { ch.voucher };
                // a channel closed (finalized or creator-closed) before the
                // claim is gone: the claim skips it and credits nothing
                expected = if !ch.open {
                    Ok(())
                } else {
                    let payable = amount.min(ch.allocation);
                    if payable > ch.claimed {
                        earnings[ch.creator] += payable - ch.claimed;
                        ch.claimed = payable;
                    }
                    Ok(())
                };
                let v = ch.fixture.voucher(amount);
                let result = t.claim(&[v]).await;
                if let (false, Ok(events)) = (ch.open, &result) {
                    let claimed = claimed_event(events);
                    assert!(claimed.settled.is_empty(), "{op:?}");
                    assert_eq!(claimed.skipped.len(), 1, "{op:?}");
                    assert_eq!(
                        claimed.skipped[0].reason,
                        micropay::events::SkipReason::ChannelClosed
                    );
                }
                result.map(|_| ())
            }
            Op::RequestClose { channel } => {
                let Some(ch) = channels.get_mut(channel).filter(|c| c.open) else {
                    continue;
                };
                let p = &payers[ch.payer];
                expected = if ch.close_requested_at.is_some() {
                    Err(MicropayError::ChannelClosing)
                } else {
                    ch.close_requested_at = Some(t.now().await);
                    Ok(())
                };
                let ix = mix::RequestClose {
                    owner: p.owner.pubkey(),
                    escrow: p.escrow,
                    channel: ch.fixture.address,
                }
                .instruction();
                t.send(&[ix], &[&p.owner]).await
            }
            Op::Advance { secs } => {
                t.advance_time(secs).await;
                continue;
            }
            Op::Finalize { channel } => {
                let Some(ch) = channels.get_mut(channel).filter(|c| c.open) else {
                    continue;
                };
                let now = t.now().await;
                expected = match ch.close_requested_at {
                    None => Err(MicropayError::CloseNotRequested),
                    Some(at) if now < at + WINDOW => Err(MicropayError::DisputeWindowOpen),
                    Some(_) => {
                        escrow[ch.payer] += ch.allocation - ch.claimed;
                        ch.open = false;
                        Ok(())
                    }
                };
                let p = &payers[ch.payer];
                let ix = mix::FinalizeClose {
                    escrow: p.escrow,
                    channel: ch.fixture.address,
                    owner: p.owner.pubkey(),
                }
                .instruction();
                t.send(&[ix], &[]).await
            }
            Op::CreatorClose { channel } => {
                let Some(ch) = channels.get_mut(channel).filter(|c| c.open) else {
                    continue;
                };
                let p = &payers[ch.payer];
                let creator = &creators[ch.creator];
                escrow[ch.payer] += ch.allocation - ch.claimed;
                ch.open = false;
                expected = Ok(());
                let ix = mix::CreatorClose {
                    creator: creator.wallet.pubkey(),
                    escrow: p.escrow,
                    channel: ch.fixture.address,
                    owner: p.owner.pubkey(),
                }
                .instruction();
                t.send(&[ix], &[&creator.wallet]).await
            }
            Op::WithdrawEarnings { creator, amount } => {
                let c = &creators[creator];
                expected = if amount == 0 {
                    Err(MicropayError::ZeroAmount)
                } else if amount > earnings[creator] {
                    Err(MicropayError::InsufficientBalance)
                } else {
                    earnings[creator] -= amount;
                    withdrawn[creator] += amount;
                    Ok(())
                };
                let ix = mix::WithdrawEarnings {
                    owner: c.wallet.pubkey(),
                    mint: mint.address,
                    destination: dests[creator],
                    token_program: mint.token_program,
                    amount,
                }
                .instruction();
                t.send(&[ix], &[&c.wallet]).await
            }
        };
        match expected {
            Ok(()) => result.unwrap_or_else(|e| panic!("{op:?} failed: {e:?}")),
            Err(code) => assert_error(result, code),
        }

        // the chain matches the model after every operation
        for i in 0..2 {
            assert_eq!(
                t.escrow(payers[i].escrow).await.unwrap().balance,
                escrow[i],
                "escrow {i} after {op:?}"
            );
            assert_eq!(
                t.token_balance(payers[i].token_account).await,
                wallet[i],
                "wallet {i}"
            );
            assert_eq!(
                t.earnings(creators[i].earnings).await.unwrap().balance,
                earnings[i],
                "earnings {i}"
            );
            assert_eq!(
                t.token_balance(dests[i]).await,
                withdrawn[i],
                "withdrawn {i}"
            );
        }
        for ch in &channels {
            match t.channel(ch.fixture.address).await {
                Some(on_chain) => {
                    assert!(ch.open);
                    assert_eq!(
                        (on_chain.allocation, on_chain.claimed),
                        (ch.allocation, ch.claimed)
                    );
                }
                None => assert!(!ch.open),
            }
        }
        t.assert_invariants().await;
    }
    // nothing created or lost: every token is in a wallet, a destination or the vault
    let vault = t
        .token_balance(micropay_sdk::pda::vault(&mint.address).0)
        .await;
    assert_eq!(
        wallet[0] + wallet[1] + withdrawn[0] + withdrawn[1] + vault,
        2 * FUNDS
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    #[test]
    fn random_operation_sequences_match_the_model(ops in prop::collection::vec(op(), 1..40)) {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(run(ops));
    }
}
