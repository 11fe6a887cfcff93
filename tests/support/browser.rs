//! A real browser for the web tests: Debian's chromium, driven headless over WebDriver by
//! chromedriver, on a laptop-sized window or as a phone (touch, mobile emulation).

use super::http::http;
use serde_json::{Value, json};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const CHROMIUM_FLAGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
];

/// What the browser stands for: a laptop window (a mouse), or a phone (touch, and its
/// screen's size in CSS pixels).
#[derive(Debug, Clone, Copy)]
pub enum Screen {
    Laptop { width: u32, height: u32 },
    Phone { width: u32, height: u32 },
}

impl Screen {
    /// The kind of pointer WebDriver actions use on it.
    pub fn pointer(self) -> &'static str {
        match self {
            Screen::Laptop { .. } => "mouse",
            Screen::Phone { .. } => "touch",
        }
    }
}

/// chromedriver, and one browser session driven over WebDriver's HTTP API.
pub struct Browser {
    driver: Child,
    at: SocketAddr,
    session: String,
    /// Where a screenshot goes when the test fails.
    name: String,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn which(names: &[&str]) -> String {
    for name in names {
        for dir in ["/usr/bin", "/usr/lib/chromium", "/usr/local/bin"] {
            let path = Path::new(dir).join(name);
            if path.is_file() {
                return path.to_string_lossy().into_owned();
            }
        }
    }
    panic!("{names:?} not found: scripts/deps installs chromium and chromium-driver");
}

impl Browser {
    pub fn open(name: &str, screen: Screen) -> Browser {
        let port = free_port();
        let driver = Command::new(which(&["chromedriver"]))
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let at = SocketAddr::from(([127, 0, 0, 1], port));
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(at).is_err() {
            assert!(Instant::now() < deadline, "chromedriver did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        let profile =
            std::env::temp_dir().join(format!("candela-chromium-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&profile);
        let mut args: Vec<String> = CHROMIUM_FLAGS.iter().map(|s| s.to_string()).collect();
        args.push(format!("--user-data-dir={}", profile.display()));
        let mut options = json!({ "binary": which(&["chromium"]) });
        match screen {
            Screen::Laptop { width, height } => {
                args.push(format!("--window-size={width},{height}"))
            }
            Screen::Phone { width, height } => {
                options["mobileEmulation"] = json!({ "deviceMetrics": {
                    "width": width, "height": height, "pixelRatio": 2.0, "touch": true } });
            }
        }
        options["args"] = json!(args);
        // As a phone does once its operator accepted candela's own certificate.
        let caps = json!({ "capabilities": { "alwaysMatch": {
            "browserName": "chrome", "acceptInsecureCerts": true,
            "goog:chromeOptions": options } } });
        let mut browser = Browser {
            driver,
            at,
            session: String::new(),
            name: name.into(),
        };
        let created = browser.call("POST", "/session", caps);
        browser.session = created["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session: {created}"))
            .to_string();
        browser
    }

    pub fn call(&self, method: &str, path: &str, body: Value) -> Value {
        let body = if method == "GET" {
            String::new()
        } else {
            body.to_string()
        };
        let reply = http(
            self.at,
            method,
            path,
            &[("Content-Type", "application/json")],
            body.as_bytes(),
        );
        let value = reply.json();
        assert_eq!(reply.status, 200, "WebDriver {method} {path}: {value}");
        value["value"].clone()
    }

    pub fn session_call(&self, method: &str, path: &str, body: Value) -> Value {
        self.call(method, &format!("/session/{}{path}", self.session), body)
    }

    pub fn go(&self, url: &str) {
        self.session_call("POST", "/url", json!({ "url": url }));
    }

    pub fn script(&self, script: &str) -> Value {
        self.session_call(
            "POST",
            "/execute/sync",
            json!({ "script": script, "args": [] }),
        )
    }

    /// Waits until `script` returns something truthy, and returns it.
    pub fn until(&self, what: &str, script: &str) -> Value {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let v = self.script(script);
            if !(v.is_null() || v == false) {
                return v;
            }
            assert!(Instant::now() < deadline, "the page never showed {what}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn tap(&self, css: &str) {
        let found = self.session_call(
            "POST",
            "/element",
            json!({ "using": "css selector", "value": css }),
        );
        let id = found
            .as_object()
            .and_then(|o| o.values().next())
            .and_then(Value::as_str)
            .unwrap_or_else(|| panic!("no element {css}"))
            .to_string();
        self.session_call("POST", &format!("/element/{id}/click"), json!({}));
    }

    /// Presses at `from` (viewport CSS pixels) and drags to `to` in `steps` moves, with the
    /// screen's own pointer: a finger on a phone, the mouse on a laptop.
    pub fn drag(&self, screen: Screen, from: (f64, f64), to: (f64, f64), steps: u32) {
        // Each move is a jump (no duration, which a driver may fill with moves of its own),
        // then a pause, so the page sees exactly these positions, a drag's worth apart.
        let at = |x: f64, y: f64| {
            json!({ "type": "pointerMove", "origin": "viewport", "duration": 0,
                    "x": x.round() as i64, "y": y.round() as i64 })
        };
        let pause = json!({ "type": "pause", "duration": 40 });
        let mut actions = vec![
            at(from.0, from.1),
            json!({ "type": "pointerDown", "button": 0 }),
            pause.clone(),
        ];
        for i in 1..=steps {
            let t = i as f64 / steps as f64;
            actions.push(at(
                from.0 + (to.0 - from.0) * t,
                from.1 + (to.1 - from.1) * t,
            ));
            actions.push(pause.clone());
        }
        actions.push(json!({ "type": "pointerUp", "button": 0 }));
        self.pointer(screen, actions);
    }

    /// A tap (or click) at `at`, in viewport CSS pixels.
    pub fn tap_at(&self, screen: Screen, at: (f64, f64)) {
        self.drag(screen, at, at, 0);
    }

    fn pointer(&self, screen: Screen, actions: Vec<Value>) {
        let source = json!({ "type": "pointer", "id": "pointer",
            "parameters": { "pointerType": screen.pointer() }, "actions": actions });
        self.session_call("POST", "/actions", json!({ "actions": [source] }));
        self.session_call("DELETE", "/actions", json!({}));
    }

    pub fn screenshot(&self) -> Option<PathBuf> {
        let shot = self.session_call("GET", "/screenshot", Value::Null);
        let bytes = base64(shot.as_str()?);
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("web-browser");
        std::fs::create_dir_all(&dir).ok()?;
        let path = dir.join(format!("{}-failure.png", self.name));
        std::fs::write(&path, bytes).ok()?;
        Some(path)
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if std::thread::panicking() && !self.session.is_empty() {
            match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.screenshot())) {
                Ok(Some(path)) => eprintln!("screenshot of the failing page: {}", path.display()),
                _ => eprintln!("no screenshot of the failing page could be taken"),
            }
        }
        if !self.session.is_empty() {
            let path = format!("/session/{}", self.session);
            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                http(self.at, "DELETE", &path, &[], b"")
            }));
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

pub fn base64(text: &str) -> Vec<u8> {
    let value = |c: u8| match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    };
    let digits: Vec<u8> = text.bytes().filter_map(value).collect();
    digits
        .chunks(4)
        .flat_map(|c| {
            let n = c.iter().fold(0u32, |n, d| n << 6 | *d as u32) << (6 * (4 - c.len()));
            let bytes = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
            bytes[..c.len().saturating_sub(1)].to_vec()
        })
        .collect()
}
