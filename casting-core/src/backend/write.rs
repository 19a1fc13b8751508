//! The writes a backend applies, as they cross the seam: a [`Write`] is
//! what a caller asks for, a [`CheckedWrite`] is that write once the
//! permission and the input's rules allowed it, and only that reaches a
//! backend.

use crate::audit::Precondition;
use crate::model::{Actor, ActorPatch, Movie, MoviePatch, NewActor, NewMovie};
use crate::permission::Permission;

/// One write to the store. Inputs are taken as given: validating them is
/// the caller's part (the [`Agency`](crate::Agency) does it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Write {
    /// Creates a movie with the next movie id.
    CreateMovie(NewMovie),
    /// Changes the given fields of a movie.
    UpdateMovie(u64, MoviePatch),
    /// Deletes a movie and takes its actors off it.
    DeleteMovie(u64),
    /// Creates an actor with the next actor id.
    CreateActor(NewActor),
    /// Changes the given fields of an actor.
    UpdateActor(u64, ActorPatch),
    /// Deletes an actor.
    DeleteActor(u64),
}

/// What kind of write, without its data: what the permission of a write
/// depends on, known to a router before it reads a body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WriteKind {
    /// [`Write::CreateMovie`].
    CreateMovie,
    /// [`Write::UpdateMovie`].
    UpdateMovie,
    /// [`Write::DeleteMovie`].
    DeleteMovie,
    /// [`Write::CreateActor`].
    CreateActor,
    /// [`Write::UpdateActor`].
    UpdateActor,
    /// [`Write::DeleteActor`].
    DeleteActor,
}

impl WriteKind {
    /// The permission a write of this kind needs: the one mapping, used
    /// by the core's check and by the server's early refusal alike.
    pub fn permission(self) -> Permission {
        match self {
            WriteKind::CreateMovie => Permission::PostMovies,
            WriteKind::UpdateMovie => Permission::PatchMovies,
            WriteKind::DeleteMovie => Permission::DeleteMovies,
            WriteKind::CreateActor => Permission::PostActors,
            WriteKind::UpdateActor => Permission::PatchActors,
            WriteKind::DeleteActor => Permission::DeleteActors,
        }
    }
}

impl Write {
    /// What kind of write this is.
    pub fn kind(&self) -> WriteKind {
        match self {
            Write::CreateMovie(_) => WriteKind::CreateMovie,
            Write::UpdateMovie(..) => WriteKind::UpdateMovie,
            Write::DeleteMovie(_) => WriteKind::DeleteMovie,
            Write::CreateActor(_) => WriteKind::CreateActor,
            Write::UpdateActor(..) => WriteKind::UpdateActor,
            Write::DeleteActor(_) => WriteKind::DeleteActor,
        }
    }
}

/// What a write did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Written {
    /// The movie as created or changed.
    Movie(Movie),
    /// The actor as created or changed.
    Actor(Actor),
    /// The id of the deleted record.
    Deleted(u64),
}

impl Written {
    /// The movie, if the write made or changed one.
    pub fn into_movie(self) -> Option<Movie> {
        match self {
            Written::Movie(movie) => Some(movie),
            _ => None,
        }
    }

    /// The actor, if the write made or changed one.
    pub fn into_actor(self) -> Option<Actor> {
        match self {
            Written::Actor(actor) => Some(actor),
            _ => None,
        }
    }

    /// The id, if the write deleted a record.
    pub fn into_deleted(self) -> Option<u64> {
        match self {
            Written::Deleted(id) => Some(id),
            _ => None,
        }
    }
}

/// A write that has passed the [`Agency`](crate::Agency)'s checks, with who
/// made it and, optionally, the version of the record it is conditional on.
///
/// Only [`Agency::check_write`](crate::Agency::check_write) makes one, so
/// every write that reaches a [`Backend`](crate::Backend) has been allowed for
/// that subject: the audit log names who was allowed, not who claimed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedWrite {
    write: Write,
    subject: Option<String>,
    precondition: Option<Precondition>,
}

impl CheckedWrite {
    /// A write made by `subject` (none for an embedder's own writes).
    pub(crate) fn new(write: Write, subject: Option<String>) -> Self {
        CheckedWrite {
            write,
            subject,
            precondition: None,
        }
    }

    /// The write, who made it and its condition, for a backend to apply.
    pub(crate) fn into_parts(self) -> (Write, Option<String>, Option<Precondition>) {
        (self.write, self.subject, self.precondition)
    }

    /// The write.
    pub fn write(&self) -> &Write {
        &self.write
    }

    /// The subject the write is recorded under in the audit log.
    pub fn subject(&self) -> Option<&str> {
        self.subject.as_deref()
    }

    /// This write, made only if the record's version meets `precondition`
    /// when the write's transaction runs: checked there, rather than by a
    /// read before, so two writes conditional on the same version cannot
    /// both succeed. Without effect on a create, which has no record yet.
    #[must_use]
    pub fn if_match(mut self, precondition: Precondition) -> Self {
        self.precondition = Some(precondition);
        self
    }
}

/// What an applied write did, and where the audit log has it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Committed {
    /// The record as created or changed, or the deleted id.
    pub written: Written,
    /// The id of the audit entry the write appended for its own record,
    /// which is also that record's new version. (Deleting a movie appends
    /// entries for the actors it detached after this one.)
    pub entry: u64,
}
