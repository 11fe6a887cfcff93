//! Projector control over PJLink, against the emulator in tests/support/pjlink.rs (written
//! from the spec): the client alone, in-process, with short timeouts; then a real `candela
//! play --headless` whose blackout and restore move the emulators' shutters.

mod support;

use candela::control::{Power, ProjectorStatus, Shutter, Want};
use candela::projector::client::{self, Target, Timing};
use candela::projector::session::Timeouts;
use rosc::OscType;
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

/// The engine of a show with one projector, hours 19:00 to 23:00 (3 s fades) and 60 s of
/// warm-up.
fn scheduled_engine(blackout: &str) -> candela::control::Engine {
    let src = format!(
        "[[slides]]\nid = \"a\"\nkind = \"title\"\ntitle = \"A\"\n\
         [[projectors]]\nhost = \"127.0.0.2\"\n\
         [pjlink]\nblackout = \"{blackout}\"\nwarm_up = 60\n\
         [schedule]\nstart = \"19:00\"\nend = \"23:00\"\nfade = 3\n"
    );
    let (show, problems) =
        candela::show::Show::parse(std::path::Path::new("/shows/s.toml"), &src).unwrap();
    assert!(problems.is_empty(), "{problems:?}");
    let counts = candela::counts::Counts::from_show(&show);
    candela::control::Engine::new(show, counts, Duration::ZERO).unwrap()
}

#[test]
fn the_schedule_powers_on_a_warm_up_ahead_and_off_after_the_end_on_a_virtual_clock() {
    use candela::control::schedule::LocalTime;
    let mut engine = scheduled_engine("shutter");
    let day = 20_000 * 86_400;
    let hm = |h: i64, m: i64, s: i64| LocalTime::from_local_seconds(day + h * 3600 + m * 60 + s);
    let mut at = |local: LocalTime, now: u64| {
        let now = Duration::from_secs(now);
        engine.set_local_time(local, now);
        engine.tick(now);
        engine.projector_wants(now)[0].1
    };
    let closed = Some(Shutter::Closed);
    let open = Some(Shutter::Open);
    let w = at(hm(18, 58, 59), 0);
    assert_eq!((w.power, w.shutter), (Some(false), closed), "before");
    let w = at(hm(18, 59, 0), 1);
    assert_eq!(
        (w.power, w.shutter),
        (Some(true), closed),
        "60 s ahead: lamps on, shutter still closed while they warm up"
    );
    let w = at(hm(19, 0, 0), 61);
    assert_eq!(w.shutter, open, "open as the fade in begins");
    let w = at(hm(22, 59, 59), 1000);
    assert_eq!((w.power, w.shutter), (Some(true), open));
    let w = at(hm(23, 0, 0), 1001);
    assert_eq!(
        (w.power, w.shutter),
        (Some(false), open),
        "lamps off at the end; the shutter stays open until the fade to black is over"
    );
    let w = at(hm(23, 0, 3), 1004);
    assert_eq!(w.shutter, closed, "closed once black");
}

#[test]
fn blackout_closes_the_shutter_after_its_fade_and_restore_opens_it_at_once() {
    use candela::control::Command;
    let mut engine = scheduled_engine("shutter");
    engine.set_local_time(
        candela::control::schedule::LocalTime::from_local_seconds(20_000 * 86_400 + 20 * 3600),
        Duration::ZERO,
    );
    let ms = Duration::from_millis;
    let fade = Some(ms(1000));
    engine.apply(Command::Blackout { fade }, ms(100)).unwrap();
    assert_eq!(
        engine.projector_wants(ms(1099))[0].1.shutter,
        Some(Shutter::Open)
    );
    assert_eq!(
        engine.projector_wants(ms(1100))[0].1.shutter,
        Some(Shutter::Closed)
    );
    engine.apply(Command::Restore { fade }, ms(2000)).unwrap();
    assert_eq!(
        engine.projector_wants(ms(2000))[0].1.shutter,
        Some(Shutter::Open)
    );
    // An operator's shutter lasts until the show changes its mind.
    engine
        .apply(
            Command::Projector {
                output: "main".into(),
                power: None,
                shutter: Some(Shutter::Closed),
            },
            ms(3000),
        )
        .unwrap();
    assert_eq!(
        engine.projector_wants(ms(3001))[0].1.shutter,
        Some(Shutter::Closed)
    );
    engine
        .apply(Command::Blackout { fade: None }, ms(4000))
        .unwrap();
    // Each frame looks at what the show wants.
    engine.projector_wants(ms(4000));
    engine
        .apply(Command::Restore { fade: None }, ms(5000))
        .unwrap();
    assert_eq!(
        engine.projector_wants(ms(5000))[0].1.shutter,
        Some(Shutter::Open)
    );
    // The technician's S key: all closed, then all open again.
    engine.apply(Command::ToggleShutters, ms(5500)).unwrap();
    assert_eq!(
        engine.projector_wants(ms(5500))[0].1.shutter,
        Some(Shutter::Closed)
    );
    engine.apply(Command::ToggleShutters, ms(5600)).unwrap();
    assert_eq!(
        engine.projector_wants(ms(5600))[0].1.shutter,
        Some(Shutter::Open)
    );
    let unknown = Command::Projector {
        output: "left".into(),
        power: Some(true),
        shutter: None,
    };
    assert!(engine.apply(unknown, ms(6000)).is_err());
    // Power mode: blackout puts the lamps out too.
    let mut engine = scheduled_engine("power");
    engine
        .apply(Command::Blackout { fade: None }, ms(0))
        .unwrap();
    assert_eq!(engine.projector_wants(ms(0))[0].1.power, Some(false));
    let mut engine = scheduled_engine("pixels");
    engine
        .apply(Command::Blackout { fade: None }, ms(0))
        .unwrap();
    assert_eq!(engine.projector_wants(ms(0))[0].1.shutter, None);
}

/// A show file in a fresh folder with `projectors` (TOML) and a 1 s poll.
fn show_with(projectors: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let src = format!(
        "hold = 600\n[[slides]]\nid = \"a\"\nkind = \"title\"\ntitle = \"A\"\n\
         [[slides]]\nid = \"b\"\nkind = \"title\"\ntitle = \"B\"\n\
         {projectors}\n[pjlink]\npoll = 1\n"
    );
    std::fs::write(dir.path().join("show.toml"), src).unwrap();
    dir
}

/// A show with `p` and a second projector on 127.0.0.3 where nothing listens (its address).
fn show_with_one_gone(p: &Projector) -> (tempfile::TempDir, std::net::SocketAddr) {
    let gone = std::net::TcpListener::bind("127.0.0.3:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let dir = show_with(&format!(
        "{}[[projectors]]\nhost = \"127.0.0.3\"\nport = {}\n",
        projector_toml(p, ""),
        gone.port()
    ));
    (dir, gone)
}

fn projector_toml(p: &Projector, extra: &str) -> String {
    format!(
        "[[projectors]]\nhost = \"{}\"\nport = {}\n{extra}\n",
        p.addr.ip(),
        p.addr.port()
    )
}

fn spread(mut ms: Vec<f64>) -> String {
    ms.sort_by(f64::total_cmp);
    format!(
        "p50 {:.1} ms, max {:.1} ms over {} runs",
        ms[ms.len() / 2],
        ms[ms.len() - 1],
        ms.len()
    )
}

#[test]
fn blackout_closes_the_shutters_after_the_fade_and_restore_opens_them_before_it() {
    let left = Projector::start("127.0.0.2", Model::default());
    let right = Projector::start(
        "127.0.0.3",
        Model {
            class: 2,
            lowercase: true,
            ..Model::default()
        },
    );
    let dir = show_with(&(projector_toml(&left, "") + &projector_toml(&right, "")));
    let c = support::Candela::start(dir.path().join("show.toml"), &[]);
    c.until("both projectors read", |s| {
        let p = s["projectors"].as_array().unwrap();
        p.len() == 2
            && p.iter()
                .all(|p| p["reachable"] == true && p["shutter"] == "open")
    });
    let fade = 0.4;
    let (mut closing, mut opening) = (Vec::new(), Vec::new());
    for _ in 0..3 {
        let sent = Instant::now();
        c.ok("/candela/blackout", vec![OscType::Float(fade)]);
        for p in [&left, &right] {
            let at = p
                .wait_after("AVMT 31", Some(sent), Duration::from_secs(5))
                .expect("AVMT 31 after a blackout");
            let after = at - sent;
            assert!(
                after >= Duration::from_secs_f32(fade),
                "closed only once the fade is over: {after:?}"
            );
            closing.push(after.as_secs_f64() * 1000.0);
        }
        c.until("both closed", |s| {
            s["projectors"]
                .as_array()
                .unwrap()
                .iter()
                .all(|p| p["shutter"] == "closed")
        });
        let sent = Instant::now();
        c.ok("/candela/restore", vec![OscType::Float(fade)]);
        for p in [&left, &right] {
            let at = p
                .wait_after("AVMT 30", Some(sent), Duration::from_secs(5))
                .expect("AVMT 30 after a restore");
            let after = at - sent;
            assert!(
                after < Duration::from_secs_f32(fade),
                "opened while the picture is still dark: {after:?}"
            );
            opening.push(after.as_secs_f64() * 1000.0);
        }
        c.until("both open", |s| {
            s["projectors"]
                .as_array()
                .unwrap()
                .iter()
                .all(|p| p["shutter"] == "open")
        });
    }
    eprintln!(
        "blackout (fade {fade} s) to AVMT 31: {}\nrestore to AVMT 30: {}",
        spread(closing),
        spread(opening)
    );
    // The operator's own say, for every projector of the output.
    c.ok(
        "/candela/projector/main/shutter",
        vec![OscType::String("closed".into())],
    );
    for p in [&left, &right] {
        assert!(p.wait_for("AVMT 31", Duration::from_secs(5)).is_some());
    }
    let sent = Instant::now();
    c.ok(
        "/candela/projector/main/power",
        vec![OscType::String("off".into())],
    );
    assert!(
        left.wait_after("POWR 0", Some(sent), Duration::from_secs(5))
            .is_some()
    );
    let refused = c.ask(
        "/candela/projector/side/power",
        vec![OscType::String("on".into())],
    );
    assert!(
        refused["status"] == "error"
            && refused["data"]
                .as_str()
                .unwrap_or_default()
                .contains("no projectors"),
        "{refused}"
    );
}

#[test]
fn a_wrong_password_is_reported_in_the_state_and_the_log_and_the_show_goes_on() {
    let locked = Projector::start(
        "127.0.0.2",
        Model {
            password: Some("right".into()),
            ..Model::default()
        },
    );
    let dir = show_with(&projector_toml(
        &locked,
        "password_env = \"CANDELA_TEST_PJLINK_WRONG\"",
    ));
    let mut command = support::play();
    command
        .env("CANDELA_TEST_PJLINK_WRONG", "wrong")
        .args([
            "--headless",
            "--no-http",
            "--fps",
            "60",
            "--osc",
            "127.0.0.1:0",
        ])
        .arg(dir.path().join("show.toml"));
    let c = support::Candela::spawn(command, support::OSC_LISTENING);
    let s = c.until("the password refused", |s| {
        s["projectors"][0]["problem"]
            .as_str()
            .is_some_and(|p| p.contains("ERRA"))
    });
    assert_eq!(s["projectors"][0]["reachable"], false);
    assert!(c.logged("refused the password (PJLINK ERRA)"));
    assert_eq!(
        c.ok("/candela/next", vec![])["slide"],
        "b",
        "the show goes on"
    );
}

#[test]
fn a_silent_projector_holds_up_no_cue() {
    let silent = Projector::start(
        "127.0.0.2",
        Model {
            silent: true,
            ..Model::default()
        },
    );
    let dir = show_with(&projector_toml(&silent, ""));
    let c = support::Candela::start(dir.path().join("show.toml"), &[]);
    let mut answers = Vec::new();
    let end = Instant::now() + Duration::from_secs(3);
    while Instant::now() < end {
        let sent = Instant::now();
        c.ok("/candela/next", vec![]);
        answers.push(sent.elapsed().as_secs_f64() * 1000.0);
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(silent.connections() >= 1, "it was tried meanwhile");
    let worst = answers.iter().cloned().fold(0.0, f64::max);
    eprintln!("cue answers beside a silent projector: {}", spread(answers));
    assert!(worst < 1000.0, "a cue waited {worst} ms");
    let s = c.until("silence said", |s| {
        s["projectors"][0]["problem"].is_string()
    });
    assert!(
        s["projectors"][0]["problem"]
            .as_str()
            .unwrap()
            .contains("sent no greeting"),
        "{s}"
    );
}

#[test]
fn faults_and_an_unreachable_projector_are_flagged_in_the_state_and_on_the_page() {
    let faulty = Projector::start(
        "127.0.0.2",
        Model {
            errors: "020000".into(),
            ..Model::default()
        },
    );
    let (dir, _) = show_with_one_gone(&faulty);
    let mut command = support::play();
    command
        .args(["--headless", "--size", "640x360", "--no-osc"])
        .args(["--http", "127.0.0.1:0", "--state-dir"])
        .arg(dir.path())
        .arg(dir.path().join("show.toml"))
        .env("CANDELA_PIN", "432198");
    let c = support::Candela::spawn(command, support::WEB_LISTENING);
    let end = Instant::now() + Duration::from_secs(10);
    let state = loop {
        let s = support::http::get(c.addr, "/api/state").json();
        let p = &s["projectors"];
        if p[0]["faults"][0] == "lamp error" && p[1]["problem"].is_string() {
            break s;
        }
        assert!(Instant::now() < end, "never flagged: {s}");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(state["projectors"][0]["reachable"], true);
    assert_eq!(state["projectors"][1]["reachable"], false);
    assert!(c.logged("reports lamp error"));
    let browser = support::browser::Browser::open(
        "projectors",
        support::browser::Screen::Laptop {
            width: 1000,
            height: 800,
        },
    );
    browser.go(&format!("http://{}/", c.addr));
    let flagged = browser.until(
        "both projectors flagged",
        "const li = [...document.querySelectorAll('#projectors li.fault')]; \
         return li.length === 2 && !document.getElementById('projectors-box').classList.contains('hidden') \
           ? li.map(l => l.textContent) : null",
    );
    let lines: Vec<&str> = flagged
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap())
        .collect();
    assert!(lines[0].contains("FAULT: lamp error"), "{lines:?}");
    assert!(lines[1].contains("NOT ANSWERING"), "{lines:?}");
}

fn candela(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_candela"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap()
}

#[test]
fn check_projectors_says_which_answer_and_the_search_lists_class_2_ones() {
    let good = Projector::start(
        "127.0.0.2",
        Model {
            class: 2,
            ..Model::default()
        },
    );
    let (dir, _) = show_with_one_gone(&good);
    let show = dir.path().join("show.toml");
    let out = candela(&["check", "--projectors", show.to_str().unwrap()]);
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "{said}");
    assert!(
        said.contains(&format!(
            "projector {} (main): answers; power on, shutter open, no faults",
            good.addr
        )),
        "{said}"
    );
    assert!(
        said.contains("127.0.0.3") && said.contains("cannot connect"),
        "{said}"
    );
    let out = candela(&[
        "projectors",
        "--to",
        &good.addr.to_string(),
        "--wait",
        "0.5",
    ]);
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{said}");
    assert!(said.contains("127.0.0.2  00:11:22:33:44:55"), "{said}");
    assert!(said.contains("1 projector(s) answered"), "{said}");
}

#[test]
fn bench_says_whether_each_projector_answers() {
    let good = Projector::start("127.0.0.2", Model::default());
    let (dir, gone) = show_with_one_gone(&good);
    let show = dir.path().join("show.toml");
    let out = candela(&["bench", show.to_str().unwrap(), "--seconds", "3"]);
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{said}");
    assert!(
        said.contains(&format!("main {} answers", good.addr)),
        "{said}"
    );
    assert!(
        said.contains(&format!("main {gone} does not answer")),
        "{said}"
    );
}
