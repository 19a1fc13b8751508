//! Writes: each is checked before it changes anything, so a batch of
//! independent writes can share one transaction and one durable commit, and
//! a write that is refused leaves its batch-mates untouched. Each write that
//! is applied appends its audit entries in that same transaction, so an
//! acknowledged write always has them and a refused or lost one never does.

use std::sync::PoisonError;
use std::sync::atomic::Ordering;

use jiff::Timestamp;
use redb::{ReadableTable, Table, WriteTransaction};

use super::Store;
use super::audit::{kind_code, version_in};
use super::read::actors_of;
use super::record::{ActorRecord, MovieRecord};
use super::tables::{
    ABOUT, ACTORS, AUDIT, CAST, LAST_ACTOR_ID, LAST_AUDIT_ID, LAST_MOVIE_ID, META, MOVIES, RECAST,
    RECORD_SPACE,
};
use crate::Agency;
use crate::audit::{AuditAction, AuditEntry, AuditRecord, Precondition};
use crate::backend::{CheckedWrite, Committed, StoreError, Write, Written};
use crate::error::{Error, RecordKind};
use crate::model::{InvalidField, Movie};
use crate::permission::Principal;

/// What a delete removes, which its result (an id) does not say.
enum Deleted {
    Movie(u64),
    Actor(u64),
}

impl Deleted {
    fn of(write: &Write) -> Option<Self> {
        match write {
            Write::DeleteMovie(id) => Some(Deleted::Movie(*id)),
            Write::DeleteActor(id) => Some(Deleted::Actor(*id)),
            _ => None,
        }
    }
}

/// The tables of one write transaction.
struct Tables<'txn> {
    movies: Table<'txn, u64, &'static [u8]>,
    actors: Table<'txn, u64, &'static [u8]>,
    cast: Table<'txn, (u64, u64), ()>,
    meta: Table<'txn, &'static str, u64>,
    audit: Table<'txn, (u8, u64, u64), &'static [u8]>,
    /// The time every entry of this transaction is stamped with.
    at: Timestamp,
    /// The id sequences this transaction has drawn from, with the last id
    /// each gave: read from `meta` once and written back once, at
    /// [`Tables::finish`], rather than a read and a write per id (a batch
    /// of creates draws two ids per write, the record's and its entry's).
    drawn: Vec<(&'static str, u64)>,
}

#[cfg(test)]
thread_local! {
    /// Set only by the measurement of what the audit log costs, and only on
    /// its own thread: the writes that thread makes append no entry and
    /// set no version, as before the log existed, so both can be timed in
    /// one process, alternately. Not compiled outside tests.
    pub(super) static UNAUDITED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// One entry to append, before it has an id.
struct Change {
    action: AuditAction,
    kind: RecordKind,
    record: u64,
    before: Option<AuditRecord>,
    after: Option<AuditRecord>,
}

fn not_found(kind: RecordKind, id: u64) -> Error {
    Error::NotFound { kind, id }
}

impl<'txn> Tables<'txn> {
    fn open(txn: &'txn WriteTransaction) -> Result<Self, StoreError> {
        Ok(Tables {
            movies: txn.open_table(MOVIES)?,
            actors: txn.open_table(ACTORS)?,
            cast: txn.open_table(CAST)?,
            meta: txn.open_table(META)?,
            audit: txn.open_table(AUDIT)?,
            // Whole seconds, as the entries show them.
            at: Timestamp::from_second(Timestamp::now().as_second())
                .unwrap_or(Timestamp::UNIX_EPOCH),
            drawn: Vec::with_capacity(3),
        })
    }

    /// Writes the sequences back; call before the commit.
    fn finish(mut self) -> Result<(), StoreError> {
        for (key, last) in std::mem::take(&mut self.drawn) {
            self.meta.insert(key, last)?;
        }
        Ok(())
    }

    /// Appends the entry of `change`, which makes its id the record's
    /// version. Returns the entry's id.
    fn log(&mut self, subject: Option<&str>, change: Change) -> Result<u64, Error> {
        #[cfg(test)]
        if UNAUDITED.with(std::cell::Cell::get) {
            return Ok(0);
        }
        let id = self.next_id(LAST_AUDIT_ID)?;
        let kind = kind_code(change.kind);
        let entry = AuditEntry {
            id,
            at: self.at,
            sub: subject.map(str::to_owned),
            action: change.action,
            kind: change.kind,
            record: change.record,
            before: change.before,
            after: change.after,
        };
        let bytes = super::entry::encode(&entry);
        self.audit
            .insert((kind, id, 0), bytes.as_slice())
            .map_err(Error::redb)?;
        self.audit
            .insert((RECORD_SPACE + kind, change.record, id), ABOUT)
            .map_err(Error::redb)?;
        Ok(id)
    }

    /// Gives movie `id` the version `entry`, because its cast changed.
    fn recast(&mut self, id: Option<u64>, entry: u64) -> Result<(), Error> {
        #[cfg(test)]
        if UNAUDITED.with(std::cell::Cell::get) {
            return Ok(());
        }
        if let Some(id) = id {
            let space = RECORD_SPACE + kind_code(RecordKind::Movie);
            self.audit
                .insert((space, id, entry), RECAST)
                .map_err(Error::redb)?;
        }
        Ok(())
    }

    /// Refuses the write when the record's version does not meet its
    /// condition. Runs after the record is known to exist: a missing
    /// record is not found whatever the condition says.
    fn check(
        &self,
        kind: RecordKind,
        id: u64,
        precondition: Option<&Precondition>,
    ) -> Result<(), Error> {
        let Some(precondition) = precondition else {
            return Ok(());
        };
        let version = version_in(&self.audit, kind, id)?;
        if precondition.admits(version) {
            Ok(())
        } else {
            Err(Error::PreconditionFailed { kind, id })
        }
    }

    /// The next id of a sequence. Ids are never reused because the last
    /// one given is kept, not derived from the records left.
    fn next_id(&mut self, key: &'static str) -> Result<u64, Error> {
        let slot = match self.drawn.iter().position(|(k, _)| *k == key) {
            Some(slot) => slot,
            None => {
                let last = self
                    .meta
                    .get(key)
                    .map_err(Error::redb)?
                    .map_or(0, |v| v.value());
                self.drawn.push((key, last));
                self.drawn.len() - 1
            }
        };
        let id = self.drawn[slot]
            .1
            .checked_add(1)
            .ok_or(StoreError::IdsExhausted(key))?;
        self.drawn[slot].1 = id;
        Ok(id)
    }

    fn movie_record(&self, id: u64) -> Result<Option<MovieRecord>, Error> {
        match self.movies.get(id).map_err(Error::redb)? {
            Some(bytes) => Ok(Some(MovieRecord::decode(bytes.value())?)),
            None => Ok(None),
        }
    }

    fn actor_record(&self, id: u64) -> Result<Option<ActorRecord>, Error> {
        match self.actors.get(id).map_err(Error::redb)? {
            Some(bytes) => Ok(Some(ActorRecord::decode(bytes.value())?)),
            None => Ok(None),
        }
    }

    fn check_movie_exists(&self, movie_id: u64) -> Result<(), Error> {
        if self.movies.get(movie_id).map_err(Error::redb)?.is_some() {
            Ok(())
        } else {
            Err(InvalidField::new("movie_id", format!("no movie with id {movie_id}")).into())
        }
    }

    fn movie(&self, id: u64, record: MovieRecord) -> Result<Movie, Error> {
        Ok(record.into_movie(id, actors_of(&self.cast, id)?))
    }

    fn put_movie(&mut self, id: u64, record: &MovieRecord) -> Result<(), Error> {
        self.movies
            .insert(id, record.encode().as_slice())
            .map_err(Error::redb)?;
        Ok(())
    }

    /// Stores an actor and moves its cast entry from `old_movie` to its movie.
    fn put_actor(
        &mut self,
        id: u64,
        record: &ActorRecord,
        old_movie: Option<u64>,
    ) -> Result<(), Error> {
        self.actors
            .insert(id, record.encode().as_slice())
            .map_err(Error::redb)?;
        if old_movie != record.movie_id {
            if let Some(old) = old_movie {
                self.cast.remove((old, id)).map_err(Error::redb)?;
            }
            if let Some(new) = record.movie_id {
                self.cast.insert((new, id), ()).map_err(Error::redb)?;
            }
        }
        Ok(())
    }

    fn apply(&mut self, checked: CheckedWrite) -> Result<Committed, Error> {
        let (write, subject, precondition) = checked.into_parts();
        let sub = subject.as_deref();
        let condition = precondition.as_ref();
        match write {
            Write::CreateMovie(input) => {
                let id = self.next_id(LAST_MOVIE_ID)?;
                let record = MovieRecord {
                    title: input.title,
                    release: input.release,
                };
                self.put_movie(id, &record)?;
                let movie = record.into_movie(id, Vec::new());
                let entry = self.log(sub, Change::create(AuditRecord::Movie(movie.clone())))?;
                Ok(Committed {
                    written: Written::Movie(movie),
                    entry,
                })
            }
            Write::UpdateMovie(id, patch) => {
                let mut record = self
                    .movie_record(id)?
                    .ok_or(not_found(RecordKind::Movie, id))?;
                self.check(RecordKind::Movie, id, condition)?;
                let before = self.movie(id, record.clone())?;
                if let Some(title) = patch.title {
                    record.title = title;
                }
                if let Some(release) = patch.release {
                    record.release = release;
                }
                self.put_movie(id, &record)?;
                let after = record.into_movie(id, before.actors.clone());
                let entry = self.log(
                    sub,
                    Change::update(
                        AuditRecord::Movie(before),
                        AuditRecord::Movie(after.clone()),
                    ),
                )?;
                Ok(Committed {
                    written: Written::Movie(after),
                    entry,
                })
            }
            Write::DeleteMovie(id) => {
                let record = self
                    .movie_record(id)?
                    .ok_or(not_found(RecordKind::Movie, id))?;
                self.check(RecordKind::Movie, id, condition)?;
                let before = self.movie(id, record)?;
                self.movies.remove(id).map_err(Error::redb)?;
                let cast = before.actors.clone();
                let entry = self.log(sub, Change::delete(AuditRecord::Movie(before)))?;
                for actor_id in cast {
                    let mut record = self.actor_record(actor_id)?.ok_or_else(|| {
                        StoreError::Corrupt(format!("cast names missing actor {actor_id}"))
                    })?;
                    let was = record.clone().into_actor(actor_id);
                    record.movie_id = None;
                    self.put_actor(actor_id, &record, Some(id))?;
                    let now = record.into_actor(actor_id);
                    self.log(
                        sub,
                        Change::update(AuditRecord::Actor(was), AuditRecord::Actor(now)),
                    )?;
                }
                Ok(Committed {
                    written: Written::Deleted(id),
                    entry,
                })
            }
            Write::CreateActor(input) => {
                if let Some(movie_id) = input.movie_id {
                    self.check_movie_exists(movie_id)?;
                }
                let id = self.next_id(LAST_ACTOR_ID)?;
                let record = ActorRecord {
                    name: input.name,
                    age: input.age,
                    gender: input.gender,
                    movie_id: input.movie_id,
                };
                self.put_actor(id, &record, None)?;
                let actor = record.into_actor(id);
                let entry = self.log(sub, Change::create(AuditRecord::Actor(actor.clone())))?;
                self.recast(actor.movie_id, entry)?;
                Ok(Committed {
                    written: Written::Actor(actor),
                    entry,
                })
            }
            Write::UpdateActor(id, patch) => {
                let mut record = self
                    .actor_record(id)?
                    .ok_or(not_found(RecordKind::Actor, id))?;
                self.check(RecordKind::Actor, id, condition)?;
                if let Some(Some(movie_id)) = patch.movie_id {
                    self.check_movie_exists(movie_id)?;
                }
                let before = record.clone().into_actor(id);
                let old_movie = record.movie_id;
                if let Some(name) = patch.name {
                    record.name = name;
                }
                if let Some(age) = patch.age {
                    record.age = age;
                }
                if let Some(gender) = patch.gender {
                    record.gender = gender;
                }
                if let Some(movie_id) = patch.movie_id {
                    record.movie_id = movie_id;
                }
                self.put_actor(id, &record, old_movie)?;
                let after = record.into_actor(id);
                let entry = self.log(
                    sub,
                    Change::update(
                        AuditRecord::Actor(before),
                        AuditRecord::Actor(after.clone()),
                    ),
                )?;
                if old_movie != after.movie_id {
                    self.recast(old_movie, entry)?;
                    self.recast(after.movie_id, entry)?;
                }
                Ok(Committed {
                    written: Written::Actor(after),
                    entry,
                })
            }
            Write::DeleteActor(id) => {
                let record = self
                    .actor_record(id)?
                    .ok_or(not_found(RecordKind::Actor, id))?;
                self.check(RecordKind::Actor, id, condition)?;
                self.actors.remove(id).map_err(Error::redb)?;
                if let Some(movie_id) = record.movie_id {
                    self.cast.remove((movie_id, id)).map_err(Error::redb)?;
                }
                let movie_id = record.movie_id;
                let entry = self.log(
                    sub,
                    Change::delete(AuditRecord::Actor(record.into_actor(id))),
                )?;
                self.recast(movie_id, entry)?;
                Ok(Committed {
                    written: Written::Deleted(id),
                    entry,
                })
            }
        }
    }
}

impl Change {
    fn kind_of(record: &AuditRecord) -> (RecordKind, u64) {
        match record {
            AuditRecord::Movie(movie) => (RecordKind::Movie, movie.id),
            AuditRecord::Actor(actor) => (RecordKind::Actor, actor.id),
        }
    }

    fn create(after: AuditRecord) -> Self {
        let (kind, record) = Change::kind_of(&after);
        Change {
            action: AuditAction::Create,
            kind,
            record,
            before: None,
            after: Some(after),
        }
    }

    fn update(before: AuditRecord, after: AuditRecord) -> Self {
        let (kind, record) = Change::kind_of(&after);
        Change {
            action: AuditAction::Update,
            kind,
            record,
            before: Some(before),
            after: Some(after),
        }
    }

    fn delete(before: AuditRecord) -> Self {
        let (kind, record) = Change::kind_of(&before);
        Change {
            action: AuditAction::Delete,
            kind,
            record,
            before: Some(before),
            after: None,
        }
    }
}

impl Store {
    /// Applies one write for `principal` in its own durable transaction,
    /// after the same checks as the [`Agency`]'s: the permission, then the
    /// input's rules.
    ///
    /// # Errors
    /// [`Error::Forbidden`] or [`Error::Invalid`] from the checks;
    /// [`Error::NotFound`] for a missing record, [`Error::Invalid`] naming
    /// `movie_id` for a movie that does not exist, [`Error::Storage`] when
    /// the store fails; in every case nothing was written.
    pub fn write(&self, principal: &Principal, write: Write) -> Result<Written, Error> {
        let mut results = self.write_batch(principal, vec![write])?;
        results.pop().unwrap_or_else(|| {
            Err(StoreError::Corrupt("a batch of one gave no result".into()).into())
        })
    }

    /// Applies independent writes for `principal` in one transaction with
    /// one durable commit, in order, each with its own result: a write
    /// refused by the checks or by the store changes nothing and does not
    /// stop the others. Results are final once this returns `Ok`.
    ///
    /// # Errors
    /// When the store fails, the whole batch is rolled back and this error
    /// stands for every write in it.
    pub fn write_batch(
        &self,
        principal: &Principal,
        writes: Vec<Write>,
    ) -> Result<Vec<Result<Written, Error>>, StoreError> {
        let checked: Vec<Result<CheckedWrite, Error>> = writes
            .into_iter()
            .map(|write| Agency::check_write(principal, write))
            .collect();
        let allowed = checked
            .iter()
            .filter_map(|c| c.as_ref().ok())
            .cloned()
            .collect();
        let mut committed = self.commit(allowed)?.into_iter();
        Ok(checked
            .into_iter()
            .map(|check| match check {
                Ok(_) => committed
                    .next()
                    .unwrap_or_else(|| {
                        Err(
                            StoreError::Corrupt("a batch gave fewer results than writes".into())
                                .into(),
                        )
                    })
                    .map(|c| c.written),
                Err(refused) => Err(refused),
            })
            .collect())
    }

    /// Applies checked writes, as [`Backend::commit`](crate::Backend::commit)
    /// describes. After a failed commit the file is closed and opened
    /// again, because redb refuses all later work on a handle after an
    /// I/O error; its commit protocol keeps the last good commit.
    ///
    /// # Errors
    /// As [`Backend::commit`](crate::Backend::commit).
    pub fn commit(
        &self,
        writes: Vec<CheckedWrite>,
    ) -> Result<Vec<Result<Committed, Error>>, StoreError> {
        let committed = self.guard(|| self.commit_unguarded(writes));
        if committed.is_err() && self.is_writable() {
            // A panic contained by `guard` has already reopened the file.
            let _ = self.reopen();
        }
        committed
    }

    fn commit_unguarded(
        &self,
        writes: Vec<CheckedWrite>,
    ) -> Result<Vec<Result<Committed, Error>>, StoreError> {
        let deletes: Vec<Option<Deleted>> = writes.iter().map(|w| Deleted::of(w.write())).collect();
        let txn = self.begin_write()?;
        let results = {
            let mut tables = Tables::open(&txn)?;
            let mut results = Vec::with_capacity(writes.len());
            for write in writes {
                match tables.apply(write) {
                    // A refusal is checked before the first change, so the
                    // transaction is as it was; a storage failure may have
                    // left it half-done, so the whole batch goes.
                    Err(Error::Storage(e)) => return Err(e),
                    result => results.push(result),
                }
            }
            tables.finish()?;
            results
        };
        txn.commit()?;
        self.update_index(&deletes, &results);
        // Last, so a reader that saw the old generation read older data.
        self.generation.fetch_add(1, Ordering::Release);
        Ok(results)
    }

    /// Brings the actor index in step with a commit.
    fn update_index(&self, deletes: &[Option<Deleted>], results: &[Result<Committed, Error>]) {
        let mut guard = self
            .actor_index
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        let Some(index) = guard.as_mut() else { return };
        for (deleted, result) in deletes.iter().zip(results) {
            match (deleted, result.as_ref().map(|c| &c.written)) {
                (_, Ok(Written::Actor(actor))) => index.upsert(actor),
                (Some(Deleted::Actor(id)), Ok(_)) => index.remove(*id),
                (Some(Deleted::Movie(id)), Ok(_)) => index.unassign(*id),
                _ => {}
            }
        }
    }
}
