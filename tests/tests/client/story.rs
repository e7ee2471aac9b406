//! The story of `micropay-client`'s crate docs, on the embedded bank: a user
//! funds an escrow with 1 SOL, opens a channel with a session key, pays 1,000
//! uses by voucher, and one claim settles them all.

use anchor_spl::token::spl_token::{native_mint::ID as SOL, ID as TOKEN};
use micropay::instructions::OpenChannelArgs;
use micropay_client::{
    accounts,
    ledger::{embedded::EmbeddedLedger, Ledger},
    payer::{AsyncPayer, Payer},
    planner::{Planner, PlannerConfig},
    receiver::{AcceptedMint, Receiver, ReceiverConfig},
    store::{AsyncStore, SqliteStore},
    tokens,
};
use micropay_sdk::{instructions as ix, pda, tokens as sdk_tokens};
use solana_sdk::signature::{Keypair, Signer};
use std::sync::Arc;

#[tokio::test]
async fn thousand_uses_one_claim() {
    let bank = Arc::new(EmbeddedLedger::start().await);
    let (user, creator, session) = (
        bank.payer().insecure_clone(),
        Keypair::new(),
        Keypair::new(),
    );
    let (me, escrow) = (user.pubkey(), pda::escrow(&user.pubkey(), &SOL).0);
    let wsol = tokens::create_token_account(bank.as_ref(), &user, &SOL, &me, &TOKEN)
        .await
        .unwrap();
    let mut setup = sdk_tokens::WrapSol {
        from: me,
        account: wsol,
        lamports: 1_000_000_000,
    }
    .instructions()
    .unwrap();
    setup.push(
        ix::InitEscrow {
            owner: me,
            mint: SOL,
            token_program: TOKEN,
        }
        .instruction(),
    );
    setup.push(
        ix::Deposit {
            depositor: me,
            escrow,
            mint: SOL,
            source: wsol,
            token_program: TOKEN,
            amount: 1_000_000_000,
        }
        .instruction(),
    );
    setup.push(
        ix::InitEarnings {
            payer: me,
            owner: creator.pubkey(),
            mint: SOL,
        }
        .instruction(),
    );
    bank.send(&setup, &user, &[]).await.unwrap();
    let args = OpenChannelArgs {
        creator: creator.pubkey(),
        signer: session.pubkey(),
        allocation: 1_000_000_000,
        fee_recipient: None,
        fee_bps: 0,
        dispute_window_secs: 3_600,
        expires_at: 0,
        nonce: rand::random(),
    };
    let state = accounts::escrow(bank.as_ref(), &escrow)
        .await
        .unwrap()
        .unwrap();
    let (open, channel) = ix::OpenChannel {
        owner: me,
        escrow,
        slot: pda::ChannelSlot::next(&state),
        args,
    }
    .with_channel();
    bank.send(&[open], &user, &[]).await.unwrap();

    let payer = AsyncPayer::new(Payer::new(Arc::new(SqliteStore::in_memory().unwrap())));
    payer
        .register(channel, &session, 1_000_000_000)
        .await
        .unwrap();
    let store = Arc::new(SqliteStore::in_memory().unwrap());
    let config = ReceiverConfig::accepting([AcceptedMint::wrapped_sol()]);
    let receiver = Receiver::new(bank.clone(), store.clone(), creator.pubkey(), config);
    for _ in 0..1_000 {
        let voucher = payer.pay(&channel, 10_000).await.unwrap();
        let paid = receiver.accept(&voucher, 10_000).await.unwrap();
        assert_eq!(paid.net, 10_000);
    }
    let (_, done) = Planner::new(PlannerConfig::default())
        .run(bank.as_ref(), &AsyncStore::new(store.clone()), &user)
        .await
        .unwrap();
    assert_eq!((done.transactions, done.settled_amount), (1, 10_000_000));
    let earnings = accounts::earnings(bank.as_ref(), &pda::earnings(&creator.pubkey(), &SOL).0)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(earnings.balance, 10_000_000);

    // the creator takes its earnings home as SOL
    bank.airdrop(&creator.pubkey(), 10_000_000).await.unwrap();
    let before = bank
        .account(&creator.pubkey())
        .await
        .unwrap()
        .unwrap()
        .lamports;
    let sol = tokens::MintRef {
        address: SOL,
        token_program: TOKEN,
    };
    let out = micropay_client::earnings::withdraw(
        bank.as_ref(),
        &creator,
        &sol,
        10_000_000,
        tokens::Destination::UnwrapSol,
    )
    .await
    .unwrap();
    let after = bank
        .account(&creator.pubkey())
        .await
        .unwrap()
        .unwrap()
        .lamports;
    assert_eq!(after, before + 10_000_000 - out.fee);
}
