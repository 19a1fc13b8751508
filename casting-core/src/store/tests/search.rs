//! The exact rules of search: substrings in any case, whole genders, bounds.

use super::{actor_names, date, movie_titles, new_actor, new_movie, store_with};
use crate::query::{ActorQuery, MovieQuery};

#[test]
fn q_matches_a_substring_of_the_name_in_any_case() {
    let (_dir, store) = store_with(vec![
        new_actor("Robert Downey Jr", 44, "Male", None),
        new_actor("ÉLODIE Bouchez", 50, "Female", None),
        new_actor("Rob", 30, "Male", None),
    ]);
    let search = |q: &str| {
        actor_names(
            store
                .search_actors(&ActorQuery {
                    q: Some(q.into()),
                    ..ActorQuery::default()
                })
                .unwrap(),
        )
    };
    assert_eq!(search("DOWNEY"), ["Robert Downey Jr"]);
    assert_eq!(search("own"), ["Robert Downey Jr"]);
    assert_eq!(search("rob"), ["Robert Downey Jr", "Rob"]);
    assert_eq!(search("élodie"), ["ÉLODIE Bouchez"]);
    assert!(search("robert downey junior").is_empty());
}

#[test]
fn q_matches_a_substring_of_the_title_in_any_case() {
    let (_dir, store) = store_with(vec![
        new_movie("Universe", "2010-10-13"),
        new_movie("The Universal Soldier", "1992-07-10"),
        new_movie("Up", "2009-05-29"),
    ]);
    let search = |q: &str| {
        movie_titles(
            store
                .search_movies(&MovieQuery {
                    q: Some(q.into()),
                    ..MovieQuery::default()
                })
                .unwrap(),
        )
    };
    assert_eq!(search("UNIVERS"), ["Universe", "The Universal Soldier"]);
    assert_eq!(search("p"), ["Up"]);
    assert!(search("universes").is_empty());
}

#[test]
fn gender_must_equal_the_whole_gender_ignoring_case() {
    let (_dir, store) = store_with(vec![
        new_actor("a", 30, "Male", None),
        new_actor("b", 30, "Female", None),
        new_actor("c", 30, "MALE", None),
    ]);
    let page = store
        .search_actors(&ActorQuery {
            gender: Some("male".into()),
            ..ActorQuery::default()
        })
        .unwrap();
    // "Female" contains "male" but is not it.
    assert_eq!(actor_names(page), ["a", "c"]);
}

#[test]
fn age_bounds_are_inclusive() {
    let (_dir, store) = store_with(
        [29, 30, 31, 40, 41]
            .into_iter()
            .map(|age| new_actor(&age.to_string(), age, "Male", None))
            .collect(),
    );
    let page = store
        .search_actors(&ActorQuery {
            min_age: Some(30),
            max_age: Some(40),
            ..ActorQuery::default()
        })
        .unwrap();
    assert_eq!(actor_names(page), ["30", "31", "40"]);
}

#[test]
fn movie_id_limits_a_search_to_that_movies_cast() {
    let (_dir, store) = store_with(vec![
        new_movie("One", "2001-01-01"),
        new_movie("Two", "2002-02-02"),
        new_actor("a", 30, "Male", Some(2)),
        new_actor("b", 30, "Male", Some(1)),
        new_actor("c", 30, "Male", Some(2)),
        new_actor("d", 30, "Male", None),
    ]);
    let search = |movie_id| {
        actor_names(
            store
                .search_actors(&ActorQuery {
                    movie_id: Some(movie_id),
                    ..ActorQuery::default()
                })
                .unwrap(),
        )
    };
    assert_eq!(search(2), ["a", "c"]);
    assert_eq!(search(1), ["b"]);
    assert!(search(3).is_empty());
}

#[test]
fn release_bounds_are_strict() {
    let (_dir, store) = store_with(vec![
        new_movie("before", "2000-12-31"),
        new_movie("first", "2001-01-01"),
        new_movie("middle", "2001-06-15"),
        new_movie("last", "2001-12-31"),
        new_movie("after", "2002-01-01"),
    ]);
    let page = store
        .search_movies(&MovieQuery {
            released_after: Some(date("2001-01-01")),
            released_before: Some(date("2001-12-31")),
            ..MovieQuery::default()
        })
        .unwrap();
    assert_eq!(movie_titles(page), ["middle"]);
}
