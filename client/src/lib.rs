//! # micropay-client
//!
//! Rust client for the micropay program, in layers that each work alone:
//!
//! - [`pda`]: every program address, from the program crate's seeds;
//! - [`instructions`]: a builder for every instruction, including the batched
//!   `claim` that packs shared accounts once and refers to them by index;
//! - [`events`]: decoding of the program's `emit_cpi!` events from inner
//!   instruction data.
//!
//! The ledger, payer, receiver, store and planner layers build on these.

pub mod events;
pub mod instructions;
pub mod pda;

pub use micropay;
