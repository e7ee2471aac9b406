//! The library's money steps outside channels, on the embedded bank:
//! `escrow::{init, deposit, withdraw}`, `earnings::{init, withdraw}` and
//! `splits::{create, distribute}` — what the CLI's `escrow`, `earnings`
//! and `split` commands call. SOL in and out through temporary wSOL
//! accounts, tokens from and to named accounts, and every refusal with
//! nothing sent.

use anchor_spl::token::spl_token::{native_mint::ID as SOL, ID as TOKEN};
use micropay::state::SplitRecipient;
use micropay_client::{
    accounts, earnings, escrow,
    ledger::{embedded::EmbeddedLedger, Ledger},
    splits,
    tokens::{self, Destination, MintRef, Source},
    ClientError,
};
use micropay_sdk::pda;
use solana_sdk::signature::{Keypair, Signer};
use std::sync::Arc;

const WSOL: MintRef = MintRef {
    address: SOL,
    token_program: TOKEN,
};

async fn lamports(bank: &EmbeddedLedger, who: &solana_sdk::pubkey::Pubkey) -> u64 {
    bank.account(who).await.unwrap().map_or(0, |a| a.lamports)
}

#[tokio::test]
async fn sol_goes_into_an_escrow_and_back_out_as_sol() {
    let bank = Arc::new(EmbeddedLedger::start().await);
    let user = bank.payer().insecure_clone();
    let escrow_address = pda::escrow(&user.pubkey(), &SOL).0;

    // no escrow yet: refused before anything is sent
    let before = lamports(&bank, &user.pubkey()).await;
    let refused = escrow::deposit(bank.as_ref(), &user, &WSOL, 1_000, Source::WrapSol).await;
    assert!(
        matches!(refused, Err(ClientError::AccountNotFound(a)) if a == escrow_address),
        "{refused:?}"
    );
    assert_eq!(lamports(&bank, &user.pubkey()).await, before);

    escrow::init(bank.as_ref(), &user, &WSOL).await.unwrap();
    let deposited = escrow::deposit(bank.as_ref(), &user, &WSOL, 700_000_000, Source::WrapSol)
        .await
        .unwrap();
    let held = accounts::escrow(bank.as_ref(), &escrow_address)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(held.balance, 700_000_000);
    assert_eq!(
        deposited.fee, 10_000,
        "the user and the temporary account sign"
    );

    let before = lamports(&bank, &user.pubkey()).await;
    let out = escrow::withdraw(
        bank.as_ref(),
        &user,
        &WSOL,
        300_000_000,
        Destination::UnwrapSol,
    )
    .await
    .unwrap();
    // the temporary account's rent comes back when it is closed
    assert_eq!(
        lamports(&bank, &user.pubkey()).await,
        before + 300_000_000 - out.fee
    );
    let held = accounts::escrow(bank.as_ref(), &escrow_address)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(held.balance, 400_000_000);

    // more than the free balance: the program's own refusal, nothing moved
    let refused = escrow::withdraw(
        bank.as_ref(),
        &user,
        &WSOL,
        400_000_001,
        Destination::UnwrapSol,
    )
    .await;
    assert!(
        matches!(&refused, Err(ClientError::Program { name, .. }) if name == "InsufficientBalance"),
        "{refused:?}"
    );
    let held = accounts::escrow(bank.as_ref(), &escrow_address)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(held.balance, 400_000_000);
}

#[tokio::test]
async fn tokens_come_from_and_go_to_named_accounts_and_are_never_wrapped() {
    let bank = Arc::new(EmbeddedLedger::start().await);
    let user = bank.payer().insecure_clone();
    let me = user.pubkey();
    let mint = tokens::create_mint(bank.as_ref(), &user, &me, &TOKEN, 6)
        .await
        .unwrap();
    let usdc = MintRef {
        address: mint,
        token_program: TOKEN,
    };
    let wallet = tokens::create_token_account(bank.as_ref(), &user, &mint, &me, &TOKEN)
        .await
        .unwrap();
    tokens::mint_to(
        bank.as_ref(),
        &user,
        &user,
        &mint,
        &wallet,
        &TOKEN,
        5_000_000,
    )
    .await
    .unwrap();
    escrow::init(bank.as_ref(), &user, &usdc).await.unwrap();

    // SOL cannot be wrapped into, or unwrapped out of, another mint
    let before = lamports(&bank, &me).await;
    let wrap = escrow::deposit(bank.as_ref(), &user, &usdc, 1, Source::WrapSol).await;
    assert!(
        matches!(wrap, Err(ClientError::NotWrappedSol { mint: m }) if m == mint),
        "{wrap:?}"
    );
    let unwrap = escrow::withdraw(bank.as_ref(), &user, &usdc, 1, Destination::UnwrapSol).await;
    assert!(
        matches!(unwrap, Err(ClientError::NotWrappedSol { mint: m }) if m == mint),
        "{unwrap:?}"
    );
    assert_eq!(lamports(&bank, &me).await, before, "nothing was sent");

    escrow::deposit(
        bank.as_ref(),
        &user,
        &usdc,
        2_000_000,
        Source::Account(wallet),
    )
    .await
    .unwrap();
    escrow::withdraw(
        bank.as_ref(),
        &user,
        &usdc,
        500_000,
        Destination::Account(wallet),
    )
    .await
    .unwrap();
    assert_eq!(
        accounts::token_amount(bank.as_ref(), &wallet)
            .await
            .unwrap(),
        3_500_000
    );
    let escrow_address = pda::escrow(&me, &mint).0;
    let held = accounts::escrow(bank.as_ref(), &escrow_address)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(held.balance, 1_500_000);
}

#[tokio::test]
async fn a_split_is_created_with_the_earnings_accounts_it_pays_into() {
    let bank = Arc::new(EmbeddedLedger::start().await);
    let user = bank.payer().insecure_clone();
    let (a, b) = (Keypair::new().pubkey(), Keypair::new().pubkey());
    // one recipient's earnings account exists already: it is not created again
    earnings::init(bank.as_ref(), &user, &a, &SOL)
        .await
        .unwrap();
    let recipients = vec![
        SplitRecipient {
            owner: a,
            bps: 7_000,
        },
        SplitRecipient {
            owner: b,
            bps: 3_000,
        },
    ];
    let expected = splits::address(&SOL, &recipients).unwrap();
    let created = splits::create(bank.as_ref(), &user, &SOL, recipients.clone())
        .await
        .unwrap();
    assert_eq!(created.split, expected);
    assert_eq!(created.earnings.accounts, 2, "b's and the split's own");
    for owner in [a, b, expected] {
        let address = pda::earnings(&owner, &SOL).0;
        assert!(accounts::earnings(bank.as_ref(), &address)
            .await
            .unwrap()
            .is_some());
    }
    let split = accounts::split(bank.as_ref(), &expected)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(split.recipients.len(), 2);

    // the same owners and shares name the same split: the program refuses
    // a second one (its fee is paid, as on a cluster), and no earnings
    // account is paid for twice
    let before = lamports(&bank, &user.pubkey()).await;
    let again = splits::create(bank.as_ref(), &user, &SOL, recipients).await;
    assert!(
        matches!(&again, Err(ClientError::Program { name, .. }) if name == "AlreadyInitialized"),
        "{again:?}"
    );
    assert_eq!(lamports(&bank, &user.pubkey()).await, before - 5_000);

    // an empty split distributes nothing, and says so in its event
    let sent = splits::distribute(bank.as_ref(), &user, &expected, &split, &SOL)
        .await
        .unwrap();
    let amounts = sent.events.iter().find_map(|e| match e {
        micropay_sdk::events::MicropayEvent::Distributed(d) => Some(d.amounts.clone()),
        _ => None,
    });
    assert_eq!(amounts, Some(vec![0, 0]));
}
