//! The builtin's entrypoint: runs `micropay::entry` on the accounts of the
//! current instruction and writes its changes back.
//!
//! The runtime (Agave 3.1's `process_executable_chain`) already logs
//! `invoke [n]`, `success` and `failed: …` around every builtin, so this
//! adapter logs nothing of its own: program-test's `processor!` logs them a
//! second time, which broke every log parser (Anchor's "Expected the stack to
//! have elements").

use crate::{
    frame::{Context, Enter, Frame},
    stubs,
    writeback::store,
};
use anchor_lang::prelude::{AccountInfo, Pubkey};
use solana_instruction::error::InstructionError;
use solana_program_error::ProgramResult;
use solana_program_runtime::{
    invoke_context::BuiltinFunctionWithContext, serialization::serialize_parameters,
};
use solana_sbpf::{
    error::EbpfError,
    vm::{get_runtime_environment_key, EbpfVm},
};
use std::{collections::HashMap, panic::AssertUnwindSafe, ptr::NonNull};

/// Adapts Anchor's `entry`, which wants one lifetime for the account slice and
/// its elements.
fn entry<'a, 'b, 'c>(
    program_id: &'a Pubkey,
    accounts: &'b [AccountInfo<'c>],
    data: &'a [u8],
) -> ProgramResult {
    // SAFETY: the accounts outlive the call and `entry` keeps none of them;
    // only lifetime parameters change.
    let accounts: &'a [AccountInfo<'a>] = unsafe { std::mem::transmute(accounts) };
    micropay::entry(program_id, accounts, data)
}

/// The micropay program as a native builtin, for any runtime that takes
/// builtins (a program-test bank, a LiteSVM node).
pub fn builtin() -> BuiltinFunctionWithContext {
    stubs::install();
    crate::logs::install();
    entrypoint
}

fn entrypoint(vm: *mut EbpfVm<Context>, _: u64, _: u64, _: u64, _: u64, _: u64) {
    // SAFETY: the runtime passes the VM's address moved by its environment
    // key (as for every builtin; program-test's `processor!` undoes it too).
    let vm = unsafe {
        &mut *((vm as *mut u64).offset((get_runtime_environment_key() as isize).wrapping_neg())
            as *mut EbpfVm<Context>)
    };
    vm.program_result = run(vm.context_object_pointer)
        .map_err(|e| EbpfError::SyscallError(Box::new(e)))
        .into();
}

fn run(context: &mut Context) -> Result<u64, InstructionError> {
    let mut cpi_failure: Option<InstructionError> = None;
    let _frame = Enter::new(Frame {
        context: NonNull::from(&mut *context),
        cpi_failure: NonNull::from(&mut cpi_failure),
    });
    // a builtin must consume compute units
    context
        .consume_checked(1)
        .map_err(|_| InstructionError::ComputationalBudgetExceeded)?;

    let mask_rent_epoch = context
        .get_feature_set()
        .mask_out_rent_epoch_in_vm_serialization;
    let instruction = context
        .transaction_context
        .get_current_instruction_context()?;
    let (mut parameters, ..) = serialize_parameters(&instruction, false, false, mask_rent_epoch)?;
    // SAFETY: `parameters` holds the SBF input serialization just made and
    // outlives the account infos borrowed from it.
    let (program_id, accounts, data) =
        unsafe { solana_program_entrypoint::deserialize(parameters.as_slice_mut().as_mut_ptr()) };

    let result = std::panic::catch_unwind(AssertUnwindSafe(|| entry(program_id, &accounts, data)));
    // on a cluster a failed cross-program call ends the instruction with the
    // callee's error, whatever the caller would have done next
    if let Some(error) = cpi_failure {
        return Err(error);
    }
    match result {
        Ok(Ok(())) => {}
        Ok(Err(error)) => return Err(InstructionError::from(u64::from(error))),
        Err(_) => return Err(InstructionError::ProgramFailedToComplete),
    }

    // write the program's changes back into the transaction's accounts
    let by_key: HashMap<_, _> = accounts.iter().map(|a| (*a.key, a)).collect();
    let instruction = context
        .transaction_context
        .get_current_instruction_context()?;
    let mut done = std::collections::HashSet::new();
    for index in 0..instruction.get_number_of_instruction_accounts() {
        let mut account = instruction.try_borrow_instruction_account(index)?;
        if !account.is_writable() || !done.insert(*account.get_key()) {
            continue;
        }
        let Some(info) = by_key.get(account.get_key()) else {
            continue;
        };
        store(info, &mut account)?;
    }
    Ok(0)
}
