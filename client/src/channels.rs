//! Opening, topping up and recovering a payer's channels: the one way,
//! called by the CLI (`micropay channel open`, `top-up`, `voucher sign`) and
//! the paying HTTP client.
//!
//! A channel's voucher key is derived from the wallet
//! ([`micropay_sdk::session`]: a signature of the escrow and the channel's
//! nonce), never random: a payer that lost its store derives it again and
//! goes on paying on its channels instead of waiting out their dispute
//! windows to get the allocation back. The key is in the payer's store
//! before the channel exists (write-ahead) and forgotten when the cluster
//! refused the opening for sure.

use crate::{
    accounts,
    error::{ClientError, Result},
    ledger::{DynSigner, Ledger, Sent},
    payer::Payer,
};
use anchor_lang::prelude::Pubkey;
use micropay::{
    instructions::OpenChannelArgs,
    state::{Channel, Escrow},
};
use micropay_sdk::{instructions as mix, pda, session};
use solana_sdk::signature::Signer;

/// A channel to open from the wallet's escrow of `mint`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpenRequest {
    /// The escrow's mint.
    pub mint: Pubkey,
    /// Who the channel pays.
    pub creator: Pubkey,
    /// Base units moved from the escrow into the channel.
    pub allocation: u64,
    /// A dApp's fee share: its recipient and basis points.
    pub fee: Option<(Pubkey, u16)>,
    /// Seconds between a close request and its finalization.
    pub dispute_window_secs: u32,
    /// Unix time after which the channel closes at once (0: never).
    pub expires_at: i64,
}

/// An opened channel.
#[derive(Debug)]
pub struct Opened {
    /// Its address.
    pub channel: Pubkey,
    /// Its voucher key (derived from the wallet).
    pub session: Pubkey,
    /// The opening transaction.
    pub sent: Sent,
}

/// Opens `request`'s channel from `wallet`'s escrow (`state`, as the
/// caller read it to check its balance: the channel's address comes from
/// it), its voucher key derived from the wallet and registered with `payer`
/// before it is sent.
pub async fn open(
    ledger: &dyn Ledger,
    payer: &Payer,
    wallet: &DynSigner,
    state: &Escrow,
    request: &OpenRequest,
) -> Result<Opened> {
    let owner = wallet.pubkey();
    let escrow = pda::escrow(&owner, &request.mint).0;
    let nonce: u64 = rand::random();
    let key = session::derive(wallet, &escrow, nonce).map_err(ClientError::Signing)?;
    let (fee_recipient, fee_bps) = match request.fee {
        Some((recipient, bps)) => (Some(recipient), bps),
        None => (None, 0),
    };
    let (ix, channel) = mix::OpenChannel {
        owner,
        escrow,
        slot: pda::ChannelSlot::next(state),
        args: OpenChannelArgs {
            creator: request.creator,
            signer: key.pubkey(),
            allocation: request.allocation,
            fee_recipient,
            fee_bps,
            dispute_window_secs: request.dispute_window_secs,
            expires_at: request.expires_at,
            nonce,
        },
    }
    .with_channel();
    // durable before it exists (and derivable again anyway)
    payer.register(channel, &key, request.allocation)?;
    match ledger.send(&[ix], wallet, &[]).await {
        Ok(sent) => Ok(Opened {
            channel,
            session: key.pubkey(),
            sent,
        }),
        // refused for sure: no orphan key; after a network error it may
        // have landed, so the key stays
        Err(
            e @ (ClientError::Program { .. }
            | ClientError::Instruction { .. }
            | ClientError::Transaction { .. }),
        ) => {
            payer.forget_unused(&channel)?;
            Err(e)
        }
        Err(e) => Err(e),
    }
}

/// Moves `amount` more from the escrow into `channel` (its on-chain
/// `state`, read before), then lets `payer` sign up to the new allocation
/// when it holds the channel. The new allocation.
pub async fn top_up(
    ledger: &dyn Ledger,
    payer: &Payer,
    wallet: &DynSigner,
    channel: &Pubkey,
    state: &Channel,
    amount: u64,
) -> Result<(u64, Sent)> {
    let sent = ledger
        .send(
            &[mix::TopUpChannel {
                owner: wallet.pubkey(),
                escrow: state.escrow,
                channel: *channel,
                amount,
            }
            .instruction()],
            wallet,
            &[],
        )
        .await?;
    let allocation = state.allocation.saturating_add(amount);
    if payer.signer(channel)?.is_some() {
        payer.raise_allocation(channel, allocation)?;
    }
    Ok((allocation, sent))
}

/// Registers `channel` (its on-chain `state`) with `payer` when its voucher
/// key derives from `wallet` and the payer does not hold it (its store was
/// lost): it then signs no less than what the channel already settled.
/// `Ok(false)` for a channel whose key is not the wallet's to derive.
pub fn recover(
    payer: &Payer,
    wallet: &DynSigner,
    channel: &Pubkey,
    state: &Channel,
) -> Result<bool> {
    if payer.signer(channel)? == Some(state.signer) {
        return Ok(true);
    }
    let key = session::derive(wallet, &state.escrow, state.nonce).map_err(ClientError::Signing)?;
    if key.pubkey() != state.signer {
        return Ok(false); // opened elsewhere with another key
    }
    payer.adopt(*channel, &key, state.allocation, state.claimed)?;
    Ok(true)
}

/// [`recover`] for a channel read from `ledger`.
pub async fn recover_on(
    ledger: &dyn Ledger,
    payer: &Payer,
    wallet: &DynSigner,
    channel: &Pubkey,
) -> Result<bool> {
    let state = accounts::channel(ledger, channel)
        .await?
        .ok_or(ClientError::AccountNotFound(*channel))?;
    recover(payer, wallet, channel, &state)
}
