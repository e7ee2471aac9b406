//! `micropay fetch <URL>`: curl that pays. A `402` offering micropay on this
//! cluster is answered with a voucher of a channel to the server's creator —
//! found in the payer store, found on chain (its session key is derived from
//! the wallet), or opened from the wallet's escrow — and the request is sent
//! again. Spending is capped by `--budget` for this run.
//!
//! The response body goes to stdout (text), or into the JSON result.

use super::{
    context::{emit, format_amount, parse_amount, payer_store, Ctx, MintInfo},
    Cli, Failure,
};
use clap::Args;
use micropay_client::{ledger::DynSigner, payer::Payer};
use micropay_http::pay::{Budget, Pay, PayError, PayPolicy};
use micropay_sdk::x402;
use std::{collections::BTreeMap, path::PathBuf, sync::Arc};

#[derive(Args, Debug)]
pub struct FetchArgs {
    /// The URL. (Not named `url`: that is the global `-u`.)
    #[arg(value_name = "URL")]
    pub target: String,
    /// HTTP method.
    #[arg(short = 'X', long, default_value = "GET")]
    pub method: String,
    /// A header, `Name: value`; repeat for several.
    #[arg(short = 'H', long = "header")]
    pub headers: Vec<String>,
    /// Request body.
    #[arg(short = 'd', long)]
    pub data: Option<String>,
    /// Mint to pay in: `sol` or an address.
    #[arg(long, default_value = "sol")]
    pub mint: String,
    /// Most this run may pay, in UI units of the mint.
    #[arg(long, default_value = "0.01")]
    pub budget: String,
    /// A new channel (or top-up) allocates this many requests at the price.
    #[arg(long, default_value_t = 100)]
    pub allocation_requests: u64,
    /// Payer store: a SQLite file or a `postgres://` URL (default
    /// `~/.config/micropay/payer.db`).
    #[arg(long)]
    pub store: Option<PathBuf>,
}

/// What `fetch` got.
#[derive(Debug, serde::Serialize)]
pub struct Fetched {
    pub status: u16,
    /// The server's `PAYMENT-RESPONSE`, when the request was paid.
    pub payment: Option<x402::SettlementResponse>,
    /// Paid by this run, base units and UI units.
    pub paid: u64,
    pub paid_ui: String,
    pub body: String,
}

impl std::fmt::Display for Fetched {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.body)
    }
}

pub async fn run(cli: &Cli, args: &FetchArgs) -> Result<(), Failure> {
    let method = http::Method::from_bytes(args.method.to_ascii_uppercase().as_bytes())
        .map_err(|_| Failure::user(format!("`{}` is not an HTTP method", args.method)))?;
    let headers = headers(&args.headers)?;
    let ctx = Ctx::new(cli)?;
    ctx.deployed().await?;
    let mint = ctx.mint(&args.mint).await?;
    let budget = parse_amount(&args.budget, mint.decimals)?;
    let payer = Payer::new(payer_store(args.store.as_ref())?);
    let wallet: Arc<DynSigner> = Arc::new(ctx.keypair()?.insecure_clone());
    let pay = Pay::new(
        ctx.ledger.clone(),
        wallet,
        payer,
        PayPolicy {
            budgets: BTreeMap::from([(
                mint.address,
                Budget {
                    per_creator: budget,
                    total: budget,
                },
            )]),
            allocation_requests: args.allocation_requests,
        },
    );
    let client = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
        .with(pay.clone())
        .build();
    let mut request = client.request(method, &args.target).headers(headers);
    if let Some(body) = &args.data {
        request = request.body(body.clone());
    }
    let response = request.send().await.map_err(|e| match e {
        reqwest_middleware::Error::Middleware(e) => match e.downcast::<PayError>() {
            Ok(refused) => pay_failure(refused, args, &mint),
            Err(e) => Failure::user(e.to_string()),
        },
        reqwest_middleware::Error::Reqwest(e) => Failure {
            message: format!("{}: {e}", args.target),
            code: 2,
        },
    })?;
    answer(
        cli,
        args,
        &mint,
        pay.spending().in_mint(&mint.address),
        response,
    )
    .await
}

/// Why the payment was not made, in the mint's units and the flags a
/// person sets.
fn pay_failure(refused: PayError, args: &FetchArgs, mint: &MintInfo) -> Failure {
    match refused {
        PayError::Client(c) => Failure::from(c),
        PayError::Budget { price, spent, .. } => Failure::user(format!(
            "paying {} would pass --budget {} ({} spent this run): raise --budget",
            mint.ui(price),
            mint.ui(parse_amount(&args.budget, mint.decimals).unwrap_or(0)),
            mint.ui(spent)
        )),
        PayError::NoEscrow { mint: m } => Failure::user(format!(
            "you have no escrow of {}: `micropay escrow init --mint {m}`, then `micropay escrow deposit --mint {m} <AMOUNT>`",
            mint.symbol
        )),
        PayError::EscrowShort { free, needed, mint: m } => Failure::user(format!(
            "your escrow of {} has {} free and this needs {}: `micropay escrow deposit --mint {m} <AMOUNT>` (or a smaller --allocation-requests)",
            mint.symbol,
            mint.ui(free),
            mint.ui(needed)
        )),
        other => Failure::user(other.to_string()),
    }
}

/// `-H Name: value` arguments as headers.
fn headers(args: &[String]) -> Result<http::HeaderMap, Failure> {
    let mut headers = http::HeaderMap::new();
    for h in args {
        let (name, value) = h
            .split_once(':')
            .ok_or_else(|| Failure::user(format!("header `{h}` must be `Name: value`")))?;
        let name = http::HeaderName::from_bytes(name.trim().as_bytes())
            .map_err(|_| Failure::user(format!("`{name}` is not a header name")))?;
        let value = http::HeaderValue::from_str(value.trim())
            .map_err(|_| Failure::user(format!("header `{h}` has an invalid value")))?;
        headers.append(name, value);
    }
    Ok(headers)
}

/// Prints the answer and what was paid for it; an error when payment was
/// asked and not made, or the answer is not a success.
async fn answer(
    cli: &Cli,
    args: &FetchArgs,
    mint: &MintInfo,
    paid: u64,
    response: reqwest::Response,
) -> Result<(), Failure> {
    let status = response.status();
    let payment = response
        .headers()
        .get(x402::PAYMENT_RESPONSE)
        .and_then(|v| x402::decode_header(x402::PAYMENT_RESPONSE, v.as_bytes()).ok());
    let required = micropay_http::pay::payment_required(&response);
    let body = response.text().await.map_err(|e| Failure {
        message: format!("{}: reading the body: {e}", args.target),
        code: 2,
    })?;
    let fetched = Fetched {
        status: status.as_u16(),
        payment,
        paid,
        paid_ui: format_amount(paid, mint.decimals),
        body,
    };
    emit(cli.output, &fetched);
    if paid > 0 {
        eprintln!("paid {} {}", fetched.paid_ui, mint.symbol);
    }
    if let Some(required) = required {
        let why = required
            .refusal()
            .map(|r| format!("{:?}", r.reason))
            .unwrap_or_default();
        return Err(Failure::user(format!(
            "{}: payment required and not made ({why}{}): does the server take micropay in {} on this cluster?",
            args.target,
            required
                .error
                .map(|e| format!(": {e}"))
                .unwrap_or_default(),
            mint.symbol
        )));
    }
    if !status.is_success() {
        return Err(Failure {
            message: format!("{}: HTTP {status}", args.target),
            code: 2,
        });
    }
    Ok(())
}
