//! # micropay-native
//!
//! The micropay program compiled for the host and adapted as a runtime
//! builtin. There is no SBF toolchain where micropay is built and tested, so
//! the embedded bank (`micropay-client`, feature `embedded`) and the local node
//! (`micropay-node`) both run this native build; users deploy the SBF build
//! with `anchor build` / `anchor deploy`. One place holds the unsafe adapter.
// program-test's `processor!` and the entrypoint adapter need unsafe code.
#![allow(unsafe_code)]

use anchor_lang::prelude::{AccountInfo, Pubkey};
use anchor_spl::token::spl_token;
use solana_program_runtime::invoke_context::BuiltinFunctionWithContext;
use solana_program_test::{processor, ProgramTest};
use solana_sdk::{account::Account, entrypoint::ProgramResult, program_pack::Pack};

/// Adapts Anchor's `entry`, which wants one lifetime for the account slice and
/// its elements, to the builtin signature.
fn process_instruction<'a, 'b, 'c>(
    program_id: &'a Pubkey,
    accounts: &'b [AccountInfo<'c>],
    data: &'a [u8],
) -> ProgramResult {
    // SAFETY: the runtime keeps the accounts alive for the whole call, and
    // `entry` does not keep them past it; only lifetime parameters change.
    let accounts: &'a [AccountInfo<'a>] = unsafe { std::mem::transmute(accounts) };
    micropay::entry(program_id, accounts, data)
}

/// The micropay program as a native builtin, for any runtime that takes
/// program-test builtins (a program-test bank, a LiteSVM node).
pub fn builtin() -> BuiltinFunctionWithContext {
    let builtin: Option<BuiltinFunctionWithContext> = processor!(process_instruction);
    builtin.expect("processor! always gives a builtin")
}

/// A program-test bank with micropay (native), SPL Token, Token-2022 and the
/// wrapped-SOL mint.
pub fn program_test() -> ProgramTest {
    let mut pt = ProgramTest::new("micropay", micropay::ID, Some(builtin()));
    pt.prefer_bpf(false);
    let mut data = vec![0u8; spl_token::state::Mint::LEN];
    spl_token::state::Mint {
        mint_authority: None.into(),
        supply: 0,
        decimals: 9,
        is_initialized: true,
        freeze_authority: None.into(),
    }
    .pack_into_slice(&mut data);
    pt.add_account(
        spl_token::native_mint::ID,
        Account {
            lamports: 1_000_000_000,
            data,
            owner: spl_token::ID,
            executable: false,
            rent_epoch: 0,
        },
    );
    pt
}

/// Quiets program-test's DEBUG logger unless the user asked for logs.
pub fn quiet_logs() {
    static QUIET: std::sync::Once = std::sync::Once::new();
    QUIET.call_once(|| {
        if std::env::var_os("RUST_LOG").is_none() {
            std::env::set_var("RUST_LOG", "error");
        }
    });
}
