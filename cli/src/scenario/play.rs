//! The story's payments: each from a random open payer to a random creator
//! at a random price, accepted by the creator's receiver; halfway, some
//! payers ask to close (the planner must claim before the dispute window
//! ends) and one late payment on a closing channel must be refused; the
//! relayer runs the planner every `claim_every` payments, and at the end
//! every payer closes and everything is settled before the window ends.

use super::{
    cast::{Cast, SimPayer, World},
    ScenarioError, TimeControl,
};
use micropay_client::{
    error::Result,
    planner::{Execution, Planner, PlannerConfig},
    receiver::gross_for_net,
    store::{AsyncStore, ClaimStatus},
};
use rand::{rngs::StdRng, Rng};

/// The relayer's side: the planner, what it did, and the clock.
pub(super) struct Stage<'w, 'a> {
    world: &'w World<'a>,
    planner: Planner,
    time: &'w dyn TimeControl,
    /// Every claim the planner made.
    pub(super) total: Execution,
}

impl<'w, 'a> Stage<'w, 'a> {
    pub(super) fn new(
        world: &'w World<'a>,
        cast: &Cast,
        max_fee_ppm: u64,
        time: &'w dyn TimeControl,
    ) -> Self {
        let planner = Planner::new(PlannerConfig {
            max_fee_ppm,
            format: world.config.format,
            ..PlannerConfig::for_mints(&cast.receiver_config.mints)
        });
        Stage {
            world,
            planner,
            time,
            total: Execution::default(),
        }
    }

    /// One planner run over the receivers' store.
    async fn claim(&mut self, cast: &Cast) -> Result<()> {
        let (_, e) = self
            .planner
            .run(
                self.world.l(),
                &cast.store.clone().into(),
                self.world.funder,
            )
            .await?;
        accumulate(&mut self.total, e);
        Ok(())
    }

    /// Streams the configured payments; the number refused (the one late
    /// attempt on a closing channel).
    pub(super) async fn payments(
        &mut self,
        cast: &mut Cast,
        rng: &mut StdRng,
        on_payment: &(dyn Fn(usize) + Send + Sync),
    ) -> Result<usize, ScenarioError> {
        let config = self.world.config;
        let claim_every = config.claim_every.max(1);
        let closing = config.closing_payers.min(config.payers.saturating_sub(1));
        let mut refused = 0usize;
        for i in 0..config.payments {
            let midway = i == config.payments / 2 && closing > 0;
            if midway {
                self.payers_leave(cast, closing).await?;
            }
            // payers that closed stop paying; one last attempt shows the refusal
            let open: Vec<usize> = (0..config.payers)
                .filter(|p| !cast.payers[*p].closing)
                .collect();
            let p = open[rng.gen_range(0..open.len())];
            let c = rng.gen_range(0..config.creators);
            let price = rng.gen_range(config.min_price..=config.max_price);
            if midway {
                refuse_late_payment(cast, c, price).await?;
                refused = refused.saturating_add(1);
            }
            pay(cast, p, c, price).await?;
            on_payment(i.saturating_add(1));
            if i.saturating_add(1).checked_rem(claim_every) == Some(0) {
                self.claim(cast).await?;
            }
        }
        Ok(refused)
    }

    /// The first `closing` payers leave: close requests start the dispute
    /// window, the planner treats those channels as urgent and claims them,
    /// the window passes and the channels finalize.
    async fn payers_leave(&mut self, cast: &mut Cast, closing: usize) -> Result<()> {
        let l = self.world.l();
        for payer in cast.payers.iter_mut().take(closing) {
            payer.request_close_all(l).await?;
            payer.closing = true;
            for (ch, creator) in payer.channels.iter().zip(&cast.creators) {
                creator.receiver.invalidate(ch).await;
            }
        }
        self.claim(cast).await?;
        self.time
            .advance(i64::from(self.world.config.dispute_window_secs))
            .await?;
        for payer in cast.payers.iter().take(closing) {
            payer.finalize_all(l, self.world.funder).await?;
        }
        Ok(())
    }

    /// The end of the session: every remaining payer closes, the planner
    /// settles everything before the window ends, and the channels finalize.
    pub(super) async fn close_all(&mut self, cast: &Cast) -> Result<(), ScenarioError> {
        let l = self.world.l();
        for payer in cast.payers.iter().filter(|p| !p.closing) {
            payer.request_close_all(l).await?;
        }
        self.claim(cast).await?;
        let store = AsyncStore::new(cast.store.clone());
        let left = store.list(&ClaimStatus::OPEN).await?.len();
        if left > 0 {
            return Err(ScenarioError::LeftUnclaimed { count: left });
        }
        self.time
            .advance(i64::from(self.world.config.dispute_window_secs))
            .await?;
        for payer in cast.payers.iter().filter(|p| !p.closing) {
            payer.finalize_all(l, self.world.funder).await?;
        }
        Ok(())
    }
}

/// What `payer` signs on its channel to creator `c` so that the creator
/// nets `price`: a fee channel's payer adds the dApp's share on top.
async fn gross(payer: &SimPayer, c: usize, price: u64) -> Result<u64, ScenarioError> {
    let paid = payer.payer.paid(&payer.channels[c]).await?;
    gross_for_net(paid, price, payer.fee_bps).ok_or(ScenarioError::PriceOverflow { price })
}

/// Payer `p` pays creator `c` `price` (net), and the creator's receiver
/// accepts it.
async fn pay(cast: &mut Cast, p: usize, c: usize, price: u64) -> Result<(), ScenarioError> {
    let payer = &mut cast.payers[p];
    let voucher = payer
        .payer
        .pay(&payer.channels[c], gross(payer, c, price).await?)
        .await?;
    let creator = &mut cast.creators[c];
    let payment = creator.receiver.accept(&voucher, price).await?;
    payer.paid = payer.paid.saturating_add(payment.increment);
    creator.accepted = creator.accepted.saturating_add(payment.increment);
    creator.accepted_net = creator.accepted_net.saturating_add(payment.net);
    Ok(())
}

/// The first payer, which has asked to close, tries to pay creator `c`: its
/// receiver must refuse.
async fn refuse_late_payment(cast: &Cast, c: usize, price: u64) -> Result<(), ScenarioError> {
    let late_payer = &cast.payers[0];
    let late = late_payer
        .payer
        .pay(&late_payer.channels[c], gross(late_payer, c, price).await?)
        .await?;
    if cast.creators[c].receiver.accept(&late, price).await.is_ok() {
        return Err(ScenarioError::ClosingChannelAccepted {
            channel: late_payer.channels[c],
        });
    }
    Ok(())
}

/// Adds one planner run's execution to the story's.
fn accumulate(total: &mut Execution, e: Execution) {
    total.transactions = total.transactions.saturating_add(e.transactions);
    total.vouchers_settled = total.vouchers_settled.saturating_add(e.vouchers_settled);
    total.vouchers_skipped = total.vouchers_skipped.saturating_add(e.vouchers_skipped);
    total.fees = total.fees.saturating_add(e.fees);
    total.settled_amount = total.settled_amount.saturating_add(e.settled_amount);
    total.settled.extend(e.settled);
    total.quarantined.extend(e.quarantined);
    total.lost.extend(e.lost);
    total.bisections = total.bisections.saturating_add(e.bisections);
    total.earnings_created = total.earnings_created.saturating_add(e.earnings_created);
}
