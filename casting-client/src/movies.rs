//! The movie routes: list, read, create, change, delete and search, and
//! the streams that walk a list or a search page by page.

use casting_core::{Movie, MoviePatch, MovieQuery, NewMovie, Page, PageRequest};
use reqwest::Method;

use crate::client::Client;
use crate::error::Error;
use crate::stream::RecordStream;
use crate::wire;

impl Client {
    /// `GET /movies`: one page of movies (every movie when `page` gives no
    /// limit), with the number of movies in the store. Needs `get:movies`.
    ///
    /// # Errors
    /// [`Error::BadRequest`] for a limit outside 1 to 1000, and the errors
    /// every route may answer (see [`Error`]).
    pub async fn list_movies(&self, page: PageRequest) -> Result<Page<Movie>, Error> {
        let list: wire::MovieList = self.get(&["movies"], &wire::page_params(page)).await?;
        Ok(list.into())
    }

    /// Every movie from `page.after` on, in ascending id order, fetched
    /// `page.limit` at a time (100 when unset). Needs `get:movies`.
    pub fn stream_movies(&self, page: PageRequest) -> RecordStream<Movie> {
        let client = self.clone();
        RecordStream::new(page, move |page| {
            let client = client.clone();
            async move { client.list_movies(page).await }
        })
    }

    /// `GET /movies/{id}`. Needs `get:movies`.
    ///
    /// # Errors
    /// [`Error::NotFound`] when there is no such movie.
    pub async fn get_movie(&self, id: u64) -> Result<Movie, Error> {
        let one: wire::OneMovie = self.get(&["movies", &id.to_string()], &[]).await?;
        Ok(one.movie)
    }

    /// `POST /movies`: adds a movie and returns it with its new id. Needs
    /// `post:movies` (executive producer).
    ///
    /// # Errors
    /// [`Error::Invalid`] naming the field the server refused, such as a
    /// blank title.
    pub async fn create_movie(&self, movie: &NewMovie) -> Result<Movie, Error> {
        let added: wire::MovieAdded = self
            .send(Method::POST, &["movies"], &[], Some(movie))
            .await?;
        Ok(added.movie)
    }

    /// `PATCH /movies/{id}`: changes the fields the patch gives and returns
    /// the movie as it now is. Needs `patch:movies`.
    ///
    /// # Errors
    /// [`Error::NotFound`] when there is no such movie, [`Error::Invalid`]
    /// for an empty patch or a field the server refused.
    pub async fn update_movie(&self, id: u64, patch: &MoviePatch) -> Result<Movie, Error> {
        let changed: wire::MovieChanged = self
            .send(
                Method::PATCH,
                &["movies", &id.to_string()],
                &[],
                Some(patch),
            )
            .await?;
        Ok(changed.movie)
    }

    /// `DELETE /movies/{id}`: deletes the movie (its actors stay, cast in
    /// no movie) and returns the id deleted. Needs `delete:movies`
    /// (executive producer).
    ///
    /// # Errors
    /// [`Error::NotFound`] when there is no such movie.
    pub async fn delete_movie(&self, id: u64) -> Result<u64, Error> {
        let deleted: wire::Deleted = self
            .send::<_, ()>(Method::DELETE, &["movies", &id.to_string()], &[], None)
            .await?;
        Ok(deleted.deleted)
    }

    /// `GET /movies/search`: one page of the movies every filter of `query`
    /// holds for, with the number that match. Needs `search:movies`.
    ///
    /// # Errors
    /// [`Error::BadRequest`] for a limit outside 1 to 1000.
    pub async fn search_movies(&self, query: &MovieQuery) -> Result<Page<Movie>, Error> {
        let found: wire::MovieSearch = self
            .get(&["movies", "search"], &wire::movie_params(query))
            .await?;
        Ok(found.into())
    }

    /// Every movie that matches `query`, from `query.page.after` on, fetched
    /// `query.page.limit` at a time (100 when unset). Needs `search:movies`.
    pub fn stream_movie_search(&self, query: MovieQuery) -> RecordStream<Movie> {
        let client = self.clone();
        RecordStream::new(query.page, move |page| {
            let client = client.clone();
            let query = MovieQuery {
                page,
                ..query.clone()
            };
            async move { client.search_movies(&query).await }
        })
    }
}
