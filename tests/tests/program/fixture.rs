//! The fixture answers what a loaded machine does to a test with an error,
//! never a panic: a blockhash that aged out while the test waited, and a
//! transaction the runtime refuses with lines of its own in the logs.

use micropay_tests::*;
use solana_sdk::{
    instruction::{AccountMeta, Instruction},
    pubkey::Pubkey,
    signature::Signer,
};

fn transfer(t: &TestContext, lamports: u64) -> Instruction {
    solana_system_interface::instruction::transfer(
        &t.payer().pubkey(),
        &Pubkey::new_unique(),
        lamports,
    )
}

/// program-test's bank panicked (an overflow in `bank.rs`, an unwrap in
/// `banks_server.rs`) on a transaction whose blockhash had aged out; the
/// fixture now signs with a fresh one.
#[tokio::test]
async fn an_aged_out_blockhash_is_replaced_not_a_panic() {
    let mut t = TestContext::new().await;
    let old = t.ctx.last_blockhash;
    // past the 150 blockhashes one is good for (one per bank), as on a
    // loaded machine whose test ran for minutes
    for _ in 0..160 {
        t.next_slot().await;
    }
    t.ctx.last_blockhash = old;
    t.send(&[transfer(&t, 1_000_000)], &[]).await.unwrap();
    t.ctx.last_blockhash = old;
    let events = t
        .send_events(&[transfer(&t, 1_000_000)], &[])
        .await
        .unwrap();
    assert!(events.is_empty());
}

/// A transaction calling a program that does not exist fails with the
/// runtime's error; its logs (the runtime's own lines, not a program's)
/// are not held to the program's log shape.
#[tokio::test]
async fn an_unknown_program_is_an_error_not_a_panic() {
    let mut t = TestContext::new().await;
    let ix = Instruction {
        program_id: Pubkey::new_unique(),
        accounts: vec![AccountMeta::new(t.payer().pubkey(), true)],
        data: vec![1, 2, 3],
    };
    let (result, logs) = t.simulate(std::slice::from_ref(&ix), &[]).await;
    assert_eq!(
        result,
        Err(solana_sdk::transaction::TransactionError::ProgramAccountNotFound)
    );
    assert!(logs.is_empty(), "{logs:?}");
    assert!(t.send_events(std::slice::from_ref(&ix), &[]).await.is_err());
    assert!(t.send(&[ix], &[]).await.is_err());
}
