//! Cluster and signer resolution, like the Solana CLI: monikers, the Solana
//! CLI config file (read with `solana-cli-config`, so `solana config set`
//! changes what micropay uses), and the Solana CLI's signer paths: a
//! keypair file, `prompt://` (a seed phrase and passphrase typed in),
//! `stdin` (a keypair file's contents piped in). Hardware wallets
//! (`usb://ledger`) are refused with a clear message: solana-remote-wallet
//! reaches a device only with its `hidapi` feature (a C library this build
//! does not link), and its `RemoteKeypair` holds an `Rc`, so it is not the
//! `Send + Sync` signer the async ledger takes; supporting it means a signer
//! thread that owns the device, which needs a device to test on.

use super::Failure;
use solana_sdk::signature::Keypair;
use std::path::{Path, PathBuf};

/// Where a command runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// An in-process bank.
    Embedded,
    /// A JSON-RPC URL.
    Rpc(String),
}

/// Resolves `-u`: a moniker, `embedded`, or an http(s) URL. Anything else is
/// a typo the user should hear about now, not a "builder error" later.
pub fn resolve_url(url: &str) -> Result<Target, Failure> {
    Ok(match url {
        "embedded" => Target::Embedded,
        "localhost" | "l" => Target::Rpc("http://127.0.0.1:8899".into()),
        "devnet" | "d" => Target::Rpc("https://api.devnet.solana.com".into()),
        "testnet" | "t" => Target::Rpc("https://api.testnet.solana.com".into()),
        "mainnet-beta" | "m" => Target::Rpc("https://api.mainnet-beta.solana.com".into()),
        other => {
            let host = other
                .strip_prefix("http://")
                .or_else(|| other.strip_prefix("https://"))
                .filter(|rest| !rest.is_empty() && !rest.starts_with('/'));
            if host.is_none() {
                return Err(Failure::user(format!(
                    "unknown cluster {other:?}: use localhost, devnet, testnet, mainnet-beta, embedded, or an http(s):// URL"
                )));
            }
            Target::Rpc(other.to_string())
        }
    })
}

/// The Solana CLI config, when there is one.
fn solana_config() -> Option<solana_cli_config::Config> {
    let path = solana_cli_config::CONFIG_FILE.as_ref()?;
    solana_cli_config::Config::load(path).ok()
}

fn home() -> Option<PathBuf> {
    std::env::var_os("HOME").map(PathBuf::from)
}

/// `~/x` with the home directory, as a shell would.
fn expand_home(path: &str) -> PathBuf {
    match (path.strip_prefix("~/"), home()) {
        (Some(rest), Some(home)) => home.join(rest),
        _ => PathBuf::from(path),
    }
}

/// The cluster: `-u`, else the Solana CLI config's `json_rpc_url`, else `default`.
pub fn target(url: Option<&str>, default: &str) -> Result<Target, Failure> {
    match url {
        Some(u) => resolve_url(u),
        None => match solana_config() {
            Some(config) => resolve_url(&config.json_rpc_url).map_err(|f| {
                Failure::user(format!(
                    "{} (from the Solana CLI config's json_rpc_url; pass -u to override)",
                    f.message
                ))
            }),
            None => resolve_url(default),
        },
    }
}

/// Where the signer comes from, in the Solana CLI's signer-path syntax.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SignerSource {
    /// A keypair file (JSON array of 64 bytes).
    File(PathBuf),
    /// `prompt://`: a seed phrase and passphrase typed at the terminal.
    Prompt,
    /// `stdin`: a keypair file's contents on standard input.
    Stdin,
    /// `usb://...`: a hardware wallet.
    Usb(String),
}

impl SignerSource {
    /// Parses a signer path (`~/` expanded for files).
    pub fn parse(path: &str) -> Self {
        if path == "stdin" || path == "-" {
            SignerSource::Stdin
        } else if path.starts_with("prompt:") {
            SignerSource::Prompt
        } else if path.starts_with("usb://") {
            SignerSource::Usb(path.to_string())
        } else {
            SignerSource::File(expand_home(path.strip_prefix("file:").unwrap_or(path)))
        }
    }
}

/// The signer: `-k`, else the Solana CLI config's `keypair_path`, else
/// `~/.config/solana/id.json`.
pub fn signer_source(keypair: Option<&str>) -> Option<SignerSource> {
    keypair
        .map(SignerSource::parse)
        .or_else(|| solana_config().map(|c| SignerSource::parse(&c.keypair_path)))
        .or_else(|| home().map(|h| SignerSource::File(h.join(".config/solana/id.json"))))
}

/// Reads the signer of `source`.
pub fn read_signer(source: &SignerSource) -> Result<Keypair, Failure> {
    match source {
        SignerSource::File(path) => read_keypair(path),
        SignerSource::Stdin => {
            let mut text = String::new();
            std::io::Read::read_to_string(&mut std::io::stdin(), &mut text)
                .map_err(|e| Failure::user(format!("cannot read a keypair from stdin: {e}")))?;
            keypair_from_json(&text, "stdin")
        }
        SignerSource::Prompt => {
            let phrase = rpassword::prompt_password("seed phrase: ")
                .map_err(|e| Failure::user(format!("cannot read the seed phrase: {e}")))?;
            let passphrase = rpassword::prompt_password("passphrase (empty for none): ")
                .map_err(|e| Failure::user(format!("cannot read the passphrase: {e}")))?;
            solana_sdk::signer::keypair::keypair_from_seed_phrase_and_passphrase(
                phrase.trim(),
                &passphrase,
            )
            .map_err(|e| Failure::user(format!("not a usable seed phrase: {e}")))
        }
        SignerSource::Usb(path) => Err(Failure::user(format!(
            "{path}: hardware wallets are not supported by this micropay build; use a keypair file, prompt:// or stdin"
        ))),
    }
}

/// The signer `keypair` (`-k`) names, or the default one.
pub fn signer(keypair: Option<&str>) -> Result<Keypair, Failure> {
    let source = signer_source(keypair)
        .ok_or_else(|| Failure::user("no keypair: pass -k <file> (HOME is not set)"))?;
    read_signer(&source)
}

fn keypair_from_json(text: &str, origin: &str) -> Result<Keypair, Failure> {
    let bytes: Vec<u8> = serde_json::from_str(text.trim()).map_err(|e| {
        Failure::user(format!(
            "{origin} is not a keypair file (JSON array of 64 bytes): {e}"
        ))
    })?;
    Keypair::try_from(bytes.as_slice())
        .map_err(|e| Failure::user(format!("{origin} is not a valid keypair: {e}")))
}

/// Reads a keypair file (a JSON array of 64 bytes, as `solana-keygen` writes).
pub fn read_keypair(path: &Path) -> Result<Keypair, Failure> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        Failure::user(format!(
            "cannot read keypair {}: {e}; create one with `micropay keys new -o {}` (or `solana-keygen new`), or pass -k <file>",
            path.display(),
            path.display()
        ))
    })?;
    keypair_from_json(&text, &path.display().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(u: &str) -> Target {
        resolve_url(u).unwrap()
    }

    #[test]
    fn monikers_and_urls() {
        assert_eq!(url("embedded"), Target::Embedded);
        assert_eq!(
            url("localhost"),
            Target::Rpc("http://127.0.0.1:8899".into())
        );
        assert_eq!(
            url("devnet"),
            Target::Rpc("https://api.devnet.solana.com".into())
        );
        assert_eq!(
            url("mainnet-beta"),
            Target::Rpc("https://api.mainnet-beta.solana.com".into())
        );
        assert_eq!(
            url("http://10.0.0.1:8899"),
            Target::Rpc("http://10.0.0.1:8899".into())
        );
        // a typo is named at once, with the accepted forms
        for typo in ["localhostt", "127.0.0.1:8899", "http://", "ftp://x"] {
            let err = resolve_url(typo).unwrap_err().message;
            assert!(
                err.contains("unknown cluster") && err.contains("localhost, devnet"),
                "{err}"
            );
        }
    }

    #[test]
    fn signer_paths_follow_the_solana_cli() {
        assert_eq!(SignerSource::parse("stdin"), SignerSource::Stdin);
        assert_eq!(SignerSource::parse("prompt://"), SignerSource::Prompt);
        assert_eq!(
            SignerSource::parse("usb://ledger"),
            SignerSource::Usb("usb://ledger".into())
        );
        assert_eq!(
            SignerSource::parse("file:/a/b.json"),
            SignerSource::File("/a/b.json".into())
        );
        let home = home().unwrap();
        assert_eq!(
            SignerSource::parse("~/k.json"),
            SignerSource::File(home.join("k.json"))
        );
        let usb = read_signer(&SignerSource::Usb("usb://ledger".into())).unwrap_err();
        assert!(usb.message.contains("not supported"), "{}", usb.message);
    }

    #[test]
    fn keypair_files_are_checked() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("id.json");
        std::fs::write(&path, "not json").unwrap();
        assert!(read_keypair(&path)
            .unwrap_err()
            .message
            .contains("not a keypair file"));
        let kp = Keypair::new();
        std::fs::write(
            &path,
            serde_json::to_string(&kp.to_bytes().to_vec()).unwrap(),
        )
        .unwrap();
        assert_eq!(read_keypair(&path).unwrap().to_bytes(), kp.to_bytes());
        let missing = dir.path().join("missing.json");
        assert!(read_keypair(&missing)
            .unwrap_err()
            .message
            .contains("solana-keygen new"));
    }
}
