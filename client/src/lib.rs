//! # micropay-client
//!
//! Rust client for the micropay program, in layers that each work alone:
//!
//! - [`pda`]: every program address, from the program crate's seeds;
//! - [`instructions`]: a builder for every instruction, including the batched
//!   `claim` that packs shared accounts once and refers to them by index;
//! - [`events`] and [`accounts`]: decoding of events and accounts;
//! - [`voucher`]: the exact on-chain voucher message, signing and strict
//!   off-chain verification;
//! - [`ledger`]: what the client needs from a chain, embedded (in-process
//!   bank) or over RPC.

#![cfg_attr(not(test), deny(clippy::unwrap_used))]

pub mod accounts;
pub mod error;
pub mod events;
pub mod instructions;
pub mod ledger;
pub mod payer;
pub mod pda;
pub mod planner;
pub mod receiver;
pub mod simulation;
pub mod store;
pub mod tokens;
pub mod voucher;

pub use error::{ClientError, Result};
pub use micropay;
