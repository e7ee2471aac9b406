//! `micropay channel`: open, top up, close and inspect payment channels.

use super::{
    context::{
        format_amount, parse_amount, payer_store, receiver_store, relative, store_path, utc, Ctx,
        MintInfo,
    },
    Cli, Failure,
};
use anchor_lang::prelude::Pubkey;
use clap::{Args, Subcommand};
use micropay::state::Channel;
use micropay_client::{
    accounts, channels,
    ledger::ChannelFilter,
    payer::{AsyncPayer, Payer},
    ClientError,
};
use micropay_sdk::pda;
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct ChannelArgs {
    #[command(subcommand)]
    pub command: ChannelCommand,
}

#[derive(Subcommand, Debug)]
pub enum ChannelCommand {
    /// Open a channel to a creator, funded from your escrow; a new session
    /// key signs its vouchers and is kept in your payer store.
    Open {
        /// Mint of your escrow that funds it: `sol` or an address.
        #[arg(long)]
        mint: String,
        /// Creator wallet credited by claims.
        #[arg(value_parser = crate::context::address, long)]
        creator: Pubkey,
        /// Most the channel can pay, UI units.
        #[arg(long)]
        allocation: String,
        /// dApp fee recipient (with --fee-bps).
        #[arg(value_parser = crate::context::address, long, requires = "fee_bps")]
        fee_recipient: Option<Pubkey>,
        /// dApp fee share, basis points (at most 1000).
        #[arg(long, requires = "fee_recipient")]
        fee_bps: Option<u16>,
        /// Seconds the creator has to claim after a close request (default
        /// 1 day: finalizing waits that long; `micropay node warp 1d` skips it
        /// on the local node).
        #[arg(long, default_value_t = 86_400)]
        dispute_window: u32,
        /// Let the channel expire this many seconds from now.
        #[arg(long)]
        expires_in: Option<i64>,
        /// Payer store (session keys and signed amounts): a SQLite file or a
        /// `postgres://` URL (default `~/.config/micropay/payer.db`).
        #[arg(long)]
        store: Option<PathBuf>,
    },
    /// Add allocation from your escrow.
    TopUp {
        /// The channel's address.
        #[arg(value_parser = crate::context::address)]
        channel: Pubkey,
        /// Allocation to add, in UI units of the channel's mint.
        amount: String,
        /// Payer store: a SQLite file or a `postgres://` URL.
        #[arg(long)]
        store: Option<PathBuf>,
    },
    /// Start closing (the creator has the dispute window to claim).
    RequestClose {
        /// The channel's address.
        #[arg(value_parser = crate::context::address)]
        channel: Pubkey,
    },
    /// Close after the dispute window (or once expired); anyone may.
    Finalize {
        /// The channel's address.
        #[arg(value_parser = crate::context::address)]
        channel: Pubkey,
    },
    /// As the creator: close now, returning the rest to the payer.
    CreatorClose {
        /// The channel's address.
        #[arg(value_parser = crate::context::address)]
        channel: Pubkey,
        /// Receiver store: its pending voucher for this channel is claimed in
        /// the same transaction, before the channel closes (a SQLite file or
        /// a `postgres://` URL).
        #[arg(long)]
        store: Option<PathBuf>,
    },
    /// Show a channel.
    Show {
        /// The channel's address.
        #[arg(value_parser = crate::context::address)]
        channel: Pubkey,
    },
    /// List channels by payer (with --mint) or by creator.
    List {
        /// The paying wallet (its escrow of --mint).
        #[arg(value_parser = crate::context::address, long, conflicts_with = "creator")]
        payer: Option<Pubkey>,
        /// The creator paid (every mint).
        #[arg(value_parser = crate::context::address, long)]
        creator: Option<Pubkey>,
        /// With --payer: the escrow's mint.
        #[arg(long)]
        mint: Option<String>,
    },
}

/// One channel as `channel show` and `channel list` print it: the same
/// struct for text and JSON, so they cannot drift. Amounts in base units,
/// with `_ui` twins in the mint's units.
#[derive(Debug, serde::Serialize)]
pub struct ChannelView {
    channel: String,
    /// The paying wallet (its escrow's owner).
    payer: String,
    escrow: String,
    mint: String,
    creator: String,
    signer: String,
    allocation: u64,
    allocation_ui: String,
    claimed: u64,
    claimed_ui: String,
    remaining: u64,
    remaining_ui: String,
    fee_recipient: Option<String>,
    fee_bps: u16,
    dispute_window_secs: u32,
    expires_at: i64,
    close_requested_at: i64,
    /// When `finalize` works (chain time, unix seconds); 0 when no close
    /// was requested.
    closable_at: i64,
    id: u64,
    /// The mint's symbol, for the text form.
    #[serde(skip)]
    symbol: String,
}

impl ChannelView {
    fn new(address: &Pubkey, c: &Channel, payer: &Pubkey, mint: &MintInfo) -> Self {
        ChannelView {
            channel: address.to_string(),
            payer: payer.to_string(),
            escrow: c.escrow.to_string(),
            mint: c.mint.to_string(),
            creator: c.creator.to_string(),
            signer: c.signer.to_string(),
            allocation: c.allocation,
            allocation_ui: format_amount(c.allocation, mint.decimals),
            claimed: c.claimed,
            claimed_ui: format_amount(c.claimed, mint.decimals),
            remaining: c.remaining(),
            remaining_ui: format_amount(c.remaining(), mint.decimals),
            fee_recipient: (c.fee_bps > 0).then(|| c.fee_recipient.to_string()),
            fee_bps: c.fee_bps,
            dispute_window_secs: c.dispute_window_secs,
            expires_at: c.expires_at,
            close_requested_at: c.close_requested_at,
            closable_at: if c.close_requested() {
                closable_at(c)
            } else {
                0
            },
            id: c.id,
            symbol: mint.symbol.clone(),
        }
    }
}

impl std::fmt::Display for ChannelView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = &self.symbol;
        writeln!(f, "channel {}", self.channel)?;
        writeln!(f, "  payer       {} (escrow {})", self.payer, self.escrow)?;
        writeln!(f, "  creator     {}", self.creator)?;
        writeln!(f, "  signer      {} (the voucher key)", self.signer)?;
        writeln!(f, "  allocation  {} {s}", self.allocation_ui)?;
        writeln!(f, "  claimed     {} {s}", self.claimed_ui)?;
        writeln!(f, "  remaining   {} {s}", self.remaining_ui)?;
        match &self.fee_recipient {
            Some(r) => writeln!(f, "  fee         {} bps to {r}", self.fee_bps)?,
            None => writeln!(f, "  fee         none")?,
        }
        writeln!(
            f,
            "  dispute     {} after a close request",
            relative(i64::from(self.dispute_window_secs))
        )?;
        if self.expires_at > 0 {
            writeln!(f, "  expires     {} (chain time)", utc(self.expires_at))?;
        } else {
            writeln!(f, "  expires     never")?;
        }
        if self.close_requested_at > 0 {
            write!(
                f,
                "  closing     requested {}; finalize from {} (chain time)",
                utc(self.close_requested_at),
                utc(self.closable_at)
            )
        } else {
            write!(f, "  closing     no")
        }
    }
}

/// `channel list`: the channels found.
#[derive(Debug, serde::Serialize)]
#[serde(transparent)]
pub struct ChannelList(Vec<ChannelView>);

impl std::fmt::Display for ChannelList {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} channel(s)", self.0.len())?;
        for c in &self.0 {
            write!(
                f,
                "\n  {}  creator {}  claimed {} of {} {}",
                c.channel, c.creator, c.claimed_ui, c.allocation_ui, c.symbol
            )?;
        }
        Ok(())
    }
}

async fn load(ctx: &Ctx, channel: &Pubkey) -> Result<Channel, Failure> {
    accounts::channel(ctx.ledger(), channel)
        .await?
        .ok_or_else(|| {
            Failure::user(format!(
                "channel {channel} does not exist (closed, or another cluster?)"
            ))
        })
}

pub async fn run(cli: &Cli, args: &ChannelArgs) -> Result<(), Failure> {
    // `show` and `list` only read: they need no wallet (unless listing your own)
    let ctx = Ctx::read_only(cli)?;
    ctx.deployed().await?;
    match &args.command {
        ChannelCommand::Open {
            mint,
            creator,
            allocation,
            fee_recipient,
            fee_bps,
            dispute_window,
            expires_in,
            store,
        } => {
            let fee = fee_recipient.map(|r| (r, fee_bps.unwrap_or(0)));
            let open = OpenArgs {
                creator: *creator,
                fee,
                dispute_window: *dispute_window,
                expires_in: *expires_in,
            };
            self::open(&ctx, mint, allocation, &open, store.as_ref()).await
        }
        ChannelCommand::TopUp {
            channel,
            amount,
            store,
        } => top_up(&ctx, channel, amount, store.as_ref()).await,
        ChannelCommand::RequestClose { channel } => request_close(&ctx, channel).await,
        ChannelCommand::Finalize { channel } => finalize(&ctx, channel).await,
        ChannelCommand::CreatorClose { channel, store } => {
            creator_close(&ctx, channel, store.as_ref()).await
        }
        ChannelCommand::Show { channel } => {
            let c = load(&ctx, channel).await?;
            let mint = ctx.mint(&c.mint.to_string()).await?;
            let payer = payer_of(&ctx, &c).await?;
            ctx.show(&ChannelView::new(channel, &c, &payer, &mint));
            Ok(())
        }
        ChannelCommand::List {
            payer,
            creator,
            mint,
        } => list(&ctx, payer.as_ref(), creator.as_ref(), mint.as_deref()).await,
    }
}

/// `channel open`'s terms besides the mint and the allocation.
struct OpenArgs {
    creator: Pubkey,
    fee: Option<(Pubkey, u16)>,
    dispute_window: u32,
    expires_in: Option<i64>,
}

/// The "deposit more" advice when the escrow holds less than asked.
fn short_escrow(free: u64, mint: &MintInfo) -> Failure {
    Failure::user(format!(
        "escrow has {} free; deposit more with `micropay escrow deposit --mint {} <amount>`",
        mint.ui(free),
        mint.address
    ))
}

async fn open(
    ctx: &Ctx,
    mint: &str,
    allocation: &str,
    terms: &OpenArgs,
    store: Option<&PathBuf>,
) -> Result<(), Failure> {
    let me = ctx.me()?;
    let mint = ctx.mint(mint).await?;
    let allocation = parse_amount(allocation, mint.decimals)?;
    let escrow_address = pda::escrow(&me, &mint.address).0;
    let escrow = accounts::escrow(ctx.ledger(), &escrow_address)
        .await?
        .ok_or_else(|| {
            Failure::user(format!(
                "you have no escrow for {}; run `micropay escrow init --mint {}`",
                mint.symbol, mint.address
            ))
        })?;
    if allocation > escrow.balance {
        return Err(short_escrow(escrow.balance, &mint));
    }
    let expires_at = match terms.expires_in {
        Some(secs) => ctx.ledger().unix_timestamp().await?.saturating_add(secs),
        None => 0,
    };
    // the library's one way: a voucher key derived from the wallet,
    // registered before the channel exists, forgotten on refusal
    let payer = AsyncPayer::new(Payer::new(payer_store(store)?));
    let opened = channels::open(
        ctx.ledger(),
        &payer,
        ctx.keypair()?,
        &escrow,
        &channels::OpenRequest {
            mint: mint.address,
            creator: terms.creator,
            allocation,
            fee: terms.fee,
            dispute_window_secs: terms.dispute_window,
            expires_at,
            nonce: None,
        },
    )
    .await?;
    ctx.show(&Opened {
        channel: opened.channel.to_string(),
        session_key: opened.session.to_string(),
        allocation,
        allocation_ui: format_amount(allocation, mint.decimals),
        signature: opened.sent.signature.to_string(),
        symbol: mint.symbol.clone(),
    });
    Ok(())
}

async fn top_up(
    ctx: &Ctx,
    channel: &Pubkey,
    amount: &str,
    store: Option<&PathBuf>,
) -> Result<(), Failure> {
    ctx.me()?;
    let c = load(ctx, channel).await?;
    let mint = ctx.mint(&c.mint.to_string()).await?;
    let amount = parse_amount(amount, mint.decimals)?;
    let escrow = accounts::escrow(ctx.ledger(), &c.escrow)
        .await?
        .map_or(0, |e| e.balance);
    if amount > escrow {
        return Err(short_escrow(escrow, &mint));
    }
    // the payer (when its store holds the channel) may then sign up to the
    // new allocation
    let payer = AsyncPayer::new(Payer::new(payer_store(store)?));
    let (allocation, sent) =
        channels::top_up(ctx.ledger(), &payer, ctx.keypair()?, channel, &c, amount).await?;
    ctx.show(&ToppedUp {
        channel: channel.to_string(),
        allocation,
        allocation_ui: format_amount(allocation, mint.decimals),
        signature: sent.signature.to_string(),
        symbol: mint.symbol.clone(),
    });
    Ok(())
}

/// The wallet paying through `c`: its escrow's owner.
async fn payer_of(ctx: &Ctx, c: &Channel) -> Result<Pubkey, Failure> {
    Ok(accounts::escrow(ctx.ledger(), &c.escrow)
        .await?
        .ok_or_else(|| Failure::user(format!("the channel's escrow {} is gone", c.escrow)))?
        .owner)
}

/// The owner of every escrow of `channels`, read in one request (a
/// creator's list names many channels of few escrows).
async fn payers_of<'a>(
    ctx: &Ctx,
    channels: impl Iterator<Item = &'a Channel>,
) -> Result<std::collections::HashMap<Pubkey, Pubkey>, Failure> {
    let escrows: Vec<Pubkey> = channels
        .map(|c| c.escrow)
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    let read = accounts::escrows(ctx.ledger(), &escrows).await?;
    Ok(escrows
        .into_iter()
        .zip(read)
        .filter_map(|(address, e)| Some((address, e?.owner)))
        .collect())
}

/// When a channel asked to close at `requested_at` can be finalized.
fn closable_at(c: &Channel) -> i64 {
    c.close_requested_at
        .saturating_add(i64::from(c.dispute_window_secs))
}

async fn request_close(ctx: &Ctx, channel: &Pubkey) -> Result<(), Failure> {
    ctx.me()?;
    let c = load(ctx, channel).await?;
    if c.close_requested() {
        return Err(Failure::user(format!(
            "channel {channel} was already asked to close at {} (chain time); finalize it from {} on with `micropay channel finalize {channel}`",
            utc(c.close_requested_at),
            utc(closable_at(&c))
        )));
    }
    let sent = channels::request_close(ctx.ledger(), ctx.keypair()?, channel, &c).await?;
    let closed = load(ctx, channel).await?;
    let closable = closable_at(&closed);
    ctx.show(&CloseRequested {
        channel: channel.to_string(),
        closable_at: closable,
        closable_at_utc: utc(closable),
        window_secs: i64::from(closed.dispute_window_secs),
        signature: sent.signature.to_string(),
    });
    Ok(())
}

async fn finalize(ctx: &Ctx, channel: &Pubkey) -> Result<(), Failure> {
    ctx.me()?;
    let c = load(ctx, channel).await?;
    let now = ctx.ledger().unix_timestamp().await?;
    if !c.is_expired(now) {
        if !c.close_requested() {
            return Err(Failure::user(format!(
                "channel {channel} has no close request: ask first with `micropay channel request-close {channel}` (the payer), then finalize after its {} dispute window",
                relative(i64::from(c.dispute_window_secs))
            )));
        }
        let closable = closable_at(&c);
        if now < closable {
            return Err(Failure::user(format!(
                "the dispute window is still open: channel {channel} can be finalized in {} (from {}, chain time; on the local node `micropay node warp` moves its clock)",
                relative(closable.saturating_sub(now)),
                utc(closable)
            )));
        }
    }
    let sent = channels::finalize(ctx.ledger(), ctx.keypair()?, channel, &c)
        .await
        .map_err(|e| escrow_gone(e, &c))?;
    let mint = ctx.mint(&c.mint.to_string()).await?;
    ctx.show(&Closed {
        channel: channel.to_string(),
        settled: None,
        settled_ui: None,
        refund: c.remaining(),
        refund_ui: format_amount(c.remaining(), mint.decimals),
        signature: sent.signature.to_string(),
        symbol: mint.symbol.clone(),
    });
    Ok(())
}

/// The library's "no account at the channel's escrow", said as what it is.
fn escrow_gone(e: ClientError, c: &Channel) -> Failure {
    match e {
        ClientError::AccountNotFound(a) if a == c.escrow => {
            Failure::user(format!("the channel's escrow {a} is gone"))
        }
        e => e.into(),
    }
}

async fn creator_close(
    ctx: &Ctx,
    channel: &Pubkey,
    store: Option<&PathBuf>,
) -> Result<(), Failure> {
    let me = ctx.me()?;
    let c = load(ctx, channel).await?;
    if c.creator != me {
        return Err(Failure::user(format!(
            "only the creator {} can do this; pass its keypair with -k",
            c.creator
        )));
    }
    // the receiver store's pending voucher is settled in the same transaction
    let receivers = if store.is_some() || store_path(None, "receiver").exists() {
        Some(receiver_store(store, true)?.0)
    } else {
        None
    };
    let closed = channels::creator_close(
        ctx.ledger(),
        ctx.keypair()?,
        receivers.as_deref(),
        channel,
        &c,
    )
    .await
    .map_err(|e| escrow_gone(e, &c))?;
    let mint = ctx.mint(&c.mint.to_string()).await?;
    ctx.show(&Closed {
        channel: channel.to_string(),
        settled: Some(closed.settled),
        settled_ui: Some(format_amount(closed.settled, mint.decimals)),
        refund: closed.refund,
        refund_ui: format_amount(closed.refund, mint.decimals),
        signature: closed.sent.signature.to_string(),
        symbol: mint.symbol.clone(),
    });
    Ok(())
}

async fn list(
    ctx: &Ctx,
    payer: Option<&Pubkey>,
    creator: Option<&Pubkey>,
    mint: Option<&str>,
) -> Result<(), Failure> {
    let filter = match (payer, creator) {
        (_, Some(c)) => ChannelFilter::Creator(*c),
        (p, None) => {
            let mint =
                mint.ok_or_else(|| Failure::user("--payer needs --mint (or list by --creator)"))?;
            let mint = ctx.mint(mint).await?;
            let owner = match p {
                Some(p) => *p,
                None => ctx.me()?,
            };
            ChannelFilter::Escrow(pda::escrow(&owner, &mint.address).0)
        }
    };
    let found = ctx.ledger().channels(filter).await?;
    let payers = payers_of(ctx, found.iter().map(|(_, c)| c)).await?;
    let mut mints: std::collections::HashMap<Pubkey, MintInfo> = Default::default();
    let mut views = Vec::with_capacity(found.len());
    for (address, c) in &found {
        if let std::collections::hash_map::Entry::Vacant(slot) = mints.entry(c.mint) {
            slot.insert(ctx.mint(&c.mint.to_string()).await?);
        }
        let payer = payers
            .get(&c.escrow)
            .ok_or_else(|| Failure::user(format!("the channel's escrow {} is gone", c.escrow)))?;
        if let Some(mint) = mints.get(&c.mint) {
            views.push(ChannelView::new(address, c, payer, mint));
        }
    }
    ctx.show(&ChannelList(views));
    Ok(())
}

/// `channel open`: the new channel and its session key (whose secret is in
/// the payer store, never printed).
#[derive(Debug, serde::Serialize)]
pub struct Opened {
    channel: String,
    session_key: String,
    allocation: u64,
    allocation_ui: String,
    signature: String,
    #[serde(skip)]
    symbol: String,
}

impl std::fmt::Display for Opened {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "channel {} opened with {} {} (session key {})",
            self.channel, self.allocation_ui, self.symbol, self.session_key
        )
    }
}

/// `channel top-up`: the channel's new allocation.
#[derive(Debug, serde::Serialize)]
pub struct ToppedUp {
    channel: String,
    allocation: u64,
    allocation_ui: String,
    signature: String,
    #[serde(skip)]
    symbol: String,
}

impl std::fmt::Display for ToppedUp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "channel {} now allocates {} {}",
            self.channel, self.allocation_ui, self.symbol
        )
    }
}

/// `channel request-close`: when `finalize` becomes possible.
#[derive(Debug, serde::Serialize)]
pub struct CloseRequested {
    channel: String,
    /// Unix seconds, chain time.
    closable_at: i64,
    closable_at_utc: String,
    /// The dispute window: seconds from the request to `closable_at`.
    #[serde(skip)]
    window_secs: i64,
    signature: String,
}

impl std::fmt::Display for CloseRequested {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "close requested; `micropay channel finalize {}` works in {} (from {}, chain time)",
            self.channel,
            relative(self.window_secs),
            self.closable_at_utc
        )
    }
}

/// `channel finalize` and `channel creator-close`: what went back to the
/// escrow, and (creator-close) what was settled first.
#[derive(Debug, serde::Serialize)]
pub struct Closed {
    channel: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    settled: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    settled_ui: Option<String>,
    refund: u64,
    refund_ui: String,
    signature: String,
    #[serde(skip)]
    symbol: String,
}

impl std::fmt::Display for Closed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.settled_ui {
            Some(settled) => write!(
                f,
                "channel {} closed by its creator; {settled} {s} settled first, {} {s} back to the payer",
                self.channel,
                self.refund_ui,
                s = self.symbol
            ),
            None => write!(
                f,
                "channel {} closed; {} {} returned to the escrow",
                self.channel, self.refund_ui, self.symbol
            ),
        }
    }
}
