//! Step 2 (pure): what to claim now, packed into transactions measured
//! against the format's limits.

use super::*;

/// The claim of `voucher` on `channel` (state as read): the creator's and,
/// with a fee share, the fee recipient's earnings accounts for its mint.
pub fn voucher_claim(voucher: &micropay_sdk::voucher::Voucher, channel: &Channel) -> VoucherClaim {
    VoucherClaim {
        channel: voucher.channel,
        creator_earnings: pda::earnings(&channel.creator, &channel.mint).0,
        fee_earnings: (channel.fee_bps > 0)
            .then(|| pda::earnings(&channel.fee_recipient, &channel.mint).0),
        amount: voucher.amount,
        signature: voucher.signature,
    }
}

/// A claim of the largest encoding (every amount and signature byte set) on a
/// fresh channel: of the creator whose earnings account is `earnings`, else
/// of a creator of its own (the worst case for packing).
pub(crate) fn largest_claim(earnings: Option<Pubkey>) -> VoucherClaim {
    VoucherClaim {
        channel: Pubkey::new_unique(),
        creator_earnings: earnings.unwrap_or_else(Pubkey::new_unique),
        fee_earnings: None,
        amount: u64::MAX,
        signature: [0xff; 64],
    }
}

impl Planner {
    /// The instructions of a legacy claim transaction: compute budget (when
    /// it buys something), then the claim.
    pub(super) fn legacy_instructions(&self, claims: &[VoucherClaim]) -> Vec<Instruction> {
        let mut ixs = self.config.fees.budget_instructions(claims.len());
        ixs.push(mix::claim(claims));
        ixs
    }

    /// The v1 message of a claim: the claim alone, with the compute limit
    /// and the priority fee of the fee model in the message's config.
    pub(super) fn v1_message(
        &self,
        claims: &[VoucherClaim],
        payer: &Pubkey,
        blockhash: &Hash,
    ) -> Result<solana_message_v1::v1::Message> {
        let fees = &self.config.fees;
        v1::message(
            &[mix::claim(claims)],
            payer,
            blockhash,
            fees.compute_limit(claims.len()),
            fees.priority_fee(claims.len()),
        )
    }

    /// Serialized size and account count of a claim transaction in the
    /// configured format (`usize::MAX` when it cannot be built).
    pub(super) fn measure(&self, claims: &[VoucherClaim], payer: &Pubkey) -> (usize, usize) {
        match self.config.format {
            TxFormat::Legacy => {
                let ixs = self.legacy_instructions(claims);
                let message = solana_sdk::message::Message::new_with_blockhash(
                    &ixs,
                    Some(payer),
                    &Hash::default(),
                );
                let tx = Transaction::new_unsigned(message);
                let size = bincode::serialized_size(&tx).map_or(usize::MAX, |s| s as usize);
                (size, tx.message.account_keys.len())
            }
            TxFormat::V1 => match self.v1_message(claims, payer, &Hash::default()) {
                Ok(m) => (v1::transaction_size(&m), m.account_keys.len()),
                Err(_) => (usize::MAX, usize::MAX),
            },
        }
    }

    pub(super) fn fits(&self, claims: &[VoucherClaim], payer: &Pubkey) -> Option<usize> {
        let (size, accounts) = self.measure(claims, payer);
        let compute = u64::from(self.config.fees.compute_limit(claims.len()));
        (size <= self.config.format.max_size()
            && accounts <= MAX_ACCOUNTS
            && compute < u64::from(MAX_COMPUTE_UNITS)
            && claims.len() <= usize::from(micropay::constants::MAX_VOUCHERS_PER_CLAIM))
        .then_some(size)
    }

    /// How many vouchers fit one transaction of the configured format, for
    /// distinct channels each with its own creator (the worst case).
    pub fn capacity(&self, fee_payer: &Pubkey) -> usize {
        self.capacity_of(fee_payer, None)
    }

    /// How many vouchers of channels of one creator (one shared earnings
    /// account) fit one transaction of the configured format.
    pub fn capacity_one_creator(&self, fee_payer: &Pubkey) -> usize {
        self.capacity_of(fee_payer, Some(Pubkey::new_unique()))
    }

    pub(super) fn capacity_of(&self, fee_payer: &Pubkey, earnings: Option<Pubkey>) -> usize {
        let mut claims = Vec::new();
        loop {
            claims.push(largest_claim(earnings));
            if self.fits(&claims, fee_payer).is_none() {
                return claims.len().saturating_sub(1).max(1);
            }
        }
    }
    /// Step 2 (pure): what to claim now, in which transactions.
    pub fn plan(&self, recon: &Reconciliation, fee_payer: &Pubkey) -> Plan {
        let now = recon.now;
        let margin = self.config.expiry_margin_secs;
        let mut plan = Plan {
            create_earnings: recon.missing_earnings.clone(),
            ..Plan::default()
        };
        // A voucher is worth claiming when its value pays for its share of a
        // full transaction at the target: value·ppm·full ≥ fee(full)·10⁶.
        let full = self.capacity(fee_payer);
        let full_fee = u128::from(self.config.fees.transaction_fee(full));
        let ppm = u128::from(self.config.max_fee_ppm);
        let mut eligible: Vec<(u64, bool, &Candidate)> = Vec::new();
        for c in &recon.candidates {
            let Some(value) = self.config.value(&c.channel.mint) else {
                plan.quarantine.push(Quarantined {
                    channel: c.claim.channel,
                    amount: c.record.voucher.amount,
                    reason: format!(
                        "no lamport value for mint {}: accept the mint with its value (micropay claim --unit-lamports)",
                        c.channel.mint
                    ),
                });
                continue;
            };
            let lamports = value.lamports_of(c.value);
            let urgent = c.urgent(now, margin);
            let pays_its_share = u128::from(lamports)
                .saturating_mul(ppm)
                .saturating_mul(full as u128)
                >= full_fee.saturating_mul(u128::from(PPM));
            if urgent || pays_its_share {
                eligible.push((lamports, urgent, c));
            } else {
                plan.deferred.push(c.claim.channel);
            }
        }
        // Urgent first (earliest deadline first); then by group — channels
        // paying the same creator and fee recipient share their earnings
        // accounts, so a group packs the most vouchers per transaction —
        // most valuable group first, most valuable voucher first within it.
        let group = |c: &Candidate| (c.claim.creator_earnings, c.claim.fee_earnings);
        let mut group_value: HashMap<(Pubkey, Option<Pubkey>), u64> = HashMap::new();
        for (lamports, _, c) in &eligible {
            let total = group_value.entry(group(c)).or_default();
            *total = total.saturating_add(*lamports);
        }
        let value_of = |c: &Candidate| group_value.get(&group(c)).copied().unwrap_or(0);
        eligible.sort_by(|(a_value, a_urgent, a), (b_value, b_urgent, b)| {
            b_urgent
                .cmp(a_urgent)
                .then_with(|| {
                    if *a_urgent {
                        a.deadline().cmp(&b.deadline())
                    } else {
                        std::cmp::Ordering::Equal
                    }
                })
                .then(value_of(b).cmp(&value_of(a)))
                .then(group(a).cmp(&group(b)))
                .then(b_value.cmp(a_value))
        });

        let mut batches: Vec<Vec<(u64, bool, &Candidate)>> = Vec::new();
        let mut current: Vec<(u64, bool, &Candidate)> = Vec::new();
        for entry in eligible {
            let mut trial: Vec<VoucherClaim> =
                current.iter().map(|(_, _, c)| c.claim.clone()).collect();
            trial.push(entry.2.claim.clone());
            if self.fits(&trial, fee_payer).is_none() && !current.is_empty() {
                batches.push(std::mem::take(&mut current));
            }
            current.push(entry);
        }
        if !current.is_empty() {
            batches.push(current);
        }
        for batch in batches {
            let claims: Vec<VoucherClaim> = batch.iter().map(|(_, _, c)| c.claim.clone()).collect();
            let Some(size) = self.fits(&claims, fee_payer) else {
                // one voucher alone does not fit: cannot be settled this way
                for (_, _, c) in batch {
                    plan.quarantine.push(Quarantined {
                        channel: c.claim.channel,
                        amount: c.record.voucher.amount,
                        reason: "its claim does not fit one transaction".into(),
                    });
                }
                continue;
            };
            let fee = self.config.fees.transaction_fee(claims.len());
            let value_lamports = batch
                .iter()
                .fold(0u64, |sum, (l, _, _)| sum.saturating_add(*l));
            let urgent = batch.iter().any(|(_, u, _)| *u);
            let within_target = u128::from(fee).saturating_mul(u128::from(PPM))
                <= ppm.saturating_mul(u128::from(value_lamports));
            if !urgent && !within_target {
                plan.deferred.extend(claims.iter().map(|c| c.channel));
                continue;
            }
            plan.batches.push(Batch {
                claims: batch.into_iter().map(|(_, _, c)| c.clone()).collect(),
                fee,
                value_lamports,
                size,
                urgent,
            });
        }
        plan
    }
}
