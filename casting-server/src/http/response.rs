//! JSON responses, serialised straight from typed bodies (no JSON tree).
//!
//! A leaf: it knows nothing of the API's errors, which are built from it
//! ([`super::error`]) and convert its [`BodyError`].

use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode, header};
use http_body_util::Full;
use serde::Serialize;

use super::json::WriteJson;

/// The response type of every handler.
pub type HttpResponse = Response<Full<Bytes>>;

/// A JSON response of `status` carrying `body`, already serialised.
pub fn json_bytes(status: StatusCode, body: impl Into<Bytes>) -> HttpResponse {
    let mut response = Response::new(Full::new(body.into()));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// Why a response could not be made: a fault of the server, never of the
/// request.
#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    /// The body could not be serialised.
    #[error("cannot serialise the response body: {0}")]
    Serialize(#[from] serde_json::Error),
    /// A header value held bytes a header cannot.
    #[error("cannot make a header value: {0}")]
    Header(#[from] http::header::InvalidHeaderValue),
}

/// A 200 JSON response carrying `body`.
///
/// # Errors
/// [`BodyError::Serialize`] if `body` cannot be serialised.
pub fn ok(body: &impl Serialize) -> Result<HttpResponse, BodyError> {
    Ok(json_bytes(StatusCode::OK, serialise(body)?))
}

/// A 200 JSON response carrying `body`, which writes itself.
pub fn ok_written(body: &impl WriteJson) -> HttpResponse {
    let written: Result<Bytes, std::convert::Infallible> = buffered(|buffer| {
        body.write_json(buffer);
        Ok(())
    });
    let Ok(bytes) = written;
    json_bytes(StatusCode::OK, bytes)
}

/// The most a thread's serialisation buffer keeps between responses; one
/// larger response gets its room and gives it back.
const KEPT_CAPACITY: usize = 64 * 1024;

thread_local! {
    static BUFFER: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// `body` as JSON, in bytes of exactly its length (see [`buffered`]).
fn serialise(body: &impl Serialize) -> Result<Bytes, serde_json::Error> {
    buffered(|buffer| serde_json::to_writer(buffer, body))
}

/// What `write` writes, in bytes of exactly its length. It is written into
/// a buffer each thread keeps, then copied once: written into a new vector
/// instead, a list of ten movies grew it four times over, each a
/// reallocation and a copy. The buffer saves about 1.5K of the 68K
/// instructions of an uncached `GET /movies`, and a response cache entry
/// holds no spare capacity.
fn buffered<E>(write: impl FnOnce(&mut Vec<u8>) -> Result<(), E>) -> Result<Bytes, E> {
    BUFFER.with(|buffer| {
        // Bodies never make a response while they are written, so the
        // buffer is free; if it ever were not, a vector of its own does.
        let Ok(mut buffer) = buffer.try_borrow_mut() else {
            let mut own = Vec::new();
            write(&mut own)?;
            return Ok(Bytes::from(own));
        };
        buffer.clear();
        let written = write(&mut buffer).map(|()| Bytes::copy_from_slice(&buffer));
        if buffer.capacity() > KEPT_CAPACITY {
            buffer.clear();
            buffer.shrink_to(KEPT_CAPACITY);
        }
        written
    })
}

/// A 200 JSON response for a new record, with its `Location`.
///
/// # Errors
/// [`BodyError::Header`] if `location` is no header value.
pub fn created(body: &impl WriteJson, location: String) -> Result<HttpResponse, BodyError> {
    let mut response = ok_written(body);
    let location = HeaderValue::try_from(location)?;
    response.headers_mut().insert(header::LOCATION, location);
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_are_serialised_whole_and_the_buffer_gives_back_room() {
        let big: Vec<String> = (0..20_000).map(|i| format!("item {i}")).collect();
        for body in [
            serde_json::json!({"a": 1}),
            serde_json::json!(big),
            serde_json::json!({"b": "after the big one"}),
        ] {
            assert_eq!(
                serialise(&body).unwrap(),
                serde_json::to_vec(&body).unwrap()
            );
            BUFFER.with(|b| assert!(b.borrow().capacity() <= KEPT_CAPACITY));
        }
    }
}
