//! Reads, each one statement, so each sees one snapshot: a page and its
//! total, a movie and its cast and version, always agree with each other.

use deadpool_postgres::Pool;
use tokio_postgres::Row;
use tokio_postgres::types::ToSql;

use super::error::{bound, exact, from_db, pg, pool as pool_error};
use crate::audit::Versioned;
use crate::backend::{Counts, StoreError};
use crate::model::{Actor, Movie, ReleaseDate};
use crate::query::{ActorQuery, MovieQuery, Page, PageRequest};

/// A movie's columns, from `movies m`, its cast ascending last.
pub(super) const MOVIE: &str = "m.id, m.title, m.release, m.version, \
    ARRAY(SELECT a.id FROM actors a WHERE a.movie_id = m.id ORDER BY a.id)";

/// An actor's columns, from `actors a`.
pub(super) const ACTOR: &str = "a.id, a.name, a.age, a.gender, a.movie_id, a.version";

/// The movie and its version in the columns of [`MOVIE`] from `at` on,
/// or `None` when the id there is null (an empty page's one row).
pub(super) fn movie_of(row: &Row, at: usize) -> Result<Option<Versioned<Movie>>, StoreError> {
    let Some(id) = row.try_get::<_, Option<i64>>(at).map_err(pg)? else {
        return Ok(None);
    };
    let release: i32 = row.try_get(at + 2).map_err(pg)?;
    let release = u32::try_from(release)
        .ok()
        .and_then(|r| ReleaseDate::from_ordinal(r).ok())
        .ok_or_else(|| StoreError::Corrupt(format!("movie {id} has release {release}")))?;
    let actors: Vec<i64> = row.try_get(at + 4).map_err(pg)?;
    Ok(Some(Versioned {
        record: Movie {
            id: from_db(id)?,
            title: row.try_get(at + 1).map_err(pg)?,
            release_date: release,
            actors: actors.into_iter().map(from_db).collect::<Result<_, _>>()?,
        },
        version: from_db(row.try_get(at + 3).map_err(pg)?)?,
    }))
}

/// The actor and its version in the columns of [`ACTOR`] from `at` on,
/// or `None` when the id there is null.
pub(super) fn actor_of(row: &Row, at: usize) -> Result<Option<Versioned<Actor>>, StoreError> {
    let Some(id) = row.try_get::<_, Option<i64>>(at).map_err(pg)? else {
        return Ok(None);
    };
    let age: i16 = row.try_get(at + 2).map_err(pg)?;
    let movie_id: Option<i64> = row.try_get(at + 4).map_err(pg)?;
    Ok(Some(Versioned {
        record: Actor {
            id: from_db(id)?,
            name: row.try_get(at + 1).map_err(pg)?,
            age: u8::try_from(age)
                .map_err(|_| StoreError::Corrupt(format!("actor {id} has age {age}")))?,
            gender: row.try_get(at + 3).map_err(pg)?,
            movie_id: movie_id.map(from_db).transpose()?,
        },
        version: from_db(row.try_get(at + 5).map_err(pg)?)?,
    }))
}

/// `needle` as a `LIKE` pattern that matches it anywhere: `%`, `_` and
/// `\` in it stand for themselves (the statements say `ESCAPE '\'`).
pub(super) fn contains_pattern(needle: &str) -> String {
    let mut pattern = String::with_capacity(needle.len() + 2);
    pattern.push('%');
    for c in needle.chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

/// The `LIMIT` that fetches one row beyond the page, to know whether
/// another follows; `None` (no limit) for all.
fn take(request: PageRequest) -> Option<i64> {
    request.limit.map(|l| i64::from(l) + 1)
}

/// Cuts the fetched records to the page, with `next` when more follow.
fn page_of<T>(mut items: Vec<(u64, T)>, request: PageRequest, total: u64) -> Page<T> {
    let limit = request.limit.map_or(usize::MAX, |l| l as usize);
    let more = items.len() > limit;
    items.truncate(limit);
    let next = if more {
        items.last().map(|(id, _)| *id)
    } else {
        None
    };
    Page {
        items: items.into_iter().map(|(_, item)| item).collect(),
        total,
        next,
    }
}

fn total(row: Option<&Row>) -> Result<u64, StoreError> {
    match row {
        Some(row) => from_db(row.try_get(0).map_err(pg)?),
        None => Ok(0),
    }
}

async fn query(
    pool: &Pool,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
) -> Result<Vec<Row>, StoreError> {
    let client = pool.get().await.map_err(pool_error)?;
    let statement = client.prepare_cached(sql).await.map_err(pg)?;
    client.query(&statement, params).await.map_err(pg)
}

/// Movies from rows of a total and [`MOVIE`].
fn movies_in(rows: &[Row], request: PageRequest) -> Result<Page<Movie>, StoreError> {
    let mut items = Vec::with_capacity(rows.len());
    for row in rows {
        if let Some(movie) = movie_of(row, 1)? {
            items.push((movie.record.id, movie.record));
        }
    }
    Ok(page_of(items, request, total(rows.first())?))
}

/// Actors from rows of a total and [`ACTOR`].
fn actors_in(rows: &[Row], request: PageRequest) -> Result<Page<Actor>, StoreError> {
    let mut items = Vec::with_capacity(rows.len());
    for row in rows {
        if let Some(actor) = actor_of(row, 1)? {
            items.push((actor.record.id, actor.record));
        }
    }
    Ok(page_of(items, request, total(rows.first())?))
}

/// The movie with `id` and its version.
pub(super) async fn movie_versioned(
    pool: Pool,
    id: u64,
) -> Result<Option<Versioned<Movie>>, StoreError> {
    let sql = format!("SELECT {MOVIE} FROM movies m WHERE m.id = $1");
    let rows = query(&pool, &sql, &[&exact(id)]).await?;
    match rows.first() {
        Some(row) => movie_of(row, 0),
        None => Ok(None),
    }
}

/// The actor with `id` and its version.
pub(super) async fn actor_versioned(
    pool: Pool,
    id: u64,
) -> Result<Option<Versioned<Actor>>, StoreError> {
    let sql = format!("SELECT {ACTOR} FROM actors a WHERE a.id = $1");
    let rows = query(&pool, &sql, &[&exact(id)]).await?;
    match rows.first() {
        Some(row) => actor_of(row, 0),
        None => Ok(None),
    }
}

/// A page of movies with the count of all, kept by the writes, from the
/// same statement: one row with a null movie when the page is empty.
pub(super) async fn movies(pool: Pool, request: PageRequest) -> Result<Page<Movie>, StoreError> {
    let sql = format!(
        "SELECT c.last, p.* FROM casting_sequences c LEFT JOIN LATERAL
            (SELECT {MOVIE} FROM movies m WHERE m.id >= $1 ORDER BY m.id LIMIT $2) p ON true
         WHERE c.name = 'movie_count' ORDER BY p.id"
    );
    let rows = query(&pool, &sql, &[&bound(request.start()), &take(request)]).await?;
    movies_in(&rows, request)
}

/// A page of actors with the count of all.
pub(super) async fn actors(pool: Pool, request: PageRequest) -> Result<Page<Actor>, StoreError> {
    let sql = format!(
        "SELECT c.last, p.* FROM casting_sequences c LEFT JOIN LATERAL
            (SELECT {ACTOR} FROM actors a WHERE a.id >= $1 ORDER BY a.id LIMIT $2) p ON true
         WHERE c.name = 'actor_count' ORDER BY p.id"
    );
    let rows = query(&pool, &sql, &[&bound(request.start()), &take(request)]).await?;
    actors_in(&rows, request)
}

/// The statement of a search: the matches of `filter` in `table` (aliased
/// `alias`), counted, and one page of them with `columns`, in one
/// statement; one row with nulls after the count when the page is empty.
fn search_sql(table: &str, alias: &str, columns: &str, filter: &str) -> String {
    format!(
        "WITH matches AS MATERIALIZED (SELECT {alias}.id FROM {table} {alias} WHERE {filter}),
              page AS (SELECT id FROM matches WHERE id >= $1 ORDER BY id LIMIT $2)
         SELECT (SELECT count(*) FROM matches), {columns}
         FROM (SELECT 1) one LEFT JOIN (page JOIN {table} {alias} ON {alias}.id = page.id) ON true
         ORDER BY {alias}.id"
    )
}

/// The filters of a search, with their parameters after `$1` (the start)
/// and `$2` (the limit).
struct Filters {
    sql: Vec<String>,
    params: Vec<Box<dyn ToSql + Sync + Send>>,
}

impl Filters {
    fn new() -> Self {
        Filters {
            sql: Vec::new(),
            params: Vec::new(),
        }
    }

    /// Adds `condition`, in which `$` stands for the parameter `value`.
    fn add(&mut self, condition: &str, value: impl ToSql + Sync + Send + 'static) {
        self.params.push(Box::new(value));
        let n = self.params.len() + 2;
        self.sql.push(condition.replace('$', &format!("${n}")));
    }

    fn sql(&self) -> String {
        if self.sql.is_empty() {
            "true".to_owned()
        } else {
            self.sql.join(" AND ")
        }
    }

    fn params<'a>(&'a self, start: &'a i64, take: &'a Option<i64>) -> Vec<&'a (dyn ToSql + Sync)> {
        let mut params: Vec<&(dyn ToSql + Sync)> = vec![start, take];
        params.extend(self.params.iter().map(|p| &**p as &(dyn ToSql + Sync)));
        params
    }
}

/// Whether a text filter holds U+0000, which PostgreSQL's text cannot
/// carry as a parameter, and which no stored text holds (the models refuse
/// it): such a filter matches nothing, as on the redb store.
fn holds_nul(filter: Option<&str>) -> bool {
    filter.is_some_and(|text| text.contains('\0'))
}

/// A search's answer when nothing can match.
fn nothing<T>() -> Page<T> {
    Page {
        items: Vec::new(),
        total: 0,
        next: None,
    }
}

/// The movies matching `query`, as the redb store matches them: `q`
/// anywhere in the title folded by `to_lowercase`, release dates strictly
/// after and before.
pub(super) async fn search_movies(
    pool: Pool,
    query: MovieQuery,
) -> Result<Page<Movie>, StoreError> {
    if holds_nul(query.q.as_deref()) {
        return Ok(nothing());
    }
    let mut filters = Filters::new();
    if let Some(q) = query.q.as_deref().filter(|q| !q.is_empty()) {
        filters.add(
            "m.title_folded LIKE $ ESCAPE '\\'",
            contains_pattern(&q.to_lowercase()),
        );
    }
    if let Some(after) = query.released_after {
        filters.add("m.release > $", after.to_ordinal() as i32);
    }
    if let Some(before) = query.released_before {
        filters.add("m.release < $", before.to_ordinal() as i32);
    }
    let sql = search_sql("movies", "m", MOVIE, &filters.sql());
    let (start, take) = (bound(query.page.start()), take(query.page));
    let rows = query_rows(&pool, &sql, &filters.params(&start, &take)).await?;
    movies_in(&rows, query.page)
}

/// The actors matching `query`, as the redb store's index matches them:
/// `q` anywhere in the folded name, the gender whole after folding, ages
/// inclusive, the movie exactly.
pub(super) async fn search_actors(
    pool: Pool,
    query: ActorQuery,
) -> Result<Page<Actor>, StoreError> {
    if holds_nul(query.q.as_deref()) || holds_nul(query.gender.as_deref()) {
        return Ok(nothing());
    }
    let mut filters = Filters::new();
    if let Some(q) = query.q.as_deref().filter(|q| !q.is_empty()) {
        filters.add(
            "a.name_folded LIKE $ ESCAPE '\\'",
            contains_pattern(&q.to_lowercase()),
        );
    }
    if let Some(gender) = &query.gender {
        filters.add("a.gender_folded = $", gender.to_lowercase());
    }
    if let Some(min) = query.min_age {
        filters.add("a.age >= $", i16::from(min));
    }
    if let Some(max) = query.max_age {
        filters.add("a.age <= $", i16::from(max));
    }
    if let Some(movie_id) = query.movie_id {
        filters.add("a.movie_id = $", exact(movie_id));
    }
    let sql = search_sql("actors", "a", ACTOR, &filters.sql());
    let (start, take) = (bound(query.page.start()), take(query.page));
    let rows = query_rows(&pool, &sql, &filters.params(&start, &take)).await?;
    actors_in(&rows, query.page)
}

async fn query_rows(
    pool: &Pool,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
) -> Result<Vec<Row>, StoreError> {
    query(pool, sql, params).await
}

/// How many movies and actors there are, from the counts the writes keep.
pub(super) async fn counts(pool: Pool) -> Result<Counts, StoreError> {
    let rows = query(
        &pool,
        "SELECT name, last FROM casting_sequences WHERE name IN ('movie_count', 'actor_count')",
        &[],
    )
    .await?;
    let mut counts = Counts::default();
    for row in &rows {
        let name: &str = row.try_get(0).map_err(pg)?;
        let n = from_db(row.try_get(1).map_err(pg)?)?;
        match name {
            "movie_count" => counts.movies = n,
            _ => counts.actors = n,
        }
    }
    Ok(counts)
}

/// Whether the database answers.
pub(super) async fn ping(pool: Pool) -> Result<(), StoreError> {
    query(&pool, "SELECT 1", &[]).await.map(drop)
}

#[cfg(test)]
mod tests {
    use super::contains_pattern;

    #[test]
    fn a_pattern_matches_its_needle_literally() {
        assert_eq!(contains_pattern("a%b_c\\d"), "%a\\%b\\_c\\\\d%");
        assert_eq!(contains_pattern(""), "%%");
        assert_eq!(contains_pattern("ß"), "%ß%");
    }
}
