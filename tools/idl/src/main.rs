//! `cargo run -p micropay-idl` rewrites `idl/micropay.json`.

fn main() {
    match micropay_idl::build() {
        Ok(json) => {
            let path = micropay_idl::idl_path();
            if let Err(e) = std::fs::write(&path, json) {
                eprintln!("cannot write {}: {e}", path.display());
                std::process::exit(1);
            }
            println!("wrote {}", path.display());
        }
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    }
}
