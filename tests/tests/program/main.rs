//! Program tests: one module per instruction, plus vouchers, attacks and
//! end-to-end flows. All run the native program in a program-test bank with
//! the real SPL Token and Token-2022 programs.

mod attacks;
mod claim;
mod close_earnings;
mod close_escrow;
mod create_split;
mod creator_close;
mod deposit;
mod distribute;
mod e2e;
mod finalize_close;
mod fixture;
mod init_earnings;
mod init_escrow;
mod logs;
mod open_channel;
mod program_id;
mod request_close;
mod top_up_channel;
mod verify;
mod withdraw;
mod withdraw_earnings;
