//! x402's `payment-identifier` extension: a client's idempotency key for
//! one paid request. A server declares it in its 402's `extensions`; a
//! client puts `{"info": {"id": …}}` under [`NAME`] in its payment's
//! `extensions`.
//!
//! micropay binds an id to one request and one payment ([`Binding`]): the
//! same id again with the same request and payment is a retry (served
//! once, as any retry of that payment), and with another request or
//! another payment is a conflict (`409`). A payment refused before it was
//! taken frees its id.

use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// The extension's key in `extensions`.
pub const NAME: &str = "payment-identifier";
/// Shortest id, characters.
pub const MIN_LEN: usize = 16;
/// Longest id, characters.
pub const MAX_LEN: usize = 128;

/// Why a payment's id cannot be used.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PaymentIdError {
    /// Not 16–128 characters of `A–Z a–z 0–9 _ -`.
    #[error("the payment-identifier id must be {MIN_LEN} to {MAX_LEN} characters of A-Z, a-z, 0-9, '_' and '-'")]
    Invalid,
}

/// The declaration a server puts under [`NAME`] in a 402's `extensions`:
/// ids are optional.
pub fn declaration() -> Value {
    serde_json::json!({
        "info": { "required": false },
        "schema": {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "type": "object",
            "properties": {
                "required": { "type": "boolean" },
                "id": {
                    "type": "string",
                    "minLength": MIN_LEN,
                    "maxLength": MAX_LEN,
                    "pattern": "^[a-zA-Z0-9_-]+$"
                }
            },
            "required": ["required"]
        }
    })
}

/// The id in a payment's `extensions` (the whole `PAYMENT-SIGNATURE` JSON
/// is `payment`), checked; `None` when it carries none.
pub fn of(payment: &Value) -> Result<Option<String>, PaymentIdError> {
    let Some(id) = payment
        .get("extensions")
        .and_then(|e| e.get(NAME))
        .and_then(|e| e.get("info"))
        .and_then(|i| i.get("id"))
    else {
        return Ok(None);
    };
    let id = id.as_str().ok_or(PaymentIdError::Invalid)?;
    let valid = (MIN_LEN..=MAX_LEN).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if !valid {
        return Err(PaymentIdError::Invalid);
    }
    Ok(Some(id.to_string()))
}

/// Puts `id` in a payment's `extensions` (a client's side).
pub fn attach(extensions: &mut BTreeMap<String, Value>, id: &str) {
    extensions.insert(
        NAME.to_string(),
        serde_json::json!({ "info": { "required": false, "id": id } }),
    );
}

/// What an id is bound to: SHA-256 of the request (its method and path)
/// and of the payment (its `payload`, as JSON with sorted keys).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Binding {
    /// SHA-256 of `method ‖ " " ‖ path`.
    pub request: [u8; 32],
    /// SHA-256 of the payment's `payload`.
    pub payment: [u8; 32],
}

impl Binding {
    /// The binding of `payment` (the whole `PAYMENT-SIGNATURE` JSON) for
    /// `method path`.
    pub fn new(method: &str, path: &str, payment: &Value) -> Self {
        let request = Sha256::new()
            .chain_update(method.as_bytes())
            .chain_update(b" ")
            .chain_update(path.as_bytes())
            .finalize()
            .into();
        // serde_json's maps are sorted: the same payload, the same bytes
        let payload =
            serde_json::to_vec(payment.get("payload").unwrap_or(&Value::Null)).unwrap_or_default();
        Binding {
            request,
            payment: Sha256::digest(payload).into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn payment(id: Value, payload: Value) -> Value {
        serde_json::json!({
            "x402Version": 2,
            "payload": payload,
            "extensions": { NAME: { "info": { "required": false, "id": id } } }
        })
    }

    #[test]
    fn an_id_is_16_to_128_safe_characters() {
        let ok = "pay_7d5d747be160e280";
        assert_eq!(of(&payment(ok.into(), Value::Null)), Ok(Some(ok.into())));
        assert_eq!(
            of(&payment("a".repeat(MAX_LEN).into(), Value::Null))
                .unwrap()
                .unwrap()
                .len(),
            MAX_LEN
        );
        for bad in [
            Value::from("a".repeat(MIN_LEN - 1)),
            Value::from("a".repeat(MAX_LEN + 1)),
            Value::from("pay_7d5d747be160e28!"),
            Value::from("pay_7d5d747be160e28é"),
            Value::from(1234567890123456789u64),
        ] {
            assert_eq!(
                of(&payment(bad.clone(), Value::Null)),
                Err(PaymentIdError::Invalid),
                "{bad}"
            );
        }
        assert_eq!(of(&serde_json::json!({ "x402Version": 2 })), Ok(None));
        let mut extensions = BTreeMap::new();
        attach(&mut extensions, ok);
        assert_eq!(
            of(&serde_json::json!({ "extensions": extensions })),
            Ok(Some(ok.into()))
        );
    }

    #[test]
    fn a_binding_is_the_request_and_the_payload() {
        let v = |amount: &str| serde_json::json!({ "channel": "c", "amount": amount, "signature": "s" });
        let a = Binding::new("GET", "/a", &payment("x".repeat(16).into(), v("1")));
        // the same payload, keys in another order, another id: the same
        let reordered: Value =
            serde_json::from_str(r#"{"payload":{"signature":"s","amount":"1","channel":"c"}}"#)
                .unwrap();
        assert_eq!(Binding::new("GET", "/a", &reordered), a);
        assert_ne!(Binding::new("GET", "/b", &reordered).request, a.request);
        assert_ne!(Binding::new("POST", "/a", &reordered).request, a.request);
        assert_ne!(
            Binding::new("GET", "/a", &payment(Value::Null, v("2"))).payment,
            a.payment
        );
    }
}
