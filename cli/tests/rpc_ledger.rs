//! `RpcLedger` against the local node: typed program errors from simulation,
//! events from `getTransaction`, channels by creator and by escrow and escrows
//! by owner (`getProgramAccounts`), and a clear error for an unreachable node.

use anchor_spl::token::spl_token::{native_mint::ID as SOL, ID as TOKEN};
use micropay_client::{
    ledger::{rpc::RpcLedger, ChannelFilter, Ledger},
    micropay::{error::MicropayError, instructions::OpenChannelArgs},
    tokens,
    v1::{self, TxFormat},
    ClientError,
};
use micropay_node::{LocalNode, NodeConfig};
use micropay_sdk::{events::MicropayEvent, instructions as mix, pda};
use solana_commitment_config::CommitmentConfig;
use solana_sdk::signature::{Keypair, Signer};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rpc_ledger_against_the_local_node() {
    let user = Keypair::new();
    let node = LocalNode::start(NodeConfig {
        airdrop: vec![user.pubkey()],
        ..NodeConfig::ephemeral().unwrap()
    })
    .unwrap();
    let ledger = RpcLedger::new(node.rpc_url(), CommitmentConfig::confirmed());
    let l: &dyn Ledger = &ledger;

    let wsol = tokens::create_token_account(l, &user, &SOL, &user.pubkey(), &TOKEN)
        .await
        .unwrap();
    let escrow = pda::escrow(&user.pubkey(), &SOL).0;
    let mut ixs = micropay_sdk::tokens::WrapSol {
        from: user.pubkey(),
        account: wsol,
        lamports: 1_000_000,
    }
    .instructions()
    .unwrap();
    ixs.push(
        mix::InitEscrow {
            owner: user.pubkey(),
            mint: SOL,
            token_program: TOKEN,
        }
        .instruction(),
    );
    ixs.push(
        mix::Deposit {
            depositor: user.pubkey(),
            escrow,
            mint: SOL,
            source: wsol,
            token_program: TOKEN,
            amount: 1_000_000,
        }
        .instruction(),
    );
    let sent = l.send(&ixs, &user, &[]).await.unwrap();
    // events come from getTransaction's inner instructions
    assert!(sent
        .events
        .iter()
        .any(|e| matches!(e, MicropayEvent::Deposited(d) if d.amount == 1_000_000)));
    assert_eq!(sent.fee, 5_000);

    // a program error comes back typed, before any fee is paid
    let balance = l.balance(&user.pubkey()).await.unwrap();
    let err = l
        .send(
            &[mix::Withdraw {
                owner: user.pubkey(),
                mint: SOL,
                destination: wsol,
                token_program: TOKEN,
                amount: 2_000_000,
            }
            .instruction()],
            &user,
            &[],
        )
        .await
        .unwrap_err();
    assert_eq!(
        err.program_error().map(u32::from),
        Some(u32::from(MicropayError::InsufficientBalance))
    );
    assert!(err.to_string().contains("Not enough free balance"), "{err}");
    assert_eq!(l.balance(&user.pubkey()).await.unwrap(), balance);

    // channels by creator and by escrow (getProgramAccounts with memcmp)
    let (a, b) = (Keypair::new().pubkey(), Keypair::new().pubkey());
    let generation = micropay_client::accounts::escrow(l, &escrow)
        .await
        .unwrap()
        .unwrap()
        .generation;
    for (id, creator) in [(0u64, a), (1, b), (2, a)] {
        let (ix, _) = mix::OpenChannel {
            owner: user.pubkey(),
            escrow,
            slot: micropay_sdk::pda::ChannelSlot { generation, id },
            args: OpenChannelArgs {
                creator,
                signer: Keypair::new().pubkey(),
                allocation: 1_000,
                fee_recipient: None,
                fee_bps: 0,
                dispute_window_secs: 600,
                expires_at: 0,
                nonce: id,
            },
        }
        .with_channel();
        l.send(&[ix], &user, &[]).await.unwrap();
    }
    assert_eq!(
        l.channels(ChannelFilter::Creator(a)).await.unwrap().len(),
        2
    );
    assert_eq!(
        l.channels(ChannelFilter::Creator(b)).await.unwrap().len(),
        1
    );
    assert_eq!(
        l.channels(ChannelFilter::Escrow(escrow))
            .await
            .unwrap()
            .len(),
        3
    );
    // escrows by owner through the same generic query
    let owned = l
        .program_accounts(&micropay_sdk::filters::escrows(Some(user.pubkey())))
        .await
        .unwrap();
    assert_eq!(
        owned.iter().map(|(a, _)| *a).collect::<Vec<_>>(),
        vec![escrow]
    );
    assert!(l
        .program_accounts(&micropay_sdk::filters::escrows(Some(a)))
        .await
        .unwrap()
        .is_empty());
    assert!(l.unix_timestamp().await.unwrap() > 1_600_000_000);

    // the node predates v1 transactions: the probe says legacy, and a v1
    // transaction sent anyway is refused, moving nothing
    assert_eq!(l.transaction_format().await.unwrap(), TxFormat::Legacy);
    let to = Keypair::new().pubkey();
    let blockhash = l.latest_blockhash().await.unwrap();
    let transfer = solana_system_interface::instruction::transfer(&user.pubkey(), &to, 1_000);
    let message = v1::message(&[transfer], &user.pubkey(), &blockhash, 10_000, 0).unwrap();
    let wire = v1::sign(&message, &[&user]).unwrap();
    let before = l.balance(&user.pubkey()).await.unwrap();
    assert!(matches!(
        l.submit_v1(&wire).await,
        Err(ClientError::V1Transaction { .. })
    ));
    assert_eq!(l.balance(&user.pubkey()).await.unwrap(), before);
    assert_eq!(l.balance(&to).await.unwrap(), 0);
    node.stop();

    // an unreachable node is an error, not a verdict on the format (port 1:
    // nothing listens there, while the stopped node's ephemeral port may
    // already serve another test's node)
    let gone = RpcLedger::new("http://127.0.0.1:1", CommitmentConfig::confirmed());
    let answer = gone.transaction_format().await;
    assert!(matches!(answer, Err(ClientError::Rpc(_))), "{answer:?}");

    // nothing listens there any more: a clear, retryable error
    let gone = RpcLedger::new(ledger.url(), CommitmentConfig::confirmed());
    match gone.latest_blockhash().await {
        Err(ClientError::Rpc(msg)) => assert!(!msg.is_empty()),
        other => panic!("expected an RPC error, got {other:?}"),
    }
}

/// One JSON-RPC call to `url`, as a TypeScript client makes it; the `result`.
async fn rpc_call(url: &str, method: &str, params: serde_json::Value) -> serde_json::Value {
    let body = serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
    let reply: serde_json::Value = reqwest::Client::new()
        .post(url)
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(reply["error"].is_null(), "{method}: {reply}");
    reply["result"].clone()
}

fn log_lines(value: &serde_json::Value) -> Vec<String> {
    value
        .as_array()
        .unwrap_or_else(|| panic!("no logs: {value}"))
        .iter()
        .map(|l| l.as_str().unwrap().to_string())
        .collect()
}

/// The local node logs as a cluster does (issue 14): `getTransaction` and
/// `simulateTransaction` give well-formed logs (one `invoke [n]` per call at
/// its depth, closed once) with Anchor's `Instruction:` lines, and a forged
/// voucher's simulation carries Anchor's error line, which is what Anchor's
/// TypeScript client turns into a typed `AnchorError`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_local_node_logs_as_a_cluster_does() {
    use micropay_tests::logs::well_formed;
    use solana_sdk::transaction::Transaction;
    let (user, creator, session) = (Keypair::new(), Keypair::new(), Keypair::new());
    let node = LocalNode::start(NodeConfig {
        airdrop: vec![user.pubkey()],
        ..NodeConfig::ephemeral().unwrap()
    })
    .unwrap();
    let url = node.rpc_url().to_string();
    let ledger = RpcLedger::new(&url, CommitmentConfig::confirmed());
    let l: &dyn Ledger = &ledger;
    let id = micropay::ID.to_string();

    let wsol = tokens::create_token_account(l, &user, &SOL, &user.pubkey(), &TOKEN)
        .await
        .unwrap();
    let (escrow, ixs) = mix::FundNewSolEscrow {
        owner: user.pubkey(),
        wsol,
        lamports: 1_000_000,
    }
    .instructions()
    .unwrap();
    let sent = l.send(&ixs, &user, &[]).await.unwrap();
    let tx = rpc_call(
        &url,
        "getTransaction",
        serde_json::json!([sent.signature.to_string(),
            {"encoding": "json", "commitment": "confirmed", "maxSupportedTransactionVersion": 0}]),
    )
    .await;
    let logs = log_lines(&tx["meta"]["logMessages"]);
    assert_eq!(well_formed(&logs), Ok(()));
    for line in [
        "Program log: Instruction: InitEscrow".to_string(),
        "Program log: Instruction: Deposit".to_string(),
        format!("Program {TOKEN} invoke [2]"),
        format!("Program {id} invoke [2]"),
    ] {
        assert!(logs.contains(&line), "{line} missing: {logs:#?}");
    }

    let earnings = pda::earnings(&creator.pubkey(), &SOL).0;
    let (open, channel) = mix::OpenChannel {
        owner: user.pubkey(),
        escrow,
        slot: micropay_sdk::pda::ChannelSlot::next(
            &micropay_client::accounts::escrow(l, &escrow)
                .await
                .unwrap()
                .unwrap(),
        ),
        args: OpenChannelArgs {
            creator: creator.pubkey(),
            signer: session.pubkey(),
            allocation: 1_000,
            fee_recipient: None,
            fee_bps: 0,
            dispute_window_secs: 600,
            expires_at: 0,
            nonce: 7,
        },
    }
    .with_channel();
    let init_earnings = mix::InitEarnings {
        payer: user.pubkey(),
        owner: creator.pubkey(),
        mint: SOL,
    }
    .instruction();
    l.send(&[init_earnings, open], &user, &[]).await.unwrap();

    let simulate = |amount: u64, key: &Keypair| {
        let voucher = micropay_sdk::voucher::Voucher::sign(key, channel, amount);
        let claim = mix::claim(&[mix::VoucherClaim {
            channel,
            creator_earnings: earnings,
            fee_earnings: None,
            amount,
            signature: voucher.signature,
        }]);
        let (url, user) = (url.clone(), user.insecure_clone());
        async move {
            let blockhash = RpcLedger::new(&url, CommitmentConfig::confirmed())
                .latest_blockhash()
                .await
                .unwrap();
            let tx = Transaction::new_signed_with_payer(
                &[claim],
                Some(&user.pubkey()),
                &[&user],
                blockhash,
            );
            let wire = bs58::encode(bincode::serialize(&tx).unwrap()).into_string();
            rpc_call(
                &url,
                "simulateTransaction",
                serde_json::json!([wire, {"encoding": "base58", "sigVerify": true, "commitment": "confirmed"}]),
            )
            .await["value"]
                .clone()
        }
    };

    // a forged voucher: Anchor's error line, then micropay's `failed` line
    let forged = simulate(10, &Keypair::new()).await;
    let code = u32::from(MicropayError::InvalidVoucherSignature);
    assert_eq!(
        forged["err"],
        serde_json::json!({"InstructionError": [0, {"Custom": code}]})
    );
    let logs = log_lines(&forged["logs"]);
    assert_eq!(well_formed(&logs), Ok(()));
    assert!(
        logs.iter()
            .any(|l| l.starts_with("Program log: AnchorError")
                && l.contains(&format!(
                    "Error Code: InvalidVoucherSignature. Error Number: {code}."
                ))),
        "{logs:#?}"
    );
    assert_eq!(
        logs.last().unwrap(),
        &format!("Program {id} failed: custom program error: {code:#x}")
    );

    // the real voucher: a clean simulation, its event call one level down
    let good = simulate(10, &session).await;
    assert!(good["err"].is_null(), "{good}");
    let logs = log_lines(&good["logs"]);
    assert_eq!(well_formed(&logs), Ok(()));
    assert!(logs.contains(&"Program log: Instruction: Claim".to_string()));
    assert_eq!(logs.last().unwrap(), &format!("Program {id} success"));
    node.stop();
}

/// Issue 25: every RPC read that can meet a v1 transaction asks for it
/// (`maxSupportedTransactionVersion: 1`; a node refuses to return a newer
/// transaction to a client that did not), seen in the request bodies the
/// RPC ledger sends through a recording proxy to the local node: the
/// transactions it sends are confirmed by status and read back with
/// `getTransaction`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rpc_reads_that_meet_transactions_accept_v1() {
    use std::sync::{Arc, Mutex};
    let user = Keypair::new();
    let node = LocalNode::start(NodeConfig {
        airdrop: vec![user.pubkey()],
        ..NodeConfig::ephemeral().unwrap()
    })
    .unwrap();
    let upstream = node.rpc_url().to_string();
    let bodies: Arc<Mutex<Vec<serde_json::Value>>> = Arc::default();
    let recorded = bodies.clone();
    let proxy = axum::Router::new().fallback(move |body: axum::body::Bytes| {
        let (recorded, upstream) = (recorded.clone(), upstream.clone());
        async move {
            if let Ok(v) = serde_json::from_slice::<serde_json::Value>(&body) {
                recorded.lock().unwrap().push(v);
            }
            let reply = reqwest::Client::new()
                .post(&upstream)
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await
                .unwrap()
                .bytes()
                .await
                .unwrap();
            ([(http::header::CONTENT_TYPE, "application/json")], reply)
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, proxy).await });

    let ledger = RpcLedger::new(&url, CommitmentConfig::confirmed());
    let l: &dyn Ledger = &ledger;
    let wsol = tokens::create_token_account(l, &user, &SOL, &user.pubkey(), &TOKEN)
        .await
        .unwrap();
    let (_, ixs) = mix::FundNewSolEscrow {
        owner: user.pubkey(),
        wsol,
        lamports: 1_000_000,
    }
    .instructions()
    .unwrap();
    let sent = l.send(&ixs, &user, &[]).await.unwrap();
    assert!(
        !sent.events.is_empty(),
        "events read back from the transaction"
    );

    let requests: Vec<serde_json::Value> = bodies
        .lock()
        .unwrap()
        .iter()
        .flat_map(|b| match b.as_array() {
            Some(batch) => batch.clone(),
            None => vec![b.clone()],
        })
        .collect();
    let reading = [
        "getTransaction",
        "getBlock",
        "getBlocks",
        "getConfirmedBlock",
    ];
    let reads: Vec<&serde_json::Value> = requests
        .iter()
        .filter(|r| reading.contains(&r["method"].as_str().unwrap_or_default()))
        .collect();
    assert!(!reads.is_empty(), "no transaction was read: {requests:#?}");
    for r in reads {
        assert_eq!(r["params"][1]["maxSupportedTransactionVersion"], 1, "{r}");
    }
    // confirmation comes from the status, not from inclusion alone
    assert!(requests
        .iter()
        .any(|r| r["method"] == "getSignatureStatuses"));
}

/// An x402 `exact` payment through RPC (issue 28): the server co-signs a
/// client's v0 transfer and sends it with the cluster's preflight; the
/// creator receives exactly the price, and a payment the cluster would
/// refuse (the client lacks the tokens) is refused typed before it lands,
/// costing the fee payer nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_exact_payment_settles_through_rpc() {
    use micropay_client::exact;
    use micropay_tests::exact::{exact_world, HELD, PRICE};
    let (setup, fee_payer) = (Keypair::new(), Keypair::new());
    let node = LocalNode::start(NodeConfig {
        airdrop: vec![setup.pubkey(), fee_payer.pubkey()],
        ..NodeConfig::ephemeral().unwrap()
    })
    .unwrap();
    let ledger = RpcLedger::new(node.rpc_url(), CommitmentConfig::confirmed());
    let l: &dyn Ledger = &ledger;
    let w = exact_world(l, &setup, fee_payer).await;
    let (_, _, funds) = w.balances(l).await;
    let wire = w.payment(l, PRICE, 6).await;
    let prepared = exact::prepare(&wire, &w.terms, &w.fee_payer).unwrap();
    let sent = exact::send(l, &prepared).await.unwrap();
    assert_eq!(sent.signature.to_string(), prepared.id());
    // two signatures and 1,000 micro-lamports × 40,000 units of priority:
    // the fee, nothing else (the node's getTransaction reports the fee
    // without the priority part: `sent.fee` is 10,000 here)
    let charged = 2 * 5_000 + 40;
    assert_eq!(w.balances(l).await, (HELD - PRICE, PRICE, funds - charged));
    // sent again (a retry, a second gateway): the node's "already
    // processed" is not a refusal — confirmed as the first, nothing moves
    let again = exact::send(l, &prepared).await.unwrap();
    assert_eq!(again.signature, sent.signature);
    assert_eq!(w.balances(l).await, (HELD - PRICE, PRICE, funds - charged));
    let err = w.refused_by_cluster(l, 10 * HELD, 6).await;
    assert!(
        matches!(err, ClientError::Instruction { index: 2, .. }),
        "{err:?}"
    );
    assert_eq!(w.balances(l).await, (HELD - PRICE, PRICE, funds - charged));
}
