//! Work that must not wait in the serving runtime's queue: a thread of its own, with its own
//! single-threaded runtime.
//!
//! The serving runtime runs every connection. After a tick of the live stream a thousand of
//! them write their frames, one after the other; a task woken meanwhile (the engine taking a
//! command, the monitor folding an event in) would wait behind all of them, and that wait is
//! latency for every command and every stream. On a thread of its own such work gets its
//! share of the cores from the OS during the burst.

use std::future::Future;
use std::pin::Pin;

use tokio::task::JoinHandle;

type Work = Pin<Box<dyn Future<Output = ()> + Send>>;

/// Runs `work` on a thread named `name` with its own single-threaded runtime (its
/// `tokio::spawn` and `spawn_blocking` go there too). The handle, a task of the calling
/// runtime, ends when `work` does, and fails if the thread panicked. Should the thread not
/// start, `work` runs on the calling runtime instead.
pub(crate) fn spawn_apart<F>(name: &str, work: F) -> JoinHandle<()>
where
    F: Future<Output = ()> + Send + 'static,
{
    let (done_tx, done_rx) = tokio::sync::oneshot::channel::<()>();
    let started = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())
        .and_then(|runtime| {
            let (tx, rx) = std::sync::mpsc::channel::<Work>();
            std::thread::Builder::new()
                .name(name.to_owned())
                .spawn(move || {
                    // The work comes through the channel only if this thread runs.
                    if let Ok(work) = rx.recv() {
                        runtime.block_on(work);
                    }
                })
                .map(|_| tx)
                .map_err(|e| e.to_string())
        });
    match started {
        Ok(tx) => {
            let work: Work = Box::pin(async move {
                work.await;
                let _ = done_tx.send(());
            });
            // The thread holds the receiver until it takes the work.
            let _ = tx.send(work);
            let name = name.to_owned();
            tokio::spawn(async move {
                if done_rx.await.is_err() {
                    panic!("{name}: its thread stopped before its work was done");
                }
            })
        }
        Err(error) => {
            tracing::warn!(%error, name, "no thread of its own: on the serving runtime");
            tokio::spawn(work)
        }
    }
}
