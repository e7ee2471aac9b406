//! The TypeScript workspace (`ts/`) against this node: `npm test` builds
//! `@micropay/sdk` and runs every package's tests —
//! - the sdk's: the cross-language vectors, the generated client's
//!   freshness, the store conformance suite, the payer's and the x402
//!   scheme's rules against hostile servers, Wallet Standard signing, and
//!   its chain steps on this node (escrow, fund + open in one approval,
//!   recovery from the chain, top-up, close, typed program errors);
//! - the Anchor example's: the micropay flow through `@anchor-lang/core`
//!   for wrapped SOL, SPL and Token-2022, a forged voucher's typed
//!   `AnchorError`, a `.simulate()`, the `Claimed` event;
//! - the interop scripts' type checks (they run in `cli/tests`).
//!
//! It needs Node.js and the packages (`npm ci --prefix ts`). Without
//! them it says how to run it and passes, unless
//! `MICROPAY_REQUIRE_TYPESCRIPT=1` (set by `.ci/run`), where a skip fails.

use micropay_node::{LocalNode, NodeConfig};
use std::{io::Write, path::Path, process::Command};

fn run(dir: &Path, program: &str, args: &[&str], env: &[(&str, &str)]) {
    let out = Command::new(program)
        .args(args)
        .envs(env.iter().copied())
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
    assert!(
        out.status.success(),
        "{program} {args:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn typescript_packages() {
    let ts = Path::new(env!("CARGO_MANIFEST_DIR")).join("../ts");
    let installed = ts.join("node_modules/.package-lock.json").exists()
        && Command::new("node").arg("--version").output().is_ok();
    if !installed {
        assert!(
            std::env::var_os("MICROPAY_REQUIRE_TYPESCRIPT").is_none(),
            "MICROPAY_REQUIRE_TYPESCRIPT is set but the TypeScript example cannot run: \
             install Node.js and run `npm ci --prefix ts`"
        );
        // straight to the terminal: libtest captures only print! macros
        let _ = writeln!(
            std::io::stderr(),
            "note: the TypeScript example was not run: install Node.js and run `npm ci --prefix ts` (.ci/run does)"
        );
        return;
    }
    // a cluster's slot time: web3.js gives a transaction 150 blocks to
    // confirm, which at the ephemeral 100 ms a slot a loaded CI machine
    // once missed (`TransactionExpiredBlockheightExceededError`)
    let node = LocalNode::start(NodeConfig {
        slot_time_ms: 400,
        ..NodeConfig::ephemeral().unwrap()
    })
    .unwrap();
    run(
        &ts,
        "npm",
        &["test", "--silent"],
        &[
            ("MICROPAY_RPC_URL", node.rpc_url()),
            ("MICROPAY_WS_URL", node.ws_url()),
        ],
    );
    node.stop();
}
