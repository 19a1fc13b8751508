//! The check of the `release_date` fuzz target: bytes as a string, through
//! `ReleaseDate`'s parser and printer.

use casting_core::ReleaseDate;

/// Parses `data` as a release date. A date it accepts is within years 1 to
/// 9999, keeps the calendar day that was written, prints as the RFC 9110
/// IMF-fixdate of that day at midnight (as jiff's strftime spells it) and parses back
/// to itself from that, from `YYYY-MM-DD`, through serde and through its
/// ordinal.
pub fn check_release_date(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(date) = text.parse::<ReleaseDate>() else {
        return;
    };
    assert!(
        (ReleaseDate::MIN..=ReleaseDate::MAX).contains(&date),
        "{date:?}"
    );

    let shown = date.to_string();
    let civil = jiff::civil::date(date.year(), date.month(), date.day());
    // jiff's timestamps stop short of 9999-12-31, so the IMF-fixdate is
    // spelled with its strftime, which knows weekdays and month names.
    let imf = jiff::fmt::strtime::format("%a, %d %b %Y 00:00:00 GMT", civil).unwrap();
    assert_eq!(shown, imf, "not the IMF-fixdate of {date:?}");
    assert_eq!(
        shown.parse::<ReleaseDate>(),
        Ok(date),
        "{shown:?} does not parse back"
    );

    let iso = format!("{:04}-{:02}-{:02}", date.year(), date.month(), date.day());
    assert_eq!(iso.parse::<ReleaseDate>(), Ok(date), "{iso:?}");
    // A date-time keeps the day as written, whatever its offset.
    let trimmed = text.trim();
    if trimmed.len() >= 10
        && trimmed.as_bytes()[..10]
            .iter()
            .all(|b| b.is_ascii_digit() || *b == b'-')
    {
        assert_eq!(&trimmed[..10], iso, "{text:?} kept another day");
    }

    let json = serde_json::to_string(&date).unwrap();
    assert_eq!(serde_json::from_str::<ReleaseDate>(&json).unwrap(), date);
    assert_eq!(ReleaseDate::from_ordinal(date.to_ordinal()), Ok(date));
}
