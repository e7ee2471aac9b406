//! Program tests: one module per instruction, plus vouchers, attacks and
//! end-to-end flows. All run the native program in a program-test bank with
//! the real SPL Token and Token-2022 programs.

mod attacks;
mod claim;
mod deposit;
mod init_escrow;
mod verify;
