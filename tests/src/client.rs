//! Client fixtures on the embedded bank: a funded wSOL escrow with channels
//! in one line, a receiver with an in-memory store, keypair files for the
//! CLI tests.

use anchor_spl::token::spl_token::{native_mint::ID as SOL, ID as TOKEN};
use micropay::instructions::OpenChannelArgs;
use micropay_client::{
    accounts,
    ledger::{embedded::EmbeddedLedger, AccountFilter, Ledger, Observed, RecentBlockhash, Sent},
    tokens, ClientError, Result,
};
use micropay_sdk::{instructions as mix, pda};
use solana_sdk::{
    account::Account, hash::Hash, message::Message, signature::Signature, transaction::Transaction,
};
use solana_sdk::{
    pubkey::Pubkey,
    signature::{Keypair, Signer},
};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// The instructions that wrap `deposit` lamports into `owner`'s wSOL account
/// `wsol`, create `owner`'s wSOL escrow and deposit them; and the escrow.
pub fn escrow_ixs(
    owner: &Pubkey,
    wsol: &Pubkey,
    deposit: u64,
) -> (Pubkey, Vec<solana_sdk::instruction::Instruction>) {
    mix::FundNewSolEscrow {
        owner: *owner,
        wsol: *wsol,
        lamports: deposit,
    }
    .instructions()
    .unwrap()
}

/// Writes `key` as a Solana CLI keypair file.
pub fn write_key(path: &std::path::Path, key: &Keypair) {
    std::fs::write(
        path,
        serde_json::to_string(&key.to_bytes().to_vec()).unwrap(),
    )
    .unwrap();
}

/// `n` more channels of `f`'s escrow to `f`'s creator, signed by `f`'s
/// session key, each with `allocation`.
pub async fn more_channels(
    ledger: &EmbeddedLedger,
    f: &OneChannel,
    n: usize,
    allocation: u64,
) -> Vec<Pubkey> {
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let signer = f.session.pubkey();
        out.push(
            open(
                ledger,
                &f.user,
                &f.escrow,
                &f.creator.pubkey(),
                &signer,
                allocation,
                0,
            )
            .await,
        );
    }
    out
}

/// A wSOL escrow with `deposit` lamports and one channel to a new creator.
pub struct OneChannel {
    pub user: Keypair,
    pub creator: Keypair,
    pub session: Keypair,
    pub escrow: Pubkey,
    pub channel: Pubkey,
    pub allocation: u64,
}

pub async fn one_channel(
    ledger: &EmbeddedLedger,
    deposit: u64,
    allocation: u64,
    expires_at: i64,
) -> OneChannel {
    let l: &dyn Ledger = ledger;
    let user = Keypair::new();
    ledger
        .airdrop(&user.pubkey(), deposit + 1_000_000_000)
        .await
        .unwrap();
    let (creator, session) = (Keypair::new(), Keypair::new());
    let wsol = tokens::create_token_account(l, &user, &SOL, &user.pubkey(), &TOKEN)
        .await
        .unwrap();
    let (escrow, mut ixs) = escrow_ixs(&user.pubkey(), &wsol, deposit);
    ixs.push(
        mix::InitEarnings {
            payer: user.pubkey(),
            owner: creator.pubkey(),
            mint: SOL,
        }
        .instruction(),
    );
    ledger.send(&ixs, &user, &[]).await.unwrap();
    let channel = open(
        ledger,
        &user,
        &escrow,
        &creator.pubkey(),
        &session.pubkey(),
        allocation,
        expires_at,
    )
    .await;
    OneChannel {
        user,
        creator,
        session,
        escrow,
        channel,
        allocation,
    }
}

pub async fn open(
    ledger: &EmbeddedLedger,
    user: &Keypair,
    escrow: &Pubkey,
    creator: &Pubkey,
    signer: &Pubkey,
    allocation: u64,
    expires_at: i64,
) -> Pubkey {
    let l: &dyn Ledger = ledger;
    let slot = pda::ChannelSlot::next(&accounts::escrow(l, escrow).await.unwrap().unwrap());
    let (ix, channel) = mix::OpenChannel {
        owner: user.pubkey(),
        escrow: *escrow,
        slot,
        args: OpenChannelArgs {
            creator: *creator,
            signer: *signer,
            allocation,
            fee_recipient: None,
            fee_bps: 0,
            dispute_window_secs: 900,
            expires_at,
            nonce: rand::random(),
        },
    }
    .with_channel();
    ledger.send(&[ix], user, &[]).await.unwrap();
    channel
}

/// An in-memory receiver store and a receiver for `creator` on `ledger`.
pub fn receiver(
    ledger: &std::sync::Arc<EmbeddedLedger>,
    creator: &Pubkey,
) -> (
    std::sync::Arc<dyn micropay_client::store::ReceiverStore>,
    micropay_client::receiver::Receiver,
) {
    let store: std::sync::Arc<dyn micropay_client::store::ReceiverStore> =
        std::sync::Arc::new(micropay_client::store::SqliteStore::in_memory().unwrap());
    let receiver = micropay_client::receiver::Receiver::new(
        ledger.clone(),
        store.clone(),
        *creator,
        micropay_client::receiver::ReceiverConfig::accepting([
            micropay_client::receiver::AcceptedMint::wrapped_sol(),
        ]),
    );
    (store, receiver)
}

/// The embedded bank behind a ledger that counts what it is asked and fails
/// on demand, as a killed process or an unreachable node would.
pub struct Faulty {
    inner: std::sync::Arc<EmbeddedLedger>,
    observes: AtomicUsize,
    submits: AtomicUsize,
    /// How many transactions each `confirm_many` call waited for.
    confirm_calls: std::sync::Mutex<Vec<usize>>,
    /// The next `submit` is lost: it answers like a timeout, never sends.
    pub lose_next_submit: AtomicBool,
    /// The next `confirm` fails like a process killed after sending.
    pub crash_next_confirm: AtomicBool,
    /// The next `submit` stays in flight: the bank executes it only when
    /// someone confirms its signature (a cluster that has not landed it yet).
    pub hold_next_submit: AtomicBool,
    held: tokio::sync::Mutex<Option<Transaction>>,
    /// What `recent_prioritization_fees` answers (a busy cluster's fees).
    pub priority_samples: std::sync::Mutex<Vec<u64>>,
    /// Accounts a lying node puts first in every `program_accounts` answer,
    /// whatever the filters.
    pub invented: std::sync::Mutex<Vec<(Pubkey, Account)>>,
}

impl Faulty {
    /// A faultless ledger over `inner`, counters at zero.
    pub fn new(inner: std::sync::Arc<EmbeddedLedger>) -> Self {
        Faulty {
            inner,
            observes: AtomicUsize::new(0),
            submits: AtomicUsize::new(0),
            confirm_calls: std::sync::Mutex::new(Vec::new()),
            lose_next_submit: AtomicBool::new(false),
            crash_next_confirm: AtomicBool::new(false),
            hold_next_submit: AtomicBool::new(false),
            held: tokio::sync::Mutex::new(None),
            priority_samples: std::sync::Mutex::new(Vec::new()),
            invented: std::sync::Mutex::new(Vec::new()),
        }
    }

    /// `observe` calls so far.
    pub fn observes(&self) -> usize {
        self.observes.load(Ordering::SeqCst)
    }

    /// Transactions handed to the bank so far.
    pub fn submits(&self) -> usize {
        self.submits.load(Ordering::SeqCst)
    }

    /// The size of each `confirm_many` call so far.
    pub fn confirm_calls(&self) -> Vec<usize> {
        self.confirm_calls
            .lock()
            .map(|c| c.clone())
            .unwrap_or_default()
    }
}

fn killed() -> ClientError {
    ClientError::rpc("connection reset (the test's fault)")
}

#[async_trait::async_trait]
impl Ledger for Faulty {
    async fn recent_blockhash(&self) -> Result<RecentBlockhash> {
        self.inner.recent_blockhash().await
    }
    async fn submit(&self, tx: &Transaction) -> Result<()> {
        if self.lose_next_submit.swap(false, Ordering::SeqCst) {
            return Err(killed());
        }
        self.submits.fetch_add(1, Ordering::SeqCst);
        if self.hold_next_submit.swap(false, Ordering::SeqCst) {
            *self.held.lock().await = Some(tx.clone());
            return Ok(());
        }
        self.inner.submit(tx).await
    }
    async fn confirm(&self, signature: &Signature, last_valid: u64) -> Result<Option<Sent>> {
        if self.crash_next_confirm.swap(false, Ordering::SeqCst) {
            return Err(killed());
        }
        let landing = {
            let mut held = self.held.lock().await;
            match held.as_ref() {
                Some(tx) if tx.signatures[0] == *signature => held.take(),
                _ => None,
            }
        };
        if let Some(tx) = landing {
            self.inner.submit(&tx).await?;
        }
        self.inner.confirm(signature, last_valid).await
    }
    async fn confirm_many(
        &self,
        pending: &[(Signature, u64)],
    ) -> Result<Vec<Result<Option<Sent>>>> {
        self.confirm_calls
            .lock()
            .map_err(|_| ClientError::rpc("poisoned"))?
            .push(pending.len());
        micropay_client::ledger::confirm_each(self, pending).await
    }
    async fn account(&self, address: &Pubkey) -> Result<Option<Account>> {
        self.inner.account(address).await
    }
    async fn accounts(&self, addresses: &[Pubkey]) -> Result<Vec<Option<Account>>> {
        self.inner.accounts(addresses).await
    }
    async fn fee_for_message(&self, message: &Message) -> Result<u64> {
        self.inner.fee_for_message(message).await
    }
    async fn unix_timestamp(&self) -> Result<i64> {
        self.inner.unix_timestamp().await
    }
    async fn genesis_hash(&self) -> Result<Hash> {
        self.inner.genesis_hash().await
    }
    async fn observe(&self, addresses: &[Pubkey]) -> Result<Observed> {
        self.observes.fetch_add(1, Ordering::SeqCst);
        self.inner.observe(addresses).await
    }
    async fn program_accounts(&self, filters: &[AccountFilter]) -> Result<Vec<(Pubkey, Account)>> {
        let mut answer = self
            .invented
            .lock()
            .map_err(|_| ClientError::rpc("poisoned"))?
            .clone();
        answer.extend(self.inner.program_accounts(filters).await?);
        Ok(answer)
    }
    async fn recent_prioritization_fees(&self, _accounts: &[Pubkey]) -> Result<Vec<u64>> {
        Ok(self
            .priority_samples
            .lock()
            .map_err(|_| ClientError::rpc("poisoned"))?
            .clone())
    }
}
