//! `micropay keys`: session keys and wallets as keypair files.

use super::{context::emit, Cli, Failure};
use clap::{Args, Subcommand};
use solana_sdk::signature::{Keypair, Signer};
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct KeysArgs {
    #[command(subcommand)]
    pub command: KeysCommand,
}

#[derive(Subcommand, Debug)]
pub enum KeysCommand {
    /// Write a new keypair file (the Solana CLI format).
    New {
        /// Where to write it.
        #[arg(long, short = 'o')]
        outfile: PathBuf,
        /// Overwrite an existing file.
        #[arg(long)]
        force: bool,
    },
    /// Print the public key of a signer (no Solana CLI needed).
    Pubkey {
        /// A keypair file, `prompt://`, or `stdin` (the Solana CLI's signer
        /// paths). Default: -k, else the Solana CLI config's keypair, else
        /// ~/.config/solana/id.json.
        #[arg(value_name = "SIGNER")]
        signer: Option<String>,
    },
}

pub fn run(cli: &Cli, args: &KeysArgs) -> Result<(), Failure> {
    let (outfile, force) = match &args.command {
        KeysCommand::New { outfile, force } => (outfile, force),
        KeysCommand::Pubkey { signer } => {
            let keypair = super::config::signer(signer.as_deref().or(cli.keypair.as_deref()))?;
            emit(
                cli.output,
                &KeyResult {
                    pubkey: keypair.pubkey().to_string(),
                    path: None,
                },
            );
            return Ok(());
        }
    };
    if outfile.exists() && !force {
        return Err(Failure::user(format!(
            "{} exists; pass --force to overwrite it",
            outfile.display()
        )));
    }
    let keypair = Keypair::new();
    if let Some(dir) = outfile.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| Failure::user(format!("cannot create {}: {e}", dir.display())))?;
    }
    let json = serde_json::to_string(&keypair.to_bytes().to_vec())
        .map_err(|e| Failure::user(e.to_string()))?;
    std::fs::write(outfile, json)
        .map_err(|e| Failure::user(format!("cannot write {}: {e}", outfile.display())))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(outfile, std::fs::Permissions::from_mode(0o600));
    }
    emit(
        cli.output,
        &KeyResult {
            pubkey: keypair.pubkey().to_string(),
            path: Some(outfile.display().to_string()),
        },
    );
    Ok(())
}

/// A key `keys new` wrote (with its file) or `keys pubkey` read.
#[derive(Debug, serde::Serialize)]
pub struct KeyResult {
    pubkey: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    path: Option<String>,
}

impl std::fmt::Display for KeyResult {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.path {
            Some(path) => write!(f, "{} written to {path}", self.pubkey),
            None => f.write_str(&self.pubkey),
        }
    }
}
