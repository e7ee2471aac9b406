//! The builtin call running on this thread: its invoke context, and the
//! error of a cross-program call that failed in it. The entrypoint
//! (`invoke`) enters a frame; the syscall stubs and the log hook reach the
//! context through it. A leaf: it imports nothing of this crate.

use solana_instruction::error::InstructionError;
use solana_program_runtime::invoke_context::InvokeContext;
use std::{cell::Cell, ptr::NonNull};

pub(crate) type Context = InvokeContext<'static, 'static>;

/// One builtin call on this thread: its invoke context, and the error of a
/// cross-program call that failed in it.
#[derive(Clone, Copy)]
pub(crate) struct Frame {
    pub(crate) context: NonNull<Context>,
    pub(crate) cpi_failure: NonNull<Option<InstructionError>>,
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
pub(crate) struct Enter(Option<Frame>);

impl Enter {
    pub(crate) fn new(frame: Frame) -> Self {
        Enter(CURRENT.with(|c| c.replace(Some(frame))))
    }
}

impl Drop for Enter {
    fn drop(&mut self) {
        CURRENT.with(|c| c.set(self.0));
    }
}
