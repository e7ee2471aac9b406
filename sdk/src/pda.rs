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

/// Where a new channel of an escrow goes: the escrow's generation and the id
/// the channel gets. Read it from the escrow account ([`ChannelSlot::next`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChannelSlot {
    /// `Escrow::generation` (the slot the escrow was created in).
    pub generation: u64,
    /// The channel id (`Escrow::next_channel_id` for a new channel).
    pub id: u64,
}

impl ChannelSlot {
    /// The slot of the next channel `escrow` opens.
    pub fn next(escrow: &micropay::state::Escrow) -> Self {
        ChannelSlot {
            generation: escrow.generation,
            id: escrow.next_channel_id,
        }
    }
}

/// A channel of `escrow` with `nonce`:
/// `["channel", escrow, generation LE, id LE, nonce LE]`.
pub fn channel(escrow: &Pubkey, slot: ChannelSlot, nonce: u64) -> (Pubkey, u8) {
    Pubkey::find_program_address(
        &[
            CHANNEL_SEED,
            escrow.as_ref(),
            &slot.generation.to_le_bytes(),
            &slot.id.to_le_bytes(),
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

/// The split of `mint` paying `recipients` (ascending by owner):
/// `["split", mint, sha256(recipients)]`. `None` when the recipients cannot
/// be encoded (never for a well-formed split).
pub fn split(
    mint: &Pubkey,
    recipients: &[micropay::state::SplitRecipient],
) -> Option<(Pubkey, u8)> {
    let hash = micropay::state::split_hash(recipients).ok()?;
    Some(Pubkey::find_program_address(
        &[micropay::constants::SPLIT_SEED, mint.as_ref(), &hash],
        &micropay::ID,
    ))
}

/// The PDA that signs the program's event CPIs.
pub fn event_authority() -> Pubkey {
    Pubkey::find_program_address(&[b"__event_authority"], &micropay::ID).0
}
