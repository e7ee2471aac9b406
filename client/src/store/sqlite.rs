//! SQLite store: WAL mode, `synchronous = FULL` (a row is on disk before a
//! call returns), schema migrations by `user_version`, each primitive one
//! statement or one immediate transaction, prepared statements cached.
//!
//! `u64` amounts and slots are stored as the `i64` with the same bits (SQLite
//! integers are signed), so every `u64` round-trips; the store never compares
//! amounts in SQL — the rules do, in Rust.
//!
//! The database file (and with it SQLite's `-wal` and `-shm` files, which take
//! the database's permissions) is created with mode 0600: the payer side holds
//! session secret keys.

use super::{
    bits, corrupt, key, unbits, ClaimStatus, Credit, ExactPayment, ExactStatus, ExactTotal,
    PayerRecord, PayerStore, ReceiverStore, RowWrite, VoucherRecord,
};
use crate::error::{ClientError, Result};
use anchor_lang::prelude::Pubkey;
use micropay_sdk::{voucher::Voucher, x402::payment_id::Binding};
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use solana_sdk::hash::Hash;
use std::{path::Path, sync::Mutex};

/// Each entry moves the schema one version up; never edit a shipped entry.
const MIGRATIONS: &[&str] = &[
    // 1: receiver vouchers and payer channels
    "CREATE TABLE vouchers (
        channel BLOB PRIMARY KEY,
        amount INTEGER NOT NULL,
        signature BLOB NOT NULL,
        creator BLOB NOT NULL,
        mint BLOB NOT NULL,
        claimed INTEGER NOT NULL DEFAULT 0,
        status TEXT NOT NULL DEFAULT 'pending'
            CHECK (status IN ('pending', 'submitted', 'confirmed', 'closed')),
        claim_signature TEXT
    );
    CREATE INDEX vouchers_status ON vouchers (status);
    CREATE TABLE payer_channels (
        channel BLOB PRIMARY KEY,
        signer_keypair BLOB NOT NULL,
        cumulative INTEGER NOT NULL,
        allocation INTEGER NOT NULL
    );",
    // 2: compare-and-set rows (version), the cluster and slot a channel was
    // seen at, quarantine. Rows closed by earlier versions were closed without
    // positive evidence: they are pending again, to be checked anew.
    "CREATE TABLE receiver_vouchers (
        channel BLOB PRIMARY KEY,
        amount INTEGER NOT NULL,
        signature BLOB NOT NULL,
        creator BLOB NOT NULL,
        mint BLOB NOT NULL,
        claimed INTEGER NOT NULL,
        allocation INTEGER NOT NULL,
        status TEXT NOT NULL
            CHECK (status IN ('pending', 'submitted', 'confirmed', 'closed', 'quarantined')),
        claim_signature TEXT,
        cluster BLOB,
        seen_slot INTEGER NOT NULL,
        note TEXT,
        version INTEGER NOT NULL
    );
    INSERT INTO receiver_vouchers
        SELECT channel, amount, signature, creator, mint, claimed, MAX(amount, claimed),
               CASE WHEN status = 'closed' THEN 'pending' ELSE status END,
               claim_signature, NULL, 0, NULL, 1
        FROM vouchers;
    DROP TABLE vouchers;
    CREATE INDEX receiver_vouchers_status ON receiver_vouchers (status, channel);
    ALTER TABLE payer_channels ADD COLUMN version INTEGER NOT NULL DEFAULT 1;",
    // 3: the last block height at which the claim transaction recorded in
    // `claim_signature` can land (NULL: unknown, rows of earlier versions).
    "ALTER TABLE receiver_vouchers ADD COLUMN claim_valid_until INTEGER;",
    // 4: paid requests not served, to be served once when sent again
    "CREATE TABLE receiver_credits (
        channel BLOB NOT NULL,
        amount INTEGER NOT NULL,
        route TEXT NOT NULL,
        net INTEGER NOT NULL,
        allocation INTEGER NOT NULL,
        signer BLOB NOT NULL,
        created_at INTEGER NOT NULL,
        PRIMARY KEY (channel, amount, route)
    );",
    // 5: x402 `exact` payments, recorded before their transaction is sent
    "CREATE TABLE receiver_exact_payments (
        id TEXT PRIMARY KEY,
        payer BLOB NOT NULL,
        mint BLOB NOT NULL,
        amount INTEGER NOT NULL,
        route TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('sending', 'settled', 'served', 'failed')),
        created_at INTEGER NOT NULL
    );",
    // 6: x402 payment identifiers, each bound to one request and one payment
    "CREATE TABLE receiver_payment_ids (
        id TEXT PRIMARY KEY,
        request BLOB NOT NULL,
        payment BLOB NOT NULL
    );",
];

/// The SQLite store; see the module docs.
pub struct SqliteStore {
    conn: Mutex<Connection>,
    /// The database file (`None` in memory): every error names it.
    path: Option<std::path::PathBuf>,
}

/// Creates `path` with mode 0600 if missing, and tightens an existing file.
#[cfg(unix)]
fn private_file(path: &Path) -> Result<()> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let fail = |e: std::io::Error| ClientError::Store {
        path: Some(path.to_path_buf()),
        reason: format!("cannot create it: {e}"),
    };
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(path)
        .map_err(fail)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(fail)
}

#[cfg(not(unix))]
fn private_file(_path: &Path) -> Result<()> {
    Ok(())
}

impl SqliteStore {
    /// Opens (creating if needed, mode 0600) the store at `path` and migrates it.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| ClientError::Store {
                path: Some(path.to_path_buf()),
                reason: format!("cannot create its directory {}: {e}", dir.display()),
            })?;
        }
        private_file(path)?;
        let named = |e: rusqlite::Error| ClientError::Store {
            path: Some(path.to_path_buf()),
            reason: format!("cannot open it: {e}"),
        };
        let conn = Connection::open(path).map_err(named)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(named)?;
        Self::init(conn, Some(path.to_path_buf()))
    }

    /// Opens the store at `path`, which must exist (a typo in a path must not
    /// silently start an empty store).
    pub fn open_existing(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        if !path.exists() {
            return Err(ClientError::StoreMissing {
                path: path.to_path_buf(),
            });
        }
        Self::open(path)
    }

    /// A private in-memory store (tests, one-shot runs).
    pub fn in_memory() -> Result<Self> {
        Self::init(Connection::open_in_memory()?, None)
    }

    fn init(conn: Connection, path: Option<std::path::PathBuf>) -> Result<Self> {
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        let store = SqliteStore {
            conn: Mutex::new(conn),
            path,
        };
        store.named(|| store.migrate())?;
        Ok(store)
    }

    /// `f`'s result, its store errors naming this store's file.
    fn named<T>(&self, f: impl FnOnce() -> Result<T>) -> Result<T> {
        f().map_err(|e| match e {
            ClientError::Store { path: None, reason } => ClientError::Store {
                path: self.path.clone(),
                reason,
            },
            other => other,
        })
    }

    fn lock(&self) -> Result<std::sync::MutexGuard<'_, Connection>> {
        self.conn
            .lock()
            .map_err(|_| ClientError::store("store lock poisoned"))
    }

    fn migrate(&self) -> Result<()> {
        let mut conn = self.lock()?;
        let version: usize = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
        if version > MIGRATIONS.len() {
            return Err(ClientError::store(format!(
                "store schema version {version} is newer than this client ({}); upgrade micropay",
                MIGRATIONS.len()
            )));
        }
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(version) {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            tx.execute_batch(sql)?;
            tx.pragma_update(None, "user_version", i.saturating_add(1))?;
            tx.commit()?;
        }
        Ok(())
    }

    /// The schema version (number of migrations applied).
    pub fn schema_version(&self) -> Result<usize> {
        Ok(self
            .lock()?
            .pragma_query_value(None, "user_version", |r| r.get(0))?)
    }
}

const RECEIVER_COLUMNS: &str = "channel, amount, signature, creator, mint, claimed, allocation, \
     status, claim_signature, cluster, seen_slot, note, claim_valid_until, version";

/// Inserts a row (columns as [`execute_row`] binds them) at version 1.
const INSERT_ROW: &str = "INSERT INTO receiver_vouchers (channel, amount, signature, creator, mint,
         claimed, allocation, status, claim_signature, cluster, seen_slot, note,
         claim_valid_until, version)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, 1)
     ON CONFLICT (channel) DO NOTHING";

/// Replaces a row at version ?15 with version ?14.
const SWAP_ROW: &str = "UPDATE receiver_vouchers SET amount = ?2, signature = ?3, creator = ?4,
         mint = ?5, claimed = ?6, allocation = ?7, status = ?8, claim_signature = ?9,
         cluster = ?10, seen_slot = ?11, note = ?12, claim_valid_until = ?13, version = ?14
     WHERE channel = ?1 AND version = ?15";

struct RawRecord {
    channel: Vec<u8>,
    amount: i64,
    signature: Vec<u8>,
    creator: Vec<u8>,
    mint: Vec<u8>,
    claimed: i64,
    allocation: i64,
    status: String,
    claim_signature: Option<String>,
    cluster: Option<Vec<u8>>,
    seen_slot: i64,
    note: Option<String>,
    claim_valid_until: Option<i64>,
    version: i64,
}

impl RawRecord {
    fn read(row: &rusqlite::Row<'_>) -> rusqlite::Result<Self> {
        Ok(RawRecord {
            channel: row.get(0)?,
            amount: row.get(1)?,
            signature: row.get(2)?,
            creator: row.get(3)?,
            mint: row.get(4)?,
            claimed: row.get(5)?,
            allocation: row.get(6)?,
            status: row.get(7)?,
            claim_signature: row.get(8)?,
            cluster: row.get(9)?,
            seen_slot: row.get(10)?,
            note: row.get(11)?,
            claim_valid_until: row.get(12)?,
            version: row.get(13)?,
        })
    }

    fn decode(self) -> Result<VoucherRecord> {
        let signature: [u8; 64] = self
            .signature
            .try_into()
            .map_err(|_| corrupt("signature"))?;
        let cluster = match self.cluster {
            None => None,
            Some(bytes) => Some(Hash::new_from_array(
                bytes.try_into().map_err(|_| corrupt("cluster hash"))?,
            )),
        };
        Ok(VoucherRecord {
            voucher: Voucher {
                channel: key(self.channel)?,
                amount: unbits(self.amount),
                signature,
            },
            creator: key(self.creator)?,
            mint: key(self.mint)?,
            claimed: unbits(self.claimed),
            allocation: unbits(self.allocation),
            status: ClaimStatus::parse(&self.status).ok_or_else(|| corrupt("status"))?,
            claim_signature: self.claim_signature,
            cluster,
            seen_slot: unbits(self.seen_slot),
            note: self.note,
            claim_valid_until: self.claim_valid_until.map(unbits),
            version: unbits(self.version),
        })
    }
}

/// Runs `stmt` with the row's columns, in `RECEIVER_COLUMNS` order, as ?1 to
/// ?13 (the version left out), and `extra` as ?14 onwards.
fn execute_row(
    stmt: &mut rusqlite::CachedStatement<'_>,
    r: &VoucherRecord,
    extra: &[i64],
) -> rusqlite::Result<usize> {
    let (amount, claimed, allocation, seen_slot) = (
        bits(r.voucher.amount),
        bits(r.claimed),
        bits(r.allocation),
        bits(r.seen_slot),
    );
    let cluster = r.cluster.map(|h| h.to_bytes().to_vec());
    let valid_until = r.claim_valid_until.map(bits);
    let (channel, creator, mint): (&[u8], &[u8], &[u8]) = (
        r.voucher.channel.as_ref(),
        r.creator.as_ref(),
        r.mint.as_ref(),
    );
    let (signature, status) = (r.voucher.signature.as_slice(), r.status.as_str());
    let mut values: Vec<&dyn rusqlite::ToSql> = vec![
        &channel,
        &amount,
        &signature,
        &creator,
        &mint,
        &claimed,
        &allocation,
        &status,
        &r.claim_signature,
        &cluster,
        &seen_slot,
        &r.note,
        &valid_until,
    ];
    values.extend(extra.iter().map(|v| v as &dyn rusqlite::ToSql));
    stmt.execute(values.as_slice())
}

impl ReceiverStore for SqliteStore {
    fn get(&self, channel: &Pubkey) -> Result<Option<VoucherRecord>> {
        self.named(|| {
            let conn = self.lock()?;
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT {RECEIVER_COLUMNS} FROM receiver_vouchers WHERE channel = ?1"
            ))?;
            stmt.query_row(params![channel.as_ref()], RawRecord::read)
                .optional()?
                .map(RawRecord::decode)
                .transpose()
        })
    }

    fn insert(&self, r: &VoucherRecord) -> Result<bool> {
        self.named(|| {
            let conn = self.lock()?;
            let mut stmt = conn.prepare_cached(INSERT_ROW)?;
            Ok(execute_row(&mut stmt, r, &[])? == 1)
        })
    }

    fn compare_and_swap(&self, expected: u64, r: &VoucherRecord) -> Result<bool> {
        self.named(|| {
            let conn = self.lock()?;
            let mut stmt = conn.prepare_cached(SWAP_ROW)?;
            let versions = [bits(expected.saturating_add(1)), bits(expected)];
            Ok(execute_row(&mut stmt, r, &versions)? == 1)
        })
    }

    fn list(&self, statuses: &[ClaimStatus]) -> Result<Vec<VoucherRecord>> {
        self.named(|| {
            if statuses.is_empty() {
                return Ok(Vec::new());
            }
            let conn = self.lock()?;
            let placeholders = vec!["?"; statuses.len()].join(", ");
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT {RECEIVER_COLUMNS} FROM receiver_vouchers
                 WHERE status IN ({placeholders}) ORDER BY channel"
            ))?;
            let names: Vec<&str> = statuses.iter().map(ClaimStatus::as_str).collect();
            let rows = stmt.query_map(rusqlite::params_from_iter(names), RawRecord::read)?;
            let mut out = Vec::new();
            for row in rows {
                out.push(row?.decode()?);
            }
            Ok(out)
        })
    }

    /// One immediate transaction, one commit (one WAL fsync) for the batch;
    /// an error rolls all of it back.
    fn write_batch(&self, writes: &[RowWrite]) -> Result<Vec<bool>> {
        self.named(|| {
            if writes.is_empty() {
                return Ok(Vec::new());
            }
            let mut conn = self.lock()?;
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let mut done = Vec::with_capacity(writes.len());
            {
                let mut insert = tx.prepare_cached(INSERT_ROW)?;
                let mut swap = tx.prepare_cached(SWAP_ROW)?;
                for write in writes {
                    let written = match write {
                        RowWrite::Insert(r) => execute_row(&mut insert, r, &[])?,
                        RowWrite::Swap {
                            expected,
                            record: r,
                        } => execute_row(
                            &mut swap,
                            r,
                            &[bits(expected.saturating_add(1)), bits(*expected)],
                        )?,
                    };
                    done.push(written == 1);
                }
            }
            tx.commit()?;
            Ok(done)
        })
    }

    fn put_credit(&self, credit: &Credit) -> Result<bool> {
        self.named(|| self.put_credit_row(credit))
    }

    fn take_credit(&self, channel: &Pubkey, amount: u64, route: &str) -> Result<Option<Credit>> {
        self.named(|| self.take_credit_row(channel, amount, route))
    }

    fn count_credits(&self) -> Result<u64> {
        self.named(|| {
            let conn = self.lock()?;
            let n: i64 =
                conn.query_row("SELECT COUNT(*) FROM receiver_credits", [], |r| r.get(0))?;
            Ok(u64::try_from(n).unwrap_or(0))
        })
    }

    fn put_exact(&self, p: &ExactPayment) -> Result<bool> {
        self.named(|| {
            let conn = self.lock()?;
            let mut stmt = conn.prepare_cached(
                "INSERT INTO receiver_exact_payments
                     (id, payer, mint, amount, route, status, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT DO NOTHING",
            )?;
            Ok(stmt.execute(params![
                p.id,
                p.payer.as_ref(),
                p.mint.as_ref(),
                bits(p.amount),
                p.route,
                p.status.as_str(),
                bits(p.created_at)
            ])? == 1)
        })
    }

    fn get_exact(&self, id: &str) -> Result<Option<ExactPayment>> {
        self.named(|| {
            let conn = self.lock()?;
            let mut stmt = conn.prepare_cached(
                "SELECT payer, mint, amount, route, status, created_at
                 FROM receiver_exact_payments WHERE id = ?1",
            )?;
            let row = stmt
                .query_row(params![id], |r| {
                    Ok((
                        r.get::<_, Vec<u8>>(0)?,
                        r.get::<_, Vec<u8>>(1)?,
                        r.get::<_, i64>(2)?,
                        r.get::<_, String>(3)?,
                        r.get::<_, String>(4)?,
                        r.get::<_, i64>(5)?,
                    ))
                })
                .optional()?;
            row.map(|(payer, mint, amount, route, status, at)| {
                Ok(ExactPayment {
                    id: id.to_string(),
                    payer: key(payer)?,
                    mint: key(mint)?,
                    amount: unbits(amount),
                    route,
                    status: ExactStatus::parse(&status)
                        .ok_or_else(|| ClientError::store("corrupt exact payment status"))?,
                    created_at: unbits(at),
                })
            })
            .transpose()
        })
    }

    fn set_exact_status(&self, id: &str, from: ExactStatus, to: ExactStatus) -> Result<bool> {
        self.named(|| {
            let conn = self.lock()?;
            let mut stmt = conn.prepare_cached(
                "UPDATE receiver_exact_payments SET status = ?3 WHERE id = ?1 AND status = ?2",
            )?;
            Ok(stmt.execute(params![id, from.as_str(), to.as_str()])? == 1)
        })
    }
    fn exact_totals(&self) -> Result<Vec<ExactTotal>> {
        self.named(|| {
            let conn = self.lock()?;
            let mut stmt = conn.prepare_cached(
                "SELECT mint, COUNT(*), SUM(amount) FROM receiver_exact_payments
                 WHERE status IN ('settled', 'served') GROUP BY mint ORDER BY mint",
            )?;
            let rows = stmt.query_map([], |r| {
                Ok((
                    r.get::<_, Vec<u8>>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, i64>(2)?,
                ))
            })?;
            rows.map(|row| {
                let (mint, payments, amount) = row?;
                Ok(ExactTotal {
                    mint: key(mint)?,
                    payments: u64::try_from(payments).unwrap_or(0),
                    amount: unbits(amount),
                })
            })
            .collect()
        })
    }

    fn bind_payment_id(&self, id: &str, binding: &Binding) -> Result<Option<Binding>> {
        self.named(|| {
            let mut conn = self.lock()?;
            // the insert and the read in one write transaction: no other
            // process unbinds between them
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let bound = tx
                .prepare_cached(
                    "INSERT INTO receiver_payment_ids (id, request, payment)
                     VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING",
                )?
                .execute(params![
                    id,
                    binding.request.as_slice(),
                    binding.payment.as_slice()
                ])?;
            let existing = if bound == 1 {
                None
            } else {
                let (request, payment) = tx
                    .prepare_cached(
                        "SELECT request, payment FROM receiver_payment_ids WHERE id = ?1",
                    )?
                    .query_row(params![id], |r| {
                        Ok((r.get::<_, Vec<u8>>(0)?, r.get::<_, Vec<u8>>(1)?))
                    })?;
                Some(Binding {
                    request: hash32(request)?,
                    payment: hash32(payment)?,
                })
            };
            tx.commit()?;
            Ok(existing)
        })
    }

    fn unbind_payment_id(&self, id: &str, binding: &Binding) -> Result<bool> {
        self.named(|| {
            let conn = self.lock()?;
            let mut stmt = conn.prepare_cached(
                "DELETE FROM receiver_payment_ids WHERE id = ?1 AND request = ?2 AND payment = ?3",
            )?;
            Ok(stmt.execute(params![
                id,
                binding.request.as_slice(),
                binding.payment.as_slice()
            ])? == 1)
        })
    }
}

/// A 32-byte hash column.
fn hash32(bytes: Vec<u8>) -> Result<[u8; 32]> {
    bytes
        .try_into()
        .map_err(|_| ClientError::store("corrupt payment identifier in store"))
}

impl SqliteStore {
    fn put_credit_row(&self, c: &Credit) -> Result<bool> {
        let conn = self.lock()?;
        let mut stmt = conn.prepare_cached(
            "INSERT INTO receiver_credits
                 (channel, amount, route, net, allocation, signer, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT DO NOTHING",
        )?;
        Ok(stmt.execute(params![
            c.channel.as_ref(),
            bits(c.amount),
            c.route,
            bits(c.net),
            bits(c.allocation),
            c.signer.as_ref(),
            bits(c.created_at)
        ])? == 1)
    }

    fn take_credit_row(
        &self,
        channel: &Pubkey,
        amount: u64,
        route: &str,
    ) -> Result<Option<Credit>> {
        let conn = self.lock()?;
        let mut stmt = conn.prepare_cached(
            "DELETE FROM receiver_credits WHERE channel = ?1 AND amount = ?2 AND route = ?3
             RETURNING net, allocation, signer, created_at",
        )?;
        let row = stmt
            .query_row(params![channel.as_ref(), bits(amount), route], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, Vec<u8>>(2)?,
                    r.get::<_, i64>(3)?,
                ))
            })
            .optional()?;
        row.map(|(net, allocation, signer, created_at)| {
            Ok(Credit {
                channel: *channel,
                amount,
                route: route.to_string(),
                net: unbits(net),
                allocation: unbits(allocation),
                signer: key(signer)?,
                created_at: unbits(created_at),
            })
        })
        .transpose()
    }
}

impl PayerStore for SqliteStore {
    fn delete_payer(&self, channel: &Pubkey, expected: u64) -> Result<bool> {
        self.named(|| {
            let conn = self.lock()?;
            let mut stmt = conn
                .prepare_cached("DELETE FROM payer_channels WHERE channel = ?1 AND version = ?2")?;
            Ok(stmt.execute(params![channel.as_ref(), bits(expected)])? == 1)
        })
    }

    fn get_payer(&self, channel: &Pubkey) -> Result<Option<PayerRecord>> {
        self.named(|| {
            let conn = self.lock()?;
            let mut stmt = conn.prepare_cached(
                "SELECT signer_keypair, cumulative, allocation, version
                 FROM payer_channels WHERE channel = ?1",
            )?;
            let row: Option<(Vec<u8>, i64, i64, i64)> = stmt
                .query_row(params![channel.as_ref()], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
                })
                .optional()?;
            row.map(|(keypair, cumulative, allocation, version)| {
                Ok(PayerRecord {
                    channel: *channel,
                    signer_keypair: keypair.try_into().map_err(|_| corrupt("session key"))?,
                    cumulative: unbits(cumulative),
                    allocation: unbits(allocation),
                    version: unbits(version),
                })
            })
            .transpose()
        })
    }

    fn insert_payer(&self, r: &PayerRecord) -> Result<bool> {
        self.named(|| {
            let conn = self.lock()?;
            let mut stmt = conn.prepare_cached(
                "INSERT INTO payer_channels (channel, signer_keypair, cumulative, allocation, version)
                 VALUES (?1, ?2, ?3, ?4, 1) ON CONFLICT (channel) DO NOTHING",
            )?;
            Ok(stmt.execute(params![
                r.channel.as_ref(),
                r.signer_keypair.as_slice(),
                bits(r.cumulative),
                bits(r.allocation),
            ])? == 1)
        })
    }

    fn compare_and_swap_payer(&self, expected: u64, r: &PayerRecord) -> Result<bool> {
        self.named(|| {
            let conn = self.lock()?;
            let mut stmt = conn.prepare_cached(
                "UPDATE payer_channels SET signer_keypair = ?3, cumulative = ?4, allocation = ?5,
                     version = ?6
                 WHERE channel = ?1 AND version = ?2",
            )?;
            Ok(stmt.execute(params![
                r.channel.as_ref(),
                bits(expected),
                r.signer_keypair.as_slice(),
                bits(r.cumulative),
                bits(r.allocation),
                bits(expected.saturating_add(1)),
            ])? == 1)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::conformance;
    use std::sync::Arc;

    #[test]
    fn in_memory_store_conforms() {
        conformance::receiver_store(&SqliteStore::in_memory().unwrap());
        conformance::payer_store(&SqliteStore::in_memory().unwrap());
    }

    #[test]
    fn file_store_conforms_also_across_connections() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("store.db");
        conformance::receiver_store(&SqliteStore::open(&path).unwrap());
        conformance::payer_store(&SqliteStore::open(&path).unwrap());
        let shared = dir.path().join("shared.db");
        let a: Arc<dyn ReceiverStore> = Arc::new(SqliteStore::open(&shared).unwrap());
        let b: Arc<dyn ReceiverStore> = Arc::new(SqliteStore::open(&shared).unwrap());
        conformance::concurrent_receivers(vec![a, b]);
    }

    #[test]
    fn rows_survive_reopening_and_the_schema_is_current() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("payer.db");
        let ch = Pubkey::new_unique();
        {
            let store = SqliteStore::open(&path).unwrap();
            crate::store::rules::register_payer(
                &store,
                &PayerRecord {
                    channel: ch,
                    signer_keypair: [7; 64],
                    cumulative: 0,
                    allocation: 100,
                    version: 0,
                },
            )
            .unwrap();
            crate::store::rules::reserve_payment(&store, &ch, 60).unwrap();
        }
        let store = SqliteStore::open(&path).unwrap();
        assert_eq!(store.schema_version().unwrap(), MIGRATIONS.len());
        let row = store.get_payer(&ch).unwrap().unwrap();
        assert_eq!((row.cumulative, row.allocation), (60, 100));
    }

    /// The session keys' file and SQLite's WAL and SHM files are private.
    #[cfg(unix)]
    #[test]
    fn store_files_are_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("payer.db");
        let store = SqliteStore::open(&path).unwrap();
        crate::store::rules::register_payer(
            &store,
            &PayerRecord {
                channel: Pubkey::new_unique(),
                signer_keypair: [7; 64],
                cumulative: 0,
                allocation: 100,
                version: 0,
            },
        )
        .unwrap();
        for suffix in ["", "-wal", "-shm"] {
            let file = dir.path().join(format!("payer.db{suffix}"));
            let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{}", file.display());
        }
        // an existing file with loose permissions is tightened on open
        drop(store);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        drop(SqliteStore::open(&path).unwrap());
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }

    /// A store written by schema 1 migrates: rows keep their vouchers, and
    /// rows the old planner closed without evidence are pending again.
    #[test]
    fn schema_1_rows_migrate() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("receiver.db");
        let (a, b) = (Pubkey::new_unique(), Pubkey::new_unique());
        {
            let conn = Connection::open(&path).unwrap();
            conn.execute_batch(MIGRATIONS[0]).unwrap();
            conn.pragma_update(None, "user_version", 1).unwrap();
            for (ch, status) in [(a, "submitted"), (b, "closed")] {
                conn.execute(
                    "INSERT INTO vouchers (channel, amount, signature, creator, mint, claimed, status)
                     VALUES (?1, 500, ?2, ?3, ?4, 100, ?5)",
                    params![ch.as_ref(), [9u8; 64].as_slice(), ch.as_ref(), ch.as_ref(), status],
                )
                .unwrap();
            }
        }
        let store = SqliteStore::open(&path).unwrap();
        let ra = store.get(&a).unwrap().unwrap();
        assert_eq!(
            (
                ra.voucher.amount,
                ra.claimed,
                ra.allocation,
                ra.status,
                ra.cluster,
                ra.version
            ),
            (500, 100, 500, ClaimStatus::Submitted, None, 1)
        );
        assert_eq!(store.get(&b).unwrap().unwrap().status, ClaimStatus::Pending);
    }

    #[test]
    fn a_newer_schema_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("store.db");
        drop(SqliteStore::open(&path).unwrap());
        let conn = Connection::open(&path).unwrap();
        conn.pragma_update(None, "user_version", 99).unwrap();
        drop(conn);
        let err = SqliteStore::open(&path).err().unwrap();
        assert!(err.to_string().contains("newer than this client"), "{err}");
        assert!(
            err.to_string().contains(&path.display().to_string()),
            "{err}"
        );
    }

    /// Every store error names the file: a corrupt row, a file that is not a
    /// database.
    #[test]
    fn store_errors_name_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("receiver.db");
        let store = SqliteStore::open(&path).unwrap();
        let channel = Pubkey::new_unique();
        store
            .lock()
            .unwrap()
            .execute(
                "INSERT INTO receiver_vouchers VALUES (?1, 1, x'00', x'00', x'00', 0, 0, 'pending', NULL, NULL, 0, NULL, 1, NULL)",
                params![channel.as_ref()],
            )
            .unwrap();
        let err = ReceiverStore::get(&store, &channel).unwrap_err();
        assert!(
            matches!(&err, ClientError::Store { path: Some(p), .. } if *p == path),
            "{err:?}"
        );
        assert!(err.to_string().contains("corrupt"), "{err}");

        let garbage = dir.path().join("garbage.db");
        std::fs::write(&garbage, vec![7u8; 4096]).unwrap();
        let err = SqliteStore::open(&garbage).err().unwrap();
        assert!(
            err.to_string().contains(&garbage.display().to_string()),
            "{err}"
        );
    }
}
