//! `micropay node`: a local Solana JSON-RPC + WebSocket node with micropay,
//! like `solana-test-validator`, until Ctrl-C.
//!
//! Natively, a program's `msg!` is a `println!` (there is no log collector
//! outside SBF), so the logs of every refused transaction would land in the
//! user's terminal. Unless `--log` is given, the node therefore runs in a
//! child process whose standard output is shown up to the banner and
//! dropped after it; this process stops the child on Ctrl-C or SIGTERM.

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
    /// Show the program logs of every transaction (refused ones included).
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

/// The last line of the text banner; the supervisor stops forwarding after it.
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

/// Set in the environment of the node process that the supervisor starts.
const SERVE_ENV: &str = "MICROPAY_NODE_SERVE";

pub async fn run(cli: &Cli, args: &NodeArgs) -> Result<(), Failure> {
    #[cfg(unix)]
    if !args.log && std::env::var_os(SERVE_ENV).is_none() {
        return supervise(cli).await;
    }
    serve(cli, args).await
}

/// Runs the node in a child process (this command again), shows its output
/// up to the end of the banner, and stops it on Ctrl-C or SIGTERM.
#[cfg(unix)]
async fn supervise(cli: &Cli) -> Result<(), Failure> {
    use std::io::BufRead;
    use tokio::signal::unix::{signal, SignalKind};
    let fail = |what: &str, e: std::io::Error| Failure {
        message: format!("cannot {what} the node process: {e}"),
        code: 2,
    };
    let mut interrupt =
        signal(SignalKind::interrupt()).map_err(|e| fail("watch signals for", e))?;
    let mut terminate =
        signal(SignalKind::terminate()).map_err(|e| fail("watch signals for", e))?;
    let exe = std::env::current_exe().map_err(|e| fail("find", e))?;
    let mut child = std::process::Command::new(exe)
        .args(std::env::args_os().skip(1))
        .env(SERVE_ENV, "1")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| fail("start", e))?;
    let json = cli.output == Output::Json;
    let stdout = child.stdout.take();
    let forward = std::thread::spawn(move || {
        let Some(out) = stdout else { return };
        let mut banner = true;
        // read to the end so the child never blocks on a full pipe
        for line in std::io::BufReader::new(out).lines() {
            let Ok(line) = line else { break };
            if banner {
                println!("{line}");
            }
            if json || line.starts_with(BANNER_END) {
                banner = false;
            }
        }
    });
    loop {
        if let Some(status) = child.try_wait().map_err(|e| fail("wait for", e))? {
            let _ = forward.join();
            // the child said why it stopped (on stderr, or as JSON)
            return match status.code() {
                Some(0) => Ok(()),
                code => Err(Failure {
                    message: String::new(),
                    code: code.unwrap_or(2),
                }),
            };
        }
        tokio::select! {
            _ = interrupt.recv() => break,
            _ = terminate.recv() => break,
            _ = tokio::time::sleep(std::time::Duration::from_millis(100)) => {}
        }
    }
    // the state is in memory: nothing to flush
    let _ = child.kill();
    let _ = child.wait();
    let _ = forward.join();
    if !json {
        println!("stopped");
    }
    Ok(())
}

/// Runs the node in this process until Ctrl-C.
async fn serve(cli: &Cli, args: &NodeArgs) -> Result<(), Failure> {
    let mut airdrop = args.airdrop.clone();
    if args.fund_keypair {
        airdrop.push(config::signer(cli.keypair.as_deref())?.pubkey());
    }
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
    tokio::signal::ctrl_c()
        .await
        .map_err(|e| Failure::user(format!("cannot wait for Ctrl-C: {e}")))?;
    node.stop();
    if cli.output == Output::Text {
        println!("stopped");
    }
    Ok(())
}
