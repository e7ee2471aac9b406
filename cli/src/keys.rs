//! `micropay keys`: session keys and wallets as keypair files.

use super::{context::emit, Cli, Failure};
use clap::{Args, Subcommand};
use solana_sdk::signature::{Keypair, Signer};
use std::path::{Path, PathBuf};

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
    let keypair = Keypair::new();
    if let Some(dir) = outfile.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| Failure::user(format!("cannot create {}: {e}", dir.display())))?;
    }
    let json = serde_json::to_string(&keypair.to_bytes().to_vec())
        .map_err(|e| Failure::user(e.to_string()))?;
    write_private(outfile, json.as_bytes(), *force).map_err(|e| match e.kind() {
        std::io::ErrorKind::AlreadyExists => Failure::user(format!(
            "{} exists; pass --force to overwrite it",
            outfile.display()
        )),
        _ => Failure::user(format!("cannot write {}: {e}", outfile.display())),
    })?;
    emit(
        cli.output,
        &KeyResult {
            pubkey: keypair.pubkey().to_string(),
            path: Some(outfile.display().to_string()),
        },
    );
    Ok(())
}

/// Writes `contents` to `path` in a file that is private (0600 on Unix)
/// from its creation — never readable by others, whatever the umask, not
/// even for a moment — and durable. Without `replace` an existing `path`
/// is an `AlreadyExists` error; with it, the new file is renamed over the
/// old one (so an old file's looser mode does not carry over).
fn write_private(path: &Path, contents: &[u8], replace: bool) -> std::io::Result<()> {
    use std::io::Write;
    let target = if replace {
        let name = path.file_name().map_or_else(
            || std::ffi::OsString::from("key"),
            std::ffi::OsStr::to_os_string,
        );
        let mut tmp = std::ffi::OsString::from(".");
        tmp.push(name);
        tmp.push(format!(".{}.tmp", rand::random::<u64>()));
        path.with_file_name(tmp)
    } else {
        path.to_path_buf()
    };
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let written = options.open(&target).and_then(|mut file| {
        file.write_all(contents)?;
        file.sync_all()?;
        check_private(&file)
    });
    let renamed = written.and_then(|()| {
        if replace {
            std::fs::rename(&target, path)?;
        }
        Ok(())
    });
    if renamed.is_err() && replace {
        let _ = std::fs::remove_file(&target);
    }
    renamed
}

/// Fails unless only the owner may read `file`.
fn check_private(file: &std::fs::File) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = file.metadata()?.permissions().mode();
        if mode & 0o077 != 0 {
            return Err(std::io::Error::other(format!(
                "the file is readable by others (mode {:o})",
                mode & 0o777
            )));
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 25: the secret key is private from its creation, and replacing
    /// a file readable by others does not keep its mode.
    #[cfg(unix)]
    #[test]
    fn key_files_are_private_from_the_start() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("id.json");
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        write_private(&path, b"[1]", false).unwrap();
        assert_eq!(mode(&path), 0o600);
        let again = write_private(&path, b"[2]", false).unwrap_err();
        assert_eq!(again.kind(), std::io::ErrorKind::AlreadyExists);
        assert_eq!(std::fs::read(&path).unwrap(), b"[1]");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        write_private(&path, b"[3]", true).unwrap();
        assert_eq!(mode(&path), 0o600);
        assert_eq!(std::fs::read(&path).unwrap(), b"[3]");
        // nothing left beside it
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        // a directory that cannot be written: an error, not a silent success
        let missing = dir.path().join("no/such/dir/id.json");
        assert!(write_private(&missing, b"[4]", false).is_err());
    }
}
