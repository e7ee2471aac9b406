//! The README's "session from scratch", run verbatim: the fenced block is
//! read from README.md and run by one `bash` with `micropay` first on the
//! PATH, an empty HOME (no wallet, no Solana CLI config) and an empty working
//! directory. The only thing added is the pause a person makes after
//! starting the node in the background: waiting until its port answers.
//!
//! The node listens on the default port 8899; this file holds this one test
//! so that no other test of this binary runs beside it.
#![allow(clippy::arithmetic_side_effects)] // string offsets in a test

use std::{path::Path, process::Command};

const START: &str = "A session from scratch on the local node";

/// The lines of the first ```sh block after the session's heading.
fn session(readme: &str) -> Vec<String> {
    let from = readme.find(START).expect("the README has the session");
    let block = &readme[from..];
    let open = block.find("```sh\n").expect("a sh block") + "```sh\n".len();
    let close = open + block[open..].find("```").expect("the block ends");
    block[open..close].lines().map(str::to_owned).collect()
}

#[test]
fn the_readme_session_runs_verbatim_on_a_fresh_machine() {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md"))
            .unwrap();
    let lines = session(&readme);
    assert!(lines.len() >= 10, "{lines:?}");
    assert!(
        lines
            .iter()
            .all(|l| !l.contains("solana") || l.contains(".config/solana")),
        "the session must not need the Solana CLI: {lines:?}"
    );
    // a failing line must not leave the node holding the port
    let mut script =
        String::from("set -euo pipefail\ntrap 'kill $(jobs -p) 2>/dev/null || true' EXIT\n");
    for line in &lines {
        script.push_str(line);
        script.push('\n');
        if line
            .split('#')
            .next()
            .unwrap_or("")
            .trim_end()
            .ends_with('&')
        {
            // what a person does: wait for the node before the next line
            script.push_str(
                "for _ in $(seq 1 600); do (exec 3<>/dev/tcp/127.0.0.1/8899) 2>/dev/null && break; sleep 0.1; done\n",
            );
        }
    }
    let bin = assert_cmd::cargo::cargo_bin("micropay");
    let path = format!(
        "{}:{}",
        bin.parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let home = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    let out = Command::new("bash")
        .arg("-c")
        .arg(&script)
        .current_dir(work.path())
        .env_clear()
        .env("PATH", path)
        .env("HOME", home.path())
        .output()
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(
        out.status.success(),
        "the README session failed\n--- script\n{script}\n--- stdout\n{stdout}\n--- stderr\n{stderr}"
    );
    println!("{stdout}");
    // the creator withdrew what the voucher paid: 0.001 SOL
    assert!(stdout.contains("total earned  0.001 SOL"), "{stdout}");
    assert!(work.path().join("v.txt").exists());
}
