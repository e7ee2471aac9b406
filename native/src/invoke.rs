//! The builtin's entrypoint: runs `micropay::entry` on the accounts of the
//! current instruction and writes its changes back.
//!
//! The runtime (Agave 3.1's `process_executable_chain`) already logs
//! `invoke [n]`, `success` and `failed: …` around every builtin, so this
//! adapter logs nothing of its own: program-test's `processor!` logs them a
//! second time, which broke every log parser (Anchor's "Expected the stack to
//! have elements").

use crate::stubs;
use anchor_lang::prelude::{AccountInfo, Pubkey};
use solana_instruction::error::InstructionError;
use solana_program_error::ProgramResult;
use solana_program_runtime::{
    invoke_context::{BuiltinFunctionWithContext, InvokeContext},
    serialization::serialize_parameters,
};
use solana_sbpf::{
    error::EbpfError,
    vm::{get_runtime_environment_key, EbpfVm},
};
use solana_transaction_context::BorrowedInstructionAccount;
use std::{cell::Cell, collections::HashMap, panic::AssertUnwindSafe, ptr::NonNull};

type Context = InvokeContext<'static, 'static>;

/// One builtin call on this thread: its invoke context, and the error of a
/// cross-program call that failed in it.
#[derive(Clone, Copy)]
struct Frame {
    context: NonNull<Context>,
    cpi_failure: NonNull<Option<InstructionError>>,
}

thread_local! {
    static CURRENT: Cell<Option<Frame>> = const { Cell::new(None) };
}

/// Runs `f` with the invoke context of the builtin call running on this
/// thread (`None` outside one): the syscall stubs and the log hook use it.
pub(crate) fn with_context<R>(f: impl FnOnce(&mut Context) -> R) -> Option<R> {
    let frame = CURRENT.with(Cell::get)?;
    // SAFETY: the pointer is set by `run` for the duration of a builtin call
    // on this thread, during which the runtime keeps the context alive; the
    // program only reaches it through these (non-reentrant) stubs.
    Some(f(unsafe { &mut *frame.context.as_ptr() }))
}

/// Remembers the error of a failed cross-program call: on a cluster it is
/// the error of the whole instruction, whatever the caller does next.
pub(crate) fn record_cpi_failure(error: InstructionError) {
    if let Some(frame) = CURRENT.with(Cell::get) {
        // SAFETY: the slot lives on `run`'s stack for the whole call.
        let slot = unsafe { &mut *frame.cpi_failure.as_ptr() };
        slot.get_or_insert(error);
    }
}

/// Restores the caller's frame (a self-CPI nests calls) when dropped.
struct Enter(Option<Frame>);

impl Enter {
    fn new(frame: Frame) -> Self {
        Enter(CURRENT.with(|c| c.replace(Some(frame))))
    }
}

impl Drop for Enter {
    fn drop(&mut self) {
        CURRENT.with(|c| c.set(self.0));
    }
}

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

/// Copies a program's view of an account (`info`: lamports, data, owner)
/// into the transaction's account, before a CPI and after the program.
/// Data the runtime would not let the program write (a resize past the
/// limit, an account it does not own) fails with the runtime's reason, as
/// on a cluster; program-test's `processor!` drops such a write silently
/// after the program, which would let a test pass that fails on chain.
pub(crate) fn store(
    info: &AccountInfo,
    account: &mut BorrowedInstructionAccount,
) -> Result<(), InstructionError> {
    if account.get_lamports() != info.lamports() {
        account.set_lamports(info.lamports())?;
    }
    let data = info
        .try_borrow_data()
        .map_err(|_| InstructionError::AccountBorrowFailed)?;
    if account.get_data() != *data {
        // checks ownership and the resize limits, as the runtime does
        account.set_data_from_slice(&data)?;
    }
    drop(data);
    if account.get_owner() != info.owner {
        account.set_owner(info.owner.as_ref())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use solana_sdk::{account::AccountSharedData, rent::Rent};
    use solana_transaction_context::{InstructionAccount, TransactionContext};

    /// What [`store`] makes of `new` bytes for a writable account of 8 bytes
    /// owned by `owner`, written back by the micropay program: the account's
    /// data afterwards, or the runtime's refusal.
    fn write_back(owner: &Pubkey, new: &mut [u8]) -> Result<Vec<u8>, InstructionError> {
        let key = Pubkey::new_unique();
        let program = AccountSharedData::new(1, 0, &solana_sdk::native_loader::ID);
        let account = AccountSharedData::new(1_000_000_000, 8, owner);
        let mut tc = TransactionContext::new(
            vec![(micropay::ID, program), (key, account)],
            Rent::default(),
            1,
            1,
        );
        tc.configure_next_instruction_for_tests(
            0,
            vec![InstructionAccount::new(1, false, true)],
            vec![],
        )?;
        tc.push()?;
        let instruction = tc.get_current_instruction_context()?;
        let mut borrowed = instruction.try_borrow_instruction_account(0)?;
        let mut lamports = borrowed.get_lamports();
        let info = AccountInfo::new(&key, false, true, &mut lamports, new, owner, false);
        store(&info, &mut borrowed)?;
        Ok(borrowed.get_data().to_vec())
    }

    /// The program's own account takes new bytes and a new length; another
    /// program's account refuses both, as on a cluster (program-test's
    /// `processor!` dropped such a write after the program and passed).
    #[test]
    fn the_write_back_refuses_what_the_runtime_refuses() {
        let own = micropay::ID;
        assert_eq!(write_back(&own, &mut [7; 8]), Ok(vec![7; 8]));
        assert_eq!(write_back(&own, &mut [7; 12]), Ok(vec![7; 12]));
        let other = Pubkey::new_unique();
        assert_eq!(write_back(&other, &mut [0; 8]), Ok(vec![0; 8]), "unchanged");
        assert_eq!(
            write_back(&other, &mut [7; 8]),
            Err(InstructionError::ExternalAccountDataModified)
        );
        assert_eq!(
            write_back(&other, &mut [0; 12]),
            Err(InstructionError::AccountDataSizeChanged)
        );
    }
}
