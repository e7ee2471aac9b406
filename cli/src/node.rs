//! `micropay node`: a local Solana JSON-RPC + WebSocket node with micropay,
//! like `solana-test-validator`, until Ctrl-C.
//!
//! The program's logs go into each transaction's logs, as on a cluster;
//! `--log` also prints them as they are written (refused transactions, whose
//! logs `getTransaction` never shows, included).
//!
//! Its slots last 400 ms, a cluster's, so the chain's clock keeps wall time
//! (the tests run theirs faster). `micropay node warp 1d` moves a running
//! node's clock forward (surfpool's time travel), so a close, its dispute
//! window and the withdrawal can be tried in a minute.

use super::{config, context::emit, scenario, Cli, Failure, Output};
use micropay_node::{LocalNode, NodeConfig, DEFAULT_RPC_PORT};
use solana_sdk::{pubkey::Pubkey, signature::Signer};

#[derive(clap::Args, Debug)]
#[command(args_conflicts_with_subcommands = true)]
pub struct NodeArgs {
    #[command(subcommand)]
    pub command: Option<NodeCommand>,
    /// Address to listen on (loopback by default).
    #[arg(long, default_value = "127.0.0.1")]
    pub bind: String,
    /// JSON-RPC port.
    #[arg(long, default_value_t = DEFAULT_RPC_PORT)]
    pub rpc_port: u16,
    /// WebSocket (PubSub) port (default: the JSON-RPC port + 1, as
    /// solana-test-validator).
    #[arg(long)]
    pub ws_port: Option<u16>,
    /// Milliseconds per slot: 400, a cluster's, keeps the chain's clock at
    /// wall time.
    #[arg(long, default_value_t = 400, value_parser = clap::value_parser!(u64).range(10..=10_000))]
    pub slot_time_ms: u64,
    /// Fund the default keypair (`-k`, or the Solana CLI's) at start.
    #[arg(long)]
    pub fund_keypair: bool,
    /// More accounts to fund at start.
    #[arg(value_parser = crate::context::address, long = "airdrop", value_name = "PUBKEY")]
    pub airdrop: Vec<Pubkey>,
    /// SOL each funded account gets.
    #[arg(long, default_value_t = 1_000)]
    pub airdrop_sol: u64,
    /// Also print the program's log lines of every transaction as they are
    /// written (refused ones included).
    #[arg(long)]
    pub log: bool,
}

#[derive(clap::Subcommand, Debug)]
pub enum NodeCommand {
    /// Move a running local node's clock forward (to try a dispute window
    /// or an expiry in a minute): `warp 15m`, `warp 1d`, `warp 3600`.
    Warp(WarpArgs),
}

#[derive(clap::Args, Debug)]
pub struct WarpArgs {
    /// How far: seconds, or a number with `s`, `m`, `h` or `d`.
    pub by: String,
}

/// What `micropay node` prints once it serves: where to reach it.
#[derive(serde::Serialize, Debug)]
pub struct NodeBanner {
    /// What `-u` takes to reach it: `localhost` on the default address,
    /// else the JSON-RPC URL.
    pub url: String,
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
            "{BANNER_END} `micropay -u {url} ...` or `solana -u {url} ...`; Ctrl-C stops it.",
            url = self.url
        )
    }
}

/// Runs the node until Ctrl-C or SIGTERM.
pub async fn run(cli: &Cli, args: &NodeArgs) -> Result<(), Failure> {
    if let Some(NodeCommand::Warp(warp)) = &args.command {
        return warp_clock(cli, warp).await;
    }
    let ws_port = match args.ws_port {
        Some(port) => port,
        None => args.rpc_port.checked_add(1).ok_or_else(|| {
            Failure::user("--rpc-port 65535 leaves no port for the WebSocket: pass --ws-port")
        })?,
    };
    let mut airdrop = args.airdrop.clone();
    if args.fund_keypair {
        airdrop.push(config::signer(cli.keypair.as_deref())?.pubkey());
    }
    micropay_node::echo_program_logs(args.log);
    let node = LocalNode::start(NodeConfig {
        bind_host: args.bind.clone(),
        rpc_port: args.rpc_port,
        ws_port,
        slot_time_ms: args.slot_time_ms,
        airdrop: airdrop.clone(),
        airdrop_lamports: args.airdrop_sol.saturating_mul(1_000_000_000),
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
            url: cli_url(node.rpc_url()),
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

/// What `-u` takes for `rpc_url`.
fn cli_url(rpc_url: &str) -> String {
    if rpc_url == format!("http://127.0.0.1:{DEFAULT_RPC_PORT}") {
        "localhost".into()
    } else {
        rpc_url.into()
    }
}

/// What `node warp` did.
#[derive(serde::Serialize, Debug)]
pub struct Warped {
    /// The chain's clock before and after (unix seconds, chain time).
    pub from: i64,
    pub to: i64,
    /// Seconds moved.
    pub secs: i64,
}

impl std::fmt::Display for Warped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "chain clock moved {} ahead: {} -> {} (chain time)",
            crate::context::relative(self.secs),
            crate::context::utc(self.from),
            crate::context::utc(self.to)
        )
    }
}

/// `node warp`: surfpool's time travel on the node at `-u`. A cluster
/// without it (any real one) is refused at once: its clock cannot move.
async fn warp_clock(cli: &Cli, args: &WarpArgs) -> Result<(), Failure> {
    let secs = parse_duration(&args.by)?;
    let ctx = crate::context::Ctx::read_only(cli)?;
    let from = ctx.ledger().unix_timestamp().await?;
    let target = from.saturating_add(secs);
    if !scenario::time_travel(&ctx.ledger, target).await {
        return Err(Failure::user(format!(
            "{} cannot move its clock: `node warp` works on `micropay node` (surfpool's time travel) only",
            micropay_client::error::redact_url(&ctx.ledger.url())
        )));
    }
    let to = scenario::clock_reaching(&ctx.ledger, target, scenario::TRAVEL_POLLS).await?;
    if to < target {
        return Err(Failure::user(format!(
            "the node's clock did not reach {} (it is at {})",
            crate::context::utc(target),
            crate::context::utc(to)
        )));
    }
    emit(cli.output, &Warped { from, to, secs });
    Ok(())
}

/// `90`, `90s`, `15m`, `2h`, `1d` in seconds (at least one).
fn parse_duration(text: &str) -> Result<i64, Failure> {
    let t = text.trim();
    let (digits, unit) = match t.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => (&t[..i], c),
        _ => (t, 's'),
    };
    let per = match unit {
        's' => 1,
        'm' => 60,
        'h' => 3_600,
        'd' => 86_400,
        _ => 0,
    };
    digits
        .parse::<i64>()
        .ok()
        .filter(|n| *n > 0 && per > 0)
        .and_then(|n| n.checked_mul(per))
        .ok_or_else(|| {
            Failure::user(format!(
                "`{text}` is not a duration: seconds, or a number with s, m, h or d (`15m`, `1d`)"
            ))
        })
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
