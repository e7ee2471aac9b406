//! Decoding of micropay events.
//!
//! The program emits events with `emit_cpi!`: a self-invocation whose data is
//! `EVENT_IX_TAG_LE ‖ event discriminator ‖ borsh(event)`. They arrive as inner
//! instructions of the transaction (from `getTransaction`, or from a
//! simulation's `inner_instructions`).

use anchor_lang::{event::EVENT_IX_TAG_LE, AnchorDeserialize, Discriminator};
use micropay::events::*;

/// Any event of the micropay program.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MicropayEvent {
    /// An escrow was created.
    EscrowInitialized(EscrowInitialized),
    /// Tokens were deposited into an escrow.
    Deposited(Deposited),
    /// Free escrow balance was withdrawn.
    Withdrawn(Withdrawn),
    /// A channel was opened.
    ChannelOpened(ChannelOpened),
    /// A channel's allocation grew.
    ChannelToppedUp(ChannelToppedUp),
    /// An earnings account was created.
    EarningsInitialized(EarningsInitialized),
    /// A batch of vouchers was settled.
    Claimed(Claimed),
    /// Earnings were withdrawn.
    EarningsWithdrawn(EarningsWithdrawn),
    /// A payer started closing a channel.
    CloseRequested(CloseRequested),
    /// A channel was closed.
    ChannelClosed(ChannelClosed),
    /// An escrow was closed.
    EscrowClosed(EscrowClosed),
    /// An earnings account was closed.
    EarningsClosed(EarningsClosed),
    /// A royalty split was created.
    SplitCreated(SplitCreated),
    /// A split's earnings went to its recipients.
    Distributed(Distributed),
}

fn parse<T: AnchorDeserialize + Discriminator>(body: &[u8]) -> Option<T> {
    let rest = body.strip_prefix(T::DISCRIMINATOR)?;
    T::try_from_slice(rest).ok()
}

/// Decodes the data of a micropay inner instruction; `None` when it is not an
/// event (or not one of this program version's events).
pub fn decode(data: &[u8]) -> Option<MicropayEvent> {
    use MicropayEvent as E;
    let body = data.strip_prefix(EVENT_IX_TAG_LE)?;
    None.or_else(|| parse(body).map(E::EscrowInitialized))
        .or_else(|| parse(body).map(E::Deposited))
        .or_else(|| parse(body).map(E::Withdrawn))
        .or_else(|| parse(body).map(E::ChannelOpened))
        .or_else(|| parse(body).map(E::ChannelToppedUp))
        .or_else(|| parse(body).map(E::EarningsInitialized))
        .or_else(|| parse(body).map(E::Claimed))
        .or_else(|| parse(body).map(E::EarningsWithdrawn))
        .or_else(|| parse(body).map(E::CloseRequested))
        .or_else(|| parse(body).map(E::ChannelClosed))
        .or_else(|| parse(body).map(E::EscrowClosed))
        .or_else(|| parse(body).map(E::EarningsClosed))
        .or_else(|| parse(body).map(E::SplitCreated))
        .or_else(|| parse(body).map(E::Distributed))
}

/// Decodes the micropay events among a transaction's inner instructions, given
/// as `(program id index, data)` pairs into `account_keys`.
pub fn from_inner_instructions<'a>(
    account_keys: &[anchor_lang::prelude::Pubkey],
    inner: impl IntoIterator<Item = (usize, &'a [u8])>,
) -> Vec<MicropayEvent> {
    inner
        .into_iter()
        .filter(|(program, _)| account_keys.get(*program) == Some(&micropay::ID))
        .filter_map(|(_, data)| decode(data))
        .collect()
}
