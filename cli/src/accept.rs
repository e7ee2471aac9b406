//! `micropay accept`: the receiver side from the shell: verify a voucher for
//! one use at `--price` and store it durably (for you, `-k`, or the payee
//! `--creator`).
//!
//! The receiver's contract applies as in the library: only the mints given
//! with `--mint` are accepted, fee shares only for `--fee-recipient`s up to
//! `--max-fee-bps`, the price is counted net of the fee share, and dispute
//! windows below `--min-dispute-window` are refused. Exit codes: 0 paid, 1
//! refused (or another user error), 2 cluster unreachable, 3 a duplicate (the
//! same voucher again: not a payment; do not serve the use).
//!
//! With `-` as the voucher, vouchers are read from standard input, one per
//! line, and each gets one result line (JSON with `--output json`) as soon as
//! it is durable: a metering process feeds the receiver through a pipe. An
//! acknowledged line is a stored payment, whenever the process is killed.

use super::{
    context::{format_amount, parse_amount, receiver_store, Ctx, MintInfo},
    voucher::decode,
    Cli, Failure,
};
use anchor_lang::prelude::Pubkey;
use clap::Args;
use micropay_client::{
    accounts,
    receiver::{AcceptedMint, FeePolicy, Receiver, ReceiverConfig, Rejection},
    ClientError,
};
use std::{collections::HashMap, path::PathBuf};
use tokio::io::AsyncBufReadExt;

/// Exit code of `accept` for a duplicate voucher.
pub const DUPLICATE_EXIT_CODE: i32 = 3;

#[derive(Args, Debug)]
pub struct AcceptArgs {
    /// The voucher (base58, or a file holding it); `-` reads one per line
    /// from standard input.
    pub voucher: String,
    /// Price of the use, UI units of the channel's mint, net of any fee share.
    #[arg(long)]
    pub price: String,
    /// A mint you accept (`sol` or an address); repeat for several. Vouchers
    /// of any other mint are refused.
    #[arg(long = "mint", required = true)]
    pub mints: Vec<String>,
    /// A dApp fee recipient you accept on channels; repeat for several.
    #[arg(value_parser = crate::context::address, long = "fee-recipient")]
    pub fee_recipients: Vec<Pubkey>,
    /// Highest fee share (bps) you accept for those recipients.
    #[arg(long, default_value_t = 0)]
    pub max_fee_bps: u16,
    /// Shortest dispute window you accept, seconds: the time you (your
    /// watcher) have to claim after the payer asks to close.
    #[arg(long, default_value_t = ReceiverConfig::default().min_dispute_window_secs)]
    pub min_dispute_window: u32,
    /// Receiver store: a SQLite file, or a `postgres://` URL: one database shared by gateways on several machines.
    #[arg(long)]
    pub store: Option<PathBuf>,
    /// The payee whose vouchers you accept (default: you, `-k`) — e.g. a
    /// royalty split (`micropay split create`), which has no key.
    #[arg(value_parser = crate::context::address, long)]
    pub creator: Option<Pubkey>,
}

pub async fn run(cli: &Cli, args: &AcceptArgs) -> Result<(), Failure> {
    let ctx = Ctx::new(cli)?;
    // local input first: a wrong store path is said without the network
    let (store, _) = receiver_store(args.store.as_ref(), false)?;
    ctx.deployed().await?;
    let mut mints = Vec::with_capacity(args.mints.len());
    for arg in &args.mints {
        let info = ctx.mint(arg).await?;
        // the receiver only checks membership; the planner values claims
        mints.push(AcceptedMint {
            mint: info.address,
            lamports: 1,
            per_units: 1,
        });
    }
    let mut fees = FeePolicy::default();
    for recipient in &args.fee_recipients {
        fees = fees.allow(*recipient, args.max_fee_bps);
    }
    let config = ReceiverConfig {
        mints,
        fees,
        min_dispute_window_secs: args.min_dispute_window,
        ..ReceiverConfig::default()
    };
    let creator = match args.creator {
        Some(creator) => creator,
        None => ctx.me()?,
    };
    let accepted: Vec<Pubkey> = config.mints.iter().map(|m| m.mint).collect();
    super::split::check_payee_mints(&ctx, &creator, &accepted).await?;
    let receiver = Receiver::new(ctx.ledger.clone(), store, creator, config);
    if args.voucher != "-" {
        return accept_one(
            &ctx,
            &receiver,
            &args.voucher,
            &args.price,
            &mut HashMap::new(),
        )
        .await;
    }
    // one result line per voucher line, printed once the voucher is durable;
    // each channel's mint is read once, then the receiver's cache does the rest
    let mut channel_mints = HashMap::new();
    let mut lines = tokio::io::BufReader::new(tokio::io::stdin()).lines();
    while let Some(line) = lines
        .next_line()
        .await
        .map_err(|e| Failure::user(format!("cannot read standard input: {e}")))?
    {
        if line.trim().is_empty() {
            continue;
        }
        let accepted = accept_one(&ctx, &receiver, &line, &args.price, &mut channel_mints).await;
        if let Err(failure) = accepted {
            if failure.code == 2 {
                return Err(failure);
            }
            ctx.show(&Refused {
                error: failure.message,
                code: failure.code,
            });
        }
    }
    Ok(())
}

async fn accept_one(
    ctx: &Ctx,
    receiver: &Receiver,
    text: &str,
    price: &str,
    channel_mints: &mut HashMap<Pubkey, MintInfo>,
) -> Result<(), Failure> {
    let voucher = decode(text)?;
    let mint = match channel_mints.get(&voucher.channel) {
        Some(mint) => mint.clone(),
        None => {
            let channel = accounts::channel(ctx.ledger(), &voucher.channel)
                .await?
                .ok_or_else(|| {
                    Failure::user(format!("channel {} does not exist", voucher.channel))
                })?;
            let mint = ctx.mint(&channel.mint.to_string()).await?;
            channel_mints.insert(voucher.channel, mint.clone());
            mint
        }
    };
    let price = parse_amount(price, mint.decimals)?;
    let payment = match receiver.accept(&voucher, price).await {
        Ok(payment) => payment,
        Err(ClientError::Rejected(Rejection::Duplicate { channel, amount })) => {
            return Err(Failure {
                message: format!(
                    "duplicate: the voucher for {} on channel {channel} was accepted before; it pays nothing now, do not serve the use again",
                    format_amount(amount, mint.decimals)
                ),
                code: DUPLICATE_EXIT_CODE,
            });
        }
        Err(e) => return Err(e.into()),
    };
    ctx.show(&Accepted {
        channel: voucher.channel.to_string(),
        amount: voucher.amount,
        amount_ui: format_amount(voucher.amount, mint.decimals),
        paid: payment.increment,
        paid_ui: format_amount(payment.increment, mint.decimals),
        paid_net: payment.net,
        paid_net_ui: format_amount(payment.net, mint.decimals),
        symbol: mint.symbol.clone(),
    });
    Ok(())
}

/// An accepted voucher: what it paid (the increment over the best voucher
/// held before), and the creator's part of it.
#[derive(Debug, serde::Serialize)]
pub struct Accepted {
    channel: String,
    amount: u64,
    amount_ui: String,
    paid: u64,
    paid_ui: String,
    paid_net: u64,
    paid_net_ui: String,
    #[serde(skip)]
    symbol: String,
}

impl std::fmt::Display for Accepted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "accepted: {} {s} paid ({} {s} to you, net of fee share), {} {s} in total on this channel",
            self.paid_ui,
            self.paid_net_ui,
            self.amount_ui,
            s = self.symbol
        )
    }
}

/// A voucher refused in a stream (`accept -`), which goes on.
#[derive(Debug, serde::Serialize)]
pub struct Refused {
    error: String,
    code: i32,
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "refused: {}", self.error)
    }
}
