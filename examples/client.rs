//! Uses the typed SDK against a running server: checks its health, creates
//! a movie and an actor cast in it when the token may, then lists, searches
//! and walks every actor as a stream, printing what it finds.
//!
//! Start a development server, then run the example with one of the tokens
//! it printed:
//!
//! ```sh
//! cargo run -p casting-server -- --dev
//! CASTING_TOKEN=<a token it printed> cargo run -p casting-examples --example client
//! ```
//!
//! `CASTING_URL` names the server (default `http://127.0.0.1:8080`).

use std::process::ExitCode;

use casting_client::{
    Actor, ActorQuery, Client, Error, MovieQuery, NewActor, NewMovie, PageRequest,
};
use futures_util::TryStreamExt;

const DEFAULT_URL: &str = "http://127.0.0.1:8080";

#[path = "show.rs"]
mod show;

/// `Some(record)` when created, `None` when the token may not create one.
fn allowed<T>(what: &str, result: Result<T, Error>) -> Result<Option<T>, Error> {
    match result {
        Ok(record) => Ok(Some(record)),
        Err(Error::Forbidden { message }) => {
            println!("not creating {what}: {message}");
            Ok(None)
        }
        Err(other) => Err(other),
    }
}

async fn run(client: &Client) -> Result<(), Box<dyn std::error::Error>> {
    let health = client.health().await?;
    println!("{} is {}", client.base_url(), health.status);

    let movie = allowed(
        "a movie",
        client
            .create_movie(&NewMovie {
                title: "Universe".into(),
                release: "2010-10-13".parse()?,
            })
            .await,
    )?;
    if let Some(movie) = &movie {
        println!("created movie #{} {:?}", movie.id, movie.title);
    }
    let actor = allowed(
        "an actor",
        client
            .create_actor(&NewActor {
                name: "Robert Downey Jr".into(),
                age: 44,
                gender: "Male".into(),
                movie_id: movie.as_ref().map(|m| m.id),
            })
            .await,
    )?;
    if let Some(actor) = &actor {
        println!("created actor #{} {:?}", actor.id, actor.name);
    }

    show::movies(
        "the first movies",
        &client.list_movies(PageRequest::first(10)).await?,
    );
    show::actors(
        "the first actors",
        &client.list_actors(PageRequest::first(10)).await?,
    );
    show::movies(
        "movies matching \"universe\"",
        &client
            .search_movies(&MovieQuery {
                q: Some("universe".into()),
                page: PageRequest::first(10),
                ..MovieQuery::default()
            })
            .await?,
    );
    show::actors(
        "male actors aged 30 to 60",
        &client
            .search_actors(&ActorQuery {
                gender: Some("male".into()),
                min_age: Some(30),
                max_age: Some(60),
                page: PageRequest::first(10),
                ..ActorQuery::default()
            })
            .await?,
    );

    // Every actor, 100 a page, without holding more than a page in memory.
    let mut actors = client.stream_actors(PageRequest::first(100));
    let (mut count, mut oldest) = (0u64, None::<Actor>);
    while let Some(actor) = actors.try_next().await? {
        count += 1;
        if oldest.as_ref().is_none_or(|o| actor.age > o.age) {
            oldest = Some(actor);
        }
    }
    match oldest {
        Some(oldest) => println!(
            "actors streamed: {count}; the oldest is {} ({})",
            oldest.name, oldest.age
        ),
        None => println!("actors streamed: {count}"),
    }
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    let url = std::env::var("CASTING_URL").unwrap_or_else(|_| DEFAULT_URL.to_owned());
    let Ok(token) = std::env::var("CASTING_TOKEN") else {
        eprintln!(
            "CASTING_TOKEN is not set: start a development server with \
             `cargo run -p casting-server -- --dev` and set CASTING_TOKEN to one of the \
             tokens it prints (or to the output of \
             `cargo run -q -p casting-server -- token --role producer`)"
        );
        return ExitCode::from(2);
    };
    let client = match Client::builder(&url).token(token.trim()).build() {
        Ok(client) => client,
        Err(error) => {
            eprintln!("client: {error}");
            return ExitCode::from(2);
        }
    };
    match run(&client).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("client: {error}");
            if error
                .downcast_ref::<Error>()
                .is_some_and(Error::is_transport)
            {
                eprintln!("is the server running at {url}? set CASTING_URL to its address");
            }
            ExitCode::FAILURE
        }
    }
}
