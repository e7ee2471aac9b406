//! Program addresses, derived from the seeds in `micropay::constants` (never
//! retyped here).

use anchor_lang::prelude::Pubkey;
use micropay::constants::{CHANNEL_SEED, EARNINGS_SEED, ESCROW_SEED, VAULT_SEED};

/// The vault token account of `mint`: `["vault", mint]`.
pub fn vault(mint: &Pubkey) -> (Pubkey, u8) {
    Pubkey::find_program_address(&[VAULT_SEED, mint.as_ref()], &micropay::ID)
}

/// A payer's escrow for `mint`: `["escrow", owner, mint]`.
pub fn escrow(owner: &Pubkey, mint: &Pubkey) -> (Pubkey, u8) {
    Pubkey::find_program_address(&[ESCROW_SEED, owner.as_ref(), mint.as_ref()], &micropay::ID)
}

/// Channel `id` of `escrow` with `nonce`: `["channel", escrow, id LE, nonce LE]`.
pub fn channel(escrow: &Pubkey, id: u64, nonce: u64) -> (Pubkey, u8) {
    Pubkey::find_program_address(
        &[
            CHANNEL_SEED,
            escrow.as_ref(),
            &id.to_le_bytes(),
            &nonce.to_le_bytes(),
        ],
        &micropay::ID,
    )
}

/// The earnings account of `owner` for `mint`: `["earnings", owner, mint]`.
pub fn earnings(owner: &Pubkey, mint: &Pubkey) -> (Pubkey, u8) {
    Pubkey::find_program_address(
        &[EARNINGS_SEED, owner.as_ref(), mint.as_ref()],
        &micropay::ID,
    )
}

/// The PDA that signs the program's event CPIs.
pub fn event_authority() -> Pubkey {
    Pubkey::find_program_address(&[b"__event_authority"], &micropay::ID).0
}
