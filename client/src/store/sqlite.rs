//! SQLite voucher store: WAL mode, `synchronous = FULL` (a voucher is on disk
//! before `record` returns), schema migrations by `user_version`, every
//! read-modify-write in one immediate transaction.

use super::{ClaimStatus, PayerChannel, RecordOutcome, StoredVoucher, VoucherStore};
use crate::{
    error::{ClientError, Result},
    voucher::Voucher,
};
use anchor_lang::prelude::Pubkey;
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
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
];

pub struct SqliteStore {
    conn: Mutex<Connection>,
}

fn to_sql(amount: u64) -> Result<i64> {
    i64::try_from(amount)
        .map_err(|_| ClientError::Store(format!("amount {amount} is too large to store")))
}

fn from_sql(value: i64) -> Result<u64> {
    u64::try_from(value)
        .map_err(|_| ClientError::Store(format!("negative amount {value} in store")))
}

fn key(bytes: Vec<u8>) -> Result<Pubkey> {
    Pubkey::try_from(bytes.as_slice())
        .map_err(|_| ClientError::Store("corrupt key in store".into()))
}

impl SqliteStore {
    /// Opens (creating if needed) the store at `path` and migrates it.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| ClientError::Store(format!("cannot create {}: {e}", dir.display())))?;
        }
        let conn = Connection::open(path)
            .map_err(|e| ClientError::Store(format!("cannot open {}: {e}", path.display())))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        Self::init(conn)
    }

    /// A private in-memory store (tests, one-shot runs).
    pub fn in_memory() -> Result<Self> {
        Self::init(Connection::open_in_memory()?)
    }

    fn init(conn: Connection) -> Result<Self> {
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        let store = SqliteStore {
            conn: Mutex::new(conn),
        };
        store.migrate()?;
        Ok(store)
    }

    fn lock(&self) -> Result<std::sync::MutexGuard<'_, Connection>> {
        self.conn
            .lock()
            .map_err(|_| ClientError::Store("store lock poisoned".into()))
    }

    fn migrate(&self) -> Result<()> {
        let mut conn = self.lock()?;
        let version: usize = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
        if version > MIGRATIONS.len() {
            return Err(ClientError::Store(format!(
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

    fn row_to_voucher(row: &rusqlite::Row<'_>) -> rusqlite::Result<RawVoucher> {
        Ok(RawVoucher {
            channel: row.get(0)?,
            amount: row.get(1)?,
            signature: row.get(2)?,
            creator: row.get(3)?,
            mint: row.get(4)?,
            claimed: row.get(5)?,
            status: row.get(6)?,
            claim_signature: row.get(7)?,
        })
    }
}

struct RawVoucher {
    channel: Vec<u8>,
    amount: i64,
    signature: Vec<u8>,
    creator: Vec<u8>,
    mint: Vec<u8>,
    claimed: i64,
    status: String,
    claim_signature: Option<String>,
}

impl RawVoucher {
    fn decode(self) -> Result<StoredVoucher> {
        let signature: [u8; 64] = self
            .signature
            .try_into()
            .map_err(|_| ClientError::Store("corrupt signature in store".into()))?;
        Ok(StoredVoucher {
            voucher: Voucher {
                channel: key(self.channel)?,
                amount: from_sql(self.amount)?,
                signature,
            },
            creator: key(self.creator)?,
            mint: key(self.mint)?,
            claimed: from_sql(self.claimed)?,
            status: ClaimStatus::parse(&self.status)
                .ok_or_else(|| ClientError::Store(format!("unknown status {}", self.status)))?,
            claim_signature: self.claim_signature,
        })
    }
}

/// The payer row of `channel`, decoded.
fn read_payer_channel(conn: &Connection, channel: &Pubkey) -> Result<Option<PayerChannel>> {
    let row: Option<(Vec<u8>, i64, i64)> = conn
        .query_row(
            "SELECT signer_keypair, cumulative, allocation FROM payer_channels WHERE channel = ?1",
            params![channel.as_ref()],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    row.map(|(keypair, cumulative, allocation)| {
        Ok(PayerChannel {
            channel: *channel,
            signer_keypair: keypair
                .try_into()
                .map_err(|_| ClientError::Store("corrupt session key in store".into()))?,
            cumulative: from_sql(cumulative)?,
            allocation: from_sql(allocation)?,
        })
    })
    .transpose()
}

const SELECT_VOUCHER: &str =
    "SELECT channel, amount, signature, creator, mint, claimed, status, claim_signature FROM vouchers";

impl VoucherStore for SqliteStore {
    fn record(
        &self,
        voucher: &Voucher,
        creator: &Pubkey,
        mint: &Pubkey,
        floor: u64,
        pays_enough: &dyn Fn(u64) -> bool,
    ) -> Result<RecordOutcome> {
        let mut conn = self.lock()?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let existing: Option<(i64, Vec<u8>, i64)> = tx
            .query_row(
                "SELECT amount, signature, claimed FROM vouchers WHERE channel = ?1",
                params![voucher.channel.as_ref()],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?;
        let current = match &existing {
            Some((amount, signature, claimed)) => {
                if from_sql(*amount)? == voucher.amount && signature.as_slice() == voucher.signature
                {
                    return Ok(RecordOutcome::Duplicate);
                }
                from_sql(*amount)?.max(from_sql(*claimed)?).max(floor)
            }
            None => floor,
        };
        if voucher.amount <= current {
            return Ok(RecordOutcome::NotAhead { current });
        }
        if !pays_enough(current) {
            return Ok(RecordOutcome::Underpaid { current });
        }
        let amount = to_sql(voucher.amount)?;
        if existing.is_some() {
            tx.execute(
                "UPDATE vouchers SET amount = ?2, signature = ?3,
                     status = CASE WHEN status = 'closed' THEN 'closed' ELSE 'pending' END
                 WHERE channel = ?1",
                params![
                    voucher.channel.as_ref(),
                    amount,
                    voucher.signature.as_slice()
                ],
            )?;
        } else {
            tx.execute(
                "INSERT INTO vouchers (channel, amount, signature, creator, mint, claimed)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    voucher.channel.as_ref(),
                    amount,
                    voucher.signature.as_slice(),
                    creator.as_ref(),
                    mint.as_ref(),
                    to_sql(floor)?
                ],
            )?;
        }
        tx.commit()?;
        Ok(RecordOutcome::Accepted { previous: current })
    }

    fn get(&self, channel: &Pubkey) -> Result<Option<StoredVoucher>> {
        let conn = self.lock()?;
        conn.query_row(
            &format!("{SELECT_VOUCHER} WHERE channel = ?1"),
            params![channel.as_ref()],
            Self::row_to_voucher,
        )
        .optional()?
        .map(RawVoucher::decode)
        .transpose()
    }

    fn claimable(&self) -> Result<Vec<StoredVoucher>> {
        let conn = self.lock()?;
        let mut stmt = conn.prepare(&format!(
            "{SELECT_VOUCHER} WHERE status IN ('pending', 'submitted') ORDER BY channel"
        ))?;
        let rows = stmt.query_map([], Self::row_to_voucher)?;
        let mut out = Vec::new();
        for row in rows {
            out.push(row?.decode()?);
        }
        Ok(out)
    }

    fn mark_submitted(&self, channels: &[Pubkey], signature: &str) -> Result<()> {
        let mut conn = self.lock()?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        for channel in channels {
            tx.execute(
                "UPDATE vouchers SET status = 'submitted', claim_signature = ?2
                 WHERE channel = ?1 AND status IN ('pending', 'submitted')",
                params![channel.as_ref(), signature],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    fn mark_claimed(&self, channel: &Pubkey, claimed: u64, settled: bool) -> Result<()> {
        let conn = self.lock()?;
        conn.execute(
            "UPDATE vouchers SET claimed = MAX(claimed, ?2),
                 status = CASE WHEN ?3 THEN 'confirmed' ELSE 'pending' END
             WHERE channel = ?1 AND status != 'closed'",
            params![channel.as_ref(), to_sql(claimed)?, settled],
        )?;
        Ok(())
    }

    fn mark_closed(&self, channel: &Pubkey) -> Result<()> {
        let conn = self.lock()?;
        conn.execute(
            "UPDATE vouchers SET status = 'closed' WHERE channel = ?1",
            params![channel.as_ref()],
        )?;
        Ok(())
    }

    fn register_payer_channel(&self, state: &PayerChannel) -> Result<()> {
        let conn = self.lock()?;
        conn.execute(
            "INSERT INTO payer_channels (channel, signer_keypair, cumulative, allocation)
             VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (channel) DO UPDATE SET
                 allocation = MAX(allocation, excluded.allocation),
                 cumulative = MAX(cumulative, excluded.cumulative)",
            params![
                state.channel.as_ref(),
                state.signer_keypair.as_slice(),
                to_sql(state.cumulative)?,
                to_sql(state.allocation)?
            ],
        )?;
        Ok(())
    }

    fn payer_channel(&self, channel: &Pubkey) -> Result<Option<PayerChannel>> {
        read_payer_channel(&*self.lock()?, channel)
    }

    fn reserve_payment(&self, channel: &Pubkey, price: u64) -> Result<Option<PayerChannel>> {
        let mut conn = self.lock()?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let Some(mut state) = read_payer_channel(&tx, channel)? else {
            return Err(ClientError::Invalid(format!(
                "channel {channel} is not registered with this payer"
            )));
        };
        let Some(next) = state
            .cumulative
            .checked_add(price)
            .filter(|n| *n <= state.allocation)
        else {
            return Ok(None);
        };
        tx.execute(
            "UPDATE payer_channels SET cumulative = ?2 WHERE channel = ?1",
            params![channel.as_ref(), to_sql(next)?],
        )?;
        tx.commit()?;
        state.cumulative = next;
        Ok(Some(state))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use solana_sdk::signature::Keypair;

    fn voucher(key: &Keypair, channel: Pubkey, amount: u64) -> Voucher {
        Voucher::sign(key, channel, amount)
    }

    /// The plain price rule: `voucher` is at least `price` above `current`.
    fn at_least(voucher: &Voucher, price: u64) -> impl Fn(u64) -> bool {
        let amount = voucher.amount;
        move |current| amount.saturating_sub(current) >= price
    }

    #[test]
    fn record_keeps_the_highest_and_counts_once() {
        let store = SqliteStore::in_memory().unwrap();
        let key = Keypair::new();
        let (ch, creator, mint) = (
            Pubkey::new_unique(),
            Pubkey::new_unique(),
            Pubkey::new_unique(),
        );
        let v1 = voucher(&key, ch, 100);
        assert_eq!(
            store
                .record(&v1, &creator, &mint, 0, &at_least(&v1, 100))
                .unwrap(),
            RecordOutcome::Accepted { previous: 0 }
        );
        assert_eq!(
            store
                .record(&v1, &creator, &mint, 0, &at_least(&v1, 100))
                .unwrap(),
            RecordOutcome::Duplicate
        );
        let lower = voucher(&key, ch, 50);
        assert_eq!(
            store
                .record(&lower, &creator, &mint, 0, &at_least(&lower, 1))
                .unwrap(),
            RecordOutcome::NotAhead { current: 100 }
        );
        let v2 = voucher(&key, ch, 150);
        assert_eq!(
            store
                .record(&v2, &creator, &mint, 0, &at_least(&v2, 60))
                .unwrap(),
            RecordOutcome::Underpaid { current: 100 }
        );
        assert_eq!(
            store
                .record(&v2, &creator, &mint, 0, &at_least(&v2, 50))
                .unwrap(),
            RecordOutcome::Accepted { previous: 100 }
        );
        assert_eq!(store.get(&ch).unwrap().unwrap().voucher, v2);
        // a floor above the voucher (already claimed on chain) makes it not ahead
        let other = Pubkey::new_unique();
        let v = voucher(&key, other, 10);
        assert_eq!(
            store
                .record(&v, &creator, &mint, 10, &at_least(&v, 1))
                .unwrap(),
            RecordOutcome::NotAhead { current: 10 }
        );
    }

    #[test]
    fn claim_status_lifecycle() {
        let store = SqliteStore::in_memory().unwrap();
        let key = Keypair::new();
        let (a, b, creator, mint) = (
            Pubkey::new_unique(),
            Pubkey::new_unique(),
            Pubkey::new_unique(),
            Pubkey::new_unique(),
        );
        store
            .record(&voucher(&key, a, 10), &creator, &mint, 0, &|_| true)
            .unwrap();
        store
            .record(&voucher(&key, b, 20), &creator, &mint, 0, &|_| true)
            .unwrap();
        assert_eq!(store.claimable().unwrap().len(), 2);
        store.mark_submitted(&[a, b], "sig1").unwrap();
        let pending = store.claimable().unwrap();
        assert!(pending
            .iter()
            .all(|v| v.status == ClaimStatus::Submitted
                && v.claim_signature.as_deref() == Some("sig1")));
        // a submitted voucher stays claimable until confirmed
        store.mark_claimed(&a, 10, true).unwrap();
        store.mark_closed(&b).unwrap();
        assert!(store.claimable().unwrap().is_empty());
        assert_eq!(
            store.get(&a).unwrap().unwrap().status,
            ClaimStatus::Confirmed
        );
        assert_eq!(store.get(&b).unwrap().unwrap().status, ClaimStatus::Closed);
        // a newer voucher on a confirmed channel is pending again
        store
            .record(&voucher(&key, a, 30), &creator, &mint, 0, &|_| true)
            .unwrap();
        let again = store.claimable().unwrap();
        assert_eq!(
            (again.len(), again[0].claimed, again[0].status),
            (1, 10, ClaimStatus::Pending)
        );
    }

    #[test]
    fn payer_reservations_never_exceed_allocation_and_survive_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("store.db");
        let ch = Pubkey::new_unique();
        {
            let store = SqliteStore::open(&path).unwrap();
            store
                .register_payer_channel(&PayerChannel {
                    channel: ch,
                    signer_keypair: [7; 64],
                    cumulative: 0,
                    allocation: 100,
                })
                .unwrap();
            assert_eq!(
                store.reserve_payment(&ch, 60).unwrap().unwrap().cumulative,
                60
            );
            assert!(store.reserve_payment(&ch, 41).unwrap().is_none());
            assert_eq!(
                store.reserve_payment(&ch, 40).unwrap().unwrap().cumulative,
                100
            );
        }
        let store = SqliteStore::open(&path).unwrap();
        assert_eq!(store.schema_version().unwrap(), MIGRATIONS.len());
        let state = store.payer_channel(&ch).unwrap().unwrap();
        assert_eq!((state.cumulative, state.allocation), (100, 100));
        // re-registering never lowers what was signed
        store
            .register_payer_channel(&PayerChannel {
                channel: ch,
                signer_keypair: [7; 64],
                cumulative: 0,
                allocation: 150,
            })
            .unwrap();
        let state = store.payer_channel(&ch).unwrap().unwrap();
        assert_eq!((state.cumulative, state.allocation), (100, 150));
        assert!(store.reserve_payment(&Pubkey::new_unique(), 1).is_err());
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
    }
}
