//! The paywall's `exact` scheme: x402's standard payment on Solana, one
//! token transfer per request, for clients that do not speak micropay. A
//! route marked `exact` offers it after micropay's (same price, same mint;
//! `payTo` the creator's wallet, whose associated token account receives;
//! `feePayer` the paywall's own key — it is its own facilitator).
//!
//! A payment is served once, and only once its transfer landed:
//!
//! 1. the client's transaction is checked and co-signed
//!    ([`micropay_client::exact::prepare`]); its id is then known;
//! 2. the id is recorded in the receiver's store (`sending`) before the
//!    transaction is sent — the same transaction sent again finds it;
//! 3. sent and confirmed, it is `settled`, then `served` as the request
//!    goes upstream (given back to `settled` when the upstream fails, for
//!    the retry of the same request with the same payment);
//! 4. refused by the cluster, it is `failed`; not known (the cluster could
//!    not be reached), it stays `sending` and the retry sends it again —
//!    a transaction lands at most once.
//!
//! With a remote facilitator ([`RemoteFacilitator`], `settle_exact_remote`)
//! the paywall still checks the transaction itself (the same rules, the
//! facilitator's fee payer) and records it — by the client's signature,
//! the fee payer's being the facilitator's to make — before it forwards it
//! to `POST /verify` and `POST /settle`. A verify refusal of a payment seen
//! for the first time is `failed` (nothing was sent). A facilitator's
//! "settled" is not taken on its word: the transaction it names is read
//! from the cluster, and only one that landed without error with the
//! client's own signed message (so with the checked transfer) is served —
//! once, its receipt naming that transaction. When the named transaction
//! is not found, failed, or is another one, the payment stays `sending`
//! and the answer is a `503`; the operator's log names the facilitator's
//! claim. When the
//! facilitator cannot be reached, or refuses a payment it was asked to
//! settle before, whether it landed is not known here: the payment stays
//! `sending`, the answer is a `503` (`settlement`), and the operator's log
//! names it.

use super::{
    facilitator::RemoteFacilitator, route_key, unix_now, Decision, Paid, Paywall, Refund,
    Unavailable,
};
use crate::route::Route;
use micropay_client::{
    exact::{self, Prepared},
    ledger::{DynSigner, Ledger},
    store::{ExactPayment, ExactStatus},
    ClientError,
};
use micropay_sdk::x402::{
    self,
    exact::{ExactExtra, ExactPaymentPayload, ExactRequirements, Terms},
    Refusal, RefusalCode, SettlementResponse,
};
use solana_sdk::pubkey::Pubkey;
use std::sync::Arc;

/// What settles `exact` payments: the cluster and the fee payer's key
/// (better not the creator's: it only pays transaction fees).
pub struct ExactSettlement {
    /// The cluster the transfers are sent to.
    pub ledger: Arc<dyn Ledger>,
    /// Signs every transfer as fee payer and pays its fee.
    pub fee_payer: Arc<DynSigner>,
}

/// Who settles: the paywall itself, or a facilitator it forwards to.
pub(super) enum Settler {
    Local(ExactSettlement),
    /// The facilitator, and the cluster its settlements are checked on.
    Remote(RemoteFacilitator, Arc<dyn Ledger>),
}

impl Settler {
    /// The fee payer the offers name.
    fn fee_payer(&self) -> Pubkey {
        match self {
            Settler::Local(s) => s.fee_payer.pubkey(),
            Settler::Remote(f, _) => f.fee_payer(),
        }
    }
}

/// Whether a `PAYMENT-SIGNATURE` names the `exact` scheme.
pub(super) fn is_exact(payment: &[u8]) -> bool {
    x402::decode_header::<serde_json::Value>(x402::PAYMENT_SIGNATURE, payment).is_ok_and(|v| {
        v.pointer("/accepted/scheme").and_then(|s| s.as_str()) == Some(x402::exact::SCHEME)
    })
}

/// A settled payment, as its serving needs it.
pub(super) struct Settled {
    /// The record's id.
    pub(super) id: String,
    /// The landed transaction's signature (the receipt's).
    pub(super) transaction: String,
    pub(super) payer: Pubkey,
    pub(super) amount: u64,
}

/// Whether `e` says the cluster refused the transaction for good (it never
/// lands), rather than that the outcome is unknown.
fn refused_for_good(e: &ClientError) -> bool {
    matches!(
        e,
        ClientError::Program { .. }
            | ClientError::Instruction { .. }
            | ClientError::Transaction { .. }
    )
}

impl Paywall {
    /// Settles `exact` payments with `settlement` from now on: routes
    /// marked `exact` offer the scheme. Once: `false` when already set.
    pub fn settle_exact(&self, settlement: ExactSettlement) -> bool {
        self.shared.exact.set(Settler::Local(settlement)).is_ok()
    }

    /// Forwards `exact` payments to `facilitator` from now on (see the
    /// module docs), checking each transaction it says it settled on
    /// `ledger`: routes marked `exact` offer the scheme with its fee payer.
    /// Once: `false` when a settlement is set already.
    pub fn settle_exact_remote(
        &self,
        facilitator: RemoteFacilitator,
        ledger: Arc<dyn Ledger>,
    ) -> bool {
        self.shared
            .exact
            .set(Settler::Remote(facilitator, ledger))
            .is_ok()
    }

    /// The `exact` offers of `route`: one per price, when the route and
    /// the paywall take the scheme.
    pub(super) fn exact_offers(&self, route: &Route) -> Vec<ExactRequirements> {
        let Some(settlement) = self.shared.exact.get().filter(|_| route.exact) else {
            return Vec::new();
        };
        let creator = self.shared.receiver.creator().to_string();
        route
            .prices
            .iter()
            .map(|price| ExactRequirements {
                scheme: x402::exact::SCHEME.to_string(),
                network: self.shared.config.network.clone(),
                amount: price.amount.to_string(),
                asset: price.mint.to_string(),
                pay_to: creator.clone(),
                max_timeout_seconds: self.shared.config.max_timeout_seconds,
                extra: ExactExtra {
                    fee_payer: settlement.fee_payer().to_string(),
                    memo: None,
                },
            })
            .collect()
    }

    /// A refusal of an `exact` payment, `detail` saying why.
    pub(super) fn refuse_exact(
        &self,
        route: &Route,
        path: &str,
        detail: &str,
        error: String,
    ) -> Decision {
        let refusal = Refusal {
            detail: Some(detail.to_string()),
            ..Refusal::new(RefusalCode::InvalidTransaction)
        };
        self.refused(route, path, refusal, error)
    }

    /// The terms a payment of `route` must meet, from the client's chosen
    /// offer: the mint must be one the route is priced in; everything else
    /// is the paywall's own (price, payee, fee payer).
    fn exact_terms(
        &self,
        route: &Route,
        fee_payer: Pubkey,
        payload: &ExactPaymentPayload,
    ) -> Result<Terms, (RefusalCode, String)> {
        let accepted = &payload.accepted;
        if payload.x402_version != x402::X402_VERSION
            || accepted.network != self.shared.config.network
        {
            return Err((
                RefusalCode::Unsupported,
                format!(
                    "this server takes x402 version {} on {}",
                    x402::X402_VERSION,
                    self.shared.config.network
                ),
            ));
        }
        let creator = self.shared.receiver.creator();
        if accepted.pay_to != creator.to_string() {
            return Err((
                RefusalCode::WrongPayTo,
                format!("payments here go to {creator}, not {}", accepted.pay_to),
            ));
        }
        let priced = accepted
            .asset
            .parse::<Pubkey>()
            .ok()
            .and_then(|mint| Some((mint, route.price(&mint)?)));
        let Some((asset, amount)) = priced else {
            return Err((
                RefusalCode::MintNotAccepted,
                format!("this route is not priced in {}", accepted.asset),
            ));
        };
        Ok(Terms {
            amount,
            asset,
            pay_to: creator,
            fee_payer,
            memo: None,
        })
    }

    /// [`Paywall::decide`] for an `exact` payment (see the module docs).
    pub(super) async fn decide_exact(&self, route: &Route, path: &str, payment: &[u8]) -> Decision {
        let refuse =
            |code: RefusalCode, error: String| self.refused(route, path, Refusal::new(code), error);
        let Some(settlement) = self.shared.exact.get().filter(|_| route.exact) else {
            return refuse(
                RefusalCode::Unsupported,
                "this route is paid with scheme `micropay` only".into(),
            );
        };
        let payload: ExactPaymentPayload =
            match x402::decode_header(x402::PAYMENT_SIGNATURE, payment) {
                Ok(p) => p,
                Err(e) => return refuse(RefusalCode::Malformed, e.to_string()),
            };
        let terms = match self.exact_terms(route, settlement.fee_payer(), &payload) {
            Ok(terms) => terms,
            Err((code, error)) => return refuse(code, error),
        };
        let settlement = match settlement {
            Settler::Local(local) => local,
            Settler::Remote(facilitator, ledger) => {
                let remote = (facilitator, ledger.as_ref());
                return self
                    .forward_exact(route, path, remote, (payment, &payload), &terms)
                    .await;
            }
        };
        let fee_payer = settlement.fee_payer.as_ref();
        let prepared = match exact::prepare(&payload.payload.transaction, &terms, fee_payer) {
            Ok(p) => p,
            Err(ClientError::Exact(why)) => {
                return self.refuse_exact(route, path, why.code(), why.to_string())
            }
            Err(e) => return Decision::Unavailable(Unavailable::of(&e)),
        };
        let record = ExactPayment {
            id: prepared.id(),
            payer: prepared.transfer.authority,
            mint: terms.asset,
            amount: terms.amount,
            route: route_key(route),
            status: ExactStatus::Sending,
            created_at: unix_now(),
        };
        let store = self.shared.receiver.store();
        let recorded = store.call(move |s| {
            if s.put_exact(&record)? {
                return Ok(ExactStatus::Sending);
            }
            // the same transaction again: where its first try left it
            s.get_exact(&record.id)?
                .map(|p| p.status)
                .ok_or_else(|| ClientError::store("an exact payment recorded, then gone"))
        });
        match recorded.await {
            Ok(ExactStatus::Sending) => self.send_exact(route, path, settlement, &prepared).await,
            Ok(ExactStatus::Settled) => self.serve_exact(route, path, &prepared).await,
            Ok(ExactStatus::Served) => self.served_already(route, path),
            Ok(ExactStatus::Failed) => self.refuse_exact(
                route,
                path,
                "cluster_refused",
                "the cluster refused this transaction; sign a new one".into(),
            ),
            Err(e) => Decision::Unavailable(Unavailable::of(&e)),
        }
    }

    /// Sends a recorded payment and waits for it; settled, it is served.
    async fn send_exact(
        &self,
        route: &Route,
        path: &str,
        settlement: &ExactSettlement,
        prepared: &Prepared,
    ) -> Decision {
        let id = prepared.id();
        let store = self.shared.receiver.store();
        match exact::send(settlement.ledger.as_ref(), prepared).await {
            Ok(_) => {
                let moved = {
                    let id = id.clone();
                    store.call(move |s| {
                        s.set_exact_status(&id, ExactStatus::Sending, ExactStatus::Settled)
                    })
                };
                match moved.await {
                    Ok(true) => {
                        let t = &prepared.transfer;
                        self.shared.metrics.accepted(&t.mint, t.amount);
                        self.serve_exact(route, path, prepared).await
                    }
                    // another gateway settled it meanwhile: it serves
                    Ok(false) => self.served_already(route, path),
                    Err(e) => Decision::Unavailable(Unavailable::of(&e)),
                }
            }
            Err(e) if refused_for_good(&e) => {
                tracing::info!(%id, error = %e, "exact payment refused by the cluster");
                let _ = store
                    .call(move |s| {
                        s.set_exact_status(&id, ExactStatus::Sending, ExactStatus::Failed)
                    })
                    .await;
                self.refuse_exact(
                    route,
                    path,
                    "cluster_refused",
                    format!("the cluster refused this transaction: {e}"),
                )
            }
            // the outcome is unknown: the retry sends it again
            Err(e) => {
                tracing::warn!(%id, error = %e, "exact payment not confirmed; its retry sends it again");
                Decision::Unavailable(Unavailable::Settlement)
            }
        }
    }

    /// Takes the one serving a settled payment bought.
    async fn serve_exact(&self, route: &Route, path: &str, prepared: &Prepared) -> Decision {
        let t = &prepared.transfer;
        let settled = Settled {
            id: prepared.id(),
            transaction: prepared.id(),
            payer: t.authority,
            amount: t.amount,
        };
        self.serve_settled(route, path, settled).await
    }

    /// Takes the one serving the settled payment `settled` bought.
    pub(super) async fn serve_settled(
        &self,
        route: &Route,
        path: &str,
        settled: Settled,
    ) -> Decision {
        let taken = {
            let id = settled.id.clone();
            self.shared
                .receiver
                .store()
                .call(move |s| s.set_exact_status(&id, ExactStatus::Settled, ExactStatus::Served))
        };
        match taken.await {
            Ok(true) => {
                let Settled {
                    id,
                    transaction,
                    payer,
                    amount,
                } = settled;
                Decision::Paid(Box::new(Paid {
                    settlement: SettlementResponse {
                        success: true,
                        transaction,
                        network: self.shared.config.network.clone(),
                        payer: Some(payer.to_string()),
                        channel: String::new(),
                        cumulative: String::new(),
                        paid: amount.to_string(),
                        remaining: String::new(),
                        error_reason: None,
                    },
                    refund: Refund::Exact { id, payer, amount },
                }))
            }
            Ok(false) => self.served_already(route, path),
            Err(e) => Decision::Unavailable(Unavailable::of(&e)),
        }
    }

    /// The refusal of a transaction that paid for a request already.
    pub(super) fn served_already(&self, route: &Route, path: &str) -> Decision {
        self.refused(
            route,
            path,
            Refusal::new(RefusalCode::Duplicate),
            "this transaction paid for a request already".into(),
        )
    }

    /// Gives the serving of payment `id` back (its request was not
    /// served); `true` when given back.
    pub(super) async fn unserve_exact(&self, id: String) -> bool {
        let moved = self.shared.receiver.store().call({
            let id = id.clone();
            move |s| s.set_exact_status(&id, ExactStatus::Served, ExactStatus::Settled)
        });
        match moved.await {
            Ok(given) => given,
            Err(e) => {
                tracing::error!(%id, error = %e, "exact payment not given back: the store failed");
                false
            }
        }
    }
}
