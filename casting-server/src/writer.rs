//! Group commit: one thread owns the write path, takes every write that is
//! waiting, applies them in one transaction with one durable commit, and
//! only then answers each request. Commits run off the async workers, so
//! reads never stall behind an fsync.

use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;

use casting_core::{Backend, CheckedWrite, Committed, Error, StoreError};
use tokio::sync::oneshot;

use crate::metrics::{Metrics, SharedMetrics};

/// The most writes committed together; bounds the latency one batch adds.
const MAX_BATCH: usize = 256;

struct Job {
    write: CheckedWrite,
    reply: oneshot::Sender<Result<Committed, Error>>,
}

/// The handle requests submit writes through.
pub struct Writer {
    queue: Mutex<Option<Sender<Job>>>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl std::fmt::Debug for Writer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Writer").finish_non_exhaustive()
    }
}

fn closed() -> Error {
    Error::Storage(StoreError::ShutDown)
}

impl Writer {
    /// Starts the writer thread over `backend`. With `batching` off, every
    /// write gets its own transaction (the baseline the benchmark compares).
    ///
    /// # Errors
    /// When the thread cannot be spawned.
    pub fn start(
        backend: Arc<dyn Backend>,
        batching: bool,
        metrics: SharedMetrics,
    ) -> std::io::Result<Self> {
        let (queue, jobs) = mpsc::channel();
        let max_batch = if batching { MAX_BATCH } else { 1 };
        let thread = std::thread::Builder::new()
            .name("casting-writer".into())
            .spawn(move || run(backend.as_ref(), &jobs, max_batch, &metrics))?;
        Ok(Writer {
            queue: Mutex::new(Some(queue)),
            thread: Mutex::new(Some(thread)),
        })
    }

    /// Applies `write` durably, with its audit entries, and returns its
    /// result. Only [`casting_core::Agency::check_write`] makes a
    /// [`CheckedWrite`], so no write reaches the store unchecked.
    ///
    /// # Errors
    /// The write's own refusal (a failed condition included), or a storage
    /// error.
    pub async fn submit(&self, write: CheckedWrite) -> Result<Committed, Error> {
        let (reply, answer) = oneshot::channel();
        {
            let queue = self.queue.lock().unwrap_or_else(PoisonError::into_inner);
            let queue = queue.as_ref().ok_or_else(closed)?;
            queue.send(Job { write, reply }).map_err(|_| closed())?;
        }
        answer.await.unwrap_or_else(|_| Err(closed()))
    }

    /// Stops taking writes, lets the thread finish what it has, and waits.
    pub fn close(&self) {
        drop(
            self.queue
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .take(),
        );
        if let Some(thread) = self
            .thread
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
        {
            let _ = thread.join();
        }
    }
}

impl Drop for Writer {
    /// A writer dropped without [`Writer::close`] (its server's runtime
    /// torn down) still finishes the writes it holds and lets the store go
    /// before the drop returns, so whoever opens the store next finds it
    /// free.
    fn drop(&mut self) {
        self.close();
    }
}

fn run(backend: &dyn Backend, jobs: &Receiver<Job>, max_batch: usize, metrics: &Metrics) {
    while let Ok(first) = jobs.recv() {
        let mut batch = vec![first];
        while batch.len() < max_batch {
            match jobs.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let (writes, replies): (Vec<CheckedWrite>, Vec<_>) =
            batch.into_iter().map(|j| (j.write, j.reply)).unzip();
        let size = writes.len();
        let started = std::time::Instant::now();
        let committed = backend.commit(writes);
        metrics.commit(size, started.elapsed());
        match committed {
            Ok(results) => {
                for (reply, result) in replies.into_iter().zip(results) {
                    let _ = reply.send(result);
                }
            }
            // Refusals never fail a batch (each write is checked before it
            // changes anything), so this is the storage: every write of the
            // batch failed with it, for the one reason kept whole. The
            // backend itself recovers for the next batch (the redb store
            // reopens its file; PostgreSQL takes a fresh connection).
            Err(error) => {
                tracing::error!(%error, size, "a commit failed; its writes are refused");
                let cause = Arc::new(error);
                for reply in replies {
                    let _ = reply.send(Err(StoreError::BatchFailed(Arc::clone(&cause)).into()));
                }
            }
        }
    }
}
