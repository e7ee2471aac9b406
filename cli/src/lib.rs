//! The `micropay` CLI, like Solana's: clap derive, one module per subcommand,
//! global `--url` (monikers, `embedded`, or any URL), `--keypair` (default from
//! the Solana CLI config), `--commitment`, `--output text|json`.
//!
//! Exit codes: 0 success, 1 a user error (bad input, refused by the program),
//! 2 a network or cluster error (unreachable RPC node, ...).

mod accept;
mod airdrop;
#[cfg(feature = "bench")]
mod bench;
mod channel;
mod claim;
mod config;
mod context;
mod demo;
mod earnings;
mod escrow;
#[cfg(feature = "http")]
mod fetch;
mod keys;
#[cfg(feature = "local-node")]
mod node;
pub mod scenario;
#[cfg(feature = "http")]
mod serve;
mod split;
mod voucher;
mod watch;

use clap::{Parser, Subcommand, ValueEnum};
use micropay_client::error::ClientError;

/// The help heading of the options every command takes: after the
/// command's own, as the Solana CLI lists them.
const GLOBAL: &str = "Global options";

#[derive(Parser, Debug)]
#[command(
    name = "micropay",
    version,
    about = "Pay-per-use micropayments on Solana: escrows, signed vouchers, batched claims"
)]
pub struct Cli {
    /// Cluster: `embedded` (an in-process bank), `localhost`, `devnet`,
    /// `testnet`, `mainnet-beta`, or an RPC URL. Default: the Solana CLI
    /// config's, else localhost (`demo` defaults to `embedded`).
    #[arg(short = 'u', long = "url", global = true, help_heading = GLOBAL)]
    pub url: Option<String>,
    /// Keypair file paying fees and signing. Default: the Solana CLI config's.
    #[arg(short = 'k', long = "keypair", global = true, help_heading = GLOBAL)]
    pub keypair: Option<String>,
    /// Commitment for reads and confirmations.
    #[arg(long, global = true, value_enum, default_value_t = Commitment::Confirmed, help_heading = GLOBAL)]
    pub commitment: Commitment,
    /// Output format.
    #[arg(long, global = true, value_enum, default_value_t = Output::Text, help_heading = GLOBAL)]
    pub output: Output,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the whole story (escrows, channels, streamed payments, batched
    /// claims, closes, withdrawals) and print what it cost.
    Demo(demo::DemoArgs),
    /// Start a local Solana JSON-RPC + WebSocket node with micropay.
    #[cfg(feature = "local-node")]
    Node(node::NodeArgs),
    /// Your escrow for a mint: init, deposit, withdraw, show.
    Escrow(escrow::EscrowArgs),
    /// Payment channels: open, top-up, request-close, finalize, creator-close, show, list.
    Channel(channel::ChannelArgs),
    /// Earnings of a creator or fee recipient: init, withdraw, show.
    Earnings(earnings::EarningsArgs),
    /// Royalty splits: `split create --mint … --recipient PUBKEY:BPS …`,
    /// `split show`, `split distribute`.
    Split(split::SplitArgs),
    /// Vouchers: sign (payer), verify (receiver).
    Voucher(voucher::VoucherArgs),
    /// Receiver: verify a voucher for one use and store it.
    Accept(accept::AcceptArgs),
    /// Claim what is worth claiming from the receiver store, in batches.
    Claim(claim::ClaimArgs),
    /// Key files (session keys, wallets).
    Keys(keys::KeysArgs),
    /// Daemon: claim every accepted voucher before its dispute window ends.
    Watch(watch::WatchArgs),
    /// SOL from the faucet of the local node or a test cluster.
    Airdrop(airdrop::AirdropArgs),
    /// Sell an HTTP API per request: a paywall (x402, micropay vouchers) in
    /// front of it, with the watcher inside.
    #[cfg(feature = "http")]
    Serve(serve::ServeArgs),
    /// Fetch a URL like curl, paying its micropay 402 with a voucher.
    #[cfg(feature = "http")]
    Fetch(fetch::FetchArgs),
    /// Load-test the paywall locally: requests/s and added latency at several
    /// concurrency levels (embedded bank, loopback).
    #[cfg(feature = "bench")]
    BenchPaywall(bench::paywall::BenchPaywallArgs),
    /// Benchmarks: `bench` (the reference scenario: fees per design and
    /// format, one-core speeds, account rent), `bench accept` (durable
    /// accepts and pays per second).
    #[cfg(feature = "bench")]
    Bench(bench::BenchArgs),
}

impl Command {
    /// Whether the command answers paid requests: each one waits for the
    /// receiver store's commit thread, so the async runtime leaves that
    /// thread a core ([`runtime_workers`]).
    fn serves_payments(&self) -> bool {
        #[cfg(feature = "bench")]
        if matches!(self, Command::BenchPaywall(_)) {
            return true;
        }
        #[cfg(feature = "http")]
        if matches!(self, Command::Serve(_)) {
            return true;
        }
        false
    }
}

/// Async worker threads for a process on `cores` cores. A gateway runs one
/// fewer than the cores (at least one), for latency, not correctness
/// (nothing blocks a worker): with as many workers as cores, the store's
/// commit thread (busy when fsync is fast) makes three threads want two
/// cores, the kernel time-slices two workers on one core in ticks (4 ms),
/// and a request held by the worker that waits waits a whole tick —
/// measured (`bench-paywall`, two cores, 16 clients, 2026-12-07) as 2.1–4.3 ms
/// p99 added, against 0.9–1.9 ms with one worker at the same throughput.
/// `TOKIO_WORKER_THREADS`, when set, overrides this as in any tokio program.
pub fn runtime_workers(cores: usize, serves_payments: bool) -> usize {
    if serves_payments {
        cores.saturating_sub(1).max(1)
    } else {
        cores.max(1)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Output {
    Text,
    Json,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Commitment {
    Processed,
    Confirmed,
    Finalized,
}

impl Commitment {
    pub fn config(self) -> solana_commitment_config::CommitmentConfig {
        use solana_commitment_config::CommitmentConfig as C;
        match self {
            Commitment::Processed => C::processed(),
            Commitment::Confirmed => C::confirmed(),
            Commitment::Finalized => C::finalized(),
        }
    }
}

/// A CLI failure: what to tell the user, and the exit code.
#[derive(Debug)]
pub struct Failure {
    pub message: String,
    pub code: i32,
}

/// What to run next, in CLI commands, for the program errors whose own
/// message names an instruction or leaves the next step open.
fn cli_advice(error: micropay::error::MicropayError) -> Option<&'static str> {
    use micropay::error::MicropayError as E;
    Some(match error {
        E::CloseNotRequested => {
            "the channel has no close request: run `micropay channel request-close <CHANNEL>` first"
        }
        E::ChannelClosing => {
            "the channel is closing (its payer asked to close it): open a new one with `micropay channel open`"
        }
        E::DisputeWindowOpen => {
            "the dispute window is still open: `micropay channel finalize` works once it ends (`micropay channel show` says when the close was asked)"
        }
        E::EscrowHasOpenChannels => {
            "the escrow still has open channels: close them first (`micropay channel request-close`, then `micropay channel finalize`)"
        }
        E::InsufficientBalance => {
            "not enough free balance in the escrow: `micropay escrow deposit`, or ask for less"
        }
        _ => return None,
    })
}

impl From<ClientError> for Failure {
    fn from(e: ClientError) -> Self {
        let code = match e {
            ClientError::Rpc(_) => 2,
            _ => 1,
        };
        let message = match e.program_error().and_then(cli_advice) {
            Some(advice) => format!("{advice} ({e})"),
            None => e.to_string(),
        };
        Failure { message, code }
    }
}

impl From<scenario::ScenarioError> for Failure {
    fn from(e: scenario::ScenarioError) -> Self {
        match e {
            scenario::ScenarioError::Client(c) => c.into(),
            other => Failure::user(other.to_string()),
        }
    }
}

impl From<micropay_sdk::SdkError> for Failure {
    fn from(e: micropay_sdk::SdkError) -> Self {
        ClientError::from(e).into()
    }
}

impl Failure {
    pub fn user(message: impl Into<String>) -> Self {
        Failure {
            message: message.into(),
            code: 1,
        }
    }
}

/// Parses the command line, runs it, prints errors; returns the exit code.
pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { 1 } else { 0 };
            let _ = e.print();
            return code;
        }
    };
    let output = cli.output;
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    if std::env::var_os("TOKIO_WORKER_THREADS").is_none() {
        let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
        builder.worker_threads(runtime_workers(cores, cli.command.serves_payments()));
    }
    let runtime = match builder.enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return 1;
        }
    };
    let result = runtime.block_on(async move {
        match &cli.command {
            Command::Demo(args) => demo::run(&cli, args).await,
            #[cfg(feature = "local-node")]
            Command::Node(args) => node::run(&cli, args).await,
            Command::Escrow(args) => escrow::run(&cli, args).await,
            Command::Channel(args) => channel::run(&cli, args).await,
            Command::Earnings(args) => earnings::run(&cli, args).await,
            Command::Split(args) => split::run(&cli, args).await,
            Command::Voucher(args) => voucher::run(&cli, args).await,
            Command::Accept(args) => accept::run(&cli, args).await,
            Command::Claim(args) => claim::run(&cli, args).await,
            Command::Keys(args) => keys::run(&cli, args),
            Command::Watch(args) => watch::run(&cli, args).await,
            Command::Airdrop(args) => airdrop::run(&cli, args).await,
            #[cfg(feature = "http")]
            Command::Serve(args) => serve::run(&cli, args).await,
            #[cfg(feature = "http")]
            Command::Fetch(args) => fetch::run(&cli, args).await,
            #[cfg(feature = "bench")]
            Command::BenchPaywall(args) => bench::paywall::run(&cli, args).await,
            #[cfg(feature = "bench")]
            Command::Bench(args) => bench::run(&cli, args).await,
        }
    });
    match result {
        Ok(()) => 0,
        // a failure already reported (by a child process) has no message
        Err(failure) if failure.message.is_empty() => failure.code,
        Err(failure) => {
            if output == Output::Json {
                context::print_line(
                    &serde_json::json!({ "error": failure.message, "exit_code": failure.code })
                        .to_string(),
                );
            } else {
                eprintln!("error: {}", failure.message);
            }
            failure.code
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use micropay::error::MicropayError as E;

    /// Every subcommand, option and argument of every command says what it
    /// is (`--help` has no blank line), and the global options come under
    /// their own heading.
    #[test]
    fn every_option_and_argument_is_described() {
        use clap::CommandFactory;
        fn walk(cmd: &clap::Command, path: &str, blank: &mut Vec<String>) {
            for arg in cmd.get_arguments() {
                let id = arg.get_id().as_str();
                if arg.is_hide_set() || id == "help" || id == "version" {
                    continue;
                }
                let described = arg
                    .get_help()
                    .or(arg.get_long_help())
                    .is_some_and(|h| !h.to_string().trim().is_empty());
                if !described {
                    blank.push(format!("{path} <{id}>"));
                }
            }
            for sub in cmd.get_subcommands() {
                let here = format!("{path} {}", sub.get_name());
                if sub.get_name() != "help" && sub.get_about().is_none() {
                    blank.push(format!("{here} (the command itself)"));
                }
                walk(sub, &here, blank);
            }
        }
        let mut blank = Vec::new();
        let cli = Cli::command();
        walk(&cli, "micropay", &mut blank);
        assert!(blank.is_empty(), "no description: {blank:#?}");
        let url = cli.get_arguments().find(|a| a.get_id() == "url").unwrap();
        assert_eq!(url.get_help_heading(), Some(GLOBAL));
    }

    /// Users read CLI commands, not instruction names.
    #[test]
    fn program_errors_advise_cli_commands() {
        for error in [
            E::CloseNotRequested,
            E::ChannelClosing,
            E::DisputeWindowOpen,
            E::EscrowHasOpenChannels,
            E::InsufficientBalance,
        ] {
            let e = ClientError::from_transaction_error(
                solana_sdk::transaction::TransactionError::InstructionError(
                    0,
                    solana_sdk::instruction::InstructionError::Custom(u32::from(error)),
                ),
                None,
            );
            let failure = Failure::from(e);
            let advice = cli_advice(error).unwrap();
            assert!(failure.message.starts_with(advice), "{}", failure.message);
            assert!(advice.contains("`micropay "), "{advice}");
            assert!(!advice.contains('_'), "an instruction name: {advice}");
            assert_eq!(failure.code, 1);
        }
    }

    /// Gateways leave the commit thread a core, never down to no worker;
    /// other commands use every core.
    #[cfg(feature = "bench")]
    #[test]
    fn gateways_leave_the_commit_thread_a_core() {
        assert_eq!(runtime_workers(2, true), 1);
        assert_eq!(runtime_workers(8, true), 7);
        assert_eq!(runtime_workers(1, true), 1);
        assert_eq!(runtime_workers(0, true), 1);
        assert_eq!(runtime_workers(2, false), 2);
        assert_eq!(runtime_workers(0, false), 1);
        let cli = Cli::try_parse_from(["micropay", "serve", "--config", "x.toml"]).unwrap();
        assert!(cli.command.serves_payments());
        let cli = Cli::try_parse_from(["micropay", "bench-paywall"]).unwrap();
        assert!(cli.command.serves_payments());
        let cli = Cli::try_parse_from(["micropay", "bench", "accept"]).unwrap();
        assert!(!cli.command.serves_payments());
    }
}
