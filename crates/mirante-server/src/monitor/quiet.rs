//! Sources polled only after one of them woke.
//!
//! A stream connection's task is woken by its mailbox on nearly every tick of the hub, and by
//! its other sources (the client's messages, facts, account changes, its timers) rarely.
//! Polling those again after every frame written — a lock, a waiter list or a timer entry
//! each, per connection and frame — was a measurable share of the server's time under fan-out
//! (docs/benchmarks.md, P1). [`Quiet`] gives such a group a waker of its own: the group is
//! polled again only when one of its sources used it (or when it last returned something).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, Wake, Waker};

use futures_util::task::AtomicWaker;

/// The group's waker: remembers that a source woke, then wakes the task that polls the group.
#[derive(Debug)]
struct Flag {
    woken: AtomicBool,
    task: AtomicWaker,
}

impl Wake for Flag {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.woken.store(true, Ordering::Release);
        self.task.wake();
    }
}

/// A group of rarely ready sources behind one waker of their own.
#[derive(Debug)]
pub struct Quiet {
    flag: Arc<Flag>,
    waker: Waker,
}

impl Default for Quiet {
    fn default() -> Self {
        let flag = Arc::new(Flag {
            // Never polled yet: the first poll must register the sources.
            woken: AtomicBool::new(true),
            task: AtomicWaker::new(),
        });
        Quiet {
            waker: Waker::from(Arc::clone(&flag)),
            flag,
        }
    }
}

impl Quiet {
    /// Polls the group with `poll` if one of its sources woke since the group last returned
    /// `Pending` (or it returned something, or never ran); `Pending` without polling
    /// otherwise. The sources see the group's waker, which wakes `cx`'s task.
    pub fn poll<T>(
        &self,
        cx: &mut Context<'_>,
        poll: impl FnOnce(&mut Context<'_>) -> Poll<T>,
    ) -> Poll<T> {
        self.flag.task.register(cx.waker());
        if !self.flag.woken.swap(false, Ordering::AcqRel) {
            return Poll::Pending;
        }
        let ready = poll(&mut Context::from_waker(&self.waker));
        if ready.is_ready() {
            // Another source may be ready as well: poll the group again next time.
            self.flag.woken.store(true, Ordering::Release);
        }
        ready
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;
    use std::sync::atomic::AtomicUsize;

    use super::*;

    /// A task's waker that counts its wake-ups.
    #[derive(Default)]
    struct Count(AtomicUsize);

    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn polls_the_group_only_after_a_source_woke() {
        let task = Arc::new(Count::default());
        let task_waker = Waker::from(Arc::clone(&task));
        let mut cx = Context::from_waker(&task_waker);
        let quiet = Quiet::default();
        // A source: keeps the waker it was polled with, ready when given a value.
        let source: Mutex<(Option<Waker>, Option<u32>)> = Mutex::new((None, None));
        let polls = AtomicUsize::new(0);
        let poll_source = |cx: &mut Context<'_>| {
            polls.fetch_add(1, Ordering::SeqCst);
            let mut s = source.lock().unwrap();
            match s.1.take() {
                Some(v) => Poll::Ready(v),
                None => {
                    s.0 = Some(cx.waker().clone());
                    Poll::Pending
                }
            }
        };

        // The first poll registers the source.
        assert_eq!(quiet.poll(&mut cx, poll_source), Poll::Pending);
        assert_eq!(polls.load(Ordering::SeqCst), 1);
        // Woken by something else: the group is not polled again.
        assert_eq!(quiet.poll(&mut cx, poll_source), Poll::Pending);
        assert_eq!(quiet.poll(&mut cx, poll_source), Poll::Pending);
        assert_eq!(polls.load(Ordering::SeqCst), 1);
        assert_eq!(task.0.load(Ordering::SeqCst), 0);

        // The source becomes ready and wakes with the waker it saw: the task is woken, and
        // the next poll polls the group.
        let waker = {
            let mut s = source.lock().unwrap();
            s.1 = Some(7);
            s.0.take().unwrap()
        };
        waker.wake();
        assert_eq!(task.0.load(Ordering::SeqCst), 1);
        assert_eq!(quiet.poll(&mut cx, poll_source), Poll::Ready(7));
        assert_eq!(polls.load(Ordering::SeqCst), 2);
        // After something was returned the group is polled again (another source of it may
        // be ready too), then rests until woken.
        assert_eq!(quiet.poll(&mut cx, poll_source), Poll::Pending);
        assert_eq!(quiet.poll(&mut cx, poll_source), Poll::Pending);
        assert_eq!(polls.load(Ordering::SeqCst), 3);
    }
}
