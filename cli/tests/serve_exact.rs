//! `micropay serve` taking x402's `exact` beside micropay (issue 28), over
//! real HTTP against the local node: a route marked `exact = true` offers a
//! transfer per request after micropay's; the gateway creates the payee's
//! token account at start, and a client without micropay is served once
//! its transfer landed, once. Paid by our own client's transaction, and by
//! x402-rs's Solana `exact` client (`x402-chain-solana`, software nobody
//! here wrote) pointed at the local node, and by x402's own TypeScript
//! client (`@x402/fetch` with `@x402/svm`, `ts/examples/x402-svm/x402-fetch.ts`), by
//! x402-rs's `x402-reqwest` middleware, and by x402's own Python client
//! (`x402` from PyPI, `py/interop/x402_requests_exact.py`).
//! The payee's token account holds exactly what was paid, and the upstream
//! served each paid request once.
#![allow(clippy::arithmetic_side_effects)]

mod common;

use micropay_client::{accounts, ledger::rpc::RpcLedger, ledger::Ledger};
use micropay_node::{LocalNode, NodeConfig};
use micropay_sdk::x402::{
    self,
    exact::{ExactPayload, ExactPaymentPayload},
    PaymentRequired, SettlementResponse,
};
use micropay_tests::exact::{exact_world_with, ExactWorld, HELD, PRICE};
use solana_commitment_config::CommitmentConfig;
use solana_sdk::signature::{Keypair, Signer};
use std::{
    path::PathBuf,
    process::Child,
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    },
};

/// A local node, the `exact` world on it, and `serve` selling `/api/*`
/// with `exact = true`, its keypair the world's fee payer.
struct Setup {
    _node: LocalNode,
    _dir: tempfile::TempDir,
    url: String,
    ledger: RpcLedger,
    w: ExactWorld,
    gateway: String,
    child: Child,
    log: PathBuf,
    /// Requests the upstream served.
    served: Arc<AtomicUsize>,
}

impl Drop for Setup {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Who settles `serve`'s `exact` payments.
enum Settles {
    /// `serve` itself, its keypair the world's fee payer.
    Itself,
    /// A peer's facilitator (x402-facilitator-local on the node), whose
    /// key is the world's fee payer; `serve`'s keypair pays claim fees only.
    Facilitator,
    /// A facilitator that settles nothing and answers success naming a
    /// made-up transaction, or (`true`) another transaction that landed.
    Liar { names_a_real_one: bool },
}

async fn setup() -> Setup {
    setup_with(Settles::Itself).await
}

/// [`setup`] with `settles` settling `exact` payments.
async fn setup_with(settles: Settles) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let (setup, fee_payer, own) = (Keypair::new(), Keypair::new(), Keypair::new());
    let node = LocalNode::start(NodeConfig {
        airdrop: vec![setup.pubkey(), fee_payer.pubkey(), own.pubkey()],
        ..NodeConfig::ephemeral().unwrap()
    })
    .unwrap();
    let url = node.rpc_url().to_string();
    let ledger = RpcLedger::new(url.clone(), CommitmentConfig::confirmed());
    let fee_payer_key = dir.path().join("fee-payer.json");
    let network = x402::network(&ledger.genesis_hash().await.unwrap());
    let facilitator = match settles {
        Settles::Itself => {
            common::write_key(&fee_payer_key, &fee_payer);
            String::new()
        }
        Settles::Facilitator => {
            common::write_key(&fee_payer_key, &own);
            let at =
                common::peer_server::facilitator(&network, &url, fee_payer.insecure_clone()).await;
            format!("facilitator = \"{at}\"\n")
        }
        Settles::Liar { names_a_real_one } => {
            common::write_key(&fee_payer_key, &own);
            let transaction = if names_a_real_one {
                let one = solana_system_interface::instruction::transfer(
                    &setup.pubkey(),
                    &own.pubkey(),
                    1,
                );
                let signer: &micropay_client::ledger::DynSigner = &setup;
                ledger
                    .send(&[one], signer, &[])
                    .await
                    .unwrap()
                    .signature
                    .to_string()
            } else {
                solana_sdk::signature::Signature::from([7; 64]).to_string()
            };
            let fee_payer = fee_payer.pubkey().to_string();
            let at = common::peer_server::lying_facilitator(&network, fee_payer, transaction).await;
            format!("facilitator = \"{at}\"\n")
        }
    };
    // the payee has no token account: serve creates it at start
    let w = exact_world_with(&ledger, &setup, fee_payer, false).await;
    assert!(ledger.account(&w.destination).await.unwrap().is_none());

    let (upstream_url, served) = common::serve::counted_api().await;
    let config = dir.path().join("serve.toml");
    std::fs::write(
        &config,
        format!(
            r#"
{facilitator}upstream = "{upstream_url}"
listen = "127.0.0.1:0"
store = "{}"
payee = "{}"
mints = ["{}=1"]

[[route]]
path = "/api/*"
price = {{ "{}" = "0.001" }}
exact = true
"#,
            dir.path().join("receiver.db").display(),
            w.terms.pay_to,
            w.mint,
            w.mint
        ),
    )
    .unwrap();
    // --check says it
    let key = fee_payer_key.to_str().unwrap();
    let checked = assert_cmd::Command::cargo_bin("micropay")
        .unwrap()
        .env("HOME", dir.path())
        .args(["-u", &url, "-k", key, "--output", "json"])
        .args(["serve", "-c", config.to_str().unwrap(), "--check"])
        .assert()
        .success();
    let v: serde_json::Value = serde_json::from_slice(&checked.get_output().stdout).unwrap();
    assert_eq!(v["routes"][0]["exact"], true, "{v}");
    let log = dir.path().join("serve.log");
    let (child, banner) = common::serve::start(dir.path(), &url, key, &config, &log);
    Setup {
        gateway: banner["url"].as_str().unwrap().to_string(),
        _node: node,
        _dir: dir,
        url,
        ledger,
        w,
        child,
        log,
        served,
    }
}

impl Setup {
    /// The payee got exactly `n` payments, the payer spent exactly them,
    /// and the upstream served `n` requests.
    async fn paid_exactly(&self, n: u64) {
        assert_eq!(self.served.load(Ordering::SeqCst) as u64, n);
        let l: &dyn Ledger = &self.ledger;
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        assert_eq!(
            accounts::token_amount(l, &self.w.destination)
                .await
                .unwrap(),
            n * PRICE,
            "{log}"
        );
        assert_eq!(
            accounts::token_amount(l, &self.w.source).await.unwrap(),
            HELD - n * PRICE
        );
    }
}

/// `GET target` with `payment` in `PAYMENT-SIGNATURE`: status, receipt.
async fn paid_get(target: &str, payment: &str) -> (u16, Option<SettlementResponse>, String) {
    let answer = reqwest::Client::new()
        .get(target)
        .header(x402::PAYMENT_SIGNATURE, payment)
        .send()
        .await
        .unwrap();
    let status = answer.status().as_u16();
    let receipt = answer
        .headers()
        .get(x402::PAYMENT_RESPONSE)
        .and_then(|v| x402::decode_header(x402::PAYMENT_RESPONSE, v.as_bytes()).ok());
    (status, receipt, answer.text().await.unwrap())
}

/// A facilitator's "settled" is checked on the cluster: one that settles
/// nothing and answers success — naming a made-up transaction, or another
/// transaction that landed — gets the request refused (`503`), the upstream
/// never called, and the client's transfer never moves.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_facilitator_claiming_a_settlement_that_did_not_happen_gets_nothing_served() {
    for names_a_real_one in [false, true] {
        let s = setup_with(Settles::Liar { names_a_real_one }).await;
        let target = format!("{}/api/lie", s.gateway);
        let asked = reqwest::get(&target).await.unwrap();
        let header = asked.headers()[x402::PAYMENT_REQUIRED].as_bytes().to_vec();
        let required: PaymentRequired =
            x402::decode_header(x402::PAYMENT_REQUIRED, &header).unwrap();
        let offer = required.accepts[1].exact().expect("exact").clone();
        let payment = x402::encode_header(&ExactPaymentPayload {
            x402_version: x402::X402_VERSION,
            resource: Some(required.resource.clone()),
            accepted: offer,
            payload: ExactPayload {
                transaction: s.w.payment(&s.ledger, PRICE, 6).await,
            },
            extensions: Default::default(),
        });
        for _ in 0..2 {
            let (status, receipt, _) = paid_get(&target, &payment).await;
            assert_eq!(
                (status, receipt),
                (503, None),
                "names a real one: {names_a_real_one}"
            );
        }
        assert_eq!(
            s.served.load(Ordering::SeqCst),
            0,
            "the upstream was never called"
        );
        let log = std::fs::read_to_string(&s.log).unwrap_or_default();
        assert!(
            log.contains("did not land with the client's transfer"),
            "{log}"
        );
        s.paid_exactly(0).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_sells_per_request_to_a_client_without_micropay() {
    let s = setup().await;
    let target = format!("{}/api/one", s.gateway);
    let asked = reqwest::get(&target).await.unwrap();
    assert_eq!(asked.status(), 402);
    let required: PaymentRequired = asked.json().await.unwrap();
    assert!(required.accepts[0].micropay().is_some(), "micropay first");
    let offer = required.accepts[1].exact().expect("then exact").clone();
    assert_eq!(offer.extra.fee_payer, s.w.fee_payer.pubkey().to_string());
    assert_eq!(offer.amount, PRICE.to_string());

    let transaction = s.w.payment(&s.ledger, PRICE, 6).await;
    let header = x402::encode_header(&ExactPaymentPayload {
        x402_version: x402::X402_VERSION,
        resource: Some(required.resource.clone()),
        accepted: offer,
        payload: ExactPayload { transaction },
        extensions: Default::default(),
    });
    let (status, receipt, body) = paid_get(&target, &header).await;
    assert_eq!((status, body.as_str()), (200, "the answer"));
    let receipt = receipt.unwrap();
    assert!(receipt.success);
    // the transaction named is the one that landed
    assert!(s
        .ledger
        .transaction_events(&receipt.transaction.parse().unwrap())
        .await
        .is_ok());
    let (again, _, _) = paid_get(&target, &header).await;
    assert_eq!(again, 402, "one transaction, one serving");
    s.paid_exactly(1).await;
    // the creator's report shows it beside the channels' vouchers
    let report = assert_cmd::Command::cargo_bin("micropay")
        .unwrap()
        .env("HOME", s._dir.path())
        .args([
            "-u",
            &s.url,
            "-k",
            s._dir.path().join("fee-payer.json").to_str().unwrap(),
        ])
        .args(["--output", "json", "claim", "--dry-run", "--store"])
        .arg(s._dir.path().join("receiver.db"))
        .args(["--mint", &format!("{}=1", s.w.mint)])
        .assert()
        .success();
    let v: serde_json::Value = serde_json::from_slice(&report.get_output().stdout).unwrap();
    let exact = &v["exact_received"][0];
    assert_eq!(exact["mint"], s.w.mint.to_string(), "{v}");
    assert_eq!(
        (exact["payments"].as_u64(), exact["amount"].as_u64()),
        (Some(1), Some(PRICE))
    );
    assert_eq!(exact["amount_ui"], "0.001");
}

/// x402-rs's Solana `exact` client (`x402-chain-solana` 2.0, with an RPC
/// client pointed at the local node: it estimates compute units and the
/// priority fee there) reads `serve`'s 402, builds and signs its transfer,
/// and is served; the same payment again is not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn x402_rs_solana_client_pays_serve() {
    use x402_types::scheme::client::X402SchemeClient;
    let s = setup().await;
    let target = format!("{}/api/peer", s.gateway);
    let asked = reqwest::get(&target).await.unwrap();
    assert_eq!(asked.status(), 402);
    // read as x402-reqwest reads a v2 402: its PAYMENT-REQUIRED header
    let header = asked.headers()[x402::PAYMENT_REQUIRED].as_bytes();
    let v2: x402_types::proto::v2::PaymentRequired<x402_types::proto::OriginalJson> =
        x402::decode_header(x402::PAYMENT_REQUIRED, header).unwrap();
    let required = x402_types::proto::PaymentRequired::V2(v2);
    let rpc = std::sync::Arc::new(
        solana_client::nonblocking::rpc_client::RpcClient::new_with_commitment(
            s.url.clone(),
            CommitmentConfig::confirmed(),
        ),
    );
    let client = x402_chain_solana::V2SolanaExactClient::new(
        std::sync::Arc::new(s.w.client.insecure_clone()),
        rpc,
    );
    let candidates = client.accept(&required);
    assert_eq!(candidates.len(), 1, "the exact offer, not micropay's");
    let header = candidates[0].sign().await.unwrap();
    let (status, receipt, body) = paid_get(&target, &header).await;
    let log = std::fs::read_to_string(&s.log).unwrap_or_default();
    assert_eq!((status, body.as_str()), (200, "the answer"), "{log}");
    assert!(receipt.unwrap().success);
    let (again, _, _) = paid_get(&target, &header).await;
    assert_eq!(again, 402, "one transaction, one serving");
    s.paid_exactly(1).await;
}

/// x402's own TypeScript client: `@x402/fetch`'s `wrapFetchWithPayment`
/// with `@x402/svm`'s `exact` scheme (npm 2.27; its transaction, its
/// signature, its HTTP) pays three requests, each served once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn x402_fetch_pays_serve() {
    if !common::peers::available() {
        return;
    }
    let s = setup().await;
    let env = s.peer_env("ts").await;
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let answers = common::peers::run("x402-fetch", &env).await;
    s.served_each(&answers, 3).await;
}

/// x402's own Python client (`x402` 2.25 from PyPI):
/// `wrapRequestsWithPayment` with its SVM `exact` scheme pays three
/// requests, each served once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn x402_python_pays_serve() {
    if !common::peers::python_available() {
        return;
    }
    let s = setup().await;
    let env = s.peer_env("py").await;
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let answers = common::peers::run_python("x402_requests_exact", &env).await;
    s.served_each(&answers, 3).await;
}

impl Setup {
    /// The environment of a peer's script paying `/api/<path>` three
    /// times as the world's client, this token allowed up to [`PRICE`].
    async fn peer_env(&self, path: &str) -> Vec<(&'static str, String)> {
        let keypair = self._dir.path().join("client.json");
        common::write_key(&keypair, &self.w.client);
        let network = x402::network(&self.ledger.genesis_hash().await.unwrap());
        vec![
            ("X402_URL", format!("{}/api/{path}", self.gateway)),
            ("X402_RPC_URL", self.url.clone()),
            ("X402_KEYPAIR", keypair.to_str().unwrap().to_string()),
            ("X402_NETWORK", network),
            ("X402_ASSET", self.w.mint.to_string()),
            ("X402_MAX_AMOUNT", PRICE.to_string()),
            ("X402_REQUESTS", "3".into()),
        ]
    }

    /// `answers` (a peer script's) are `n` requests each served after its
    /// own transfer, and the payee got exactly `n` payments.
    async fn served_each(&self, answers: &serde_json::Value, n: usize) {
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        let answers = answers.as_array().unwrap();
        assert_eq!(answers.len(), n);
        let mut transactions = std::collections::BTreeSet::new();
        for a in answers {
            assert_eq!(
                (a["status"].as_u64(), a["body"].as_str()),
                (Some(200), Some("the answer")),
                "{a} {log}"
            );
            assert_eq!(a["receipt"]["success"], true, "{a}");
            assert_eq!(a["receipt"]["payer"], self.w.client.pubkey().to_string());
            transactions.insert(a["receipt"]["transaction"].as_str().unwrap().to_string());
        }
        assert_eq!(transactions.len(), n, "a transfer per request");
        self.paid_exactly(n as u64).await;
    }
}

/// x402-rs's reqwest middleware (`x402-reqwest` 2.0) with its Solana
/// `exact` client registered: the whole client is theirs (parsing the 402,
/// choosing the offer, the transaction, the retry); two requests, two
/// transfers, each served once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn x402_reqwest_pays_serve() {
    use x402_reqwest::{ReqwestWithPayments, ReqwestWithPaymentsBuild};
    let s = setup().await;
    let rpc = std::sync::Arc::new(
        solana_client::nonblocking::rpc_client::RpcClient::new_with_commitment(
            s.url.clone(),
            CommitmentConfig::confirmed(),
        ),
    );
    let x402 =
        x402_reqwest::X402Client::new().register(x402_chain_solana::V2SolanaExactClient::new(
            std::sync::Arc::new(s.w.client.insecure_clone()),
            rpc,
        ));
    let http = reqwest013::Client::new().with_payments(x402).build();
    for i in 0..2 {
        let answer = http
            .get(format!("{}/api/reqwest{i}", s.gateway))
            .send()
            .await
            .unwrap();
        let log = std::fs::read_to_string(&s.log).unwrap_or_default();
        assert_eq!(answer.status().as_u16(), 200, "{log}");
        let receipt: SettlementResponse = x402::decode_header(
            x402::PAYMENT_RESPONSE,
            answer.headers()[x402::PAYMENT_RESPONSE].as_bytes(),
        )
        .unwrap();
        assert!(receipt.success && !receipt.transaction.is_empty());
        assert_eq!(answer.text().await.unwrap(), "the answer");
    }
    s.paid_exactly(2).await;
}

/// `micropay fetch` pays a peer's server (x402-rs: `x402-axum`'s
/// middleware, settling through `x402-facilitator-local` with
/// `x402-chain-solana`'s `exact` facilitator, all on the local node): its
/// 402 offers only `exact`, the wallet has no escrow, and the paying
/// middleware signs a transfer within `--budget`; the peer settles it and
/// serves once. Past the budget `fetch` signs nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn micropay_fetch_pays_a_peer_server() {
    let s = setup().await;
    let network = x402::network(&s.ledger.genesis_hash().await.unwrap());
    let facilitator =
        common::peer_server::facilitator(&network, &s.url, s.w.fee_payer.insecure_clone()).await;
    let (peer, served) = common::peer_server::server(
        &facilitator,
        &network,
        (s.w.mint, 6, PRICE),
        s.w.terms.pay_to,
    )
    .await;
    let keypair = s._dir.path().join("client.json");
    common::write_key(&keypair, &s.w.client);
    let fetch = |budget: &str| {
        assert_cmd::Command::cargo_bin("micropay")
            .unwrap()
            .env("HOME", s._dir.path())
            .args([
                "-u",
                &s.url,
                "-k",
                keypair.to_str().unwrap(),
                "--output",
                "json",
            ])
            .args(["fetch", &format!("{peer}/peer/weather")])
            .args(["--mint", &s.w.mint.to_string(), "--budget", budget])
            .args(["--store", s._dir.path().join("payer.db").to_str().unwrap()])
            .assert()
    };
    let before = accounts::token_amount(&s.ledger, &s.w.destination)
        .await
        .unwrap();
    let paid = fetch("0.001").success();
    let v: serde_json::Value = serde_json::from_slice(&paid.get_output().stdout).unwrap();
    assert_eq!(v["status"], 200, "{v}");
    assert_eq!(v["body"], "sunny at the peer's");
    assert_eq!(v["paid"], PRICE);
    assert_eq!(
        accounts::token_amount(&s.ledger, &s.w.destination)
            .await
            .unwrap(),
        before + PRICE,
        "the peer's facilitator settled exactly one price"
    );
    assert_eq!(served.load(Ordering::SeqCst), 1);
    // a budget below the price: nothing signed, nothing moved
    fetch("0.0009").failure();
    assert_eq!(
        accounts::token_amount(&s.ledger, &s.w.destination)
            .await
            .unwrap(),
        before + PRICE
    );
    assert_eq!(served.load(Ordering::SeqCst), 1);
}

/// `serve` with `facilitator = URL`: its `exact` offers name a peer's
/// facilitator's fee payer (x402-facilitator-local with x402-chain-solana's
/// facilitator, on the local node); a payment is checked and recorded by
/// `serve`, then verified and settled by the facilitator, and served once,
/// its receipt naming the transaction that landed. Our client's transfer
/// and x402-rs's both; a wrong amount is refused by `serve` before anything
/// is forwarded.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_forwards_exact_payments_to_a_facilitator() {
    use x402_types::scheme::client::X402SchemeClient;
    let s = setup_with(Settles::Facilitator).await;
    let target = format!("{}/api/remote", s.gateway);
    let asked = reqwest::get(&target).await.unwrap();
    let header = asked.headers()[x402::PAYMENT_REQUIRED].as_bytes().to_vec();
    let required: PaymentRequired = x402::decode_header(x402::PAYMENT_REQUIRED, &header).unwrap();
    let offer = required.accepts[1].exact().expect("exact").clone();
    assert_eq!(
        offer.extra.fee_payer,
        s.w.fee_payer.pubkey().to_string(),
        "the facilitator's fee payer"
    );
    let pay = |transaction: String| {
        x402::encode_header(&ExactPaymentPayload {
            x402_version: x402::X402_VERSION,
            resource: Some(required.resource.clone()),
            accepted: offer.clone(),
            payload: ExactPayload { transaction },
            extensions: Default::default(),
        })
    };
    // wrong amount: refused here, never forwarded
    let short = pay(s.w.payment(&s.ledger, PRICE - 1, 6).await);
    let (status, _, _) = paid_get(&target, &short).await;
    assert_eq!(status, 402);
    // ours, then the same again
    let payment = pay(s.w.payment(&s.ledger, PRICE, 6).await);
    let (status, receipt, body) = paid_get(&target, &payment).await;
    let log = std::fs::read_to_string(&s.log).unwrap_or_default();
    assert_eq!((status, body.as_str()), (200, "the answer"), "{log}");
    let receipt = receipt.unwrap();
    assert!(
        s.ledger
            .transaction_events(&receipt.transaction.parse().unwrap())
            .await
            .is_ok(),
        "the receipt names the landed transaction"
    );
    let (again, _, _) = paid_get(&target, &payment).await;
    assert_eq!(again, 402, "one transaction, one serving");
    // x402-rs's client through serve and the facilitator
    let v2: x402_types::proto::v2::PaymentRequired<x402_types::proto::OriginalJson> =
        x402::decode_header(x402::PAYMENT_REQUIRED, &header).unwrap();
    let rpc = std::sync::Arc::new(
        solana_client::nonblocking::rpc_client::RpcClient::new_with_commitment(
            s.url.clone(),
            CommitmentConfig::confirmed(),
        ),
    );
    let client = x402_chain_solana::V2SolanaExactClient::new(
        std::sync::Arc::new(s.w.client.insecure_clone()),
        rpc,
    );
    let candidates = client.accept(&x402_types::proto::PaymentRequired::V2(v2));
    let signed = candidates[0].sign().await.unwrap();
    let (status, _, _) = paid_get(&target, &signed).await;
    assert_eq!(
        status,
        200,
        "{}",
        std::fs::read_to_string(&s.log).unwrap_or_default()
    );
    s.paid_exactly(2).await;
}

/// A `facilitator` that cannot be reached stops `serve` at start with what
/// to fix (never a gateway whose `exact` offers name no fee payer); one
/// that is not a URL is refused by `--check`, before the cluster is asked.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_facilitator_that_cannot_be_used_stops_serve() {
    let s = setup().await;
    let config = s._dir.path().join("serve.toml");
    let original = std::fs::read_to_string(&config).unwrap();
    let key = s._dir.path().join("fee-payer.json");
    let run = |facilitator: &str, check: bool| {
        std::fs::write(
            &config,
            format!("facilitator = \"{facilitator}\"\n{original}"),
        )
        .unwrap();
        let mut cmd = assert_cmd::Command::cargo_bin("micropay").unwrap();
        cmd.env("HOME", s._dir.path())
            .args(["-u", &s.url, "-k", key.to_str().unwrap()])
            .args(["serve", "-c", config.to_str().unwrap()]);
        if check {
            cmd.arg("--check");
        }
        cmd.timeout(std::time::Duration::from_secs(60))
            .assert()
            .code(1)
    };
    let stderr =
        |a: assert_cmd::assert::Assert| String::from_utf8_lossy(&a.get_output().stderr).to_string();
    let unreachable = stderr(run("http://127.0.0.1:1", false));
    assert!(
        unreachable.contains("cannot be reached") && unreachable.contains("fix `facilitator`"),
        "{unreachable}"
    );
    let not_a_url = stderr(run("ftp://example", true));
    assert!(
        not_a_url.contains("`facilitator` must be an http:// or https:// URL"),
        "{not_a_url}"
    );
}
