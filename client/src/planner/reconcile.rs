//! Step 1: the store's open rows against the chain (reads only), and the
//! facts it justifies written with the store's rules.

use super::*;

/// A channel as read: `Ok(None)` when no micropay account is there (never
/// created, or closed — lamports sent to the address afterwards do not make
/// it a channel again, as the program's own `is_gone` holds), `Err` when a
/// micropay account there does not decode as a channel.
pub(super) fn read_channel(
    address: &Pubkey,
    account: Option<solana_sdk::account::Account>,
) -> Result<Option<Channel>> {
    match account {
        Some(a) => Ok(micropay_sdk::accounts::decode::<Channel>(
            address, &a, "channel",
        )?),
        None => Ok(None),
    }
}

impl Planner {
    /// Step 1: reads the store's open rows and their channels (confirmed
    /// commitment) and says what the chain justifies. Writes nothing.
    pub async fn reconcile(
        &self,
        ledger: &dyn Ledger,
        store: &AsyncStore,
    ) -> Result<Reconciliation> {
        let rows = store.list(&ClaimStatus::OPEN).await?;
        let cluster = ledger.genesis_hash().await?;
        let now = ledger.unix_timestamp().await?;
        let mut recon = Reconciliation {
            now,
            cluster,
            ..Reconciliation::default()
        };
        if rows.is_empty() {
            return Ok(recon);
        }
        let addresses: Vec<Pubkey> = rows.iter().map(|r| r.voucher.channel).collect();
        let observed = ledger.observe(&addresses).await?;
        let mut earnings_needed = BTreeSet::new();
        for ((row, account), slot) in rows.into_iter().zip(observed.accounts).zip(observed.slots) {
            let address = row.voucher.channel;
            if row.cluster.is_some_and(|c| c != cluster) {
                recon.other_cluster.push(address);
                continue;
            }
            let Ok(state) = read_channel(&address, account) else {
                recon.undecodable.push(address);
                continue;
            };
            let Some(channel) = state else {
                let evidence = CloseEvidence::Absent { cluster, slot };
                match rules::close(&row, &evidence) {
                    Some((_, lost)) => {
                        if lost > 0 {
                            recon.lost.push(Lost {
                                channel: address,
                                mint: row.mint,
                                creator: row.creator,
                                amount: lost,
                            });
                        }
                        recon.facts.push((address, Fact::Closed(evidence)));
                    }
                    None => recon.unverified.push(address),
                }
                continue;
            };
            let seen = Sighting {
                cluster,
                slot,
                claimed: channel.claimed,
                allocation: channel.allocation,
            };
            recon.facts.push((address, Fact::Seen(seen)));
            let Some(value) =
                micropay::math::claimable(row.voucher.amount, channel.allocation, channel.claimed)
            else {
                recon.settled.push(address);
                continue;
            };
            earnings_needed.insert((channel.creator, channel.mint));
            if channel.fee_bps > 0 {
                earnings_needed.insert((channel.fee_recipient, channel.mint));
            }
            let claim = voucher_claim(&row.voucher, &channel);
            recon.candidates.push(Candidate {
                record: row,
                channel,
                value,
                claim,
            });
        }
        let needed: Vec<(Pubkey, Pubkey)> = earnings_needed.into_iter().collect();
        let earnings: Vec<Pubkey> = needed
            .iter()
            .map(|(owner, mint)| pda::earnings(owner, mint).0)
            .collect();
        let found = ledger.accounts(&earnings).await?;
        recon.missing_earnings = needed
            .into_iter()
            .zip(found)
            .filter(|(_, account)| account.as_ref().is_none_or(|a| a.owner != micropay::ID))
            .map(|(pair, _)| pair)
            .collect();
        Ok(recon)
    }

    /// Writes the facts of a reconciliation, each with compare-and-set on the
    /// row as it is now (a voucher accepted meanwhile is never lost).
    pub async fn apply(&self, store: &AsyncStore, recon: &Reconciliation) -> Result<Applied> {
        apply(store, recon.facts.clone()).await
    }
}

/// [`apply_facts`] in one hop to the store (see [`AsyncStore`]).
pub(super) async fn apply(store: &AsyncStore, facts: Vec<(Pubkey, Fact)>) -> Result<Applied> {
    if facts.is_empty() {
        return Ok(Applied::default());
    }
    store.call(move |s| apply_facts(s, &facts)).await
}

/// Writes facts with the store's rules; reports rows closed with value lost.
pub fn apply_facts(store: &dyn ReceiverStore, facts: &[(Pubkey, Fact)]) -> Result<Applied> {
    let mut applied = Applied::default();
    for (channel, fact) in facts {
        match fact {
            Fact::Seen(seen) => {
                let written = rules::update(store, channel, &|r| rules::observe(r, seen))?;
                if written.is_some_and(|r| r.status == ClaimStatus::Confirmed) {
                    applied.confirmed = applied.confirmed.saturating_add(1);
                }
            }
            Fact::Closed(evidence) => {
                let lost = std::cell::Cell::new(0u64);
                let written = rules::update(store, channel, &|r| {
                    rules::close(r, evidence).map(|(next, l)| {
                        lost.set(l);
                        next
                    })
                })?;
                if let Some(row) = written {
                    applied.closed = applied.closed.saturating_add(1);
                    if lost.get() > 0 {
                        applied.lost.push(Lost {
                            channel: *channel,
                            mint: row.mint,
                            creator: row.creator,
                            amount: lost.get(),
                        });
                    }
                }
            }
        }
    }
    Ok(applied)
}
