//! `micropay split`: royalty splits — one payee address that pays several
//! owners fixed shares of everything it earns.
//!
//! `create` makes the split of a mint (and every missing earnings account:
//! the recipients' and the split's own, you pay their rent); payers then open
//! channels with `--creator <SPLIT>` and receivers accept with
//! `micropay accept --creator <SPLIT>`; claims credit the split, and
//! `distribute` (anyone, any time) moves what it holds to the recipients by
//! share. A legacy transaction carries a split of up to 13 recipients; more
//! (up to the program's 32) need a v1 cluster.

use super::{
    context::{format_amount, Ctx, MintInfo},
    Cli, Failure,
};
use anchor_lang::prelude::Pubkey;
use clap::{Args, Subcommand};
use micropay::state::{Split, SplitRecipient};
use micropay_client::{accounts, micropay_sdk::events::MicropayEvent, splits};
use micropay_sdk::pda;

/// Most recipients whose split a legacy transaction creates.
pub const MAX_LEGACY_RECIPIENTS: usize = 13;

#[derive(Args, Debug)]
pub struct SplitArgs {
    #[command(subcommand)]
    pub command: SplitCommand,
}

#[derive(Subcommand, Debug)]
pub enum SplitCommand {
    /// Create a split of a mint: `--recipient PUBKEY:BPS` for each owner
    /// (shares in basis points summing to 10,000; 1 to 32 owners, each once).
    Create {
        /// The split's mint: `sol` or an address.
        #[arg(long)]
        mint: String,
        /// An owner and its share in basis points; repeat for each owner.
        #[arg(long = "recipient", required = true, value_name = "PUBKEY:BPS")]
        recipients: Vec<String>,
    },
    /// Show a split: its owners, their shares, what each received and what
    /// waits in the split.
    Show {
        /// The split's address.
        #[arg(value_parser = crate::context::address)]
        split: Pubkey,
    },
    /// Move a split's earnings to its owners by share (anyone may; you pay
    /// the fee).
    Distribute {
        /// The split's address.
        #[arg(value_parser = crate::context::address)]
        split: Pubkey,
        /// Distribute the split's earnings of this mint (`sol` or an
        /// address) instead of its own mint's: a channel of another mint
        /// paid it (each owner's earnings account of that mint must exist).
        #[arg(long)]
        mint: Option<String>,
    },
}

/// Parses `PUBKEY:BPS` arguments into the program's order, checking what
/// the program checks, with errors that say what to fix.
pub fn parse_recipients(args: &[String]) -> Result<Vec<SplitRecipient>, Failure> {
    let mut recipients = Vec::with_capacity(args.len());
    for arg in args {
        let (owner, bps) = arg.split_once(':').ok_or_else(|| {
            Failure::user(format!(
                "--recipient {arg}: give the owner and its share, as PUBKEY:BPS (e.g. …:2500 for 25%)"
            ))
        })?;
        let owner: Pubkey = owner.trim().parse().map_err(|_| {
            Failure::user(format!("--recipient {arg}: `{owner}` is not an address"))
        })?;
        let bps: u16 = bps.trim().parse().ok().filter(|b| *b > 0).ok_or_else(|| {
            Failure::user(format!(
                "--recipient {arg}: the share must be whole basis points from 1 to 10000"
            ))
        })?;
        recipients.push(SplitRecipient { owner, bps });
    }
    recipients.sort_by_key(|r| r.owner);
    if let Some(w) = recipients.windows(2).find(|w| w[0].owner == w[1].owner) {
        return Err(Failure::user(format!(
            "{} is listed twice: give each owner once, with its whole share",
            w[0].owner
        )));
    }
    let total: u64 = recipients.iter().map(|r| u64::from(r.bps)).sum();
    if recipients.len() > usize::from(micropay::constants::MAX_SPLIT_RECIPIENTS) {
        return Err(Failure::user(format!(
            "{} recipients: a split pays at most {}",
            recipients.len(),
            micropay::constants::MAX_SPLIT_RECIPIENTS
        )));
    }
    if total != micropay::constants::BPS_DENOMINATOR {
        return Err(Failure::user(format!(
            "the shares sum to {total} bps; they must sum to 10000 (100%)"
        )));
    }
    debug_assert!(Split::shares_valid(&recipients));
    Ok(recipients)
}

pub async fn run(cli: &Cli, args: &SplitArgs) -> Result<(), Failure> {
    // `show` only reads: it needs no wallet (the others ask for it when they sign)
    let ctx = Ctx::read_only(cli)?;
    ctx.deployed().await?;
    let (split, signature, amounts) = match &args.command {
        SplitCommand::Create { mint, recipients } => {
            let recipients = parse_recipients(recipients)?;
            if recipients.len() > MAX_LEGACY_RECIPIENTS {
                return Err(Failure::user(format!(
                    "{} recipients: a legacy transaction creates a split of at most {MAX_LEGACY_RECIPIENTS}; \
                     split the owners in two splits (one a recipient of the other)",
                    recipients.len()
                )));
            }
            let mint = ctx.mint(mint).await?;
            let (split, signature) = create(&ctx, &mint, recipients).await?;
            (split, Some(signature), None)
        }
        SplitCommand::Show { split } => (*split, None, None),
        SplitCommand::Distribute { split, mint } => {
            let state = read(&ctx, split).await?;
            let mint = match mint {
                Some(m) => ctx.mint(m).await?.address,
                None => state.mint,
            };
            let sent =
                splits::distribute(ctx.ledger(), ctx.keypair()?, split, &state, &mint).await?;
            let amounts = sent.events.iter().find_map(|e| match e {
                MicropayEvent::Distributed(d) => Some(d.amounts.clone()),
                _ => None,
            });
            (*split, Some(sent.signature.to_string()), amounts)
        }
    };
    let state = read(&ctx, &split).await?;
    let mint = ctx.mint(&state.mint.to_string()).await?;
    let view = SplitView::new(&ctx, split, &state, &mint, signature, amounts).await?;
    ctx.show(&view);
    Ok(())
}

/// When `payee` is a split, `mints` must be its mint alone: a channel of
/// another mint credits the split's earnings account of that mint, which
/// only `split distribute --mint` empties (shares of what it holds, without
/// the cumulative record of the split's own mint).
pub async fn check_payee_mints(ctx: &Ctx, payee: &Pubkey, mints: &[Pubkey]) -> Result<(), Failure> {
    let Some(split) = accounts::split(ctx.ledger(), payee).await? else {
        return Ok(());
    };
    if mints.iter().any(|m| *m != split.mint) {
        return Err(Failure::user(format!(
            "payee {payee} is a split of mint {}: accept that mint only (a split pays out one mint)",
            split.mint
        )));
    }
    Ok(())
}

async fn read(ctx: &Ctx, split: &Pubkey) -> Result<Split, Failure> {
    accounts::split(ctx.ledger(), split).await?.ok_or_else(|| {
        Failure::user(format!(
            "no split at {split}; create one with `micropay split create --mint … --recipient PUBKEY:BPS …`"
        ))
    })
}

/// Creates the split (and the earnings accounts it pays into, through
/// the library); returns its address and the creating signature.
async fn create(
    ctx: &Ctx,
    mint: &MintInfo,
    recipients: Vec<SplitRecipient>,
) -> Result<(Pubkey, String), Failure> {
    let split = splits::address(&mint.address, &recipients)?;
    if accounts::split(ctx.ledger(), &split).await?.is_some() {
        return Err(Failure::user(format!(
            "this split exists already: {split} (the same owners and shares name the same split)"
        )));
    }
    let created = splits::create(ctx.ledger(), ctx.keypair()?, &mint.address, recipients).await?;
    Ok((created.split, created.sent.signature.to_string()))
}

/// One owner of a split as shown.
#[derive(Debug, serde::Serialize)]
pub struct RecipientView {
    owner: String,
    bps: u16,
    /// Base units distributed to it so far.
    distributed: u64,
    /// Its share of what the split holds now (moved by the next distribute).
    pending: u64,
    /// Moved by this command (`distribute` only).
    #[serde(skip_serializing_if = "Option::is_none")]
    moved: Option<u64>,
}

/// A split as every `split` command prints it.
#[derive(Debug, serde::Serialize)]
pub struct SplitView {
    split: String,
    mint: String,
    /// The split's own earnings account.
    earnings: String,
    /// Everything the split has received, base units.
    received: u64,
    /// What it holds now (shares not yet distributed, and the rounding
    /// remainder).
    balance: u64,
    balance_ui: String,
    recipients: Vec<RecipientView>,
    signature: Option<String>,
    #[serde(skip)]
    symbol: String,
    #[serde(skip)]
    decimals: u8,
}

impl SplitView {
    async fn new(
        ctx: &Ctx,
        split: Pubkey,
        state: &Split,
        mint: &MintInfo,
        signature: Option<String>,
        moved: Option<Vec<u64>>,
    ) -> Result<Self, Failure> {
        let earnings = pda::earnings(&split, &state.mint).0;
        let balance = accounts::earnings(ctx.ledger(), &earnings)
            .await?
            .map_or(0, |e| e.balance);
        let received = state
            .distributed
            .iter()
            .fold(balance, |sum, d| sum.saturating_add(*d));
        let recipients = state
            .recipients
            .iter()
            .zip(&state.distributed)
            .enumerate()
            .map(|(i, (r, distributed))| RecipientView {
                owner: r.owner.to_string(),
                bps: r.bps,
                distributed: *distributed,
                pending: micropay::math::split_share(received, r.bps)
                    .unwrap_or(0)
                    .saturating_sub(*distributed),
                moved: moved.as_ref().and_then(|m| m.get(i).copied()),
            })
            .collect();
        Ok(SplitView {
            split: split.to_string(),
            mint: state.mint.to_string(),
            earnings: earnings.to_string(),
            received,
            balance,
            balance_ui: format_amount(balance, mint.decimals),
            recipients,
            signature,
            symbol: mint.symbol.clone(),
            decimals: mint.decimals,
        })
    }
}

impl std::fmt::Display for SplitView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ui = |amount: u64| format!("{} {}", format_amount(amount, self.decimals), self.symbol);
        writeln!(f, "split {} ({})", self.split, self.symbol)?;
        writeln!(
            f,
            "  received {}; holds {}",
            ui(self.received),
            ui(self.balance)
        )?;
        for r in &self.recipients {
            write!(
                f,
                "  {:<44} {:>6.2}%  distributed {}  pending {}",
                r.owner,
                f64::from(r.bps) / 100.0,
                ui(r.distributed),
                ui(r.pending)
            )?;
            if let Some(moved) = r.moved {
                write!(f, "  (+{})", ui(moved))?;
            }
            writeln!(f)?;
        }
        match &self.signature {
            Some(signature) => write!(f, "  signature {signature}"),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
#[allow(clippy::arithmetic_side_effects)]
mod tests {
    use super::*;
    use micropay_sdk::instructions as mix;
    use solana_sdk::{hash::Hash, message::Message, transaction::Transaction};

    fn create_size(n: usize) -> usize {
        let payer = Pubkey::new_unique();
        let recipients: Vec<SplitRecipient> = (0..n)
            .map(|_| SplitRecipient {
                owner: Pubkey::new_unique(),
                bps: 1,
            })
            .collect();
        let (ix, _) = mix::CreateSplit {
            payer,
            mint: Pubkey::new_unique(),
            recipients,
        }
        .instruction()
        .unwrap();
        let message = Message::new_with_blockhash(&[ix], Some(&payer), &Hash::default());
        bincode::serialized_size(&Transaction::new_unsigned(message)).unwrap() as usize
    }

    /// `MAX_LEGACY_RECIPIENTS` is the largest split a 1,232-byte transaction
    /// creates.
    #[test]
    fn the_legacy_recipient_limit_is_the_packet_size() {
        assert!(create_size(MAX_LEGACY_RECIPIENTS) <= 1_232);
        assert!(create_size(MAX_LEGACY_RECIPIENTS + 1) > 1_232);
    }

    #[test]
    fn shares_are_parsed_sorted_and_checked() {
        let (a, b) = (Pubkey::new_unique(), Pubkey::new_unique());
        let parsed = parse_recipients(&[format!("{a}:2500"), format!("{b}:7500")]).unwrap();
        assert!(parsed.windows(2).all(|w| w[0].owner < w[1].owner));
        assert_eq!(parsed.iter().map(|r| u64::from(r.bps)).sum::<u64>(), 10_000);
        for bad in [
            vec![format!("{a}:10001")],
            vec![format!("{a}:-1")],
            vec![format!("x:10000")],
            vec![format!("{a}:5000"), format!("{b}:5000"), format!("{a}:0")],
        ] {
            assert!(parse_recipients(&bad).is_err(), "{bad:?}");
        }
        let many: Vec<String> = (0..33)
            .map(|i| {
                format!(
                    "{}:{}",
                    Pubkey::new_unique(),
                    if i == 0 { 10_000 - 32 * 303 } else { 303 }
                )
            })
            .collect();
        assert!(parse_recipients(&many)
            .unwrap_err()
            .message
            .contains("at most 32"));
    }
}
