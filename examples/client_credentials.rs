//! Uses the SDK as a machine-to-machine client: no token is pasted in; the
//! client obtains its own with the OAuth 2.0 client-credentials grant, keeps
//! it until shortly before it expires, and retries reads that fail for a
//! moment.
//!
//! A development server offers the grant at `POST /oauth/token` to clients
//! on this machine, for the clients `casting-dev-assistant`,
//! `casting-dev-director` and `casting-dev-producer`, all with the secret
//! `casting-dev-secret`:
//!
//! ```sh
//! cargo run -p casting-server -- --dev
//! cargo run -p casting-examples --example client_credentials
//! ```
//!
//! `CASTING_URL` names the server (default `http://127.0.0.1:8080`);
//! `CASTING_CLIENT_ID` and `CASTING_CLIENT_SECRET` the client (default the
//! development director); `CASTING_TOKEN_URL` the token endpoint (default
//! the server's own). Against Auth0, set `CASTING_TOKEN_URL` to
//! `https://TENANT/oauth/token`, and `CASTING_AUDIENCE` to the API
//! identifier.

use std::process::ExitCode;
use std::time::Duration;

use casting_client::{Client, ClientCredentials, Error, NewActor, PageRequest, RetryPolicy};

const DEFAULT_URL: &str = "http://127.0.0.1:8080";
const DEV_CLIENT_ID: &str = "casting-dev-director";
const DEV_CLIENT_SECRET: &str = "casting-dev-secret";
const DEV_AUDIENCE: &str = "casting-agency";

fn var(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_owned())
}

fn client(url: &str) -> Result<Client, Error> {
    let token_url = var(
        "CASTING_TOKEN_URL",
        &format!("{}/oauth/token", url.trim_end_matches('/')),
    );
    let credentials = ClientCredentials::new(
        token_url,
        var("CASTING_CLIENT_ID", DEV_CLIENT_ID),
        var("CASTING_CLIENT_SECRET", DEV_CLIENT_SECRET),
    )
    .audience(var("CASTING_AUDIENCE", DEV_AUDIENCE));
    Client::builder(url)
        .client_credentials(credentials)
        .timeout(Duration::from_secs(10))
        .retry(
            RetryPolicy::default()
                .max_attempts(4)
                .max_elapsed(Duration::from_secs(15)),
        )
        .build()
}

async fn run(client: &Client) -> Result<(), Error> {
    // Ten reads at once, before the client has a token: they wait for one
    // token request rather than making ten.
    let reads = (0..10).map(|_| client.list_movies(PageRequest::first(5)));
    let pages = futures_util::future::try_join_all(reads).await?;
    println!(
        "10 concurrent reads, one token: {} movies in the store",
        pages[0].total
    );

    match client
        .create_actor(&NewActor {
            name: "Scarlett Johansson".into(),
            age: 38,
            gender: "Female".into(),
            movie_id: None,
        })
        .await
    {
        Ok(actor) => println!("created actor #{} {:?}", actor.id, actor.name),
        Err(Error::Forbidden { message }) => println!("not creating an actor: {message}"),
        Err(other) => return Err(other),
    }

    let actors = client.list_actors(PageRequest::first(5)).await?;
    println!(
        "the first actors ({} of {}):",
        actors.items.len(),
        actors.total
    );
    for actor in &actors.items {
        println!("  #{} {}", actor.id, actor.name);
    }
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    let url = var("CASTING_URL", DEFAULT_URL);
    let client = match client(&url) {
        Ok(client) => client,
        Err(error) => {
            eprintln!("client_credentials: {error}");
            return ExitCode::from(2);
        }
    };
    match run(&client).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("client_credentials: {error}");
            match &error {
                Error::Transport { .. } => eprintln!(
                    "is the server running at {url}? start one with \
                     `cargo run -p casting-server -- --dev`, or set CASTING_URL"
                ),
                Error::Token {
                    status: Some(404), ..
                } => eprintln!(
                    "the server has no token endpoint: only a development server \
                     (--dev) offers one; set CASTING_TOKEN_URL to your issuer's"
                ),
                _ => {}
            }
            ExitCode::FAILURE
        }
    }
}
