//! Vouchers over HTTP: the x402 v2 transport (HTTP 402 with the
//! `PAYMENT-REQUIRED`, `PAYMENT-SIGNATURE` and `PAYMENT-RESPONSE` headers,
//! each base64 of a JSON object) carrying micropay vouchers.
//!
//! x402's own Solana schemes are bound to other programs, so micropay offers
//! its own scheme, [`SCHEME`] (`"micropay"`). One entry of `accepts` per
//! accepted mint: `amount` is the price in base units (what the creator must
//! receive, net of any fee share), `asset` the mint, `payTo` the creator,
//! `network` the cluster as CAIP-2 (`solana:` and the first 32 characters of
//! the base58 genesis hash), and [`MicropayExtra`] what a client needs to
//! open a channel the server accepts.
//!
//! The client pays with a [`PaymentPayload`] whose `payload` is the
//! cumulative [`WireVoucher`] of its channel. The server answers with a
//! [`SettlementResponse`] (accepted cumulative, the channel, what is left of
//! its allocation) or a new 402 whose `micropay` extension says why
//! ([`Refusal`]); when the client is behind ([`RefusalCode::Stale`]) the
//! extension carries the voucher the server holds, signed by the client's own
//! key, so a client that lost its state resumes from it instead of opening a
//! new channel — it trusts the signature, not the server.
//!
//! Everything here is data and pure functions: no I/O.

pub mod exact;
pub mod payment_id;

use crate::voucher::Voucher;
use anchor_lang::prelude::Pubkey;
use base64::{engine::general_purpose::STANDARD, Engine};
use serde::{de::DeserializeOwned, Deserialize, Serialize};
use solana_hash::Hash;
use std::collections::BTreeMap;

/// The x402 protocol version spoken.
pub const X402_VERSION: u32 = 2;
/// The payment scheme's name in `accepts[].scheme`.
pub const SCHEME: &str = "micropay";
/// Response header of a 402: base64 JSON [`PaymentRequired`].
pub const PAYMENT_REQUIRED: &str = "payment-required";
/// Request header of a paid request: base64 JSON [`PaymentPayload`].
pub const PAYMENT_SIGNATURE: &str = "payment-signature";
/// Response header of a paid request: base64 JSON [`SettlementResponse`].
pub const PAYMENT_RESPONSE: &str = "payment-response";
/// Key of micropay's entry in `extensions`.
pub const EXTENSION: &str = "micropay";

/// Why an x402 header cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum WireError {
    /// Not base64.
    #[error("the {header} header is not base64: {source}")]
    Base64 {
        /// The header.
        header: &'static str,
        /// Why.
        source: base64::DecodeError,
    },
    /// Not the JSON expected.
    #[error("the {header} header is not the JSON expected: {source}")]
    Json {
        /// The header.
        header: &'static str,
        /// Why.
        source: serde_json::Error,
    },
    /// A field that must be a base58 address is not one.
    #[error("{field} is not a base58 address: {value}")]
    Address {
        /// The field.
        field: &'static str,
        /// What it held.
        value: String,
    },
    /// A field that must be a decimal u64 is not one.
    #[error("{field} is not a whole number of base units: {value}")]
    Amount {
        /// The field.
        field: &'static str,
        /// What it held.
        value: String,
    },
    /// The voucher's signature is not 64 bytes of base58.
    #[error("the voucher signature is not 64 bytes of base58")]
    Signature,
}

/// Base64 of the JSON of `value`, as a header value.
pub fn encode_header<T: Serialize>(value: &T) -> String {
    // serializing these types (strings, numbers, maps) cannot fail
    STANDARD.encode(serde_json::to_vec(value).unwrap_or_default())
}

/// The value of `header`, decoded from base64 JSON.
pub fn decode_header<T: DeserializeOwned>(
    header: &'static str,
    value: &[u8],
) -> Result<T, WireError> {
    let json = STANDARD
        .decode(value.trim_ascii())
        .map_err(|source| WireError::Base64 { header, source })?;
    serde_json::from_slice(&json).map_err(|source| WireError::Json { header, source })
}

/// The CAIP-2 id of the cluster whose genesis hash is `genesis`.
pub fn network(genesis: &Hash) -> String {
    let hash = genesis.to_string();
    format!("solana:{}", hash.get(..32).unwrap_or(&hash))
}

/// A 402's body and `PAYMENT-REQUIRED` header.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentRequired {
    /// Always [`X402_VERSION`].
    pub x402_version: u32,
    /// Why payment is (still) required, for a person.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The resource asked for.
    pub resource: ResourceInfo,
    /// The ways to pay: micropay's, one per accepted mint, and whatever
    /// else the server offers ([`Offer`]).
    pub accepts: Vec<Offer>,
    /// Extensions by name, as sent: `micropay` (the machine-readable
    /// refusal, when a payment was refused, [`Extension`]),
    /// `payment-identifier` ([`payment_id`]), and whatever else a server
    /// declares (kept, never an error).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub extensions: BTreeMap<String, serde_json::Value>,
}

impl PaymentRequired {
    /// micropay's refusal in `extensions`, if any (one that does not read
    /// as a refusal is none).
    pub fn refusal(&self) -> Option<Refusal> {
        let info = self.extensions.get(EXTENSION)?.get("info")?;
        serde_json::from_value(info.clone()).ok()
    }

    /// The micropay requirement paying `mint`, if offered.
    pub fn for_mint(&self, mint: &Pubkey) -> Option<&PaymentRequirements> {
        let mint = mint.to_string();
        self.accepts
            .iter()
            .filter_map(Offer::micropay)
            .find(|r| r.asset == mint)
    }
}

/// One entry of `accepts`. A server may offer other schemes and chains
/// beside micropay (x402's `exact` on Solana, EVM networks): a client reads
/// the ones it speaks and keeps the rest as sent, so a 402 naming a scheme
/// it does not know is still a 402 it can pay — and one it forwards
/// unchanged. An entry that says it is micropay's (or Solana `exact`) but
/// does not parse as one is kept as [`Offer::Other`], never trusted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Offer {
    /// [`SCHEME`].
    Micropay(PaymentRequirements),
    /// [`exact::SCHEME`] on a `solana:` network.
    Exact(exact::ExactRequirements),
    /// Anything else, as sent.
    Other(serde_json::Value),
}

impl Offer {
    /// The micropay requirement, if it is one.
    pub fn micropay(&self) -> Option<&PaymentRequirements> {
        match self {
            Offer::Micropay(r) => Some(r),
            _ => None,
        }
    }

    /// The micropay requirement, to change (tests of hostile servers).
    pub fn micropay_mut(&mut self) -> Option<&mut PaymentRequirements> {
        match self {
            Offer::Micropay(r) => Some(r),
            _ => None,
        }
    }

    /// The Solana `exact` requirement, if it is one.
    pub fn exact(&self) -> Option<&exact::ExactRequirements> {
        match self {
            Offer::Exact(r) => Some(r),
            _ => None,
        }
    }

    fn from_value(value: serde_json::Value) -> Self {
        let scheme = value.get("scheme").and_then(|s| s.as_str());
        let solana = value
            .get("network")
            .and_then(|n| n.as_str())
            .is_some_and(|n| n.starts_with("solana:"));
        match scheme {
            Some(SCHEME) => serde_json::from_value(value.clone())
                .map(Offer::Micropay)
                .unwrap_or(Offer::Other(value)),
            Some(exact::SCHEME) if solana => serde_json::from_value(value.clone())
                .map(Offer::Exact)
                .unwrap_or(Offer::Other(value)),
            _ => Offer::Other(value),
        }
    }
}

impl From<PaymentRequirements> for Offer {
    fn from(r: PaymentRequirements) -> Self {
        Offer::Micropay(r)
    }
}

impl Serialize for Offer {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Offer::Micropay(r) => r.serialize(serializer),
            Offer::Exact(r) => r.serialize(serializer),
            Offer::Other(v) => v.serialize(serializer),
        }
    }
}

impl<'de> Deserialize<'de> for Offer {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        serde_json::Value::deserialize(deserializer).map(Offer::from_value)
    }
}

/// An x402 extension entry: data and its JSON Schema.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Extension {
    /// The data.
    pub info: Refusal,
    /// JSON Schema of `info`.
    pub schema: serde_json::Value,
}

impl Extension {
    /// As an entry of `extensions`.
    pub fn value(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_default()
    }

    /// The `micropay` extension carrying `refusal`.
    pub fn refusal(refusal: Refusal) -> Self {
        Extension {
            info: refusal,
            schema: serde_json::json!({
                "type": "object",
                "required": ["reason"],
                "properties": {
                    "reason": { "type": "string" },
                    "channel": { "type": "string" },
                    "held": { "type": "object" },
                    "claimed": { "type": "string" }
                }
            }),
        }
    }
}

/// The resource a 402 is about.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceInfo {
    /// Its URL (or path).
    pub url: String,
    /// What it is, for a person.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// MIME type of the response.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mime_type: Option<String>,
}

/// One way to pay (x402 `PaymentRequirements`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentRequirements {
    /// [`SCHEME`] for micropay.
    pub scheme: String,
    /// CAIP-2 cluster id ([`network`]).
    pub network: String,
    /// Price of one request, base units of `asset`, net of any fee share.
    pub amount: String,
    /// The mint, base58.
    pub asset: String,
    /// The creator the channel must pay, base58.
    pub pay_to: String,
    /// How long the server waits for the paid retry, seconds.
    pub max_timeout_seconds: u64,
    /// What a client needs to open a channel the server accepts.
    pub extra: MicropayExtra,
}

impl PaymentRequirements {
    /// The price, base units.
    pub fn price(&self) -> Result<u64, WireError> {
        parse_amount("amount", &self.amount)
    }

    /// The mint.
    pub fn mint(&self) -> Result<Pubkey, WireError> {
        parse_address("asset", &self.asset)
    }

    /// The creator.
    pub fn creator(&self) -> Result<Pubkey, WireError> {
        parse_address("payTo", &self.pay_to)
    }
}

/// micropay's `extra`: what the server's receiver accepts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MicropayExtra {
    /// The micropay program id, base58.
    pub program_id: String,
    /// The mint's decimals (for showing prices).
    pub decimals: u8,
    /// Shortest dispute window accepted, seconds.
    pub min_dispute_window_secs: u32,
    /// Fee recipients a channel may name (base58); empty: a channel must
    /// carry no fee share.
    #[serde(default)]
    pub fee_recipients: Vec<String>,
    /// Highest fee share accepted, basis points (prices are net of it).
    #[serde(default)]
    pub max_fee_bps: u16,
    /// A Solana Action that funds an escrow and opens a channel, if served.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fund_action: Option<String>,
}

/// A paid retry's `PAYMENT-SIGNATURE` (x402 `PaymentPayload`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentPayload {
    /// Always [`X402_VERSION`].
    pub x402_version: u32,
    /// The resource paid for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<ResourceInfo>,
    /// The requirement chosen, as the server sent it.
    pub accepted: PaymentRequirements,
    /// The channel's next cumulative voucher.
    pub payload: WireVoucher,
    /// Extensions the client adds (`payment-identifier`), as sent.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub extensions: BTreeMap<String, serde_json::Value>,
}

/// A voucher as JSON: base58 channel and signature, decimal amount (a u64
/// does not fit a JavaScript number).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WireVoucher {
    /// The channel, base58.
    pub channel: String,
    /// Cumulative amount, base units, decimal.
    pub amount: String,
    /// Ed25519 signature of the voucher message, base58.
    pub signature: String,
}

impl From<&Voucher> for WireVoucher {
    fn from(v: &Voucher) -> Self {
        WireVoucher {
            channel: v.channel.to_string(),
            amount: v.amount.to_string(),
            signature: bs58::encode(v.signature).into_string(),
        }
    }
}

impl WireVoucher {
    /// The voucher (its signature is not checked here).
    pub fn voucher(&self) -> Result<Voucher, WireError> {
        let mut signature = [0u8; 64];
        match bs58::decode(&self.signature).onto(&mut signature) {
            Ok(64) => {}
            _ => return Err(WireError::Signature),
        }
        Ok(Voucher {
            channel: parse_address("channel", &self.channel)?,
            amount: parse_amount("amount", &self.amount)?,
            signature,
        })
    }
}

/// A paid response's `PAYMENT-RESPONSE` (x402 `SettlementResponse`, with
/// micropay's fields).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SettlementResponse {
    /// The voucher was accepted.
    pub success: bool,
    /// The claim transaction's signature when the route settles first;
    /// empty when the voucher was accepted off chain (settled later, in a batch).
    pub transaction: String,
    /// CAIP-2 cluster id.
    pub network: String,
    /// The channel's signer (the payer's session key), base58.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payer: Option<String>,
    /// The channel paid (empty, and left out, for an `exact` payment).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub channel: String,
    /// Cumulative amount the server now holds, base units (micropay).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub cumulative: String,
    /// What the creator received for this request, net of the fee share.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub paid: String,
    /// Allocation left for further vouchers, base units (micropay).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub remaining: String,
    /// Why `success` is false: the request was not served (its upstream
    /// failed) and the voucher is kept, uncharged, for a retry of the same
    /// request with the same voucher (x402's `errorReason`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_reason: Option<String>,
}

/// Why a payment was refused, for a client to act on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refusal {
    /// What went wrong.
    pub reason: RefusalCode,
    /// The channel concerned, base58.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
    /// For [`RefusalCode::Stale`] and [`RefusalCode::Duplicate`]: the best
    /// voucher the server holds for the channel. It is signed by the
    /// channel's key: a client verifies it and continues from its amount.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub held: Option<WireVoucher>,
    /// What the channel has settled on chain, base units (a floor for the
    /// client's next voucher).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claimed: Option<String>,
    /// A finer reason, machine-readable ([`RefusalCode::InvalidTransaction`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// Machine-readable refusal reasons.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RefusalCode {
    /// No `PAYMENT-SIGNATURE` header: pay to get the resource.
    PaymentRequired,
    /// The header could not be read.
    Malformed,
    /// Another scheme, network or x402 version.
    Unsupported,
    /// The payment names another creator than this server's.
    WrongPayTo,
    /// The channel does not exist.
    UnknownChannel,
    /// The channel pays another creator.
    WrongCreator,
    /// The channel's mint is not accepted on this route.
    MintNotAccepted,
    /// The channel's fee share is not accepted.
    FeeNotAccepted,
    /// The channel's dispute window is too short.
    DisputeWindowTooShort,
    /// The payer asked to close the channel.
    Closing,
    /// The channel expires too soon.
    Expiring,
    /// The creator's or fee recipient's earnings account is missing.
    EarningsMissing,
    /// The signature does not verify.
    BadSignature,
    /// The voucher is above the channel's allocation: top it up.
    ExceedsAllocation,
    /// The voucher is not ahead of what the server holds: see `held`.
    Stale,
    /// The voucher pays less than the price.
    Underpaid,
    /// This voucher paid for a request already: a retry is not served twice.
    Duplicate,
    /// An `exact` payment's transaction is not one the server signs and
    /// sends, or the cluster refused it: `detail` says why
    /// ([`exact::ExactRefusal::code`], or `cluster_refused`).
    InvalidTransaction,
    /// The payment's `payment-identifier` id was used with another request
    /// or another payment (a `409`); nothing was taken. Use a new id.
    PaymentIdentifierConflict,
}

fn parse_address(field: &'static str, value: &str) -> Result<Pubkey, WireError> {
    value.parse().map_err(|_| WireError::Address {
        field,
        value: value.to_string(),
    })
}

fn parse_amount(field: &'static str, value: &str) -> Result<u64, WireError> {
    // digits only: no sign, no exponent, no whitespace
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(WireError::Amount {
            field,
            value: value.to_string(),
        });
    }
    value.parse().map_err(|_| WireError::Amount {
        field,
        value: value.to_string(),
    })
}

impl Refusal {
    /// A refusal with only a reason.
    pub fn new(reason: RefusalCode) -> Self {
        Refusal {
            reason,
            channel: None,
            held: None,
            claimed: None,
            detail: None,
        }
    }

    /// The held voucher, decoded and verified against `signer` (the channel's
    /// key): `None` when absent, another channel's, or not signed by `signer`.
    pub fn verified_held(&self, channel: &Pubkey, signer: &Pubkey) -> Option<Voucher> {
        let held = self.held.as_ref()?.voucher().ok()?;
        (held.channel == *channel && held.verify(signer).is_ok()).then_some(held)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use solana_keypair::Keypair;
    use solana_signer::Signer;

    fn requirements() -> PaymentRequirements {
        PaymentRequirements {
            scheme: SCHEME.into(),
            network: network(&Hash::new_from_array([7; 32])),
            amount: "1000".into(),
            asset: Pubkey::new_unique().to_string(),
            pay_to: Pubkey::new_unique().to_string(),
            max_timeout_seconds: 60,
            extra: MicropayExtra {
                program_id: micropay::ID.to_string(),
                decimals: 9,
                min_dispute_window_secs: 900,
                fee_recipients: Vec::new(),
                max_fee_bps: 0,
                fund_action: None,
            },
        }
    }

    #[test]
    fn headers_round_trip_in_x402_field_names() {
        let required = PaymentRequired {
            x402_version: X402_VERSION,
            error: Some("pay".into()),
            resource: ResourceInfo {
                url: "/a".into(),
                description: None,
                mime_type: None,
            },
            accepts: vec![requirements().into()],
            extensions: BTreeMap::from([(
                EXTENSION.to_string(),
                Extension::refusal(Refusal::new(RefusalCode::Underpaid)).value(),
            )]),
        };
        let header = encode_header(&required);
        let back: PaymentRequired = decode_header(PAYMENT_REQUIRED, header.as_bytes()).unwrap();
        assert_eq!(back, required);
        let json: serde_json::Value =
            serde_json::from_slice(&STANDARD.decode(&header).unwrap()).unwrap();
        assert_eq!(json["x402Version"], 2);
        assert_eq!(
            json["accepts"][0]["payTo"],
            required.accepts[0].micropay().unwrap().pay_to
        );
        assert_eq!(json["accepts"][0]["maxTimeoutSeconds"], 60);
        assert_eq!(json["accepts"][0]["extra"]["minDisputeWindowSecs"], 900);
        assert_eq!(
            json["extensions"]["micropay"]["info"]["reason"],
            "underpaid"
        );
        assert_eq!(back.refusal().unwrap().reason, RefusalCode::Underpaid);
    }

    /// Regression (issue 28): a peer's 402 declaring extensions micropay
    /// does not know (`bazaar`, `payment-identifier`) failed to parse, so
    /// its offers could not be paid.
    #[test]
    fn a_402_with_extensions_micropay_does_not_know_is_read() {
        let offer = requirements();
        let json = serde_json::json!({
            "x402Version": 2,
            "resource": { "url": "https://api.example/a" },
            "accepts": [offer],
            "extensions": {
                "bazaar": { "info": { "input": { "type": "http" } }, "schema": {} },
                "payment-identifier": payment_id::declaration()
            }
        });
        let read: PaymentRequired = serde_json::from_value(json).unwrap();
        assert!(read.refusal().is_none());
        assert_eq!(read.accepts[0].micropay(), Some(&offer));
        assert_eq!(read.extensions[payment_id::NAME]["info"]["required"], false);
        // a `micropay` entry that is not a refusal is none, not an error
        let odd = serde_json::json!({
            "x402Version": 2,
            "resource": { "url": "/a" },
            "accepts": [],
            "extensions": { "micropay": { "info": { "what": 1 } } }
        });
        let read: PaymentRequired = serde_json::from_value(odd).unwrap();
        assert!(read.refusal().is_none());
    }

    #[test]
    fn the_network_is_caip2_with_32_characters_of_the_genesis_hash() {
        // mainnet-beta's genesis hash gives x402's published Solana id
        let mainnet: Hash = "5eykt4UsFv8P8NJdTREpY1vzqKqZKvdpKuc147dw2N9d"
            .parse()
            .unwrap();
        assert_eq!(network(&mainnet), "solana:5eykt4UsFv8P8NJdTREpY1vzqKqZKvdp");
    }

    #[test]
    fn a_wire_voucher_is_the_voucher_and_verifies_only_for_its_key() {
        let key = Keypair::new();
        let channel = Pubkey::new_unique();
        let v = Voucher::sign(&key, channel, 12_345);
        let wire = WireVoucher::from(&v);
        assert_eq!(wire.amount, "12345");
        assert_eq!(wire.voucher().unwrap(), v);
        let refusal = Refusal {
            held: Some(wire.clone()),
            ..Refusal::new(RefusalCode::Stale)
        };
        assert_eq!(refusal.verified_held(&channel, &key.pubkey()), Some(v));
        // a server cannot make a client continue from an amount it never signed
        assert_eq!(
            refusal.verified_held(&channel, &Keypair::new().pubkey()),
            None
        );
        let forged = Refusal {
            held: Some(WireVoucher {
                amount: "99999".into(),
                ..wire.clone()
            }),
            ..refusal.clone()
        };
        assert_eq!(forged.verified_held(&channel, &key.pubkey()), None);
        assert_eq!(
            refusal.verified_held(&Pubkey::new_unique(), &key.pubkey()),
            None
        );
    }

    #[test]
    fn malformed_input_is_a_typed_error() {
        assert!(matches!(
            decode_header::<PaymentPayload>(PAYMENT_SIGNATURE, b"%%%"),
            Err(WireError::Base64 { .. })
        ));
        let not_json = STANDARD.encode(b"{\"x402Version\":2}");
        assert!(matches!(
            decode_header::<PaymentPayload>(PAYMENT_SIGNATURE, not_json.as_bytes()),
            Err(WireError::Json { .. })
        ));
        let wire = |amount: &str, signature: &str| WireVoucher {
            channel: Pubkey::new_unique().to_string(),
            amount: amount.into(),
            signature: signature.into(),
        };
        let sig = bs58::encode([1u8; 64]).into_string();
        for bad in ["", "-1", "1e3", " 1", "18446744073709551616", "0x10"] {
            assert!(
                matches!(wire(bad, &sig).voucher(), Err(WireError::Amount { .. })),
                "{bad:?}"
            );
        }
        assert!(matches!(
            wire("1", &bs58::encode([1u8; 63]).into_string()).voucher(),
            Err(WireError::Signature)
        ));
        assert!(matches!(
            wire("1", "0OIl").voucher(),
            Err(WireError::Signature)
        ));
        let mut bad_channel = wire("1", &sig);
        bad_channel.channel = "not-a-key".into();
        assert!(matches!(
            bad_channel.voucher(),
            Err(WireError::Address {
                field: "channel",
                ..
            })
        ));
        assert_eq!(
            wire("18446744073709551615", &sig).voucher().unwrap().amount,
            u64::MAX
        );
    }

    /// A 402 offering micropay beside other schemes and chains parses; the
    /// others are kept exactly as sent, and a broken micropay offer is
    /// never taken for one.
    #[test]
    fn accepts_keeps_the_offers_it_does_not_speak() {
        let ours = requirements();
        let micropay = serde_json::to_value(&ours).unwrap();
        let exact = serde_json::json!({
            "scheme": "exact", "network": "solana:5eykt4UsFv8P8NJdTREpY1vzqKqZKvdp",
            "amount": "1000", "asset": "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v",
            "payTo": "2wKupLR9q6wXYppw8Gr2NvWxKBUqm4PPJKkQfoxHDBg4", "maxTimeoutSeconds": 60,
            "extra": { "feePayer": "EwWqGE4ZFKLofuestmU4LDdK7XM1N4ALgdZccwYugwGd", "memo": "pi_1" }
        });
        let evm = serde_json::json!({
            "scheme": "exact", "network": "eip155:8453", "amount": "1000",
            "asset": "0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913", "payTo": "0xabc",
            "maxTimeoutSeconds": 60, "extra": { "name": "USD Coin", "version": "2" }
        });
        let mut broken = micropay.clone();
        broken["extra"] = serde_json::json!({});
        let upto = serde_json::json!({ "scheme": "upto", "network": "solana:x", "price": 7 });
        let body = serde_json::json!({
            "x402Version": 2,
            "resource": { "url": "/a" },
            "accepts": [evm, exact, broken, micropay, upto],
        });
        let required: PaymentRequired = serde_json::from_value(body.clone()).unwrap();
        let kinds: Vec<&str> = required
            .accepts
            .iter()
            .map(|o| match o {
                Offer::Micropay(_) => "micropay",
                Offer::Exact(_) => "exact",
                Offer::Other(_) => "other",
            })
            .collect();
        assert_eq!(kinds, ["other", "exact", "other", "micropay", "other"]);
        assert_eq!(
            required.accepts[1].exact().unwrap().extra.memo.as_deref(),
            Some("pi_1")
        );
        assert_eq!(required.for_mint(&ours.mint().unwrap()), Some(&ours));
        // written back as it came
        assert_eq!(serde_json::to_value(&required).unwrap(), body);
    }
}
