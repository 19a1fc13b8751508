//! Random writes for the store's unit tests (the audit log's among them).
//!
//! The same strategy as `casting_testkit::strategy::write`, kept here
//! because a unit test inside casting-core sees its own copy of the
//! crate's types, not the ones the test kit's strategies produce.

use proptest::prelude::*;

use crate::backend::Write;
use crate::model::{ActorPatch, MoviePatch, NewActor, NewMovie, ReleaseDate};

/// Ids the random writes aim at: 0 never exists.
const IDS: std::ops::Range<u64> = 0..12;

fn id() -> impl Strategy<Value = u64> {
    IDS
}

/// Titles and names from a few letters in both cases, with a non-ASCII one,
/// so that searches find something and case folding is exercised.
fn text() -> impl Strategy<Value = String> {
    "[a-cA-CéÉ ]{1,6}"
}

/// Few distinct days, so that filters often fall on a record's own date.
fn release() -> impl Strategy<Value = ReleaseDate> {
    (2000i16..2004, 1i8..=2, 1i8..=3).prop_map(|(y, m, d)| ReleaseDate::new(y, m, d).unwrap())
}

fn age() -> impl Strategy<Value = u8> {
    prop_oneof![4 => 28u8..=33, 1 => Just(0), 1 => Just(150)]
}

fn gender() -> impl Strategy<Value = String> {
    prop::sample::select(vec!["Male", "male", "Female", "FEMALE", "Other"]).prop_map(String::from)
}

fn create_movie() -> impl Strategy<Value = Write> {
    (text(), release()).prop_map(|(title, release)| Write::CreateMovie(NewMovie { title, release }))
}

fn create_actor(movie_id: impl Strategy<Value = u64>) -> impl Strategy<Value = Write> {
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

pub(crate) fn write() -> impl Strategy<Value = Write> {
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
