//! Cross-language test vectors (issue 29): what the Rust sdk makes of fixed
//! inputs — voucher messages and signatures, session-key derivations,
//! program addresses — committed at `idl/vectors.json` and read by the
//! TypeScript tests (`ts/test/vectors.test.ts`), so Rust and TypeScript
//! must agree on every one. This test fails when the committed file is not
//! what the sdk makes; `MICROPAY_WRITE_VECTORS=1` rewrites it.

use anchor_lang::prelude::Pubkey;
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

#[test]
fn the_committed_vectors_are_what_the_sdk_makes() {
    let made = json!({
        "about": "micropay cross-language vectors: made by sdk/tests/vectors.rs, checked by it and by ts/test/vectors.test.ts. Seeds are Ed25519 secret seeds (hex); amounts and nonces decimal strings (u64).",
        "vouchers": vouchers(),
        "sessions": sessions(),
        "addresses": addresses(),
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
