//! Peers' TypeScript clients (`ts/interop/`), run by Node against a local
//! node and `serve`. Each script is compiled into its own directory under
//! `ts/dist` (so tests running at once never write the same file) and run
//! with the environment given; it prints one JSON line.
//!
//! Without Node.js or `ts/node_modules` a test says how to run it and
//! passes, unless `MICROPAY_REQUIRE_TYPESCRIPT=1` (set by `.ci/run`), where
//! a skip fails.

use serde_json::Value;
use std::{
    io::Write,
    path::{Path, PathBuf},
    process::Command,
};

fn ts() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../ts")
}

/// Whether the TypeScript peers can run here (see the module docs).
pub fn available() -> bool {
    let installed = ts().join("node_modules/.package-lock.json").exists()
        && Command::new("node").arg("--version").output().is_ok();
    if !installed {
        assert!(
            std::env::var_os("MICROPAY_REQUIRE_TYPESCRIPT").is_none(),
            "MICROPAY_REQUIRE_TYPESCRIPT is set but the TypeScript peers cannot run: \
             install Node.js and run `npm ci --prefix ts`"
        );
        // straight to the terminal: libtest captures only print! macros
        let _ = writeln!(
            std::io::stderr(),
            "note: a TypeScript peer was not run: install Node.js and run `npm ci --prefix ts` (.ci/run does)"
        );
    }
    installed
}

/// Compiles `ts/interop/<script>.ts` (strict) and runs it with `env`; its
/// JSON line. Panics with its output when it fails.
pub async fn run(script: &str, env: &[(&str, &str)]) -> Value {
    let (ts, script, env) = (
        ts(),
        script.to_string(),
        env.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect::<Vec<_>>(),
    );
    tokio::task::spawn_blocking(move || {
        let out_dir = format!("dist/interop-{script}");
        let compiled = Command::new("npx")
            .args(["tsc", "-p", "tsconfig.interop.json", "--outDir", &out_dir])
            .current_dir(&ts)
            .output()
            .expect("cannot run npx tsc");
        assert!(compiled.status.success(), "tsc: {}", output(&compiled));
        let ran = Command::new("node")
            .arg(format!("{out_dir}/ts/interop/{script}.js"))
            .envs(env)
            .current_dir(&ts)
            .output()
            .expect("cannot run node");
        assert!(ran.status.success(), "{script}: {}", output(&ran));
        let stdout = String::from_utf8_lossy(&ran.stdout);
        let line = stdout.lines().last().unwrap_or_default();
        serde_json::from_str(line).unwrap_or_else(|e| panic!("{script}: {e}: {}", output(&ran)))
    })
    .await
    .unwrap()
}

fn output(out: &std::process::Output) -> String {
    format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}
