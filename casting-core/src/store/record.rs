//! The bytes a record is stored as. A small fixed layout rather than JSON,
//! because searches decode every record of a table.
//!
//! Movie: `release ordinal: u32 LE`, then the title in UTF-8.
//! Actor: `age: u8`, `movie_id: u64 LE` (0 for none), `name length: u32 LE`,
//! the name, then the gender, both in UTF-8.

use crate::model::{Actor, Movie};
use crate::{ReleaseDate, StoreError};

/// The stored fields of a movie; its actors live in the cast table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MovieRecord {
    pub(crate) title: String,
    pub(crate) release: ReleaseDate,
}

/// The stored fields of an actor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ActorRecord {
    pub(crate) name: String,
    pub(crate) age: u8,
    pub(crate) gender: String,
    pub(crate) movie_id: Option<u64>,
}

fn corrupt(what: &str) -> StoreError {
    StoreError::Corrupt(format!("malformed {what} record"))
}

fn text(bytes: &[u8], what: &str) -> Result<String, StoreError> {
    String::from_utf8(bytes.to_vec()).map_err(|_| corrupt(what))
}

impl MovieRecord {
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(4 + self.title.len());
        out.extend_from_slice(&self.release.to_ordinal().to_le_bytes());
        out.extend_from_slice(self.title.as_bytes());
        out
    }

    pub(crate) fn decode(bytes: &[u8]) -> Result<Self, StoreError> {
        let (ordinal, title) = bytes
            .split_first_chunk::<4>()
            .ok_or_else(|| corrupt("movie"))?;
        let release = ReleaseDate::from_ordinal(u32::from_le_bytes(*ordinal))
            .map_err(|_| corrupt("movie"))?;
        Ok(MovieRecord {
            title: text(title, "movie")?,
            release,
        })
    }

    pub(crate) fn into_movie(self, id: u64, actors: Vec<u64>) -> Movie {
        Movie {
            id,
            title: self.title,
            release_date: self.release,
            actors,
        }
    }
}

impl ActorRecord {
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(13 + self.name.len() + self.gender.len());
        out.push(self.age);
        out.extend_from_slice(&self.movie_id.unwrap_or(0).to_le_bytes());
        // Names are at most 200 characters, far below u32::MAX bytes.
        out.extend_from_slice(&(self.name.len() as u32).to_le_bytes());
        out.extend_from_slice(self.name.as_bytes());
        out.extend_from_slice(self.gender.as_bytes());
        out
    }

    pub(crate) fn decode(bytes: &[u8]) -> Result<Self, StoreError> {
        let (&age, rest) = bytes.split_first().ok_or_else(|| corrupt("actor"))?;
        let (movie_id, rest) = rest
            .split_first_chunk::<8>()
            .ok_or_else(|| corrupt("actor"))?;
        let (name_len, rest) = rest
            .split_first_chunk::<4>()
            .ok_or_else(|| corrupt("actor"))?;
        let name_len = u32::from_le_bytes(*name_len) as usize;
        if rest.len() < name_len {
            return Err(corrupt("actor"));
        }
        let (name, gender) = rest.split_at(name_len);
        let movie_id = u64::from_le_bytes(*movie_id);
        Ok(ActorRecord {
            name: text(name, "actor")?,
            age,
            gender: text(gender, "actor")?,
            movie_id: (movie_id != 0).then_some(movie_id),
        })
    }

    pub(crate) fn into_actor(self, id: u64) -> Actor {
        Actor {
            id,
            name: self.name,
            age: self.age,
            gender: self.gender,
            movie_id: self.movie_id,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn movie_records_round_trip(title in "\\PC{0,50}", ordinal in 1u32..99_991_231) {
            if let Ok(release) = ReleaseDate::from_ordinal(ordinal) {
                let record = MovieRecord { title, release };
                prop_assert_eq!(MovieRecord::decode(&record.encode()).unwrap(), record);
            }
        }

        #[test]
        fn actor_records_round_trip(name in "\\PC{0,50}", gender in "\\PC{0,20}", age: u8, movie_id in proptest::option::of(1u64..)) {
            let record = ActorRecord { name, age, gender, movie_id };
            prop_assert_eq!(ActorRecord::decode(&record.encode()).unwrap(), record);
        }

        #[test]
        fn decoding_garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..40)) {
            let _ = MovieRecord::decode(&bytes);
            let _ = ActorRecord::decode(&bytes);
        }
    }

    #[test]
    fn truncated_records_are_corrupt() {
        assert!(matches!(
            MovieRecord::decode(&[1, 2]),
            Err(StoreError::Corrupt(_))
        ));
        let actor = ActorRecord {
            name: "Ann".into(),
            age: 3,
            gender: "F".into(),
            movie_id: None,
        }
        .encode();
        assert!(matches!(
            ActorRecord::decode(&actor[..14]),
            Err(StoreError::Corrupt(_))
        ));
    }
}
