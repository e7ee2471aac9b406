//! End to end on the embedded ledger: 3 payers, 4 creators, 10,000 payments of
//! random prices through payer → receiver → store → planner → claim →
//! withdraw earnings, with exact conservation at the end.
#![allow(clippy::arithmetic_side_effects)] // test bookkeeping on small numbers

use anchor_spl::token::spl_token;
use micropay_client::{
    accounts, instructions as mix,
    ledger::{embedded::EmbeddedLedger, Ledger},
    micropay::instructions::OpenChannelArgs,
    payer::Payer,
    pda,
    planner::{Execution, Planner, PlannerConfig},
    receiver::{Acceptance, Receiver, ReceiverConfig, Rejection},
    store::{SqliteStore, VoucherStore},
    tokens, ClientError,
};
use rand::{rngs::StdRng, Rng, SeedableRng};
use solana_sdk::{
    pubkey::Pubkey,
    signature::{Keypair, Signer},
};
use std::sync::Arc;

const PAYERS: usize = 3;
const CREATORS: usize = 4;
const PAYMENTS: usize = 10_000;
const DEPOSIT: u64 = 5_000_000_000; // 5 SOL each
const ALLOCATION: u64 = 1_000_000_000; // 1 SOL per channel
const FEE_BPS: u16 = 250; // the dApp's share on payer 0's channels
const WINDOW: u32 = 600;

fn add(total: &mut Execution, e: Execution) {
    total.transactions += e.transactions;
    total.vouchers_settled += e.vouchers_settled;
    total.vouchers_skipped += e.vouchers_skipped;
    total.fees += e.fees;
    total.settled_amount += e.settled_amount;
    total.settled.extend(e.settled);
}

#[tokio::test]
async fn ten_thousand_payments_settle_exactly_with_fees_below_target() {
    let ledger = Arc::new(EmbeddedLedger::start().await);
    let l: &dyn Ledger = ledger.as_ref();
    let sol = spl_token::native_mint::ID;
    let relayer = Keypair::new();
    ledger
        .airdrop(&relayer.pubkey(), 1_000_000_000)
        .await
        .unwrap();

    // payers: wallet, wSOL account, escrow with DEPOSIT
    let mut payers = Vec::new();
    for _ in 0..PAYERS {
        let owner = Keypair::new();
        ledger
            .airdrop(&owner.pubkey(), DEPOSIT + 1_000_000_000)
            .await
            .unwrap();
        let wsol = tokens::create_token_account(l, &owner, &sol, &owner.pubkey(), &spl_token::ID)
            .await
            .unwrap();
        let escrow = pda::escrow(&owner.pubkey(), &sol).0;
        let mut ixs = tokens::wrap_sol_ixs(&owner.pubkey(), &wsol, DEPOSIT).unwrap();
        ixs.push(mix::init_escrow(&owner.pubkey(), &sol, &spl_token::ID));
        ixs.push(mix::deposit(
            &owner.pubkey(),
            &escrow,
            &sol,
            &wsol,
            &spl_token::ID,
            DEPOSIT,
        ));
        ledger.send(&ixs, &owner, &[]).await.unwrap();
        let store: Arc<dyn VoucherStore> = Arc::new(SqliteStore::in_memory().unwrap());
        payers.push((owner, escrow, Payer::new(store)));
    }
    // creators and the dApp: earnings accounts (created by the relayer)
    let dapp = Keypair::new();
    let mut creators = Vec::new();
    for _ in 0..CREATORS {
        let wallet = Keypair::new();
        ledger.airdrop(&wallet.pubkey(), 100_000_000).await.unwrap();
        ledger
            .send(
                &[mix::init_earnings(
                    &relayer.pubkey(),
                    &wallet.pubkey(),
                    &sol,
                )],
                &relayer,
                &[],
            )
            .await
            .unwrap();
        let store: Arc<dyn VoucherStore> = Arc::new(SqliteStore::in_memory().unwrap());
        let receiver = Receiver::new(
            ledger.clone(),
            store.clone(),
            wallet.pubkey(),
            ReceiverConfig::default(),
        );
        creators.push((wallet, store, receiver));
    }
    ledger
        .send(
            &[mix::init_earnings(&relayer.pubkey(), &dapp.pubkey(), &sol)],
            &relayer,
            &[],
        )
        .await
        .unwrap();

    // one channel per payer and creator, each with its own session key
    let mut channels = vec![vec![Pubkey::default(); CREATORS]; PAYERS];
    for (p, (owner, escrow, payer)) in payers.iter().enumerate() {
        for (c, (wallet, _, _)) in creators.iter().enumerate() {
            let session = Keypair::new();
            let id = accounts::escrow(l, escrow)
                .await
                .unwrap()
                .unwrap()
                .next_channel_id;
            let (ix, channel) = mix::open_channel(
                &owner.pubkey(),
                escrow,
                id,
                OpenChannelArgs {
                    creator: wallet.pubkey(),
                    signer: session.pubkey(),
                    allocation: ALLOCATION,
                    fee_recipient: (p == 0).then(|| dapp.pubkey()),
                    fee_bps: if p == 0 { FEE_BPS } else { 0 },
                    dispute_window_secs: WINDOW,
                    expires_at: 0,
                    nonce: rand::random(),
                },
            );
            ledger.send(&[ix], owner, &[]).await.unwrap();
            payer.register(channel, &session, ALLOCATION).unwrap();
            channels[p][c] = channel;
        }
    }

    let planner = Planner::new(PlannerConfig::default());
    let mut total = Execution::default();
    let mut accepted = vec![vec![0u64; CREATORS]; PAYERS];
    let mut rng = StdRng::seed_from_u64(2026);
    for i in 0..PAYMENTS {
        let (p, c) = (rng.gen_range(0..PAYERS), rng.gen_range(0..CREATORS));
        let price = rng.gen_range(1_000..=20_000u64);
        let voucher = payers[p].2.pay(&channels[p][c], price).unwrap();
        let outcome = creators[c].2.accept(&voucher, price).await.unwrap();
        assert_eq!(outcome, Acceptance::Paid { increment: price });
        // a retry of the same voucher is not counted twice
        if i % 1_000 == 7 {
            assert_eq!(
                creators[c].2.accept(&voucher, price).await.unwrap(),
                Acceptance::Duplicate
            );
        }
        accepted[p][c] += price;
        if (i + 1) % 1_000 == 0 {
            for (_, store, _) in &creators {
                let (_, e) = planner.run(l, store.as_ref(), &relayer).await.unwrap();
                add(&mut total, e);
            }
        }
    }
    let value: u64 = accepted.iter().flatten().sum();
    // Periodic claims alone already respect the target.
    assert!(total.transactions > 0);
    assert!((total.fees as f64) <= 0.01 * total.settled_amount as f64);

    // A lower voucher and a forged one are refused.
    let (p, c) = (1, 2);
    let stale = micropay_client::voucher::Voucher::sign(&Keypair::new(), channels[p][c], 1);
    assert!(matches!(
        creators[c].2.accept(&stale, 1).await,
        Err(ClientError::Voucher(_))
    ));

    // Payers close every channel: the planner must claim before the window ends.
    for (p, (owner, escrow, _)) in payers.iter().enumerate() {
        let ixs: Vec<_> = channels[p]
            .iter()
            .map(|ch| mix::request_close(&owner.pubkey(), escrow, ch))
            .collect();
        ledger.send(&ixs, owner, &[]).await.unwrap();
    }
    // once it sees the close request (a watcher invalidates its cache), the
    // receiver refuses new vouchers on the closing channel
    creators[c].2.invalidate(&channels[p][c]).await;
    let v = payers[p].2.pay(&channels[p][c], 5_000).unwrap();
    assert!(matches!(
        creators[c].2.accept(&v, 5_000).await,
        Err(ClientError::Rejected(Rejection::ChannelClosing(_)))
    ));
    for (_, store, _) in &creators {
        let (_, e) = planner.run(l, store.as_ref(), &relayer).await.unwrap();
        add(&mut total, e);
        assert!(
            store.claimable().unwrap().is_empty(),
            "everything claimed once channels close"
        );
    }
    ledger.advance_time(i64::from(WINDOW)).await.unwrap();
    for (p, (owner, escrow, _)) in payers.iter().enumerate() {
        let ixs: Vec<_> = channels[p]
            .iter()
            .map(|ch| mix::finalize_close(escrow, ch, &owner.pubkey()))
            .collect();
        ledger.send(&ixs, &relayer, &[]).await.unwrap();
    }

    // Withdraw all earnings into fresh wSOL accounts.
    let mut withdrawn = Vec::new();
    for owner in creators
        .iter()
        .map(|(w, _, _)| w)
        .chain(std::iter::once(&dapp))
    {
        let earned = accounts::earnings(l, &pda::earnings(&owner.pubkey(), &sol).0)
            .await
            .unwrap()
            .unwrap()
            .balance;
        let dest = tokens::create_token_account(l, &relayer, &sol, &owner.pubkey(), &spl_token::ID)
            .await
            .unwrap();
        if earned > 0 {
            ledger
                .send(
                    &[mix::withdraw_earnings(
                        &owner.pubkey(),
                        &sol,
                        &dest,
                        &spl_token::ID,
                        earned,
                    )],
                    &relayer,
                    &[owner],
                )
                .await
                .unwrap();
        }
        withdrawn.push(accounts::token_amount(l, &dest).await.unwrap());
    }

    // Exact conservation.
    let fee_share = |delta: u64| delta * u64::from(FEE_BPS) / 10_000;
    let p0_channels: Vec<Pubkey> = channels[0].clone();
    let mut expected_fee = 0u64;
    let mut fee_by_creator = [0u64; CREATORS];
    for s in &total.settled {
        if let Some(c) = p0_channels.iter().position(|ch| *ch == s.channel) {
            assert_eq!(s.fee_amount, fee_share(s.delta));
            expected_fee += s.fee_amount;
            fee_by_creator[c] += s.fee_amount;
        } else {
            assert_eq!(s.fee_amount, 0);
        }
    }
    for c in 0..CREATORS {
        let paid_to_c: u64 = (0..PAYERS).map(|p| accepted[p][c]).sum();
        assert_eq!(withdrawn[c], paid_to_c - fee_by_creator[c], "creator {c}");
    }
    assert_eq!(withdrawn[CREATORS], expected_fee, "dApp fee recipient");
    assert_eq!(total.settled_amount, value);
    for (p, (_, escrow, payer)) in payers.iter().enumerate() {
        let paid: u64 = accepted[p].iter().sum();
        assert_eq!(
            accounts::escrow(l, escrow).await.unwrap().unwrap().balance,
            DEPOSIT - paid,
            "payer {p}"
        );
        for (k, channel) in channels[p].iter().enumerate() {
            // the payer signed one voucher the closing channel refused
            let refused = if (p, k) == (1, 2) { 5_000 } else { 0 };
            assert_eq!(payer.paid(channel).unwrap(), accepted[p][k] + refused);
        }
    }
    assert_eq!(
        accounts::vault_amount(l, &sol).await.unwrap(),
        PAYERS as u64 * DEPOSIT - value
    );

    // Fees: one signature per claim transaction, and below 1% of the value.
    assert_eq!(total.fees, 5_000 * total.transactions as u64);
    assert!(total.vouchers_settled >= PAYERS * CREATORS);
    let ratio = total.fees as f64 / value as f64;
    assert!(ratio <= 0.01, "fee ratio {ratio}");
    println!(
        "{PAYMENTS} payments worth {value} lamports settled by {} claim transactions ({} vouchers) for {} lamports: ratio {ratio:.5}",
        total.transactions, total.vouchers_settled, total.fees
    );
}
