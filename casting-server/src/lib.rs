//! The casting agency's REST API, as `docs/api.md` describes it, over
//! hyper, verifying Auth0 / OpenID Connect tokens, with a development mode
//! that is its own issuer.
//!
//! # Layout
//! Data flows one way: [`server`] accepts connections and applies the tower
//! layers; [`app`] routes ([`http::router`]), authenticates ([`auth`]) and
//! checks the permission; [`routes`] read the query and body ([`http`]) and
//! call `casting-core`; writes go through the group-commit [`writer`], whose
//! batches wait for the runtime's workers to go [`idle`]. The
//! handlers see only the shared [`state`], never the dispatcher above them.
//! [`config`] turns flags and variables into [`config::Settings`];
//! [`Application`] builds a server from them (store, key, listener) and
//! runs it until told to stop, and [`serve`] does both as the binary does;
//! [`backup`] takes snapshots of the store on a schedule and runs the
//! `backup` and `restore` subcommands.

pub mod app;
pub mod auth;
pub mod backup;
pub mod config;
pub mod copy;
pub mod database;
pub mod http;
pub mod idle;
pub mod logging;
pub mod metrics;
pub mod routes;
pub mod scrape;
pub mod server;
pub mod state;
pub mod writer;

mod startup;

pub use startup::{Application, StartupError, print_token, serve};
