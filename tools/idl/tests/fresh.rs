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
