//! End to end on the embedded ledger: 3 payers, 4 creators, 10,000 payments of
//! random prices through payer → receiver → store → planner → claim →
//! withdraw earnings, verified on chain.
#![allow(clippy::arithmetic_side_effects)] // test bookkeeping on small numbers

mod common;

use common::verify;
use micropay_cli::scenario::{self, ScenarioConfig};
use micropay_client::ledger::{embedded::EmbeddedLedger, Ledger};
use std::sync::Arc;

#[tokio::test]
async fn ten_thousand_payments_settle_exactly_with_fees_below_target() {
    let ledger = Arc::new(EmbeddedLedger::start().await);
    let funder = ledger.payer().insecure_clone();
    let config = ScenarioConfig::default();
    let report = scenario::run(ledger.clone(), ledger.as_ref(), &funder, &config, &|_| {})
        .await
        .unwrap();
    let l: &dyn Ledger = ledger.as_ref();
    verify::report_on_chain(l, &config, &report).await;
    println!(
        "{} payments worth {} lamports settled by {} claim transactions ({} vouchers) for {} lamports: ratio {:.5}",
        report.payments, report.value_paid, report.claim_transactions, report.vouchers_settled, report.fees_lamports, report.fee_ratio
    );
}

/// `demo --splits`'s story: the first creator is a 3-way royalty split; after
/// the claims the split distributes and each owner's withdrawal is its share
/// of what the receiver counted net, to the base unit (checked on chain).
#[tokio::test]
async fn a_split_creator_pays_each_owner_its_share() {
    let ledger = Arc::new(EmbeddedLedger::start().await);
    let funder = ledger.payer().insecure_clone();
    let config = ScenarioConfig {
        payments: 3_000,
        split: Some([5_000, 3_333, 1_667]),
        ..ScenarioConfig::default()
    };
    let report = scenario::run(ledger.clone(), ledger.as_ref(), &funder, &config, &|_| {})
        .await
        .unwrap();
    let l: &dyn Ledger = ledger.as_ref();
    verify::report_on_chain(l, &config, &report).await;
    let split = report.creators[0].split.as_ref().expect("a split creator");
    assert_eq!(split.owners.len(), 3);
    assert!(report.creators[1..].iter().all(|c| c.split.is_none()));
    assert_eq!(report.unaccounted, 0);
}
