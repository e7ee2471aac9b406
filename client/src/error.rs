//! The client's one error type. Program errors come back with the program's own
//! name and message; everything else says what went wrong and what to do.

use anchor_lang::prelude::Pubkey;
use micropay::error::MicropayError;

/// Every `MicropayError`, in code order (code = 6000 + index).
pub const PROGRAM_ERRORS: &[MicropayError] = &[
    MicropayError::ZeroAmount,
    MicropayError::InsufficientBalance,
    MicropayError::MathOverflow,
    MicropayError::NotEscrowOwner,
    MicropayError::NotChannelCreator,
    MicropayError::NotEarningsOwner,
    MicropayError::UnsupportedMintExtension,
    MicropayError::MintMismatch,
    MicropayError::InvalidVault,
    MicropayError::FeeTooHigh,
    MicropayError::FeeRecipientMismatch,
    MicropayError::DisputeWindowOutOfRange,
    MicropayError::ExpiryInPast,
    MicropayError::InvalidVoucherSigner,
    MicropayError::ChannelClosing,
    MicropayError::CloseNotRequested,
    MicropayError::DisputeWindowOpen,
    MicropayError::EscrowHasOpenChannels,
    MicropayError::EscrowNotEmpty,
    MicropayError::EmptyClaim,
    MicropayError::TooManyVouchers,
    MicropayError::AccountIndexOutOfRange,
    MicropayError::AccountNotWritable,
    MicropayError::InvalidChannelAccount,
    MicropayError::InvalidEarningsAccount,
    MicropayError::CreatorEarningsMismatch,
    MicropayError::FeeEarningsMismatch,
    MicropayError::SignatureScalarNotCanonical,
    MicropayError::SignaturePointNotCanonical,
    MicropayError::SignaturePointSmallOrder,
    MicropayError::InvalidVoucherSignature,
    MicropayError::ChannelEscrowMismatch,
    MicropayError::RentReceiverMismatch,
    MicropayError::AlreadyInitialized,
    MicropayError::InvariantViolated,
    MicropayError::EscrowCreatedThisSlot,
    MicropayError::EarningsNotEmpty,
];

/// The program error for a custom error code, if it is one of micropay's.
pub fn program_error(code: u32) -> Option<MicropayError> {
    let index = code.checked_sub(anchor_lang::error::ERROR_CODE_OFFSET)?;
    PROGRAM_ERRORS.get(usize::try_from(index).ok()?).copied()
}

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
    Voucher(#[from] crate::voucher::VoucherError),
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
    fn codes_map_to_every_program_error_in_order() {
        for (i, e) in PROGRAM_ERRORS.iter().enumerate() {
            assert_eq!(u32::from(*e), 6000 + i as u32);
            assert_eq!(
                program_error(6000 + i as u32).map(u32::from),
                Some(u32::from(*e))
            );
        }
        assert!(program_error(6000 + PROGRAM_ERRORS.len() as u32).is_none());
        assert!(program_error(42).is_none());
        let e = ClientError::from_custom_code(
            u32::from(MicropayError::InsufficientBalance),
            String::new(),
        );
        assert!(e.to_string().starts_with("Not enough free balance"), "{e}");
    }
}
