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
