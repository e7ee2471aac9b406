#![allow(dead_code)]

pub mod verify;

use anchor_spl::token::spl_token::{native_mint::ID as SOL, ID as TOKEN};
use micropay_client::{
    accounts, instructions as mix, ledger::embedded::EmbeddedLedger, ledger::Ledger,
    micropay::instructions::OpenChannelArgs, pda, tokens,
};
use solana_sdk::{
    pubkey::Pubkey,
    signature::{Keypair, Signer},
};

/// A wSOL escrow with `deposit` lamports and one channel to a new creator.
pub struct OneChannel {
    pub user: Keypair,
    pub creator: Keypair,
    pub session: Keypair,
    pub escrow: Pubkey,
    pub channel: Pubkey,
    pub allocation: u64,
}

pub async fn one_channel(
    ledger: &EmbeddedLedger,
    deposit: u64,
    allocation: u64,
    expires_at: i64,
) -> OneChannel {
    let l: &dyn Ledger = ledger;
    let user = Keypair::new();
    ledger
        .airdrop(&user.pubkey(), deposit + 1_000_000_000)
        .await
        .unwrap();
    let (creator, session) = (Keypair::new(), Keypair::new());
    let wsol = tokens::create_token_account(l, &user, &SOL, &user.pubkey(), &TOKEN)
        .await
        .unwrap();
    let escrow = pda::escrow(&user.pubkey(), &SOL).0;
    let mut ixs = tokens::wrap_sol_ixs(&user.pubkey(), &wsol, deposit).unwrap();
    ixs.push(mix::init_escrow(&user.pubkey(), &SOL, &TOKEN));
    ixs.push(mix::deposit(
        &user.pubkey(),
        &escrow,
        &SOL,
        &wsol,
        &TOKEN,
        deposit,
    ));
    ixs.push(mix::init_earnings(&user.pubkey(), &creator.pubkey(), &SOL));
    ledger.send(&ixs, &user, &[]).await.unwrap();
    let channel = open(
        ledger,
        &user,
        &escrow,
        &creator.pubkey(),
        &session.pubkey(),
        allocation,
        expires_at,
    )
    .await;
    OneChannel {
        user,
        creator,
        session,
        escrow,
        channel,
        allocation,
    }
}

pub async fn open(
    ledger: &EmbeddedLedger,
    user: &Keypair,
    escrow: &Pubkey,
    creator: &Pubkey,
    signer: &Pubkey,
    allocation: u64,
    expires_at: i64,
) -> Pubkey {
    let l: &dyn Ledger = ledger;
    let slot = pda::ChannelSlot::next(&accounts::escrow(l, escrow).await.unwrap().unwrap());
    let (ix, channel) = mix::open_channel(
        &user.pubkey(),
        escrow,
        slot,
        OpenChannelArgs {
            creator: *creator,
            signer: *signer,
            allocation,
            fee_recipient: None,
            fee_bps: 0,
            dispute_window_secs: 900,
            expires_at,
            nonce: rand::random(),
        },
    );
    ledger.send(&[ix], user, &[]).await.unwrap();
    channel
}

/// An in-memory receiver store and a receiver for `creator` on `ledger`.
pub fn receiver(
    ledger: &std::sync::Arc<EmbeddedLedger>,
    creator: &Pubkey,
) -> (
    std::sync::Arc<dyn micropay_client::store::ReceiverStore>,
    micropay_client::receiver::Receiver,
) {
    let store: std::sync::Arc<dyn micropay_client::store::ReceiverStore> =
        std::sync::Arc::new(micropay_client::store::SqliteStore::in_memory().unwrap());
    let receiver = micropay_client::receiver::Receiver::new(
        ledger.clone(),
        store.clone(),
        *creator,
        micropay_client::receiver::ReceiverConfig::accepting([
            micropay_client::receiver::AcceptedMint::wrapped_sol(),
        ]),
    );
    (store, receiver)
}
