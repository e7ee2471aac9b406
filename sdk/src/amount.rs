//! Amounts as people write them: UI units with the mint's decimals ("1.25"
//! SOL), converted to and from base units exactly, with no floating point.

/// Parses a UI amount ("1.25") into base units of a mint with `decimals`;
/// `None` for anything but digits with at most one `.` and at most
/// `decimals` fractional digits, or a value above `u64::MAX`.
pub fn parse_ui(ui: &str, decimals: u8) -> Option<u64> {
    let (whole, frac) = ui.split_once('.').unwrap_or((ui, ""));
    if (whole.is_empty() && frac.is_empty())
        || frac.len() > usize::from(decimals)
        || !whole
            .chars()
            .chain(frac.chars())
            .all(|c| c.is_ascii_digit())
    {
        return None;
    }
    format!("{whole}{frac:0<width$}", width = usize::from(decimals))
        .parse()
        .ok()
}

/// Formats base units of a mint with `decimals` as a UI amount ("1.25"),
/// without trailing zeros.
pub fn format_ui(amount: u64, decimals: u8) -> String {
    let s = format!(
        "{amount:0>width$}",
        width = usize::from(decimals).saturating_add(1)
    );
    let (whole, frac) = s.split_at(s.len().saturating_sub(usize::from(decimals)));
    let frac = frac.trim_end_matches('0');
    if frac.is_empty() {
        whole.to_string()
    } else {
        format!("{whole}.{frac}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ui_amounts_round_trip_exactly() {
        assert_eq!(parse_ui("1.25", 9), Some(1_250_000_000));
        assert_eq!(parse_ui(".5", 2), Some(50));
        assert_eq!(parse_ui("7", 0), Some(7));
        assert_eq!(parse_ui("18446744073709551615", 0), Some(u64::MAX));
        for bad in [
            "",
            ".",
            "1.2.3",
            "-1",
            "1e3",
            " 1",
            "0x1",
            "1.0000000001",
            "18446744073709551616",
        ] {
            assert_eq!(parse_ui(bad, 9), None, "{bad:?}");
        }
        assert_eq!(format_ui(1_250_000_000, 9), "1.25");
        assert_eq!(format_ui(5, 9), "0.000000005");
        assert_eq!(format_ui(0, 6), "0");
        assert_eq!(format_ui(u64::MAX, 0), "18446744073709551615");
        for (amount, decimals) in [(1u64, 9u8), (123_456_789, 6), (10, 1), (u64::MAX, 9)] {
            assert_eq!(
                parse_ui(&format_ui(amount, decimals), decimals),
                Some(amount)
            );
        }
    }
}
