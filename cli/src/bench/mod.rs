//! The benchmarks (feature `bench`): `micropay bench` (the reference
//! scenario), `micropay bench accept` (durable accepts and pays per
//! second) and `micropay bench-paywall` (the paywall under load). What they
//! share is in `cases`, a leaf; no benchmark imports another.

mod accept;
mod cases;
pub mod paywall;
mod reference;

use crate::{Cli, Failure};
use clap::{Args, Subcommand};

/// `micropay bench` runs the reference scenario; `micropay bench accept`
/// the accept/pay throughput cases.
#[derive(Args, Debug)]
#[command(args_conflicts_with_subcommands = true)]
pub struct BenchArgs {
    #[command(subcommand)]
    pub command: Option<BenchCommand>,
    #[command(flatten)]
    pub reference: reference::ReferenceArgs,
}

#[derive(Subcommand, Debug)]
pub enum BenchCommand {
    /// Durable accepts and pays per second (SQLite, Postgres), with and
    /// without group commit, beside the verification ceiling.
    Accept(accept::BenchAcceptArgs),
}

pub async fn run(cli: &Cli, args: &BenchArgs) -> Result<(), Failure> {
    match &args.command {
        Some(BenchCommand::Accept(a)) => accept::run(cli, a).await,
        None => reference::run(cli, &args.reference).await,
    }
}

/// The build a result came from: debug numbers are not release numbers.
fn build_name() -> &'static str {
    if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    }
}
