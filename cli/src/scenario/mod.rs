//! The whole micropay story on any ledger, as one call: payers fund escrows and
//! open channels with session keys (a dApp fee share on some), stream payments
//! of random prices to creators through `Payer` → `Receiver`, a relayer runs
//! the planner to claim in batches, some payers request close midway (so the
//! planner must claim before the dispute window ends), everything closes, and
//! creators and the dApp withdraw their earnings.
//!
//! It is what `micropay demo` runs and what the end-to-end tests check, on the
//! embedded bank and through RPC against the local node. The report carries
//! every number and every address, so a caller can verify it on chain.

use anchor_lang::prelude::Pubkey;
use anchor_lang::Space;
use anchor_spl::token::spl_token;
use micropay::{events::SettledVoucher, instructions::OpenChannelArgs, state::Channel};
use micropay_client::{
    accounts,
    error::{ClientError, Result},
    ledger::Ledger,
    payer::Payer,
    planner::{ppm_from_ratio, Execution, Planner, PlannerConfig, UnitValue},
    receiver::{gross_for_net, AcceptedMint, FeePolicy, Receiver, ReceiverConfig},
    store::{ClaimStatus, PayerStore, ReceiverStore, SqliteStore},
    tokens,
    v1::TxFormat,
};
use micropay_sdk::{instructions as mix, pda};
use rand::{rngs::StdRng, Rng, SeedableRng};
use solana_sdk::signature::{Keypair, Signer};
use std::sync::Arc;

/// Why the scenario could not run, or found its own promise broken.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    /// The configuration cannot make a story.
    #[error("need at least one payer and one creator, and 0 < min price ({min_price}) <= max price ({max_price})")]
    Shape {
        /// The smallest price asked, base units.
        min_price: u64,
        /// The largest price asked, base units.
        max_price: u64,
    },
    /// The fee target is outside (0, 1].
    #[error("the target fee ratio must be above 0 and at most 1, not {0}")]
    FeeRatio(f64),
    /// A price grossed up for the fee share overflows.
    #[error("a price of {price} base units overflows once grossed up for the fee share")]
    PriceOverflow {
        /// The price, base units.
        price: u64,
    },
    /// A receiver accepted a payment on a channel whose payer asked to close.
    #[error("channel {channel}: a closing channel accepted a payment")]
    ClosingChannelAccepted {
        /// The channel.
        channel: Pubkey,
    },
    /// Vouchers were still open after the closing claims.
    #[error("{count} voucher(s) left unclaimed after the channels closed")]
    LeftUnclaimed {
        /// How many.
        count: usize,
    },
    /// Accepted value was lost to a close.
    #[error("{amount} base units accepted on channel {channel} were lost: the channel closed before its voucher was claimed")]
    Lost {
        /// The channel.
        channel: Pubkey,
        /// Base units lost.
        amount: u64,
    },
    /// The split's shares cannot be encoded, or its owners and remainder
    /// do not add up to what its receiver counted.
    #[error("the split's owners and remainder do not add up to what its receiver counted (or its shares cannot be encoded)")]
    SplitShares,
    /// A split owner did not get its share.
    #[error("split owner {owner} withdrew {withdrawn} base units, not its share {share}")]
    SplitShare {
        owner: Pubkey,
        withdrawn: u64,
        share: u64,
    },
    /// The client failed.
    #[error(transparent)]
    Client(#[from] ClientError),
}

impl From<micropay_sdk::SdkError> for ScenarioError {
    fn from(e: micropay_sdk::SdkError) -> Self {
        ScenarioError::Client(e.into())
    }
}

/// Moves a ledger's clock (the embedded bank, or a local node's cheatcode).
#[async_trait::async_trait]
pub trait TimeControl: Send + Sync {
    async fn advance(&self, secs: i64) -> Result<()>;
}

/// Which token the scenario pays in.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ScenarioMint {
    /// SOL as wrapped SOL: one base unit is one lamport.
    WrappedSol,
    /// A new SPL Token mint; `value` says what its base units are worth in
    /// lamports (for the fee ratio), exactly.
    NewToken { decimals: u8, value: UnitValue },
}

#[derive(Clone, Debug)]
pub struct ScenarioConfig {
    pub payers: usize,
    pub creators: usize,
    pub payments: usize,
    /// Price range of one use, base units (inclusive).
    pub min_price: u64,
    pub max_price: u64,
    pub target_fee_ratio: f64,
    pub seed: u64,
    pub mint: ScenarioMint,
    /// dApp fee share on the channels of every other payer.
    pub dapp_fee_bps: u16,
    /// Payers that request close halfway through.
    pub closing_payers: usize,
    /// The relayer runs the planner every this many payments.
    pub claim_every: usize,
    pub dispute_window_secs: u32,
    /// The claim transactions' format (v1 needs a ledger that takes it).
    pub format: TxFormat,
    /// The first creator is a royalty split of three owners with these
    /// shares (basis points summing to 10,000) instead of one wallet.
    pub split: Option<[u16; 3]>,
}

impl Default for ScenarioConfig {
    fn default() -> Self {
        ScenarioConfig {
            payers: 3,
            creators: 4,
            payments: 10_000,
            min_price: 1_000,
            max_price: 20_000,
            target_fee_ratio: 0.01,
            seed: 1,
            mint: ScenarioMint::WrappedSol,
            dapp_fee_bps: 250,
            closing_payers: 1,
            claim_every: 1_000,
            dispute_window_secs: 900,
            format: TxFormat::Legacy,
            split: None,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct PayerOutcome {
    pub owner: Pubkey,
    pub escrow: Pubkey,
    pub deposited: u64,
    /// Sum of the payments receivers accepted from this payer.
    pub paid: u64,
    pub escrow_balance: u64,
    pub channels: Vec<Pubkey>,
}

/// One owner of a split creator, after the split distributed and the owner
/// withdrew.
#[derive(Clone, Debug, PartialEq)]
pub struct SplitOwnerOutcome {
    pub owner: Pubkey,
    pub bps: u16,
    /// Token account it withdrew to, and the amount.
    pub withdrawn_to: Pubkey,
    pub withdrawn: u64,
}

/// A creator that is a royalty split.
#[derive(Clone, Debug, PartialEq)]
pub struct SplitOutcome {
    pub owners: Vec<SplitOwnerOutcome>,
    /// Left in the split's earnings: the rounding remainder (less than one
    /// base unit per owner), waiting for more.
    pub remainder: u64,
}

#[derive(Clone, Debug, PartialEq)]
pub struct CreatorOutcome {
    pub wallet: Pubkey,
    /// Sum of the payments this creator's receiver accepted (gross: creator
    /// and fee shares).
    pub accepted: u64,
    /// The creator's part of `accepted` (net of fee shares), as its receiver
    /// counted it: what the creator must be able to withdraw, to the unit.
    pub accepted_net: u64,
    /// Token account the earnings were withdrawn to, and its balance (for
    /// a split: the first owner's, and the sum its owners withdrew).
    pub withdrawn_to: Pubkey,
    pub withdrawn: u64,
    /// The owners' outcomes when this creator is a split.
    pub split: Option<SplitOutcome>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ScenarioReport {
    pub mint: Pubkey,
    pub payments: usize,
    /// Payments refused: one attempt on a closing channel, to show it.
    pub refused: usize,
    /// Base units paid (accepted by receivers).
    pub value_paid: u64,
    pub claim_transactions: usize,
    pub vouchers_settled: usize,
    pub vouchers_skipped: usize,
    pub fees_lamports: u64,
    pub fee_per_payment_lamports: f64,
    /// Claim fees over the value paid (both in lamports).
    pub fee_ratio: f64,
    /// The same payments settled one transfer (one signature) each.
    pub per_payment_fees_lamports: u64,
    /// Deposits not found in escrows, creators' or the dApp's withdrawals.
    pub unaccounted: i128,
    pub payers: Vec<PayerOutcome>,
    pub creators: Vec<CreatorOutcome>,
    pub dapp: Pubkey,
    pub dapp_fee_bps: u16,
    pub dapp_withdrawn: u64,
    pub dapp_withdrawn_to: Pubkey,
    /// Every voucher the claims settled, as the program reported it.
    pub settled: Vec<SettledVoucher>,
    /// Base units accepted but lost because a channel closed before its
    /// voucher was claimed (the planner's job is to keep this 0).
    pub lost: u64,
    /// Vouchers the planner had to set aside.
    pub quarantined: usize,
}

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

/// Who a creator's channels pay: a wallet, or a split of several owners.
struct Payee {
    address: Pubkey,
    /// The wallet(s) that withdraw, with their shares.
    owners: Vec<(Keypair, u16)>,
    is_split: bool,
}

impl Payee {
    fn wallet() -> Self {
        let wallet = Keypair::new();
        Payee {
            address: wallet.pubkey(),
            owners: vec![(wallet, 10_000)],
            is_split: false,
        }
    }

    /// A split of three new owners with `shares`, their earnings accounts
    /// created first (the program requires them), paid by `funder`.
    async fn split(
        l: &dyn Ledger,
        funder: &Keypair,
        mint: Pubkey,
        shares: [u16; 3],
    ) -> Result<Self, ScenarioError> {
        let owners: Vec<(Keypair, u16)> = shares.iter().map(|b| (Keypair::new(), *b)).collect();
        let mut ixs: Vec<_> = owners
            .iter()
            .map(|(k, _)| {
                mix::InitEarnings {
                    payer: funder.pubkey(),
                    owner: k.pubkey(),
                    mint,
                }
                .instruction()
            })
            .collect();
        let create = mix::CreateSplit {
            payer: funder.pubkey(),
            mint,
            recipients: owners
                .iter()
                .map(|(k, bps)| micropay::state::SplitRecipient {
                    owner: k.pubkey(),
                    bps: *bps,
                })
                .collect(),
        };
        let (ix, address) = create.instruction().ok_or(ScenarioError::SplitShares)?;
        ixs.push(ix);
        l.send(&ixs, funder, &[]).await?;
        // the program's order: ascending by owner
        let mut owners = owners;
        owners.sort_by_key(|(k, _)| k.pubkey());
        Ok(Payee {
            address,
            owners,
            is_split: true,
        })
    }
}

struct SimPayer {
    owner: Keypair,
    escrow: Pubkey,
    payer: Payer,
    channels: Vec<Pubkey>,
    paid: u64,
    closing: bool,
    /// dApp fee share of this payer's channels.
    fee_bps: u16,
}

/// Most channels one close transaction handles. Each adds a channel key and
/// an instruction (about 50 bytes) and two entries to the instruction trace
/// (the instruction and its event CPI, of at most 64): ten stay well inside
/// 1,232 bytes and the trace limit.
const CHANNELS_PER_CLOSE_TRANSACTION: usize = 10;

impl SimPayer {
    /// Asks to close every channel of this payer, in as few transactions as
    /// the limits allow.
    async fn request_close_all(&self, l: &dyn Ledger) -> Result<()> {
        for chunk in self.channels.chunks(CHANNELS_PER_CLOSE_TRANSACTION) {
            let ixs: Vec<_> = chunk
                .iter()
                .map(|ch| {
                    mix::RequestClose {
                        owner: self.owner.pubkey(),
                        escrow: self.escrow,
                        channel: *ch,
                    }
                    .instruction()
                })
                .collect();
            l.send(&ixs, &self.owner, &[]).await?;
        }
        Ok(())
    }

    /// Finalizes every channel of this payer, paid by `relayer`.
    async fn finalize_all(&self, l: &dyn Ledger, relayer: &Keypair) -> Result<()> {
        for chunk in self.channels.chunks(CHANNELS_PER_CLOSE_TRANSACTION) {
            let ixs: Vec<_> = chunk
                .iter()
                .map(|ch| {
                    mix::FinalizeClose {
                        escrow: self.escrow,
                        channel: *ch,
                        owner: self.owner.pubkey(),
                    }
                    .instruction()
                })
                .collect();
            l.send(&ixs, relayer, &[]).await?;
        }
        Ok(())
    }
}

/// Runs the story. `funder` pays for everything set up and relays claims;
/// `on_payment` is called after each payment with the number done.
pub async fn run(
    ledger: Arc<dyn Ledger>,
    time: &dyn TimeControl,
    funder: &Keypair,
    config: &ScenarioConfig,
    on_payment: &(dyn Fn(usize) + Send + Sync),
) -> Result<ScenarioReport, ScenarioError> {
    if config.payers == 0
        || config.creators == 0
        || config.min_price == 0
        || config.min_price > config.max_price
    {
        return Err(ScenarioError::Shape {
            min_price: config.min_price,
            max_price: config.max_price,
        });
    }
    let l = ledger.as_ref();
    let mut rng = StdRng::seed_from_u64(config.seed);
    let token_program = spl_token::ID;

    // Budget: every payer can afford its share of the payments at the top price.
    let per_payer = u64::try_from(config.payments)
        .unwrap_or(u64::MAX)
        .saturating_mul(config.max_price)
        .checked_div(u64::try_from(config.payers).unwrap_or(1))
        .unwrap_or(0);
    let allocation = per_payer.saturating_add(config.max_price);
    let deposit = allocation.saturating_mul(u64::try_from(config.creators).unwrap_or(1));

    let max_fee_ppm = ppm_from_ratio(config.target_fee_ratio)
        .ok_or(ScenarioError::FeeRatio(config.target_fee_ratio))?;
    let (mint, value) = match config.mint {
        ScenarioMint::WrappedSol => (spl_token::native_mint::ID, UnitValue::LAMPORT),
        ScenarioMint::NewToken { decimals, value } => (
            tokens::create_mint(l, funder, &funder.pubkey(), &token_program, decimals).await?,
            value,
        ),
    };

    // Payers: a wallet, a funded token account, an escrow with the deposit.
    let mut payers = Vec::with_capacity(config.payers);
    for _ in 0..config.payers {
        let owner = Keypair::new();
        let sol_needed = if mint == spl_token::native_mint::ID {
            deposit
        } else {
            0
        };
        // the rent of one channel per creator, plus fees and token accounts
        let channel_rent = solana_sdk::rent::Rent::default()
            .minimum_balance(8usize.saturating_add(Channel::INIT_SPACE));
        let rent = channel_rent.saturating_mul(u64::try_from(config.creators).unwrap_or(u64::MAX));
        let ix = solana_system_interface::instruction::transfer(
            &funder.pubkey(),
            &owner.pubkey(),
            sol_needed.saturating_add(rent).saturating_add(100_000_000),
        );
        l.send(&[ix], funder, &[]).await?;
        let account =
            tokens::create_token_account(l, &owner, &mint, &owner.pubkey(), &token_program).await?;
        let escrow = pda::escrow(&owner.pubkey(), &mint).0;
        let mut ixs = if mint == spl_token::native_mint::ID {
            micropay_sdk::tokens::WrapSol {
                from: owner.pubkey(),
                account,
                lamports: deposit,
            }
            .instructions()?
        } else {
            tokens::mint_to(l, funder, funder, &mint, &account, &token_program, deposit).await?;
            Vec::new()
        };
        ixs.push(
            mix::InitEscrow {
                owner: owner.pubkey(),
                mint,
                token_program,
            }
            .instruction(),
        );
        ixs.push(
            mix::Deposit {
                depositor: owner.pubkey(),
                escrow,
                mint,
                source: account,
                token_program,
                amount: deposit,
            }
            .instruction(),
        );
        l.send(&ixs, &owner, &[]).await?;
        let store: Arc<dyn PayerStore> = Arc::new(SqliteStore::in_memory()?);
        payers.push(SimPayer {
            owner,
            escrow,
            payer: Payer::new(store),
            channels: Vec::new(),
            paid: 0,
            closing: false,
            fee_bps: 0,
        });
    }

    // Creators and the dApp: earnings accounts, created by the relayer. One
    // receiver store serves every creator (a metering service), so the
    // planner batches across creators.
    let receiver_store: Arc<dyn ReceiverStore> = Arc::new(SqliteStore::in_memory()?);
    let dapp = Keypair::new();
    let receiver_config = ReceiverConfig {
        mints: vec![AcceptedMint {
            mint,
            lamports: value.lamports,
            per_units: value.per_units,
        }],
        fees: FeePolicy::default().allow(dapp.pubkey(), config.dapp_fee_bps),
        min_dispute_window_secs: config.dispute_window_secs,
        ..ReceiverConfig::default()
    };
    let mut creators = Vec::with_capacity(config.creators);
    for c in 0..config.creators {
        let payee = match config.split.filter(|_| c == 0) {
            Some(shares) => Payee::split(l, funder, mint, shares).await?,
            None => Payee::wallet(),
        };
        l.send(
            &[mix::InitEarnings {
                payer: funder.pubkey(),
                owner: payee.address,
                mint,
            }
            .instruction()],
            funder,
            &[],
        )
        .await?;
        let receiver = Receiver::new(
            ledger.clone(),
            receiver_store.clone(),
            payee.address,
            receiver_config.clone(),
        );
        creators.push((payee, receiver, 0u64, 0u64));
    }
    l.send(
        &[mix::InitEarnings {
            payer: funder.pubkey(),
            owner: dapp.pubkey(),
            mint,
        }
        .instruction()],
        funder,
        &[],
    )
    .await?;

    // Channels: every payer to every creator, each with its own session key.
    for (p, payer) in payers.iter_mut().enumerate() {
        let with_fee = p % 2 == 0 && config.dapp_fee_bps > 0;
        payer.fee_bps = if with_fee { config.dapp_fee_bps } else { 0 };
        for (payee, _, _, _) in &creators {
            let session = Keypair::new();
            let slot = pda::ChannelSlot::next(
                &accounts::escrow(l, &payer.escrow)
                    .await?
                    .ok_or(ClientError::AccountNotFound(payer.escrow))?,
            );
            let (ix, channel) = mix::OpenChannel {
                owner: payer.owner.pubkey(),
                escrow: payer.escrow,
                slot,
                args: OpenChannelArgs {
                    creator: payee.address,
                    signer: session.pubkey(),
                    allocation,
                    fee_recipient: with_fee.then(|| dapp.pubkey()),
                    fee_bps: if with_fee { config.dapp_fee_bps } else { 0 },
                    dispute_window_secs: config.dispute_window_secs,
                    expires_at: 0,
                    nonce: rng.gen(),
                },
            }
            .with_channel();
            l.send(&[ix], &payer.owner, &[]).await?;
            payer.payer.register(channel, &session, allocation)?;
            payer.channels.push(channel);
        }
    }

    let planner = Planner::new(PlannerConfig {
        max_fee_ppm,
        format: config.format,
        ..PlannerConfig::for_mints(&receiver_config.mints)
    });
    let mut total = Execution::default();
    let mut refused = 0usize;
    let claim_every = config.claim_every.max(1);
    let closing = config.closing_payers.min(config.payers.saturating_sub(1));

    for i in 0..config.payments {
        if i == config.payments / 2 && closing > 0 {
            // Some payers leave: close requests start the dispute window, and
            // the planner treats those channels as urgent.
            for payer in payers.iter_mut().take(closing) {
                payer.request_close_all(l).await?;
                payer.closing = true;
                for (ch, (_, receiver, _, _)) in payer.channels.iter().zip(&creators) {
                    receiver.invalidate(ch).await;
                }
            }
            let (_, e) = planner.run(l, receiver_store.as_ref(), funder).await?;
            accumulate(&mut total, e);
            time.advance(i64::from(config.dispute_window_secs)).await?;
            for payer in payers.iter().take(closing) {
                payer.finalize_all(l, funder).await?;
            }
        }
        // payers that closed stop paying; one last attempt shows the refusal
        let open: Vec<usize> = (0..config.payers).filter(|p| !payers[*p].closing).collect();
        let p = open[rng.gen_range(0..open.len())];
        let c = rng.gen_range(0..config.creators);
        let price = rng.gen_range(config.min_price..=config.max_price);
        // the creator prices a use at `price` net; a fee channel's payer adds
        // the dApp's share on top
        let gross = |payer: &SimPayer| -> Result<u64, ScenarioError> {
            let paid = payer.payer.paid(&payer.channels[c])?;
            gross_for_net(paid, price, payer.fee_bps).ok_or(ScenarioError::PriceOverflow { price })
        };
        if i == config.payments / 2 && closing > 0 {
            let late = payers[0]
                .payer
                .pay(&payers[0].channels[c], gross(&payers[0])?)?;
            if creators[c].1.accept(&late, price).await.is_ok() {
                return Err(ScenarioError::ClosingChannelAccepted {
                    channel: payers[0].channels[c],
                });
            }
            refused = refused.saturating_add(1);
        }
        let payer = &mut payers[p];
        let voucher = payer.payer.pay(&payer.channels[c], gross(payer)?)?;
        let payment = creators[c].1.accept(&voucher, price).await?;
        payer.paid = payer.paid.saturating_add(payment.increment);
        creators[c].2 = creators[c].2.saturating_add(payment.increment);
        creators[c].3 = creators[c].3.saturating_add(payment.net);
        on_payment(i.saturating_add(1));
        if i.saturating_add(1).checked_rem(claim_every) == Some(0) {
            let (_, e) = planner.run(l, receiver_store.as_ref(), funder).await?;
            accumulate(&mut total, e);
        }
    }

    // The end of the session: every remaining payer closes, the planner
    // settles everything before the window ends, and the channels finalize.
    for payer in payers.iter().filter(|p| !p.closing) {
        payer.request_close_all(l).await?;
    }
    let (_, e) = planner.run(l, receiver_store.as_ref(), funder).await?;
    accumulate(&mut total, e);
    let left = receiver_store.list(&ClaimStatus::OPEN)?.len();
    if left > 0 {
        return Err(ScenarioError::LeftUnclaimed { count: left });
    }
    time.advance(i64::from(config.dispute_window_secs)).await?;
    for payer in payers.iter().filter(|p| !p.closing) {
        payer.finalize_all(l, funder).await?;
    }

    // Creators and the dApp withdraw everything they earned.
    let withdraw = |owner: Keypair| async move {
        let earned = accounts::earnings(l, &pda::earnings(&owner.pubkey(), &mint).0)
            .await?
            .map_or(0, |e| e.balance);
        let dest =
            tokens::create_token_account(l, funder, &mint, &owner.pubkey(), &token_program).await?;
        if earned > 0 {
            l.send(
                &[mix::WithdrawEarnings {
                    owner: owner.pubkey(),
                    mint,
                    destination: dest,
                    token_program,
                    amount: earned,
                }
                .instruction()],
                funder,
                &[&owner],
            )
            .await?;
        }
        Ok::<_, ClientError>((dest, accounts::token_amount(l, &dest).await?))
    };
    let mut creator_outcomes = Vec::with_capacity(creators.len());
    let mut remainders = 0u64;
    for (payee, _, accepted, accepted_net) in creators {
        if !payee.is_split {
            let Some((wallet, _)) = payee.owners.into_iter().next() else {
                continue;
            };
            let (withdrawn_to, withdrawn) = withdraw(wallet).await?;
            creator_outcomes.push(CreatorOutcome {
                wallet: payee.address,
                accepted,
                accepted_net,
                withdrawn_to,
                withdrawn,
                split: None,
            });
            continue;
        }
        // a split: anyone distributes, then each owner withdraws its share
        l.send(
            &[mix::Distribute {
                split: payee.address,
                mint,
                owners: payee.owners.iter().map(|(k, _)| k.pubkey()).collect(),
            }
            .instruction()],
            funder,
            &[],
        )
        .await?;
        let mut owners = Vec::with_capacity(payee.owners.len());
        for (owner, bps) in payee.owners {
            let address = owner.pubkey();
            let (withdrawn_to, withdrawn) = withdraw(owner).await?;
            owners.push(SplitOwnerOutcome {
                owner: address,
                bps,
                withdrawn_to,
                withdrawn,
            });
        }
        let remainder = accounts::earnings(l, &pda::earnings(&payee.address, &mint).0)
            .await?
            .map_or(0, |e| e.balance);
        // the split's promise: each owner holds its share of what the
        // receiver counted net, to the base unit, and nothing is lost
        for o in &owners {
            let share = micropay::math::split_share(accepted_net, o.bps);
            if share != Some(o.withdrawn) {
                return Err(ScenarioError::SplitShare {
                    owner: o.owner,
                    withdrawn: o.withdrawn,
                    share: share.unwrap_or(0),
                });
            }
        }
        let total = owners
            .iter()
            .fold(remainder, |sum, o| sum.saturating_add(o.withdrawn));
        if total != accepted_net {
            return Err(ScenarioError::SplitShares);
        }
        remainders = remainders.saturating_add(remainder);
        creator_outcomes.push(CreatorOutcome {
            wallet: payee.address,
            accepted,
            accepted_net,
            withdrawn_to: owners.first().map_or(payee.address, |o| o.withdrawn_to),
            withdrawn: owners.iter().map(|o| o.withdrawn).sum(),
            split: Some(SplitOutcome { owners, remainder }),
        });
    }
    let dapp_pubkey = dapp.pubkey();
    let (dapp_withdrawn_to, dapp_withdrawn) = withdraw(dapp).await?;

    let mut payer_outcomes = Vec::with_capacity(payers.len());
    for payer in payers {
        let escrow_balance = accounts::escrow(l, &payer.escrow)
            .await?
            .ok_or(ClientError::AccountNotFound(payer.escrow))?
            .balance;
        payer_outcomes.push(PayerOutcome {
            owner: payer.owner.pubkey(),
            escrow: payer.escrow,
            deposited: deposit,
            paid: payer.paid,
            escrow_balance,
            channels: payer.channels,
        });
    }

    if let Some(l) = total.lost.first() {
        return Err(ScenarioError::Lost {
            channel: l.channel,
            amount: l.amount,
        });
    }
    let value_paid: u64 = creator_outcomes.iter().map(|c| c.accepted).sum();
    let deposited: i128 = payer_outcomes.iter().map(|p| i128::from(p.deposited)).sum();
    let held: i128 = payer_outcomes
        .iter()
        .map(|p| i128::from(p.escrow_balance))
        .chain(creator_outcomes.iter().map(|c| i128::from(c.withdrawn)))
        .chain(std::iter::once(i128::from(dapp_withdrawn)))
        .chain(std::iter::once(i128::from(remainders)))
        .sum();
    let value_lamports = value.lamports_of(value_paid) as f64;
    Ok(ScenarioReport {
        mint,
        payments: config.payments,
        refused,
        value_paid,
        claim_transactions: total.transactions,
        vouchers_settled: total.vouchers_settled,
        vouchers_skipped: total.vouchers_skipped,
        fees_lamports: total.fees,
        fee_per_payment_lamports: total.fees as f64 / config.payments.max(1) as f64,
        fee_ratio: if value_lamports > 0.0 {
            total.fees as f64 / value_lamports
        } else {
            0.0
        },
        per_payment_fees_lamports: u64::try_from(config.payments)
            .unwrap_or(u64::MAX)
            .saturating_mul(5_000),
        unaccounted: deposited.saturating_sub(held),
        payers: payer_outcomes,
        creators: creator_outcomes,
        dapp: dapp_pubkey,
        dapp_fee_bps: config.dapp_fee_bps,
        dapp_withdrawn,
        dapp_withdrawn_to,
        settled: total.settled,
        lost: total
            .lost
            .iter()
            .fold(0u64, |sum, l| sum.saturating_add(l.amount)),
        quarantined: total.quarantined.len(),
    })
}

#[async_trait::async_trait]
impl TimeControl for micropay_client::ledger::embedded::EmbeddedLedger {
    async fn advance(&self, secs: i64) -> Result<()> {
        self.advance_time(secs).await
    }
}

/// Time on an RPC cluster: surfpool's `surfnet_timeTravel` cheatcode where the
/// node has it (the local node), otherwise real waiting.
pub struct RpcTimeControl {
    ledger: micropay_client::ledger::rpc::RpcLedger,
}

impl RpcTimeControl {
    pub fn new(url: impl Into<String>) -> Self {
        RpcTimeControl {
            ledger: micropay_client::ledger::rpc::RpcLedger::new(
                url,
                solana_commitment_config::CommitmentConfig::confirmed(),
            ),
        }
    }
}

#[async_trait::async_trait]
impl TimeControl for RpcTimeControl {
    async fn advance(&self, secs: i64) -> Result<()> {
        let target = self.ledger.unix_timestamp().await?.saturating_add(secs);
        let travelled = self
            .ledger
            .client()
            .send::<serde_json::Value>(
                solana_rpc_client_api::request::RpcRequest::Custom {
                    method: "surfnet_timeTravel",
                },
                serde_json::json!([{ "absoluteTimestamp": target.saturating_mul(1_000) }]),
            )
            .await
            .is_ok();
        // wait until the clock the programs see has moved (really, without
        // the cheatcode)
        let polls = if travelled {
            200
        } else {
            secs.saturating_mul(4).saturating_add(40)
        };
        for _ in 0..polls {
            if self.ledger.unix_timestamp().await? >= target {
                return Ok(());
            }
            tokio::time::sleep(std::time::Duration::from_millis(250)).await;
        }
        Err(ClientError::rpc(format!(
            "the cluster clock did not reach {target}"
        )))
    }
}

/// The local node moves its clock with surfpool's time travel.
#[cfg(feature = "local-node")]
#[async_trait::async_trait]
impl TimeControl for micropay_node::LocalNode {
    async fn advance(&self, secs: i64) -> Result<()> {
        RpcTimeControl::new(self.rpc_url()).advance(secs).await
    }
}
