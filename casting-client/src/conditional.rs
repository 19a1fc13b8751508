//! Safe concurrent edits: read a record with its `ETag`, then change or
//! delete it only if it is still as read (`If-Match`). When someone else
//! changed it in between, the server refuses with 412 and changes nothing,
//! which arrives as [`Error::PreconditionFailed`].

use casting_core::{Actor, ActorPatch, Movie, MoviePatch};
use reqwest::Method;
use reqwest::header::{ETAG, HeaderMap, HeaderValue, IF_MATCH};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::client::Client;
use crate::error::{Error, TransportKind};
use crate::wire;

/// A record with the `ETag` the server sent with it: pass the tag to an
/// `*_if_unchanged` method to write only if nobody changed the record since.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tagged<T> {
    /// The record.
    pub record: T,
    /// Its entity tag, as the server sent it, quotes included (`"3-17"`).
    pub etag: String,
}

/// The `ETag` of an answer that must carry one.
fn etag_of(headers: &HeaderMap, what: &str) -> Result<String, Error> {
    headers
        .get(ETAG)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .ok_or_else(|| Error::Transport {
            kind: TransportKind::Decode,
            message: format!("the answer to {what} carries no ETag, which the contract promises"),
            source: None,
        })
}

fn if_match(etag: &str) -> Result<HeaderMap, Error> {
    let value = HeaderValue::from_str(etag)
        .map_err(|_| Error::config(format!("{etag:?} cannot be sent as an If-Match header")))?;
    let mut headers = HeaderMap::new();
    headers.insert(IF_MATCH, value);
    Ok(headers)
}

impl Client {
    async fn tagged<T: DeserializeOwned, B: Serialize + ?Sized>(
        &self,
        method: Method,
        segments: &[&str],
        headers: HeaderMap,
        body: Option<&B>,
    ) -> Result<(T, String), Error> {
        let what = format!("{method} /{}", segments.join("/"));
        let (answer, answered) = self.send_with(method, segments, &[], headers, body).await?;
        Ok((answer, etag_of(&answered, &what)?))
    }

    /// `GET /movies/{id}` with the movie's `ETag`. Needs `get:movies`.
    ///
    /// # Errors
    /// [`Error::NotFound`] when there is no such movie.
    pub async fn get_movie_tagged(&self, id: u64) -> Result<Tagged<Movie>, Error> {
        let (one, etag): (wire::OneMovie, _) = self
            .tagged::<_, ()>(
                Method::GET,
                &["movies", &id.to_string()],
                HeaderMap::new(),
                None,
            )
            .await?;
        Ok(Tagged {
            record: one.movie,
            etag,
        })
    }

    /// `GET /actors/{id}` with the actor's `ETag`. Needs `get:actors`.
    ///
    /// # Errors
    /// [`Error::NotFound`] when there is no such actor.
    pub async fn get_actor_tagged(&self, id: u64) -> Result<Tagged<Actor>, Error> {
        let (one, etag): (wire::OneActor, _) = self
            .tagged::<_, ()>(
                Method::GET,
                &["actors", &id.to_string()],
                HeaderMap::new(),
                None,
            )
            .await?;
        Ok(Tagged {
            record: one.actor,
            etag,
        })
    }

    /// `PATCH /movies/{id}` with `If-Match: etag`: changes the movie only if
    /// it is unchanged since `etag` was read, and returns it with its new
    /// tag. Needs `patch:movies`.
    ///
    /// # Errors
    /// [`Error::PreconditionFailed`] when the movie changed (nothing was
    /// written), [`Error::NotFound`], [`Error::Invalid`].
    pub async fn update_movie_if_unchanged(
        &self,
        id: u64,
        patch: &MoviePatch,
        etag: &str,
    ) -> Result<Tagged<Movie>, Error> {
        let (changed, etag): (wire::MovieChanged, _) = self
            .tagged(
                Method::PATCH,
                &["movies", &id.to_string()],
                if_match(etag)?,
                Some(patch),
            )
            .await?;
        Ok(Tagged {
            record: changed.movie,
            etag,
        })
    }

    /// `PATCH /actors/{id}` with `If-Match: etag`: changes the actor only if
    /// it is unchanged since `etag` was read, and returns it with its new
    /// tag. Needs `patch:actors`.
    ///
    /// # Errors
    /// [`Error::PreconditionFailed`] when the actor changed (nothing was
    /// written), [`Error::NotFound`], [`Error::Invalid`].
    pub async fn update_actor_if_unchanged(
        &self,
        id: u64,
        patch: &ActorPatch,
        etag: &str,
    ) -> Result<Tagged<Actor>, Error> {
        let (changed, etag): (wire::ActorChanged, _) = self
            .tagged(
                Method::PATCH,
                &["actors", &id.to_string()],
                if_match(etag)?,
                Some(patch),
            )
            .await?;
        Ok(Tagged {
            record: changed.actor,
            etag,
        })
    }

    /// `DELETE /movies/{id}` with `If-Match: etag`: deletes the movie only
    /// if it is unchanged since `etag` was read. Needs `delete:movies`.
    ///
    /// # Errors
    /// [`Error::PreconditionFailed`] when the movie changed (nothing was
    /// deleted), [`Error::NotFound`].
    pub async fn delete_movie_if_unchanged(&self, id: u64, etag: &str) -> Result<u64, Error> {
        self.delete_if(&["movies", &id.to_string()], etag).await
    }

    /// `DELETE /actors/{id}` with `If-Match: etag`: deletes the actor only
    /// if it is unchanged since `etag` was read. Needs `delete:actors`.
    ///
    /// # Errors
    /// [`Error::PreconditionFailed`] when the actor changed (nothing was
    /// deleted), [`Error::NotFound`].
    pub async fn delete_actor_if_unchanged(&self, id: u64, etag: &str) -> Result<u64, Error> {
        self.delete_if(&["actors", &id.to_string()], etag).await
    }

    async fn delete_if(&self, segments: &[&str], etag: &str) -> Result<u64, Error> {
        let (deleted, _): (wire::Deleted, _) = self
            .send_with::<_, ()>(Method::DELETE, segments, &[], if_match(etag)?, None)
            .await?;
        Ok(deleted.deleted)
    }
}
