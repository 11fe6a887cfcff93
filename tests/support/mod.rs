#![allow(dead_code)] // Each test file uses its own part of these helpers.
//! A real `candela play --headless` on a loopback OSC port, for the live-operation tests
//! (resume, reload, soak): started, asked, killed by pid.

use candela::osc::client;
use rosc::OscType;
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

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

impl Candela {
    /// Starts `candela play --headless` on `show` with `args`, and waits until it listens.
    pub fn start(show: &Path, args: &[&str]) -> Candela {
        // The OSC server takes a free UDP port, then TCP on the same number, which another
        // process may hold: that start fails at once, and another port is tried.
        for _ in 0..4 {
            if let Some(candela) = Self::try_start(show, args) {
                return candela;
            }
        }
        panic!("candela never listened for OSC");
    }

    fn try_start(show: &Path, args: &[&str]) -> Option<Candela> {
        let mut child = Command::new(env!("CARGO_BIN_EXE_candela"))
            .args([
                "play",
                "--headless",
                "--no-http",
                "--fps",
                "60",
                "--osc",
                "127.0.0.1:0",
            ])
            .args(args)
            .arg(show)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let log = Arc::new(Mutex::new(Vec::new()));
        let kept = log.clone();
        // Keep reading stderr so the pipe never fills; pass on the line that names the port.
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if std::env::var_os("CANDELA_TEST_LOG").is_some() {
                    eprintln!("candela: {line}");
                }
                if let Some(addr) = line.split("listening on udp and tcp ").nth(1) {
                    let _ = tx.send(addr.trim().to_string());
                }
                kept.lock().unwrap().push(line);
            }
        });
        let Ok(addr) = rx.recv_timeout(Duration::from_secs(60)) else {
            let _ = child.kill();
            let _ = child.wait();
            let log = log.lock().unwrap().join("\n");
            assert!(
                log.contains("Address already in use"),
                "candela did not start:\n{log}"
            );
            return None;
        };
        let addr = addr.parse().unwrap();
        Some(Candela { child, addr, log })
    }

    /// Sends a native address and returns the reply's data; panics on an error reply.
    pub fn ok(&self, address: &str, args: Vec<OscType>) -> Value {
        let body = self.ask(address, args.clone());
        assert_eq!(body["status"], "ok", "{address} {args:?}: {body}");
        body["data"].clone()
    }

    /// Sends and returns the whole JSON reply.
    pub fn ask(&self, address: &str, args: Vec<OscType>) -> Value {
        let reply = client::send(self.addr, None, address, args, Duration::from_secs(5))
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
