//! The SBF syscalls `sol_log` uses (as upstream exports them).
pub use solana_define_syscall::definitions::{
    sol_log_, sol_log_64_, sol_log_compute_units_, sol_log_data,
};
