//! Any cluster through JSON-RPC (`solana-rpc-client`'s nonblocking `RpcClient`):
//! localhost, devnet, mainnet-beta or any URL.
//!
//! Every transaction is simulated first, so a program error comes back as a
//! typed `ClientError::Program` without paying a fee; it is then sent with
//! preflight skipped (the simulation was the preflight) and confirmed by
//! polling its status at the ledger's commitment until its blockhash's last
//! valid block height. Events are read from `getTransaction`'s inner
//! instructions.

use super::{AccountFilter, Ledger, Observed, RecentBlockhash, Sent};
use crate::error::{ClientError, Result};
use anchor_lang::prelude::Pubkey;
use base64::{engine::general_purpose::STANDARD as BASE64, Engine};
use micropay_sdk::events::{from_inner_instructions, MicropayEvent};
use solana_commitment_config::CommitmentConfig;
use solana_rpc_client::nonblocking::rpc_client::RpcClient;
use solana_rpc_client_api::request::{RpcError, RpcRequest};
use solana_rpc_client_api::response::RpcSimulateTransactionResult;
use solana_rpc_client_api::{
    client_error::{Error as RpcClientError, ErrorKind as ClientErrorKind},
    config::{
        RpcAccountInfoConfig, RpcProgramAccountsConfig, RpcSendTransactionConfig,
        RpcSimulateTransactionConfig, RpcTransactionConfig,
    },
    filter::{Memcmp, RpcFilterType},
};
use solana_sdk::signature::{Keypair, Signer};
use solana_sdk::{
    account::Account,
    clock::Clock,
    hash::Hash,
    message::Message,
    signature::Signature,
    transaction::{Transaction, TransactionError},
};
use solana_transaction_status_client_types::{
    option_serializer::OptionSerializer, EncodedTransaction, TransactionBinaryEncoding,
    UiInnerInstructions, UiInstruction, UiTransactionEncoding,
};

/// How long [`Ledger::confirm`] waits between two status polls.
const CONFIRM_POLL: std::time::Duration = std::time::Duration::from_millis(400);
/// Most signatures one `getSignatureStatuses` takes.
const MAX_STATUSES_PER_QUERY: usize = 256;

/// A ledger on any cluster, through JSON-RPC.
pub struct RpcLedger {
    client: RpcClient,
}

/// Maps a transaction error to the client's error.
pub fn transaction_error(err: TransactionError) -> ClientError {
    ClientError::from_transaction_error(err, None)
}

fn rpc_error(err: RpcClientError) -> ClientError {
    match err.kind() {
        ClientErrorKind::TransactionError(e) => transaction_error(e.clone()),
        _ => ClientError::rpc(err.to_string()),
    }
}

/// The static account keys of a transaction as `getTransaction` returns
/// it: legacy and v0 through the SDK, v1 (version byte `0x81`, which this
/// SDK's versioned transaction predates) through [`crate::v1`].
fn account_keys(encoded: &EncodedTransaction) -> Option<Vec<Pubkey>> {
    if let EncodedTransaction::Binary(blob, TransactionBinaryEncoding::Base64) = encoded {
        let bytes = BASE64.decode(blob).ok()?;
        if bytes.first() == Some(&solana_message_v1::v1::V1_PREFIX) {
            let (message, _) = crate::v1::decode(&bytes).ok()?;
            return Some(
                message
                    .account_keys
                    .iter()
                    .map(|a| Pubkey::new_from_array(a.to_bytes()))
                    .collect(),
            );
        }
    }
    Some(encoded.decode()?.message.static_account_keys().to_vec())
}

/// Whether an RPC failure is the node's answer (it was reached and said
/// no), not a transport failure.
fn is_node_answer(err: &RpcClientError) -> bool {
    matches!(
        err.kind(),
        ClientErrorKind::RpcError(RpcError::RpcResponseError { .. })
    )
}

fn inner_events(keys: &[Pubkey], inner: &[UiInnerInstructions]) -> Vec<MicropayEvent> {
    let compiled = inner
        .iter()
        .flat_map(|i| &i.instructions)
        .filter_map(|ix| match ix {
            UiInstruction::Compiled(c) => bs58::decode(&c.data)
                .into_vec()
                .ok()
                .map(|data| (usize::from(c.program_id_index), data)),
            UiInstruction::Parsed(_) => None,
        });
    let owned: Vec<(usize, Vec<u8>)> = compiled.collect();
    from_inner_instructions(keys, owned.iter().map(|(p, d)| (*p, d.as_slice())))
}

impl RpcLedger {
    /// A ledger on `url` at `commitment`.
    pub fn new(url: impl Into<String>, commitment: CommitmentConfig) -> Self {
        RpcLedger {
            client: RpcClient::new_with_commitment(url.into(), commitment),
        }
    }

    /// The underlying RPC client (for calls the trait does not cover).
    pub fn client(&self) -> &RpcClient {
        &self.client
    }

    /// The RPC URL.
    pub fn url(&self) -> String {
        self.client.url()
    }

    async fn simulate_tx(&self, tx: &Transaction) -> Result<RpcSimulateTransactionResult> {
        let result = self
            .client
            .simulate_transaction_with_config(
                tx,
                RpcSimulateTransactionConfig {
                    sig_verify: true,
                    commitment: Some(self.client.commitment()),
                    encoding: Some(UiTransactionEncoding::Base64),
                    inner_instructions: true,
                    ..Default::default()
                },
            )
            .await
            .map_err(rpc_error)?
            .value;
        match result.err.clone() {
            Some(err) => Err(ClientError::from_transaction_error(
                err.into(),
                Some(&tx.message),
            )),
            None => Ok(result),
        }
    }

    /// Events of a confirmed transaction, from `getTransaction`.
    pub async fn transaction_events(
        &self,
        signature: &solana_sdk::signature::Signature,
    ) -> Result<(Vec<MicropayEvent>, u64)> {
        let tx = self
            .client
            .get_transaction_with_config(
                signature,
                RpcTransactionConfig {
                    encoding: Some(UiTransactionEncoding::Base64),
                    commitment: Some(self.client.commitment()),
                    // v1 claims are read too (their keys decoded here)
                    max_supported_transaction_version: Some(1),
                },
            )
            .await
            .map_err(rpc_error)?;
        let meta = tx
            .transaction
            .meta
            .ok_or_else(|| ClientError::rpc(format!("transaction {signature} has no status")))?;
        let mut keys = account_keys(&tx.transaction.transaction)
            .ok_or_else(|| ClientError::rpc(format!("transaction {signature} did not decode")))?;
        if let OptionSerializer::Some(loaded) = &meta.loaded_addresses {
            for key in loaded.writable.iter().chain(&loaded.readonly) {
                keys.push(
                    key.parse()
                        .map_err(|_| ClientError::rpc("bad loaded address"))?,
                );
            }
        }
        let events = match &meta.inner_instructions {
            OptionSerializer::Some(inner) => inner_events(&keys, inner),
            _ => Vec::new(),
        };
        Ok((events, meta.fee))
    }
}

#[async_trait::async_trait]
impl Ledger for RpcLedger {
    async fn recent_blockhash(&self) -> Result<RecentBlockhash> {
        let (hash, last_valid_block_height) = self
            .client
            .get_latest_blockhash_with_commitment(self.client.commitment())
            .await
            .map_err(rpc_error)?;
        Ok(RecentBlockhash {
            hash,
            last_valid_block_height,
        })
    }

    async fn submit(&self, transaction: &Transaction) -> Result<()> {
        self.simulate_tx(transaction).await?;
        self.client
            .send_transaction_with_config(
                transaction,
                RpcSendTransactionConfig {
                    skip_preflight: true,
                    ..Default::default()
                },
            )
            .await
            .map_err(rpc_error)?;
        Ok(())
    }

    async fn landed(&self, signature: &Signature) -> Result<Option<super::Landed>> {
        use solana_transaction_status_client_types::EncodedConfirmedTransactionWithStatusMeta;
        let config = RpcTransactionConfig {
            encoding: Some(UiTransactionEncoding::Base64),
            commitment: Some(self.client.commitment()),
            max_supported_transaction_version: Some(0),
        };
        // `null` until it lands: asked as an option, not as an error
        let found: Option<EncodedConfirmedTransactionWithStatusMeta> = self
            .client
            .send(
                RpcRequest::GetTransaction,
                serde_json::json!([signature.to_string(), config]),
            )
            .await
            .map_err(rpc_error)?;
        let Some(found) = found else { return Ok(None) };
        let transaction =
            found.transaction.transaction.decode().ok_or_else(|| {
                ClientError::rpc(format!("transaction {signature} did not decode"))
            })?;
        let failed = found.transaction.meta.is_none_or(|meta| meta.err.is_some());
        Ok(Some(super::Landed {
            transaction,
            failed,
        }))
    }

    async fn submit_versioned(
        &self,
        transaction: &solana_sdk::transaction::VersionedTransaction,
    ) -> Result<()> {
        let config = RpcSendTransactionConfig {
            skip_preflight: false,
            preflight_commitment: Some(self.client.commitment().commitment),
            ..Default::default()
        };
        let Err(e) = self
            .client
            .send_transaction_with_config(transaction, config)
            .await
        else {
            return Ok(());
        };
        // sent before (a retry, another sender): nodes answer "already
        // processed" — some typed, some only in words. Submitting again is
        // harmless (the trait's contract): whether the cluster has it is
        // asked of the cluster, never read from the message.
        let known = match transaction.signatures.first() {
            Some(signature) => self
                .client
                .get_signature_statuses(&[*signature])
                .await
                .ok()
                .and_then(|s| s.value.into_iter().next().flatten())
                .is_some_and(|status| status.err.is_none()),
            None => false,
        };
        if known {
            return Ok(());
        }
        Err(match e.kind().get_transaction_error() {
            Some(err) => transaction_error(err),
            None => rpc_error(e),
        })
    }

    async fn submit_v1(&self, wire: &[u8]) -> Result<()> {
        // refuse here what the cluster would refuse, before it leaves
        crate::v1::verify(wire)?;
        let config = serde_json::json!({
            "encoding": "base64",
            "skipPreflight": false,
            "preflightCommitment": self.client.commitment().commitment,
        });
        match self
            .client
            .send::<String>(
                RpcRequest::SendTransaction,
                serde_json::json!([BASE64.encode(wire), config]),
            )
            .await
        {
            Ok(_) => Ok(()),
            Err(e) => Err(match e.kind().get_transaction_error() {
                Some(err) => transaction_error(err),
                // the node answered no: it did not take the transaction
                None if is_node_answer(&e) => ClientError::V1Transaction {
                    reason: format!("the cluster refused it: {e}"),
                },
                None => rpc_error(e),
            }),
        }
    }

    /// Asks the cluster to simulate a minimal v1 transaction (signature
    /// checks off, blockhash replaced): a cluster that parses it accepts v1
    /// — whatever the simulation's own outcome (its payer holds nothing) —
    /// and one that answers with an error does not. A node that cannot be
    /// reached is an error, not a verdict.
    async fn transaction_format(&self) -> Result<crate::v1::TxFormat> {
        let probe = Keypair::new();
        let transfer =
            solana_system_interface::instruction::transfer(&probe.pubkey(), &probe.pubkey(), 0);
        let message = crate::v1::message(&[transfer], &probe.pubkey(), &Hash::default(), 1_000, 0)?;
        let wire = crate::v1::sign(&message, &[&probe])?;
        let config = serde_json::json!({
            "encoding": "base64",
            "sigVerify": false,
            "replaceRecentBlockhash": true,
            "commitment": self.client.commitment().commitment,
        });
        match self
            .client
            .send::<serde_json::Value>(
                RpcRequest::SimulateTransaction,
                serde_json::json!([BASE64.encode(&wire), config]),
            )
            .await
        {
            Ok(_) => Ok(crate::v1::TxFormat::V1),
            Err(e) if is_node_answer(&e) => Ok(crate::v1::TxFormat::Legacy),
            Err(e) => Err(rpc_error(e)),
        }
    }

    async fn confirm(
        &self,
        signature: &Signature,
        last_valid_block_height: u64,
    ) -> Result<Option<Sent>> {
        self.confirm_many(&[(*signature, last_valid_block_height)])
            .await?
            .pop()
            .unwrap_or(Ok(None))
    }

    /// One `getSignatureStatuses` per poll for every transaction still
    /// waiting (256 per query, the method's limit), one block height read
    /// when some are unseen, `getTransaction` once for each that landed.
    async fn confirm_many(
        &self,
        pending: &[(Signature, u64)],
    ) -> Result<Vec<Result<Option<Sent>>>> {
        let commitment = self.client.commitment();
        let mut outcomes: Vec<Option<Result<Option<Sent>>>> =
            pending.iter().map(|_| None).collect();
        loop {
            let waiting: Vec<usize> = (0..pending.len())
                .filter(|i| outcomes.get(*i).is_some_and(Option::is_none))
                .collect();
            if waiting.is_empty() {
                break;
            }
            let mut unseen = Vec::new();
            for chunk in waiting.chunks(MAX_STATUSES_PER_QUERY) {
                let signatures: Vec<Signature> = chunk.iter().map(|i| pending[*i].0).collect();
                let statuses = self
                    .client
                    .get_signature_statuses(&signatures)
                    .await
                    .map_err(rpc_error)?
                    .value;
                for (&i, status) in chunk.iter().zip(statuses) {
                    let Some(status) = status else {
                        unseen.push(i);
                        continue;
                    };
                    if let Some(err) = status.err {
                        outcomes[i] = Some(Err(transaction_error(err)));
                    } else if status.satisfies_commitment(commitment) {
                        let signature = pending[i].0;
                        let (events, fee) = self.transaction_events(&signature).await?;
                        outcomes[i] = Some(Ok(Some(Sent {
                            signature,
                            events,
                            fee,
                        })));
                    }
                }
            }
            if !unseen.is_empty() {
                let height = self
                    .client
                    .get_block_height_with_commitment(commitment)
                    .await
                    .map_err(rpc_error)?;
                for i in unseen {
                    // past its last valid height without a status: it never lands
                    if height > pending[i].1 {
                        outcomes[i] = Some(Ok(None));
                    }
                }
            }
            if outcomes.iter().any(Option::is_none) {
                tokio::time::sleep(CONFIRM_POLL).await;
            }
        }
        Ok(outcomes
            .into_iter()
            .map(|o| o.unwrap_or(Ok(None)))
            .collect())
    }

    async fn account(&self, address: &Pubkey) -> Result<Option<Account>> {
        Ok(self
            .client
            .get_account_with_commitment(address, self.client.commitment())
            .await
            .map_err(rpc_error)?
            .value)
    }

    async fn accounts(&self, addresses: &[Pubkey]) -> Result<Vec<Option<Account>>> {
        let mut out = Vec::with_capacity(addresses.len());
        // getMultipleAccounts takes at most 100 keys.
        for chunk in addresses.chunks(100) {
            out.extend(
                self.client
                    .get_multiple_accounts_with_commitment(chunk, self.client.commitment())
                    .await
                    .map_err(rpc_error)?
                    .value,
            );
        }
        Ok(out)
    }

    async fn fee_for_message(&self, message: &Message) -> Result<u64> {
        self.client
            .get_fee_for_message(message)
            .await
            .map_err(rpc_error)
    }

    async fn unix_timestamp(&self) -> Result<i64> {
        let account = self
            .account(&solana_sdk::sysvar::clock::ID)
            .await?
            .ok_or(ClientError::AccountNotFound(solana_sdk::sysvar::clock::ID))?;
        let clock: Clock = bincode::deserialize(&account.data)
            .map_err(|e| ClientError::rpc(format!("clock sysvar: {e}")))?;
        Ok(clock.unix_timestamp)
    }

    async fn recent_prioritization_fees(&self, accounts: &[Pubkey]) -> Result<Vec<u64>> {
        Ok(self
            .client
            .get_recent_prioritization_fees(accounts)
            .await
            .map_err(rpc_error)?
            .into_iter()
            .map(|f| f.prioritization_fee)
            .collect())
    }

    async fn genesis_hash(&self) -> Result<Hash> {
        self.client.get_genesis_hash().await.map_err(rpc_error)
    }

    async fn observe(&self, addresses: &[Pubkey]) -> Result<Observed> {
        let own = self.client.commitment();
        let commitment = if own.is_at_least_confirmed() {
            own
        } else {
            CommitmentConfig::confirmed()
        };
        let mut observed = Observed::default();
        // getMultipleAccounts takes at most 100 keys.
        for chunk in addresses.chunks(100) {
            let response = self
                .client
                .get_multiple_accounts_with_commitment(chunk, commitment)
                .await
                .map_err(rpc_error)?;
            observed
                .slots
                .extend(std::iter::repeat_n(response.context.slot, chunk.len()));
            observed.accounts.extend(response.value);
        }
        Ok(observed)
    }

    async fn program_accounts(&self, filters: &[AccountFilter]) -> Result<Vec<(Pubkey, Account)>> {
        let config = RpcProgramAccountsConfig {
            filters: Some(rpc_filters(filters)),
            account_config: RpcAccountInfoConfig {
                encoding: Some(solana_account_decoder_client_types::UiAccountEncoding::Base64),
                commitment: Some(self.client.commitment()),
                ..Default::default()
            },
            ..Default::default()
        };
        let found = self
            .client
            .get_program_ui_accounts_with_config(&micropay::ID, config)
            .await
            .map_err(rpc_error)?;
        let mut out = Vec::with_capacity(found.len());
        for (address, ui_account) in found {
            let account: Account = ui_account.decode().ok_or(ClientError::Decode {
                address,
                kind: "program account",
            })?;
            // a node that ignores a filter must not slip other accounts in
            if account.owner == micropay::ID
                && micropay_sdk::filters::matches_all(filters, &account.data)
            {
                out.push((address, account));
            }
        }
        Ok(out)
    }
}

/// The JSON-RPC form of `filters`.
pub(crate) fn rpc_filters(filters: &[AccountFilter]) -> Vec<RpcFilterType> {
    filters
        .iter()
        .map(|f| match f {
            AccountFilter::DataSize(size) => RpcFilterType::DataSize(*size),
            AccountFilter::Memcmp(m) => {
                RpcFilterType::Memcmp(Memcmp::new_base58_encoded(m.offset, &m.bytes))
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `getTransaction` returns a v1 claim as base64 bytes this SDK's
    /// versioned transaction cannot parse: its keys are read with the v1
    /// decoder, so its events map to the right accounts.
    #[test]
    fn account_keys_of_v1_legacy_and_garbage() {
        let payer = Keypair::new();
        let to = Pubkey::new_unique();
        let transfer = solana_system_interface::instruction::transfer(&payer.pubkey(), &to, 1);
        let message = crate::v1::message(
            std::slice::from_ref(&transfer),
            &payer.pubkey(),
            &Hash::new_unique(),
            10_000,
            0,
        )
        .unwrap();
        let wire = crate::v1::sign(&message, &[&payer]).unwrap();
        let v1 =
            EncodedTransaction::Binary(BASE64.encode(&wire), TransactionBinaryEncoding::Base64);
        let keys = account_keys(&v1).unwrap();
        assert_eq!(keys.len(), message.account_keys.len());
        assert_eq!(keys[0], payer.pubkey());
        assert!(keys.contains(&to));

        let legacy =
            crate::ledger::sign_transaction(&[transfer], &payer, &[], Hash::new_unique()).unwrap();
        let encoded = EncodedTransaction::Binary(
            BASE64.encode(bincode::serialize(&legacy).unwrap()),
            TransactionBinaryEncoding::Base64,
        );
        assert_eq!(account_keys(&encoded).unwrap(), legacy.message.account_keys);

        let mut broken = wire.clone();
        broken.truncate(wire.len() - 1);
        let garbage =
            EncodedTransaction::Binary(BASE64.encode(&broken), TransactionBinaryEncoding::Base64);
        assert_eq!(account_keys(&garbage), None);
    }
}
