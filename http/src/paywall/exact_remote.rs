//! `exact` payments forwarded to a remote facilitator (see
//! [`super::exact`]'s module docs for the rules): checked here, recorded
//! by the client's signature, then `POST /verify` and `POST /settle`, and
//! the transaction the facilitator names read back from the cluster before
//! the request is served.

use super::{
    exact::Settled,
    facilitator::{RemoteFacilitator, Verdict},
    route_key, unix_now, Decision, Paywall, Unavailable,
};
use crate::route::Route;
use micropay_client::{
    ledger::Ledger,
    store::{ExactPayment, ExactStatus},
};
use micropay_sdk::x402::{
    self,
    exact::{self, ExactPaymentPayload, Terms, Transfer},
};
use solana_sdk::{signature::Signature, transaction::VersionedTransaction};
use std::time::Duration;

/// A facilitator, and the cluster its settlements are checked on.
pub(super) type Remote<'a> = (&'a RemoteFacilitator, &'a dyn Ledger);

/// How often, and how long apart, a settled transaction is looked for
/// (the facilitator answers once it is confirmed; a node may lag behind).
const LOOKUPS: u32 = 20;
const LOOKUP_EVERY: Duration = Duration::from_millis(250);

/// What a forwarded payment is: its record, its transfer, and the JSON
/// the facilitator is sent.
struct Forwarded {
    record: ExactPayment,
    transfer: Transfer,
    payment: serde_json::Value,
    /// The client's transaction, as checked.
    signed: VersionedTransaction,
}

impl Paywall {
    /// Checks, records and forwards an `exact` payment to `facilitator`.
    pub(super) async fn forward_exact(
        &self,
        route: &Route,
        path: &str,
        remote: Remote<'_>,
        (raw, payload): (&[u8], &ExactPaymentPayload),
        terms: &Terms,
    ) -> Decision {
        let checked = exact::decode(&payload.payload.transaction)
            .and_then(|tx| Ok((exact::verify(&tx, terms)?, tx)));
        let (transfer, tx) = match checked {
            Ok(checked) => checked,
            Err(why) => return self.refuse_exact(route, path, why.code(), why.to_string()),
        };
        let Some(id) = client_signature(&tx, &transfer) else {
            return self.refuse_exact(
                route,
                path,
                "invalid_signature",
                "the transfer's authority did not sign".into(),
            );
        };
        let payment = x402::decode_header::<serde_json::Value>(x402::PAYMENT_SIGNATURE, raw)
            .unwrap_or_default();
        let record = ExactPayment {
            id,
            payer: transfer.authority,
            mint: transfer.mint,
            amount: transfer.amount,
            route: route_key(route),
            status: ExactStatus::Sending,
            created_at: unix_now(),
        };
        let forwarded = Forwarded {
            record,
            transfer,
            payment,
            signed: tx,
        };
        self.forward_recorded(route, path, remote, forwarded).await
    }

    /// Records the payment, then settles it as its record says.
    async fn forward_recorded(
        &self,
        route: &Route,
        path: &str,
        remote: Remote<'_>,
        f: Forwarded,
    ) -> Decision {
        let store = self.shared.receiver.store();
        let recorded = {
            let record = f.record.clone();
            store.call(move |s| {
                if s.put_exact(&record)? {
                    return Ok(None);
                }
                Ok(s.get_exact(&record.id)?.map(|p| p.status))
            })
        };
        match recorded.await {
            Ok(None) => self.settle_remote(route, path, remote, &f, true).await,
            Ok(Some(ExactStatus::Sending)) => {
                self.settle_remote(route, path, remote, &f, false).await
            }
            Ok(Some(ExactStatus::Settled)) => {
                // settled, its serving given back: its receipt names the
                // client's signature (the facilitator's answer is gone)
                let settled = settled(&f, f.record.id.clone());
                self.serve_settled(route, path, settled).await
            }
            Ok(Some(ExactStatus::Served)) => self.served_already(route, path),
            Ok(Some(ExactStatus::Failed)) => self.refuse_exact(
                route,
                path,
                "facilitator_refused",
                "the facilitator refused this transaction; sign a new one".into(),
            ),
            Err(e) => Decision::Unavailable(Unavailable::of(&e)),
        }
    }

    /// `/verify` then `/settle`; `first` when this payment was recorded
    /// now (a refusal then means nothing was sent).
    async fn settle_remote(
        &self,
        route: &Route,
        path: &str,
        (facilitator, ledger): Remote<'_>,
        f: &Forwarded,
        first: bool,
    ) -> Decision {
        // the facilitator checks against this paywall's own offer
        let Some(offer) = self
            .exact_offers(route)
            .into_iter()
            .find(|o| o.asset == f.transfer.mint.to_string())
        else {
            return Decision::Unavailable(Unavailable::Settlement);
        };
        let offer = &offer;
        let verdict = match facilitator.verify(&f.payment, offer).await {
            Ok(Verdict::Accepted { .. }) => facilitator.settle(&f.payment, offer).await,
            other => other,
        };
        let id = f.record.id.clone();
        match verdict {
            Ok(Verdict::Accepted { transaction }) => {
                match landed_as_signed(ledger, &transaction, &f.signed).await {
                    Ok(true) => {}
                    Ok(false) => {
                        tracing::warn!(%id, %transaction, facilitator = facilitator.url(), "the facilitator says it settled this exact payment, but the transaction it names did not land with the client's transfer: not served; the payment stays `sending`");
                        return Decision::Unavailable(Unavailable::Settlement);
                    }
                    Err(e) => return Decision::Unavailable(Unavailable::of(&e)),
                }
                let moved = self.shared.receiver.store().call({
                    let id = id.clone();
                    move |s| s.set_exact_status(&id, ExactStatus::Sending, ExactStatus::Settled)
                });
                match moved.await {
                    Ok(true) => {
                        let t = &f.transfer;
                        self.shared.metrics.accepted(&t.mint, t.amount);
                        self.serve_settled(route, path, settled(f, transaction))
                            .await
                    }
                    Ok(false) => self.served_already(route, path),
                    Err(e) => Decision::Unavailable(Unavailable::of(&e)),
                }
            }
            Ok(Verdict::Refused { reason }) if first => {
                let _ = self
                    .shared
                    .receiver
                    .store()
                    .call(move |s| {
                        s.set_exact_status(&id, ExactStatus::Sending, ExactStatus::Failed)
                    })
                    .await;
                self.refuse_exact(
                    route,
                    path,
                    &reason,
                    format!("the facilitator refused this transaction ({reason})"),
                )
            }
            Ok(Verdict::Refused { reason }) => {
                tracing::warn!(%id, %reason, "exact payment refused by the facilitator after an earlier try: whether it landed is not known here; it stays `sending`");
                Decision::Unavailable(Unavailable::Settlement)
            }
            Err(e) => {
                tracing::warn!(%id, error = %e, "exact payment not settled: the facilitator did not answer; its retry forwards it again");
                Decision::Unavailable(Unavailable::Settlement)
            }
        }
    }
}

/// Whether `transaction` (a facilitator's answer) names a transaction that
/// landed without error and carries `signed`'s message — the client's, so
/// its checked transfer (the cluster verified the client's signature of
/// it). Looked for a few seconds; not found is `false`.
async fn landed_as_signed(
    ledger: &dyn Ledger,
    transaction: &str,
    signed: &VersionedTransaction,
) -> Result<bool, micropay_client::ClientError> {
    let Ok(signature) = transaction.parse::<Signature>() else {
        return Ok(false);
    };
    for _ in 0..LOOKUPS {
        if let Some(landed) = ledger.landed(&signature).await? {
            let same = landed.transaction.message.serialize() == signed.message.serialize();
            return Ok(same && !landed.failed);
        }
        tokio::time::sleep(LOOKUP_EVERY).await;
    }
    Ok(false)
}

/// The signature of the transfer's authority (the client): the record's
/// id, the fee payer's being the facilitator's to make.
fn client_signature(tx: &VersionedTransaction, transfer: &Transfer) -> Option<String> {
    let keys = tx.message.static_account_keys();
    let signers = usize::from(tx.message.header().num_required_signatures);
    let at = keys
        .iter()
        .take(signers)
        .position(|k| *k == transfer.authority)?;
    tx.signatures.get(at).map(|s| s.to_string())
}

fn settled(f: &Forwarded, transaction: String) -> Settled {
    Settled {
        id: f.record.id.clone(),
        transaction,
        payer: f.transfer.authority,
        amount: f.transfer.amount,
    }
}
