//! The crate cut holds: what a dApp pulls with `cargo add` stays small.
//! `micropay-sdk` has no async runtime, database or RPC client;
//! `micropay-client` without default features has no bank, local node or
//! CLI framework. Checked with `cargo tree`, as a user would see it.

use std::process::Command;

/// The crate names in `cargo tree`'s output for `args`.
fn tree(args: &[&str]) -> Vec<String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args([
            "tree",
            "--offline",
            "--locked",
            "--prefix",
            "none",
            "--format",
            "{p}",
        ])
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo runs");
    assert!(
        out.status.success(),
        "cargo tree {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().next().map(str::to_owned))
        .collect()
}

fn assert_absent(args: &[&str], banned: &[&str]) {
    let crates = tree(args);
    assert!(crates.len() > 10, "cargo tree {args:?} listed {crates:?}");
    for name in banned {
        assert!(
            !crates.iter().any(|c| c == name),
            "cargo tree {args:?} contains {name}"
        );
    }
}

#[test]
fn sdk_has_no_runtime_database_or_rpc_client() {
    assert_absent(
        &["-p", "micropay-sdk"],
        &[
            "tokio",
            "rusqlite",
            "solana-client",
            "solana-rpc-client",
            "reqwest",
            // the component crates it uses, not the umbrella (seed phrases,
            // presigners, off-chain messages, inflation, … it never calls)
            "solana-sdk",
        ],
    );
}

#[test]
fn client_without_default_features_has_no_bank_node_or_cli() {
    let banned = [
        "solana-program-test",
        "surfpool-core",
        "surfpool-types",
        "micropay-node",
        "micropay-native",
        "clap",
        "indicatif",
        "rusqlite",
    ];
    assert_absent(&["-p", "micropay-client", "--no-default-features"], &banned);
    // the default feature adds SQLite and nothing else of the list
    let crates = tree(&["-p", "micropay-client"]);
    assert!(crates.iter().any(|c| c == "rusqlite"));
    assert_absent(&["-p", "micropay-client"], &banned[..7]);
}

#[test]
fn program_tests_do_not_build_the_local_node() {
    assert_absent(
        &["-p", "micropay-tests"],
        &["surfpool-core", "micropay-node", "clap"],
    );
}

/// A creator adding the paywall to an axum service, or a dApp adding the
/// paying middleware, pulls neither the bank nor the local node nor the CLI.
#[test]
fn http_crate_has_no_bank_node_or_cli() {
    assert_absent(
        &["-p", "micropay-http", "-e", "normal"],
        &[
            "solana-program-test",
            "surfpool-core",
            "micropay-node",
            "micropay-native",
            "clap",
            "indicatif",
        ],
    );
}

/// `cargo run --release -- demo` (the CLI's default features) builds the
/// embedded ledger and nothing of the local node, Postgres, the HTTP server
/// or the runtime's bank.
#[test]
fn cli_default_build_is_the_demo_and_the_commands() {
    assert_absent(
        &["-p", "micropay-cli", "-e", "normal"],
        &[
            "surfpool-core",
            "micropay-node",
            "solana-program-test",
            "solana-runtime",
            "tokio-postgres",
            "axum",
            "micropay-http",
        ],
    );
    let crates = tree(&["-p", "micropay-cli", "-e", "normal"]);
    assert!(crates.iter().any(|c| c == "litesvm"), "the embedded ledger");
    // each feature adds what it names
    for (feature, adds) in [
        ("local-node", "surfpool-core"),
        ("postgres", "tokio-postgres"),
        ("http", "axum"),
        ("bench", "nix"),
    ] {
        let crates = tree(&["-p", "micropay-cli", "-e", "normal", "--features", feature]);
        assert!(crates.iter().any(|c| c == adds), "{feature} adds {adds}");
    }
}

/// A dApp testing against the embedded ledger, or embedding the builtin in
/// its own LiteSVM, does not build the runtime's bank.
#[test]
fn embedded_ledger_and_native_builtin_have_no_runtime_bank() {
    let banned = [
        "solana-program-test",
        "solana-runtime",
        "solana-accounts-db",
        "surfpool-core",
    ];
    assert_absent(
        &[
            "-p",
            "micropay-client",
            "--features",
            "embedded",
            "-e",
            "normal",
        ],
        &banned,
    );
    assert_absent(&["-p", "micropay-native", "-e", "normal"], &banned);
    let crates = tree(&[
        "-p",
        "micropay-native",
        "--features",
        "program-test",
        "-e",
        "normal",
    ]);
    assert!(crates.iter().any(|c| c == "solana-program-test"));
}

/// A dApp that only pays gets no HTTP server (axum); the server half has it.
#[test]
fn http_halves_come_apart() {
    let client = [
        "-p",
        "micropay-http",
        "-e",
        "normal",
        "--no-default-features",
        "--features",
        "client",
    ];
    // (reqwest brings tower itself: the server half is axum)
    assert_absent(&client, &["axum", "axum-core"]);
    assert!(tree(&client).iter().any(|c| c == "reqwest-middleware"));
    let server = [
        "-p",
        "micropay-http",
        "-e",
        "normal",
        "--no-default-features",
        "--features",
        "server",
    ];
    // (reqwest-middleware comes with the RPC client of micropay-client)
    assert!(tree(&server).iter().any(|c| c == "axum"));
}
