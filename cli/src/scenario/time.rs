//! How the scenario moves each kind of ledger's clock past a dispute
//! window: the embedded ledger directly, the local node by surfpool's time
//! travel, any other cluster by waiting.

use super::TimeControl;
use micropay_client::{
    error::{ClientError, Result},
    ledger::Ledger,
};

#[async_trait::async_trait]
impl TimeControl for micropay_client::ledger::embedded::EmbeddedLedger {
    async fn advance(&self, secs: i64) -> Result<()> {
        self.advance_time(secs).await
    }
}

/// Time on an RPC cluster: surfpool's `surfnet_timeTravel` cheatcode where the
/// node has it (the local node), otherwise real waiting.
pub struct RpcTimeControl {
    ledger: micropay_client::ledger::rpc::RpcLedger,
}

impl RpcTimeControl {
    pub fn new(url: impl Into<String>) -> Self {
        RpcTimeControl {
            ledger: micropay_client::ledger::rpc::RpcLedger::new(
                url,
                solana_commitment_config::CommitmentConfig::confirmed(),
            ),
        }
    }
}

#[async_trait::async_trait]
impl TimeControl for RpcTimeControl {
    async fn advance(&self, secs: i64) -> Result<()> {
        let target = self.ledger.unix_timestamp().await?.saturating_add(secs);
        let travelled = self
            .ledger
            .client()
            .send::<serde_json::Value>(
                solana_rpc_client_api::request::RpcRequest::Custom {
                    method: "surfnet_timeTravel",
                },
                serde_json::json!([{ "absoluteTimestamp": target.saturating_mul(1_000) }]),
            )
            .await
            .is_ok();
        // wait until the clock the programs see has moved (really, without
        // the cheatcode)
        let polls = if travelled {
            200
        } else {
            secs.saturating_mul(4).saturating_add(40)
        };
        for _ in 0..polls {
            if self.ledger.unix_timestamp().await? >= target {
                return Ok(());
            }
            tokio::time::sleep(std::time::Duration::from_millis(250)).await;
        }
        Err(ClientError::rpc(format!(
            "the cluster clock did not reach {target}"
        )))
    }
}

/// The local node moves its clock with surfpool's time travel.
#[cfg(feature = "local-node")]
#[async_trait::async_trait]
impl TimeControl for micropay_node::LocalNode {
    async fn advance(&self, secs: i64) -> Result<()> {
        RpcTimeControl::new(self.rpc_url()).advance(secs).await
    }
}
