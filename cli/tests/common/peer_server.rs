//! A peer's x402 stack on the local node, nobody here wrote it: the
//! facilitator of `x402-facilitator-local` with `x402-chain-solana`'s
//! `exact` scheme (its fee payer, its checks, its settlement), and a
//! resource server behind `x402-axum`'s middleware using it.

use axum::{routing::get, Router};
use solana_sdk::{pubkey::Pubkey, signature::Keypair};
use std::{
    collections::HashMap,
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    },
};
use x402_chain_solana::{
    chain::{SolanaChainProvider, SolanaChainReference, SolanaTokenDeployment},
    V2SolanaExact,
};
use x402_types::{
    chain::{ChainId, ChainRegistry},
    scheme::{
        SchemeBlueprints, SchemeConfig, SchemeRegistry, X402SchemeFacilitator,
        X402SchemeFacilitatorBuilder, X402SchemeId,
    },
};

/// x402-chain-solana's `V2SolanaExact` as a blueprint over shared
/// providers. Its own builder takes a provider by value (`'static`), the
/// registry lends each blueprint `&P`: this hands the scheme a clone of
/// the `Arc` (x402-rs's facilitator binary bridges the same gap with its
/// own provider type).
struct SolanaExact;

impl X402SchemeId for SolanaExact {
    fn namespace(&self) -> &str {
        V2SolanaExact.namespace()
    }

    fn scheme(&self) -> &str {
        "exact"
    }
}

impl<'a> X402SchemeFacilitatorBuilder<&'a Arc<SolanaChainProvider>> for SolanaExact {
    fn build(
        &self,
        provider: &'a Arc<SolanaChainProvider>,
        config: Option<serde_json::Value>,
    ) -> Result<Box<dyn X402SchemeFacilitator>, Box<dyn std::error::Error>> {
        V2SolanaExact.build(provider.clone(), config)
    }
}

/// Starts x402-facilitator-local for `exact` on the cluster of `network`
/// (its x402 id) at `rpc_url`, paying fees from `fee_payer`; its URL.
pub async fn facilitator(network: &str, rpc_url: &str, fee_payer: Keypair) -> String {
    let chain_id: ChainId = network.parse().unwrap();
    let reference = SolanaChainReference::try_from(chain_id.clone()).unwrap();
    let provider = SolanaChainProvider::new(
        fee_payer,
        rpc_url.to_string(),
        None,
        reference,
        400_000,
        1_000_000,
    )
    .await
    .unwrap();
    let chains = ChainRegistry::new(HashMap::from([(chain_id, Arc::new(provider))]));
    let schemes: Vec<SchemeConfig> = serde_json::from_value(serde_json::json!([
        { "id": "v2-solana-exact", "chains": "solana:*" }
    ]))
    .unwrap();
    let registry = SchemeRegistry::build(
        chains,
        SchemeBlueprints::new().and_register(SolanaExact),
        &schemes,
    );
    let facilitator = Arc::new(x402_facilitator_local::FacilitatorLocal::new(registry));
    let app =
        Router::new().merge(x402_facilitator_local::handlers::routes().with_state(facilitator));
    super::serve::upstream(app).await
}

/// A facilitator that lies: it names `fee_payer` for `exact` on `network`,
/// finds every payment valid, sends nothing, and answers every settle
/// with success and `transaction` (a made-up signature, or another
/// transaction's). Its URL.
pub async fn lying_facilitator(network: &str, fee_payer: String, transaction: String) -> String {
    use axum::routing::{get, post};
    let supported = serde_json::json!({ "kinds": [
        { "x402Version": 2, "scheme": "exact", "network": network, "extra": { "feePayer": fee_payer } }
    ]});
    let settled =
        serde_json::json!({ "success": true, "transaction": transaction, "network": network });
    let app = Router::new()
        .route(
            "/supported",
            get(move || async move { axum::Json(supported) }),
        )
        .route(
            "/verify",
            post(|| async { axum::Json(serde_json::json!({ "isValid": true })) }),
        )
        .route("/settle", post(move || async move { axum::Json(settled) }));
    super::serve::upstream(app).await
}

/// A resource server selling `GET /peer/weather` for `amount` base units
/// of `mint` (`decimals`) to `pay_to`, through x402-axum and the
/// facilitator at `facilitator`; its URL, and how many requests its
/// handler served.
pub async fn server(
    facilitator: &str,
    network: &str,
    (mint, decimals, amount): (Pubkey, u8, u64),
    pay_to: Pubkey,
) -> (String, Arc<AtomicUsize>) {
    let chain_id: ChainId = network.parse().unwrap();
    let reference = SolanaChainReference::try_from(chain_id).unwrap();
    let token = SolanaTokenDeployment::new(reference, mint.into(), decimals);
    let x402 = x402_axum::X402Middleware::new(facilitator).settle_before_execution();
    let served = Arc::new(AtomicUsize::new(0));
    let count = served.clone();
    let app = Router::new().route(
        "/peer/weather",
        get(move || {
            count.fetch_add(1, Ordering::SeqCst);
            async { "sunny at the peer's" }
        })
        .layer(x402.with_price_tag(V2SolanaExact::price_tag(pay_to, token.amount(amount)))),
    );
    (super::serve::upstream(app).await, served)
}
