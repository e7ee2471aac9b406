//! The configuration file of `micropay serve` (TOML, see the module docs
//! of `serve`), and what can be checked of it without a cluster.

use crate::{claim::FormatChoice, Failure};
use anchor_lang::prelude::Pubkey;
use micropay_client::{
    planner::{ppm_from_ratio, UnitValue},
    receiver::ReceiverConfig,
};
use micropay_http::proxy::Proxy;
use serde::Deserialize;
use std::{collections::BTreeMap, path::PathBuf};

/// The configuration file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServeConfig {
    /// The API sold: `http://host:port`, optionally with a base path.
    pub upstream: String,
    /// Address to listen on (port 0: any free port; the banner names it).
    #[serde(default = "default_listen")]
    pub listen: String,
    /// Address of the Prometheus metrics endpoint (`GET /metrics`), apart
    /// from `listen`; none when absent. Keep it private: it says what the
    /// API earns.
    pub metrics: Option<String>,
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
    /// An x402 facilitator (its URL) that settles the payments of `exact`
    /// routes: each is checked and recorded here, then forwarded to its
    /// `POST /verify` and `POST /settle`, and the offers name its fee
    /// payer. Without it the keypair is the fee payer and sends them.
    pub facilitator: Option<String>,
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
    pub(super) fn format(&self) -> Option<FormatChoice> {
        use clap::ValueEnum;
        FormatChoice::from_str(&self.tx_format, true).ok()
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
    /// Also take x402's `exact` scheme for clients without micropay: a
    /// token transfer per request to the payee's associated token account,
    /// this gateway's keypair paying each transaction's fee.
    #[serde(default)]
    pub exact: bool,
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

    /// What the file (at `path`, named in errors) says, checked without a
    /// cluster.
    pub(super) fn check(&self, path: &std::path::Path) -> Result<Checked, Failure> {
        let here = path.display();
        let Some(format) = self.watch.format() else {
            return Err(Failure::user(format!(
                "{here}: [watch] tx_format must be \"auto\", \"legacy\" or \"v1\", not {:?}",
                self.watch.tx_format
            )));
        };
        let max_fee_ppm = ppm_from_ratio(self.watch.target_fee_ratio)
            .filter(|_| self.watch.poll_secs > 0)
            .ok_or_else(|| {
                Failure::user(format!(
                    "{here}: [watch] poll_secs must be at least 1 and target_fee_ratio above 0 and at most 1"
                ))
            })?;
        let proxy =
            Proxy::new(&self.upstream).map_err(|e| Failure::user(format!("{here}: {e}")))?;
        let values = crate::claim::mint_values(&self.mints, &format!("{here}: mints"))?;
        if values.is_empty() {
            return Err(Failure::user(format!(
                "{here}: `mints` is empty: accept at least one, e.g. mints = [\"sol\"]"
            )));
        }
        let address = |what: &str, s: &str| {
            s.parse::<Pubkey>()
                .map_err(|_| Failure::user(format!("{here}: {what} `{s}` is not an address")))
        };
        let payee = self
            .payee
            .as_deref()
            .map(|p| address("payee", p))
            .transpose()?;
        let distribute = self
            .watch
            .distribute
            .iter()
            .map(|s| address("[watch] distribute:", s))
            .collect::<Result<Vec<_>, _>>()?;
        let fee_recipients = self
            .fees
            .recipients
            .iter()
            .map(|r| address("[fees] recipients:", r))
            .collect::<Result<Vec<_>, _>>()?;
        if let Some(mint) = &self.actions.mint {
            if !mint.eq_ignore_ascii_case("sol") && mint.parse::<Pubkey>().is_err() {
                return Err(Failure::user(format!(
                    "{here}: [actions] mint `{mint}` is not a mint address (or \"sol\")"
                )));
            }
        }
        Ok(Checked {
            proxy,
            values,
            format,
            max_fee_ppm,
            payee,
            distribute,
            fee_recipients,
        })
    }
}

/// The file's values, checked and parsed.
pub(super) struct Checked {
    /// The reverse proxy to `upstream`.
    pub(super) proxy: Proxy,
    /// Accepted mints and what a base unit of each is worth.
    pub(super) values: Vec<(Pubkey, UnitValue)>,
    /// `[watch] tx_format`.
    pub(super) format: FormatChoice,
    /// `[watch] target_fee_ratio` in parts per million.
    pub(super) max_fee_ppm: u64,
    pub(super) payee: Option<Pubkey>,
    pub(super) distribute: Vec<Pubkey>,
    pub(super) fee_recipients: Vec<Pubkey>,
}
