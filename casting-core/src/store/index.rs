//! An in-memory, column-wise copy of the actors' searchable fields, so a
//! search over a million actors is a scan of a few flat arrays rather than
//! a million B-tree steps and record decodings (redb alone takes about
//! 60 ns an entry to iterate, which puts a million past 50 ms).
//!
//! It is built from one read snapshot on the first search and kept in
//! step by the write path after each commit; every update is idempotent,
//! so a write that lands both in the snapshot and in an update afterwards
//! is counted once.

use std::collections::HashMap;

use memchr::memmem::Finder;

use crate::model::Actor;
use crate::query::ActorQuery;

/// The searchable fields of every actor, ascending by id.
#[derive(Debug, Default)]
pub(crate) struct ActorIndex {
    ids: Vec<u64>,
    live: Vec<bool>,
    ages: Vec<u8>,
    /// 0 for none.
    movies: Vec<u64>,
    genders: Vec<u32>,
    /// The lowercase name of each actor, as a range of `arena`.
    names: Vec<(usize, usize)>,
    arena: String,
    gender_ids: HashMap<String, u32>,
    /// Removed rows and replaced names waiting for a compaction.
    dead_rows: usize,
    dead_bytes: usize,
}

/// The ids a search selected, with its totals.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Selection {
    pub(crate) ids: Vec<u64>,
    pub(crate) total: u64,
    pub(crate) more: bool,
}

impl ActorIndex {
    fn gender_id(&mut self, gender: &str) -> u32 {
        let key = gender.to_lowercase();
        let next = self.gender_ids.len() as u32;
        *self.gender_ids.entry(key).or_insert(next)
    }

    fn push_name(&mut self, name: &str) -> (usize, usize) {
        let start = self.arena.len();
        self.arena.push_str(&name.to_lowercase());
        (start, self.arena.len())
    }

    /// Adds or replaces an actor.
    pub(crate) fn upsert(&mut self, actor: &Actor) {
        let gender = self.gender_id(&actor.gender);
        let name = self.push_name(&actor.name);
        let movie = actor.movie_id.unwrap_or(0);
        match self.ids.binary_search(&actor.id) {
            Ok(row) => {
                let (start, end) = self.names[row];
                self.dead_bytes += end - start;
                if !self.live[row] {
                    self.live[row] = true;
                    self.dead_rows -= 1;
                }
                self.ages[row] = actor.age;
                self.movies[row] = movie;
                self.genders[row] = gender;
                self.names[row] = name;
            }
            Err(row) => {
                self.ids.insert(row, actor.id);
                self.live.insert(row, true);
                self.ages.insert(row, actor.age);
                self.movies.insert(row, movie);
                self.genders.insert(row, gender);
                self.names.insert(row, name);
            }
        }
        self.compact_if_wasteful();
    }

    /// Removes an actor, if present.
    pub(crate) fn remove(&mut self, id: u64) {
        if let Ok(row) = self.ids.binary_search(&id)
            && self.live[row]
        {
            self.live[row] = false;
            self.dead_rows += 1;
            let (start, end) = self.names[row];
            self.dead_bytes += end - start;
        }
        self.compact_if_wasteful();
    }

    /// Takes every actor off `movie_id`, as deleting the movie does.
    pub(crate) fn unassign(&mut self, movie_id: u64) {
        for movie in self.movies.iter_mut().filter(|m| **m == movie_id) {
            *movie = 0;
        }
    }

    fn compact_if_wasteful(&mut self) {
        if self.dead_rows > 1024 && self.dead_rows * 4 > self.ids.len()
            || self.dead_bytes > 1 << 16 && self.dead_bytes * 2 > self.arena.len()
        {
            self.compact();
        }
    }

    fn compact(&mut self) {
        let old = std::mem::take(self);
        let mut arena = String::with_capacity(old.arena.len() - old.dead_bytes);
        for row in (0..old.ids.len()).filter(|&row| old.live[row]) {
            let (start, end) = old.names[row];
            let new_start = arena.len();
            arena.push_str(&old.arena[start..end]);
            self.ids.push(old.ids[row]);
            self.live.push(true);
            self.ages.push(old.ages[row]);
            self.movies.push(old.movies[row]);
            self.genders.push(old.genders[row]);
            self.names.push((new_start, arena.len()));
        }
        self.arena = arena;
        self.gender_ids = old.gender_ids;
    }

    /// The ids of the actors matching `query`, one page of them, and the
    /// number of all matches.
    pub(crate) fn search(&self, query: &ActorQuery) -> Selection {
        let mut selection = Selection::default();
        let gender = match &query.gender {
            Some(gender) => match self.gender_ids.get(&gender.to_lowercase()) {
                Some(id) => Some(*id),
                None => return selection,
            },
            None => None,
        };
        let needle = query
            .q
            .as_deref()
            .map(str::to_lowercase)
            .filter(|n| !n.is_empty());
        let finder = needle.as_deref().map(|n| Finder::new(n.as_bytes()));
        let start = query.page.start();
        let limit = query.page.limit.map_or(usize::MAX, |l| l as usize);
        for row in 0..self.ids.len() {
            let matches = self.live[row]
                && query.min_age.is_none_or(|min| self.ages[row] >= min)
                && query.max_age.is_none_or(|max| self.ages[row] <= max)
                && query
                    .movie_id
                    .is_none_or(|m| m != 0 && self.movies[row] == m)
                && gender.is_none_or(|g| self.genders[row] == g)
                && finder.as_ref().is_none_or(|f| {
                    let (from, to) = self.names[row];
                    f.find(&self.arena.as_bytes()[from..to]).is_some()
                });
            if !matches {
                continue;
            }
            selection.total += 1;
            if self.ids[row] < start {
                continue;
            }
            if selection.ids.len() < limit {
                selection.ids.push(self.ids[row]);
            } else {
                selection.more = true;
            }
        }
        selection
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::query::PageRequest;

    fn actor(id: u64, name: &str, age: u8, gender: &str, movie_id: Option<u64>) -> Actor {
        Actor {
            id,
            name: name.into(),
            age,
            gender: gender.into(),
            movie_id,
        }
    }

    fn search(index: &ActorIndex, query: ActorQuery) -> Vec<u64> {
        index.search(&query).ids
    }

    fn sample() -> ActorIndex {
        let mut index = ActorIndex::default();
        index.upsert(&actor(1, "Robert Downey Jr", 44, "Male", Some(1)));
        index.upsert(&actor(2, "Scarlett Johansson", 34, "Female", Some(1)));
        index.upsert(&actor(3, "Chris Evans", 38, "male", None));
        index
    }

    fn query(
        q: Option<&str>,
        gender: Option<&str>,
        ages: (Option<u8>, Option<u8>),
        movie_id: Option<u64>,
    ) -> ActorQuery {
        ActorQuery {
            q: q.map(str::to_owned),
            gender: gender.map(str::to_owned),
            min_age: ages.0,
            max_age: ages.1,
            movie_id,
            ..ActorQuery::default()
        }
    }

    fn check(index: &ActorIndex, cases: &[(ActorQuery, &[u64])]) {
        for (query, expected) in cases {
            assert_eq!(search(index, query.clone()), *expected, "{query:?}");
        }
    }

    #[test]
    fn every_filter_narrows_the_matches() {
        let none = (None, None);
        check(
            &sample(),
            &[
                (ActorQuery::default(), &[1, 2, 3]),
                (query(Some("R"), None, none, None), &[1, 2, 3]),
                (query(Some("downey"), None, none, None), &[1]),
                (query(None, Some("MALE"), none, None), &[1, 3]),
                (query(None, Some("other"), none, None), &[]),
                (query(None, None, (Some(38), Some(40)), None), &[3]),
                (query(None, None, none, Some(1)), &[1, 2]),
                // No movie has id 0, so no actor is cast in it, uncast ones included.
                (query(None, None, none, Some(0)), &[]),
            ],
        );
    }

    #[test]
    fn updates_removals_and_unassignments_are_seen() {
        let mut index = sample();
        index.upsert(&actor(2, "Natalie Portman", 42, "Female", None));
        index.remove(3);
        index.remove(3);
        index.unassign(1);
        let none = (None, None);
        check(
            &index,
            &[
                (query(Some("scarlett"), None, none, None), &[]),
                (query(Some("portman"), None, none, None), &[2]),
                (query(None, None, none, Some(1)), &[]),
                (ActorQuery::default(), &[1, 2]),
            ],
        );
        index.upsert(&actor(3, "Chris Evans", 38, "Male", None));
        check(&index, &[(ActorQuery::default(), &[1, 2, 3])]);
    }

    #[test]
    fn pages_count_every_match() {
        let index = sample();
        let query = ActorQuery {
            page: PageRequest::first(1).after(1),
            ..Default::default()
        };
        assert_eq!(
            index.search(&query),
            Selection {
                ids: vec![2],
                total: 3,
                more: true
            }
        );
    }

    #[test]
    fn compaction_keeps_what_is_live() {
        let mut index = ActorIndex::default();
        for id in 1..=3000 {
            index.upsert(&actor(id, &format!("Actor {id}"), 30, "F", None));
        }
        for id in 1..=2000 {
            index.remove(id);
        }
        assert!(index.ids.len() < 3000, "compacted");
        let found = search(
            &index,
            ActorQuery {
                q: Some("actor 25".into()),
                ..Default::default()
            },
        );
        assert_eq!(
            found,
            (2500..=2599)
                .chain(std::iter::once(25))
                .filter(|id| *id > 2000)
                .collect::<Vec<_>>()
        );
    }
}
