//! Solana Actions for people with wallets: `GET /actions/fund` describes
//! the action, `POST /actions/fund?amount=<UI>` with `{"account": <wallet>}`
//! returns a transaction for the wallet to sign that deposits `amount` into
//! the wallet's micropay escrow (creating it when missing). `GET
//! /actions.json` maps the site's paths to it. Every response carries the
//! CORS headers, `X-Action-Version` and `X-Blockchain-Ids` the Actions spec
//! asks for; `OPTIONS` answers preflights.
//!
//! It opens **no channel**: a channel's voucher key signs money away, so it
//! must be a key the payer's own client made or derives from the wallet
//! ([`micropay_sdk::session`]) — never one a link names (a link's author
//! would then spend the deposit), never the wallet itself (every app the
//! wallet signs for could), never one the server makes (the server is the
//! party paid). The payer's micropay client (`micropay fetch`, the
//! [`crate::pay`] middleware) opens the channel from the escrow's free
//! balance with its derived key when it first pays. A link naming a voucher
//! key (`session=`) is refused.
//!
//! For wrapped SOL the transaction wraps the lamports through the wallet's
//! associated wSOL account (created if missing, and closed again at the end
//! when this transaction created it).

use axum::{
    body::Body,
    extract::{Query, State},
    response::Response,
    routing::get,
    Router,
};
use http::{header, HeaderValue, StatusCode};
use micropay_client::{accounts, ledger::Ledger, micropay::state::Escrow};
use micropay_sdk::{
    amount::{format_ui as ui, parse_ui},
    instructions as mix, pda, tokens,
};
use serde::{Deserialize, Serialize};
use solana_sdk::{
    instruction::Instruction, message::Message, pubkey::Pubkey, transaction::Transaction,
};
use std::sync::Arc;

/// The Actions spec version this server follows.
pub const ACTION_VERSION: &str = "2.4";

/// What the fund action offers.
#[derive(Clone, Debug)]
pub struct FundAction {
    /// The creator the channel pays.
    pub creator: Pubkey,
    /// The mint deposited.
    pub mint: Pubkey,
    /// Its token program.
    pub token_program: Pubkey,
    /// Its decimals.
    pub decimals: u8,
    /// Its symbol, for labels ("SOL").
    pub symbol: String,
    /// CAIP-2 id of the cluster (`X-Blockchain-Ids`).
    pub network: String,
    /// Title shown by wallets.
    pub title: String,
    /// What the action does, shown by wallets.
    pub description: String,
    /// Icon URL (absolute, or a path on this server).
    pub icon: String,
}

#[derive(Clone)]
struct ActionsState {
    ledger: Arc<dyn Ledger>,
    fund: Arc<FundAction>,
}

/// The Actions routes: `/actions.json`, `/actions/fund`.
pub fn router(ledger: Arc<dyn Ledger>, fund: FundAction) -> Router {
    Router::new()
        .route("/actions.json", get(actions_json).options(preflight))
        .route(
            "/actions/fund",
            get(describe).post(fund_post).options(preflight),
        )
        .with_state(ActionsState {
            ledger,
            fund: Arc::new(fund),
        })
}

fn with_headers(network: &str, status: StatusCode, body: Body) -> Response {
    let mut r = Response::new(body);
    *r.status_mut() = status;
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    h.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    h.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("GET,POST,PUT,OPTIONS"),
    );
    h.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static(
            "Content-Type, Authorization, Content-Encoding, Accept-Encoding, X-Action-Version, X-Blockchain-Ids",
        ),
    );
    h.insert(
        header::ACCESS_CONTROL_EXPOSE_HEADERS,
        HeaderValue::from_static("X-Action-Version, X-Blockchain-Ids"),
    );
    h.insert("x-action-version", HeaderValue::from_static(ACTION_VERSION));
    if let Ok(v) = HeaderValue::from_str(network) {
        h.insert("x-blockchain-ids", v);
    }
    r
}

fn json<T: Serialize>(network: &str, status: StatusCode, value: &T) -> Response {
    with_headers(
        network,
        status,
        Body::from(serde_json::to_vec(value).unwrap_or_default()),
    )
}

/// An Actions error body: `{"message": ...}`.
fn error(network: &str, status: StatusCode, message: String) -> Response {
    json(network, status, &serde_json::json!({ "message": message }))
}

async fn preflight(State(s): State<ActionsState>) -> Response {
    with_headers(&s.fund.network, StatusCode::OK, Body::empty())
}

async fn actions_json(State(s): State<ActionsState>) -> Response {
    json(
        &s.fund.network,
        StatusCode::OK,
        &serde_json::json!({
            "rules": [{ "pathPattern": "/actions/**", "apiPath": "/actions/**" }]
        }),
    )
}

async fn describe(State(s): State<ActionsState>) -> Response {
    let f = &s.fund;
    json(
        &f.network,
        StatusCode::OK,
        &serde_json::json!({
            "type": "action",
            "icon": f.icon,
            "title": f.title,
            "description": f.description,
            "label": format!("Fund with {}", f.symbol),
            "links": { "actions": [{
                "type": "transaction",
                "label": format!("Deposit {} into micropay", f.symbol),
                "href": "/actions/fund?amount={amount}",
                "parameters": [{
                    "type": "number",
                    "name": "amount",
                    "label": format!("Amount in {}", f.symbol),
                    "required": true
                }]
            }]}
        }),
    )
}

/// Query of the POST.
#[derive(Debug, Deserialize)]
pub struct FundQuery {
    /// UI amount deposited.
    pub amount: String,
    /// A voucher key named by the link: always refused (see the module docs).
    pub session: Option<String>,
}

/// Body of the POST (Actions `ActionPostRequest`).
#[derive(Debug, Deserialize)]
pub struct FundRequest {
    /// The wallet, base58.
    pub account: String,
}

/// Response of the POST (Actions `TransactionResponse`).
#[derive(Debug, Serialize, Deserialize)]
pub struct FundResponse {
    /// Always "transaction".
    #[serde(rename = "type")]
    pub kind: String,
    /// Base64 of the unsigned transaction (the wallet pays and signs).
    pub transaction: String,
    /// What it does.
    pub message: String,
    /// The next step, when there is one (Actions chaining; none today).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub links: Option<serde_json::Value>,
}

/// Why a link naming a voucher key is refused.
pub const NO_LINKED_KEY: &str = "a link cannot choose your voucher key (whoever holds it spends your deposit): \
     remove `session=`; your micropay client derives the key from your wallet when it opens the channel";

/// Reads the wallet and the amount of a POST, or says what is wrong with it.
fn request(f: &FundAction, q: &FundQuery, body: &[u8]) -> Result<(Pubkey, u64), String> {
    if q.session.is_some() {
        return Err(NO_LINKED_KEY.into());
    }
    let Ok(body) = serde_json::from_slice::<FundRequest>(body) else {
        return Err("send {\"account\": \"<your wallet address>\"} as JSON".into());
    };
    let Ok(wallet) = body.account.parse::<Pubkey>() else {
        return Err(format!("`{}` is not a wallet address", body.account));
    };
    let Some(amount) = parse_ui(&q.amount, f.decimals).filter(|a| *a > 0) else {
        return Err(format!(
            "amount `{}` must be above zero with at most {} decimals",
            q.amount, f.decimals
        ));
    };
    Ok((wallet, amount))
}

async fn fund_post(
    State(s): State<ActionsState>,
    Query(q): Query<FundQuery>,
    body: axum::body::Bytes,
) -> Response {
    let f = &s.fund;
    let (wallet, amount) = match request(f, &q, &body) {
        Ok(r) => r,
        Err(message) => return error(&f.network, StatusCode::BAD_REQUEST, message),
    };
    match fund_transaction(s.ledger.as_ref(), f, wallet, amount).await {
        Ok((tx, message)) => json(
            &f.network,
            StatusCode::OK,
            &FundResponse {
                kind: "transaction".into(),
                transaction: base64_encode(&tx),
                message,
                links: None,
            },
        ),
        Err(e) => unavailable(f, e),
    }
}

/// A `503`: the details (which may name the RPC URL) go to the log only.
fn unavailable(f: &FundAction, e: micropay_client::ClientError) -> Response {
    tracing::warn!(error = %e, "fund action: cannot build the transaction");
    error(
        &f.network,
        StatusCode::SERVICE_UNAVAILABLE,
        "cannot build the transaction now (cluster_unavailable); try again".into(),
    )
}

async fn unsigned(
    ledger: &dyn Ledger,
    ixs: &[Instruction],
    wallet: &Pubkey,
) -> Result<Transaction, micropay_client::ClientError> {
    let blockhash = ledger.latest_blockhash().await?;
    Ok(Transaction::new_unsigned(Message::new_with_blockhash(
        ixs,
        Some(wallet),
        &blockhash,
    )))
}

fn base64_encode(tx: &Transaction) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bincode::serialize(tx).unwrap_or_default())
}

/// The unsigned funding transaction and what it does.
async fn fund_transaction(
    ledger: &dyn Ledger,
    f: &FundAction,
    wallet: Pubkey,
    amount: u64,
) -> Result<(Transaction, String), micropay_client::ClientError> {
    let escrow_address = pda::escrow(&wallet, &f.mint).0;
    let existing: Option<Escrow> = accounts::escrow(ledger, &escrow_address).await?;
    let mut ixs: Vec<Instruction> = Vec::new();
    let ata = tokens::CreateAssociatedTokenAccount {
        payer: wallet,
        owner: wallet,
        mint: f.mint,
        token_program: f.token_program,
    };
    let source = ata.address();
    let sol = f.mint == anchor_spl::token::spl_token::native_mint::ID;
    let created_ata = sol && ledger.account(&source).await?.is_none();
    if sol {
        ixs.push(ata.instruction());
        ixs.extend(
            tokens::WrapSol {
                from: wallet,
                account: source,
                lamports: amount,
            }
            .instructions()?,
        );
    }
    if existing.is_none() {
        ixs.push(
            mix::InitEscrow {
                owner: wallet,
                mint: f.mint,
                token_program: f.token_program,
            }
            .instruction(),
        );
    }
    ixs.push(
        mix::Deposit {
            depositor: wallet,
            escrow: escrow_address,
            mint: f.mint,
            source,
            token_program: f.token_program,
            amount,
        }
        .instruction(),
    );
    let message = format!(
        "deposits {} {} into your micropay escrow{}; your micropay client opens the channel to {} with a voucher key it derives from your wallet",
        ui(amount, f.decimals),
        f.symbol,
        if existing.is_none() { " (a new one)" } else { "" },
        f.creator
    );
    if created_ata {
        ixs.push(
            tokens::UnwrapSol {
                account: source,
                owner: wallet,
                to: wallet,
            }
            .instruction()?,
        );
    }
    Ok((unsigned(ledger, &ixs, &wallet).await?, message))
}
