//! The `micropay` binary: the demo on the embedded default and through a local
//! node started by `micropay node`, its JSON shape, and the exit codes and
//! messages of common mistakes.
#![allow(clippy::arithmetic_side_effects)]

use assert_cmd::Command;
use serde_json::Value;
use solana_sdk::signature::{Keypair, Signer};
use std::{
    io::{BufRead, BufReader},
    process::Stdio,
};

fn micropay() -> Command {
    Command::cargo_bin("micropay").unwrap()
}

/// A TCP port nothing listens on now.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn json(output: &[u8]) -> Value {
    let text = String::from_utf8_lossy(output);
    serde_json::from_str(text.trim()).unwrap_or_else(|e| panic!("not json ({e}): {text}"))
}

fn check_demo(v: &Value, payments: u64) {
    for field in [
        "payments",
        "value_paid",
        "claim_transactions",
        "vouchers_settled",
        "fees_lamports",
        "fee_per_payment_lamports",
        "fee_ratio",
        "per_payment_fees_lamports",
        "unaccounted_lamports",
    ] {
        assert!(v.get(field).is_some(), "missing {field} in {v}");
    }
    assert_eq!(v["payments"], payments);
    assert_eq!(v["unaccounted_lamports"], 0);
    assert_eq!(v["per_payment_fees_lamports"], payments * 5_000);
    let claims = v["claim_transactions"].as_u64().unwrap();
    assert!(claims > 0);
    assert_eq!(v["fees_lamports"].as_u64().unwrap(), claims * 5_000);
    assert!(v["fee_ratio"].as_f64().unwrap() <= v["target_fee_ratio"].as_f64().unwrap());
    assert!(v["value_paid"].as_u64().unwrap() > 0);
}

#[test]
fn demo_on_the_embedded_default_reports_json() {
    let out = micropay()
        .args(["demo", "--payments", "3000", "--output", "json"])
        .assert()
        .success();
    let v = json(&out.get_output().stdout);
    check_demo(&v, 3_000);
    assert_eq!(v["cluster"], "embedded bank");
}

/// `demo --splits`: the first creator is a 3-way split; each owner withdrew
/// its share of the split's net (50/30/20%, rounded down), the remainder is
/// under one base unit per owner, and nothing is unaccounted.
#[test]
fn demo_with_a_split_creator_pays_each_owner_its_share() {
    let out = micropay()
        .args(["demo", "--splits", "--payments", "1500", "--output", "json"])
        .assert()
        .success();
    let v = json(&out.get_output().stdout);
    check_demo(&v, 1_500);
    let split = &v["split"];
    let net = split["accepted_net"].as_u64().unwrap();
    let owners = split["owners"].as_array().unwrap();
    assert_eq!(owners.len(), 3);
    let mut total = split["remainder"].as_u64().unwrap();
    assert!(total < 3);
    for o in owners {
        let bps = o["bps"].as_u64().unwrap();
        let withdrawn = o["withdrawn"].as_u64().unwrap();
        assert_eq!(withdrawn, net * bps / 10_000, "{o}");
        total += withdrawn;
    }
    assert_eq!(total, net);
    // without the flag there is no split
    let out = micropay()
        .args(["demo", "--payments", "100", "--output", "json"])
        .assert()
        .success();
    assert!(json(&out.get_output().stdout)["split"].is_null());
}

#[test]
fn demo_in_wrapped_sol() {
    let out = micropay()
        .args([
            "demo",
            "--mint",
            "sol",
            "--payments",
            "1000",
            "--output",
            "json",
        ])
        .assert()
        .success();
    let v = json(&out.get_output().stdout);
    check_demo(&v, 1_000);
    assert_eq!(v["mint"], "So11111111111111111111111111111111111111112");
}

#[test]
fn demo_with_a_token_mint_and_a_seed_is_reproducible() {
    let run = || {
        let out = micropay()
            .args([
                "demo",
                "--mint",
                "token",
                "--payments",
                "1000",
                "--seed",
                "7",
                "--output",
                "json",
            ])
            .assert()
            .success();
        json(&out.get_output().stdout)
    };
    let (a, b) = (run(), run());
    check_demo(&a, 1_000);
    assert_eq!(a["value_paid"], b["value_paid"]);
    assert_eq!(a["claim_transactions"], b["claim_transactions"]);
}

/// `1234567` as `1,234,567`.
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The README quotes what the demo prints (issue 27): its table line for
/// line (the run time aside), and the fee section's numbers are those of
/// `demo --mint sol`.
#[test]
fn the_readme_quotes_what_the_demo_prints() {
    let readme = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md"),
    )
    .unwrap();
    let out = micropay().args(["demo"]).assert().success();
    let printed = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    let table: Vec<&str> = printed
        .lines()
        .skip_while(|l| !l.starts_with("micropay demo on"))
        .skip(1) // names the run time
        .filter(|l| !l.trim().is_empty())
        .collect();
    assert!(table.len() >= 9, "{printed}");
    for line in table {
        assert!(
            readme.contains(&format!("{line}\n")),
            "the README's table lacks `{line}`"
        );
    }
    let out = micropay()
        .args(["demo", "--mint", "sol", "--output", "json"])
        .assert()
        .success();
    let v = json(&out.get_output().stdout);
    let n = |k: &str| v[k].as_u64().unwrap();
    let text = readme
        .replace("**", "")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    let paid = n("value_paid");
    let transfers = n("per_payment_fees_lamports");
    for quoted in [
        format!(
            "{} claim transactions for {} lamports",
            n("claim_transactions"),
            thousands(n("fees_lamports"))
        ),
        format!(
            "{:.4}% of the {} lamports paid",
            v["fee_ratio"].as_f64().unwrap() * 100.0,
            thousands(paid)
        ),
        format!(
            "{} lamports ({}% of the value)",
            thousands(transfers),
            (transfers * 100 + paid / 2) / paid
        ),
    ] {
        assert!(
            text.contains(&quoted),
            "the fee section does not say `{quoted}`"
        );
    }
}

#[test]
fn demo_text_prints_the_table() {
    let out = micropay()
        .args(["demo", "--payments", "1000"])
        .assert()
        .success();
    let text = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    for row in [
        "payments",
        "value paid",
        "claim transactions",
        "fee as % of value",
        "one transfer per payment",
        "unaccounted",
    ] {
        assert!(text.contains(row), "no {row} in\n{text}");
    }
    assert!(text.contains("0 lamports"), "{text}");
}

/// Regression: more than 32 creators failed (all of a payer's channels were
/// closed in one transaction: trace limit at 33, size, then rent at 39).
#[test]
fn demo_with_many_creators_batches_its_closes() {
    let out = micropay()
        .args([
            "demo",
            "--payers",
            "2",
            "--creators",
            "45",
            "--payments",
            "300",
            "--output",
            "json",
        ])
        .assert()
        .success();
    let v = json(&out.get_output().stdout);
    assert_eq!(v["unaccounted_lamports"], 0);
    assert_eq!(v["lost_base_units"], 0);
}

#[test]
fn bad_flags_are_user_errors() {
    let out = micropay().args(["demo", "--payers", "0"]).assert().code(1);
    assert!(String::from_utf8_lossy(&out.get_output().stderr).contains("--payers"));
    let out = micropay()
        .args(["demo", "--target-fee-ratio", "2"])
        .assert()
        .code(1);
    assert!(String::from_utf8_lossy(&out.get_output().stderr).contains("--target-fee-ratio"));
    micropay().args(["demo", "--no-such-flag"]).assert().code(1);
    // claim checks its flags before anything else (no keypair needed to be told)
    for bad in ["5", "nan", "0", "-1", "inf"] {
        let out = micropay()
            .args(["claim", "--target-fee-ratio", bad])
            .assert()
            .code(1);
        let err = String::from_utf8_lossy(&out.get_output().stderr).to_string();
        assert!(err.contains("--target-fee-ratio"), "{bad}: {err}");
    }
    let out = micropay()
        .args(["claim", "--unit-lamports", "1.5"])
        .assert()
        .code(1);
    assert!(String::from_utf8_lossy(&out.get_output().stderr).contains("--unit-lamports"));
    micropay()
        .args(["demo", "--output", "json", "--price", "0"])
        .assert()
        .code(1);
}

#[test]
fn unreachable_cluster_is_exit_code_2() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("id.json");
    std::fs::write(
        &key,
        serde_json::to_string(&Keypair::new().to_bytes().to_vec()).unwrap(),
    )
    .unwrap();
    let out = micropay()
        .args([
            "demo",
            "-u",
            "http://127.0.0.1:9",
            "-k",
            key.to_str().unwrap(),
            "--output",
            "json",
        ])
        .assert()
        .code(2);
    let v = json(&out.get_output().stdout);
    assert_eq!(v["exit_code"], 2);
    assert!(v["error"].as_str().unwrap().contains("unreachable"), "{v}");
    // issue 25: an RPC URL with a credential in its user info, path and
    // query never shows in a CLI message (stdout or stderr, JSON or text)
    for output in ["json", "text"] {
        let out = micropay()
            .args([
                "-u",
                "http://user:SECRETPW@127.0.0.1:9/v2/SECRETPATH?api-key=SECRETKEY",
                "-k",
                key.to_str().unwrap(),
                "--output",
                output,
                "escrow",
                "show",
                "--mint",
                "sol",
            ])
            .assert()
            .code(2);
        let shown = format!(
            "{}{}",
            String::from_utf8_lossy(&out.get_output().stdout),
            String::from_utf8_lossy(&out.get_output().stderr)
        );
        // said as what it is (issue 27), not as a missing account
        assert!(shown.contains("cannot reach the cluster at"), "{shown}");
        assert!(!shown.contains("AccountNotFound"), "{shown}");
        assert!(!shown.contains("SECRET"), "{shown}");
    }
    // a store path with a typo is not silently a new, empty store
    let missing = dir.path().join("no/receiver.db");
    let out = micropay()
        .args([
            "claim",
            "-u",
            "http://127.0.0.1:9",
            "-k",
            key.to_str().unwrap(),
            "--store",
        ])
        .arg(&missing)
        .assert()
        .code(1);
    assert!(String::from_utf8_lossy(&out.get_output().stderr).contains("no store at"));
    assert!(!missing.exists());
    // a missing keypair says how to make one
    let out = micropay()
        .args(["demo", "-u", "localhost", "-k", "/nonexistent/id.json"])
        .assert()
        .code(1);
    assert!(String::from_utf8_lossy(&out.get_output().stderr).contains("solana-keygen new"));
}

/// Regression: an error printed to a stdout nobody reads any more (a
/// closed pipe: a supervisor that stopped reading after `serve`'s banner)
/// panicked in `println!` and turned exit code 2 into 101.
#[test]
fn a_closed_stdout_keeps_the_exit_code() {
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("micropay"))
        .args(["-u", "http://127.0.0.1:9", "--output", "json"])
        .args([
            "escrow",
            "show",
            "--mint",
            "sol",
            "--owner",
            &Keypair::new().pubkey().to_string(),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    drop(child.stdout.take()); // the reader goes away before anything is written
    assert_eq!(child.wait().unwrap().code(), Some(2));
}

/// A bad address names its argument and says what is wanted (clap's own
/// reason was "String is the wrong size") (issue 27).
#[test]
fn a_bad_address_names_its_argument() {
    for (args, named) in [
        (vec!["channel", "show", "xx"], "'<CHANNEL>'"),
        (
            vec!["earnings", "show", "--mint", "sol", "--owner", "xx"],
            "'--owner <OWNER>'",
        ),
        (
            vec!["channel", "open", "--creator", "xx", "--allocation", "1"],
            "'--creator <CREATOR>'",
        ),
        (vec!["airdrop", "1", "xx"], "'[PUBKEY]'"),
        (
            vec!["watch", "--distribute", "xx"],
            "'--distribute <SPLIT>'",
        ),
    ] {
        let out = micropay()
            .args(["-u", "http://127.0.0.1:9"])
            .args(&args)
            .assert()
            .code(1);
        let err = String::from_utf8_lossy(&out.get_output().stderr).to_string();
        assert!(
            err.contains(&format!("invalid value 'xx' for {named}"))
                && err.contains("not an address: expected a base58 public key"),
            "{args:?}: {err}"
        );
    }
}

/// `serve`'s file is checked before the cluster is reached, and its errors
/// name the file's keys, not the command line's flags (issue 27).
#[test]
fn serve_file_errors_name_its_keys() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("api.toml");
    let base = "upstream = \"http://127.0.0.1:8080\"\n";
    let addr = Keypair::new().pubkey();
    for (body, said) in [
        (
            "mints = [\"usdcx\"]".to_string(),
            "api.toml: mints: `usdcx`: give the mint's value",
        ),
        (format!("mints = [\"{addr}=abc\"]"), "api.toml: mints: `"),
        (
            "mints = [\"sol\"]\n[actions]\nmint = \"zz\"".to_string(),
            "api.toml: [actions] mint `zz` is not a mint address",
        ),
        (
            "mints = [\"sol\"]\n[fees]\nrecipients = [\"xx\"]".to_string(),
            "api.toml: [fees] recipients: `xx` is not an address",
        ),
    ] {
        std::fs::write(&file, format!("{base}{body}\n")).unwrap();
        let out = micropay()
            .args(["-u", "http://127.0.0.1:9", "--output", "json"])
            .args(["serve", "--check", "-c", file.to_str().unwrap()])
            .assert()
            .code(1);
        let msg = json(&out.get_output().stdout)["error"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(msg.contains(said), "{body}: {msg}");
        assert!(
            !msg.contains("--mint") && !msg.contains("--unit-lamports"),
            "{body}: {msg}"
        );
    }
}

#[test]
fn help_lists_every_flag() {
    let out = micropay().args(["demo", "--help"]).assert().success();
    let text = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    for flag in [
        "--payers",
        "--creators",
        "--payments",
        "--price",
        "--target-fee-ratio",
        "--seed",
        "--mint",
        "--url",
        "--keypair",
        "--output",
    ] {
        assert!(text.contains(flag), "{flag} missing from demo --help");
    }
    // every subcommand documents itself
    for cmd in [
        vec!["node"],
        vec!["escrow"],
        vec!["escrow", "init"],
        vec!["escrow", "deposit"],
        vec!["escrow", "withdraw"],
        vec!["escrow", "show"],
        vec!["channel"],
        vec!["channel", "open"],
        vec!["channel", "top-up"],
        vec!["channel", "request-close"],
        vec!["channel", "finalize"],
        vec!["channel", "creator-close"],
        vec!["channel", "show"],
        vec!["channel", "list"],
        vec!["earnings", "init"],
        vec!["earnings", "withdraw"],
        vec!["earnings", "show"],
        vec!["split", "create"],
        vec!["split", "show"],
        vec!["split", "distribute"],
        vec!["voucher", "sign"],
        vec!["voucher", "verify"],
        vec!["accept"],
        vec!["claim"],
        vec!["keys", "new"],
        vec!["keys", "pubkey"],
        vec!["watch"],
        vec!["airdrop"],
        vec!["serve"],
        vec!["fetch"],
        vec!["bench-paywall"],
        vec!["bench"],
        vec!["bench", "accept"],
    ] {
        let out = micropay().args(&cmd).arg("--help").assert().success();
        let text = String::from_utf8_lossy(&out.get_output().stdout).to_string();
        assert!(text.contains("Usage: micropay"), "{cmd:?}: {text}");
        assert!(
            text.contains("--url") && text.contains("--output"),
            "{cmd:?} lacks the global options"
        );
    }
}

/// A voucher file that is not there is said to be missing, not bad base58
/// (issue 27); a string that is neither says both.
#[test]
fn a_missing_voucher_file_is_no_such_file() {
    let home = tempfile::tempdir().unwrap();
    for (arg, said) in [
        (
            "/nonexistent/v.txt",
            "cannot read the voucher file /nonexistent/v.txt: no such file",
        ),
        ("v.txt", "cannot read the voucher file v.txt: no such file"),
        ("0OIl", "neither base58 nor a file"),
    ] {
        let out = micropay()
            .env("HOME", home.path())
            .current_dir(home.path())
            .args(["-u", "http://127.0.0.1:1", "--output", "json"])
            .args(["voucher", "verify", arg])
            .assert()
            .code(1);
        let v = json(&out.get_output().stdout);
        let msg = v["error"].as_str().unwrap();
        assert!(msg.contains(said), "{arg}: {msg}");
    }
}

/// A stand-in JSON-RPC node on a free local port: `answer` gives each
/// request's `result` (`Ok`) or `error` (`Err`); the runtime serving it,
/// and its URL.
fn stand_in_rpc(
    answer: impl Fn(&Value) -> Result<Value, Value> + Clone + Send + Sync + 'static,
) -> (tokio::runtime::Runtime, String) {
    use axum::{routing::post, Json, Router};
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let rpc = Router::new().route(
        "/",
        post(move |Json(request): Json<Value>| async move {
            let id = request["id"].clone();
            Json(match answer(&request) {
                Ok(result) => serde_json::json!({ "jsonrpc": "2.0", "id": id, "result": result }),
                Err(error) => serde_json::json!({ "jsonrpc": "2.0", "id": id, "error": error }),
            })
        }),
    );
    runtime.spawn(async move { axum::serve(listener, rpc).await });
    (runtime, url)
}

/// A JSON-RPC node that answers every `getAccountInfo` with "no account":
/// a cluster micropay was never deployed on.
fn cluster_without_micropay() -> (tokio::runtime::Runtime, String) {
    stand_in_rpc(|_| Ok(serde_json::json!({ "context": { "slot": 1 }, "value": null })))
}

/// A JSON-RPC node of a real cluster, as far as `node warp` asks: its
/// clock sysvar answers, surfpool's `surfnet_timeTravel` is "Method not
/// found".
fn cluster_without_time_travel() -> (tokio::runtime::Runtime, String) {
    // the Clock sysvar, bincode: slot, epoch start, epoch, leader schedule
    // epoch, unix timestamp
    let clock: Vec<u8> = [1u64, 0, 0, 0, 1_800_000_000]
        .iter()
        .flat_map(|n| n.to_le_bytes())
        .collect();
    let clock = bs58::encode(clock).into_string();
    stand_in_rpc(move |request| match request["method"].as_str() {
        Some("getAccountInfo") => Ok(serde_json::json!({ "context": { "slot": 1 }, "value": {
            "data": [clock, "base58"], "executable": false, "lamports": 1_169_280,
            "owner": "Sysvar1111111111111111111111111111111111111", "rentEpoch": 0, "space": 40,
        } })),
        _ => Err(serde_json::json!({ "code": -32601, "message": "Method not found" })),
    })
}

/// `node warp` on a cluster whose clock cannot move is refused at once
/// (issue 27): it names the cluster and what it works on, instead of
/// waiting for a clock that never jumps.
#[test]
fn node_warp_refuses_a_cluster_without_time_travel() {
    let (_rpc, url) = cluster_without_time_travel();
    let started = std::time::Instant::now();
    let out = micropay()
        .args(["-u", &url, "--output", "json", "node", "warp", "1h"])
        .assert()
        .code(1);
    let msg = json(&out.get_output().stdout)["error"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        msg.contains(&url)
            && msg.contains("cannot move its clock")
            && msg.contains("micropay node"),
        "{msg}"
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(30));
}

/// Before using micropay, a command looks once: a cluster without the
/// program says so (not "no escrow"), a stopped one that it cannot be
/// reached (issue 27).
#[test]
fn a_cluster_without_micropay_or_without_a_node_is_said_so() {
    let home = tempfile::tempdir().unwrap();
    let (_rpc, url) = cluster_without_micropay();
    let owner = Keypair::new().pubkey().to_string();
    let show = ["escrow", "show", "--mint", "sol", "--owner", owner.as_str()];
    let run = |url: &str, code: i32| {
        let out = micropay()
            .env("HOME", home.path())
            .args(["-u", url, "--output", "json"])
            .args(show)
            .assert()
            .code(code);
        json(&out.get_output().stdout)["error"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let msg = run(&url, 1);
    assert!(
        msg.contains(&format!("micropay is not deployed on {url}"))
            && msg.contains(&micropay::ID.to_string())
            && msg.contains("micropay node"),
        "{msg}"
    );
    let stopped = format!("http://127.0.0.1:{}", free_port());
    let msg = run(&stopped, 2);
    assert!(
        msg.contains(&format!("cannot reach the cluster at {stopped}")),
        "{msg}"
    );
}

/// A log level that is neither a level nor a filter is refused by name,
/// before anything runs.
#[test]
fn a_bad_log_level_is_named() {
    let home = tempfile::tempdir().unwrap();
    let out = micropay()
        .env("HOME", home.path())
        .env_remove("RUST_LOG")
        .args(["-u", "http://127.0.0.1:1", "--output", "json"])
        .args(["watch", "--log-level", "micropay=loud"])
        .assert()
        .code(1);
    let v = json(&out.get_output().stdout);
    let msg = v["error"].as_str().unwrap();
    assert!(
        msg.contains("--log-level `micropay=loud`") && msg.contains("error, warn, info"),
        "{msg}"
    );
}

/// A port clash is named at once (not a time-out half a minute later).
#[test]
fn node_says_at_once_which_port_is_taken() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let start = std::time::Instant::now();
    let out = micropay()
        .args(["node", "--rpc-port", &port.to_string(), "--output", "json"])
        .assert()
        .code(2);
    let v = json(&out.get_output().stdout);
    let msg = v["error"].as_str().unwrap();
    assert!(
        msg.contains(&format!("JSON-RPC port {port}")) && msg.contains("in use"),
        "{msg}"
    );
    assert!(start.elapsed() < std::time::Duration::from_secs(10));
}

/// `--rpc-port` alone puts the WebSocket on the next port (as
/// solana-test-validator does), and the banner names the `-u` to use.
#[test]
fn node_puts_the_websocket_next_to_a_chosen_rpc_port() {
    let rpc = loop {
        let p = free_port();
        if std::net::TcpListener::bind(("127.0.0.1", p + 1)).is_ok() {
            break p;
        }
    };
    let mut node = std::process::Command::new(assert_cmd::cargo::cargo_bin("micropay"))
        .args(["node", "--rpc-port", &rpc.to_string(), "--output", "json"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(node.stdout.as_mut().unwrap())
        .read_line(&mut line)
        .unwrap();
    let _ = node.kill();
    let _ = node.wait();
    let started: Value = serde_json::from_str(&line).unwrap();
    assert_eq!(started["ws_url"], format!("ws://127.0.0.1:{}", rpc + 1));
    assert_eq!(started["url"], format!("http://127.0.0.1:{rpc}"));
}

/// `micropay node` on free ports, then `micropay demo -u <its url>`, then Ctrl-C.
#[test]
fn node_serves_the_demo_and_stops_on_ctrl_c() {
    let (rpc, ws) = (free_port(), free_port());
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("id.json");
    let keypair = Keypair::new();
    micropay_tests::client::write_key(&key, &keypair);

    let mut node = std::process::Command::new(assert_cmd::cargo::cargo_bin("micropay"))
        .args([
            "node",
            "--rpc-port",
            &rpc.to_string(),
            "--ws-port",
            &ws.to_string(),
            "--fund-keypair",
        ])
        .args(["-k", key.to_str().unwrap(), "--output", "json"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(node.stdout.as_mut().unwrap())
        .read_line(&mut line)
        .unwrap();
    let started: Value = serde_json::from_str(&line).unwrap();
    let url = started["rpc_url"].as_str().unwrap().to_string();
    assert_eq!(url, format!("http://127.0.0.1:{rpc}"));
    assert_eq!(started["funded"][0], keypair.pubkey().to_string());

    let out = micropay()
        .args([
            "demo",
            "-u",
            &url,
            "-k",
            key.to_str().unwrap(),
            "--payments",
            "600",
            "--output",
            "json",
        ])
        .assert()
        .success();
    let v = json(&out.get_output().stdout);
    check_demo(&v, 600);
    assert_eq!(v["cluster"], url);

    std::process::Command::new("kill")
        .args(["-INT", &node.id().to_string()])
        .status()
        .unwrap();
    let status = node.wait().unwrap();
    assert!(status.success(), "node exited with {status}");
}

/// `-u` with a typo is named at once with the accepted forms (exit 1), for
/// every cluster command, before any network use.
#[test]
fn a_cluster_typo_is_named_not_a_builder_error() {
    let home = tempfile::tempdir().unwrap();
    let out = micropay()
        .env("HOME", home.path())
        .args(["-u", "localhostt", "escrow", "show", "--owner"])
        .arg(Keypair::new().pubkey().to_string())
        .args(["--mint", "sol", "--output", "json"])
        .assert()
        .code(1);
    let msg = json(&out.get_output().stdout)["error"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        msg.contains("unknown cluster \"localhostt\"") && msg.contains("localhost, devnet"),
        "{msg}"
    );
    assert!(!msg.contains("builder error"), "{msg}");
}

/// Signers follow the Solana CLI: the config file's keypair (read with
/// solana-cli-config, `~` expanded), `stdin`, and a clear refusal of USB.
#[test]
fn signers_follow_the_solana_cli_conventions() {
    let home = tempfile::tempdir().unwrap();
    let wallet = Keypair::new();
    let config_dir = home.path().join(".config/solana/cli");
    std::fs::create_dir_all(&config_dir).unwrap();
    micropay_tests::client::write_key(&home.path().join("wallet.json"), &wallet);
    std::fs::write(
        config_dir.join("config.yml"),
        "---\njson_rpc_url: \"http://127.0.0.1:1\"\nwebsocket_url: \"\"\nkeypair_path: ~/wallet.json\naddress_labels: {}\ncommitment: confirmed\n",
    )
    .unwrap();
    let pubkey = |args: &[&str], stdin: Option<String>| {
        let mut cmd = micropay();
        cmd.env("HOME", home.path()).args(args);
        if let Some(input) = stdin {
            cmd.write_stdin(input);
        }
        let out = cmd.assert().success();
        String::from_utf8_lossy(&out.get_output().stdout)
            .trim()
            .to_string()
    };
    // the config's keypair_path, with ~ expanded
    assert_eq!(
        pubkey(&["keys", "pubkey"], None),
        wallet.pubkey().to_string()
    );
    // `stdin`: a keypair file's contents piped in
    let piped = Keypair::new();
    let text = serde_json::to_string(&piped.to_bytes().to_vec()).unwrap();
    assert_eq!(
        pubkey(&["keys", "pubkey", "stdin"], Some(text)),
        piped.pubkey().to_string()
    );
    // a hardware wallet: refused, saying why and what works
    let out = micropay()
        .env("HOME", home.path())
        .args(["keys", "pubkey", "usb://ledger"])
        .assert()
        .code(1);
    let err = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(
        err.contains("usb://ledger") && err.contains("prompt://"),
        "{err}"
    );
    // the config's json_rpc_url is the default cluster (nothing listens there)
    let out = micropay()
        .env("HOME", home.path())
        .args(["channel", "show"])
        .arg(Keypair::new().pubkey().to_string())
        .assert()
        .code(2);
    let err = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(err.contains("127.0.0.1:1"), "{err}");
}

/// Program logs of refused transactions stay out of the node's terminal
/// unless `--log` is given; SIGTERM to `micropay node` stops the node it
/// runs (its ports are free again).
#[test]
fn node_logs_only_when_asked_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("id.json");
    let keypair = Keypair::new();
    micropay_tests::client::write_key(&key, &keypair);
    let key = key.to_str().unwrap().to_string();
    for log in [false, true] {
        let (rpc, ws) = (free_port(), free_port());
        let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("micropay"));
        cmd.args([
            "node",
            "--rpc-port",
            &rpc.to_string(),
            "--ws-port",
            &ws.to_string(),
        ])
        .args(["--fund-keypair", "-k", &key])
        .stdout(Stdio::piped());
        if log {
            cmd.arg("--log");
        }
        let mut node = cmd.spawn().unwrap();
        let mut out = BufReader::new(node.stdout.take().unwrap());
        let mut banner = String::new();
        while !banner.contains("Use it with") {
            assert!(out.read_line(&mut banner).unwrap() > 0, "{banner}");
        }
        let url = format!("http://127.0.0.1:{rpc}");
        let run = |args: &[&str]| {
            micropay()
                .args(["-u", &url, "-k", &key])
                .args(args)
                .assert()
        };
        run(&["escrow", "init", "--mint", "sol"]).success();
        run(&["escrow", "deposit", "--mint", "sol", "1"]).success();
        // refused by the program: a wallet where a token account belongs
        let wallet = keypair.pubkey().to_string();
        run(&[
            "escrow", "withdraw", "--mint", "sol", "0.5", "--to", &wallet,
        ])
        .code(1);
        std::process::Command::new("kill")
            .args(["-TERM", &node.id().to_string()])
            .status()
            .unwrap();
        let mut rest = String::new();
        std::io::Read::read_to_string(&mut out, &mut rest).unwrap();
        node.wait().unwrap();
        assert_eq!(rest.contains("AnchorError"), log, "log={log}: {rest}");
        // the node process is gone with it: its port binds again
        let mut bound = false;
        for _ in 0..50 {
            if std::net::TcpListener::bind(("127.0.0.1", rpc)).is_ok() {
                bound = true;
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        assert!(bound, "port {rpc} still taken after SIGTERM");
    }
}

/// A local node restarted on the same port keeps no state: the wallet it
/// funded is gone, and a command that pays a fee says so and what to do,
/// naming the wallet, instead of "AccountNotFound".
#[test]
fn a_restarted_empty_node_says_to_fund_the_wallet() {
    use micropay_node::{LocalNode, NodeConfig};
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("id.json");
    let wallet = Keypair::new();
    micropay_tests::client::write_key(&key, &wallet);
    // other tests bind ports too: a free port may be taken before we start
    let (node, config) = (0..10)
        .find_map(|_| {
            let config = NodeConfig {
                airdrop: vec![wallet.pubkey()],
                ..NodeConfig::ephemeral().unwrap()
            };
            LocalNode::start(config.clone()).ok().map(|n| (n, config))
        })
        .expect("a local node on free ports");
    let url = node.rpc_url().to_string();
    let run = |args: &[&str]| {
        micropay()
            .env("HOME", dir.path())
            .args(["-u", &url, "-k", key.to_str().unwrap()])
            .args(args)
            .assert()
    };
    run(&["escrow", "init", "--mint", "sol"]).success();
    node.stop();

    // same ports, empty state, nobody funded (the ports were just freed;
    // retry briefly in case another test grabbed one meanwhile)
    let restarted = NodeConfig {
        airdrop: vec![],
        ..config
    };
    let node = (0..20)
        .find_map(|_| {
            LocalNode::start(restarted.clone()).ok().or_else(|| {
                std::thread::sleep(std::time::Duration::from_millis(250));
                None
            })
        })
        .expect("the node restarts on its ports");
    let out = run(&["escrow", "init", "--mint", "sol"]).code(1);
    let err = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(
        err.contains(&wallet.pubkey().to_string())
            && err.contains("has no SOL on this cluster")
            && err.contains("micropay airdrop"),
        "{err}"
    );
    assert!(!err.contains("AccountNotFound"), "{err}");
    // read-only commands need no SOL: the escrow is simply not there
    let out = run(&["escrow", "show", "--mint", "sol"]);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.get_output().stdout),
        String::from_utf8_lossy(&out.get_output().stderr)
    );
    assert!(
        text.contains(&format!("no escrow for {}", wallet.pubkey()))
            && text.contains("micropay escrow init"),
        "{text}"
    );
    node.stop();
}

/// `bench accept` measures every case on the embedded bank, checks what it
/// stored, and batches commits when group commit is on.
/// `micropay bench` on a small scenario: every row is there, the executed
/// ones settle every channel, v1 packs more vouchers per fee than legacy and
/// both beat the precompile design, the baselines follow the fee model, and
/// the account sizes are today's.
#[test]
fn bench_reference_runs_every_design_and_policy() {
    let out = micropay()
        .args([
            "bench",
            "--payers",
            "10",
            "--creators",
            "2",
            "--payments",
            "600",
            "--claim-every",
            "200",
            "--throughput-vouchers",
            "160",
            "--output",
            "json",
        ])
        .assert()
        .success();
    let v = json(&out.get_output().stdout);
    let rows = v["rows"].as_array().unwrap();
    let find = |design: &str, format: &str, policy: &str| {
        rows.iter()
            .find(|r| r["design"] == design && r["tx_format"] == format && r["policy"] == policy)
            .unwrap_or_else(|| panic!("no {design} {format} {policy} row in {v}"))
    };
    let f = |r: &serde_json::Value, k: &str| r[k].as_f64().unwrap();
    let u = |r: &serde_json::Value, k: &str| r[k].as_u64().unwrap();
    for policy in ["periodic", "at close"] {
        let legacy = find("micropay", "legacy", policy);
        let v1 = find("micropay", "v1", policy);
        let peers = find("precompile design", "legacy", policy);
        assert_eq!(legacy["executed"], true);
        assert_eq!(peers["executed"], false);
        // every channel settled at least once; one signature per transaction
        for r in [legacy, v1] {
            assert!(u(r, "settlements") >= 20, "{r}");
            assert_eq!(u(r, "fees_lamports"), 5_000 * u(r, "transactions"), "{r}");
        }
        assert!(
            f(v1, "vouchers_per_tx") > f(legacy, "vouchers_per_tx"),
            "{v1} {legacy}"
        );
        // the precompile design: 5 per transaction, a fee per voucher too
        let s = u(peers, "settlements");
        assert_eq!(s, u(legacy, "settlements"));
        assert_eq!(u(peers, "transactions"), s.div_ceil(5));
        assert_eq!(u(peers, "fees_lamports"), 5_000 * (s + s.div_ceil(5)));
        assert!(f(peers, "fee_per_payment_lamports") > f(legacy, "fee_per_payment_lamports"));
    }
    // at the close each of the 20 channels is settled exactly once
    assert_eq!(u(find("micropay", "v1", "at close"), "settlements"), 20);
    assert_eq!(
        v["lamports_per_settled_channel_v1"].as_f64().unwrap(),
        f(
            find("micropay", "v1", "at close"),
            "lamports_per_settled_channel"
        )
    );
    let x402 = find("x402 exact", "legacy", "per payment");
    assert_eq!(u(x402, "fees_lamports"), 600 * 5_000);
    assert_eq!(v["x402_exact"], *x402);
    assert!(v["max_vouchers_per_tx_v1"].as_u64().unwrap() >= 30);
    assert!(v["max_vouchers_per_tx_legacy"].as_u64().unwrap() >= 9);
    for k in [
        "vouchers_per_tx_legacy",
        "vouchers_per_tx_v1",
        "lamports_per_settled_channel_legacy",
        "fee_per_payment_lamports",
        "fee_ratio",
        "fee_per_payment_floor_lamports",
        "accept_per_sec",
        "sign_per_sec",
        "verify_per_sec_ceiling",
        "raw_sign_per_sec",
    ] {
        assert!(v[k].as_f64().unwrap() > 0.0, "{k}: {v}");
    }
    assert_eq!(v["channel_account_bytes"], 223);
    assert_eq!(v["peer_channel_rent_lamports"], 4_711_920);
    assert!(
        v["channel_rent_lamports"].as_u64().unwrap() < 4_711_920,
        "{}",
        v["channel_rent_lamports"]
    );
    // bad shapes are user errors
    micropay()
        .args(["bench", "--claim-every", "0"])
        .assert()
        .code(1);
}

#[test]
fn bench_accept_measures_every_case_and_group_commit_batches() {
    let out = micropay()
        .args([
            "bench",
            "accept",
            "--clients",
            "8",
            "--vouchers",
            "800",
            "--output",
            "json",
        ])
        .assert()
        .success();
    let v = json(&out.get_output().stdout);
    let cases = v["cases"].as_array().unwrap();
    let find = |op: &str, store: &str, mode: &str| {
        cases
            .iter()
            .find(|c| c["operation"] == op && c["store"] == store && c["mode"] == mode)
            .unwrap_or_else(|| panic!("no {op} {store} {mode} case in {v}"))
    };
    assert_eq!(find("verify", "none", "one core")["operations"], 800);
    for mode in ["one commit each", "group commit"] {
        let c = find("accept", "sqlite (disk)", mode);
        // one warm-up voucher per channel is not timed
        assert_eq!(c["operations"], 792, "{c}");
        assert_eq!(c["durable"], true);
        assert!(c["per_second"].as_f64().unwrap() > 0.0);
    }
    assert!(find("accept", "sqlite (disk)", "one commit each")["mean_batch"].is_null());
    let grouped = find("accept", "sqlite (disk)", "group commit");
    assert!(grouped["mean_batch"].as_f64().unwrap() >= 1.0, "{grouped}");
    assert_eq!(
        find("accept", "sqlite (memory)", "group commit")["durable"],
        false
    );
    for mode in ["one write each", "reserve 64 ahead"] {
        assert_eq!(find("pay", "sqlite (disk)", mode)["operations"], 800);
    }
    // the text form is a table with a header
    let out = micropay()
        .args(["bench", "accept", "--clients", "2", "--vouchers", "20"])
        .assert()
        .success();
    let text = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    assert!(
        text.contains("ops/s") && text.contains("group commit"),
        "{text}"
    );
    let out = micropay()
        .args(["bench", "accept", "--clients", "0"])
        .assert()
        .code(1);
    let err = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(err.contains("--clients takes 1 to 1024"), "{err}");
    let out = micropay()
        .args(["bench", "accept", "--postgres", "/tmp/not-a-url"])
        .assert()
        .code(1);
    let err = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(err.contains("--postgres takes a postgres:// URL"), "{err}");
}

/// With `--postgres`, the same accept and pay cases run on a real Postgres
/// (a throwaway cluster), twice on one database: runs never collide.
#[test]
fn bench_accept_on_postgres_measures_accepts_and_pays() {
    let Some(cluster) = micropay_tests::postgres::PgCluster::start() else {
        return;
    };
    cluster.create_database("bench");
    let url = cluster.postgres_url("bench");
    for _ in 0..2 {
        let out = micropay()
            .args(["bench", "accept", "--clients", "4", "--vouchers", "200"])
            .args(["--postgres", &url, "--output", "json"])
            .assert()
            .success();
        let v = json(&out.get_output().stdout);
        let cases = v["cases"].as_array().unwrap();
        let find = |op: &str, mode: &str| {
            cases
                .iter()
                .find(|c| c["operation"] == op && c["store"] == "postgres" && c["mode"] == mode)
                .unwrap_or_else(|| panic!("no {op} postgres {mode} case in {v}"))
        };
        for mode in ["one commit each", "group commit"] {
            let c = find("accept", mode);
            assert_eq!(c["operations"], 196, "{c}");
            assert_eq!(c["durable"], true);
        }
        for mode in ["one write each", "reserve 64 ahead"] {
            assert_eq!(find("pay", mode)["operations"], 200);
        }
    }
    // each accept case left one row per channel, each pay case one per client
    let rows = cluster.sql("bench", "SELECT count(*) FROM receiver_vouchers");
    assert_eq!(rows.trim(), "16");
}

#[test]
fn bench_paywall_prints_a_row_per_level_and_counts_every_payment() {
    let out = micropay()
        .args([
            "bench-paywall",
            "--concurrency",
            "1,4",
            "--requests",
            "40",
            "--store",
            "memory",
            "--exact-requests",
            "4",
            "--output",
            "json",
        ])
        .assert()
        .success();
    let v = json(&out.get_output().stdout);
    let levels = v["levels"].as_array().unwrap();
    assert_eq!(levels.len(), 2);
    assert_eq!(levels[0]["concurrency"], 1);
    assert_eq!(levels[1]["concurrency"], 4);
    // each client's untimed warm-up request is paid and counted too
    assert_eq!(levels[0]["warmup"], 1);
    assert_eq!(levels[1]["warmup"], 4);
    assert_eq!(v["accepted"], 40 + 1 + 40 + 4);
    assert_eq!(v["deploy"], "proxy");
    for l in levels {
        assert!(l["paid_rps"].as_f64().unwrap() > 0.0);
        assert!(l["paid_p99_us"].as_u64().unwrap() >= l["paid_p50_us"].as_u64().unwrap());
    }
    // the same gateway paid by `exact` transfers settled on a local node:
    // per level 4 timed requests and a warm-up per client, each one price
    // (1,000 base units) to the payee, checked by the bench itself
    let exact = &v["exact"];
    assert_eq!(exact["slot_ms"], 400, "{v}");
    let e = exact["levels"].as_array().unwrap();
    assert_eq!(
        (e[0]["requests"].as_u64(), e[0]["warmup"].as_u64()),
        (Some(4), Some(1))
    );
    assert_eq!(
        (e[1]["requests"].as_u64(), e[1]["warmup"].as_u64()),
        (Some(4), Some(4))
    );
    assert_eq!(exact["transferred"], (4 + 1 + 4 + 4) * 1_000);
    for l in e {
        assert!(l["paid_rps"].as_f64().unwrap() > 0.0, "{l}");
        assert!(l["paid_p99_us"].as_u64().unwrap() >= l["paid_p50_us"].as_u64().unwrap());
    }
    // the paywall as a layer on the upstream's own router counts the same way
    let out = micropay()
        .args([
            "bench-paywall",
            "--concurrency",
            "3",
            "--requests",
            "30",
            "--store",
            "memory",
            "--deploy",
            "layer",
            "--exact-requests",
            "0",
            "--output",
            "json",
        ])
        .assert()
        .success();
    let v = json(&out.get_output().stdout);
    assert_eq!(v["deploy"], "layer");
    assert!(v.get("exact").is_none(), "skipped: {v}");
    assert_eq!(v["accepted"], 30 + 3);
    assert_eq!(v["levels"][0]["concurrency"], 3);
    micropay()
        .args(["bench-paywall", "--concurrency", "0"])
        .assert()
        .code(1);
}

/// `serve` refuses a bad configuration file before touching the cluster,
/// naming the file and what is wrong.
#[test]
fn serve_says_what_is_wrong_with_its_file() {
    let dir = tempfile::tempdir().unwrap();
    let cases: [(&str, &str); 5] = [
        ("", "missing field `upstream`"),
        (
            "upstream = \"http://127.0.0.1:1\"\nmints = [\"sol\"]\n[watch]\ntx_format = \"v2\"\n",
            "tx_format must be \"auto\", \"legacy\" or \"v1\"",
        ),
        (
            "upstream = \"ftp://x\"\nmints = [\"sol\"]\n",
            "must be an http:// or https:// URL",
        ),
        (
            "upstream = \"http://127.0.0.1:1\"\nmints = []\n",
            "`mints` is empty",
        ),
        (
            "upstream = \"http://127.0.0.1:1\"\nmints = [\"sol\"]\nlisten_on = 1\n",
            "unknown field `listen_on`",
        ),
    ];
    for (text, expected) in cases {
        let path = dir.path().join("serve.toml");
        std::fs::write(&path, text).unwrap();
        let out = micropay()
            .args(["-u", "http://127.0.0.1:1", "serve", "-c"])
            .arg(&path)
            .assert()
            .code(1);
        let err = String::from_utf8_lossy(&out.get_output().stderr).to_string();
        assert!(
            err.contains(expected) && err.contains("serve.toml"),
            "{text:?}: {err}"
        );
    }
    let out = micropay()
        .args(["serve", "-c", "/nonexistent/serve.toml"])
        .assert()
        .code(1);
    let err = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(
        err.contains("/nonexistent/serve.toml") && err.contains("--config"),
        "{err}"
    );
}
