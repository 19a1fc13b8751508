//! Whether the async workers still have work, so that the group-commit
//! writer can wait for them to run out before it commits: a batch then
//! holds every write that the requests already being handled will submit,
//! not only the first of them.
//!
//! A write wakes the writer at once. Left alone, the writer commits that
//! write (and the few queued beside it) while the workers are still
//! handling the rest of the same wave of requests, and the next commit
//! carries those. A commit costs about the same whether it carries one write
//! or ten, and each one also empties the response cache, so under a load of
//! reads with some writes, many small commits spend the CPU that the reads
//! need. Tokio tells when a worker runs out of tasks: it parks. Once every
//! worker has parked, no request is half way to a write, and the writer
//! commits what it has. A client writing alone never waits long: its worker
//! parks as soon as the request awaits the commit.
//!
//! The hooks that count parked workers are installed when a runtime is
//! built, so [`Workers::runtime`] builds it. The binary's runtime counts
//! into [`Workers::process`], and so does that of a program that builds
//! its own with [`Workers::process_runtime`]; a server run on any other
//! runtime (a test's, say) has no count, and its writer commits as soon
//! as a write arrives.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::thread::Thread;
use std::time::Instant;

/// The worker threads of the runtimes built by [`Workers::runtime`], and
/// how many of them are parked.
#[derive(Debug, Default)]
pub struct Workers {
    /// Every worker of every runtime built with these hooks.
    count: AtomicUsize,
    parked: AtomicUsize,
    /// Set while a thread waits in [`Workers::wait_idle`], so that only then
    /// does a park cost more than two atomic operations.
    waiting: AtomicBool,
    waiter: Mutex<Option<Thread>>,
}

static PROCESS: OnceLock<Arc<Workers>> = OnceLock::new();

impl Workers {
    /// A count with no runtime yet: until [`Workers::runtime`] builds one,
    /// every wait returns at once.
    pub fn new() -> Arc<Self> {
        Arc::default()
    }

    /// The count of this process's runtime, once the binary has built it
    /// with [`Workers::process_runtime`].
    pub fn process() -> Option<&'static Arc<Workers>> {
        PROCESS.get()
    }

    /// Builds the binary's runtime, counted into [`Workers::process`].
    ///
    /// # Errors
    /// When the runtime cannot be built.
    pub fn process_runtime() -> std::io::Result<tokio::runtime::Runtime> {
        PROCESS.get_or_init(Workers::new).runtime()
    }

    /// A multi-threaded runtime with every driver enabled, whose workers
    /// count into these. A runtime dropped later still counts its workers
    /// as busy, so build only runtimes that last as long as the count's
    /// user.
    ///
    /// # Errors
    /// When the runtime cannot be built.
    pub fn runtime(self: &Arc<Self>) -> std::io::Result<tokio::runtime::Runtime> {
        self.runtime_of(tokio::runtime::Builder::new_multi_thread().enable_all())
    }

    fn runtime_of(
        self: &Arc<Self>,
        builder: &mut tokio::runtime::Builder,
    ) -> std::io::Result<tokio::runtime::Runtime> {
        let (park, unpark) = (Arc::clone(self), Arc::clone(self));
        let runtime = builder
            .on_thread_park(move || park.parked())
            .on_thread_unpark(move || unpark.unparked())
            .build()?;
        // Workers start unparked, and a park before this line is counted in
        // `parked` already: the two stay consistent.
        self.count
            .fetch_add(runtime.metrics().num_workers(), Ordering::SeqCst);
        Ok(runtime)
    }

    /// A runtime of two workers, so that one can be held busy while the
    /// other goes on, however many cores the test has.
    #[cfg(test)]
    pub(crate) fn two_worker_runtime(self: &Arc<Self>) -> tokio::runtime::Runtime {
        self.runtime_of(
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all(),
        )
        .unwrap()
    }

    fn parked(&self) {
        let parked = self.parked.fetch_add(1, Ordering::SeqCst) + 1;
        if parked >= self.count.load(Ordering::SeqCst) && self.waiting.load(Ordering::SeqCst) {
            let waiter = self.waiter.lock().unwrap_or_else(PoisonError::into_inner);
            if let Some(thread) = waiter.as_ref() {
                thread.unpark();
            }
        }
    }

    fn unparked(&self) {
        self.parked.fetch_sub(1, Ordering::SeqCst);
    }

    /// Whether some counted worker has tasks to run.
    pub fn busy(&self) -> bool {
        self.parked.load(Ordering::SeqCst) < self.count.load(Ordering::SeqCst)
    }

    /// Blocks the calling thread until every counted worker is parked or
    /// `deadline` passes, whichever comes first; at once when no runtime is
    /// counted. Meant for one thread at a time (the writer's): a second
    /// waiter would take the first one's wake-up.
    pub fn wait_idle(&self, deadline: Instant) {
        *self.waiter.lock().unwrap_or_else(PoisonError::into_inner) = Some(std::thread::current());
        // Set before the count is read, as `parked` reads it after
        // counting: of a park and this check, one sees the other, so the
        // last park cannot slip between the check and the sleep unnoticed.
        self.waiting.store(true, Ordering::SeqCst);
        while self.busy() {
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            std::thread::park_timeout(deadline - now);
        }
        self.waiting.store(false, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicBool;
    use std::time::Duration;

    use super::*;

    const LONG: Duration = Duration::from_secs(60);

    #[test]
    fn a_count_without_a_runtime_never_waits() {
        let workers = Workers::new();
        assert!(!workers.busy());
        // A wait that did not return at once would hold the test a minute.
        workers.wait_idle(Instant::now() + LONG);
    }

    /// Runs a task that holds its worker until `release` is set; returns
    /// once the task runs, with a flag the task sets as it ends.
    fn hold_a_worker(
        runtime: &tokio::runtime::Runtime,
        release: &Arc<AtomicBool>,
    ) -> Arc<AtomicBool> {
        let (held, ended) = (Arc::clone(release), Arc::new(AtomicBool::new(false)));
        let end = Arc::clone(&ended);
        let (started, start) = std::sync::mpsc::channel();
        runtime.spawn(async move {
            started.send(()).unwrap();
            while !held.load(Ordering::SeqCst) {
                std::thread::sleep(Duration::from_millis(1));
            }
            end.store(true, Ordering::SeqCst);
        });
        start.recv().unwrap();
        ended
    }

    #[test]
    fn a_wait_ends_when_the_last_busy_worker_parks() {
        let workers = Workers::new();
        let runtime = workers.two_worker_runtime();
        let release = Arc::new(AtomicBool::new(false));
        let ended = hold_a_worker(&runtime, &release);
        assert!(workers.busy());
        let later = Arc::clone(&release);
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(200));
            later.store(true, Ordering::SeqCst);
        });
        let waited = Instant::now();
        workers.wait_idle(waited + LONG);
        assert!(
            ended.load(Ordering::SeqCst),
            "the wait ended before the task did"
        );
        assert!(waited.elapsed() < LONG, "the wait ran to its deadline");
    }

    #[test]
    fn a_wait_ends_at_its_deadline_while_a_worker_stays_busy() {
        let workers = Workers::new();
        let runtime = workers.two_worker_runtime();
        let release = Arc::new(AtomicBool::new(false));
        let ended = hold_a_worker(&runtime, &release);
        let deadline = Instant::now() + Duration::from_millis(50);
        workers.wait_idle(deadline);
        assert!(Instant::now() >= deadline);
        assert!(workers.busy(), "the worker was still running its task");
        assert!(!ended.load(Ordering::SeqCst));
        release.store(true, Ordering::SeqCst);
    }
}
