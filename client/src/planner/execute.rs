//! Steps 0 and 3: claims left in flight by an earlier run waited for, then
//! the plan's batches signed, sent, confirmed from the chain, bisected when
//! they fail, and what fails alone quarantined.

use super::{
    reconcile::{apply, read_channel},
    *,
};

/// A signed claim transaction, in the format it was packed for.
pub(super) enum SignedClaim {
    Legacy(Transaction),
    /// Serialized (see [`crate::v1`]).
    V1(Vec<u8>),
}

impl SignedClaim {
    /// Its id: the fee payer's signature.
    pub(super) fn signature(&self) -> Result<Signature> {
        match self {
            SignedClaim::Legacy(tx) => Ok(tx.signatures[0]),
            SignedClaim::V1(wire) => v1::first_signature(wire),
        }
    }

    pub(super) async fn submit(&self, ledger: &dyn Ledger) -> Result<()> {
        match self {
            SignedClaim::Legacy(tx) => ledger.submit(tx).await,
            SignedClaim::V1(wire) => ledger.submit_v1(wire).await,
        }
    }
}

impl Planner {
    /// Step 3: creates missing earnings accounts, then settles each batch
    /// (bisecting failures, quarantining what fails alone), paid by
    /// `fee_payer`, and confirms from the chain.
    pub async fn execute(
        &self,
        plan: &Plan,
        ledger: &dyn Ledger,
        store: &AsyncStore,
        fee_payer: &DynSigner,
    ) -> Result<Execution> {
        let mut report = Execution::default();
        for q in &plan.quarantine {
            set_aside(store, q, &mut report).await?;
        }
        let created = crate::earnings::create(ledger, fee_payer, &plan.create_earnings).await?;
        report.fees = report.fees.saturating_add(created.fees);
        report.earnings_created = report.earnings_created.saturating_add(created.accounts);
        // read once: every confirmation below is from this cluster
        let cluster = if plan.batches.is_empty() {
            Hash::default()
        } else {
            ledger.genesis_hash().await?
        };
        // Rounds: send every pending claim, confirm them together (one
        // status query for all), record what landed; a claim that fails is
        // split in two for the next round, one voucher failing alone is set
        // aside.
        let mut pending: Vec<Vec<Candidate>> =
            plan.batches.iter().map(|b| b.claims.clone()).collect();
        while !pending.is_empty() {
            let mut failed: Vec<(Vec<Candidate>, ClientError)> = Vec::new();
            let mut in_flight: Vec<(Vec<Candidate>, Signature, u64)> = Vec::new();
            for claims in pending.drain(..) {
                match self.send_claim(&claims, ledger, store, fee_payer).await {
                    Ok((signature, valid_until)) => {
                        in_flight.push((claims, signature, valid_until))
                    }
                    // the cluster, or the format, not a voucher: stop (the
                    // rows stay in flight, or claimable again)
                    Err(e @ (ClientError::Rpc(_) | ClientError::V1Transaction { .. })) => {
                        return Err(e)
                    }
                    Err(e) => failed.push((claims, e)),
                }
            }
            let waits: Vec<(Signature, u64)> = in_flight.iter().map(|(_, s, v)| (*s, *v)).collect();
            // unreachable: every claim stays in flight, for `resume`
            let outcomes = ledger.confirm_many(&waits).await?;
            let mut landed: Vec<(Vec<Candidate>, Sent)> = Vec::new();
            for ((claims, signature, _), outcome) in in_flight.into_iter().zip(outcomes) {
                let recorded = signature.to_string();
                let channels = || claims.iter().map(|c| &c.claim.channel);
                match outcome {
                    Ok(Some(sent)) => landed.push((claims, sent)),
                    Ok(None) => {
                        tracing::info!(%signature, "claim expired before landing: claimable again");
                        drop_claim(store, channels(), &recorded).await?;
                        report.expired = report.expired.saturating_add(1);
                    }
                    Err(e @ ClientError::Rpc(_)) => return Err(e),
                    // it failed on chain: nothing of it settled
                    Err(e) => {
                        drop_claim(store, channels(), &recorded).await?;
                        failed.push((claims, e));
                    }
                }
            }
            self.record_landed(&landed, cluster, ledger, store, &mut report)
                .await?;
            for (claims, e) in failed {
                if claims.len() > 1 {
                    tracing::info!(vouchers = claims.len(), error = %e, "claim fails: bisecting");
                    report.bisections = report.bisections.saturating_add(1);
                    let (left, right) = claims.split_at(claims.len() / 2);
                    pending.push(left.to_vec());
                    pending.push(right.to_vec());
                } else if let Some(c) = claims.first() {
                    let q = Quarantined {
                        channel: c.claim.channel,
                        amount: c.record.voucher.amount,
                        reason: format!("its claim fails: {e}"),
                    };
                    set_aside(store, &q, &mut report).await?;
                }
            }
        }
        Ok(report)
    }

    /// The claim transaction of `claims` in the configured format, signed
    /// by `fee_payer`.
    pub(super) fn sign_claim(
        &self,
        claims: &[Candidate],
        fee_payer: &DynSigner,
        blockhash: Hash,
    ) -> Result<SignedClaim> {
        let vouchers: Vec<VoucherClaim> = claims.iter().map(|c| c.claim.clone()).collect();
        Ok(match self.config.format {
            TxFormat::Legacy => SignedClaim::Legacy(sign_transaction(
                &self.legacy_instructions(&vouchers),
                fee_payer,
                &[],
                blockhash,
            )?),
            TxFormat::V1 => {
                let payer = fee_payer.try_pubkey().map_err(ClientError::Signing)?;
                let message = self.v1_message(&vouchers, &payer, &blockhash)?;
                SignedClaim::V1(v1::sign(&message, &[fee_payer as &dyn Signer])?)
            }
        })
    }

    /// Signs one claim transaction, records its signature on the rows, and
    /// hands it to the cluster; returns the signature and the block height
    /// after which it can no longer land.
    ///
    /// The claim's signature is in the store before the transaction leaves:
    /// a crash after sending leaves rows that [`Planner::resume`] waits for,
    /// never a second claim sent blind. `Err` when the ledger refused the
    /// transaction before sending it (the rows are claimable again), or the
    /// cluster could not be reached (the rows stay in flight).
    pub(super) async fn send_claim(
        &self,
        claims: &[Candidate],
        ledger: &dyn Ledger,
        store: &AsyncStore,
        fee_payer: &DynSigner,
    ) -> Result<(Signature, u64)> {
        let blockhash = ledger.recent_blockhash().await?;
        let tx = self.sign_claim(claims, fee_payer, blockhash.hash)?;
        let signature = tx.signature()?;
        let recorded = signature.to_string();
        let valid_until = blockhash.last_valid_block_height;
        let carried: Vec<(Pubkey, u64)> = claims
            .iter()
            .map(|c| (c.claim.channel, c.record.voucher.amount))
            .collect();
        let signed = recorded.clone();
        store
            .call(move |s| {
                for (channel, amount) in &carried {
                    rules::update(s, channel, &|r| {
                        rules::submitted(r, *amount, &signed, valid_until)
                    })?;
                }
                Ok(())
            })
            .await?;
        match tx.submit(ledger).await {
            Ok(()) => Ok((signature, valid_until)),
            // it may have left: it stays in flight, for `resume`
            Err(e @ ClientError::Rpc(_)) => Err(e),
            Err(e) => {
                // it never left: its rows are claimable again
                drop_claim(store, claims.iter().map(|c| &c.claim.channel), &recorded).await?;
                Err(e)
            }
        }
    }

    /// Records the claims that landed: their events in the report, and each
    /// channel's `claimed` as the chain has it now (one read for all).
    /// `cluster`: the ledger's genesis hash, for the confirmations.
    pub(super) async fn record_landed(
        &self,
        landed: &[(Vec<Candidate>, Sent)],
        cluster: Hash,
        ledger: &dyn Ledger,
        store: &AsyncStore,
        report: &mut Execution,
    ) -> Result<()> {
        if landed.is_empty() {
            return Ok(());
        }
        let mut facts = Vec::new();
        for (_, sent) in landed {
            report.transactions = report.transactions.saturating_add(1);
            report.signatures.push(sent.signature);
            report.fees = report.fees.saturating_add(sent.fee);
            for event in &sent.events {
                let MicropayEvent::Claimed(claimed) = event else {
                    continue;
                };
                for s in &claimed.settled {
                    report.vouchers_settled = report.vouchers_settled.saturating_add(1);
                    report.settled_amount = report.settled_amount.saturating_add(s.delta);
                    report.settled.push(s.clone());
                }
                for s in &claimed.skipped {
                    report.vouchers_skipped = report.vouchers_skipped.saturating_add(1);
                    if s.reason == SkipReason::ChannelClosed {
                        facts.push((
                            s.channel,
                            Fact::Closed(CloseEvidence::Event { claimed: None }),
                        ));
                    }
                }
            }
        }
        // confirmation: each channel's `claimed` as the chain has it now
        let addresses: Vec<Pubkey> = landed
            .iter()
            .flat_map(|(claims, _)| claims.iter().map(|c| c.claim.channel))
            .collect();
        let observed = ledger.observe(&addresses).await?;
        for ((address, account), slot) in
            addresses.iter().zip(observed.accounts).zip(observed.slots)
        {
            let fact = match read_channel(address, account) {
                Ok(Some(channel)) => Fact::Seen(Sighting {
                    cluster,
                    slot,
                    claimed: channel.claimed,
                    allocation: channel.allocation,
                }),
                Ok(None) => Fact::Closed(CloseEvidence::Absent { cluster, slot }),
                // not readable as a channel: nothing to conclude
                Err(_) => continue,
            };
            facts.push((*address, fact));
        }
        let applied = apply(store, facts).await?;
        report.add_lost(applied.lost);
        Ok(())
    }

    /// Step 0: waits for every claim the store has in flight (signed and
    /// recorded by an earlier run, maybe sent, maybe not), so that no second
    /// claim of the same vouchers is sent while the first can still land.
    /// A claim that landed is confirmed by the next reconciliation; one that
    /// can no longer land leaves its rows claimable again. Returns how many
    /// in-flight claims landed and how many were dropped.
    pub async fn resume(&self, ledger: &dyn Ledger, store: &AsyncStore) -> Result<Resumed> {
        let rows = store.list(&[ClaimStatus::Submitted]).await?;
        let mut claims: HashMap<String, (u64, Vec<Pubkey>)> = HashMap::new();
        for row in &rows {
            if let Some((signature, valid_until)) = rules::in_flight(row) {
                let entry = claims
                    .entry(signature.to_string())
                    .or_insert((valid_until, Vec::new()));
                entry.1.push(row.voucher.channel);
            }
        }
        let mut resumed = Resumed::default();
        for (recorded, (valid_until, channels)) in claims {
            let Ok(signature) = recorded.parse::<Signature>() else {
                drop_claim(store, channels.iter(), &recorded).await?;
                continue;
            };
            match ledger.confirm(&signature, valid_until).await {
                Ok(Some(_)) => resumed.landed = resumed.landed.saturating_add(1),
                // it failed on chain: nothing of it settled
                Ok(None)
                | Err(
                    ClientError::Program { .. }
                    | ClientError::Instruction { .. }
                    | ClientError::Transaction { .. },
                ) => {
                    drop_claim(store, channels.iter(), &recorded).await?;
                    resumed.dropped = resumed.dropped.saturating_add(1);
                }
                Err(e) => return Err(e),
            }
        }
        Ok(resumed)
    }
}

/// Makes the rows of `channels` claimable again when they still wait for
/// the claim `signature`, which will never land.
pub(super) async fn drop_claim<'a>(
    store: &AsyncStore,
    channels: impl Iterator<Item = &'a Pubkey>,
    signature: &str,
) -> Result<()> {
    let (channels, signature): (Vec<Pubkey>, String) =
        (channels.copied().collect(), signature.into());
    store
        .call(move |s| {
            for channel in &channels {
                rules::update(s, channel, &|r| rules::dropped(r, &signature))?;
            }
            Ok(())
        })
        .await
}
/// Quarantines `q` in the store (when the row still holds that voucher).
pub(super) async fn set_aside(
    store: &AsyncStore,
    q: &Quarantined,
    report: &mut Execution,
) -> Result<()> {
    tracing::warn!(channel = %q.channel, reason = %q.reason, "voucher quarantined");
    let (amount, reason) = (q.amount, q.reason.clone());
    store
        .update(&q.channel, move |r| rules::quarantine(r, amount, &reason))
        .await?;
    report.quarantined.push(q.clone());
    Ok(())
}
