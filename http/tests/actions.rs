//! The Solana Actions funding flow on the embedded bank, as a wallet runs it:
//! discovery (`actions.json`, GET metadata, CORS and Actions headers), then
//! POST `{account}`, sign the returned transaction, send it. It deposits
//! (creating the escrow when missing) and opens no channel: a voucher key
//! is the payer's client's to derive, never a link's to name. Bad requests
//! say what is wrong.
#![allow(clippy::arithmetic_side_effects)]

use anchor_spl::token::spl_token::{native_mint::ID as SOL, ID as TOKEN};
use axum::{body::Body, Router};
use base64::Engine;
use http::{Request, Response, StatusCode};
use http_body_util::BodyExt;
use micropay_client::{
    accounts,
    ledger::{embedded::EmbeddedLedger, ChannelFilter, Ledger},
};
use micropay_http::actions::{router, FundAction, FundResponse};
use micropay_sdk::{pda, tokens, x402};
use serde_json::Value;
use solana_sdk::{
    pubkey::Pubkey,
    signature::{Keypair, Signer},
    transaction::Transaction,
};
use std::sync::Arc;
use tower::ServiceExt;

async fn call(app: &Router, method: &str, uri: &str, body: Option<Value>) -> Response<Body> {
    let request = Request::builder()
        .method(method)
        .uri(uri)
        .header("content-type", "application/json")
        .body(body.map_or_else(Body::empty, |b| Body::from(b.to_string())))
        .unwrap();
    app.clone().oneshot(request).await.unwrap()
}

async fn json(response: Response<Body>) -> Value {
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    serde_json::from_slice(&bytes).unwrap()
}

/// Signs the action's transaction as a wallet would and sends it.
async fn sign_and_send(ledger: &EmbeddedLedger, wallet: &Keypair, response: &FundResponse) {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(&response.transaction)
        .unwrap();
    let mut tx: Transaction = bincode::deserialize(&bytes).unwrap();
    assert_eq!(
        tx.message.account_keys[0],
        wallet.pubkey(),
        "the wallet pays"
    );
    let blockhash = tx.message.recent_blockhash;
    tx.try_sign(&[wallet], blockhash).unwrap();
    ledger.submit(&tx).await.unwrap();
}

#[tokio::test]
async fn a_wallet_funds_its_escrow_through_actions_and_names_no_voucher_key() {
    let ledger = Arc::new(EmbeddedLedger::start().await);
    let wallet = Keypair::new();
    ledger
        .airdrop(&wallet.pubkey(), 10_000_000_000)
        .await
        .unwrap();
    let creator = Pubkey::new_unique();
    let network = x402::network(&ledger.genesis_hash().await.unwrap());
    let app = router(
        ledger.clone(),
        FundAction {
            creator,
            mint: SOL,
            token_program: TOKEN,
            decimals: 9,
            symbol: "SOL".into(),
            network: network.clone(),
            title: "Weather API".into(),
            description: "Pay per request".into(),
            icon: "https://example.test/icon.png".into(),
        },
    );

    // discovery, with the headers the spec asks for on every response
    let rules = call(&app, "GET", "/actions.json", None).await;
    assert_eq!(rules.status(), StatusCode::OK);
    let h = rules.headers();
    assert_eq!(h["access-control-allow-origin"], "*");
    assert_eq!(h["x-action-version"], "2.4");
    assert_eq!(h["x-blockchain-ids"], network.as_str());
    assert_eq!(json(rules).await["rules"][0]["apiPath"], "/actions/**");
    let preflight = call(&app, "OPTIONS", "/actions/fund", None).await;
    assert_eq!(preflight.status(), StatusCode::OK);
    assert!(preflight.headers()["access-control-allow-headers"]
        .to_str()
        .unwrap()
        .contains("X-Action-Version"));
    let meta = json(call(&app, "GET", "/actions/fund", None).await).await;
    assert_eq!(meta["type"], "action");
    assert_eq!(meta["title"], "Weather API");
    let link = &meta["links"]["actions"][0];
    assert_eq!(link["type"], "transaction");
    assert_eq!(link["href"], "/actions/fund?amount={amount}");
    assert_eq!(link["parameters"][0]["name"], "amount");

    // a wallet without an escrow: escrow + deposit in one transaction, and
    // no channel: the voucher key is the payer's client's to derive
    let account = serde_json::json!({ "account": wallet.pubkey().to_string() });
    let first = call(
        &app,
        "POST",
        "/actions/fund?amount=0.5",
        Some(account.clone()),
    )
    .await;
    assert_eq!(first.status(), StatusCode::OK);
    let first: FundResponse = serde_json::from_value(json(first).await).unwrap();
    assert_eq!(first.kind, "transaction");
    assert!(first.links.is_none());
    assert!(
        first.message.contains("derives from your wallet"),
        "{}",
        first.message
    );
    sign_and_send(&ledger, &wallet, &first).await;
    let escrow = pda::escrow(&wallet.pubkey(), &SOL).0;
    let balance = || async {
        accounts::escrow(ledger.as_ref(), &escrow)
            .await
            .unwrap()
            .unwrap()
            .balance
    };
    assert_eq!(balance().await, 500_000_000);
    // the temporary wSOL account was closed again
    let ata = tokens::CreateAssociatedTokenAccount {
        payer: wallet.pubkey(),
        owner: wallet.pubkey(),
        mint: SOL,
        token_program: TOKEN,
    }
    .address();
    assert!(ledger.account(&ata).await.unwrap().is_none());

    // with an escrow: a deposit, again no channel
    let again = call(
        &app,
        "POST",
        "/actions/fund?amount=0.1",
        Some(account.clone()),
    )
    .await;
    let again: FundResponse = serde_json::from_value(json(again).await).unwrap();
    sign_and_send(&ledger, &wallet, &again).await;
    assert_eq!(balance().await, 600_000_000);
    let channels = ledger
        .channels(ChannelFilter::Escrow(escrow))
        .await
        .unwrap();
    assert!(
        channels.is_empty(),
        "no channel with a key the wallet's client did not make"
    );

    // issue 25: a link naming the voucher key is refused (its author could
    // spend the deposit), and so are the old channel-opening steps
    let linked = call(
        &app,
        "POST",
        &format!(
            "/actions/fund?amount=0.5&session={}",
            Keypair::new().pubkey()
        ),
        Some(account.clone()),
    )
    .await;
    assert_eq!(linked.status(), StatusCode::BAD_REQUEST);
    assert!(json(linked).await["message"]
        .as_str()
        .unwrap()
        .contains("cannot choose your voucher key"));
    for gone in ["/actions/open?amount=0.5", "/actions/fund/next?amount=0.5"] {
        let response = call(&app, "POST", gone, Some(account.clone())).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{gone}");
    }

    // bad requests: 400 with a message, nothing built
    for (uri, body) in [
        ("/actions/fund?amount=0.5", None),
        (
            "/actions/fund?amount=0.5",
            Some(serde_json::json!({ "account": "not-a-key" })),
        ),
        ("/actions/fund?amount=abc", Some(account.clone())),
        ("/actions/fund?amount=0", Some(account.clone())),
        ("/actions/fund?amount=0.0000000001", Some(account.clone())),
        ("/actions/fund?amount=1&session=xyz", Some(account.clone())),
    ] {
        let response = call(&app, "POST", uri, body).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{uri}");
        assert!(response.headers().contains_key("x-action-version"));
        let message = json(response).await["message"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(!message.is_empty(), "{uri}");
    }
}

/// An unreachable cluster behind an RPC URL with credentials in user info,
/// path and query: the Action answers 503 with a code, and no part of the
/// URL or of the internal error.
#[tokio::test]
async fn an_unreachable_cluster_never_leaks_the_rpc_url() {
    let ledger = Arc::new(micropay_client::ledger::rpc::RpcLedger::new(
        "http://user:SECRETPW@127.0.0.1:1/v2/SECRETPATH?api-key=SECRETKEY",
        solana_commitment_config::CommitmentConfig::confirmed(),
    ));
    let app = router(
        ledger,
        FundAction {
            creator: Pubkey::new_unique(),
            mint: SOL,
            token_program: TOKEN,
            decimals: 9,
            symbol: "SOL".into(),
            network: "solana:local".into(),
            title: "t".into(),
            description: "d".into(),
            icon: "https://example.test/icon.png".into(),
        },
    );
    let account = serde_json::json!({ "account": Pubkey::new_unique().to_string() });
    for uri in ["/actions/fund?amount=0.5"] {
        let response = call(&app, "POST", uri, Some(account.clone())).await;
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE, "{uri}");
        let headers = format!("{:?}", response.headers());
        let text = json(response).await.to_string();
        assert!(text.contains("cluster_unavailable"), "{text}");
        for shown in [&text, &headers] {
            assert!(
                !shown.contains("SECRET") && !shown.contains("127.0.0.1:1"),
                "{shown}"
            );
        }
    }
}
