//! A typed async SDK for the casting agency REST API, on reqwest with
//! rustls. The API itself (routes, bodies, errors, token verification) is
//! described in the repository's `docs/` directory and served by every
//! server at `/openapi.json`.
//!
//! Every route is a method of [`Client`] that takes and returns the types
//! of `casting-core` (re-exported here): [`Movie`], [`Actor`], the inputs
//! [`NewMovie`], [`MoviePatch`], [`NewActor`], [`ActorPatch`], the queries
//! [`PageRequest`], [`MovieQuery`], [`ActorQuery`] and the [`Page`] they
//! return. Every failure is one [`Error`], which keeps the server's message.
//!
//! | route | method | permission |
//! | --- | --- | --- |
//! | `GET /movies` | [`Client::list_movies`], [`Client::stream_movies`] | `get:movies` |
//! | `GET /movies/{id}` | [`Client::get_movie`], [`Client::get_movie_tagged`] | `get:movies` |
//! | `POST /movies` | [`Client::create_movie`] | `post:movies` |
//! | `PATCH /movies/{id}` | [`Client::update_movie`], [`Client::update_movie_if_unchanged`] | `patch:movies` |
//! | `DELETE /movies/{id}` | [`Client::delete_movie`], [`Client::delete_movie_if_unchanged`] | `delete:movies` |
//! | `GET /movies/search` | [`Client::search_movies`], [`Client::stream_movie_search`] | `search:movies` |
//! | `GET /actors` | [`Client::list_actors`], [`Client::stream_actors`] | `get:actors` |
//! | `GET /actors/{id}` | [`Client::get_actor`], [`Client::get_actor_tagged`] | `get:actors` |
//! | `POST /actors` | [`Client::create_actor`] | `post:actors` |
//! | `PATCH /actors/{id}` | [`Client::update_actor`], [`Client::update_actor_if_unchanged`] | `patch:actors` |
//! | `DELETE /actors/{id}` | [`Client::delete_actor`], [`Client::delete_actor_if_unchanged`] | `delete:actors` |
//! | `GET /actors/search` | [`Client::search_actors`], [`Client::stream_actor_search`] | `search:actors` |
//! | `GET /audit` | [`Client::list_audit`], [`Client::stream_audit`] | `read:audit` |
//! | `GET /health` | [`Client::health`] | none |
//! | `GET /openapi.json` | [`Client::openapi`] | none |
//!
//! # Layout
//! - [`Client`] (`client.rs`): shared state, and the one function that
//!   sends a request, retries it and reads its answer; built by a
//!   [`ClientBuilder`] (`builder.rs`).
//! - `token.rs`: where a request's token comes from: none, a replaceable
//!   static token, or the client-credentials grant of [`ClientCredentials`]
//!   (`credentials.rs`), cached and refreshed by one request at a time.
//! - [`RetryPolicy`] (`retry.rs`): which requests are sent again, when,
//!   and how long to wait.
//! - `movies.rs`, `actors.rs`, `audit.rs`, `meta.rs`: one method per route.
//! - [`Tagged`] (`conditional.rs`): a record read with its `ETag`, and the
//!   writes made only if it is unchanged since.
//! - [`RecordStream`] (`stream.rs`): a list or search walked page by page.
//! - [`Error`] (`error.rs`): the contract's error table as an enum.
//! - `wire.rs`: the bodies of the answers, with their verbatim keys.
//!
//! # Example
//! ```no_run
//! use casting_client::{ActorQuery, Client, Error, NewMovie, PageRequest};
//! use futures_util::TryStreamExt;
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let client = Client::builder("http://127.0.0.1:8080")
//!     .token(std::env::var("CASTING_TOKEN")?)
//!     .build()?;
//!
//! let movie = client
//!     .create_movie(&NewMovie {
//!         title: "Universe".into(),
//!         release: "2010-10-13".parse()?,
//!     })
//!     .await?;
//! println!("added #{} released {}", movie.id, movie.release_date);
//!
//! // A page at a time, in bounded memory, however many actors there are.
//! let mut actors = client.stream_actors(PageRequest::first(500));
//! while let Some(actor) = actors.try_next().await? {
//!     println!("#{} {}", actor.id, actor.name);
//! }
//!
//! let found = client
//!     .search_actors(&ActorQuery { q: Some("downey".into()), ..ActorQuery::default() })
//!     .await?;
//! println!("{} actors match", found.total);
//!
//! match client.delete_movie(movie.id).await {
//!     Ok(id) => println!("deleted #{id}"),
//!     Err(Error::Forbidden { message }) => println!("not allowed: {message}"),
//!     Err(other) => return Err(other.into()),
//! }
//!
//! // A refreshed token, for this client and every clone of it.
//! client.set_token("eyJhbGciOi...")?;
//! # Ok(())
//! # }
//! ```

mod actors;
mod audit;
mod builder;
mod client;
mod conditional;
mod credentials;
mod error;
mod meta;
mod movies;
mod retry;
mod stream;
mod token;
mod wire;

pub use builder::{ClientBuilder, DEFAULT_TIMEOUT, DEFAULT_USER_AGENT};
pub use casting_core::{
    Actor, ActorPatch, ActorQuery, AuditAction, AuditEntry, AuditPage, AuditQuery, AuditRecord,
    Movie, MoviePatch, MovieQuery, NewActor, NewMovie, Page, PageRequest, RecordKind, ReleaseDate,
    ReleaseDateError,
};
pub use client::Client;
pub use conditional::Tagged;
pub use credentials::{ClientCredentials, DEFAULT_REFRESH_MARGIN};
pub use error::{BoxError, Error, TransportKind, UnauthorizedCode};
pub use meta::Health;
pub use retry::RetryPolicy;
pub use stream::{DEFAULT_PAGE_SIZE, RecordStream};
