//! A builder for every micropay instruction.
//!
//! Builders take plain addresses and return `Instruction`s; escrow, vault,
//! earnings and event-authority addresses are derived with [`crate::pda`].
//! `token_program` is the mint's owner: SPL Token or Token-2022.

use crate::pda;
use anchor_lang::{
    prelude::{AccountMeta, Pubkey},
    solana_program::instruction::Instruction,
    system_program, InstructionData, ToAccountMetas,
};
use micropay::{
    accounts as acc,
    constants::NO_ACCOUNT_INDEX,
    instruction as ix,
    instructions::{
        ClaimArgs, ClaimEntry, DepositArgs, InitEarningsArgs, OpenChannelArgs, TopUpChannelArgs,
        WithdrawArgs, WithdrawEarningsArgs,
    },
};

fn build(accounts: impl ToAccountMetas, data: impl InstructionData) -> Instruction {
    Instruction {
        program_id: micropay::ID,
        accounts: accounts.to_account_metas(None),
        data: data.data(),
    }
}

/// `init_escrow`: `owner`'s escrow for `mint` (creates the vault if missing).
pub fn init_escrow(owner: &Pubkey, mint: &Pubkey, token_program: &Pubkey) -> Instruction {
    build(
        acc::InitEscrow {
            owner: *owner,
            mint: *mint,
            escrow: pda::escrow(owner, mint).0,
            vault: pda::vault(mint).0,
            token_program: *token_program,
            system_program: system_program::ID,
            event_authority: pda::event_authority(),
            program: micropay::ID,
        },
        ix::InitEscrow {},
    )
}

/// `deposit`: `amount` from `source` (owned by `depositor`) into `escrow`.
pub fn deposit(
    depositor: &Pubkey,
    escrow: &Pubkey,
    mint: &Pubkey,
    source: &Pubkey,
    token_program: &Pubkey,
    amount: u64,
) -> Instruction {
    build(
        acc::Deposit {
            depositor: *depositor,
            escrow: *escrow,
            mint: *mint,
            source: *source,
            vault: pda::vault(mint).0,
            token_program: *token_program,
            event_authority: pda::event_authority(),
            program: micropay::ID,
        },
        ix::Deposit {
            args: DepositArgs { amount },
        },
    )
}

/// `withdraw`: `amount` of `owner`'s free escrow balance to `destination`.
pub fn withdraw(
    owner: &Pubkey,
    mint: &Pubkey,
    destination: &Pubkey,
    token_program: &Pubkey,
    amount: u64,
) -> Instruction {
    build(
        acc::Withdraw {
            owner: *owner,
            escrow: pda::escrow(owner, mint).0,
            mint: *mint,
            vault: pda::vault(mint).0,
            destination: *destination,
            token_program: *token_program,
            event_authority: pda::event_authority(),
            program: micropay::ID,
        },
        ix::Withdraw {
            args: WithdrawArgs { amount },
        },
    )
}

/// `open_channel`: the next channel of `escrow`, at `slot` (read it from the
/// escrow account with [`pda::ChannelSlot::next`]). Returns the instruction and
/// the channel's address.
pub fn open_channel(
    owner: &Pubkey,
    escrow: &Pubkey,
    slot: pda::ChannelSlot,
    args: OpenChannelArgs,
) -> (Instruction, Pubkey) {
    let channel = pda::channel(escrow, slot, args.nonce).0;
    let instruction = build(
        acc::OpenChannel {
            owner: *owner,
            escrow: *escrow,
            channel,
            system_program: system_program::ID,
            event_authority: pda::event_authority(),
            program: micropay::ID,
        },
        ix::OpenChannel { args },
    );
    (instruction, channel)
}

/// `top_up_channel`: `amount` more allocation for `channel`.
pub fn top_up_channel(
    owner: &Pubkey,
    escrow: &Pubkey,
    channel: &Pubkey,
    amount: u64,
) -> Instruction {
    build(
        acc::TopUpChannel {
            owner: *owner,
            escrow: *escrow,
            channel: *channel,
            event_authority: pda::event_authority(),
            program: micropay::ID,
        },
        ix::TopUpChannel {
            args: TopUpChannelArgs { amount },
        },
    )
}

/// `init_earnings`: the earnings account of `owner` for `mint`, rent by `payer`.
pub fn init_earnings(payer: &Pubkey, owner: &Pubkey, mint: &Pubkey) -> Instruction {
    build(
        acc::InitEarnings {
            payer: *payer,
            mint: *mint,
            earnings: pda::earnings(owner, mint).0,
            system_program: system_program::ID,
            event_authority: pda::event_authority(),
            program: micropay::ID,
        },
        ix::InitEarnings {
            args: InitEarningsArgs { owner: *owner },
        },
    )
}

/// One voucher for [`claim`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VoucherClaim {
    pub channel: Pubkey,
    /// The channel creator's earnings account for the channel's mint.
    pub creator_earnings: Pubkey,
    /// The fee recipient's earnings account, for channels with a fee share.
    pub fee_earnings: Option<Pubkey>,
    /// Cumulative amount of the voucher.
    pub amount: u64,
    pub signature: [u8; 64],
}

/// `claim`: settles `vouchers` in one instruction. Each distinct account is
/// passed once, writable, and entries refer to it by index.
///
/// # Panics
/// When the vouchers name more than 255 distinct accounts (a transaction holds
/// at most 64 anyway).
pub fn claim(vouchers: &[VoucherClaim]) -> Instruction {
    let mut keys: Vec<Pubkey> = Vec::new();
    let mut index_of = |key: &Pubkey| -> u8 {
        let position = keys.iter().position(|k| k == key).unwrap_or_else(|| {
            keys.push(*key);
            keys.len().saturating_sub(1)
        });
        u8::try_from(position).expect("at most 255 distinct accounts per claim")
    };
    let entries = vouchers
        .iter()
        .map(|v| ClaimEntry {
            channel_index: index_of(&v.channel),
            earnings_index: index_of(&v.creator_earnings),
            fee_earnings_index: v
                .fee_earnings
                .as_ref()
                .map_or(NO_ACCOUNT_INDEX, &mut index_of),
            amount: v.amount,
            signature: v.signature,
        })
        .collect();
    let accounts = keys
        .into_iter()
        .map(|key| AccountMeta::new(key, false))
        .collect();
    claim_raw(entries, accounts)
}

/// `claim` from already-indexed entries and their remaining accounts.
pub fn claim_raw(entries: Vec<ClaimEntry>, remaining: Vec<AccountMeta>) -> Instruction {
    let mut instruction = build(
        acc::Claim {
            event_authority: pda::event_authority(),
            program: micropay::ID,
        },
        ix::Claim {
            args: ClaimArgs { entries },
        },
    );
    instruction.accounts.extend(remaining);
    instruction
}

/// `withdraw_earnings`: `amount` of `owner`'s earnings to `destination`.
pub fn withdraw_earnings(
    owner: &Pubkey,
    mint: &Pubkey,
    destination: &Pubkey,
    token_program: &Pubkey,
    amount: u64,
) -> Instruction {
    build(
        acc::WithdrawEarnings {
            owner: *owner,
            earnings: pda::earnings(owner, mint).0,
            mint: *mint,
            vault: pda::vault(mint).0,
            destination: *destination,
            token_program: *token_program,
            event_authority: pda::event_authority(),
            program: micropay::ID,
        },
        ix::WithdrawEarnings {
            args: WithdrawEarningsArgs { amount },
        },
    )
}

/// `request_close`: the payer starts closing `channel`.
pub fn request_close(owner: &Pubkey, escrow: &Pubkey, channel: &Pubkey) -> Instruction {
    build(
        acc::RequestClose {
            owner: *owner,
            escrow: *escrow,
            channel: *channel,
            event_authority: pda::event_authority(),
            program: micropay::ID,
        },
        ix::RequestClose {},
    )
}

/// `finalize_close`: closes `channel` after its window; rent to `owner`.
pub fn finalize_close(escrow: &Pubkey, channel: &Pubkey, owner: &Pubkey) -> Instruction {
    build(
        acc::FinalizeClose {
            escrow: *escrow,
            channel: *channel,
            owner: *owner,
            event_authority: pda::event_authority(),
            program: micropay::ID,
        },
        ix::FinalizeClose {},
    )
}

/// `creator_close`: the creator closes `channel` now; rent to `owner`.
pub fn creator_close(
    creator: &Pubkey,
    escrow: &Pubkey,
    channel: &Pubkey,
    owner: &Pubkey,
) -> Instruction {
    build(
        acc::CreatorClose {
            creator: *creator,
            escrow: *escrow,
            channel: *channel,
            owner: *owner,
            event_authority: pda::event_authority(),
            program: micropay::ID,
        },
        ix::CreatorClose {},
    )
}

/// `close_escrow`: closes `owner`'s escrow for `mint` (no open channel left),
/// sweeping its remaining balance to `destination`.
pub fn close_escrow(
    owner: &Pubkey,
    mint: &Pubkey,
    destination: &Pubkey,
    token_program: &Pubkey,
) -> Instruction {
    build(
        acc::CloseEscrow {
            owner: *owner,
            escrow: pda::escrow(owner, mint).0,
            mint: *mint,
            vault: pda::vault(mint).0,
            destination: *destination,
            token_program: *token_program,
            event_authority: pda::event_authority(),
            program: micropay::ID,
        },
        ix::CloseEscrow {},
    )
}

/// `close_earnings`: `owner` closes its empty earnings account for `mint`.
pub fn close_earnings(owner: &Pubkey, mint: &Pubkey) -> Instruction {
    build(
        acc::CloseEarnings {
            owner: *owner,
            earnings: pda::earnings(owner, mint).0,
            event_authority: pda::event_authority(),
            program: micropay::ID,
        },
        ix::CloseEarnings {},
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The same bytes `@coral-xyz/anchor` 0.32 encodes from `idl/micropay.json`
    /// (checked once by hand with `program.coder.instruction.encode`).
    #[test]
    fn instruction_data_matches_the_idl_encoding() {
        let deposit = deposit(
            &Pubkey::new_unique(),
            &Pubkey::new_unique(),
            &Pubkey::new_unique(),
            &Pubkey::new_unique(),
            &Pubkey::new_unique(),
            1_000_000,
        );
        assert_eq!(hex(&deposit.data), "f223c68952e1f2b640420f0000000000");
        let claim = claim_raw(
            vec![ClaimEntry {
                channel_index: 0,
                earnings_index: 1,
                fee_earnings_index: NO_ACCOUNT_INDEX,
                amount: 5,
                signature: [7; 64],
            }],
            vec![],
        );
        assert_eq!(
            &hex(&claim.data)[..60],
            "3ec6d6c1d59f6cd2010000000001ff050000000000000007070707070707"
        );
    }

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn claim_shares_accounts_and_indexes_them() {
        let (a, b, e, f) = (
            Pubkey::new_unique(),
            Pubkey::new_unique(),
            Pubkey::new_unique(),
            Pubkey::new_unique(),
        );
        let v = |channel, fee_earnings| VoucherClaim {
            channel,
            creator_earnings: e,
            fee_earnings,
            amount: 1,
            signature: [0; 64],
        };
        let ix = claim(&[v(a, None), v(b, Some(f))]);
        // event authority + program, then a, e, b, f once each
        let keys: Vec<Pubkey> = ix.accounts.iter().skip(2).map(|m| m.pubkey).collect();
        assert_eq!(keys, vec![a, e, b, f]);
        assert!(ix.accounts.iter().skip(2).all(|m| m.is_writable));
    }
}
