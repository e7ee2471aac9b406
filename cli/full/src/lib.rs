//! Nothing but a dependency: `micropay-cli` with feature `full`. The CLI's
//! tests depend on this crate, so whatever `cargo test` selects (the
//! workspace, or `-p micropay-cli`), the `micropay` binary they run has every
//! subcommand. `cargo run` and `cargo install` of the CLI alone are not
//! affected: they build its default (lean) features.
