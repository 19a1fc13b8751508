//! The access line written straight into the log buffer, byte for byte as
//! the fmt layer would write it (without colours), but without going
//! through an event: the fmt layer's field visitors, its `Debug`-driven
//! formatting and its timestamp's `write!` made one line cost 1.1 µs as
//! text and 1.5 µs as JSON (`benches/access_log.rs`); formatting the seven
//! known fields here costs 0.34 µs in either format.

use std::cell::Cell;
use std::io::{self, Write as _};
use std::net::IpAddr;
use std::time::SystemTime;

use jiff::civil::DateTime;

use tracing::Subscriber;
use tracing_subscriber::Layer;

use super::buffer::BufferWriter;
use super::{Access, LogFormat};

/// The target the access line is logged under.
pub(super) const TARGET: &str = "casting::access";

thread_local! {
    /// The line being formatted, kept between requests so that a line costs
    /// no allocation once the buffer has grown to the longest line.
    static LINE: Cell<Vec<u8>> = const { Cell::new(Vec::new()) };
}

/// Where access lines go and in which format: a layer that reacts to
/// nothing, in the subscriber only so that [`super::access`] finds it
/// through the current dispatcher (so that each subscriber, as the
/// benchmarks set several, writes to its own buffer).
#[derive(Debug)]
pub(super) struct AccessSink {
    pub(super) writer: BufferWriter,
    pub(super) format: LogFormat,
}

impl<S: Subscriber> Layer<S> for AccessSink {}

impl AccessSink {
    /// Formats `line` and appends it to the buffer; false when it could not
    /// be formatted here (a clock outside years 0 to 9999), for the caller
    /// to log it through tracing instead.
    pub(super) fn write(&self, line: &Access<'_>) -> bool {
        let Some(now) = utc_now() else {
            return false;
        };
        // A thread being torn down has no buffer left: a fresh one will do.
        let mut out = LINE.try_with(Cell::take).unwrap_or_default();
        out.clear();
        let formatted = match self.format {
            LogFormat::Text => text(&mut out, &now, line),
            LogFormat::Json => json(&mut out, &now, line),
        };
        // Writing into a Vec never fails; should it, the line is not logged
        // rather than logged half.
        if formatted.is_ok() {
            self.writer.append(&out);
        }
        let _ = LINE.try_with(|kept| kept.set(out));
        true
    }
}

/// The line as the fmt layer's full text format writes it:
/// `<time>  INFO casting::access: request_id="…" … sub="…"`.
fn text(out: &mut Vec<u8>, now: &DateTime, line: &Access<'_>) -> io::Result<()> {
    timestamp(out, now);
    out.extend_from_slice(b"  INFO casting::access: request_id=");
    debug_str(out, line.request_id)?;
    out.extend_from_slice(b" method=");
    debug_str(out, line.method)?;
    out.extend_from_slice(b" route=");
    debug_str(out, line.route)?;
    out.extend_from_slice(b" status=");
    out.extend_from_slice(itoa::Buffer::new().format(line.status).as_bytes());
    // `Debug`, as the fmt layer records an f64.
    write!(out, " duration_ms={:?}", duration_ms(line))?;
    out.extend_from_slice(b" client=");
    address(out, line.client)?;
    out.extend_from_slice(b" sub=");
    debug_str(out, line.sub)?;
    out.push(b'\n');
    Ok(())
}

/// The line as the fmt layer's flattened JSON format writes it: timestamp,
/// level, the fields in order, then the target.
fn json(out: &mut Vec<u8>, now: &DateTime, line: &Access<'_>) -> io::Result<()> {
    out.extend_from_slice(b"{\"timestamp\":\"");
    timestamp(out, now);
    out.extend_from_slice(b"\",\"level\":\"INFO\",\"request_id\":");
    // serde_json, as tracing-serde uses, so strings escape the same way
    // and the float prints the same digits.
    serde_json::to_writer(&mut *out, line.request_id)?;
    out.extend_from_slice(b",\"method\":");
    serde_json::to_writer(&mut *out, line.method)?;
    out.extend_from_slice(b",\"route\":");
    serde_json::to_writer(&mut *out, line.route)?;
    out.extend_from_slice(b",\"status\":");
    out.extend_from_slice(itoa::Buffer::new().format(line.status).as_bytes());
    out.extend_from_slice(b",\"duration_ms\":");
    serde_json::to_writer(&mut *out, &duration_ms(line))?;
    // An address has nothing to escape.
    out.extend_from_slice(b",\"client\":\"");
    address(out, line.client)?;
    out.extend_from_slice(b"\",\"sub\":");
    serde_json::to_writer(&mut *out, line.sub)?;
    out.extend_from_slice(b",\"target\":\"casting::access\"}\n");
    Ok(())
}

/// `client` as its `Display` writes it. An IPv4 address, the usual one,
/// is written octet by octet: through the formatter it cost about 950
/// instructions, a thirtieth of a whole cached `GET /movies`.
fn address(out: &mut Vec<u8>, client: IpAddr) -> io::Result<()> {
    match client {
        IpAddr::V4(v4) => {
            let mut digits = itoa::Buffer::new();
            for (i, octet) in v4.octets().into_iter().enumerate() {
                if i > 0 {
                    out.push(b'.');
                }
                out.extend_from_slice(digits.format(octet).as_bytes());
            }
            Ok(())
        }
        IpAddr::V6(v6) => write!(out, "{v6}"),
    }
}

/// The duration field's value, as the event carried it.
fn duration_ms(line: &Access<'_>) -> f64 {
    line.took.as_secs_f64() * 1000.0
}

/// `value` as `{:?}` writes it: quoted, with quotes, backslashes and what
/// is not printable escaped. The values are nearly always printable ASCII,
/// for which that is the value between quotes, without the formatter's
/// character-by-character escaping.
fn debug_str(out: &mut Vec<u8>, value: &str) -> io::Result<()> {
    let plain = value
        .bytes()
        .all(|b| (b' '..=b'~').contains(&b) && b != b'"' && b != b'\\');
    if plain {
        out.push(b'"');
        out.extend_from_slice(value.as_bytes());
        out.push(b'"');
        Ok(())
    } else {
        write!(out, "{value:?}")
    }
}

/// The time now in UTC, the calendar worked out by jiff; `None` outside
/// the years 0 to 9999, which the fmt layer writes in a form of its own.
fn utc_now() -> Option<DateTime> {
    let now = jiff::Timestamp::try_from(SystemTime::now()).ok()?;
    let civil = jiff::tz::TimeZone::UTC.to_datetime(now);
    (0..=9999).contains(&civil.year()).then_some(civil)
}

/// `now` as the fmt layer's system-time timer writes it:
/// `2026-12-02T11:14:13.123456Z` (microseconds, truncated). Digit by digit
/// rather than through jiff's printer, which is the slower part of a line.
fn timestamp(out: &mut Vec<u8>, now: &DateTime) {
    // Each field is within its range (the year checked by `utc_now`), so
    // none is negative.
    let field = |value: i64| u64::try_from(value).unwrap_or(0);
    digits(out, field(now.year().into()), 4);
    out.push(b'-');
    digits(out, field(now.month().into()), 2);
    out.push(b'-');
    digits(out, field(now.day().into()), 2);
    out.push(b'T');
    digits(out, field(now.hour().into()), 2);
    out.push(b':');
    digits(out, field(now.minute().into()), 2);
    out.push(b':');
    digits(out, field(now.second().into()), 2);
    out.push(b'.');
    digits(out, field((now.subsec_nanosecond() / 1000).into()), 6);
    out.push(b'Z');
}

/// The last `width` decimal digits of `value`, zero-padded.
fn digits(out: &mut Vec<u8>, value: u64, width: u32) {
    let mut divisor = 10u64.pow(width - 1);
    while divisor > 0 {
        // A single digit, so the cast cannot truncate.
        out.push(b'0' + (value / divisor % 10) as u8);
        divisor /= 10;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_written_as_the_fmt_layer_writes_them() {
        for secs in [
            0_i64,
            59,
            86_399,
            86_400,
            951_782_400, // 2000-02-29
            951_868_799,
            1_709_164_800, // 2024-02-29
            1_735_689_599, // 2024-12-31T23:59:59
            1_798_761_600,
            4_102_444_800,   // 2100-03-01, not a leap year before
            253_402_207_199, // 9999-12-30, the calendar library's last day
        ] {
            for micros in [0_i32, 7, 123_456, 999_999] {
                let at = jiff::Timestamp::new(secs, micros * 1000).unwrap();
                let mut ours = Vec::new();
                timestamp(&mut ours, &jiff::tz::TimeZone::UTC.to_datetime(at));
                assert_eq!(String::from_utf8(ours).unwrap(), format!("{at:.6}"));
            }
        }
    }

    #[test]
    fn addresses_are_written_as_display_writes_them() {
        use std::net::{Ipv4Addr, Ipv6Addr};
        for client in [
            IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            IpAddr::V4(Ipv4Addr::BROADCAST),
            IpAddr::V4(Ipv4Addr::new(10, 0, 100, 7)),
            IpAddr::V6(Ipv6Addr::LOCALHOST),
            IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1)),
            IpAddr::V6(Ipv4Addr::new(192, 0, 2, 1).to_ipv6_mapped()),
        ] {
            let mut ours = Vec::new();
            address(&mut ours, client).unwrap();
            assert_eq!(String::from_utf8(ours).unwrap(), client.to_string());
        }
    }

    #[test]
    fn strings_are_written_as_debug_writes_them() {
        for value in [
            "",
            "plain",
            "auth0|5f7c8ec7c33c6c004bbafe82",
            "quote\"d",
            "back\\slash",
            "new\nline\ttab",
            "it's",
            "\u{7f}del",
            "éte\u{301}",
            "\u{200b}zero width",
        ] {
            let mut ours = Vec::new();
            debug_str(&mut ours, value).unwrap();
            assert_eq!(String::from_utf8(ours).unwrap(), format!("{value:?}"));
        }
    }
}
