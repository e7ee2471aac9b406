//! The README's shell sessions, run verbatim: every ```sh and ```bash block
//! of README.md is either run here — in README order, by one `bash`, with
//! `micropay` first on the PATH, an empty HOME (no wallet, no Solana CLI
//! config) and an empty working directory — or named in [`RUN_ELSEWHERE`]
//! with the test or CI step that runs it. A ```toml block whose first line
//! is `# <name>.toml` is written to that file before the blocks after it
//! run, as a reader saves it. The API the README sells is a stand-in started
//! here on 127.0.0.1:8080 (the README's `upstream`). The only things added
//! to the lines are the pauses a person makes: after starting a server in
//! the background, until its port answers; after `kill`, until the jobs
//! have ended.
//!
//! The node listens on the default port 8899 and the gateway on 8402; this
//! file holds this one test so that no other test of this binary runs
//! beside it.
#![allow(clippy::arithmetic_side_effects)] // string offsets in a test

use std::{path::Path, process::Command};

/// Shell blocks this test does not run, by a line they contain, with what
/// runs them instead. A new block must be run here or named here.
const RUN_ELSEWHERE: &[(&str, &str)] = &[
    (
        "cargo test --workspace --locked",
        "the two commands: `.ci/run` runs the test command, `cli/tests/cli.rs` the demo",
    ),
    (
        "cargo install --locked --path cli --features full",
        "a second build of the CLI: the tests run that binary, built with `full` (cli/full)",
    ),
    (
        "npm run --prefix ts -w micropay-anchor-example example",
        "node/tests/typescript.rs runs the example against `micropay node`",
    ),
];

/// A fenced block of the README: its language and lines.
struct Block {
    lang: String,
    lines: Vec<String>,
}

fn blocks(readme: &str) -> Vec<Block> {
    let mut out = Vec::new();
    let mut open: Option<Block> = None;
    for line in readme.lines() {
        match (&mut open, line.strip_prefix("```")) {
            (None, Some(lang)) => {
                open = Some(Block {
                    lang: lang.trim().to_owned(),
                    lines: Vec::new(),
                })
            }
            (Some(_), Some(_)) => out.extend(open.take()),
            (Some(block), None) => block.lines.push(line.to_owned()),
            (None, None) => {}
        }
    }
    out
}

fn is_shell(b: &Block) -> bool {
    b.lang == "sh" || b.lang == "bash"
}

/// The port a background line's server listens on (what a person waits
/// for before the next line).
fn port_of(line: &str) -> Option<u16> {
    let command = line.split('#').next().unwrap_or("").trim_end();
    if !command.ends_with('&') {
        return None;
    }
    if command.contains(" serve ") {
        Some(8402)
    } else if command.contains(" node") {
        Some(8899)
    } else {
        panic!("a background line this test does not know the port of: {line}")
    }
}

/// One bash script of every block this test runs.
fn script(blocks: &[Block]) -> String {
    // a failing line must not leave a server holding its port
    let mut script =
        String::from("set -euo pipefail\ntrap 'kill $(jobs -p) 2>/dev/null || true' EXIT\n");
    for block in blocks {
        if block.lang == "toml" {
            let named = block.lines.first().and_then(|l| l.strip_prefix("# "));
            if let Some(file) = named.filter(|f| f.ends_with(".toml") && !f.contains(' ')) {
                script.push_str(&format!("cat > {file} <<'MICROPAY_README_EOF'\n"));
                for line in &block.lines {
                    script.push_str(line);
                    script.push('\n');
                }
                script.push_str("MICROPAY_README_EOF\n");
            }
            continue;
        }
        for line in &block.lines {
            script.push_str(line);
            script.push('\n');
            if line.starts_with("kill ") {
                // what a person sees before going on: the jobs have ended
                // (and let go of their ports)
                script.push_str("wait || true\n");
            }
            if let Some(port) = port_of(line) {
                script.push_str(&format!(
                    "for _ in $(seq 1 600); do (exec 3<>/dev/tcp/127.0.0.1/{port}) 2>/dev/null && break; sleep 0.1; done\n"
                ));
            }
        }
    }
    script
}

/// The API the README sells: today's weather, as JSON.
fn stand_in_upstream() -> tokio::runtime::Runtime {
    use axum::{extract::Path, routing::get, Json, Router};
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:8080"))
        .expect("port 8080 is free for the stand-in upstream");
    let api = Router::new().route(
        "/weather/{city}",
        get(|Path(city): Path<String>| async move {
            Json(serde_json::json!({ "city": city, "temp": 21 }))
        }),
    );
    runtime.spawn(async move { axum::serve(listener, api).await });
    runtime
}

#[test]
fn every_readme_session_runs_verbatim_on_a_fresh_machine() {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md"))
            .unwrap();
    let all = blocks(&readme);
    let (elsewhere, run): (Vec<&Block>, Vec<&Block>) =
        all.iter().filter(|b| is_shell(b)).partition(|b| {
            RUN_ELSEWHERE
                .iter()
                .any(|(marker, _)| b.lines.iter().any(|l| l.contains(marker)))
        });
    assert_eq!(
        elsewhere.len(),
        RUN_ELSEWHERE.len(),
        "each block run elsewhere is still in the README"
    );
    assert!(run.len() >= 3, "the sessions are in the README");
    for block in &run {
        assert!(
            block
                .lines
                .iter()
                .all(|l| !l.contains("solana") || l.contains(".config/solana")),
            "the sessions must not need the Solana CLI: {:?}",
            block.lines
        );
    }
    let ran: Vec<Vec<String>> = run.iter().map(|b| b.lines.clone()).collect();
    let to_run: Vec<Block> = all
        .into_iter()
        .filter(|b| b.lang == "toml" || (is_shell(b) && ran.contains(&b.lines)))
        .collect();
    let script = script(&to_run);

    let _upstream = stand_in_upstream();
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
        "a README session failed\n--- script\n{script}\n--- stdout\n{stdout}\n--- stderr\n{stderr}"
    );
    println!("{stdout}");
    // the first session: the creator withdrew what the voucher paid
    assert!(stdout.contains("total earned  0.001 SOL"), "{stdout}");
    assert!(work.path().join("v.txt").exists());
    // the second: the paid request was served the stand-in's answer
    assert!(stdout.contains(r#""city":"paris""#), "{stdout}");
}
