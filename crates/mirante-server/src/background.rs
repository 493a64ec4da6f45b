//! Maintenance work — checkpoints of the transcripts, snapshots of the engine's state — on a
//! thread of its own at a lower CPU priority than serving.
//!
//! A checkpoint of 10 000 open transcripts is a few hundred milliseconds of CPU every 30 s.
//! On the serving runtime it held a worker for all of that (every task queued behind it
//! waited); on a blocking thread at the same priority it still took its full share of a core
//! from the engine, the monitor and the connections whenever the cores were busy. Here it runs
//! on a short-lived thread of its own whose nice value is raised by [`BACKGROUND_NICE`]
//! (Linux): when a core is contended, serving comes first, and the maintenance uses what is
//! left. A job is rare (one every tens of seconds), so a thread per job costs nothing worth
//! pooling, and no thread outlives its job.

use tokio::sync::oneshot;

/// How much nicer than the server a maintenance thread is (CFS weight ~1/10 of a nice-0
/// thread's when both want the same core).
pub(crate) const BACKGROUND_NICE: i32 = 10;

/// Why a maintenance job gave no result.
#[derive(Debug, thiserror::Error)]
pub(crate) enum BackgroundError {
    /// The job panicked (its thread ended without an answer).
    #[error("the background job {0} stopped without a result")]
    Stopped(&'static str),
}

/// Runs `job` on a thread named `name` at a lower priority and waits for its result. Should
/// no thread start, it runs on the runtime's blocking pool instead.
pub(crate) async fn run<T, F>(name: &'static str, job: F) -> Result<T, BackgroundError>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    let (tx, rx) = oneshot::channel();
    // The job goes to the thread through a channel: when no thread starts, it is still here.
    let (job_tx, job_rx) = std::sync::mpsc::sync_channel::<F>(1);
    let started = std::thread::Builder::new()
        .name(name.to_owned())
        .spawn(move || {
            if let Ok(job) = job_rx.recv() {
                lower_priority(name);
                let _ = tx.send(job());
            }
        });
    if let Err(error) = started {
        tracing::warn!(%error, name, "no thread of its own: on the blocking pool");
        return tokio::task::spawn_blocking(job)
            .await
            .map_err(|_| BackgroundError::Stopped(name));
    }
    if job_tx.send(job).is_err() {
        return Err(BackgroundError::Stopped(name));
    }
    rx.await.map_err(|_| BackgroundError::Stopped(name))
}

/// Raises the calling thread's nice value by [`BACKGROUND_NICE`] (any thread may lower its
/// own priority; on Linux the nice value is per thread).
fn lower_priority(name: &str) {
    #[cfg(target_os = "linux")]
    {
        let me = rustix::thread::gettid();
        let result = rustix::process::getpriority_process(Some(me)).and_then(|nice| {
            rustix::process::setpriority_process(Some(me), (nice + BACKGROUND_NICE).min(19))
        });
        if let Err(error) = result {
            tracing::debug!(%error, name, "could not lower a background thread's priority");
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = name;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_job_runs_on_its_own_thread_and_returns_its_result() {
        let (name, value) = run("mirante-test-bg", || {
            (std::thread::current().name().map(str::to_owned), 6 * 7)
        })
        .await
        .expect("a result");
        assert_eq!(name.as_deref(), Some("mirante-test-bg"));
        assert_eq!(value, 42);
    }

    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn the_job_runs_nicer_than_the_caller() {
        let me = rustix::process::getpriority_process(Some(rustix::thread::gettid()))
            .expect("own nice value");
        let theirs = run("mirante-test-bg", || {
            rustix::process::getpriority_process(Some(rustix::thread::gettid()))
                .expect("the job's nice value")
        })
        .await
        .expect("a result");
        assert_eq!(theirs, (me + BACKGROUND_NICE).min(19));
        // the caller's own priority is untouched
        let after = rustix::process::getpriority_process(Some(rustix::thread::gettid()))
            .expect("own nice value");
        assert_eq!(after, me);
    }

    #[tokio::test]
    async fn a_panicking_job_is_an_error_not_a_hang() {
        let result: Result<(), _> = run("mirante-test-bg", || panic!("boom")).await;
        assert!(matches!(
            result,
            Err(BackgroundError::Stopped("mirante-test-bg"))
        ));
    }
}
