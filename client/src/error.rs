//! The client's one error type. Program errors come back with the program's own
//! name and message; everything else says what went wrong and what to do.

use anchor_lang::prelude::Pubkey;
use micropay::error::MicropayError;
use micropay_sdk::error::program_error;

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The program refused the transaction.
    #[error("{message} (micropay error {code}: {name})")]
    Program {
        code: u32,
        name: String,
        message: String,
        error: MicropayError,
    },
    /// Another program or the runtime refused the transaction.
    #[error("transaction failed: {0}")]
    Transaction(String),
    /// The cluster could not be reached or answered with an error.
    #[error(
        "cluster unreachable or failing ({0}); check the RPC URL and that the node is running"
    )]
    Rpc(String),
    #[error("account {0} does not exist")]
    AccountNotFound(Pubkey),
    #[error("account {address} is not a valid {kind}")]
    Decode { address: Pubkey, kind: &'static str },
    #[error("voucher rejected: {0}")]
    Voucher(#[from] micropay_sdk::voucher::VoucherError),
    #[error("channel {channel}: paying {price} would bring the total to {needed}, above its allocation of {allocation}; top the channel up (micropay channel top-up) or open a new one")]
    AllocationExceeded {
        channel: Pubkey,
        price: u64,
        needed: u64,
        allocation: u64,
    },
    /// The receiver refused a voucher.
    #[error("voucher refused: {0}")]
    Rejected(#[from] crate::receiver::Rejection),
    #[error("voucher store: {0}")]
    Store(String),
    /// Compare-and-set kept losing to concurrent writers of one row.
    #[error(
        "the store row of channel {channel} kept changing under concurrent writers; try again"
    )]
    StoreContention { channel: Pubkey },
    #[error("channel {channel} is not registered with this payer (open it with `micropay channel open`, or register its session key)")]
    UnknownPayerChannel { channel: Pubkey },
    #[error("a payment must be above zero")]
    ZeroPayment,
    #[error("no store at {path}: accept a voucher first (micropay accept creates it), or pass the right --store")]
    StoreMissing { path: std::path::PathBuf },
    #[error("{0}")]
    Invalid(String),
}

impl From<micropay_sdk::SdkError> for ClientError {
    fn from(e: micropay_sdk::SdkError) -> Self {
        use micropay_sdk::SdkError as S;
        match e {
            S::Decode { address, kind } => ClientError::Decode { address, kind },
            S::Voucher(v) => ClientError::Voucher(v),
            S::TokenInstruction { .. } => ClientError::Invalid(e.to_string()),
        }
    }
}

#[cfg(feature = "sqlite")]
impl From<rusqlite::Error> for ClientError {
    fn from(e: rusqlite::Error) -> Self {
        ClientError::Store(e.to_string())
    }
}

impl ClientError {
    /// Builds the error of a failed transaction from its custom code, if any.
    pub fn from_custom_code(code: u32, fallback: String) -> Self {
        match program_error(code) {
            Some(error) => ClientError::Program {
                code,
                name: error.name(),
                message: error.to_string(),
                error,
            },
            None => ClientError::Transaction(fallback),
        }
    }

    /// The program error, when the program refused.
    pub fn program_error(&self) -> Option<MicropayError> {
        match self {
            ClientError::Program { error, .. } => Some(*error),
            _ => None,
        }
    }
}

pub type Result<T, E = ClientError> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_program_code_becomes_the_program_error() {
        let e = ClientError::from_custom_code(
            u32::from(MicropayError::InsufficientBalance),
            String::new(),
        );
        assert!(e.to_string().starts_with("Not enough free balance"), "{e}");
        assert!(matches!(
            ClientError::from_custom_code(42, "x".into()),
            ClientError::Transaction(_)
        ));
    }
}
