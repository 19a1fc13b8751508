//! The dispatcher: the one function that takes a request through router,
//! authentication, permission and handler, in the contract's order, over
//! the shared [`App`] state.

use std::sync::Arc;

use bytes::Bytes;
use casting_core::{Principal, authorize};
use http::{Method, Request, StatusCode, header};
use http_body_util::{BodyExt, Full};
use hyper::body::Body;

use crate::auth::AuthError;
use crate::http::cache;
use crate::http::error::ApiError;
use crate::http::response::{HttpResponse, json_bytes};
use crate::http::router::{self, Endpoint, NoRoute};
use crate::routes;
use crate::routes::actors::Actors;
use crate::routes::movies::Movies;
use crate::routes::resource;
pub use crate::state::{App, AppOptions, ClientAddr, DevMode, Subject};

/// The answer to a `HEAD`: the `GET` answer's status and headers, its
/// `Content-Length` included, and no body.
fn without_body(response: HttpResponse) -> HttpResponse {
    let (mut head, body) = response.into_parts();
    let length = body.size_hint().exact().unwrap_or(0);
    head.headers
        .insert(header::CONTENT_LENGTH, http::HeaderValue::from(length));
    HttpResponse::from_parts(head, Full::new(Bytes::new()))
}

impl App {
    /// Answers one request; every failure becomes the contract's envelope.
    pub async fn handle<B>(&self, request: Request<B>) -> HttpResponse
    where
        B: Body<Data = Bytes> + Send,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let unread_body =
            !request.body().is_end_stream() && request.version() <= http::Version::HTTP_11;
        let head = request.method() == Method::HEAD;
        let mut response = self
            .dispatch(request)
            .await
            .unwrap_or_else(ApiError::into_response);
        if head {
            response = without_body(response);
        }
        let status = response.status();
        if unread_body && (status.is_client_error() || status.is_server_error()) {
            // The body of a refused request may be left unread, so the
            // connection cannot carry another request; saying so lets a
            // keep-alive client reconnect instead of failing (RFC 9112 9.6).
            response
                .headers_mut()
                .insert(header::CONNECTION, http::HeaderValue::from_static("close"));
        }
        response
    }

    async fn dispatch<B>(&self, request: Request<B>) -> Result<HttpResponse, ApiError>
    where
        B: Body<Data = Bytes> + Send,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let (parts, body) = request.into_parts();
        if parts.version == http::Version::HTTP_11
            && parts.headers.get_all(header::HOST).iter().count() != 1
        {
            // RFC 9112 section 3.2: exactly one Host in an HTTP/1.1 request.
            return Err(ApiError::BadRequest(
                "an HTTP/1.1 request must carry exactly one Host header".into(),
            ));
        }
        let endpoint = router::resolve(
            parts.method.as_str(),
            parts.uri.path(),
            self.dev().is_some(),
        )
        .map_err(|no_route| match no_route {
            NoRoute::NotFound => ApiError::NotFound,
            NoRoute::MethodNotAllowed(allow) => ApiError::MethodNotAllowed(allow),
        })?;
        if endpoint == Endpoint::DevToken {
            return routes::dev_token::answer(self, &parts, body).await;
        }
        let Some(permission) = endpoint.permission() else {
            return routes::meta::public(self, endpoint);
        };
        let mut authorizations = parts.headers.get_all(header::AUTHORIZATION).iter();
        let authorization = authorizations.next().map(|v| v.as_bytes());
        if authorizations.next().is_some() {
            // Which of several credentials to believe is not ours to guess.
            return Err(AuthError::InvalidHeader.into());
        }
        let client = parts.extensions.get::<ClientAddr>().map(|c| c.0);
        let limited = self.limiter().zip(client);
        if let Some(wait) = limited.and_then(|(limiter, ip)| limiter.blocked(ip)) {
            return Err(ApiError::TooManyFailures(wait));
        }
        let verified = self.auth().authenticate(authorization).await;
        self.metrics().token(match &verified {
            Ok(_) => "ok",
            Err(error) => ApiError::Auth(*error).status_and_code().1,
        });
        let principal = match verified {
            Ok(principal) => principal,
            Err(error) => {
                // An outage of the issuer is not the client's failure.
                if let Some((limiter, ip)) = limited.filter(|_| error != AuthError::Unavailable) {
                    limiter.failed(ip);
                }
                return Err(error.into());
            }
        };
        let subject = Subject(Arc::clone(&principal));
        let mut response = self
            .serve(endpoint, &parts, body, principal, permission)
            .await?;
        response.extensions_mut().insert(subject);
        Ok(response)
    }

    /// The rest of [`App::dispatch`], once the token is verified.
    async fn serve<B>(
        &self,
        endpoint: Endpoint<'_>,
        parts: &http::request::Parts,
        body: B,
        principal: Arc<Principal>,
        permission: casting_core::Permission,
    ) -> Result<HttpResponse, ApiError>
    where
        B: Body<Data = Bytes> + Send,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        authorize(&principal, permission)?;

        // A read's whole body may be served from the cache; the generation
        // is taken before the read, so a body kept under it is no older. A
        // backend that other processes write (PostgreSQL) has no
        // generation this process could see change, so nothing is kept.
        let generation = self.agency().backend().generation();
        let cache_key = generation
            .filter(|_| matches!(parts.method, Method::GET | Method::HEAD))
            .and_then(|_| cache::key(endpoint, parts.uri.path(), parts.uri.query()));
        let generation = generation.unwrap_or_default();
        if let Some(key) = cache_key.as_deref() {
            let hit = self.cache().get(key, generation);
            self.metrics().cache(hit.is_some());
            if let Some(kept) = hit {
                let mut response = json_bytes(StatusCode::OK, kept.body);
                if let Some(etag) = kept.etag {
                    response.headers_mut().insert(header::ETAG, etag);
                }
                return Ok(not_modified(&parts.headers, response));
            }
        }

        let query = parts.uri.query();
        let headers = &parts.headers;
        let p = &principal;
        use Endpoint::*;
        let response = match endpoint {
            ListMovies => resource::list::<Movies>(self, p, query).await,
            SearchMovies => routes::movies::search(self, p, query).await,
            GetMovie(id) => resource::get::<Movies>(self, p, id).await,
            CreateMovie => resource::create::<Movies, _>(self, p, headers, body).await,
            UpdateMovie(id) => resource::update::<Movies, _>(self, p, id, headers, body).await,
            DeleteMovie(id) => resource::delete::<Movies>(self, p, id, headers).await,
            ListActors => resource::list::<Actors>(self, p, query).await,
            SearchActors => routes::actors::search(self, p, query).await,
            GetActor(id) => resource::get::<Actors>(self, p, id).await,
            CreateActor => resource::create::<Actors, _>(self, p, headers, body).await,
            UpdateActor(id) => resource::update::<Actors, _>(self, p, id, headers, body).await,
            DeleteActor(id) => resource::delete::<Actors>(self, p, id, headers).await,
            Audit => routes::audit::list(self, p, query).await,
            Health | Ready | OpenApi | Docs | Jwks | DevToken => {
                routes::meta::public(self, endpoint)
            }
        }?;
        let response = match cache_key {
            Some(key) if response.status() == StatusCode::OK => {
                let (head, body) = response.into_parts();
                // A full body cannot fail to collect: its error type is Infallible.
                let Ok(collected) = body.collect().await;
                let body = collected.to_bytes();
                let etag = head.headers.get(header::ETAG).cloned();
                let kept = cache::Cached {
                    body: body.clone(),
                    etag,
                };
                self.cache().put(&key, generation, kept);
                HttpResponse::from_parts(head, Full::new(body))
            }
            _ => response,
        };
        Ok(not_modified(&parts.headers, response))
    }
}

/// A 200 carrying an `ETag` that the request's `If-None-Match` names
/// becomes a 304 with no body: the client's copy is current. Checked after
/// the cache, so a hit and a miss answer alike.
fn not_modified(request: &http::HeaderMap, response: HttpResponse) -> HttpResponse {
    let current = response.headers().get(header::ETAG);
    let fresh = response.status() == StatusCode::OK
        && current.is_some_and(|etag| crate::http::etag::none_match(request, etag));
    if !fresh {
        return response;
    }
    let (mut head, _) = response.into_parts();
    head.status = StatusCode::NOT_MODIFIED;
    // RFC 9110 section 15.4.5: a 304 has no content, so nothing describes any.
    head.headers.remove(header::CONTENT_TYPE);
    head.headers.remove(header::CONTENT_LENGTH);
    HttpResponse::from_parts(head, Full::new(Bytes::new()))
}
