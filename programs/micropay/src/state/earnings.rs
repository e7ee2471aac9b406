//! What a creator or fee recipient has earned and not yet withdrawn.

use anchor_lang::prelude::*;

/// PDA `["earnings", owner, mint]`. Anyone may create it (and pay its rent);
/// claims credit it; only `owner` withdraws from it, and closes it (rent back)
/// once its balance is zero; anyone may then create it again.
#[account]
#[derive(InitSpace, Debug, PartialEq, Eq)]
pub struct Earnings {
    /// Wallet the earnings belong to (a channel's creator or fee recipient).
    pub owner: Pubkey,
    /// Mint of the balance.
    pub mint: Pubkey,
    /// Earned and not withdrawn, base units of `mint`; held in the mint's vault.
    pub balance: u64,
    /// Everything ever credited by claims, base units (statistics; never
    /// decreases, and saturates at `u64::MAX` instead of failing a claim).
    pub total_earned: u64,
    /// Canonical bump of this PDA.
    pub bump: u8,
    /// Who paid the account's rent (`init_earnings`' payer): `close_earnings`
    /// returns the rent there, not to the owner, so closing an account
    /// someone else paid for (to make them pay again before a claim) earns
    /// the closer nothing.
    pub rent_payer: Pubkey,
}

impl Earnings {
    /// Holds for every earnings account the program writes.
    pub fn invariant(&self) -> bool {
        self.balance <= self.total_earned
    }
}
