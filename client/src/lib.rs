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
//!   bank, feature `embedded`, the default) or over RPC;
//! - [`store`]: the durable voucher store (SQLite);
//! - [`payer`], [`receiver`], [`planner`]: signing vouchers, accepting them,
//!   and claiming in batches at a bounded fee ratio;
//! - [`watcher`]: the daemon loop that claims every voucher before its
//!   dispute window ends (`micropay watch`);
//! - [`simulation`]: the whole story on any ledger (what `micropay demo` runs);
//! - [`tokens`]: mints, token accounts, wrapping SOL.
//!
//! Errors are one enum, [`ClientError`]; program errors keep the program's
//! code, name and message.
//!
//! # Paying and claiming
//!
//! A user funds an escrow with 1 SOL (wrapped) and opens a channel to a
//! creator with a session key; 1,000 uses are paid by vouchers, no
//! transaction; one claim settles them all. The same code runs against a
//! cluster with `RpcLedger::new(url, commitment)` in place of the bank.
//!
//! ```
//! # use anchor_spl::token::spl_token::{native_mint::ID as SOL, ID as TOKEN};
//! # use micropay_client::{accounts, instructions as ix, micropay::instructions::OpenChannelArgs, pda, tokens};
//! # use micropay_client::{ledger::{embedded::EmbeddedLedger, Ledger}, payer::Payer, planner::*, receiver::*, store::SqliteStore};
//! # use solana_sdk::signature::{Keypair, Signer};
//! # use std::sync::Arc;
//! # #[tokio::main] async fn main() -> micropay_client::Result<()> {
//! let bank = Arc::new(EmbeddedLedger::start().await);
//! let (user, creator, session) = (bank.payer().insecure_clone(), Keypair::new(), Keypair::new());
//! let (me, escrow) = (user.pubkey(), pda::escrow(&user.pubkey(), &SOL).0);
//! let wsol = tokens::create_token_account(bank.as_ref(), &user, &SOL, &me, &TOKEN).await?;
//! let mut setup = tokens::wrap_sol_ixs(&me, &wsol, 1_000_000_000)?;
//! setup.push(ix::init_escrow(&me, &SOL, &TOKEN));
//! setup.push(ix::deposit(&me, &escrow, &SOL, &wsol, &TOKEN, 1_000_000_000));
//! setup.push(ix::init_earnings(&me, &creator.pubkey(), &SOL));
//! bank.send(&setup, &user, &[]).await?;
//! let args = OpenChannelArgs { creator: creator.pubkey(), signer: session.pubkey(), allocation: 1_000_000_000,
//!     fee_recipient: None, fee_bps: 0, dispute_window_secs: 3_600, expires_at: 0, nonce: rand::random() };
//! let slot = pda::ChannelSlot::next(&accounts::escrow(bank.as_ref(), &escrow).await?.unwrap());
//! let (open, channel) = ix::open_channel(&me, &escrow, slot, args);
//! bank.send(&[open], &user, &[]).await?;
//!
//! let payer = Payer::new(Arc::new(SqliteStore::in_memory()?));        // the user's side
//! payer.register(channel, &session, 1_000_000_000)?;
//! let store = Arc::new(SqliteStore::in_memory()?);                    // the creator's side
//! let config = ReceiverConfig::accepting([AcceptedMint::wrapped_sol()]);
//! let receiver = Receiver::new(bank.clone(), store.clone(), creator.pubkey(), config);
//! for _ in 0..1_000 {
//!     let paid = receiver.accept(&payer.pay(&channel, 10_000)?, 10_000).await?; // one use: no transaction
//!     assert_eq!(paid.net, 10_000); // what the creator will collect (no fee share here)
//! }
//! let (_, done) = Planner::new(PlannerConfig::default()).run(bank.as_ref(), store.as_ref(), &user).await?;
//! assert_eq!((done.transactions, done.settled_amount), (1, 10_000_000)); // one claim, 5,000 lamports
//! # Ok(()) }
//! ```

#![cfg_attr(not(test), deny(clippy::unwrap_used))]

pub mod accounts;
#[cfg(feature = "cli")]
pub mod cli;
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
pub mod watcher;

pub use error::{ClientError, Result};
pub use micropay;
