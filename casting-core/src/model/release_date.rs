//! The release date of a movie: a calendar day, read in the formats clients
//! send and written as the HTTP date the original service wrote.

use std::fmt;
use std::str::FromStr;

use jiff::civil::{Date, Weekday};
use jiff::fmt::strtime;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A calendar day from year 1 to year 9999.
///
/// It parses `YYYY-MM-DD`, an RFC 3339 date-time (the date part as written
/// is kept, whatever the offset; offsets run from `-23:59` to `+23:59`) and
/// the IMF-fixdate of RFC 9110
/// (`Wed, 13 Oct 2010 00:00:00 GMT`), and it displays and serialises as the
/// latter, always at midnight GMT, so a date read back can be sent again.
///
/// ```
/// use casting_core::ReleaseDate;
///
/// let date: ReleaseDate = "2010-10-13".parse()?;
/// assert_eq!(date.to_string(), "Wed, 13 Oct 2010 00:00:00 GMT");
/// assert_eq!(date, "Wed, 13 Oct 2010 00:00:00 GMT".parse()?);
/// assert_eq!(date, "2010-10-13T23:30:00-05:00".parse()?);
/// # Ok::<(), casting_core::ReleaseDateError>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ReleaseDate(Date);

/// Why a string is not a release date.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "expected a date as YYYY-MM-DD, an RFC 3339 date-time or an HTTP date, from year 1 to 9999"
)]
pub struct ReleaseDateError;

impl ReleaseDate {
    /// The earliest date accepted: 1 January of year 1.
    pub const MIN: ReleaseDate = ReleaseDate(jiff::civil::date(1, 1, 1));
    /// The latest date accepted: 31 December 9999.
    pub const MAX: ReleaseDate = ReleaseDate(jiff::civil::date(9999, 12, 31));

    /// The date of `year`, `month` (1 to 12) and `day`.
    ///
    /// # Errors
    /// When the day does not exist or the year is outside 1 to 9999.
    pub fn new(year: i16, month: i8, day: i8) -> Result<Self, ReleaseDateError> {
        Date::new(year, month, day)
            .map_err(|_| ReleaseDateError)
            .and_then(Self::from_date)
    }

    fn from_date(date: Date) -> Result<Self, ReleaseDateError> {
        if (1..=9999).contains(&date.year()) {
            Ok(ReleaseDate(date))
        } else {
            Err(ReleaseDateError)
        }
    }

    /// The year, from 1 to 9999.
    pub fn year(self) -> i16 {
        self.0.year()
    }

    /// The month, from 1 to 12.
    pub fn month(self) -> i8 {
        self.0.month()
    }

    /// The day of the month, from 1 to 31.
    pub fn day(self) -> i8 {
        self.0.day()
    }

    /// The date as the number `YYYYMMDD`, which orders like the dates do;
    /// the store keeps it in this form.
    pub fn to_ordinal(self) -> u32 {
        // Every component is positive within the accepted range.
        self.year().unsigned_abs() as u32 * 10_000
            + self.month().unsigned_abs() as u32 * 100
            + self.day().unsigned_abs() as u32
    }

    /// The date of a number made by [`ReleaseDate::to_ordinal`].
    ///
    /// # Errors
    /// When the number names no date from year 1 to 9999.
    pub fn from_ordinal(ordinal: u32) -> Result<Self, ReleaseDateError> {
        let year = i16::try_from(ordinal / 10_000).map_err(|_| ReleaseDateError)?;
        // Both are below 100 by construction, so they fit an i8.
        let month = (ordinal / 100 % 100) as i8;
        let day = (ordinal % 100) as i8;
        Self::new(year, month, day)
    }
}

fn is_iso_date(s: &[u8]) -> bool {
    s.len() == 10
        && s.iter().enumerate().all(|(i, b)| {
            if i == 4 || i == 7 {
                *b == b'-'
            } else {
                b.is_ascii_digit()
            }
        })
}

fn parse_iso_date(s: &str) -> Result<Date, ReleaseDateError> {
    if !is_iso_date(s.as_bytes()) {
        return Err(ReleaseDateError);
    }
    let number =
        |range: std::ops::Range<usize>| s[range].parse::<i16>().map_err(|_| ReleaseDateError);
    let (year, month, day) = (number(0..4)?, number(5..7)?, number(8..10)?);
    // Month and day have two digits, so they fit an i8.
    Date::new(year, month as i8, day as i8).map_err(|_| ReleaseDateError)
}

/// Parses `input` with a strftime-style `format` into its civil date. The
/// time must be valid but is dropped; the date is kept as written, never
/// moved to UTC, because a release is a day in the client's calendar. (A
/// trip through a timestamp would also refuse 31 December 9999, past the
/// last instant that fits every offset.)
fn civil_date(format: &str, input: &str) -> Result<Date, ReleaseDateError> {
    let parsed = strtime::parse(format, input).map_err(|_| ReleaseDateError)?;
    // jiff reads offsets up to ±25:59:59, its own range; RFC 3339's
    // `time-hour` stops at 23.
    if parsed
        .offset()
        .is_some_and(|offset| offset.seconds().unsigned_abs() > MAX_OFFSET_SECONDS)
    {
        return Err(ReleaseDateError);
    }
    parsed
        .to_datetime()
        .map(|datetime| datetime.date())
        .map_err(|_| ReleaseDateError)
}

/// The widest offset RFC 3339 can write, `±23:59`, in seconds.
const MAX_OFFSET_SECONDS: u32 = (23 * 60 + 59) * 60;

/// The IMF-fixdate of RFC 9110, as the server writes it; the weekday must
/// agree with the date.
const IMF_FIXDATE: &str = "%a, %d %b %Y %H:%M:%S GMT";
/// RFC 3339 date-times, with `Z` or a numeric offset.
const RFC3339_UTC: &str = "%Y-%m-%dT%H:%M:%S%.fZ";
const RFC3339_OFFSET: &str = "%Y-%m-%dT%H:%M:%S%.f%:z";

impl FromStr for ReleaseDate {
    type Err = ReleaseDateError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        let bytes = s.as_bytes();
        let date = if bytes.len() == 10 {
            parse_iso_date(s)?
        } else if bytes.len() > 10 && is_iso_date(&bytes[..10]) && matches!(bytes[10], b'T' | b't')
        {
            let upper = s.to_ascii_uppercase();
            civil_date(RFC3339_UTC, &upper).or_else(|_| civil_date(RFC3339_OFFSET, &upper))?
        } else {
            civil_date(IMF_FIXDATE, s)?
        };
        Self::from_date(date)
    }
}

fn weekday_name(weekday: Weekday) -> &'static str {
    match weekday {
        Weekday::Monday => "Mon",
        Weekday::Tuesday => "Tue",
        Weekday::Wednesday => "Wed",
        Weekday::Thursday => "Thu",
        Weekday::Friday => "Fri",
        Weekday::Saturday => "Sat",
        Weekday::Sunday => "Sun",
    }
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

impl ReleaseDate {
    /// The IMF-fixdate (`Wed, 13 Oct 2010 00:00:00 GMT`) as ASCII bytes,
    /// built without the formatting machinery: lists write one per movie.
    pub fn imf_fixdate(self) -> [u8; 29] {
        let mut out = *b"Www, DD Mmm YYYY 00:00:00 GMT";
        out[..3].copy_from_slice(weekday_name(self.0.weekday()).as_bytes());
        let day = self.day().unsigned_abs();
        out[5] = b'0' + day / 10;
        out[6] = b'0' + day % 10;
        out[8..11].copy_from_slice(MONTHS[usize::from(self.month().unsigned_abs() - 1)].as_bytes());
        let year = self.year().unsigned_abs();
        for (i, divisor) in [1000, 100, 10, 1].into_iter().enumerate() {
            // Each digit is below 10, so it fits a u8.
            out[12 + i] = b'0' + (year / divisor % 10) as u8;
        }
        out
    }
}

impl fmt::Display for ReleaseDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let bytes = self.imf_fixdate();
        // Every byte written above is ASCII.
        f.write_str(std::str::from_utf8(&bytes).map_err(|_| fmt::Error)?)
    }
}

impl fmt::Debug for ReleaseDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ReleaseDate({})", self.0)
    }
}

impl Serialize for ReleaseDate {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let bytes = self.imf_fixdate();
        let text = std::str::from_utf8(&bytes).map_err(serde::ser::Error::custom)?;
        serializer.serialize_str(text)
    }
}

impl<'de> Deserialize<'de> for ReleaseDate {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn date(s: &str) -> ReleaseDate {
        s.parse().unwrap()
    }

    #[test]
    fn iso_dates_are_written_as_http_dates() {
        assert_eq!(
            date("2010-10-13").to_string(),
            "Wed, 13 Oct 2010 00:00:00 GMT"
        );
        assert_eq!(
            date("1942-03-05").to_string(),
            "Thu, 05 Mar 1942 00:00:00 GMT"
        );
        assert_eq!(
            date("0001-01-01").to_string(),
            "Mon, 01 Jan 0001 00:00:00 GMT"
        );
        assert_eq!(
            date("9999-12-31").to_string(),
            "Fri, 31 Dec 9999 00:00:00 GMT"
        );
    }

    #[test]
    fn rfc3339_date_times_keep_the_date_as_written() {
        assert_eq!(date("2010-10-13T23:59:59-05:00"), date("2010-10-13"));
        assert_eq!(date("2010-10-13T00:00:00Z"), date("2010-10-13"));
        assert_eq!(date("2010-10-13t01:02:03.5+09:00"), date("2010-10-13"));
        assert_eq!(date("9999-12-31T23:00:00-05:00"), ReleaseDate::MAX);
        assert_eq!(date("0001-01-01T00:00:00+14:00"), ReleaseDate::MIN);
    }

    #[test]
    fn offsets_up_to_23_59_either_way_are_accepted() {
        assert_eq!(date("2010-10-13T00:00:00+23:59"), date("2010-10-13"));
        assert_eq!(date("2010-10-13T00:00:00-23:59"), date("2010-10-13"));
    }

    #[test]
    fn offsets_beyond_23_59_are_rejected() {
        for bad in [
            "2010-10-13T00:00:00+24:00",
            "2010-10-13T00:00:00-24:00",
            "2010-10-13T00:00:00+25:00",
            "2010-10-13T00:00:00-25:59",
            "2010-10-13T00:00:00+23:60",
        ] {
            assert_eq!(bad.parse::<ReleaseDate>(), Err(ReleaseDateError), "{bad:?}");
        }
    }

    #[test]
    fn a_body_with_a_24_hour_offset_is_refused_naming_release() {
        let body = serde_json::json!({
            "title": "Universe",
            "release": "2010-10-13T00:00:00+24:00",
        });
        let refused = crate::NewMovie::from_json(&body).unwrap_err();
        assert_eq!(refused.field, "release");
    }

    #[test]
    fn http_dates_are_read_back() {
        assert_eq!(date("Wed, 13 Oct 2010 00:00:00 GMT"), date("2010-10-13"));
        assert_eq!(date("Wed, 13 Oct 2010 18:30:00 GMT"), date("2010-10-13"));
        assert_eq!(date("Fri, 31 Dec 9999 00:00:00 GMT"), ReleaseDate::MAX);
        assert_eq!(date("Mon, 01 Jan 0001 00:00:00 GMT"), ReleaseDate::MIN);
    }

    #[test]
    fn malformed_dates_are_rejected() {
        for bad in [
            "",
            "2010",
            "2010-13-01",
            "2010-02-30",
            "10-10-2010",
            "2010/10/13",
            "20101013",
            "0000-01-01",
            "+2010-10-13",
            "2010-10-13T25:00:00Z",
            "2010-10-13T10:00:00",
            "2010-10-13 garbage",
            "Thu, 13 Oct 2010 00:00:00 GMT",
            "yesterday",
        ] {
            assert_eq!(bad.parse::<ReleaseDate>(), Err(ReleaseDateError), "{bad:?}");
        }
    }

    #[test]
    fn out_of_range_components_are_rejected() {
        assert!(ReleaseDate::new(0, 1, 1).is_err());
        assert!(ReleaseDate::new(10_000, 1, 1).is_err());
        assert!(ReleaseDate::new(2024, 2, 30).is_err());
        assert!(ReleaseDate::new(2024, 2, 29).is_ok());
    }

    #[test]
    fn serde_uses_the_http_date() {
        let d = date("1999-03-31");
        let json = serde_json::to_string(&d).unwrap();
        assert_eq!(json, "\"Wed, 31 Mar 1999 00:00:00 GMT\"");
        assert_eq!(serde_json::from_str::<ReleaseDate>(&json).unwrap(), d);
        assert!(serde_json::from_str::<ReleaseDate>("\"nope\"").is_err());
    }

    fn any_date() -> impl Strategy<Value = ReleaseDate> {
        (1i16..=9999, 1i8..=12, 1i8..=31)
            .prop_filter_map("a real day", |(y, m, d)| ReleaseDate::new(y, m, d).ok())
    }

    proptest! {
        #[test]
        fn display_then_parse_is_identity(d in any_date()) {
            prop_assert_eq!(d.to_string().parse::<ReleaseDate>(), Ok(d));
        }

        #[test]
        fn iso_parse_round_trips(d in any_date()) {
            let iso = format!("{:04}-{:02}-{:02}", d.year(), d.month(), d.day());
            prop_assert_eq!(iso.parse::<ReleaseDate>(), Ok(d));
        }

        #[test]
        fn ordinal_round_trips_and_orders(a in any_date(), b in any_date()) {
            prop_assert_eq!(ReleaseDate::from_ordinal(a.to_ordinal()), Ok(a));
            prop_assert_eq!(a.cmp(&b), a.to_ordinal().cmp(&b.to_ordinal()));
        }

        #[test]
        fn parsing_never_panics(s in "\\PC{0,40}") {
            let _ = s.parse::<ReleaseDate>();
        }
    }
}
