//! `idl/micropay.ts`: the IDL's Anchor TypeScript type (`Program<Micropay>`),
//! as `anchor idl type` would write it.
//!
//! `@coral-xyz/anchor`'s `Program` converts the JSON IDL it is given to
//! camelCase (`convertIdlToCamelCase`: the values of `name`, `path`,
//! `account`, `relations` and `generic`, each `.`-separated part through the
//! `camelcase` package); the type must name what the runtime object has, so
//! this applies the same rule. The TypeScript example's test checks the two
//! agree on the committed files.

// Index arithmetic over the characters of a name, bounded by its length.
#![allow(clippy::arithmetic_side_effects)]

use serde_json::Value;

const KEYS_TO_CONVERT: [&str; 5] = ["name", "path", "account", "relations", "generic"];

/// The TypeScript module declaring `type Micropay` for the JSON IDL `idl`.
pub fn module(idl: &Value) -> Result<String, String> {
    let mut camel = idl.clone();
    convert(&mut camel);
    let body = serde_json::to_string_pretty(&camel).map_err(|e| e.to_string())?;
    Ok(format!(
        "/**\n * The micropay IDL in camelCase, as `Program` sees it: the type of\n \
         * `new Program<Micropay>(idl as Micropay, provider)`.\n *\n * Generated from \
         idl/micropay.json by `cargo run -p micropay-idl`; do not edit.\n */\n\
         export type Micropay = {body};\n"
    ))
}

fn convert(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (key, v) in map.iter_mut() {
                if KEYS_TO_CONVERT.contains(&key.as_str()) {
                    match v {
                        Value::String(s) => *s = dotted(s),
                        Value::Array(items) => {
                            for item in items {
                                if let Value::String(s) = item {
                                    *s = dotted(s);
                                }
                            }
                        }
                        // the runtime converts only strings (and arrays of them)
                        other => convert(other),
                    }
                } else {
                    convert(v);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(convert),
        _ => {}
    }
}

/// `my_account.some_field` → `myAccount.someField`.
fn dotted(s: &str) -> String {
    s.split('.').map(camel_case).collect::<Vec<_>>().join(".")
}

fn is_separator(c: char) -> bool {
    matches!(c, '_' | '.' | '-' | ' ')
}

fn is_identifier(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// The `camelcase` npm package (6.x, `locale: false`), for the ASCII and
/// Unicode letters of IDL names.
pub fn camel_case(input: &str) -> String {
    let input = input.trim();
    let mut chars: Vec<char> = input.chars().collect();
    match chars.len() {
        0 => return String::new(),
        1 => return input.to_lowercase(),
        _ => {}
    }
    if input != input.to_lowercase() {
        chars = preserve_camel_case(chars);
    }
    let start = chars.iter().take_while(|c| is_separator(**c)).count();
    let lowered: String = chars[start..].iter().collect::<String>().to_lowercase();
    post_process(&lowered)
}

/// Marks word boundaries of camelCase/PascalCase input with `-`.
fn preserve_camel_case(mut s: Vec<char>) -> Vec<char> {
    let (mut last_lower, mut last_upper, mut last_last_upper) = (false, false, false);
    let mut i = 0;
    while i < s.len() {
        let c = s[i];
        if last_lower && c.is_uppercase() {
            s.insert(i, '-');
            last_lower = false;
            last_last_upper = last_upper;
            last_upper = true;
            i += 1;
        } else if last_upper && last_last_upper && c.is_lowercase() && i > 0 {
            s.insert(i - 1, '-');
            last_last_upper = last_upper;
            last_upper = false;
            last_lower = true;
        } else {
            last_lower = c.is_lowercase();
            last_last_upper = last_upper;
            last_upper = c.is_uppercase();
        }
        i += 1;
    }
    s
}

/// Separators followed by an identifier character become that character
/// upper-cased; a letter after digits is upper-cased.
fn post_process(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < chars.len() {
        if is_separator(chars[i]) {
            let run_end = i + chars[i..].iter().take_while(|c| is_separator(**c)).count();
            match chars.get(run_end) {
                None => break,
                Some(&next) if is_identifier(next) => {
                    out.extend(next.to_uppercase());
                    i = run_end + 1;
                }
                Some(_) => {
                    out.extend(&chars[i..run_end]);
                    i = run_end;
                }
            }
        } else {
            out.push(chars[i]);
            i += 1;
        }
    }
    let chars: Vec<char> = out.chars().collect();
    let mut result = String::with_capacity(out.len());
    let mut i = 0;
    while i < chars.len() {
        if chars[i].is_ascii_digit() {
            let run_end = i + chars[i..].iter().take_while(|c| c.is_ascii_digit()).count();
            result.extend(&chars[i..run_end]);
            i = run_end;
            if let Some(&next) = chars.get(i) {
                if is_identifier(next) {
                    result.extend(next.to_uppercase());
                    i += 1;
                }
            }
        } else {
            result.push(chars[i]);
            i += 1;
        }
    }
    result
}

#[cfg(test)]
mod tests {
    use super::camel_case;

    /// Outputs of the `camelcase` npm package 6.3 (`locale: false`).
    #[test]
    fn matches_the_camelcase_package() {
        for (input, expected) in [
            ("init_escrow", "initEscrow"),
            ("Escrow", "escrow"),
            ("VoucherArgs", "voucherArgs"),
            ("NO_ACCOUNT_INDEX", "noAccountIndex"),
            ("event_authority", "eventAuthority"),
            ("InvalidVoucherSignature", "invalidVoucherSignature"),
            ("u64", "u64"),
            ("ed25519_program", "ed25519Program"),
            ("sha256hash", "sha256Hash"),
            ("IDLThing", "idlThing"),
            ("_leading", "leading"),
            ("a", "a"),
            ("", ""),
        ] {
            assert_eq!(camel_case(input), expected, "{input}");
        }
    }
}
