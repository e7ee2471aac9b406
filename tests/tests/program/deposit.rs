use anchor_spl::{
    token::spl_token,
    token_interface::spl_token_2022::{self, extension::ExtensionType},
};
use micropay_sdk::{events::MicropayEvent, instructions as mix};
use micropay_tests::*;
use solana_sdk::{
    instruction::InstructionError,
    signature::{Keypair, Signer},
    transaction::TransactionError,
};

#[tokio::test]
async fn deposit_credits_escrow_and_vault() {
    let mut t = TestContext::new().await;
    let mint = t.spl_mint().await;
    let p = t.payer_with_escrow(&mint, 1_000, 0).await;
    // the whole token balance: the boundary
    let events = t
        .send_events(
            &[mix::Deposit {
                depositor: p.owner.pubkey(),
                escrow: p.escrow,
                mint: mint.address,
                source: p.token_account,
                token_program: mint.token_program,
                amount: 1_000,
            }
            .instruction()],
            &[&p.owner],
        )
        .await
        .unwrap();
    assert!(
        matches!(&events[..], [MicropayEvent::Deposited(d)] if d.amount == 1_000 && d.balance == 1_000)
    );
    assert_eq!(t.escrow(p.escrow).await.unwrap().balance, 1_000);
    assert_eq!(t.token_balance(p.token_account).await, 0);
    t.assert_invariants().await;
}

#[tokio::test]
async fn anyone_may_fund_an_escrow() {
    let mut t = TestContext::new().await;
    let mint = t.spl_mint().await;
    let p = t.payer_with_escrow(&mint, 0, 0).await;
    let sponsor = t.wallet(1_000_000_000).await;
    let source = t.token_account(&mint, &sponsor.pubkey()).await;
    t.fund_token_account(&mint, &source, 300).await;
    let ix = mix::Deposit {
        depositor: sponsor.pubkey(),
        escrow: p.escrow,
        mint: mint.address,
        source,
        token_program: mint.token_program,
        amount: 300,
    }
    .instruction();
    t.send(&[ix], &[&sponsor]).await.unwrap();
    assert_eq!(t.escrow(p.escrow).await.unwrap().balance, 300);
    t.assert_invariants().await;
}

#[tokio::test]
async fn zero_deposit_is_rejected() {
    let mut t = TestContext::new().await;
    let mint = t.spl_mint().await;
    let p = t.payer_with_escrow(&mint, 1_000, 0).await;
    let ix = mix::Deposit {
        depositor: p.owner.pubkey(),
        escrow: p.escrow,
        mint: mint.address,
        source: p.token_account,
        token_program: mint.token_program,
        amount: 0,
    }
    .instruction();
    assert_error(t.send(&[ix], &[&p.owner]).await, MicropayError::ZeroAmount);
    t.assert_invariants().await;
}

#[tokio::test]
async fn deposit_into_escrow_of_another_mint_is_rejected() {
    let mut t = TestContext::new().await;
    let mint = t.spl_mint().await;
    let other = t.spl_mint().await;
    let p = t.payer_with_escrow(&mint, 0, 0).await;
    let _ = t.payer_with_escrow(&other, 0, 0).await; // creates other's vault
    let source = t.token_account(&other, &p.owner.pubkey()).await;
    t.fund_token_account(&other, &source, 100).await;
    let ix = mix::Deposit {
        depositor: p.owner.pubkey(),
        escrow: p.escrow,
        mint: other.address,
        source,
        token_program: other.token_program,
        amount: 100,
    }
    .instruction();
    assert_error(
        t.send(&[ix], &[&p.owner]).await,
        MicropayError::MintMismatch,
    );
    t.assert_invariants().await;
}

/// The failing cross-program call logs as on a cluster: the token program's
/// `failed` line at depth 2, then micropay's with the token program's error.
#[tokio::test]
async fn deposit_above_token_balance_fails_in_token_program() {
    let mut t = TestContext::new().await;
    let mint = t.spl_mint().await;
    let p = t.payer_with_escrow(&mint, 1_000, 0).await;
    let ix = mix::Deposit {
        depositor: p.owner.pubkey(),
        escrow: p.escrow,
        mint: mint.address,
        source: p.token_account,
        token_program: mint.token_program,
        amount: 1_001,
    }
    .instruction();
    let (result, logs) = t.simulate(std::slice::from_ref(&ix), &[&p.owner]).await;
    assert_eq!(
        result,
        Err(TransactionError::InstructionError(
            0,
            InstructionError::Custom(1)
        ))
    );
    assert_eq!(logs::well_formed(&logs), Ok(()));
    let token = mint.token_program.to_string();
    for line in [
        format!("Program {token} invoke [2]"),
        format!("Program {token} failed: custom program error: 0x1"),
    ] {
        assert!(logs.contains(&line), "{line}: {logs:#?}");
    }
    assert_eq!(
        logs.last().unwrap(),
        &format!("Program {} failed: custom program error: 0x1", micropay::ID)
    );
    let err = t.send(&[ix], &[&p.owner]).await.unwrap_err();
    assert_eq!(
        custom_code(&err),
        Some(spl_token::error::TokenError::InsufficientFunds as u32)
    );
    assert_eq!(t.escrow(p.escrow).await.unwrap().balance, 0);
    t.assert_invariants().await;
}

/// Regression: a Token-2022 mint with a close authority can be closed at zero
/// supply and re-created at the same address with a permanent delegate, which
/// could then drain the vault. Every deposit re-checks the mint's extensions.
#[tokio::test]
async fn a_mint_recreated_with_a_refused_extension_takes_no_deposit() {
    let mut t = TestContext::new().await;
    let authority = t.payer().pubkey();
    let key = Keypair::new();
    let mint = t
        .create_mint_at(
            &key,
            spl_token_2022::ID,
            6,
            &[ExtensionType::MintCloseAuthority],
            |m| {
                vec![
                    spl_token_2022::instruction::initialize_mint_close_authority(
                        &spl_token_2022::ID,
                        m,
                        Some(&authority),
                    )
                    .unwrap(),
                ]
            },
        )
        .await
        .unwrap();
    // an escrow (and so the vault) exists while the supply is zero
    let p = t.payer_with_escrow(&mint, 0, 0).await;
    let close = spl_token_2022::instruction::close_account(
        &spl_token_2022::ID,
        &mint.address,
        &authority,
        &authority,
        &[],
    )
    .unwrap();
    t.send(&[close], &[]).await.unwrap();
    assert!(t.account(mint.address).await.is_none());
    let evil = t
        .create_mint_at(
            &key,
            spl_token_2022::ID,
            6,
            &[ExtensionType::PermanentDelegate],
            |m| {
                vec![spl_token_2022::instruction::initialize_permanent_delegate(
                    &spl_token_2022::ID,
                    m,
                    &authority,
                )
                .unwrap()]
            },
        )
        .await
        .unwrap();
    assert_eq!(evil.address, mint.address);
    let source = t.token_account(&evil, &p.owner.pubkey()).await;
    t.fund_token_account(&evil, &source, 1_000).await;
    let ix = mix::Deposit {
        depositor: p.owner.pubkey(),
        escrow: p.escrow,
        mint: evil.address,
        source,
        token_program: evil.token_program,
        amount: 1_000,
    }
    .instruction();
    assert_error(
        t.send(&[ix], &[&p.owner]).await,
        MicropayError::UnsupportedMintExtension,
    );
    assert_eq!(t.escrow(p.escrow).await.unwrap().balance, 0);
    assert_eq!(t.token_balance(source).await, 1_000);
    t.assert_invariants().await;
}
