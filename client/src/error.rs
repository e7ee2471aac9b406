//! The client's one error type. Program errors come back with the program's own
//! name and message; everything else says what went wrong and what to do.

use anchor_lang::prelude::Pubkey;
use micropay::error::MicropayError;
use micropay_sdk::error::program_error;

/// The client's errors: each says what went wrong and, where it can, what to do.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The program refused the transaction.
    #[error("{message} (micropay error {code}: {name})")]
    Program {
        /// The program's error code (6000 + index).
        code: u32,
        /// The error's name in the program (`InsufficientBalance`, ...).
        name: String,
        /// The program's message.
        message: String,
        /// The error itself.
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
    /// A transaction's blockhash expired before it landed, every attempt.
    #[error("the transaction did not land in {attempts} attempts (each blockhash expired first); the cluster may be congested: try again, or raise the priority fee")]
    Expired {
        /// Attempts made, each with a fresh blockhash.
        attempts: usize,
    },
    /// A signer could not sign (a hardware wallet unplugged or locked, a
    /// remote signer down, a wrong keypair for a required signature).
    #[error("signing failed: {0}")]
    Signing(solana_sdk::signer::SignerError),
    /// A required account does not exist.
    #[error("account {0} does not exist")]
    AccountNotFound(Pubkey),
    /// An account does not decode as what it should be.
    #[error("account {address} is not a valid {kind}")]
    Decode {
        /// The account.
        address: Pubkey,
        /// What it should be.
        kind: &'static str,
    },
    /// A voucher does not verify or parse.
    #[error("voucher rejected: {0}")]
    Voucher(#[from] micropay_sdk::voucher::VoucherError),
    /// The payer would sign past the channel's allocation.
    #[error("channel {channel}: paying {price} would bring the total to {needed}, above its allocation of {allocation}; top the channel up (micropay channel top-up) or open a new one")]
    AllocationExceeded {
        /// The channel.
        channel: Pubkey,
        /// The price asked, base units.
        price: u64,
        /// The cumulative amount it would take, base units.
        needed: u64,
        /// The channel's allocation, base units.
        allocation: u64,
    },
    /// The receiver refused a voucher.
    #[error("voucher refused: {0}")]
    Rejected(#[from] crate::receiver::Rejection),
    /// The voucher store failed (I/O, corruption, schema).
    #[error("voucher store: {0}")]
    Store(String),
    /// Compare-and-set kept losing to concurrent writers of one row.
    #[error(
        "the store row of channel {channel} kept changing under concurrent writers; try again"
    )]
    /// The channel whose row kept changing.
    StoreContention {
        /// The channel whose row kept changing.
        channel: Pubkey,
    },
    /// The payer holds no session key for this channel.
    #[error("channel {channel} is not registered with this payer (open it with `micropay channel open`, or register its session key)")]
    UnknownPayerChannel {
        /// The channel.
        channel: Pubkey,
    },
    /// A payment of zero was asked.
    #[error("a payment must be above zero")]
    ZeroPayment,
    /// A store was expected at a path that has none.
    #[error("no store at {path}: accept a voucher first (micropay accept creates it), or pass the right --store")]
    StoreMissing {
        /// The path given.
        path: std::path::PathBuf,
    },
    /// Input the caller must fix, said in words.
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

/// The client's result type.
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
