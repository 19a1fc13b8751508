//! Export and import, as [`Backend::export`](crate::Backend::export) and
//! [`Backend::import`](crate::Backend::import) describe them.
//!
//! Both stream: the export reads through a portal (a server-side cursor)
//! a chunk at a time from one REPEATABLE READ snapshot, the import inserts
//! a chunk at a time in one transaction, so neither holds the whole store
//! in memory. The caller's side (`each`, `items`) stays on the caller's
//! thread, since neither may cross to the runtime; chunks cross on a
//! bounded channel, which the runtime's side waits on in `block_in_place`
//! (the runtime has worker threads to spare for that).

use std::collections::HashMap;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

use deadpool_postgres::{Pool, Transaction};
use tokio_postgres::IsolationLevel;
use tokio_postgres::types::ToSql;

use super::PgStore;
use super::audit::{self, Columns};
use super::error::{is_outage, pg, pool as pool_error, to_db};
use super::read::{ACTOR, MOVIE, actor_of, movie_of};
use crate::backend::import::{ImportCheck, Sequences, recast_by};
use crate::backend::{Counts, Item, StoreError};
use crate::model::RecordKind;

/// Reads one item from a row of an export's statement.
type Decode = fn(&tokio_postgres::Row) -> Result<Option<Item>, StoreError>;

/// How many rows cross at a time.
const CHUNK: usize = 1000;

/// Hands every movie, actor and entry to `each`, from one snapshot.
pub(super) fn export(
    store: &PgStore,
    each: &mut dyn FnMut(Item) -> Result<(), StoreError>,
) -> Result<(), StoreError> {
    let runtime = store.runtime.as_ref().ok_or(StoreError::ShutDown)?;
    let (chunks, received) = sync_channel::<Vec<Item>>(2);
    let (answer, answered) = std::sync::mpsc::channel();
    let pool = store.pool.clone();
    runtime.spawn(async move {
        let _ = answer.send(export_task(pool, chunks).await);
    });
    let mut failed = None;
    'chunks: for chunk in received.iter() {
        for item in chunk {
            if let Err(e) = each(item) {
                failed = Some(e);
                break 'chunks;
            }
        }
    }
    // Hanging up stops the task at its next chunk.
    drop(received);
    let answer = answered
        .recv()
        .map_err(|_| StoreError::Unavailable("the export task ended without an answer".into()))?;
    match failed {
        Some(e) => Err(e),
        None => answer,
    }
}

/// Sends the items in chunks, until done or the receiver hangs up.
async fn export_task(pool: Pool, chunks: SyncSender<Vec<Item>>) -> Result<(), StoreError> {
    let mut client = pool.get().await.map_err(pool_error)?;
    let txn = client
        .build_transaction()
        .isolation_level(IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .await
        .map_err(pg)?;
    let movies = format!("SELECT {MOVIE} FROM movies m ORDER BY m.id");
    let actors = format!("SELECT {ACTOR} FROM actors a ORDER BY a.id");
    let entries = format!("SELECT {} FROM audit ORDER BY id", audit::COLUMNS);
    let kinds: [(&str, Decode); 3] = [
        (&movies, |row| {
            Ok(movie_of(row, 0)?.map(|m| Item::Movie(m.record)))
        }),
        (&actors, |row| {
            Ok(actor_of(row, 0)?.map(|a| Item::Actor(a.record)))
        }),
        (&entries, |row| Ok(Some(Item::Audit(audit::entry_of(row)?)))),
    ];
    for (sql, decode) in kinds {
        let statement = txn.prepare(sql).await.map_err(pg)?;
        let portal = txn.bind(&statement, &[]).await.map_err(pg)?;
        loop {
            let rows = txn.query_portal(&portal, CHUNK as i32).await.map_err(pg)?;
            if rows.is_empty() {
                break;
            }
            let mut items = Vec::with_capacity(rows.len());
            for row in &rows {
                items.extend(decode(row)?);
            }
            if tokio::task::block_in_place(|| chunks.send(items)).is_err() {
                // The caller stopped; its error is the answer.
                return Ok(());
            }
        }
    }
    txn.commit().await.map_err(pg)
}

/// What crosses to the import task.
enum Chunk {
    /// Items that passed the checks, in order.
    Items(Vec<Item>),
    /// Every item came; the sequences continue from these.
    End(Sequences),
}

/// Fills the store with `items` in one transaction.
pub(super) fn import(
    store: &PgStore,
    items: &mut dyn Iterator<Item = Result<Item, StoreError>>,
    replace: bool,
) -> Result<Counts, StoreError> {
    let runtime = store.runtime.as_ref().ok_or(StoreError::ShutDown)?;
    let (chunks, received) = sync_channel::<Chunk>(2);
    let (answer, answered) = std::sync::mpsc::channel();
    let pool = store.pool.clone();
    runtime.spawn(async move {
        let _ = answer.send(import_task(pool, received, replace).await);
    });
    let fed = feed(items, &chunks);
    // Without an `End`, the task rolls back.
    drop(chunks);
    let answer = answered
        .recv()
        .map_err(|_| StoreError::Unavailable("the import task ended without an answer".into()))?;
    fed.and(answer)
}

/// Checks the items and sends them in chunks, then the end.
fn feed(
    items: &mut dyn Iterator<Item = Result<Item, StoreError>>,
    chunks: &SyncSender<Chunk>,
) -> Result<(), StoreError> {
    let mut check = ImportCheck::default();
    let mut chunk = Vec::with_capacity(CHUNK);
    for item in items {
        let item = item?;
        check.check(&item)?;
        chunk.push(item);
        if chunk.len() == CHUNK
            && chunks
                .send(Chunk::Items(std::mem::take(&mut chunk)))
                .is_err()
        {
            // The task stopped (a store that is not empty, a failure):
            // its answer says why.
            return Ok(());
        }
    }
    let _ = chunks.send(Chunk::Items(chunk));
    let _ = chunks.send(Chunk::End(check.last));
    Ok(())
}

/// The records and entries of one chunk, as columns.
#[derive(Default)]
struct Rows {
    movie_ids: Vec<i64>,
    titles: Vec<String>,
    titles_folded: Vec<String>,
    releases: Vec<i32>,
    actor_ids: Vec<i64>,
    names: Vec<String>,
    names_folded: Vec<String>,
    ages: Vec<i16>,
    genders: Vec<String>,
    genders_folded: Vec<String>,
    movie_of_actor: Vec<Option<i64>>,
    entries: Columns,
}

/// Each record's version: the last entry about it or, for a movie, that
/// changed its cast (the rule of `recast_by`).
#[derive(Default)]
struct Versions {
    movies: HashMap<u64, u64>,
    actors: HashMap<u64, u64>,
}

async fn import_task(
    pool: Pool,
    received: Receiver<Chunk>,
    replace: bool,
) -> Result<Counts, StoreError> {
    let mut client = pool.get().await.map_err(pool_error)?;
    let txn = client
        .build_transaction()
        .isolation_level(IsolationLevel::ReadCommitted)
        .start()
        .await
        .map_err(pg)?;
    // Writers wait until the import commits or rolls back.
    txn.query_one(
        "SELECT last FROM casting_sequences WHERE name = 'audit' FOR UPDATE",
        &[],
    )
    .await
    .map_err(pg)?;
    if replace {
        txn.batch_execute("TRUNCATE movies, actors, audit")
            .await
            .map_err(pg)?;
    } else {
        let row = txn
            .query_one(
                "SELECT (SELECT count(*) FROM movies), (SELECT count(*) FROM actors),
                        (SELECT count(*) FROM audit)",
                &[],
            )
            .await
            .map_err(pg)?;
        let count = |i: usize| -> Result<u64, StoreError> {
            Ok(row.try_get::<_, i64>(i).map_err(pg)?.unsigned_abs())
        };
        let (movies, actors, entries) = (count(0)?, count(1)?, count(2)?);
        if movies + actors + entries > 0 {
            return Err(StoreError::NotEmpty {
                movies,
                actors,
                entries,
            });
        }
    }
    let mut counts = Counts::default();
    let mut versions = Versions::default();
    let last = loop {
        match tokio::task::block_in_place(|| received.recv()) {
            Ok(Chunk::Items(items)) => {
                insert(&txn, items, &mut counts, &mut versions).await?;
            }
            Ok(Chunk::End(last)) => break last,
            // The caller stopped on an error, which is the answer.
            Err(_) => return Err(StoreError::Import("the items ended early".into())),
        }
    };
    for (table, versions) in [("movies", &versions.movies), ("actors", &versions.actors)] {
        let pairs: Vec<(i64, i64)> = versions
            .iter()
            .map(|(&id, &version)| Ok((to_db(id)?, to_db(version)?)))
            .collect::<Result<_, StoreError>>()?;
        let sql = format!(
            "UPDATE {table} t SET version = u.version
             FROM unnest($1::bigint[], $2::bigint[]) u(id, version) WHERE t.id = u.id"
        );
        for part in pairs.chunks(10 * CHUNK) {
            let (ids, versions): (Vec<i64>, Vec<i64>) = part.iter().copied().unzip();
            txn.execute(&sql, &[&ids, &versions]).await.map_err(pg)?;
        }
    }
    let names = ["movie", "actor", "audit", "movie_count", "actor_count"];
    let values = [
        to_db(last.movie)?,
        to_db(last.actor)?,
        to_db(last.audit)?,
        to_db(counts.movies)?,
        to_db(counts.actors)?,
    ];
    txn.execute(
        "UPDATE casting_sequences s SET last = u.last
         FROM unnest($1::text[], $2::bigint[]) u(name, last) WHERE s.name = u.name",
        &[&&names[..], &&values[..]],
    )
    .await
    .map_err(pg)?;
    match txn.commit().await {
        Ok(()) => Ok(counts),
        Err(e) if is_outage(&e) => Err(StoreError::CommitUncertain),
        Err(e) => Err(pg(e)),
    }
}

/// Inserts one chunk of checked items.
async fn insert(
    txn: &Transaction<'_>,
    items: Vec<Item>,
    counts: &mut Counts,
    versions: &mut Versions,
) -> Result<(), StoreError> {
    let mut rows = Rows::default();
    for item in items {
        match item {
            Item::Movie(movie) => {
                rows.movie_ids.push(to_db(movie.id)?);
                rows.titles_folded.push(movie.title.to_lowercase());
                rows.titles.push(movie.title);
                rows.releases.push(movie.release_date.to_ordinal() as i32);
                counts.movies += 1;
            }
            Item::Actor(actor) => {
                rows.actor_ids.push(to_db(actor.id)?);
                rows.names_folded.push(actor.name.to_lowercase());
                rows.names.push(actor.name);
                rows.ages.push(i16::from(actor.age));
                rows.genders_folded.push(actor.gender.to_lowercase());
                rows.genders.push(actor.gender);
                rows.movie_of_actor
                    .push(actor.movie_id.map(to_db).transpose()?);
                counts.actors += 1;
            }
            Item::Audit(entry) => {
                let own = match entry.kind {
                    RecordKind::Movie => &mut versions.movies,
                    RecordKind::Actor => &mut versions.actors,
                };
                own.insert(entry.record, entry.id);
                for movie_id in recast_by(&entry) {
                    versions.movies.insert(movie_id, entry.id);
                }
                rows.entries.push(&entry)?;
            }
        }
    }
    if !rows.movie_ids.is_empty() {
        let params: [&(dyn ToSql + Sync); 4] = [
            &rows.movie_ids,
            &rows.titles,
            &rows.titles_folded,
            &rows.releases,
        ];
        txn.execute(
            "INSERT INTO movies (id, title, title_folded, release, version)
             SELECT u.*, 0 FROM unnest($1::bigint[], $2::text[], $3::text[], $4::integer[]) u",
            &params,
        )
        .await
        .map_err(pg)?;
    }
    if !rows.actor_ids.is_empty() {
        let params: [&(dyn ToSql + Sync); 7] = [
            &rows.actor_ids,
            &rows.names,
            &rows.names_folded,
            &rows.ages,
            &rows.genders,
            &rows.genders_folded,
            &rows.movie_of_actor,
        ];
        txn.execute(
            "INSERT INTO actors (id, name, name_folded, age, gender, gender_folded, movie_id, version)
             SELECT u.*, 0 FROM unnest($1::bigint[], $2::text[], $3::text[], $4::smallint[],
                                       $5::text[], $6::text[], $7::bigint[]) u",
            &params,
        )
        .await
        .map_err(pg)?;
    }
    if rows.entries.len() > 0 {
        txn.execute(audit::INSERT, &rows.entries.params())
            .await
            .map_err(pg)?;
    }
    Ok(())
}
