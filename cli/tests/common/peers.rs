//! Peers' clients in other languages, run against a local node and
//! `serve`; each script prints one JSON line.
//!
//! - TypeScript (`ts/examples/<package>/<script>.ts`: `interop` on
//!   `@micropay/sdk`, `x402-svm` on x402's own Solana client), run by Node:
//!   `@micropay/sdk` is built once, and each script is compiled into its
//!   own directory under its package's `dist` (so tests running at once
//!   never write the same file). Without Node.js or `ts/node_modules` a
//!   test says how to run it and passes, unless
//!   `MICROPAY_REQUIRE_TYPESCRIPT=1`.
//! - Python (`py/interop/`), run by the venv `py/.venv` holding
//!   `py/requirements.txt`. Without it a test says how to make it and
//!   passes, unless `MICROPAY_REQUIRE_PYTHON=1`.
//!
//! `.ci/run` installs both and sets both variables: there a skip fails.

use serde_json::Value;
use std::{
    io::Write,
    path::{Path, PathBuf},
    process::{Command, Output},
};

fn ts() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../ts")
}

fn py() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../py")
}

/// `installed`, or a skip said on the terminal — a failure when `require`
/// (an environment variable) is set. `how` says how to install.
pub fn installed_or_skip(installed: bool, peer: &str, require: &str, how: &str) -> bool {
    if !installed {
        assert!(
            std::env::var_os(require).is_none(),
            "{require} is set but the {peer} peers cannot run: {how}"
        );
        // straight to the terminal: libtest captures only print! macros
        let _ = writeln!(
            std::io::stderr(),
            "note: a {peer} peer was not run: {how} (.ci/run does)"
        );
    }
    installed
}

/// Whether the TypeScript peers can run here (see the module docs).
pub fn available() -> bool {
    let installed = ts().join("node_modules/.package-lock.json").exists()
        && Command::new("node").arg("--version").output().is_ok();
    installed_or_skip(
        installed,
        "TypeScript",
        "MICROPAY_REQUIRE_TYPESCRIPT",
        "install Node.js and run `npm ci --prefix ts`",
    )
}

/// Whether the Python peers can run here (see the module docs).
pub fn python_available() -> bool {
    installed_or_skip(
        py().join(".venv/bin/python").exists(),
        "Python",
        "MICROPAY_REQUIRE_PYTHON",
        "python3 -m venv py/.venv && py/.venv/bin/pip install --require-hashes --no-deps -r py/requirements.txt",
    )
}

/// Builds `@micropay/sdk` (`ts/packages/sdk/dist`), once per test process.
fn sdk_built(ts: &Path) {
    static BUILT: std::sync::Mutex<bool> = std::sync::Mutex::new(false);
    let mut built = BUILT.lock().unwrap_or_else(|p| p.into_inner());
    if !*built {
        let out = Command::new("npm")
            .args(["run", "build", "-w", "@micropay/sdk"])
            .current_dir(ts)
            .output()
            .expect("cannot run npm");
        assert!(
            out.status.success(),
            "building @micropay/sdk: {}",
            output(&out)
        );
        *built = true;
    }
}

/// The example package holding `<script>.ts`.
fn package_of(ts: &Path, script: &str) -> PathBuf {
    std::fs::read_dir(ts.join("examples"))
        .expect("ts/examples")
        .map(|e| e.expect("ts/examples entry").path())
        .find(|dir| dir.join(format!("{script}.ts")).exists())
        .unwrap_or_else(|| panic!("no ts/examples/*/{script}.ts"))
}

/// Compiles `ts/examples/*/<script>.ts` (strict) and runs it with `env`;
/// its JSON line. Panics with its output when it fails.
pub async fn run(script: &str, env: &[(&str, &str)]) -> Value {
    let (ts, script) = (ts(), script.to_string());
    run_blocking(env, move |env| {
        sdk_built(&ts);
        let package = package_of(&ts, &script);
        let out_dir = format!("dist/{script}");
        let compiled = Command::new("npx")
            .args(["tsc", "-p", "tsconfig.json", "--outDir", &out_dir])
            .current_dir(&package)
            .output()
            .expect("cannot run npx tsc");
        assert!(compiled.status.success(), "tsc: {}", output(&compiled));
        let ran = Command::new("node")
            .arg(format!("{out_dir}/{script}.js"))
            .envs(env)
            .current_dir(&package)
            .output()
            .expect("cannot run node");
        json_line(&script, &ran)
    })
    .await
}

/// Runs `py/interop/<script>.py` with `env`; its JSON line. Panics with
/// its output when it fails.
pub async fn run_python(script: &str, env: &[(&str, &str)]) -> Value {
    let (py, script) = (py(), script.to_string());
    run_blocking(env, move |env| {
        let ran = Command::new(py.join(".venv/bin/python"))
            .arg(py.join(format!("interop/{script}.py")))
            .envs(env)
            .output()
            .expect("cannot run the venv's python");
        json_line(&script, &ran)
    })
    .await
}

/// `run(env)` on tokio's blocking pool (a script takes seconds).
async fn run_blocking(
    env: &[(&str, &str)],
    run: impl FnOnce(Vec<(String, String)>) -> Value + Send + 'static,
) -> Value {
    let env = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    tokio::task::spawn_blocking(move || run(env)).await.unwrap()
}

/// The last line a successful `script` printed, as JSON.
fn json_line(script: &str, ran: &Output) -> Value {
    assert!(ran.status.success(), "{script}: {}", output(ran));
    let stdout = String::from_utf8_lossy(&ran.stdout);
    let line = stdout.lines().last().unwrap_or_default();
    serde_json::from_str(line).unwrap_or_else(|e| panic!("{script}: {e}: {}", output(ran)))
}

fn output(out: &Output) -> String {
    format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}
