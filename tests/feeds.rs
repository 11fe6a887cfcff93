//! Count feeds against real parts: a small HTTP/1.1 server on 127.0.0.1 playing a script of
//! answers, real files in a temporary folder, and the log the feeds write.

mod support;

use candela::counts::feed::*;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Once};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

// ---------------------------------------------------------------- a scripted HTTP server

#[derive(Clone)]
struct Reply {
    status: u16,
    content_type: &'static str,
    body: String,
    location: Option<String>,
    delay: Duration,
}

fn json(body: &str) -> Reply {
    Reply {
        status: 200,
        content_type: "application/json",
        body: body.to_owned(),
        location: None,
        delay: Duration::ZERO,
    }
}

fn status(code: u16) -> Reply {
    Reply {
        status: code,
        ..json(r#"{"error":"boom"}"#)
    }
}

fn html() -> Reply {
    Reply {
        content_type: "text/html",
        ..json("<!DOCTYPE html><html><body><h1>Bad gateway</h1></body></html>")
    }
}

fn redirect(to: &str) -> Reply {
    Reply {
        status: 302,
        location: Some(to.to_owned()),
        ..json("")
    }
}

fn slow(delay: Duration, reply: Reply) -> Reply {
    Reply { delay, ..reply }
}

struct Request {
    path: String,
    headers: Vec<(String, String)>,
    at: Instant,
}

impl Request {
    fn header(&self, name: &str) -> Option<&str> {
        support::header(&self.headers, name)
    }
}

/// Answers requests for /feed… with the script, one reply each, the last one again once
/// the script is spent; /loop always redirects to itself.
struct Server {
    base: String,
    seen: Arc<Mutex<Vec<Request>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Server {
    fn start(script: Vec<Reply>) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        // Non-blocking, so the accept loop can see the stop flag.
        listener.set_nonblocking(true).unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (seen, stop) = (seen.clone(), stop.clone());
            thread::spawn(move || {
                let mut next = 0;
                while !stop.load(Ordering::SeqCst) {
                    let stream = match listener.accept() {
                        Ok((s, _)) => s,
                        Err(_) => {
                            thread::sleep(Duration::from_millis(2));
                            continue;
                        }
                    };
                    let Some(request) = read_request(&stream) else {
                        continue;
                    };
                    let reply = if request.path.starts_with("/loop") {
                        redirect("/loop")
                    } else {
                        let r = script[next.min(script.len() - 1)].clone();
                        next += 1;
                        r
                    };
                    seen.lock().unwrap().push(request);
                    // Its own thread, so a slow reply holds up no later request.
                    thread::spawn(move || answer(stream, &reply));
                }
            })
        };
        Server {
            base,
            seen,
            stop,
            thread: Some(thread),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn count(&self, prefix: &str) -> usize {
        let seen = self.seen.lock().unwrap();
        seen.iter().filter(|r| r.path.starts_with(prefix)).count()
    }

    fn arrivals(&self, prefix: &str) -> Vec<Instant> {
        let seen = self.seen.lock().unwrap();
        seen.iter()
            .filter(|r| r.path.starts_with(prefix))
            .map(|r| r.at)
            .collect()
    }

    fn wait_for_requests(&self, prefix: &str, n: usize, within: Duration) {
        let deadline = Instant::now() + within;
        while self.count(prefix) < n {
            assert!(
                Instant::now() < deadline,
                "the server saw {} requests for {prefix}, wanted {n} within {within:?}",
                self.count(prefix)
            );
            thread::sleep(Duration::from_millis(5));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn read_request(mut stream: &TcpStream) -> Option<Request> {
    let at = Instant::now();
    stream.set_nonblocking(false).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut chunk).ok()?;
        if n == 0 || buf.len() > 64 * 1024 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let text = String::from_utf8_lossy(&buf);
    let mut lines = text.split("\r\n");
    let path = lines.next()?.split(' ').nth(1)?.to_owned();
    let headers = lines
        .take_while(|l| !l.is_empty())
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
        .collect();
    Some(Request { path, headers, at })
}

fn answer(mut stream: TcpStream, reply: &Reply) {
    thread::sleep(reply.delay);
    let reason = match reply.status {
        200 => "OK",
        302 => "Found",
        500 => "Internal Server Error",
        _ => "Whatever",
    };
    let location = match &reply.location {
        Some(l) => format!("Location: {l}\r\n"),
        None => String::new(),
    };
    let head = format!(
        "HTTP/1.1 {} {reason}\r\nContent-Type: {}\r\nContent-Length: {}\r\n{location}Connection: close\r\n\r\n",
        reply.status,
        reply.content_type,
        reply.body.len()
    );
    // The client may have given up already (the timeout case); that is fine.
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(reply.body.as_bytes());
    let _ = stream.flush();
    let _ = stream.shutdown(std::net::Shutdown::Both);
}

// ---------------------------------------------------------------- events and logs

#[derive(Clone, Default)]
struct Events(Arc<Mutex<Vec<FeedEvent>>>);

impl Events {
    fn sink(&self) -> Arc<dyn Fn(FeedEvent) + Send + Sync> {
        let events = self.0.clone();
        Arc::new(move |e| events.lock().unwrap().push(e))
    }

    /// The events of one counter, written short: "value 12", "fault NotJson".
    fn of(&self, counter: &str) -> Vec<String> {
        let events = self.0.lock().unwrap();
        events
            .iter()
            .filter(|e| e.counter() == counter)
            .map(short)
            .collect()
    }

    fn all(&self) -> Vec<FeedEvent> {
        self.0.lock().unwrap().clone()
    }

    fn wait_for(&self, counter: &str, want: &str, within: Duration) -> Vec<String> {
        let deadline = Instant::now() + within;
        loop {
            let seen = self.of(counter);
            if seen.iter().any(|s| s == want) {
                return seen;
            }
            assert!(
                Instant::now() < deadline,
                "no {want:?} for {counter} within {within:?}; saw {seen:?}"
            );
            thread::sleep(Duration::from_millis(5));
        }
    }
}

fn short(e: &FeedEvent) -> String {
    match e {
        FeedEvent::Value { value, .. } => format!("value {value}"),
        FeedEvent::Fault { kind, .. } => format!("fault {kind:?}"),
    }
}

fn log_lines(counter: &str) -> Vec<String> {
    let needle = format!("feed for {counter:?}");
    support::logs::all()
        .lines()
        .filter(|l| l.contains(&needle))
        .map(str::to_owned)
        .collect()
}

const SECRET_ENV: &str = "CANDELA_FEEDS_TEST_TOKEN_7F3A";
const SECRET: &str = "s3cret-7f3a-do-not-log";

fn set_secret_env() {
    static INIT: Once = Once::new();
    INIT.call_once(|| {
        // SAFETY: set once, before any feed of this test binary reads it. The other threads
        // alive then read the environment only through std (which takes std's env lock), and
        // connect to IP literals only, so no libc getaddrinfo reads it behind std's back.
        unsafe { std::env::set_var(SECRET_ENV, SECRET) };
    });
}

fn http(
    counter: &str,
    url: String,
    pointer: &str,
    interval_ms: u64,
    timeout_ms: u64,
) -> HttpSource {
    HttpSource {
        counter: counter.to_owned(),
        url,
        pointer: pointer.to_owned(),
        interval: Duration::from_millis(interval_ms),
        timeout: Duration::from_millis(timeout_ms),
        header: None,
    }
}

// ---------------------------------------------------------------- HTTP

#[test]
fn http_source_reads_through_every_fault_and_back() {
    support::logs::capture();
    set_secret_env();
    let doc = |letters: &str| format!(r#"{{"cases":{{"yorm-bopha":{{"letters":{letters}}}}}}}"#);
    let server = Server::start(vec![
        json(&doc("89734")),
        slow(Duration::from_millis(1500), json(&doc("89735"))),
        status(500),
        redirect("/loop"),
        html(),
        json(r#"{"cases":{"yorm-bopha":{"emails":12}}}"#),
        json(&doc(r#""89734""#)),
        json(&doc("-5")),
        json(&doc("12.5")),
        json(&doc("1e30")),
        json(&doc("null")),
        json(&doc("89801")),
    ]);
    let events = Events::default();
    let mut source = http(
        "yorm-bopha",
        // A token in the query string, which must not reach the log either.
        server.url("/feed?token=qtok-5e1f"),
        "/cases/yorm-bopha/letters",
        // Short, so that ten doublings of back-off still take only about two seconds.
        1,
        400,
    );
    source.header = Some(Header {
        name: "X-Api-Token".into(),
        env: SECRET_ENV.into(),
    });
    let feeds = start(vec![source], vec![], events.sink());

    let seen = events.wait_for("yorm-bopha", "value 89801", Duration::from_secs(9));
    let upto = seen.iter().position(|s| s == "value 89801").unwrap();
    assert_eq!(
        seen[..=upto],
        [
            "value 89734",
            "fault Timeout",
            "fault HttpStatus",
            "fault TooManyRedirects",
            "fault NotJson",
            "fault MissingValue",
            "fault NotACount", // a string
            "fault NotACount", // negative
            "fault NotACount", // a fraction
            "fault NotACount", // 1e30
            "fault NotACount", // null
            "value 89801",
        ]
    );
    drop(feeds);

    // The redirect loop: the first 302 and five more followed, then given up.
    assert_eq!(server.count("/loop"), 5);
    let seen = server.seen.lock().unwrap();
    assert!(seen.len() >= 16);
    for r in seen.iter() {
        assert_eq!(r.header("x-api-token"), Some(SECRET), "{}", r.path);
    }
    drop(seen);

    let faults: Vec<(FaultKind, String)> = events
        .all()
        .into_iter()
        .filter_map(|e| match e {
            FeedEvent::Fault { kind, detail, .. } => Some((kind, detail)),
            FeedEvent::Value { .. } => None,
        })
        .collect();
    let detail = |k: FaultKind| &faults.iter().find(|f| f.0 == k).unwrap().1;
    assert!(detail(FaultKind::HttpStatus).contains("500"));
    assert!(detail(FaultKind::NotJson).contains("HTML"));
    assert!(detail(FaultKind::MissingValue).contains("letters"));
    for (_, d) in &faults {
        assert!(!d.contains(SECRET) && !d.contains("qtok"), "{d}");
    }

    // One warning per kind while failing, one line on recovery, no secret anywhere.
    let lines = log_lines("yorm-bopha");
    let warnings = lines.iter().filter(|l| l.contains("WARN")).count();
    assert_eq!(warnings, 6, "{lines:#?}");
    let recovered = lines.iter().filter(|l| l.contains("recovered")).count();
    assert_eq!(recovered, 1, "{lines:#?}");
    assert!(lines.iter().any(|l| l.contains(&server.url("/feed"))));
    let logs = support::logs::all();
    assert!(!logs.contains(SECRET), "the header value was logged");
    let ours: Vec<&str> = logs
        .lines()
        .filter(|l| l.contains("candela::counts::feed"))
        .collect();
    assert!(!ours.is_empty());
    assert!(
        !ours.iter().any(|l| l.contains("qtok")),
        "the query string was logged"
    );
}

#[test]
fn redirects_to_another_host_or_port_are_not_followed() {
    support::logs::capture();
    let elsewhere = Server::start(vec![json(r#"{"n":666}"#)]);
    // The same address by another name is another host, as far as a redirect goes.
    let by_name = elsewhere.url("/feed").replace("127.0.0.1", "localhost");
    let server = Server::start(vec![
        redirect(&elsewhere.url("/feed")),
        redirect(&by_name),
        redirect("/feed-moved"),
        json(r#"{"n":42}"#),
    ]);
    let events = Events::default();
    let feeds = start(
        vec![http("moved", server.url("/feed"), "/n", 1, 400)],
        vec![],
        events.sink(),
    );
    let seen = events.wait_for("moved", "value 42", Duration::from_secs(9));
    drop(feeds);
    assert_eq!(
        seen[..3],
        ["fault HttpStatus", "fault HttpStatus", "value 42"],
        "{seen:?}"
    );
    assert_eq!(elsewhere.count("/"), 0, "a redirect went to another port");
    assert_eq!(
        server.count("/feed-moved"),
        1,
        "a redirect on the same host"
    );
    let refused: Vec<String> = events
        .all()
        .into_iter()
        .filter_map(|e| match e {
            FeedEvent::Fault { detail, .. } => Some(detail),
            FeedEvent::Value { .. } => None,
        })
        .collect();
    assert!(
        refused.iter().all(|d| d.contains("another host or port")),
        "{refused:?}"
    );
}

#[test]
fn a_missing_header_variable_is_one_fault_and_no_request() {
    support::logs::capture();
    let server = Server::start(vec![json("1")]);
    let events = Events::default();
    let mut source = http("no-token", server.url("/feed"), "", 10, 500);
    source.header = Some(Header {
        name: "Authorization".into(),
        env: "CANDELA_FEEDS_TEST_NEVER_SET_91C2".into(),
    });
    let feeds = start(vec![source], vec![], events.sink());
    events.wait_for("no-token", "fault MissingEnv", Duration::from_secs(3));
    thread::sleep(Duration::from_millis(300));
    assert_eq!(events.of("no-token"), ["fault MissingEnv"]);
    assert_eq!(server.count("/"), 0);
    assert!(feeds.shutdown(Duration::from_secs(1)));
}

#[test]
fn a_closed_port_is_a_connect_fault() {
    support::logs::capture();
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let events = Events::default();
    let source = http(
        "closed",
        format!("http://127.0.0.1:{port}/x"),
        "",
        1000,
        500,
    );
    let feeds = start(vec![source], vec![], events.sink());
    events.wait_for("closed", "fault Connect", Duration::from_secs(3));
    assert!(feeds.shutdown(Duration::from_secs(1)));
}

#[test]
fn failures_back_off_and_success_resets_the_interval() {
    support::logs::capture();
    let server = Server::start(vec![
        status(500),
        status(500),
        status(500),
        status(500),
        json(r#"{"n":5}"#),
    ]);
    let events = Events::default();
    let source = http("backoff", server.url("/feed"), "/n", 50, 1000);
    let feeds = start(vec![source], vec![], events.sink());
    server.wait_for_requests("/feed", 7, Duration::from_secs(6));
    drop(feeds);

    let at = server.arrivals("/feed");
    let gaps: Vec<Duration> = at.windows(2).map(|w| w[1] - w[0]).collect();
    // Four failures: about 100, 200, 400, 800 ms; then success: about 50 ms again.
    assert!(gaps[0] >= Duration::from_millis(95), "{gaps:?}");
    for i in 1..4 {
        assert!(
            gaps[i] > gaps[i - 1] * 3 / 2,
            "gap {i} did not grow: {gaps:?}"
        );
    }
    assert!(gaps[4] < gaps[3] / 4, "no reset after success: {gaps:?}");
    assert!(gaps[5] < gaps[3] / 4, "no reset after success: {gaps:?}");

    let lines = log_lines("backoff");
    assert_eq!(
        lines.iter().filter(|l| l.contains("WARN")).count(),
        1,
        "{lines:#?}"
    );
    assert_eq!(
        lines.iter().filter(|l| l.contains("recovered")).count(),
        1,
        "{lines:#?}"
    );
    assert_eq!(
        events.of("backoff")[..5],
        [
            "fault HttpStatus",
            "fault HttpStatus",
            "fault HttpStatus",
            "fault HttpStatus",
            "value 5"
        ]
    );
}

#[test]
fn dropping_feeds_stops_the_requests() {
    support::logs::capture();
    let server = Server::start(vec![json("42")]);
    let events = Events::default();
    let source = http("dropped", server.url("/feed"), "", 20, 500);
    let feeds = start(vec![source], vec![], events.sink());
    server.wait_for_requests("/feed", 3, Duration::from_secs(3));
    drop(feeds);
    // Room for a request that was already on its way.
    thread::sleep(Duration::from_millis(300));
    let (requests, n_events) = (server.count("/feed"), events.all().len());
    thread::sleep(Duration::from_millis(600));
    assert_eq!(server.count("/feed"), requests, "requests after drop");
    assert_eq!(events.all().len(), n_events, "events after drop");
}

#[test]
fn shutdown_wakes_sources_in_a_long_sleep() {
    support::logs::capture();
    let server = Server::start(vec![json("1")]);
    let dir = TempDir::new("shutdown");
    let path = dir.path("c.json");
    std::fs::write(&path, "3").unwrap();
    let events = Events::default();
    let source = http("sleepy", server.url("/feed"), "", 60_000, 500);
    let file = FileSource {
        counter: "sleepy-file".into(),
        path,
        pointer: None,
    };
    let feeds = start(vec![source], vec![file], events.sink());
    events.wait_for("sleepy", "value 1", Duration::from_secs(3));
    events.wait_for("sleepy-file", "value 3", Duration::from_secs(3));
    let t = Instant::now();
    assert!(feeds.shutdown(Duration::from_secs(2)));
    assert!(
        t.elapsed() < Duration::from_millis(500),
        "{:?}",
        t.elapsed()
    );
}

// ---------------------------------------------------------------- files

struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let dir = std::env::temp_dir().join(format!(
            "candela-feeds-{name}-{}-{nanos}",
            std::process::id()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    fn path(&self, file: &str) -> PathBuf {
        self.0.join(file)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Whole at once, so the feed never catches a file half written unless a test means it to.
fn replace(path: &Path, text: &str) {
    let tmp = path.with_extension("partial");
    std::fs::write(&tmp, text).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

#[test]
fn file_sources_follow_edits_half_writes_and_late_files() {
    support::logs::capture();
    let dir = TempDir::new("files");
    let json_path = dir.path("counts.json");
    let csv_path = dir.path("counts.csv");
    let late_path = dir.path("late.json");
    replace(&json_path, r#"{"letters": 100}"#);
    replace(
        &csv_path,
        "counter,value\r\nyorm-bopha-csv,89734\r\nother,5\r\n",
    );
    let files = vec![
        FileSource {
            counter: "json".into(),
            path: json_path.clone(),
            pointer: Some("/letters".into()),
        },
        FileSource {
            counter: "yorm-bopha-csv".into(),
            path: csv_path.clone(),
            pointer: None,
        },
        FileSource {
            counter: "late".into(),
            path: late_path.clone(),
            pointer: None,
        },
    ];
    let events = Events::default();
    let feeds = start(vec![], files, events.sink());
    let wait = Duration::from_secs(3);

    events.wait_for("json", "value 100", wait);
    replace(&json_path, r#"{"letters": 2500}"#);
    events.wait_for("json", "value 2500", wait);
    replace(&json_path, r#"{"letters": 31"#);
    events.wait_for("json", "fault NotJson", wait);
    replace(&json_path, r#"{"letters": 31337}"#);
    let seen = events.wait_for("json", "value 31337", wait);
    assert_eq!(
        seen,
        ["value 100", "value 2500", "fault NotJson", "value 31337"]
    );

    events.wait_for("yorm-bopha-csv", "value 89734", wait);
    replace(&csv_path, "counter,value\nother,6\nyorm-bopha-csv,90001\n");
    let seen = events.wait_for("yorm-bopha-csv", "value 90001", wait);
    assert_eq!(seen, ["value 89734", "value 90001"]);

    events.wait_for("late", "fault Io", wait);
    replace(&late_path, "7");
    let seen = events.wait_for("late", "value 7", wait);
    assert_eq!(seen, ["fault Io", "value 7"]);

    // Nothing new while nothing changes.
    let before = events.all().len();
    thread::sleep(Duration::from_millis(1200));
    assert_eq!(events.all().len(), before);
    assert!(feeds.shutdown(Duration::from_secs(1)));
}

// ---------------------------------------------------------------- parsing

#[test]
fn read_json_takes_whole_counts_only() {
    let ok = |body: &str, pointer: &str| read_json(body.as_bytes(), pointer);
    assert_eq!(
        ok(
            r#"{"cases":{"yorm-bopha":{"letters":89734}}}"#,
            "/cases/yorm-bopha/letters"
        ),
        Ok(89734)
    );
    assert_eq!(ok("0", ""), Ok(0));
    assert_eq!(ok(" 9007199254740992 \n", ""), Ok(1 << 53));
    assert_eq!(ok(r#"{"a":[1,2,3]}"#, "/a/2"), Ok(3));
    assert_eq!(ok(r#"{"a/b":{"m~n":5}}"#, "/a~1b/m~0n"), Ok(5));
    assert_eq!(
        ok(r#"{"n":89734.0}"#, "/n"),
        Ok(89734),
        "a whole float is a count"
    );
    assert_eq!(ok("\u{feff}{\"n\":4}", "/n"), Ok(4), "a byte order mark");
}

#[test]
fn read_json_names_each_bad_reading() {
    use FaultKind::*;
    let cases: &[(&[u8], &str, FaultKind, &str)] = &[
        (br#"{"n":"89734"}"#, "/n", NotACount, "string"),
        (br#"{"n":-1}"#, "/n", NotACount, "negative"),
        (br#"{"n":-0.5}"#, "/n", NotACount, "negative"),
        (br#"{"n":12.5}"#, "/n", NotACount, "fraction"),
        (br#"{"n":1e30}"#, "/n", NotACount, "2^53"),
        (br#"{"n":9007199254740993}"#, "/n", NotACount, "2^53"),
        (br#"{"n":null}"#, "/n", NotACount, "null"),
        (br#"{"n":true}"#, "/n", NotACount, "true or false"),
        (br#"{"n":[1]}"#, "/n", NotACount, "list"),
        (br#"{"n":{}}"#, "/n", NotACount, "object"),
        (br#"{"n": NaN}"#, "/n", NotJson, "not JSON"),
        (br#"{"m":1}"#, "/n", MissingValue, "\"n\""),
        (br#"{"n":1}"#, "/n/x", MissingValue, "/n is a number"),
        (br#"{"a":[1]}"#, "/a/7", MissingValue, "1 items"),
        (br#"{"a":[1,2]}"#, "/a/01", MissingValue, "\"01\""),
        (br#"{"n":1}"#, "n", MissingValue, "start with"),
        (
            b"<!DOCTYPE html><html><body>502</body></html>",
            "/n",
            NotJson,
            "HTML",
        ),
        (b"", "/n", NotJson, "empty"),
        (b"   ", "", NotJson, "empty"),
        (br#"{"n": 3"#, "/n", NotJson, "cut short"),
        (b"\xff\xfe{", "/n", NotJson, "not JSON"),
    ];
    for (body, pointer, kind, words) in cases {
        let text = String::from_utf8_lossy(body);
        match read_json(body, pointer) {
            Err((k, detail)) => {
                assert_eq!(k, *kind, "{text} at {pointer}: {detail}");
                assert!(
                    detail.contains(words),
                    "{text} at {pointer}: {detail:?} lacks {words:?}"
                );
            }
            Ok(v) => panic!("{text} at {pointer} read as {v}"),
        }
    }
    assert!(read_json(br#"{"n":1e400}"#, "/n").is_err());
}

#[test]
fn read_csv_finds_the_counters_row() {
    let good = [
        "counter,value\nyorm-bopha,89734\nother,1\n",
        "yorm-bopha,89734",
        "\u{feff}id,value\r\nyorm-bopha,89734\r\n",
        "\"yorm-bopha\",\"89734\"",
        "id;value\nyorm-bopha;89734\n",
        "id\tvalue\nyorm-bopha\t89734\n",
        "yorm-bopha,89734,2024-05-01\n",
        "  yorm-bopha , 89734 \n",
        "yorm-bopha,letters\nyorm-bopha,89734\n",
        "other,\"a, b\"\nyorm-bopha,89734.0\n",
    ];
    for body in good {
        assert_eq!(read_csv(body, "yorm-bopha"), Ok(89734), "{body:?}");
    }
}

#[test]
fn read_csv_names_each_bad_reading() {
    use FaultKind::*;
    let cases = [
        ("counter,value\nother,5\n", MissingValue, "no row"),
        ("", MissingValue, "no row"),
        ("yorm-bopha\n", MissingValue, "second column"),
        ("yorm-bopha,-3", NotACount, "negative"),
        ("yorm-bopha,12.5", NotACount, "fraction"),
        ("yorm-bopha,1e30", NotACount, "2^53"),
        ("yorm-bopha,99999999999999999999999", NotACount, "2^53"),
        ("yorm-bopha,NaN", NotACount, "not a number"),
        ("yorm-bopha,inf", NotACount, "not a number"),
        ("yorm-bopha,\"89,734\"", NotACount, "not a number"),
        ("yorm-bopha,", NotACount, "empty"),
        ("counter,value\nyorm-bopha,lots\n", NotACount, "line 2"),
    ];
    for (body, kind, words) in cases {
        match read_csv(body, "yorm-bopha") {
            Err((k, detail)) => {
                assert_eq!(k, kind, "{body:?}: {detail}");
                assert!(
                    detail.contains(words),
                    "{body:?}: {detail:?} lacks {words:?}"
                );
            }
            Ok(v) => panic!("{body:?} read as {v}"),
        }
    }
}

#[test]
fn no_input_makes_the_parsers_panic() {
    // A fixed seed, so a failure repeats.
    let mut rng = candela::random::Xorshift::new(0x9E37_79B9_7F4A_7C15);
    let mut next = move || rng.draw();
    let alphabet = b"{}[]\",:;\t\n\r 0123456789.-+eE/~nultrfasNI<>\\\xff\xef\xbb\xbf";
    let pointers = ["", "/", "/n", "/n/0", "/~", "/~2", "//", "n", "/a/01"];
    for _ in 0..20_000 {
        let len = (next() % 40) as usize;
        let body: Vec<u8> = (0..len)
            .map(|_| alphabet[(next() % alphabet.len() as u64) as usize])
            .collect();
        let pointer = pointers[(next() % pointers.len() as u64) as usize];
        let _ = read_json(&body, pointer);
        let _ = read_csv(&String::from_utf8_lossy(&body), "n");
    }
}
