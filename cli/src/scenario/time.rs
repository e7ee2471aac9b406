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

/// Asks the node behind `ledger` to move its clock to `target` (unix
/// seconds) with surfpool's `surfnet_timeTravel`; `false` when the node
/// has no such cheatcode (any real cluster).
pub async fn time_travel(ledger: &micropay_client::ledger::rpc::RpcLedger, target: i64) -> bool {
    ledger
        .client()
        .send::<serde_json::Value>(
            solana_rpc_client_api::request::RpcRequest::Custom {
                method: "surfnet_timeTravel",
            },
            serde_json::json!([{ "absoluteTimestamp": target.saturating_mul(1_000) }]),
        )
        .await
        .is_ok()
}

/// The clock the programs see, once it reaches `target` (polled every
/// 250 ms, at most `polls` times), or where it stopped.
pub async fn clock_reaching(
    ledger: &micropay_client::ledger::rpc::RpcLedger,
    target: i64,
    polls: i64,
) -> Result<i64> {
    let mut now = ledger.unix_timestamp().await?;
    for _ in 0..polls {
        if now >= target {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
        now = ledger.unix_timestamp().await?;
    }
    Ok(now)
}

/// Polls after a time travel: its clock moves with the next slot.
pub const TRAVEL_POLLS: i64 = 200;

#[async_trait::async_trait]
impl TimeControl for RpcTimeControl {
    async fn advance(&self, secs: i64) -> Result<()> {
        let target = self.ledger.unix_timestamp().await?.saturating_add(secs);
        // without the cheatcode, wait for the clock really
        let polls = if time_travel(&self.ledger, target).await {
            TRAVEL_POLLS
        } else {
            secs.saturating_mul(4).saturating_add(40)
        };
        if clock_reaching(&self.ledger, target, polls).await? >= target {
            return Ok(());
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
