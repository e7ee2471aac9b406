//! Builds the Anchor IDL of the micropay program with `anchor-lang-idl`'s
//! `IdlBuilder`: it compiles the program with the `idl-build` feature and runs
//! Anchor's IDL-printing test, which needs no SBF toolchain.
//!
//! The build runs in its own target directory (`target/idl`): it sets its own
//! `RUSTFLAGS`, which would otherwise invalidate the workspace's artifacts.
//! `RUSTUP_TOOLCHAIN`, which cargo sets for its children, is cleared first:
//! with it, anchor-lang-idl 0.1.4 tries to install that toolchain.
//!
//! Anchor 1.2's IDL leaves two accounts of every `#[event_cpi]` instruction
//! underspecified, which generic tools (Codama, any client generator) then
//! ask the caller for: `event_authority` has no PDA seeds and `program` no
//! address. Both are fixed by the program (`["__event_authority"]` under the
//! program id, and the program id itself), so [`complete`] writes them in.

use std::path::{Path, PathBuf};

pub mod typescript;

/// The repository root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Where the committed IDL lives.
pub fn idl_path() -> PathBuf {
    repo_root().join("idl/micropay.json")
}

/// Where the committed TypeScript type of the IDL lives.
pub fn ts_path() -> PathBuf {
    repo_root().join("idl/micropay.ts")
}

/// The TypeScript module of the IDL JSON `json` (see [`typescript`]).
pub fn ts_module(json: &str) -> Result<String, String> {
    let idl: serde_json::Value = serde_json::from_str(json).map_err(|e| e.to_string())?;
    typescript::module(&idl)
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
    let mut idl = idl;
    complete(&mut idl);
    let mut json = serde_json::to_string_pretty(&idl).map_err(|e| e.to_string())?;
    json.push('\n');
    Ok(json)
}

/// The seed of the event-CPI authority PDA (Anchor's `event_cpi`).
const EVENT_AUTHORITY_SEED: &[u8] = b"__event_authority";

/// Writes in what Anchor's IDL leaves out of `#[event_cpi]` accounts: the
/// event authority's seeds and the program's address.
pub fn complete(idl: &mut anchor_lang_idl::types::Idl) {
    use anchor_lang_idl::types::{IdlInstructionAccountItem, IdlPda, IdlSeed, IdlSeedConst};
    fn fill(items: &mut [IdlInstructionAccountItem], program: &str) {
        for item in items {
            match item {
                IdlInstructionAccountItem::Single(account) => {
                    if account.name == "event_authority" && account.pda.is_none() {
                        account.pda = Some(IdlPda {
                            seeds: vec![IdlSeed::Const(IdlSeedConst {
                                value: EVENT_AUTHORITY_SEED.to_vec(),
                            })],
                            program: None,
                        });
                    }
                    if account.name == "program" && account.address.is_none() {
                        account.address = Some(program.to_string());
                    }
                }
                IdlInstructionAccountItem::Composite(group) => fill(&mut group.accounts, program),
            }
        }
    }
    let program = idl.address.clone();
    for ix in &mut idl.instructions {
        fill(&mut ix.accounts, &program);
        owner_mint_seeds(&mut ix.accounts);
    }
}

/// Seeds of the escrow (`["escrow", owner, mint]`) and earnings
/// (`["earnings", owner, mint]`) accounts of instructions that also take
/// their owner and mint: the program checks those by `has_one`, and escrows
/// and earnings only ever exist at these addresses (their `init` seeds), so
/// the seeds name the one account that passes. Where the owner or mint is
/// not an account of the instruction (`deposit`, `open_channel`, …) no seeds
/// are written: they would read the account's own data.
fn owner_mint_seeds(items: &mut [anchor_lang_idl::types::IdlInstructionAccountItem]) {
    use anchor_lang_idl::types::{
        IdlInstructionAccountItem, IdlPda, IdlSeed, IdlSeedAccount, IdlSeedConst,
    };
    let has = |name: &str, items: &[IdlInstructionAccountItem]| {
        items
            .iter()
            .any(|i| matches!(i, IdlInstructionAccountItem::Single(a) if a.name == name))
    };
    if !has("owner", items) || !has("mint", items) {
        return;
    }
    let account = |path: &str| {
        IdlSeed::Account(IdlSeedAccount {
            path: path.into(),
            account: None,
        })
    };
    for item in items.iter_mut() {
        if let IdlInstructionAccountItem::Single(a) = item {
            let seed: &[u8] = match a.name.as_str() {
                "escrow" => micropay::constants::ESCROW_SEED,
                "earnings" => micropay::constants::EARNINGS_SEED,
                _ => continue,
            };
            if a.pda.is_none() {
                a.pda = Some(IdlPda {
                    seeds: vec![
                        IdlSeed::Const(IdlSeedConst {
                            value: seed.to_vec(),
                        }),
                        account("owner"),
                        account("mint"),
                    ],
                    program: None,
                });
            }
        }
    }
}
