//! The `exact` side of `bench-paywall`: the same gateway taking x402's
//! `exact` — a token transfer per request, checked, co-signed by the
//! gateway's fee payer, sent and confirmed on a local node (surfpool, in
//! process, a cluster's 400 ms slots) before the request is served. Each
//! client holds tokens in its own associated account; its transfers are
//! signed before the clock starts (a fresh blockhash per level, as a
//! client signs just before it sends). The direct numbers it is compared
//! with are the micropay run's, to the same upstream.
//!
//! What it shows is what a voucher saves: a micropay request is decided
//! without the cluster, an `exact` one waits for it.

use super::{load, payment_required, percentile, start, Deploy};
use crate::Failure;
use anchor_spl::token::spl_token::ID as TOKEN;
use micropay_client::{
    accounts, exact,
    ledger::{rpc::RpcLedger, Ledger},
    receiver::{AcceptedMint, Receiver, ReceiverConfig},
    store::{ReceiverStore, SqliteStore},
    tokens,
};
use micropay_http::{
    paywall::{ExactSettlement, Paywall, PaywallConfig},
    route::{PathPattern, Price, Route},
};
use micropay_node::{LocalNode, NodeConfig};
use micropay_sdk::{
    tokens::{CreateAssociatedTokenAccount, MintTo},
    x402::{
        self,
        exact::{ExactPayload, ExactPaymentPayload, ExactRequirements, Terms},
    },
};
use solana_commitment_config::CommitmentConfig;
use solana_sdk::{
    pubkey::Pubkey,
    signature::{Keypair, Signer},
};
use std::sync::Arc;

/// Base units of the bench token per request (6 decimals: 0.001).
const PRICE: u64 = 1_000;
/// The node's slot time, ms: a cluster's.
pub const SLOT_MS: u64 = 400;
/// Clients set up per transaction.
const CLIENTS_PER_SETUP: usize = 4;

/// One concurrency level of `exact`.
#[derive(Debug, serde::Serialize)]
pub struct ExactLevel {
    pub concurrency: usize,
    /// Timed requests (one transfer each).
    pub requests: usize,
    /// Untimed warm-up requests before them: one per client.
    pub warmup: usize,
    pub paid_rps: f64,
    pub paid_p50_us: u64,
    pub paid_p99_us: u64,
    /// Over the micropay run's direct requests at this level, µs.
    pub added_p50_us: u64,
    pub added_p99_us: u64,
}

/// What the `exact` run measured.
#[derive(Debug, serde::Serialize)]
pub struct ExactBench {
    /// The local node's slot time, ms.
    pub slot_ms: u64,
    pub levels: Vec<ExactLevel>,
    /// Base units the payee's account received: one price per request
    /// served (warm-ups included), checked.
    pub transferred: u64,
}

/// The gateway on a local node, its clients, and the offer they answer.
struct World {
    _node: LocalNode,
    ledger: Arc<RpcLedger>,
    clients: Vec<Keypair>,
    payee_account: Pubkey,
    gateway: String,
    offer: ExactRequirements,
    _dir: tempfile::TempDir,
}

/// Runs `requests` timed `exact` requests at each of `concurrency` (the
/// micropay run's direct p50/p99 per level in `direct`).
pub async fn run(
    concurrency: &[usize],
    requests: usize,
    direct: &[(u64, u64)],
    deploy: Deploy,
) -> Result<ExactBench, Failure> {
    let most = concurrency.iter().copied().max().unwrap_or(1);
    let per_client: usize = concurrency
        .iter()
        .map(|c| requests.div_ceil(*c).saturating_add(1))
        .sum();
    let held = PRICE.saturating_mul(u64::try_from(per_client).unwrap_or(u64::MAX));
    let w = world(most, held, deploy).await?;
    let mut levels = Vec::with_capacity(concurrency.len());
    for (&c, &(d50, d99)) in concurrency.iter().zip(direct) {
        let per = requests.div_ceil(c);
        let headers = signed(&w, &w.clients[..c.min(w.clients.len())], per).await?;
        let (paid_rps, paid) = load(&format!("{}/data", w.gateway), headers).await?;
        let (p50, p99) = (percentile(&paid, 50), percentile(&paid, 99));
        levels.push(ExactLevel {
            concurrency: c,
            requests: per.saturating_mul(c),
            warmup: c,
            paid_rps,
            paid_p50_us: p50,
            paid_p99_us: p99,
            added_p50_us: p50.saturating_sub(d50),
            added_p99_us: p99.saturating_sub(d99),
        });
    }
    let transferred = transferred_once(&w, &levels).await?;
    Ok(ExactBench {
        slot_ms: SLOT_MS,
        levels,
        transferred,
    })
}

/// A local node with a token, `clients` clients holding `held` each, the
/// payee's account, and the gateway selling `/data` by `exact` only.
async fn world(clients: usize, held: u64, deploy: Deploy) -> Result<World, Failure> {
    let (setup, fee_payer, payee) = (Keypair::new(), Keypair::new(), Keypair::new());
    let node = LocalNode::start(NodeConfig {
        slot_time_ms: SLOT_MS,
        airdrop: vec![setup.pubkey(), fee_payer.pubkey()],
        ..NodeConfig::ephemeral().map_err(|e| Failure::user(e.to_string()))?
    })
    .map_err(|e| Failure::user(e.to_string()))?;
    let ledger = Arc::new(RpcLedger::new(
        node.rpc_url().to_string(),
        CommitmentConfig::confirmed(),
    ));
    let l: &dyn Ledger = ledger.as_ref();
    let mint = tokens::create_mint(l, &setup, &setup.pubkey(), &TOKEN, 6).await?;
    let clients: Vec<Keypair> = (0..clients).map(|_| Keypair::new()).collect();
    let payee_account = fund(l, &setup, mint, &clients, &payee.pubkey(), held).await?;
    let dir = tempfile::tempdir().map_err(|e| Failure::user(format!("temp dir: {e}")))?;
    let store: Arc<dyn ReceiverStore> = Arc::new(SqliteStore::open(dir.path().join("exact.db"))?);
    let paywall = paywall(&ledger, store, &payee.pubkey(), mint, fee_payer).await?;
    let (_upstream, gateway) = start(deploy, paywall).await?;
    let offer = offer(&gateway).await?;
    Ok(World {
        _node: node,
        ledger,
        clients,
        payee_account,
        gateway,
        offer,
        _dir: dir,
    })
}

/// Creates every client's associated account holding `held`, and the
/// payee's (empty); its address.
async fn fund(
    l: &dyn Ledger,
    setup: &Keypair,
    mint: Pubkey,
    clients: &[Keypair],
    payee: &Pubkey,
    held: u64,
) -> Result<Pubkey, Failure> {
    let ata = |owner: &Pubkey| CreateAssociatedTokenAccount {
        payer: setup.pubkey(),
        owner: *owner,
        mint,
        token_program: TOKEN,
    };
    let payee_ata = ata(payee);
    l.send(&[payee_ata.instruction()], setup, &[]).await?;
    for batch in clients.chunks(CLIENTS_PER_SETUP) {
        let mut ixs = Vec::with_capacity(batch.len().saturating_mul(2));
        for client in batch {
            let account = ata(&client.pubkey());
            ixs.push(account.instruction());
            ixs.push(
                MintTo {
                    mint,
                    account: account.address(),
                    authority: setup.pubkey(),
                    token_program: TOKEN,
                    amount: held,
                }
                .instruction()
                .map_err(|e| Failure::user(e.to_string()))?,
            );
        }
        l.send(&ixs, setup, &[]).await?;
    }
    Ok(payee_ata.address())
}

/// The gateway's paywall: `/**` at [`PRICE`] of `mint`, `exact` on, its
/// fee payer `fee_payer`.
async fn paywall(
    ledger: &Arc<RpcLedger>,
    store: Arc<dyn ReceiverStore>,
    payee: &Pubkey,
    mint: Pubkey,
    fee_payer: Keypair,
) -> Result<Paywall, Failure> {
    let accepted = AcceptedMint {
        mint,
        lamports: 1,
        per_units: 1,
    };
    let receiver = Arc::new(Receiver::new(
        ledger.clone(),
        store,
        *payee,
        ReceiverConfig::accepting([accepted]),
    ));
    let l: &dyn Ledger = ledger.as_ref();
    let route = Route {
        exact: true,
        ..Route::new(
            None,
            PathPattern::parse("/**").map_err(|e| Failure::user(e.to_string()))?,
            vec![Price {
                mint,
                amount: PRICE,
                decimals: 6,
            }],
        )
        .map_err(|e| Failure::user(e.to_string()))?
    };
    let paywall = Paywall::new(
        receiver,
        PaywallConfig {
            credit_not_found: false,
            unrouted: Default::default(),
            routes: vec![route],
            network: x402::network(&l.genesis_hash().await?),
            max_timeout_seconds: 60,
            fund_action: None,
        },
    );
    paywall.settle_exact(ExactSettlement {
        ledger: ledger.clone(),
        fee_payer: Arc::new(fee_payer),
    });
    Ok(paywall)
}

/// The gateway's `exact` offer.
async fn offer(gateway: &str) -> Result<ExactRequirements, Failure> {
    payment_required(gateway)
        .await?
        .accepts
        .iter()
        .find_map(|o| o.exact())
        .cloned()
        .ok_or_else(|| Failure::user("the paywall offered no `exact`"))
}

/// Each client's `per` timed payments and one warm-up, signed now.
async fn signed(
    w: &World,
    clients: &[Keypair],
    per: usize,
) -> Result<Vec<Vec<Option<String>>>, Failure> {
    let terms: Terms = w
        .offer
        .terms()
        .map_err(|e| Failure::user(format!("the `exact` offer cannot be read: {e}")))?;
    let mut headers = Vec::with_capacity(clients.len());
    for client in clients {
        let mut own = Vec::with_capacity(per.saturating_add(1));
        for _ in 0..=per {
            let transaction = exact::pay(w.ledger.as_ref(), client, &terms).await?;
            own.push(Some(x402::encode_header(&ExactPaymentPayload {
                x402_version: x402::X402_VERSION,
                resource: None,
                accepted: w.offer.clone(),
                payload: ExactPayload { transaction },
                extensions: Default::default(),
            })));
        }
        headers.push(own);
    }
    Ok(headers)
}

/// What the payee's account holds, which must be one price per request
/// served (warm-ups included).
async fn transferred_once(w: &World, levels: &[ExactLevel]) -> Result<u64, Failure> {
    let held = accounts::token_amount(w.ledger.as_ref(), &w.payee_account).await?;
    let served: u64 = levels
        .iter()
        .map(|l| u64::try_from(l.requests.saturating_add(l.warmup)).unwrap_or(u64::MAX))
        .sum();
    if held != served.saturating_mul(PRICE) {
        return Err(Failure::user(format!(
            "the payee holds {held} base units for {served} requests served at {PRICE}: a transfer was lost or taken twice"
        )));
    }
    Ok(held)
}
