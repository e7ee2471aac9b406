//! The program id is one key everywhere: `declare_id!`, Anchor.toml and the
//! committed program keypair that `anchor deploy` uses.

use solana_sdk::signature::{Keypair, Signer};

fn repo_file(path: &str) -> String {
    let full = format!("{}/../{path}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("{full}: {e}"))
}

#[test]
fn keypair_declare_id_and_anchor_toml_agree() {
    let json = repo_file("keys/micropay-program-keypair.json");
    let bytes: Vec<u8> = json
        .trim()
        .trim_start_matches('[')
        .trim_end_matches(']')
        .split(',')
        .map(|b| b.trim().parse().expect("byte"))
        .collect();
    let keypair = Keypair::try_from(bytes.as_slice()).expect("64-byte keypair");
    assert_eq!(keypair.pubkey(), micropay::ID);

    let anchor_toml = repo_file("Anchor.toml");
    let ids: Vec<&str> = anchor_toml
        .lines()
        .filter_map(|l| l.strip_prefix("micropay = \""))
        .map(|l| l.trim_end_matches('"'))
        .collect();
    assert_eq!(ids.len(), 2, "localnet and devnet entries");
    assert!(ids.iter().all(|id| *id == micropay::ID.to_string()));
}
