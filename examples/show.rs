//! Printing pages of records, shared by the `embed` and `client` examples
//! (included by both with `#[path]`; not an example of its own).

use casting_core::{Actor, Movie, Page};

/// Prints a page of movies under `heading`.
pub(crate) fn movies(heading: &str, page: &Page<Movie>) {
    println!("{heading} ({} of {}):", page.items.len(), page.total);
    for movie in &page.items {
        println!(
            "  #{} {:<24} released {}, cast {:?}",
            movie.id, movie.title, movie.release_date, movie.actors
        );
    }
}

/// Prints a page of actors under `heading`.
pub(crate) fn actors(heading: &str, page: &Page<Actor>) {
    println!("{heading} ({} of {}):", page.items.len(), page.total);
    for actor in &page.items {
        let movie = actor
            .movie_id
            .map_or_else(|| "no movie".to_owned(), |id| format!("movie #{id}"));
        println!(
            "  #{} {:<24} {:>3}, {:<8} in {movie}",
            actor.id, actor.name, actor.age, actor.gender
        );
    }
}
