//! `cargo run -p micropay-idl` rewrites `idl/micropay.json` and its
//! TypeScript type `idl/micropay.ts`.

fn main() {
    let written = micropay_idl::build().and_then(|json| {
        let ts = micropay_idl::ts_module(&json)?;
        for (path, text) in [
            (micropay_idl::idl_path(), json),
            (micropay_idl::ts_path(), ts),
        ] {
            std::fs::write(&path, text)
                .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
            println!("wrote {}", path.display());
        }
        Ok(())
    });
    if let Err(e) = written {
        eprintln!("{e}");
        std::process::exit(1);
    }
}
