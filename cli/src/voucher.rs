//! `micropay voucher`: sign (payer side) and verify (receiver side).
//! A voucher travels as base58 of `channel ‖ amount (u64 LE) ‖ signature`.

use super::{
    context::{format_amount, parse_amount, payer_store, Ctx},
    Cli, Failure,
};
use anchor_lang::prelude::Pubkey;
use clap::{Args, Subcommand};
use micropay::state::Channel;
use micropay_client::{
    accounts,
    ledger::ChannelFilter,
    payer::{AsyncPayer, Payer},
    store::PayerStore,
};
use micropay_sdk::voucher::Voucher;
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct VoucherArgs {
    #[command(subcommand)]
    pub command: VoucherCommand,
}

#[derive(Subcommand, Debug)]
pub enum VoucherCommand {
    /// Pay `price` more on a channel: prints the next cumulative voucher.
    Sign {
        /// The channel, or the creator when you have exactly one open
        /// channel to them (in this payer store).
        #[arg(value_parser = crate::context::address, value_name = "CHANNEL|CREATOR")]
        target: Pubkey,
        /// Price of this use, UI units of the channel's mint.
        price: String,
        /// Payer store: a SQLite file or a `postgres://` URL (default
        /// `~/.config/micropay/payer.db`).
        #[arg(long)]
        store: Option<PathBuf>,
        /// Also write the voucher to this file.
        #[arg(long, conflicts_with = "count")]
        out: Option<PathBuf>,
        /// Sign this many uses in a row, one voucher per line, each printed
        /// once its cumulative amount is durable in the payer store.
        #[arg(long, default_value_t = 1)]
        count: u64,
    },
    /// Check a voucher against its channel on chain.
    Verify {
        /// The voucher: the base58 string `voucher sign` printed, or a file
        /// holding it.
        voucher: String,
    },
}

/// A voucher given as its base58 string or as a file holding it. Base58
/// has no `.` or `/`: an argument with one is a path, and a missing file
/// is said as such (not as bad base58).
pub fn decode(text: &str) -> Result<Voucher, Failure> {
    let text = text.trim();
    let read = std::fs::read_to_string(text);
    let looks_like_path = text.contains('/') || text.contains('.');
    let text = match read {
        Ok(content) => content.trim().to_string(),
        Err(e) if looks_like_path => {
            return Err(Failure::user(format!(
                "cannot read the voucher file {text}: {} (pass the file `voucher sign` wrote, or the string it printed)",
                io_reason(&e)
            )))
        }
        Err(_) => text.to_string(),
    };
    let bytes = bs58::decode(&text).into_vec().map_err(|_| {
        Failure::user(
            "the voucher is neither base58 nor a file (pass the string `voucher sign` printed, or its file)",
        )
    })?;
    Voucher::from_bytes(&bytes).map_err(|e| Failure::user(e.to_string()))
}

/// What went wrong reading a file, as a person says it.
fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => e.to_string(),
    }
}

/// The channel `target` names: a channel address, or a creator to whom the
/// payer store holds exactly one open channel.
async fn resolve_channel(
    ctx: &Ctx,
    store: &dyn PayerStore,
    target: &Pubkey,
) -> Result<(Pubkey, Channel), Failure> {
    if let Some(channel) = accounts::channel(ctx.ledger(), target).await? {
        if channel.close_requested() {
            return Err(Failure::user(format!(
                "channel {target} is closing (its payer asked to close it): its creator takes no new vouchers on it; open a new channel with `micropay channel open --creator {} --mint {} --allocation <AMOUNT>`",
                channel.creator, channel.mint
            )));
        }
        return Ok((*target, channel));
    }
    if store.get_payer(target)?.is_some() {
        return Err(Failure::user(format!(
            "channel {target} is closed (its account is gone from this cluster): open a new channel to its creator with `micropay channel open --creator <CREATOR> --mint <MINT> --allocation <AMOUNT>`"
        )));
    }
    let mut mine = Vec::new();
    for (address, channel) in ctx
        .ledger()
        .channels(ChannelFilter::Creator(*target))
        .await?
    {
        if channel.close_requested_at == 0 && store.get_payer(&address)?.is_some() {
            mine.push((address, channel));
        }
    }
    match mine.len() {
        1 => Ok(mine.remove(0)),
        0 => Err(Failure::user(format!(
            "{target} is neither a channel nor a creator you have an open channel to: \
             open one with `micropay channel open --creator {target} ...`, or pass the channel address"
        ))),
        _ => Err(Failure::user(format!(
            "you have {} open channels to {target}: pass one of their addresses ({})",
            mine.len(),
            mine.iter()
                .map(|(a, _)| a.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

pub async fn run(cli: &Cli, args: &VoucherArgs) -> Result<(), Failure> {
    // `verify` only reads: it needs no wallet
    let ctx = Ctx::read_only(cli)?;
    match &args.command {
        VoucherCommand::Sign {
            target,
            price,
            store,
            out,
            count,
        } => sign(&ctx, target, price, store.as_ref(), out.as_ref(), *count).await,
        VoucherCommand::Verify { voucher } => verify(&ctx, voucher).await,
    }
}

/// `voucher sign`: `count` cumulative vouchers of `price` each.
async fn sign(
    ctx: &Ctx,
    target: &Pubkey,
    price: &str,
    store: Option<&PathBuf>,
    out: Option<&PathBuf>,
    count: u64,
) -> Result<(), Failure> {
    let payer_store = payer_store(store)?;
    ctx.deployed().await?;
    let (channel, c) = &resolve_channel(ctx, payer_store.as_ref(), target).await?;
    let mint = ctx.mint(&c.mint.to_string()).await?;
    let price = parse_amount(price, mint.decimals)?;
    let payer = AsyncPayer::new(Payer::new(payer_store));
    // a store that lost the channel: its key derives from the wallet
    if payer.signer(channel).await?.is_none() {
        let wallet = ctx.keypair()?;
        if !micropay_client::channels::recover(&payer, wallet, channel, c).await? {
            return Err(Failure::user(format!(
                "channel {channel} is not in this payer store and its voucher key is not this wallet's to derive: pass the store that opened it (--store)"
            )));
        }
    }
    for _ in 0..count {
        let voucher = payer.pay(channel, price).await?;
        let encoded = bs58::encode(voucher.to_bytes()).into_string();
        if let Some(out) = out {
            std::fs::write(out, &encoded)
                .map_err(|e| Failure::user(format!("cannot write {}: {e}", out.display())))?;
        }
        ctx.show(&Signed {
            voucher: encoded,
            channel: channel.to_string(),
            amount: voucher.amount,
            amount_ui: format_amount(voucher.amount, mint.decimals),
        });
    }
    Ok(())
}

/// `voucher verify`: the verdict the receiver (and the program) reach.
async fn verify(ctx: &Ctx, voucher: &str) -> Result<(), Failure> {
    // the argument first: a bad one is said without the network
    let v = decode(voucher)?;
    ctx.deployed().await?;
    let c = accounts::channel(ctx.ledger(), &v.channel)
        .await?
        .ok_or_else(|| Failure::user(format!("channel {} does not exist", v.channel)))?;
    let mint = ctx.mint(&c.mint.to_string()).await?;
    let verdict = v
        .verify(&c.signer)
        .map_err(|e| e.to_string())
        .and_then(|()| {
            if v.amount > c.allocation {
                Err(format!(
                    "the amount {} is above the channel's allocation {}",
                    mint.ui(v.amount),
                    mint.ui(c.allocation)
                ))
            } else {
                Ok(())
            }
        });
    // an invalid voucher is one error (one JSON line), with its reason
    verdict.map_err(|e| Failure::user(format!("invalid voucher: {e}")))?;
    let payable = v.amount.min(c.allocation).saturating_sub(c.claimed);
    ctx.show(&Verified {
        channel: v.channel.to_string(),
        amount: v.amount,
        amount_ui: format_amount(v.amount, mint.decimals),
        valid: true,
        unclaimed: payable,
        unclaimed_ui: format_amount(payable, mint.decimals),
        symbol: mint.symbol.clone(),
    });
    Ok(())
}

/// `voucher sign`: one line per voucher; the text form is the voucher itself
/// (so `> v.txt` writes exactly what `accept` reads).
#[derive(Debug, serde::Serialize)]
pub struct Signed {
    voucher: String,
    channel: String,
    amount: u64,
    amount_ui: String,
}

impl std::fmt::Display for Signed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.voucher)
    }
}

/// `voucher verify`: a valid voucher and what it still pays (an invalid one
/// is an error, with its reason).
#[derive(Debug, serde::Serialize)]
pub struct Verified {
    channel: String,
    amount: u64,
    amount_ui: String,
    valid: bool,
    unclaimed: u64,
    unclaimed_ui: String,
    #[serde(skip)]
    symbol: String,
}

impl std::fmt::Display for Verified {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "valid voucher for {} {s} on {} ({} {s} unclaimed)",
            self.amount_ui,
            self.channel,
            self.unclaimed_ui,
            s = self.symbol
        )
    }
}
