//! A user's session with the `micropay` binary against one cluster: keys
//! and stores in a temp dir, JSON output parsed.

use assert_cmd::Command;
use micropay_node::{LocalNode, NodeConfig};
use serde_json::Value;
use solana_sdk::signature::{Keypair, Signer};
use std::path::PathBuf;

/// The `micropay` binary against one cluster, keys and stores in a temp dir.
pub struct Story {
    pub url: String,
    pub dir: tempfile::TempDir,
}

impl Story {
    /// A fresh local node that funds each of `keys` with 100 SOL, and a story
    /// against it with each key written to `<name>.json`.
    pub fn start(keys: &[(&str, &Keypair)]) -> (LocalNode, Story) {
        let node = LocalNode::start(NodeConfig {
            airdrop: keys.iter().map(|(_, k)| k.pubkey()).collect(),
            airdrop_lamports: 100_000_000_000,
            ..NodeConfig::ephemeral().unwrap()
        })
        .unwrap();
        let story = Story {
            url: node.rpc_url().to_string(),
            dir: tempfile::tempdir().unwrap(),
        };
        for (name, key) in keys {
            super::write_key(&story.path(&format!("{name}.json")), key);
        }
        (node, story)
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Runs `micropay -u <node> -k <key> --output json <args>`.
    pub fn run(&self, key: &str, args: &[&str]) -> assert_cmd::assert::Assert {
        Command::cargo_bin("micropay")
            .unwrap()
            .args([
                "-u",
                &self.url,
                "-k",
                self.path(key).to_str().unwrap(),
                "--output",
                "json",
            ])
            .args(args)
            .assert()
    }

    pub fn ok(&self, key: &str, args: &[&str]) -> Value {
        let out = self.run(key, args).success();
        let text = String::from_utf8_lossy(&out.get_output().stdout).to_string();
        serde_json::from_str(text.trim())
            .unwrap_or_else(|e| panic!("{args:?}: not json ({e}): {text}"))
    }

    /// Runs `micropay -u <node> --output json <args>` with a wallet that
    /// does not exist (a read-only command needs none); its JSON.
    pub fn read(&self, args: &[&str]) -> Value {
        let out = Command::cargo_bin("micropay")
            .unwrap()
            .args([
                "-u",
                &self.url,
                "-k",
                "/nonexistent/id.json",
                "--output",
                "json",
            ])
            .args(args)
            .assert()
            .success();
        let text = String::from_utf8_lossy(&out.get_output().stdout).to_string();
        serde_json::from_str(text.trim())
            .unwrap_or_else(|e| panic!("{args:?}: not json ({e}): {text}"))
    }

    /// Fails with `code`; returns the error message.
    pub fn fails(&self, key: &str, args: &[&str], code: i32) -> String {
        let out = self.run(key, args).code(code);
        let text = String::from_utf8_lossy(&out.get_output().stdout).to_string();
        let v: Value = serde_json::from_str(text.trim())
            .unwrap_or_else(|e| panic!("{args:?}: not json ({e}): {text}"));
        v["error"].as_str().unwrap().to_string()
    }
}
