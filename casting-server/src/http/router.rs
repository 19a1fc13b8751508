//! The route table: which endpoint a method and path name, or why none does.
//!
//! A small explicit match rather than a routing crate: the table is short,
//! and `405` with its `Allow` list falls out of matching the path first.

use casting_core::{Permission, WriteKind};

/// One endpoint of the API, with the raw id segment where the path has one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint<'a> {
    /// `GET /movies`
    ListMovies,
    /// `POST /movies`
    CreateMovie,
    /// `GET /movies/search`
    SearchMovies,
    /// `GET /movies/{id}`
    GetMovie(&'a str),
    /// `PATCH /movies/{id}`
    UpdateMovie(&'a str),
    /// `DELETE /movies/{id}`
    DeleteMovie(&'a str),
    /// `GET /actors`
    ListActors,
    /// `POST /actors`
    CreateActor,
    /// `GET /actors/search`
    SearchActors,
    /// `GET /actors/{id}`
    GetActor(&'a str),
    /// `PATCH /actors/{id}`
    UpdateActor(&'a str),
    /// `DELETE /actors/{id}`
    DeleteActor(&'a str),
    /// `GET /audit`
    Audit,
    /// `GET /health`
    Health,
    /// `GET /ready`
    Ready,
    /// `GET /openapi.json`
    OpenApi,
    /// `GET /docs`: the OpenAPI document as an HTML page.
    Docs,
    /// `GET /.well-known/jwks.json`, in development mode only.
    Jwks,
    /// `POST /oauth/token`, in development mode only.
    DevToken,
}

/// Why no endpoint matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoRoute {
    /// No such path.
    NotFound,
    /// The path exists with these methods only, as an `Allow` value.
    MethodNotAllowed(&'static str),
}

/// Every path pattern and its methods, as documented in the OpenAPI file;
/// a test keeps the two in step.
pub const ROUTES: [(&str, &[&str]); 13] = [
    ("/movies", &["GET", "POST"]),
    ("/movies/search", &["GET"]),
    ("/movies/{id}", &["GET", "PATCH", "DELETE"]),
    ("/actors", &["GET", "POST"]),
    ("/actors/search", &["GET"]),
    ("/actors/{id}", &["GET", "PATCH", "DELETE"]),
    ("/audit", &["GET"]),
    ("/health", &["GET"]),
    ("/ready", &["GET"]),
    ("/openapi.json", &["GET"]),
    ("/docs", &["GET"]),
    ("/.well-known/jwks.json", &["GET"]),
    ("/oauth/token", &["POST"]),
];

const COLLECTION: &str = "GET, HEAD, POST";
const ITEM: &str = "GET, HEAD, PATCH, DELETE";
const READ_ONLY: &str = "GET, HEAD";

/// The endpoint for `method` on `path`. The jwks and token paths exist
/// only when `dev` is set. `HEAD` names the `GET` endpoint of the path: the
/// answer is the same, less its body.
pub fn resolve<'a>(method: &str, path: &'a str, dev: bool) -> Result<Endpoint<'a>, NoRoute> {
    use Endpoint::*;
    let method = if method == "HEAD" { "GET" } else { method };
    let segments: Vec<&str> = match path.strip_prefix('/') {
        Some(rest) => rest.split('/').collect(),
        None => return Err(NoRoute::NotFound),
    };
    let (endpoint, allow) = match (segments.as_slice(), method) {
        (["movies"], "GET") => (Some(ListMovies), COLLECTION),
        (["movies"], "POST") => (Some(CreateMovie), COLLECTION),
        (["movies"], _) => (None, COLLECTION),
        (["movies", "search"], "GET") => (Some(SearchMovies), READ_ONLY),
        (["movies", "search"], _) => (None, READ_ONLY),
        (["movies", ""], _) => return Err(NoRoute::NotFound),
        (["movies", id], "GET") => (Some(GetMovie(id)), ITEM),
        (["movies", id], "PATCH") => (Some(UpdateMovie(id)), ITEM),
        (["movies", id], "DELETE") => (Some(DeleteMovie(id)), ITEM),
        (["movies", _], _) => (None, ITEM),
        (["actors"], "GET") => (Some(ListActors), COLLECTION),
        (["actors"], "POST") => (Some(CreateActor), COLLECTION),
        (["actors"], _) => (None, COLLECTION),
        (["actors", "search"], "GET") => (Some(SearchActors), READ_ONLY),
        (["actors", "search"], _) => (None, READ_ONLY),
        (["actors", ""], _) => return Err(NoRoute::NotFound),
        (["actors", id], "GET") => (Some(GetActor(id)), ITEM),
        (["actors", id], "PATCH") => (Some(UpdateActor(id)), ITEM),
        (["actors", id], "DELETE") => (Some(DeleteActor(id)), ITEM),
        (["actors", _], _) => (None, ITEM),
        (["audit"], "GET") => (Some(Audit), READ_ONLY),
        (["audit"], _) => (None, READ_ONLY),
        (["health"], "GET") => (Some(Health), READ_ONLY),
        (["health"], _) => (None, READ_ONLY),
        (["ready"], "GET") => (Some(Ready), READ_ONLY),
        (["ready"], _) => (None, READ_ONLY),
        (["openapi.json"], "GET") => (Some(OpenApi), READ_ONLY),
        (["openapi.json"], _) => (None, READ_ONLY),
        (["docs"], "GET") => (Some(Docs), READ_ONLY),
        (["docs"], _) => (None, READ_ONLY),
        ([".well-known", "jwks.json"], _) if !dev => return Err(NoRoute::NotFound),
        ([".well-known", "jwks.json"], "GET") => (Some(Jwks), READ_ONLY),
        ([".well-known", "jwks.json"], _) => (None, READ_ONLY),
        (["oauth", "token"], _) if !dev => return Err(NoRoute::NotFound),
        (["oauth", "token"], "POST") => (Some(DevToken), "POST"),
        (["oauth", "token"], _) => (None, "POST"),
        _ => return Err(NoRoute::NotFound),
    };
    endpoint.ok_or(NoRoute::MethodNotAllowed(allow))
}

/// The route template `path` falls under, for logs and metric labels: one
/// of a fixed set, never the raw path, so no client can grow it.
pub fn template(path: &str) -> &'static str {
    let Some(rest) = path.strip_prefix('/') else {
        return "unmatched";
    };
    let mut segments = rest.split('/');
    match (segments.next(), segments.next(), segments.next()) {
        (Some("movies"), None, _) => "/movies",
        (Some("movies"), Some("search"), None) => "/movies/search",
        (Some("movies"), Some(id), None) if !id.is_empty() => "/movies/{id}",
        (Some("actors"), None, _) => "/actors",
        (Some("actors"), Some("search"), None) => "/actors/search",
        (Some("actors"), Some(id), None) if !id.is_empty() => "/actors/{id}",
        (Some("audit"), None, _) => "/audit",
        (Some("health"), None, _) => "/health",
        (Some("ready"), None, _) => "/ready",
        (Some("openapi.json"), None, _) => "/openapi.json",
        (Some(".well-known"), Some("jwks.json"), None) => "/.well-known/jwks.json",
        (Some("docs"), None, _) => "/docs",
        (Some("oauth"), Some("token"), None) => "/oauth/token",
        _ => "unmatched",
    }
}

impl Endpoint<'_> {
    /// The permission the endpoint needs, or `None` for a public one.
    pub fn permission(self) -> Option<Permission> {
        use Endpoint::*;
        Some(match self {
            ListMovies | GetMovie(_) => Permission::GetMovies,
            ListActors | GetActor(_) => Permission::GetActors,
            // A write's permission is the core's to say: the same mapping
            // decides here, before the body is read, and in its check.
            CreateMovie => WriteKind::CreateMovie.permission(),
            CreateActor => WriteKind::CreateActor.permission(),
            UpdateMovie(_) => WriteKind::UpdateMovie.permission(),
            UpdateActor(_) => WriteKind::UpdateActor.permission(),
            DeleteMovie(_) => WriteKind::DeleteMovie.permission(),
            DeleteActor(_) => WriteKind::DeleteActor.permission(),
            SearchMovies => Permission::SearchMovies,
            SearchActors => Permission::SearchActors,
            Audit => Permission::ReadAudit,
            Health | Ready | OpenApi | Docs | Jwks | DevToken => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collection_and_item_paths_resolve() {
        assert_eq!(resolve("GET", "/movies", false), Ok(Endpoint::ListMovies));
        assert_eq!(resolve("POST", "/actors", false), Ok(Endpoint::CreateActor));
        assert_eq!(
            resolve("PATCH", "/movies/12", false),
            Ok(Endpoint::UpdateMovie("12"))
        );
        assert_eq!(
            resolve("DELETE", "/actors/abc", false),
            Ok(Endpoint::DeleteActor("abc"))
        );
        assert_eq!(
            resolve("GET", "/actors/search", false),
            Ok(Endpoint::SearchActors)
        );
    }

    #[test]
    fn a_known_path_with_another_method_lists_the_allowed_ones() {
        assert_eq!(
            resolve("PUT", "/movies", false),
            Err(NoRoute::MethodNotAllowed("GET, HEAD, POST"))
        );
        assert_eq!(
            resolve("POST", "/movies/1", false),
            Err(NoRoute::MethodNotAllowed("GET, HEAD, PATCH, DELETE"))
        );
        assert_eq!(
            resolve("DELETE", "/movies/search", false),
            Err(NoRoute::MethodNotAllowed("GET, HEAD"))
        );
        assert_eq!(
            resolve("POST", "/health", false),
            Err(NoRoute::MethodNotAllowed("GET, HEAD"))
        );
    }

    #[test]
    fn head_names_the_get_endpoint_of_every_read_path() {
        assert_eq!(resolve("HEAD", "/movies", false), Ok(Endpoint::ListMovies));
        assert_eq!(
            resolve("HEAD", "/actors/7", false),
            Ok(Endpoint::GetActor("7"))
        );
        assert_eq!(resolve("HEAD", "/health", false), Ok(Endpoint::Health));
        assert_eq!(
            resolve("HEAD", "/.well-known/jwks.json", true),
            Ok(Endpoint::Jwks)
        );
    }

    #[test]
    fn templates_name_routes_and_nothing_else() {
        assert_eq!(template("/movies"), "/movies");
        assert_eq!(template("/movies/123"), "/movies/{id}");
        assert_eq!(template("/actors/search"), "/actors/search");
        assert_eq!(template("/ready"), "/ready");
        for odd in [
            "/",
            "",
            "/movies/1/x",
            "/movies/",
            "/secret-token-here",
            "x",
        ] {
            assert_eq!(template(odd), "unmatched", "{odd:?}");
        }
    }

    #[test]
    fn unknown_paths_are_not_found() {
        for path in [
            "/",
            "",
            "/movie",
            "/movies/",
            "/movies/1/actors",
            "//movies",
            "/movies//1",
            "/actors/",
            "/Movies",
            "movies",
        ] {
            assert_eq!(
                resolve("GET", path, false),
                Err(NoRoute::NotFound),
                "{path:?}"
            );
        }
    }

    #[test]
    fn the_key_set_exists_only_in_development_mode() {
        assert_eq!(
            resolve("GET", "/.well-known/jwks.json", false),
            Err(NoRoute::NotFound)
        );
        assert_eq!(
            resolve("GET", "/.well-known/jwks.json", true),
            Ok(Endpoint::Jwks)
        );
    }

    #[test]
    fn the_token_endpoint_exists_only_in_development_mode() {
        assert_eq!(
            resolve("POST", "/oauth/token", false),
            Err(NoRoute::NotFound)
        );
        assert_eq!(
            resolve("POST", "/oauth/token", true),
            Ok(Endpoint::DevToken)
        );
    }

    #[test]
    fn only_health_openapi_docs_and_jwks_are_public() {
        assert_eq!(Endpoint::Health.permission(), None);
        assert_eq!(Endpoint::OpenApi.permission(), None);
        assert_eq!(Endpoint::Docs.permission(), None);
        assert_eq!(
            Endpoint::GetMovie("1").permission(),
            Some(Permission::GetMovies)
        );
        assert_eq!(
            Endpoint::DeleteMovie("1").permission(),
            Some(Permission::DeleteMovies)
        );
        assert_eq!(Endpoint::Audit.permission(), Some(Permission::ReadAudit));
    }

    #[test]
    fn the_audit_log_is_read_only() {
        assert_eq!(resolve("GET", "/audit", false), Ok(Endpoint::Audit));
        assert_eq!(
            resolve("DELETE", "/audit", false),
            Err(NoRoute::MethodNotAllowed("GET, HEAD"))
        );
        assert_eq!(template("/audit"), "/audit");
    }
}
