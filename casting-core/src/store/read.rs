//! Reads: each runs in one read transaction, a consistent snapshot that
//! neither waits for writers nor holds them up.

use std::sync::{PoisonError, RwLock};

use redb::{ReadOnlyTable, ReadTransaction, ReadableTable, ReadableTableMetadata};

use super::Store;
use super::index::ActorIndex;
use super::record::{ActorRecord, MovieRecord};
use super::tables::{ACTORS, CAST, MOVIES};
use crate::backend::{Counts, StoreError};
use crate::model::{Actor, Movie};
use crate::query::{ActorQuery, MovieQuery, Page, PageRequest, contains_ignore_case};

/// The tables a movie is read from.
struct MovieTables {
    movies: ReadOnlyTable<u64, &'static [u8]>,
    cast: ReadOnlyTable<(u64, u64), ()>,
}

impl MovieTables {
    fn open(txn: &ReadTransaction) -> Result<Self, StoreError> {
        Ok(MovieTables {
            movies: txn.open_table(MOVIES)?,
            cast: txn.open_table(CAST)?,
        })
    }

    fn movie(&self, id: u64, record: MovieRecord) -> Result<Movie, StoreError> {
        let actors = actors_of(&self.cast, id)?;
        Ok(record.into_movie(id, actors))
    }

    /// Movies with their casts, `records` ascending by id. When the ids are
    /// dense, one scan of the cast table serves them all, instead of a seek
    /// per movie; when sparse (a selective search), a seek per movie reads
    /// less.
    fn movies(&self, records: Vec<(u64, MovieRecord)>) -> Result<Vec<Movie>, StoreError> {
        let (Some(first), Some(last)) = (records.first(), records.last()) else {
            return Ok(Vec::new());
        };
        let span = last.0 - first.0 + 1;
        if span > 4 * records.len() as u64 {
            return records
                .into_iter()
                .map(|(id, r)| self.movie(id, r))
                .collect();
        }
        let cast: Vec<(u64, u64)> = self
            .cast
            .range((first.0, 0)..=(last.0, u64::MAX))?
            .map(|entry| Ok(entry?.0.value()))
            .collect::<Result<_, StoreError>>()?;
        let mut cast = cast.into_iter().peekable();
        let mut movies = Vec::with_capacity(records.len());
        for (id, record) in records {
            let mut actors = Vec::new();
            while let Some(&(movie_id, actor_id)) = cast.peek() {
                if movie_id > id {
                    break;
                }
                if movie_id == id {
                    actors.push(actor_id);
                }
                cast.next();
            }
            movies.push(record.into_movie(id, actors));
        }
        Ok(movies)
    }
}

/// The movie with `id` in the snapshot `txn`, with its cast.
pub(super) fn movie_in(txn: &ReadTransaction, id: u64) -> Result<Option<Movie>, StoreError> {
    let tables = MovieTables::open(txn)?;
    let Some(bytes) = tables.movies.get(id)? else {
        return Ok(None);
    };
    let record = MovieRecord::decode(bytes.value())?;
    tables.movie(id, record).map(Some)
}

/// The ids of the actors cast in movie `id`, ascending.
pub(super) fn actors_of(
    cast: &impl ReadableTable<(u64, u64), ()>,
    id: u64,
) -> Result<Vec<u64>, StoreError> {
    cast.range((id, 0)..=(id, u64::MAX))?
        .map(|entry| Ok(entry?.0.value().1))
        .collect()
}

/// Collects one page from `records`, ascending by id, of which `matches`
/// says which belong. With `count_all`, `total` counts every match;
/// without, reading stops once the page is known to be followed by more, and
/// the caller fills `total`.
fn page<T, R>(
    records: impl Iterator<Item = Result<(u64, R), StoreError>>,
    request: PageRequest,
    count_all: bool,
    mut matches: impl FnMut(&R) -> bool,
    build: impl FnOnce(Vec<(u64, R)>) -> Result<Vec<T>, StoreError>,
) -> Result<Page<T>, StoreError> {
    let start = request.start();
    let limit = request.limit.map_or(usize::MAX, |l| l as usize);
    let mut items = Vec::new();
    let mut more = false;
    let mut total = 0;
    for entry in records {
        let (id, record) = entry?;
        if !matches(&record) {
            continue;
        }
        total += 1;
        if id < start {
            continue;
        }
        if items.len() < limit {
            items.push((id, record));
        } else {
            more = true;
            if !count_all {
                break;
            }
        }
    }
    let next = if more {
        items.last().map(|(id, _)| *id)
    } else {
        None
    };
    Ok(Page {
        items: build(items)?,
        total,
        next,
    })
}

fn actors(records: Vec<(u64, ActorRecord)>) -> Result<Vec<Actor>, StoreError> {
    Ok(records
        .into_iter()
        .map(|(id, r)| r.into_actor(id))
        .collect())
}

fn movies_from(
    table: &ReadOnlyTable<u64, &'static [u8]>,
    start: u64,
) -> Result<impl Iterator<Item = Result<(u64, MovieRecord), StoreError>>, StoreError> {
    Ok(table.range(start..)?.map(|entry| {
        let (id, bytes) = entry?;
        Ok((id.value(), MovieRecord::decode(bytes.value())?))
    }))
}

fn actors_from(
    table: &ReadOnlyTable<u64, &'static [u8]>,
    start: u64,
) -> Result<impl Iterator<Item = Result<(u64, ActorRecord), StoreError>>, StoreError> {
    Ok(table.range(start..)?.map(|entry| {
        let (id, bytes) = entry?;
        Ok((id.value(), ActorRecord::decode(bytes.value())?))
    }))
}

impl Store {
    /// The movie with `id`, if any.
    ///
    /// # Errors
    /// When the store fails.
    pub fn movie(&self, id: u64) -> Result<Option<Movie>, StoreError> {
        self.guard(|| movie_in(&self.read()?, id))
    }

    /// The actor with `id`, if any.
    ///
    /// # Errors
    /// When the store fails.
    pub fn actor(&self, id: u64) -> Result<Option<Actor>, StoreError> {
        self.guard(|| {
            let actors = self.read()?.open_table(ACTORS)?;
            let Some(bytes) = actors.get(id)? else {
                return Ok(None);
            };
            Ok(Some(ActorRecord::decode(bytes.value())?.into_actor(id)))
        })
    }

    /// How many movies and actors there are.
    ///
    /// # Errors
    /// When the store fails.
    pub fn counts(&self) -> Result<Counts, StoreError> {
        self.guard(|| {
            let txn = self.read()?;
            Ok(Counts {
                movies: txn.open_table(MOVIES)?.len()?,
                actors: txn.open_table(ACTORS)?.len()?,
            })
        })
    }

    /// A page of movies; `total` is the number of movies in the store.
    ///
    /// # Errors
    /// When the store fails.
    pub fn movies(&self, request: PageRequest) -> Result<Page<Movie>, StoreError> {
        self.guard(|| {
            let tables = MovieTables::open(&self.read()?)?;
            let records = movies_from(&tables.movies, request.start())?;
            let mut page = page(
                records,
                request,
                false,
                |_| true,
                |items| tables.movies(items),
            )?;
            page.total = tables.movies.len()?;
            Ok(page)
        })
    }

    /// A page of actors; `total` is the number of actors in the store.
    ///
    /// # Errors
    /// When the store fails.
    pub fn actors(&self, request: PageRequest) -> Result<Page<Actor>, StoreError> {
        self.guard(|| {
            let table = self.read()?.open_table(ACTORS)?;
            let records = actors_from(&table, request.start())?;
            let mut page = page(records, request, false, |_| true, actors)?;
            page.total = table.len()?;
            Ok(page)
        })
    }

    /// A page of the movies that match `query`; `total` counts every match.
    ///
    /// # Errors
    /// When the store fails.
    pub fn search_movies(&self, query: &MovieQuery) -> Result<Page<Movie>, StoreError> {
        self.guard(|| {
            let tables = MovieTables::open(&self.read()?)?;
            let needle = query.q.as_deref().map(str::to_lowercase);
            let matches = |r: &MovieRecord| {
                needle
                    .as_deref()
                    .is_none_or(|n| contains_ignore_case(&r.title, n))
                    && query.released_after.is_none_or(|d| r.release > d)
                    && query.released_before.is_none_or(|d| r.release < d)
            };
            let records = movies_from(&tables.movies, 1)?;
            page(records, query.page, true, matches, |items| {
                tables.movies(items)
            })
        })
    }

    /// A page of the actors that match `query`; `total` counts every match.
    ///
    /// # Errors
    /// When the store fails.
    pub fn search_actors(&self, query: &ActorQuery) -> Result<Page<Actor>, StoreError> {
        self.guard(|| self.search_actors_unguarded(query))
    }

    fn search_actors_unguarded(&self, query: &ActorQuery) -> Result<Page<Actor>, StoreError> {
        let selection = {
            let index = self.actor_index()?;
            let guard = index.read().unwrap_or_else(PoisonError::into_inner);
            match guard.as_ref() {
                Some(index) => index.search(query),
                None => return Err(StoreError::Closed),
            }
        };
        let table = self.read()?.open_table(ACTORS)?;
        let mut items = Vec::with_capacity(selection.ids.len());
        for &id in &selection.ids {
            // An actor deleted since the index was read is left out.
            if let Some(bytes) = table.get(id)? {
                items.push(ActorRecord::decode(bytes.value())?.into_actor(id));
            }
        }
        let next = if selection.more {
            selection.ids.last().copied()
        } else {
            None
        };
        Ok(Page {
            items,
            total: selection.total,
            next,
        })
    }

    /// Builds the in-memory search index of actors now rather than on the
    /// first search, which would otherwise wait for it (about a third of a
    /// second per million actors).
    ///
    /// # Errors
    /// When the store fails.
    pub fn prepare_search(&self) -> Result<(), StoreError> {
        self.guard(|| self.actor_index().map(drop))
    }

    /// The actor index, built from one snapshot on first use.
    fn actor_index(&self) -> Result<&RwLock<Option<ActorIndex>>, StoreError> {
        if self
            .actor_index
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .is_some()
        {
            return Ok(&self.actor_index);
        }
        // A closed handle is reopened here, because a reopen takes the
        // index lock, which the snapshot below is taken under.
        drop(self.read()?);
        let mut guard = self
            .actor_index
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        if guard.is_none() {
            // The snapshot is taken under the lock: a write committed after
            // it waits for the lock to update the index, and one committed
            // before it is in both, which the idempotent updates allow.
            let table = self.read_without_reopening()?.open_table(ACTORS)?;
            let mut index = ActorIndex::default();
            for entry in actors_from(&table, 1)? {
                let (id, record) = entry?;
                index.upsert(&record.into_actor(id));
            }
            *guard = Some(index);
        }
        Ok(&self.actor_index)
    }
}
