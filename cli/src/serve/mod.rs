//! `micropay serve`: a paywall in front of any HTTP API, configured by a
//! TOML file, like Aperture does for L402. Requests matching a priced route
//! are answered `402` (x402 v2, scheme `micropay`) until they carry a voucher
//! the creator's receiver accepts; everything else goes straight to the
//! upstream. The watcher runs inside (claims on schedule and before every
//! dispute deadline), so running `serve` is the creator's whole duty.
//!
//! The file (see README, "Sell an API per request"):
//!
//! ```toml
//! upstream = "http://127.0.0.1:8080"   # the API sold
//! listen = "127.0.0.1:8402"            # where clients connect
//! mints = ["sol"]                      # accepted: `sol`, or MINT=LAMPORTS[/UNITS]
//! # cluster, keypair (the creator), store: like -u, -k, --store
//! # facilitator = "https://…"         # optional: `exact` settled by an x402 facilitator
//!
//! [[route]]
//! method = "GET"                       # optional: any method
//! path = "/weather/**"                 # `*` one segment, final `**` the rest
//! price = { sol = "0.00001" }          # UI units per request, per accepted mint
//! exact = true                         # optional: also x402 `exact` (a transfer per request)
//!
//! [default]                            # paths no route names (default: free)
//! deny = true                          # or: price = { sol = "0.00001" }
//! ```
//!
//! Paths are priced and forwarded in canonical form (`micropay_http::path`:
//! dot segments, `//`, encoded `/` are refused with 400). A method no route
//! names on a priced path is priced by that path's first route. Only the
//! standard methods may be named unless a route says `custom_method = true`.
//! Whatever is served free is said loudly, by `--check` and at start-up.
//!
//! Unless `[actions] enabled = false`, it also serves a Solana Action
//! (`/actions/fund`, `/actions.json`) through which any Actions-capable
//! wallet funds an escrow and opens a channel to this creator; the 402s link
//! to it.
//!
//! `-u` and `-k` on the command line win over `cluster` and `keypair` in
//! the file, which win over the Solana CLI config.
//!
//! Recommended setup: keep the creator's key off the gateway. Set `payee`
//! to the creator's address and give `serve` a keypair that only pays claim
//! fees (claims are permissionless, and earnings go to the payee's earnings
//! account whoever pays); the creator withdraws from its own machine.
//!
//! It runs one async worker thread fewer than the cores, leaving the
//! receiver store's commit thread a core ([`crate::runtime_workers`] says why),
//! and its watcher as a task on that runtime (store calls go to the blocking
//! pool through `AsyncStore`).
//!
//! Three steps: the file is read and checked (`config`), what only the
//! cluster and the machine know is gathered ([`plan::Facts`]: mints, the
//! network, the store, the bound socket), a pure [`plan::plan`] decides
//! everything served, and `start` runs it.
mod config;
mod guard;
mod plan;
mod ready;
mod start;

pub use config::ServeConfig;

use crate::{
    context::{emit, receiver_store, Ctx},
    watch::Logging,
    Cli, Failure,
};
use anchor_lang::prelude::Pubkey;
use clap::Args;
use micropay_sdk::x402;
use std::{collections::BTreeMap, path::PathBuf};

#[derive(Args, Debug)]
pub struct ServeArgs {
    /// The configuration file (TOML).
    #[arg(long, short = 'c', default_value = "micropay-serve.toml")]
    pub config: PathBuf,
    /// Check the file and the cluster, print what would be served, and exit.
    #[arg(long)]
    pub check: bool,
    #[command(flatten)]
    pub logging: Logging,
}

pub async fn run(cli: &Cli, args: &ServeArgs) -> Result<(), Failure> {
    let file = ServeConfig::read(&args.config)?;
    let checked = file.check(&args.config)?;
    let ctx = Ctx::connect(
        cli.url.as_deref().or(file.cluster.as_deref()),
        cli.keypair.as_deref().or(file.keypair.as_deref()),
        cli.commitment,
        cli.output,
    )?;
    ctx.deployed().await?;
    let me = ctx.me()?;
    let accepted: Vec<Pubkey> = checked.values.iter().map(|(mint, _)| *mint).collect();
    crate::split::check_payee_mints(&ctx, &checked.payee.unwrap_or(me), &accepted).await?;
    let (store, store_name) = receiver_store(file.store.as_ref(), false)?;
    // bound before the banner, so that it names the real ports (`listen`
    // and `metrics` may ask for port 0)
    let (listener, metrics) = if args.check {
        (None, None)
    } else {
        let metrics = match &file.metrics {
            Some(address) => Some(bind(address, "metrics").await?),
            None => None,
        };
        (Some(bind(&file.listen, "listen").await?), metrics)
    };
    let bound = |l: &Option<tokio::net::TcpListener>, asked: &str| {
        l.as_ref()
            .and_then(|l| l.local_addr().ok())
            .map_or_else(|| asked.to_owned(), |a| a.to_string())
    };
    let addresses = Addresses {
        listening: bound(&listener, &file.listen),
        metrics: file.metrics.as_ref().map(|m| bound(&metrics, m)),
    };
    let payee = checked.payee.unwrap_or(me);
    let here = args.config.display().to_string();
    let file_ref = (&file, here.as_str());
    let facts = facts(
        &ctx,
        file_ref,
        &accepted,
        (me, payee),
        store_name,
        addresses,
    )
    .await?;
    let plan = plan::plan(&file, &args.config, &checked, &facts)?;
    for w in &plan.serving.warnings {
        eprintln!("warning: {w}");
    }
    let Some(listener) = listener else {
        // --check
        emit(cli.output, &plan.serving);
        return Ok(());
    };
    let running = start::Running {
        ctx: &ctx,
        store,
        proxy: checked.proxy,
        listener,
        metrics,
    };
    start::start(cli.output, &args.logging, running, plan).await
}

/// Binds `address`, the file's `key`.
async fn bind(address: &str, key: &str) -> Result<tokio::net::TcpListener, Failure> {
    tokio::net::TcpListener::bind(address)
        .await
        .map_err(|e| Failure {
            message: format!("cannot listen on {address}: {e} (change `{key}` in the file)"),
            code: 2,
        })
}

/// Where `serve` listens (bound), or would (`--check`).
struct Addresses {
    listening: String,
    metrics: Option<String>,
}

/// What the plan needs from the cluster: the accepted mints, the network,
/// the Action's mint.
async fn facts(
    ctx: &Ctx,
    (file, here): (&ServeConfig, &str),
    accepted: &[Pubkey],
    (me, payee): (Pubkey, Pubkey),
    store: String,
    addresses: Addresses,
) -> Result<plan::Facts, Failure> {
    // prices are in UI units of accepted mints, converted with their decimals
    // a mint the cluster does not know is said with the file's key
    let key = |key: &'static str| {
        move |f: Failure| Failure {
            message: format!("{here}: {key}: {}", f.message),
            ..f
        }
    };
    let mut mints = BTreeMap::new();
    for mint in accepted {
        let info = ctx.mint(&mint.to_string()).await.map_err(key("mints"))?;
        mints.insert(*mint, info);
    }
    let network = x402::network(&ctx.ledger().genesis_hash().await?);
    let actions_mint = match (&file.actions.mint, accepted.first()) {
        _ if !file.actions.enabled => None,
        (Some(m), _) => Some(ctx.mint(m).await.map_err(key("[actions] mint"))?),
        (None, Some(first)) => Some(ctx.mint(&first.to_string()).await.map_err(key("mints"))?),
        (None, None) => None,
    };
    // the payee's earnings accounts: claims credit them
    let earnings: Vec<Pubkey> = accepted
        .iter()
        .map(|m| micropay_sdk::pda::earnings(&payee, m).0)
        .collect();
    let found = ctx.ledger().accounts(&earnings).await?;
    let missing_earnings = accepted
        .iter()
        .zip(found)
        .filter(|(_, a)| a.as_ref().is_none_or(|a| a.owner != micropay::ID))
        .map(|(m, _)| *m)
        .collect();
    Ok(plan::Facts {
        missing_earnings,
        fee_payer_lamports: ctx.ledger().balance(&me).await?,
        mints,
        me,
        network,
        cluster: micropay_client::error::redact_url(&ctx.ledger.url()),
        store,
        listening: addresses.listening,
        metrics: addresses.metrics,
        actions_mint,
    })
}
