//! The program's error codes, decoded without a round trip to the IDL, and
//! the errors of this crate.

use anchor_lang::prelude::{ProgramError, Pubkey};
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

/// What this crate's decoders and builders refuse.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SdkError {
    /// The account is owned by micropay but its data is not a `kind`.
    #[error("account {address} is not a valid {kind}")]
    Decode {
        /// The account's address.
        address: Pubkey,
        /// What it was read as (`"escrow"`, `"channel"`, `"token account"`, ...).
        kind: &'static str,
    },
    /// A voucher does not verify or does not parse.
    #[error("voucher rejected: {0}")]
    Voucher(#[from] crate::voucher::VoucherError),
    /// The token program's instruction builder refused its arguments (an
    /// unknown token program id).
    #[error("token program {program} cannot build this instruction: {error}")]
    TokenInstruction {
        /// The token program id given.
        program: Pubkey,
        /// The builder's error.
        error: ProgramError,
    },
}

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
    }
}
