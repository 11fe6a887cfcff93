//! Projector control over PJLink, against the emulator in tests/support/pjlink.rs (written
//! from the spec): the client alone, in-process, with short timeouts; then a real `candela
//! play --headless` whose blackout and restore move the emulators' shutters.

mod support;

use candela::control::{Power, ProjectorStatus, Shutter, Want};
use candela::projector::client::{self, Target, Timing};
use candela::projector::session::Timeouts;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use support::pjlink::{self, Model, Projector};
use tokio::sync::watch;

/// A client running on a thread of its own; dropping `wants` ends it.
struct Client {
    wants: watch::Sender<Want>,
    reports: Arc<Mutex<Vec<ProjectorStatus>>>,
}

fn quick() -> Timing {
    Timing {
        poll: Duration::from_millis(300),
        timeouts: Timeouts {
            connect: Duration::from_millis(500),
            answer: Duration::from_millis(500),
        },
        first_retry: Duration::from_millis(100),
        most_retry: Duration::from_secs(1),
    }
}

fn client(projector: &Projector, password: Option<&str>, want: Want) -> Client {
    client_for(
        Target {
            output: "main".into(),
            host: projector.addr.ip().to_string(),
            port: projector.addr.port(),
            password: Ok(password.map(str::to_string)),
        },
        want,
    )
}

fn client_for(target: Target, want: Want) -> Client {
    let (wants, receiver) = watch::channel(want);
    let reports = Arc::new(Mutex::new(Vec::new()));
    let kept = reports.clone();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(client::run(target, quick(), receiver, move |s| {
            kept.lock().unwrap().push(s)
        }));
    });
    Client { wants, reports }
}

impl Client {
    fn last(&self) -> Option<ProjectorStatus> {
        self.reports.lock().unwrap().last().cloned()
    }

    /// Waits (bounded) for a reported status that satisfies `f`.
    fn until(&self, what: &str, f: impl Fn(&ProjectorStatus) -> bool) -> ProjectorStatus {
        let end = Instant::now() + Duration::from_secs(8);
        loop {
            if let Some(s) = self.last().filter(|s| f(s)) {
                return s;
            }
            assert!(
                Instant::now() < end,
                "never {what}; reports: {:#?}",
                self.reports.lock().unwrap()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

const CLOSED: Want = Want {
    power: None,
    shutter: Some(Shutter::Closed),
};

#[test]
fn the_emulators_md5_is_the_specs() {
    assert_eq!(
        pjlink::md5_hex(b"498e4a67JBMIAProjectorLink"),
        "5d8409bc1c3fa39749434aa3a5c38682"
    );
}

#[test]
fn the_shutter_closes_with_and_without_a_password_and_status_is_read() {
    let open = Projector::start("127.0.0.2", Model::default());
    let locked = Projector::start(
        "127.0.0.3",
        Model {
            password: Some("JBMIAProjectorLink".into()),
            class: 2,
            errors: "020100".into(),
            ..Model::default()
        },
    );
    let a = client(&open, None, CLOSED);
    let b = client(&locked, Some("JBMIAProjectorLink"), CLOSED);
    for (p, c) in [(&open, &a), (&locked, &b)] {
        assert!(p.wait_for("AVMT 31", Duration::from_secs(5)).is_some());
        let s = c.until("closed and read", |s| {
            s.shutter == Some(Shutter::Closed) && s.power == Some(Power::On)
        });
        assert!(s.reachable && s.problem.is_none(), "{s:?}");
        assert_eq!(s.lamp_hours, [1200]);
        assert_eq!(s.input.as_deref(), Some("31"));
        assert_eq!(p.avmt(), "31");
    }
    assert_eq!(
        b.last().unwrap().faults,
        ["lamp error", "cover warning"],
        "ERST read"
    );
}

#[test]
fn a_wrong_or_missing_password_is_a_clear_problem() {
    let locked = Projector::start(
        "127.0.0.2",
        Model {
            password: Some("right".into()),
            ..Model::default()
        },
    );
    let wrong = client(&locked, Some("wrong"), CLOSED);
    let s = wrong.until("refused", |s| s.problem.is_some());
    assert!(!s.reachable);
    assert!(s.problem.as_deref().unwrap().contains("ERRA"), "{s:?}");
    let none = client(&locked, None, CLOSED);
    let s = none.until("refused", |s| s.problem.is_some());
    assert!(
        s.problem.as_deref().unwrap().contains("password_env"),
        "{s:?}"
    );
    assert_eq!(locked.avmt(), "30", "nothing got through");
}

#[test]
fn power_on_waits_out_the_warm_up_then_closes_the_shutter() {
    let cold = Projector::start(
        "127.0.0.2",
        Model {
            on: false,
            warm_up: Duration::from_millis(800),
            cool_down: Duration::from_millis(500),
            ..Model::default()
        },
    );
    let c = client(
        &cold,
        None,
        Want {
            power: Some(true),
            shutter: Some(Shutter::Closed),
        },
    );
    c.until("warming", |s| s.power == Some(Power::Warming));
    // Refused with ERR3 while warming, then taken.
    let s = c.until("on and closed", |s| {
        s.power == Some(Power::On) && s.shutter == Some(Shutter::Closed)
    });
    assert!(s.problem.is_none(), "ERR3 is not a problem: {s:?}");
    let powr = cold.first("POWR 1").unwrap();
    let shutters: Vec<Instant> = cold
        .heard()
        .into_iter()
        .filter(|(_, c)| c == "AVMT 31")
        .map(|(t, _)| t)
        .collect();
    assert!(shutters.len() >= 2, "refused (ERR3), then asked again");
    let taken = *shutters.last().unwrap();
    assert!(
        taken - powr >= Duration::from_millis(700),
        "after the warm-up"
    );
    assert_eq!(
        cold.heard().iter().filter(|(_, c)| c == "POWR 1").count(),
        1,
        "warming is on its way: not asked again"
    );
    c.wants.send_replace(Want {
        power: Some(false),
        shutter: Some(Shutter::Closed),
    });
    c.until("cooling", |s| s.power == Some(Power::Cooling));
    c.until("off", |s| s.power == Some(Power::Off));
}

#[test]
fn lowercase_answers_and_a_connection_closed_after_each_command_work() {
    let odd = Projector::start(
        "127.0.0.2",
        Model {
            lowercase: true,
            close_after_each: true,
            lamp: None,
            ..Model::default()
        },
    );
    let c = client(&odd, None, CLOSED);
    let s = c.until("closed", |s| s.shutter == Some(Shutter::Closed));
    assert!(s.reachable && s.problem.is_none(), "{s:?}");
    assert!(s.lamp_hours.is_empty(), "no lamp (ERR1) is no problem");
    assert!(odd.connections() >= 6, "a connection per command");
}

#[test]
fn silence_garbage_and_slowness_are_each_a_clear_problem_and_hold_up_no_other() {
    let silent = Projector::start(
        "127.0.0.2",
        Model {
            silent: true,
            ..Model::default()
        },
    );
    let garbage = Projector::start(
        "127.0.0.3",
        Model {
            garbage: Some("HTTP/1.1 400 Bad Request".into()),
            ..Model::default()
        },
    );
    let slow = Projector::start(
        "127.0.0.4",
        Model {
            slow: Duration::from_millis(900),
            ..Model::default()
        },
    );
    let good = Projector::start("127.0.0.5", Model::default());
    let clients = [
        client(&silent, None, CLOSED),
        client(&garbage, None, CLOSED),
        client(&slow, None, CLOSED),
    ];
    let started = Instant::now();
    let g = client(&good, None, CLOSED);
    let at = good.wait_for("AVMT 31", Duration::from_secs(5)).unwrap();
    assert!(at - started < Duration::from_millis(300), "not held up");
    g.until("closed", |s| s.shutter == Some(Shutter::Closed));
    let problems: Vec<String> = clients
        .iter()
        .map(|c| {
            c.until("a problem", |s| s.problem.is_some())
                .problem
                .unwrap()
        })
        .collect();
    assert!(problems[0].contains("sent no greeting"), "{problems:?}");
    assert!(problems[1].contains("not PJLink"), "{problems:?}");
    assert!(problems[2].contains("sent no reply"), "{problems:?}");
    assert!(clients.iter().all(|c| !c.last().unwrap().reachable));
}

#[test]
fn an_unreachable_projector_is_said_and_retried_with_a_backoff() {
    // Bound and closed: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.2:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let target = Target {
        output: "main".into(),
        host: "127.0.0.2".into(),
        port,
        password: Ok(None),
    };
    let c = client_for(target, CLOSED);
    let s = c.until("unreachable", |s| !s.reachable && s.problem.is_some());
    assert!(
        s.problem.unwrap().contains("cannot connect"),
        "says what to check"
    );
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(
        c.reports.lock().unwrap().len(),
        1,
        "reported once, not at every retry"
    );
}

#[test]
fn a_class_2_search_finds_the_projector() {
    let p = Projector::start(
        "127.0.0.2",
        Model {
            class: 2,
            ..Model::default()
        },
    );
    let found = candela::projector::search::search(
        "127.0.0.1:0".parse().unwrap(),
        p.addr,
        Duration::from_millis(500),
    )
    .unwrap();
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].mac, "00:11:22:33:44:55");
    assert_eq!(found[0].addr, p.addr);
}
