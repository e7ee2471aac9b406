//! The cluster under a running `serve`: it looks at the cluster's genesis
//! hash on the watcher's poll interval, says when the cluster cannot be
//! reached and when it is back, and stops serving when the hash changed —
//! a local node restarted, or an RPC URL now pointing at another cluster.
//! Its 402s would name a network that is gone, and every channel in them
//! with it; a gateway that says so and exits (code 2, for its supervisor to
//! restart it on the new cluster) is better than one refusing everything
//! quietly. The receiver store keeps the old cluster's vouchers (each row
//! names its cluster; claims there never mix).

use micropay_client::ledger::Ledger;
use micropay_sdk::x402;
use std::{sync::Arc, time::Duration};
use tokio::sync::watch;

/// What the guard saw of the cluster since its last look.
#[derive(Debug, PartialEq, Eq)]
enum Look {
    /// Same cluster, reachable as before.
    Same,
    /// Reachable again after a failed look (same cluster).
    Back,
    /// Not reachable (first failed look after a good one).
    Lost(String),
    /// Still not reachable.
    StillLost,
    /// Another cluster answers: its network id.
    Changed(String),
}

/// The next [`Look`] from a read of the genesis hash, mapped to its network
/// id (`Err`: the read failed), given whether the last look reached it.
fn look(read: Result<String, String>, expected: &str, reachable: bool) -> Look {
    match read {
        Ok(network) if network != expected => Look::Changed(network),
        Ok(_) if reachable => Look::Same,
        Ok(_) => Look::Back,
        Err(e) if reachable => Look::Lost(e),
        Err(_) => Look::StillLost,
    }
}

/// Looks at the cluster (at `url`, without credentials) every `every`
/// until `stopped`; when another cluster answers, asks everything to stop
/// (`stop`) and returns why.
pub(super) async fn watch_cluster(
    ledger: Arc<dyn Ledger>,
    (url, network): (String, String),
    every: Duration,
    stop: Arc<watch::Sender<bool>>,
    mut stopped: watch::Receiver<bool>,
) -> Option<String> {
    let mut reachable = true;
    loop {
        tokio::select! {
            _ = stopped.wait_for(|s| *s) => return None,
            () = tokio::time::sleep(every) => {}
        }
        let read = ledger
            .genesis_hash()
            .await
            .map(|h| x402::network(&h))
            .map_err(|e| e.to_string());
        match look(read, &network, reachable) {
            Look::Same | Look::StillLost => {}
            Look::Lost(error) => {
                reachable = false;
                tracing::warn!(cluster = %url, %error, "cannot reach the cluster: payments are answered 503 until it is back");
            }
            Look::Back => {
                reachable = true;
                tracing::info!(cluster = %url, "the cluster is reachable again (same genesis hash)");
            }
            Look::Changed(now) => {
                let why = format!(
                    "the cluster at {url} changed under serve: its genesis hash is another cluster's now (network {network} -> {now}); its channels and the 402s' network are gone. Restart serve to serve the new cluster"
                );
                tracing::error!(cluster = %url, was = %network, now = %now, "{why}");
                let _ = stop.send(true);
                return Some(why);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_look_says_what_changed() {
        let ok = |n: &str| Ok(n.to_owned());
        let down = || Err("connection refused".to_owned());
        assert_eq!(look(ok("solana:a"), "solana:a", true), Look::Same);
        assert_eq!(
            look(down(), "solana:a", true),
            Look::Lost("connection refused".into())
        );
        assert_eq!(look(down(), "solana:a", false), Look::StillLost);
        assert_eq!(look(ok("solana:a"), "solana:a", false), Look::Back);
        // another cluster: said whether or not the last look reached it
        assert_eq!(
            look(ok("solana:b"), "solana:a", false),
            Look::Changed("solana:b".into())
        );
        assert_eq!(
            look(ok("solana:b"), "solana:a", true),
            Look::Changed("solana:b".into())
        );
    }
}
