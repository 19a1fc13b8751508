//! The log buffer: the threads that log append whole lines to one buffer
//! under a lock, and one thread of its own writes the buffer out every few
//! milliseconds, or sooner once it is large.
//!
//! A line costs the thread that logs a short lock and a copy: no system
//! call and no wake-up of another thread (a queue that woke its reader on
//! every line cost a context switch per request on a server pinned to one
//! core). A sink that blocks holds up only the writer thread; while it
//! does, the buffer fills to its bound and further lines are dropped and
//! counted, never waited for.

use std::io::{self, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread;
use std::time::Duration;

/// How long a line may wait in the buffer before it is written.
const FLUSH_EVERY: Duration = Duration::from_millis(20);
/// A buffer this large is written at once rather than at the next tick.
const WAKE_AT: usize = 64 * 1024;
/// The most bytes held for a sink that does not keep up; beyond, lines
/// are dropped.
const MAX_PENDING: usize = 4 * 1024 * 1024;
/// How long closing waits for the last lines to be written.
const CLOSE_PATIENCE: Duration = Duration::from_secs(1);

#[derive(Debug, Default)]
struct Pending {
    bytes: Vec<u8>,
    lines: u64,
    closing: bool,
}

#[derive(Debug)]
struct Shared {
    pending: Mutex<Pending>,
    wake: Condvar,
    /// Lines lost: dropped from a full buffer, or refused by the sink.
    dropped: &'static AtomicU64,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Pending> {
        self.pending.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn append(&self, line: &[u8]) {
        let mut pending = self.lock();
        if pending.closing || pending.bytes.len() + line.len() > MAX_PENDING {
            drop(pending);
            self.dropped.fetch_add(1, Ordering::Relaxed);
            return;
        }
        pending.bytes.extend_from_slice(line);
        pending.lines += 1;
        let full = pending.bytes.len() >= WAKE_AT;
        drop(pending);
        if full {
            self.wake.notify_one();
        }
    }
}

/// What the logging threads write through: each write is one line.
#[derive(Debug, Clone)]
pub(super) struct BufferWriter(Arc<Shared>);

impl BufferWriter {
    /// Appends one whole line, as a write does, without going through
    /// `io::Write`.
    pub(super) fn append(&self, line: &[u8]) {
        self.0.append(line);
    }
}

impl Write for BufferWriter {
    fn write(&mut self, line: &[u8]) -> io::Result<usize> {
        self.0.append(line);
        Ok(line.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for BufferWriter {
    type Writer = BufferWriter;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

/// The writer thread; dropping it writes what is buffered, waiting at most
/// a second for a sink that does not take it.
#[derive(Debug)]
pub(super) struct Flusher {
    shared: Arc<Shared>,
    done: mpsc::Receiver<()>,
}

impl Drop for Flusher {
    fn drop(&mut self) {
        self.shared.lock().closing = true;
        self.shared.wake.notify_one();
        let _ = self.done.recv_timeout(CLOSE_PATIENCE);
    }
}

/// A buffer written to `out` by a thread of its own, counting lost lines in
/// `dropped`.
///
/// # Errors
/// When the thread cannot be started.
pub(super) fn start<W: Write + Send + 'static>(
    mut out: W,
    dropped: &'static AtomicU64,
) -> io::Result<(BufferWriter, Flusher)> {
    let shared = Arc::new(Shared {
        pending: Mutex::default(),
        wake: Condvar::new(),
        dropped,
    });
    let (finished, done) = mpsc::channel();
    let writer = Arc::clone(&shared);
    thread::Builder::new()
        .name("casting-log".into())
        .spawn(move || {
            let mut spare = Vec::with_capacity(WAKE_AT);
            loop {
                let (lines, closing) = {
                    let mut pending = writer.lock();
                    if !pending.closing && pending.bytes.len() < WAKE_AT {
                        pending = writer
                            .wake
                            .wait_timeout(pending, FLUSH_EVERY)
                            .unwrap_or_else(PoisonError::into_inner)
                            .0;
                    }
                    std::mem::swap(&mut pending.bytes, &mut spare);
                    (std::mem::take(&mut pending.lines), pending.closing)
                };
                if !spare.is_empty() && (out.write_all(&spare).is_err() || out.flush().is_err()) {
                    writer.dropped.fetch_add(lines, Ordering::Relaxed);
                }
                spare.clear();
                if closing && writer.lock().bytes.is_empty() {
                    let _ = finished.send(());
                    return;
                }
            }
        })?;
    let flusher = Flusher {
        shared: Arc::clone(&shared),
        done,
    };
    Ok((BufferWriter(shared), flusher))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A sink that keeps what it is given, counting the writes.
    #[derive(Clone, Default)]
    struct Kept(Arc<Mutex<(Vec<u8>, usize)>>);

    impl Write for Kept {
        fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
            let mut kept = self.0.lock().unwrap();
            kept.0.extend_from_slice(bytes);
            kept.1 += 1;
            Ok(bytes.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    struct Broken;

    impl Write for Broken {
        fn write(&mut self, _: &[u8]) -> io::Result<usize> {
            Err(io::Error::from(io::ErrorKind::BrokenPipe))
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    /// A sink whose writes never return.
    struct Stuck;

    impl Write for Stuck {
        fn write(&mut self, _: &[u8]) -> io::Result<usize> {
            loop {
                thread::park();
            }
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn many_lines_reach_the_sink_in_few_writes_and_all_by_closing() {
        static DROPPED: AtomicU64 = AtomicU64::new(0);
        let sink = Kept::default();
        let (mut writer, flusher) = start(sink.clone(), &DROPPED).unwrap();
        for i in 0..1000 {
            writer.write_all(format!("line {i}\n").as_bytes()).unwrap();
        }
        drop(flusher);
        let kept = sink.0.lock().unwrap();
        assert_eq!(kept.0.iter().filter(|b| **b == b'\n').count(), 1000);
        assert!(kept.0.starts_with(b"line 0\n") && kept.0.ends_with(b"line 999\n"));
        assert!(kept.1 < 50, "{} writes for 1000 lines", kept.1);
        assert_eq!(DROPPED.load(Ordering::Relaxed), 0);
    }

    #[test]
    fn a_sink_that_fails_loses_and_counts_lines_but_logging_never_fails() {
        static DROPPED: AtomicU64 = AtomicU64::new(0);
        let (mut writer, flusher) = start(Broken, &DROPPED).unwrap();
        for _ in 0..3 {
            writer.write_all(b"line\n").unwrap();
        }
        drop(flusher);
        assert_eq!(DROPPED.load(Ordering::Relaxed), 3);
    }

    #[test]
    fn a_sink_that_blocks_never_blocks_the_logging_threads() {
        static DROPPED: AtomicU64 = AtomicU64::new(0);
        let (mut writer, flusher) = start(Stuck, &DROPPED).unwrap();
        let line = vec![b'x'; 1023];
        let started = std::time::Instant::now();
        // Five times the bound: the writer thread is stuck on the first
        // batch, so the buffer fills and the rest is dropped.
        for _ in 0..(5 * MAX_PENDING / 1024) {
            writer.write_all(&line).unwrap();
        }
        assert!(started.elapsed() < Duration::from_secs(5));
        assert!(DROPPED.load(Ordering::Relaxed) > 0);
        let closing = std::time::Instant::now();
        drop(flusher);
        assert!(closing.elapsed() < CLOSE_PATIENCE + Duration::from_millis(500));
    }
}
