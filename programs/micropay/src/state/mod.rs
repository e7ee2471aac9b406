//! Program accounts. Tokens of a mint all sit in one vault (PDA token account
//! `["vault", mint]`, its own authority); these accounts say who owns how much.
//!
//! Per-mint invariant, after every instruction:
//! `vault.amount = Σ escrow.balance + Σ (channel.allocation − channel.claimed) + Σ earnings.balance`
//! (a split's earnings account included: `distribute` moves balance between
//! earnings accounts of one mint, never in or out of the vault).
//!
//! Each account's own invariant is checked by every handler that writes it,
//! right before returning ([`ensure`]), so a bug fails the transaction instead
//! of committing a broken state.

pub mod channel;
pub mod earnings;
pub mod escrow;
pub mod split;

pub use channel::*;
pub use earnings::*;
pub use escrow::*;
pub use split::*;

use crate::error::MicropayError;
use anchor_lang::prelude::*;

/// An account with a rule that must hold whenever the program writes it.
pub trait Invariant {
    fn invariant(&self) -> bool;
}

impl Invariant for Escrow {
    fn invariant(&self) -> bool {
        Escrow::invariant(self)
    }
}

impl Invariant for Channel {
    fn invariant(&self) -> bool {
        Channel::invariant(self)
    }
}

impl Invariant for Earnings {
    fn invariant(&self) -> bool {
        Earnings::invariant(self)
    }
}

impl Invariant for Split {
    fn invariant(&self) -> bool {
        Split::invariant(self)
    }
}

/// Fails with `InvariantViolated` unless `account`'s invariant holds.
pub fn ensure<T: Invariant>(account: &T) -> Result<()> {
    require!(account.invariant(), MicropayError::InvariantViolated);
    Ok(())
}
