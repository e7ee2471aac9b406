//! A whole user story through the `micropay` binary against a local node
//! started by the test: escrow → channel → vouchers → accept → claim →
//! earnings → close → withdraw, with the JSON fields, and the error text and
//! exit code of the common mistakes.
#![allow(clippy::arithmetic_side_effects)]

mod common;

use assert_cmd::Command;
use common::story::Story;

use solana_sdk::signature::{Keypair, Signer};

#[test]
fn user_story_against_a_local_node() {
    let (payer, creator) = (Keypair::new(), Keypair::new());
    let (node, s) = Story::start(&[("payer", &payer), ("creator", &creator)]);
    let (pstore, rstore) = (s.path("payer.db"), s.path("receiver.db"));
    let (pstore, rstore) = (pstore.to_str().unwrap(), rstore.to_str().unwrap());

    // escrow: init, then a deposit of 2 SOL (wrapped on the way)
    let v = s.ok("payer.json", &["escrow", "init", "--mint", "sol"]);
    let escrow = v["escrow"].as_str().unwrap().to_string();
    let v = s.ok("payer.json", &["escrow", "deposit", "--mint", "sol", "2"]);
    assert_eq!(
        (
            v["escrow"].as_str().unwrap(),
            v["balance"].as_u64().unwrap()
        ),
        (escrow.as_str(), 2_000_000_000)
    );
    assert!(s
        .fails(
            "payer.json",
            &["escrow", "deposit", "--mint", "sol", "1.0000000001"],
            1
        )
        .contains("at most 9 decimals"));

    // the creator's earnings account, then a channel of 1 SOL
    let v = s.ok("creator.json", &["earnings", "init", "--mint", "sol"]);
    assert!(v["signature"].as_str().is_some(), "{v}");
    assert_eq!(v["balance_ui"].as_str(), Some("0"));
    let msg = s.fails(
        "payer.json",
        &[
            "channel",
            "open",
            "--mint",
            "sol",
            "--creator",
            &creator.pubkey().to_string(),
            "--allocation",
            "5",
            "--store",
            pstore,
        ],
        1,
    );
    assert!(
        msg.contains("escrow has 2 SOL free; deposit more with `micropay escrow deposit"),
        "{msg}"
    );
    let v = s.ok(
        "payer.json",
        &[
            "channel",
            "open",
            "--mint",
            "sol",
            "--creator",
            &creator.pubkey().to_string(),
            "--allocation",
            "1",
            "--dispute-window",
            "60",
            "--store",
            pstore,
        ],
    );
    let channel = v["channel"].as_str().unwrap().to_string();
    // a channel the program refuses (a 10 s window) leaves no orphan session key
    let rows = || -> i64 {
        rusqlite::Connection::open(pstore)
            .unwrap()
            .query_row("SELECT COUNT(*) FROM payer_channels", [], |r| r.get(0))
            .unwrap()
    };
    assert_eq!(rows(), 1);
    let c = creator.pubkey().to_string();
    let msg = s.fails(
        "payer.json",
        &[
            "channel",
            "open",
            "--mint",
            "sol",
            "--creator",
            &c,
            "--allocation",
            "0.1",
            "--dispute-window",
            "10",
            "--store",
            pstore,
        ],
        1,
    );
    assert!(msg.contains("Dispute window"), "{msg}");
    assert_eq!(rows(), 1);
    // top it up by 0.5, then back to the story
    let v = s.ok(
        "payer.json",
        &["channel", "top-up", &channel, "0.5", "--store", pstore],
    );
    assert_eq!(v["allocation"].as_u64(), Some(1_500_000_000));
    assert_eq!(v["allocation_ui"].as_str(), Some("1.5"));
    assert!(v["signature"].as_str().is_some(), "{v}");
    // the payer's store may now sign up to the new allocation
    let allocation: i64 = rusqlite::Connection::open(pstore)
        .unwrap()
        .query_row(
            "SELECT allocation FROM payer_channels WHERE channel = ?1",
            [bs58::decode(&channel).into_vec().unwrap()],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(allocation, 1_500_000_000);
    let v = s.ok("payer.json", &["channel", "show", &channel]);
    // read-only commands need no wallet file
    let nobody = "nobody.json"; // does not exist
    let w = s.ok(nobody, &["channel", "show", &channel]);
    assert_eq!(w["allocation"], v["allocation"]);
    let payer_address = payer.pubkey().to_string();
    // every field (issue 27): who pays, the voucher key, the window, expiry
    // and closing state
    assert_eq!(v["payer"].as_str(), Some(payer_address.as_str()), "{v}");
    assert!(v["signer"].as_str().is_some(), "{v}");
    assert_eq!(v["dispute_window_secs"].as_u64(), Some(60), "{v}");
    assert_eq!(v["closable_at"].as_i64(), Some(0), "{v}");
    let text = Command::cargo_bin("micropay")
        .unwrap()
        .args(["-u", &s.url, "channel", "show", &channel])
        .assert()
        .success();
    let text = String::from_utf8_lossy(&text.get_output().stdout).to_string();
    for line in [
        "payer ",
        "signer ",
        "dispute     1 min",
        "expires     never",
        "closing     no",
    ] {
        assert!(text.contains(line), "{line:?} not in {text}");
    }
    let w = s.ok(
        nobody,
        &["escrow", "show", "--mint", "sol", "--owner", &payer_address],
    );
    assert_eq!(w["owner"].as_str(), Some(payer_address.as_str()));
    let w = s.ok(
        nobody,
        &[
            "channel",
            "list",
            "--payer",
            &payer_address,
            "--mint",
            "sol",
        ],
    );
    assert_eq!(w.as_array().map(Vec::len), Some(1));
    // the payer is read from the channel's escrow (one read for the list)
    assert_eq!(w[0]["payer"].as_str(), Some(payer_address.as_str()), "{w}");
    // list and show print the same typed view, amounts in the mint's units
    assert_eq!(w[0]["remaining_ui"], v["remaining_ui"]);
    assert_eq!(w[0]["allocation_ui"].as_str(), Some("1.5"));
    let remaining: f64 = v["remaining_ui"].as_str().unwrap().parse().unwrap();
    assert!(remaining > 0.0 && remaining <= 1.5, "{remaining}");
    // ...but one that signs says how to get one
    let msg = s.fails(nobody, &["escrow", "show", "--mint", "sol"], 1);
    assert!(msg.contains("micropay keys new"), "{msg}");
    // airdrop: the faucet of the local node, to any address
    let fresh = Keypair::new().pubkey().to_string();
    let w = s.ok(nobody, &["airdrop", "1.5", &fresh]);
    assert_eq!(
        (w["lamports"].as_u64(), w["balance"].as_u64()),
        (Some(1_500_000_000), Some(1_500_000_000))
    );
    // keys pubkey: no Solana CLI needed
    let w = s.ok(
        nobody,
        &["keys", "pubkey", s.path("creator.json").to_str().unwrap()],
    );
    assert_eq!(
        w["pubkey"].as_str(),
        Some(creator.pubkey().to_string().as_str())
    );
    assert_eq!(
        (
            v["allocation"].as_u64(),
            v["claimed"].as_u64(),
            v["creator"].as_str()
        ),
        (
            Some(1_500_000_000),
            Some(0),
            Some(creator.pubkey().to_string().as_str())
        )
    );

    // three uses of 0.001 SOL: three cumulative vouchers, no transaction
    let vouchers: Vec<String> = (0..3)
        .map(|_| {
            s.ok(
                "payer.json",
                &["voucher", "sign", &channel, "0.001", "--store", pstore],
            )["voucher"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    let v = s.ok("nobody.json", &["voucher", "verify", &vouchers[2]]);
    // verify and accept agree: a voucher above the allocation is not valid
    let session = {
        use micropay_client::store::PayerStore;
        let store = micropay_client::store::SqliteStore::open(pstore).unwrap();
        let row = store.get_payer(&channel.parse().unwrap()).unwrap().unwrap();
        Keypair::try_from(row.signer_keypair.as_slice()).unwrap()
    };
    let over =
        micropay_sdk::voucher::Voucher::sign(&session, channel.parse().unwrap(), 1_500_000_001);
    let over = bs58::encode(over.to_bytes()).into_string();
    let msg = s.fails("nobody.json", &["voucher", "verify", &over], 1);
    assert!(msg.contains("above the channel's allocation"), "{msg}");
    assert_eq!(
        (v["valid"].as_bool(), v["amount"].as_u64()),
        (Some(true), Some(3_000_000))
    );

    // the receiver refuses the 60 s dispute window unless told it can claim that fast
    let accept = |voucher: &str, extra: &[&str]| -> Vec<String> {
        let mut a = vec![
            "accept".to_string(),
            voucher.to_string(),
            "--price".into(),
            "0.001".into(),
            "--mint".into(),
            "sol".into(),
            "--store".into(),
            rstore.to_string(),
        ];
        a.extend(extra.iter().map(|x| x.to_string()));
        a
    };
    let args = accept(&vouchers[2], &[]);
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let msg = s.fails("creator.json", &refs, 1);
    assert!(msg.contains("dispute window of 60 s"), "{msg}");
    // the receiver accepts the newest once; the same again is a duplicate
    // (exit code 3: not a payment); an older one is refused
    let fast = ["--min-dispute-window", "60"];
    let args = accept(&vouchers[2], &fast);
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let v = s.ok("creator.json", &refs);
    assert_eq!(
        (v["paid"].as_u64(), v["paid_net"].as_u64()),
        (Some(3_000_000), Some(3_000_000))
    );
    let msg = s.fails("creator.json", &refs, 3);
    assert!(msg.contains("duplicate"), "{msg}");
    let args = accept(&vouchers[0], &fast);
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    assert!(s.fails("creator.json", &refs, 1).contains("not above"));
    // a payer cannot accept for the creator's channel
    let args = accept(&vouchers[2], &fast);
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    assert!(s.fails("payer.json", &refs, 1).contains("not this creator"));
    // a mangled voucher
    let mut bad = vouchers[2].clone();
    bad.replace_range(10..11, if &bad[10..11] == "A" { "B" } else { "A" });
    assert_eq!(
        s.run("creator.json", &["voucher", "verify", &bad])
            .get_output()
            .status
            .code(),
        Some(1)
    );

    // claim: the plan first, then for real
    let plan = s.ok("creator.json", &["claim", "--dry-run", "--store", rstore]);
    assert_eq!(
        (
            plan["transactions"].as_u64(),
            plan["vouchers"].as_u64(),
            plan["fees_lamports"].as_u64()
        ),
        (Some(1), Some(1), Some(5_000))
    );
    // the node predates v1: `auto` packs legacy, and a forced v1 claim fails
    // clearly, quarantining nothing — the voucher stays claimable
    assert_eq!(plan["tx_format"].as_str(), Some("legacy"));
    let refused = s.fails(
        "creator.json",
        &["claim", "--tx-format", "v1", "--store", rstore],
        1,
    );
    assert!(refused.contains("v1 transaction"), "{refused}");
    // the same store against another cluster (another local node): its
    // voucher is said to be of another cluster, left alone, not claimed
    let other =
        micropay_node::LocalNode::start(micropay_node::NodeConfig::ephemeral().unwrap()).unwrap();
    let elsewhere = Command::cargo_bin("micropay")
        .unwrap()
        .args([
            "-u",
            other.rpc_url(),
            "-k",
            s.path("creator.json").to_str().unwrap(),
        ])
        .args(["claim", "--store", rstore])
        .assert()
        .success();
    drop(other);
    let text = String::from_utf8_lossy(&elsewhere.get_output().stdout).to_string();
    assert!(
        text.contains("1 voucher(s) of another cluster ignored"),
        "{text}"
    );
    let done = s.ok("creator.json", &["claim", "--store", rstore]);
    assert_eq!(
        (
            done["vouchers_settled"].as_u64(),
            done["settled_amount"].as_u64()
        ),
        (Some(1), Some(3_000_000))
    );
    // the result names its transaction and says the amount in the mint's units
    assert_eq!(done["signatures"].as_array().map(Vec::len), Some(1));
    assert_eq!(done["settled"][0]["amount_ui"].as_str(), Some("0.003"));
    assert_eq!(done["fees_sol"].as_str(), Some("0.000005"));
    let nothing = s.ok("creator.json", &["claim", "--store", rstore]);
    assert_eq!(nothing["transactions"].as_u64(), Some(0));

    // earnings: shown, withdrawn (unwrapped to SOL)
    let v = s.ok("creator.json", &["earnings", "show", "--mint", "sol"]);
    assert_eq!(v["balance"].as_u64(), Some(3_000_000));
    let v = s.ok(
        "creator.json",
        &["earnings", "withdraw", "--mint", "sol", "all"],
    );
    assert_eq!(
        (v["balance"].as_u64(), v["total_earned"].as_u64()),
        (Some(0), Some(3_000_000))
    );
    // how much moved, and where (issue 27)
    assert_eq!(v["withdrawn"].as_u64(), Some(3_000_000), "{v}");
    assert!(
        v["withdrawn_to"]
            .as_str()
            .unwrap()
            .ends_with("(your wallet, as SOL)"),
        "{v}"
    );
    // someone's earnings read without a wallet of one's own
    let owner = v["owner"].as_str().unwrap().to_string();
    let shown = s.read(&["earnings", "show", "--mint", "sol", "--owner", &owner]);
    assert_eq!(shown["total_earned"].as_u64(), Some(3_000_000));
    assert!(s
        .fails(
            "creator.json",
            &["earnings", "withdraw", "--mint", "sol", "0.1"],
            1
        )
        .contains("you have 0 SOL of earnings"));

    // the payer cannot withdraw what the channel holds
    assert!(s
        .fails(
            "payer.json",
            &["escrow", "withdraw", "--mint", "sol", "1"],
            1
        )
        .contains("escrow has 0.5 SOL free"));

    // a second channel, ended at once by its creator
    let c = creator.pubkey().to_string();
    let v = s.ok(
        "payer.json",
        &[
            "channel",
            "open",
            "--mint",
            "sol",
            "--creator",
            &c,
            "--allocation",
            "0.25",
            "--store",
            pstore,
        ],
    );
    let second = v["channel"].as_str().unwrap().to_string();
    // issue 26: its voucher key derives from the wallet, so a payer that
    // lost its store goes on paying on it (the same key signs the same
    // voucher) instead of waiting out the dispute window
    let fresh = s.path("fresh-payer.db");
    let recovered = s.ok(
        "payer.json",
        &[
            "voucher",
            "sign",
            &second,
            "0.01",
            "--store",
            fresh.to_str().unwrap(),
        ],
    )["voucher"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(s
        .fails("payer.json", &["channel", "creator-close", &second], 1)
        .contains("only the creator"));
    // a use paid on it and accepted, not yet claimed: closing settles it first
    let voucher = s.ok(
        "payer.json",
        &["voucher", "sign", &second, "0.01", "--store", pstore],
    )["voucher"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(voucher, recovered, "the lost store's key was derived again");
    let args = accept(&voucher, &[]);
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    assert_eq!(
        s.ok("creator.json", &refs)["paid"].as_u64(),
        Some(10_000_000)
    );
    let v = s.ok(
        "creator.json",
        &["channel", "creator-close", &second, "--store", rstore],
    );
    assert_eq!(
        (v["settled"].as_u64(), v["refund"].as_u64()),
        (Some(10_000_000), Some(240_000_000))
    );

    // closing: request, the window holds, then finalize
    let list = s.ok(
        "payer.json",
        &[
            "channel",
            "list",
            "--creator",
            &creator.pubkey().to_string(),
        ],
    );
    assert_eq!(list.as_array().unwrap().len(), 1);
    let msg = s.fails("payer.json", &["channel", "finalize", &channel], 1);
    assert!(
        msg.contains("no close request") && msg.contains("micropay channel request-close"),
        "{msg}"
    );
    s.ok("payer.json", &["channel", "request-close", &channel]);
    // a closing channel takes no new voucher: the way on is a new channel
    let sign = ["voucher", "sign", &channel, "0.001", "--store", pstore];
    let msg = s.fails("payer.json", &sign, 1);
    assert!(
        msg.contains("is closing") && msg.contains("micropay channel open --creator"),
        "{msg}"
    );
    let msg = s.fails("payer.json", &["channel", "request-close", &channel], 1);
    assert!(
        msg.contains("already asked to close") && msg.contains("micropay channel finalize"),
        "{msg}"
    );
    let msg = s.fails("payer.json", &["channel", "finalize", &channel], 1);
    assert!(msg.contains("dispute window is still open"), "{msg}");
    // a time a person reads, not a unix timestamp: how long, and when
    // (labelled chain time), and how to skip it on the local node
    assert!(
        msg.contains("can be finalized in ")
            && msg.contains(" (from 20")
            && msg.contains("Z, chain time")
            && msg.contains("micropay node warp"),
        "{msg}"
    );
    // the local node's clock jumps the window (`micropay node warp`)
    let warped = s.ok("payer.json", &["node", "warp", "61s"]);
    assert_eq!(warped["secs"].as_i64(), Some(61), "{warped}");
    assert!(
        warped["to"].as_i64().unwrap() >= warped["from"].as_i64().unwrap() + 61,
        "{warped}"
    );
    let v = s.ok("payer.json", &["channel", "finalize", &channel]);
    // closed: the payer store remembers it, the chain no longer has it
    let msg = s.fails("payer.json", &sign, 1);
    assert!(
        msg.contains("is closed") && msg.contains("micropay channel open --creator"),
        "{msg}"
    );
    assert_eq!(v["refund"].as_u64(), Some(1_500_000_000 - 3_000_000));
    assert_eq!(v["refund_ui"].as_str(), Some("1.497"));
    assert!(v["signature"].as_str().is_some(), "{v}");
    assert!(s
        .ok(
            "payer.json",
            &[
                "channel",
                "list",
                "--payer",
                &payer.pubkey().to_string(),
                "--mint",
                "sol"
            ]
        )
        .as_array()
        .unwrap()
        .is_empty());
    assert!(s
        .fails("payer.json", &["channel", "show", &channel], 1)
        .contains("does not exist"));

    // a wallet address where a token account belongs, and more SOL than the
    // wallet holds: sentences that say what to do, not hex codes
    let wallet = payer.pubkey().to_string();
    let msg = s.fails(
        "payer.json",
        &[
            "escrow", "withdraw", "--mint", "sol", "0.001", "--to", &wallet,
        ],
        1,
    );
    assert!(
        msg.contains("not a wallet address") && !msg.contains("0x"),
        "{msg}"
    );
    let msg = s.fails(
        "payer.json",
        &["escrow", "deposit", "--mint", "sol", "5000"],
        1,
    );
    // the wallet's balance is said before anything is sent
    assert!(
        msg.contains("your wallet holds ")
            && msg.contains(" SOL; deposit at most ")
            && !msg.contains("0x"),
        "{msg}"
    );

    // everything back out of the escrow
    let v = s.ok("payer.json", &["escrow", "show", "--mint", "sol"]);
    assert_eq!(
        (v["balance"].as_u64(), v["open_channels"].as_u64()),
        (Some(1_987_000_000), Some(0))
    );
    let v = s.ok(
        "payer.json",
        &["escrow", "withdraw", "--mint", "sol", "1.987"],
    );
    assert_eq!(v["balance"].as_u64(), Some(0));

    // keys
    let key = s.path("session.json");
    let v = s.ok("payer.json", &["keys", "new", "-o", key.to_str().unwrap()]);
    assert!(v["pubkey"].as_str().is_some());
    assert!(s
        .fails(
            "payer.json",
            &["keys", "new", "-o", key.to_str().unwrap()],
            1
        )
        .contains("--force"));
    // the embedded bank is refused for state-keeping commands
    let out = Command::cargo_bin("micropay")
        .unwrap()
        .args(["-u", "embedded", "escrow", "show", "--mint", "sol"])
        .assert()
        .code(1);
    assert!(String::from_utf8_lossy(&out.get_output().stderr).contains("micropay node"));
    node.stop();
}
