//! The actor routes: list, read, create, change, delete and search, and
//! the streams that walk a list or a search page by page.

use casting_core::{Actor, ActorPatch, ActorQuery, NewActor, Page, PageRequest};
use reqwest::Method;

use crate::client::Client;
use crate::error::Error;
use crate::stream::RecordStream;
use crate::wire;

impl Client {
    /// `GET /actors`: one page of actors (every actor when `page` gives no
    /// limit), with the number of actors in the store. Needs `get:actors`.
    ///
    /// # Errors
    /// [`Error::BadRequest`] for a limit outside 1 to 1000, and the errors
    /// every route may answer (see [`Error`]).
    pub async fn list_actors(&self, page: PageRequest) -> Result<Page<Actor>, Error> {
        let list: wire::ActorList = self.get(&["actors"], &wire::page_params(page)).await?;
        Ok(list.into())
    }

    /// Every actor from `page.after` on, in ascending id order, fetched
    /// `page.limit` at a time (100 when unset). Needs `get:actors`.
    pub fn stream_actors(&self, page: PageRequest) -> RecordStream<Actor> {
        let client = self.clone();
        RecordStream::new(page, move |page| {
            let client = client.clone();
            async move { client.list_actors(page).await }
        })
    }

    /// `GET /actors/{id}`. Needs `get:actors`.
    ///
    /// # Errors
    /// [`Error::NotFound`] when there is no such actor.
    pub async fn get_actor(&self, id: u64) -> Result<Actor, Error> {
        let one: wire::OneActor = self.get(&["actors", &id.to_string()], &[]).await?;
        Ok(one.actor)
    }

    /// `POST /actors`: adds an actor and returns it with its new id. Needs
    /// `post:actors` (casting director or executive producer).
    ///
    /// # Errors
    /// [`Error::Invalid`] naming the field the server refused, such as an
    /// age above 150 or a `movie_id` that names no movie.
    pub async fn create_actor(&self, actor: &NewActor) -> Result<Actor, Error> {
        let added: wire::ActorAdded = self
            .send(Method::POST, &["actors"], &[], Some(actor))
            .await?;
        Ok(added.actor)
    }

    /// `PATCH /actors/{id}`: changes the fields the patch gives and returns
    /// the actor as it now is; `movie_id: Some(None)` takes the actor off
    /// its movie. Needs `patch:actors`.
    ///
    /// # Errors
    /// [`Error::NotFound`] when there is no such actor, [`Error::Invalid`]
    /// for an empty patch or a field the server refused.
    pub async fn update_actor(&self, id: u64, patch: &ActorPatch) -> Result<Actor, Error> {
        let changed: wire::ActorChanged = self
            .send(
                Method::PATCH,
                &["actors", &id.to_string()],
                &[],
                Some(patch),
            )
            .await?;
        Ok(changed.actor)
    }

    /// `DELETE /actors/{id}`: deletes the actor and returns the id deleted.
    /// Needs `delete:actors`.
    ///
    /// # Errors
    /// [`Error::NotFound`] when there is no such actor.
    pub async fn delete_actor(&self, id: u64) -> Result<u64, Error> {
        let deleted: wire::Deleted = self
            .send::<_, ()>(Method::DELETE, &["actors", &id.to_string()], &[], None)
            .await?;
        Ok(deleted.deleted)
    }

    /// `GET /actors/search`: one page of the actors every filter of `query`
    /// holds for, with the number that match. Needs `search:actors`.
    ///
    /// # Errors
    /// [`Error::BadRequest`] for a limit outside 1 to 1000 or an empty
    /// gender.
    pub async fn search_actors(&self, query: &ActorQuery) -> Result<Page<Actor>, Error> {
        let found: wire::ActorSearch = self
            .get(&["actors", "search"], &wire::actor_params(query))
            .await?;
        Ok(found.into())
    }

    /// Every actor that matches `query`, from `query.page.after` on, fetched
    /// `query.page.limit` at a time (100 when unset). Needs `search:actors`.
    pub fn stream_actor_search(&self, query: ActorQuery) -> RecordStream<Actor> {
        let client = self.clone();
        RecordStream::new(query.page, move |page| {
            let client = client.clone();
            let query = ActorQuery {
                page,
                ..query.clone()
            };
            async move { client.search_actors(&query).await }
        })
    }
}
