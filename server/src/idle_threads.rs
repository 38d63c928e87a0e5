//! Connection threads that finished their connection and wait a while for the next one.
//!
//! The thread model gives each connection a thread of its own for the connection's whole
//! life; it does not have to *create* that thread for it. Creating and ending a thread is
//! about 17 system calls (clone3, the stack's mmap/mprotect/munmap, the signal stack's
//! sigaltstack and mprotect, rseq, set_robust_list, signal masks, madvise...), so a server
//! answering one request per connection spent more on its threads than on the request:
//! 23.1 system calls and 86.4 µs of CPU per request against nginx's 6.1 and 31.0
//! (`BENCH_ROUNDS=3 python3 scripts/bench.py --costs`, without keep-alive; README
//! "Server performance" has the run). Thread-per-connection servers
//! keep finished threads for the next connection (Apache's worker MPM keeps spare threads,
//! Java's cached thread pool keeps them 60 s); so does this one, for
//! `--idle-thread-timeout` (default 100 ms). The model is unchanged: a connection still
//! owns one thread that blocks in `read` and `write`, at most one connection runs on a
//! thread at once, and a thread is still created whenever no idle one is left.
//!
//! Why so short a wait: a client that closes and reconnects (ab without `-k`) comes back
//! within microseconds, and a lab run measures memory per connection from one cell's
//! peak to the next, so the threads of a cell at c = 1000 must be gone before the next
//! cell starts rather than count in its memory.
//!
//! The hand-over is a queue under a mutex with a condition variable. `waiting` counts the
//! idle threads no connection was promised to yet; the listener hands a connection over
//! only when one is, so a connection never waits in the queue for a thread that is about
//! to end (that thread sees the queue first, under the same lock, and takes it).

use std::collections::VecDeque;
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

/// Idle threads waiting for work of type `T` (the thread model's connection).
#[derive(Debug)]
pub struct IdleThreads<T> {
    state: Mutex<State<T>>,
    handed: Condvar,
    /// How long a thread waits for the next connection before it ends (zero: not at all).
    timeout: Duration,
}

#[derive(Debug)]
struct State<T> {
    /// Idle threads no job is promised to: waiting threads minus `queue.len()`.
    waiting: usize,
    queue: VecDeque<T>,
    /// The server is shutting down: nothing more is handed over, idle threads end.
    closed: bool,
}

impl<T> IdleThreads<T> {
    pub fn new(timeout: Duration) -> IdleThreads<T> {
        IdleThreads {
            state: Mutex::new(State {
                waiting: 0,
                queue: VecDeque::new(),
                closed: false,
            }),
            handed: Condvar::new(),
            timeout,
        }
    }

    /// Give `job` to an idle thread; `Err(job)` back when none is waiting (start a thread).
    pub fn hand_over(&self, job: T) -> Result<(), T> {
        let mut state = self.lock();
        if state.waiting == 0 || state.closed {
            return Err(job);
        }
        state.waiting -= 1;
        state.queue.push_back(job);
        drop(state);
        self.handed.notify_one();
        Ok(())
    }

    /// Called by a thread that finished its job, with `let_go` to release what the job
    /// still holds (the connection): the next job, or `None` when none came within the
    /// timeout (or the server is shutting down), and the thread should end.
    ///
    /// The thread counts as idle before `let_go` runs, so once a connection is seen
    /// closed, the next one is handed to its thread, never to a new one.
    pub fn next(&self, let_go: impl FnOnce()) -> Option<T> {
        if self.timeout.is_zero() {
            let_go();
            return None;
        }
        let deadline = Instant::now() + self.timeout;
        {
            let mut state = self.lock();
            if state.closed {
                drop(state);
                let_go();
                return None;
            }
            state.waiting += 1;
        }
        // Not under the lock: letting a connection go closes a socket and takes other locks.
        let_go();
        let mut state = self.lock();
        loop {
            // A job in the queue was promised to some waiting thread: any one may take it.
            if let Some(job) = state.queue.pop_front() {
                return Some(job);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if state.closed || left.is_zero() {
                state.waiting -= 1; // the queue is empty, so this thread was unpromised
                return None;
            }
            state = self
                .handed
                .wait_timeout(state, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }

    /// Shutting down: hand nothing more over; idle threads end now.
    pub fn close(&self) {
        self.lock().closed = true;
        self.handed.notify_all();
    }

    /// Idle threads no job is promised to (for tests).
    #[cfg(test)]
    fn waiting(&self) -> usize {
        self.lock().waiting
    }

    fn lock(&self) -> MutexGuard<'_, State<T>> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::thread;

    /// Wait (bounded) until `n` threads are idle.
    fn until_waiting<T>(idle: &IdleThreads<T>, n: usize) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while idle.waiting() != n {
            assert!(Instant::now() < deadline, "never {n} idle threads");
            thread::sleep(Duration::from_millis(1));
        }
    }

    #[test]
    fn no_idle_thread_gives_the_job_back() {
        let idle = IdleThreads::new(Duration::from_secs(1));
        assert_eq!(idle.hand_over(7), Err(7));
    }

    #[test]
    fn an_idle_thread_takes_each_job_handed_over() {
        let idle = Arc::new(IdleThreads::new(Duration::from_secs(10)));
        let worker = {
            let idle = idle.clone();
            thread::spawn(move || {
                let mut done = Vec::new();
                while let Some(job) = idle.next(|| ()) {
                    done.push(job);
                    if done.len() == 3 {
                        break;
                    }
                }
                done
            })
        };
        for job in 1..=3 {
            until_waiting(&idle, 1);
            assert_eq!(idle.hand_over(job), Ok(()));
        }
        assert_eq!(worker.join().unwrap(), vec![1, 2, 3]);
        assert_eq!(idle.waiting(), 0);
    }

    #[test]
    fn a_promised_thread_is_not_promised_twice() {
        let idle = Arc::new(IdleThreads::new(Duration::from_secs(10)));
        let worker = {
            let idle = idle.clone();
            thread::spawn(move || idle.next(|| ()))
        };
        until_waiting(&idle, 1);
        assert_eq!(idle.hand_over(1), Ok(()));
        // The one idle thread is promised job 1: job 2 needs a thread of its own.
        assert_eq!(idle.hand_over(2), Err(2));
        assert_eq!(worker.join().unwrap(), Some(1));
    }

    #[test]
    fn an_idle_thread_ends_after_the_timeout_or_at_close() {
        let idle = Arc::new(IdleThreads::<u32>::new(Duration::from_millis(20)));
        assert_eq!(idle.next(|| ()), None);
        assert_eq!(idle.waiting(), 0);

        let idle = Arc::new(IdleThreads::<u32>::new(Duration::from_secs(600)));
        let worker = {
            let idle = idle.clone();
            thread::spawn(move || idle.next(|| ()))
        };
        until_waiting(&idle, 1);
        idle.close();
        assert_eq!(worker.join().unwrap(), None);
        assert_eq!(idle.hand_over(3), Err(3));
        assert_eq!(idle.next(|| ()), None);
    }

    #[test]
    fn a_zero_timeout_keeps_no_thread() {
        let idle = IdleThreads::<u32>::new(Duration::ZERO);
        assert_eq!(idle.next(|| ()), None);
        assert_eq!(idle.hand_over(1), Err(1));
    }
}
