//! `micropay node`: a local Solana JSON-RPC + WebSocket node with micropay,
//! like `solana-test-validator`, until Ctrl-C.
//!
//! The program's logs go into each transaction's logs, as on a cluster;
//! `--log` also prints them as they are written (refused transactions, whose
//! logs `getTransaction` never shows, included).

use super::{config, context::emit, Cli, Failure, Output};
use micropay_node::{LocalNode, NodeConfig, DEFAULT_RPC_PORT, DEFAULT_WS_PORT};
use solana_sdk::{pubkey::Pubkey, signature::Signer};

#[derive(clap::Args, Debug)]
pub struct NodeArgs {
    /// Address to listen on (loopback by default).
    #[arg(long, default_value = "127.0.0.1")]
    pub bind: String,
    /// JSON-RPC port.
    #[arg(long, default_value_t = DEFAULT_RPC_PORT)]
    pub rpc_port: u16,
    /// WebSocket (PubSub) port.
    #[arg(long, default_value_t = DEFAULT_WS_PORT)]
    pub ws_port: u16,
    /// Fund the default keypair (`-k`, or the Solana CLI's) at start.
    #[arg(long)]
    pub fund_keypair: bool,
    /// More accounts to fund at start.
    #[arg(long = "airdrop", value_name = "PUBKEY")]
    pub airdrop: Vec<Pubkey>,
    /// SOL each funded account gets.
    #[arg(long, default_value_t = 1_000)]
    pub airdrop_sol: u64,
    /// Also print the program's log lines of every transaction as they are
    /// written (refused ones included).
    #[arg(long)]
    pub log: bool,
}

/// What `micropay node` prints once it serves: where to reach it.
#[derive(serde::Serialize, Debug)]
pub struct NodeBanner {
    pub rpc_url: String,
    pub ws_url: String,
    pub program_id: String,
    /// Where the ledger lives: always "memory" (gone when the node stops).
    pub state: &'static str,
    /// Accounts funded at start.
    pub funded: Vec<String>,
    /// SOL each funded account got.
    #[serde(skip)]
    pub airdrop_sol: u64,
}

/// The last line of the text banner.
const BANNER_END: &str = "Use it with";

impl std::fmt::Display for NodeBanner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "micropay local node")?;
        writeln!(f, "  JSON-RPC   {}", self.rpc_url)?;
        writeln!(f, "  WebSocket  {}", self.ws_url)?;
        writeln!(f, "  program    {}", self.program_id)?;
        writeln!(
            f,
            "  state      in memory: everything is gone when the node stops"
        )?;
        for p in &self.funded {
            writeln!(f, "  funded     {p} ({} SOL)", self.airdrop_sol)?;
        }
        write!(
            f,
            "{BANNER_END} `micropay -u localhost ...` or `solana -u localhost ...`; Ctrl-C stops it."
        )
    }
}

/// Runs the node until Ctrl-C or SIGTERM.
pub async fn run(cli: &Cli, args: &NodeArgs) -> Result<(), Failure> {
    let mut airdrop = args.airdrop.clone();
    if args.fund_keypair {
        airdrop.push(config::signer(cli.keypair.as_deref())?.pubkey());
    }
    micropay_node::echo_program_logs(args.log);
    let node = LocalNode::start(NodeConfig {
        bind_host: args.bind.clone(),
        rpc_port: args.rpc_port,
        ws_port: args.ws_port,
        airdrop: airdrop.clone(),
        airdrop_lamports: args.airdrop_sol.saturating_mul(1_000_000_000),
        ..NodeConfig::default()
    })
    .map_err(|e| Failure {
        message: match e {
            micropay_node::NodeError::PortInUse { .. } => {
                format!("{e} (--rpc-port / --ws-port)")
            }
            other => other.to_string(),
        },
        code: 2,
    })?;
    emit(
        cli.output,
        &NodeBanner {
            rpc_url: node.rpc_url().to_string(),
            ws_url: node.ws_url().to_string(),
            program_id: micropay::ID.to_string(),
            state: "memory",
            funded: airdrop.iter().map(ToString::to_string).collect(),
            airdrop_sol: args.airdrop_sol,
        },
    );
    stopped().await?;
    node.stop();
    if cli.output == Output::Text {
        println!("stopped");
    }
    Ok(())
}

/// Waits for Ctrl-C (or, on Unix, SIGTERM).
async fn stopped() -> Result<(), Failure> {
    let fail = |e: std::io::Error| Failure::user(format!("cannot wait for Ctrl-C: {e}"));
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut terminate = signal(SignalKind::terminate()).map_err(fail)?;
        tokio::select! {
            r = tokio::signal::ctrl_c() => r.map_err(fail),
            _ = terminate.recv() => Ok(()),
        }
    }
    #[cfg(not(unix))]
    tokio::signal::ctrl_c().await.map_err(fail)
}
