use anchor_lang::error::ErrorCode;
use anchor_spl::token_interface::spl_token_2022::{
    self,
    extension::{metadata_pointer, transfer_fee, ExtensionType},
};
use micropay_sdk::{events::MicropayEvent, instructions as mix, pda};
use micropay_tests::*;
use solana_sdk::signature::Signer;

#[tokio::test]
async fn creates_escrow_and_vault_once_per_mint() {
    let mut t = TestContext::new().await;
    let mint = t.spl_mint().await;
    let a = t.wallet(1_000_000_000).await;
    let b = t.wallet(1_000_000_000).await;

    let events = t
        .send_events(
            &[mix::InitEscrow {
                owner: a.pubkey(),
                mint: mint.address,
                token_program: mint.token_program,
            }
            .instruction()],
            &[&a],
        )
        .await
        .unwrap();
    let escrow_a = pda::escrow(&a.pubkey(), &mint.address).0;
    t.track_escrow(escrow_a);
    assert!(
        matches!(&events[..], [MicropayEvent::EscrowInitialized(e)] if e.vault_created && e.escrow == escrow_a)
    );

    let events = t
        .send_events(
            &[mix::InitEscrow {
                owner: b.pubkey(),
                mint: mint.address,
                token_program: mint.token_program,
            }
            .instruction()],
            &[&b],
        )
        .await
        .unwrap();
    assert!(matches!(&events[..], [MicropayEvent::EscrowInitialized(e)] if !e.vault_created));
    t.track_escrow(pda::escrow(&b.pubkey(), &mint.address).0);

    let escrow = t.escrow(escrow_a).await.unwrap();
    assert_eq!(escrow.owner, a.pubkey());
    assert_eq!(escrow.mint, mint.address);
    assert_eq!(
        (escrow.balance, escrow.next_channel_id, escrow.open_channels),
        (0, 0, 0)
    );
    // the vault is a token account of the mint owned by itself
    let vault = pda::vault(&mint.address).0;
    let account = t.account(vault).await.unwrap();
    assert_eq!(account.owner, mint.token_program);
    t.assert_invariants().await;
}

#[tokio::test]
async fn second_escrow_for_same_owner_and_mint_is_rejected() {
    let mut t = TestContext::new().await;
    let mint = t.spl_mint().await;
    let p = t.payer_with_escrow(&mint, 0, 0).await;
    let ix = mix::InitEscrow {
        owner: p.owner.pubkey(),
        mint: mint.address,
        token_program: mint.token_program,
    }
    .instruction();
    assert_error(
        t.send(&[ix], &[&p.owner]).await,
        MicropayError::AlreadyInitialized,
    );
    t.assert_invariants().await;
}

/// Anyone can send lamports to a predictable PDA before it exists; creation
/// must still work (Anchor's `init` would fail here on agave 3.1).
#[tokio::test]
async fn prefunded_escrow_earnings_and_channel_addresses_still_initialize() {
    let mut t = TestContext::new().await;
    let mint = t.spl_mint().await;
    let owner = t.wallet(10_000_000_000).await;
    let creator = t.wallet(1_000_000_000).await;
    let escrow = pda::escrow(&owner.pubkey(), &mint.address).0;
    let earnings = pda::earnings(&creator.pubkey(), &mint.address).0;
    let nonce = 77;
    // the escrow's generation will be the slot it is created in
    let generation = t.clock().await.slot;
    let slot = pda::ChannelSlot { generation, id: 0 };
    let channel = pda::channel(&escrow, slot, nonce).0;
    for address in [escrow, earnings, channel] {
        // less than the account's rent here; more than it for earnings below
        let ix = solana_system_interface::instruction::transfer(
            &t.payer().pubkey(),
            &address,
            1_000_000,
        );
        t.send(&[ix], &[]).await.unwrap();
    }
    let ix =
        solana_system_interface::instruction::transfer(&t.payer().pubkey(), &earnings, 10_000_000);
    t.send(&[ix], &[]).await.unwrap();

    let token_account = t.token_account(&mint, &owner.pubkey()).await;
    t.fund_token_account(&mint, &token_account, 1_000).await;
    t.send(
        &[
            mix::InitEscrow {
                owner: owner.pubkey(),
                mint: mint.address,
                token_program: mint.token_program,
            }
            .instruction(),
            mix::Deposit {
                depositor: owner.pubkey(),
                escrow,
                mint: mint.address,
                source: token_account,
                token_program: mint.token_program,
                amount: 1_000,
            }
            .instruction(),
        ],
        &[&owner],
    )
    .await
    .unwrap();
    t.track_escrow(escrow);
    let ix = mix::InitEarnings {
        payer: t.payer().pubkey(),
        owner: creator.pubkey(),
        mint: mint.address,
    }
    .instruction();
    t.send(&[ix], &[]).await.unwrap();
    t.track_earnings(earnings);
    let session = solana_sdk::signature::Keypair::new();
    let mut args = t.channel_args(&creator.pubkey(), &session.pubkey(), 1_000);
    args.nonce = nonce;
    let (ix, address) = mix::OpenChannel {
        owner: owner.pubkey(),
        escrow,
        slot,
        args,
    }
    .with_channel();
    assert_eq!(address, channel);
    t.send(&[ix], &[&owner]).await.unwrap();
    t.track_channel(channel);

    assert_eq!(t.escrow(escrow).await.unwrap().balance, 0);
    assert_eq!(t.channel(channel).await.unwrap().allocation, 1_000);
    assert_eq!(t.earnings(earnings).await.unwrap().owner, creator.pubkey());
    t.assert_invariants().await;
}

#[tokio::test]
async fn prefunded_vault_address_does_not_block_the_mint() {
    let mut t = TestContext::new().await;
    let mint = t.spl_mint().await;
    let vault = pda::vault(&mint.address).0;
    let grief =
        solana_system_interface::instruction::transfer(&t.payer().pubkey(), &vault, 1_000_000);
    t.send(&[grief], &[]).await.unwrap();
    let p = t.payer_with_escrow(&mint, 500, 500).await;
    assert_eq!(t.token_balance(vault).await, 500);
    assert_eq!(t.escrow(p.escrow).await.unwrap().balance, 500);
    t.assert_invariants().await;
}

#[tokio::test]
async fn token_program_must_own_the_mint() {
    let mut t = TestContext::new().await;
    let mint = t.token_2022_mint().await;
    let owner = t.wallet(1_000_000_000).await;
    let ix = mix::InitEscrow {
        owner: owner.pubkey(),
        mint: mint.address,
        token_program: anchor_spl::token::ID,
    }
    .instruction();
    assert_anchor_error(
        t.send(&[ix], &[&owner]).await,
        ErrorCode::ConstraintMintTokenProgram,
    );
    t.assert_invariants().await;
}

#[tokio::test]
async fn transfer_fee_mint_is_refused() {
    let mut t = TestContext::new().await;
    let authority = t.payer().pubkey();
    let mint = t
        .create_mint_with(
            spl_token_2022::ID,
            6,
            &[ExtensionType::TransferFeeConfig],
            |mint| {
                vec![transfer_fee::instruction::initialize_transfer_fee_config(
                    &spl_token_2022::ID,
                    mint,
                    Some(&authority),
                    Some(&authority),
                    100,
                    1_000_000,
                )
                .unwrap()]
            },
        )
        .await
        .unwrap();
    let owner = t.wallet(1_000_000_000).await;
    let ix = mix::InitEscrow {
        owner: owner.pubkey(),
        mint: mint.address,
        token_program: mint.token_program,
    }
    .instruction();
    assert_error(
        t.send(&[ix], &[&owner]).await,
        MicropayError::UnsupportedMintExtension,
    );
    assert!(t.account(pda::vault(&mint.address).0).await.is_none());
    t.assert_invariants().await;
}

#[tokio::test]
async fn metadata_pointer_mint_is_accepted() {
    let mut t = TestContext::new().await;
    let authority = t.payer().pubkey();
    let mint = t
        .create_mint_with(
            spl_token_2022::ID,
            6,
            &[ExtensionType::MetadataPointer],
            |mint| {
                vec![metadata_pointer::instruction::initialize(
                    &spl_token_2022::ID,
                    mint,
                    Some(authority),
                    Some(*mint),
                )
                .unwrap()]
            },
        )
        .await
        .unwrap();
    let p = t.payer_with_escrow(&mint, 1_000, 1_000).await;
    assert_eq!(t.escrow(p.escrow).await.unwrap().balance, 1_000);
    t.assert_invariants().await;
}
