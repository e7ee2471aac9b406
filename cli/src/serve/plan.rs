//! `serve`'s plan: from the checked file and what was learned from the
//! cluster ([`Facts`]), everything `serve` will run — the receiver's rules,
//! the paywall's routes and prices, the funding Action, the watcher's pace
//! and the banner — decided without any I/O, so it is unit-tested.

use super::{
    config::{Checked, ServeConfig},
    ready,
};
use crate::{claim::FormatChoice, context::parse_amount, context::MintInfo, Failure};
use anchor_lang::prelude::Pubkey;
use micropay_client::{
    planner::{FeeModel, PlannerConfig, UnitValue},
    receiver::{AcceptedMint, FeePolicy, ReceiverConfig},
};
use micropay_http::{
    actions::FundAction,
    paywall::PaywallConfig,
    route::{PathPattern, Price, Route, Unrouted},
};
use std::{collections::BTreeMap, time::Duration};

/// What `serve` learned before planning: from the cluster, the store and
/// the listening socket.
pub(super) struct Facts {
    /// Every accepted mint.
    pub(super) mints: BTreeMap<Pubkey, MintInfo>,
    /// The keypair's address: it pays claim fees.
    pub(super) me: Pubkey,
    /// The cluster's CAIP-2 id.
    pub(super) network: String,
    /// The cluster's URL, without credentials.
    pub(super) cluster: String,
    /// The receiver store's name.
    pub(super) store: String,
    /// The address clients connect to (the bound one; `listen` with
    /// `--check`).
    pub(super) listening: String,
    /// The metrics endpoint's address, when asked for (the bound one;
    /// `metrics` with `--check`).
    pub(super) metrics: Option<String>,
    /// The funding Action's mint, when the Action is served.
    pub(super) actions_mint: Option<MintInfo>,
    /// Accepted mints whose payee earnings account does not exist.
    pub(super) missing_earnings: Vec<Pubkey>,
    /// What the keypair (the fee payer) holds, in lamports.
    pub(super) fee_payer_lamports: u64,
}

/// The watcher's part of the plan (its transaction format is resolved
/// against the cluster when it starts).
pub(super) struct WatchPlan {
    pub(super) format: FormatChoice,
    pub(super) planner: PlannerConfig,
    pub(super) poll: Duration,
    pub(super) plan: Duration,
    pub(super) distribute: Vec<Pubkey>,
}

/// Everything `serve` runs.
pub(super) struct Plan {
    /// The payee channels must name.
    pub(super) creator: Pubkey,
    pub(super) receiver: ReceiverConfig,
    pub(super) paywall: PaywallConfig,
    pub(super) fund: Option<FundAction>,
    pub(super) watch: Option<WatchPlan>,
    /// Mints whose payee earnings account `serve` creates before serving.
    pub(super) create_earnings: Vec<Pubkey>,
    /// `(mint, token program)` of every mint an `exact` route is priced
    /// in: the payee's associated token account receives those transfers
    /// (created at start if missing), and the paywall settles them.
    pub(super) exact_accounts: Vec<(Pubkey, Pubkey)>,
    /// The facilitator `exact` payments are forwarded to, if not settled here.
    pub(super) facilitator: Option<String>,
    /// How often the cluster's genesis hash is looked at (the watcher's
    /// poll interval, whether or not it runs).
    pub(super) cluster_check: Duration,
    /// The banner (and `--check`'s answer).
    pub(super) serving: Serving,
}

/// The plan of `file` (at `path`, named in errors).
pub(super) fn plan(
    file: &ServeConfig,
    path: &std::path::Path,
    checked: &Checked,
    facts: &Facts,
) -> Result<Plan, Failure> {
    let creator = checked.payee.unwrap_or(facts.me);
    if let Some(url) = &file.facilitator {
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(Failure::user(format!(
                "{}: `facilitator` must be an http:// or https:// URL, not `{url}`",
                path.display()
            )));
        }
    }
    let (routes, views) = routes(file, path, &facts.mints)?;
    let (unrouted, unrouted_prices, mut warnings) = unrouted(file, path, &facts.mints)?;
    warnings.extend(settle_first_warnings(&routes, &checked.values));
    let pays_claims = file.watch.enabled || routes.iter().any(|r| r.settle_first);
    let funds = ready::Funds {
        missing_earnings: &facts.missing_earnings,
        fee_payer: facts.me,
        fee_payer_lamports: facts.fee_payer_lamports,
        cluster: &facts.cluster,
        mints: &facts.mints,
    };
    let ready = ready::ready(&funds, &creator, pays_claims)?;
    let fund = fund_action(file, path, creator, facts)?;
    let public_url = file
        .actions
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{}", facts.listening));
    let fund_action = fund
        .as_ref()
        .map(|_| format!("{}/actions/fund", public_url.trim_end_matches('/')));
    let serving = Serving {
        url: format!("http://{}", facts.listening),
        metrics: facts
            .metrics
            .as_ref()
            .map(|a| format!("http://{a}/metrics")),
        upstream: checked.proxy.upstream().to_string(),
        creator: creator.to_string(),
        fee_payer: facts.me.to_string(),
        cluster: facts.cluster.clone(),
        network: facts.network.clone(),
        store: facts.store.clone(),
        watcher: file.watch.enabled,
        distribute: checked.distribute.iter().map(|s| s.to_string()).collect(),
        fund_action: fund_action.clone(),
        facilitator: file.facilitator.clone(),
        routes: views,
        unrouted: match unrouted {
            Unrouted::Free => "free",
            Unrouted::Deny => "deny",
            Unrouted::Priced(_) => "priced",
        }
        .into(),
        unrouted_prices,
        earnings_to_create: ready::symbols(&facts.mints, &ready.create_earnings),
        warnings,
    };
    let exact_accounts = exact_accounts(&routes, &facts.mints);
    Ok(Plan {
        creator,
        receiver: receiver_config(file, checked),
        paywall: PaywallConfig {
            routes,
            unrouted,
            network: facts.network.clone(),
            max_timeout_seconds: file.max_timeout_seconds,
            fund_action,
            credit_not_found: file.credit_not_found,
        },
        fund,
        watch: file.watch.enabled.then(|| watch_plan(file, checked)),
        create_earnings: ready.create_earnings,
        facilitator: file.facilitator.clone(),
        exact_accounts,
        cluster_check: Duration::from_secs(file.watch.poll_secs.max(1)),
        serving,
    })
}

/// The receiver's rules: the accepted mints and their values, the fee
/// shares allowed, the shortest dispute window.
fn receiver_config(file: &ServeConfig, checked: &Checked) -> ReceiverConfig {
    let mut fees = FeePolicy::default();
    for recipient in &checked.fee_recipients {
        fees = fees.allow(*recipient, file.fees.max_bps);
    }
    ReceiverConfig {
        fees,
        min_dispute_window_secs: file.min_dispute_window_secs,
        ..ReceiverConfig::accepting(checked.values.iter().map(|(mint, v)| AcceptedMint {
            mint: *mint,
            lamports: v.lamports,
            per_units: v.per_units,
        }))
    }
}

fn watch_plan(file: &ServeConfig, checked: &Checked) -> WatchPlan {
    WatchPlan {
        format: checked.format,
        planner: PlannerConfig {
            max_fee_ppm: checked.max_fee_ppm,
            values: checked.values.iter().copied().collect(),
            ..PlannerConfig::default()
        },
        poll: Duration::from_secs(file.watch.poll_secs),
        plan: Duration::from_secs(file.watch.plan_secs),
        distribute: checked.distribute.clone(),
    }
}

/// The funding Action, when served: its mint must be accepted.
fn fund_action(
    file: &ServeConfig,
    path: &std::path::Path,
    creator: Pubkey,
    facts: &Facts,
) -> Result<Option<FundAction>, Failure> {
    let Some(mint) = facts.actions_mint.as_ref().filter(|_| file.actions.enabled) else {
        return Ok(None);
    };
    if !facts.mints.contains_key(&mint.address) {
        return Err(Failure::user(format!(
            "{}: [actions] mint {} is not in `mints`",
            path.display(),
            mint.address
        )));
    }
    Ok(Some(FundAction {
        creator,
        mint: mint.address,
        token_program: mint.token_program,
        decimals: mint.decimals,
        symbol: mint.symbol.clone(),
        network: facts.network.clone(),
        title: file.actions.title.clone(),
        description: file.actions.description.clone(),
        icon: file.actions.icon.clone(),
    }))
}

/// What `serve` serves, printed once it listens.
#[derive(Debug, serde::Serialize)]
pub struct Serving {
    pub url: String,
    /// The Prometheus endpoint, when `metrics` names an address.
    pub metrics: Option<String>,
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
    /// The facilitator `exact` payments are forwarded to, when set.
    pub facilitator: Option<String>,
    pub routes: Vec<RouteView>,
    /// Paths no route names: `free`, `deny` or `priced`.
    pub unrouted: String,
    /// The price of unrouted paths, when `priced`.
    pub unrouted_prices: Option<RouteView>,
    /// Mints (symbols) whose payee earnings account `serve` creates at
    /// start, its keypair paying the rent.
    pub earnings_to_create: Vec<String>,
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
    /// x402's `exact` is offered too.
    pub exact: bool,
}

impl std::fmt::Display for Serving {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "micropay serve")?;
        writeln!(f, "  listening  {}", self.url)?;
        if let Some(metrics) = &self.metrics {
            writeln!(f, "  metrics    {metrics} (Prometheus)")?;
        }
        writeln!(f, "  upstream   {}", self.upstream)?;
        if let Some(facilitator) = &self.facilitator {
            writeln!(f, "  exact via  {facilitator} (a remote facilitator)")?;
        }
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
        if !self.earnings_to_create.is_empty() {
            writeln!(
                f,
                "  earnings   the payee's account of {} created at start (the fee payer pays its rent)",
                self.earnings_to_create.join(", ")
            )?;
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
                match (r.settle_first, r.exact) {
                    (true, true) => "  (settled before serving; also x402 exact)",
                    (true, false) => "  (settled before serving)",
                    (false, true) => "  (also x402 exact: a transfer per request)",
                    (false, false) => "",
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
            exact: r.exact,
        };
        let prices = prices(&r.price, mints, &where_, &mut view)?;
        let mut route = Route::new(method, path, prices)
            .map_err(|e| Failure::user(format!("{where_}: {e}")))?;
        route.description = r.description.clone();
        route.settle_first = r.settle_first;
        route.exact = r.exact;
        routes.push(route);
        views.push(view);
    }
    Ok((routes, views))
}

/// `(mint, token program)` of each mint an `exact` route is priced in.
fn exact_accounts(routes: &[Route], mints: &BTreeMap<Pubkey, MintInfo>) -> Vec<(Pubkey, Pubkey)> {
    let exact: std::collections::BTreeSet<Pubkey> = routes
        .iter()
        .filter(|r| r.exact)
        .flat_map(|r| r.prices.iter().map(|p| p.mint))
        .collect();
    exact
        .iter()
        .filter_map(|m| mints.get(m).map(|i| (i.address, i.token_program)))
        .collect()
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
                exact: false,
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

#[cfg(test)]
mod tests {
    use super::*;

    fn config(text: &str) -> ServeConfig {
        toml::from_str(text).unwrap()
    }

    fn sol() -> MintInfo {
        MintInfo {
            address: anchor_spl::token::spl_token::native_mint::ID,
            token_program: anchor_spl::token::spl_token::ID,
            decimals: 9,
            symbol: "SOL".into(),
        }
    }

    fn facts(actions: bool) -> Facts {
        let sol = sol();
        Facts {
            mints: BTreeMap::from([(sol.address, sol.clone())]),
            me: Pubkey::new_unique(),
            network: "solana:test".into(),
            cluster: "http://127.0.0.1:8899".into(),
            store: "receiver.db".into(),
            listening: "127.0.0.1:8402".into(),
            metrics: None,
            actions_mint: actions.then_some(sol),
            missing_earnings: Vec::new(),
            fee_payer_lamports: 1_000_000_000,
        }
    }

    /// The plan of a whole file: what the receiver accepts, what each path
    /// costs, where the Action is, who is paid and who pays fees.
    #[test]
    fn a_file_plans_every_part() {
        let path = std::path::Path::new("api.toml");
        let payee = Pubkey::new_unique();
        let recipient = Pubkey::new_unique();
        let file = config(&format!(
            "upstream = \"http://127.0.0.1:8080\"\nmints = [\"sol\"]\npayee = \"{payee}\"\n\
             min_dispute_window_secs = 3600\n[fees]\nrecipients = [\"{recipient}\"]\nmax_bps = 250\n\
             [watch]\ntarget_fee_ratio = 0.02\nplan_secs = 60\n[actions]\npublic_url = \"https://api.example/\"\n\
             [[route]]\nmethod = \"get\"\npath = \"/weather/**\"\nprice = {{ sol = \"0.00001\" }}\n\
             [default]\ndeny = true\n"
        ));
        let checked = file.check(path).unwrap();
        let facts = facts(true);
        let plan = plan(&file, path, &checked, &facts).unwrap();
        assert_eq!(plan.creator, payee);
        assert_eq!(plan.serving.fee_payer, facts.me.to_string());
        assert_eq!(plan.receiver.min_dispute_window_secs, 3_600);
        assert_eq!(plan.receiver.mints.len(), 1);
        assert_eq!(plan.paywall.routes.len(), 1);
        assert_eq!(plan.paywall.routes[0].prices[0].amount, 10_000);
        assert!(matches!(plan.paywall.unrouted, Unrouted::Deny));
        assert_eq!(plan.serving.unrouted, "deny");
        assert!(
            plan.serving.warnings.is_empty(),
            "{:?}",
            plan.serving.warnings
        );
        assert_eq!(
            plan.paywall.fund_action.as_deref(),
            Some("https://api.example/actions/fund")
        );
        assert_eq!(plan.fund.as_ref().map(|f| f.creator), Some(payee));
        let watch = plan.watch.as_ref().unwrap();
        assert_eq!(watch.planner.max_fee_ppm, 20_000);
        assert_eq!(watch.plan, Duration::from_secs(60));
        // the fee share named is allowed up to its bps, another is not
        assert!(plan.receiver.fees.recipients.contains(&recipient));
        assert_eq!(plan.receiver.fees.recipients.len(), 1);
        assert_eq!(plan.receiver.fees.max_bps, 250);
    }

    /// Without a payee the keypair is paid; without the Action or the
    /// watcher, neither is planned; free paths are said.
    #[test]
    fn defaults_plan_the_keypair_as_creator() {
        let path = std::path::Path::new("api.toml");
        let file = config(
            "upstream = \"http://127.0.0.1:8080\"\nmints = [\"sol\"]\n[watch]\nenabled = false\n[actions]\nenabled = false\n",
        );
        let checked = file.check(path).unwrap();
        let facts = facts(false);
        let plan = plan(&file, path, &checked, &facts).unwrap();
        assert_eq!(plan.creator, facts.me);
        assert!(plan.fund.is_none() && plan.paywall.fund_action.is_none());
        assert!(plan.watch.is_none());
        assert!(plan.serving.warnings[0].contains("FREE"));
    }

    /// The Action's mint must be accepted; a bad file value is refused
    /// before the cluster is asked anything.
    #[test]
    fn bad_values_are_refused_with_the_file_named() {
        let path = std::path::Path::new("api.toml");
        let file = config("upstream = \"http://127.0.0.1:8080\"\nmints = [\"sol\"]\n");
        let checked = file.check(path).unwrap();
        let mut facts = facts(true);
        let mut other = sol();
        other.address = Pubkey::new_unique();
        facts.actions_mint = Some(other);
        let err = plan(&file, path, &checked, &facts).err().unwrap();
        assert!(err.message.contains("[actions] mint"), "{}", err.message);
        for bad in [
            "upstream = \"http://127.0.0.1:8080\"\nmints = []\n",
            "upstream = \"http://127.0.0.1:8080\"\nmints = [\"sol\"]\npayee = \"nope\"\n",
            "upstream = \"http://127.0.0.1:8080\"\nmints = [\"sol\"]\n[watch]\ntx_format = \"v9\"\n",
            "upstream = \"http://127.0.0.1:8080\"\nmints = [\"sol\"]\n[watch]\npoll_secs = 0\n",
            "upstream = \"http://127.0.0.1:8080\"\nmints = [\"sol\"]\n[fees]\nrecipients = [\"x\"]\n",
        ] {
            let err = config(bad).check(path).err().unwrap();
            assert!(err.message.starts_with("api.toml"), "{}", err.message);
        }
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
