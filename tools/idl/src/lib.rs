//! Builds the Anchor IDL of the micropay program with `anchor-lang-idl`'s
//! `IdlBuilder`: it compiles the program with the `idl-build` feature and runs
//! Anchor's IDL-printing test, which needs no SBF toolchain.
//!
//! The build runs in its own target directory (`target/idl`): it sets its own
//! `RUSTFLAGS`, which would otherwise invalidate the workspace's artifacts.
//! `RUSTUP_TOOLCHAIN`, which cargo sets for its children, is cleared first:
//! with it, anchor-lang-idl 0.1.4 tries to install that toolchain.

use std::path::{Path, PathBuf};

/// The repository root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Where the committed IDL lives.
pub fn idl_path() -> PathBuf {
    repo_root().join("idl/micropay.json")
}

/// Builds the IDL and returns it as pretty JSON (with a final newline).
pub fn build() -> Result<String, String> {
    let root = repo_root()
        .canonicalize()
        .map_err(|e| format!("repository root: {e}"))?;
    std::env::remove_var("RUSTUP_TOOLCHAIN");
    let target = root.join("target/idl");
    let idl = anchor_lang_idl::build::IdlBuilder::new()
        .program_path(root.join("programs/micropay"))
        .cargo_args(vec![
            "--target-dir".into(),
            target.to_string_lossy().into_owned(),
            "--locked".into(),
        ])
        .build()
        .map_err(|e| format!("IDL build failed: {e}"))?;
    let mut json = serde_json::to_string_pretty(&idl).map_err(|e| e.to_string())?;
    json.push('\n');
    Ok(json)
}
