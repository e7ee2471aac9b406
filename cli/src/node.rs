//! `micropay node`: a local Solana JSON-RPC + WebSocket node with micropay,
//! like `solana-test-validator`, until Ctrl-C.

use super::{config, Cli, Failure, Output};
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
}

pub async fn run(cli: &Cli, args: &NodeArgs) -> Result<(), Failure> {
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
    match cli.output {
        Output::Json => println!(
            "{}",
            serde_json::json!({
                "rpc_url": node.rpc_url(),
                "ws_url": node.ws_url(),
                "program_id": micropay::ID.to_string(),
                "state": "memory",
                "funded": airdrop.iter().map(|p| p.to_string()).collect::<Vec<_>>(),
            })
        ),
        Output::Text => {
            println!("micropay local node");
            println!("  JSON-RPC   {}", node.rpc_url());
            println!("  WebSocket  {}", node.ws_url());
            println!("  program    {}", micropay::ID);
            println!("  state      in memory: everything is gone when the node stops");
            for p in &airdrop {
                println!("  funded     {p} ({} SOL)", args.airdrop_sol);
            }
            println!("Use it with `micropay -u localhost ...` or `solana -u localhost ...`; Ctrl-C stops it.");
        }
    }
    tokio::signal::ctrl_c()
        .await
        .map_err(|e| Failure::user(format!("cannot wait for Ctrl-C: {e}")))?;
    node.stop();
    if cli.output == Output::Text {
        println!("stopped");
    }
    Ok(())
}
