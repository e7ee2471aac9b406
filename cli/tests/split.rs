//! A royalty split through the `micropay` binary against a local node: a
//! 3-way split is created (with its missing earnings accounts), a payer pays
//! it through a channel like any creator, a gateway accepts for it
//! (`accept --creator <SPLIT>`) and claims, anyone distributes, and every
//! owner's earnings are its share to the lamport; malformed shares are
//! refused with what to fix.
#![allow(clippy::arithmetic_side_effects)]

mod common;

use anchor_spl::token::spl_token;
use common::story::Story;
use micropay_client::{ledger::rpc::RpcLedger, tokens};
use solana_commitment_config::CommitmentConfig;
use solana_sdk::signature::{Keypair, Signer};

#[test]
fn a_three_way_split_is_paid_claimed_and_distributed_to_the_lamport() {
    let (payer, gateway, artist) = (Keypair::new(), Keypair::new(), Keypair::new());
    let (b, c) = (Keypair::new().pubkey(), Keypair::new().pubkey());
    let (_node, s) = Story::start(&[
        ("payer", &payer),
        ("gateway", &gateway),
        ("artist", &artist),
    ]);
    let (pstore, rstore) = (s.path("payer.db"), s.path("receiver.db"));
    let (pstore, rstore) = (pstore.to_str().unwrap(), rstore.to_str().unwrap());
    let share = |owner: &str, bps: u32| format!("{owner}:{bps}");
    let (a, b, c) = (artist.pubkey().to_string(), b.to_string(), c.to_string());

    // malformed shares: refused before anything is sent, saying what to fix
    for (args, expected) in [
        (vec![share(&a, 5_000), share(&b, 4_999)], "sum to 9999"),
        (vec![share(&a, 5_000), share(&a, 5_000)], "listed twice"),
        (vec![format!("{a}=10000")], "PUBKEY:BPS"),
        (vec![share(&a, 0), share(&b, 10_000)], "from 1 to 10000"),
    ] {
        let mut cmd = vec!["split", "create", "--mint", "sol"];
        for r in &args {
            cmd.extend(["--recipient", r.as_str()]);
        }
        let msg = s.fails("gateway.json", &cmd, 1);
        assert!(msg.contains(expected), "{args:?}: {msg}");
    }

    // the split, and every missing earnings account, paid by the gateway
    let (ra, rb, rc) = (share(&a, 5_000), share(&b, 3_000), share(&c, 2_000));
    let create = [
        "split",
        "create",
        "--mint",
        "sol",
        "--recipient",
        &ra,
        "--recipient",
        &rb,
        "--recipient",
        &rc,
    ];
    let v = s.ok("gateway.json", &create);
    let split = v["split"].as_str().unwrap().to_string();
    assert_eq!(v["recipients"].as_array().unwrap().len(), 3);
    assert_eq!(v["received"].as_u64(), Some(0));
    // the same shares name the same split: refused, it exists
    assert!(s
        .fails("gateway.json", &create, 1)
        .contains("exists already"));

    // a payer pays the split like any creator
    s.ok("payer.json", &["escrow", "init", "--mint", "sol"]);
    s.ok("payer.json", &["escrow", "deposit", "--mint", "sol", "1"]);
    let v = s.ok(
        "payer.json",
        &[
            "channel",
            "open",
            "--mint",
            "sol",
            "--creator",
            &split,
            "--allocation",
            "0.5",
            "--dispute-window",
            "60",
            "--store",
            pstore,
        ],
    );
    let channel = v["channel"].as_str().unwrap().to_string();
    let voucher = s.ok(
        "payer.json",
        &[
            "voucher",
            "sign",
            &channel,
            "0.100000001",
            "--store",
            pstore,
        ],
    )["voucher"]
        .as_str()
        .unwrap()
        .to_string();

    // the gateway accepts for the split, and claims
    let accept = [
        "accept",
        &voucher,
        "--price",
        "0.100000001",
        "--mint",
        "sol",
        "--creator",
        &split,
        "--min-dispute-window",
        "60",
        "--store",
        rstore,
    ];
    let v = s.ok("gateway.json", &accept);
    assert_eq!(v["paid"].as_u64(), Some(100_000_001));
    // without --creator the gateway's own key is the payee: not its channel
    let mut own = accept.to_vec();
    own.retain(|a| *a != "--creator" && *a != split.as_str());
    assert!(s
        .fails("gateway.json", &own, 1)
        .contains("not this creator"));
    let v = s.ok("gateway.json", &["claim", "--store", rstore]);
    assert_eq!(v["settled_amount"].as_u64(), Some(100_000_001));
    // a split pays out one mint: accepting another for it is refused
    let other = tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(async {
            let l = RpcLedger::new(s.url.clone(), CommitmentConfig::confirmed());
            tokens::create_mint(&l, &gateway, &gateway.pubkey(), &spl_token::ID, 6).await
        })
        .unwrap()
        .to_string();
    let mut wrong_mint = accept.to_vec();
    wrong_mint.extend(["--mint", other.as_str()]);
    let msg = s.fails("gateway.json", &wrong_mint, 1);
    assert!(msg.contains("is a split of mint"), "{msg}");

    // the gateway serves for the split: `payee` in its config
    let config = s.path("serve.toml");
    std::fs::write(
        &config,
        format!(
            "upstream = \"http://127.0.0.1:9\"\nmints = [\"sol\"]\npayee = \"{split}\"\nstore = \"{rstore}\"\n[watch]\ndistribute = [\"{split}\"]\n"
        ),
    )
    .unwrap();
    let v = s.ok(
        "gateway.json",
        &["serve", "-c", config.to_str().unwrap(), "--check"],
    );
    assert_eq!(v["creator"].as_str(), Some(split.as_str()));
    assert_eq!(v["distribute"][0].as_str(), Some(split.as_str()));

    // anyone distributes: 50%, 30%, 20% of 100,000,001, rounded down; the
    // remainder stays in the split
    let v = s.ok("payer.json", &["split", "distribute", &split]);
    assert_eq!(v["received"].as_u64(), Some(100_000_001));
    let moved = |v: &serde_json::Value, owner: &str| -> u64 {
        v["recipients"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["owner"] == owner)
            .unwrap()["moved"]
            .as_u64()
            .unwrap()
    };
    assert_eq!(moved(&v, &a), 50_000_000);
    assert_eq!(moved(&v, &b), 30_000_000);
    assert_eq!(moved(&v, &c), 20_000_000);
    assert_eq!(v["balance"].as_u64(), Some(1));
    for (owner, expected) in [(&a, 50_000_000u64), (&b, 30_000_000), (&c, 20_000_000)] {
        let e = s.ok(
            "payer.json",
            &["earnings", "show", "--mint", "sol", "--owner", owner],
        );
        assert_eq!(e["balance"].as_u64(), Some(expected), "{owner}");
    }
    // show: what each received, nothing pending
    let v = s.ok("payer.json", &["split", "show", &split]);
    for r in v["recipients"].as_array().unwrap() {
        assert_eq!(r["pending"].as_u64(), Some(0), "{r}");
    }
    // reading a split needs no wallet (issue 27)
    let shown = s.read(&["split", "show", &split]);
    assert_eq!(shown["recipients"], v["recipients"]);
    // the watcher claims and distributes in one pass (for owners who asked)
    let voucher = s.ok(
        "payer.json",
        &["voucher", "sign", &channel, "0.2", "--store", pstore],
    )["voucher"]
        .as_str()
        .unwrap()
        .to_string();
    let mut more = accept.to_vec();
    more[1] = voucher.as_str();
    more[3] = "0.2";
    s.ok("gateway.json", &more);
    let v = s.ok(
        "gateway.json",
        &["watch", "--once", "--distribute", &split, "--store", rstore],
    );
    assert_eq!(v["vouchers_settled"].as_u64(), Some(1));
    assert_eq!(v["distributions"].as_u64(), Some(1));
    let v = s.ok("payer.json", &["split", "show", &split]);
    assert_eq!(v["received"].as_u64(), Some(300_000_001));
    let total_paid: u64 = v["recipients"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["distributed"].as_u64().unwrap())
        .sum();
    assert_eq!(total_paid + v["balance"].as_u64().unwrap(), 300_000_001);
    assert_eq!(moved_total(&v), 0, "show moves nothing");

    // an owner withdraws its share like any earnings
    let w = s.ok(
        "artist.json",
        &["earnings", "withdraw", "--mint", "sol", "all"],
    );
    assert_eq!(w["balance"].as_u64(), Some(0));
    assert_eq!(w["total_earned"].as_u64(), Some(150_000_000));
    assert!(s
        .fails("payer.json", &["split", "show", &a], 1)
        .contains("no split at"));
}

/// The sum of `moved` over a split view's recipients (absent outside
/// `distribute`).
fn moved_total(v: &serde_json::Value) -> u64 {
    v["recipients"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["moved"].as_u64().unwrap_or(0))
        .sum()
}
