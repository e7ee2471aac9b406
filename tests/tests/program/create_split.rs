//! `create_split`: shares checked (sum, count, order, duplicates), the
//! address follows from mint and shares, recipients' earnings must exist,
//! a prefunded address cannot block it, nothing changes after creation.

use anchor_lang::prelude::AccountMeta;
use micropay::state::Split;
use micropay_sdk::{events::MicropayEvent, instructions as mix, pda};
use micropay_tests::*;
use solana_sdk::{pubkey::Pubkey, signature::Signer};

fn shares(bps: &[u16]) -> Vec<(Pubkey, u16)> {
    bps.iter().map(|b| (Pubkey::new_unique(), *b)).collect()
}

fn recipients(shares: &[(Pubkey, u16)]) -> Vec<SplitRecipient> {
    shares
        .iter()
        .map(|(owner, bps)| SplitRecipient {
            owner: *owner,
            bps: *bps,
        })
        .collect()
}

/// The create instruction for `shares`, earnings created for every owner.
async fn create_ix(
    t: &mut TestContext,
    mint: &MintInfo,
    shares: &[(Pubkey, u16)],
) -> (solana_sdk::instruction::Instruction, Pubkey) {
    for (owner, _) in shares {
        t.init_earnings(owner, mint).await;
    }
    mix::CreateSplit {
        payer: t.payer().pubkey(),
        mint: mint.address,
        recipients: recipients(shares),
    }
    .instruction()
    .unwrap()
}

#[tokio::test]
async fn anyone_creates_a_split_once_and_it_never_changes() {
    let mut t = TestContext::new().await;
    let mint = t.spl_mint().await;
    let s = shares(&[5_000, 3_000, 2_000]);
    let (ix, split) = create_ix(&mut t, &mint, &s).await;
    let events = t.send_events(std::slice::from_ref(&ix), &[]).await.unwrap();
    let sorted = {
        let mut r = recipients(&s);
        r.sort_by_key(|r| r.owner);
        r
    };
    assert!(matches!(&events[..], [MicropayEvent::SplitCreated(e)]
        if e.split == split && e.mint == mint.address && e.recipients == sorted));
    let state = t.split_state(split).await.unwrap();
    assert_eq!(state.recipients, sorted);
    assert_eq!(state.distributed, vec![0; 3]);
    assert_eq!(state.mint, mint.address);
    // created at its exact size, and at the address the sdk derives
    assert_eq!(t.account(split).await.unwrap().data.len(), Split::space(3));
    assert_eq!(pda::split(&mint.address, &sorted).unwrap().0, split);
    // the same shares again: the same address, refused
    t.next_slot().await;
    assert_error(t.send(&[ix], &[]).await, MicropayError::AlreadyInitialized);
    assert_eq!(t.split_state(split).await.unwrap(), state);
    t.assert_invariants().await;
}

#[tokio::test]
async fn malformed_shares_are_refused() {
    let mut t = TestContext::new().await;
    let mint = t.spl_mint().await;
    // 33 shares summing to 10,000: only the count is wrong
    let mut too_many: Vec<u16> = vec![303; 33];
    too_many[0] = 10_000 - 303 * 32;
    let cases: Vec<Vec<(Pubkey, u16)>> = vec![
        shares(&[5_000, 4_999]), // sums to 9,999
        shares(&[5_000, 5_001]), // 10,001
        shares(&[10_000, 0]),    // a zero share
        shares(&too_many),       // 33 recipients
        Vec::new(),              // nobody
    ];
    for s in cases {
        let (ix, split) = create_ix(&mut t, &mint, &s).await;
        assert_error(t.send(&[ix], &[]).await, MicropayError::InvalidSplitShares);
        assert!(t.account(split).await.is_none());
    }
    // the same owner twice
    let owner = Pubkey::new_unique();
    let (ix, _) = create_ix(&mut t, &mint, &[(owner, 5_000), (owner, 5_000)]).await;
    assert_error(t.send(&[ix], &[]).await, MicropayError::InvalidSplitShares);
    // not in ascending order (a hand-built instruction; the sdk sorts)
    let s = shares(&[6_000, 4_000]);
    let (mut ix, _) = create_ix(&mut t, &mint, &s).await;
    let mut descending = recipients(&s);
    descending.sort_by_key(|r| std::cmp::Reverse(r.owner));
    let data = anchor_lang::InstructionData::data(&micropay::instruction::CreateSplit {
        args: micropay::instructions::CreateSplitArgs {
            recipients: descending.clone(),
        },
    });
    ix.data = data;
    ix.accounts[2].pubkey = pda::split(&mint.address, &descending).unwrap().0;
    assert_error(t.send(&[ix], &[]).await, MicropayError::InvalidSplitShares);
    t.assert_invariants().await;
}

#[tokio::test]
async fn the_address_and_the_recipients_earnings_are_checked() {
    let mut t = TestContext::new().await;
    let mint = t.spl_mint().await;
    let s = shares(&[7_000, 3_000]);
    // another address than the shares' own
    let (mut ix, _) = create_ix(&mut t, &mint, &s).await;
    ix.accounts[2].pubkey = Pubkey::new_unique();
    assert_anchor_error(
        t.send(&[ix], &[]).await,
        anchor_lang::error::ErrorCode::ConstraintSeeds,
    );
    // one earnings account missing from the list
    let (mut ix, split) = create_ix(&mut t, &mint, &s).await;
    ix.accounts.pop();
    assert_error(
        t.send(&[ix], &[]).await,
        MicropayError::SplitAccountsMismatch,
    );
    // another wallet's earnings account in a recipient's place
    let (mut ix, _) = create_ix(&mut t, &mint, &s).await;
    let stranger = t.init_earnings(&Pubkey::new_unique(), &mint).await;
    let last = ix.accounts.len() - 1;
    ix.accounts[last] = AccountMeta::new_readonly(stranger, false);
    assert_error(
        t.send(&[ix], &[]).await,
        MicropayError::SplitAccountsMismatch,
    );
    // a recipient without an earnings account for the mint
    let late = Pubkey::new_unique();
    let (ix, _) = mix::CreateSplit {
        payer: t.payer().pubkey(),
        mint: mint.address,
        recipients: recipients(&[(s[0].0, 5_000), (late, 5_000)]),
    }
    .instruction()
    .unwrap();
    assert_error(
        t.send(&[ix], &[]).await,
        MicropayError::SplitEarningsMissing,
    );
    assert!(t.account(split).await.is_none());
    t.assert_invariants().await;
}

/// Lamports sent to a split's (predictable) address before it exists do not
/// block its creation.
#[tokio::test]
async fn a_prefunded_split_address_is_still_created() {
    let mut t = TestContext::new().await;
    let mint = t.spl_mint().await;
    let s = shares(&[9_000, 1_000]);
    let (ix, split) = create_ix(&mut t, &mint, &s).await;
    let griefer = t.wallet(1_000_000_000).await;
    // enough to be rent-exempt as an empty account, far from a split's rent
    let transfer =
        solana_system_interface::instruction::transfer(&griefer.pubkey(), &split, 1_000_000);
    t.send(&[transfer], &[&griefer]).await.unwrap();
    t.send(&[ix], &[]).await.unwrap();
    assert_eq!(t.split_state(split).await.unwrap().recipients.len(), 2);
}

/// 32 recipients, the most a split pays (its creation needs a v1
/// transaction on a cluster: 32 earnings accounts do not fit 1,232 bytes).
#[tokio::test]
async fn thirty_two_recipients_fit() {
    let mut t = TestContext::new().await;
    let mint = t.spl_mint().await;
    let mut bps = vec![312u16; 32];
    bps[0] = 10_000 - 312 * 31;
    let (ix, split) = create_ix(&mut t, &mint, &shares(&bps)).await;
    t.send(&[ix], &[]).await.unwrap();
    assert_eq!(t.split_state(split).await.unwrap().recipients.len(), 32);
}
