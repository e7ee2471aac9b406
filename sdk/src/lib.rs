//! # micropay-sdk
//!
//! Everything about the micropay program that needs no I/O: what a dApp, a
//! relayer or a front end needs to talk to the program, whatever runtime,
//! RPC client or storage it uses.
//!
//! - [`pda`]: every program address, from the program crate's seeds;
//! - [`instructions`]: a builder for every instruction, each a struct with
//!   named fields, including the batched `claim` that packs shared accounts
//!   once and refers to them by index;
//! - [`accounts`] and [`events`]: decoding of accounts and events;
//! - [`amount`]: UI amounts ("1.25") to and from base units, exactly;
//! - [`filters`]: the `getProgramAccounts` filters that find channels and escrows;
//! - [`voucher`]: the exact on-chain voucher message, signing with any
//!   `Signer`, and strict off-chain verification;
//! - [`tokens`]: the SPL Token instructions micropay users need (token
//!   accounts, wrapping and unwrapping SOL);
//! - [`session`]: session keys a payer derives again from its wallet;
//! - [`x402`]: vouchers over HTTP (the x402 v2 headers, micropay's scheme);
//! - [`error`]: the program's error codes, and this crate's errors.
//!
//! The I/O layers (ledgers, stores, payer, receiver, claim planner) are in
//! `micropay-client`; the command-line tool is `micropay-cli`.

#![cfg_attr(not(test), deny(clippy::unwrap_used))]
#![warn(missing_docs)]

pub mod accounts;
pub mod amount;
pub mod error;
pub mod events;
pub mod filters;
pub mod instructions;
pub mod pda;
pub mod session;
pub mod tokens;
pub mod voucher;
pub mod x402;

pub use error::SdkError;
pub use micropay;
