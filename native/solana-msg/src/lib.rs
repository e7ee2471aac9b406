//! `solana-msg` for micropay: the upstream crate's API (`msg!`, `sol_log`,
//! and on SBF the `syscalls` it uses), plus a native log hook.
//!
//! Why this exists: since solana-program 2, a native build's `msg!` is a
//! `println!` — no runtime ever sees it. micropay runs its program natively
//! (no SBF toolchain where it is built and tested), so Anchor's error logs
//! (`AnchorError occurred … Error Code: …`) and `Instruction: …` lines went to
//! the node's stdout instead of the transaction's logs, and TypeScript clients
//! got a raw `custom program error: 0x…` instead of a typed `AnchorError`.
//! With [`set_native_hook`], `micropay-native` routes the messages logged
//! while its builtin runs into the invocation's log collector; every other
//! message is printed as before. On `target_os = "solana"` nothing changes.
#![no_std]
#[cfg(feature = "alloc")]
extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

/// `format!` for the `msg!` macro.
#[cfg(feature = "alloc")]
#[doc(hidden)]
pub use alloc::format;

/// Prints a message to the log: one `&str` expression as is, anything else
/// through `format!`.
#[cfg(feature = "alloc")]
#[macro_export]
macro_rules! msg {
    ($msg:expr) => {
        $crate::sol_log($msg)
    };
    ($($arg:tt)*) => ($crate::sol_log(&$crate::format!($($arg)*)));
}

#[cfg(target_os = "solana")]
pub mod syscalls;

/// Natively: the hook that may take a message (returns `true` if it did).
#[cfg(all(not(target_os = "solana"), feature = "std"))]
static NATIVE_HOOK: std::sync::OnceLock<fn(&str) -> bool> = std::sync::OnceLock::new();

/// Installs the native log hook (once per process; a second call returns
/// `false` and changes nothing). The hook returns `true` when it took the
/// message; otherwise the message is printed as without a hook.
#[cfg(all(not(target_os = "solana"), feature = "std"))]
pub fn set_native_hook(hook: fn(&str) -> bool) -> bool {
    NATIVE_HOOK.set(hook).is_ok()
}

/// Prints a string to the log.
#[inline]
pub fn sol_log(message: &str) {
    #[cfg(target_os = "solana")]
    // SAFETY: the syscall reads `len` bytes from a valid `&str`.
    unsafe {
        syscalls::sol_log_(message.as_ptr(), message.len() as u64);
    }

    #[cfg(all(not(target_os = "solana"), feature = "std"))]
    {
        if NATIVE_HOOK.get().is_some_and(|hook| hook(message)) {
            return;
        }
        std::println!("{message}");
    }

    #[cfg(all(not(target_os = "solana"), not(feature = "std")))]
    core::hint::black_box(message);
}
