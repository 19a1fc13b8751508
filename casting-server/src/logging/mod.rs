//! Logs that never hold up, fail or crash a request.
//!
//! Lines are formatted on the request's thread and appended to a bounded
//! buffer that a thread of its own writes to standard error in batches
//! (`buffer`). A sink that stops reading (a dead log collector's pipe) or
//! refuses writes (a file at its size limit, a closed pipe) costs lines,
//! never requests: they are dropped and counted in [`dropped_lines`].

mod access;
mod buffer;

use std::future::Future;
use std::io;
use std::sync::atomic::{AtomicU64, Ordering};

use http::HeaderValue;

use tracing_subscriber::EnvFilter;
use tracing_subscriber::layer::SubscriberExt as _;

/// Lines lost: dropped from a full buffer, or refused by the sink.
static DROPPED_LINES: AtomicU64 = AtomicU64::new(0);

/// The logging set up by [`init`]; dropping it writes what is buffered,
/// waiting at most a second for a sink that does not take it.
#[derive(Debug)]
pub struct Logging {
    _flusher: buffer::Flusher,
}

/// Lines lost so far: dropped from a full buffer, or refused by the sink.
pub fn dropped_lines() -> u64 {
    DROPPED_LINES.load(Ordering::Relaxed)
}

/// `RUST_LOG` could not be used.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    /// The filter does not parse.
    #[error("RUST_LOG {value:?} is not a valid filter: {reason}")]
    Filter {
        /// What was set.
        value: String,
        /// Why it does not parse.
        reason: String,
    },
    /// The variable is not Unicode.
    #[error("RUST_LOG is not valid Unicode")]
    NotUnicode,
}

/// The filter `RUST_LOG` names, `info` when it is unset or empty.
///
/// # Errors
/// When `RUST_LOG` is set to something that is not a filter: a typo there
/// would otherwise silence the logs an operator asked for.
pub fn filter() -> Result<EnvFilter, LogError> {
    match std::env::var("RUST_LOG") {
        Ok(value) if !value.trim().is_empty() => {
            EnvFilter::try_new(&value).map_err(|e| LogError::Filter {
                reason: e.to_string(),
                value,
            })
        }
        Ok(_) | Err(std::env::VarError::NotPresent) => Ok(EnvFilter::new("info")),
        Err(std::env::VarError::NotUnicode(_)) => Err(LogError::NotUnicode),
    }
}

/// The format of log lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line, for log collectors.
    Json,
}

/// Sends logs matching `filter` to standard error through the buffer, as
/// text or as one JSON object per line.
///
/// # Errors
/// When the writer thread cannot be started.
pub fn init(filter: EnvFilter, format: LogFormat) -> io::Result<Logging> {
    let ansi = io::IsTerminal::is_terminal(&io::stderr());
    let (subscriber, logging) = to_writer(filter, format, io::stderr(), ansi)?;
    // Only fails when a subscriber is already set, which main never does.
    let _ = tracing::subscriber::set_global_default(subscriber);
    Ok(logging)
}

/// The subscriber [`init`] installs, writing to `out` instead of standard
/// error: for benchmarks and tests of the logging path itself. The
/// returned [`Logging`] must be kept while the subscriber is in use.
///
/// # Errors
/// When the writer thread cannot be started.
pub fn to_writer<W: io::Write + Send + 'static>(
    filter: EnvFilter,
    format: LogFormat,
    out: W,
    ansi: bool,
) -> io::Result<(Box<dyn tracing::Subscriber + Send + Sync>, Logging)> {
    // The access line is written by [`access`] itself, except in colour,
    // which only the fmt layer writes.
    subscriber(
        filter,
        format,
        out,
        ansi,
        !ansi || format == LogFormat::Json,
    )
}

/// The subscriber of [`to_writer`], with the access line written by
/// [`access`] itself when `fast`, by the fmt layer otherwise.
fn subscriber<W: io::Write + Send + 'static>(
    filter: EnvFilter,
    format: LogFormat,
    out: W,
    ansi: bool,
    fast: bool,
) -> io::Result<(Box<dyn tracing::Subscriber + Send + Sync>, Logging)> {
    let (writer, flusher) = buffer::start(out, &DROPPED_LINES)?;
    let sink = fast.then(|| access::AccessSink {
        writer: writer.clone(),
        format,
    });
    // The fmt layer reports a failed write with eprintln!, which itself
    // panics when standard error is gone; the buffer never fails anyway.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .log_internal_errors(false);
    let subscriber: Box<dyn tracing::Subscriber + Send + Sync> = match format {
        LogFormat::Text => Box::new(builder.with_ansi(ansi).finish().with(sink)),
        LogFormat::Json => Box::new(
            builder
                .json()
                .flatten_event(true)
                .with_current_span(true)
                .with_span_list(false)
                .finish()
                .with(sink),
        ),
    };
    Ok((subscriber, Logging { _flusher: flusher }))
}

tokio::task_local! {
    /// The id of the request the current task serves.
    static REQUEST_ID: HeaderValue;
}

/// Runs `request` as the request `id`: every line it logs through
/// [`request_id`] carries that id. A task-local rather than a span: a span
/// per request cost about 0.6 µs, more than the access line now costs.
pub async fn with_request_id<F: Future>(id: HeaderValue, request: F) -> F::Output {
    REQUEST_ID.scope(id, request).await
}

/// The id of the request being served, for a log line's `request_id`
/// field; empty outside a request.
pub fn request_id() -> RequestId {
    RequestId
}

/// Writes the current request's id, see [`request_id`].
#[derive(Debug, Clone, Copy)]
pub struct RequestId;

impl std::fmt::Display for RequestId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        REQUEST_ID
            .try_with(|id| f.write_str(id.to_str().unwrap_or("-")))
            .unwrap_or(Ok(()))
    }
}

/// What the access line of one request says.
#[derive(Debug, Clone, Copy)]
pub struct Access<'a> {
    /// The request's id, as `X-Request-Id` carries it.
    pub request_id: &'a str,
    /// The method, from a fixed set.
    pub method: &'static str,
    /// The route template, never the raw path.
    pub route: &'static str,
    /// The status answered.
    pub status: u16,
    /// From arrival to answer.
    pub took: std::time::Duration,
    /// The client's address.
    pub client: std::net::IpAddr,
    /// The token's subject, empty without a verified token.
    pub sub: &'a str,
}

/// Writes the access line of one request, at level `info` under the
/// target `casting::access`, as `RUST_LOG` allows.
pub fn access(line: &Access<'_>) {
    // The filter decides as for any event; a static filter's answer is
    // cached in the callsite, so this is one atomic load.
    if !tracing::enabled!(target: access::TARGET, tracing::Level::INFO) {
        return;
    }
    // The current subscriber's sink, when it has one, formats the line
    // itself; outside the dispatcher's closure, so that the fallback event
    // below is not emitted from inside it (where it would be dropped).
    let written = tracing::dispatcher::get_default(|dispatch| {
        dispatch
            .downcast_ref::<access::AccessSink>()
            .is_some_and(|sink| sink.write(line))
    });
    if !written {
        tracing::info!(
            target: access::TARGET,
            request_id = line.request_id,
            method = line.method,
            route = line.route,
            status = line.status,
            duration_ms = line.took.as_secs_f64() * 1000.0,
            client = %line.client,
            sub = line.sub,
        );
    }
}

#[cfg(test)]
mod tests {
    use std::net::{IpAddr, Ipv6Addr};
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use super::*;

    /// A sink that keeps what it is given.
    #[derive(Clone, Default)]
    struct Kept(Arc<Mutex<Vec<u8>>>);

    impl io::Write for Kept {
        fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    /// What `lines` log, through the access line's own formatting when
    /// `fast`, through the fmt layer otherwise.
    fn logged(filter: &str, format: LogFormat, fast: bool, lines: &[Access<'_>]) -> String {
        let kept = Kept::default();
        let (subscriber, logging) =
            subscriber(EnvFilter::new(filter), format, kept.clone(), false, fast).unwrap();
        tracing::subscriber::with_default(subscriber, || lines.iter().for_each(access));
        drop(logging);
        String::from_utf8(kept.0.lock().unwrap().clone()).unwrap()
    }

    /// The line without its timestamp, the one part that differs between
    /// two writes.
    fn timeless(format: LogFormat, line: &str) -> String {
        const TIME: usize = "2026-12-02T11:14:13.123456Z".len();
        match format {
            LogFormat::Text => line[TIME..].to_owned(),
            LogFormat::Json => {
                let start = r#"{"timestamp":""#.len();
                format!("{}{}", &line[..start], &line[start + TIME..])
            }
        }
    }

    #[test]
    fn the_access_line_is_written_as_the_fmt_layer_writes_it() {
        let lines = [
            Access {
                request_id: "4f2a9c1e-000000000123",
                method: "GET",
                route: "/movies/{id}",
                status: 200,
                took: Duration::from_micros(48),
                client: IpAddr::V4(std::net::Ipv4Addr::LOCALHOST),
                sub: "auth0|5f7c8ec7c33c6c004bbafe82",
            },
            Access {
                request_id: "odd \"id\" \\ é\u{7}",
                method: "DELETE",
                route: "/actors/{id}",
                status: 503,
                took: Duration::new(12, 345_678_901),
                client: IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1)),
                sub: "",
            },
            Access {
                request_id: "x",
                method: "POST",
                route: "/movies",
                status: 201,
                took: Duration::from_nanos(3),
                client: IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 7)),
                sub: "line\nbreak",
            },
        ];
        for format in [LogFormat::Text, LogFormat::Json] {
            let ours = logged("info", format, true, &lines);
            let theirs = logged("info", format, false, &lines);
            assert_eq!(ours.lines().count(), lines.len(), "{ours}");
            for (ours, theirs) in ours.lines().zip(theirs.lines()) {
                assert_eq!(timeless(format, ours), timeless(format, theirs));
                assert_eq!(ours.len(), theirs.len());
            }
        }
    }

    #[test]
    fn the_access_line_follows_the_filter() {
        let line = Access {
            request_id: "id",
            method: "GET",
            route: "/health",
            status: 200,
            took: Duration::from_micros(5),
            client: IpAddr::V4(std::net::Ipv4Addr::LOCALHOST),
            sub: "",
        };
        for format in [LogFormat::Text, LogFormat::Json] {
            for filter in ["off", "warn", "info,casting::access=off"] {
                assert_eq!(logged(filter, format, true, &[line]), "", "{filter}");
            }
            assert_eq!(
                logged("casting::access=info", format, true, &[line])
                    .lines()
                    .count(),
                1
            );
        }
    }
}
