//! What the client needs from a chain, behind one async trait, with two
//! implementations: [`EmbeddedLedger`](embedded::EmbeddedLedger), an in-process
//! bank (feature `embedded`, the default), and [`RpcLedger`](rpc::RpcLedger),
//! any cluster through JSON-RPC.

#[cfg(feature = "embedded")]
pub mod embedded;
pub mod rpc;

use crate::error::Result;
use anchor_lang::prelude::Pubkey;
use micropay::state::Channel;
use micropay_sdk::events::MicropayEvent;
pub use micropay_sdk::filters::ChannelFilter;
use solana_sdk::{
    account::Account,
    hash::Hash,
    instruction::Instruction,
    message::Message,
    signature::{Keypair, Signature, Signer},
    transaction::Transaction,
};

/// Signs a legacy transaction with the fee `payer` first, then `signers`
/// (the payer is not repeated when it also signs an instruction).
pub fn sign_transaction(
    instructions: &[Instruction],
    payer: &Keypair,
    signers: &[&Keypair],
    blockhash: Hash,
) -> Transaction {
    let mut all = vec![payer];
    all.extend(signers.iter().filter(|k| k.pubkey() != payer.pubkey()));
    Transaction::new_signed_with_payer(instructions, Some(&payer.pubkey()), &all, blockhash)
}

/// A confirmed transaction.
#[derive(Clone, Debug)]
pub struct Sent {
    pub signature: Signature,
    /// micropay events it emitted, in order.
    pub events: Vec<MicropayEvent>,
    /// Lamports the fee payer paid.
    pub fee: u64,
}

/// Accounts read at confirmed commitment or higher, each with the slot of its
/// read (an RPC response's context slot). An account absent here is absent
/// on that cluster at that slot: evidence the planner may act on.
#[derive(Clone, Debug, Default)]
pub struct Observed {
    pub accounts: Vec<Option<Account>>,
    pub slots: Vec<u64>,
}

#[async_trait::async_trait]
pub trait Ledger: Send + Sync {
    /// Signs with `payer` (fee payer) and `signers`, sends, and waits for
    /// confirmation. Program errors come back as `ClientError::Program`.
    async fn send(
        &self,
        instructions: &[Instruction],
        payer: &Keypair,
        signers: &[&Keypair],
    ) -> Result<Sent>;

    /// Runs the transaction without committing it; returns its events.
    async fn simulate(
        &self,
        instructions: &[Instruction],
        payer: &Keypair,
        signers: &[&Keypair],
    ) -> Result<Vec<MicropayEvent>>;

    async fn account(&self, address: &Pubkey) -> Result<Option<Account>>;

    async fn accounts(&self, addresses: &[Pubkey]) -> Result<Vec<Option<Account>>>;

    async fn latest_blockhash(&self) -> Result<Hash>;

    /// Lamports the cluster charges for `message` (signatures and priority).
    async fn fee_for_message(&self, message: &Message) -> Result<u64>;

    /// The cluster's clock, unix seconds.
    async fn unix_timestamp(&self) -> Result<i64>;

    /// The cluster's genesis hash: names the cluster (a devnet and a fresh
    /// local node differ), so stores can tell where a channel was seen.
    async fn genesis_hash(&self) -> Result<Hash>;

    /// Reads `addresses` at confirmed commitment or higher, whatever the
    /// ledger's own commitment, with the slot of each read.
    async fn observe(&self, addresses: &[Pubkey]) -> Result<Observed>;

    /// Existing channels matching `filter`.
    async fn channels(&self, filter: ChannelFilter) -> Result<Vec<(Pubkey, Channel)>>;

    /// SOL balance in lamports.
    async fn balance(&self, address: &Pubkey) -> Result<u64> {
        Ok(self.account(address).await?.map_or(0, |a| a.lamports))
    }
}
