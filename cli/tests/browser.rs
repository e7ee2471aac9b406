//! Paying per use from a browser wallet (issue 29), in headless Chromium:
//! the page of `ts/examples/browser` served through `micropay serve` (a free
//! route) next to the API it sells (`/api/*`), a real Wallet Standard
//! wallet registered in the page over a test key, `micropay node` under
//! both. The driver (`ts/examples/browser/browser-flow.ts`, Playwright)
//! connects, creates the escrow, declines once (nothing opened), funds and
//! opens in one approval, pays 200 uses with no prompt, is stopped at the
//! budget, closes the tab while a paid use is in flight (a new tab sends
//! that voucher again, never a second one for it), wipes the page's
//! storage and reloads (the channel is found on chain, the server's held
//! voucher resyncs it), pays 10 more and closes; the creator's earnings
//! then equal what the gateway counted, to the lamport, and past the
//! dispute window (the node's clock moved) the page takes the refund of the
//! rest. First, the store conformance suite runs on Chromium's own
//! IndexedDB. The screenshot is `docs/browser.png`'s source.
//!
//! Needs Node.js with `ts/node_modules` and Chromium (`/usr/bin/chromium`,
//! or `MICROPAY_CHROMIUM`). Without them it says how to get them and
//! passes, unless `MICROPAY_REQUIRE_BROWSER=1` (set by `.ci/run`, which
//! installs Debian's `chromium`).
#![allow(clippy::arithmetic_side_effects)] // counts and prices in a test

mod common;

use anchor_spl::token::spl_token::native_mint::ID as SOL;
use axum::{http::header, response::IntoResponse, routing::get};
use micropay_client::ledger::rpc::RpcLedger;
use solana_commitment_config::CommitmentConfig;
use solana_sdk::signature::{Keypair, Signer};
use std::{
    path::{Path, PathBuf},
    sync::atomic::Ordering,
    time::Duration,
};

/// Lamports per use.
const PRICE: u64 = 10_000;
/// Uses paid before the reload.
const USES: u64 = 200;
/// Uses paid after it (`AFTER_RELOAD` in the driver).
const AFTER_RELOAD: u64 = 10;

fn chromium() -> Option<PathBuf> {
    let path = std::env::var_os("MICROPAY_CHROMIUM")
        .map_or_else(|| PathBuf::from("/usr/bin/chromium"), PathBuf::from);
    path.exists().then_some(path)
}

/// Whether the browser test can run here (see the module docs).
fn available() -> Option<PathBuf> {
    let found = chromium().filter(|_| common::peers::available());
    let how = "install Node.js and Debian's chromium (apt-get install chromium), and run `npm ci --prefix ts`";
    common::peers::installed_or_skip(found.is_some(), "browser", "MICROPAY_REQUIRE_BROWSER", how);
    found
}

/// The page's files (built by the driver before it loads the page).
fn page_file(name: &'static str, mime: &'static str) -> axum::routing::MethodRouter {
    get(move || async move {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../ts/examples/browser/dist");
        let body = std::fs::read(dir.join(name)).unwrap_or_default();
        ([(header::CONTENT_TYPE, mime)], body).into_response()
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_browser_wallet_pays_per_use() {
    let Some(chromium) = available() else { return };
    let seed: [u8; 32] = rand::random();
    let wallet = Keypair::new_from_array(seed);
    let (creator, fee_payer) = (Keypair::new(), Keypair::new());
    let (_node, story) = common::story::Story::start(&[
        ("wallet", &wallet),
        ("creator", &creator),
        ("fee-payer", &fee_payer),
    ]);
    story.ok("creator.json", &["earnings", "init", "--mint", "sol"]);
    let (dir, url) = (&story.dir, story.url.clone());
    let fee_payer_key = story.path("fee-payer.json").to_str().unwrap().to_string();

    // the upstream: the page (free) and the API (sold by serve)
    let (api, served) = common::serve::counted_api_router();
    let site = api
        .route("/", page_file("index.html", "text/html; charset=utf-8"))
        .route("/app.js", page_file("app.js", "text/javascript"));
    let upstream = common::serve::upstream(site).await;
    let config = dir.path().join("serve.toml");
    std::fs::write(
        &config,
        format!(
            "upstream = \"{upstream}\"\nlisten = \"127.0.0.1:0\"\nstore = \"{}\"\nmints = [\"sol\"]\npayee = \"{}\"\n\n\
             [watch]\npoll_secs = 1\nplan_secs = 1\n\n[[route]]\npath = \"/api/*\"\nprice = {{ sol = \"0.00001\" }}\n",
            dir.path().join("receiver.db").display(),
            creator.pubkey()
        ),
    )
    .unwrap();
    let log = dir.path().join("serve.log");
    let (serve, banner) = common::serve::start(dir.path(), &url, &fee_payer_key, &config, &log);
    let _serve = common::serve::Running(serve);
    let gateway = banner["url"].as_str().unwrap().to_string();
    let screenshot = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/browser.png");
    let seed_hex: String = seed.iter().map(|b| format!("{b:02x}")).collect();

    let out = common::peers::run(
        "browser-flow",
        &[
            ("PAGE_URL", &format!("{gateway}/?rpc={url}&api=/api/item")),
            ("WALLET_SEED", &seed_hex),
            ("USES", &USES.to_string()),
            ("PRICE", &PRICE.to_string()),
            ("SCREENSHOT", screenshot.to_str().unwrap()),
            ("CHROMIUM", chromium.to_str().unwrap()),
        ],
    )
    .await;
    let serve_log = || std::fs::read_to_string(&log).unwrap_or_default();
    // the store conformance suite on Chromium's own IndexedDB
    let checks = out["storeChecks"].as_array().unwrap();
    assert!(checks.len() >= 6, "{out}");
    assert!(checks.iter().all(|c| c["ok"] == true), "{out}");
    let steps = &out["steps"];
    assert!(
        steps["offer"]
            .as_str()
            .unwrap()
            .contains("10000 base units"),
        "{out}"
    );
    assert!(
        steps["refused"]
            .as_str()
            .unwrap()
            .contains("You declined in your wallet"),
        "{out}"
    );
    assert_eq!(steps["channelAfterRefusal"], "none", "{out}");
    // the escrow's transaction, the declined message, then one message (the
    // session key) and one transaction (fund + open)
    assert_eq!(
        out["asked"]["afterOpen"],
        serde_json::json!({ "transactions": 2, "messages": 2 }),
        "{out}"
    );
    // never asked per use
    assert_eq!(
        out["asked"]["afterUses"], out["asked"]["afterOpen"],
        "{out}"
    );
    assert_eq!(out["servedBeforeReload"], USES, "{out}\n{}", serve_log());
    assert!(
        steps["overBudget"]
            .as_str()
            .unwrap()
            .contains("Stopped at your budget"),
        "{out}"
    );
    assert_eq!(
        steps["spentShown"],
        (USES * PRICE).to_string(),
        "nothing signed past the budget: {out}"
    );
    assert!(
        steps["recovered"].as_str().unwrap().starts_with(
            steps["channel"]
                .as_str()
                .unwrap()
                .split(' ')
                .next()
                .unwrap()
        ),
        "{out}"
    );
    assert_eq!(
        out["servedAfterReload"],
        AFTER_RELOAD,
        "{out}\n{}",
        serve_log()
    );
    // the recovered channel's first voucher is refused: `stale` (the server
    // holds more) gives it back; `duplicate` (the creator's claim had landed
    // one use behind, so it is the server's very voucher) keeps it counted,
    // as a hostile server could echo any fresh voucher
    let spent_after_reload: u64 = steps["spentAfterReload"].as_str().unwrap().parse().unwrap();
    assert!(
        [AFTER_RELOAD, AFTER_RELOAD + 1].contains(&(spent_after_reload / PRICE))
            && spent_after_reload.is_multiple_of(PRICE),
        "{out}"
    );
    assert_eq!(out["errors"], serde_json::json!([]), "{out}");
    assert_eq!(out["consoleErrors"], serde_json::json!([]), "{out}");
    let counted = served.load(Ordering::SeqCst) as u64;
    // the closed tab's request reached the gateway or not; if it did, its
    // use was served without the tab (a paid request runs to its end).
    // Either way the new tab's one use, and the spending is what was served
    assert_eq!(steps["servedAfterClosedTab"], 1, "{out}");
    let before_reload = counted - AFTER_RELOAD;
    assert!(
        before_reload == USES + 1 || before_reload == USES + 2,
        "{counted} served: {out}"
    );
    assert_eq!(
        steps["spentAfterClosedTab"],
        (before_reload * PRICE).to_string(),
        "each voucher signed paid for one served use, none twice: {out}"
    );

    // the page asked to close, the watcher claimed, and after the dispute
    // window the page took the rest of the allocation back to the wallet
    let allocation = PRICE * (USES + AFTER_RELOAD) * 2;
    assert_eq!(
        steps["claimedBeforeRefund"],
        (counted * PRICE).to_string(),
        "{out}"
    );
    assert_eq!(
        steps["refund"],
        format!(
            "refunded {} base units to your wallet",
            allocation - counted * PRICE
        ),
        "{out}"
    );
    // what the gateway counted is in the creator's earnings
    let ledger = RpcLedger::new(url.clone(), CommitmentConfig::confirmed());
    let earnings = micropay_sdk::pda::earnings(&creator.pubkey(), &SOL).0;
    let balance = common::serve::earnings_reaching(
        &ledger,
        &earnings,
        counted * PRICE,
        Duration::from_secs(60),
    )
    .await;
    assert_eq!(balance, counted * PRICE, "{}", serve_log());
}
