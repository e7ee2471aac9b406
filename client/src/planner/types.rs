//! What the planner's steps hand each other: candidates and facts, the
//! plan, and what executing it did.

use super::*;

/// A voucher that may be claimed now.
#[derive(Clone, Debug)]
pub struct Candidate {
    /// The store's row.
    pub record: VoucherRecord,
    /// The channel as read.
    pub channel: Channel,
    /// What it settles now: `min(amount, allocation) − claimed`, base units.
    pub value: u64,
    /// The claim entry that settles the row's voucher.
    pub claim: VoucherClaim,
}

impl Candidate {
    /// Close requested, or expiring within `margin` seconds of `now`.
    pub fn urgent(&self, now: i64, margin: i64) -> bool {
        self.channel.close_requested()
            || (self.channel.expires_at != 0
                && self.channel.expires_at.saturating_sub(now) <= margin)
    }

    /// The last unix time a claim can land: the end of the dispute window
    /// after a close request, or the expiry (after which anyone may finalize).
    pub fn deadline(&self) -> Option<i64> {
        let closing = self.channel.close_requested().then(|| {
            self.channel
                .close_requested_at
                .saturating_add(i64::from(self.channel.dispute_window_secs))
        });
        let expiry = (self.channel.expires_at != 0).then_some(self.channel.expires_at);
        closing.into_iter().chain(expiry).min()
    }
}

/// A store write the chain justifies, applied with compare-and-set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fact {
    /// The channel was read at a slot.
    Seen(Sighting),
    /// The channel is gone, with the evidence.
    Closed(CloseEvidence),
}

/// Value that can no longer be collected: the channel closed first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lost {
    /// The channel that closed.
    pub channel: Pubkey,
    /// Its mint.
    pub mint: Pubkey,
    /// Its creator.
    pub creator: Pubkey,
    /// Base units of `mint`.
    pub amount: u64,
}

/// What the chain says about the store's open vouchers.
#[derive(Clone, Debug, Default)]
pub struct Reconciliation {
    /// Cluster clock, unix seconds.
    pub now: i64,
    /// Genesis hash of the cluster read.
    pub cluster: Hash,
    /// Rows with value left to claim.
    pub candidates: Vec<Candidate>,
    /// Store writes the chain justifies (not yet applied).
    pub facts: Vec<(Pubkey, Fact)>,
    /// Rows the facts will close with value lost.
    pub lost: Vec<Lost>,
    /// Vouchers fully settled already (by anyone).
    pub settled: Vec<Pubkey>,
    /// Rows seen on another cluster: left alone.
    pub other_cluster: Vec<Pubkey>,
    /// Channels absent without positive evidence (never seen, or not after
    /// the last sighting): left open, reported.
    pub unverified: Vec<Pubkey>,
    /// Quarantined vouchers found healthy again by this read are candidates;
    /// these stay quarantined (their channel is not readable as a channel).
    pub undecodable: Vec<Pubkey>,
    /// Earnings accounts `(owner, mint)` the candidates need and that do not
    /// exist: created before claiming.
    pub missing_earnings: Vec<(Pubkey, Pubkey)>,
}

/// What applying a reconciliation wrote.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Applied {
    /// Rows confirmed by what the chain shows.
    pub confirmed: usize,
    /// Rows closed on positive evidence.
    pub closed: usize,
    /// Value lost to channels that closed first.
    pub lost: Vec<Lost>,
}

/// One claim transaction.
#[derive(Clone, Debug)]
pub struct Batch {
    /// The vouchers claimed, in order.
    pub claims: Vec<Candidate>,
    /// Lamports it will cost.
    pub fee: u64,
    /// Value it settles, in lamports.
    pub value_lamports: u64,
    /// Serialized size, bytes.
    pub size: usize,
    /// Carries a voucher whose channel is closing or about to expire.
    pub urgent: bool,
}

/// A voucher set aside, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Quarantined {
    /// The channel.
    pub channel: Pubkey,
    /// The voucher's cumulative amount set aside.
    pub amount: u64,
    /// Why, in words.
    pub reason: String,
}

/// What to claim now, in which transactions (the output of [`Planner::plan`]).
#[derive(Clone, Debug, Default)]
pub struct Plan {
    /// Claim transactions, in sending order.
    pub batches: Vec<Batch>,
    /// Channels whose voucher waits for more value.
    pub deferred: Vec<Pubkey>,
    /// Vouchers that cannot be valued: set aside with the reason.
    pub quarantine: Vec<Quarantined>,
    /// Earnings accounts `(owner, mint)` to create before claiming.
    pub create_earnings: Vec<(Pubkey, Pubkey)>,
}

impl Plan {
    /// Lamports the batches cost.
    pub fn fees(&self) -> u64 {
        self.batches.iter().map(|b| b.fee).sum()
    }

    /// Vouchers the batches settle.
    pub fn vouchers(&self) -> usize {
        self.batches.iter().map(|b| b.claims.len()).sum()
    }
}

/// What executing a plan did.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Execution {
    /// Claim transactions that landed.
    pub transactions: usize,
    /// Vouchers the program settled.
    pub vouchers_settled: usize,
    /// Vouchers the program skipped (with the reason in its event).
    pub vouchers_skipped: usize,
    /// Lamports paid in fees (claims and earnings accounts' setup).
    pub fees: u64,
    /// Base units settled (creator + fee shares).
    pub settled_amount: u64,
    /// Every settled voucher as the program reported it.
    pub settled: Vec<micropay::events::SettledVoucher>,
    /// Vouchers set aside (cannot be valued or settled), with the reason.
    pub quarantined: Vec<Quarantined>,
    /// Value lost because channels closed before their vouchers were claimed.
    pub lost: Vec<Lost>,
    /// Failing batches split to find the failing vouchers.
    pub bisections: usize,
    /// Earnings accounts created so that claims can settle.
    pub earnings_created: usize,
    /// Claims whose blockhash expired before they landed (their vouchers
    /// are claimable again).
    pub expired: usize,
    /// Signatures of the claim transactions that landed, in order.
    pub signatures: Vec<Signature>,
    /// Store rows of another cluster, left alone (set by [`Planner::run`]:
    /// a store used against the wrong `-u` says so instead of claiming
    /// nothing silently).
    ///
    /// [`Planner::run`]: crate::planner::Planner::run
    pub other_cluster: usize,
}

/// What [`Planner::resume`] found of the claims left in flight.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Resumed {
    /// In-flight claims that landed.
    pub landed: usize,
    /// In-flight claims that never will (their vouchers are claimable again).
    pub dropped: usize,
}

impl Execution {
    /// Adds lost value to the report, with a `tracing` warning for each.
    pub fn add_lost(&mut self, lost: Vec<Lost>) {
        for l in &lost {
            tracing::warn!(
                channel = %l.channel, mint = %l.mint, creator = %l.creator, amount = l.amount,
                "value lost: the channel closed before its voucher was claimed"
            );
        }
        self.lost.extend(lost);
    }
}
