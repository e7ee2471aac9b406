//! The syscalls of the natively built program, answered by the runtime that
//! runs the builtin: logs, cross-program calls, sysvars, return data.
//!
//! Like program-test's stubs, except for the logs: a cross-program call is
//! logged by the runtime when it runs the callee (`invoke [n]` at the callee's
//! depth, `success`/`failed`), so the stub adds no line of its own — program-
//! test's added an `invoke` at the caller's depth and a second `success`.

use crate::{
    frame::{record_cpi_failure, with_context},
    writeback::store,
};
use solana_account_info::AccountInfo;
use solana_instruction::{
    error::{InstructionError, UNSUPPORTED_SYSVAR},
    Instruction,
};
use solana_program_entrypoint::SUCCESS;
use solana_program_error::{ProgramError, ProgramResult};
use solana_program_runtime::{invoke_context::InvokeContext, stable_log};
use solana_pubkey::Pubkey;
use solana_sbpf::vm::ContextObject;
use solana_svm_log_collector::ic_msg;
use solana_svm_timings::ExecuteTimings;
use solana_sysvar::{program_stubs::SyscallStubs, SysvarSerialize};
use std::sync::Arc;

/// Puts these stubs in place, once per process, before any builtin runs.
///
/// With feature `program-test`, program-test installs its own stubs the
/// first time any of its banks starts, so that happens first (a throwaway
/// bank, ~10 ms); after it, ours stay. Never replaced while a program runs:
/// a stub call holds the stubs' read lock, and a CPI re-enters it, so a
/// writer then would deadlock.
pub(crate) fn install() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        #[cfg(feature = "program-test")]
        std::thread::spawn(|| {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime for program-test's one-time set-up")
                .block_on(solana_program_test::ProgramTest::default().start());
        })
        .join()
        .expect("program-test's one-time set-up");
        solana_sysvar::program_stubs::set_syscall_stubs(Box::new(Stubs));
    });
}

struct Stubs;

/// The context of the running builtin; the program only makes syscalls while
/// it runs, so its absence is a bug in the host.
fn context<R>(f: impl FnOnce(&mut InvokeContext<'static, 'static>) -> R) -> R {
    with_context(f).expect("a micropay syscall outside a micropay builtin call")
}

fn get_sysvar<T: SysvarSerialize + Clone>(
    context: &InvokeContext,
    sysvar: Result<Arc<T>, InstructionError>,
    var_addr: *mut u8,
) -> u64 {
    let cost = context
        .get_execution_cost()
        .sysvar_base_cost
        .saturating_add(T::size_of() as u64);
    if context.consume_checked(cost).is_err() {
        panic!("exceeded the compute budget");
    }
    match sysvar {
        // SAFETY: the program passes the address of a `T` to fill.
        Ok(value) => unsafe {
            *(var_addr as *mut T) = T::clone(&value);
            SUCCESS
        },
        Err(_) => UNSUPPORTED_SYSVAR,
    }
}

impl SyscallStubs for Stubs {
    fn sol_log(&self, message: &str) {
        context(|c| stable_log::program_log(&c.get_log_collector(), message));
    }

    fn sol_log_compute_units(&self) {
        context(|c| {
            ic_msg!(
                c,
                "Program consumption: {} units remaining",
                c.get_remaining()
            );
        });
    }

    fn sol_remaining_compute_units(&self) -> u64 {
        context(|c| c.get_remaining())
    }

    fn sol_log_data(&self, fields: &[&[u8]]) {
        context(|c| stable_log::program_data(&c.get_log_collector(), fields));
    }

    fn sol_invoke_signed(
        &self,
        instruction: &Instruction,
        account_infos: &[AccountInfo],
        signers_seeds: &[&[&[u8]]],
    ) -> ProgramResult {
        context(|c| invoke_signed(c, instruction, account_infos, signers_seeds)).map_err(|e| {
            let program_error =
                ProgramError::try_from(e.clone()).unwrap_or(ProgramError::Custom(u32::MAX));
            record_cpi_failure(e);
            program_error
        })
    }

    fn sol_get_clock_sysvar(&self, var_addr: *mut u8) -> u64 {
        context(|c| get_sysvar(c, c.get_sysvar_cache().get_clock(), var_addr))
    }

    fn sol_get_epoch_schedule_sysvar(&self, var_addr: *mut u8) -> u64 {
        context(|c| get_sysvar(c, c.get_sysvar_cache().get_epoch_schedule(), var_addr))
    }

    fn sol_get_epoch_rewards_sysvar(&self, var_addr: *mut u8) -> u64 {
        context(|c| get_sysvar(c, c.get_sysvar_cache().get_epoch_rewards(), var_addr))
    }

    #[allow(deprecated)]
    fn sol_get_fees_sysvar(&self, var_addr: *mut u8) -> u64 {
        context(|c| get_sysvar(c, c.get_sysvar_cache().get_fees(), var_addr))
    }

    fn sol_get_rent_sysvar(&self, var_addr: *mut u8) -> u64 {
        context(|c| get_sysvar(c, c.get_sysvar_cache().get_rent(), var_addr))
    }

    fn sol_get_last_restart_slot(&self, var_addr: *mut u8) -> u64 {
        context(|c| get_sysvar(c, c.get_sysvar_cache().get_last_restart_slot(), var_addr))
    }

    fn sol_get_return_data(&self) -> Option<(Pubkey, Vec<u8>)> {
        context(|c| {
            let (program_id, data) = c.transaction_context.get_return_data();
            Some((*program_id, data.to_vec()))
        })
    }

    fn sol_set_return_data(&self, data: &[u8]) {
        context(|c| {
            let tc = &mut c.transaction_context;
            let caller = tc
                .get_current_instruction_context()
                .and_then(|i| i.get_program_key().copied());
            if let Ok(caller) = caller {
                // too long return data fails the program on a cluster
                tc.set_return_data(caller, data.to_vec())
                    .expect("return data within the runtime's limit");
            }
        })
    }

    fn sol_get_stack_height(&self) -> u64 {
        context(|c| c.get_stack_height() as u64)
    }
}

/// A cross-program call: the caller's account changes go in, the callee
/// runs (the runtime logs it), its changes come back to the caller.
fn invoke_signed(
    c: &mut InvokeContext,
    instruction: &Instruction,
    account_infos: &[AccountInfo],
    signers_seeds: &[&[&[u8]]],
) -> Result<(), InstructionError> {
    let caller = *c
        .transaction_context
        .get_current_instruction_context()?
        .get_program_key()?;
    let signers = signers_seeds
        .iter()
        .map(|seeds| {
            Pubkey::create_program_address(seeds, &caller)
                .map_err(|_| InstructionError::InvalidSeeds)
        })
        .collect::<Result<Vec<_>, _>>()?;
    c.prepare_next_instruction(instruction.clone(), &signers)?;

    // the caller's view of each account goes into the transaction first
    let tc = &c.transaction_context;
    let current = tc.get_current_instruction_context()?;
    let next = tc.get_next_instruction_context()?;
    let mut written_back = Vec::new();
    for account in next.instruction_accounts() {
        let key = tc.get_key_of_account_at_index(account.index_in_transaction)?;
        let info_index = account_infos
            .iter()
            .position(|info| info.key == key)
            .ok_or(InstructionError::MissingAccount)?;
        let info = &account_infos[info_index];
        let index_in_caller =
            current.get_index_of_account_in_instruction(account.index_in_transaction)?;
        let mut borrowed = current.try_borrow_instruction_account(index_in_caller)?;
        store(info, &mut borrowed)?;
        if account.is_writable() {
            written_back.push((account.index_in_transaction, info_index));
        }
    }

    let mut units = 0;
    c.process_instruction(&mut units, &mut ExecuteTimings::default())?;

    // the callee's changes go back into the caller's account infos
    let tc = &c.transaction_context;
    let current = tc.get_current_instruction_context()?;
    for (index_in_transaction, info_index) in written_back {
        let index_in_caller = current.get_index_of_account_in_instruction(index_in_transaction)?;
        let borrowed = current.try_borrow_instruction_account(index_in_caller)?;
        let info = &account_infos[info_index];
        **info
            .try_borrow_mut_lamports()
            .map_err(|_| InstructionError::AccountBorrowFailed)? = borrowed.get_lamports();
        if info.owner != borrowed.get_owner() {
            // e.g. the System program assigned the account to its new owner
            info.assign(borrowed.get_owner());
        }
        let new_data = borrowed.get_data();
        if info.data_len() != new_data.len() {
            info.resize(new_data.len())
                .map_err(|_| InstructionError::InvalidRealloc)?;
        }
        info.try_borrow_mut_data()
            .map_err(|_| InstructionError::AccountBorrowFailed)?
            .copy_from_slice(new_data);
    }
    Ok(())
}
