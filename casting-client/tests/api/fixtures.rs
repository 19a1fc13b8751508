//! Inputs the tests create records from.

use casting_client::{NewActor, NewMovie, ReleaseDate};

/// A release date from `YYYY-MM-DD`.
pub(crate) fn date(iso: &str) -> ReleaseDate {
    iso.parse().expect("a date")
}

/// A movie titled `title`, released on `release` (`YYYY-MM-DD`).
pub(crate) fn movie(title: &str, release: &str) -> NewMovie {
    NewMovie {
        title: title.into(),
        release: date(release),
    }
}

/// An actor cast in `movie_id`, if any.
pub(crate) fn actor(name: &str, age: u8, gender: &str, movie_id: Option<u64>) -> NewActor {
    NewActor {
        name: name.into(),
        age,
        gender: gender.into(),
        movie_id,
    }
}
