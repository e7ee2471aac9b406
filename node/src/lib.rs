//! # micropay-node
//!
//! A local Solana JSON-RPC + WebSocket node with the micropay program, like
//! `solana-test-validator`: surfpool-core (the Solana Foundation's
//! LiteSVM-based local validator) started in-process, offline, with micropay
//! registered as a native builtin (there is no SBF build here). SPL Token,
//! Token-2022 and the other standard programs come preloaded. Every RPC client
//! works against it: `micropay -u localhost`, the Solana CLI, `RpcLedger`.
//!
//! Transactions log as on a cluster (see `micropay-native`): one
//! `invoke [n]`/`success`/`failed` per call at its depth, the program's
//! `msg!` (Anchor's `AnchorError …` lines) as `Program log:`, events as
//! `emit_cpi!` inner instructions — so Anchor's TypeScript client gets typed
//! `AnchorError`s and `.simulate()` works.
//!
//! Limits: the program account is a native builtin, not an upgradeable BPF
//! program, and no `consumed N of M compute units` lines. Its clock moves
//! forward with surfpool's `surfnet_timeTravel` RPC cheatcode.

use crossbeam_channel::{Receiver, Sender};
pub use micropay_native::echo_program_logs;
use solana_sdk::pubkey::Pubkey;
use std::{
    thread::JoinHandle,
    time::{Duration, Instant},
};
use surfpool_core::surfnet::svm::{SurfnetSvm, SurfnetSvmConfig};
use surfpool_types::{
    types::{BlockProductionMode, RpcConfig, SimnetConfig},
    SimnetCommand, SimnetEvent, SurfpoolConfig,
};

/// Default ports, as `solana-test-validator`'s.
pub const DEFAULT_RPC_PORT: u16 = 8899;
pub const DEFAULT_WS_PORT: u16 = 8900;

#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    #[error("could not start the local node: {0}")]
    Start(String),
    #[error("the local node did not become ready within {0:?}")]
    Timeout(Duration),
    /// A port is taken (by another node, or any other program).
    #[error("{role} port {port} on {host} is in use ({reason}): stop what uses it, or pick another port")]
    PortInUse {
        role: &'static str,
        host: String,
        port: u16,
        reason: String,
    },
}

#[derive(Clone, Debug)]
pub struct NodeConfig {
    pub bind_host: String,
    pub rpc_port: u16,
    pub ws_port: u16,
    /// Milliseconds per slot.
    pub slot_time_ms: u64,
    /// Accounts funded at start.
    pub airdrop: Vec<Pubkey>,
    /// Lamports each airdrop account gets.
    pub airdrop_lamports: u64,
}

impl Default for NodeConfig {
    fn default() -> Self {
        NodeConfig {
            bind_host: "127.0.0.1".into(),
            rpc_port: DEFAULT_RPC_PORT,
            ws_port: DEFAULT_WS_PORT,
            slot_time_ms: 100,
            airdrop: Vec::new(),
            airdrop_lamports: 1_000_000_000_000,
        }
    }
}

impl NodeConfig {
    /// Loopback on two free ports chosen by the OS (for tests).
    pub fn ephemeral() -> Result<Self, NodeError> {
        let free = || {
            std::net::TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .map(|a| a.port())
                .map_err(|e| NodeError::Start(format!("no free port: {e}")))
        };
        let rpc_port = free()?;
        let mut ws_port = free()?;
        while ws_port == rpc_port {
            ws_port = free()?;
        }
        Ok(NodeConfig {
            rpc_port,
            ws_port,
            ..NodeConfig::default()
        })
    }
}

/// A running node; stops when dropped.
pub struct LocalNode {
    rpc_url: String,
    ws_url: String,
    commands: Sender<SimnetCommand>,
    runloop: Option<JoinHandle<()>>,
}

impl LocalNode {
    /// Starts a node and waits until it serves RPC.
    pub fn start(config: NodeConfig) -> Result<Self, NodeError> {
        // say at once which port is taken, instead of timing out later
        for (role, port) in [("JSON-RPC", config.rpc_port), ("WebSocket", config.ws_port)] {
            std::net::TcpListener::bind((config.bind_host.as_str(), port)).map_err(|e| {
                NodeError::PortInUse {
                    role,
                    host: config.bind_host.clone(),
                    port,
                    reason: e.to_string(),
                }
            })?;
        }
        micropay_native::quiet_logs();
        let (mut svm, events, geyser) = SurfnetSvm::new(SurfnetSvmConfig::default())
            .map_err(|e| NodeError::Start(e.to_string()))?;
        svm.inner
            .svm
            .add_builtin(micropay::ID, micropay_native::builtin());

        let surfpool_config = SurfpoolConfig {
            simnets: vec![SimnetConfig {
                offline_mode: true,
                remote_rpc_url: None,
                slot_time: config.slot_time_ms,
                block_production_mode: BlockProductionMode::Clock,
                airdrop_addresses: config.airdrop.clone(),
                airdrop_token_amount: config.airdrop_lamports,
                ..SimnetConfig::default()
            }],
            rpc: RpcConfig {
                bind_host: config.bind_host.clone(),
                bind_port: config.rpc_port,
                ws_port: config.ws_port,
                ..RpcConfig::default()
            },
            ..SurfpoolConfig::default()
        };
        let (commands, commands_rx) = crossbeam_channel::unbounded();
        let commands_for_loop = commands.clone();
        let runloop = std::thread::Builder::new()
            .name("micropay-node".into())
            .spawn(move || {
                let runtime = match tokio::runtime::Builder::new_multi_thread()
                    .enable_all()
                    .build()
                {
                    Ok(r) => r,
                    Err(_) => return,
                };
                // Errors surface as SimnetEvent::Aborted on the events channel.
                let _ = runtime.block_on(surfpool_core::start_local_surfnet(
                    svm,
                    surfpool_config,
                    commands_for_loop,
                    commands_rx,
                    geyser,
                ));
            })
            .map_err(|e| NodeError::Start(e.to_string()))?;

        let mut node = LocalNode {
            rpc_url: format!("http://{}:{}", config.bind_host, config.rpc_port),
            ws_url: format!("ws://{}:{}", config.bind_host, config.ws_port),
            commands,
            runloop: Some(runloop),
        };
        node.wait_ready(&events, Duration::from_secs(30))?;
        // Keep draining events so the node never blocks on a full channel.
        std::thread::spawn(move || while events.recv().is_ok() {});
        Ok(node)
    }

    fn wait_ready(
        &mut self,
        events: &Receiver<SimnetEvent>,
        limit: Duration,
    ) -> Result<(), NodeError> {
        let started = Instant::now();
        loop {
            let left = limit.saturating_sub(started.elapsed());
            match events.recv_timeout(left) {
                Ok(SimnetEvent::Ready(_)) => return Ok(()),
                Ok(SimnetEvent::Aborted(reason)) => return Err(NodeError::Start(reason)),
                Ok(_) => {}
                Err(_) => {
                    if self.runloop.as_ref().is_some_and(|h| h.is_finished()) {
                        return Err(NodeError::Start("the node stopped during start-up".into()));
                    }
                    return Err(NodeError::Timeout(limit));
                }
            }
        }
    }

    /// `http://host:port` of the JSON-RPC endpoint.
    pub fn rpc_url(&self) -> &str {
        &self.rpc_url
    }

    /// `ws://host:port` of the PubSub endpoint.
    pub fn ws_url(&self) -> &str {
        &self.ws_url
    }

    /// Stops the node and waits for it to shut down.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        let Some(handle) = self.runloop.take() else {
            return;
        };
        let _ = self.commands.send(SimnetCommand::Terminate(None));
        let _ = handle.join();
        // surfpool closes its RPC servers on a thread of their own: wait (a
        // bounded time) until the port refuses connections, so a stopped node
        // is really gone.
        let address = self.rpc_url.trim_start_matches("http://").to_string();
        if let Ok(mut addrs) = std::net::ToSocketAddrs::to_socket_addrs(&address) {
            if let Some(addr) = addrs.next() {
                for _ in 0..100 {
                    if std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(50))
                        .is_err()
                    {
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(50));
                }
            }
        }
    }
}

impl Drop for LocalNode {
    fn drop(&mut self) {
        self.shutdown();
    }
}
