//! What the benchmarks share: funded channels on the embedded ledger,
//! vouchers signed before any clock starts, and the timed accept and pay
//! cases. A leaf: it imports no other benchmark.

use crate::Failure;
use micropay_client::{
    accounts, channels, earnings, escrow,
    ledger::{embedded::EmbeddedLedger, Ledger},
    payer::{AsyncPayer, Payer},
    receiver::{AcceptedMint, Receiver, ReceiverConfig},
    store::{ClaimStatus, ReceiverStore, SqliteStore},
    tokens::{MintRef, Source},
};
use micropay_sdk::{pda, voucher::Voucher};
use solana_sdk::{
    pubkey::Pubkey,
    signature::{Keypair, Signer},
};
use std::{sync::Arc, time::Instant};

pub(crate) const SOL: Pubkey = anchor_spl::token::spl_token::native_mint::ID;
const TOKEN: Pubkey = anchor_spl::token::spl_token::ID;
/// Lamports per use.
pub(crate) const PRICE: u64 = 1_000;
/// Payments a reserving payer reserves per store write.
pub(crate) const RESERVE_AHEAD: u64 = 64;

/// A bench client's channel and its session key.
pub(crate) struct BenchChannel {
    pub channel: Pubkey,
    pub session: Keypair,
}

/// Opens `count` wrapped-SOL channels of `allocation` lamports each to
/// `creator` on the embedded bank, each from its own funded payer, and the
/// creator's earnings account.
pub(crate) async fn open_channels(
    ledger: &EmbeddedLedger,
    creator: &Pubkey,
    count: usize,
    allocation: u64,
) -> Result<Vec<BenchChannel>, Failure> {
    let l: &dyn Ledger = ledger;
    let funder = ledger.payer().insecure_clone();
    earnings::init(l, &funder, creator, &SOL).await?;
    let sol = MintRef {
        address: SOL,
        token_program: TOKEN,
    };
    let mut channels = Vec::with_capacity(count);
    for _ in 0..count {
        // the library's steps, as a payer takes them
        let owner = Keypair::new();
        ledger
            .airdrop(&owner.pubkey(), allocation.saturating_add(100_000_000))
            .await?;
        escrow::init(l, &owner, &sol).await?;
        escrow::deposit(l, &owner, &sol, allocation, Source::WrapSol).await?;
        let escrow_address = pda::escrow(&owner.pubkey(), &SOL).0;
        let state = accounts::escrow(l, &escrow_address)
            .await?
            .ok_or_else(|| Failure::user("the escrow was not created"))?;
        let request = channels::OpenRequest {
            mint: SOL,
            creator: *creator,
            allocation,
            fee: None,
            dispute_window_secs: ReceiverConfig::default().min_dispute_window_secs,
            expires_at: 0,
            nonce: Some(0),
        };
        // the bench signs its vouchers itself, before any clock starts:
        // the session key is the one `open` derives from the wallet
        let payer = AsyncPayer::new(Payer::new(Arc::new(SqliteStore::in_memory()?)));
        let opened = channels::open(l, &payer, &owner, &state, &request).await?;
        let session = micropay_sdk::session::derive(&owner, &escrow_address, 0)
            .map_err(|e| Failure::user(format!("cannot derive the session key: {e}")))?;
        if session.pubkey() != opened.session {
            return Err(Failure::user(
                "the derived session key is not the channel's",
            ));
        }
        channels.push(BenchChannel {
            channel: opened.channel,
            session,
        });
    }
    Ok(channels)
}

/// A fresh creator with `clients` open channels and `per` vouchers signed on
/// each (amounts `PRICE`, `2 PRICE`, …), signed before any clock starts.
pub(crate) async fn signed_channels(
    ledger: &EmbeddedLedger,
    clients: usize,
    per: usize,
    allocation: u64,
) -> Result<(Pubkey, Vec<BenchChannel>, Arc<Vec<Vec<Voucher>>>), Failure> {
    let creator = Keypair::new().pubkey();
    let channels = open_channels(ledger, &creator, clients, allocation).await?;
    let vouchers = channels
        .iter()
        .map(|c| {
            (1..=per)
                .map(|n| {
                    let amount = PRICE.saturating_mul(u64::try_from(n).unwrap_or(u64::MAX));
                    Voucher::sign(&c.session, c.channel, amount)
                })
                .collect()
        })
        .collect();
    Ok((creator, channels, Arc::new(vouchers)))
}

/// Operations per second since `started`.
pub(crate) fn rate(operations: u64, started: Instant) -> f64 {
    // operation counts are far below 2^52: exact as f64
    operations as f64 / started.elapsed().as_secs_f64().max(1e-9)
}

/// One accept case: a fresh receiver on `store`, every client accepting its
/// own pre-signed vouchers concurrently.
pub(crate) async fn accept_case(
    ledger: &Arc<EmbeddedLedger>,
    creator: &Pubkey,
    store: Arc<dyn ReceiverStore>,
    group_commit: usize,
    vouchers: &Arc<Vec<Vec<Voucher>>>,
) -> Result<(u64, f64, Option<f64>), Failure> {
    let receiver = Arc::new(Receiver::new(
        ledger.clone(),
        store.clone(),
        *creator,
        ReceiverConfig {
            group_commit,
            ..ReceiverConfig::accepting([AcceptedMint::wrapped_sol()])
        },
    ));
    // warm each channel's state outside the clock (one ledger read each)
    for own in vouchers.iter() {
        if let Some(first) = own.first() {
            receiver.accept(first, PRICE).await?;
        }
    }
    let (commits_before, writes_before) = receiver.commit_stats();
    let started = Instant::now();
    let tasks: Vec<_> = (0..vouchers.len())
        .map(|i| {
            let (receiver, vouchers) = (receiver.clone(), vouchers.clone());
            tokio::spawn(async move {
                for v in vouchers[i].iter().skip(1) {
                    receiver.accept(v, PRICE).await?;
                }
                Ok::<_, micropay_client::error::ClientError>(())
            })
        })
        .collect();
    for task in tasks {
        task.await
            .map_err(|e| Failure::user(format!("an accepting task failed: {e}")))??;
    }
    let timed: u64 = vouchers
        .iter()
        .map(|v| u64::try_from(v.len().saturating_sub(1)).unwrap_or(0))
        .sum();
    let per_second = rate(timed, started);
    let (commits, writes) = receiver.commit_stats();
    let (commits, writes) = (
        commits.saturating_sub(commits_before),
        writes.saturating_sub(writes_before),
    );
    // the store holds exactly the last voucher of every channel
    let rows = store.list(&ClaimStatus::ALL)?;
    for own in vouchers.iter() {
        let Some(last) = own.last() else { continue };
        let held = rows.iter().find(|r| r.voucher.channel == last.channel);
        if held.map(|r| r.voucher) != Some(*last) {
            return Err(Failure::user(format!(
                "the store does not hold the last voucher of channel {}: an accept was lost",
                last.channel
            )));
        }
    }
    let mean_batch = (commits > 0).then(|| writes as f64 / commits as f64);
    Ok((timed, per_second, mean_batch))
}

/// `clients` tasks paying `per` times each on their own channel.
pub(crate) async fn pay_case(
    payer: &Payer,
    channels: &[Pubkey],
    per: usize,
) -> Result<(u64, f64), Failure> {
    let started = Instant::now();
    let tasks: Vec<_> = channels
        .iter()
        .map(|&channel| {
            let payer = payer.clone();
            tokio::task::spawn_blocking(move || {
                for _ in 0..per {
                    payer.pay(&channel, PRICE)?;
                }
                Ok::<_, micropay_client::error::ClientError>(())
            })
        })
        .collect();
    for task in tasks {
        task.await
            .map_err(|e| Failure::user(format!("a paying task failed: {e}")))??;
    }
    let total = u64::try_from(per.saturating_mul(channels.len())).unwrap_or(u64::MAX);
    Ok((total, rate(total, started)))
}
