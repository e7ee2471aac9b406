//! Postgres store: one database shared by receivers (gateways) on several
//! machines, with the same primitives and compare-and-set semantics as
//! SQLite, passing the same [`super::conformance`] suite.
//!
//! # What it needs from the database
//!
//! - **Row-level compare-and-set**: `UPDATE … WHERE channel = $1 AND version =
//!   $2` must update only if the row still has that version when the update
//!   takes its row lock (Postgres at READ COMMITTED re-checks the condition
//!   after waiting for a concurrent writer; SERIALIZABLE databases refuse with
//!   a retryable error instead, which this store retries). CockroachDB and
//!   YugabyteDB give both over the Postgres protocol, so the store moves
//!   there without code changes; only real Postgres is tested.
//! - **Durable commits**: `synchronous_commit` must not be `off` (the store
//!   refuses to open otherwise): a commit it reports is on disk.
//! - `INSERT … ON CONFLICT DO NOTHING` and transactional DDL (migrations).
//!
//! # How it runs
//!
//! The store traits are synchronous (dumb primitives under the rules in
//! Rust); the driver (tokio-postgres) is async. The store owns a small
//! runtime of its own (one thread) that drives its connections, and each
//! call waits for its answer on a plain channel — so it works from any
//! thread, including async worker threads of another runtime (which the
//! receiver keeps free of store calls anyway; see [`super::commit`]).
//!
//! Connections: two for batched writes (each batch a transaction: `BEGIN`,
//! then the writes and `COMMIT` pipelined — two round trips and one WAL
//! flush per batch; two so that group commit keeps a batch in flight while
//! the other's flush waits), and a few for everything else, each statement
//! its own transaction, pipelined by the driver. Every statement is prepared
//! once per connection. A batch writes rows in channel
//! order, so batches of gateways sharing the database lock rows in the same
//! order and never deadlock one another.
//!
//! TLS: `sslmode` and `sslrootcert` are honoured as libpq does, and a
//! database that is not on this machine is never reached in plaintext
//! unless the URL says `sslmode=disable` (see `pg_tls`).
//!
//! Connections the server ends (a restart, a failover, an idle timeout, a
//! pooler recycling connections) are replaced: a connection found closed is
//! reopened (and its statements prepared again) before use; a read whose
//! connection is lost while it runs is run once more on a new one; a write
//! whose connection is lost while it runs has an unknown outcome, so it is
//! reported as an error, never assumed — the rules re-read the row before
//! deciding again (a version that moved makes the next swap fail and re-read).
//!
//! Amounts are `u64` stored as the `BIGINT` with the same bits, as in SQLite.
//! Migrations are versioned in `micropay_schema` and applied under an
//! advisory lock, so gateways starting together migrate once.

use super::pg_tls::Connect;
use super::{
    bits, corrupt, key, unbits, ClaimStatus, Credit, ExactPayment, ExactStatus, ExactTotal,
    PayerRecord, PayerStore, ReceiverStore, RowWrite, VoucherRecord, WatcherLease,
};
use crate::error::{ClientError, Result};
use anchor_lang::prelude::Pubkey;
use micropay_sdk::{voucher::Voucher, x402::payment_id::Binding};
use solana_sdk::hash::Hash;
use std::{
    future::Future,
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    },
};
use tokio_postgres::{types::ToSql, Client, Row, Statement};

/// Each entry moves the schema one version up; never edit a shipped entry.
const MIGRATIONS: &[&str] = &[
    // 1: the same tables as SQLite's schema 3
    "CREATE TABLE receiver_vouchers (
        channel BYTEA PRIMARY KEY,
        amount BIGINT NOT NULL,
        signature BYTEA NOT NULL,
        creator BYTEA NOT NULL,
        mint BYTEA NOT NULL,
        claimed BIGINT NOT NULL,
        allocation BIGINT NOT NULL,
        status TEXT NOT NULL
            CHECK (status IN ('pending', 'submitted', 'confirmed', 'closed', 'quarantined')),
        claim_signature TEXT,
        cluster BYTEA,
        seen_slot BIGINT NOT NULL,
        note TEXT,
        claim_valid_until BIGINT,
        version BIGINT NOT NULL
    );
    CREATE INDEX receiver_vouchers_status ON receiver_vouchers (status, channel);
    CREATE TABLE payer_channels (
        channel BYTEA PRIMARY KEY,
        signer_keypair BYTEA NOT NULL,
        cumulative BIGINT NOT NULL,
        allocation BIGINT NOT NULL,
        version BIGINT NOT NULL
    );",
    // 2: paid requests not served, to be served once when sent again
    "CREATE TABLE receiver_credits (
        channel BYTEA NOT NULL,
        amount BIGINT NOT NULL,
        route TEXT NOT NULL,
        net BIGINT NOT NULL,
        allocation BIGINT NOT NULL,
        signer BYTEA NOT NULL,
        created_at BIGINT NOT NULL,
        PRIMARY KEY (channel, amount, route)
    );",
    // 3: x402 `exact` payments, recorded before their transaction is sent
    "CREATE TABLE receiver_exact_payments (
        id TEXT PRIMARY KEY,
        payer BYTEA NOT NULL,
        mint BYTEA NOT NULL,
        amount BIGINT NOT NULL,
        route TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('sending', 'settled', 'served', 'failed')),
        created_at BIGINT NOT NULL
    );",
    // 4: x402 payment identifiers, each bound to one request and one payment
    "CREATE TABLE receiver_payment_ids (
        id TEXT PRIMARY KEY,
        request BYTEA NOT NULL,
        payment BYTEA NOT NULL
    );",
];

/// Advisory lock key under which migrations run ("micropay" in ASCII).
const MIGRATION_LOCK: i64 = 0x6d69_6372_6f70_6179;

/// Advisory lock key of the watcher lease ("mpwatchr" in ASCII).
const WATCHER_LEASE: i64 = 0x6d70_7761_7463_6872;

/// Connections besides the batch writers.
const POOL: usize = 3;

/// Connections for batched writes: batches in flight at once.
const WRITERS: usize = 2;

/// How often a batch is retried after a deadlock or serialization failure
/// (nothing of a failed batch was applied).
const BATCH_RETRIES: usize = 3;

const COLUMNS: &str = "channel, amount, signature, creator, mint, claimed, allocation, status, \
     claim_signature, cluster, seen_slot, note, claim_valid_until, version";

const INSERT_ROW: &str = "INSERT INTO receiver_vouchers (channel, amount, signature, creator, mint,
         claimed, allocation, status, claim_signature, cluster, seen_slot, note,
         claim_valid_until, version)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, 1)
     ON CONFLICT (channel) DO NOTHING";

const SWAP_ROW: &str = "UPDATE receiver_vouchers SET amount = $2, signature = $3, creator = $4,
         mint = $5, claimed = $6, allocation = $7, status = $8, claim_signature = $9,
         cluster = $10, seen_slot = $11, note = $12, claim_valid_until = $13, version = $14
     WHERE channel = $1 AND version = $15";

/// A connection and its prepared statements.
struct Conn {
    client: Client,
    get: Statement,
    insert: Statement,
    swap: Statement,
    list: Statement,
    get_payer: Statement,
    insert_payer: Statement,
    swap_payer: Statement,
    delete_payer: Statement,
}

/// The Postgres store; see the module docs.
pub struct PostgresStore {
    _driver: Driver,
    handle: tokio::runtime::Handle,
    /// How to connect again after the server ended a connection.
    config: Arc<Connect>,
    pool: Vec<Arc<Slot>>,
    writers: Vec<Arc<tokio::sync::Mutex<Conn>>>,
    next: AtomicUsize,
    /// The URL without its password: every error names it.
    name: String,
}

/// A pool connection, replaced when the server ends it (a restart, a
/// failover, an idle timeout, a pooler recycling connections).
struct Slot {
    conn: std::sync::Mutex<Arc<Conn>>,
    /// Held while reconnecting, so concurrent callers reconnect once.
    reconnecting: tokio::sync::Mutex<()>,
}

impl Slot {
    fn new(conn: Conn) -> Self {
        Slot {
            conn: std::sync::Mutex::new(Arc::new(conn)),
            reconnecting: tokio::sync::Mutex::new(()),
        }
    }

    fn current(&self) -> Arc<Conn> {
        self.conn.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// A live connection: the current one, or a new one when the server
    /// ended it (or when `lost` is the current one).
    async fn live(&self, config: &Connect, lost: Option<&Arc<Conn>>) -> Result<Arc<Conn>> {
        let current = self.current();
        let dead = current.client.is_closed() || lost.is_some_and(|l| Arc::ptr_eq(l, &current));
        if !dead {
            return Ok(current);
        }
        let _one = self.reconnecting.lock().await;
        let again = self.current();
        if !Arc::ptr_eq(&again, &current) {
            return Ok(again); // another caller reconnected meanwhile
        }
        let fresh = Arc::new(Conn::open(config).await?);
        *self.conn.lock().unwrap_or_else(|p| p.into_inner()) = fresh.clone();
        tracing::info!("postgres store: reconnected");
        Ok(fresh)
    }
}

/// A failed statement: the driver's error (its connection may be lost) or
/// ours (a row that does not decode).
enum PgError {
    Db(tokio_postgres::Error),
    Client(ClientError),
}

impl From<tokio_postgres::Error> for PgError {
    fn from(e: tokio_postgres::Error) -> Self {
        PgError::Db(e)
    }
}

impl From<ClientError> for PgError {
    fn from(e: ClientError) -> Self {
        PgError::Client(e)
    }
}

impl From<PgError> for ClientError {
    fn from(e: PgError) -> Self {
        match e {
            PgError::Db(e) => db(e),
            PgError::Client(e) => e,
        }
    }
}

/// Whether `e` means the connection is gone (the statement's outcome is
/// unknown if it was a write): closed, an administrator's or a crash's
/// shutdown of the backend, a connection exception, an I/O error.
fn lost(e: &tokio_postgres::Error) -> bool {
    if e.is_closed() {
        return true;
    }
    if let Some(code) = e.code() {
        let code = code.code();
        return code.starts_with("08") || code.starts_with("57P");
    }
    std::error::Error::source(e).is_some_and(|s| s.is::<std::io::Error>())
}

/// What a statement's future returns.
type PgResult<T> = std::result::Result<T, PgError>;

fn db(e: tokio_postgres::Error) -> ClientError {
    // the server's own message says what failed (with its SQLSTATE)
    let reason = match e.as_db_error() {
        Some(d) => format!("{} ({})", d.message(), d.code().code()),
        None => {
            // the driver's own text hides the cause (a TLS handshake failed:
            // which certificate check?)
            let mut text = e.to_string();
            let mut cause = std::error::Error::source(&e);
            while let Some(c) = cause {
                text = format!("{text}: {c}");
                cause = c.source();
            }
            text
        }
    };
    ClientError::store(reason)
}

/// Whether `e` is a deadlock or serialization failure: retryable.
fn retryable(e: &tokio_postgres::Error) -> bool {
    use tokio_postgres::error::SqlState;
    e.code().is_some_and(|c| {
        *c == SqlState::T_R_DEADLOCK_DETECTED || *c == SqlState::T_R_SERIALIZATION_FAILURE
    })
}

/// `url` with any password replaced by `***`.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme.saturating_add(3)..at];
            match userinfo.find(':') {
                Some(colon) => format!(
                    "{}{}:***{}",
                    &url[..scheme.saturating_add(3)],
                    &userinfo[..colon],
                    &url[at..]
                ),
                None => url.to_string(),
            }
        }
        _ => url
            .split_whitespace()
            .map(|kv| {
                if kv.starts_with("password=") {
                    "password=***"
                } else {
                    kv
                }
            })
            .collect::<Vec<_>>()
            .join(" "),
    }
}

/// A connection whose driver task runs on the current runtime.
async fn connect_client(config: &Connect) -> Result<Client> {
    config.client().await.map_err(db)
}

impl Conn {
    async fn open(config: &Connect) -> Result<Conn> {
        Self::prepare(connect_client(config).await?).await
    }

    async fn prepare(client: Client) -> Result<Conn> {
        let p = |sql: String| {
            let client = &client;
            async move { client.prepare(&sql).await.map_err(db) }
        };
        Ok(Conn {
            get: p(format!(
                "SELECT {COLUMNS} FROM receiver_vouchers WHERE channel = $1"
            ))
            .await?,
            insert: p(INSERT_ROW.into()).await?,
            swap: p(SWAP_ROW.into()).await?,
            list: p(format!(
                "SELECT {COLUMNS} FROM receiver_vouchers WHERE status = ANY($1) ORDER BY channel"
            ))
            .await?,
            get_payer: p("SELECT signer_keypair, cumulative, allocation, version
                 FROM payer_channels WHERE channel = $1"
                .into())
            .await?,
            insert_payer: p("INSERT INTO payer_channels
                     (channel, signer_keypair, cumulative, allocation, version)
                 VALUES ($1, $2, $3, $4, 1) ON CONFLICT (channel) DO NOTHING"
                .into())
            .await?,
            swap_payer: p(
                "UPDATE payer_channels SET signer_keypair = $3, cumulative = $4,
                     allocation = $5, version = $6
                 WHERE channel = $1 AND version = $2"
                    .into(),
            )
            .await?,
            delete_payer: p(
                "DELETE FROM payer_channels WHERE channel = $1 AND version = $2".into(),
            )
            .await?,
            client,
        })
    }
}

/// A row's columns as statement parameters, `$1` to `$13`.
struct Params {
    channel: Vec<u8>,
    amount: i64,
    signature: Vec<u8>,
    creator: Vec<u8>,
    mint: Vec<u8>,
    claimed: i64,
    allocation: i64,
    status: &'static str,
    claim_signature: Option<String>,
    cluster: Option<Vec<u8>>,
    seen_slot: i64,
    note: Option<String>,
    claim_valid_until: Option<i64>,
}

impl Params {
    fn of(r: &VoucherRecord) -> Self {
        Params {
            channel: r.voucher.channel.to_bytes().to_vec(),
            amount: bits(r.voucher.amount),
            signature: r.voucher.signature.to_vec(),
            creator: r.creator.to_bytes().to_vec(),
            mint: r.mint.to_bytes().to_vec(),
            claimed: bits(r.claimed),
            allocation: bits(r.allocation),
            status: r.status.as_str(),
            claim_signature: r.claim_signature.clone(),
            cluster: r.cluster.map(|h| h.to_bytes().to_vec()),
            seen_slot: bits(r.seen_slot),
            note: r.note.clone(),
            claim_valid_until: r.claim_valid_until.map(bits),
        }
    }

    fn values<'a>(&'a self, extra: &'a [i64]) -> Vec<&'a (dyn ToSql + Sync)> {
        let mut v: Vec<&(dyn ToSql + Sync)> = vec![
            &self.channel,
            &self.amount,
            &self.signature,
            &self.creator,
            &self.mint,
            &self.claimed,
            &self.allocation,
            &self.status,
            &self.claim_signature,
            &self.cluster,
            &self.seen_slot,
            &self.note,
            &self.claim_valid_until,
        ];
        v.extend(extra.iter().map(|x| x as &(dyn ToSql + Sync)));
        v
    }
}

fn decode(row: &Row) -> Result<VoucherRecord> {
    let get = |i: usize| -> Result<i64> { row.try_get(i).map_err(|_| corrupt("number")) };
    let bytes = |i: usize| -> Result<Vec<u8>> { row.try_get(i).map_err(|_| corrupt("bytes")) };
    let text = |i: usize| -> Result<Option<String>> { row.try_get(i).map_err(|_| corrupt("text")) };
    let signature: [u8; 64] = bytes(2)?.try_into().map_err(|_| corrupt("signature"))?;
    let cluster: Option<Vec<u8>> = row.try_get(9).map_err(|_| corrupt("cluster hash"))?;
    let cluster = match cluster {
        None => None,
        Some(b) => Some(Hash::new_from_array(
            b.try_into().map_err(|_| corrupt("cluster hash"))?,
        )),
    };
    let status: String = row.try_get(7).map_err(|_| corrupt("status"))?;
    let valid_until: Option<i64> = row.try_get(12).map_err(|_| corrupt("number"))?;
    Ok(VoucherRecord {
        voucher: Voucher {
            channel: key(bytes(0)?)?,
            amount: unbits(get(1)?),
            signature,
        },
        creator: key(bytes(3)?)?,
        mint: key(bytes(4)?)?,
        claimed: unbits(get(5)?),
        allocation: unbits(get(6)?),
        status: ClaimStatus::parse(&status).ok_or_else(|| corrupt("status"))?,
        claim_signature: text(8)?,
        cluster,
        seen_slot: unbits(get(10)?),
        note: text(11)?,
        claim_valid_until: valid_until.map(unbits),
        version: unbits(get(13)?),
    })
}

impl PostgresStore {
    /// Connects to the database at `url` (a `postgres://` URL or a libpq
    /// key=value string), checks that commits are durable, and migrates it.
    pub fn connect(url: &str) -> Result<Self> {
        let name = redact(url);
        let named = |e: ClientError| match e {
            ClientError::Store { reason, .. } => {
                ClientError::store(format!("postgres {name}: {reason}"))
            }
            other => other,
        };
        let config =
            Connect::parse(url).map_err(|e| ClientError::store(format!("postgres {name}: {e}")))?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("micropay-postgres")
            .enable_all()
            .build()
            .map_err(|e| ClientError::store(format!("cannot start the postgres driver: {e}")))?;
        let handle = runtime.handle().clone();
        let driver = Driver(Some(runtime));
        let opened = wait(&handle, async move {
            let writer = connect_client(&config).await?;
            let durable: String = writer
                .query_one("SHOW synchronous_commit", &[])
                .await
                .map_err(db)?
                .try_get(0)
                .map_err(|_| corrupt("setting"))?;
            if durable == "off" {
                return Err(ClientError::store(
                    "synchronous_commit is off, so a commit it reports may be lost: set it to on",
                ));
            }
            migrate(&writer).await?;
            // statements are prepared after the tables exist
            let mut writers = vec![Arc::new(tokio::sync::Mutex::new(
                Conn::prepare(writer).await?,
            ))];
            while writers.len() < WRITERS {
                writers.push(Arc::new(tokio::sync::Mutex::new(
                    Conn::open(&config).await?,
                )));
            }
            let mut pool = Vec::with_capacity(POOL);
            for _ in 0..POOL {
                pool.push(Arc::new(Slot::new(Conn::open(&config).await?)));
            }
            Ok((writers, pool, config))
        })
        .map_err(named)?;
        let (writers, pool, config) = opened;
        Ok(PostgresStore {
            _driver: driver,
            handle,
            config: Arc::new(config),
            pool,
            writers,
            next: AtomicUsize::new(0),
            name,
        })
    }

    /// The database's URL without its password.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether this store's connections to the database are encrypted
    /// (TLS), as the server reports it.
    pub fn encrypted(&self) -> Result<bool> {
        self.read(|conn| async move {
            let row = conn
                .client
                .query_opt(
                    "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
                    &[],
                )
                .await?;
            Ok(row
                .map(|r| r.try_get::<_, bool>(0))
                .transpose()?
                .unwrap_or(false))
        })
    }

    /// The schema version (number of migrations applied).
    pub fn schema_version(&self) -> Result<usize> {
        self.read(|conn| async move { Ok(schema_version(&conn.client).await?) })
    }

    fn slot(&self) -> Arc<Slot> {
        let i = self
            .next
            .fetch_add(1, Ordering::Relaxed)
            .checked_rem(self.pool.len())
            .unwrap_or(0);
        self.pool[i].clone()
    }

    /// Runs the read `op` on a live pool connection; if the connection is
    /// lost while it runs, once more on a new one.
    fn read<T, F, Fut>(&self, op: F) -> Result<T>
    where
        T: Send + 'static,
        F: Fn(Arc<Conn>) -> Fut + Send + 'static,
        Fut: Future<Output = PgResult<T>> + Send,
    {
        self.pooled(true, op)
    }

    /// Runs the write `op` on a live pool connection. If the connection is
    /// lost while it runs, its outcome is unknown: the error is returned
    /// (never assumed either way; the rules re-read the row and decide
    /// again) and the next call gets a new connection.
    fn write<T, F, Fut>(&self, op: F) -> Result<T>
    where
        T: Send + 'static,
        F: Fn(Arc<Conn>) -> Fut + Send + 'static,
        Fut: Future<Output = PgResult<T>> + Send,
    {
        self.pooled(false, op)
    }

    fn pooled<T, F, Fut>(&self, retry: bool, op: F) -> Result<T>
    where
        T: Send + 'static,
        F: Fn(Arc<Conn>) -> Fut + Send + 'static,
        Fut: Future<Output = PgResult<T>> + Send,
    {
        let (slot, config) = (self.slot(), self.config.clone());
        self.run(async move {
            let conn = slot.live(&config, None).await?;
            match op(conn.clone()).await {
                Ok(v) => Ok(v),
                Err(PgError::Db(e)) if lost(&e) => {
                    let fresh = slot.live(&config, Some(&conn)).await;
                    match fresh {
                        Ok(fresh) if retry => Ok(op(fresh).await?),
                        _ => Err(db(e)),
                    }
                }
                Err(e) => Err(e.into()),
            }
        })
    }

    /// Runs `f` on the store's runtime and waits for it; errors name the database.
    fn run<T: Send + 'static>(
        &self,
        f: impl Future<Output = Result<T>> + Send + 'static,
    ) -> Result<T> {
        wait(&self.handle, f).map_err(|e| match e {
            ClientError::Store { reason, .. } => {
                ClientError::store(format!("postgres {}: {reason}", self.name))
            }
            other => other,
        })
    }
}

/// The store's own runtime, shut down without blocking when dropped
/// (dropping a runtime inside another one's async context would panic).
struct Driver(Option<tokio::runtime::Runtime>);

impl Drop for Driver {
    fn drop(&mut self) {
        if let Some(runtime) = self.0.take() {
            runtime.shutdown_background();
        }
    }
}

/// Runs `f` on `handle`'s runtime and blocks this thread (never one of that
/// runtime's) until it is done.
fn wait<T: Send + 'static>(
    handle: &tokio::runtime::Handle,
    f: impl Future<Output = Result<T>> + Send + 'static,
) -> Result<T> {
    let (tx, rx) = std::sync::mpsc::sync_channel(1);
    handle.spawn(async move {
        let _ = tx.send(f.await);
    });
    rx.recv()
        .map_err(|_| ClientError::store("the postgres driver stopped"))?
}

async fn schema_version(client: &Client) -> Result<usize> {
    let exists: bool = client
        .query_one("SELECT to_regclass('micropay_schema') IS NOT NULL", &[])
        .await
        .map_err(db)?
        .try_get(0)
        .map_err(|_| corrupt("schema"))?;
    if !exists {
        return Ok(0);
    }
    let version: i32 = client
        .query_one("SELECT version FROM micropay_schema", &[])
        .await
        .map_err(db)?
        .try_get(0)
        .map_err(|_| corrupt("schema version"))?;
    usize::try_from(version).map_err(|_| corrupt("schema version"))
}

async fn migrate(client: &Client) -> Result<()> {
    client.batch_execute("BEGIN").await.map_err(db)?;
    let result = async {
        client
            .execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
            .await
            .map_err(db)?;
        client
            .batch_execute(
                "CREATE TABLE IF NOT EXISTS micropay_schema (version INTEGER NOT NULL);
                 INSERT INTO micropay_schema SELECT 0 WHERE NOT EXISTS (SELECT 1 FROM micropay_schema);",
            )
            .await
            .map_err(db)?;
        let version = schema_version(client).await?;
        if version > MIGRATIONS.len() {
            return Err(ClientError::store(format!(
                "store schema version {version} is newer than this client ({}); upgrade micropay",
                MIGRATIONS.len()
            )));
        }
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(version) {
            client.batch_execute(sql).await.map_err(db)?;
            let next = i32::try_from(i.saturating_add(1)).map_err(|_| corrupt("schema"))?;
            client
                .execute("UPDATE micropay_schema SET version = $1", &[&next])
                .await
                .map_err(db)?;
        }
        Ok(())
    }
    .await;
    match result {
        Ok(()) => client.batch_execute("COMMIT").await.map_err(db),
        Err(e) => {
            let _ = client.batch_execute("ROLLBACK").await;
            Err(e)
        }
    }
}

/// One batch in one transaction, rows in channel order; `Err` when the
/// transaction failed, in which case none of it was applied.
///
/// Two round trips: `BEGIN`, then the writes and `COMMIT` pipelined
/// together (the server runs them in order). The rows are sent only once
/// `BEGIN` succeeded, so they can never run outside the transaction. If a
/// write fails, the server aborts the transaction, refuses the writes after
/// it and answers the pipelined `COMMIT` by rolling back; the first error in
/// pipeline order — the cause — is returned. (A write the driver refuses
/// to encode is never sent; encoding depends on the parameters' types, which
/// are the same for every row, so then none is, and `COMMIT` commits
/// nothing.)
async fn batch(
    conn: &mut Conn,
    order: &[usize],
    params: &[(Params, Option<[i64; 2]>)],
) -> std::result::Result<Vec<bool>, tokio_postgres::Error> {
    let client = &conn.client;
    client.batch_execute("BEGIN").await?;
    let writes = order.iter().map(|&i| {
        let (p, versions) = &params[i];
        let (insert, swap) = (&conn.insert, &conn.swap);
        async move {
            match versions {
                None => client.execute(insert, &p.values(&[])).await,
                Some(v) => client.execute(swap, &p.values(v)).await,
            }
        }
    });
    // polled together, in this order: the driver pipelines them; every
    // answer is awaited (no short-circuit), so `COMMIT` is always sent
    let (counts, commit) = futures_util::future::join(
        futures_util::future::join_all(writes),
        client.batch_execute("COMMIT"),
    )
    .await;
    let counts = counts
        .into_iter()
        .collect::<std::result::Result<Vec<_>, _>>()?;
    commit?;
    let mut done = vec![false; params.len()];
    for (&i, n) in order.iter().zip(counts) {
        done[i] = n == 1;
    }
    Ok(done)
}

impl ReceiverStore for PostgresStore {
    fn get(&self, channel: &Pubkey) -> Result<Option<VoucherRecord>> {
        let channel = channel.to_bytes().to_vec();
        self.read(move |conn| {
            let channel = channel.clone();
            async move {
                let row = conn.client.query_opt(&conn.get, &[&channel]).await?;
                Ok(row.as_ref().map(decode).transpose()?)
            }
        })
    }

    fn insert(&self, record: &VoucherRecord) -> Result<bool> {
        let p = Arc::new(Params::of(record));
        self.write(move |conn| {
            let p = p.clone();
            async move { Ok(conn.client.execute(&conn.insert, &p.values(&[])).await? == 1) }
        })
    }

    fn compare_and_swap(&self, expected: u64, record: &VoucherRecord) -> Result<bool> {
        let p = Arc::new(Params::of(record));
        let versions = [bits(expected.saturating_add(1)), bits(expected)];
        self.write(move |conn| {
            let p = p.clone();
            async move {
                Ok(conn
                    .client
                    .execute(&conn.swap, &p.values(&versions))
                    .await?
                    == 1)
            }
        })
    }

    fn list(&self, statuses: &[ClaimStatus]) -> Result<Vec<VoucherRecord>> {
        if statuses.is_empty() {
            return Ok(Vec::new());
        }
        let names: Vec<String> = statuses.iter().map(|s| s.as_str().to_string()).collect();
        self.read(move |conn| {
            let names = names.clone();
            async move {
                let rows = conn.client.query(&conn.list, &[&names]).await?;
                Ok(rows.iter().map(decode).collect::<Result<Vec<_>>>()?)
            }
        })
    }

    fn write_batch(&self, writes: &[RowWrite]) -> Result<Vec<bool>> {
        if writes.is_empty() {
            return Ok(Vec::new());
        }
        let params: Vec<(Params, Option<[i64; 2]>)> = writes
            .iter()
            .map(|w| match w {
                RowWrite::Insert(r) => (Params::of(r), None),
                RowWrite::Swap { expected, record } => (
                    Params::of(record),
                    Some([bits(expected.saturating_add(1)), bits(*expected)]),
                ),
            })
            .collect();
        // channel order (stable: writes of one row keep theirs)
        let mut order: Vec<usize> = (0..writes.len()).collect();
        order.sort_by_key(|&i| writes[i].record().voucher.channel);
        // a free writer connection, else (all busy) one to wait for
        let writer = match self
            .writers
            .iter()
            .find_map(|w| w.clone().try_lock_owned().ok())
        {
            Some(free) => Ok(free),
            None => Err(self.writers[self
                .next
                .fetch_add(1, Ordering::Relaxed)
                .checked_rem(self.writers.len())
                .unwrap_or(0)]
            .clone()),
        };
        let config = self.config.clone();
        self.run(async move {
            let mut conn = match writer {
                Ok(free) => free,
                Err(busy) => busy.lock_owned().await,
            };
            if conn.client.is_closed() {
                // ended while idle: nothing of this batch was sent yet
                *conn = Conn::open(&config).await?;
            }
            let mut attempt = 0usize;
            loop {
                match batch(&mut conn, &order, &params).await {
                    Ok(done) => return Ok(done),
                    Err(e) if retryable(&e) && attempt < BATCH_RETRIES => {
                        attempt = attempt.saturating_add(1);
                    }
                    Err(e) if lost(&e) => {
                        // the outcome is unknown: an error to every writer
                        // (who re-read before deciding again), and a new
                        // connection for the next batch
                        if let Ok(fresh) = Conn::open(&config).await {
                            *conn = fresh;
                        }
                        return Err(db(e));
                    }
                    Err(e) => return Err(db(e)),
                }
            }
        })
    }

    fn concurrent_batches(&self) -> usize {
        self.writers.len()
    }

    // credits are rare (a failed upstream, a failed settle-first claim):
    // unprepared statements on a pool connection
    fn put_credit(&self, c: &Credit) -> Result<bool> {
        let (channel, signer) = (c.channel.to_bytes().to_vec(), c.signer.to_bytes().to_vec());
        let numbers = [
            bits(c.amount),
            bits(c.net),
            bits(c.allocation),
            bits(c.created_at),
        ];
        let route = c.route.clone();
        self.write(move |conn| {
            let (channel, signer, route) = (channel.clone(), signer.clone(), route.clone());
            async move {
                let [amount, net, allocation, at] = numbers;
                let n = conn
                    .client
                    .execute(
                        "INSERT INTO receiver_credits
                             (channel, amount, route, net, allocation, signer, created_at)
                         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
                        &[&channel, &amount, &route, &net, &allocation, &signer, &at],
                    )
                    .await?;
                Ok(n == 1)
            }
        })
    }

    fn take_credit(&self, channel: &Pubkey, amount: u64, route: &str) -> Result<Option<Credit>> {
        let (id, route) = (*channel, route.to_string());
        let taken = self.write(move |conn| {
            let route = route.clone();
            async move {
                Ok(conn
                    .client
                    .query_opt(
                        "DELETE FROM receiver_credits
                         WHERE channel = $1 AND amount = $2 AND route = $3
                         RETURNING net, allocation, signer, created_at, route",
                        &[&id.to_bytes().as_slice(), &bits(amount), &route],
                    )
                    .await?)
            }
        })?;
        taken
            .map(|r| {
                let n = |i: usize| -> Result<u64> {
                    r.try_get::<_, i64>(i)
                        .map(unbits)
                        .map_err(|_| corrupt("number"))
                };
                let signer: Vec<u8> = r.try_get(2).map_err(|_| corrupt("key"))?;
                Ok(Credit {
                    channel: id,
                    amount,
                    route: r.try_get(4).map_err(|_| corrupt("text"))?,
                    net: n(0)?,
                    allocation: n(1)?,
                    signer: key(signer)?,
                    created_at: n(3)?,
                })
            })
            .transpose()
    }

    fn watcher_lease(&self) -> Result<Option<Box<dyn WatcherLease>>> {
        Ok(Some(Box::new(PgLease {
            handle: self.handle.clone(),
            config: self.config.clone(),
            session: Arc::default(),
        })))
    }

    fn count_credits(&self) -> Result<u64> {
        self.read(|conn| async move {
            let n: i64 = conn
                .client
                .query_one("SELECT COUNT(*) FROM receiver_credits", &[])
                .await?
                .try_get(0)?;
            Ok(u64::try_from(n).unwrap_or(0))
        })
    }

    // exact payments are one write per paid request of an `exact` route
    // (a transaction per request costs far more): unprepared statements
    fn put_exact(&self, p: &ExactPayment) -> Result<bool> {
        let p = p.clone();
        self.write(move |conn| {
            let p = p.clone();
            async move {
                let n = conn
                    .client
                    .execute(
                        "INSERT INTO receiver_exact_payments
                             (id, payer, mint, amount, route, status, created_at)
                         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
                        &[
                            &p.id,
                            &p.payer.to_bytes().as_slice(),
                            &p.mint.to_bytes().as_slice(),
                            &bits(p.amount),
                            &p.route,
                            &p.status.as_str(),
                            &bits(p.created_at),
                        ],
                    )
                    .await?;
                Ok(n == 1)
            }
        })
    }

    fn get_exact(&self, id: &str) -> Result<Option<ExactPayment>> {
        let id = id.to_string();
        let row = self.read(move |conn| {
            let id = id.clone();
            async move {
                Ok(conn
                    .client
                    .query_opt(
                        "SELECT id, payer, mint, amount, route, status, created_at
                         FROM receiver_exact_payments WHERE id = $1",
                        &[&id],
                    )
                    .await?)
            }
        })?;
        row.map(|r| {
            let bytes = |i: usize| -> Result<Vec<u8>> { r.try_get(i).map_err(|_| corrupt("key")) };
            let text = |i: usize| -> Result<String> { r.try_get(i).map_err(|_| corrupt("text")) };
            let n = |i: usize| -> Result<u64> {
                r.try_get::<_, i64>(i)
                    .map(unbits)
                    .map_err(|_| corrupt("number"))
            };
            Ok(ExactPayment {
                id: text(0)?,
                payer: key(bytes(1)?)?,
                mint: key(bytes(2)?)?,
                amount: n(3)?,
                route: text(4)?,
                status: ExactStatus::parse(&text(5)?).ok_or_else(|| corrupt("exact status"))?,
                created_at: n(6)?,
            })
        })
        .transpose()
    }

    fn set_exact_status(&self, id: &str, from: ExactStatus, to: ExactStatus) -> Result<bool> {
        let id = id.to_string();
        self.write(move |conn| {
            let id = id.clone();
            async move {
                let n = conn
                    .client
                    .execute(
                        "UPDATE receiver_exact_payments SET status = $3
                         WHERE id = $1 AND status = $2",
                        &[&id, &from.as_str(), &to.as_str()],
                    )
                    .await?;
                Ok(n == 1)
            }
        })
    }
    fn exact_totals(&self) -> Result<Vec<ExactTotal>> {
        let rows = self.read(|conn| async move {
            Ok(conn
                .client
                .query(
                    "SELECT mint, COUNT(*), SUM(amount)::BIGINT FROM receiver_exact_payments
                     WHERE status IN ('settled', 'served') GROUP BY mint ORDER BY mint",
                    &[],
                )
                .await?)
        })?;
        rows.iter()
            .map(|r| {
                let mint: Vec<u8> = r.try_get(0).map_err(|_| corrupt("key"))?;
                let payments: i64 = r.try_get(1).map_err(|_| corrupt("number"))?;
                let amount: i64 = r.try_get(2).map_err(|_| corrupt("number"))?;
                Ok(ExactTotal {
                    mint: key(mint)?,
                    payments: u64::try_from(payments).unwrap_or(0),
                    amount: unbits(amount),
                })
            })
            .collect()
    }

    fn bind_payment_id(&self, id: &str, binding: &Binding) -> Result<Option<Binding>> {
        let (id, binding) = (id.to_string(), *binding);
        self.write(move |conn| {
            let id = id.clone();
            async move {
                // an insert that conflicts waits for the row's writer; the
                // read after it is a new snapshot. A row unbound between
                // the two is bound again on the next turn.
                for _ in 0..3 {
                    let n = conn
                        .client
                        .execute(
                            "INSERT INTO receiver_payment_ids (id, request, payment)
                             VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                            &[
                                &id,
                                &binding.request.as_slice(),
                                &binding.payment.as_slice(),
                            ],
                        )
                        .await?;
                    if n == 1 {
                        return Ok(None);
                    }
                    let row = conn
                        .client
                        .query_opt(
                            "SELECT request, payment FROM receiver_payment_ids WHERE id = $1",
                            &[&id],
                        )
                        .await?;
                    if let Some(r) = row {
                        let hash = |i: usize| -> Result<[u8; 32]> {
                            r.try_get::<_, Vec<u8>>(i)
                                .ok()
                                .and_then(|b| b.try_into().ok())
                                .ok_or_else(|| corrupt("payment identifier"))
                        };
                        return Ok(Some(Binding {
                            request: hash(0)?,
                            payment: hash(1)?,
                        }));
                    }
                }
                Err(ClientError::store("a payment identifier kept changing hands").into())
            }
        })
    }

    fn unbind_payment_id(&self, id: &str, binding: &Binding) -> Result<bool> {
        let (id, binding) = (id.to_string(), *binding);
        self.write(move |conn| {
            let id = id.clone();
            async move {
                let n = conn
                    .client
                    .execute(
                        "DELETE FROM receiver_payment_ids
                         WHERE id = $1 AND request = $2 AND payment = $3",
                        &[
                            &id,
                            &binding.request.as_slice(),
                            &binding.payment.as_slice(),
                        ],
                    )
                    .await?;
                Ok(n == 1)
            }
        })
    }
}

/// The watcher lease: a session-level advisory lock held on a connection of
/// its own (see [`WatcherLease`]). The server releases it when the session
/// ends — the holder died, or its connection broke — and another process's
/// next `hold` takes it.
struct PgLease {
    handle: tokio::runtime::Handle,
    config: Arc<Connect>,
    /// The session holding (or trying for) the lock, and whether it holds it.
    session: Arc<tokio::sync::Mutex<Option<(Client, bool)>>>,
}

impl WatcherLease for PgLease {
    fn hold(&self) -> Result<bool> {
        let (config, session) = (self.config.clone(), self.session.clone());
        wait(&self.handle, async move {
            let mut session = session.lock().await;
            if session.as_ref().is_some_and(|(c, _)| c.is_closed()) {
                *session = None; // the lock went with the session
            }
            if session.is_none() {
                *session = Some((connect_client(&config).await?, false));
            }
            let Some((client, held)) = session.as_mut() else {
                return Ok(false);
            };
            let answer = if *held {
                // still ours while the session lives
                client.simple_query("SELECT 1").await.map(|_| true)
            } else {
                client
                    .query_one("SELECT pg_try_advisory_lock($1)", &[&WATCHER_LEASE])
                    .await
                    .and_then(|row| row.try_get::<_, bool>(0))
            };
            match answer {
                Ok(now) => {
                    *held = now;
                    Ok(now)
                }
                Err(e) => {
                    *session = None;
                    Err(db(e))
                }
            }
        })
    }
}

impl PayerStore for PostgresStore {
    fn get_payer(&self, channel: &Pubkey) -> Result<Option<PayerRecord>> {
        let id = *channel;
        let row = self.read(move |conn| async move {
            Ok(conn
                .client
                .query_opt(&conn.get_payer, &[&id.to_bytes().as_slice()])
                .await?)
        })?;
        row.map(|r| {
            let keypair: Vec<u8> = r.try_get(0).map_err(|_| corrupt("session key"))?;
            let n = |i: usize| -> Result<u64> {
                r.try_get::<_, i64>(i)
                    .map(unbits)
                    .map_err(|_| corrupt("number"))
            };
            Ok(PayerRecord {
                channel: id,
                signer_keypair: keypair.try_into().map_err(|_| corrupt("session key"))?,
                cumulative: n(1)?,
                allocation: n(2)?,
                version: n(3)?,
            })
        })
        .transpose()
    }

    fn insert_payer(&self, r: &PayerRecord) -> Result<bool> {
        let (channel, keypair) = (r.channel.to_bytes().to_vec(), r.signer_keypair.to_vec());
        let (cumulative, allocation) = (bits(r.cumulative), bits(r.allocation));
        self.write(move |conn| {
            let (channel, keypair) = (channel.clone(), keypair.clone());
            async move {
                let n = conn
                    .client
                    .execute(
                        &conn.insert_payer,
                        &[&channel, &keypair, &cumulative, &allocation],
                    )
                    .await?;
                Ok(n == 1)
            }
        })
    }

    fn compare_and_swap_payer(&self, expected: u64, r: &PayerRecord) -> Result<bool> {
        let (channel, keypair) = (r.channel.to_bytes().to_vec(), r.signer_keypair.to_vec());
        let (cumulative, allocation) = (bits(r.cumulative), bits(r.allocation));
        let (expected, next) = (bits(expected), bits(expected.saturating_add(1)));
        self.write(move |conn| {
            let (channel, keypair) = (channel.clone(), keypair.clone());
            async move {
                let n = conn
                    .client
                    .execute(
                        &conn.swap_payer,
                        &[
                            &channel,
                            &expected,
                            &keypair,
                            &cumulative,
                            &allocation,
                            &next,
                        ],
                    )
                    .await?;
                Ok(n == 1)
            }
        })
    }

    fn delete_payer(&self, channel: &Pubkey, expected: u64) -> Result<bool> {
        let (channel, expected) = (channel.to_bytes().to_vec(), bits(expected));
        self.write(move |conn| {
            let channel = channel.clone();
            async move {
                let n = conn
                    .client
                    .execute(&conn.delete_payer, &[&channel, &expected])
                    .await?;
                Ok(n == 1)
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn passwords_never_reach_messages() {
        assert_eq!(
            redact("postgres://alice:s3cret@db.example/micropay"),
            "postgres://alice:***@db.example/micropay"
        );
        assert_eq!(
            redact("postgres://alice@db.example/micropay"),
            "postgres://alice@db.example/micropay"
        );
        assert_eq!(
            redact("host=/tmp user=alice password=s3cret dbname=m"),
            "host=/tmp user=alice password=*** dbname=m"
        );
    }
}
