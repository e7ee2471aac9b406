//! Checks that a transaction's log messages are well formed, as a cluster
//! writes them and as Anchor's TypeScript parsers (`EventParser`,
//! `.simulate()`, `AnchorError.parse`) read them: every `invoke [n]` at depth
//! one below its caller, closed once by `success` or `failed: …` of the same
//! program, and every log/data line inside a call. Inside a call the
//! runtime also writes lines of its own about a refused cross-program call
//! (`Unknown program …`, `…'s signer privilege escalated`): a cluster writes
//! them too, and parsers skip them.

/// `Ok` when `logs` are well formed; otherwise the first bad line and why.
pub fn well_formed(logs: &[String]) -> Result<(), String> {
    let mut stack: Vec<&str> = Vec::new();
    for (i, line) in logs.iter().enumerate() {
        let bad = |why: String| Err(format!("line {i} {line:?}: {why}\n{}", logs.join("\n")));
        if runtime_line(line) {
            if stack.is_empty() {
                return bad("a runtime line outside any call".into());
            }
            continue;
        }
        let Some(rest) = line.strip_prefix("Program ") else {
            return bad("not a program log line".into());
        };
        if rest.starts_with("log: ") || rest.starts_with("data: ") || rest.starts_with("return: ") {
            if stack.is_empty() {
                return bad("outside any call".into());
            }
            continue;
        }
        let (program, what) = rest.split_once(' ').unwrap_or((rest, ""));
        if let Some(depth) = what
            .strip_prefix("invoke [")
            .and_then(|d| d.strip_suffix(']'))
        {
            let expected = stack.len() + 1;
            if depth.parse::<usize>() != Ok(expected) {
                return bad(format!("depth {depth}, expected {expected}"));
            }
            stack.push(program);
        } else if what == "success" || what.starts_with("failed: ") {
            match stack.pop() {
                Some(top) if top == program => {}
                Some(top) => return bad(format!("closes {program} while {top} runs")),
                None => return bad("closes a call that was never invoked".into()),
            }
        } else if what.starts_with("consumed ") {
            if stack.last() != Some(&program) {
                return bad("consumption of a program that is not running".into());
            }
        } else {
            return bad("unknown line".into());
        }
    }
    match stack.last() {
        None => Ok(()),
        Some(open) => Err(format!("{open} never closed\n{}", logs.join("\n"))),
    }
}

/// A line the runtime writes inside a call when it refuses a cross-program
/// call (Agave's `invoke_context`): `Unknown program <address>`,
/// `<address>'s signer privilege escalated`, `<address>'s writable
/// privilege escalated`.
fn runtime_line(line: &str) -> bool {
    let address = |s: &str| s.parse::<solana_sdk::pubkey::Pubkey>().is_ok();
    if let Some(program) = line.strip_prefix("Unknown program ") {
        return address(program);
    }
    [
        "'s signer privilege escalated",
        "'s writable privilege escalated",
    ]
    .iter()
    .any(|tail| line.strip_suffix(tail).is_some_and(address))
}

#[cfg(test)]
mod tests {
    use super::well_formed;

    fn lines(s: &str) -> Vec<String> {
        s.lines().map(str::to_string).collect()
    }

    #[test]
    fn nested_calls_are_well_formed() {
        let ok = lines(
            "Program A invoke [1]\nProgram log: Instruction: X\nProgram T invoke [2]\n\
             Program log: ok\nProgram T consumed 10 of 20 compute units\nProgram T success\n\
             Program A invoke [2]\nProgram A success\nProgram A success",
        );
        assert_eq!(well_formed(&ok), Ok(()));
        let failed = lines("Program A invoke [1]\nProgram log: AnchorError\nProgram A failed: x");
        assert_eq!(well_formed(&failed), Ok(()));
    }

    /// The runtime's own lines about a refused cross-program call are a
    /// cluster's too: accepted inside a call (the fixture panicked on them),
    /// refused outside one or in another shape.
    #[test]
    fn the_runtimes_own_cpi_lines_are_well_formed() {
        let program = solana_sdk::pubkey::Pubkey::new_unique();
        let ok = lines(&format!(
            "Program A invoke [1]\nUnknown program {program}\nProgram A failed: missing account"
        ));
        assert_eq!(well_formed(&ok), Ok(()));
        let escalated = lines(&format!(
            "Program A invoke [1]\n{program}'s signer privilege escalated\nProgram A failed: x"
        ));
        assert_eq!(well_formed(&escalated), Ok(()));
        for bad in [
            format!("Unknown program {program}"),
            "Program A invoke [1]\nUnknown program not-an-address\nProgram A success".into(),
            "Program A invoke [1]\nsomething else\nProgram A success".into(),
        ] {
            assert!(well_formed(&lines(&bad)).is_err(), "{bad}");
        }
    }

    /// The shapes the native builtin used to write (program-test's adapter
    /// on top of the runtime's own lines).
    #[test]
    fn the_old_native_shapes_are_rejected() {
        for bad in [
            "Program A invoke [1]\nProgram A invoke [1]\nProgram A success\nProgram A success",
            "Program A invoke [1]\nProgram T invoke [1]\nProgram T invoke [2]\nProgram T success\nProgram T success\nProgram A success",
            "Program A invoke [1]\nProgram A success\nProgram A success",
            "Program log: before any call",
            "Program A invoke [1]",
            "Program A invoke [1]\nProgram B success",
        ] {
            assert!(well_formed(&lines(bad)).is_err(), "{bad}");
        }
    }
}
