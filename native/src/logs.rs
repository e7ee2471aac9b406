//! The program's `msg!` in the transaction's logs.
//!
//! micropay's build of `solana-msg` (native/solana-msg) offers every native
//! `msg!` to a hook; this one puts the messages logged while the builtin runs
//! into the invocation's log collector as `Program log: …`, exactly where the
//! SBF runtime puts them. Any other message is printed as upstream does.
//!
//! Only with the `log-hook` feature, which needs that patched `solana-msg`;
//! without it (a crate outside this workspace) the program's messages are
//! printed on stdout, as upstream `solana-msg` does natively, and the
//! transaction's logs hold only the runtime's own lines.

#[cfg(feature = "log-hook")]
use crate::frame;
#[cfg(feature = "log-hook")]
use solana_program_runtime::stable_log;
use std::sync::atomic::{AtomicBool, Ordering};

static ECHO: AtomicBool = AtomicBool::new(false);

/// Also prints each program log line on stdout as it is written (`micropay
/// node --log`): refused transactions never reach `getTransaction`.
pub fn echo_program_logs(on: bool) {
    ECHO.store(on, Ordering::Relaxed);
}

#[cfg(feature = "log-hook")]
fn hook(message: &str) -> bool {
    frame::with_context(|context| {
        stable_log::program_log(&context.get_log_collector(), message);
        if ECHO.load(Ordering::Relaxed) {
            println!("Program log: {message}");
        }
    })
    .is_some()
}

/// Installs the hook (once per process).
#[cfg(feature = "log-hook")]
pub(crate) fn install() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        solana_msg::set_native_hook(hook);
    });
}

/// Without the `log-hook` feature there is no hook to install.
#[cfg(not(feature = "log-hook"))]
pub(crate) fn install() {}
