//! Live sources for counters: an HTTP endpoint polled for JSON, or a file the campaign
//! exports, each read on its own background thread so the render thread never waits on I/O.
//!
//! Every reading becomes a [`FeedEvent`] handed to one sink. A fault never clears a
//! counter: the show keeps the last good value, and the log gets one warning per kind of
//! fault until the source reads well again.

mod file;
mod http;
mod parse;

use file::*;
use http::*;
pub use parse::{read_csv, read_json};

use std::collections::HashSet;
use std::fmt;
use std::io::Read;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant, SystemTime};

use serde_json::Value as Json;
use ureq::http::{HeaderName, HeaderValue, StatusCode, Uri, header::LOCATION};

// The feeds' settings are the show file's plain types; this module only runs them.
pub use crate::show::{FileSource, Header, HttpSource};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FaultKind {
    Timeout,
    Connect,
    HttpStatus,
    TooManyRedirects,
    NotJson,
    MissingValue,
    NotACount,
    Io,
    MissingEnv,
}

impl fmt::Display for FaultKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FaultKind::Timeout => "timeout",
            FaultKind::Connect => "cannot connect",
            FaultKind::HttpStatus => "HTTP status",
            FaultKind::TooManyRedirects => "too many redirects",
            FaultKind::NotJson => "not JSON",
            FaultKind::MissingValue => "missing value",
            FaultKind::NotACount => "not a count",
            FaultKind::Io => "I/O",
            FaultKind::MissingEnv => "missing environment variable",
        })
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum FeedEvent {
    /// A good reading.
    Value { counter: String, value: u64 },
    /// A failed reading; the last good value stays.
    Fault {
        counter: String,
        kind: FaultKind,
        detail: String,
    },
}

impl FeedEvent {
    pub fn counter(&self) -> &str {
        match self {
            FeedEvent::Value { counter, .. } | FeedEvent::Fault { counter, .. } => counter,
        }
    }
}

/// The largest count: past 2^53 a JSON number (an f64 to most producers) is no longer exact.
pub const MAX_COUNT: u64 = 1 << 53;
/// Larger answers are not the small document a count lives in, and must not eat memory.
pub const MAX_BODY: u64 = 1 << 20;
pub const MAX_REDIRECTS: u32 = 5;
pub const MAX_BACKOFF: Duration = Duration::from_secs(300);
pub(super) const FILE_POLL: Duration = Duration::from_millis(500);
/// The longest a sleeping thread goes without looking at the stop flag.
pub(super) const STOP_CHECK: Duration = Duration::from_millis(200);
/// A zero interval would hammer the server in a busy loop.
pub(super) const MIN_INTERVAL: Duration = Duration::from_millis(1);

/// The running sources. Dropping it tells every thread to stop: a sleeping one ends at once,
/// one in the middle of a request ends when that request does (within its `timeout`), and
/// none hands the sink an event after it has seen the stop (one already being handed over
/// may still arrive). Dropping never blocks; [`Feeds::shutdown`] waits.
#[derive(Debug)]
pub struct Feeds {
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
}

impl Feeds {
    /// Stops every source and waits up to `wait` for their threads to end; false if some
    /// are still running then (they still end on their own).
    pub fn shutdown(mut self, wait: Duration) -> bool {
        self.signal();
        let deadline = Instant::now().checked_add(wait);
        loop {
            if self.threads.iter().all(|t| t.is_finished()) {
                for t in std::mem::take(&mut self.threads) {
                    let _ = t.join();
                }
                return true;
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                return false;
            }
            thread::sleep(Duration::from_millis(5));
        }
    }

    fn signal(&self) {
        self.stop.store(true, Ordering::SeqCst);
        for t in &self.threads {
            t.thread().unpark();
        }
    }
}

impl Drop for Feeds {
    fn drop(&mut self) {
        self.signal();
    }
}

/// Starts every source on its own background thread and calls `sink` with each event, from
/// those threads.
pub fn start(
    http: Vec<HttpSource>,
    files: Vec<FileSource>,
    sink: Arc<dyn Fn(FeedEvent) + Send + Sync>,
) -> Feeds {
    let stop = Arc::new(AtomicBool::new(false));
    let mut threads = Vec::new();
    // A feed that panics is logged and started again, with a backoff (crate::task): one bad
    // source never takes the show, or the other feeds, down.
    let mut spawn = |counter: &str, shown: String, run: Box<dyn Fn(Reporter, Stop) + Send>| {
        let (sink_, stop_) = (sink.clone(), stop.clone());
        let (name, source) = (counter.to_owned(), shown.clone());
        let spawned = thread::Builder::new()
            .name(format!("feed {counter}"))
            .spawn(move || {
                crate::task::restarting(
                    &format!("the feed for counter {name:?}"),
                    || stop_.load(Ordering::SeqCst),
                    || {
                        let report = Reporter::new(&name, source.clone(), &sink_, &stop_);
                        run(report, Stop(stop_.clone()));
                        Ok(())
                    },
                )
            });
        match spawned {
            Ok(t) => threads.push(t),
            Err(e) => Reporter::new(counter, shown, &sink, &stop)
                .fault(FaultKind::Io, format!("cannot start a thread: {e}")),
        }
    };
    for src in http {
        let (counter, shown) = (src.counter.clone(), redact_url(&src.url));
        spawn(
            &counter,
            shown,
            Box::new(move |r, s| run_http(src.clone(), r, s)),
        );
    }
    for src in files {
        let (counter, shown) = (src.counter.clone(), src.path.display().to_string());
        spawn(
            &counter,
            shown,
            Box::new(move |r, s| run_file(src.clone(), r, s)),
        );
    }
    Feeds { stop, threads }
}

/// Hands events to the sink and keeps the log quiet: one warning per kind of fault until
/// the source reads well again, then one "recovered".
pub(super) struct Reporter {
    counter: String,
    /// Where the readings come from, safe to log (no query string, no credentials).
    source: String,
    sink: Arc<dyn Fn(FeedEvent) + Send + Sync>,
    stop: Arc<AtomicBool>,
    warned: HashSet<FaultKind>,
}

impl Reporter {
    fn new(
        counter: &str,
        source: String,
        sink: &Arc<dyn Fn(FeedEvent) + Send + Sync>,
        stop: &Arc<AtomicBool>,
    ) -> Reporter {
        Reporter {
            counter: counter.to_owned(),
            source,
            sink: sink.clone(),
            stop: stop.clone(),
            warned: HashSet::new(),
        }
    }

    fn value(&mut self, value: u64) {
        if !self.warned.is_empty() {
            tracing::info!(
                counter = %self.counter,
                source = %self.source,
                "feed for {:?} recovered",
                self.counter
            );
            self.warned.clear();
        }
        self.send(FeedEvent::Value {
            counter: self.counter.clone(),
            value,
        });
    }

    fn fault(&mut self, kind: FaultKind, detail: String) {
        if self.warned.insert(kind) {
            tracing::warn!(
                counter = %self.counter,
                source = %self.source,
                kind = ?kind,
                "feed for {:?}: {kind}: {detail}",
                self.counter
            );
        }
        self.send(FeedEvent::Fault {
            counter: self.counter.clone(),
            kind,
            detail,
        });
    }

    fn send(&self, event: FeedEvent) {
        if !self.stop.load(Ordering::SeqCst) {
            (self.sink)(event);
        }
    }
}

pub(super) struct Stop(Arc<AtomicBool>);

impl Stop {
    fn is_set(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }

    /// Sleeps for `d` unless told to stop first; true when stopped.
    fn sleep(&self, d: Duration) -> bool {
        // A duration too long to add to now is a sleep until the stop.
        let deadline = Instant::now().checked_add(d);
        loop {
            if self.is_set() {
                return true;
            }
            let left = match deadline {
                Some(d) => d.saturating_duration_since(Instant::now()),
                None => STOP_CHECK,
            };
            if left.is_zero() {
                return false;
            }
            // Feeds unparks on stop; the cap covers a stop that raced the flag check.
            thread::park_timeout(left.min(STOP_CHECK));
        }
    }
}

/// The wait before the next try after `failures` failures in a row.
pub(super) fn backoff(interval: Duration, failures: u32) -> Duration {
    let interval = interval.max(MIN_INTERVAL);
    if failures == 0 {
        return interval;
    }
    let cap = MAX_BACKOFF.max(interval);
    let factor = 2u32.checked_pow(failures).unwrap_or(u32::MAX);
    interval.checked_mul(factor).unwrap_or(cap).min(cap)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_feed_that_panics_is_started_again() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("counts.csv");
        std::fs::write(&path, "letters,42\n").unwrap();
        let calls = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let (sender, received) = std::sync::mpsc::channel();
        let sender = std::sync::Mutex::new(sender);
        let counted = calls.clone();
        // The first reading finds a bug downstream; the task must survive it.
        let sink: Arc<dyn Fn(FeedEvent) + Send + Sync> = Arc::new(move |event| {
            if counted.fetch_add(1, Ordering::SeqCst) == 0 {
                panic!("a bug in the sink");
            }
            let _ = sender.lock().unwrap().send(event);
        });
        let file = FileSource {
            counter: "letters".into(),
            path,
            pointer: None,
        };
        let feeds = start(vec![], vec![file], sink);
        let event = received.recv_timeout(Duration::from_secs(10)).unwrap();
        assert_eq!(
            event,
            FeedEvent::Value {
                counter: "letters".into(),
                value: 42
            }
        );
        assert!(calls.load(Ordering::SeqCst) >= 2);
        assert!(feeds.shutdown(Duration::from_secs(5)));
    }

    #[test]
    fn backoff_doubles_from_the_interval_and_stops_at_five_minutes() {
        let i = Duration::from_millis(50);
        assert_eq!(backoff(i, 0), i);
        assert_eq!(backoff(i, 1), i * 2);
        assert_eq!(backoff(i, 3), i * 8);
        assert_eq!(backoff(i, 40), MAX_BACKOFF);
        assert_eq!(backoff(i, u32::MAX), MAX_BACKOFF);
        let hour = Duration::from_secs(3600);
        assert_eq!(backoff(hour, 0), hour);
        assert_eq!(backoff(hour, 5), hour, "never sooner than the interval");
        assert_eq!(backoff(Duration::ZERO, 0), MIN_INTERVAL);
        assert_eq!(backoff(Duration::MAX, 9), Duration::MAX);
    }

    #[test]
    fn logged_urls_lose_credentials_query_and_fragment() {
        assert_eq!(
            redact_url("https://user:pw@api.example.org:8443/v1/counts?token=abc#x"),
            "https://api.example.org:8443/v1/counts"
        );
        assert_eq!(redact_url("http://h?k=v"), "http://h");
        assert_eq!(redact_url("not a url?k=v"), "not a url");
    }

    #[test]
    fn locations_resolve_against_the_url_that_redirected() {
        let base = "http://h:1/a/b?q=1";
        let r = |l: &str| resolve_location(base, l);
        assert_eq!(r("/x").unwrap(), "http://h:1/x");
        assert_eq!(r("c").unwrap(), "http://h:1/a/c");
        assert_eq!(r("?z").unwrap(), "http://h:1/a/b?z");
        assert_eq!(r("//other/y").unwrap(), "http://other/y");
        assert_eq!(r("https://o/p").unwrap(), "https://o/p");
        assert_eq!(r("../up").unwrap(), "http://h:1/up");
        assert_eq!(r("./c/../d?e").unwrap(), "http://h:1/a/d?e");
        assert!(r("ftp://o/p").is_err());
        assert!(r("javascript:alert(1)").is_err());
    }

    #[test]
    fn redirects_stay_on_their_host_and_port() {
        assert!(stays_home("http://h:1/a", "http://h:1/b"));
        assert!(stays_home("http://h/a", "https://h/b"), "an upgrade");
        assert!(stays_home("https://h/a", "https://h:443/b"));
        assert!(!stays_home("http://h:1/a", "http://h:2/a"));
        assert!(!stays_home("http://h:8080/a", "https://h/a"));
        assert!(!stays_home("https://h/a", "http://h/a"));
        assert!(!stays_home("http://h/a", "http://127.0.0.1/a"));
        assert!(!stays_home("http://h/a", "http://h.evil/a"));
    }

    #[test]
    fn the_credential_stays_with_its_host() {
        assert!(may_keep_header("http://h:1/a", "http://h:1/b"));
        assert!(may_keep_header("http://h/a", "https://h/b"));
        assert!(!may_keep_header("https://h/a", "http://h/b"));
        assert!(!may_keep_header("https://h/a", "https://evil/b"));
        assert!(may_keep_header("http://[::1]:8/a", "http://[::1]:9/b"));
    }
}
