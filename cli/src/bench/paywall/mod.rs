//! `micropay bench-paywall`: a bounded local load test of the paywall. On
//! the embedded bank (no validator), it starts a trivial JSON upstream and a
//! paywalled gateway (receiver store on disk unless `--store memory`):
//! `serve`'s stack in front of the upstream (paywall + reverse proxy, two
//! HTTP hops), or with `--deploy layer` the upstream's own router with the
//! `Paywall` layer on it (one hop, as an axum service that adds the layer
//! runs). It gives every client its own funded channel, and
//! at each concurrency level sends the same number of requests straight to
//! the upstream and through the paywall, each paid with a fresh voucher
//! (signed before the clock starts). Each client first sends one untimed
//! warm-up request each way (its connection opened, its channel read once
//! by the receiver), so the numbers are the steady state a busy gateway
//! runs in. It prints requests per second and the p50/p99 latency of both,
//! and what the paywall adds.
//!
//! With `--exact-requests` above 0 (the default) it then measures x402's
//! `exact` on the same gateway — a transfer per request, settled on a local
//! node before serving (`exact`) — beside it, in the same run.
//!
//! Everything runs on this machine over loopback, so the numbers are this
//! machine's; a debug build is far slower than `--release` (the result says
//! which one ran).

mod exact;

use super::{
    build_name,
    cases::{open_channels, BenchChannel, PRICE, SOL},
};
use crate::{context::emit, Cli, Failure};
use axum::{routing::get, Router};
use clap::{Args, ValueEnum};
use micropay_client::{
    ledger::{embedded::EmbeddedLedger, Ledger},
    receiver::{AcceptedMint, Receiver, ReceiverConfig},
    store::{ReceiverStore, SqliteStore},
};
use micropay_http::{
    paywall::{Paywall, PaywallConfig},
    proxy::Proxy,
    route::{PathPattern, Price, Route},
};
use micropay_sdk::{voucher::Voucher, x402};
use solana_sdk::signature::{Keypair, Signer};
use std::{sync::Arc, time::Instant};

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum StoreKind {
    /// SQLite on disk, synchronous: what `serve` runs.
    Disk,
    /// SQLite in memory: not durable; shows the ceiling without fsync.
    Memory,
}

/// Where the paywall sits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Deploy {
    /// `micropay serve`: paywall + reverse proxy in front of the upstream
    /// (two HTTP hops per paid request).
    Proxy,
    /// The `Paywall` tower layer on the upstream's own router, in process
    /// (one hop): what an axum service that adds the layer runs.
    Layer,
}

#[derive(Args, Debug)]
pub struct BenchPaywallArgs {
    /// Concurrent clients, one level per value.
    #[arg(long, value_delimiter = ',', default_value = "1,16,64")]
    pub concurrency: Vec<usize>,
    /// Timed requests per level (each level sends this many direct and this
    /// many paid, after one untimed warm-up request per client each way).
    #[arg(long, default_value_t = 20_000)]
    pub requests: usize,
    /// The receiver store.
    #[arg(long, value_enum, default_value_t = StoreKind::Disk)]
    pub store: StoreKind,
    /// Where the paywall sits: in front of the upstream as `serve`'s
    /// reverse proxy, or as a layer on the upstream's router.
    #[arg(long, value_enum, default_value_t = Deploy::Proxy)]
    pub deploy: Deploy,
    /// Timed requests per level paid with x402's `exact` (a token transfer
    /// each, settled on a local node with 400 ms slots before it is
    /// served); 0 skips the comparison.
    #[arg(long, default_value_t = 64)]
    pub exact_requests: usize,
}

/// One concurrency level.
#[derive(Debug, serde::Serialize)]
pub struct Level {
    pub concurrency: usize,
    /// Timed requests, each way (direct and paid).
    pub requests: usize,
    /// Untimed warm-up requests before them, each way: one per client.
    pub warmup: usize,
    pub direct_rps: f64,
    pub paid_rps: f64,
    pub direct_p50_us: u64,
    pub direct_p99_us: u64,
    pub paid_p50_us: u64,
    pub paid_p99_us: u64,
    /// What the paywall adds at the median and the 99th percentile, µs.
    pub added_p50_us: u64,
    pub added_p99_us: u64,
}

/// What `bench-paywall` measured.
#[derive(Debug, serde::Serialize)]
pub struct BenchPaywall {
    /// "release" or "debug".
    pub build: &'static str,
    pub store: String,
    /// Where the paywall sat.
    pub deploy: Deploy,
    pub levels: Vec<Level>,
    /// Vouchers the receiver accepted (one per paid request, warm-ups
    /// included).
    pub accepted: u64,
    /// The same gateway paid with x402's `exact`, when measured.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exact: Option<exact::ExactBench>,
}

impl std::fmt::Display for BenchPaywall {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "paywall load test ({} build, receiver store {}, {}), loopback, embedded bank",
            self.build,
            self.store,
            match self.deploy {
                Deploy::Proxy => "paywall + reverse proxy as `serve` runs it",
                Deploy::Layer => "paywall as a layer on the upstream's router",
            }
        )?;
        writeln!(
            f,
            "{:>7} {:>8} {:>11} {:>11} {:>10} {:>10} {:>10} {:>10} {:>10} {:>10}",
            "clients",
            "requests",
            "direct r/s",
            "paid r/s",
            "direct p50",
            "direct p99",
            "paid p50",
            "paid p99",
            "added p50",
            "added p99"
        )?;
        for l in &self.levels {
            writeln!(
                f,
                "{:>7} {:>8} {:>11.0} {:>11.0} {:>8}µs {:>8}µs {:>8}µs {:>8}µs {:>8}µs {:>8}µs",
                l.concurrency,
                l.requests,
                l.direct_rps,
                l.paid_rps,
                l.direct_p50_us,
                l.direct_p99_us,
                l.paid_p50_us,
                l.paid_p99_us,
                l.added_p50_us,
                l.added_p99_us
            )?;
        }
        write!(f, "{} vouchers accepted", self.accepted)?;
        if let Some(e) = &self.exact {
            writeln!(f)?;
            writeln!(
                f,
                "the same gateway paid with x402 `exact`: a transfer per request, settled on a local node ({} ms slots) before serving",
                e.slot_ms
            )?;
            writeln!(
                f,
                "{:>7} {:>8} {:>11} {:>10} {:>10} {:>10} {:>10}",
                "clients", "requests", "paid r/s", "paid p50", "paid p99", "added p50", "added p99"
            )?;
            for l in &e.levels {
                writeln!(
                    f,
                    "{:>7} {:>8} {:>11.1} {:>8}µs {:>8}µs {:>8}µs {:>8}µs",
                    l.concurrency,
                    l.requests,
                    l.paid_rps,
                    l.paid_p50_us,
                    l.paid_p99_us,
                    l.added_p50_us,
                    l.added_p99_us
                )?;
            }
            write!(
                f,
                "{} base units transferred, one price per request served",
                e.transferred
            )?;
        }
        Ok(())
    }
}

fn percentile(sorted: &[u64], p: usize) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let index = sorted.len().saturating_sub(1).saturating_mul(p) / 100;
    sorted.get(index).copied().unwrap_or(0)
}

/// Sends one request with `header` and reads the whole answer; an error
/// unless it was a success.
async fn send(http: &reqwest::Client, url: &str, header: Option<String>) -> Result<(), String> {
    let mut request = http.get(url);
    if let Some(h) = header {
        request = request.header(x402::PAYMENT_SIGNATURE, h);
    }
    let response = request.send().await.map_err(|e| e.to_string())?;
    let status = response.status();
    response.bytes().await.map_err(|e| e.to_string())?;
    if !status.is_success() {
        return Err(format!("HTTP {status}"));
    }
    Ok(())
}

/// Runs one task per entry of `headers`, each sending its requests in turn
/// (a header of `None`: no payment). Each task's first request is its
/// warm-up, sent before the clock starts: it opens the task's connection
/// and, when paid, has the receiver read its channel once (on chain and in
/// the store) — costs a client pays once, not per request, which would
/// otherwise sit in a short run's tail. The clock runs from the first
/// timed request sent to the last answered. Returns (timed requests per
/// second, their latencies in µs, sorted).
async fn load(url: &str, headers: Vec<Vec<Option<String>>>) -> Result<(f64, Vec<u64>), Failure> {
    let http = reqwest::Client::new();
    let warmed = Arc::new(tokio::sync::Barrier::new(headers.len()));
    let mut tasks = Vec::with_capacity(headers.len());
    for own in headers {
        let (http, url, warmed) = (http.clone(), url.to_string(), warmed.clone());
        tasks.push(tokio::spawn(async move {
            let mut own = own.into_iter();
            let warm = match own.next() {
                Some(header) => send(&http, &url, header).await,
                None => Ok(()),
            };
            // every task reaches the barrier, even one whose warm-up failed
            warmed.wait().await;
            warm?;
            let began = Instant::now();
            let mut latencies = Vec::with_capacity(own.len());
            for header in own {
                let t = Instant::now();
                send(&http, &url, header).await?;
                latencies.push(u64::try_from(t.elapsed().as_micros()).unwrap_or(u64::MAX));
            }
            Ok::<_, String>((began, Instant::now(), latencies))
        }));
    }
    let (mut first, mut last, mut all) = (None::<Instant>, None::<Instant>, Vec::new());
    for task in tasks {
        let (began, ended, latencies) = task
            .await
            .map_err(|e| Failure::user(format!("a client task failed: {e}")))?
            .map_err(|e| Failure::user(format!("a request failed: {e}")))?;
        first = Some(first.map_or(began, |f| f.min(began)));
        last = Some(last.map_or(ended, |l| l.max(ended)));
        all.extend(latencies);
    }
    let secs = match (first, last) {
        (Some(first), Some(last)) => last.duration_since(first).as_secs_f64(),
        _ => 0.0,
    };
    all.sort_unstable();
    // counts of requests are far below 2^52: exact as f64
    Ok((all.len() as f64 / secs.max(1e-9), all))
}

async fn serve_on_loopback(app: Router) -> Result<String, Failure> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| Failure::user(format!("cannot listen on loopback: {e}")))?;
    let url = format!(
        "http://{}",
        listener
            .local_addr()
            .map_err(|e| Failure::user(e.to_string()))?
    );
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(url)
}

pub async fn run(cli: &Cli, args: &BenchPaywallArgs) -> Result<(), Failure> {
    validate(args)?;
    let most = args.concurrency.iter().copied().max().unwrap_or(1);
    let ledger = Arc::new(EmbeddedLedger::start().await);
    // each client gets a channel large enough for every paid request it sends
    let per_client = args
        .concurrency
        .iter()
        .map(|c| args.requests.div_ceil(*c).saturating_add(1))
        .sum::<usize>();
    let allocation = PRICE.saturating_mul(u64::try_from(per_client).unwrap_or(u64::MAX));
    let creator = Keypair::new();
    let clients = open_channels(&ledger, &creator.pubkey(), most, allocation).await?;
    let dir = tempfile::tempdir().map_err(|e| Failure::user(format!("temp dir: {e}")))?;
    let store: Arc<dyn ReceiverStore> = match args.store {
        StoreKind::Disk => Arc::new(SqliteStore::open(dir.path().join("receiver.db"))?),
        StoreKind::Memory => Arc::new(SqliteStore::in_memory()?),
    };
    let paywall = paywall(&ledger, store.clone(), &creator.pubkey()).await?;
    let (upstream, gateway) = start(args.deploy, paywall).await?;
    let offer = offer(&gateway).await?;
    let mut cumulative = vec![0u64; clients.len()];
    let mut levels = Vec::with_capacity(args.concurrency.len());
    for &c in &args.concurrency {
        let paid = Paid {
            clients: &clients[..c.min(clients.len())],
            offer: &offer,
        };
        let per = args.requests.div_ceil(c);
        levels.push(level(&upstream, &gateway, &paid, per, &mut cumulative).await?);
    }
    let accepted = counted_once(store.as_ref(), &levels)?;
    let exact = if args.exact_requests > 0 {
        let direct: Vec<(u64, u64)> = levels
            .iter()
            .map(|l| (l.direct_p50_us, l.direct_p99_us))
            .collect();
        Some(exact::run(&args.concurrency, args.exact_requests, &direct, args.deploy).await?)
    } else {
        None
    };
    emit(
        cli.output,
        &BenchPaywall {
            build: build_name(),
            store: match args.store {
                StoreKind::Disk => "on disk (synchronous)".into(),
                StoreKind::Memory => "in memory (not durable)".into(),
            },
            deploy: args.deploy,
            levels,
            accepted,
            exact,
        },
    );
    Ok(())
}

fn validate(args: &BenchPaywallArgs) -> Result<(), Failure> {
    if args.concurrency.iter().any(|c| *c == 0 || *c > 1_024) || args.concurrency.is_empty() {
        return Err(Failure::user("--concurrency takes values from 1 to 1024"));
    }
    if args.requests == 0 || args.requests > 1_000_000 {
        return Err(Failure::user("--requests takes 1 to 1000000"));
    }
    if args.exact_requests > 10_000 {
        return Err(Failure::user(
            "--exact-requests takes 0 (skip) to 10000: each waits for the cluster",
        ));
    }
    Ok(())
}

/// The paywall: every path priced at [`PRICE`] lamports of wrapped SOL,
/// paid to `creator`, its vouchers kept in `store`.
async fn paywall(
    ledger: &Arc<EmbeddedLedger>,
    store: Arc<dyn ReceiverStore>,
    creator: &solana_sdk::pubkey::Pubkey,
) -> Result<Paywall, Failure> {
    let receiver = Arc::new(Receiver::new(
        ledger.clone(),
        store,
        *creator,
        ReceiverConfig::accepting([AcceptedMint::wrapped_sol()]),
    ));
    let l: &dyn Ledger = ledger.as_ref();
    let network = x402::network(&l.genesis_hash().await?);
    let route = Route::new(
        None,
        PathPattern::parse("/**").map_err(|e| Failure::user(e.to_string()))?,
        vec![Price {
            mint: SOL,
            amount: PRICE,
            decimals: 9,
        }],
    )
    .map_err(|e| Failure::user(e.to_string()))?;
    Ok(Paywall::new(
        receiver,
        PaywallConfig {
            credit_not_found: false,
            unrouted: Default::default(),
            routes: vec![route],
            network,
            max_timeout_seconds: 60,
            fund_action: None,
        },
    ))
}

/// Starts the upstream and the gateway `deploy` names; their URLs.
async fn start(deploy: Deploy, paywall: Paywall) -> Result<(String, String), Failure> {
    let app = Router::new().route(
        "/data",
        get(|| async { axum::Json(serde_json::json!({ "temperature": 21 })) }),
    );
    let upstream = serve_on_loopback(app.clone()).await?;
    let gateway = match deploy {
        Deploy::Proxy => {
            let proxy = Proxy::new(&upstream).map_err(|e| Failure::user(e.to_string()))?;
            serve_on_loopback(proxy.router().layer(paywall)).await?
        }
        Deploy::Layer => serve_on_loopback(app.layer(paywall)).await?,
    };
    Ok((upstream, gateway))
}

/// The offer the gateway makes: a request the paywall accepts carries it.
async fn offer(gateway: &str) -> Result<x402::PaymentRequirements, Failure> {
    payment_required(gateway)
        .await?
        .for_mint(&SOL)
        .cloned()
        .ok_or_else(|| Failure::user("the paywall offered no SOL price"))
}

/// The 402 the gateway answers an unpaid request with.
async fn payment_required(gateway: &str) -> Result<x402::PaymentRequired, Failure> {
    let asked = reqwest::get(format!("{gateway}/data"))
        .await
        .map_err(|e| Failure::user(e.to_string()))?;
    asked
        .headers()
        .get(x402::PAYMENT_REQUIRED)
        .and_then(|v| x402::decode_header(x402::PAYMENT_REQUIRED, v.as_bytes()).ok())
        .ok_or_else(|| Failure::user("the paywall sent no PAYMENT-REQUIRED"))
}

/// The paying clients of a level and the offer they answer.
struct Paid<'a> {
    clients: &'a [BenchChannel],
    offer: &'a x402::PaymentRequirements,
}

/// The payment headers of `per` timed requests and one warm-up per client,
/// each a fresh voucher above the client's `cumulative` amount (signed
/// before the clock starts).
fn paid_headers(paid: &Paid<'_>, per: usize, cumulative: &mut [u64]) -> Vec<Vec<Option<String>>> {
    let mut headers = Vec::with_capacity(paid.clients.len());
    for (client, total) in paid.clients.iter().zip(cumulative.iter_mut()) {
        let mut own = Vec::with_capacity(per.saturating_add(1));
        for _ in 0..=per {
            *total = total.saturating_add(PRICE);
            let voucher = Voucher::sign(&client.session, client.channel, *total);
            own.push(Some(x402::encode_header(&x402::PaymentPayload {
                x402_version: x402::X402_VERSION,
                resource: None,
                accepted: paid.offer.clone(),
                payload: x402::WireVoucher::from(&voucher),
                extensions: Default::default(),
            })));
        }
        headers.push(own);
    }
    headers
}

/// One concurrency level: the same load straight to the upstream and paid
/// through the gateway.
async fn level(
    upstream: &str,
    gateway: &str,
    paid: &Paid<'_>,
    per: usize,
    cumulative: &mut [u64],
) -> Result<Level, Failure> {
    let c = paid.clients.len();
    // one warm-up request per client, then `per` timed
    let direct_headers: Vec<Vec<Option<String>>> =
        (0..c).map(|_| vec![None; per.saturating_add(1)]).collect();
    let (direct_rps, direct) = load(&format!("{upstream}/data"), direct_headers).await?;
    let headers = paid_headers(paid, per, cumulative);
    let (paid_rps, paid) = load(&format!("{gateway}/data"), headers).await?;
    let (d50, d99, p50, p99) = (
        percentile(&direct, 50),
        percentile(&direct, 99),
        percentile(&paid, 50),
        percentile(&paid, 99),
    );
    Ok(Level {
        concurrency: c,
        requests: per.saturating_mul(c),
        warmup: c,
        direct_rps,
        paid_rps,
        direct_p50_us: d50,
        direct_p99_us: d99,
        paid_p50_us: p50,
        paid_p99_us: p99,
        added_p50_us: p50.saturating_sub(d50),
        added_p99_us: p99.saturating_sub(d99),
    })
}

/// The paid requests the receiver holds, which must be every one served
/// (warm-ups included), each once.
fn counted_once(store: &dyn ReceiverStore, levels: &[Level]) -> Result<u64, Failure> {
    let accepted: u64 = store
        .list(&micropay_client::store::ClaimStatus::ALL)?
        .iter()
        .map(|r| r.voucher.amount / PRICE)
        .sum();
    let expected: u64 = levels
        .iter()
        .map(|l| u64::try_from(l.requests.saturating_add(l.warmup)).unwrap_or(u64::MAX))
        .sum();
    if accepted != expected {
        return Err(Failure::user(format!(
            "the receiver holds {accepted} paid requests, {expected} were served: a voucher was lost or counted twice"
        )));
    }
    Ok(accepted)
}
