//! The service API: every operation checks the caller's permission first,
//! then validates its input, then runs in one transaction of the store.

use std::path::Path;
use std::sync::Arc;

use crate::audit::{AuditPage, AuditQuery, MAX_AUDIT_LIMIT, Versioned};
use crate::backend::{Backend, CheckedWrite, Committed, Counts, Write, Written};
use crate::error::{Error, RecordKind};
use crate::model::{Actor, ActorPatch, InvalidField, Movie, MoviePatch, NewActor, NewMovie};
use crate::query::{ActorQuery, MAX_LIMIT, MovieQuery, Page, PageRequest};
use crate::store::Store;
use crate::{Permission, Principal};

/// The casting agency: the one entry point to its data.
///
/// Cloning is cheap and every clone shares the same backend.
#[derive(Debug, Clone)]
pub struct Agency {
    backend: Arc<dyn Backend>,
}

/// Refuses a caller without `permission`.
///
/// # Errors
/// [`Error::Forbidden`] naming the missing permission.
pub fn authorize(principal: &Principal, permission: Permission) -> Result<(), Error> {
    if principal.may(permission) {
        Ok(())
    } else {
        Err(Error::Forbidden {
            missing: permission,
        })
    }
}

fn check_page(page: PageRequest) -> Result<(), InvalidField> {
    match page.limit {
        Some(limit) if !(1..=MAX_LIMIT).contains(&limit) => Err(InvalidField::new(
            "limit",
            format!("must be from 1 to {MAX_LIMIT}"),
        )),
        _ => Ok(()),
    }
}

/// The record a write of one kind must answer with; anything else is a
/// fault of the store, not of the request.
fn expect<T>(written: Written, take: fn(Written) -> Option<T>) -> Result<T, Error> {
    take(written).ok_or_else(|| {
        crate::StoreError::Corrupt("a write answered with a record of another kind".into()).into()
    })
}

impl Agency {
    /// Opens (or creates) the store at `path`.
    ///
    /// # Errors
    /// As [`Store::open`].
    pub fn open(path: impl AsRef<Path>) -> Result<Self, Error> {
        Ok(Agency::new(Arc::new(Store::open(path)?)))
    }

    /// An agency over a backend that is already open: a [`Store`], or
    /// another [`Backend`].
    pub fn new(backend: Arc<dyn Backend>) -> Self {
        Agency { backend }
    }

    /// The backend beneath, for callers that batch checked writes
    /// themselves ([`Backend::commit`]).
    pub fn backend(&self) -> &Arc<dyn Backend> {
        &self.backend
    }

    /// The checks a write must pass before it reaches the store: the
    /// permission, then the input's rules. A server that batches writes
    /// calls this per request, then hands the checked writes to
    /// [`Backend::commit`], which records them in the audit log under the
    /// principal's subject.
    ///
    /// # Errors
    /// [`Error::Forbidden`] or [`Error::Invalid`].
    pub fn check_write(principal: &Principal, write: Write) -> Result<CheckedWrite, Error> {
        authorize(principal, write.kind().permission())?;
        match &write {
            Write::CreateMovie(input) => input.validate()?,
            Write::UpdateMovie(_, patch) => patch.validate()?,
            Write::CreateActor(input) => input.validate()?,
            Write::UpdateActor(_, patch) => patch.validate()?,
            Write::DeleteMovie(_) | Write::DeleteActor(_) => {}
        }
        // A token without a subject leaves the entry's `sub` empty rather
        // than naming an empty string. A NUL, which a token may carry but
        // PostgreSQL's text cannot hold, is recorded as U+FFFD on every
        // store alike, rather than failing the write.
        let subject = Some(principal.subject.replace('\0', "\u{FFFD}")).filter(|s| !s.is_empty());
        Ok(CheckedWrite::new(write, subject))
    }

    /// Applies one checked write in its own durable transaction, honouring
    /// its condition (see [`CheckedWrite::if_match`]).
    ///
    /// ```
    /// # #[cfg(feature = "store")] {
    /// use casting_core::{Agency, Error, MoviePatch, NewMovie, Precondition, Principal, Role, Write};
    ///
    /// let dir = tempfile::tempdir()?;
    /// let agency = Agency::open(dir.path().join("casting.redb"))?;
    /// let producer = Principal::with_role("ada", Role::Producer);
    /// let movie = agency.create_movie(&producer, NewMovie {
    ///     title: "Universe".into(),
    ///     release: "2010-10-13".parse()?,
    /// })?;
    /// let read = agency.movie_versioned(&producer, movie.id)?;
    /// let rename = |title: &str| Write::UpdateMovie(movie.id, MoviePatch {
    ///     title: Some(title.into()),
    ///     ..MoviePatch::default()
    /// });
    /// let unchanged = Precondition::OneOf(vec![read.version]);
    /// let first = Agency::check_write(&producer, rename("Multiverse"))?.if_match(unchanged.clone());
    /// agency.commit(first)?;
    /// // The record changed since it was read, so the second write is refused.
    /// let second = Agency::check_write(&producer, rename("Omniverse"))?.if_match(unchanged);
    /// assert!(matches!(agency.commit(second), Err(Error::PreconditionFailed { .. })));
    /// # }
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::NotFound`], [`Error::PreconditionFailed`], [`Error::Invalid`]
    /// or [`Error::Storage`].
    pub fn commit(&self, write: CheckedWrite) -> Result<Committed, Error> {
        let mut results = self.backend.commit(vec![write])?;
        results.pop().unwrap_or_else(|| {
            Err(crate::StoreError::Corrupt("a batch of one gave no result".into()).into())
        })
    }

    fn write(&self, principal: &Principal, write: Write) -> Result<Written, Error> {
        let checked = Agency::check_write(principal, write)?;
        self.commit(checked).map(|committed| committed.written)
    }

    /// The movie with `id` and its version (`get:movies`).
    ///
    /// # Errors
    /// [`Error::Forbidden`], [`Error::NotFound`] or [`Error::Storage`].
    pub fn movie_versioned(
        &self,
        principal: &Principal,
        id: u64,
    ) -> Result<Versioned<Movie>, Error> {
        authorize(principal, Permission::GetMovies)?;
        self.backend.movie_versioned(id)?.ok_or(Error::NotFound {
            kind: RecordKind::Movie,
            id,
        })
    }

    /// The actor with `id` and its version (`get:actors`).
    ///
    /// # Errors
    /// [`Error::Forbidden`], [`Error::NotFound`] or [`Error::Storage`].
    pub fn actor_versioned(
        &self,
        principal: &Principal,
        id: u64,
    ) -> Result<Versioned<Actor>, Error> {
        authorize(principal, Permission::GetActors)?;
        self.backend.actor_versioned(id)?.ok_or(Error::NotFound {
            kind: RecordKind::Actor,
            id,
        })
    }

    /// A page of the audit log (`read:audit`).
    ///
    /// # Errors
    /// [`Error::Forbidden`], [`Error::Invalid`] for a limit outside 1 to
    /// 1000, or [`Error::Storage`].
    pub fn audit(&self, principal: &Principal, query: &AuditQuery) -> Result<AuditPage, Error> {
        authorize(principal, Permission::ReadAudit)?;
        if !(1..=MAX_AUDIT_LIMIT).contains(&query.limit) {
            return Err(
                InvalidField::new("limit", format!("must be from 1 to {MAX_AUDIT_LIMIT}")).into(),
            );
        }
        Ok(self.backend.audit(query)?)
    }

    /// A page of movies (`get:movies`).
    ///
    /// # Errors
    /// [`Error::Forbidden`], [`Error::Invalid`] for a limit outside 1 to
    /// 1000, or [`Error::Storage`].
    pub fn list_movies(
        &self,
        principal: &Principal,
        page: PageRequest,
    ) -> Result<Page<Movie>, Error> {
        authorize(principal, Permission::GetMovies)?;
        check_page(page)?;
        Ok(self.backend.movies(page)?)
    }

    /// A page of actors (`get:actors`).
    ///
    /// # Errors
    /// As [`Agency::list_movies`].
    pub fn list_actors(
        &self,
        principal: &Principal,
        page: PageRequest,
    ) -> Result<Page<Actor>, Error> {
        authorize(principal, Permission::GetActors)?;
        check_page(page)?;
        Ok(self.backend.actors(page)?)
    }

    /// The movie with `id` (`get:movies`).
    ///
    /// # Errors
    /// [`Error::Forbidden`], [`Error::NotFound`] or [`Error::Storage`].
    pub fn movie(&self, principal: &Principal, id: u64) -> Result<Movie, Error> {
        authorize(principal, Permission::GetMovies)?;
        self.backend
            .movie_versioned(id)?
            .map(|v| v.record)
            .ok_or(Error::NotFound {
                kind: RecordKind::Movie,
                id,
            })
    }

    /// The actor with `id` (`get:actors`).
    ///
    /// # Errors
    /// [`Error::Forbidden`], [`Error::NotFound`] or [`Error::Storage`].
    pub fn actor(&self, principal: &Principal, id: u64) -> Result<Actor, Error> {
        authorize(principal, Permission::GetActors)?;
        self.backend
            .actor_versioned(id)?
            .map(|v| v.record)
            .ok_or(Error::NotFound {
                kind: RecordKind::Actor,
                id,
            })
    }

    /// Searches movies (`search:movies`).
    ///
    /// # Errors
    /// As [`Agency::list_movies`].
    pub fn search_movies(
        &self,
        principal: &Principal,
        query: &MovieQuery,
    ) -> Result<Page<Movie>, Error> {
        authorize(principal, Permission::SearchMovies)?;
        check_page(query.page)?;
        Ok(self.backend.search_movies(query)?)
    }

    /// Searches actors (`search:actors`).
    ///
    /// # Errors
    /// As [`Agency::list_movies`].
    pub fn search_actors(
        &self,
        principal: &Principal,
        query: &ActorQuery,
    ) -> Result<Page<Actor>, Error> {
        authorize(principal, Permission::SearchActors)?;
        check_page(query.page)?;
        Ok(self.backend.search_actors(query)?)
    }

    /// How many movies and actors there are (either read permission).
    ///
    /// # Errors
    /// [`Error::Forbidden`] without `get:movies` or `get:actors`, or [`Error::Storage`].
    pub fn counts(&self, principal: &Principal) -> Result<Counts, Error> {
        if !principal.may(Permission::GetMovies) {
            authorize(principal, Permission::GetActors)?;
        }
        Ok(self.backend.counts()?)
    }

    /// Creates a movie (`post:movies`).
    ///
    /// # Errors
    /// [`Error::Forbidden`], [`Error::Invalid`] or [`Error::Storage`].
    pub fn create_movie(&self, principal: &Principal, input: NewMovie) -> Result<Movie, Error> {
        self.write(principal, Write::CreateMovie(input))
            .and_then(|w| expect(w, Written::into_movie))
    }

    /// Changes a movie (`patch:movies`).
    ///
    /// # Errors
    /// [`Error::Forbidden`], [`Error::Invalid`], [`Error::NotFound`] or [`Error::Storage`].
    pub fn update_movie(
        &self,
        principal: &Principal,
        id: u64,
        patch: MoviePatch,
    ) -> Result<Movie, Error> {
        self.write(principal, Write::UpdateMovie(id, patch))
            .and_then(|w| expect(w, Written::into_movie))
    }

    /// Deletes a movie and takes its actors off it (`delete:movies`).
    ///
    /// # Errors
    /// [`Error::Forbidden`], [`Error::NotFound`] or [`Error::Storage`].
    pub fn delete_movie(&self, principal: &Principal, id: u64) -> Result<u64, Error> {
        self.write(principal, Write::DeleteMovie(id))
            .and_then(|w| expect(w, Written::into_deleted))
    }

    /// Creates an actor (`post:actors`); a given `movie_id` must exist.
    ///
    /// # Errors
    /// [`Error::Forbidden`], [`Error::Invalid`] or [`Error::Storage`].
    pub fn create_actor(&self, principal: &Principal, input: NewActor) -> Result<Actor, Error> {
        self.write(principal, Write::CreateActor(input))
            .and_then(|w| expect(w, Written::into_actor))
    }

    /// Changes an actor (`patch:actors`).
    ///
    /// # Errors
    /// [`Error::Forbidden`], [`Error::Invalid`], [`Error::NotFound`] or [`Error::Storage`].
    pub fn update_actor(
        &self,
        principal: &Principal,
        id: u64,
        patch: ActorPatch,
    ) -> Result<Actor, Error> {
        self.write(principal, Write::UpdateActor(id, patch))
            .and_then(|w| expect(w, Written::into_actor))
    }

    /// Deletes an actor (`delete:actors`).
    ///
    /// # Errors
    /// [`Error::Forbidden`], [`Error::NotFound`] or [`Error::Storage`].
    pub fn delete_actor(&self, principal: &Principal, id: u64) -> Result<u64, Error> {
        self.write(principal, Write::DeleteActor(id))
            .and_then(|w| expect(w, Written::into_deleted))
    }
}
