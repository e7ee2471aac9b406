//! The Postgres store on a real, throwaway Postgres cluster: the conformance
//! suite every backend passes, receivers on two handles (two gateways)
//! sharing one database through group commit, migrations, and the
//! durability check. Skipped with one line when Postgres is not installed
//! (`.ci/run` installs it and makes a skip a failure).

use micropay_client::store::{
    commit::GroupCommit, conformance, postgres::PostgresStore, rules, ClaimStatus, ReceiverStore,
    RowWrite,
};
use micropay_sdk::voucher::Voucher;
use micropay_tests::postgres::PgCluster;
use solana_sdk::{hash::Hash, pubkey::Pubkey, signature::Keypair};
use std::sync::Arc;

#[test]
fn postgres_store_conforms_also_across_connections() {
    let Some(pg) = PgCluster::start() else {
        return;
    };
    let url = pg.create_database("conformance");
    let store = PostgresStore::connect(&url).unwrap();
    assert_eq!(store.schema_version().unwrap(), 4);
    conformance::receiver_store(&store);
    conformance::payer_store(&store);

    // a batch the server refuses midway (its writes are pipelined with the
    // COMMIT) applies nothing, not even the writes before the refused one,
    // and its connection serves the next batch
    let [a, b, c] = [(); 3].map(|()| Pubkey::new_unique());
    let mut refused = conformance::sample_record(b, 1);
    refused.note = Some("a NUL \0 byte, which Postgres text refuses".into());
    let batch = |rows: Vec<_>| store.write_batch(&rows);
    let err = batch(vec![
        RowWrite::Insert(conformance::sample_record(a, 1)),
        RowWrite::Insert(refused),
        RowWrite::Insert(conformance::sample_record(c, 1)),
    ])
    .unwrap_err();
    assert!(err.to_string().contains("22021"), "{err}");
    for row in [a, b, c] {
        assert_eq!(
            store.get(&row).unwrap(),
            None,
            "a refused batch wrote a row"
        );
    }
    let again = batch(vec![
        RowWrite::Insert(conformance::sample_record(a, 1)),
        RowWrite::Insert(conformance::sample_record(c, 1)),
    ]);
    assert_eq!(again.unwrap(), vec![true, true]);
    let shared = pg.create_database("shared");
    let a: Arc<dyn ReceiverStore> = Arc::new(PostgresStore::connect(&shared).unwrap());
    let b: Arc<dyn ReceiverStore> = Arc::new(PostgresStore::connect(&shared).unwrap());
    conformance::concurrent_receivers(vec![a, b]);
}

/// Two gateways (two store handles, each with its own group-committing
/// writer) record the same vouchers of the same channels at once, in
/// different orders: each increment is counted once, and the database holds
/// every channel's highest voucher.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_gateways_group_committing_count_each_increment_once() {
    let Some(pg) = PgCluster::start() else {
        return;
    };
    let url = pg.create_database("gateways");
    let gateways: Vec<Arc<GroupCommit>> = (0..2)
        .map(|_| {
            let store: Arc<dyn ReceiverStore> = Arc::new(PostgresStore::connect(&url).unwrap());
            Arc::new(GroupCommit::start(store, 512).unwrap())
        })
        .collect();
    let key = Arc::new(Keypair::new());
    let (creator, mint) = (Pubkey::new_unique(), Pubkey::new_unique());
    let channels: Vec<Pubkey> = (0..8).map(|_| Pubkey::new_unique()).collect();
    let seen = rules::Sighting {
        cluster: Hash::new_from_array([1; 32]),
        slot: 1,
        claimed: 0,
        allocation: 1_000_000,
    };
    let mut tasks = Vec::new();
    for (g, gateway) in gateways.iter().enumerate() {
        for (c, &channel) in channels.iter().enumerate() {
            let (gateway, key) = (gateway.clone(), key.clone());
            tasks.push(tokio::spawn(async move {
                let mut counted = 0u64;
                for step in 1..=30u64 {
                    let n = if (g + c) % 2 == 0 { step } else { 31 - step };
                    let voucher = Voucher::sign(key.as_ref(), channel, n * 10);
                    let recorded = gateway
                        .record_voucher(&mut None, &voucher, &creator, &mint, &seen, &|_| true)
                        .await
                        .unwrap();
                    if let rules::Recorded::Accepted { previous } = recorded {
                        counted += voucher.amount - previous;
                    }
                }
                counted
            }));
        }
    }
    let mut counted = 0;
    for t in tasks {
        counted += t.await.unwrap();
    }
    assert_eq!(counted, 8 * 300, "each increment counted exactly once");
    let store = PostgresStore::connect(&url).unwrap();
    let rows = store.list(&ClaimStatus::ALL).unwrap();
    assert_eq!(rows.len(), 8);
    assert!(rows.iter().all(|r| r.voucher.amount == 300));
    let commits: u64 = gateways.iter().map(|g| g.stats().0).sum();
    let writes: u64 = gateways.iter().map(|g| g.stats().1).sum();
    assert!(commits <= writes);
}

#[test]
fn migrations_are_versioned_and_a_lossy_database_is_refused() {
    let Some(pg) = PgCluster::start() else {
        return;
    };
    let url = pg.create_database("schema");
    let channel = Pubkey::new_unique();
    {
        let store = PostgresStore::connect(&url).unwrap();
        let row = conformance::sample_record(channel, u64::MAX);
        assert!(store.insert(&row).unwrap());
    }
    // a second connect (another gateway starting) migrates nothing and keeps rows
    let store = PostgresStore::connect(&url).unwrap();
    assert_eq!(store.schema_version().unwrap(), 4);
    assert_eq!(
        store.get(&channel).unwrap().unwrap().voucher.amount,
        u64::MAX
    );
    drop(store);
    // a schema from a newer micropay is refused, naming the database
    pg.sql("schema", "UPDATE micropay_schema SET version = 99");
    let err = PostgresStore::connect(&url).err().unwrap().to_string();
    assert!(err.contains("newer than this client"), "{err}");
    assert!(err.contains("dbname=schema"), "{err}");
    // a database whose commits are not durable is refused
    let lossy = pg.create_database("lossy");
    pg.sql("lossy", "ALTER DATABASE lossy SET synchronous_commit = off");
    let err = PostgresStore::connect(&lossy).err().unwrap().to_string();
    assert!(err.contains("synchronous_commit"), "{err}");
    // nothing listening: a clear error, no hang
    let missing = format!("host={}/nowhere user=x dbname=y", pg.socket().display());
    let err = PostgresStore::connect(&missing).err().unwrap().to_string();
    assert!(err.contains("postgres"), "{err}");
}

/// Issue 25: the server ends the store's connections mid-run — every
/// backend terminated (an idle timeout, a pooler recycling connections),
/// then a restart (a failover) — while a receiver records vouchers through
/// group commit and the pool. Nothing acknowledged is lost, nothing is
/// counted twice (a write whose outcome was unknown is re-read, never
/// assumed), and the store serves again by itself, without a new handle.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_store_reconnects_after_terminated_backends_and_a_restart() {
    let Some(mut pg) = PgCluster::start() else {
        return;
    };
    let url = pg.create_database("reconnect");
    let store: Arc<dyn ReceiverStore> = Arc::new(PostgresStore::connect(&url).unwrap());
    let gateway = Arc::new(GroupCommit::start(store.clone(), 64).unwrap());
    let key = Arc::new(Keypair::new());
    let (channel, creator, mint) = (
        Pubkey::new_unique(),
        Pubkey::new_unique(),
        Pubkey::new_unique(),
    );
    let seen = rules::Sighting {
        cluster: Hash::new_from_array([1; 32]),
        slot: 1,
        claimed: 0,
        allocation: u64::MAX,
    };
    let acked = Arc::new(std::sync::atomic::AtomicU64::new(0));
    const STEPS: u64 = 300;
    let writer = {
        let (gateway, key, acked) = (gateway.clone(), key.clone(), acked.clone());
        tokio::spawn(async move {
            let (mut errors, mut counted) = (0u64, 0u64);
            for step in 1..=STEPS {
                let voucher = Voucher::sign(key.as_ref(), channel, step * 10);
                loop {
                    match gateway
                        .record_voucher(&mut None, &voucher, &creator, &mint, &seen, &|_| true)
                        .await
                    {
                        Ok(rules::Recorded::Accepted { previous }) => {
                            counted += voucher.amount - previous;
                            break;
                        }
                        // an earlier attempt whose outcome was unknown did commit
                        Ok(rules::Recorded::Duplicate) => break,
                        Ok(other) => panic!("step {step}: {other:?}"),
                        Err(_) => {
                            errors += 1;
                            assert!(errors < 200, "the store did not come back");
                            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                        }
                    }
                }
                acked.store(step, std::sync::atomic::Ordering::SeqCst);
            }
            (errors, counted)
        })
    };
    let reach = |n: u64| {
        let acked = acked.clone();
        async move {
            let waited = tokio::time::timeout(std::time::Duration::from_secs(60), async {
                while acked.load(std::sync::atomic::Ordering::SeqCst) < n {
                    tokio::time::sleep(std::time::Duration::from_millis(2)).await;
                }
            })
            .await;
            assert!(waited.is_ok(), "the writer is stuck before {n} vouchers");
        }
    };
    reach(100).await;
    let ended = pg.terminate_connections("reconnect");
    assert!(ended >= 2, "the store's connections were ended ({ended})");
    reach(200).await;
    pg = tokio::task::spawn_blocking(move || {
        pg.restart();
        pg
    })
    .await
    .unwrap();
    let (errors, counted) = writer.await.unwrap();
    // every acknowledged voucher is there; every increment counted at most once
    let row = store.get(&channel).unwrap().unwrap();
    assert_eq!(row.voucher.amount, STEPS * 10);
    assert!(counted <= STEPS * 10, "{counted}");
    // the pool serves again too (reads, payer rows, credits)
    assert_eq!(store.count_credits().unwrap(), 0);
    assert!(errors < 200);
    drop(pg);
}

/// Issue 25: the store's traffic (payer session keys, every voucher) is
/// encrypted when the URL asks for it, `sslmode` is honoured as libpq does,
/// and a database that is not on this machine is never reached in plaintext
/// unless the URL says so. Against a real server that takes TLS only, with
/// a throwaway CA made by the test.
#[test]
fn the_store_speaks_tls_as_sslmode_says() {
    let Some(pg) = PgCluster::start_tls() else {
        return;
    };
    pg.create_database("tls");
    let (user, port, ca) = (pg.user(), pg.port(), pg.ca().display().to_string());
    let url = |host: &str, query: &str| format!("postgresql://{user}@{host}:{port}/tls?{query}");

    // verify-full with the CA that signed the server's certificate: encrypted
    let store = PostgresStore::connect(&url(
        "localhost",
        &format!("sslmode=verify-full&sslrootcert={ca}"),
    ))
    .unwrap();
    assert!(store.encrypted().unwrap());
    conformance::receiver_store(&store);
    // require: encrypted, the certificate not checked
    let store = PostgresStore::connect(&url("localhost", "sslmode=require")).unwrap();
    assert!(store.encrypted().unwrap());
    // verify-ca: the chain, not the name (the certificate is for localhost)
    let store = PostgresStore::connect(&url(
        "127.0.0.1",
        &format!("sslmode=verify-ca&sslrootcert={ca}"),
    ))
    .unwrap();
    assert!(store.encrypted().unwrap());

    let refused = |u: String| match PostgresStore::connect(&u) {
        Ok(_) => panic!("{u} connected"),
        Err(e) => e.to_string(),
    };
    // verify-full: the name must match; the system's roots do not know the CA
    let e = refused(url(
        "127.0.0.1",
        &format!("sslmode=verify-full&sslrootcert={ca}"),
    ));
    assert!(e.to_lowercase().contains("certificate"), "{e}");
    let e = refused(url("localhost", "sslmode=verify-full"));
    assert!(
        e.to_lowercase().contains("certificate") || e.contains("root"),
        "{e}"
    );
    // plaintext over TCP: the server takes TLS only
    let e = refused(url("localhost", "sslmode=disable"));
    assert!(e.contains("pg_hba") || e.contains("no encryption"), "{e}");
    // another machine without sslmode: refused before connecting
    let e = refused(format!("postgresql://{user}@db.example.invalid/tls"));
    assert!(
        e.contains("sslmode=verify-full") && e.contains("not on this machine"),
        "{e}"
    );
}
