//! Durations as an operator writes them: `90s`, `15m`, `1h`, `1h30m`.
//! A few lines by hand rather than a crate, since nothing else needs one.

use std::time::Duration;

/// Parses a duration such as `90s`, `15m`, `1h`, `1h30m` or `500ms`; the
/// units are `ms`, `s`, `m`, `h` and `d`.
///
/// # Errors
/// When the text is not such a duration, or is zero.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let wrong = || format!("{text:?} is not a duration such as 90s, 15m or 1h");
    let mut rest = text.trim();
    if rest.is_empty() {
        return Err(wrong());
    }
    let mut millis: u64 = 0;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        let number: u64 = rest[..digits].parse().map_err(|_| wrong())?;
        rest = &rest[digits..];
        let letters = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let unit: u64 = match &rest[..letters] {
            "ms" => 1,
            "s" => 1_000,
            "m" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            _ => return Err(wrong()),
        };
        rest = &rest[letters..];
        millis = number
            .checked_mul(unit)
            .and_then(|part| millis.checked_add(part))
            .ok_or_else(|| format!("{text:?} is too long a duration"))?;
    }
    if millis == 0 {
        return Err(format!(
            "{text:?} is zero; a duration must be more than that"
        ));
    }
    Ok(Duration::from_millis(millis))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_take_the_usual_units() {
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("15m"), Ok(Duration::from_secs(900)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("2d"), Ok(Duration::from_secs(172_800)));
        assert_eq!(parse_duration(" 500ms "), Ok(Duration::from_millis(500)));
    }

    #[test]
    fn durations_without_a_known_unit_or_of_zero_are_refused() {
        for bad in [
            "", "90", "s", "1x", "1.5h", "-1s", "1h 30m", "0s", "0h0m", "h1",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad:?}");
        }
        assert!(parse_duration("99999999999999999d").is_err());
    }
}
