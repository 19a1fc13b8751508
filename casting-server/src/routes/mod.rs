//! The handlers, one file per resource. Each runs after the router, the
//! authentication and the permission check; it reads its query, id and
//! body, calls the core, and shapes the contract's response.

pub mod actors;
pub mod audit;
pub mod dev_token;
pub mod meta;
pub mod movies;
pub mod resource;

use crate::http::error::ApiError;

/// The id in a path. Anything but a positive decimal integer names no
/// record, so it is a 404 like an id that is not in the store.
fn id(raw: &str) -> Result<u64, ApiError> {
    if raw.is_empty() || !raw.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ApiError::NotFound);
    }
    raw.parse::<u64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or(ApiError::NotFound)
}

/// A body that breaks a validation rule.
fn unprocessable(error: casting_core::InvalidField) -> ApiError {
    ApiError::Unprocessable(error.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_positive_decimal_ids_name_records() {
        assert_eq!(id("1").ok(), Some(1));
        assert_eq!(id("007").ok(), Some(7));
        for bad in [
            "0",
            "-1",
            "+1",
            "1.0",
            "abc",
            "",
            "18446744073709551616",
            " 1",
            "1e3",
        ] {
            assert!(matches!(id(bad), Err(ApiError::NotFound)), "{bad:?}");
        }
    }
}
