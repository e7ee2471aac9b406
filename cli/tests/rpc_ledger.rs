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

    // an unreachable node is an error, not a verdict on the format
    let gone = RpcLedger::new(ledger.url(), CommitmentConfig::confirmed());
    assert!(matches!(
        gone.transaction_format().await,
        Err(ClientError::Rpc(_))
    ));

    // nothing listens there any more: a clear, retryable error
    let gone = RpcLedger::new(ledger.url(), CommitmentConfig::confirmed());
    match gone.latest_blockhash().await {
        Err(ClientError::Rpc(msg)) => assert!(!msg.is_empty()),
        other => panic!("expected an RPC error, got {other:?}"),
    }
}
