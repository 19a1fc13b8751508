//! The user's reference in `docs/` against the server's own description of
//! itself, so neither can drift from the other:
//!
//! - every route (method and path) of `openapi.json` has a heading in
//!   `docs/` (`### GET /movies/{id}`), and every such heading is a route of
//!   `openapi.json`;
//! - every error code of `openapi.json` is a row of an error table in
//!   `docs/` (`| 404 | `not_found` | ... |`) with the same status, and back;
//! - the status `openapi.json` gives each code is the one the server
//!   answers with;
//! - every flag and variable `casting-server --help` shows is on the
//!   configuration page;
//! - every link in `docs/` and the README names a file of the repository:
//!   users read the repository, so no page points outside it.
//!
//! Routes and codes that are planned but not implemented are described in
//! prose only, so they are in neither set.

// The whole file is test code: a failed expectation is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use casting_core::Permission;
use casting_server::auth::AuthError;
use casting_server::http::error::ApiError;
use casting_server::routes::meta::OPENAPI;
use serde_json::Value;

const METHODS: [&str; 7] = ["GET", "POST", "PATCH", "DELETE", "PUT", "HEAD", "OPTIONS"];

fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the crate lives in the workspace")
        .to_path_buf()
}

fn openapi() -> Value {
    serde_json::from_str(OPENAPI).expect("openapi.json is JSON")
}

/// Every `docs/*.md`, by name, with its text.
fn pages() -> Vec<(PathBuf, String)> {
    let dir = repository().join("docs");
    let mut pages: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "md"))
        .map(|path| {
            let text = std::fs::read_to_string(&path).unwrap();
            (path, text)
        })
        .collect();
    pages.sort();
    assert!(pages.len() >= 2, "docs/ has too few pages: {pages:?}");
    pages
}

/// The lines of a Markdown page outside fenced code blocks, where a `#`
/// starts a shell comment rather than a heading.
fn prose_lines(text: &str) -> Vec<&str> {
    let mut fenced = false;
    text.lines()
        .filter(|line| {
            if line.trim_start().starts_with("```") {
                fenced = !fenced;
                return false;
            }
            !fenced
        })
        .collect()
}

/// A heading that names a route, such as `### GET /movies/{id}`.
fn route_of_heading(line: &str) -> Option<(String, String)> {
    let title = line
        .strip_prefix('#')?
        .trim_start_matches('#')
        .replace('`', "");
    let words: Vec<&str> = title.split_whitespace().collect();
    match words.as_slice() {
        [method, path] if METHODS.contains(method) && path.starts_with('/') => {
            Some(((*method).to_owned(), (*path).to_owned()))
        }
        _ => None,
    }
}

/// A row of an error table, such as `| 404 | `not_found` | ... |`.
fn error_of_row(line: &str) -> Option<(u16, String)> {
    let cells: Vec<&str> = line
        .trim()
        .strip_prefix('|')?
        .split('|')
        .map(str::trim)
        .collect();
    let status = cells.first()?.parse::<u16>().ok()?;
    let code = cells.get(1)?.strip_prefix('`')?.strip_suffix('`')?;
    let snake = !code.is_empty() && code.bytes().all(|b| b.is_ascii_lowercase() || b == b'_');
    snake.then(|| (status, code.to_owned()))
}

fn documented_routes() -> BTreeSet<(String, String)> {
    pages()
        .iter()
        .flat_map(|(_, text)| prose_lines(text).into_iter().filter_map(route_of_heading))
        .collect()
}

fn documented_errors() -> BTreeSet<(u16, String)> {
    pages()
        .iter()
        .flat_map(|(_, text)| prose_lines(text).into_iter().filter_map(error_of_row))
        .collect()
}

fn openapi_routes() -> BTreeSet<(String, String)> {
    let document = openapi();
    let mut routes = BTreeSet::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        let item = item.as_object().unwrap();
        for method in item.keys() {
            // A HEAD beside a GET answers as the GET does, without the
            // body: the docs say so once for every route (see below).
            let mirrors_get = method == "head" && item.contains_key("get");
            if method != "parameters" && !mirrors_get {
                routes.insert((method.to_uppercase(), path.clone()));
            }
        }
    }
    routes
}

/// The codes of the error schema, with the status `x-status-of-code` gives.
fn openapi_errors() -> BTreeSet<(u16, String)> {
    let document = openapi();
    let error = &document["components"]["schemas"]["Error"];
    let statuses = error["x-status-of-code"].as_object().unwrap();
    error["properties"]["code"]["enum"]
        .as_array()
        .unwrap()
        .iter()
        .map(|code| {
            let code = code.as_str().unwrap();
            let status = statuses.get(code).and_then(Value::as_u64);
            let status = status.unwrap_or_else(|| panic!("x-status-of-code lacks {code}"));
            (u16::try_from(status).unwrap(), code.to_owned())
        })
        .collect()
}

/// One error of each kind the server answers with.
fn every_error() -> Vec<ApiError> {
    let errors = vec![
        ApiError::BadRequest(String::new()),
        ApiError::Auth(AuthError::Missing),
        ApiError::Auth(AuthError::InvalidHeader),
        ApiError::Auth(AuthError::MalformedToken),
        ApiError::Auth(AuthError::Expired),
        ApiError::Auth(AuthError::InvalidClaims),
        ApiError::Auth(AuthError::InvalidToken),
        ApiError::Auth(AuthError::Unavailable),
        ApiError::Forbidden(Permission::GetMovies),
        ApiError::NotFound,
        ApiError::MethodNotAllowed("GET"),
        ApiError::PreconditionFailed,
        ApiError::RequestTimeout,
        ApiError::TooManyFailures(1),
        ApiError::PayloadTooLarge(1),
        ApiError::UnsupportedMediaType,
        ApiError::Unprocessable(String::new()),
        ApiError::StorageUnavailable(String::new()),
        ApiError::Internal(String::new()),
    ];
    // No wildcard arm: a new kind of error does not compile here until it
    // is named, and then it belongs in the list above too.
    for error in &errors {
        match error {
            ApiError::BadRequest(_)
            | ApiError::Forbidden(_)
            | ApiError::NotFound
            | ApiError::MethodNotAllowed(_)
            | ApiError::PreconditionFailed
            | ApiError::RequestTimeout
            | ApiError::TooManyFailures(_)
            | ApiError::PayloadTooLarge(_)
            | ApiError::UnsupportedMediaType
            | ApiError::Unprocessable(_)
            | ApiError::StorageUnavailable(_)
            | ApiError::Internal(_) => {}
            ApiError::Auth(
                AuthError::Missing
                | AuthError::InvalidHeader
                | AuthError::MalformedToken
                | AuthError::Expired
                | AuthError::InvalidClaims
                | AuthError::InvalidToken
                | AuthError::Unavailable,
            ) => {}
        }
    }
    errors
}

#[test]
fn every_route_of_openapi_has_a_heading_in_the_docs() {
    let documented = documented_routes();

    let missing: Vec<_> = openapi_routes().difference(&documented).cloned().collect();

    assert!(missing.is_empty(), "docs/ has no heading for {missing:?}");
}

#[test]
fn the_docs_say_that_every_get_route_answers_head() {
    let api = std::fs::read_to_string(repository().join("docs/api.md")).unwrap();

    assert!(
        api.contains("**`HEAD`** is answered on every `GET` route"),
        "docs/api.md no longer says how HEAD is answered"
    );
}

#[test]
fn every_route_heading_in_the_docs_is_a_route_of_openapi() {
    let routes = openapi_routes();

    let unknown: Vec<_> = documented_routes().difference(&routes).cloned().collect();

    assert!(unknown.is_empty(), "openapi.json has no route {unknown:?}");
}

#[test]
fn every_error_code_of_openapi_is_in_the_docs_with_its_status() {
    let documented = documented_errors();

    let missing: Vec<_> = openapi_errors().difference(&documented).cloned().collect();

    assert!(missing.is_empty(), "docs/ has no error row for {missing:?}");
}

#[test]
fn every_error_code_in_the_docs_is_in_openapi_with_the_same_status() {
    let codes = openapi_errors();

    let unknown: Vec<_> = documented_errors().difference(&codes).cloned().collect();

    assert!(unknown.is_empty(), "openapi.json has no error {unknown:?}");
}

#[test]
fn openapi_gives_each_error_code_the_status_the_server_answers_with() {
    let answered: BTreeSet<(u16, String)> = every_error()
        .iter()
        .map(|error| {
            let (status, code) = error.status_and_code();
            (status.as_u16(), code.to_owned())
        })
        .collect();

    assert_eq!(openapi_errors(), answered);
}

#[test]
fn every_link_of_the_docs_and_readme_names_a_file_of_the_repository() {
    let root = repository();
    let mut files = pages();
    let readme = root.join("README.md");
    files.push((readme.clone(), std::fs::read_to_string(&readme).unwrap()));
    let mut broken = Vec::new();
    for (page, text) in &files {
        for target in text
            .split("](")
            .skip(1)
            .filter_map(|rest| rest.split(')').next())
        {
            let target = target.split('#').next().unwrap_or_default();
            // An anchor on the same page; anything with a scheme is outside.
            if target.is_empty() {
                continue;
            }
            let resolved = page.parent().unwrap().join(target);
            let inside = resolved
                .canonicalize()
                .is_ok_and(|path| path.starts_with(root.canonicalize().unwrap()));
            if !inside {
                broken.push(format!("{}: {target}", page.display()));
            }
        }
    }
    assert!(
        broken.is_empty(),
        "links outside the repository or to nothing: {broken:?}"
    );
}

/// The flags (`--bind`) and variables (`CASTING_BIND`) that `--help`
/// shows for the server and for `args`.
fn help_names(args: &[&str]) -> BTreeSet<String> {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_casting-server"))
        .args(args)
        .arg("--help")
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let help = String::from_utf8(output.stdout).unwrap();
    let mut names = BTreeSet::new();
    for word in help.split(|c: char| c.is_whitespace() || c == '[' || c == ']' || c == ',') {
        if let Some(flag) = word.strip_prefix("--").filter(|f| f.len() > 1) {
            names.insert(format!(
                "--{}",
                flag.trim_end_matches(|c: char| !c.is_alphanumeric())
            ));
        }
    }
    for (_, rest) in help
        .match_indices("[env: ")
        .map(|(i, _)| help.split_at(i + 6))
    {
        if let Some(variable) = rest.split('=').next() {
            names.insert(variable.to_owned());
        }
    }
    names.remove("--help");
    names.remove("--version");
    names
}

#[test]
fn every_flag_and_variable_of_help_is_on_the_configuration_page() {
    let page = std::fs::read_to_string(repository().join("docs/configuration.md")).unwrap();
    let mut names = help_names(&[]);
    names.extend(help_names(&["token"]));

    let missing: Vec<_> = names
        .iter()
        .filter(|name| !page.contains(&format!("`{name}`")))
        .collect();

    assert!(
        names.contains("--bind") && names.contains("CASTING_BIND"),
        "{names:?}"
    );
    assert!(
        missing.is_empty(),
        "docs/configuration.md lacks {missing:?}"
    );
}

#[test]
fn a_route_heading_and_an_error_row_are_recognised_and_prose_is_not() {
    assert_eq!(
        route_of_heading("### `GET /movies/{id}`"),
        Some(("GET".into(), "/movies/{id}".into()))
    );
    assert_eq!(route_of_heading("## Movies"), None);
    assert_eq!(route_of_heading("GET /movies"), None);
    assert_eq!(
        error_of_row("| 404 | `not_found` | no such path |"),
        Some((404, "not_found".into()))
    );
    assert_eq!(error_of_row("| status | code | when |"), None);
    assert_eq!(
        prose_lines("```sh\n# GET /x\n```\n# GET /y"),
        vec!["# GET /y"]
    );
}
