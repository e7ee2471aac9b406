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

use crate::pay::{Pay, PayError};
use alloy_primitives::U256;
use micropay_sdk::x402::{self, Offer, PaymentRequired};
use x402_types::{
    chain::ChainId,
    proto,
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
