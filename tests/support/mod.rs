#![allow(dead_code)] // Each test file uses its own part of these helpers.
//! The processes the integration tests start, each ended by pid when dropped: a real `candela
//! play` read until it says where it listens (and asked over OSC, for the live-operation tests:
//! resume, reload, soak, osc), and a fresh Xvfb; and reading an HTTP header, which the web
//! tests' client and the feed tests' server both do; what a test process logs ([`logs`]); and
//! TLS as a phone speaks it to the web remote ([`tls`]).

pub mod browser;
pub mod http;
pub mod logs;
pub mod pjlink;
pub mod tls;

use candela::osc::client;
use rosc::OscType;
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// What the OSC server logs, then its address, once it listens.
pub const OSC_LISTENING: &str = "listening on udp and tcp ";
/// What the web remote logs, then its address, once it listens.
pub const WEB_LISTENING: &str = "web remote listening on ";

pub struct Candela {
    pub child: Child,
    pub addr: SocketAddr,
    /// Every line it logged so far.
    pub log: Arc<Mutex<Vec<String>>>,
}

impl Drop for Candela {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `candela play`, run from the repository root, with its stderr for `Candela::spawn`.
pub fn play() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_candela"));
    command
        .arg("play")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    command
}

impl Candela {
    /// Starts `candela play --headless` on `show` with `args`, listening for OSC on a free
    /// loopback port, and waits until it listens.
    pub fn start(show: impl AsRef<Path>, args: &[&str]) -> Candela {
        let mut command = play();
        command
            .args([
                "--headless",
                "--no-http",
                "--fps",
                "60",
                "--osc",
                "127.0.0.1:0",
            ])
            .args(args)
            .arg(show.as_ref());
        Candela::spawn(command, OSC_LISTENING)
    }

    /// Starts `command` (a `play()` with its arguments) and waits until a line of its log
    /// says `marker` and then the address it listens on. The log is read all along, so the
    /// pipe never fills, kept, and echoed when CANDELA_TEST_LOG is set.
    pub fn spawn(mut command: Command, marker: &'static str) -> Candela {
        let mut child = command.spawn().unwrap();
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let log = Arc::new(Mutex::new(Vec::new()));
        let kept = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if std::env::var_os("CANDELA_TEST_LOG").is_some() {
                    eprintln!("candela: {line}");
                }
                if let Some(addr) = line.split(marker).nth(1) {
                    let _ = tx.send(addr.trim().to_string());
                }
                kept.lock().unwrap().push(line);
            }
        });
        // Ends early, with its log, if candela exits first (the reader then hangs up).
        let Ok(addr) = rx.recv_timeout(Duration::from_secs(60)) else {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "candela never said \"{marker}\"; its log:\n{}",
                log.lock().unwrap().join("\n")
            );
        };
        let addr = addr
            .parse()
            .unwrap_or_else(|e| panic!("candela listens on \"{addr}\": {e}"));
        Candela { child, addr, log }
    }

    /// Sends a native address and returns the reply's data; panics on an error reply.
    pub fn ok(&self, address: &str, args: Vec<OscType>) -> Value {
        let body = self.ask(address, args.clone());
        assert_eq!(body["status"], "ok", "{address} {args:?}: {body}");
        body["data"].clone()
    }

    /// Sends and returns the whole JSON reply. Over TCP: a UDP sender not listed in the
    /// show's `[osc] allow` gets no reply bigger than what it sent.
    pub fn ask(&self, address: &str, args: Vec<OscType>) -> Value {
        let tcp = Some(candela::osc::framing::Framing::LengthPrefixed);
        let reply = client::send(self.addr, tcp, address, args, Duration::from_secs(5))
            .unwrap()
            .unwrap_or_else(|| panic!("no reply to {address}"));
        let Some(OscType::String(body)) = reply.args.first() else {
            panic!("reply without a JSON string: {reply:?}");
        };
        serde_json::from_str(body).unwrap()
    }

    pub fn state(&self) -> Value {
        self.ok("/candela/state", vec![])
    }

    /// Waits (a bounded while) for the show's state to satisfy `f`.
    pub fn until(&self, what: &str, f: impl Fn(&Value) -> bool) -> Value {
        let end = Instant::now() + Duration::from_secs(10);
        loop {
            let s = self.state();
            if f(&s) {
                return s;
            }
            assert!(
                Instant::now() < end,
                "never {what}; state: {s}\nits log:\n{}",
                self.log.lock().unwrap().join("\n")
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// True once a logged line contains `text`, waiting a bounded while.
    pub fn logged(&self, text: &str) -> bool {
        let end = Instant::now() + Duration::from_secs(10);
        while Instant::now() < end {
            if self.log.lock().unwrap().iter().any(|l| l.contains(text)) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }

    /// SIGKILL, as a crash or a pulled plug would stop it: nothing is saved on the way out.
    pub fn kill_hard(mut self) {
        // Child::kill is SIGKILL on Unix.
        self.child.kill().unwrap();
        let _ = self.child.wait();
    }
}

/// The default show's slides, as their ids in order.
pub fn slide_ids(show: &Path) -> Vec<String> {
    let (show, _) = candela::show::Show::load(show).unwrap();
    show.slides.iter().map(|s| s.id.clone()).collect()
}

/// The value of the HTTP header `name`, in any case, among `headers`.
pub fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// A process we started, ended when dropped.
pub struct Proc(pub Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A fresh Xvfb with one screen of `size` ("1280x720"), on a display number it picks itself
/// (`-displayfd`), so tests running side by side, or a stray server from elsewhere, never
/// collide; and that display's name (":99").
pub fn xvfb(size: &str) -> (Proc, String) {
    let mut server = Proc(
        Command::new("Xvfb")
            .args([
                "-displayfd",
                "1",
                "-screen",
                "0",
                &format!("{size}x24"),
                "-nolisten",
                "tcp",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("Xvfb (scripts/deps installs xvfb)"),
    );
    let mut number = String::new();
    BufReader::new(server.0.stdout.as_mut().unwrap())
        .read_line(&mut number)
        .unwrap();
    let name = format!(":{}", number.trim());
    assert!(name.len() > 1, "Xvfb did not say which display it took");
    (server, name)
}
