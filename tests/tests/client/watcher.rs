//! The watcher against a store that keeps failing: it stops by itself after
//! a bounded run of failed passes (so that its supervisor restarts it),
//! instead of retrying forever while dispute windows run out (issue 25).

use micropay_client::{
    ledger::embedded::EmbeddedLedger,
    store::{ClaimStatus, Credit, ReceiverStore, RowWrite, VoucherRecord},
    watcher::{Watcher, WatcherConfig},
    ClientError, Result,
};
use solana_sdk::{pubkey::Pubkey, signature::Keypair};
use std::{sync::Arc, time::Duration};

/// A store whose every call fails (a database gone for good).
struct Gone;

fn gone() -> ClientError {
    ClientError::store("connection refused (the test's fault)")
}

impl ReceiverStore for Gone {
    fn get(&self, _: &Pubkey) -> Result<Option<VoucherRecord>> {
        Err(gone())
    }
    fn insert(&self, _: &VoucherRecord) -> Result<bool> {
        Err(gone())
    }
    fn compare_and_swap(&self, _: u64, _: &VoucherRecord) -> Result<bool> {
        Err(gone())
    }
    fn list(&self, _: &[ClaimStatus]) -> Result<Vec<VoucherRecord>> {
        Err(gone())
    }
    fn write_batch(&self, _: &[RowWrite]) -> Result<Vec<bool>> {
        Err(gone())
    }
    fn put_credit(&self, _: &Credit) -> Result<bool> {
        Err(gone())
    }
    fn take_credit(&self, _: &Pubkey, _: u64, _: &str) -> Result<Option<Credit>> {
        Err(gone())
    }
    fn count_credits(&self) -> Result<u64> {
        Err(gone())
    }
}

#[tokio::test]
async fn the_watcher_gives_up_on_a_store_that_keeps_failing() {
    let ledger = Arc::new(EmbeddedLedger::start().await);
    let watcher = Watcher::new(
        ledger,
        Arc::new(Gone),
        Arc::new(Keypair::new()),
        WatcherConfig {
            min_backoff: Duration::from_millis(1),
            max_backoff: Duration::from_millis(5),
            max_store_failures: 4,
            ..WatcherConfig::default()
        },
    );
    let report = tokio::time::timeout(
        Duration::from_secs(30),
        watcher.run(None, std::future::pending()),
    )
    .await
    .expect("the watcher stopped by itself");
    assert_eq!(report.errors, 4);
    assert_eq!(report.passes, 0);
    let why = report.gave_up.expect("it says why");
    assert!(
        why.contains("4 passes in a row") && why.contains("connection refused"),
        "{why}"
    );
}
