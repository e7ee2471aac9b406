//! # micropay-native
//!
//! The micropay program compiled for the host and adapted as a runtime
//! builtin. There is no SBF toolchain where micropay is built and tested, so
//! the embedded bank (`micropay-client`, feature `embedded`) and the local node
//! (`micropay-node`) both run this native build; users deploy the SBF build
//! with `anchor build` / `anchor deploy`. One place holds the unsafe adapter.
//!
//! The adapter logs as a cluster does, so log parsers (Anchor's `EventParser`,
//! `.simulate()`, `AnchorError.parse`) work against the local node:
//!
//! - `invoke [n]`/`success`/`failed: …` once per call, at the callee's depth
//!   (the runtime writes them; program-test's `processor!` and stubs wrote
//!   them a second time, the CPI's at the caller's depth);
//! - the program's `msg!` (Anchor's `Instruction: …` and `AnchorError …`
//!   lines) as `Program log: …` through micropay's build of `solana-msg`
//!   (natively, upstream `msg!` is a `println!`);
//! - `sol_log_data` as `Program data: …`.
//!
//! Not as on a cluster: no `consumed N of M compute units` lines (a builtin
//! has no metered VM), and compute units are not those of the SBF build.
// The entrypoint adapter and the syscall stubs need unsafe code.
#![allow(unsafe_code)]

mod frame;
mod invoke;
mod logs;
mod stubs;
mod writeback;

pub use invoke::builtin;
pub use logs::echo_program_logs;

use anchor_spl::token::spl_token;
use solana_sdk::{account::Account, program_pack::Pack, pubkey::Pubkey};

/// The wrapped-SOL mint as a cluster has it (9 decimals, no authority):
/// banks that start empty need it before SOL can be wrapped.
pub fn native_mint_account() -> (Pubkey, Account) {
    let mut data = vec![0u8; spl_token::state::Mint::LEN];
    spl_token::state::Mint {
        mint_authority: None.into(),
        supply: 0,
        decimals: 9,
        is_initialized: true,
        freeze_authority: None.into(),
    }
    .pack_into_slice(&mut data);
    let account = Account {
        lamports: 1_000_000_000,
        data,
        owner: spl_token::ID,
        executable: false,
        rent_epoch: 0,
    };
    (spl_token::native_mint::ID, account)
}

/// A program-test bank with micropay (native), SPL Token, Token-2022 and the
/// wrapped-SOL mint.
#[cfg(feature = "program-test")]
pub fn program_test() -> solana_program_test::ProgramTest {
    let mut pt = solana_program_test::ProgramTest::new("micropay", micropay::ID, Some(builtin()));
    pt.prefer_bpf(false);
    let (mint, account) = native_mint_account();
    pt.add_account(mint, account);
    pt
}

/// Quiets the runtime's DEBUG logger unless the user asked for logs.
pub fn quiet_logs() {
    static QUIET: std::sync::Once = std::sync::Once::new();
    QUIET.call_once(|| {
        if std::env::var_os("RUST_LOG").is_none() {
            std::env::set_var("RUST_LOG", "error");
        }
    });
}
