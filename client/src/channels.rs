//! Opening, topping up, recovering and closing channels: the one way,
//! called by the CLI (`micropay channel open`, `top-up`, `request-close`,
//! `finalize`, `creator-close`, `voucher sign`) and the paying HTTP client.
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
    payer::AsyncPayer,
    planner::voucher_claim,
    store::{
        rules::{self, CloseEvidence},
        ReceiverStore,
    },
};
use anchor_lang::prelude::Pubkey;
use micropay::{
    instructions::OpenChannelArgs,
    state::{Channel, Escrow},
};
use micropay_sdk::{events::MicropayEvent, instructions as mix, pda, session};
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
    /// The channel's nonce, from which its voucher key derives; `None`: a
    /// random one (a caller with its own randomness, a seeded demo, names
    /// it).
    pub nonce: Option<u64>,
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
    payer: &AsyncPayer,
    wallet: &DynSigner,
    state: &Escrow,
    request: &OpenRequest,
) -> Result<Opened> {
    let owner = wallet.pubkey();
    let escrow = pda::escrow(&owner, &request.mint).0;
    let nonce = request.nonce.unwrap_or_else(rand::random);
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
    payer.register(channel, &key, request.allocation).await?;
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
            payer.forget_unused(&channel).await?;
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
    payer: &AsyncPayer,
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
    if payer.signer(channel).await?.is_some() {
        payer.raise_allocation(channel, allocation).await?;
    }
    Ok((allocation, sent))
}

/// Whether `state`, which a node says is at `address`, is a channel the
/// program could have made there for `escrow` (`escrow_state`): at the
/// address its own seeds give, of the escrow's mint, with an id the escrow
/// handed out, paying no more than its allocation. Checked before the
/// wallet is asked to derive a key for it ([`recover`]), so a lying or
/// broken node's made-up accounts cost the wallet no signature (a hardware
/// wallet asks for each). What the node says of a real channel (its
/// `claimed`) is still trusted: use a node you trust (SECURITY.md).
pub fn made_by_program(
    address: &Pubkey,
    state: &Channel,
    escrow: &Pubkey,
    escrow_state: &Escrow,
) -> bool {
    let slot = pda::ChannelSlot {
        generation: escrow_state.generation,
        id: state.id,
    };
    state.escrow == *escrow
        && state.mint == escrow_state.mint
        && state.id < escrow_state.next_channel_id
        && state.claimed <= state.allocation
        && pda::channel(escrow, slot, state.nonce).0 == *address
}

/// Registers `channel` (its on-chain `state`) with `payer` when its voucher
/// key derives from `wallet` and the payer does not hold it (its store was
/// lost): it then signs no less than what the channel already settled.
/// `Ok(false)` for a channel whose key is not the wallet's to derive.
pub async fn recover(
    payer: &AsyncPayer,
    wallet: &DynSigner,
    channel: &Pubkey,
    state: &Channel,
) -> Result<bool> {
    if payer.signer(channel).await? == Some(state.signer) {
        return Ok(true);
    }
    let key = session::derive(wallet, &state.escrow, state.nonce).map_err(ClientError::Signing)?;
    if key.pubkey() != state.signer {
        return Ok(false); // opened elsewhere with another key
    }
    payer
        .adopt(*channel, &key, state.allocation, state.claimed)
        .await?;
    Ok(true)
}

/// [`recover`] for a channel read from `ledger`.
pub async fn recover_on(
    ledger: &dyn Ledger,
    payer: &AsyncPayer,
    wallet: &DynSigner,
    channel: &Pubkey,
) -> Result<bool> {
    let state = accounts::channel(ledger, channel)
        .await?
        .ok_or(ClientError::AccountNotFound(*channel))?;
    recover(payer, wallet, channel, &state).await
}

/// The payer (`wallet`, the escrow's owner) asks to close `channel` (its
/// on-chain `state`): the creator then has the dispute window to claim.
pub async fn request_close(
    ledger: &dyn Ledger,
    wallet: &DynSigner,
    channel: &Pubkey,
    state: &Channel,
) -> Result<Sent> {
    let ix = mix::RequestClose {
        owner: wallet.pubkey(),
        escrow: state.escrow,
        channel: *channel,
    }
    .instruction();
    ledger.send(&[ix], wallet, &[]).await
}

/// Closes `channel` (its on-chain `state`) after its dispute window or its
/// expiry, the rest going back to its escrow; anyone may, `relayer` pays.
pub async fn finalize(
    ledger: &dyn Ledger,
    relayer: &DynSigner,
    channel: &Pubkey,
    state: &Channel,
) -> Result<Sent> {
    let owner = accounts::escrow(ledger, &state.escrow)
        .await?
        .ok_or(ClientError::AccountNotFound(state.escrow))?
        .owner;
    let ix = mix::FinalizeClose {
        escrow: state.escrow,
        channel: *channel,
        owner,
    }
    .instruction();
    ledger.send(&[ix], relayer, &[]).await
}

/// What a creator's close did.
#[derive(Debug)]
pub struct CreatorClosed {
    /// The closing transaction.
    pub sent: Sent,
    /// Base units the pending voucher settled first (0 without one).
    pub settled: u64,
    /// Base units back to the payer's escrow.
    pub refund: u64,
}

/// The creator (`creator`) closes `channel` (its on-chain `state`) now. The
/// newest voucher `receivers` holds for it is claimed in the same
/// transaction, before the close (missing earnings accounts created), so
/// closing never drops what was accepted; the store then records the close.
pub async fn creator_close(
    ledger: &dyn Ledger,
    creator: &DynSigner,
    receivers: Option<&dyn ReceiverStore>,
    channel: &Pubkey,
    state: &Channel,
) -> Result<CreatorClosed> {
    // another signer is refused by the program (`NotChannelCreator`)
    let me = creator.pubkey();
    let owner = accounts::escrow(ledger, &state.escrow)
        .await?
        .ok_or(ClientError::AccountNotFound(state.escrow))?
        .owner;
    let mut ixs = Vec::new();
    if let Some(store) = receivers {
        let pending = store
            .get(channel)?
            .filter(|r| r.voucher.amount.min(state.allocation) > state.claimed);
        if let Some(row) = pending {
            ixs.extend(missing_earnings(ledger, &me, state).await?);
            ixs.push(mix::claim(&[voucher_claim(&row.voucher, state)]));
        }
    }
    ixs.push(
        mix::CreatorClose {
            creator: me,
            escrow: state.escrow,
            channel: *channel,
            owner,
        }
        .instruction(),
    );
    let sent = ledger.send(&ixs, creator, &[]).await?;
    let settled: u64 = sent
        .events
        .iter()
        .filter_map(|e| match e {
            MicropayEvent::Claimed(claimed) => Some(claimed),
            _ => None,
        })
        .flat_map(|claimed| claimed.settled.iter().map(|s| s.delta))
        .sum();
    let final_claimed = sent.events.iter().find_map(|e| match e {
        MicropayEvent::ChannelClosed(closed) => Some(closed.claimed),
        _ => None,
    });
    if let Some(store) = receivers {
        let evidence = CloseEvidence::Event {
            claimed: final_claimed,
        };
        rules::update(store, channel, &|r| {
            rules::close(r, &evidence).map(|(n, _)| n)
        })?;
    }
    let refund = final_claimed.map_or(state.remaining(), |claimed| {
        state.allocation.saturating_sub(claimed)
    });
    Ok(CreatorClosed {
        sent,
        settled,
        refund,
    })
}

/// The instructions creating the earnings accounts a claim on `state`
/// needs and the ledger lacks (the creator's, the fee recipient's), paid
/// by `payer`.
async fn missing_earnings(
    ledger: &dyn Ledger,
    payer: &Pubkey,
    state: &Channel,
) -> Result<Vec<solana_sdk::instruction::Instruction>> {
    let mut owners = vec![state.creator];
    if state.fee_bps > 0 {
        owners.push(state.fee_recipient);
    }
    let mut ixs = Vec::new();
    for owner in owners {
        let earnings = pda::earnings(&owner, &state.mint).0;
        if accounts::earnings(ledger, &earnings).await?.is_none() {
            ixs.push(
                mix::InitEarnings {
                    payer: *payer,
                    owner,
                    mint: state.mint,
                }
                .instruction(),
            );
        }
    }
    Ok(ixs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn escrow_and_channel() -> (Pubkey, Escrow, Pubkey, Channel) {
        let (owner, mint) = (Pubkey::new_unique(), Pubkey::new_unique());
        let escrow = pda::escrow(&owner, &mint).0;
        let escrow_state = Escrow {
            owner,
            mint,
            balance: 0,
            next_channel_id: 3,
            generation: 42,
            open_channels: 1,
            bump: 255,
        };
        let slot = pda::ChannelSlot {
            generation: 42,
            id: 2,
        };
        let (address, bump) = pda::channel(&escrow, slot, 7);
        let channel = Channel {
            escrow,
            mint,
            creator: Pubkey::new_unique(),
            signer: Pubkey::new_unique(),
            allocation: 100,
            claimed: 100,
            fee_recipient: Pubkey::default(),
            fee_bps: 0,
            dispute_window_secs: 900,
            expires_at: 0,
            close_requested_at: 0,
            id: 2,
            nonce: 7,
            bump,
        };
        (escrow, escrow_state, address, channel)
    }

    #[test]
    fn only_a_channel_the_program_could_have_made_there_is_taken() {
        let (escrow, state, address, channel) = escrow_and_channel();
        assert!(made_by_program(&address, &channel, &escrow, &state));
        type Change = fn(&mut Channel, &mut Escrow, &mut Pubkey);
        let made_up: [(&str, Change); 6] = [
            ("another address", |_, _, a| *a = Pubkey::new_unique()),
            ("another nonce", |c, _, _| c.nonce = 8),
            ("an id not handed out", |_, e, _| e.next_channel_id = 2),
            ("another generation", |_, e, _| e.generation = 41),
            ("another mint", |c, _, _| c.mint = Pubkey::new_unique()),
            ("paying past its allocation", |c, _, _| c.claimed = 101),
        ];
        for (what, change) in made_up {
            let (escrow, mut state, mut address, mut channel) = escrow_and_channel();
            change(&mut channel, &mut state, &mut address);
            assert!(
                !made_by_program(&address, &channel, &escrow, &state),
                "{what}"
            );
        }
        let other_escrow = Pubkey::new_unique();
        assert!(!made_by_program(&address, &channel, &other_escrow, &state));
    }
}
