//! No spelling of a priced path reaches the upstream unpaid (issue 25,
//! "priced routes are served for free through path spellings").
//!
//! The gateway (`Paywall` + `Proxy`, as `micropay serve` assembles them)
//! listens on 127.0.0.1 in front of a real upstream that normalises paths
//! generously (dot segments, `//`, a trailing `/`, case, percent-escapes,
//! `;parameters`) and counts every time it serves the priced resource.
//! Requests are written on a raw TCP socket, so each spelling arrives byte
//! for byte (an HTTP client library would resolve dot segments itself).
#![allow(clippy::arithmetic_side_effects)]

use anchor_spl::token::spl_token::native_mint::ID as SOL;
use axum::{extract::Request, Router};
use micropay_client::{
    ledger::{rpc::RpcLedger, Ledger},
    receiver::{AcceptedMint, Receiver, ReceiverConfig},
    store::SqliteStore,
};
use micropay_http::{
    path::CanonicalPath,
    paywall::{Paywall, PaywallConfig},
    proxy::Proxy,
    route::{PathPattern, Price, Route, Unrouted},
};
use proptest::prelude::*;
use solana_sdk::pubkey::Pubkey;
use std::sync::{
    atomic::{AtomicUsize, Ordering},
    Arc,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// What a generous upstream makes of a path: percent-decoded, `;params`
/// dropped, empty and `.` segments dropped, `..` resolved, lower-cased.
fn generous(path: &str) -> String {
    let mut decoded = Vec::new();
    let bytes = path.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let Ok(b) = u8::from_str_radix(&path[i + 1..i + 3], 16) {
                decoded.push(b);
                i += 3;
                continue;
            }
        }
        decoded.push(bytes[i]);
        i += 1;
    }
    let text = String::from_utf8_lossy(&decoded).replace('\\', "/");
    let mut out: Vec<String> = Vec::new();
    for segment in text.split('/') {
        let segment = segment.split(';').next().unwrap_or_default();
        match segment {
            "" | "." => {}
            ".." => {
                out.pop();
            }
            s => out.push(s.to_ascii_lowercase()),
        }
    }
    format!("/{}", out.join("/"))
}

/// The upstream: `/premium` (in any spelling it understands) is the priced
/// resource; it counts each time it serves it.
async fn upstream(premium: Arc<AtomicUsize>) -> String {
    let app = Router::new().fallback(move |request: Request| {
        let premium = premium.clone();
        async move {
            let path = generous(request.uri().path());
            if path == "/premium" || path.starts_with("/premium/") {
                premium.fetch_add(1, Ordering::SeqCst);
                "premium content"
            } else {
                "free content"
            }
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    url
}

fn priced(method: Option<http::Method>, pattern: &str) -> Route {
    Route::new(
        method,
        PathPattern::parse(pattern).unwrap(),
        vec![Price {
            mint: SOL,
            amount: 1_000,
            decimals: 9,
        }],
    )
    .unwrap()
}

/// The gateway in front of `upstream`: `GET /premium/**` priced. Unpaid
/// requests never reach the receiver's ledger, so it needs no cluster.
async fn gateway(upstream: &str, unrouted: Unrouted) -> std::net::SocketAddr {
    let ledger: Arc<dyn Ledger> = Arc::new(RpcLedger::new(
        "http://127.0.0.1:1",
        solana_commitment_config::CommitmentConfig::confirmed(),
    ));
    let receiver = Arc::new(Receiver::new(
        ledger,
        Arc::new(SqliteStore::in_memory().unwrap()),
        Pubkey::new_unique(),
        ReceiverConfig::accepting([AcceptedMint::wrapped_sol()]),
    ));
    let paywall = Paywall::new(
        receiver,
        PaywallConfig {
            credit_not_found: false,
            routes: vec![priced(Some(http::Method::GET), "/premium/**")],
            unrouted,
            network: "solana:local".into(),
            max_timeout_seconds: 60,
            fund_action: None,
        },
    );
    let app = Proxy::new(upstream).unwrap().router().layer(paywall);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

/// Sends `method target` verbatim; the status code.
async fn raw(addr: std::net::SocketAddr, method: &str, target: &str) -> u16 {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request =
        format!("{method} {target} HTTP/1.1\r\nHost: gateway\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await.unwrap();
    let text = String::from_utf8_lossy(&answer);
    text.split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status for {method} {target}: {text}"))
}

#[tokio::test]
async fn no_spelling_of_a_priced_path_is_served_unpaid() {
    let premium = Arc::new(AtomicUsize::new(0));
    let upstream = upstream(premium.clone()).await;
    let addr = gateway(&upstream, Unrouted::Free).await;

    // the spellings of the review, and more an upstream may resolve
    let table: &[(&str, &str, u16)] = &[
        ("GET", "/premium", 402),
        ("GET", "/./premium", 400),
        ("GET", "/x/../premium", 400),
        ("GET", "/%2e/premium", 400),
        ("GET", "/%2E/premium", 400),
        ("GET", "/x/.%2E/premium", 400),
        ("GET", "/premium/../premium", 400),
        ("GET", "/free/%2e%2e/premium", 400),
        ("GET", "/premium/", 400),
        ("GET", "//premium", 400),
        ("GET", "/premium//x", 400),
        ("GET", "/%2fpremium", 400),
        ("GET", "/x%2f..%2fpremium", 400),
        ("GET", "/x%5c..%5cpremium", 400),
        ("GET", "/%00/premium", 400),
        ("GET", "/premium%", 400),
        ("GET", "/PREMIUM", 402),
        ("GET", "/Premium/x", 402),
        ("GET", "/%70remium", 402),
        ("GET", "/%50REMIUM", 402),
        ("GET", "/premium;jsessionid=1", 402),
        ("GET", "/premium?x=/../free", 402),
        ("GET", "http://gateway/premium", 402),
        ("GET", "http://gateway/./premium", 400),
        // a method no route names on a priced path is priced, not free
        ("POST", "/premium", 402),
        ("HEAD", "/premium", 402),
        ("DELETE", "/premium/x", 402),
        ("PATCH", "/premium", 402),
        ("GOT", "/premium", 402),
        ("OPTIONS", "*", 400),
        // free paths still pass
        ("GET", "/free", 200),
        ("GET", "/", 200),
        ("GET", "/free/%7Ex", 200),
        ("POST", "/premiumx", 200),
    ];
    let mut failures = Vec::new();
    for (method, target, want) in table {
        let got = raw(addr, method, target).await;
        if got != *want {
            failures.push(format!("{method} {target}: {got}, want {want}"));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
    assert_eq!(
        premium.load(Ordering::SeqCst),
        0,
        "the upstream served the priced resource unpaid"
    );
}

#[tokio::test]
async fn default_deny_and_default_price_close_every_unnamed_path() {
    let premium = Arc::new(AtomicUsize::new(0));
    let upstream = upstream(premium.clone()).await;
    let deny = gateway(&upstream, Unrouted::Deny).await;
    for target in ["/free", "/", "/anything/else"] {
        assert_eq!(raw(deny, "GET", target).await, 403, "{target}");
    }
    assert_eq!(raw(deny, "GET", "/premium").await, 402);
    let price = gateway(&upstream, Unrouted::Priced(Box::new(priced(None, "/**")))).await;
    for (method, target) in [("GET", "/free"), ("GET", "/"), ("PUT", "/x/y")] {
        assert_eq!(raw(price, method, target).await, 402, "{method} {target}");
    }
    assert_eq!(premium.load(Ordering::SeqCst), 0);
}

/// Segments that upstreams read in more ways than one.
fn segment() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("premium".to_string()),
        Just("PREMIUM".to_string()),
        Just("%70remium".to_string()),
        Just("premium;a".to_string()),
        Just("free".to_string()),
        Just("x".to_string()),
        Just(".".to_string()),
        Just("..".to_string()),
        Just("%2e".to_string()),
        Just("%2E%2e".to_string()),
        Just(".%2e".to_string()),
        Just(String::new()),
        Just("%2f".to_string()),
        Just("a%2fpremium".to_string()),
        Just("%5c".to_string()),
        Just("%20".to_string()),
    ]
}

proptest! {
    /// Whatever the upstream makes of a path, if it is the priced resource
    /// the paywall either refuses the spelling or prices it; and the proxy
    /// forwards exactly the path that was priced.
    #[test]
    fn every_path_the_upstream_serves_as_priced_is_priced(
        segments in proptest::collection::vec(segment(), 1..6)
    ) {
        let raw = format!("/{}", segments.join("/"));
        let route = priced(Some(http::Method::GET), "/premium/**");
        let proxy = Proxy::new("http://127.0.0.1:9").unwrap();
        match CanonicalPath::parse(&raw) {
            Err(_) => prop_assert!(proxy.url(&raw, None).is_err()),
            Ok(canonical) => {
                let url = proxy.url(canonical.as_str(), None).unwrap();
                prop_assert_eq!(url.path(), canonical.as_str());
                let seen = generous(url.path());
                if seen == "/premium" || seen.starts_with("/premium/") {
                    prop_assert!(
                        route.path.matches(canonical.as_str()),
                        "{} reaches the priced resource as {} unpriced", raw, canonical
                    );
                }
            }
        }
    }
}
