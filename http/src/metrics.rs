//! What an operator alerts on, in Prometheus' text format: the paywall's
//! paid and refused requests (by the wire's refusal code), the value it
//! accepted by mint, the payments it could not decide because the store or
//! the cluster failed, and — when it follows a watcher — the claims sent,
//! their fees, and what still waits to be claimed with its earliest
//! deadline. Aperture and every serious gateway export the same kind of
//! numbers.
//!
//! Counters only grow while the process lives (Prometheus handles the
//! reset at a restart). The watcher's numbers are those of its last pass
//! (`micropay_watcher_last_pass_timestamp_seconds` says when: alert when it
//! grows old). Labels come from closed sets (refusal codes, accepted mints),
//! so a client cannot make the series grow.
//!
//! `micropay serve` exposes it on its own address (`metrics` in its file),
//! never on the paid listener.

use anchor_lang::prelude::Pubkey;
use micropay_client::watcher::WatchReport;
use std::{
    collections::BTreeMap,
    fmt::Write,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc, Mutex, OnceLock,
    },
};
use tokio::sync::watch;

/// The gateway's counters; shared by the paywall and the exporter.
#[derive(Debug, Default)]
pub struct Metrics {
    paid: AtomicU64,
    refused: Mutex<BTreeMap<String, u64>>,
    accepted: Mutex<BTreeMap<Pubkey, u64>>,
    store_errors: AtomicU64,
    cluster_errors: AtomicU64,
    watcher: OnceLock<watch::Receiver<WatchReport>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn bump(counter: &AtomicU64) {
    // a counter at u64::MAX stays there
    let _ = counter.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_add(1));
}

/// One metric family: its help, type and samples (`labels`, value).
struct Family<'a> {
    name: &'a str,
    help: &'a str,
    kind: &'a str,
}

impl Family<'_> {
    fn write(&self, out: &mut String, samples: &[(String, u64)]) {
        let _ = writeln!(out, "# HELP {} {}", self.name, self.help);
        let _ = writeln!(out, "# TYPE {} {}", self.name, self.kind);
        for (labels, value) in samples {
            let _ = writeln!(out, "{}{labels} {value}", self.name);
        }
    }

    fn one(&self, out: &mut String, value: u64) {
        self.write(out, &[(String::new(), value)]);
    }
}

/// `{name="value"}`, the value escaped as the text format asks.
fn label(name: &str, value: &str) -> String {
    let escaped = value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n");
    format!("{{{name}=\"{escaped}\"}}")
}

impl Metrics {
    /// Empty counters.
    pub fn new() -> Arc<Self> {
        Arc::default()
    }

    /// Exports the watcher's numbers from the report it publishes
    /// ([`micropay_client::watcher::Watcher::reporting`]). Once: a second
    /// call is ignored.
    pub fn follow_watcher(&self, report: watch::Receiver<WatchReport>) {
        let _ = self.watcher.set(report);
    }

    /// A paid request (served, or kept as a credit).
    pub fn paid(&self) {
        bump(&self.paid);
    }

    /// A voucher accepted, adding `net` base units of `mint` for the
    /// creator (counted once: a retry served on its credit adds nothing).
    pub fn accepted(&self, mint: &Pubkey, net: u64) {
        let mut accepted = lock(&self.accepted);
        let total = accepted.entry(*mint).or_default();
        *total = total.saturating_add(net);
    }

    /// A refused request and its reason (the wire's code, `throttled`, or a
    /// `503`'s code).
    pub fn refused(&self, reason: &str) {
        let mut refused = lock(&self.refused);
        match refused.get_mut(reason) {
            Some(n) => *n = n.saturating_add(1),
            None => {
                refused.insert(reason.to_owned(), 1);
            }
        }
    }

    /// A payment that could not be decided because the store failed.
    pub fn store_error(&self) {
        bump(&self.store_errors);
    }

    /// A payment that could not be decided because the cluster failed.
    pub fn cluster_error(&self) {
        bump(&self.cluster_errors);
    }

    /// Everything, in Prometheus' text exposition format (version 0.0.4).
    pub fn render(&self) -> String {
        let mut out = String::new();
        Family {
            name: "micropay_paid_requests_total",
            help: "Priced requests paid (served, or kept as a credit when the upstream failed).",
            kind: "counter",
        }
        .one(&mut out, self.paid.load(Ordering::Relaxed));
        let refused: Vec<_> = lock(&self.refused)
            .iter()
            .map(|(reason, n)| (label("reason", reason), *n))
            .collect();
        Family {
            name: "micropay_refused_requests_total",
            help: "Priced requests refused, by reason (the x402 refusal code, throttled, or the 503's code).",
            kind: "counter",
        }
        .write(&mut out, &refused);
        let accepted: Vec<_> = lock(&self.accepted)
            .iter()
            .map(|(mint, n)| (label("mint", &mint.to_string()), *n))
            .collect();
        Family {
            name: "micropay_accepted_base_units_total",
            help: "Value accepted for the creator (net of fee shares), base units by mint.",
            kind: "counter",
        }
        .write(&mut out, &accepted);
        Family {
            name: "micropay_store_errors_total",
            help: "Payments not decided because the receiver store failed (answered 503).",
            kind: "counter",
        }
        .one(&mut out, self.store_errors.load(Ordering::Relaxed));
        Family {
            name: "micropay_rpc_errors_total",
            help: "Payments not decided because the cluster (RPC) failed (answered 503).",
            kind: "counter",
        }
        .one(&mut out, self.cluster_errors.load(Ordering::Relaxed));
        if let Some(report) = self.watcher.get() {
            render_watcher(&mut out, &report.borrow());
        }
        out
    }

    /// `GET /metrics` answering [`Metrics::render`].
    pub fn router(self: &Arc<Self>) -> axum::Router {
        let metrics = self.clone();
        axum::Router::new().route(
            "/metrics",
            axum::routing::get(move || {
                let metrics = metrics.clone();
                async move {
                    (
                        [(
                            http::header::CONTENT_TYPE,
                            "text/plain; version=0.0.4; charset=utf-8",
                        )],
                        metrics.render(),
                    )
                }
            }),
        )
    }
}

fn count(n: usize) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}

/// The watcher's families, from its last published report.
fn render_watcher(out: &mut String, report: &WatchReport) {
    let counters = [
        (
            "micropay_watcher_passes_total",
            "Watcher passes run.",
            count(report.passes),
        ),
        (
            "micropay_watcher_failed_passes_total",
            "Watcher passes that failed (store or cluster); it retries with backoff.",
            count(report.errors),
        ),
        (
            "micropay_claim_transactions_total",
            "Claim transactions that landed.",
            count(report.claim_transactions),
        ),
        (
            "micropay_claim_fees_lamports_total",
            "Lamports paid for claims (and earnings accounts the claims needed).",
            report.fees,
        ),
        (
            "micropay_claimed_vouchers_total",
            "Vouchers settled on chain.",
            count(report.vouchers_settled),
        ),
        (
            "micropay_lost_vouchers_total",
            "Vouchers whose channel closed before they were claimed (value lost).",
            count(report.lost.len()),
        ),
    ];
    for (name, help, value) in counters {
        Family {
            name,
            help,
            kind: "counter",
        }
        .one(out, value);
    }
    Family {
        name: "micropay_unclaimed_vouchers",
        help: "Vouchers waiting to be claimed after the watcher's last pass.",
        kind: "gauge",
    }
    .one(out, count(report.backlog.vouchers));
    let value: Vec<_> = report
        .backlog
        .value
        .iter()
        .map(|(mint, n)| (label("mint", &mint.to_string()), *n))
        .collect();
    Family {
        name: "micropay_unclaimed_base_units",
        help: "What the waiting vouchers would settle now, base units by mint.",
        kind: "gauge",
    }
    .write(out, &value);
    let deadline = report
        .backlog
        .earliest_deadline
        .and_then(|t| u64::try_from(t).ok());
    if let Some(deadline) = deadline {
        Family {
            name: "micropay_earliest_claim_deadline_timestamp_seconds",
            help: "The earliest last moment a waiting voucher can be claimed (unix time, chain clock).",
            kind: "gauge",
        }
        .one(out, deadline);
    }
    if let Some(at) = report.last_pass_at {
        Family {
            name: "micropay_watcher_last_pass_timestamp_seconds",
            help: "When the watcher's last pass ran (unix time).",
            kind: "gauge",
        }
        .one(out, at);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use micropay_client::watcher::Backlog;

    /// Every sample line of `text` whose name and labels are `series`.
    fn value(text: &str, series: &str) -> Option<u64> {
        text.lines()
            .filter(|l| !l.starts_with('#'))
            .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
    }

    #[test]
    fn counts_render_in_the_text_format() {
        let metrics = Metrics::new();
        let sol = Pubkey::new_unique();
        for _ in 0..3 {
            metrics.paid();
        }
        metrics.accepted(&sol, 10_000);
        metrics.accepted(&sol, 10_000);
        metrics.refused("underpaid");
        metrics.refused("underpaid");
        metrics.refused("mint_not_accepted");
        metrics.store_error();
        let text = metrics.render();
        assert_eq!(value(&text, "micropay_paid_requests_total"), Some(3));
        assert_eq!(
            value(
                &text,
                "micropay_refused_requests_total{reason=\"underpaid\"}"
            ),
            Some(2)
        );
        assert_eq!(
            value(
                &text,
                "micropay_refused_requests_total{reason=\"mint_not_accepted\"}"
            ),
            Some(1)
        );
        let sol_series = format!("micropay_accepted_base_units_total{{mint=\"{sol}\"}}");
        assert_eq!(value(&text, &sol_series), Some(20_000));
        assert_eq!(value(&text, "micropay_store_errors_total"), Some(1));
        assert_eq!(value(&text, "micropay_rpc_errors_total"), Some(0));
        // every family says its type once, before its samples
        assert!(text.contains("# TYPE micropay_paid_requests_total counter\n"));
        // no watcher followed: none of its families
        assert!(!text.contains("micropay_watcher_passes_total"), "{text}");
    }

    #[test]
    fn the_watchers_last_report_is_exported() {
        let metrics = Metrics::new();
        let sol = Pubkey::new_unique();
        let (tx, rx) = watch::channel(WatchReport::default());
        metrics.follow_watcher(rx);
        let text = metrics.render();
        assert_eq!(value(&text, "micropay_watcher_passes_total"), Some(0));
        assert!(!text.contains("deadline_timestamp"), "{text}");
        tx.send_replace(WatchReport {
            passes: 4,
            errors: 1,
            claim_transactions: 2,
            fees: 10_000,
            vouchers_settled: 7,
            backlog: Backlog {
                vouchers: 3,
                value: BTreeMap::from([(sol, 1_234)]),
                earliest_deadline: Some(1_800_000_000),
            },
            last_pass_at: Some(1_790_000_000),
            ..WatchReport::default()
        });
        let text = metrics.render();
        assert_eq!(value(&text, "micropay_watcher_passes_total"), Some(4));
        assert_eq!(
            value(&text, "micropay_watcher_failed_passes_total"),
            Some(1)
        );
        assert_eq!(value(&text, "micropay_claim_transactions_total"), Some(2));
        assert_eq!(
            value(&text, "micropay_claim_fees_lamports_total"),
            Some(10_000)
        );
        assert_eq!(value(&text, "micropay_claimed_vouchers_total"), Some(7));
        assert_eq!(value(&text, "micropay_unclaimed_vouchers"), Some(3));
        assert_eq!(
            value(
                &text,
                &format!("micropay_unclaimed_base_units{{mint=\"{sol}\"}}")
            ),
            Some(1_234)
        );
        assert_eq!(
            value(&text, "micropay_earliest_claim_deadline_timestamp_seconds"),
            Some(1_800_000_000)
        );
        assert_eq!(
            value(&text, "micropay_watcher_last_pass_timestamp_seconds"),
            Some(1_790_000_000)
        );
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(
            label("reason", "a\"b\\c\nd"),
            "{reason=\"a\\\"b\\\\c\\nd\"}"
        );
    }
}
