//! The end of the story: creators (a split's owners after its
//! distribution) and the dApp withdraw what they earned, every payer's
//! escrow is read back, and the books must balance to the base unit.

use super::{
    cast::{Cast, Creator, World, TOKEN_PROGRAM},
    CreatorOutcome, PayerOutcome, ScenarioError, ScenarioReport, SplitOutcome, SplitOwnerOutcome,
};
use anchor_lang::prelude::Pubkey;
use micropay_client::{
    accounts, earnings,
    error::{ClientError, Result},
    planner::Execution,
    splits,
    tokens::{self, Destination, MintRef},
};
use micropay_sdk::pda;
use solana_sdk::signature::{Keypair, Signer};

/// Lamports the funder gives an owner before its withdrawal: a rent-exempt
/// wallet and its fee.
const WITHDRAW_LAMPORTS: u64 = 1_000_000;

/// Withdrawals, outcomes and the report; fails when the story broke one of
/// its promises (a voucher lost, a split share wrong).
pub(super) async fn settle(
    world: &World<'_>,
    cast: Cast,
    total: Execution,
    refused: usize,
) -> Result<ScenarioReport, ScenarioError> {
    let mut creators = Vec::with_capacity(cast.creators.len());
    let mut remainders = 0u64;
    for creator in cast.creators {
        let (outcome, remainder) = creator_outcome(world, creator).await?;
        remainders = remainders.saturating_add(remainder);
        creators.push(outcome);
    }
    let dapp = cast.dapp.pubkey();
    let (dapp_withdrawn_to, dapp_withdrawn) = withdraw(world, cast.dapp).await?;
    let mut payers = Vec::with_capacity(cast.payers.len());
    for payer in cast.payers {
        let escrow_balance = accounts::escrow(world.l(), &payer.escrow)
            .await?
            .ok_or(ClientError::AccountNotFound(payer.escrow))?
            .balance;
        payers.push(PayerOutcome {
            owner: payer.owner.pubkey(),
            escrow: payer.escrow,
            deposited: world.deposit,
            paid: payer.paid,
            escrow_balance,
            channels: payer.channels,
        });
    }
    if let Some(l) = total.lost.first() {
        return Err(ScenarioError::Lost {
            channel: l.channel,
            amount: l.amount,
        });
    }
    let dapp_side = Dapp {
        address: dapp,
        withdrawn: dapp_withdrawn,
        withdrawn_to: dapp_withdrawn_to,
    };
    Ok(report(
        world,
        (payers, creators, dapp_side),
        remainders,
        total,
        refused,
    ))
}

/// Withdraws everything `owner` earned to a new token account of its own;
/// that account and its balance.
async fn withdraw(world: &World<'_>, owner: Keypair) -> Result<(Pubkey, u64)> {
    let (l, mint, funder) = (world.l(), world.mint, world.funder);
    let earned = accounts::earnings(l, &pda::earnings(&owner.pubkey(), &mint).0)
        .await?
        .map_or(0, |e| e.balance);
    let dest =
        tokens::create_token_account(l, funder, &mint, &owner.pubkey(), &TOKEN_PROGRAM).await?;
    if earned > 0 {
        // the owner signs and pays its withdrawal's fee (the library's
        // step): the funder gives it the SOL first
        let fees = solana_system_interface::instruction::transfer(
            &funder.pubkey(),
            &owner.pubkey(),
            WITHDRAW_LAMPORTS,
        );
        l.send(&[fees], funder, &[]).await?;
        let mint_ref = MintRef {
            address: mint,
            token_program: TOKEN_PROGRAM,
        };
        earnings::withdraw(l, &owner, &mint_ref, earned, Destination::Account(dest)).await?;
    }
    Ok((dest, accounts::token_amount(l, &dest).await?))
}

/// A creator withdraws (a split distributes first, then each owner
/// withdraws its share); its outcome and the split's remainder.
async fn creator_outcome(
    world: &World<'_>,
    creator: Creator,
) -> Result<(CreatorOutcome, u64), ScenarioError> {
    let Creator {
        payee,
        accepted,
        accepted_net,
        ..
    } = creator;
    if !payee.is_split {
        let wallet = payee.owners.into_iter().next().map(|(k, _)| k);
        let (withdrawn_to, withdrawn) = match wallet {
            Some(wallet) => withdraw(world, wallet).await?,
            None => (payee.address, 0),
        };
        let outcome = CreatorOutcome {
            wallet: payee.address,
            accepted,
            accepted_net,
            withdrawn_to,
            withdrawn,
            split: None,
        };
        return Ok((outcome, 0));
    }
    // a split: anyone distributes, then each owner withdraws its share
    let l = world.l();
    let split = accounts::split(l, &payee.address)
        .await?
        .ok_or(ClientError::AccountNotFound(payee.address))?;
    splits::distribute(l, world.funder, &payee.address, &split, &world.mint).await?;
    let mut owners = Vec::with_capacity(payee.owners.len());
    for (owner, bps) in payee.owners {
        let address = owner.pubkey();
        let (withdrawn_to, withdrawn) = withdraw(world, owner).await?;
        owners.push(SplitOwnerOutcome {
            owner: address,
            bps,
            withdrawn_to,
            withdrawn,
        });
    }
    let remainder = accounts::earnings(l, &pda::earnings(&payee.address, &world.mint).0)
        .await?
        .map_or(0, |e| e.balance);
    check_split(&owners, remainder, accepted_net)?;
    let outcome = CreatorOutcome {
        wallet: payee.address,
        accepted,
        accepted_net,
        withdrawn_to: owners.first().map_or(payee.address, |o| o.withdrawn_to),
        withdrawn: owners.iter().map(|o| o.withdrawn).sum(),
        split: Some(SplitOutcome { owners, remainder }),
    };
    Ok((outcome, remainder))
}

/// The split's promise: each owner holds its share of what the receiver
/// counted net, to the base unit, and nothing is lost.
fn check_split(
    owners: &[SplitOwnerOutcome],
    remainder: u64,
    accepted_net: u64,
) -> Result<(), ScenarioError> {
    for o in owners {
        let share = micropay::math::split_share(accepted_net, o.bps);
        if share != Some(o.withdrawn) {
            return Err(ScenarioError::SplitShare {
                owner: o.owner,
                withdrawn: o.withdrawn,
                share: share.unwrap_or(0),
            });
        }
    }
    let total = owners
        .iter()
        .fold(remainder, |sum, o| sum.saturating_add(o.withdrawn));
    if total != accepted_net {
        return Err(ScenarioError::SplitShares);
    }
    Ok(())
}

/// The dApp's side of the settlement.
struct Dapp {
    address: Pubkey,
    withdrawn: u64,
    withdrawn_to: Pubkey,
}

/// The report: every number, every address, and the unaccounted balance
/// (deposits not found in escrows or withdrawals).
fn report(
    world: &World<'_>,
    (payers, creators, dapp): (Vec<PayerOutcome>, Vec<CreatorOutcome>, Dapp),
    remainders: u64,
    total: Execution,
    refused: usize,
) -> ScenarioReport {
    let config = world.config;
    let value_paid: u64 = creators.iter().map(|c| c.accepted).sum();
    let deposited: i128 = payers.iter().map(|p| i128::from(p.deposited)).sum();
    let held: i128 = payers
        .iter()
        .map(|p| i128::from(p.escrow_balance))
        .chain(creators.iter().map(|c| i128::from(c.withdrawn)))
        .chain(std::iter::once(i128::from(dapp.withdrawn)))
        .chain(std::iter::once(i128::from(remainders)))
        .sum();
    let value_lamports = world.value.lamports_of(value_paid) as f64;
    ScenarioReport {
        mint: world.mint,
        payments: config.payments,
        refused,
        value_paid,
        claim_transactions: total.transactions,
        vouchers_settled: total.vouchers_settled,
        vouchers_skipped: total.vouchers_skipped,
        fees_lamports: total.fees,
        fee_per_payment_lamports: total.fees as f64 / config.payments.max(1) as f64,
        fee_ratio: if value_lamports > 0.0 {
            total.fees as f64 / value_lamports
        } else {
            0.0
        },
        per_payment_fees_lamports: u64::try_from(config.payments)
            .unwrap_or(u64::MAX)
            .saturating_mul(5_000),
        unaccounted: deposited.saturating_sub(held),
        payers,
        creators,
        dapp: dapp.address,
        dapp_fee_bps: config.dapp_fee_bps,
        dapp_withdrawn: dapp.withdrawn,
        dapp_withdrawn_to: dapp.withdrawn_to,
        settled: total.settled,
        lost: total
            .lost
            .iter()
            .fold(0u64, |sum, l| sum.saturating_add(l.amount)),
        quarantined: total.quarantined.len(),
    }
}
