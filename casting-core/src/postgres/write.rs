//! A batch of checked writes in one transaction, with the same results,
//! audit entries and versions as the redb store's (`store/write.rs`).
//!
//! The transaction first locks the `audit` row of `casting_sequences`,
//! which serializes writers across every process: the ids it then gives
//! out are in commit order, and under READ COMMITTED every later
//! statement sees all that committed before the lock was granted. Each
//! write is checked (not found, its condition, its `movie_id`) before it
//! changes anything, so a refused write leaves its batch-mates alone.
//! Statements that do not depend on each other's answers are sent
//! together, without waiting for each reply.

use std::collections::{BTreeMap, HashSet};

use deadpool_postgres::{Object, Pool};
use jiff::Timestamp;
use tokio_postgres::Row;
use tokio_postgres::types::ToSql;

use super::audit::{self, Columns};
use super::error::{exact, from_db, is_conflict, is_outage, pg, pool as pool_error};
use super::read::{ACTOR, MOVIE, actor_of, movie_of};
use crate::audit::{AuditAction, AuditEntry, AuditRecord, Precondition, Versioned};
use crate::backend::{CheckedWrite, Committed, StoreError, Write, Written};
use crate::error::{Error, RecordKind};
use crate::model::{Actor, InvalidField, Movie};

/// How often a batch the database refused for a conflict with another
/// transaction (a serialization failure, a deadlock) is run again.
const CONFLICT_RETRIES: usize = 4;

/// Applies `writes` in one transaction, as [`Backend::commit`](crate::Backend::commit).
pub(super) async fn commit(
    pool: Pool,
    writes: Vec<CheckedWrite>,
) -> Result<Vec<Result<Committed, Error>>, StoreError> {
    let mut attempt = 0;
    loop {
        match commit_once(&pool, writes.clone()).await {
            Err(e) if is_conflict(&e) && attempt < CONFLICT_RETRIES => attempt += 1,
            done => return done,
        }
    }
}

fn db(e: tokio_postgres::Error) -> Error {
    Error::Storage(pg(e))
}

const LOCK: &str = "SELECT last FROM casting_sequences WHERE name = 'audit' FOR UPDATE";
const READ: &str = "SELECT name, last FROM casting_sequences";
const SAVE: &str = "UPDATE casting_sequences s SET last = u.last
    FROM unnest($1::text[], $2::bigint[]) u(name, last) WHERE s.name = u.name";

async fn commit_once(
    pool: &Pool,
    writes: Vec<CheckedWrite>,
) -> Result<Vec<Result<Committed, Error>>, StoreError> {
    let client = pool.get().await.map_err(pool_error)?;
    let outcome = in_transaction(&client, writes).await;
    if outcome.is_err() {
        // The session must not go back to the pool inside a transaction.
        // After a COMMIT that failed there is none, and the ROLLBACK only
        // warns; a session that cannot even roll back is dropped.
        if client.batch_execute("ROLLBACK").await.is_err() {
            drop(Object::take(client));
        }
    }
    outcome
}

/// The transaction of one batch. Its own `BEGIN` and `COMMIT` rather
/// than a transaction object's, so that each can be sent together with
/// the statements beside it: three round trips for a batch of one
/// create, rather than five.
async fn in_transaction(
    client: &Object,
    writes: Vec<CheckedWrite>,
) -> Result<Vec<Result<Committed, Error>>, StoreError> {
    let (lock, read, save, recast, movies) = tokio::join!(
        client.prepare_cached(LOCK),
        client.prepare_cached(READ),
        client.prepare_cached(SAVE),
        client.prepare_cached(RECAST),
        client.prepare_cached(MOVIES_EXIST),
    );
    let (lock, read, movies) = (lock.map_err(pg)?, read.map_err(pg)?, movies.map_err(pg)?);
    // The movies the writes cast actors in, whose existence is read with
    // the sequences rather than one by one.
    let cast_in: HashSet<u64> = writes
        .iter()
        .filter_map(|write| match write.write() {
            Write::CreateActor(input) => input.movie_id,
            Write::UpdateActor(_, patch) => patch.movie_id.flatten(),
            _ => None,
        })
        .collect();
    let cast_in_db: Vec<i64> = cast_in.iter().map(|&id| exact(id)).collect();
    let cast_in_params: [&(dyn ToSql + Sync); 1] = [&cast_in_db];
    let (save, recast) = (save.map_err(pg)?, recast.map_err(pg)?);
    // READ COMMITTED whatever the database's default; the lock first: it
    // waits for the writer before, and the statements after it see what
    // that writer committed. The server runs pipelined statements in the
    // order sent (`biased` polls, so sends, in the order written), so
    // none waits for the answer of the one before.
    let (begun, locked, rows, existing) = tokio::join!(
        biased;
        client.batch_execute("BEGIN ISOLATION LEVEL READ COMMITTED"),
        client.query_one(&lock, &[]),
        client.query(&read, &[]),
        async {
            if cast_in_db.is_empty() {
                Ok(Vec::new())
            } else {
                client.query(&movies, &cast_in_params).await
            }
        },
    );
    begun.map_err(pg)?;
    locked.map_err(pg)?;
    let mut known_movies = HashSet::new();
    for row in existing.map_err(pg)? {
        known_movies.insert(from_db(row.try_get(0).map_err(pg)?)?);
    }
    let mut sequences = Sequences::default();
    for row in rows.map_err(pg)? {
        let value: i64 = row.try_get(1).map_err(pg)?;
        match row.try_get::<_, &str>(0).map_err(pg)? {
            "movie" => sequences.movie = value,
            "actor" => sequences.actor = value,
            "audit" => sequences.audit = value,
            "movie_count" => sequences.movie_count = value,
            "actor_count" => sequences.actor_count = value,
            _ => {}
        }
    }
    let mut batch = Batch {
        client,
        sequences,
        known_movies,
        checked_movies: cast_in,
        recast: BTreeMap::new(),
        // Whole seconds, as the entries show them; one time for the
        // batch, as the redb store stamps its transaction.
        at: Timestamp::from_second(Timestamp::now().as_second()).unwrap_or(Timestamp::UNIX_EPOCH),
    };
    let mut results = Vec::with_capacity(writes.len());
    for write in writes {
        match batch.apply(write).await {
            // A refusal is found before the first change; a storage
            // failure may leave the transaction half done (PostgreSQL
            // refuses everything after a failed statement anyway), so
            // the whole batch goes.
            Err(Error::Storage(e)) => return Err(e),
            result => results.push(result),
        }
    }
    let sequences = batch.sequences;
    let names = ["movie", "actor", "audit", "movie_count", "actor_count"];
    let values = [
        sequences.movie,
        sequences.actor,
        sequences.audit,
        sequences.movie_count,
        sequences.actor_count,
    ];
    let (names, values) = (&names[..], &values[..]);
    let params: [&(dyn ToSql + Sync); 2] = [&names, &values];
    let (movies, versions): (Vec<i64>, Vec<i64>) =
        batch.recast.iter().map(|(&id, &v)| (exact(id), v)).unzip();
    let recast_params: [&(dyn ToSql + Sync); 2] = [&movies, &versions];
    let flush = async {
        if movies.is_empty() {
            Ok(0)
        } else {
            client.execute(&recast, &recast_params).await
        }
    };
    let (flushed, saved, committed) = tokio::join!(
        biased;
        flush,
        client.execute(&save, &params),
        client.batch_execute("COMMIT"),
    );
    let failures = [flushed.err(), saved.err(), committed.err()];
    // The COMMIT was sent: when the connection is lost, whether it
    // happened is unknown (the answer to a statement before it may be
    // what was lost), and must be reported neither as success nor as
    // nothing done, which a retry would take as leave to write again.
    if failures.iter().flatten().any(is_outage) {
        return Err(StoreError::CommitUncertain);
    }
    // A statement the server refused made the COMMIT a rollback, which
    // PostgreSQL answers without an error: that statement's error is the
    // answer.
    match failures.into_iter().flatten().next() {
        Some(e) => Err(pg(e)),
        None => Ok(results),
    }
}

/// The sequences and counts, as this transaction leaves them.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Sequences {
    movie: i64,
    actor: i64,
    audit: i64,
    movie_count: i64,
    actor_count: i64,
}

/// The state of one batch's transaction.
struct Batch<'a> {
    /// The session, inside the batch's transaction.
    client: &'a Object,
    sequences: Sequences,
    at: Timestamp,
    /// Of [`Batch::checked_movies`] and the movies the batch created,
    /// those that exist now: the batch keeps it up to date.
    known_movies: HashSet<u64>,
    /// The movies whose existence was read when the transaction began.
    checked_movies: HashSet<u64>,
    /// The versions that actors' writes gave movies by changing their
    /// casts, written once, with the commit, rather than once per actor.
    /// A read of a movie's version in the batch takes them into account.
    recast: BTreeMap<u64, i64>,
}

/// The next id after `last`, named `what` when none is left.
fn next(last: &mut i64, what: &'static str) -> Result<i64, Error> {
    *last = last
        .checked_add(1)
        .ok_or(Error::Storage(StoreError::IdsExhausted(what)))?;
    Ok(*last)
}

fn not_found(kind: RecordKind, id: u64) -> Error {
    Error::NotFound { kind, id }
}

/// Refuses the write when `version` does not meet its condition.
fn check(
    kind: RecordKind,
    id: u64,
    version: u64,
    condition: Option<&Precondition>,
) -> Result<(), Error> {
    match condition {
        Some(condition) if !condition.admits(version) => {
            Err(Error::PreconditionFailed { kind, id })
        }
        _ => Ok(()),
    }
}

const SELECT_MOVIE: &str = "SELECT {MOVIE} FROM movies m WHERE m.id = $1";
const SELECT_ACTOR: &str = "SELECT {ACTOR} FROM actors a WHERE a.id = $1";
const CAST_OF: &str = "SELECT {ACTOR} FROM actors a WHERE a.movie_id = $1 ORDER BY a.id";
const MOVIE_EXISTS: &str = "SELECT 1 FROM movies WHERE id = $1";
const MOVIES_EXIST: &str = "SELECT id FROM movies WHERE id = ANY($1)";
const INSERT_MOVIE: &str =
    "INSERT INTO movies (id, title, title_folded, release, version) VALUES ($1, $2, $3, $4, $5)";
const UPDATE_MOVIE: &str =
    "UPDATE movies SET title = $2, title_folded = $3, release = $4, version = $5 WHERE id = $1";
const DELETE_MOVIE: &str = "DELETE FROM movies WHERE id = $1";
const DETACH: &str = "UPDATE actors a SET movie_id = NULL, version = u.version
    FROM unnest($1::bigint[], $2::bigint[]) u(id, version) WHERE a.id = u.id";
const INSERT_ACTOR: &str = "INSERT INTO actors
    (id, name, name_folded, age, gender, gender_folded, movie_id, version)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";
const UPDATE_ACTOR: &str = "UPDATE actors SET name = $2, name_folded = $3, age = $4, gender = $5,
    gender_folded = $6, movie_id = $7, version = $8 WHERE id = $1";
const DELETE_ACTOR: &str = "DELETE FROM actors WHERE id = $1";
/// Gives the movies whose cast the batch's actor writes changed their
/// last such entry's id as their version.
const RECAST: &str = "UPDATE movies m SET version = u.version
    FROM unnest($1::bigint[], $2::bigint[]) u(id, version) WHERE m.id = u.id";

impl Batch<'_> {
    async fn rows(&self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<Vec<Row>, Error> {
        let sql = sql.replace("{MOVIE}", MOVIE).replace("{ACTOR}", ACTOR);
        let statement = self.client.prepare_cached(&sql).await.map_err(db)?;
        self.client.query(&statement, params).await.map_err(db)
    }

    async fn execute(&self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<u64, Error> {
        let statement = self.client.prepare_cached(sql).await.map_err(db)?;
        self.client.execute(&statement, params).await.map_err(db)
    }

    async fn movie(&self, id: u64) -> Result<Option<Versioned<Movie>>, Error> {
        let Some(row) = self.rows(SELECT_MOVIE, &[&exact(id)]).await?.pop() else {
            return Ok(None);
        };
        let mut found = movie_of(&row, 0)?;
        if let (Some(found), Some(&version)) = (found.as_mut(), self.recast.get(&id)) {
            found.version = from_db(version)?;
        }
        Ok(found)
    }

    async fn actor(&self, id: u64) -> Result<Option<Versioned<Actor>>, Error> {
        match self.rows(SELECT_ACTOR, &[&exact(id)]).await?.first() {
            Some(row) => Ok(actor_of(row, 0)?),
            None => Ok(None),
        }
    }

    async fn check_movie_exists(&mut self, movie_id: u64) -> Result<(), Error> {
        let exists = if self.known_movies.contains(&movie_id) {
            true
        } else if self.checked_movies.contains(&movie_id) {
            false
        } else {
            // Not read at the start (no write named it then): ask.
            !self
                .rows(MOVIE_EXISTS, &[&exact(movie_id)])
                .await?
                .is_empty()
        };
        if exists {
            self.known_movies.insert(movie_id);
            Ok(())
        } else {
            Err(InvalidField::new("movie_id", format!("no movie with id {movie_id}")).into())
        }
    }

    /// The entry of a change to one record, with the next entry id.
    fn entry(
        &mut self,
        subject: Option<&str>,
        action: AuditAction,
        before: Option<AuditRecord>,
        after: Option<AuditRecord>,
    ) -> Result<AuditEntry, Error> {
        let (kind, record) = match after.as_ref().or(before.as_ref()) {
            Some(AuditRecord::Movie(movie)) => (RecordKind::Movie, movie.id),
            Some(AuditRecord::Actor(actor)) => (RecordKind::Actor, actor.id),
            None => return Err(StoreError::Corrupt("an audit entry about nothing".into()).into()),
        };
        let id = next(&mut self.sequences.audit, "audit")?;
        Ok(AuditEntry {
            id: from_db(id)?,
            at: self.at,
            sub: subject.map(str::to_owned),
            action,
            kind,
            record,
            before,
            after,
        })
    }

    /// Sends the statement that appends `entries`, to run together with
    /// the write's own.
    async fn log(&self, entries: &[AuditEntry]) -> Result<u64, Error> {
        let mut columns = Columns::default();
        for entry in entries {
            columns.push(entry)?;
        }
        self.execute(audit::INSERT, &columns.params()).await
    }

    async fn apply(&mut self, checked: CheckedWrite) -> Result<Committed, Error> {
        let (write, subject, precondition) = checked.into_parts();
        let sub = subject.as_deref();
        let condition = precondition.as_ref();
        match write {
            Write::CreateMovie(input) => {
                let id = next(&mut self.sequences.movie, "movie")?;
                let movie = Movie {
                    id: from_db(id)?,
                    title: input.title,
                    release_date: input.release,
                    actors: Vec::new(),
                };
                let entry = self.entry(
                    sub,
                    AuditAction::Create,
                    None,
                    Some(AuditRecord::Movie(movie.clone())),
                )?;
                let version = id_of(&entry)?;
                let folded = movie.title.to_lowercase();
                let release = movie.release_date.to_ordinal() as i32;
                let params: [&(dyn ToSql + Sync); 5] =
                    [&id, &movie.title, &folded, &release, &version];
                let insert = self.execute(INSERT_MOVIE, &params);
                let entries = [entry];
                let (inserted, logged) = tokio::join!(insert, self.log(&entries));
                inserted?;
                logged?;
                self.sequences.movie_count += 1;
                self.known_movies.insert(movie.id);
                Ok(Committed {
                    written: Written::Movie(movie),
                    entry: entries[0].id,
                })
            }
            Write::UpdateMovie(id, patch) => {
                let found = self
                    .movie(id)
                    .await?
                    .ok_or(not_found(RecordKind::Movie, id))?;
                check(RecordKind::Movie, id, found.version, condition)?;
                let before = found.record;
                let mut after = before.clone();
                if let Some(title) = patch.title {
                    after.title = title;
                }
                if let Some(release) = patch.release {
                    after.release_date = release;
                }
                let entry = self.entry(
                    sub,
                    AuditAction::Update,
                    Some(AuditRecord::Movie(before)),
                    Some(AuditRecord::Movie(after.clone())),
                )?;
                let version = id_of(&entry)?;
                let folded = after.title.to_lowercase();
                let release = after.release_date.to_ordinal() as i32;
                let db_id = exact(id);
                let params: [&(dyn ToSql + Sync); 5] =
                    [&db_id, &after.title, &folded, &release, &version];
                let update = self.execute(UPDATE_MOVIE, &params);
                let entries = [entry];
                let (updated, logged) = tokio::join!(update, self.log(&entries));
                updated?;
                logged?;
                // Its own version is newer than any its cast was given.
                self.recast.remove(&id);
                Ok(Committed {
                    written: Written::Movie(after),
                    entry: entries[0].id,
                })
            }
            Write::DeleteMovie(id) => {
                let found = self
                    .movie(id)
                    .await?
                    .ok_or(not_found(RecordKind::Movie, id))?;
                check(RecordKind::Movie, id, found.version, condition)?;
                let db_id = exact(id);
                let mut cast = Vec::new();
                for row in self.rows(CAST_OF, &[&db_id]).await? {
                    if let Some(actor) = actor_of(&row, 0)? {
                        cast.push(actor.record);
                    }
                }
                let mut before = found.record;
                // The cast as the transaction sees it, which the movie's
                // own read agrees with: writers are serialized.
                before.actors = cast.iter().map(|a| a.id).collect();
                let mut entries = vec![self.entry(
                    sub,
                    AuditAction::Delete,
                    Some(AuditRecord::Movie(before)),
                    None,
                )?];
                let (mut ids, mut versions) = (Vec::new(), Vec::new());
                for was in cast {
                    let mut now = was.clone();
                    now.movie_id = None;
                    let entry = self.entry(
                        sub,
                        AuditAction::Update,
                        Some(AuditRecord::Actor(was)),
                        Some(AuditRecord::Actor(now)),
                    )?;
                    ids.push(exact(entry.record));
                    versions.push(id_of(&entry)?);
                    entries.push(entry);
                }
                let params: [&(dyn ToSql + Sync); 1] = [&db_id];
                let delete = self.execute(DELETE_MOVIE, &params);
                let detach = async {
                    if ids.is_empty() {
                        Ok(0)
                    } else {
                        self.execute(DETACH, &[&ids, &versions]).await
                    }
                };
                let (deleted, detached, logged) = tokio::join!(delete, detach, self.log(&entries));
                deleted?;
                detached?;
                logged?;
                self.sequences.movie_count -= 1;
                self.known_movies.remove(&id);
                self.recast.remove(&id);
                Ok(Committed {
                    written: Written::Deleted(id),
                    entry: entries[0].id,
                })
            }
            Write::CreateActor(input) => {
                if let Some(movie_id) = input.movie_id {
                    self.check_movie_exists(movie_id).await?;
                }
                let id = next(&mut self.sequences.actor, "actor")?;
                let actor = Actor {
                    id: from_db(id)?,
                    name: input.name,
                    age: input.age,
                    gender: input.gender,
                    movie_id: input.movie_id,
                };
                let entry = self.entry(
                    sub,
                    AuditAction::Create,
                    None,
                    Some(AuditRecord::Actor(actor.clone())),
                )?;
                let version = id_of(&entry)?;
                let entries = [entry];
                self.recast(&[actor.movie_id], version);
                let (inserted, logged) = tokio::join!(
                    self.put_actor(INSERT_ACTOR, &actor, version),
                    self.log(&entries),
                );
                inserted?;
                logged?;
                self.sequences.actor_count += 1;
                Ok(Committed {
                    written: Written::Actor(actor),
                    entry: entries[0].id,
                })
            }
            Write::UpdateActor(id, patch) => {
                let found = self
                    .actor(id)
                    .await?
                    .ok_or(not_found(RecordKind::Actor, id))?;
                check(RecordKind::Actor, id, found.version, condition)?;
                if let Some(Some(movie_id)) = patch.movie_id {
                    self.check_movie_exists(movie_id).await?;
                }
                let before = found.record;
                let mut after = before.clone();
                if let Some(name) = patch.name {
                    after.name = name;
                }
                if let Some(age) = patch.age {
                    after.age = age;
                }
                if let Some(gender) = patch.gender {
                    after.gender = gender;
                }
                if let Some(movie_id) = patch.movie_id {
                    after.movie_id = movie_id;
                }
                let moved = [before.movie_id, after.movie_id];
                let entry = self.entry(
                    sub,
                    AuditAction::Update,
                    Some(AuditRecord::Actor(before)),
                    Some(AuditRecord::Actor(after.clone())),
                )?;
                let version = id_of(&entry)?;
                let recast: &[Option<u64>] = if moved[0] == moved[1] { &[] } else { &moved };
                let entries = [entry];
                self.recast(recast, version);
                let (updated, logged) = tokio::join!(
                    self.put_actor(UPDATE_ACTOR, &after, version),
                    self.log(&entries),
                );
                updated?;
                logged?;
                Ok(Committed {
                    written: Written::Actor(after),
                    entry: entries[0].id,
                })
            }
            Write::DeleteActor(id) => {
                let found = self
                    .actor(id)
                    .await?
                    .ok_or(not_found(RecordKind::Actor, id))?;
                check(RecordKind::Actor, id, found.version, condition)?;
                let movie_id = found.record.movie_id;
                let entry = self.entry(
                    sub,
                    AuditAction::Delete,
                    Some(AuditRecord::Actor(found.record)),
                    None,
                )?;
                let version = id_of(&entry)?;
                let db_id = exact(id);
                let entries = [entry];
                let params: [&(dyn ToSql + Sync); 1] = [&db_id];
                self.recast(&[movie_id], version);
                let (deleted, logged) =
                    tokio::join!(self.execute(DELETE_ACTOR, &params), self.log(&entries),);
                deleted?;
                logged?;
                self.sequences.actor_count -= 1;
                Ok(Committed {
                    written: Written::Deleted(id),
                    entry: entries[0].id,
                })
            }
        }
    }

    /// Inserts or updates (by `sql`) `actor` at `version`.
    async fn put_actor(&self, sql: &str, actor: &Actor, version: i64) -> Result<u64, Error> {
        let id = exact(actor.id);
        let name_folded = actor.name.to_lowercase();
        let gender_folded = actor.gender.to_lowercase();
        let age = i16::from(actor.age);
        let movie_id = actor.movie_id.map(exact);
        self.execute(
            sql,
            &[
                &id,
                &actor.name,
                &name_folded,
                &age,
                &actor.gender,
                &gender_folded,
                &movie_id,
                &version,
            ],
        )
        .await
    }

    /// Gives the movies among `movies` the version `entry`, because an
    /// actor's write changed their cast: in the transaction's pending
    /// versions, written with the commit.
    fn recast(&mut self, movies: &[Option<u64>], entry: i64) {
        for &movie_id in movies.iter().flatten() {
            self.recast.insert(movie_id, entry);
        }
    }
}

/// An entry's id as the version column holds it.
fn id_of(entry: &AuditEntry) -> Result<i64, Error> {
    Ok(super::error::to_db(entry.id)?)
}
