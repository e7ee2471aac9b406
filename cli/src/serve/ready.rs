//! Whether `serve` can start. The payee's earnings account of every
//! accepted mint must exist: claims credit it, so without it every paid
//! request would be refused (`earnings_missing`) after the payer had
//! already opened and funded a channel. Anyone may create one, so `serve`
//! creates a missing one itself at start, its keypair paying the rent —
//! when that keypair holds the SOL. It must also hold SOL for the claim
//! fees it pays (the watcher's claims, settle-first routes). What `serve`
//! cannot do itself it refuses to start over, printing the exact commands.
//! Pure, and a leaf: the plan hands it what was read ([`Funds`]).

use crate::{context::MintInfo, Failure};
use anchor_lang::{prelude::Pubkey, solana_program::rent::Rent, Space};
use micropay::state::Earnings;
use std::collections::BTreeMap;

/// What was read for the decision.
pub(super) struct Funds<'a> {
    /// Accepted mints whose payee earnings account does not exist.
    pub(super) missing_earnings: &'a [Pubkey],
    /// The fee payer (the keypair) and its lamports.
    pub(super) fee_payer: Pubkey,
    pub(super) fee_payer_lamports: u64,
    /// The cluster's URL, for the commands said.
    pub(super) cluster: &'a str,
    /// The accepted mints, for their symbols.
    pub(super) mints: &'a BTreeMap<Pubkey, MintInfo>,
}

/// Lamports the fee payer keeps for claim fees when it pays any: 200 claim
/// transactions at 5,000 lamports.
pub const CLAIM_RESERVE_LAMPORTS: u64 = 1_000_000;

/// What `serve` does before serving.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct Ready {
    /// Mints whose payee earnings account it creates (paid by the keypair).
    pub(super) create_earnings: Vec<Pubkey>,
}

/// What `serve` must do, or why it cannot start. `pays_claims`: the
/// watcher runs, or a route settles first.
pub(super) fn ready(facts: &Funds, payee: &Pubkey, pays_claims: bool) -> Result<Ready, Failure> {
    let rent_each = Rent::default().minimum_balance(8usize.saturating_add(Earnings::INIT_SPACE));
    let count = u64::try_from(facts.missing_earnings.len()).unwrap_or(u64::MAX);
    let rent = rent_each.saturating_mul(count);
    let reserve = if pays_claims {
        CLAIM_RESERVE_LAMPORTS
    } else {
        0
    };
    let need = rent.saturating_add(reserve);
    if facts.fee_payer_lamports >= need {
        return Ok(Ready {
            create_earnings: facts.missing_earnings.to_vec(),
        });
    }
    let mut wants = Vec::new();
    if rent > 0 {
        let commands: Vec<String> = facts
            .missing_earnings
            .iter()
            .map(|mint| {
                format!(
                    "`micropay -u {} earnings init --mint {mint} --owner {payee}`",
                    facts.cluster
                )
            })
            .collect();
        wants.push(format!(
            "{} SOL of rent to create the payee's missing earnings account of {} (or create it from a funded wallet: {})",
            sol(rent),
            symbols(facts.mints, facts.missing_earnings).join(", "),
            commands.join(", ")
        ));
    }
    if reserve > 0 {
        wants.push(format!(
            "{} SOL for claim fees (the watcher's claims and settle-first routes)",
            sol(reserve)
        ));
    }
    Err(Failure::user(format!(
        "the fee payer {me} holds {have} SOL; serve needs {need} SOL there to start: {wants}. Fund it: on a test cluster `micropay -u {cluster} airdrop 1 {me}`, elsewhere send SOL to {me} from a wallet",
        me = facts.fee_payer,
        have = sol(facts.fee_payer_lamports),
        need = sol(need),
        wants = wants.join(", and "),
        cluster = facts.cluster,
    )))
}

fn sol(lamports: u64) -> String {
    crate::context::format_amount(lamports, 9)
}

/// `list`'s mints as their symbols (the address of one not accepted).
pub(super) fn symbols(mints: &BTreeMap<Pubkey, MintInfo>, list: &[Pubkey]) -> Vec<String> {
    list.iter()
        .map(|m| mints.get(m).map_or(m.to_string(), |i| i.symbol.clone()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Owned {
        missing: Vec<Pubkey>,
        mints: BTreeMap<Pubkey, MintInfo>,
        me: Pubkey,
        lamports: u64,
    }

    impl Owned {
        fn funds(&self) -> Funds<'_> {
            Funds {
                missing_earnings: &self.missing,
                fee_payer: self.me,
                fee_payer_lamports: self.lamports,
                cluster: "http://127.0.0.1:8899",
                mints: &self.mints,
            }
        }
    }

    fn facts(missing: bool, lamports: u64) -> Owned {
        let sol = MintInfo {
            address: anchor_spl::token::spl_token::native_mint::ID,
            token_program: anchor_spl::token::spl_token::ID,
            decimals: 9,
            symbol: "SOL".into(),
        };
        Owned {
            missing: if missing { vec![sol.address] } else { vec![] },
            mints: BTreeMap::from([(sol.address, sol)]),
            me: Pubkey::new_unique(),
            lamports,
        }
    }

    /// At each boundary: exactly the rent and the reserve start it, a
    /// lamport less refuses with the commands that fix it.
    #[test]
    fn serve_starts_with_the_sol_it_needs_and_not_a_lamport_less() {
        let payee = Pubkey::new_unique();
        let rent = Rent::default().minimum_balance(8 + Earnings::INIT_SPACE);
        // nothing to create, no claims paid: nothing needed
        assert_eq!(
            ready(&facts(false, 0).funds(), &payee, false).unwrap(),
            Ready::default()
        );
        // claims paid: the reserve
        let f = facts(false, CLAIM_RESERVE_LAMPORTS);
        assert!(ready(&f.funds(), &payee, true)
            .unwrap()
            .create_earnings
            .is_empty());
        let short = ready(
            &facts(false, CLAIM_RESERVE_LAMPORTS - 1).funds(),
            &payee,
            true,
        )
        .unwrap_err();
        assert!(
            short.message.contains("0.001 SOL for claim fees"),
            "{}",
            short.message
        );
        assert!(short.message.contains("airdrop 1"), "{}", short.message);
        assert!(
            !short.message.contains("earnings init"),
            "{}",
            short.message
        );
        // a missing earnings account: created, its rent and the reserve
        let f = facts(true, rent + CLAIM_RESERVE_LAMPORTS);
        let plan = ready(&f.funds(), &payee, true).unwrap();
        assert_eq!(plan.create_earnings, f.missing);
        let f = facts(true, rent + CLAIM_RESERVE_LAMPORTS - 1);
        let short = ready(&f.funds(), &payee, true).unwrap_err();
        assert!(
            short.message.contains(&format!(
                "earnings init --mint {} --owner {payee}",
                anchor_spl::token::spl_token::native_mint::ID
            )),
            "{}",
            short.message
        );
        assert!(
            short.message.contains("account of SOL"),
            "{}",
            short.message
        );
        // only the rent when no claim is paid
        assert!(ready(&facts(true, rent).funds(), &payee, false).is_ok());
        assert!(ready(&facts(true, rent - 1).funds(), &payee, false).is_err());
    }
}
