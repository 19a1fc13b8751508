//! Embeds the casting agency in a program of its own, with no server: opens
//! a store in a temporary directory, adds movies and actors as an executive
//! producer, shows a casting assistant being refused a write, then searches
//! as the assistant and prints what it finds.
//!
//! Run it with `cargo run -p casting-examples --example embed`.

use casting_core::{
    ActorQuery, Agency, MovieQuery, NewActor, NewMovie, PageRequest, Principal, Role,
};

#[path = "show.rs"]
mod show;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Declared first so it is dropped last: the store closes before its
    // directory is removed.
    let dir = tempfile::tempdir()?;
    let agency = Agency::open(dir.path().join("casting.redb"))?;
    println!("store opened at {}\n", dir.path().display());

    // Roles stand in for the permissions a token would carry on a server.
    let producer = Principal::with_role("executive producer", Role::Producer);
    let assistant = Principal::with_role("casting assistant", Role::Assistant);

    let mut movie_ids = Vec::new();
    for (title, release) in [
        ("Universe", "2010-10-13"),
        ("The Long Night", "1998-02-20"),
        ("Universal Studio", "2021-06-01"),
    ] {
        let movie = agency.create_movie(
            &producer,
            NewMovie {
                title: title.into(),
                release: release.parse()?,
            },
        )?;
        movie_ids.push(movie.id);
    }
    for (name, age, gender, movie) in [
        ("Robert Downey Jr", 44, "Male", Some(0)),
        ("Ada Lovelace", 36, "Female", Some(0)),
        ("Grace Hopper", 85, "Female", Some(2)),
        ("Alan Turing", 41, "Male", None),
    ] {
        agency.create_actor(
            &producer,
            NewActor {
                name: name.into(),
                age,
                gender: gender.into(),
                movie_id: movie.map(|i: usize| movie_ids[i]),
            },
        )?;
    }
    show::movies(
        "the producer's movies",
        &agency.list_movies(&producer, PageRequest::default())?,
    );

    // An assistant reads and searches but may not write: the agency checks
    // the permission before it looks at the input or the store.
    let refused = agency.create_actor(
        &assistant,
        NewActor {
            name: "Uninvited Guest".into(),
            age: 30,
            gender: "Other".into(),
            movie_id: None,
        },
    );
    match refused {
        Err(error) => println!("\nthe assistant tried to add an actor: {error}\n"),
        Ok(actor) => return Err(format!("an assistant was let in: {actor:?}").into()),
    }

    let query = MovieQuery {
        q: Some("UNIVERS".into()),
        released_after: Some("2000-01-01".parse()?),
        ..MovieQuery::default()
    };
    show::movies(
        "movies with \"univers\" in the title, released after 2000",
        &agency.search_movies(&assistant, &query)?,
    );

    let query = ActorQuery {
        gender: Some("female".into()),
        min_age: Some(30),
        max_age: Some(60),
        ..ActorQuery::default()
    };
    show::actors(
        "\nfemale actors from 30 to 60",
        &agency.search_actors(&assistant, &query)?,
    );

    // Pages are keyset pages: ask for the next one after the last id seen.
    let first = agency.list_actors(&assistant, PageRequest::first(3))?;
    show::actors("\nactors, first page of 3", &first);
    if let Some(after) = first.next {
        let rest = agency.list_actors(&assistant, PageRequest::first(3).after(after))?;
        show::actors(&format!("actors after #{after}"), &rest);
    }
    Ok(())
}
