//! Turning a stream of file events into change sets, without a clock of its own.
//!
//! Events are hints: each names a path and says whether its writer is done (close-after-write,
//! moved into place, deleted) — then the path is due at once — or maybe not (created, or an
//! editor's scratch file) — then it waits for a short quiet period, bounded by a maximum wait.
//! Many paths at once (a `git checkout`, an `npm install`) make a burst, which is held until the
//! whole burst is quiet so that it becomes one change set.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy)]
pub struct Timing {
    /// How long a not-yet-settled path must be quiet.
    pub quiet: Duration,
    /// The longest any path waits.
    pub max_wait: Duration,
    /// From this many pending paths, or this many events within one quiet period (or within
    /// one longest wait: a checkout slowed by a busy machine), everything waits for the
    /// burst to go quiet.
    pub burst: usize,
    /// The longest a burst is held before what it has so far is let through.
    pub burst_max_wait: Duration,
}

impl Default for Timing {
    fn default() -> Timing {
        Timing {
            quiet: Duration::from_millis(20),
            max_wait: Duration::from_millis(250),
            burst: 64,
            burst_max_wait: Duration::from_secs(1),
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Pending {
    first: Instant,
    last: Instant,
    settled: bool,
}

#[derive(Debug, Default)]
pub struct Coalescer {
    timing: Timing,
    pending: HashMap<PathBuf, Pending>,
    last: Option<Instant>,
    /// Events within one quiet period, to tell a burst by its rate.
    short: Window,
    /// The same over the longest wait, to tell a slower stream of many events (with the
    /// window just before: a stream still going on is still a burst).
    long: Window,
    burst_since: Option<Instant>,
}

/// Events counted from the first of a window of time.
#[derive(Debug, Default)]
struct Window {
    start: Option<Instant>,
    events: usize,
    /// The count of the window before, when this one began within a window's length of its end.
    before: usize,
}

impl Window {
    fn count(&mut self, now: Instant, length: Duration) {
        match self.start {
            Some(start) if now.saturating_duration_since(start) <= length => self.events += 1,
            start => {
                let adjacent =
                    start.is_some_and(|start| now.saturating_duration_since(start) <= 2 * length);
                self.before = if adjacent { self.events } else { 0 };
                self.start = Some(now);
                self.events = 1;
            }
        }
    }
}

impl Coalescer {
    pub fn new(timing: Timing) -> Coalescer {
        Coalescer {
            timing,
            ..Coalescer::default()
        }
    }

    /// Notes an event for `path`; `settled` when its writer is done with it.
    pub fn add(&mut self, path: PathBuf, settled: bool, now: Instant) {
        let entry = self.pending.entry(path).or_insert(Pending {
            first: now,
            last: now,
            settled,
        });
        entry.last = now;
        entry.settled |= settled;
        self.last = Some(now);
        self.short.count(now, self.timing.quiet);
        self.long.count(now, self.timing.max_wait);
        let burst = self.timing.burst;
        if self.burst_since.is_none()
            && (self.short.events >= burst
                || self.long.events.max(self.long.before) >= burst
                || self.pending.len() >= burst)
        {
            self.burst_since = self.short.start;
        }
    }

    pub fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }

    fn due_at(&self, p: &Pending) -> Instant {
        if p.settled {
            p.first
        } else {
            (p.last + self.timing.quiet).min(p.first + self.timing.max_wait)
        }
    }

    /// When the next path becomes due, if any is pending.
    pub fn next_deadline(&self) -> Option<Instant> {
        if let Some(since) = self.burst_since {
            let last = self.last?;
            return Some((last + self.timing.quiet).min(since + self.timing.burst_max_wait));
        }
        self.pending.values().map(|p| self.due_at(p)).min()
    }

    /// Takes the paths that are due at `now`, sorted: one change set (possibly empty).
    pub fn take_due(&mut self, now: Instant) -> Vec<PathBuf> {
        let mut due: Vec<PathBuf> = if self.burst_since.is_some() {
            match self.next_deadline() {
                Some(deadline) if deadline <= now => {
                    self.burst_since = None;
                    self.pending.drain().map(|(p, _)| p).collect()
                }
                _ => Vec::new(),
            }
        } else {
            let ready: Vec<PathBuf> = self
                .pending
                .iter()
                .filter(|(_, p)| self.due_at(p) <= now)
                .map(|(path, _)| path.clone())
                .collect();
            for path in &ready {
                self.pending.remove(path);
            }
            ready
        };
        if self.pending.is_empty() {
            self.last = None;
        }
        due.sort();
        due
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn settled_paths_are_due_at_once() {
        let t0 = Instant::now();
        let mut c = Coalescer::new(Timing::default());
        c.add("a.css".into(), true, t0);
        assert_eq!(c.next_deadline(), Some(t0));
        assert_eq!(c.take_due(t0), [PathBuf::from("a.css")]);
        assert!(c.is_empty());
        assert_eq!(c.next_deadline(), None);
    }

    #[test]
    fn unsettled_paths_wait_for_quiet_then_settle_early_on_close() {
        let t0 = Instant::now();
        let mut c = Coalescer::new(Timing::default());
        c.add("4913".into(), false, t0);
        c.add("b.css".into(), false, t0);
        assert!(c.take_due(t0 + ms(5)).is_empty());
        c.add("b.css".into(), true, t0 + ms(6)); // close-write
        assert_eq!(c.take_due(t0 + ms(6)), [PathBuf::from("b.css")]);
        assert_eq!(c.next_deadline(), Some(t0 + ms(20)));
        assert_eq!(c.take_due(t0 + ms(20)), [PathBuf::from("4913")]);
    }

    #[test]
    fn a_busy_path_waits_at_most_max_wait() {
        let t0 = Instant::now();
        let mut c = Coalescer::new(Timing::default());
        for i in 0..25 {
            c.add("log.txt".into(), false, t0 + ms(i * 10));
            assert!(c.take_due(t0 + ms(i * 10)).is_empty());
        }
        assert_eq!(c.take_due(t0 + ms(250)), [PathBuf::from("log.txt")]);
    }

    #[test]
    fn a_burst_becomes_one_change_set() {
        // The loop drains every queued event before asking what is due, so a checkout's
        // thousands of events arrive here together.
        let t0 = Instant::now();
        let mut c = Coalescer::new(Timing::default());
        for i in 0..1000 {
            c.add(
                format!("f{i:04}").into(),
                true,
                t0 + Duration::from_micros(i * 20),
            );
        }
        let end = t0 + Duration::from_micros(999 * 20);
        assert!(c.take_due(end).is_empty(), "held while the burst goes on");
        assert!(c.take_due(end + ms(19)).is_empty());
        assert_eq!(c.take_due(end + ms(20)).len(), 1000);
        assert!(c.is_empty());
    }

    #[test]
    fn a_small_batch_is_not_a_burst() {
        let t0 = Instant::now();
        let mut c = Coalescer::new(Timing::default());
        for i in 0..10 {
            c.add(format!("f{i}").into(), true, t0);
        }
        assert_eq!(c.take_due(t0).len(), 10);
    }

    /// `files` events, one every `gap`, with the loop asking after every event as a watch
    /// does: the change sets it was given, and when the last event came.
    fn taken_as_it_comes(c: &mut Coalescer, files: u32, gap: Duration) -> (usize, Instant) {
        let t0 = Instant::now();
        let mut sets = 0;
        let mut at = t0;
        for i in 0..files {
            at = t0 + gap * i;
            c.add(format!("f{i:04}").into(), true, at);
            if !c.take_due(at).is_empty() {
                sets += 1;
            }
        }
        (sets, at)
    }

    #[test]
    fn a_fast_stream_is_a_burst_even_when_taken_as_it_comes() {
        // A checkout writing 5 000 files in 0.5 s, with the loop asking after every event.
        let mut c = Coalescer::new(Timing::default());
        let (sets, end) = taken_as_it_comes(&mut c, 5000, Duration::from_micros(100));
        assert_eq!(c.take_due(end + ms(20)).len(), 5000 - 63);
        assert_eq!(
            sets, 63,
            "only the events before the rate is recognised go one by one"
        );
    }

    #[test]
    fn a_slower_stream_of_many_events_is_a_burst_too() {
        // A checkout on a busy machine: 3 000 files, one every 0.8 ms (16 per quiet period,
        // under the short window's 64), the loop asking after every event.
        let mut c = Coalescer::new(Timing::default());
        let (mut sets, end) = taken_as_it_comes(&mut c, 3000, Duration::from_micros(800));
        if !c.take_due(end + ms(20)).is_empty() {
            sets += 1;
        }
        assert!(c.is_empty());
        // 63 one by one until the rate is recognised, then one part per second of the burst
        // (2.4 s) and the rest when it goes quiet.
        assert!(sets <= 63 + 4, "{sets} change sets");
    }

    #[test]
    fn a_burst_longer_than_its_max_wait_is_let_through_in_parts() {
        let t0 = Instant::now();
        let mut c = Coalescer::new(Timing::default());
        for i in 0..100 {
            c.add(format!("f{i}").into(), true, t0);
        }
        c.add("late".into(), true, t0 + ms(999));
        assert!(c.take_due(t0 + ms(999)).is_empty());
        assert_eq!(c.take_due(t0 + ms(1000)).len(), 101);
    }
}
