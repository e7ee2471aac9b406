//! A builder for every micropay instruction.
//!
//! Each builder is a struct with named fields, so two addresses cannot be
//! swapped without the compiler or a reviewer seeing it; `.instruction()`
//! builds it. Escrow, vault, earnings and event-authority addresses are
//! derived with [`crate::pda`]. `token_program` is the mint's owner: SPL Token
//! or Token-2022.
//!
//! ```
//! # use micropay_sdk::{instructions::Deposit, pda};
//! # use anchor_lang::prelude::Pubkey;
//! # let (owner, mint, source) = (Pubkey::new_unique(), Pubkey::new_unique(), Pubkey::new_unique());
//! let deposit = Deposit {
//!     depositor: owner,
//!     escrow: pda::escrow(&owner, &mint).0,
//!     mint,
//!     source,
//!     token_program: anchor_spl::token::ID,
//!     amount: 1_000_000,
//! }
//! .instruction();
//! assert_eq!(deposit.program_id, micropay_sdk::micropay::ID);
//! ```

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
        ClaimArgs, ClaimEntry, CreateSplitArgs, DepositArgs, InitEarningsArgs, OpenChannelArgs,
        TopUpChannelArgs, WithdrawArgs, WithdrawEarningsArgs,
    },
};

fn build(accounts: impl ToAccountMetas, data: impl InstructionData) -> Instruction {
    Instruction {
        program_id: micropay::ID,
        accounts: accounts.to_account_metas(None),
        data: data.data(),
    }
}

/// `init_escrow`: `owner`'s escrow for `mint` (creates the mint's vault if
/// missing). `owner` signs and pays rent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InitEscrow {
    /// The escrow's owner.
    pub owner: Pubkey,
    /// The escrow's mint.
    pub mint: Pubkey,
    /// The mint's token program.
    pub token_program: Pubkey,
}

impl InitEscrow {
    /// The instruction.
    pub fn instruction(&self) -> Instruction {
        build(
            acc::InitEscrow {
                owner: self.owner,
                mint: self.mint,
                escrow: pda::escrow(&self.owner, &self.mint).0,
                vault: pda::vault(&self.mint).0,
                token_program: self.token_program,
                system_program: system_program::ID,
                event_authority: pda::event_authority(),
                program: micropay::ID,
            },
            ix::InitEscrow {},
        )
    }
}

/// A new wrapped-SOL escrow funded from its owner's wallet: wraps
/// `lamports` into the owner's wSOL token account `wsol`, then `init_escrow`
/// and `deposit` them. The owner signs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FundNewSolEscrow {
    /// The wallet; owns the escrow and `wsol`; signs.
    pub owner: Pubkey,
    /// The owner's wSOL token account the lamports pass through.
    pub wsol: Pubkey,
    /// Lamports deposited.
    pub lamports: u64,
}

impl FundNewSolEscrow {
    /// The escrow's address, and the instructions (transfer, sync native,
    /// init_escrow, deposit).
    pub fn instructions(&self) -> Result<(Pubkey, Vec<Instruction>), crate::SdkError> {
        let sol = anchor_spl::token::spl_token::native_mint::ID;
        let token = anchor_spl::token::spl_token::ID;
        let escrow = pda::escrow(&self.owner, &sol).0;
        let mut ixs = crate::tokens::WrapSol {
            from: self.owner,
            account: self.wsol,
            lamports: self.lamports,
        }
        .instructions()?;
        ixs.push(
            InitEscrow {
                owner: self.owner,
                mint: sol,
                token_program: token,
            }
            .instruction(),
        );
        ixs.push(
            Deposit {
                depositor: self.owner,
                escrow,
                mint: sol,
                source: self.wsol,
                token_program: token,
                amount: self.lamports,
            }
            .instruction(),
        );
        Ok((escrow, ixs))
    }
}

/// `deposit`: `amount` from `source` (owned by `depositor`, who signs) into
/// `escrow`. Anyone may deposit into any escrow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Deposit {
    /// Owner of `source`; signs.
    pub depositor: Pubkey,
    /// The escrow credited.
    pub escrow: Pubkey,
    /// The escrow's mint.
    pub mint: Pubkey,
    /// Token account debited.
    pub source: Pubkey,
    /// The mint's token program.
    pub token_program: Pubkey,
    /// Base units of the mint.
    pub amount: u64,
}

impl Deposit {
    /// The instruction.
    pub fn instruction(&self) -> Instruction {
        build(
            acc::Deposit {
                depositor: self.depositor,
                escrow: self.escrow,
                mint: self.mint,
                source: self.source,
                vault: pda::vault(&self.mint).0,
                token_program: self.token_program,
                event_authority: pda::event_authority(),
                program: micropay::ID,
            },
            ix::Deposit {
                args: DepositArgs {
                    amount: self.amount,
                },
            },
        )
    }
}

/// `withdraw`: `amount` of `owner`'s free escrow balance to `destination`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Withdraw {
    /// The escrow's owner; signs.
    pub owner: Pubkey,
    /// The escrow's mint.
    pub mint: Pubkey,
    /// Token account credited.
    pub destination: Pubkey,
    /// The mint's token program.
    pub token_program: Pubkey,
    /// Base units of the mint.
    pub amount: u64,
}

impl Withdraw {
    /// The instruction.
    pub fn instruction(&self) -> Instruction {
        build(
            acc::Withdraw {
                owner: self.owner,
                escrow: pda::escrow(&self.owner, &self.mint).0,
                mint: self.mint,
                vault: pda::vault(&self.mint).0,
                destination: self.destination,
                token_program: self.token_program,
                event_authority: pda::event_authority(),
                program: micropay::ID,
            },
            ix::Withdraw {
                args: WithdrawArgs {
                    amount: self.amount,
                },
            },
        )
    }
}

/// `open_channel`: the next channel of `escrow`, at `slot` (read it from the
/// escrow account with [`pda::ChannelSlot::next`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpenChannel {
    /// The escrow's owner; signs and pays rent.
    pub owner: Pubkey,
    /// The escrow funding the channel.
    pub escrow: Pubkey,
    /// Where the channel's address comes from.
    pub slot: pda::ChannelSlot,
    /// Creator, session signer, allocation, fee share, window, expiry, nonce.
    pub args: OpenChannelArgs,
}

impl OpenChannel {
    /// The channel's address.
    pub fn channel(&self) -> Pubkey {
        pda::channel(&self.escrow, self.slot, self.args.nonce).0
    }

    /// The instruction.
    pub fn instruction(&self) -> Instruction {
        build(
            acc::OpenChannel {
                owner: self.owner,
                escrow: self.escrow,
                channel: self.channel(),
                system_program: system_program::ID,
                event_authority: pda::event_authority(),
                program: micropay::ID,
            },
            ix::OpenChannel {
                args: self.args.clone(),
            },
        )
    }

    /// The instruction and the channel's address.
    pub fn with_channel(&self) -> (Instruction, Pubkey) {
        (self.instruction(), self.channel())
    }
}

/// `top_up_channel`: `amount` more allocation for `channel`, from the free
/// balance of `escrow`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TopUpChannel {
    /// The escrow's owner; signs.
    pub owner: Pubkey,
    /// The channel's escrow.
    pub escrow: Pubkey,
    /// The channel.
    pub channel: Pubkey,
    /// Base units of the mint.
    pub amount: u64,
}

impl TopUpChannel {
    /// The instruction.
    pub fn instruction(&self) -> Instruction {
        build(
            acc::TopUpChannel {
                owner: self.owner,
                escrow: self.escrow,
                channel: self.channel,
                event_authority: pda::event_authority(),
                program: micropay::ID,
            },
            ix::TopUpChannel {
                args: TopUpChannelArgs {
                    amount: self.amount,
                },
            },
        )
    }
}

/// `init_earnings`: the earnings account of `owner` for `mint`. Anyone may
/// create it; `payer` signs and pays rent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InitEarnings {
    /// Signs and pays rent.
    pub payer: Pubkey,
    /// Who may withdraw the earnings (a creator or fee recipient).
    pub owner: Pubkey,
    /// The earnings' mint.
    pub mint: Pubkey,
}

impl InitEarnings {
    /// The instruction.
    pub fn instruction(&self) -> Instruction {
        build(
            acc::InitEarnings {
                payer: self.payer,
                mint: self.mint,
                earnings: pda::earnings(&self.owner, &self.mint).0,
                system_program: system_program::ID,
                event_authority: pda::event_authority(),
                program: micropay::ID,
            },
            ix::InitEarnings {
                args: InitEarningsArgs { owner: self.owner },
            },
        )
    }
}

/// `create_split`: a royalty split of `mint` paying `recipients` (sorted
/// here by owner, as the program requires). Every recipient's earnings
/// account for `mint` must exist.
#[derive(Clone, Debug)]
pub struct CreateSplit {
    /// Signs and pays rent.
    pub payer: Pubkey,
    /// The split's mint.
    pub mint: Pubkey,
    /// The owners and their shares (basis points summing to 10,000).
    pub recipients: Vec<micropay::state::SplitRecipient>,
}

impl CreateSplit {
    /// The recipients in the program's order (ascending by owner).
    pub fn sorted(&self) -> Vec<micropay::state::SplitRecipient> {
        let mut sorted = self.recipients.clone();
        sorted.sort_by_key(|r| r.owner);
        sorted
    }

    /// The split's address (`None` only for unencodable recipients).
    pub fn split(&self) -> Option<Pubkey> {
        pda::split(&self.mint, &self.sorted()).map(|(a, _)| a)
    }

    /// The instruction, and the split's address.
    pub fn instruction(&self) -> Option<(Instruction, Pubkey)> {
        let recipients = self.sorted();
        let split = pda::split(&self.mint, &recipients)?.0;
        let mut ix = build(
            acc::CreateSplit {
                payer: self.payer,
                mint: self.mint,
                split,
                system_program: system_program::ID,
                event_authority: pda::event_authority(),
                program: micropay::ID,
            },
            ix::CreateSplit {
                args: CreateSplitArgs {
                    recipients: recipients.clone(),
                },
            },
        );
        ix.accounts.extend(
            recipients
                .iter()
                .map(|r| AccountMeta::new_readonly(pda::earnings(&r.owner, &self.mint).0, false)),
        );
        Some((ix, split))
    }
}

/// `distribute`: moves `split`'s earnings to its recipients (permissionless).
#[derive(Clone, Debug)]
pub struct Distribute {
    /// The split.
    pub split: Pubkey,
    /// Its mint.
    pub mint: Pubkey,
    /// Its recipients' owners, in the split's order.
    pub owners: Vec<Pubkey>,
}

impl Distribute {
    /// The instruction.
    pub fn instruction(&self) -> Instruction {
        let mut ix = build(
            acc::Distribute {
                split: self.split,
                split_earnings: pda::earnings(&self.split, &self.mint).0,
                event_authority: pda::event_authority(),
                program: micropay::ID,
            },
            ix::Distribute {},
        );
        ix.accounts.extend(
            self.owners
                .iter()
                .map(|o| AccountMeta::new(pda::earnings(o, &self.mint).0, false)),
        );
        ix
    }
}

/// One voucher for [`claim`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VoucherClaim {
    /// The channel the voucher draws on.
    pub channel: Pubkey,
    /// The channel creator's earnings account for the channel's mint.
    pub creator_earnings: Pubkey,
    /// The fee recipient's earnings account, for channels with a fee share.
    pub fee_earnings: Option<Pubkey>,
    /// Cumulative amount of the voucher.
    pub amount: u64,
    /// The channel signer's ed25519 signature of the voucher message.
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
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WithdrawEarnings {
    /// The earnings' owner; signs.
    pub owner: Pubkey,
    /// The earnings' mint.
    pub mint: Pubkey,
    /// Token account credited.
    pub destination: Pubkey,
    /// The mint's token program.
    pub token_program: Pubkey,
    /// Base units of the mint.
    pub amount: u64,
}

impl WithdrawEarnings {
    /// The instruction.
    pub fn instruction(&self) -> Instruction {
        build(
            acc::WithdrawEarnings {
                owner: self.owner,
                earnings: pda::earnings(&self.owner, &self.mint).0,
                mint: self.mint,
                vault: pda::vault(&self.mint).0,
                destination: self.destination,
                token_program: self.token_program,
                event_authority: pda::event_authority(),
                program: micropay::ID,
            },
            ix::WithdrawEarnings {
                args: WithdrawEarningsArgs {
                    amount: self.amount,
                },
            },
        )
    }
}

/// `request_close`: the payer starts closing `channel`; it closes once the
/// dispute window has passed (or at once, by the creator).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RequestClose {
    /// The escrow's owner; signs.
    pub owner: Pubkey,
    /// The channel's escrow.
    pub escrow: Pubkey,
    /// The channel.
    pub channel: Pubkey,
}

impl RequestClose {
    /// The instruction.
    pub fn instruction(&self) -> Instruction {
        build(
            acc::RequestClose {
                owner: self.owner,
                escrow: self.escrow,
                channel: self.channel,
                event_authority: pda::event_authority(),
                program: micropay::ID,
            },
            ix::RequestClose {},
        )
    }
}

/// `finalize_close`: closes `channel` after its dispute window; anyone may
/// send it. Rent goes back to `owner`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FinalizeClose {
    /// The channel's escrow.
    pub escrow: Pubkey,
    /// The channel.
    pub channel: Pubkey,
    /// The escrow's owner (receives the channel's rent).
    pub owner: Pubkey,
}

impl FinalizeClose {
    /// The instruction.
    pub fn instruction(&self) -> Instruction {
        build(
            acc::FinalizeClose {
                escrow: self.escrow,
                channel: self.channel,
                owner: self.owner,
                event_authority: pda::event_authority(),
                program: micropay::ID,
            },
            ix::FinalizeClose {},
        )
    }
}

/// `creator_close`: the creator closes `channel` now. Rent goes back to
/// `owner`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CreatorClose {
    /// The channel's creator; signs.
    pub creator: Pubkey,
    /// The channel's escrow.
    pub escrow: Pubkey,
    /// The channel.
    pub channel: Pubkey,
    /// The escrow's owner (receives the channel's rent).
    pub owner: Pubkey,
}

impl CreatorClose {
    /// The instruction.
    pub fn instruction(&self) -> Instruction {
        build(
            acc::CreatorClose {
                creator: self.creator,
                escrow: self.escrow,
                channel: self.channel,
                owner: self.owner,
                event_authority: pda::event_authority(),
                program: micropay::ID,
            },
            ix::CreatorClose {},
        )
    }
}

/// `close_escrow`: closes `owner`'s escrow for `mint` (no open channel left),
/// sweeping its remaining balance to `destination`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CloseEscrow {
    /// The escrow's owner; signs, receives the rent.
    pub owner: Pubkey,
    /// The escrow's mint.
    pub mint: Pubkey,
    /// Token account receiving the remaining balance.
    pub destination: Pubkey,
    /// The mint's token program.
    pub token_program: Pubkey,
}

impl CloseEscrow {
    /// The instruction.
    pub fn instruction(&self) -> Instruction {
        build(
            acc::CloseEscrow {
                owner: self.owner,
                escrow: pda::escrow(&self.owner, &self.mint).0,
                mint: self.mint,
                vault: pda::vault(&self.mint).0,
                destination: self.destination,
                token_program: self.token_program,
                event_authority: pda::event_authority(),
                program: micropay::ID,
            },
            ix::CloseEscrow {},
        )
    }
}

/// `close_earnings`: `owner` closes its empty earnings account for `mint`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CloseEarnings {
    /// The earnings' owner; signs.
    pub owner: Pubkey,
    /// The earnings' mint.
    pub mint: Pubkey,
    /// Who paid the rent (the account's `rent_payer`): receives it back.
    pub rent_payer: Pubkey,
}

impl CloseEarnings {
    /// The instruction.
    pub fn instruction(&self) -> Instruction {
        build(
            acc::CloseEarnings {
                owner: self.owner,
                earnings: pda::earnings(&self.owner, &self.mint).0,
                rent_payer: self.rent_payer,
                event_authority: pda::event_authority(),
                program: micropay::ID,
            },
            ix::CloseEarnings {},
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The same bytes `@coral-xyz/anchor` 0.32 encodes from `idl/micropay.json`
    /// (checked once by hand with `program.coder.instruction.encode`).
    #[test]
    fn instruction_data_matches_the_idl_encoding() {
        let deposit = Deposit {
            depositor: Pubkey::new_unique(),
            escrow: Pubkey::new_unique(),
            mint: Pubkey::new_unique(),
            source: Pubkey::new_unique(),
            token_program: Pubkey::new_unique(),
            amount: 1_000_000,
        }
        .instruction();
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

    /// Each named field lands in the account of the same name: swapping two
    /// fields changes the instruction.
    #[test]
    fn named_fields_reach_their_accounts() {
        let (owner, escrow, channel) = (
            Pubkey::new_unique(),
            Pubkey::new_unique(),
            Pubkey::new_unique(),
        );
        let ix = FinalizeClose {
            escrow,
            channel,
            owner,
        }
        .instruction();
        let keys: Vec<Pubkey> = ix.accounts.iter().map(|m| m.pubkey).collect();
        assert_eq!(&keys[..3], &[escrow, channel, owner]);
        let swapped = FinalizeClose {
            escrow: channel,
            channel: escrow,
            owner,
        }
        .instruction();
        assert_ne!(ix, swapped);
    }
}
