//! Proptest strategies for the model-based store tests: random writes aimed
//! at a few ids, sequences of steps, whole contents and search queries.

use proptest::collection::vec;
use proptest::prelude::*;

use casting_core::{
    ActorPatch, ActorQuery, MoviePatch, MovieQuery, NewActor, NewMovie, PageRequest, ReleaseDate,
    Write,
};

/// Ids the random writes aim at: 0 never exists, and sequences of up to 40
/// steps create, delete and pass by the others.
pub const IDS: std::ops::Range<u64> = 0..12;

/// One of [`IDS`].
pub fn id() -> impl Strategy<Value = u64> {
    IDS
}

/// Titles and names from a few letters in both cases, with a non-ASCII one,
/// so that searches find something and case folding is exercised.
pub fn text() -> impl Strategy<Value = String> {
    "[a-cA-CéÉ ]{1,6}"
}

/// A search for up to two letters of [`text`]'s.
pub fn needle() -> impl Strategy<Value = String> {
    "[a-cA-Cé]{0,2}"
}

/// Few distinct days, so that filters often fall on a record's own date.
pub fn release() -> impl Strategy<Value = ReleaseDate> {
    (2000i16..2004, 1i8..=2, 1i8..=3).prop_map(|(y, m, d)| ReleaseDate::new(y, m, d).unwrap())
}

/// Mostly ages close together, now and then the bounds 0 and 150.
pub fn age() -> impl Strategy<Value = u8> {
    prop_oneof![4 => 28u8..=33, 1 => Just(0), 1 => Just(150)]
}

/// A few genders, some differing only in case.
pub fn gender() -> impl Strategy<Value = String> {
    prop::sample::select(vec!["Male", "male", "Female", "FEMALE", "Other"]).prop_map(String::from)
}

/// A movie create.
pub fn create_movie() -> impl Strategy<Value = Write> {
    (text(), release()).prop_map(|(title, release)| Write::CreateMovie(NewMovie { title, release }))
}

/// An actor create, cast in a movie of `movie_id` or in none.
pub fn create_actor(movie_id: impl Strategy<Value = u64>) -> impl Strategy<Value = Write> {
    (text(), age(), gender(), prop::option::of(movie_id)).prop_map(
        |(name, age, gender, movie_id)| {
            Write::CreateActor(NewActor {
                name,
                age,
                gender,
                movie_id,
            })
        },
    )
}

/// Any write, aimed at [`IDS`].
pub fn write() -> impl Strategy<Value = Write> {
    let movie_patch = (prop::option::of(text()), prop::option::of(release()))
        .prop_map(|(title, release)| MoviePatch { title, release });
    let actor_patch = (
        prop::option::of(text()),
        prop::option::of(age()),
        prop::option::of(gender()),
        prop::option::of(prop::option::of(id())),
    )
        .prop_map(|(name, age, gender, movie_id)| ActorPatch {
            name,
            age,
            gender,
            movie_id,
        });
    prop_oneof![
        3 => create_movie(),
        1 => (id(), movie_patch).prop_map(|(id, p)| Write::UpdateMovie(id, p)),
        1 => id().prop_map(Write::DeleteMovie),
        4 => create_actor(id()),
        3 => (id(), actor_patch).prop_map(|(id, p)| Write::UpdateActor(id, p)),
        1 => id().prop_map(Write::DeleteActor),
    ]
}

/// One step of a sequence run against a store and the model.
#[derive(Debug, Clone)]
pub enum Step {
    /// A write in its own transaction.
    One(Write),
    /// Writes sharing one transaction.
    Batch(Vec<Write>),
    /// Dropping the store and opening the file again.
    Reopen,
}

/// Mostly single writes, some batches, now and then a reopen.
pub fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        6 => write().prop_map(Step::One),
        2 => vec(write(), 2..6).prop_map(Step::Batch),
        1 => Just(Step::Reopen),
    ]
}

/// Random contents written in one batch: movies, actors cast in some of
/// them, then deletions that leave gaps in both id sequences.
pub fn contents() -> impl Strategy<Value = Vec<Write>> {
    (
        vec(create_movie(), 0..20),
        vec(create_actor(1u64..20), 0..50),
        vec(
            prop_oneof![
                (1u64..20).prop_map(Write::DeleteMovie),
                (1u64..50).prop_map(Write::DeleteActor),
            ],
            0..12,
        ),
    )
        .prop_map(|(movies, actors, deletions)| {
            movies.into_iter().chain(actors).chain(deletions).collect()
        })
}

/// A movie search of [`needle`]s and release bounds, for all pages.
pub fn movie_query() -> impl Strategy<Value = MovieQuery> {
    (
        prop::option::of(needle()),
        prop::option::of(release()),
        prop::option::of(release()),
    )
        .prop_map(|(q, released_after, released_before)| MovieQuery {
            q,
            released_after,
            released_before,
            page: PageRequest::default(),
        })
}

/// An actor search of every filter, for all pages.
pub fn actor_query() -> impl Strategy<Value = ActorQuery> {
    (
        prop::option::of(needle()),
        prop::option::of(gender()),
        prop::option::of(age()),
        prop::option::of(age()),
        prop::option::of(0u64..21),
    )
        .prop_map(|(q, gender, min_age, max_age, movie_id)| ActorQuery {
            q,
            gender,
            min_age,
            max_age,
            movie_id,
            page: PageRequest::default(),
        })
}
