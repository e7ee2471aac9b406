//! A remote x402 facilitator for `exact` payments: instead of co-signing
//! and sending itself, the paywall forwards each payment it checked and
//! recorded to the facilitator's `POST /verify` and `POST /settle` (x402
//! v2: `{x402Version, paymentPayload, paymentRequirements}`), whose fee
//! payer — read from `GET /supported` — the offers name.
//!
//! What stays the paywall's: the offer (price, payee, mint), its own check
//! of the transaction before anything is forwarded, the record by
//! transaction before the facilitator is asked, and serving once. A
//! facilitator's answers are parsed, never shown to clients as they came.

use micropay_sdk::x402::exact::ExactRequirements;
use serde_json::Value;
use solana_sdk::pubkey::Pubkey;
use std::time::Duration;

/// How long one call to the facilitator may take (a settle waits for the
/// cluster).
const TIMEOUT: Duration = Duration::from_secs(60);

/// A facilitator at a URL, with its fee payer on this paywall's cluster.
#[derive(Clone, Debug)]
pub struct RemoteFacilitator {
    url: String,
    http: reqwest::Client,
    fee_payer: Pubkey,
}

/// Why the facilitator could not be used.
#[derive(Debug, thiserror::Error)]
pub enum FacilitatorError {
    /// No answer (connection, timeout).
    #[error("the facilitator at {url} cannot be reached: {reason}")]
    Unreachable {
        /// Its URL.
        url: String,
        /// Why.
        reason: String,
    },
    /// An answer that is not the JSON x402 specifies.
    #[error("the facilitator at {url} answered {status} without the expected JSON")]
    BadAnswer {
        /// Its URL.
        url: String,
        /// The HTTP status.
        status: u16,
    },
    /// It does not take `exact` on this cluster.
    #[error("the facilitator at {url} does not settle `exact` on {network} (its GET /supported names no fee payer for it)")]
    NotOnNetwork {
        /// Its URL.
        url: String,
        /// The cluster's x402 id.
        network: String,
    },
}

/// The facilitator's verdict on a payment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Valid (`/verify`), or settled (`/settle`, with its transaction).
    Accepted {
        /// The settled transaction's signature (empty for `/verify`).
        transaction: String,
    },
    /// Refused, with the facilitator's machine-readable reason.
    Refused {
        /// Its `invalidReason` / `errorReason` (sanitized).
        reason: String,
    },
}

impl RemoteFacilitator {
    /// The facilitator at `url` for `exact` on `network`: its fee payer
    /// read from `GET /supported`.
    pub async fn connect(url: &str, network: &str) -> Result<Self, FacilitatorError> {
        let url = url.trim_end_matches('/').to_string();
        let http = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .build()
            .map_err(|e| unreachable(&url, &e))?;
        let answer = http
            .get(format!("{url}/supported"))
            .send()
            .await
            .map_err(|e| unreachable(&url, &e))?;
        let status = answer.status().as_u16();
        let supported: Value = answer
            .json()
            .await
            .map_err(|_| FacilitatorError::BadAnswer {
                url: url.clone(),
                status,
            })?;
        let fee_payer =
            fee_payer_of(&supported, network).ok_or_else(|| FacilitatorError::NotOnNetwork {
                url: url.clone(),
                network: network.to_string(),
            })?;
        Ok(RemoteFacilitator {
            url,
            http,
            fee_payer,
        })
    }

    /// The fee payer the offers name.
    pub fn fee_payer(&self) -> Pubkey {
        self.fee_payer
    }

    /// Its URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// `POST /verify`: whether it would settle `payment` for `offer`.
    pub async fn verify(
        &self,
        payment: &Value,
        offer: &ExactRequirements,
    ) -> Result<Verdict, FacilitatorError> {
        let answer = self.post("verify", payment, offer).await?;
        if answer.get("isValid").and_then(Value::as_bool) == Some(true) {
            return Ok(Verdict::Accepted {
                transaction: String::new(),
            });
        }
        Ok(Verdict::Refused {
            reason: reason(&answer, &["invalidReason", "invalid_reason"]),
        })
    }

    /// `POST /settle`: sends `payment` and waits for it.
    pub async fn settle(
        &self,
        payment: &Value,
        offer: &ExactRequirements,
    ) -> Result<Verdict, FacilitatorError> {
        let answer = self.post("settle", payment, offer).await?;
        let transaction = answer
            .get("transaction")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if answer.get("success").and_then(Value::as_bool) == Some(true) && !transaction.is_empty() {
            return Ok(Verdict::Accepted {
                transaction: transaction.to_string(),
            });
        }
        Ok(Verdict::Refused {
            reason: reason(&answer, &["errorReason", "error_reason"]),
        })
    }

    async fn post(
        &self,
        what: &str,
        payment: &Value,
        offer: &ExactRequirements,
    ) -> Result<Value, FacilitatorError> {
        let body = serde_json::json!({
            "x402Version": 2,
            "paymentPayload": payment,
            "paymentRequirements": offer,
        });
        let answer = self
            .http
            .post(format!("{}/{what}", self.url))
            .json(&body)
            .send()
            .await
            .map_err(|e| unreachable(&self.url, &e))?;
        let status = answer.status().as_u16();
        answer
            .json::<Value>()
            .await
            .ok()
            .filter(Value::is_object)
            .ok_or_else(|| FacilitatorError::BadAnswer {
                url: self.url.clone(),
                status,
            })
    }
}

fn unreachable(url: &str, e: &reqwest::Error) -> FacilitatorError {
    FacilitatorError::Unreachable {
        url: url.to_string(),
        reason: e.to_string(),
    }
}

/// The fee payer `/supported` names for v2 `exact` on `network`.
fn fee_payer_of(supported: &Value, network: &str) -> Option<Pubkey> {
    supported
        .get("kinds")?
        .as_array()?
        .iter()
        .filter(|k| k.get("x402Version").and_then(Value::as_u64) == Some(2))
        .filter(|k| k.get("scheme").and_then(Value::as_str) == Some("exact"))
        .filter(|k| k.get("network").and_then(Value::as_str) == Some(network))
        .find_map(|k| k.pointer("/extra/feePayer")?.as_str()?.parse().ok())
}

/// The first of `fields` that holds a short machine-readable reason; a
/// facilitator's free text is never passed on.
fn reason(answer: &Value, fields: &[&str]) -> String {
    fields
        .iter()
        .find_map(|f| answer.get(*f).and_then(Value::as_str))
        .filter(|r| {
            r.len() <= 64
                && r.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        })
        .unwrap_or("facilitator_refused")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fee_payer_is_the_one_of_v2_exact_on_this_network() {
        let payer = Pubkey::new_unique();
        let supported = serde_json::json!({ "kinds": [
            { "x402Version": 1, "scheme": "exact", "network": "solana:a", "extra": { "feePayer": Pubkey::new_unique().to_string() } },
            { "x402Version": 2, "scheme": "exact", "network": "solana:b", "extra": { "feePayer": Pubkey::new_unique().to_string() } },
            { "x402Version": 2, "scheme": "upto", "network": "solana:a", "extra": { "feePayer": Pubkey::new_unique().to_string() } },
            { "x402Version": 2, "scheme": "exact", "network": "solana:a", "extra": { "feePayer": payer.to_string() } }
        ]});
        assert_eq!(fee_payer_of(&supported, "solana:a"), Some(payer));
        assert_eq!(fee_payer_of(&supported, "solana:c"), None);
        assert_eq!(fee_payer_of(&serde_json::json!({}), "solana:a"), None);
    }

    #[test]
    fn a_reason_is_a_code_never_free_text() {
        let answer = serde_json::json!({ "errorReason": "invalid_exact_svm_payload_transaction" });
        assert_eq!(
            reason(&answer, &["errorReason"]),
            "invalid_exact_svm_payload_transaction"
        );
        let leaky = serde_json::json!({ "errorReason": "RPC https://key@rpc.example failed: 500" });
        assert_eq!(reason(&leaky, &["errorReason"]), "facilitator_refused");
        assert_eq!(
            reason(&serde_json::json!({}), &["errorReason"]),
            "facilitator_refused"
        );
    }
}
