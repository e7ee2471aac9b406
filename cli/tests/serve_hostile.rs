//! `micropay serve` against a hostile client (issue 25), over real HTTP on
//! 127.0.0.1 with the local node: path spellings written byte for byte on
//! raw TCP, replayed, junk, forged, oversized and malformed payments, a
//! bounded flood, and an upstream that fails on purpose. Nothing is served
//! unpaid, nothing is counted twice, a failed request is not charged, and
//! no answer carries internal text (the node's address, a store path,
//! driver errors).
#![allow(clippy::arithmetic_side_effects)]

mod common;

use anchor_spl::token::spl_token::native_mint::ID as SOL;
use assert_cmd::Command;
use axum::{extract::Request, Router};
use micropay_client::{
    accounts,
    ledger::{rpc::RpcLedger, Ledger},
    micropay::instructions::OpenChannelArgs,
    store::{ReceiverStore, SqliteStore},
};
use micropay_node::{LocalNode, NodeConfig};
use micropay_sdk::{
    instructions as mix, pda,
    voucher::Voucher,
    x402::{self, PaymentPayload, PaymentRequired, SettlementResponse, WireVoucher},
};
use solana_commitment_config::CommitmentConfig;
use solana_sdk::signature::{Keypair, Signer};
use std::sync::{
    atomic::{AtomicBool, AtomicUsize, Ordering},
    Arc,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Lamports per request.
const PRICE: u64 = 10_000;

/// An answer read off a raw socket.
struct Raw {
    status: u16,
    text: String,
}

/// Writes `method target` with `headers` verbatim; reads the whole answer.
async fn raw(addr: &str, method: &str, target: &str, headers: &[(&str, &str)]) -> Raw {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut request =
        format!("{method} {target} HTTP/1.1\r\nHost: gateway\r\nConnection: close\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer).await;
    let text = String::from_utf8_lossy(&answer).to_string();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status for {method} {target}: {text}"));
    Raw { status, text }
}

/// The base64 `PAYMENT-SIGNATURE` paying `voucher` against `required`.
fn payment(required: &PaymentRequired, voucher: &Voucher) -> String {
    x402::encode_header(&PaymentPayload {
        x402_version: x402::X402_VERSION,
        resource: Some(required.resource.clone()),
        accepted: required.for_mint(&SOL).unwrap().clone(),
        payload: WireVoucher::from(voucher),
        extensions: Default::default(),
    })
}

fn settlement(answer: &Raw) -> Option<SettlementResponse> {
    let line = answer
        .text
        .lines()
        .find(|l| l.to_ascii_lowercase().starts_with("payment-response:"))?;
    let value = line.split_once(':')?.1.trim();
    x402::decode_header(x402::PAYMENT_RESPONSE, value.as_bytes()).ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hostile_client_gets_nothing_unpaid_and_no_internal_text() {
    let dir = tempfile::tempdir().unwrap();
    let (payer, creator, session) = (Keypair::new(), Keypair::new(), Keypair::new());
    let node = LocalNode::start(NodeConfig {
        airdrop: vec![payer.pubkey(), creator.pubkey()],
        ..NodeConfig::ephemeral().unwrap()
    })
    .unwrap();
    let url = node.rpc_url().to_string();
    let creator_key = dir.path().join("creator.json");
    common::write_key(&creator_key, &creator);
    let creator_key = creator_key.to_str().unwrap().to_string();
    Command::cargo_bin("micropay")
        .unwrap()
        .env("HOME", dir.path())
        .args([
            "-u",
            &url,
            "-k",
            &creator_key,
            "earnings",
            "init",
            "--mint",
            "sol",
        ])
        .assert()
        .success();

    // the payer's channel, with a session key this test holds
    let ledger = RpcLedger::new(url.clone(), CommitmentConfig::confirmed());
    let l: &dyn Ledger = &ledger;
    let wsol = micropay_client::tokens::create_token_account(
        l,
        &payer,
        &SOL,
        &payer.pubkey(),
        &anchor_spl::token::ID,
    )
    .await
    .unwrap();
    let (escrow, ixs) = mix::FundNewSolEscrow {
        owner: payer.pubkey(),
        wsol,
        lamports: 200 * PRICE,
    }
    .instructions()
    .unwrap();
    l.send(&ixs, &payer, &[]).await.unwrap();
    let (open, channel) = mix::OpenChannel {
        owner: payer.pubkey(),
        escrow,
        slot: pda::ChannelSlot::next(&accounts::escrow(l, &escrow).await.unwrap().unwrap()),
        args: OpenChannelArgs {
            creator: creator.pubkey(),
            signer: session.pubkey(),
            allocation: 100 * PRICE,
            fee_recipient: None,
            fee_bps: 0,
            dispute_window_secs: 900,
            expires_at: 0,
            nonce: rand::random(),
        },
    }
    .with_channel();
    l.send(&[open], &payer, &[]).await.unwrap();

    // the upstream: counts what it serves under /premium; /flaky fails on demand
    let premium = Arc::new(AtomicUsize::new(0));
    let failing = Arc::new(AtomicBool::new(true));
    let (p, fl) = (premium.clone(), failing.clone());
    let api = Router::new().fallback(move |request: Request| {
        let (premium, failing) = (p.clone(), fl.clone());
        async move {
            let path = request.uri().path().to_ascii_lowercase();
            if path.starts_with("/flaky") && failing.load(Ordering::SeqCst) {
                return (
                    http::StatusCode::INTERNAL_SERVER_ERROR,
                    "upstream broke".to_string(),
                );
            }
            if path.contains("premium") || path.starts_with("/flaky") {
                premium.fetch_add(1, Ordering::SeqCst);
                return (http::StatusCode::OK, "the premium report".to_string());
            }
            (http::StatusCode::OK, "free".to_string())
        }
    });
    let upstream_url = common::serve::upstream(api).await;

    let store = dir.path().join("receiver.db");
    let config = dir.path().join("serve.toml");
    std::fs::write(
        &config,
        format!(
            r#"
upstream = "{upstream_url}"
listen = "127.0.0.1:0"
store = "{}"
mints = ["sol"]

[watch]
enabled = false

[[route]]
method = "GET"
path = "/premium/**"
price = {{ sol = "0.00001" }}

[[route]]
path = "/flaky"
price = {{ sol = "0.00001" }}
"#,
            store.display()
        ),
    )
    .unwrap();
    let (mut serve, banner) = common::serve::start(
        dir.path(),
        &url,
        &creator_key,
        &config,
        &dir.path().join("serve.log"),
    );
    let base = banner["url"].as_str().unwrap().to_string();
    let addr = base.trim_start_matches("http://").to_string();
    let mut answers: Vec<Raw> = Vec::new();

    // path spellings: none reaches the priced resource unpaid
    for (method, target) in [
        ("GET", "/premium/x"),
        ("GET", "/./premium/x"),
        ("GET", "/a/../premium/x"),
        ("GET", "/%2e/premium/x"),
        ("GET", "/free/%2e%2e/premium/x"),
        ("GET", "/premium/x/"),
        ("GET", "//premium/x"),
        ("GET", "/PREMIUM/x"),
        ("GET", "/%70remium/x"),
        ("GET", "/premium;a/x"),
        ("POST", "/premium/x"),
        ("HEAD", "/premium/x"),
        ("GET", "/x%2f..%2fpremium/x"),
        ("GET", "/x\\..\\premium/x"),
    ] {
        let answer = raw(&addr, method, target, &[]).await;
        assert!(
            [400, 402].contains(&answer.status),
            "{method} {target}: {}",
            answer.status
        );
        answers.push(answer);
    }
    assert_eq!(premium.load(Ordering::SeqCst), 0, "served unpaid");

    // paid, once; the same voucher again (a replay) is not served again,
    // on this path or another priced one
    let asked_raw = raw(&addr, "GET", "/premium/x", &[]).await;
    let body = asked_raw.text.split("\r\n\r\n").nth(1).unwrap().to_string();
    let asked: PaymentRequired = serde_json::from_str(&body).unwrap();
    let first = payment(&asked, &Voucher::sign(&session, channel, PRICE));
    let paid = raw(
        &addr,
        "GET",
        "/premium/x",
        &[(x402::PAYMENT_SIGNATURE, &first)],
    )
    .await;
    assert_eq!(paid.status, 200, "{}", paid.text);
    assert!(settlement(&paid).unwrap().success);
    for target in ["/premium/x", "/premium/y", "/%70remium/x"] {
        let replay = raw(&addr, "GET", target, &[(x402::PAYMENT_SIGNATURE, &first)]).await;
        assert_eq!(replay.status, 402, "replay on {target}");
        answers.push(replay);
    }
    assert_eq!(premium.load(Ordering::SeqCst), 1);

    // forged (another key), above the allocation, malformed, oversized
    let forged = payment(&asked, &Voucher::sign(&Keypair::new(), channel, 5 * PRICE));
    let greedy = payment(&asked, &Voucher::sign(&session, channel, 1_000 * PRICE));
    let huge = "A".repeat(64 * 1024);
    for header in [
        forged.as_str(),
        greedy.as_str(),
        "not base64!",
        "e30=",
        "eyJ4NDAyVmVyc2lvbiI6Mn0=",
        huge.as_str(),
    ] {
        let answer = raw(
            &addr,
            "GET",
            "/premium/x",
            &[(x402::PAYMENT_SIGNATURE, header)],
        )
        .await;
        assert!(
            [402, 431, 400].contains(&answer.status),
            "{}: {}",
            &header[..header.len().min(20)],
            answer.status
        );
        answers.push(answer);
    }
    assert_eq!(premium.load(Ordering::SeqCst), 1);

    // an upstream failing on purpose: not charged, said so; the same
    // voucher once it is back: served once
    let second = payment(&asked, &Voucher::sign(&session, channel, 2 * PRICE));
    let broke = raw(
        &addr,
        "GET",
        "/flaky",
        &[(x402::PAYMENT_SIGNATURE, &second)],
    )
    .await;
    assert_eq!(broke.status, 500);
    let said = settlement(&broke).unwrap();
    assert!(!said.success && said.error_reason.is_some());
    failing.store(false, Ordering::SeqCst);
    let retried = raw(
        &addr,
        "GET",
        "/flaky",
        &[(x402::PAYMENT_SIGNATURE, &second)],
    )
    .await;
    assert_eq!(retried.status, 200);
    let again = raw(
        &addr,
        "GET",
        "/flaky",
        &[(x402::PAYMENT_SIGNATURE, &second)],
    )
    .await;
    assert_eq!(again.status, 402);
    answers.extend([broke, again]);
    assert_eq!(premium.load(Ordering::SeqCst), 2);

    // a bounded flood of junk on random channels: looked at up to the
    // per-client limit, then 429
    let mut statuses = std::collections::BTreeMap::new();
    for _ in 0..100 {
        let junk = payment(
            &asked,
            &Voucher::sign(
                &Keypair::new(),
                solana_sdk::pubkey::Pubkey::new_unique(),
                PRICE,
            ),
        );
        let answer = raw(
            &addr,
            "GET",
            "/premium/x",
            &[(x402::PAYMENT_SIGNATURE, &junk)],
        )
        .await;
        *statuses.entry(answer.status).or_insert(0) += 1;
        answers.push(answer);
    }
    // (the forged and malformed payments above count as junk too)
    let looked_at = statuses.get(&402).copied().unwrap_or(0);
    assert!(looked_at <= 60, "{statuses:?}");
    assert_eq!(
        looked_at + statuses.get(&429).copied().unwrap_or(0),
        100,
        "{statuses:?}"
    );

    // nothing served unpaid, nothing counted twice
    assert_eq!(premium.load(Ordering::SeqCst), 2);
    let held = SqliteStore::open_existing(&store)
        .unwrap()
        .get(&channel)
        .unwrap()
        .unwrap();
    assert_eq!(held.voucher.amount, 2 * PRICE, "two paid, two served");

    // no internal text in any answer
    let node_addr = url.trim_start_matches("http://").to_string();
    let upstream = upstream_url.trim_start_matches("http://").to_string();
    for answer in &answers {
        for secret in [
            node_addr.as_str(),
            upstream.as_str(),
            dir.path().to_str().unwrap(),
            "error sending request",
            "voucher store",
            "sqlite",
        ] {
            let body = answer.text.split("\r\n\r\n").nth(1).unwrap_or_default();
            assert!(
                !body.contains(secret),
                "answer {} carries {secret:?}: {body}",
                answer.status
            );
        }
    }
    let _ = serve.kill();
    let _ = serve.wait();

    // the other way round: `micropay fetch --budget` against a server that
    // refuses every payment asking ever more (a hostile server) signs
    // nothing past the budget
    let payer_key = dir.path().join("payer.json");
    common::write_key(&payer_key, &payer);
    let seen: Arc<std::sync::Mutex<Vec<u64>>> = Arc::default();
    let (offer, recorded) = (asked.clone(), seen.clone());
    let hostile = Router::new().fallback(move |request: Request| {
        let (mut offer, recorded) = (offer.clone(), recorded.clone());
        async move {
            let paid = request
                .headers()
                .get(x402::PAYMENT_SIGNATURE)
                .and_then(|h| {
                    x402::decode_header::<PaymentPayload>(x402::PAYMENT_SIGNATURE, h.as_bytes())
                        .ok()
                })
                .and_then(|p| p.payload.voucher().ok());
            let mut recorded = recorded.lock().unwrap();
            if let Some(v) = paid {
                recorded.push(v.amount);
            }
            // 3 prices first, then ever more
            let price = PRICE * (3 + 4 * recorded.len() as u64);
            for a in offer
                .accepts
                .iter_mut()
                .filter_map(x402::Offer::micropay_mut)
            {
                a.amount = price.to_string();
            }
            offer.extensions = std::collections::BTreeMap::from([(
                x402::EXTENSION.to_string(),
                x402::Extension::refusal(x402::Refusal::new(x402::RefusalCode::Underpaid)).value(),
            )]);
            micropay_http::paywall::payment_required(&offer)
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hostile_url = format!("http://{}/x", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, hostile).await });
    let budget = 5 * PRICE; // 0.00005 SOL
    let fetched = Command::cargo_bin("micropay")
        .unwrap()
        .env("HOME", dir.path())
        .args([
            "-u",
            &url,
            "-k",
            payer_key.to_str().unwrap(),
            "--output",
            "json",
        ])
        .args(["fetch", &hostile_url, "--budget", "0.00005", "--store"])
        .arg(dir.path().join("fetch-payer.db"))
        .assert()
        .failure();
    let said = String::from_utf8_lossy(&fetched.get_output().stderr).to_string();
    let seen = seen.lock().unwrap().clone();
    assert!(!seen.is_empty(), "it paid once: {said}");
    assert!(
        seen.iter().all(|a| *a <= budget),
        "signed past the budget: {seen:?}; {said}"
    );
    // said in SOL, with the flag that sets it (issue 27)
    let answer: serde_json::Value = serde_json::from_slice(&fetched.get_output().stdout).unwrap();
    let msg = answer["error"].as_str().unwrap_or_default();
    assert!(
        msg.contains("would pass --budget 0.00005 SOL") && msg.contains("raise --budget"),
        "{answer}"
    );
}
