//! The `micropay` command-line tool; see `micropay --help`.

fn main() {
    std::process::exit(micropay_cli::main());
}
