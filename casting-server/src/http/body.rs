//! Request bodies: declared as JSON, within the size limit, parsed.

use bytes::Bytes;
use http::{HeaderMap, header};
use http_body_util::{BodyExt, LengthLimitError, Limited};
use hyper::body::Body;
use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;
use serde_json::value::RawValue;

use super::error::ApiError;

/// The default body limit, 64 KiB.
pub const DEFAULT_LIMIT: usize = 64 * 1024;

/// Whether the `Content-Type` is `application/json`, with any parameters.
/// `+json` types are not: `application/merge-patch+json` means a merge
/// patch, whose `null` would delete where this API's sets to null, and the
/// contract takes plain JSON only.
fn is_json(headers: &HeaderMap) -> bool {
    let Some(value) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let essence = value
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
}

/// Whether the body is sent as it is: no `Content-Encoding`, or only
/// `identity`. A compressed body is refused rather than read as garbage.
fn is_identity(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::CONTENT_ENCODING)
        .iter()
        .flat_map(|v| v.to_str().unwrap_or("?").split(','))
        .all(|coding| coding.trim().eq_ignore_ascii_case("identity"))
}

/// The 422 of a JSON object that holds a value serde_json cannot represent
/// (a number such as `1e400` or `2^64` written out), naming the first field
/// that holds one; `None` when `bytes` is not such an object.
fn unrepresentable(bytes: &[u8]) -> Option<ApiError> {
    let raw: BTreeMap<String, Box<RawValue>> = serde_json::from_slice(bytes).ok()?;
    let field = raw
        .iter()
        .find(|(_, value)| serde_json::from_str::<Value>(value.get()).is_err())
        .map_or("body", |(name, _)| name.as_str());
    Some(ApiError::Unprocessable(format!(
        "{field}: holds a number out of range"
    )))
}

/// Reads the body of a request that must carry JSON, counting every byte
/// against `limit` as it arrives, chunked bodies included.
///
/// # Errors
/// 415 unless declared as JSON (an empty body without a type is a 400, as
/// it is not JSON either), 413 over the limit, 408 when the body stalls.
pub async fn read<B>(headers: &HeaderMap, body: B, limit: usize) -> Result<Bytes, ApiError>
where
    B: Body<Data = Bytes>,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let declared_length = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if !is_identity(headers) {
        return Err(ApiError::UnsupportedMediaType);
    }
    if !is_json(headers) {
        let empty = declared_length == Some(0) || body.is_end_stream();
        if empty && headers.get(header::CONTENT_TYPE).is_none() {
            return Err(ApiError::BadRequest(
                "the body is empty; send a JSON object".into(),
            ));
        }
        return Err(ApiError::UnsupportedMediaType);
    }
    if declared_length.is_some_and(|len| len > limit as u64) {
        return Err(ApiError::PayloadTooLarge(limit));
    }
    let bytes = match Limited::new(body, limit).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(e) if e.is::<LengthLimitError>() => return Err(ApiError::PayloadTooLarge(limit)),
        Err(e) if e.is::<tower_http::timeout::TimeoutError>() => {
            return Err(ApiError::RequestTimeout);
        }
        Err(e) => {
            return Err(ApiError::BadRequest(format!(
                "the body could not be read: {e}"
            )));
        }
    };
    Ok(bytes)
}

/// Parses a body [`read`] returned.
///
/// # Errors
/// 400 when it is not JSON; 422 naming the field when it holds a number
/// out of range.
pub fn parse<'a, T: Deserialize<'a>>(bytes: &'a [u8]) -> Result<T, ApiError> {
    serde_json::from_slice(bytes).map_err(|e| {
        unrepresentable(bytes)
            .unwrap_or_else(|| ApiError::BadRequest(format!("the body is not valid JSON: {e}")))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::{Full, StreamBody};

    async fn read_json<B>(headers: &HeaderMap, body: B, limit: usize) -> Result<Value, ApiError>
    where
        B: Body<Data = Bytes>,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        parse(&super::read(headers, body, limit).await?)
    }

    fn headers(content_type: Option<&str>) -> HeaderMap {
        let mut h = HeaderMap::new();
        if let Some(ct) = content_type {
            h.insert(header::CONTENT_TYPE, ct.parse().unwrap());
        }
        h
    }

    async fn read(content_type: Option<&str>, body: &str) -> Result<Value, ApiError> {
        read_json(
            &headers(content_type),
            Full::new(Bytes::from(body.to_owned())),
            32,
        )
        .await
    }

    #[tokio::test]
    async fn json_bodies_are_parsed() {
        assert_eq!(
            read(Some("application/json"), r#"{"a":1}"#).await.unwrap()["a"],
            1
        );
        assert!(
            read(Some("application/json; charset=utf-8"), "{}")
                .await
                .is_ok()
        );
        assert!(read(Some("Application/JSON"), "{}").await.is_ok());
    }

    #[tokio::test]
    async fn a_number_no_field_can_hold_is_a_422_naming_the_field() {
        for (body, field) in [
            (r#"{"name": "A", "age": 1e400}"#, "age"),
            (r#"{"age": 18446744073709551616e300}"#, "age"),
            (r#"{"movie_id": -1e999, "name": "A"}"#, "movie_id"),
            (r#"{"title": ["x", 1e400]}"#, "title"),
        ] {
            match read_json(
                &headers(Some("application/json")),
                Full::new(Bytes::from(body)),
                1024,
            )
            .await
            {
                Err(ApiError::Unprocessable(message)) => {
                    assert!(message.starts_with(&format!("{field}: ")), "{message}")
                }
                other => panic!("{body}: {other:?}"),
            }
        }
    }

    #[tokio::test]
    async fn an_encoded_body_is_415() {
        for coding in ["gzip", "br", "identity, gzip", "x"] {
            let mut h = headers(Some("application/json"));
            h.insert(header::CONTENT_ENCODING, coding.parse().unwrap());
            let result = read_json(&h, Full::new(Bytes::from_static(b"{}")), 32).await;
            assert!(
                matches!(result, Err(ApiError::UnsupportedMediaType)),
                "{coding}"
            );
        }
        let mut h = headers(Some("application/json"));
        h.insert(header::CONTENT_ENCODING, "Identity".parse().unwrap());
        assert!(
            read_json(&h, Full::new(Bytes::from_static(b"{}")), 32)
                .await
                .is_ok()
        );
    }

    #[tokio::test]
    async fn other_media_types_are_415() {
        for ct in [
            Some("text/plain"),
            Some("application/x-www-form-urlencoded"),
            Some("application/merge-patch+json"),
            Some("application/vnd.api+json"),
            Some("application/jsonx"),
            None,
        ] {
            assert!(
                matches!(read(ct, "{}").await, Err(ApiError::UnsupportedMediaType)),
                "{ct:?}"
            );
        }
    }

    #[tokio::test]
    async fn invalid_json_is_400() {
        assert!(matches!(
            read(Some("application/json"), "{nope").await,
            Err(ApiError::BadRequest(_))
        ));
        assert!(matches!(
            read(Some("application/json"), "").await,
            Err(ApiError::BadRequest(_))
        ));
        assert!(matches!(read(None, "").await, Err(ApiError::BadRequest(_))));
    }

    #[tokio::test]
    async fn bodies_over_the_limit_are_413_even_when_chunked() {
        assert!(matches!(
            read(Some("application/json"), &"1".repeat(33)).await,
            Err(ApiError::PayloadTooLarge(32))
        ));
        let chunks = (0..10).map(|_| {
            Ok::<_, std::convert::Infallible>(hyper::body::Frame::data(Bytes::from_static(
                b"[1,2,",
            )))
        });
        let body = StreamBody::new(futures_util::stream::iter(chunks));
        let result = read_json(&headers(Some("application/json")), body, 32).await;
        assert!(matches!(result, Err(ApiError::PayloadTooLarge(32))));
    }

    #[tokio::test]
    async fn a_declared_length_over_the_limit_is_413_before_reading() {
        let mut h = headers(Some("application/json"));
        h.insert(header::CONTENT_LENGTH, "1000".parse().unwrap());
        let result = read_json(&h, Full::new(Bytes::from_static(b"{}")), 32).await;
        assert!(matches!(result, Err(ApiError::PayloadTooLarge(32))));
    }
}
