//! A PJLink projector for the tests, written from the PJLink specification (Class 1 and 2),
//! not from candela's client: TCP on a port of its own, the greeting with or without a
//! password (md5 of the random and the password, on the first command), ERR1 to ERR4 and
//! ERRA, warm-up and cool-down that take time, the Class 2 search over UDP; and the habits of
//! real models: silence, closing after each command, slow or lowercase answers, garbage.
//! Every command it is sent is recorded with when it came.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How the projector behaves.
#[derive(Debug, Clone)]
pub struct Model {
    pub password: Option<String>,
    /// 1 or 2: Class 2 answers its commands and the UDP search.
    pub class: u8,
    pub warm_up: Duration,
    pub cool_down: Duration,
    /// Answers in lowercase and says `Class 1` (as Optoma's do).
    pub lowercase: bool,
    /// Accepts connections and never says a word.
    pub silent: bool,
    /// Closes the connection after each answer.
    pub close_after_each: bool,
    /// Waits this long before each answer.
    pub slow: Duration,
    /// Greets with this instead of PJLink.
    pub garbage: Option<String>,
    /// ERST's six digits.
    pub errors: String,
    /// LAMP's answer; None: it has no lamp (ERR1).
    pub lamp: Option<String>,
    /// Starts powered on.
    pub on: bool,
    pub mac: String,
}

impl Default for Model {
    fn default() -> Model {
        Model {
            password: None,
            class: 1,
            warm_up: Duration::ZERO,
            cool_down: Duration::ZERO,
            lowercase: false,
            silent: false,
            close_after_each: false,
            slow: Duration::ZERO,
            garbage: None,
            errors: "000000".into(),
            lamp: Some("1200 1".into()),
            on: true,
            mac: "00:11:22:33:44:55".into(),
        }
    }
}

#[derive(Debug)]
enum Power {
    Off,
    On,
    Warming(Instant),
    Cooling(Instant),
}

#[derive(Debug)]
struct State {
    power: Power,
    avmt: String,
    /// Every command received, with when: "AVMT 31", "POWR ?".
    heard: Vec<(Instant, String)>,
    /// Connections accepted.
    connections: usize,
}

pub struct Projector {
    pub addr: SocketAddr,
    model: Arc<Mutex<Model>>,
    state: Arc<Mutex<State>>,
    stop: Arc<AtomicBool>,
}

impl Drop for Projector {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wakes the accept.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_millis(200));
    }
}

impl Projector {
    /// A projector listening on `ip` (a loopback address such as 127.0.0.2), on a free port,
    /// TCP and (Class 2) UDP.
    pub fn start(ip: &str, model: Model) -> Projector {
        let listener = TcpListener::bind((ip, 0)).unwrap();
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(Mutex::new(State {
            power: if model.on { Power::On } else { Power::Off },
            avmt: "30".into(),
            heard: Vec::new(),
            connections: 0,
        }));
        let class = model.class;
        let model = Arc::new(Mutex::new(model));
        let stop = Arc::new(AtomicBool::new(false));
        if class == 2 {
            let udp = UdpSocket::bind(addr).unwrap();
            udp.set_read_timeout(Some(Duration::from_millis(100)))
                .unwrap();
            let (model, stop) = (model.clone(), stop.clone());
            std::thread::spawn(move || search(udp, model, stop));
        }
        {
            let (model, state, stop) = (model.clone(), state.clone(), stop.clone());
            std::thread::spawn(move || {
                for stream in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        return;
                    }
                    let Ok(stream) = stream else { continue };
                    state.lock().unwrap().connections += 1;
                    let (model, state, stop) = (model.clone(), state.clone(), stop.clone());
                    std::thread::spawn(move || serve(stream, model, state, stop));
                }
            });
        }
        Projector {
            addr,
            model,
            state,
            stop,
        }
    }

    /// Changes how it behaves from the next connection on.
    pub fn set(&self, change: impl FnOnce(&mut Model)) {
        change(&mut self.model.lock().unwrap());
    }

    pub fn heard(&self) -> Vec<(Instant, String)> {
        self.state.lock().unwrap().heard.clone()
    }

    /// When it was first sent `command` (e.g. "AVMT 31"), if it was.
    pub fn first(&self, command: &str) -> Option<Instant> {
        self.heard()
            .into_iter()
            .find(|(_, c)| c == command)
            .map(|(t, _)| t)
    }

    /// Waits a bounded while for `command`; when it came.
    pub fn wait_for(&self, command: &str, within: Duration) -> Option<Instant> {
        self.wait_after(command, None, within)
    }

    /// Waits a bounded while for `command` sent at or after `since`; when it came.
    pub fn wait_after(
        &self,
        command: &str,
        since: Option<Instant>,
        within: Duration,
    ) -> Option<Instant> {
        let end = Instant::now() + within;
        loop {
            let heard = self
                .heard()
                .into_iter()
                .find(|(t, c)| c == command && since.is_none_or(|s| *t >= s));
            if let Some((t, _)) = heard {
                return Some(t);
            }
            if Instant::now() > end {
                return None;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    pub fn connections(&self) -> usize {
        self.state.lock().unwrap().connections
    }

    /// The power query's answer now: 0 off, 1 on, 2 cooling, 3 warming.
    pub fn power(&self) -> u8 {
        let model = self.model.lock().unwrap().clone();
        power_now(&mut self.state.lock().unwrap(), &model)
    }

    pub fn avmt(&self) -> String {
        self.state.lock().unwrap().avmt.clone()
    }
}

/// Moves warm-up and cool-down on; the query's digit.
fn power_now(state: &mut State, model: &Model) -> u8 {
    match state.power {
        Power::Warming(since) if since.elapsed() >= model.warm_up => state.power = Power::On,
        Power::Cooling(since) if since.elapsed() >= model.cool_down => state.power = Power::Off,
        _ => {}
    }
    match state.power {
        Power::Off => 0,
        Power::On => 1,
        Power::Cooling(_) => 2,
        Power::Warming(_) => 3,
    }
}

fn search(udp: UdpSocket, model: Arc<Mutex<Model>>, stop: Arc<AtomicBool>) {
    let mut buf = [0u8; 256];
    while !stop.load(Ordering::SeqCst) {
        let Ok((n, from)) = udp.recv_from(&mut buf) else {
            continue;
        };
        if &buf[..n] == b"%2SRCH\r" {
            let mac = model.lock().unwrap().mac.clone();
            let _ = udp.send_to(format!("%2ACKN={mac}\r").as_bytes(), from);
        }
    }
}

/// A line up to `\r`, at most 136 bytes; None when the connection ends or the line is longer.
fn read_line(stream: &mut TcpStream, stop: &AtomicBool) -> Option<String> {
    let mut line = Vec::new();
    let mut byte = [0u8; 1];
    loop {
        match stream.read(&mut byte) {
            Ok(0) => return None,
            Ok(_) if byte[0] == b'\r' => return String::from_utf8(line).ok(),
            Ok(_) if line.len() >= 135 => return None,
            Ok(_) => line.push(byte[0]),
            Err(e)
                if e.kind() == std::io::ErrorKind::WouldBlock
                    || e.kind() == std::io::ErrorKind::TimedOut =>
            {
                if stop.load(Ordering::SeqCst) {
                    return None;
                }
            }
            Err(_) => return None,
        }
    }
}

fn serve(
    mut stream: TcpStream,
    model: Arc<Mutex<Model>>,
    state: Arc<Mutex<State>>,
    stop: Arc<AtomicBool>,
) {
    let m = model.lock().unwrap().clone();
    let _ = stream.set_read_timeout(Some(Duration::from_millis(100)));
    if m.silent {
        // Reads and says nothing, until the client gives up.
        while read_line(&mut stream, &stop).is_some() {}
        return;
    }
    let random = format!("{:08x}", rand_u32());
    let greeting = match (&m.garbage, &m.password) {
        (Some(g), _) => format!("{g}\r"),
        (None, None) => "PJLINK 0\r".to_string(),
        (None, Some(_)) => format!("PJLINK 1 {random}\r"),
    };
    if stream.write_all(greeting.as_bytes()).is_err() {
        return;
    }
    let mut authenticated = m.password.is_none();
    while let Some(line) = read_line(&mut stream, &stop) {
        let mut body = line.as_str();
        if !authenticated {
            let expected =
                md5_hex(format!("{random}{}", m.password.as_deref().unwrap_or("")).as_bytes());
            if body.len() < 32 || !body.is_char_boundary(32) || body[..32] != expected {
                let _ = stream.write_all(b"PJLINK ERRA\r");
                return;
            }
            body = &body[32..];
            authenticated = true;
        }
        let answer = answer(body, &m, &state);
        std::thread::sleep(m.slow);
        let answer = if m.lowercase {
            answer.to_lowercase()
        } else {
            answer
        };
        if stream.write_all(format!("{answer}\r").as_bytes()).is_err() || m.close_after_each {
            return;
        }
    }
}

/// The answer to one command line (`%1POWR 1`), without its `\r`.
fn answer(body: &str, m: &Model, state: &Mutex<State>) -> String {
    let Some(rest) = body.strip_prefix('%') else {
        return "%1ERR1".into();
    };
    let (class, rest) = rest.split_at(1.min(rest.len()));
    let (command, param) = rest.split_once(' ').unwrap_or((rest, ""));
    let mut state = state.lock().unwrap();
    state
        .heard
        .push((Instant::now(), format!("{command} {param}")));
    let reply = |v: &str| format!("%{class}{command}={v}");
    if command.len() != 4 {
        return reply("ERR1");
    }
    let power = power_now(&mut state, m);
    let query = param == "?";
    match (command, class) {
        ("POWR", "1") if query => reply(&power.to_string()),
        ("POWR", "1") => match (param, power) {
            ("1", 0) => {
                state.power = Power::Warming(Instant::now());
                reply("OK")
            }
            ("0", 1) => {
                state.power = Power::Cooling(Instant::now());
                reply("OK")
            }
            ("1", 1 | 3) | ("0", 0 | 2) => reply("OK"),
            ("1" | "0", _) => reply("ERR3"),
            _ => reply("ERR2"),
        },
        ("AVMT", "1") if power != 1 => reply("ERR3"),
        ("AVMT", "1") if query => reply(&state.avmt),
        ("AVMT", "1") => {
            if ["10", "11", "20", "21", "30", "31"].contains(&param) {
                state.avmt = param.to_string();
                reply("OK")
            } else {
                reply("ERR2")
            }
        }
        ("INPT", "1") if query && power != 1 => reply("ERR3"),
        ("INPT", "1") if query => reply("31"),
        ("LAMP", "1") if query => match &m.lamp {
            Some(l) => reply(l),
            None => reply("ERR1"),
        },
        ("ERST", "1") if query => reply(&m.errors),
        ("CLSS", "1") if query && m.lowercase => reply(&format!("Class {}", m.class)),
        ("CLSS", "1") if query => reply(&m.class.to_string()),
        ("NAME", "1") if query => reply("facade left"),
        ("INF1", "1") if query => reply("EMULATOR"),
        ("INF2", "1") if query => reply("PJ-1"),
        ("SNUM", "2") if query && m.class == 2 => reply("SN0001"),
        ("FREZ", "2") if m.class == 2 => reply("OK"),
        _ if !query && matches!(command, "POWR" | "AVMT" | "INPT") => reply("ERR2"),
        _ => reply("ERR1"),
    }
}

fn rand_u32() -> u32 {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    t.subsec_nanos() ^ (t.as_secs() as u32).rotate_left(13)
}

/// RFC 1321, for the password check. Written again here from the RFC rather than taken from
/// candela, so a mistake in candela's cannot pass its own test.
pub fn md5_hex(data: &[u8]) -> String {
    let s: [u32; 16] = [7, 12, 17, 22, 5, 9, 14, 20, 4, 11, 16, 23, 6, 10, 15, 21];
    let k: Vec<u32> = (1..=64)
        .map(|i: u32| (f64::from(i).sin().abs() * 4_294_967_296.0) as u32)
        .collect();
    let mut msg = data.to_vec();
    let bits = (data.len() as u64).wrapping_mul(8);
    msg.push(0x80);
    while msg.len() % 64 != 56 {
        msg.push(0);
    }
    msg.extend_from_slice(&bits.to_le_bytes());
    let mut h = [0x67452301u32, 0xefcdab89, 0x98badcfe, 0x10325476];
    for chunk in msg.chunks_exact(64) {
        let w: Vec<u32> = chunk
            .chunks_exact(4)
            .map(|b| u32::from_le_bytes(b.try_into().unwrap()))
            .collect();
        let (mut a, mut b, mut c, mut d) = (h[0], h[1], h[2], h[3]);
        for i in 0..64 {
            let (f, g) = match i {
                0..=15 => ((b & c) | (!b & d), i),
                16..=31 => ((d & b) | (!d & c), (5 * i + 1) % 16),
                32..=47 => (b ^ c ^ d, (3 * i + 5) % 16),
                _ => (c ^ (b | !d), (7 * i) % 16),
            };
            let f = f.wrapping_add(a).wrapping_add(k[i]).wrapping_add(w[g]);
            a = d;
            d = c;
            c = b;
            b = b.wrapping_add(f.rotate_left(s[(i / 16) * 4 + i % 4]));
        }
        h[0] = h[0].wrapping_add(a);
        h[1] = h[1].wrapping_add(b);
        h[2] = h[2].wrapping_add(c);
        h[3] = h[3].wrapping_add(d);
    }
    h.iter()
        .flat_map(|v| v.to_le_bytes())
        .map(|b| format!("{b:02x}"))
        .collect()
}
