//! Fixtures shared by the CLI and local-node tests: the embedded-bank client
//! fixtures of `micropay-tests`, and the on-chain check of a demo report.
#![allow(dead_code, unused_imports)]

pub mod peer_server;
pub mod peers;
pub mod serve;
pub mod story;
pub mod verify;

pub use micropay_tests::client::*;
