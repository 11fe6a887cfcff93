//! Live sources for counters: an HTTP endpoint polled for JSON, or a file the campaign
//! exports, each read on its own background thread so the render thread never waits on I/O.
//!
//! Every reading becomes a [`FeedEvent`] handed to one sink. A fault never clears a
//! counter: the show keeps the last good value, and the log gets one warning per kind of
//! fault until the source reads well again.

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
const FILE_POLL: Duration = Duration::from_millis(500);
/// The longest a sleeping thread goes without looking at the stop flag.
const STOP_CHECK: Duration = Duration::from_millis(200);
/// A zero interval would hammer the server in a busy loop.
const MIN_INTERVAL: Duration = Duration::from_millis(1);

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
    let mut spawn = |counter: &str, shown: String, run: Box<dyn FnOnce(Reporter, Stop) + Send>| {
        let report = Reporter::new(counter, shown.clone(), &sink, &stop);
        let flag = Stop(stop.clone());
        let spawned = thread::Builder::new()
            .name(format!("feed {counter}"))
            .spawn(move || run(report, flag));
        match spawned {
            Ok(t) => threads.push(t),
            Err(e) => Reporter::new(counter, shown, &sink, &stop)
                .fault(FaultKind::Io, format!("cannot start a thread: {e}")),
        }
    };
    for src in http {
        let (counter, shown) = (src.counter.clone(), redact_url(&src.url));
        spawn(&counter, shown, Box::new(move |r, s| run_http(src, r, s)));
    }
    for src in files {
        let (counter, shown) = (src.counter.clone(), src.path.display().to_string());
        spawn(&counter, shown, Box::new(move |r, s| run_file(src, r, s)));
    }
    Feeds { stop, threads }
}

/// Hands events to the sink and keeps the log quiet: one warning per kind of fault until
/// the source reads well again, then one "recovered".
struct Reporter {
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

struct Stop(Arc<AtomicBool>);

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
fn backoff(interval: Duration, failures: u32) -> Duration {
    let interval = interval.max(MIN_INTERVAL);
    if failures == 0 {
        return interval;
    }
    let cap = MAX_BACKOFF.max(interval);
    let factor = 2u32.checked_pow(failures).unwrap_or(u32::MAX);
    interval.checked_mul(factor).unwrap_or(cap).min(cap)
}

// ---------------------------------------------------------------- HTTP

struct AuthHeader {
    name: HeaderName,
    /// Marked sensitive, so even a Debug print of it shows no value.
    value: HeaderValue,
}

fn run_http(src: HttpSource, mut report: Reporter, stop: Stop) {
    let header = match src.header.as_ref().map(auth_header).transpose() {
        Ok(h) => h,
        // Without the credential every request would be refused; better said once.
        Err(detail) => return report.fault(FaultKind::MissingEnv, detail),
    };
    if let Err(detail) = check_url(&src.url) {
        return report.fault(FaultKind::Connect, detail);
    }
    let agent: ureq::Agent = ureq::Agent::config_builder()
        // Status codes and redirects are ours to judge: see `fetch`.
        .http_status_as_error(false)
        .max_redirects(0)
        .user_agent(concat!("candela/", env!("CARGO_PKG_VERSION")))
        .accept("application/json")
        .build()
        .into();
    let mut failures: u32 = 0;
    loop {
        if stop.is_set() {
            return;
        }
        match fetch(&agent, &src, header.as_ref()) {
            Ok(v) => {
                failures = 0;
                report.value(v);
            }
            Err((kind, detail)) => {
                failures = failures.saturating_add(1);
                report.fault(kind, detail);
            }
        }
        if stop.sleep(backoff(src.interval, failures)) {
            return;
        }
    }
}

fn auth_header(h: &Header) -> Result<AuthHeader, String> {
    let name = HeaderName::from_bytes(h.name.as_bytes())
        .map_err(|_| format!("{:?} is not a valid HTTP header name", h.name))?;
    // std::env::var may misbehave on such names on some platforms.
    if h.env.is_empty() || h.env.contains(['=', '\0']) {
        return Err(format!(
            "{:?} is not a valid environment variable name",
            h.env
        ));
    }
    let raw = match std::env::var(&h.env) {
        Ok(v) => v,
        Err(std::env::VarError::NotPresent) => {
            return Err(format!(
                "environment variable {} (for header {}) is not set",
                h.env, h.name
            ));
        }
        Err(std::env::VarError::NotUnicode(_)) => {
            return Err(format!(
                "environment variable {} (for header {}) is not valid UTF-8",
                h.env, h.name
            ));
        }
    };
    if raw.trim().is_empty() {
        return Err(format!(
            "environment variable {} (for header {}) is empty",
            h.env, h.name
        ));
    }
    let mut value = HeaderValue::from_str(raw.trim()).map_err(|_| {
        format!(
            "environment variable {} holds characters not allowed in header {}",
            h.env, h.name
        )
    })?;
    value.set_sensitive(true);
    Ok(AuthHeader { name, value })
}

fn check_url(url: &str) -> Result<(), String> {
    let shown = redact_url(url);
    let uri: Uri = url
        .parse()
        .map_err(|e| format!("{shown} is not a valid URL: {e}"))?;
    match uri.scheme_str().map(str::to_ascii_lowercase).as_deref() {
        Some("http" | "https") => {}
        _ => return Err(format!("{shown}: only http:// and https:// URLs are read")),
    }
    if uri.host().is_none_or(str::is_empty) {
        return Err(format!("{shown} has no host"));
    }
    Ok(())
}

/// One reading: the request, redirects followed by hand, the body, the number in it.
///
/// Redirects are followed here rather than by ureq because ureq forwards every header but
/// Authorization to wherever a redirect points, and the token header may have any name.
fn fetch(
    agent: &ureq::Agent,
    src: &HttpSource,
    header: Option<&AuthHeader>,
) -> Result<u64, (FaultKind, String)> {
    let start = Instant::now();
    let timed_out = || {
        (
            FaultKind::Timeout,
            format!("no complete answer within {} ms", src.timeout.as_millis()),
        )
    };
    let mut url = src.url.clone();
    let mut send_header = true;
    for hop in 0..=MAX_REDIRECTS {
        let left = src.timeout.saturating_sub(start.elapsed());
        if left.is_zero() {
            return Err(timed_out());
        }
        let mut req = agent.get(url.as_str());
        if let (Some(h), true) = (header, send_header) {
            req = req.header(h.name.clone(), h.value.clone());
        }
        let mut resp = req
            .config()
            .timeout_global(Some(left))
            .build()
            .call()
            .map_err(|e| http_fault(e, src.timeout))?;
        let status = resp.status();
        if status.is_redirection() {
            if hop == MAX_REDIRECTS {
                return Err((
                    FaultKind::TooManyRedirects,
                    format!("more than {MAX_REDIRECTS} redirects (a redirect loop?)"),
                ));
            }
            let Some(location) = resp.headers().get(LOCATION).and_then(|l| l.to_str().ok()) else {
                return Err((
                    FaultKind::HttpStatus,
                    format!("{} without a usable Location", status_text(status)),
                ));
            };
            // A redirect nowhere we can follow is the server's answer, not a loop.
            let next = resolve_location(&url, location).map_err(|d| {
                (
                    FaultKind::HttpStatus,
                    format!("{}: {d}", status_text(status)),
                )
            })?;
            send_header &= may_keep_header(&url, &next);
            url = next;
            continue;
        }
        if !status.is_success() {
            return Err((FaultKind::HttpStatus, status_text(status)));
        }
        let body = resp
            .body_mut()
            .with_config()
            .limit(MAX_BODY)
            .read_to_vec()
            .map_err(|e| http_fault(e, src.timeout))?;
        return read_json(&body, &src.pointer);
    }
    // The loop returns on its last hop; this is only for the compiler.
    Err((
        FaultKind::TooManyRedirects,
        format!("more than {MAX_REDIRECTS} redirects"),
    ))
}

fn status_text(status: StatusCode) -> String {
    match status.canonical_reason() {
        Some(r) => format!("HTTP {} {r}", status.as_u16()),
        None => format!("HTTP {}", status.as_u16()),
    }
}

/// Details are written by hand for errors whose Display would show the URL (and with it a
/// token in the query string).
fn http_fault(e: ureq::Error, timeout: Duration) -> (FaultKind, String) {
    use ureq::Error as E;
    let timed_out = || {
        (
            FaultKind::Timeout,
            format!("no complete answer within {} ms", timeout.as_millis()),
        )
    };
    match e {
        E::Timeout(_) => timed_out(),
        E::Io(io)
            if matches!(
                io.kind(),
                std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock
            ) =>
        {
            timed_out()
        }
        E::Io(io) => (FaultKind::Connect, io.to_string()),
        E::HostNotFound => (FaultKind::Connect, "host not found".into()),
        E::ConnectionFailed => (FaultKind::Connect, "connection failed".into()),
        E::BadUri(_) | E::Http(_) => (FaultKind::Connect, "invalid URL".into()),
        E::RequireHttpsOnly(_) => (FaultKind::Connect, "https required".into()),
        E::TooManyRedirects => (
            FaultKind::TooManyRedirects,
            format!("more than {MAX_REDIRECTS} redirects"),
        ),
        E::StatusCode(code) => (FaultKind::HttpStatus, format!("HTTP {code}")),
        E::BodyExceedsLimit(_) => (
            FaultKind::NotJson,
            format!(
                "the answer is larger than {} KiB, not a small JSON document",
                MAX_BODY / 1024
            ),
        ),
        E::Decompress(..) => (
            FaultKind::NotJson,
            "the answer's compressed body is broken".into(),
        ),
        E::Protocol(p) => (FaultKind::Connect, format!("not a valid HTTP answer: {p}")),
        other => (FaultKind::Connect, other.to_string()),
    }
}

/// The URL as it may be logged: scheme://host/path, without credentials, query or fragment.
fn redact_url(url: &str) -> String {
    let cut = |s: &str| s.split(['?', '#']).next().unwrap_or("").to_owned();
    match split_url(url) {
        Some((scheme, authority, rest)) => {
            let host = authority.rsplit('@').next().unwrap_or("");
            format!("{scheme}://{host}{}", cut(rest))
        }
        None => cut(url),
    }
}

/// (scheme, authority, path-query-fragment) of an absolute URL.
fn split_url(url: &str) -> Option<(&str, &str, &str)> {
    let (scheme, rest) = url.split_once("://")?;
    if scheme.is_empty()
        || !scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
    {
        return None;
    }
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    Some((scheme, &rest[..end], &rest[end..]))
}

/// The absolute URL a Location header points to, from the URL that answered with it
/// (RFC 3986 resolution by the `url` crate: `../`, `./`, `//host`, `?query` and all).
fn resolve_location(base: &str, location: &str) -> Result<String, String> {
    let bad = || "a redirect to an invalid URL".to_owned();
    let next = url::Url::parse(base)
        .and_then(|base| base.join(location.trim()))
        .map_err(|_| bad())?;
    if !matches!(next.scheme(), "http" | "https") {
        return Err("a redirect to a URL that is not http:// or https://".into());
    }
    check_url(next.as_str()).map_err(|_| bad())?;
    Ok(next.into())
}

/// The credential header goes only to the host it was meant for, and never from https
/// down to plain http.
fn may_keep_header(from: &str, to: &str) -> bool {
    let (Ok(from), Ok(to)) = (url::Url::parse(from), url::Url::parse(to)) else {
        return false;
    };
    from.host_str().is_some()
        && from.host_str() == to.host_str()
        && (from.scheme() == to.scheme() || to.scheme() == "https")
}

// ---------------------------------------------------------------- files

/// What says a file changed without reading it.
type Stamp = (Option<SystemTime>, u64);

fn run_file(src: FileSource, mut report: Reporter, stop: Stop) {
    let csv = src
        .path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("csv"));
    let mut last_stamp: Option<Option<Stamp>> = None;
    let mut last_fault: Option<FaultKind> = None;
    loop {
        if stop.is_set() {
            return;
        }
        let meta = std::fs::metadata(&src.path);
        let stamp = meta.as_ref().ok().map(|m| (m.modified().ok(), m.len()));
        let changed = last_stamp != Some(stamp);
        // After a fault the file is read every time, so a half-written export that is
        // finished without its size or time changing still clears.
        if changed || last_fault.is_some() {
            last_stamp = Some(stamp);
            let reading = match meta {
                Err(e) => Err((
                    FaultKind::Io,
                    format!("cannot read {}: {e}", src.path.display()),
                )),
                Ok(_) => read_file(&src, csv),
            };
            match reading {
                Ok(v) => {
                    last_fault = None;
                    report.value(v);
                }
                Err((kind, detail)) => {
                    // Re-reading an unchanged broken file says nothing new.
                    if changed || last_fault != Some(kind) {
                        report.fault(kind, detail);
                    }
                    last_fault = Some(kind);
                }
            }
        }
        if stop.sleep(FILE_POLL) {
            return;
        }
    }
}

fn read_file(src: &FileSource, csv: bool) -> Result<u64, (FaultKind, String)> {
    let path = &src.path;
    let io = |e: std::io::Error| {
        (
            FaultKind::Io,
            format!("cannot read {}: {e}", path.display()),
        )
    };
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .map_err(io)?
        .take(MAX_BODY + 1)
        .read_to_end(&mut bytes)
        .map_err(io)?;
    if bytes.len() as u64 > MAX_BODY {
        return Err((
            FaultKind::Io,
            format!("{} is larger than {} KiB", path.display(), MAX_BODY / 1024),
        ));
    }
    if csv {
        // Spreadsheets export in legacy encodings too; the ids and digits are ASCII.
        read_csv(&String::from_utf8_lossy(&bytes), &src.counter)
    } else {
        read_json(&bytes, src.pointer.as_deref().unwrap_or(""))
    }
}

// ---------------------------------------------------------------- parsing

/// Parses one reading: the number at `pointer` (RFC 6901; "" is the whole document) in a
/// JSON document. Only a whole number from 0 to 2^53 is a count.
pub fn read_json(body: &[u8], pointer: &str) -> Result<u64, (FaultKind, String)> {
    // Windows tools write a byte order mark that JSON does not allow.
    let body = body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body);
    let doc: Json = serde_json::from_slice(body).map_err(|e| not_json(body, &e))?;
    let value = lookup(&doc, pointer)?;
    count_from_json(value, pointer)
}

/// Never quotes the body: an error page may echo the request, credentials included.
fn not_json(body: &[u8], e: &serde_json::Error) -> (FaultKind, String) {
    let start = body.iter().position(|b| !b.is_ascii_whitespace());
    let detail = match start.map(|i| body[i]) {
        None => "empty, not JSON".to_owned(),
        Some(b'<') => "HTML or XML, not JSON (an error page?)".to_owned(),
        Some(_) if e.is_eof() => {
            format!("the JSON document is cut short (still being written?): {e}")
        }
        Some(_) => format!("not JSON: {e}"),
    };
    (FaultKind::NotJson, detail)
}

/// `doc`'s value at `pointer` (serde_json's RFC 6901 lookup); when there is none, the walk
/// below finds where it stops, to say so.
fn lookup<'a>(doc: &'a Json, pointer: &str) -> Result<&'a Json, (FaultKind, String)> {
    if let Some(value) = doc.pointer(pointer) {
        return Ok(value);
    }
    if !pointer.starts_with('/') {
        return Err((
            FaultKind::MissingValue,
            format!("JSON pointer {pointer:?} must be empty or start with \"/\""),
        ));
    }
    let mut cur = doc;
    let mut at = String::new();
    for raw in pointer.split('/').skip(1) {
        // RFC 6901: "~1" first, so that "~01" becomes "~1" and not "/".
        let key = raw.replace("~1", "/").replace("~0", "~");
        let place = if at.is_empty() { "the document" } else { &at };
        let next = match cur {
            Json::Object(map) => map
                .get(&key)
                .ok_or_else(|| format!("no {key:?} in {place}")),
            Json::Array(items) => array_index(&key).and_then(|i| items.get(i)).ok_or_else(|| {
                format!(
                    "no item {key:?} in the list at {place} ({} items)",
                    items.len()
                )
            }),
            other => Err(format!(
                "{place} is {}, nothing to look {key:?} up in",
                json_kind(other)
            )),
        };
        cur = next.map_err(|d| (FaultKind::MissingValue, format!("{d} (pointer {pointer})")))?;
        at.push('/');
        at.push_str(raw);
    }
    Ok(cur)
}

/// RFC 6901 array indices: digits, no leading zero.
fn array_index(token: &str) -> Option<usize> {
    if token.is_empty()
        || !token.bytes().all(|b| b.is_ascii_digit())
        || (token.len() > 1 && token.starts_with('0'))
    {
        return None;
    }
    token.parse().ok()
}

fn json_kind(v: &Json) -> &'static str {
    match v {
        Json::Null => "null",
        Json::Bool(_) => "true or false",
        Json::Number(_) => "a number",
        Json::String(_) => "a string",
        Json::Array(_) => "a list",
        Json::Object(_) => "an object",
    }
}

fn count_from_json(v: &Json, pointer: &str) -> Result<u64, (FaultKind, String)> {
    let at = if pointer.is_empty() {
        "the document"
    } else {
        pointer
    };
    match v {
        Json::Number(n) => {
            if let Some(u) = n.as_u64() {
                check_max(u, &n.to_string())
            } else if n.as_i64().is_some() {
                Err(negative(&n.to_string()))
            } else {
                count_from_f64(n.as_f64().unwrap_or(f64::NAN), &n.to_string())
            }
        }
        Json::String(s) => Err((
            FaultKind::NotACount,
            format!("{at} is a string ({}), not a number", quote_short(s)),
        )),
        other => Err((
            FaultKind::NotACount,
            format!("{at} is {}, not a number", json_kind(other)),
        )),
    }
}

fn check_max(u: u64, text: &str) -> Result<u64, (FaultKind, String)> {
    if u > MAX_COUNT {
        Err((
            FaultKind::NotACount,
            format!("{text} is larger than 2^53 ({MAX_COUNT}), too large to be exact"),
        ))
    } else {
        Ok(u)
    }
}

fn negative(text: &str) -> (FaultKind, String) {
    (
        FaultKind::NotACount,
        format!("{text} is negative; a count is 0 or more"),
    )
}

/// Accepts 89734.0 and 8.9734e4: some exporters write every number as a float.
fn count_from_f64(x: f64, text: &str) -> Result<u64, (FaultKind, String)> {
    if !x.is_finite() {
        Err((
            FaultKind::NotACount,
            format!("{text} is not a finite number"),
        ))
    } else if x < 0.0 {
        Err(negative(text))
    } else if x.fract() != 0.0 {
        Err((
            FaultKind::NotACount,
            format!("{text} is a fraction, not a whole count"),
        ))
    } else if x > MAX_COUNT as f64 {
        Err((
            FaultKind::NotACount,
            format!("{text} is larger than 2^53 ({MAX_COUNT}), too large to be exact"),
        ))
    } else {
        // Whole and within 0..=2^53, so exact.
        Ok(x as u64)
    }
}

fn quote_short(s: &str) -> String {
    const MAX: usize = 40;
    if s.chars().count() <= MAX {
        format!("{s:?}")
    } else {
        let head: String = s.chars().take(MAX).collect();
        format!("{head:?}…")
    }
}

/// Parses one reading from CSV: the second column of the row whose first column is
/// `counter`. Rows whose value is not a count (a header row) are passed over while another
/// row for the counter has one. Commas, semicolons or tabs separate columns (whichever the
/// first line uses most), and fields may be quoted.
pub fn read_csv(body: &str, counter: &str) -> Result<u64, (FaultKind, String)> {
    let body = body.strip_prefix('\u{feff}').unwrap_or(body);
    let delimiter = guess_delimiter(body);
    let counter = counter.trim();
    let mut first_bad = None;
    for record in reader(body, delimiter).records() {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                first_bad.get_or_insert((FaultKind::NotACount, format!("not CSV: {e}")));
                continue;
            }
        };
        if record.get(0) != Some(counter) {
            continue;
        }
        let line = record.position().map_or(0, |p| p.line());
        let reading = match record.get(1) {
            Some(v) => count_from_text(v).map_err(|(k, d)| (k, format!("line {line}: {d}"))),
            None => Err((
                FaultKind::MissingValue,
                format!("line {line}: the row for {counter:?} has no second column"),
            )),
        };
        match reading {
            Ok(v) => return Ok(v),
            Err(e) => {
                first_bad.get_or_insert(e);
            }
        }
    }
    Err(first_bad.unwrap_or_else(|| {
        (
            FaultKind::MissingValue,
            format!("no row whose first column is {counter:?}"),
        )
    }))
}

/// CSV as spreadsheets export it: no header, rows of any length, fields trimmed.
fn reader(body: &str, delimiter: u8) -> csv::Reader<&[u8]> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .trim(csv::Trim::All)
        .delimiter(delimiter)
        .from_reader(body.as_bytes())
}

/// The delimiter that splits the first non-empty line into the most fields (comma on a tie):
/// French spreadsheets write semicolons.
fn guess_delimiter(body: &str) -> u8 {
    let first = body.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    let count = |d: u8| {
        reader(first, d)
            .records()
            .next()
            .and_then(Result::ok)
            .map_or(0, |r| r.len())
    };
    [b',', b';', b'\t']
        .into_iter()
        .max_by_key(|&d| (count(d), d == b','))
        .unwrap_or(b',')
}

fn count_from_text(text: &str) -> Result<u64, (FaultKind, String)> {
    let t = text.trim();
    if t.is_empty() {
        return Err((FaultKind::NotACount, "the value is empty".into()));
    }
    if t.bytes().all(|b| b.is_ascii_digit()) {
        return match t.parse::<u64>() {
            Ok(u) => check_max(u, t),
            Err(_) => Err((
                FaultKind::NotACount,
                format!("{t} is larger than 2^53 ({MAX_COUNT}), too large to be exact"),
            )),
        };
    }
    let lower = t.to_ascii_lowercase();
    // Rust would read these as floats; to a person they are words.
    let word = lower.trim_start_matches(['+', '-']);
    if word.starts_with("inf") || word.starts_with("nan") {
        return Err((
            FaultKind::NotACount,
            format!("{} is not a number", quote_short(t)),
        ));
    }
    match t.parse::<f64>() {
        Ok(x) => count_from_f64(x, t),
        Err(_) => Err((
            FaultKind::NotACount,
            format!("{} is not a number", quote_short(t)),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn the_credential_stays_with_its_host() {
        assert!(may_keep_header("http://h:1/a", "http://h:1/b"));
        assert!(may_keep_header("http://h/a", "https://h/b"));
        assert!(!may_keep_header("https://h/a", "http://h/b"));
        assert!(!may_keep_header("https://h/a", "https://evil/b"));
        assert!(may_keep_header("http://[::1]:8/a", "http://[::1]:9/b"));
    }
}
