//! What the client needs from a chain, behind one async trait, with two
//! implementations: [`RpcLedger`](rpc::RpcLedger), any cluster through
//! JSON-RPC, and `EmbeddedLedger` (`embedded::EmbeddedLedger`, feature
//! `embedded`), an in-process bank.
//!
//! Signing goes through `&dyn Signer`, so a hardware wallet or a remote
//! signer works wherever a keypair does. Sending is split in three steps a
//! caller can persist between — sign with a [`RecentBlockhash`], [`submit`],
//! [`confirm`] — so that the planner records a claim's signature before the
//! claim leaves the machine, and a restart waits for that claim instead of
//! sending a second one. [`send`] composes them for everything else.
//!
//! [`submit`]: Ledger::submit
//! [`confirm`]: Ledger::confirm
//! [`send`]: Ledger::send

#[cfg(feature = "embedded")]
pub mod embedded;
pub mod rpc;

use crate::error::{ClientError, Result};
use anchor_lang::prelude::Pubkey;
use micropay::state::Channel;
use micropay_sdk::events::MicropayEvent;
pub use micropay_sdk::filters::{AccountFilter, ChannelFilter};
use solana_sdk::{
    account::Account,
    hash::Hash,
    instruction::Instruction,
    message::Message,
    signature::{Signature, Signer},
    transaction::Transaction,
};

/// Any signer a ledger call can hold across an `await`: a keypair, a
/// hardware wallet (`solana-remote-wallet`), a remote or presigned signer.
pub type DynSigner = dyn Signer + Send + Sync;

/// How often [`Ledger::send`] signs anew when a transaction's blockhash
/// expired before it landed.
pub const SEND_ATTEMPTS: usize = 3;

/// Signs a legacy transaction with the fee `payer` first, then `signers`
/// (the payer is not repeated when it also signs an instruction). Fails when
/// a signer cannot sign (a hardware wallet unplugged, a remote signer down).
pub fn sign_transaction(
    instructions: &[Instruction],
    payer: &DynSigner,
    signers: &[&DynSigner],
    blockhash: Hash,
) -> Result<Transaction> {
    let fee_payer = payer.try_pubkey().map_err(ClientError::Signing)?;
    let mut all: Vec<&dyn Signer> = vec![payer as &dyn Signer];
    for signer in signers {
        if signer.try_pubkey().map_err(ClientError::Signing)? != fee_payer {
            all.push(*signer as &dyn Signer);
        }
    }
    let message = Message::new_with_blockhash(instructions, Some(&fee_payer), &blockhash);
    let mut tx = Transaction::new_unsigned(message);
    tx.try_sign(&all, blockhash).map_err(ClientError::Signing)?;
    Ok(tx)
}

/// [`Ledger::confirm_many`] as one [`Ledger::confirm`] per transaction (the
/// default, for ledgers without a cheaper way).
pub async fn confirm_each<L: Ledger + ?Sized>(
    ledger: &L,
    pending: &[(Signature, u64)],
) -> Result<Vec<Result<Option<Sent>>>> {
    let mut out = Vec::with_capacity(pending.len());
    for (signature, last_valid_block_height) in pending {
        match ledger.confirm(signature, *last_valid_block_height).await {
            Err(e @ ClientError::Rpc(_)) => return Err(e),
            outcome => out.push(outcome),
        }
    }
    Ok(out)
}

/// A blockhash to sign with, and the last block height at which a
/// transaction signed with it can still land.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecentBlockhash {
    /// The blockhash.
    pub hash: Hash,
    /// After this block height, a transaction with `hash` never lands.
    pub last_valid_block_height: u64,
}

/// A confirmed transaction.
#[derive(Clone, Debug)]
pub struct Sent {
    /// Its signature (the fee payer's).
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
    /// The accounts, in the order asked; `None` for absent ones.
    pub accounts: Vec<Option<Account>>,
    /// The slot each account was read at.
    pub slots: Vec<u64>,
}

/// A transaction found on the cluster by its signature.
#[derive(Clone, Debug)]
pub struct Landed {
    /// The transaction, every signature in place.
    pub transaction: solana_sdk::transaction::VersionedTransaction,
    /// Whether it failed (its fee paid, nothing else done).
    pub failed: bool,
}

/// What the client needs from a chain.
#[async_trait::async_trait]
pub trait Ledger: Send + Sync {
    /// A blockhash to sign with, and how long it stays valid.
    async fn recent_blockhash(&self) -> Result<RecentBlockhash>;

    /// Simulates `transaction` (a program error comes back typed, and nothing
    /// is paid), then hands it to the cluster without waiting. Submitting the
    /// same transaction again is harmless: a signature lands at most once.
    async fn submit(&self, transaction: &Transaction) -> Result<()>;

    /// Waits until the transaction `signature` is confirmed at the ledger's
    /// commitment and returns it with its events; `Ok(None)` once the block
    /// height passed `last_valid_block_height` without it (it never lands:
    /// signing anew is safe); a program error when it failed on chain.
    async fn confirm(
        &self,
        signature: &Signature,
        last_valid_block_height: u64,
    ) -> Result<Option<Sent>>;

    /// Waits for many transactions at once, `(signature,
    /// last_valid_block_height)` each, and says for each what
    /// [`confirm`](Ledger::confirm) would. `Err` only when the cluster cannot
    /// be reached (nothing is concluded then). RPC asks one status query for
    /// all of them per poll.
    async fn confirm_many(
        &self,
        pending: &[(Signature, u64)],
    ) -> Result<Vec<Result<Option<Sent>>>> {
        confirm_each(self, pending).await
    }

    /// Signs with `payer` (fee payer) and `signers`, submits and confirms;
    /// signs anew with a fresh blockhash when one expired on the way (at most
    /// [`SEND_ATTEMPTS`] times). Program errors come back as
    /// `ClientError::Program`.
    async fn send(
        &self,
        instructions: &[Instruction],
        payer: &DynSigner,
        signers: &[&DynSigner],
    ) -> Result<Sent> {
        for _ in 0..SEND_ATTEMPTS {
            let blockhash = self.recent_blockhash().await?;
            let tx = sign_transaction(instructions, payer, signers, blockhash.hash)?;
            self.submit(&tx).await?;
            let confirmed = self
                .confirm(&tx.signatures[0], blockhash.last_valid_block_height)
                .await?;
            if let Some(sent) = confirmed {
                return Ok(sent);
            }
        }
        Err(ClientError::Expired {
            attempts: SEND_ATTEMPTS,
        })
    }

    /// Hands a signed, serialized v1 transaction ([`crate::v1`]) to the
    /// cluster without waiting, like [`submit`](Ledger::submit): a program
    /// error found by the cluster's preflight comes back typed. Confirm it
    /// with [`confirm`](Ledger::confirm) and its first signature. Ledgers
    /// that cannot carry v1 refuse with `ClientError::V1Transaction`.
    async fn submit_v1(&self, wire: &[u8]) -> Result<()> {
        let _ = wire;
        Err(ClientError::V1Transaction {
            reason: "this ledger does not send v1 transactions".into(),
        })
    }

    /// Hands a transaction signed elsewhere — legacy or v0, every
    /// signature in place — to the cluster without waiting, like
    /// [`submit`](Ledger::submit): a program error found by the cluster's
    /// preflight comes back typed; one the cluster has already is not an
    /// error (submitting again is harmless). Confirm it with
    /// [`confirm`](Ledger::confirm) and its first signature. (An x402
    /// `exact` payment: the client signs, the server co-signs as fee payer.)
    async fn submit_versioned(
        &self,
        transaction: &solana_sdk::transaction::VersionedTransaction,
    ) -> Result<()> {
        let _ = transaction;
        Err(ClientError::rpc(
            "this ledger does not send transactions signed elsewhere",
        ))
    }

    /// The legacy or v0 transaction `signature` names, once it landed at
    /// the ledger's commitment (`None`: not found, or not yet), and whether
    /// it failed. How a server checks that a transaction someone else sent
    /// (an x402 facilitator) carries what it was told.
    async fn landed(&self, signature: &Signature) -> Result<Option<Landed>> {
        let _ = signature;
        Err(ClientError::rpc(
            "this ledger does not read transactions by signature",
        ))
    }

    /// The largest transaction format the cluster accepts now.
    async fn transaction_format(&self) -> Result<crate::v1::TxFormat> {
        Ok(crate::v1::TxFormat::Legacy)
    }

    /// The account at `address`, at the ledger's commitment.
    async fn account(&self, address: &Pubkey) -> Result<Option<Account>>;

    /// Many accounts in one read, in the order asked.
    async fn accounts(&self, addresses: &[Pubkey]) -> Result<Vec<Option<Account>>>;

    /// The latest blockhash.
    async fn latest_blockhash(&self) -> Result<Hash> {
        Ok(self.recent_blockhash().await?.hash)
    }

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

    /// Accounts owned by the micropay program whose data passes every one of
    /// `filters` (build them with [`micropay_sdk::filters`]): RPC's
    /// `getProgramAccounts`.
    async fn program_accounts(&self, filters: &[AccountFilter]) -> Result<Vec<(Pubkey, Account)>>;

    /// Existing channels matching `filter`. An account that does not decode
    /// as a channel (a broken or lying node's) is passed over with a
    /// warning, so one cannot hide the others.
    async fn channels(&self, filter: ChannelFilter) -> Result<Vec<(Pubkey, Channel)>> {
        let found = self
            .program_accounts(&micropay_sdk::filters::channels(Some(filter)))
            .await?;
        let mut out = Vec::with_capacity(found.len());
        for (address, account) in found {
            match micropay_sdk::accounts::decode::<Channel>(&address, &account, "channel") {
                Ok(Some(channel)) => out.push((address, channel)),
                Ok(None) => {}
                Err(e) => tracing::warn!(%address, "passed over: {e}"),
            }
        }
        Ok(out)
    }

    /// Prioritization fees (micro-lamports per compute unit) paid in recent
    /// slots by transactions writing `accounts`, one sample per slot; empty
    /// where the cluster has no fee market (the embedded bank).
    async fn recent_prioritization_fees(&self, accounts: &[Pubkey]) -> Result<Vec<u64>> {
        let _ = accounts;
        Ok(Vec::new())
    }

    /// SOL balance in lamports.
    async fn balance(&self, address: &Pubkey) -> Result<u64> {
        Ok(self.account(address).await?.map_or(0, |a| a.lamports))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use solana_sdk::signer::{keypair::Keypair, SignerError};

    /// A hardware wallet that was unplugged: it knows its key, cannot sign.
    struct Unplugged(Pubkey);

    impl Signer for Unplugged {
        fn try_pubkey(&self) -> std::result::Result<Pubkey, SignerError> {
            Ok(self.0)
        }
        fn try_sign_message(&self, _: &[u8]) -> std::result::Result<Signature, SignerError> {
            Err(SignerError::Connection("device unplugged".into()))
        }
        fn is_interactive(&self) -> bool {
            true
        }
    }

    fn transfer(from: &Pubkey) -> Instruction {
        solana_system_interface::instruction::transfer(from, &Pubkey::new_unique(), 1)
    }

    #[test]
    fn any_signer_signs_and_a_failing_one_is_a_typed_error() {
        let payer = Keypair::new();
        let other = Keypair::new();
        let ixs = [transfer(&payer.pubkey()), transfer(&other.pubkey())];
        let tx = sign_transaction(&ixs, &payer, &[&other, &payer], Hash::new_unique()).unwrap();
        assert_eq!(tx.signatures.len(), 2, "the payer signs once");
        assert_eq!(tx.message.account_keys[0], payer.pubkey());
        assert!(tx.verify().is_ok());

        let unplugged = Unplugged(other.pubkey());
        let failed = sign_transaction(&ixs, &payer, &[&unplugged], Hash::new_unique());
        assert!(
            matches!(
                failed,
                Err(ClientError::Signing(SignerError::Connection(_)))
            ),
            "{failed:?}"
        );
    }
}
