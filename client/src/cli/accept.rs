//! `micropay accept`: the receiver side from the shell: verify a voucher for
//! one use at `--price` and store it durably (you are the creator, `-k`).

use super::{
    context::{parse_amount, store_path, Ctx},
    voucher::decode,
    Cli, Failure,
};
use crate::{
    accounts,
    receiver::{Acceptance, Receiver, ReceiverConfig},
    store::SqliteStore,
};
use clap::Args;
use std::{path::PathBuf, sync::Arc};

#[derive(Args, Debug)]
pub struct AcceptArgs {
    /// The voucher (base58, or a file holding it).
    pub voucher: String,
    /// Price of the use, UI units of the channel's mint.
    #[arg(long)]
    pub price: String,
    /// Receiver store.
    #[arg(long)]
    pub store: Option<PathBuf>,
}

pub async fn run(cli: &Cli, args: &AcceptArgs) -> Result<(), Failure> {
    let ctx = Ctx::new(cli)?;
    let voucher = decode(&args.voucher)?;
    let channel = accounts::channel(ctx.ledger(), &voucher.channel)
        .await?
        .ok_or_else(|| Failure::user(format!("channel {} does not exist", voucher.channel)))?;
    let mint = ctx.mint(&channel.mint.to_string()).await?;
    let price = parse_amount(&args.price, mint.decimals)?;
    let store = Arc::new(SqliteStore::open(store_path(
        args.store.as_ref(),
        "receiver",
    ))?);
    let receiver = Receiver::new(
        ctx.ledger.clone(),
        store,
        ctx.me(),
        ReceiverConfig::default(),
    );
    let outcome = receiver.accept(&voucher, price).await?;
    let (counted, duplicate) = match outcome {
        Acceptance::Paid { increment } => (increment, false),
        Acceptance::Duplicate => (0, true),
    };
    ctx.print(
        serde_json::json!({
            "channel": voucher.channel.to_string(),
            "amount": voucher.amount,
            "paid": counted,
            "duplicate": duplicate,
        }),
        || {
            if duplicate {
                "already accepted (not counted again)".to_string()
            } else {
                format!(
                    "accepted: {} paid, {} in total on this channel",
                    mint.ui(counted),
                    mint.ui(voucher.amount)
                )
            }
        },
    );
    Ok(())
}
