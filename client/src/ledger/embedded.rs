//! An in-process ledger: LiteSVM running micropay natively (the builtin of
//! `micropay-native`) beside the real SPL Token, Token-2022, Associated
//! Token Account and address-lookup-table programs (their SBF builds, run by
//! LiteSVM's VM), with a funded default payer and clock control. It is the
//! default wherever a user has not named a cluster, and what the client's
//! tests and the demo run on (the program's own tests run on
//! solana-program-test's bank: `tests/`).
//!
//! Like a cluster, and unlike a bare LiteSVM: a transaction already landed
//! is not run again, only the ledger's latest blockhash is accepted (LiteSVM
//! keeps one; a transaction signed before [`Ledger::send`] had to move it
//! fails with `BlockhashNotFound`, as one that aged out would), accounts
//! without lamports do not exist, and the clock starts at the machine's
//! time. Events are the executed transaction's inner instructions. The
//! ledger has no `getProgramAccounts`: program accounts are found among the
//! accounts named by transactions sent through it (every account the program
//! creates is named by the transaction that creates it).

use super::{sign_transaction, AccountFilter, DynSigner, Ledger, Observed, RecentBlockhash, Sent};
use crate::error::{ClientError, Result};
use anchor_lang::prelude::Pubkey;
use litesvm::{types::FailedTransactionMetadata, LiteSVM};
use micropay_sdk::events::{from_inner_instructions, MicropayEvent};
use solana_sdk::{
    account::Account,
    clock::Clock,
    hash::Hash,
    instruction::Instruction,
    message::Message,
    signature::{Keypair, Signature, Signer},
    slot_hashes::SlotHashes,
    transaction::{Transaction, TransactionError},
};
use std::collections::{BTreeSet, HashMap};
use tokio::sync::Mutex;

pub use micropay_native::{builtin, quiet_logs};

/// Lamports the default payer starts with (500,000 SOL).
pub const PAYER_LAMPORTS: u64 = 500_000_000_000_000;

/// Slots a blockhash is good for on a cluster: the `last_valid_block_height`
/// this ledger reports (its own blockhash lasts until it moves it).
const BLOCKHASH_SLOTS: u64 = 150;

/// Converts a refused transaction (about `message`, when it is a legacy one)
/// into the client's error.
fn tx_error(err: TransactionError, message: Option<&Message>) -> ClientError {
    ClientError::from_transaction_error(err, message)
}

/// The micropay events of an executed or simulated transaction whose
/// account keys (loaded ones included) are `keys`.
fn events_of(keys: &[Pubkey], meta: &litesvm::types::TransactionMetadata) -> Vec<MicropayEvent> {
    from_inner_instructions(
        keys,
        meta.inner_instructions.iter().flatten().map(|i| {
            (
                usize::from(i.instruction.program_id_index),
                i.instruction.data.as_slice(),
            )
        }),
    )
}

/// The SVM of an embedded ledger, set up as a cluster would be.
fn new_svm(payer: &Pubkey) -> Result<LiteSVM> {
    let mut svm = LiteSVM::new();
    svm.add_builtin(micropay::ID, builtin());
    let (mint, account) = micropay_native::native_mint_account();
    svm.set_account(mint, account)
        .map_err(|e| ClientError::rpc(format!("the wrapped-SOL mint: {e}")))?;
    let mut clock: Clock = svm.get_sysvar();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    clock.unix_timestamp = i64::try_from(now).unwrap_or(i64::MAX);
    svm.set_sysvar(&clock);
    svm.airdrop(payer, PAYER_LAMPORTS)
        .map_err(|f| tx_error(f.err, None))?;
    Ok(svm)
}

/// An in-process ledger with a funded payer; see the module docs.
pub struct EmbeddedLedger {
    svm: Mutex<LiteSVM>,
    /// Stands for the genesis hash of a cluster: random per ledger, so two
    /// ledgers are two networks.
    genesis: Hash,
    payer: Keypair,
    /// Accepts v1 transactions of its own payer ([`EmbeddedLedger::with_v1`]):
    /// the key that pays for the lookup tables their twins need.
    v1: Option<Keypair>,
    /// Every transaction executed, by signature (the ledger is final at once).
    landed: Mutex<HashMap<Signature, Sent>>,
    /// Every account a landed transaction named: there is no
    /// `getProgramAccounts`, so [`Ledger::program_accounts`] scans these.
    touched: Mutex<BTreeSet<Pubkey>>,
}

impl EmbeddedLedger {
    /// Starts a fresh ledger.
    pub async fn start() -> Self {
        quiet_logs();
        let payer = Keypair::new();
        let genesis = Hash::new_from_array(rand::random());
        let svm = new_svm(&payer.pubkey()).expect("a fresh SVM takes its set-up");
        EmbeddedLedger {
            svm: Mutex::new(svm),
            genesis,
            payer,
            v1: None,
            landed: Mutex::new(HashMap::new()),
            touched: Mutex::new(BTreeSet::new()),
        }
    }

    /// This ledger, behaving as a cluster that accepts v1 transactions.
    ///
    /// The SVM of Agave 3.1 predates v1. A v1 transaction
    /// paid by this ledger's own payer is checked as a v1 cluster's ingest
    /// would check it ([`crate::v1::verify`]: format, 4,096 bytes, 64
    /// accounts, compute limit stated, every signature), then its exact
    /// instructions run under the same fee payer, compute limit and priority
    /// fee, in a twin transaction this ledger signs: legacy (the SVM does not
    /// enforce the packet size) or, when it names more accounts than a
    /// legacy packet holds on a cluster (38),
    /// v0 with the non-program accounts in a lookup table made for it (paid
    /// by a key of the ledger's own, not by the fee payer). It lands and is
    /// confirmed under the v1 transaction's signature; its fee is the SVM's
    /// (one signature, plus the priority fee). Other payers' v1 transactions
    /// are refused: this ledger cannot sign for them.
    pub async fn with_v1(mut self) -> Result<Self> {
        let tables = Keypair::new();
        self.airdrop(&tables.pubkey(), 100_000_000_000).await?;
        self.v1 = Some(tables);
        Ok(self)
    }

    /// The ledger's funded fee payer ([`PAYER_LAMPORTS`] at the start).
    pub fn payer(&self) -> &Keypair {
        &self.payer
    }

    /// Sets the clock's unix time.
    pub async fn set_unix_timestamp(&self, unix_timestamp: i64) -> Result<()> {
        let mut svm = self.svm.lock().await;
        let mut clock: Clock = svm.get_sysvar();
        clock.unix_timestamp = unix_timestamp;
        svm.set_sysvar(&clock);
        Ok(())
    }

    /// Moves the ledger `slots` slots ahead (it does not advance by itself),
    /// recording the new slot in `SlotHashes` as a cluster would (lookup
    /// tables are keyed by such a slot); the unix time stays.
    pub async fn warp_slots(&self, slots: u64) -> Result<()> {
        let mut svm = self.svm.lock().await;
        let mut clock: Clock = svm.get_sysvar();
        clock.slot = clock.slot.saturating_add(slots.max(1));
        svm.set_sysvar(&clock);
        let hashes: SlotHashes = svm.get_sysvar();
        let mut entries: Vec<(u64, Hash)> = vec![(clock.slot, svm.latest_blockhash())];
        entries.extend(hashes.iter().copied());
        svm.set_sysvar(&SlotHashes::new(&entries));
        Ok(())
    }

    /// Moves the clock forward by `secs`.
    pub async fn advance_time(&self, secs: i64) -> Result<()> {
        let now = self.unix_timestamp().await?;
        self.set_unix_timestamp(now.saturating_add(secs)).await
    }

    /// Sends `lamports` from the default payer to `to`.
    pub async fn airdrop(&self, to: &Pubkey, lamports: u64) -> Result<Sent> {
        let ix = solana_system_interface::instruction::transfer(&self.payer.pubkey(), to, lamports);
        self.send(&[ix], &self.payer, &[]).await
    }
}

/// Most accounts a cluster's runtime indexes in a transaction's static keys
/// (`MAX_STATIC_ACCOUNTS_PER_PACKET`: what fits a 1,232-byte packet); a
/// program at a higher index would overflow its signature-details filter.
const LEGACY_STATIC_ACCOUNTS: usize = 38;

/// The address lookup table program.
const LOOKUP_TABLE_PROGRAM: Pubkey =
    Pubkey::from_str_const("AddressLookupTab1e1111111111111111111111111");

/// Addresses per extend instruction (its transaction stays within a packet).
const ADDRESSES_PER_EXTEND: usize = 25;

impl EmbeddedLedger {
    /// Runs `ixs` (paid by this ledger's payer) as a v0 transaction whose
    /// non-signer, non-program accounts come from a lookup table created for
    /// it by `tables`, and returns what landed.
    async fn submit_with_table(
        &self,
        ixs: &[Instruction],
        tables: &Keypair,
        blockhash: Hash,
    ) -> Result<Sent> {
        use solana_sdk::message::{v0, AddressLookupTableAccount, VersionedMessage};
        let programs: BTreeSet<Pubkey> = ixs.iter().map(|ix| ix.program_id).collect();
        let mut addresses: Vec<Pubkey> = Vec::new();
        for meta in ixs.iter().flat_map(|ix| &ix.accounts) {
            if !meta.is_signer
                && !programs.contains(&meta.pubkey)
                && !addresses.contains(&meta.pubkey)
            {
                addresses.push(meta.pubkey);
            }
        }
        // a table keyed by a slot the SlotHashes sysvar holds
        let slot_hashes = self
            .account(&solana_sdk::sysvar::slot_hashes::ID)
            .await?
            .ok_or_else(|| ClientError::rpc("the bank has no SlotHashes"))?;
        let recent: Vec<(u64, Hash)> = bincode::deserialize(&slot_hashes.data)
            .map_err(|e| ClientError::rpc(format!("SlotHashes: {e}")))?;
        let recent_slot = recent
            .first()
            .map(|(slot, _)| *slot)
            .ok_or_else(|| ClientError::rpc("SlotHashes is empty"))?;
        let (table, bump) = Pubkey::find_program_address(
            &[tables.pubkey().as_ref(), &recent_slot.to_le_bytes()],
            &LOOKUP_TABLE_PROGRAM,
        );
        let system = solana_system_interface::program::ID;
        let mut create = vec![0u8, 0, 0, 0];
        create.extend_from_slice(&recent_slot.to_le_bytes());
        create.push(bump);
        // create and extend name the same accounts: the table, its
        // authority (signing), the payer of its rent, the system program
        let table_instruction = |data: Vec<u8>| Instruction {
            program_id: LOOKUP_TABLE_PROGRAM,
            accounts: vec![
                solana_sdk::instruction::AccountMeta::new(table, false),
                solana_sdk::instruction::AccountMeta::new_readonly(tables.pubkey(), true),
                solana_sdk::instruction::AccountMeta::new(tables.pubkey(), true),
                solana_sdk::instruction::AccountMeta::new_readonly(system, false),
            ],
            data,
        };
        let create = table_instruction(create);
        self.send(&[create], tables, &[]).await?;
        for chunk in addresses.chunks(ADDRESSES_PER_EXTEND) {
            let mut data = vec![2u8, 0, 0, 0];
            data.extend_from_slice(&(chunk.len() as u64).to_le_bytes());
            for a in chunk {
                data.extend_from_slice(a.as_ref());
            }
            self.send(&[table_instruction(data)], tables, &[]).await?;
        }
        // addresses added in a slot are usable from the next one
        self.warp_slots(1).await?;
        let lookup = AddressLookupTableAccount {
            key: table,
            addresses: addresses.clone(),
        };
        let message = v0::Message::try_compile(&self.payer.pubkey(), ixs, &[lookup], blockhash)
            .map_err(|e| ClientError::rpc(format!("the v0 twin does not compile: {e}")))?;
        // the keys as the runtime orders them: static, then loaded writable,
        // then loaded readonly
        let mut keys = message.account_keys.clone();
        for l in &message.address_table_lookups {
            for i in l.writable_indexes.iter().chain(&l.readonly_indexes) {
                keys.extend(addresses.get(usize::from(*i)).copied());
            }
        }
        // the fee depends on the signatures and the compute budget alone
        let budget: Vec<Instruction> = ixs
            .iter()
            .filter(|ix| ix.program_id == solana_compute_budget_interface::ID)
            .cloned()
            .collect();
        let fee = self
            .fee_for_message(&Message::new_with_blockhash(
                &budget,
                Some(&self.payer.pubkey()),
                &blockhash,
            ))
            .await?;
        let tx = solana_sdk::transaction::VersionedTransaction::try_new(
            VersionedMessage::V0(message),
            &[&self.payer],
        )
        .map_err(ClientError::Signing)?;
        let meta = self
            .svm
            .lock()
            .await
            .send_transaction(tx.clone())
            .map_err(|f| tx_error(f.err, None))?;
        self.touched.lock().await.extend(keys.iter().copied());
        Ok(Sent {
            signature: tx.signatures[0],
            events: events_of(&keys, &meta),
            fee,
        })
    }
}

#[async_trait::async_trait]
impl Ledger for EmbeddedLedger {
    async fn recent_blockhash(&self) -> Result<RecentBlockhash> {
        let svm = self.svm.lock().await;
        let slot = svm.get_sysvar::<Clock>().slot;
        Ok(RecentBlockhash {
            hash: svm.latest_blockhash(),
            last_valid_block_height: slot.saturating_add(BLOCKHASH_SLOTS),
        })
    }

    async fn submit(&self, transaction: &Transaction) -> Result<()> {
        let mut svm = self.svm.lock().await;
        let signature = transaction.signatures[0];
        if self.landed.lock().await.contains_key(&signature) {
            return Ok(());
        }
        let message = &transaction.message;
        let meta = svm
            .send_transaction(transaction.clone())
            .map_err(|f: FailedTransactionMetadata| tx_error(f.err, Some(message)))?;
        // the SVM stays locked until the transaction is among the landed:
        // a concurrent submit of the same one then finds it there
        let events = events_of(&message.account_keys, &meta);
        let fee = meta.fee;
        self.touched
            .lock()
            .await
            .extend(transaction.message.account_keys.iter().copied());
        let sent = Sent {
            signature,
            events,
            fee,
        };
        self.landed.lock().await.insert(signature, sent);
        Ok(())
    }

    async fn submit_versioned(
        &self,
        transaction: &solana_sdk::transaction::VersionedTransaction,
    ) -> Result<()> {
        let mut svm = self.svm.lock().await;
        let Some(&signature) = transaction.signatures.first() else {
            return Err(ClientError::rpc("a transaction without a signature"));
        };
        if self.landed.lock().await.contains_key(&signature) {
            return Ok(());
        }
        let keys = transaction.message.static_account_keys().to_vec();
        // a cluster's preflight: a transaction that would fail is refused
        // before it lands (and before its fee payer pays for it)
        svm.simulate_transaction(transaction.clone())
            .map_err(|f: FailedTransactionMetadata| tx_error(f.err, None))?;
        let meta = svm
            .send_transaction(transaction.clone())
            .map_err(|f: FailedTransactionMetadata| tx_error(f.err, None))?;
        let sent = Sent {
            signature,
            events: events_of(&keys, &meta),
            fee: meta.fee,
        };
        self.touched.lock().await.extend(keys);
        self.landed.lock().await.insert(signature, sent);
        Ok(())
    }

    async fn submit_v1(&self, wire: &[u8]) -> Result<()> {
        let refuse = |reason: String| ClientError::V1Transaction { reason };
        let Some(tables) = &self.v1 else {
            return Err(refuse(
                "this embedded bank was started without v1 (EmbeddedLedger::with_v1)".into(),
            ));
        };
        let (message, signatures) = crate::v1::verify(wire)?;
        let signature = *signatures
            .first()
            .ok_or_else(|| refuse("a transaction without a signature".into()))?;
        if self.landed.lock().await.contains_key(&signature) {
            return Ok(());
        }
        let payer = message
            .fee_payer()
            .map(|a| Pubkey::new_from_array(a.to_bytes()));
        if payer != Some(self.payer.pubkey()) || signatures.len() != 1 {
            return Err(refuse(
                "the embedded bank runs v1 transactions signed by its own payer alone".into(),
            ));
        }
        let limit = message.config.compute_unit_limit.unwrap_or(0);
        let mut ixs = vec![
            solana_compute_budget_interface::ComputeBudgetInstruction::set_compute_unit_limit(
                limit,
            ),
        ];
        if let Some(fee) = message.config.priority_fee.filter(|f| *f > 0) {
            // lamports → micro-lamports per unit, rounded up so the bank
            // charges at least what the v1 message offers
            let price = u128::from(fee)
                .saturating_mul(1_000_000)
                .div_ceil(u128::from(limit.max(1)));
            ixs.push(
                solana_compute_budget_interface::ComputeBudgetInstruction::set_compute_unit_price(
                    u64::try_from(price).unwrap_or(u64::MAX),
                ),
            );
        }
        ixs.extend(crate::v1::instructions(&message)?);
        let blockhash = Hash::new_from_array(message.lifetime_specifier.to_bytes());
        let legacy = sign_transaction(&ixs, &self.payer, &[], blockhash)?;
        let mut sent = if legacy.message.account_keys.len() <= LEGACY_STATIC_ACCOUNTS {
            self.submit(&legacy).await?;
            self.landed
                .lock()
                .await
                .get(&legacy.signatures[0])
                .cloned()
                .ok_or_else(|| refuse("its twin did not land".into()))?
        } else {
            self.submit_with_table(&ixs, tables, blockhash).await?
        };
        sent.signature = signature;
        self.landed.lock().await.insert(signature, sent);
        Ok(())
    }

    async fn transaction_format(&self) -> Result<crate::v1::TxFormat> {
        Ok(if self.v1.is_some() {
            crate::v1::TxFormat::V1
        } else {
            crate::v1::TxFormat::Legacy
        })
    }

    async fn confirm(&self, signature: &Signature, _last_valid: u64) -> Result<Option<Sent>> {
        // the bank executes at submit: a signature it has not seen never lands
        Ok(self.landed.lock().await.get(signature).cloned())
    }

    async fn send(
        &self,
        instructions: &[Instruction],
        payer: &DynSigner,
        signers: &[&DynSigner],
    ) -> Result<Sent> {
        let blockhash = self.latest_blockhash().await?;
        let mut tx = sign_transaction(instructions, payer, signers, blockhash)?;
        if self.landed.lock().await.contains_key(&tx.signatures[0]) {
            // An identical transaction would be dropped as already processed:
            // wait for a new blockhash so a deliberate resend really executes.
            let blockhash = {
                let mut svm = self.svm.lock().await;
                svm.expire_blockhash();
                svm.latest_blockhash()
            };
            tx = sign_transaction(instructions, payer, signers, blockhash)?;
        }
        self.submit(&tx).await?;
        let signature = tx.signatures[0];
        self.confirm(&signature, 0)
            .await?
            .ok_or(ClientError::Expired { attempts: 1 })
    }

    async fn account(&self, address: &Pubkey) -> Result<Option<Account>> {
        Ok(self.svm.lock().await.get_account(address))
    }

    async fn accounts(&self, addresses: &[Pubkey]) -> Result<Vec<Option<Account>>> {
        let svm = self.svm.lock().await;
        Ok(addresses.iter().map(|a| svm.get_account(a)).collect())
    }

    async fn fee_for_message(&self, message: &Message) -> Result<u64> {
        let svm = self.svm.lock().await;
        if message.recent_blockhash != svm.latest_blockhash() {
            return Err(ClientError::rpc("blockhash of the message expired"));
        }
        fee_for(message)
    }

    async fn unix_timestamp(&self) -> Result<i64> {
        Ok(self.svm.lock().await.get_sysvar::<Clock>().unix_timestamp)
    }

    async fn genesis_hash(&self) -> Result<Hash> {
        Ok(self.genesis)
    }

    async fn observe(&self, addresses: &[Pubkey]) -> Result<Observed> {
        // the bank is final: every read is at its current slot
        let slot = self.svm.lock().await.get_sysvar::<Clock>().slot;
        Ok(Observed {
            accounts: self.accounts(addresses).await?,
            slots: vec![slot; addresses.len()],
        })
    }

    async fn program_accounts(&self, filters: &[AccountFilter]) -> Result<Vec<(Pubkey, Account)>> {
        let touched: Vec<Pubkey> = self.touched.lock().await.iter().copied().collect();
        let found = self.accounts(&touched).await?;
        Ok(touched
            .into_iter()
            .zip(found)
            .filter_map(|(address, account)| account.map(|a| (address, a)))
            .filter(|(_, a)| {
                a.owner == micropay::ID && micropay_sdk::filters::matches_all(filters, &a.data)
            })
            .collect())
    }
}

/// What the SVM charges for `message`: its signatures (precompiles' among
/// them) and its priority fee, as the runtime computes them.
fn fee_for(message: &Message) -> Result<u64> {
    use solana_svm_transaction::svm_message::SVMMessage;
    let sanitized = solana_sdk::message::SanitizedMessage::try_from_legacy_message(
        message.clone(),
        &Default::default(),
    )
    .map_err(|e| ClientError::rpc(format!("the message does not sanitize: {e}")))?;
    let features = LiteSVM::mainnet_feature_set();
    let limits = solana_compute_budget_instruction::instructions_processor::process_compute_budget_instructions(
        SVMMessage::program_instructions_iter(&sanitized),
        &features,
    )
    .map_err(|e| tx_error(e, Some(message)))?;
    Ok(solana_fee::calculate_fee(
        &sanitized,
        false,
        solana_sdk::fee::FeeStructure::default().lamports_per_signature,
        limits.get_prioritization_fee(),
        solana_fee::FeeFeatures::from(&features),
    ))
}
