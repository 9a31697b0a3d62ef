//! How long a poller rests between two pieces of work: long enough that its own CPU time and
//! its time blocked on the file system stay within a share of the clock each.
//!
//! The share is of what the work itself cost, measured per thread: CPU time from the thread's
//! CPU clock, and the time it sat blocked (on a slow mount, waiting for the other side) as the
//! wall time less its CPU time and less the time it waited for a CPU (the run queue, from
//! `/proc/thread-self/schedstat`). A loaded machine stretches the wall time of a round but
//! neither of those, so it does not stretch the rest after it; a slow mount stretches the time
//! blocked, so the poller rests in proportion and leaves the mount to others.

use std::time::{Duration, Instant};

/// A share of one core and of the file system's time that a poller may use.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Budget {
    /// CPU time per unit of wall time (0.05: 5 % of one core).
    pub cpu: f64,
    /// Time blocked in the file system per unit of wall time.
    pub io: f64,
}

/// What one piece of work cost.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Cost {
    pub wall: Duration,
    /// On a CPU (user and system time of this thread).
    pub cpu: Duration,
    /// Runnable but waiting for a CPU (another process's load, not this work's).
    pub waiting: Duration,
}

impl Cost {
    /// The time spent blocked: neither running nor waiting to run.
    pub fn blocked(&self) -> Duration {
        self.wall.saturating_sub(self.cpu + self.waiting)
    }
}

impl Budget {
    /// The rest after work that cost `cost`: work and rest together are long enough for the
    /// work's CPU and blocked time to be within their shares (a rest already taken by the
    /// wall time of the work, run-queue waits included, counts).
    pub fn rest(&self, cost: &Cost) -> Duration {
        let cycle = |used: Duration, share: f64| {
            if share <= 0.0 {
                Duration::ZERO
            } else {
                used.div_f64(share.min(1.0))
            }
        };
        let cycle = cycle(cost.cpu, self.cpu).max(cycle(cost.blocked(), self.io));
        cycle.saturating_sub(cost.wall)
    }
}

/// Measures the cost of a piece of work on the calling thread.
pub struct Meter {
    started: Instant,
    cpu: Duration,
    waiting: Duration,
}

impl Meter {
    pub fn start() -> Meter {
        Meter {
            started: Instant::now(),
            cpu: thread_cpu(),
            waiting: run_queue_wait(),
        }
    }

    pub fn cost(&self) -> Cost {
        Cost {
            wall: self.started.elapsed(),
            cpu: thread_cpu().saturating_sub(self.cpu),
            waiting: run_queue_wait().saturating_sub(self.waiting),
        }
    }
}

/// This thread's CPU time so far.
fn thread_cpu() -> Duration {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::ThreadCPUTime);
    Duration::new(
        t.tv_sec.max(0) as u64,
        t.tv_nsec.clamp(0, 999_999_999) as u32,
    )
}

/// How long this thread has waited on a run queue so far (zero where the kernel does not
/// say: then a loaded machine counts as blocked time, which only makes the rest longer).
fn run_queue_wait() -> Duration {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<u64>().ok())
        .map_or(Duration::ZERO, Duration::from_nanos)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn the_rest_keeps_cpu_and_blocked_time_within_their_shares() {
        let budget = Budget { cpu: 0.05, io: 0.4 };
        // 20 ms of CPU: a cycle of 400 ms.
        let local = Cost {
            wall: 20 * MS,
            cpu: 20 * MS,
            waiting: Duration::ZERO,
        };
        assert_eq!(budget.rest(&local), 380 * MS);
        // 2 ms of CPU, 400 ms blocked on a slow mount: a cycle of 1 s.
        let slow = Cost {
            wall: 402 * MS,
            cpu: 2 * MS,
            waiting: Duration::ZERO,
        };
        assert_eq!(budget.rest(&slow), 598 * MS);
    }

    #[test]
    fn a_loaded_machine_does_not_stretch_the_rest() {
        let budget = Budget { cpu: 0.05, io: 0.4 };
        let idle = Cost {
            wall: 20 * MS,
            cpu: 20 * MS,
            waiting: Duration::ZERO,
        };
        // The same work while other processes keep the CPUs busy: five times the wall time,
        // all of it waiting for a CPU. The cycle stays 400 ms (the rest shrinks by the wait).
        let busy = Cost {
            wall: 100 * MS,
            cpu: 20 * MS,
            waiting: 80 * MS,
        };
        assert_eq!(busy.blocked(), Duration::ZERO);
        assert_eq!(
            budget.rest(&idle) + idle.wall,
            budget.rest(&busy) + busy.wall
        );
    }

    #[test]
    fn the_meter_sees_cpu_work_and_sleeps() {
        let meter = Meter::start();
        let mut x = 0u64;
        // Spin until this thread has run 10 ms (however long that takes on a busy machine).
        let cpu = thread_cpu();
        while thread_cpu() < cpu + 10 * MS {
            x = x.wrapping_add(std::hint::black_box(1));
        }
        std::thread::sleep(30 * MS);
        let cost = meter.cost();
        assert!(x > 0);
        assert!(cost.cpu >= 10 * MS && cost.cpu <= cost.wall, "{cost:?}");
        // Asleep is neither running nor runnable: blocked.
        assert!(cost.blocked() >= 25 * MS, "{cost:?}");
    }
}
