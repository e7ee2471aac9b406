//! # micropay-client
//!
//! The I/O layers of a micropay integration, on top of [`micropay_sdk`]
//! (addresses, instructions, decoding, vouchers; re-exported here):
//!
//! - [`ledger`]: what the client needs from a chain, over RPC
//!   ([`ledger::rpc::RpcLedger`]) or in an in-process bank (feature
//!   `embedded`, off by default);
//! - [`store`]: the durable voucher store: compare-and-set primitives, the
//!   typed rules over them, a conformance suite, SQLite (feature `sqlite`, on
//!   by default);
//! - [`payer`], [`receiver`], [`planner`]: signing vouchers, accepting them,
//!   and claiming in batches at a bounded fee ratio;
//! - [`watcher`]: the daemon loop that claims every voucher before its
//!   dispute window ends (`micropay watch`);
//! - [`accounts`], [`tokens`]: typed account reads and token plumbing.
//!
//! Errors are one enum, [`ClientError`]; program errors keep the program's
//! code, name and message.
//!
//! # Paying and claiming
//!
//! A user funds an escrow with 1 SOL (wrapped) and opens a channel to a
//! creator with a session key; 1,000 uses are paid by vouchers, no
//! transaction; one claim settles them all. The same story runs on the
//! embedded bank in `tests/tests/client/story.rs`.
//!
//! ```no_run
//! # use anchor_spl::token::spl_token::{native_mint::ID as SOL, ID as TOKEN};
//! # use micropay_client::micropay_sdk::{instructions as ix, micropay::instructions::OpenChannelArgs, pda, tokens as sdk_tokens};
//! # use micropay_client::{accounts, tokens, ledger::{rpc::RpcLedger, Ledger}, payer::{AsyncPayer, Payer}, planner::*, receiver::*, store::{AsyncStore, SqliteStore}};
//! # use solana_commitment_config::CommitmentConfig;
//! # use solana_sdk::signature::{Keypair, Signer};
//! # use std::sync::Arc;
//! # #[tokio::main] async fn main() -> micropay_client::Result<()> {
//! let ledger = Arc::new(RpcLedger::new("http://127.0.0.1:8899", CommitmentConfig::confirmed()));
//! let (user, creator, session) = (Keypair::new(), Keypair::new(), Keypair::new());
//! let (me, escrow) = (user.pubkey(), pda::escrow(&user.pubkey(), &SOL).0);
//! let wsol = tokens::create_token_account(ledger.as_ref(), &user, &SOL, &me, &TOKEN).await?;
//! let mut setup = sdk_tokens::WrapSol { from: me, account: wsol, lamports: 1_000_000_000 }.instructions()?;
//! setup.push(ix::InitEscrow { owner: me, mint: SOL, token_program: TOKEN }.instruction());
//! setup.push(ix::Deposit { depositor: me, escrow, mint: SOL, source: wsol, token_program: TOKEN, amount: 1_000_000_000 }.instruction());
//! setup.push(ix::InitEarnings { payer: me, owner: creator.pubkey(), mint: SOL }.instruction());
//! ledger.send(&setup, &user, &[]).await?;
//! let args = OpenChannelArgs { creator: creator.pubkey(), signer: session.pubkey(), allocation: 1_000_000_000,
//!     fee_recipient: None, fee_bps: 0, dispute_window_secs: 3_600, expires_at: 0, nonce: rand::random() };
//! let slot = pda::ChannelSlot::next(&accounts::escrow(ledger.as_ref(), &escrow).await?.unwrap());
//! let (open, channel) = ix::OpenChannel { owner: me, escrow, slot, args }.with_channel();
//! ledger.send(&[open], &user, &[]).await?;
//!
//! let payer = AsyncPayer::new(Payer::new(Arc::new(SqliteStore::in_memory()?))); // the user's side
//! payer.register(channel, &session, 1_000_000_000).await?;
//! let store = Arc::new(SqliteStore::in_memory()?);                    // the creator's side
//! let config = ReceiverConfig::accepting([AcceptedMint::wrapped_sol()]);
//! let receiver = Receiver::new(ledger.clone(), store.clone(), creator.pubkey(), config);
//! for _ in 0..1_000 {
//!     let paid = receiver.accept(&payer.pay(&channel, 10_000).await?, 10_000).await?; // one use: no transaction
//!     assert_eq!(paid.net, 10_000); // what the creator will collect (no fee share here)
//! }
//! let (_, done) = Planner::new(PlannerConfig::default()).run(ledger.as_ref(), &AsyncStore::new(store), &user).await?;
//! assert_eq!((done.transactions, done.settled_amount), (1, 10_000_000)); // one claim, 5,000 lamports
//! # Ok(()) }
//! ```

#![cfg_attr(not(test), deny(clippy::unwrap_used))]
#![warn(missing_docs)]

pub mod accounts;
pub mod channels;
pub mod earnings;
pub mod error;
pub mod escrow;
pub mod exact;
pub mod ledger;
pub mod payer;
pub mod planner;
pub mod receiver;
pub mod rejection;
pub mod splits;
pub mod store;
pub mod tokens;
pub mod v1;
pub mod watcher;

pub use error::{ClientError, Result};
pub use micropay;
pub use micropay_sdk;
