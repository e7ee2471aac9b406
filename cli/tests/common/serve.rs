//! `micropay serve` as a child process, the API it sells, and waiting for a
//! creator's on-chain earnings: shared by the gateway tests.

use micropay_client::{accounts, ledger::Ledger};
use solana_sdk::pubkey::Pubkey;
use std::{
    io::{BufRead, BufReader},
    path::Path,
    process::{Child, Stdio},
    time::{Duration, Instant},
};

/// Starts `micropay -u <url> -k <key> serve -c <config>` with JSON logs to
/// `log` and `HOME` at `home`; returns the process and its banner (the
/// first line it prints, once it listens).
pub fn start(
    home: &Path,
    url: &str,
    key: &str,
    config: &Path,
    log: &Path,
) -> (Child, serde_json::Value) {
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("micropay"))
        .env("HOME", home)
        // the in-process local node quiets its runtime with RUST_LOG=error,
        // which a child inherits and `serve` obeys: its own level here
        .env_remove("RUST_LOG")
        .args(["-u", url, "-k", key, "--output", "json"])
        .args([
            "serve",
            "-c",
            config.to_str().unwrap(),
            "--log-format",
            "json",
        ])
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(log).unwrap())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let banner = serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap();
    (child, banner)
}

/// A `serve` child that is killed when dropped, so a failing test leaves
/// no gateway running.
pub struct Running(pub Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The balance of earnings account `earnings` once it equals `expected`, or
/// whatever it is when `timeout` runs out (the caller asserts).
pub async fn earnings_reaching(
    ledger: &dyn Ledger,
    earnings: &Pubkey,
    expected: u64,
    timeout: Duration,
) -> u64 {
    let deadline = Instant::now() + timeout;
    loop {
        let balance = accounts::earnings(ledger, earnings)
            .await
            .unwrap()
            .map_or(0, |e| e.balance);
        if balance == expected || Instant::now() >= deadline {
            return balance;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Serves `GET /api/{item}` answering "the answer" (the API the `exact`
/// and peers' gateway tests sell); its URL, and how many requests it served.
pub async fn counted_api() -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    let (api, served) = counted_api_router();
    (upstream(api).await, served)
}

/// The router of [`counted_api`], to add routes to, and its counter.
pub fn counted_api_router() -> (axum::Router, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let served = std::sync::Arc::new(AtomicUsize::new(0));
    let count = served.clone();
    let api = axum::Router::new().route(
        "/api/{item}",
        axum::routing::get(move || {
            count.fetch_add(1, Ordering::SeqCst);
            async { "the answer" }
        }),
    );
    (api, served)
}

/// Serves `api` on a free local port in the background (the upstream a
/// gateway sells); its URL.
pub async fn upstream(api: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, api).await });
    url
}
