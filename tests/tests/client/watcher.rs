//! The watcher against a store that keeps failing: it stops by itself after
//! a bounded run of failed passes (so that its supervisor restarts it),
//! instead of retrying forever while dispute windows run out (issue 25).
//! And what it tells an operator after every pass: what was claimed and
//! what still waits, with its earliest deadline (issue 27's metrics).

use anchor_spl::token::spl_token::native_mint::ID as SOL;
use micropay_client::{
    ledger::{embedded::EmbeddedLedger, Ledger},
    store::{ClaimStatus, Credit, ReceiverStore, RowWrite, VoucherRecord},
    watcher::{Backlog, WatchReport, WatchState, Watcher, WatcherConfig},
    ClientError, Result,
};
use micropay_sdk::voucher::Voucher;
use micropay_tests::client as common;
use solana_sdk::{
    pubkey::Pubkey,
    signature::{Keypair, Signer},
};
use std::{collections::BTreeMap, sync::Arc, time::Duration};

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

/// After each pass the backlog is what the pass left: a voucher accepted
/// after a claim waits (with its channel's expiry as its deadline) until the
/// next routine claim; the running report reaches a `reporting` watcher's
/// follower after every pass.
#[tokio::test]
async fn each_pass_says_what_waits_and_the_report_is_published() {
    let ledger = Arc::new(EmbeddedLedger::start().await);
    let expires_at = ledger.unix_timestamp().await.unwrap() + 30 * 86_400;
    let f = common::one_channel(&ledger, 10_000_000, 5_000_000, expires_at).await;
    let (store, receiver) = common::receiver(&ledger, &f.creator.pubkey());
    let config = WatcherConfig {
        plan_interval: Duration::from_secs(3_600),
        ..WatcherConfig::default()
    };
    let fee_payer = Arc::new(Keypair::new());
    ledger
        .airdrop(&fee_payer.pubkey(), 1_000_000_000)
        .await
        .unwrap();
    let watcher = Watcher::new(
        ledger.clone(),
        store.clone(),
        fee_payer.clone(),
        config.clone(),
    );
    let mut state = WatchState::default();
    receiver
        .accept(&Voucher::sign(&f.session, f.channel, 2_000_000), 2_000_000)
        .await
        .unwrap();
    // the first pass claims (routine is due, the value pays for its fee):
    // nothing waits after it
    let first = watcher.pass(&mut state).await.unwrap();
    assert_eq!(first.execution.settled_amount, 2_000_000);
    assert_eq!(first.backlog, Backlog::default());
    // accepted after the claim: waits for the next routine claim
    receiver
        .accept(&Voucher::sign(&f.session, f.channel, 2_500_000), 500_000)
        .await
        .unwrap();
    let second = watcher.pass(&mut state).await.unwrap();
    assert!(!second.planned);
    assert_eq!(
        second.backlog,
        Backlog {
            vouchers: 1,
            value: BTreeMap::from([(SOL, 500_000)]),
            earliest_deadline: Some(expires_at),
        }
    );

    // run() publishes the report after its pass
    let (progress, mut follow) = tokio::sync::watch::channel(WatchReport::default());
    let watcher = Watcher::new(ledger, store, fee_payer, config).reporting(progress);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(async move {
        watcher
            .run(None, async {
                let _ = stopped.await;
            })
            .await
    });
    tokio::time::timeout(Duration::from_secs(30), follow.changed())
        .await
        .expect("a report after the first pass")
        .unwrap();
    let seen = follow.borrow().clone();
    assert_eq!(seen.passes, 1);
    assert!(seen.last_pass_at.is_some());
    let _ = stop.send(());
    let report = running.await.unwrap();
    assert_eq!(report.passes, 1);
}
