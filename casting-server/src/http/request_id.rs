//! `X-Request-Id`: the client's own id when it is a sane one, else one made
//! here, carried on the response and on every log line of the request.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use http::{HeaderMap, HeaderName, HeaderValue};

/// The header's name.
pub const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The longest id taken from a client.
const MAX_LEN: usize = 64;

/// Whether `value` is 1 to 64 visible ASCII characters, `!` to `~`: what
/// can be logged and echoed without quoting or injection.
fn acceptable(value: &[u8]) -> bool {
    (1..=MAX_LEN).contains(&value.len()) && value.iter().all(|b| (b'!'..=b'~').contains(b))
}

/// A new id: a random prefix chosen once per process, so ids of two runs
/// never collide, and a counter, so making one costs no system call.
fn generate() -> HeaderValue {
    static PREFIX: OnceLock<u32> = OnceLock::new();
    static NEXT: AtomicU64 = AtomicU64::new(1);
    let prefix = *PREFIX.get_or_init(|| {
        let mut bytes = [0u8; 4];
        // Without randomness the time still tells runs apart.
        if aws_lc_rs::rand::fill(&mut bytes).is_err() {
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.subsec_nanos());
            bytes = nanos.to_le_bytes();
        }
        u32::from_le_bytes(bytes)
    });
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let text = text(prefix, n);
    // Hex digits and a dash are always a valid header value.
    HeaderValue::from_bytes(&text).unwrap_or(HeaderValue::from_static("0"))
}

/// `{prefix:08x}-{n:012x}`, written digit by digit: `format!` took a
/// fiftieth of the instructions of a whole `POST /actors`. A counter past
/// 48 bits keeps its low 48, which a process does not reach.
fn text(prefix: u32, n: u64) -> [u8; 21] {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = [b'-'; 21];
    for (i, slot) in out[..8].iter_mut().enumerate() {
        *slot = HEX[((prefix >> (28 - 4 * i)) & 0xf) as usize];
    }
    for (i, slot) in out[9..].iter_mut().enumerate() {
        *slot = HEX[((n >> (44 - 4 * i)) & 0xf) as usize];
    }
    out
}

/// The request's id: the first `X-Request-Id` it carries, if acceptable,
/// else a new one.
pub fn of(headers: &HeaderMap) -> HeaderValue {
    match headers.get(X_REQUEST_ID) {
        Some(value) if acceptable(value.as_bytes()) => value.clone(),
        _ => generate(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(value: &[u8]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(X_REQUEST_ID, HeaderValue::from_bytes(value).unwrap());
        headers
    }

    #[test]
    fn a_sane_client_id_is_kept() {
        for id in [&b"abc-123"[..], b"!", &[b'~'; 64]] {
            assert_eq!(of(&with(id)).as_bytes(), id);
        }
    }

    #[test]
    fn an_empty_long_or_odd_id_is_replaced() {
        for id in [
            &b""[..],
            &[b'a'; 65],
            b"has space",
            b"tab\there",
            b"\xc3\xa9",
        ] {
            let made = of(&with(id));
            assert_ne!(made.as_bytes(), id);
            assert!(acceptable(made.as_bytes()));
        }
    }

    #[test]
    fn ids_are_written_as_format_writes_them() {
        for (prefix, n) in [
            (0, 0),
            (0xdead_beef, 1),
            (u32::MAX, (1 << 48) - 1),
            (0x0102_0304, 0x0a0b_0c0d_0e0f),
        ] {
            assert_eq!(
                std::str::from_utf8(&text(prefix, n)).unwrap(),
                format!("{prefix:08x}-{n:012x}")
            );
        }
    }

    #[test]
    fn generated_ids_differ() {
        let headers = HeaderMap::new();
        assert_ne!(of(&headers), of(&headers));
    }
}
