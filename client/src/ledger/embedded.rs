//! An in-process bank: solana-program-test running micropay natively with the
//! real SPL Token and Token-2022 programs, a funded default payer and clock
//! control. It is the default wherever a user has not named a cluster, and what
//! the program tests run on.
//!
//! Events come from a simulation of each transaction on the same state right
//! before it executes (natively they exist only as inner instructions).
//! The bank has no `getProgramAccounts`: program accounts are found among
//! the accounts named by transactions sent through this ledger (every account
//! the program creates is named by the transaction that creates it; accounts
//! put into the bank at genesis are not found).

use super::{sign_transaction, AccountFilter, DynSigner, Ledger, Observed, RecentBlockhash, Sent};
use crate::error::{ClientError, Result};
use anchor_lang::prelude::Pubkey;
use micropay_sdk::events::{from_inner_instructions, MicropayEvent};
use solana_program_test::{BanksClientError, ProgramTestContext};
use solana_sdk::{
    account::Account,
    clock::Clock,
    hash::Hash,
    instruction::Instruction,
    message::Message,
    signature::{Keypair, Signature, Signer},
    transaction::Transaction,
};
use std::collections::{BTreeSet, HashMap};
use tokio::sync::Mutex;

pub use micropay_native::{builtin, program_test, quiet_logs};

/// Converts a bank error into the client's error.
pub fn bank_error(err: BanksClientError) -> ClientError {
    tx_error(err, None)
}

/// Converts a bank error about `message`'s transaction into the client's error.
fn tx_error(err: BanksClientError, message: Option<&Message>) -> ClientError {
    match err {
        BanksClientError::TransactionError(e)
        | BanksClientError::SimulationError { err: e, .. } => {
            ClientError::from_transaction_error(e, message)
        }
        other => ClientError::Rpc(other.to_string()),
    }
}

/// Simulates `tx` on the bank; its micropay events, or the error it would fail with.
async fn simulate_events(ctx: &ProgramTestContext, tx: &Transaction) -> Result<Vec<MicropayEvent>> {
    let simulation = ctx
        .banks_client
        .simulate_transaction(tx.clone())
        .await
        .map_err(bank_error)?;
    if let Some(Err(e)) = simulation.result {
        return Err(tx_error(
            BanksClientError::TransactionError(e),
            Some(&tx.message),
        ));
    }
    let inner = simulation
        .simulation_details
        .and_then(|d| d.inner_instructions)
        .unwrap_or_default();
    Ok(from_inner_instructions(
        &tx.message.account_keys,
        inner.iter().flatten().map(|i| {
            (
                usize::from(i.instruction.program_id_index),
                i.instruction.data.as_slice(),
            )
        }),
    ))
}

/// An in-process bank with a funded payer; see the module docs.
pub struct EmbeddedLedger {
    ctx: Mutex<ProgramTestContext>,
    payer: Keypair,
    /// Every transaction executed, by signature (the bank is final at once).
    landed: Mutex<HashMap<Signature, Sent>>,
    /// Every account a landed transaction named: BanksClient has no
    /// `getProgramAccounts`, so [`Ledger::program_accounts`] scans these.
    touched: Mutex<BTreeSet<Pubkey>>,
}

impl EmbeddedLedger {
    /// Starts a fresh bank.
    pub async fn start() -> Self {
        quiet_logs();
        let ctx = program_test().start_with_context().await;
        let payer = ctx.payer.insecure_clone();
        EmbeddedLedger {
            ctx: Mutex::new(ctx),
            payer,
            landed: Mutex::new(HashMap::new()),
            touched: Mutex::new(BTreeSet::new()),
        }
    }

    /// The bank's funded fee payer (500,000 SOL at genesis).
    pub fn payer(&self) -> &Keypair {
        &self.payer
    }

    /// Sets the bank clock's unix time.
    pub async fn set_unix_timestamp(&self, unix_timestamp: i64) -> Result<()> {
        let ctx = self.ctx.lock().await;
        let mut clock: Clock = ctx.banks_client.get_sysvar().await.map_err(bank_error)?;
        clock.unix_timestamp = unix_timestamp;
        ctx.set_sysvar(&clock);
        Ok(())
    }

    /// Moves the bank `slots` slots ahead (it does not advance by itself);
    /// the clock's unix time never goes back.
    pub async fn warp_slots(&self, slots: u64) -> Result<()> {
        let mut ctx = self.ctx.lock().await;
        let before: Clock = ctx.banks_client.get_sysvar().await.map_err(bank_error)?;
        ctx.warp_to_slot(before.slot.saturating_add(slots.max(1)))
            .map_err(|e| ClientError::Rpc(format!("warp: {e:?}")))?;
        let mut after: Clock = ctx.banks_client.get_sysvar().await.map_err(bank_error)?;
        if after.unix_timestamp < before.unix_timestamp {
            after.unix_timestamp = before.unix_timestamp;
            ctx.set_sysvar(&after);
        }
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

#[async_trait::async_trait]
impl Ledger for EmbeddedLedger {
    async fn recent_blockhash(&self) -> Result<RecentBlockhash> {
        let ctx = self.ctx.lock().await;
        let (hash, last_valid_block_height) = ctx
            .banks_client
            .get_latest_blockhash_with_commitment(Default::default())
            .await
            .map_err(bank_error)?
            .ok_or_else(|| ClientError::Rpc("the bank has no blockhash".into()))?;
        Ok(RecentBlockhash {
            hash,
            last_valid_block_height,
        })
    }

    async fn submit(&self, transaction: &Transaction) -> Result<()> {
        let ctx = self.ctx.lock().await;
        let signature = transaction.signatures[0];
        if self.landed.lock().await.contains_key(&signature) {
            return Ok(());
        }
        let events = simulate_events(&ctx, transaction).await?;
        let fee = ctx
            .banks_client
            .get_fee_for_message(transaction.message.clone())
            .await
            .map_err(bank_error)?
            .unwrap_or(0);
        ctx.banks_client
            .process_transaction(transaction.clone())
            .await
            .map_err(|e| tx_error(e, Some(&transaction.message)))?;
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
            let blockhash = self
                .ctx
                .lock()
                .await
                .get_new_latest_blockhash()
                .await
                .map_err(|e| ClientError::Rpc(e.to_string()))?;
            tx = sign_transaction(instructions, payer, signers, blockhash)?;
        }
        self.submit(&tx).await?;
        let signature = tx.signatures[0];
        self.confirm(&signature, 0)
            .await?
            .ok_or(ClientError::Expired { attempts: 1 })
    }

    async fn simulate(
        &self,
        instructions: &[Instruction],
        payer: &DynSigner,
        signers: &[&DynSigner],
    ) -> Result<Vec<MicropayEvent>> {
        let ctx = self.ctx.lock().await;
        let blockhash = ctx
            .banks_client
            .get_latest_blockhash()
            .await
            .map_err(bank_error)?;
        let tx = sign_transaction(instructions, payer, signers, blockhash)?;
        simulate_events(&ctx, &tx).await
    }

    async fn account(&self, address: &Pubkey) -> Result<Option<Account>> {
        let ctx = self.ctx.lock().await;
        ctx.banks_client
            .get_account(*address)
            .await
            .map_err(bank_error)
    }

    async fn accounts(&self, addresses: &[Pubkey]) -> Result<Vec<Option<Account>>> {
        let ctx = self.ctx.lock().await;
        let mut out = Vec::with_capacity(addresses.len());
        for address in addresses {
            out.push(
                ctx.banks_client
                    .get_account(*address)
                    .await
                    .map_err(bank_error)?,
            );
        }
        Ok(out)
    }

    async fn fee_for_message(&self, message: &Message) -> Result<u64> {
        let ctx = self.ctx.lock().await;
        ctx.banks_client
            .get_fee_for_message(message.clone())
            .await
            .map_err(bank_error)?
            .ok_or_else(|| ClientError::Rpc("blockhash of the message expired".into()))
    }

    async fn unix_timestamp(&self) -> Result<i64> {
        let ctx = self.ctx.lock().await;
        let clock: Clock = ctx.banks_client.get_sysvar().await.map_err(bank_error)?;
        Ok(clock.unix_timestamp)
    }

    async fn genesis_hash(&self) -> Result<Hash> {
        Ok(self.ctx.lock().await.genesis_config().hash())
    }

    async fn observe(&self, addresses: &[Pubkey]) -> Result<Observed> {
        // the bank is final: every read is at its current slot
        let slot = {
            let ctx = self.ctx.lock().await;
            ctx.banks_client
                .get_sysvar::<Clock>()
                .await
                .map_err(bank_error)?
                .slot
        };
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
