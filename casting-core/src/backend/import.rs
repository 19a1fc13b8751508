//! The rules every backend's [`import`](super::Backend::import) keeps, in
//! one place: what a stream of [`Item`]s must satisfy, where the id
//! sequences continue, and which versions an audit entry sets.

use std::collections::HashSet;

use super::{Item, StoreError};
use crate::audit::{AuditEntry, AuditRecord};
use crate::model::{NewActor, NewMovie, RecordKind};

/// Checks items one at a time as they stream past, keeping only the ids.
#[derive(Debug, Default)]
pub(crate) struct ImportCheck {
    movies: HashSet<u64>,
    actors: HashSet<u64>,
    last_entry: u64,
    seen_actor: bool,
    /// Where the sequences must continue from.
    pub(crate) last: Sequences,
}

/// The last id each sequence gave: the next one is one above.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Sequences {
    /// Movies.
    pub(crate) movie: u64,
    /// Actors.
    pub(crate) actor: u64,
    /// Audit entries.
    pub(crate) audit: u64,
}

fn refuse(message: String) -> StoreError {
    StoreError::Import(message)
}

impl ImportCheck {
    /// Checks `item` against the rules and what came before it.
    ///
    /// # Errors
    /// [`StoreError::Import`] naming the item and the rule it breaks.
    pub(crate) fn check(&mut self, item: &Item) -> Result<(), StoreError> {
        match item {
            Item::Movie(movie) => {
                if self.seen_actor {
                    return Err(refuse(format!(
                        "movie {} comes after an actor: movies must come first",
                        movie.id
                    )));
                }
                NewMovie {
                    title: movie.title.clone(),
                    release: movie.release_date,
                }
                .validate()
                .map_err(|e| refuse(format!("movie {}: {e}", movie.id)))?;
                if movie.id == 0 || !self.movies.insert(movie.id) {
                    return Err(refuse(format!(
                        "movie id {} is zero or given twice",
                        movie.id
                    )));
                }
                self.last.movie = self.last.movie.max(movie.id);
            }
            Item::Actor(actor) => {
                self.seen_actor = true;
                NewActor {
                    name: actor.name.clone(),
                    age: actor.age,
                    gender: actor.gender.clone(),
                    movie_id: actor.movie_id,
                }
                .validate()
                .map_err(|e| refuse(format!("actor {}: {e}", actor.id)))?;
                if actor.id == 0 || !self.actors.insert(actor.id) {
                    return Err(refuse(format!(
                        "actor id {} is zero or given twice",
                        actor.id
                    )));
                }
                if let Some(movie_id) = actor.movie_id.filter(|m| !self.movies.contains(m)) {
                    return Err(refuse(format!(
                        "actor {} is cast in movie {movie_id}, which does not come before it",
                        actor.id
                    )));
                }
                self.last.actor = self.last.actor.max(actor.id);
            }
            Item::Audit(entry) => {
                if entry.id <= self.last_entry {
                    return Err(refuse(format!(
                        "audit entry {} does not come after entry {}: entries must ascend",
                        entry.id, self.last_entry
                    )));
                }
                self.last_entry = entry.id;
                self.last.audit = entry.id;
                // A record created and later deleted still used its id.
                let last = match entry.kind {
                    RecordKind::Movie => &mut self.last.movie,
                    RecordKind::Actor => &mut self.last.actor,
                };
                *last = (*last).max(entry.record);
            }
        }
        Ok(())
    }
}

/// The movies whose version `entry` sets besides its own record: an
/// actor's entry that moves it from one movie to another, onto one or off
/// one, changes those movies' casts.
pub(crate) fn recast_by(entry: &AuditEntry) -> impl Iterator<Item = u64> {
    let movie_of = |record: &Option<AuditRecord>| match record {
        Some(AuditRecord::Actor(actor)) => actor.movie_id,
        _ => None,
    };
    let (before, after) = (movie_of(&entry.before), movie_of(&entry.after));
    let moved = entry.kind == RecordKind::Actor && before != after;
    [before, after].into_iter().flatten().filter(move |_| moved)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::AuditAction;
    use crate::model::{Actor, Movie};

    fn movie(id: u64) -> Item {
        Item::Movie(Movie {
            id,
            title: "T".into(),
            release_date: "2010-10-13".parse().unwrap(),
            actors: vec![],
        })
    }

    fn actor(id: u64, movie_id: Option<u64>) -> Actor {
        Actor {
            id,
            name: "N".into(),
            age: 30,
            gender: "Female".into(),
            movie_id,
        }
    }

    fn entry(id: u64, record: u64, before: Option<Actor>, after: Option<Actor>) -> AuditEntry {
        AuditEntry {
            id,
            at: jiff::Timestamp::UNIX_EPOCH,
            sub: None,
            action: AuditAction::Update,
            kind: RecordKind::Actor,
            record,
            before: before.map(AuditRecord::Actor),
            after: after.map(AuditRecord::Actor),
        }
    }

    #[test]
    fn sequences_continue_after_every_id_the_items_name_deleted_ones_included() {
        let mut check = ImportCheck::default();
        check.check(&movie(2)).unwrap();
        check.check(&Item::Actor(actor(3, Some(2)))).unwrap();
        check
            .check(&Item::Audit(entry(9, 7, Some(actor(7, None)), None)))
            .unwrap();
        assert_eq!(
            check.last,
            Sequences {
                movie: 2,
                actor: 7,
                audit: 9
            }
        );
    }

    #[test]
    fn items_that_do_not_hold_together_are_refused() {
        let mut check = ImportCheck::default();
        check.check(&movie(1)).unwrap();
        assert!(check.check(&movie(1)).is_err(), "a duplicate id");
        assert!(
            check.check(&Item::Actor(actor(1, Some(5)))).is_err(),
            "a missing movie"
        );
        check.check(&Item::Actor(actor(2, Some(1)))).unwrap();
        assert!(check.check(&movie(3)).is_err(), "a movie after an actor");
        let mut blank = actor(4, None);
        blank.name = " ".into();
        assert!(
            check.check(&Item::Actor(blank)).is_err(),
            "an invalid record"
        );
        check.check(&Item::Audit(entry(5, 2, None, None))).unwrap();
        assert!(
            check.check(&Item::Audit(entry(5, 2, None, None))).is_err(),
            "entries ascend"
        );
    }

    #[test]
    fn an_actor_entry_that_moves_it_sets_the_version_of_both_movies() {
        let moved = entry(1, 1, Some(actor(1, Some(4))), Some(actor(1, Some(6))));
        assert_eq!(recast_by(&moved).collect::<Vec<_>>(), [4, 6]);
        let created = entry(2, 1, None, Some(actor(1, Some(6))));
        assert_eq!(recast_by(&created).collect::<Vec<_>>(), [6]);
        let renamed = entry(3, 1, Some(actor(1, Some(6))), Some(actor(1, Some(6))));
        assert_eq!(recast_by(&renamed).count(), 0);
    }
}
