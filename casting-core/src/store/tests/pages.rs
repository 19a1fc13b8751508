//! Pages: where they end, and what their totals count.

use super::{ids, new_actor, new_movie, store_with};
use crate::query::{ActorQuery, MovieQuery, PageRequest};

#[test]
fn the_last_page_has_no_next_even_when_it_is_exactly_full() {
    let (_dir, store) = store_with(
        (0..6)
            .map(|i| new_movie(&format!("m{i}"), "2001-01-01"))
            .collect(),
    );
    let first = store.movies(PageRequest::first(3)).unwrap();
    assert_eq!(
        (ids(&first.items, |m| m.id), first.next),
        (vec![1, 2, 3], Some(3))
    );
    let last = store.movies(PageRequest::first(3).after(3)).unwrap();
    assert_eq!(
        (ids(&last.items, |m| m.id), last.next, last.total),
        (vec![4, 5, 6], None, 6)
    );
    let search = store
        .search_movies(&MovieQuery {
            q: Some("m".into()),
            page: PageRequest::first(3).after(3),
            ..MovieQuery::default()
        })
        .unwrap();
    assert_eq!(
        (search.items.len(), search.next, search.total),
        (3, None, 6)
    );
}

#[test]
fn a_search_total_counts_the_matches_before_the_page_too() {
    let (_dir, store) = store_with(
        (1..=10)
            .map(|i| {
                new_actor(
                    &format!("actor {i}"),
                    30,
                    if i % 2 == 0 { "Male" } else { "Female" },
                    None,
                )
            })
            .collect(),
    );
    let query = ActorQuery {
        gender: Some("male".into()),
        page: PageRequest::first(2).after(6),
        ..ActorQuery::default()
    };
    let page = store.search_actors(&query).unwrap();
    assert_eq!(
        (ids(&page.items, |a| a.id), page.total, page.next),
        (vec![8, 10], 5, None)
    );
}
