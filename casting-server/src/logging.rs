//! Logs that never hold up, fail or crash a request.
//!
//! Lines are formatted on the request's thread and handed to a bounded
//! queue; one thread drains it into standard error in batches. A sink that
//! stops reading (a dead log collector's pipe) or refuses writes (a file at
//! its size limit, a closed pipe) costs lines, never requests: a full queue
//! drops the newest line, a failed write drops its batch, and both are
//! counted in [`dropped_lines`].

use std::io::{self, Write};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use tracing_appender::non_blocking::{ErrorCounter, NonBlockingBuilder, WorkerGuard};
use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

/// How many lines may wait for the writer thread before new ones are
/// dropped: a few seconds of a busy server's access log, a few MiB.
const QUEUE_LINES: usize = 16 * 1024;
/// The most bytes gathered before they are written, so one write(2)
/// carries many lines.
const BATCH_BYTES: usize = 64 * 1024;

/// Lines the sink refused (counted here) and lines dropped from a full
/// queue (counted by the queue, added in [`dropped_lines`]).
static REFUSED_LINES: AtomicU64 = AtomicU64::new(0);

/// Lines dropped from a full queue, once [`init`] made the queue.
static QUEUE_DROPS: OnceLock<ErrorCounter> = OnceLock::new();

/// The logging set up by [`init`]; dropping it writes what is queued,
/// waiting at most a second for a sink that does not read.
#[derive(Debug)]
pub struct Logging {
    _guard: WorkerGuard,
}

/// Lines lost so far: refused by the sink, or dropped from a full queue.
pub fn dropped_lines() -> u64 {
    let queued = QUEUE_DROPS
        .get()
        .map_or(0, |counter| counter.dropped_lines() as u64);
    REFUSED_LINES.load(Ordering::Relaxed) + queued
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

/// Sends logs matching `filter` to standard error through the queue, as
/// text or as one JSON object per line.
pub fn init(filter: EnvFilter, format: LogFormat) -> Logging {
    let ansi = io::IsTerminal::is_terminal(&io::stderr());
    let (subscriber, logging) = to_writer(filter, format, io::stderr(), ansi);
    // Only fails when a subscriber is already set, which main never does.
    let _ = tracing::subscriber::set_global_default(subscriber);
    logging
}

/// The subscriber [`init`] installs, writing to `out` instead of standard
/// error: for benchmarks and tests of the logging path itself. The
/// returned [`Logging`] must be kept while the subscriber is in use.
pub fn to_writer<W: io::Write + Send + 'static>(
    filter: EnvFilter,
    format: LogFormat,
    out: W,
    ansi: bool,
) -> (Box<dyn tracing::Subscriber + Send + Sync>, Logging) {
    let (writer, guard) = NonBlockingBuilder::default()
        .lossy(true)
        .buffered_lines_limit(QUEUE_LINES)
        .thread_name("casting-log")
        .finish(Sink::new(out));
    let _ = QUEUE_DROPS.set(writer.error_counter());
    // The fmt layer reports a failed write with eprintln!, which itself
    // panics when standard error is gone; the sink never fails anyway.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .log_internal_errors(false);
    let subscriber: Box<dyn tracing::Subscriber + Send + Sync> = match format {
        LogFormat::Text => Box::new(builder.with_ansi(ansi).finish()),
        LogFormat::Json => Box::new(
            builder
                .json()
                .flatten_event(true)
                .with_current_span(true)
                .with_span_list(false)
                .finish(),
        ),
    };
    (subscriber, Logging { _guard: guard })
}

/// The span of one request: every line logged while it is entered carries
/// the request's id.
pub fn request_span(id: &str) -> tracing::Span {
    tracing::info_span!("request", id)
}

/// What the access line of one request says.
#[derive(Debug, Clone, Copy)]
pub struct Access<'a> {
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

/// Writes the access line of one request; call it inside the request's
/// span, so the line carries the request id.
pub fn access(line: &Access<'_>) {
    tracing::info!(
        target: "casting::access",
        method = line.method,
        route = line.route,
        status = line.status,
        duration_ms = line.took.as_secs_f64() * 1000.0,
        client = %line.client,
        sub = line.sub,
    );
}

/// A writer that gathers lines and writes them in batches, and never
/// reports a failure: a line that cannot be written is counted and gone.
#[derive(Debug)]
struct Sink<W: Write> {
    inner: W,
    batch: Vec<u8>,
    lines: u64,
    dropped: &'static AtomicU64,
}

impl<W: Write> Sink<W> {
    fn new(inner: W) -> Self {
        Self::counting(inner, &REFUSED_LINES)
    }

    fn counting(inner: W, dropped: &'static AtomicU64) -> Self {
        Sink {
            inner,
            batch: Vec::with_capacity(BATCH_BYTES),
            lines: 0,
            dropped,
        }
    }

    fn write_batch(&mut self) {
        if self.batch.is_empty() {
            return;
        }
        if self.inner.write_all(&self.batch).is_err() || self.inner.flush().is_err() {
            self.dropped.fetch_add(self.lines, Ordering::Relaxed);
        }
        self.batch.clear();
        self.lines = 0;
    }
}

impl<W: Write> Write for Sink<W> {
    /// Takes one line (the queue hands over a line per call).
    fn write(&mut self, line: &[u8]) -> io::Result<usize> {
        self.batch.extend_from_slice(line);
        self.lines += 1;
        if self.batch.len() >= BATCH_BYTES {
            self.write_batch();
        }
        Ok(line.len())
    }

    /// Writes what was gathered; the queue calls it once it is empty.
    fn flush(&mut self) -> io::Result<()> {
        self.write_batch();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Broken;

    impl Write for Broken {
        fn write(&mut self, _: &[u8]) -> io::Result<usize> {
            Err(io::Error::from(io::ErrorKind::BrokenPipe))
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn lines_are_written_in_one_batch_on_flush() {
        static DROPPED: AtomicU64 = AtomicU64::new(0);
        let mut sink = Sink::counting(Vec::new(), &DROPPED);
        sink.write_all(b"one\n").unwrap();
        sink.write_all(b"two\n").unwrap();
        assert!(sink.inner.is_empty());
        sink.flush().unwrap();
        assert_eq!(sink.inner, b"one\ntwo\n");
        assert_eq!(DROPPED.load(Ordering::Relaxed), 0);
    }

    #[test]
    fn a_sink_that_fails_drops_and_counts_lines_but_never_errs() {
        static DROPPED: AtomicU64 = AtomicU64::new(0);
        let mut sink = Sink::counting(Broken, &DROPPED);
        for _ in 0..3 {
            sink.write_all(b"line\n").unwrap();
        }
        sink.flush().unwrap();
        assert_eq!(DROPPED.load(Ordering::Relaxed), 3);
        sink.write_all(b"again\n").unwrap();
        sink.flush().unwrap();
        assert_eq!(DROPPED.load(Ordering::Relaxed), 4);
    }

    #[test]
    fn a_large_batch_is_written_before_the_flush() {
        static DROPPED: AtomicU64 = AtomicU64::new(0);
        let mut sink = Sink::counting(Vec::new(), &DROPPED);
        let line = vec![b'x'; 1024];
        for _ in 0..(BATCH_BYTES / 1024) {
            sink.write_all(&line).unwrap();
        }
        assert_eq!(sink.inner.len(), BATCH_BYTES);
    }
}
