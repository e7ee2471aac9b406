//! Writing a program's view of an account back into the transaction's
//! account, with the runtime's own checks.

use anchor_lang::prelude::AccountInfo;
use solana_instruction::error::InstructionError;
use solana_transaction_context::BorrowedInstructionAccount;

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
    use anchor_lang::prelude::Pubkey;
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
