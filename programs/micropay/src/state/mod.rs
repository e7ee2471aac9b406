//! Program accounts. Tokens of a mint all sit in one vault (PDA token account
//! `["vault", mint]`, its own authority); these accounts say who owns how much.
//!
//! Per-mint invariant, after every instruction:
//! `vault.amount = Σ escrow.balance + Σ (channel.allocation − channel.claimed) + Σ earnings.balance`.

pub mod channel;
pub mod earnings;
pub mod escrow;

pub use channel::*;
pub use earnings::*;
pub use escrow::*;
