//! The native program logs as the SBF program does on a cluster: one
//! `invoke [n]`/`success`/`failed` per call at its depth, Anchor's
//! `Instruction: …` and `AnchorError …` lines as `Program log:`. (Every
//! transaction sent through `send_events` is also checked for well-formed
//! logs; a failed cross-program call's logs are checked in `deposit.rs`.)

use micropay_sdk::instructions as mix;
use micropay_tests::{logs::well_formed, *};
use solana_sdk::{instruction::InstructionError, transaction::TransactionError};

fn has(logs: &[String], line: &str) -> bool {
    logs.iter().any(|l| l == line)
}

#[tokio::test]
async fn a_claim_logs_its_name_its_event_calls_and_success() {
    let mut t = TestContext::new().await;
    let mint = t.spl_mint().await;
    let p = t.payer_with_escrow(&mint, 1_000_000, 1_000_000).await;
    let c = t.creator(&mint).await;
    let ch = t.open_channel(&p, &c, 10_000, ChannelOpts::default()).await;
    let id = micropay::ID.to_string();

    let (result, logs) = t.simulate(&[mix::claim(&[ch.voucher(10)])], &[]).await;
    assert_eq!(result, Ok(()));
    assert_eq!(well_formed(&logs), Ok(()));
    assert_eq!(logs[0], format!("Program {id} invoke [1]"));
    assert!(has(&logs, "Program log: Instruction: Claim"), "{logs:#?}");
    // the event travels as a self-CPI one level down
    assert!(has(&logs, &format!("Program {id} invoke [2]")), "{logs:#?}");
    assert_eq!(logs.last().unwrap(), &format!("Program {id} success"));
    // nothing twice: exactly one top-level call
    let top = format!("Program {id} invoke [1]");
    assert_eq!(logs.iter().filter(|l| **l == top).count(), 1);
}

/// What a TypeScript client needs for a typed `AnchorError`: Anchor's error
/// line in the logs, then the runtime's `failed` line with the code.
#[tokio::test]
async fn a_forged_voucher_logs_the_anchor_error() {
    let mut t = TestContext::new().await;
    let mint = t.spl_mint().await;
    let p = t.payer_with_escrow(&mint, 1_000_000, 1_000_000).await;
    let c = t.creator(&mint).await;
    let ch = t.open_channel(&p, &c, 10_000, ChannelOpts::default()).await;
    let mut forged = ch.voucher(10);
    forged.signature = sign_voucher(&solana_sdk::signature::Keypair::new(), &ch.address, 10);

    let (result, logs) = t.simulate(&[mix::claim(&[forged])], &[]).await;
    let code = u32::from(MicropayError::InvalidVoucherSignature);
    assert_eq!(
        result,
        Err(TransactionError::InstructionError(
            0,
            InstructionError::Custom(code)
        ))
    );
    assert_eq!(well_formed(&logs), Ok(()));
    let error = logs
        .iter()
        .find(|l| l.starts_with("Program log: AnchorError"))
        .unwrap_or_else(|| panic!("no AnchorError line: {logs:#?}"));
    assert!(
        error.contains(&format!(
            "Error Code: InvalidVoucherSignature. Error Number: {code}. Error Message: "
        )),
        "{error}"
    );
    assert_eq!(
        logs.last().unwrap(),
        &format!(
            "Program {} failed: custom program error: {code:#x}",
            micropay::ID
        )
    );
}
