//! `casting-server copy --from SRC --to DST [--force]`: every movie, actor
//! and audit entry, ids kept, from a consistent snapshot of one store into
//! another. How a user moves from the embedded file to PostgreSQL, and how
//! a store is dumped to or loaded from NDJSON.
//!
//! The source's export runs on a thread of its own and hands items over a
//! bounded channel to the destination's import, so a million actors are
//! never all in memory and both sides work at once.

use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::time::{Duration, Instant};

use casting_core::{Backend, Counts, Item, StoreError};

use crate::database::{Database, OpenError};

/// One end of a copy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    /// A store: a redb file or a PostgreSQL database.
    Store(Database),
    /// NDJSON in a file (`*.ndjson`).
    Ndjson(PathBuf),
    /// NDJSON on standard input (as a source) or output (as a destination).
    Stdio,
}

impl Endpoint {
    /// Reads `text` as the command line gives it.
    pub fn parse(text: &str) -> Result<Self, CopyError> {
        if text == "-" {
            return Ok(Endpoint::Stdio);
        }
        if text.ends_with(".ndjson") {
            return Ok(Endpoint::Ndjson(PathBuf::from(text)));
        }
        text.parse().map(Endpoint::Store).map_err(CopyError::Usage)
    }
}

impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Endpoint::Store(db) => db.fmt(f),
            Endpoint::Ndjson(path) => path.display().fmt(f),
            Endpoint::Stdio => f.write_str("-"),
        }
    }
}

/// Why a copy did not happen. Nothing was written to the destination then
/// (an import is one transaction), except an NDJSON file cut short.
#[derive(Debug, thiserror::Error)]
pub enum CopyError {
    /// The command line is wrong.
    #[error("{0}")]
    Usage(String),
    /// A store could not be opened.
    #[error(transparent)]
    Open(#[from] OpenError),
    /// The source does not exist.
    #[error("{0} does not exist")]
    Missing(String),
    /// The destination holds data and `--force` was not given.
    #[error(
        "{to} is not empty ({movies} movies, {actors} actors, {entries} audit entries): copy into an empty store, or give --force to empty it first"
    )]
    NotEmpty {
        /// The destination.
        to: String,
        /// What it holds.
        movies: u64,
        /// What it holds.
        actors: u64,
        /// What it holds.
        entries: u64,
    },
    /// Reading the source or writing the destination failed.
    #[error("{side} {place}: {source}")]
    Store {
        /// "reading" or "writing".
        side: &'static str,
        /// The store.
        place: String,
        /// Why.
        source: StoreError,
    },
    /// An NDJSON file could not be read or written.
    #[error("{place}: {source}")]
    Io {
        /// The file.
        place: String,
        /// Why.
        source: std::io::Error,
    },
}

/// What a copy moved.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Copied {
    /// Movies.
    pub movies: u64,
    /// Actors.
    pub actors: u64,
    /// Audit entries.
    pub entries: u64,
}

impl Copied {
    fn count(&mut self, item: &Item) {
        match item {
            Item::Movie(_) => self.movies += 1,
            Item::Actor(_) => self.actors += 1,
            Item::Audit(_) => self.entries += 1,
        }
    }
}

impl std::fmt::Display for Copied {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} movies, {} actors, {} audit entries",
            self.movies, self.actors, self.entries
        )
    }
}

/// The items in flight between the two sides.
const CHANNEL: usize = 4096;

/// Runs the `copy` subcommand, showing progress on standard error when it
/// is a terminal, and a summary line at the end.
///
/// # Errors
/// When either side cannot be opened, read or written.
pub fn copy_command(
    from: &str,
    to: &str,
    force: bool,
    connect_timeout: Duration,
) -> Result<(), CopyError> {
    let (from, to) = (Endpoint::parse(from)?, Endpoint::parse(to)?);
    let progress = std::io::stderr().is_terminal();
    let copied = copy(&from, &to, force, connect_timeout, progress)?;
    let mut err = std::io::stderr().lock();
    if progress {
        let _ = write!(err, "\r\x1b[2K");
    }
    let _ = writeln!(err, "copied {copied} from {from} to {to}");
    Ok(())
}

/// Copies everything from `from` to `to`.
///
/// # Errors
/// As [`copy_command`].
pub fn copy(
    from: &Endpoint,
    to: &Endpoint,
    force: bool,
    connect_timeout: Duration,
    progress: bool,
) -> Result<Copied, CopyError> {
    if from == to && *from != Endpoint::Stdio {
        return Err(CopyError::Usage(format!("--from and --to are both {from}")));
    }
    let reading = |source| CopyError::Store {
        side: "reading",
        place: from.to_string(),
        source,
    };
    // The destination first: refusing a non-empty one must not wait for a
    // whole export.
    let sink = open_destination(to, force, connect_timeout)?;
    let (items, received) = sync_channel::<Result<Item, StoreError>>(CHANNEL);
    let source = open_source(from, connect_timeout)?;
    let exporter = std::thread::Builder::new()
        .name("casting-copy-export".into())
        .spawn(move || source.run(&items))
        .map_err(|source| CopyError::Io {
            place: "the export thread".into(),
            source,
        })?;
    let written = sink.run(received, to, progress);
    // The exporter stops when the receiver goes, so this does not hang.
    let exported = exporter
        .join()
        .unwrap_or_else(|_| Err(StoreError::Corrupt("the export thread panicked".into())));
    match (exported, written) {
        // A failed read is the cause of whatever the writer made of it.
        (Err(e), _) => Err(reading(e)),
        (Ok(()), written) => written,
    }
}

/// Where items come from.
enum Source {
    Store(Arc<dyn Backend>),
    Lines(Box<dyn BufRead + Send>, String),
}

fn open_source(from: &Endpoint, connect_timeout: Duration) -> Result<Source, CopyError> {
    Ok(match from {
        Endpoint::Store(db) => {
            if let Some(path) = db.file().filter(|path| !path.exists()) {
                return Err(CopyError::Missing(path.display().to_string()));
            }
            Source::Store(db.open(connect_timeout)?.backend())
        }
        Endpoint::Ndjson(path) => {
            let file = File::open(path).map_err(|source| match source.kind() {
                std::io::ErrorKind::NotFound => CopyError::Missing(path.display().to_string()),
                _ => CopyError::Io {
                    place: path.display().to_string(),
                    source,
                },
            })?;
            Source::Lines(Box::new(BufReader::new(file)), path.display().to_string())
        }
        Endpoint::Stdio => Source::Lines(
            Box::new(BufReader::new(std::io::stdin())),
            "standard input".into(),
        ),
    })
}

impl Source {
    /// Sends every item, then ends; a send that fails means the receiving
    /// side stopped, and so does this.
    fn run(self, items: &SyncSender<Result<Item, StoreError>>) -> Result<(), StoreError> {
        let gone = || StoreError::Import("the destination stopped taking items".into());
        match self {
            Source::Store(backend) => {
                let exported = backend.export(&mut |item| items.send(Ok(item)).map_err(|_| gone()));
                if let Err(error) = &exported {
                    // The destination must see the failure, not an end of
                    // items, or it would commit a partial copy.
                    let _ = items.send(Err(StoreError::Import(format!(
                        "the source failed: {error}"
                    ))));
                }
                exported
            }
            Source::Lines(lines, place) => {
                for (n, line) in lines.lines().enumerate() {
                    let parsed = match line {
                        Err(e) => Err(StoreError::Import(format!("{place}: {e}"))),
                        Ok(line) if line.trim().is_empty() => continue,
                        Ok(line) => serde_json::from_str::<Item>(&line).map_err(|e| {
                            StoreError::Import(format!("{place} line {}: {e}", n + 1))
                        }),
                    };
                    let failed = parsed.is_err();
                    if items.send(parsed).is_err() || failed {
                        break;
                    }
                }
                Ok(())
            }
        }
    }
}

/// Where items go.
enum Sink {
    Store(Arc<dyn Backend>, bool),
    Lines(Box<dyn Write + Send>, String),
}

fn open_destination(
    to: &Endpoint,
    force: bool,
    connect_timeout: Duration,
) -> Result<Sink, CopyError> {
    Ok(match to {
        Endpoint::Store(db) => Sink::Store(db.open(connect_timeout)?.backend(), force),
        Endpoint::Ndjson(path) => Sink::Lines(
            Box::new(BufWriter::new(create_file(path, force)?)),
            path.display().to_string(),
        ),
        Endpoint::Stdio => Sink::Lines(
            Box::new(BufWriter::new(std::io::stdout())),
            "standard output".into(),
        ),
    })
}

/// A new NDJSON file; one that holds data is replaced only with `force`.
fn create_file(path: &Path, force: bool) -> Result<File, CopyError> {
    let place = path.display().to_string();
    let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    if size > 0 && !force {
        return Err(CopyError::Usage(format!(
            "{place} exists and is not empty: choose another file, or give --force to replace it"
        )));
    }
    File::create(path).map_err(|source| CopyError::Io { place, source })
}

/// Shows how far a copy is, at most a few times a second.
struct Progress {
    on: bool,
    copied: Copied,
    last: Instant,
}

impl Progress {
    fn item(&mut self, item: &Item) {
        self.copied.count(item);
        if self.on && self.last.elapsed() >= Duration::from_millis(200) {
            self.last = Instant::now();
            let _ = write!(
                std::io::stderr().lock(),
                "\r\x1b[2Kcopying: {}",
                self.copied
            );
        }
    }
}

impl Sink {
    fn run(
        self,
        received: Receiver<Result<Item, StoreError>>,
        to: &Endpoint,
        progress: bool,
    ) -> Result<Copied, CopyError> {
        let mut shown = Progress {
            on: progress,
            copied: Copied::default(),
            last: Instant::now(),
        };
        match self {
            Sink::Store(backend, replace) => {
                let mut items = received.into_iter().inspect(|item| {
                    if let Ok(item) = item {
                        shown.item(item);
                    }
                });
                match backend.import(&mut items, replace) {
                    Ok(Counts { .. }) => Ok(shown.copied),
                    Err(StoreError::NotEmpty {
                        movies,
                        actors,
                        entries,
                    }) => Err(CopyError::NotEmpty {
                        to: to.to_string(),
                        movies,
                        actors,
                        entries,
                    }),
                    Err(source) => Err(CopyError::Store {
                        side: "writing",
                        place: to.to_string(),
                        source,
                    }),
                }
            }
            Sink::Lines(mut out, place) => {
                let failed = |source| CopyError::Io {
                    place: place.clone(),
                    source,
                };
                for item in received {
                    let item = item.map_err(|source| CopyError::Store {
                        side: "reading",
                        place: "the source".into(),
                        source,
                    })?;
                    serde_json::to_writer(&mut out, &item)
                        .map_err(|e| failed(std::io::Error::other(e)))?;
                    out.write_all(b"\n").map_err(failed)?;
                    shown.item(&item);
                }
                out.flush().map_err(failed)?;
                Ok(shown.copied)
            }
        }
    }
}
