//! The program's one error enum. Codes start at 6000 (Anchor's custom range) and
//! never change meaning; append new variants at the end.

use anchor_lang::prelude::*;

#[error_code]
pub enum MicropayError {
    #[msg("Amount must be greater than zero")]
    ZeroAmount,
    #[msg("Not enough free balance: deposit more, or withdraw or allocate less")]
    InsufficientBalance,
    #[msg("Arithmetic overflow: the amount is too large")]
    MathOverflow,
    #[msg("Only the escrow owner may do this")]
    NotEscrowOwner,
    #[msg("Only the channel's creator may do this")]
    NotChannelCreator,
    #[msg("Only the earnings account's owner may withdraw from it")]
    NotEarningsOwner,
    #[msg("The mint has a Token-2022 extension that would break escrow accounting (transfer fee, hook, permanent delegate, default frozen state, non-transferable, confidential or pausable)")]
    UnsupportedMintExtension,
    #[msg("The account belongs to another mint than the escrow")]
    MintMismatch,
    #[msg("The vault account is not the mint's micropay vault, or a withdrawal names the vault as destination")]
    InvalidVault,
    #[msg("Fee share is above the maximum of 1000 bps (10%)")]
    FeeTooHigh,
    #[msg("A fee share needs a fee recipient and a fee recipient needs a non-zero fee share")]
    FeeRecipientMismatch,
    #[msg("Dispute window must be between 60 seconds and 30 days")]
    DisputeWindowOutOfRange,
    #[msg("Channel expiry must be in the future")]
    ExpiryInPast,
    #[msg(
        "The voucher signer key is not a valid ed25519 public key (non-canonical or small order)"
    )]
    InvalidVoucherSigner,
    #[msg("The channel has a close request pending; open a new channel instead")]
    ChannelClosing,
    #[msg("The channel has no close request; call request_close first")]
    CloseNotRequested,
    #[msg("The dispute window is still open; wait until it ends")]
    DisputeWindowOpen,
    #[msg("The escrow still has open channels; close them first")]
    EscrowHasOpenChannels,
    /// No longer returned: `close_escrow` sweeps the remaining balance.
    #[msg("The escrow still holds a balance; withdraw it first")]
    EscrowNotEmpty,
    #[msg("A claim needs at least one voucher")]
    EmptyClaim,
    #[msg("Too many vouchers in one claim instruction (at most 64)")]
    TooManyVouchers,
    #[msg("A claim entry points past the accounts passed to the instruction")]
    AccountIndexOutOfRange,
    #[msg("A channel or earnings account passed to claim is not writable")]
    AccountNotWritable,
    #[msg("The account is not a micropay channel")]
    InvalidChannelAccount,
    #[msg("The account is not a micropay earnings account")]
    InvalidEarningsAccount,
    #[msg("The earnings account is not the channel creator's for the channel's mint")]
    CreatorEarningsMismatch,
    #[msg("The fee earnings account is not the channel fee recipient's for the channel's mint, or was given for a channel without fee")]
    FeeEarningsMismatch,
    #[msg("Voucher signature scalar S is not canonical (S >= L): the signature was malleated")]
    SignatureScalarNotCanonical,
    #[msg("Voucher signature point R is not a canonical encoding")]
    SignaturePointNotCanonical,
    #[msg("Voucher signature point R has small order")]
    SignaturePointSmallOrder,
    #[msg("Voucher signature does not verify against the channel's signer, channel and amount")]
    InvalidVoucherSignature,
    #[msg("The channel does not belong to this escrow")]
    ChannelEscrowMismatch,
    #[msg("The account passed as owner is not the escrow owner")]
    RentReceiverMismatch,
    #[msg("The account already exists")]
    AlreadyInitialized,
    #[msg("An account invariant does not hold after this instruction (a program bug); nothing was changed")]
    InvariantViolated,
    #[msg("The escrow was created in this slot; close it in a later slot (about half a second from now)")]
    EscrowCreatedThisSlot,
    #[msg("The earnings account still holds a balance; withdraw it first")]
    EarningsNotEmpty,
    #[msg("Split shares must be 1 to 32 recipients in ascending order of address, each once, each above 0 bps, summing to 10,000 bps")]
    InvalidSplitShares,
    #[msg("Pass every recipient's earnings account for the split's mint, in the split's recipient order")]
    SplitAccountsMismatch,
    #[msg("A recipient has no earnings account for this mint; create it (init_earnings) before the split")]
    SplitEarningsMissing,
    #[msg("The account passed to receive the rent is not the one that paid it (the earnings account's rent_payer)")]
    RentPayerMismatch,
}
