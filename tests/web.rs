//! The web remote, over real HTTP and WebSocket on 127.0.0.1 against a real `candela play
//! --headless`: every endpoint, PINs refused and accepted, the allowlist, each bad input,
//! hundreds of viewers coming and going, the preview against the rendered output, and a real
//! browser (Debian's chromium, driven over WebDriver) tapping Next, at laptop and phone size.

mod support;

use serde_json::{Value, json};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use support::Candela;
use support::browser::{Browser, Screen};
use support::http::{Reply, connect_from, get, http, http_from, https_from, plain_from};

const PIN: &str = "432198";
const JSON: &[(&str, &str)] = &[("Content-Type", "application/json")];

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn fixture(name: &str) -> String {
    root()
        .join("tests/fixtures/web")
        .join(name)
        .to_string_lossy()
        .into_owned()
}

/// A fresh folder under the target dir for this run's files.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("candela-web-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Starts a headless show serving the web remote on a free loopback port (PIN `PIN` unless
/// the environment says otherwise), and waits until it listens.
fn start(show: &str, env: &[(&str, &str)]) -> Candela {
    launch(&["--headless", "--size", "640x360"], show, env)
}

/// Starts `candela play` with `args`, serving the web remote on a free loopback port.
fn launch(args: &[&str], show: &str, env: &[(&str, &str)]) -> Candela {
    static RUN: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = RUN.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    launch_in(&scratch(&format!("state-{n}")), args, show, env)
}

/// `launch`, keeping what candela keeps in `state`.
fn launch_in(state: &Path, args: &[&str], show: &str, env: &[(&str, &str)]) -> Candela {
    let mut command = support::play();
    command
        .args(args)
        .arg("--no-osc")
        .args(["--http", "127.0.0.1:0", "--state-dir"])
        .arg(state)
        .arg(show)
        .env("CANDELA_PIN", PIN);
    for (k, v) in env {
        if v.is_empty() {
            command.env_remove(k);
        } else {
            command.env(k, v);
        }
    }
    Candela::spawn(command, support::WEB_LISTENING)
}

fn command_as(addr: SocketAddr, auth: &[(&str, &str)], body: &str) -> Reply {
    let mut headers = vec![("Content-Type", "application/json")];
    headers.extend_from_slice(auth);
    http(addr, "POST", "/api/command", &headers, body.as_bytes())
}

fn bearer(pin: &str) -> String {
    format!("Bearer {pin}")
}

fn command(addr: SocketAddr, body: Value) -> Value {
    let auth = bearer(PIN);
    let reply = command_as(addr, &[("Authorization", &auth)], &body.to_string());
    assert_eq!(
        reply.status,
        200,
        "{body}: {}",
        String::from_utf8_lossy(&reply.body)
    );
    let answer = reply.json();
    assert_eq!(answer["status"], "ok", "{body}: {answer}");
    answer["data"].clone()
}

fn state(addr: SocketAddr) -> Value {
    let reply = get(addr, "/api/state");
    assert_eq!(
        reply.status,
        200,
        "{}",
        String::from_utf8_lossy(&reply.body)
    );
    reply.json()
}

fn jpeg(reply: &Reply) -> image::RgbImage {
    assert_eq!(
        reply.status,
        200,
        "{}",
        String::from_utf8_lossy(&reply.body)
    );
    assert_eq!(reply.header("content-type"), Some("image/jpeg"));
    image::load_from_memory_with_format(&reply.body, image::ImageFormat::Jpeg)
        .expect("a JPEG")
        .to_rgb8()
}

/// Mean absolute difference per channel, 0 to 255.
fn difference(a: &image::RgbImage, b: &image::RgbImage) -> f64 {
    assert_eq!(a.dimensions(), b.dimensions());
    let sum: u64 = a
        .as_raw()
        .iter()
        .zip(b.as_raw())
        .map(|(x, y)| x.abs_diff(*y) as u64)
        .sum();
    sum as f64 / a.as_raw().len() as f64
}

/// What `candela render` draws for `slide` of the web show, at the preview's size.
/// Each channel of each probed pixel of the preview within `tolerance` of the rendering's.
fn probes(preview: &image::RgbImage, rendered: &image::RgbImage, at: &[(u32, u32)], tolerance: u8) {
    for &(x, y) in at {
        let (p, r) = (preview.get_pixel(x, y).0, rendered.get_pixel(x, y).0);
        for c in 0..3 {
            assert!(
                p[c].abs_diff(r[c]) <= tolerance,
                "({x}, {y}): preview {p:?}, rendered {r:?}"
            );
        }
    }
}

fn rendered(slide: &str) -> image::RgbImage {
    rendered_from(&fixture("show.toml"), slide, "640x360")
}

/// What `candela render` draws for `slide` of `show` at `size`.
fn rendered_from(show: &str, slide: &str, size: &str) -> image::RgbImage {
    let out = scratch(&format!("render-{slide}-{size}")).join("frame.png");
    let status = Command::new(env!("CARGO_BIN_EXE_candela"))
        .args(["render", "--slide", slide, "--size", size, "--out"])
        .arg(&out)
        .arg(show)
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    image::open(&out).unwrap().to_rgb8()
}

#[test]
fn state_commands_and_every_bad_input() {
    let candela = start(&fixture("show.toml"), &[]);
    let addr = candela.addr;

    let page = get(addr, "/");
    assert_eq!(page.status, 200);
    let html = String::from_utf8(page.body.clone()).unwrap();
    assert!(html.contains("id=\"next\""), "the page has a Next button");
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "the page loads nothing from elsewhere"
    );

    let s = state(addr);
    assert_eq!(s["slide"], "a");
    assert_eq!(s["next"], "b");
    assert_eq!(s["title"], "web test");
    assert_eq!(s["slides"].as_array().unwrap().len(), 3);
    assert_eq!(s["slides"][1], json!({"id": "b", "name": "BBBBBBBB"}));
    assert_eq!(s["counters"]["letters"], 10);
    assert_eq!(s["control"], false);
    let hold = s["hold_left"].as_f64().unwrap();
    assert!(hold > 500.0 && hold <= 600.0, "hold left {hold}");

    // No PIN, a wrong one, and a malformed header: 401, and nothing moves.
    let next = r#"{"verb": "next"}"#;
    assert_eq!(command_as(addr, &[], next).status, 401);
    let wrong = bearer("9999");
    let refused = command_as(addr, &[("Authorization", &wrong)], next);
    assert_eq!(refused.status, 401);
    assert_eq!(refused.json()["status"], "denied");
    assert_eq!(
        command_as(addr, &[("Authorization", PIN)], next).status,
        401
    );
    assert_eq!(state(addr)["slide"], "a");

    // The OSC addresses without the prefix, answered with the state.
    assert_eq!(command(addr, json!({"verb": "next"}))["slide"], "b");
    assert_eq!(
        command(addr, json!({"verb": "goto", "args": ["c"]}))["slide"],
        "c"
    );
    assert_eq!(
        command(addr, json!({"verb": "goto", "args": [1]}))["slide"],
        "a"
    );
    let counted = command(addr, json!({"verb": "count/letters/add", "args": [120]}));
    assert_eq!(counted["counters"]["letters"], 130);
    assert_eq!(command(addr, json!({"verb": "blackout"}))["blackout"], true);
    assert_eq!(command(addr, json!({"verb": "restore"}))["blackout"], false);
    assert_eq!(
        command(addr, json!({"verb": "master", "args": [0.5]}))["master"],
        0.5
    );
    assert_eq!(
        command(addr, json!({"verb": "cycle/pause"}))["paused"],
        true
    );
    assert_eq!(
        command(addr, json!({"verb": "test", "args": ["grid"]}))["test_pattern"],
        "grid"
    );
    assert_eq!(
        command(addr, json!({"verb": "test", "args": ["off"]}))["test_pattern"],
        "off"
    );
    assert_eq!(command(addr, json!({"verb": "ping"})), "pong");

    // Each bad input: a clear answer, and nothing changes.
    let auth = bearer(PIN);
    let auth = [("Authorization", auth.as_str())];
    let bad = |body: &str, status: u16, says: &str| {
        let reply = command_as(addr, &auth, body);
        let text = String::from_utf8_lossy(&reply.body).into_owned();
        assert_eq!(reply.status, status, "{body}: {text}");
        assert!(text.contains(says), "{body}: {text} should say {says:?}");
    };
    bad(r#"{"verb": "next""#, 400, "malformed JSON");
    bad(r#"["next"]"#, 400, "malformed JSON");
    bad(r#"{"verb": "next", "extra": 1}"#, 400, "unknown field");
    bad(r#"{"verb": "fly"}"#, 400, "unknown verb \\\"fly\\\"");
    bad(r#"{"verb": ""}"#, 400, "give a verb");
    bad(r#"{"verb": "goto"}"#, 400, "slide's id or position");
    bad(r#"{"verb": "goto", "args": ["nowhere"]}"#, 400, "nowhere");
    bad(r#"{"verb": "goto", "args": [{"a": 1}]}"#, 400, "argument 1");
    bad(
        r#"{"verb": "count/letters/add", "args": [-3]}"#,
        400,
        "whole number",
    );
    bad(
        r#"{"verb": "master", "args": [7]}"#,
        400,
        "level from 0 to 1",
    );
    let huge = format!(
        r#"{{"verb": "next", "args": ["{}"]}}"#,
        "x".repeat(64 * 1024)
    );
    bad(&huge, 413, "over 4096 bytes");
    let after = state(addr);
    assert_eq!(
        after["slide"],
        "a",
        "{after}\n{}",
        candela.log.lock().unwrap().join("\n")
    );
    assert_eq!(after["counters"]["letters"], 130);
    assert_eq!(after["blackout"], false);

    // A browser logs in and gets a session cookie that scripts cannot read.
    let login = |pin: &str| {
        let body = json!({ "pin": pin }).to_string();
        http(addr, "POST", "/api/login", JSON, body.as_bytes())
    };
    assert_eq!(login("0000").status, 401);
    assert_eq!(
        http(addr, "POST", "/api/login", JSON, b"pin=432198").status,
        400
    );
    let ok = login(PIN);
    assert_eq!(ok.status, 200);
    let cookie = ok
        .header("set-cookie")
        .expect("a session cookie")
        .to_string();
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Strict"), "{cookie}");
    let session = cookie.split(';').next().unwrap();
    let by_cookie = command_as(
        addr,
        &[("Cookie", session)],
        r#"{"verb": "goto", "args": ["b"]}"#,
    );
    assert_eq!(by_cookie.status, 200);
    assert_eq!(by_cookie.json()["data"]["slide"], "b");
    let s = http(addr, "GET", "/api/state", &[("Cookie", session)], b"").json();
    assert_eq!(s["control"], true);
    let forged = command_as(addr, &[("Cookie", "candela_session=00ff")], next);
    assert_eq!(forged.status, 401);
    // Logging out ends the session: the same cookie no longer controls anything.
    let logout = [("Cookie", session), ("Content-Type", "application/json")];
    let out = http(addr, "POST", "/api/logout", &logout, b"{}");
    assert_eq!(out.status, 200);
    assert!(
        out.header("set-cookie")
            .is_some_and(|c| c.contains("Max-Age=0")),
        "the cookie is cleared: {:?}",
        out.header("set-cookie")
    );
    assert_eq!(command_as(addr, &[("Cookie", session)], next).status, 401);
    let s = http(addr, "GET", "/api/state", &[("Cookie", session)], b"").json();
    assert_eq!(s["control"], false);

    // Thumbnails, of known slides only; anything else is a clear 404.
    let thumb = jpeg(&get(addr, "/api/slides/c/thumbnail.jpg"));
    assert_eq!(thumb.dimensions(), (320, 180));
    assert_eq!(get(addr, "/api/slides/nope/thumbnail.jpg").status, 404);
    assert_eq!(get(addr, "/api/nothing").status, 404);
}

#[test]
fn a_thumbnail_shows_its_slides_photo_even_when_it_was_not_loaded() {
    // The default show starts on its intro; nothing has decoded the portraits at thumbnail
    // size, so each thumbnail asked for waits (bounded) for its photo.
    let show = root()
        .join("slides/show.toml")
        .to_string_lossy()
        .into_owned();
    let candela = start(&show, &[]);
    for slide in ["hakan-yaman", "nabi-saleh"] {
        let thumb = jpeg(&get(
            candela.addr,
            &format!("/api/slides/{slide}/thumbnail.jpg"),
        ));
        let drawn = rendered_from(&show, slide, "320x180");
        let d = difference(&thumb, &drawn);
        assert!(
            d < 3.0,
            "the thumbnail of {slide} differs from its rendering by {d}"
        );
    }
}

#[test]
fn preview_matches_the_rendered_output() {
    let candela = start(&fixture("show.toml"), &[]);
    let addr = candela.addr;
    let a = rendered("a");
    let b = rendered("b");
    assert!(
        difference(&a, &b) > 3.0,
        "the two slides differ enough to tell"
    );

    let preview = jpeg(&get(addr, "/api/preview.jpg"));
    assert_eq!(preview.dimensions(), (640, 360));
    let d = difference(&preview, &a);
    assert!(
        d < 2.5,
        "preview of slide a differs from its rendering by {d}"
    );
    // Probes: the background, and the middle of the title's letter.
    probes(
        &preview,
        &a,
        &[(5, 5), (630, 350), (320, 20), (100, 300)],
        12,
    );

    command(addr, json!({"verb": "next"}));
    let deadline = Instant::now() + Duration::from_secs(10);
    let preview = loop {
        let p = jpeg(&get(addr, "/api/preview.jpg"));
        if difference(&p, &b) < 2.5 || Instant::now() > deadline {
            break p;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let d = difference(&preview, &b);
    assert!(
        d < 2.5,
        "preview of slide b differs from its rendering by {d}"
    );

    command(addr, json!({"verb": "blackout"}));
    let deadline = Instant::now() + Duration::from_secs(10);
    let black = loop {
        let p = jpeg(&get(addr, "/api/preview.jpg"));
        let brightest = p.as_raw().iter().copied().max().unwrap();
        if brightest <= 8 || Instant::now() > deadline {
            break brightest;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(
        black <= 8,
        "a blacked-out wall previews black, brightest {black}"
    );
}

type Socket = tungstenite::WebSocket<TcpStream>;

fn websocket(
    addr: SocketAddr,
    headers: &[(&'static str, &str)],
) -> Result<Socket, tungstenite::Error> {
    use tungstenite::client::IntoClientRequest;
    let mut request = format!("ws://{addr}/api/events")
        .into_client_request()
        .unwrap();
    for (k, v) in headers {
        request
            .headers_mut()
            .insert(*k, tungstenite::http::HeaderValue::from_str(v).unwrap());
    }
    let stream = TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    tungstenite::client(request, stream)
        .map(|(socket, _)| socket)
        .map_err(|e| match e {
            tungstenite::HandshakeError::Failure(e) => e,
            tungstenite::HandshakeError::Interrupted(_) => {
                tungstenite::Error::Io(std::io::ErrorKind::WouldBlock.into())
            }
        })
}

/// The next event of `kind` that `accept` takes, within `wait`.
fn event(
    socket: &mut Socket,
    kind: &str,
    wait: Duration,
    accept: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = Instant::now() + wait;
    loop {
        assert!(Instant::now() < deadline, "no {kind} event in {wait:?}");
        match socket.read() {
            Ok(tungstenite::Message::Text(text)) => {
                let event: Value = serde_json::from_str(&text).unwrap();
                if event["type"] == kind && accept(&event) {
                    return event;
                }
            }
            Ok(_) => {}
            Err(e) => panic!("events: {e}"),
        }
    }
}

#[test]
fn events_push_state_and_pictures_and_survive_many_viewers() {
    let candela = start(&fixture("show.toml"), &[]);
    let addr = candela.addr;
    let mut socket = websocket(addr, &[]).unwrap();
    let first = event(&mut socket, "state", Duration::from_secs(10), |_| true);
    assert_eq!(first["state"]["slide"], "a");
    event(&mut socket, "preview", Duration::from_secs(10), |e| {
        e["frame"].as_u64() > Some(0)
    });

    command(addr, json!({"verb": "next"}));
    event(&mut socket, "state", Duration::from_secs(5), |e| {
        e["state"]["slide"] == "b"
    });
    event(&mut socket, "preview", Duration::from_secs(5), |_| true);

    // A viewer that never reads, and 200 that connect and vanish: the show goes on and
    // the server's memory stays bounded.
    let rss = || -> u64 {
        let status =
            std::fs::read_to_string(format!("/proc/{}/status", candela.child.id())).unwrap();
        let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
        line.split_whitespace().nth(1).unwrap().parse().unwrap()
    };
    let _sleeper = websocket(addr, &[]).unwrap();
    let before = rss();
    for round in 0..4 {
        let crowd: Vec<Socket> = (0..50).map(|_| websocket(addr, &[]).unwrap()).collect();
        command(
            addr,
            json!({"verb": "count/letters/add", "args": [1 + round]}),
        );
        drop(crowd);
    }
    for i in 0..50 {
        command(
            addr,
            json!({"verb": "count/letters/add", "args": [1000 + i]}),
        );
    }
    let expected = 10 + 1 + 2 + 3 + 4 + (0..50).map(|i| 1000 + i).sum::<u64>();
    event(&mut socket, "state", Duration::from_secs(10), |e| {
        e["state"]["counters"]["letters"] == expected
    });
    assert_eq!(state(addr)["counters"]["letters"], expected);
    let after = rss();
    assert!(
        after < before + 64 * 1024,
        "200 viewers came and went: resident memory grew from {before} KiB to {after} KiB"
    );
}

#[test]
fn pins_from_the_show_and_a_view_pin() {
    let candela = start(&fixture("pinned.toml"), &[("CANDELA_PIN", "")]);
    let addr = candela.addr;
    assert_eq!(
        get(addr, "/").status,
        200,
        "the page itself, to log in from"
    );
    assert_eq!(get(addr, "/api/state").status, 401);
    assert_eq!(get(addr, "/api/preview.jpg").status, 401);
    assert_eq!(get(addr, "/api/slides/a/thumbnail.jpg").status, 401);
    assert!(
        websocket(addr, &[]).is_err(),
        "events need the view PIN too"
    );
    let view = bearer("135724");
    let viewer = [("Authorization", view.as_str())];
    let s = http(addr, "GET", "/api/state", &viewer, b"");
    assert_eq!(s.status, 200);
    assert_eq!(s.json()["control"], false);
    let mut socket = websocket(addr, &viewer).unwrap();
    event(&mut socket, "state", Duration::from_secs(10), |_| true);
    assert_eq!(
        command_as(addr, &viewer, r#"{"verb": "blackout"}"#).status,
        401
    );
    // The show's PIN, since CANDELA_PIN is not set.
    assert_eq!(
        command_as(
            addr,
            &[("Authorization", &bearer(PIN))],
            "{\"verb\": \"blackout\"}"
        )
        .status,
        401
    );
    let control = bearer("246813");
    let done = command_as(
        addr,
        &[("Authorization", &control)],
        r#"{"verb": "blackout"}"#,
    );
    assert_eq!(done.status, 200);
    assert_eq!(done.json()["data"]["blackout"], true);
}

/// The certificate fingerprint candela printed.
fn printed_fingerprint(candela: &Candela) -> String {
    const SAID: &str = "web remote certificate SHA-256 ";
    let log = candela.log.lock().unwrap();
    let line = log
        .iter()
        .find(|l| l.contains(SAID))
        .unwrap_or_else(|| panic!("no fingerprint printed:\n{}", log.join("\n")));
    let after = line.split(SAID).nth(1).unwrap();
    after.split_whitespace().next().unwrap().to_string()
}

#[test]
fn the_remote_is_served_over_tls_with_a_kept_certificate() {
    let state = scratch("tls-state");
    let phone = std::net::IpAddr::from([127, 0, 0, 2]);
    let show = fixture("show.toml");
    let candela = launch_in(&state, &["--headless", "--size", "640x360"], &show, &[]);
    let addr = candela.addr;
    let (reply, cert) = https_from(phone, addr, "GET", "/api/state", &[], b"");
    assert_eq!(reply.status, 200);
    let printed = printed_fingerprint(&candela);
    assert_eq!(support::tls::fingerprint(&cert), printed);
    assert_eq!(printed.len(), 95, "{printed}");
    // The page is told it, to show it.
    assert_eq!(reply.json()["certificate"], printed.as_str());
    // The session cookie is never sent in clear.
    let body = json!({ "pin": PIN }).to_string();
    let login = http_from(phone, addr, "POST", "/api/login", JSON, body.as_bytes());
    assert_eq!(login.status, 200);
    let cookie = login.header("set-cookie").unwrap();
    assert!(cookie.contains("; Secure"), "{cookie}");
    // Plain HTTP from the network is sent to HTTPS, and answers nothing else.
    let plain = plain_from(phone, addr, "GET", "/setup?x=1", &[]);
    assert_eq!(plain.status, 307, "{plain:?}");
    assert_eq!(
        plain.header("location"),
        Some(format!("https://{addr}/setup?x=1").as_str())
    );
    let asked = plain_from(phone, addr, "GET", "/api/state", &[]);
    assert_eq!(asked.status, 307);
    assert!(!String::from_utf8_lossy(&asked.body).contains("slides"));
    let forged = plain_from(phone, addr, "GET", "/", &[("Host", "evil.example")]);
    assert_eq!(forged.status, 400, "no redirect to another host");
    // From the laptop itself plain HTTP is served (scripts, the laptop's own browser).
    assert_eq!(get(addr, "/api/state").status, 200);
    // Kept privately in the state folder, and the same after a restart.
    use std::os::unix::fs::PermissionsExt;
    let key = std::fs::metadata(state.join("web-remote.key")).unwrap();
    assert_eq!(key.permissions().mode() & 0o077, 0);
    drop(candela);
    let again = launch_in(&state, &["--headless", "--size", "640x360"], &show, &[]);
    let (reply, cert) = https_from(phone, again.addr, "GET", "/api/state", &[], b"");
    assert_eq!(reply.status, 200);
    assert_eq!(support::tls::fingerprint(&cert), printed);
    assert_eq!(printed_fingerprint(&again), printed);
    drop(again);
    // --plain-http answers plain HTTP from the network too.
    let open = launch_in(
        &state,
        &["--headless", "--size", "640x360", "--plain-http"],
        &show,
        &[],
    );
    let plain = plain_from(phone, open.addr, "GET", "/api/state", &[]);
    assert_eq!(plain.status, 200);
    assert!(open.logged("plain HTTP is answered from the network too"));
}

#[test]
fn the_allowlist_refuses_everyone_else() {
    use std::io::Write;
    let candela = start(&fixture("guarded.toml"), &[]);
    let addr = candela.addr;
    // Closed at accept, before a byte is read: no answer at all, from any address not listed.
    for (source, path) in [
        ([127, 0, 0, 1], "/"),
        ([127, 0, 0, 2], "/api/state"),
        ([127, 0, 0, 3], "/api/preview.jpg"),
    ] {
        let mut c = connect_from(source.into(), addr).unwrap();
        let _ = write!(c, "GET {path} HTTP/1.1\r\nHost: {addr}\r\n\r\n");
        c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut got = Vec::new();
        let read = std::io::Read::read_to_end(&mut c, &mut got);
        let timed_out = read.as_ref().is_err_and(|e| {
            matches!(
                e.kind(),
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
            )
        });
        assert!(
            !timed_out && got.is_empty(),
            "{path} from {source:?}: {read:?}, {:?}",
            String::from_utf8_lossy(&got)
        );
    }
    assert!(websocket(addr, &[]).is_err());
}

/// A login with `pin` from `source`.
fn login_from(source: [u8; 4], addr: SocketAddr, pin: &str) -> Reply {
    let body = json!({ "pin": pin }).to_string();
    http_from(
        source.into(),
        addr,
        "POST",
        "/api/login",
        JSON,
        body.as_bytes(),
    )
}

#[test]
fn wrong_pins_are_limited_per_address() {
    let candela = start(&fixture("show.toml"), &[]);
    let addr = candela.addr;
    let next = r#"{"verb": "next"}"#;
    let guesser = [127, 0, 0, 2];
    let from = |auth: &str| {
        let headers = [
            ("Content-Type", "application/json"),
            ("Authorization", auth),
        ];
        http_from(
            guesser.into(),
            addr,
            "POST",
            "/api/command",
            &headers,
            next.as_bytes(),
        )
    };
    for i in 0..candela::web::PER_ADDRESS {
        assert_eq!(from(&bearer(&format!("{:06}", 100_000 + i))).status, 401);
    }
    let locked = from(&bearer(PIN));
    assert_eq!(
        locked.status, 429,
        "even the right PIN waits after too many wrong ones"
    );
    assert!(locked.header("retry-after").is_some());
    assert_eq!(login_from(guesser, addr, PIN).status, 429);
    // Another address on the same network, and the laptop itself, are heard.
    assert_eq!(login_from([127, 0, 0, 3], addr, PIN).status, 200);
    assert_eq!(command(addr, json!({"verb": "ping"})), "pong");
    assert_eq!(
        state(addr)["slide"],
        "a",
        "viewing needs no PIN, and nothing moved"
    );
}

#[test]
fn many_addresses_lock_everyone_out_but_the_operator() {
    let candela = start(&fixture("show.toml"), &[]);
    let addr = candela.addr;
    // Two wrong PINs from each of many addresses over many /24s: no address and no network
    // goes over its own limit, but all of them together do.
    let guessers: Vec<[u8; 4]> = (0..candela::web::EVERYONE / 2)
        .flat_map(|n| [[127, 0, 10 + n as u8, 1], [127, 0, 10 + n as u8, 2]])
        .collect();
    for (i, g) in guessers.iter().enumerate() {
        let status = login_from(*g, addr, &format!("{:06}", 200_000 + i)).status;
        assert_eq!(status, 401, "guess {i} from {g:?}");
    }
    // Locked out: a guesser is refused unheard, and a fresh address's wrong PIN locks it.
    let again = login_from(guessers[0], addr, "300000");
    assert_eq!(again.status, 429);
    assert!(again.header("retry-after").is_some());
    let fresh = [127, 0, 99, 1];
    assert_eq!(login_from(fresh, addr, "300001").status, 429);
    assert_eq!(
        login_from(fresh, addr, PIN).status,
        429,
        "one wrong PIN in a lockout locks the address"
    );
    // The operator's phone, which sent no wrong PIN, logs in; its session works.
    let phone = login_from([127, 0, 98, 7], addr, PIN);
    assert_eq!(
        phone.status,
        200,
        "{}",
        String::from_utf8_lossy(&phone.body)
    );
    let cookie = phone.header("set-cookie").unwrap();
    let session = cookie.split(';').next().unwrap().to_string();
    let by_cookie = command_as(addr, &[("Cookie", &session)], r#"{"verb": "next"}"#);
    assert_eq!(by_cookie.status, 200);
    // And the laptop itself is never locked out.
    assert_eq!(
        http(addr, "POST", "/api/login", JSON, br#"{"pin": "432198"}"#).status,
        200
    );
}

#[test]
fn requests_from_other_pages_are_refused() {
    let candela = start(&fixture("show.toml"), &[]);
    let addr = candela.addr;
    let auth = bearer(PIN);
    let next = br#"{"verb": "next"}"#;
    let post = |extra: &[(&str, &str)]| {
        let mut headers = vec![("Authorization", auth.as_str())];
        headers.extend_from_slice(extra);
        http(addr, "POST", "/api/command", &headers, next)
    };
    let json = ("Content-Type", "application/json");
    let evil = post(&[json, ("Origin", "http://evil.example")]);
    assert_eq!(evil.status, 403, "{}", String::from_utf8_lossy(&evil.body));
    assert_eq!(post(&[json, ("Origin", "null")]).status, 403);
    assert_eq!(post(&[("Content-Type", "text/plain")]).status, 415);
    assert_eq!(post(&[]).status, 415);
    let form = ("Content-Type", "application/x-www-form-urlencoded");
    assert_eq!(
        http(addr, "POST", "/api/login", &[form], b"pin=432198").status,
        415
    );
    assert_eq!(state(addr)["slide"], "a", "nothing moved");
    // A name rebound to this address (DNS rebinding) is not this machine's.
    let mut request = std::net::TcpStream::connect(addr).unwrap();
    let rebound = format!(
        "POST /api/command HTTP/1.1\r\nHost: evil.example:{}\r\nOrigin: http://evil.example:{}\r\nAuthorization: {auth}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        addr.port(),
        addr.port(),
        next.len()
    );
    use std::io::{Read, Write};
    request.write_all(rebound.as_bytes()).unwrap();
    request.write_all(next).unwrap();
    let mut answer = String::new();
    let _ = request.read_to_string(&mut answer);
    assert!(answer.starts_with("HTTP/1.1 403"), "{answer}");
    // The page's own origin is fine.
    let origin = format!("http://{addr}");
    assert_eq!(post(&[json, ("Origin", &origin)]).status, 200);
    // The events socket: refused from another page, taken from the remote's own.
    assert!(websocket(addr, &[("Origin", "http://evil.example")]).is_err());
    assert!(websocket(addr, &[("Origin", &origin)]).is_ok());
    // The pages are not to be framed, and run only their own files.
    for page in ["/", "/setup"] {
        let reply = get(addr, page);
        assert_eq!(reply.header("x-frame-options"), Some("DENY"), "{page}");
        let csp = reply.header("content-security-policy").unwrap_or_default();
        assert!(
            csp.contains("frame-ancestors 'none'")
                && csp.contains("script-src 'self'")
                && !csp.contains("unsafe-inline"),
            "{page}: {csp}"
        );
        let html = String::from_utf8_lossy(&reply.body);
        assert!(
            !html.contains("<script>") && !html.contains("<style>") && !html.contains("style=")
        );
    }
}

/// Whether the server closed `stream` (read to its end) within `wait`.
fn closed_within(stream: &mut TcpStream, wait: Duration) -> bool {
    use std::io::Read;
    stream.set_read_timeout(Some(wait)).unwrap();
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => continue,
            Err(e) => {
                return !matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                );
            }
        }
    }
}

#[test]
fn idle_connections_cannot_crowd_out_the_operator() {
    use std::io::Write;
    // Idle connections are timed out after 1.5 s here (10 s in a show).
    let candela = start(
        &fixture("show.toml"),
        &[("CANDELA_TEST_WEB_TIMEOUT_MS", "1500")],
    );
    let addr = candela.addr;
    let cap = candela::web::CONNECTIONS_PER_ADDRESS;
    let mut held = Vec::new();
    let mut refused = 0;
    for source in [[127, 0, 0, 2], [127, 0, 0, 3]] {
        for _ in 0..cap * 3 {
            let mut c = connect_from(source.into(), addr).unwrap();
            c.write_all(b"GET / HTTP/1.1\r\n").unwrap();
            held.push(c);
        }
    }
    // The operator is answered while they are held...
    assert_eq!(state(addr)["slide"], "a");
    // ...those over each address's cap were closed at once, unread, and the rest are closed
    // once idle too long.
    let started = Instant::now();
    for c in held.iter_mut() {
        if closed_within(c, Duration::from_millis(300)) {
            refused += 1;
        }
    }
    assert!(
        refused >= 2 * 2 * cap && started.elapsed() < Duration::from_millis(1500),
        "{refused} of {} closed at once",
        held.len()
    );
    for c in held.iter_mut() {
        assert!(
            closed_within(c, Duration::from_secs(10)),
            "an idle connection stays open"
        );
    }
    // A keep-alive connection that goes quiet after its request is closed too.
    let mut quiet = connect_from([127, 0, 0, 2].into(), addr).unwrap();
    write!(quiet, "GET /api/state HTTP/1.1\r\nHost: {addr}\r\n\r\n").unwrap();
    assert!(closed_within(&mut quiet, Duration::from_secs(10)));
    // After the attack, the attackers' addresses are answered again.
    let after = http_from([127, 0, 0, 2].into(), addr, "GET", "/api/state", &[], b"");
    assert_eq!(after.status, 200);
}

#[test]
fn a_short_pin_stops_the_show_at_start() {
    let out = Command::new(env!("CARGO_BIN_EXE_candela"))
        .args(["play", "--headless", "--no-osc", "--seconds", "5"])
        .args(["--http", "127.0.0.1:0", "--state-dir"])
        .arg(scratch("short-pin"))
        .arg(fixture("show.toml"))
        .env("CANDELA_PIN", "2468")
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{said}");
    assert!(
        said.contains("CANDELA_PIN") && said.contains("at least 6"),
        "{said}"
    );
}

#[test]
fn no_display_plays_headless_with_the_web_remote() {
    let state_dir = scratch("no-display");
    let mut command = support::play();
    command
        .args(["--no-osc", "--http", "127.0.0.1:0", "--state-dir"])
        .arg(&state_dir)
        .arg(fixture("show.toml"))
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY");
    let candela = Candela::spawn(command, support::WEB_LISTENING);
    assert_eq!(state(candela.addr)["slide"], "a");
    // What it logged before it listened.
    let said = candela.log.lock().unwrap().join("\n");
    assert!(
        said.contains("no display"),
        "it says why it plays headless: {said}"
    );
}

/// The preview's average brightness as the page shows it, read through a canvas.
const PREVIEW_LOOK: &str = r#"
    const img = document.getElementById('preview');
    if (!img.complete || !img.naturalWidth) return null;
    const c = document.createElement('canvas'); c.width = 64; c.height = 36;
    const g = c.getContext('2d'); g.drawImage(img, 0, 0, 64, 36);
    const d = g.getImageData(0, 0, 64, 36).data; let s = 0;
    for (let i = 0; i < d.length; i += 4) s += d[i] + d[i + 1] + d[i + 2];
    return { frame: Number(img.dataset.frame), look: s / (64 * 36 * 3) };
"#;

/// The test show, and a browser (see `Browser::open`) on its page once the page names the
/// first slide and shows a preview; and that preview's look.
fn browse(name: &str, mobile: bool) -> (Candela, Browser, Value) {
    browse_over("http", name, mobile)
}

/// `browse`, with the page opened over `scheme`.
fn browse_over(scheme: &str, name: &str, mobile: bool) -> (Candela, Browser, Value) {
    let candela = start(&fixture("show.toml"), &[]);
    let screen = if mobile {
        Screen::Phone {
            width: 360,
            height: 740,
        }
    } else {
        Screen::Laptop {
            width: 1280,
            height: 900,
        }
    };
    let browser = Browser::open(name, screen);
    browser.go(&format!("{scheme}://{}/", candela.addr));
    browser.until(
        "the show's state",
        "return document.getElementById('now-name').dataset.slide === 'a'",
    );
    let look = browser.until(
        "a preview",
        &format!("return (() => {{ {PREVIEW_LOOK} }})()"),
    );
    (candela, browser, look)
}

#[test]
fn a_browser_logs_in_taps_next_and_sees_the_wall_change() {
    let (candela, browser, before) = browse("laptop", false);
    browser.script("document.getElementById('pin').value = '432198'; return true;");
    browser.tap("#login button");
    browser.until(
        "control after logging in",
        "return !document.getElementById('next').disabled && document.getElementById('mode').textContent === 'control'",
    );
    browser.tap("#next");
    browser.until(
        "the next slide's name",
        "return document.getElementById('now-name').dataset.slide === 'b'",
    );
    let script = format!(
        "const p = (() => {{ {PREVIEW_LOOK} }})(); return p && p.frame > {} && Math.abs(p.look - {}) > 1 ? p : null;",
        before["frame"], before["look"]
    );
    browser.until("the preview of the new slide", &script);
    assert_eq!(state(candela.addr)["slide"], "b");
    let connected = browser.script("return document.getElementById('conn').textContent");
    assert_eq!(connected, "connected");
    // Lock: the page is back to viewing, and a reload of it does not bring control back.
    browser.tap("#logout");
    browser.until(
        "view only after locking",
        "return document.getElementById('next').disabled && document.getElementById('mode').textContent === 'view only'",
    );
    browser.script("location.reload(); return true;");
    browser.until(
        "still view only after a reload",
        "return document.getElementById('now-name').dataset.slide === 'b' && document.getElementById('next').disabled && !document.getElementById('login').classList.contains('hidden')",
    );
}

#[test]
fn a_phone_uses_the_remote_over_https_once_the_certificate_is_accepted() {
    let (candela, browser, _) = browse_over("https", "https", true);
    let shown = browser.script("return document.getElementById('cert').textContent");
    assert_eq!(shown, printed_fingerprint(&candela).as_str());
    browser.script("document.getElementById('pin').value = '432198'; return true;");
    browser.tap("#login button");
    browser.until(
        "control after logging in over HTTPS (the Secure cookie kept)",
        "return !document.getElementById('next').disabled && document.getElementById('mode').textContent === 'control'",
    );
    browser.tap("#next");
    browser.until(
        "the next slide's name",
        "return document.getElementById('now-name').dataset.slide === 'b'",
    );
    assert_eq!(state(candela.addr)["slide"], "b");
    let connected = browser.script("return document.getElementById('conn').textContent");
    assert_eq!(connected, "connected", "the events socket over TLS");
}

#[test]
fn the_page_fits_a_phone() {
    let (_candela, browser, _) = browse("phone", true);
    let layout = browser.script(
        r#"const r = (id) => document.getElementById(id).getBoundingClientRect();
           return { viewport: window.innerWidth, scroll: document.documentElement.scrollWidth,
                    next: [r('next').width, r('next').height], back: [r('back').width, r('back').height],
                    wall: r('wall').width, slides: document.querySelectorAll('#grid button').length };"#,
    );
    assert_eq!(layout["viewport"], 360, "{layout}");
    assert!(
        layout["scroll"].as_f64() <= Some(360.0),
        "nothing sticks out sideways: {layout}"
    );
    assert!(
        layout["next"][0].as_f64() >= Some(300.0),
        "Next spans the phone: {layout}"
    );
    assert!(
        layout["next"][1].as_f64() >= Some(56.0),
        "Next is a big target: {layout}"
    );
    assert!(
        layout["back"][1].as_f64() >= Some(48.0),
        "Back is a big target: {layout}"
    );
    assert!(
        layout["wall"].as_f64() >= Some(300.0),
        "the wall fills the width: {layout}"
    );
    assert_eq!(layout["slides"], 3, "{layout}");
}

#[test]
fn a_viewer_that_never_reads_is_dropped_without_stalling_anyone() {
    let candela = start(&fixture("show.toml"), &[]);
    let addr = candela.addr;
    let mut sleeper = websocket(addr, &[]).unwrap();
    let mut reader = websocket(addr, &[]).unwrap();
    event(&mut reader, "state", Duration::from_secs(10), |_| true);
    // Far more state changes than the kernel's buffers between the server and a client
    // that never reads can hold; each one answered at once all the same.
    let changes = 1500u64;
    let started = Instant::now();
    for i in 0..changes {
        let value = 1000 + i;
        let reply = command(addr, json!({"verb": "count/letters", "args": [value]}));
        assert_eq!(reply["counters"]["letters"], value);
    }
    let took = started.elapsed();
    event(&mut reader, "state", Duration::from_secs(10), |e| {
        e["state"]["counters"]["letters"] == 1000 + changes - 1
    });
    // Past the server's patience, the sleeper's connection is closed: what it still holds
    // is read, then the end, not a wait for more.
    std::thread::sleep(Duration::from_secs(7));
    let mut held = 0;
    let end = loop {
        match sleeper.read() {
            Ok(_) => held += 1,
            Err(e) => break e,
        }
    };
    let closed = match &end {
        tungstenite::Error::Io(e) => !matches!(
            e.kind(),
            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
        ),
        _ => true,
    };
    assert!(
        closed,
        "the sleeper is still connected after {held} events: {end}"
    );
    assert!(
        held < changes,
        "the sleeper was dropped with {held} of {changes} events in its buffers"
    );
    eprintln!("{changes} commands in {took:?}; the sleeper held {held} events when dropped");
    assert_eq!(state(addr)["counters"]["letters"], 1000 + changes - 1);
}

#[test]
fn an_address_asked_for_and_taken_stops_with_a_clear_message() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let out = Command::new(env!("CARGO_BIN_EXE_candela"))
        .args([
            "play",
            "--headless",
            "--no-osc",
            "--seconds",
            "1",
            "--http",
            &addr,
        ])
        .arg("--state-dir")
        .arg(scratch("taken"))
        .arg(fixture("show.toml"))
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        said.contains(&format!("cannot serve the web remote on {addr}"))
            && said.contains("--no-http"),
        "{said}"
    );
}

#[test]
fn the_page_lists_the_show_files_problems() {
    let candela = start(&fixture("problem.toml"), &[]);
    let problems = state(candela.addr)["problems"].clone();
    let listed = problems.as_array().expect("a list of problems");
    assert_eq!(listed.len(), 1, "{problems}");
    let text = listed[0].as_str().unwrap();
    assert!(
        text.contains("problem.toml:") && text.contains("pin \"12\""),
        "{text}"
    );
    assert_eq!(command(candela.addr, json!({"verb": "next"}))["slide"], "a");
}

#[test]
fn the_window_offers_its_frames_to_the_preview_too() {
    let (_xvfb, display) = support::xvfb("1280x720");
    let candela = launch(
        &["--windowed", "1280x720"],
        &fixture("show.toml"),
        &[("DISPLAY", &display), ("WAYLAND_DISPLAY", "")],
    );
    // The window draws the show's own canvas (1920x1080): the picture is scaled down from it.
    let s = state(candela.addr);
    assert_eq!(s["slide"], "a");
    let preview = jpeg(&get(candela.addr, "/api/preview.jpg"));
    assert_eq!(preview.dimensions(), (640, 360));
    let a = rendered("a");
    // The background in the right channel order (the window's frames are often BGRA).
    probes(&preview, &a, &[(5, 5), (630, 350), (5, 350), (630, 5)], 8);
    let d = difference(&preview, &a);
    assert!(
        d < 4.0,
        "the window's preview differs from the rendering by {d}"
    );
    command(candela.addr, json!({"verb": "goto", "args": ["b"]}));
    let b = rendered("b");
    let deadline = Instant::now() + Duration::from_secs(10);
    let d = loop {
        let d = difference(&jpeg(&get(candela.addr, "/api/preview.jpg")), &b);
        if d < 4.0 || Instant::now() > deadline {
            break d;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(
        d < 4.0,
        "after a cue, the window's preview differs from slide b by {d}"
    );
}
