//! The committed IDL is what the program builds today.

use anchor_lang::prelude::Pubkey;

#[test]
fn committed_idl_is_fresh() {
    let built = micropay_idl::build().expect("IDL builds");
    let committed = std::fs::read_to_string(micropay_idl::idl_path()).unwrap_or_default();
    assert!(
        built == committed,
        "idl/micropay.json is stale: run `cargo run -p micropay-idl` and commit it"
    );
    let ts = micropay_idl::ts_module(&built).unwrap();
    let committed_ts = std::fs::read_to_string(micropay_idl::ts_path()).unwrap_or_default();
    assert!(
        ts == committed_ts,
        "idl/micropay.ts is stale: run `cargo run -p micropay-idl` and commit it"
    );
    let idl: serde_json::Value = serde_json::from_str(&built).unwrap();
    assert_eq!(
        idl["address"],
        "4wPrW6yL7jopqbJBc4JFHqM5Pa6qEiktAAYNmqGUWhf3"
    );
    let names: Vec<&str> = idl["instructions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].as_str().unwrap())
        .collect();
    for ix in [
        "init_escrow",
        "deposit",
        "withdraw",
        "open_channel",
        "top_up_channel",
        "init_earnings",
        "claim",
        "withdraw_earnings",
        "request_close",
        "finalize_close",
        "creator_close",
        "close_escrow",
        "close_earnings",
        "create_split",
        "distribute",
    ] {
        assert!(names.contains(&ix), "{ix} missing from the IDL");
    }
    // every event-CPI account is resolvable by a generic tool: the event
    // authority by its seeds (and they derive the program's real PDA), the
    // program by its address
    let program: Pubkey = idl["address"].as_str().unwrap().parse().unwrap();
    let (authority, _) = Pubkey::find_program_address(&[b"__event_authority"], &program);
    assert_eq!(authority, micropay_sdk::pda::event_authority());
    // escrow and earnings seeds where the owner and mint are accounts too
    let seeds = |ix: &str, account: &str| {
        idl["instructions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["name"] == ix)
            .and_then(|i| {
                i["accounts"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|a| a["name"] == account)
            })
            .map(|a| a["pda"]["seeds"].clone())
            .unwrap()
    };
    let owner_mint = |seed: &[u8]| {
        serde_json::json!([
            {"kind": "const", "value": seed},
            {"kind": "account", "path": "owner"},
            {"kind": "account", "path": "mint"},
        ])
    };
    for (ix, account, seed) in [
        ("init_escrow", "escrow", b"escrow".as_slice()),
        ("withdraw", "escrow", b"escrow"),
        ("close_escrow", "escrow", b"escrow"),
        ("withdraw_earnings", "earnings", b"earnings"),
    ] {
        assert_eq!(seeds(ix, account), owner_mint(seed), "{ix}.{account}");
    }
    // none where they would read the account's own data
    for (ix, account) in [
        ("deposit", "escrow"),
        ("open_channel", "escrow"),
        ("close_earnings", "earnings"),
    ] {
        assert!(seeds(ix, account).is_null(), "{ix}.{account}");
    }
    let (owner, mint) = (Pubkey::new_unique(), Pubkey::new_unique());
    assert_eq!(
        Pubkey::find_program_address(&[b"escrow", owner.as_ref(), mint.as_ref()], &program).0,
        micropay_sdk::pda::escrow(&owner, &mint).0
    );
    assert_eq!(
        Pubkey::find_program_address(&[b"earnings", owner.as_ref(), mint.as_ref()], &program).0,
        micropay_sdk::pda::earnings(&owner, &mint).0
    );
    for ix in idl["instructions"].as_array().unwrap() {
        for account in ix["accounts"].as_array().unwrap() {
            match account["name"].as_str().unwrap() {
                "event_authority" => assert_eq!(
                    account["pda"]["seeds"][0]["value"],
                    serde_json::json!(b"__event_authority".to_vec()),
                    "{}",
                    ix["name"]
                ),
                "program" => assert_eq!(account["address"], idl["address"], "{}", ix["name"]),
                _ => {}
            }
        }
    }
}
