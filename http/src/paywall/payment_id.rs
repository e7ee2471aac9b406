//! The paywall's side of x402's `payment-identifier` extension
//! ([`micropay_sdk::x402::payment_id`]): every 402 declares it (ids
//! optional); a payment that carries an id binds it, durably and before
//! the payment is looked at, to its request (method and path) and to
//! itself. The same id again with the same request and payment is a retry
//! and goes on as any retry of that payment does (served once); with
//! another request or payment it is a `409` whose refusal says
//! `payment_identifier_conflict`, and nothing is taken. A payment refused
//! before it was taken frees the id it bound.
//!
//! A request's query and body are not part of its binding: a paywall
//! prices a method and a path.

use super::{Decision, Paywall, Unavailable};
use crate::route::Route;
use http::Method;
use micropay_sdk::x402::{
    self,
    payment_id::{self, Binding},
    Refusal, RefusalCode,
};

/// An id this request bound, freed if its payment is refused.
pub(super) type Bound = Option<(String, Binding)>;

impl Paywall {
    /// Binds the id `payment` carries, if any; what this call bound, or
    /// the decision that ends the request (an invalid id: `malformed`; a
    /// conflict: `409`; the store failed: `503`).
    pub(super) async fn bind_payment_id(
        &self,
        route: &Route,
        (method, path): (&Method, &str),
        payment: &[u8],
    ) -> Result<Bound, Decision> {
        // unreadable payments are refused as such by their scheme's path
        let Ok(json) = x402::decode_header::<serde_json::Value>(x402::PAYMENT_SIGNATURE, payment)
        else {
            return Ok(None);
        };
        let id = match payment_id::of(&json) {
            Ok(Some(id)) => id,
            Ok(None) => return Ok(None),
            Err(e) => {
                return Err(self.refused(
                    route,
                    path,
                    Refusal::new(RefusalCode::Malformed),
                    e.to_string(),
                ))
            }
        };
        let binding = Binding::new(method.as_str(), path, &json);
        let bound = {
            let id = id.clone();
            self.shared
                .receiver
                .store()
                .call(move |s| s.bind_payment_id(&id, &binding))
        };
        match bound.await {
            Ok(None) => Ok(Some((id, binding))),
            Ok(Some(existing)) if existing == binding => Ok(None),
            Ok(Some(_)) => {
                let refused = self.refused(
                    route,
                    path,
                    Refusal::new(RefusalCode::PaymentIdentifierConflict),
                    "this payment-identifier was used with another request or another payment: \
                     use a new id"
                        .into(),
                );
                match refused {
                    Decision::Refused(required) => Err(Decision::Conflict(required)),
                    other => Err(other),
                }
            }
            Err(e) => Err(Decision::Unavailable(Unavailable::of(&e))),
        }
    }

    /// Frees the id this request bound when its payment was refused.
    pub(super) async fn release_payment_id(&self, bound: Bound, decision: &Decision) {
        let (Some((id, binding)), Decision::Refused(_)) = (bound, decision) else {
            return;
        };
        let freed = self
            .shared
            .receiver
            .store()
            .call({
                let id = id.clone();
                move |s| s.unbind_payment_id(&id, &binding)
            })
            .await;
        if let Err(e) = freed {
            // the id stays bound to a payment that was refused: a retry
            // with it and that payment is refused again, another is a 409
            tracing::warn!(%id, error = %e, "payment identifier not freed: the store failed");
        }
    }
}
