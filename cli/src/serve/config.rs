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
//!
//! [[route]]
//! method = "GET"                       # optional: any method
//! path = "/weather/**"                 # `*` one segment, final `**` the rest
//! price = { sol = "0.00001" }          # UI units per request, per accepted mint
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
//! receiver store's commit thread a core ([`crate::runtime_workers`] says why).

use super::{
    claim::mint_values,
    context::{emit, parse_amount, receiver_store, Ctx, MintInfo},
    watch::{init_logs, shutdown_signal, websocket_url, LogFormat},
    Cli, Failure, Output,
};
use anchor_lang::prelude::Pubkey;
use clap::Args;
use micropay_client::{
    ledger::rpc::RpcLedger,
    planner::{ppm_from_ratio, FeeModel, PlannerConfig, UnitValue},
    receiver::{AcceptedMint, FeePolicy, Receiver, ReceiverConfig},
    watcher::{subscribe_channels, Watcher, WatcherConfig},
};
use micropay_http::{
    paywall::{Paywall, PaywallConfig},
    proxy::Proxy,
    route::{PathPattern, Price, Route, Unrouted},
};
use micropay_sdk::x402;
use serde::Deserialize;
use std::{collections::BTreeMap, path::PathBuf, sync::Arc, time::Duration};

#[derive(Args, Debug)]
pub struct ServeArgs {
    /// The configuration file (TOML).
    #[arg(long, short = 'c', default_value = "micropay-serve.toml")]
    pub config: PathBuf,
    /// Check the file and the cluster, print what would be served, and exit.
    #[arg(long)]
    pub check: bool,
    /// Log lines on stderr: text or json.
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
}

/// The configuration file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServeConfig {
    /// The API sold: `http://host:port`, optionally with a base path.
    pub upstream: String,
    /// Address to listen on (port 0: any free port; the banner names it).
    #[serde(default = "default_listen")]
    pub listen: String,
    /// Cluster (like `-u`).
    pub cluster: Option<String>,
    /// The creator's keypair (like `-k`): receives the payments, pays claim fees.
    pub keypair: Option<String>,
    /// The payee channels must name, when it is not the keypair's address:
    /// the creator's wallet (the recommended setup: the creator's key stays
    /// off the gateway, and the keypair is a fee payer holding only SOL for
    /// claims, which are permissionless), or a royalty split (`micropay split
    /// create`), which has no key (its mint must be the only one in `mints`).
    pub payee: Option<String>,
    /// Receiver store: a SQLite file, or a `postgres://` URL: one database shared by gateways on several machines (default `~/.config/micropay/receiver.db`).
    pub store: Option<PathBuf>,
    /// Accepted mints: `sol`, or `MINT=LAMPORTS[/UNITS]` (its value in
    /// lamports, for the claim planner's fee ratio).
    pub mints: Vec<String>,
    /// How long a client has for its paid retry, seconds.
    #[serde(default = "default_timeout")]
    pub max_timeout_seconds: u64,
    /// Shortest dispute window accepted, seconds.
    #[serde(default = "default_window")]
    pub min_dispute_window_secs: u32,
    /// dApp fee shares accepted.
    #[serde(default)]
    pub fees: FeesConfig,
    /// The watcher inside `serve`.
    #[serde(default)]
    pub watch: WatchConfig,
    /// The Solana Action that funds an escrow and opens a channel.
    #[serde(default)]
    pub actions: ActionsConfig,
    /// Priced routes; the first that matches prices a request.
    #[serde(rename = "route", default)]
    pub routes: Vec<RouteConfig>,
    /// What paths no route names get: free (default), a price, or `403`.
    #[serde(default)]
    pub default: DefaultConfig,
    /// A `404` from the upstream is not charged either (a `5xx` or an
    /// unreachable upstream never is): the voucher is kept for a retry.
    #[serde(default)]
    pub credit_not_found: bool,
}

/// The `[default]` table: paths no route names.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DefaultConfig {
    /// Refuse them with `403`.
    #[serde(default)]
    pub deny: bool,
    /// Price them: accepted mint (`sol` or its address) → UI amount.
    pub price: Option<BTreeMap<String, String>>,
    /// What they are (shown in the 402).
    pub description: Option<String>,
}

fn default_listen() -> String {
    "127.0.0.1:8402".into()
}
fn default_timeout() -> u64 {
    60
}
fn default_window() -> u32 {
    ReceiverConfig::default().min_dispute_window_secs
}

/// Accepted fee shares.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeesConfig {
    /// Fee recipients a channel may name.
    #[serde(default)]
    pub recipients: Vec<String>,
    /// Highest fee share, basis points.
    #[serde(default)]
    pub max_bps: u16,
}

/// The watcher's pace.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WatchConfig {
    /// Run it (default true). Without it, run `micropay watch` on the store.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Seconds between two looks at the chain.
    #[serde(default = "default_poll")]
    pub poll_secs: u64,
    /// Seconds between two routine claim plans.
    #[serde(default = "default_plan")]
    pub plan_secs: u64,
    /// Most a claim's fee may be, as a fraction of what it settles.
    #[serde(default = "default_ratio")]
    pub target_fee_ratio: f64,
    /// Claim transaction format: "auto" (ask the cluster), "legacy" or "v1".
    #[serde(default = "default_format")]
    pub tx_format: String,
    /// Royalty splits the watcher distributes on its routine schedule.
    #[serde(default)]
    pub distribute: Vec<String>,
}

impl Default for WatchConfig {
    fn default() -> Self {
        WatchConfig {
            enabled: true,
            poll_secs: default_poll(),
            plan_secs: default_plan(),
            target_fee_ratio: default_ratio(),
            tx_format: default_format(),
            distribute: Vec::new(),
        }
    }
}

fn default_format() -> String {
    "auto".into()
}

impl WatchConfig {
    /// `tx_format` as a choice.
    fn format(&self) -> Option<super::claim::FormatChoice> {
        use clap::ValueEnum;
        super::claim::FormatChoice::from_str(&self.tx_format, true).ok()
    }
}

fn yes() -> bool {
    true
}
fn default_poll() -> u64 {
    10
}
fn default_plan() -> u64 {
    300
}
fn default_ratio() -> f64 {
    0.01
}

/// The funding Action (`/actions/fund`, `/actions.json`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActionsConfig {
    /// Serve it (default true).
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Mint deposited: `sol` or an address (default: the first of `mints`).
    pub mint: Option<String>,
    /// The URL clients reach this server at (default `http://<listen>`).
    pub public_url: Option<String>,
    /// Title shown by wallets.
    #[serde(default = "default_title")]
    pub title: String,
    /// Description shown by wallets.
    #[serde(default = "default_description")]
    pub description: String,
    /// Icon URL.
    #[serde(default = "default_icon")]
    pub icon: String,
}

impl Default for ActionsConfig {
    fn default() -> Self {
        ActionsConfig {
            enabled: true,
            mint: None,
            public_url: None,
            title: default_title(),
            description: default_description(),
            icon: default_icon(),
        }
    }
}

fn default_title() -> String {
    "Pay per request with micropay".into()
}
fn default_description() -> String {
    "Deposit into your micropay escrow and open a payment channel to this API: each request is then paid by a signed voucher, without a transaction.".into()
}
fn default_icon() -> String {
    "https://solana.com/src/img/branding/solanaLogoMark.svg".into()
}

/// One priced route.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteConfig {
    /// HTTP method; any when absent. A standard method unless
    /// `custom_method` is set.
    pub method: Option<String>,
    /// Allow a non-standard `method` (a typo such as "GOT" is refused
    /// otherwise: it would leave the real GET unpriced).
    #[serde(default)]
    pub custom_method: bool,
    /// Path pattern.
    pub path: String,
    /// Price per request: accepted mint (`sol` or its address) → UI amount.
    pub price: BTreeMap<String, String>,
    /// What the resource is (shown in the 402).
    pub description: Option<String>,
    /// Claim each voucher on chain before serving (high-value requests).
    #[serde(default)]
    pub settle_first: bool,
}

impl ServeConfig {
    /// Reads and parses `path`; errors name the file and the line.
    pub fn read(path: &std::path::Path) -> Result<Self, Failure> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            Failure::user(format!(
                "cannot read {}: {e} (pass the file with --config)",
                path.display()
            ))
        })?;
        toml::from_str(&text).map_err(|e| Failure::user(format!("{}: {e}", path.display())))
    }
}

/// What `serve` serves, printed once it listens.
#[derive(Debug, serde::Serialize)]
pub struct Serving {
    pub url: String,
    pub upstream: String,
    pub creator: String,
    /// The key paying claim fees (the keypair).
    pub fee_payer: String,
    pub cluster: String,
    pub network: String,
    pub store: String,
    pub watcher: bool,
    /// Royalty splits the watcher distributes.
    pub distribute: Vec<String>,
    /// The funding Action's URL, when served.
    pub fund_action: Option<String>,
    pub routes: Vec<RouteView>,
    /// Paths no route names: `free`, `deny` or `priced`.
    pub unrouted: String,
    /// The price of unrouted paths, when `priced`.
    pub unrouted_prices: Option<RouteView>,
    /// What is served free or loses money, said loudly.
    pub warnings: Vec<String>,
}

/// A route as served.
#[derive(Debug, serde::Serialize)]
pub struct RouteView {
    pub method: String,
    pub path: String,
    /// Mint → price in base units.
    pub prices: BTreeMap<String, u64>,
    /// Mint → price in UI units.
    pub prices_ui: BTreeMap<String, String>,
    /// Vouchers are claimed on chain before the request is served.
    pub settle_first: bool,
}

impl std::fmt::Display for Serving {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "micropay serve")?;
        writeln!(f, "  listening  {}", self.url)?;
        writeln!(f, "  upstream   {}", self.upstream)?;
        writeln!(f, "  creator    {}", self.creator)?;
        if self.fee_payer != self.creator {
            writeln!(f, "  fee payer  {} (pays claim fees only)", self.fee_payer)?;
        }
        writeln!(f, "  cluster    {} ({})", self.cluster, self.network)?;
        writeln!(f, "  store      {}", self.store)?;
        writeln!(
            f,
            "  watcher    {}",
            if self.watcher {
                "on (claims on schedule and before every dispute deadline)"
            } else {
                "off: run `micropay watch` on the store"
            }
        )?;
        if let Some(action) = &self.fund_action {
            writeln!(f, "  action     {action} (fund an escrow from a wallet)")?;
        }
        for r in &self.routes {
            let prices: Vec<String> = r
                .prices_ui
                .iter()
                .map(|(mint, ui)| format!("{ui} {mint}"))
                .collect();
            writeln!(
                f,
                "  route      {} {}  {}{}",
                r.method,
                r.path,
                prices.join(", "),
                if r.settle_first {
                    "  (settled before serving)"
                } else {
                    ""
                }
            )?;
        }
        match (self.unrouted.as_str(), &self.unrouted_prices) {
            ("deny", _) => writeln!(f, "  unrouted   refused (403)")?,
            (_, Some(r)) => {
                let prices: Vec<String> = r
                    .prices_ui
                    .iter()
                    .map(|(mint, ui)| format!("{ui} {mint}"))
                    .collect();
                writeln!(f, "  unrouted   {}", prices.join(", "))?;
            }
            _ => writeln!(f, "  unrouted   FREE (passed to the upstream unpaid)")?,
        }
        for w in &self.warnings {
            writeln!(f, "  WARNING    {w}")?;
        }
        write!(f, "Ctrl-C stops it.")
    }
}

/// Route method `m`: a standard method, or any when opted in.
fn route_method(m: &str, custom: bool, where_: &str) -> Result<http::Method, Failure> {
    let method = http::Method::from_bytes(m.to_ascii_uppercase().as_bytes())
        .map_err(|_| Failure::user(format!("{where_}: `{m}` is not an HTTP method")))?;
    if custom || micropay_http::route::STANDARD_METHODS.contains(&method) {
        return Ok(method);
    }
    Err(Failure::user(format!(
        "{where_}: `{m}` is not a standard HTTP method (GET, HEAD, POST, PUT, DELETE, CONNECT, OPTIONS, TRACE, PATCH); set custom_method = true if the upstream really serves it"
    )))
}

/// `prices` (mint name → UI amount) in base units of accepted `mints`,
/// recorded in the route's `view` too.
fn prices(
    prices: &BTreeMap<String, String>,
    mints: &BTreeMap<Pubkey, MintInfo>,
    where_: &str,
    view: &mut RouteView,
) -> Result<Vec<Price>, Failure> {
    let mut out = Vec::new();
    for (name, ui) in prices {
        let mint = if name.eq_ignore_ascii_case("sol") {
            anchor_spl::token::spl_token::native_mint::ID
        } else {
            name.parse::<Pubkey>().map_err(|_| {
                Failure::user(format!("{where_}: `{name}` is not a mint (or `sol`)"))
            })?
        };
        let info = mints.get(&mint).ok_or_else(|| {
            Failure::user(format!(
                "{where_}: mint {name} is priced but not in `mints`: accept it there"
            ))
        })?;
        let amount = parse_amount(ui, info.decimals)
            .map_err(|f| Failure::user(format!("{where_}: {}", f.message)))?;
        out.push(Price {
            mint,
            amount,
            decimals: info.decimals,
        });
        view.prices.insert(info.symbol.clone(), amount);
        view.prices_ui.insert(info.symbol.clone(), ui.clone());
    }
    Ok(out)
}

/// The priced routes of `file`, with their views.
fn routes(
    file: &ServeConfig,
    config: &std::path::Path,
    mints: &BTreeMap<Pubkey, MintInfo>,
) -> Result<(Vec<Route>, Vec<RouteView>), Failure> {
    let mut routes = Vec::with_capacity(file.routes.len());
    let mut views = Vec::with_capacity(file.routes.len());
    for r in &file.routes {
        let where_ = format!("{}: route {}", config.display(), r.path);
        let method = r
            .method
            .as_deref()
            .map(|m| route_method(m, r.custom_method, &where_))
            .transpose()?;
        let path =
            PathPattern::parse(&r.path).map_err(|e| Failure::user(format!("{where_}: {e}")))?;
        let mut view = RouteView {
            method: method
                .as_ref()
                .map_or("*", http::Method::as_str)
                .to_string(),
            path: path.to_string(),
            prices: BTreeMap::new(),
            prices_ui: BTreeMap::new(),
            settle_first: r.settle_first,
        };
        let prices = prices(&r.price, mints, &where_, &mut view)?;
        let mut route = Route::new(method, path, prices)
            .map_err(|e| Failure::user(format!("{where_}: {e}")))?;
        route.description = r.description.clone();
        route.settle_first = r.settle_first;
        routes.push(route);
        views.push(view);
    }
    Ok((routes, views))
}

/// A warning per `settle_first` route price worth less than the claim each
/// such request sends (a one-voucher claim's fee): the creator loses money
/// on every request there.
fn settle_first_warnings(routes: &[Route], values: &[(Pubkey, UnitValue)]) -> Vec<String> {
    let fee = FeeModel::default().transaction_fee(1);
    let mut warnings = Vec::new();
    for route in routes.iter().filter(|r| r.settle_first) {
        for price in &route.prices {
            let value = values
                .iter()
                .find(|(m, _)| *m == price.mint)
                .map_or(0, |(_, v)| v.lamports_of(price.amount));
            if value < fee {
                warnings.push(format!(
                    "route {} {} settles first, but its price in {} is worth {value} lamports, less than the {fee} lamports each claim costs: every request loses money (raise the price or drop settle_first)",
                    route.method_name(),
                    route.path,
                    price.mint
                ));
            }
        }
    }
    warnings
}

/// The `[default]` rule: what paths no route names get, its view, and what
/// is served free (said loudly).
fn unrouted(
    file: &ServeConfig,
    config: &std::path::Path,
    mints: &BTreeMap<Pubkey, MintInfo>,
) -> Result<(Unrouted, Option<RouteView>, Vec<String>), Failure> {
    let where_ = format!("{}: [default]", config.display());
    let d = &file.default;
    match (&d.price, d.deny) {
        (Some(_), true) => Err(Failure::user(format!(
            "{where_}: set either `deny = true` or a `price`, not both"
        ))),
        (None, true) => Ok((Unrouted::Deny, None, Vec::new())),
        (Some(price), false) => {
            let mut view = RouteView {
                method: "*".into(),
                path: "/**".into(),
                prices: BTreeMap::new(),
                prices_ui: BTreeMap::new(),
                settle_first: false,
            };
            let prices = prices(price, mints, &where_, &mut view)?;
            let every =
                PathPattern::parse("/**").map_err(|e| Failure::user(format!("{where_}: {e}")))?;
            let mut route = Route::new(None, every, prices)
                .map_err(|e| Failure::user(format!("{where_}: {e}")))?;
            route.description = d.description.clone();
            Ok((Unrouted::Priced(Box::new(route)), Some(view), Vec::new()))
        }
        (None, false) => {
            let warning = if file.routes.is_empty() {
                "no [[route]] is configured: every request is passed to the upstream FREE (add routes, or [default] price = … / deny = true)"
            } else {
                "paths no [[route]] names are passed to the upstream FREE (set [default] deny = true or a price to close them)"
            };
            Ok((Unrouted::Free, None, vec![warning.to_string()]))
        }
    }
}

pub async fn run(cli: &Cli, args: &ServeArgs) -> Result<(), Failure> {
    let file = ServeConfig::read(&args.config)?;
    if file.watch.format().is_none() {
        return Err(Failure::user(format!(
            "{}: [watch] tx_format must be \"auto\", \"legacy\" or \"v1\", not {:?}",
            args.config.display(),
            file.watch.tx_format
        )));
    }
    if !(file.watch.poll_secs > 0 && ppm_from_ratio(file.watch.target_fee_ratio).is_some()) {
        return Err(Failure::user(format!(
            "{}: [watch] poll_secs must be at least 1 and target_fee_ratio above 0 and at most 1",
            args.config.display()
        )));
    }
    let proxy = Proxy::new(&file.upstream)
        .map_err(|e| Failure::user(format!("{}: {e}", args.config.display())))?;
    let values = mint_values(&file.mints)?;
    if values.is_empty() {
        return Err(Failure::user(format!(
            "{}: `mints` is empty: accept at least one, e.g. mints = [\"sol\"]",
            args.config.display()
        )));
    }
    let ctx = Ctx::connect(
        cli.url.as_deref().or(file.cluster.as_deref()),
        cli.keypair.as_deref().or(file.keypair.as_deref()),
        cli.commitment,
        cli.output,
    )?;
    let creator = match &file.payee {
        Some(payee) => payee.parse().map_err(|_| {
            Failure::user(format!(
                "{}: payee `{payee}` is not an address",
                args.config.display()
            ))
        })?,
        None => ctx.me()?,
    };
    let accepted: Vec<Pubkey> = values.iter().map(|(mint, _)| *mint).collect();
    super::split::check_payee_mints(&ctx, &creator, &accepted).await?;
    let distribute = file
        .watch
        .distribute
        .iter()
        .map(|s| {
            s.parse::<Pubkey>().map_err(|_| {
                Failure::user(format!(
                    "{}: [watch] distribute: `{s}` is not an address",
                    args.config.display()
                ))
            })
        })
        .collect::<Result<Vec<Pubkey>, Failure>>()?;

    // routes: prices in UI units of accepted mints, converted with the mint's decimals
    let mut mints = BTreeMap::new();
    for (mint, _) in &values {
        mints.insert(*mint, ctx.mint(&mint.to_string()).await?);
    }
    let (routes, views) = routes(&file, &args.config, &mints)?;
    let (unrouted, unrouted_prices, mut warnings) = unrouted(&file, &args.config, &mints)?;
    warnings.extend(settle_first_warnings(&routes, &values));

    let mut fees = FeePolicy::default();
    for r in &file.fees.recipients {
        let recipient = r.parse().map_err(|_| {
            Failure::user(format!(
                "{}: fee recipient `{r}` is not an address",
                args.config.display()
            ))
        })?;
        fees = fees.allow(recipient, file.fees.max_bps);
    }
    let receiver_config = ReceiverConfig {
        fees,
        min_dispute_window_secs: file.min_dispute_window_secs,
        ..ReceiverConfig::accepting(values.iter().map(|(mint, v)| AcceptedMint {
            mint: *mint,
            lamports: v.lamports,
            per_units: v.per_units,
        }))
    };
    let (store, store_name) = receiver_store(file.store.as_ref(), false)?;
    let genesis = ctx.ledger().genesis_hash().await?;
    let network = x402::network(&genesis);
    let receiver = Arc::new(Receiver::new(
        ctx.ledger.clone(),
        store.clone(),
        creator,
        receiver_config,
    ));
    // bound before the banner, so that it names the real port (`listen` may
    // ask for port 0)
    let listener = if args.check {
        None
    } else {
        Some(
            tokio::net::TcpListener::bind(&file.listen)
                .await
                .map_err(|e| Failure {
                    message: format!("cannot listen on {}: {e} (change `listen`)", file.listen),
                    code: 2,
                })?,
        )
    };
    let listening = listener
        .as_ref()
        .and_then(|l| l.local_addr().ok())
        .map_or_else(|| file.listen.clone(), |a| a.to_string());
    let public_url = file
        .actions
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{listening}"));
    let actions = if file.actions.enabled {
        let mint = match &file.actions.mint {
            Some(m) => ctx.mint(m).await?,
            None => ctx.mint(&values[0].0.to_string()).await?,
        };
        if !mints.contains_key(&mint.address) {
            return Err(Failure::user(format!(
                "{}: [actions] mint {} is not in `mints`",
                args.config.display(),
                mint.address
            )));
        }
        Some(micropay_http::actions::FundAction {
            creator,
            mint: mint.address,
            token_program: mint.token_program,
            decimals: mint.decimals,
            symbol: mint.symbol.clone(),
            network: network.clone(),
            title: file.actions.title.clone(),
            description: file.actions.description.clone(),
            icon: file.actions.icon.clone(),
        })
    } else {
        None
    };
    let fund_action = actions
        .as_ref()
        .map(|_| format!("{}/actions/fund", public_url.trim_end_matches('/')));
    let claimer = micropay_http::paywall::ClaimNow::new(
        ctx.ledger.clone(),
        Arc::new(ctx.keypair()?.insecure_clone()),
    );
    let paywall = Paywall::with_settle(
        receiver,
        PaywallConfig {
            routes,
            unrouted: unrouted.clone(),
            network: network.clone(),
            max_timeout_seconds: file.max_timeout_seconds,
            fund_action: fund_action.clone(),
            credit_not_found: file.credit_not_found,
        },
        Arc::new(claimer),
    );
    let serving = Serving {
        url: format!("http://{listening}"),
        upstream: proxy.upstream().to_string(),
        creator: creator.to_string(),
        fee_payer: ctx.me()?.to_string(),
        cluster: micropay_client::error::redact_url(&ctx.ledger.url()),
        network,
        store: store_name,
        watcher: file.watch.enabled,
        distribute: distribute.iter().map(|s| s.to_string()).collect(),
        fund_action,
        routes: views,
        unrouted: match unrouted {
            Unrouted::Free => "free",
            Unrouted::Deny => "deny",
            Unrouted::Priced(_) => "priced",
        }
        .into(),
        unrouted_prices,
        warnings,
    };
    for w in &serving.warnings {
        eprintln!("warning: {w}");
    }
    let Some(listener) = listener else {
        // --check
        emit(cli.output, &serving);
        return Ok(());
    };

    init_logs(args.log_format);
    let signal = shutdown_signal()?;
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let stop = Arc::new(stop);
    let on_signal = stop.clone();
    tokio::spawn(async move {
        signal.await;
        let _ = on_signal.send(true);
    });
    let watcher = if file.watch.enabled {
        let format = file
            .watch
            .format()
            .unwrap_or(super::claim::FormatChoice::Auto)
            .resolve(ctx.ledger.as_ref())
            .await?;
        let planner = PlannerConfig {
            max_fee_ppm: ppm_from_ratio(file.watch.target_fee_ratio).unwrap_or(10_000),
            values: values.iter().copied().collect(),
            format,
            ..PlannerConfig::default()
        };
        // its own thread, runtime and RPC connection: a pass reads and
        // writes the store synchronously, which must not hold up the
        // paywall's worker (serve runs one worker fewer than the cores)
        let ledger = Arc::new(RpcLedger::new(
            ctx.ledger.url(),
            ctx.ledger.client().commitment(),
        ));
        let watcher = Watcher::new(
            ledger,
            store.clone(),
            Arc::new(ctx.keypair()?.insecure_clone()),
            WatcherConfig {
                poll_interval: Duration::from_secs(file.watch.poll_secs),
                plan_interval: Duration::from_secs(file.watch.plan_secs),
                planner,
                distribute: distribute.clone(),
                ..WatcherConfig::default()
            },
        );
        let ws = websocket_url(&ctx.ledger.url());
        let mut stopped = stopped.clone();
        let stop = stop.clone();
        let (done, report) = tokio::sync::oneshot::channel();
        std::thread::Builder::new()
            .name("micropay-watcher".into())
            .spawn(move || {
                let report = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .map(|runtime| {
                        runtime.block_on(async move {
                            let wake = subscribe_channels(&ws, Some(creator)).await.ok();
                            watcher
                                .run(wake, async move {
                                    let _ = stopped.wait_for(|s| *s).await;
                                })
                                .await
                        })
                    })
                    .map_err(|e| format!("cannot start its runtime: {e}"));
                if report.as_ref().is_ok_and(|r| r.gave_up.is_some()) {
                    // no watcher, no serving: the creator's duty is not kept
                    let _ = stop.send(true);
                }
                let _ = done.send(report);
            })
            .map_err(|e| Failure::user(format!("cannot start the watcher's thread: {e}")))?;
        Some(report)
    } else {
        None
    };
    emit(cli.output, &serving);
    // the Action's routes are never priced; everything else goes through the paywall
    let mut app = proxy.router().layer(paywall);
    if let Some(fund) = actions {
        app = micropay_http::actions::router(ctx.ledger.clone(), fund).merge(app);
    }
    let mut stopped_http = stopped.clone();
    // each request's client address reaches the paywall (its junk limit)
    let app = app.into_make_service_with_connect_info::<std::net::SocketAddr>();
    axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            let _ = stopped_http.wait_for(|s| *s).await;
        })
        .await
        .map_err(|e| Failure {
            message: format!("serving stopped: {e}"),
            code: 2,
        })?;
    if let Some(report) = watcher {
        let report = report
            .await
            .map_err(|_| Failure::user("watcher: its thread ended without a report"))?
            .map_err(|e| Failure::user(format!("watcher: {e}")))?;
        tracing::info!(
            claims = report.claim_transactions,
            settled = report.settled_amount,
            "watcher stopped"
        );
        if let Some(why) = report.gave_up {
            // non-zero, so that a supervisor restarts the gateway
            return Err(Failure {
                message: format!("watcher stopped, so serving stopped: {why}"),
                code: 2,
            });
        }
    }
    if cli.output == Output::Text {
        println!("stopped");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(text: &str) -> ServeConfig {
        toml::from_str(text).unwrap()
    }

    /// A typo in a route's method must not leave the real method unpriced.
    #[test]
    fn only_standard_methods_unless_opted_in() {
        assert_eq!(route_method("get", false, "r").unwrap(), http::Method::GET);
        let typo = route_method("GOT", false, "r").unwrap_err();
        assert!(typo.message.contains("custom_method"), "{}", typo.message);
        assert_eq!(route_method("PURGE", true, "r").unwrap().as_str(), "PURGE");
        assert!(route_method("G T", true, "r").is_err());
        let file = config(
            "upstream = \"http://127.0.0.1:1\"\nmints = [\"sol\"]\n[[route]]\nmethod = \"GOT\"\npath = \"/a\"\nprice = { sol = \"1\" }\n",
        );
        let err = routes(&file, std::path::Path::new("f.toml"), &BTreeMap::new()).unwrap_err();
        assert!(
            err.message.contains("not a standard HTTP method"),
            "{}",
            err.message
        );
    }

    /// What is served free is said; deny and a default price say nothing.
    #[test]
    fn free_service_is_said_loudly() {
        let path = std::path::Path::new("f.toml");
        let none = config("upstream = \"http://127.0.0.1:1\"\nmints = [\"sol\"]\n");
        let (rule, _, warnings) = unrouted(&none, path, &BTreeMap::new()).unwrap();
        assert!(matches!(rule, Unrouted::Free));
        assert!(warnings[0].contains("no [[route]]") && warnings[0].contains("FREE"));
        let some = config(
            "upstream = \"http://127.0.0.1:1\"\nmints = [\"sol\"]\n[[route]]\npath = \"/a\"\nprice = { sol = \"1\" }\n",
        );
        let (_, _, warnings) = unrouted(&some, path, &BTreeMap::new()).unwrap();
        assert!(warnings[0].contains("FREE"), "{warnings:?}");
        let deny = config(
            "upstream = \"http://127.0.0.1:1\"\nmints = [\"sol\"]\n[default]\ndeny = true\n",
        );
        let (rule, _, warnings) = unrouted(&deny, path, &BTreeMap::new()).unwrap();
        assert!(matches!(rule, Unrouted::Deny) && warnings.is_empty());
        let both = config(
            "upstream = \"http://127.0.0.1:1\"\nmints = [\"sol\"]\n[default]\ndeny = true\nprice = { sol = \"1\" }\n",
        );
        assert!(unrouted(&both, path, &BTreeMap::new()).is_err());
    }

    /// A settle-first route priced below a claim's fee loses money on every
    /// request: said.
    #[test]
    fn settle_first_below_the_claim_fee_is_said() {
        let sol = anchor_spl::token::spl_token::native_mint::ID;
        let route = |amount| {
            let mut r = Route::new(
                None,
                PathPattern::parse("/a").unwrap(),
                vec![Price {
                    mint: sol,
                    amount,
                    decimals: 9,
                }],
            )
            .unwrap();
            r.settle_first = true;
            r
        };
        let values = [(sol, UnitValue::LAMPORT)];
        assert_eq!(settle_first_warnings(&[route(4_999)], &values).len(), 1);
        assert!(settle_first_warnings(&[route(5_000)], &values).is_empty());
    }
}
