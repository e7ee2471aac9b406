//! micropay's scheme as a plug-in of x402-rs (feature `x402-rs`): a
//! scheme client that `x402-reqwest` users register in one line beside
//! x402-rs's own, so its middleware pays `micropay` offers with vouchers.
//!
//! ```ignore
//! let x402 = x402_reqwest::X402Client::new()
//!     .register(MicropayScheme::new(pay).await?)         // micropay first
//!     .register(V2SolanaExactClient::new(wallet, rpc));  // else exact
//! let http = reqwest::Client::new().with_payments(x402).build();
//! ```
//!
//! The vouchers come from a [`Pay`] (channels found, opened or topped up
//! from the wallet's escrow, budgets counted when signed, write-ahead in its
//! store), through [`Pay::sign_unanswered`]: `x402-reqwest` sends the paid
//! retry itself and shows no scheme the answer, so a refused voucher is not
//! corrected on this path (see there). A client that wants micropay's
//! recovery (a `stale` refusal's held voucher, a price rise, a top-up on
//! `exceeds_allocation`) uses [`Pay`] as its middleware instead.
//!
//! The server side is [`MicropayFacilitator`]: an x402-rs `Facilitator`
//! that takes `micropay` vouchers into a [`Receiver`], so an `x402-axum`
//! server sells with vouchers in process
//! (`X402Middleware::from_facilitator(Arc::new(facilitator))` and a
//! [`MicropayFacilitator::price_tag`] per route). A voucher is taken
//! (durably, once) the first time it is verified or settled; the request
//! then runs as `x402-axum` runs it — unlike `Paywall`, a request whose
//! handler fails is not given its voucher back.

use crate::pay::{Pay, PayError};
use alloy_primitives::U256;
use micropay_client::{
    receiver::{Payment, Receiver, Rejection},
    ClientError,
};
use micropay_sdk::{
    voucher::VOUCHER_BYTES,
    x402::{self, Offer, PaymentPayload, PaymentRequired, PaymentRequirements, SettlementResponse},
};
use solana_sdk::pubkey::Pubkey;
use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};
use x402_types::{
    chain::ChainId,
    facilitator::Facilitator,
    proto::{self, v2},
    scheme::{
        client::{PaymentCandidate, PaymentCandidateSigner, X402Error, X402SchemeClient},
        X402SchemeId,
    },
};

/// The `micropay` scheme for `x402_reqwest::X402Client::register`.
pub struct MicropayScheme {
    pay: Pay,
    /// The cluster's x402 network id, read once (`accept` cannot wait).
    network: String,
}

impl MicropayScheme {
    /// The scheme paying through `pay` (its cluster's id read now).
    pub async fn new(pay: Pay) -> Result<Self, PayError> {
        let network = pay.cluster_network().await?;
        Ok(MicropayScheme { pay, network })
    }
}

impl X402SchemeId for MicropayScheme {
    fn namespace(&self) -> &str {
        "solana"
    }

    fn scheme(&self) -> &str {
        x402::SCHEME
    }
}

impl X402SchemeClient for MicropayScheme {
    fn accept(&self, payment_required: &proto::PaymentRequired) -> Vec<PaymentCandidate> {
        // x402-rs keeps each offer as the JSON sent: read it as ours
        let proto::PaymentRequired::V2(v2) = payment_required else {
            return Vec::new();
        };
        let Ok(required) =
            serde_json::to_value(v2).and_then(serde_json::from_value::<PaymentRequired>)
        else {
            return Vec::new();
        };
        required
            .accepts
            .iter()
            .filter_map(Offer::micropay)
            .filter(|offer| self.pay.payable(offer, &self.network))
            .filter_map(|offer| {
                Some(PaymentCandidate {
                    chain_id: offer.network.parse::<ChainId>().ok()?,
                    asset: offer.asset.clone(),
                    amount: U256::from(offer.price().ok()?),
                    scheme: x402::SCHEME.to_string(),
                    x402_version: 2,
                    pay_to: offer.pay_to.clone(),
                    signer: Box::new(Voucher {
                        pay: self.pay.clone(),
                        required: required.clone(),
                    }),
                })
            })
            .collect()
    }
}

/// Signs the channel's next voucher for one 402.
struct Voucher {
    pay: Pay,
    required: PaymentRequired,
}

#[async_trait::async_trait]
impl PaymentCandidateSigner for Voucher {
    async fn sign_payment(&self) -> Result<String, X402Error> {
        match self.pay.sign_unanswered(&self.required).await {
            Ok(Some(header)) => Ok(header),
            Ok(None) => Err(X402Error::NoMatchingPaymentOption),
            Err(e) => Err(X402Error::SigningError(e.to_string())),
        }
    }
}

/// An x402-rs facilitator taking `micropay` vouchers into a receiver (see
/// the module docs).
pub struct MicropayFacilitator {
    receiver: Arc<Receiver>,
    network: String,
    /// Vouchers taken by `verify` (by their bytes, signature included),
    /// answered by the one `settle` that follows.
    taken: Mutex<HashMap<[u8; VOUCHER_BYTES], Payment>>,
}

/// Why a request to [`MicropayFacilitator`] could not be answered at all
/// (a voucher refused is an answer: `isValid` / `success` false).
#[derive(Debug, thiserror::Error)]
pub enum FacilitatorError {
    /// The receiver's store or the cluster failed.
    #[error("the receiver could not decide: {0}")]
    Receiver(ClientError),
}

impl MicropayFacilitator {
    /// The facilitator of `receiver`'s vouchers on `network` (the
    /// cluster's x402 id, `x402::network`).
    pub fn new(receiver: Arc<Receiver>, network: String) -> Self {
        MicropayFacilitator {
            receiver,
            network,
            taken: Mutex::new(HashMap::new()),
        }
    }

    /// The `x402-axum` price tag of `offer` (a `micropay` requirement this
    /// receiver takes: its creator, its network).
    pub fn price_tag(offer: &PaymentRequirements) -> Result<v2::PriceTag, serde_json::Error> {
        Ok(v2::PriceTag {
            requirements: serde_json::from_value(serde_json::to_value(offer)?)?,
            enricher: None,
        })
    }

    /// Takes the voucher of `request` (`{paymentPayload,
    /// paymentRequirements}`; the requirements are the server's own, as
    /// x402-axum matched them) into the receiver: the payment, or the wire
    /// code of why not. With `settling`, a voucher the `verify` before took
    /// (the same bytes) is answered from it, once.
    async fn take(
        &self,
        request: &str,
        settling: bool,
    ) -> Result<Result<Payment, String>, FacilitatorError> {
        let Ok(parts) = serde_json::from_str::<Parts>(request) else {
            return Ok(Err("malformed".into()));
        };
        let (payload, offer) = (&parts.payment_payload, &parts.payment_requirements);
        let creator = self.receiver.creator().to_string();
        if offer.scheme != x402::SCHEME || offer.network != self.network || offer.pay_to != creator
        {
            return Ok(Err("unsupported".into()));
        }
        let (Ok(voucher), Ok(mint), Ok(price)) =
            (payload.payload.voucher(), offer.mint(), offer.price())
        else {
            return Ok(Err("malformed".into()));
        };
        if settling {
            let verified = self.verified().remove(&voucher.to_bytes());
            if let Some(payment) = verified {
                return Ok(Ok(payment));
            }
        }
        let priced = move |m: &Pubkey| (*m == mint).then_some(price);
        match self.receiver.accept_priced(&voucher, &priced).await {
            Ok(payment) => {
                if !settling {
                    self.verified().insert(voucher.to_bytes(), payment);
                }
                Ok(Ok(payment))
            }
            Err(ClientError::Rejected(rejection)) => Ok(Err(code(&rejection))),
            Err(ClientError::Voucher(_)) => Ok(Err("bad_signature".into())),
            Err(e) => Err(FacilitatorError::Receiver(e)),
        }
    }

    fn verified(&self) -> std::sync::MutexGuard<'_, HashMap<[u8; VOUCHER_BYTES], Payment>> {
        self.taken.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn settlement(&self, payment: &Payment) -> SettlementResponse {
        SettlementResponse {
            success: true,
            transaction: String::new(),
            network: self.network.clone(),
            payer: Some(payment.signer.to_string()),
            channel: payment.channel.to_string(),
            cumulative: payment.cumulative.to_string(),
            paid: payment.net.to_string(),
            remaining: payment
                .allocation
                .saturating_sub(payment.cumulative)
                .to_string(),
            error_reason: None,
        }
    }
}

/// A verify or settle request, as x402-axum sends it.
#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct Parts {
    payment_payload: PaymentPayload,
    payment_requirements: PaymentRequirements,
}

/// The wire code of `rejection` (the paywall's own).
fn code(rejection: &Rejection) -> String {
    serde_json::to_value(crate::paywall::refusal_code(rejection))
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_else(|| "refused".into())
}

impl Facilitator for MicropayFacilitator {
    type Error = FacilitatorError;

    async fn verify(
        &self,
        request: &proto::VerifyRequest,
    ) -> Result<proto::VerifyResponse, Self::Error> {
        // a voucher is taken once: a second verify of it (another request
        // carrying it) is refused by the receiver as a duplicate
        let answer = match self.take(request.as_str(), false).await? {
            Ok(payment) => {
                serde_json::json!({ "isValid": true, "payer": payment.signer.to_string() })
            }
            Err(reason) => serde_json::json!({ "isValid": false, "invalidReason": reason }),
        };
        Ok(proto::VerifyResponse(answer))
    }

    async fn settle(
        &self,
        request: &proto::SettleRequest,
    ) -> Result<proto::SettleResponse, Self::Error> {
        let answer = match self.take(request.as_str(), true).await? {
            Ok(payment) => serde_json::to_value(self.settlement(&payment)).unwrap_or_default(),
            Err(reason) => serde_json::json!({
                "success": false, "errorReason": reason, "network": self.network,
            }),
        };
        Ok(proto::SettleResponse(answer))
    }

    async fn supported(&self) -> Result<proto::SupportedResponse, Self::Error> {
        Ok(proto::SupportedResponse {
            kinds: vec![proto::SupportedPaymentKind {
                x402_version: 2,
                scheme: x402::SCHEME.to_string(),
                network: self.network.clone(),
                extra: None,
            }],
            extensions: Vec::new(),
            signers: Default::default(),
        })
    }
}
