//! Configuration: one clap struct, every flag backed by its environment
//! variable, resolved into [`Settings`] or a message naming what to set.

use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::path::PathBuf;
use std::time::Duration;

use casting_core::Role;
use clap::builder::BoolishValueParser;
use clap::{Args, Parser, Subcommand};
use jsonwebtoken::Algorithm;

use crate::auth::dev::{DEV_AUDIENCE, DEV_ISSUER};
use crate::backup::{self, BackupSettings};
use crate::database::Database;
use crate::http::body::DEFAULT_LIMIT;
use crate::http::cache::DEFAULT_MAX_BYTES;
pub use crate::logging::LogFormat;

/// The casting agency's REST API.
#[derive(Debug, Parser)]
#[command(name = "casting-server", version, about)]
pub struct Cli {
    /// What to do instead of serving.
    #[command(subcommand)]
    pub command: Option<Command>,

    /// The redb file, created when missing, or a postgres:// URL of a
    /// database that several servers may share.
    #[arg(
        long,
        env = "CASTING_DB",
        default_value = "casting.redb",
        global = true
    )]
    pub db: Database,

    /// How long to keep trying to reach a PostgreSQL database at startup
    /// (and in `token` and `copy`) before giving up: e.g. 30s, 2m.
    #[arg(long, env = "CASTING_DB_CONNECT_TIMEOUT", default_value = "30s", value_parser = parse_connect_timeout, global = true, allow_hyphen_values = true)]
    pub db_connect_timeout: Duration,

    /// How to serve.
    #[command(flatten)]
    pub serve: ServeArgs,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Copy every movie, actor and audit entry, ids kept, from one store to
    /// another: a redb file, a postgres:// URL, or NDJSON (a *.ndjson file,
    /// or - for standard input or output).
    Copy {
        /// Where to read: a consistent snapshot is copied, and a PostgreSQL
        /// source may be in use by running servers.
        #[arg(long)]
        from: String,
        /// Where to write; it must be empty unless --force is given.
        #[arg(long)]
        to: String,
        /// Empty the destination first.
        #[arg(long)]
        force: bool,
    },
    /// Print a development token signed with the key beside the database.
    Token {
        /// The role whose permissions the token carries: assistant (casting
        /// assistant), director (casting director) or producer (executive
        /// producer).
        #[arg(long, value_parser = role_parser())]
        role: Role,
        /// Seconds until the token expires.
        #[arg(long, default_value_t = DEFAULT_TOKEN_TTL)]
        ttl: u64,
    },
    /// Write a consistent snapshot of the store at --db, which no server may
    /// hold, to a new file.
    Backup {
        /// The snapshot to write; it must not exist.
        #[arg(long)]
        to: PathBuf,
    },
    /// Check a snapshot and install it as the store at --db, which no server
    /// may hold; a damaged or foreign file is refused.
    Restore {
        /// The snapshot to install; it is left as it is.
        #[arg(long)]
        from: PathBuf,
    },
}

/// How long development tokens last unless told otherwise: a working day.
pub const DEFAULT_TOKEN_TTL: u64 = 24 * 60 * 60;

/// The proxy variables the key set client (reqwest) honours.
const PROXY_VARIABLES: [&str; 6] = [
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "http_proxy",
    "https_proxy",
    "all_proxy",
];

/// Every environment variable the server reads, in the order its flags
/// are defined: those of the command line's flags, taken from their
/// definition so the list cannot drift from it; `RUST_LOG`, which the log
/// filter reads; and the proxies its key set client honours.
pub fn variables() -> Vec<String> {
    use clap::CommandFactory;
    fn walk(command: &clap::Command, found: &mut Vec<String>) {
        for arg in command.get_arguments() {
            if let Some(name) = arg.get_env().and_then(|name| name.to_str())
                && !found.iter().any(|known| known == name)
            {
                found.push(name.to_owned());
            }
        }
        for sub in command.get_subcommands() {
            walk(sub, found);
        }
    }
    let mut found = Vec::new();
    walk(&Cli::command(), &mut found);
    found.push("RUST_LOG".to_owned());
    found.extend(PROXY_VARIABLES.map(str::to_owned));
    found
}

/// The roles by name, so that `--help` and a wrong value list them.
fn role_parser() -> impl clap::builder::TypedValueParser<Value = Role> {
    use clap::builder::TypedValueParser as _;
    clap::builder::PossibleValuesParser::new(Role::ALL.map(Role::as_str))
        .try_map(|name| name.parse::<Role>())
}

/// The most leeway accepted on `exp` and `nbf`: beyond a few minutes, an
/// expired token would pass for long after it expired.
pub const MAX_LEEWAY: u64 = 300;

fn parse_leeway(text: &str) -> Result<u64, String> {
    text.trim()
        .parse::<u64>()
        .ok()
        .filter(|&seconds| seconds <= MAX_LEEWAY)
        .ok_or_else(|| {
            format!(
                "JWT_LEEWAY (--leeway) must be a whole number of seconds from 0 to {MAX_LEEWAY}"
            )
        })
}

/// The settings of the server.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on [default: 127.0.0.1:8080, or 0.0.0.0:$PORT when PORT is set].
    #[arg(long, env = "CASTING_BIND")]
    pub bind: Option<String>,

    /// The port of the default address, as set by hosting platforms.
    #[arg(long, env = "PORT", hide = true)]
    pub port: Option<u16>,

    /// Auth0 tenant domain, e.g. your-tenant.us.auth0.com: issuer
    /// https://DOMAIN/, key set https://DOMAIN/.well-known/jwks.json.
    #[arg(long, env = "AUTH0_DOMAIN")]
    pub auth0_domain: Option<String>,

    /// The API identifier the tokens are issued for.
    #[arg(long, env = "API_AUDIENCE")]
    pub audience: Option<String>,

    /// Another OpenID Connect issuer [default: from the domain].
    #[arg(long, env = "JWT_ISSUER")]
    pub issuer: Option<String>,

    /// The issuer's key set; plain http:// only for loopback [default: from the domain].
    #[arg(long, env = "JWKS_URL")]
    pub jwks_url: Option<String>,

    /// Accepted signature algorithms, comma-separated (RSA only).
    #[arg(long, env = "ALGORITHMS", default_value = "RS256")]
    pub algorithms: String,

    /// Seconds of tolerance on exp and nbf, at most 300.
    #[arg(long, env = "JWT_LEEWAY", default_value = "30", value_parser = parse_leeway, allow_hyphen_values = true)]
    pub leeway: u64,

    /// Allowed CORS origins, comma-separated, or * for any.
    #[arg(long, env = "CORS_ORIGINS", default_value = "*")]
    pub cors_origins: String,

    /// Development mode: the server is its own token issuer.
    #[arg(long, env = "CASTING_DEV", value_parser = BoolishValueParser::new(), default_value_t = false, num_args = 0, default_missing_value = "true")]
    pub dev: bool,

    /// Allow development mode on an address other than loopback.
    #[arg(long, env = "CASTING_DEV_ALLOW_REMOTE", value_parser = BoolishValueParser::new(), default_value_t = false, num_args = 0, default_missing_value = "true")]
    pub dev_allow_remote: bool,

    /// Answer 429 to a client (by IP address) after this many failed
    /// authentications in a minute; 0 turns the limit off.
    #[arg(long, env = "CASTING_AUTH_FAILURE_LIMIT", default_value_t = 0)]
    pub auth_failure_limit: u32,

    /// Commit concurrent writes together, one fsync per batch; turning it
    /// off commits each write alone (the benchmark's baseline).
    #[arg(long, env = "CASTING_GROUP_COMMIT", value_parser = BoolishValueParser::new(), default_value_t = true, hide = true, action = clap::ArgAction::Set)]
    pub group_commit: bool,

    /// The largest request body accepted, in bytes.
    #[arg(long, env = "CASTING_BODY_LIMIT", default_value_t = DEFAULT_LIMIT)]
    pub body_limit: usize,

    /// The format of log lines: text, or json (one object per line).
    #[arg(long, env = "CASTING_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    /// Serve Prometheus metrics at /metrics on this address (off unless set).
    #[arg(long, env = "CASTING_METRICS_BIND")]
    pub metrics_bind: Option<String>,

    /// The most memory, in bytes, the cache of read responses may hold; 0
    /// turns it off.
    #[arg(long, env = "CASTING_RESPONSE_CACHE_BYTES", default_value_t = DEFAULT_MAX_BYTES)]
    pub response_cache_bytes: usize,

    /// Write a snapshot of the store into this directory every
    /// --backup-interval, and at once on SIGUSR1.
    #[arg(long, env = "CASTING_BACKUP_DIR")]
    pub backup_dir: Option<PathBuf>,

    /// The time between snapshots, and before the first: e.g. 90s, 15m, 1h.
    #[arg(long, env = "CASTING_BACKUP_INTERVAL", default_value = backup::DEFAULT_INTERVAL, value_parser = parse_backup_interval, allow_hyphen_values = true)]
    pub backup_interval: Duration,

    /// How many snapshots to keep; the oldest beyond them are removed.
    #[arg(long, env = "CASTING_BACKUP_KEEP", default_value_t = backup::DEFAULT_KEEP, value_parser = parse_backup_keep, allow_hyphen_values = true)]
    pub backup_keep: usize,
}

fn parse_connect_timeout(text: &str) -> Result<Duration, String> {
    backup::parse_duration(text)
        .map_err(|e| format!("CASTING_DB_CONNECT_TIMEOUT (--db-connect-timeout): {e}"))
}

fn parse_backup_interval(text: &str) -> Result<Duration, String> {
    backup::parse_duration(text)
        .map_err(|e| format!("CASTING_BACKUP_INTERVAL (--backup-interval): {e}"))
}

fn parse_backup_keep(text: &str) -> Result<usize, String> {
    text.trim()
        .parse::<usize>()
        .ok()
        .filter(|&keep| keep >= 1)
        .ok_or_else(|| {
            "CASTING_BACKUP_KEEP (--backup-keep) must be a whole number of at least 1".into()
        })
}

/// How tokens are verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthSettings {
    /// Development mode: the server's own key, issuer and audience.
    Dev,
    /// A real issuer.
    Issuer {
        /// The exact `iss`.
        issuer: String,
        /// The key set URL.
        jwks_url: String,
        /// The `aud` to require.
        audience: String,
    },
}

/// Which origins CORS allows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CorsOrigins {
    /// Any origin.
    Any,
    /// Only these.
    List(Vec<String>),
}

/// Everything the server needs to start, checked.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The address to listen on.
    pub bind: SocketAddr,
    /// The database.
    pub db: Database,
    /// How long to keep trying to reach a PostgreSQL database.
    pub db_connect_timeout: Duration,
    /// How tokens are verified.
    pub auth: AuthSettings,
    /// Accepted signature algorithms.
    pub algorithms: Vec<Algorithm>,
    /// Seconds of tolerance on `exp` and `nbf`.
    pub leeway: u64,
    /// CORS origins.
    pub cors: CorsOrigins,
    /// The body limit in bytes.
    pub body_limit: usize,
    /// Whether concurrent writes share a commit.
    pub group_commit: bool,
    /// Failed authentications a client may have per minute; 0 for no limit.
    pub auth_failure_limit: u32,
    /// The memory bound of the response cache, in bytes.
    pub response_cache_bytes: usize,
    /// Where to serve metrics, if anywhere.
    pub metrics_bind: Option<SocketAddr>,
    /// Snapshots of the store, when a backup directory is set.
    pub backup: Option<BackupSettings>,
}

/// A setting is missing or wrong; the message says what to set.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(String);

fn error(message: impl Into<String>) -> ConfigError {
    ConfigError(message.into())
}

fn is_loopback_host(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

fn check_jwks_url(url: &str) -> Result<(), ConfigError> {
    let parsed = reqwest::Url::parse(url)
        .map_err(|e| error(format!("JWKS_URL (--jwks-url) {url:?} is not a URL: {e}")))?;
    match (parsed.scheme(), parsed.host_str()) {
        ("https", Some(_)) => Ok(()),
        ("http", Some(host)) if is_loopback_host(host) => Ok(()),
        ("http", Some(_)) => Err(error(format!(
            "JWKS_URL (--jwks-url) {url:?} must use https://; plain http:// is accepted only for loopback addresses"
        ))),
        _ => Err(error(format!(
            "JWKS_URL (--jwks-url) {url:?} must be an https:// URL"
        ))),
    }
}

fn parse_algorithms(list: &str) -> Result<Vec<Algorithm>, ConfigError> {
    let mut algorithms = Vec::new();
    for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        let algorithm = match name.parse::<Algorithm>() {
            Ok(
                a @ (Algorithm::RS256
                | Algorithm::RS384
                | Algorithm::RS512
                | Algorithm::PS256
                | Algorithm::PS384
                | Algorithm::PS512),
            ) => a,
            _ => {
                return Err(error(format!(
                    "ALGORITHMS (--algorithms): {name:?} is not accepted; use RS256, RS384, RS512, PS256, PS384 or PS512 (none and HMAC are never accepted with an RSA key set)"
                )));
            }
        };
        if !algorithms.contains(&algorithm) {
            algorithms.push(algorithm);
        }
    }
    if algorithms.is_empty() {
        return Err(error(
            "ALGORITHMS (--algorithms) must name at least one algorithm, e.g. RS256",
        ));
    }
    Ok(algorithms)
}

/// One allowed origin, as browsers send it in `Origin`: scheme, host and
/// port (when not the default), lowercase, without a trailing slash. A
/// path, query, fragment or user name is refused, since no `Origin` header
/// can ever carry one and the origin would silently match nothing.
fn parse_origin(text: &str) -> Result<String, ConfigError> {
    let refuse = |why: &str| {
        error(format!(
            "CORS_ORIGINS (--cors-origins): {text:?} is not an origin like https://app.example ({why})"
        ))
    };
    let url = reqwest::Url::parse(text).map_err(|e| refuse(&e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(refuse("the scheme must be http or https"));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(refuse("it has no host"));
    }
    if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
        return Err(refuse("an origin has no path, query or fragment"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(refuse("an origin has no user name"));
    }
    Ok(url.origin().ascii_serialization())
}

fn parse_cors(list: &str) -> Result<CorsOrigins, ConfigError> {
    let origins: Vec<&str> = list
        .split(',')
        .map(str::trim)
        .filter(|o| !o.is_empty())
        .collect();
    if origins.contains(&"*") {
        return Ok(CorsOrigins::Any);
    }
    if origins.is_empty() {
        return Err(error(
            "CORS_ORIGINS (--cors-origins) must be * or a comma-separated list of origins",
        ));
    }
    origins
        .into_iter()
        .map(parse_origin)
        .collect::<Result<_, _>>()
        .map(CorsOrigins::List)
}

fn parse_address(text: &str, setting: &str) -> Result<SocketAddr, ConfigError> {
    text.to_socket_addrs()
        .ok()
        .and_then(|mut addrs| addrs.next())
        .ok_or_else(|| {
            error(format!(
                "{setting} {text:?} is not an address like 127.0.0.1:8080"
            ))
        })
}

fn resolve_bind(args: &ServeArgs) -> Result<SocketAddr, ConfigError> {
    let text = match (&args.bind, args.port) {
        (Some(bind), _) => bind.clone(),
        (None, Some(port)) => format!("0.0.0.0:{port}"),
        (None, None) => "127.0.0.1:8080".to_owned(),
    };
    parse_address(&text, "CASTING_BIND (--bind)")
}

/// The Auth0 domain without a scheme or trailing slash, however it was given.
fn bare_domain(domain: &str) -> &str {
    domain
        .trim()
        .trim_start_matches("https://")
        .trim_end_matches('/')
}

fn resolve_issuer(args: &ServeArgs) -> Result<AuthSettings, ConfigError> {
    let domain = args
        .auth0_domain
        .as_deref()
        .map(bare_domain)
        .filter(|d| !d.is_empty());
    if args.issuer.as_deref().is_some_and(|i| i.trim().is_empty()) {
        return Err(error(
            "JWT_ISSUER (--issuer) is empty: set it to the issuer's exact iss, e.g. https://your-tenant.us.auth0.com/, or unset it to take the issuer from AUTH0_DOMAIN",
        ));
    }
    let issuer = args
        .issuer
        .clone()
        .or_else(|| domain.map(|d| format!("https://{d}/")));
    let jwks_url = args
        .jwks_url
        .clone()
        .or_else(|| domain.map(|d| format!("https://{d}/.well-known/jwks.json")));
    let Some(audience) = args.audience.clone().filter(|a| !a.is_empty()) else {
        return Err(error(
            "no audience: set API_AUDIENCE (--audience) to the API identifier the tokens are issued for, and AUTH0_DOMAIN (--auth0-domain); or run with --dev (CASTING_DEV=1) for development mode",
        ));
    };
    let Some(issuer) = issuer else {
        return Err(error(
            "no issuer: set AUTH0_DOMAIN (--auth0-domain), or JWT_ISSUER (--issuer) with JWKS_URL (--jwks-url); or run with --dev for development mode",
        ));
    };
    let Some(jwks_url) = jwks_url else {
        return Err(error(
            "no key set: set JWKS_URL (--jwks-url) to the issuer's JWKS, or AUTH0_DOMAIN (--auth0-domain)",
        ));
    };
    check_jwks_url(&jwks_url)?;
    Ok(AuthSettings::Issuer {
        issuer,
        jwks_url,
        audience,
    })
}

impl Settings {
    /// Checks the arguments and fills in what derives from others.
    ///
    /// # Errors
    /// A message naming the setting to add or fix.
    pub fn resolve(
        args: &ServeArgs,
        db: Database,
        db_connect_timeout: Duration,
    ) -> Result<Self, ConfigError> {
        let bind = resolve_bind(args)?;
        let auth = if args.dev {
            if !bind.ip().is_loopback() && !args.dev_allow_remote {
                return Err(error(format!(
                    "development mode on {bind} would let anyone mint tokens: bind a loopback address (--bind 127.0.0.1:8080), or set CASTING_DEV_ALLOW_REMOTE=1 (--dev-allow-remote) if you mean it"
                )));
            }
            AuthSettings::Dev
        } else {
            resolve_issuer(args)?
        };
        if args.body_limit == 0 {
            return Err(error(
                "CASTING_BODY_LIMIT (--body-limit) must be at least 1 byte",
            ));
        }
        let algorithms = parse_algorithms(&args.algorithms)?;
        if auth == AuthSettings::Dev && !algorithms.contains(&Algorithm::RS256) {
            return Err(error(format!(
                "development mode signs its tokens with RS256, which ALGORITHMS (--algorithms) {:?} leaves out: add RS256, or unset ALGORITHMS",
                args.algorithms
            )));
        }
        if args.backup_dir.is_some() && db.file().is_none() {
            return Err(error(
                "CASTING_BACKUP_DIR (--backup-dir) takes snapshots of a redb file; over PostgreSQL, back up with the database's own tools (pg_dump, base backups), or unset it",
            ));
        }
        Ok(Settings {
            bind,
            db,
            db_connect_timeout,
            auth,
            algorithms,
            leeway: args.leeway,
            cors: parse_cors(&args.cors_origins)?,
            body_limit: args.body_limit,
            group_commit: args.group_commit,
            auth_failure_limit: args.auth_failure_limit,
            response_cache_bytes: args.response_cache_bytes,
            metrics_bind: args
                .metrics_bind
                .as_deref()
                .map(|text| parse_address(text, "CASTING_METRICS_BIND (--metrics-bind)"))
                .transpose()?,
            backup: BackupSettings::resolve(
                args.backup_dir.as_deref(),
                args.backup_interval,
                args.backup_keep,
            )
            .map_err(error)?,
        })
    }

    /// The issuer and audience tokens must name.
    pub fn issuer_and_audience(&self) -> (String, String) {
        match &self.auth {
            AuthSettings::Dev => (DEV_ISSUER.to_owned(), DEV_AUDIENCE.to_owned()),
            AuthSettings::Issuer {
                issuer, audience, ..
            } => (issuer.clone(), audience.clone()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Result<Settings, ConfigError> {
        let mut argv = vec!["casting-server"];
        argv.extend_from_slice(list);
        let cli = Cli::try_parse_from(argv).unwrap();
        Settings::resolve(&cli.serve, cli.db, cli.db_connect_timeout)
    }

    #[test]
    fn the_variables_are_those_of_the_flags_and_the_log_filter() {
        let found = variables();
        for name in [
            "CASTING_DB",
            "CASTING_DB_CONNECT_TIMEOUT",
            "CASTING_BODY_LIMIT",
            "CASTING_DEV_ALLOW_REMOTE",
            "CASTING_AUTH_FAILURE_LIMIT",
            "CASTING_GROUP_COMMIT",
            "JWKS_URL",
            "PORT",
            "RUST_LOG",
            "HTTPS_PROXY",
        ] {
            assert!(
                found.iter().any(|f| f == name),
                "{name} missing from {found:?}"
            );
        }
        let mut unique = found.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), found.len(), "listed twice: {found:?}");
    }

    #[test]
    fn an_auth0_domain_gives_issuer_and_key_set() {
        let s = args(&[
            "--auth0-domain",
            "dev-x.us.auth0.com",
            "--audience",
            "casting",
        ])
        .unwrap();
        assert_eq!(
            s.auth,
            AuthSettings::Issuer {
                issuer: "https://dev-x.us.auth0.com/".into(),
                jwks_url: "https://dev-x.us.auth0.com/.well-known/jwks.json".into(),
                audience: "casting".into(),
            }
        );
        assert_eq!(s.bind, "127.0.0.1:8080".parse().unwrap());
        assert_eq!(s.algorithms, vec![Algorithm::RS256]);
        assert_eq!(s.leeway, 30);
        assert_eq!(s.cors, CorsOrigins::Any);
        assert_eq!(s.db, Database::File(PathBuf::from("casting.redb")));
        assert_eq!(s.db_connect_timeout, Duration::from_secs(30));
    }

    #[test]
    fn without_audience_or_issuer_startup_is_refused_naming_what_to_set() {
        let e = args(&[]).unwrap_err();
        assert!(e.0.contains("API_AUDIENCE"), "{e}");
        let e = args(&["--audience", "a"]).unwrap_err();
        assert!(e.0.contains("AUTH0_DOMAIN"), "{e}");
        let e = args(&["--audience", "a", "--issuer", "https://i/"]).unwrap_err();
        assert!(e.0.contains("JWKS_URL"), "{e}");
    }

    #[test]
    fn plain_http_key_sets_are_for_loopback_only() {
        let base = ["--audience", "a", "--issuer", "i"];
        for ok in [
            "http://127.0.0.1:9/jwks",
            "http://localhost/jwks",
            "http://[::1]:3/k",
            "https://x.example/k",
        ] {
            assert!(
                args(&[&base[..], &["--jwks-url", ok]].concat()).is_ok(),
                "{ok}"
            );
        }
        for bad in [
            "http://10.0.0.1/jwks",
            "http://issuer.example/jwks",
            "ftp://x/y",
            "not a url",
        ] {
            assert!(
                args(&[&base[..], &["--jwks-url", bad]].concat()).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn only_rsa_algorithms_are_accepted() {
        let base = ["--dev", "--algorithms"];
        assert_eq!(
            args(&[&base[..], &["RS256, PS256"]].concat())
                .unwrap()
                .algorithms,
            vec![Algorithm::RS256, Algorithm::PS256]
        );
        for bad in ["HS256", "none", "ES256", "", "RS256,XX"] {
            assert!(args(&[&base[..], &[bad]].concat()).is_err(), "{bad}");
        }
    }

    #[test]
    fn development_mode_is_refused_off_loopback_unless_meant() {
        assert!(args(&["--dev", "--bind", "0.0.0.0:8080"]).is_err());
        assert!(args(&["--dev", "--bind", "0.0.0.0:8080", "--dev-allow-remote"]).is_ok());
        assert_eq!(args(&["--dev"]).unwrap().auth, AuthSettings::Dev);
    }

    #[test]
    fn cors_origins_are_a_list_or_any() {
        let s = args(&[
            "--dev",
            "--cors-origins",
            "https://a.example, https://b.example",
        ])
        .unwrap();
        assert_eq!(
            s.cors,
            CorsOrigins::List(vec!["https://a.example".into(), "https://b.example".into()])
        );
        assert!(args(&["--dev", "--cors-origins", "not an origin"]).is_err());
    }

    #[test]
    fn an_empty_issuer_is_refused_naming_the_variable() {
        let e = args(&[
            "--issuer",
            "",
            "--audience",
            "a",
            "--jwks-url",
            "https://x.example/k",
        ])
        .unwrap_err();
        assert!(e.0.contains("JWT_ISSUER"), "{e}");
        let e = args(&[
            "--auth0-domain",
            "x.example",
            "--issuer",
            " ",
            "--audience",
            "a",
        ])
        .unwrap_err();
        assert!(e.0.contains("JWT_ISSUER"), "{e}");
    }

    #[test]
    fn the_leeway_is_at_most_five_minutes_and_errors_name_the_variable() {
        assert_eq!(args(&["--dev", "--leeway", "300"]).unwrap().leeway, 300);
        assert_eq!(args(&["--dev", "--leeway", "0"]).unwrap().leeway, 0);
        for bad in ["301", "99999999999", "-5", "1.5", "x"] {
            let e = Cli::try_parse_from(["casting-server", "--dev", "--leeway", bad]).unwrap_err();
            assert!(e.to_string().contains("JWT_LEEWAY"), "{bad}: {e}");
        }
    }

    #[test]
    fn cors_origins_are_normalised_or_refused() {
        let s = args(&[
            "--dev",
            "--cors-origins",
            "https://App.example/, http://localhost:3000, https://b.example:443",
        ])
        .unwrap();
        assert_eq!(
            s.cors,
            CorsOrigins::List(vec![
                "https://app.example".into(),
                "http://localhost:3000".into(),
                "https://b.example".into()
            ])
        );
        for bad in [
            "https://app.example/path",
            "foo:bar",
            "app.example",
            "https://app.example/?q",
            "https://user@app.example",
            "ftp://app.example",
        ] {
            let e = args(&["--dev", "--cors-origins", bad]).unwrap_err();
            assert!(e.0.contains("CORS_ORIGINS"), "{bad}: {e}");
        }
    }

    #[test]
    fn development_mode_needs_rs256_among_the_algorithms() {
        let e = args(&["--dev", "--algorithms", "PS256"]).unwrap_err();
        assert!(e.0.contains("RS256") && e.0.contains("ALGORITHMS"), "{e}");
        assert!(args(&["--dev", "--algorithms", "PS256,RS256"]).is_ok());
    }

    #[test]
    fn the_token_help_lists_the_roles() {
        use clap::CommandFactory;
        let mut command = Cli::command();
        let help = command
            .find_subcommand_mut("token")
            .unwrap()
            .render_long_help()
            .to_string();
        for role in ["assistant", "director", "producer"] {
            assert!(help.contains(role), "{help}");
        }
    }

    #[test]
    fn group_commit_is_on_unless_turned_off() {
        assert!(args(&["--dev"]).unwrap().group_commit);
        assert!(
            !args(&["--dev", "--group-commit", "false"])
                .unwrap()
                .group_commit
        );
    }

    #[test]
    fn the_token_subcommand_takes_a_role() {
        let cli = Cli::try_parse_from([
            "casting-server",
            "token",
            "--role",
            "director",
            "--db",
            "x.redb",
        ])
        .unwrap();
        assert!(matches!(
            cli.command,
            Some(Command::Token {
                role: Role::Director,
                ttl: DEFAULT_TOKEN_TTL
            })
        ));
        assert_eq!(cli.db, Database::File(PathBuf::from("x.redb")));
        assert!(Cli::try_parse_from(["casting-server", "token", "--role", "admin"]).is_err());
    }

    #[test]
    fn backups_are_off_unless_a_directory_is_given() {
        assert_eq!(args(&["--dev"]).unwrap().backup, None);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("backups");
        let on = args(&["--dev", "--backup-dir", path.to_str().unwrap()]).unwrap();
        assert_eq!(
            on.backup,
            Some(BackupSettings {
                dir: path,
                interval: Duration::from_secs(3600),
                keep: 24
            })
        );
    }

    #[test]
    fn a_postgres_url_is_taken_with_its_connect_timeout_and_refuses_backups() {
        let cli = Cli::try_parse_from([
            "casting-server",
            "--dev",
            "--db",
            "postgres://u:pw@localhost/casting",
            "--db-connect-timeout",
            "5s",
        ])
        .unwrap();
        let s = Settings::resolve(&cli.serve, cli.db, cli.db_connect_timeout).unwrap();
        assert!(matches!(s.db, Database::Postgres(_)));
        assert_eq!(s.db_connect_timeout, Duration::from_secs(5));
        let refused = args(&[
            "--dev",
            "--db",
            "postgres://localhost/casting",
            "--backup-dir",
            "/tmp",
        ])
        .unwrap_err();
        assert!(
            refused.to_string().contains("CASTING_BACKUP_DIR"),
            "{refused}"
        );
        let wrong = Cli::try_parse_from(["casting-server", "--db-connect-timeout", "soon"])
            .unwrap_err()
            .to_string();
        assert!(wrong.contains("CASTING_DB_CONNECT_TIMEOUT"), "{wrong}");
    }

    #[test]
    fn backup_interval_and_keep_are_checked_and_errors_name_the_variable() {
        let s = args(&[
            "--dev",
            "--backup-dir",
            "b",
            "--backup-interval",
            "90s",
            "--backup-keep",
            "3",
        ])
        .unwrap();
        let backup = s.backup.unwrap();
        assert_eq!((backup.interval, backup.keep), (Duration::from_secs(90), 3));
        for bad in ["0s", "90", "1y", ""] {
            let e = Cli::try_parse_from(["casting-server", "--backup-interval", bad]).unwrap_err();
            assert!(
                e.to_string().contains("CASTING_BACKUP_INTERVAL"),
                "{bad}: {e}"
            );
        }
        for bad in ["0", "-1", "x"] {
            let e = Cli::try_parse_from(["casting-server", "--backup-keep", bad]).unwrap_err();
            assert!(e.to_string().contains("CASTING_BACKUP_KEEP"), "{bad}: {e}");
        }
    }

    #[test]
    fn the_backup_and_restore_subcommands_take_their_files() {
        let cli = Cli::try_parse_from([
            "casting-server",
            "backup",
            "--db",
            "a.redb",
            "--to",
            "b.redb",
        ])
        .unwrap();
        assert!(
            matches!(cli.command, Some(Command::Backup { ref to }) if to == &PathBuf::from("b.redb"))
        );
        assert_eq!(cli.db, Database::File(PathBuf::from("a.redb")));
        let cli = Cli::try_parse_from([
            "casting-server",
            "restore",
            "--from",
            "s.redb",
            "--db",
            "a.redb",
        ])
        .unwrap();
        assert!(
            matches!(cli.command, Some(Command::Restore { ref from }) if from == &PathBuf::from("s.redb"))
        );
        assert!(Cli::try_parse_from(["casting-server", "restore", "--db", "a.redb"]).is_err());
    }
}
