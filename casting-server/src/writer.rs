//! Group commit: one thread owns the write path, takes every write that is
//! waiting, applies them in one transaction with one durable commit, and
//! only then answers each request. Commits run off the async workers, so
//! reads never stall behind an fsync.

use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use casting_core::{Backend, CheckedWrite, Committed, Error, StoreError};
use tokio::sync::oneshot;

use crate::idle::Workers;
use crate::metrics::{Metrics, SharedMetrics};

/// The most writes committed together; bounds the latency one batch adds.
const MAX_BATCH: usize = 256;

/// The longest a write waits for the workers to go idle before its batch
/// commits anyway: under a steady read load they never do, so this is what
/// the wait can add to a write's latency. In the load benchmark's mixed
/// scenario (90 % reads, 10 % writes, 64 connections, one core), batches
/// grew from 2.6-4.4 writes to 8-9, and the server answered 1.35 times the
/// requests per second at 0.75 times the CPU per request of the build
/// without the wait, in the same run. A 0.5 ms bound gave batches of 5.5-5.8
/// and no gain; 2 ms, batches of 10-11 and no more than 1 ms gave.
const LINGER: Duration = Duration::from_millis(1);

/// How a batch waits for more writes: until `workers` are idle, at most
/// `most`.
struct Linger {
    workers: Arc<Workers>,
    most: Duration,
}

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
    /// With it on, and on a runtime built by
    /// [`Workers::process_runtime`], a batch waits up to 1 ms for the
    /// workers to finish the requests in hand, so that it carries their
    /// writes too; on any other runtime it commits what is queued at once.
    ///
    /// # Errors
    /// When the thread cannot be spawned.
    pub fn start(
        backend: Arc<dyn Backend>,
        batching: bool,
        metrics: SharedMetrics,
    ) -> std::io::Result<Self> {
        let linger = Workers::process().map(|workers| Linger {
            workers: Arc::clone(workers),
            most: LINGER,
        });
        Writer::spawn(
            backend,
            if batching { MAX_BATCH } else { 1 },
            linger,
            metrics,
        )
    }

    fn spawn(
        backend: Arc<dyn Backend>,
        max_batch: usize,
        linger: Option<Linger>,
        metrics: SharedMetrics,
    ) -> std::io::Result<Self> {
        let (queue, jobs) = mpsc::channel();
        // A batch of one has nothing to wait for.
        let linger = linger.filter(|_| max_batch > 1);
        let thread = std::thread::Builder::new()
            .name("casting-writer".into())
            .spawn(move || {
                run(
                    backend.as_ref(),
                    &jobs,
                    max_batch,
                    linger.as_ref(),
                    &metrics,
                )
            })?;
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

fn run(
    backend: &dyn Backend,
    jobs: &Receiver<Job>,
    max_batch: usize,
    linger: Option<&Linger>,
    metrics: &Metrics,
) {
    while let Ok(first) = jobs.recv() {
        let mut batch = vec![first];
        drain(jobs, &mut batch, max_batch);
        if let Some(linger) = linger
            && batch.len() < max_batch
        {
            linger.workers.wait_idle(Instant::now() + linger.most);
            drain(jobs, &mut batch, max_batch);
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

/// Adds the writes already queued to `batch`, up to `max_batch`.
fn drain(jobs: &Receiver<Job>, batch: &mut Vec<Job>, max_batch: usize) {
    while batch.len() < max_batch {
        match jobs.try_recv() {
            Ok(job) => batch.push(job),
            Err(_) => break,
        }
    }
}

#[cfg(test)]
mod tests {
    use casting_core::{Agency, NewActor, Principal, Role, Store, Write};

    use super::*;

    const LONG: Duration = Duration::from_secs(60);

    fn create(n: u64) -> CheckedWrite {
        let write = Write::CreateActor(NewActor {
            name: format!("Actor {n}"),
            age: 30,
            gender: "Female".into(),
            movie_id: None,
        });
        Agency::check_write(&Principal::with_role("writer-test", Role::Producer), write).unwrap()
    }

    /// A writer over a fresh store whose batches wait up to a minute for
    /// the workers of the runtime returned beside it.
    fn lingering() -> (
        tempfile::TempDir,
        tokio::runtime::Runtime,
        Arc<Writer>,
        SharedMetrics,
    ) {
        let dir = tempfile::tempdir().unwrap();
        let store: Arc<dyn Backend> = Arc::new(Store::open(dir.path().join("db.redb")).unwrap());
        let workers = Workers::new();
        let runtime = workers.two_worker_runtime();
        let metrics = Arc::new(Metrics::new());
        let linger = Linger {
            workers,
            most: LONG,
        };
        let writer = Writer::spawn(store, MAX_BATCH, Some(linger), Arc::clone(&metrics)).unwrap();
        (dir, runtime, Arc::new(writer), metrics)
    }

    #[test]
    fn writes_submitted_while_a_worker_is_busy_share_one_commit() {
        let (_dir, runtime, writer, metrics) = lingering();
        runtime.block_on(async {
            // Holds one worker, as a request being handled would, while the
            // writes arrive 20 ms apart: without the wait, each would
            // commit on its own.
            let busy = tokio::spawn(async { std::thread::sleep(Duration::from_millis(400)) });
            let writes: Vec<_> = (0..8)
                .map(|n| {
                    let writer = Arc::clone(&writer);
                    tokio::spawn(async move {
                        tokio::time::sleep(Duration::from_millis(20 * n)).await;
                        writer.submit(create(n)).await
                    })
                })
                .collect();
            for write in writes {
                write.await.unwrap().unwrap();
            }
            busy.await.unwrap();
        });
        let text = metrics.render(None, 0);
        for expected in [
            "casting_store_batch_size_count 1\n",
            "casting_store_batch_size_sum 8.0\n",
        ] {
            assert!(text.contains(expected), "{expected} is not in\n{text}");
        }
    }

    #[test]
    fn a_lone_write_commits_without_waiting_for_the_deadline() {
        let (_dir, runtime, writer, metrics) = lingering();
        runtime.block_on(async {
            // The request's worker parks while the write is committed, so
            // the writer finds every worker idle.
            tokio::time::timeout(LONG / 2, writer.submit(create(1)))
                .await
                .expect("the write waited for the linger's deadline")
                .unwrap();
        });
        assert!(
            metrics
                .render(None, 0)
                .contains("casting_store_batch_size_count 1\n")
        );
    }
}
