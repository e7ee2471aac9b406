//! Cross-language test vectors (issue 29): what the Rust sdk makes of fixed
//! inputs — voucher messages and signatures, session-key derivations,
//! program addresses, instruction data — committed at `idl/vectors.json`
//! and read by the TypeScript tests (`ts/packages/sdk/test/vectors.test.ts`,
//! against the Codama-generated client), so Rust and TypeScript
//! must agree on every one. This test fails when the committed file is not
//! what the sdk makes; `MICROPAY_WRITE_VECTORS=1` rewrites it.

use anchor_lang::{prelude::Pubkey, InstructionData};
use micropay::{
    instruction as ix,
    instructions::{ClaimArgs, ClaimEntry, DepositArgs, OpenChannelArgs, TopUpChannelArgs},
};
use micropay_sdk::{
    pda::{self, ChannelSlot},
    session,
    voucher::Voucher,
};
use serde_json::{json, Value};
use solana_keypair::Keypair;
use solana_signer::Signer;

fn key(seed: u8) -> Keypair {
    Keypair::new_from_array([seed; 32])
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn vouchers() -> Value {
    let cases: [(u8, u8, u64); 4] = [(1, 2, 0), (1, 3, 1), (4, 5, u64::MAX), (6, 7, 123_456_789)];
    Value::Array(
        cases
            .iter()
            .map(|&(session, channel, amount)| {
                let session = key(session);
                let channel = Pubkey::new_from_array([channel; 32]);
                let v = Voucher::sign(&session, channel, amount);
                json!({
                    "session_seed": hex(&session.secret_bytes()[..]),
                    "session": session.pubkey().to_string(),
                    "channel": channel.to_string(),
                    "amount": amount.to_string(),
                    "message": hex(&v.message()),
                    "signature": bs58::encode(v.signature).into_string(),
                })
            })
            .collect(),
    )
}

fn sessions() -> Value {
    let cases: [(u8, u8, u64); 3] = [(8, 9, 0), (8, 9, 1), (10, 11, u64::MAX)];
    Value::Array(
        cases
            .iter()
            .map(|&(wallet, escrow, nonce)| {
                let wallet = key(wallet);
                let escrow = Pubkey::new_from_array([escrow; 32]);
                let derived = session::derive(&wallet, &escrow, nonce).unwrap();
                json!({
                    "wallet_seed": hex(&wallet.secret_bytes()[..]),
                    "wallet": wallet.pubkey().to_string(),
                    "escrow": escrow.to_string(),
                    "nonce": nonce.to_string(),
                    "message": hex(&session::message(&escrow, nonce)),
                    "session": derived.pubkey().to_string(),
                })
            })
            .collect(),
    )
}

fn addresses() -> Value {
    let (owner, mint) = (key(12).pubkey(), Pubkey::new_from_array([13; 32]));
    let escrow = pda::escrow(&owner, &mint).0;
    let slot = ChannelSlot {
        generation: 345_678,
        id: 2,
    };
    json!({
        "program": micropay::ID.to_string(),
        "owner": owner.to_string(),
        "mint": mint.to_string(),
        "escrow": escrow.to_string(),
        "earnings": pda::earnings(&owner, &mint).0.to_string(),
        "vault": pda::vault(&mint).0.to_string(),
        "channel": {
            "escrow": escrow.to_string(),
            "generation": slot.generation.to_string(),
            "id": slot.id.to_string(),
            "nonce": "18446744073709551615",
            "address": pda::channel(&escrow, slot, u64::MAX).0.to_string(),
        },
    })
}

/// One instruction's data: its name, its arguments as JSON, the bytes.
fn instruction(name: &str, args: Value, data: Vec<u8>) -> Value {
    json!({ "instruction": name, "args": args, "data": hex(&data) })
}

fn open_channel(fee: Option<(Pubkey, u16)>, expires_at: i64) -> Value {
    let args = OpenChannelArgs {
        creator: key(20).pubkey(),
        signer: key(21).pubkey(),
        allocation: 5_000,
        fee_recipient: fee.map(|f| f.0),
        fee_bps: fee.map_or(0, |f| f.1),
        dispute_window_secs: 3_600,
        expires_at,
        nonce: u64::MAX,
    };
    let json = json!({
        "creator": args.creator.to_string(),
        "signer": args.signer.to_string(),
        "allocation": args.allocation.to_string(),
        "feeRecipient": args.fee_recipient.map(|k| k.to_string()),
        "feeBps": args.fee_bps,
        "disputeWindowSecs": args.dispute_window_secs,
        "expiresAt": args.expires_at.to_string(),
        "nonce": args.nonce.to_string(),
    });
    instruction("openChannel", json, ix::OpenChannel { args }.data())
}

fn instructions() -> Value {
    let entries = vec![
        ClaimEntry {
            channel_index: 0,
            earnings_index: 1,
            fee_earnings_index: micropay::constants::NO_ACCOUNT_INDEX,
            amount: 7,
            signature: [5; 64],
        },
        ClaimEntry {
            channel_index: 2,
            earnings_index: 3,
            fee_earnings_index: 4,
            amount: u64::MAX,
            signature: [6; 64],
        },
    ];
    let entries_json: Vec<Value> = entries
        .iter()
        .map(|e| {
            json!({
                "channelIndex": e.channel_index,
                "earningsIndex": e.earnings_index,
                "feeEarningsIndex": e.fee_earnings_index,
                "amount": e.amount.to_string(),
                "signature": hex(&e.signature),
            })
        })
        .collect();
    json!([
        instruction(
            "deposit",
            json!({ "amount": "1000000" }),
            ix::Deposit {
                args: DepositArgs { amount: 1_000_000 }
            }
            .data(),
        ),
        open_channel(Some((key(22).pubkey(), 250)), 1_700_000_000),
        open_channel(None, -1),
        instruction(
            "topUpChannel",
            json!({ "amount": "42" }),
            ix::TopUpChannel {
                args: TopUpChannelArgs { amount: 42 }
            }
            .data(),
        ),
        instruction(
            "claim",
            json!({ "entries": entries_json }),
            ix::Claim {
                args: ClaimArgs { entries }
            }
            .data(),
        ),
    ])
}

#[test]
fn the_committed_vectors_are_what_the_sdk_makes() {
    let made = json!({
        "about": "micropay cross-language vectors: made by sdk/tests/vectors.rs, checked by it and by ts/packages/sdk/test/vectors.test.ts. Seeds are Ed25519 secret seeds (hex); amounts and nonces decimal strings (u64).",
        "vouchers": vouchers(),
        "sessions": sessions(),
        "addresses": addresses(),
        "instructions": instructions(),
    });
    let text = serde_json::to_string_pretty(&made).unwrap() + "\n";
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../idl/vectors.json");
    if std::env::var_os("MICROPAY_WRITE_VECTORS").is_some() {
        std::fs::write(&path, &text).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == text,
        "idl/vectors.json is not what the sdk makes: rerun with MICROPAY_WRITE_VECTORS=1 and review the diff"
    );
}
