//! Cluster and keypair resolution, like the Solana CLI: monikers, the Solana
//! CLI config file (`~/.config/solana/cli/config.yml`), keypair files.

use super::Failure;
use solana_sdk::signature::Keypair;
use std::path::PathBuf;

/// Where a command runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// An in-process bank.
    Embedded,
    /// A JSON-RPC URL.
    Rpc(String),
}

/// Resolves `-u`: a moniker, `embedded`, or a URL.
pub fn resolve_url(url: &str) -> Target {
    match url {
        "embedded" => Target::Embedded,
        "localhost" | "l" => Target::Rpc("http://127.0.0.1:8899".into()),
        "devnet" | "d" => Target::Rpc("https://api.devnet.solana.com".into()),
        "testnet" | "t" => Target::Rpc("https://api.testnet.solana.com".into()),
        "mainnet-beta" | "m" => Target::Rpc("https://api.mainnet-beta.solana.com".into()),
        other => Target::Rpc(other.to_string()),
    }
}

fn home() -> Option<PathBuf> {
    std::env::var_os("HOME").map(PathBuf::from)
}

/// A value of the Solana CLI config file (`key: value` lines).
fn solana_config_value(key: &str) -> Option<String> {
    let path = home()?.join(".config/solana/cli/config.yml");
    let text = std::fs::read_to_string(path).ok()?;
    text.lines().find_map(|line| {
        let (k, v) = line.split_once(':')?;
        (k.trim() == key).then(|| v.trim().trim_matches(['\'', '"']).to_string())
    })
}

/// The cluster: `-u`, else the Solana CLI config's `json_rpc_url`, else `default`.
pub fn target(url: Option<&str>, default: &str) -> Target {
    match url {
        Some(u) => resolve_url(u),
        None => resolve_url(&solana_config_value("json_rpc_url").unwrap_or_else(|| default.into())),
    }
}

/// The keypair path: `-k`, else the Solana CLI config's, else the default
/// `~/.config/solana/id.json`.
pub fn keypair_path(keypair: Option<&str>) -> Option<PathBuf> {
    keypair
        .map(PathBuf::from)
        .or_else(|| solana_config_value("keypair_path").map(PathBuf::from))
        .or_else(|| home().map(|h| h.join(".config/solana/id.json")))
}

/// Reads a keypair file (a JSON array of 64 bytes, as `solana-keygen` writes).
pub fn read_keypair(path: &PathBuf) -> Result<Keypair, Failure> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        Failure::user(format!(
            "cannot read keypair {}: {e}; create one with `micropay keys new -o {}` (or `solana-keygen new`), or pass -k <file>",
            path.display(),
            path.display()
        ))
    })?;
    let bytes: Vec<u8> = serde_json::from_str(&text).map_err(|e| {
        Failure::user(format!(
            "{} is not a keypair file (JSON array of 64 bytes): {e}",
            path.display()
        ))
    })?;
    Keypair::try_from(bytes.as_slice())
        .map_err(|e| Failure::user(format!("{} is not a valid keypair: {e}", path.display())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn monikers_and_urls() {
        assert_eq!(resolve_url("embedded"), Target::Embedded);
        assert_eq!(
            resolve_url("localhost"),
            Target::Rpc("http://127.0.0.1:8899".into())
        );
        assert_eq!(
            resolve_url("devnet"),
            Target::Rpc("https://api.devnet.solana.com".into())
        );
        assert_eq!(
            resolve_url("mainnet-beta"),
            Target::Rpc("https://api.mainnet-beta.solana.com".into())
        );
        assert_eq!(
            resolve_url("http://10.0.0.1:8899"),
            Target::Rpc("http://10.0.0.1:8899".into())
        );
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
