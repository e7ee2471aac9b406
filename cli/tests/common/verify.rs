//! Checks a demo scenario report against the chain, independently of the code
//! that produced it: shared by the embedded and the RPC end-to-end tests.
#![allow(dead_code)]

use micropay_cli::scenario::{ScenarioConfig, ScenarioReport};
use micropay_client::{accounts, ledger::Ledger};

/// The fee share of a cumulative amount (rounding down): the fee recipient of
/// a channel that paid `claimed` has received exactly this.
pub fn fee_share(claimed: u64, bps: u16) -> u64 {
    (u128::from(claimed) * u128::from(bps) / 10_000) as u64
}

pub async fn report_on_chain(l: &dyn Ledger, config: &ScenarioConfig, report: &ScenarioReport) {
    assert_eq!(report.payments, config.payments);
    assert!(report.refused < config.payments);

    // which channels carry the dApp fee: those of even-numbered payers
    let fee_channels: Vec<_> = report
        .payers
        .iter()
        .enumerate()
        .filter(|(p, _)| p % 2 == 0)
        .flat_map(|(_, payer)| payer.channels.clone())
        .collect();
    let mut fee_total = 0u64;
    let mut fee_by_creator = vec![0u64; report.creators.len()];
    let mut settled_total = 0u64;
    for s in &report.settled {
        let expected_fee = if fee_channels.contains(&s.channel) {
            fee_share(s.claimed, report.dapp_fee_bps)
                - fee_share(s.claimed - s.delta, report.dapp_fee_bps)
        } else {
            0
        };
        assert_eq!(s.fee_amount, expected_fee, "fee of {s:?}");
        assert_eq!(s.creator_amount + s.fee_amount, s.delta);
        let creator = report
            .payers
            .iter()
            .find_map(|p| p.channels.iter().position(|c| *c == s.channel))
            .expect("a scenario channel");
        fee_by_creator[creator] += s.fee_amount;
        fee_total += s.fee_amount;
        settled_total += s.delta;
    }
    // everything accepted was settled, nothing more
    assert_eq!(settled_total, report.value_paid);
    let accepted: u64 = report.creators.iter().map(|c| c.accepted).sum();
    assert_eq!(accepted, report.value_paid);

    for (c, creator) in report.creators.iter().enumerate() {
        if let Some(split) = &creator.split {
            // a split creator: each owner holds its share of the net, to the
            // base unit; the rounding remainder is in the split's earnings
            let mut total = split.remainder;
            for o in &split.owners {
                let held = accounts::token_amount(l, &o.withdrawn_to).await.unwrap();
                assert_eq!(held, o.withdrawn, "split owner {}", o.owner);
                assert_eq!(
                    Some(held),
                    micropay::math::split_share(creator.accepted_net, o.bps),
                    "split owner {}",
                    o.owner
                );
                total += held;
            }
            assert_eq!(total, creator.accepted_net, "split creator {c}");
            assert_eq!(total, creator.accepted - fee_by_creator[c]);
            let split_earnings = micropay_sdk::pda::earnings(&creator.wallet, &report.mint).0;
            let left = accounts::earnings(l, &split_earnings)
                .await
                .unwrap()
                .unwrap();
            assert_eq!(left.balance, split.remainder);
            assert!(split.remainder < split.owners.len() as u64);
            continue;
        }
        let on_chain = accounts::token_amount(l, &creator.withdrawn_to)
            .await
            .unwrap();
        assert_eq!(on_chain, creator.withdrawn);
        assert_eq!(
            on_chain,
            creator.accepted - fee_by_creator[c],
            "creator {c}"
        );
        // the receiver's contract: what it counted net is what the creator holds
        assert_eq!(on_chain, creator.accepted_net, "creator {c} net");
    }
    assert_eq!(
        accounts::token_amount(l, &report.dapp_withdrawn_to)
            .await
            .unwrap(),
        fee_total
    );
    assert_eq!(report.dapp_withdrawn, fee_total);

    let paid: u64 = report.payers.iter().map(|p| p.paid).sum();
    assert_eq!(paid, report.value_paid);
    for payer in &report.payers {
        let escrow = accounts::escrow(l, &payer.escrow).await.unwrap().unwrap();
        assert_eq!(escrow.balance, payer.deposited - payer.paid);
        assert_eq!(escrow.balance, payer.escrow_balance);
        assert_eq!(escrow.open_channels, 0);
        for channel in &payer.channels {
            assert!(
                accounts::channel(l, channel).await.unwrap().is_none(),
                "channel {channel} closed"
            );
        }
    }
    assert_eq!(report.unaccounted, 0);
    assert_eq!((report.lost, report.quarantined), (0, 0));

    // fees: one 5,000-lamport signature per claim transaction, below target
    assert!(report.claim_transactions > 0);
    assert_eq!(
        report.fees_lamports,
        5_000 * report.claim_transactions as u64
    );
    assert!(
        report.claim_transactions * 100 <= config.payments,
        "{} claim transactions",
        report.claim_transactions
    );
    assert!(
        report.fee_ratio <= config.target_fee_ratio,
        "fee ratio {}",
        report.fee_ratio
    );
    assert!(report.fees_lamports < report.per_payment_fees_lamports);
}
