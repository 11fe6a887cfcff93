//! The OSC listeners: UDP and TCP on the same ports, on a tokio runtime of their own so the
//! render thread never waits on the network. Each message is checked against the allowlist,
//! decoded, interpreted, debounced, and handed to the show through `deliver`; native requests
//! get their reply back on the same path they came by.

use super::dialect::{self, Meaning};
use super::framing::{self, StreamDecoder};
use super::packet::{self, Message, When};
use crate::inbox::{Deliver, Incoming, Request};
use crate::show::OscSettings;
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::oneshot;

/// Largest packet accepted, over UDP or TCP.
pub const MAX_PACKET: usize = 64 * 1024;
/// TCP connections served at once; a new one past this closes the one idle the longest, so
/// a desk can always connect, however many a misbehaving client leaves open.
pub const MAX_CONNECTIONS: usize = 64;
/// Bundles timed further ahead than this are refused, not held for days.
const MAX_SCHEDULE: Duration = Duration::from_secs(3600);
/// Timed messages waiting for their time at once, from everyone; more are refused.
pub const MAX_SCHEDULED: usize = 1024;
/// Datagrams being handled at once (timed ones included); past this, datagrams are dropped
/// until some are done. Far above what any desk sends, far below what memory allows.
const MAX_IN_FLIGHT: usize = 4096;
/// Frames of one TCP connection being handled at once; past this it is read no further
/// until some are done (TCP's own flow control then slows the sender).
const FRAMES_PER_CONNECTION: usize = 32;

/// Entries the debounce and log-noise maps hold at most (each source or message one).
const MAX_REMEMBERED: usize = 4096;
/// A source's noise of one kind is logged at most this often.
const NOISE_EVERY: Duration = Duration::from_secs(10);

/// One of a bounded number of places, given back when dropped.
struct Slot(Arc<AtomicUsize>);

impl Slot {
    fn take(count: &Arc<AtomicUsize>, max: usize) -> Option<Slot> {
        count
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                (n < max).then_some(n + 1)
            })
            .ok()
            .map(|_| Slot(count.clone()))
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Where to listen, from the command line.
#[derive(Debug, Clone)]
pub struct OscOptions {
    pub binds: Vec<SocketAddr>,
    /// Print every message received and what it did (`--osc-log`).
    pub log: bool,
}

pub struct OscServer {
    /// The addresses actually bound (port 0 becomes a real port).
    pub local_addrs: Vec<SocketAddr>,
    /// The show's state as last published, watched by the feedback task; None when the show
    /// has no feedback targets, so nobody builds a state no one reads.
    state: Option<tokio::sync::watch::Sender<serde_json::Value>>,
}

impl OscServer {
    /// Whether anyone listens to [`OscServer::publish`].
    pub fn has_feedback(&self) -> bool {
        self.state.is_some()
    }

    /// Tells the feedback targets the show's state; only changes go out. Cheap when nothing
    /// changed, so the show calls it every frame.
    pub fn publish(&self, state: serde_json::Value) {
        let Some(sender) = &self.state else {
            return;
        };
        sender.send_if_modified(|old| {
            let changed = *old != state;
            if changed {
                *old = state;
            }
            changed
        });
    }
}

/// When a source last logged a kind of noise, and how many since were held back.
type Noise = (Option<Instant>, u32);

struct Shared {
    settings: OscSettings,
    /// The same settings, with mapping patterns compiled.
    dialect: dialect::Dialect,
    deliver: Deliver,
    log: bool,
    debounce: Mutex<HashMap<u64, Instant>>,
    /// When each source last logged each kind of noise, and how much was held back since.
    noise: Mutex<HashMap<(IpAddr, &'static str), Noise>>,
    /// Refused sources: when their current window of "denied" replies began, and how many.
    denied: Mutex<HashMap<IpAddr, (Instant, u32)>>,
    /// Timed messages waiting for their time.
    scheduled: Arc<AtomicUsize>,
    /// Datagrams being handled.
    in_flight: Arc<AtomicUsize>,
}

/// A refused source gets at most this many "denied" replies...
const DENIED_REPLIES: u32 = 5;
/// ...in this long.
const DENIED_WINDOW: Duration = Duration::from_secs(10);
/// Refused sources remembered at once; past this, those whose window is over are forgotten.
const DENIED_SOURCES: usize = 4096;

/// Whether a refused source may have one more "denied" reply now.
fn may_answer_denied(shared: &Shared, ip: IpAddr) -> bool {
    let now = Instant::now();
    let mut denied = shared.denied.lock().unwrap_or_else(|p| p.into_inner());
    if denied.len() >= DENIED_SOURCES {
        denied.retain(|_, (since, _)| now.duration_since(*since) < DENIED_WINDOW);
        if denied.len() >= DENIED_SOURCES {
            return false;
        }
    }
    let (since, count) = denied.entry(ip).or_insert((now, 0));
    if now.duration_since(*since) >= DENIED_WINDOW {
        *since = now;
        *count = 0;
    }
    *count += 1;
    *count <= DENIED_REPLIES
}

/// Binds every address (UDP and TCP each) and serves them on a background thread.
pub fn start(
    binds: &[SocketAddr],
    settings: OscSettings,
    log: bool,
    deliver: Deliver,
) -> std::io::Result<OscServer> {
    let mut sockets = Vec::new();
    let mut local_addrs = Vec::new();
    for bind in binds {
        let in_use = |e: std::io::Error| {
            std::io::Error::new(
                e.kind(),
                format!(
                    "cannot listen for OSC on {bind}: {e} (is another candela running? choose another with --osc, or --no-osc)"
                ),
            )
        };
        let udp = std::net::UdpSocket::bind(bind).map_err(in_use)?;
        let local = udp.local_addr()?;
        // The same port for TCP, even when the OS picked it.
        let tcp = std::net::TcpListener::bind(local).map_err(in_use)?;
        udp.set_broadcast(true)?;
        udp.set_nonblocking(true)?;
        tcp.set_nonblocking(true)?;
        local_addrs.push(local);
        sockets.push((udp, tcp));
    }
    if settings.allow.is_none() {
        tracing::warn!(
            "OSC: anyone on the network can cue the show; list who may in the show file's [osc] allow = [...]"
        );
    }
    let shared = Arc::new(Shared {
        dialect: dialect::Dialect::new(settings.clone()),
        settings,
        deliver,
        log,
        debounce: Mutex::new(HashMap::new()),
        noise: Mutex::new(HashMap::new()),
        denied: Mutex::new(HashMap::new()),
        scheduled: Arc::new(AtomicUsize::new(0)),
        in_flight: Arc::new(AtomicUsize::new(0)),
    });
    let (state, state_rx) = tokio::sync::watch::channel(serde_json::Value::Null);
    let feedback_targets = shared.settings.feedback.clone();
    let no_feedback = feedback_targets.is_empty();
    let prefix = shared.settings.prefix.clone();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    std::thread::Builder::new()
        .name("osc".into())
        .spawn(move || {
            runtime.block_on(async move {
                let connections = Arc::new(Connections::default());
                let mut tasks = Vec::new();
                if !feedback_targets.is_empty() {
                    tasks.push(tokio::spawn(feedback(feedback_targets, state_rx, prefix)));
                }
                for (udp, tcp) in sockets {
                    match (
                        tokio::net::UdpSocket::from_std(udp),
                        tokio::net::TcpListener::from_std(tcp),
                    ) {
                        (Ok(udp), Ok(tcp)) => {
                            tasks.push(tokio::spawn(serve_udp(udp, shared.clone())));
                            tasks.push(tokio::spawn(serve_tcp(
                                tcp,
                                shared.clone(),
                                connections.clone(),
                            )));
                        }
                        (Err(e), _) | (_, Err(e)) => tracing::error!("OSC: {e}"),
                    }
                }
                for t in tasks {
                    let _ = t.await;
                }
            })
        })?;
    for a in &local_addrs {
        tracing::info!("OSC: listening on udp and tcp {a}");
    }
    let state = (!no_feedback).then_some(state);
    Ok(OscServer { local_addrs, state })
}

/// Pushes state changes to the feedback targets as they happen, and a heartbeat every second
/// so a desk or tablet can show that candela is alive.
async fn feedback(
    targets: Vec<String>,
    mut state: tokio::sync::watch::Receiver<serde_json::Value>,
    prefix: String,
) {
    let socket = match tokio::net::UdpSocket::bind("0.0.0.0:0").await {
        Ok(s) => s,
        Err(e) => return tracing::error!("OSC feedback: {e}"),
    };
    let mut heartbeat = tokio::time::interval(Duration::from_secs(1));
    let mut last = serde_json::Value::Null;
    let mut beats: i32 = 0;
    loop {
        let messages = tokio::select! {
            changed = state.changed() => {
                if changed.is_err() {
                    return;
                }
                let now = state.borrow_and_update().clone();
                let messages = state_messages(&prefix, &last, &now);
                last = now;
                messages
            }
            _ = heartbeat.tick() => {
                beats = beats.wrapping_add(1);
                vec![packet::encode_message(&format!("{prefix}/heartbeat"), vec![rosc::OscType::Int(beats)])]
            }
        };
        for target in &targets {
            let Ok(mut addrs) = tokio::net::lookup_host(target.as_str()).await else {
                tracing::debug!("OSC feedback: cannot resolve {target}");
                continue;
            };
            if let Some(addr) = addrs.next() {
                for m in &messages {
                    let _ = socket.send_to(m, addr).await;
                }
            }
        }
    }
}

/// One message per state field that differs between `before` and `now`.
fn state_messages(
    prefix: &str,
    before: &serde_json::Value,
    now: &serde_json::Value,
) -> Vec<Vec<u8>> {
    use rosc::OscType;
    let as_osc = |v: &serde_json::Value| match v {
        serde_json::Value::String(s) => Some(OscType::String(s.clone())),
        serde_json::Value::Bool(b) => Some(OscType::Int(*b as i32)),
        serde_json::Value::Number(n) => match n.as_i64().and_then(|i| i32::try_from(i).ok()) {
            Some(i) => Some(OscType::Int(i)),
            None => n.as_f64().map(|f| OscType::Float(f as f32)),
        },
        // A list of names (stale counters, outputs) as one comma-separated string: desks
        // handle strings. Lists of numbers (corner pins) are for /candela/state only.
        serde_json::Value::Array(items) => items
            .iter()
            .map(|i| i.as_str())
            .collect::<Option<Vec<_>>>()
            .map(|names| OscType::String(names.join(","))),
        _ => None,
    };
    let mut out = Vec::new();
    let mut push = |path: String, old: Option<&serde_json::Value>, new: &serde_json::Value| {
        if old != Some(new)
            && let Some(arg) = as_osc(new)
        {
            out.push(packet::encode_message(
                &format!("{prefix}/state/{path}"),
                vec![arg],
            ));
        }
    };
    let Some(fields) = now.as_object() else {
        return out;
    };
    for (key, value) in fields {
        if let Some(counters) = value.as_object() {
            for (id, v) in counters {
                push(
                    format!("{key}/{id}"),
                    before.get(key).and_then(|c| c.get(id)),
                    v,
                );
            }
        } else {
            push(key.clone(), before.get(key), value);
        }
    }
    out
}

async fn serve_udp(socket: tokio::net::UdpSocket, shared: Arc<Shared>) {
    let socket = Arc::new(socket);
    let mut buf = vec![0u8; MAX_PACKET];
    loop {
        let (len, source) = match socket.recv_from(&mut buf).await {
            Ok(r) => r,
            Err(e) => {
                // A reply to a closed port comes back as an error on some systems; go on.
                tracing::debug!("OSC udp: {e}");
                continue;
            }
        };
        let Some(slot) = Slot::take(&shared.in_flight, MAX_IN_FLIGHT) else {
            warn_limited(&shared, source.ip(), "busy", || {
                format!(
                    "OSC udp: {MAX_IN_FLIGHT} datagrams already in hand; dropping from {source}"
                )
            });
            continue;
        };
        let bytes = buf[..len].to_vec();
        let (socket, shared) = (socket.clone(), shared.clone());
        // Each datagram on its own task: one slow reply, or a bundle timed for later, never
        // holds up the next cue. The slot bounds how many there are.
        tokio::spawn(async move {
            for reply in handle_packet(&shared, &bytes, source).await {
                let _ = socket.send_to(&reply, source).await;
            }
            drop(slot);
        });
    }
}

/// The open TCP connections: when each was last heard from, and how to close it.
#[derive(Default)]
struct Connections {
    open: Mutex<HashMap<u64, (Instant, Arc<tokio::sync::Notify>)>>,
    next_id: std::sync::atomic::AtomicU64,
}

impl Connections {
    /// Registers a new connection, closing the one idle the longest when all places are
    /// taken; returns its id and what closes it.
    fn open(&self, source: SocketAddr) -> (u64, Arc<tokio::sync::Notify>) {
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        if open.len() >= MAX_CONNECTIONS
            && let Some(oldest) = open
                .iter()
                .min_by_key(|(_, (last, _))| *last)
                .map(|(id, _)| *id)
            && let Some((_, close)) = open.remove(&oldest)
        {
            tracing::warn!(
                "OSC tcp: {MAX_CONNECTIONS} connections open; closing the one idle the longest for {source}"
            );
            close.notify_one();
        }
        let id = self.next_id.fetch_add(1, Ordering::SeqCst);
        let close = Arc::new(tokio::sync::Notify::new());
        open.insert(id, (Instant::now(), close.clone()));
        (id, close)
    }

    fn heard_from(&self, id: u64) {
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((last, _)) = open.get_mut(&id) {
            *last = Instant::now();
        }
    }

    fn closed(&self, id: u64) {
        self.open
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&id);
    }
}

async fn serve_tcp(
    listener: tokio::net::TcpListener,
    shared: Arc<Shared>,
    connections: Arc<Connections>,
) {
    loop {
        let Ok((stream, source)) = listener.accept().await else {
            continue;
        };
        let (id, close) = connections.open(source);
        let (shared, connections) = (shared.clone(), connections.clone());
        tokio::spawn(async move {
            let seen = |id| connections.heard_from(id);
            if let Err(e) = serve_connection(stream, source, shared, close, &|| seen(id)).await {
                tracing::warn!("OSC tcp {source}: {e}; connection closed");
            }
            connections.closed(id);
        });
    }
}

/// One TCP connection. Each frame is handled on a task of its own, so a bundle timed for
/// later does not hold up the frames after it; replies go back through one writer, in the
/// connection's framing.
async fn serve_connection(
    stream: tokio::net::TcpStream,
    source: SocketAddr,
    shared: Arc<Shared>,
    close: Arc<tokio::sync::Notify>,
    heard: &(dyn Fn() + Sync),
) -> Result<(), String> {
    let (mut reader, mut writer) = stream.into_split();
    let (replies, mut outbox) = tokio::sync::mpsc::channel::<Vec<u8>>(FRAMES_PER_CONNECTION);
    let write = tokio::spawn(async move {
        while let Some(bytes) = outbox.recv().await {
            writer.write_all(&bytes).await?;
        }
        Ok::<(), std::io::Error>(())
    });
    let frames_in_hand = Arc::new(tokio::sync::Semaphore::new(FRAMES_PER_CONNECTION));
    let mut decoder = StreamDecoder::new(MAX_PACKET);
    let mut buf = vec![0u8; 16 * 1024];
    let result = loop {
        let read = tokio::select! {
            read = reader.read(&mut buf) => read,
            _ = close.notified() => break Ok(()),
        };
        let n = match read {
            Ok(0) => break Ok(()),
            Ok(n) => n,
            Err(e) => break Err(e.to_string()),
        };
        heard();
        let frames = match decoder.push(&buf[..n]) {
            Ok(frames) => frames,
            Err(e) => break Err(e.to_string()),
        };
        let framing = decoder
            .framing()
            .unwrap_or(framing::Framing::LengthPrefixed);
        for frame in frames {
            let Ok(permit) = frames_in_hand.clone().acquire_owned().await else {
                break;
            };
            let (shared, replies) = (shared.clone(), replies.clone());
            tokio::spawn(async move {
                for reply in handle_packet(&shared, &frame, source).await {
                    if replies
                        .send(framing::encode(framing, &reply))
                        .await
                        .is_err()
                    {
                        break;
                    }
                }
                drop(permit);
            });
        }
    };
    // The writer ends once every frame's task has sent its replies and let go.
    drop(replies);
    match write.await {
        Ok(Err(e)) if result.is_ok() => Err(e.to_string()),
        _ => result,
    }
}

fn allowed(settings: &OscSettings, ip: IpAddr) -> bool {
    let ip = ip.to_canonical();
    settings
        .allow
        .as_ref()
        .is_none_or(|nets| nets.iter().any(|n| n.contains(&ip)))
}

fn reply_bytes(
    settings: &OscSettings,
    address: &str,
    status: &str,
    data: serde_json::Value,
) -> Vec<u8> {
    let body = serde_json::json!({ "address": address, "status": status, "data": data });
    packet::encode_message(
        &format!("{}/reply{address}", settings.prefix),
        vec![rosc::OscType::String(body.to_string())],
    )
}

/// Everything one packet asks for; returns the replies to send back.
async fn handle_packet(shared: &Shared, bytes: &[u8], source: SocketAddr) -> Vec<Vec<u8>> {
    let settings = &shared.settings;
    let timed = match packet::decode(bytes) {
        Ok(t) => t,
        Err(e) => {
            warn_limited(shared, source.ip(), "garbage", || {
                format!("OSC from {source}: {e}")
            });
            return Vec::new();
        }
    };
    if !allowed(settings, source.ip()) {
        warn_limited(shared, source.ip(), "denied", || {
            format!("OSC: {source} is not in [osc] allow; its messages are refused")
        });
        // One reply for the whole packet, and few a second per source: a refused sender must
        // not be able to use the show to flood a third party it names as its source.
        let first = timed.iter().find(|t| {
            t.message
                .address
                .to_ascii_lowercase()
                .starts_with(&settings.prefix)
        });
        return match first {
            Some(t) if may_answer_denied(shared, source.ip()) => vec![reply_bytes(
                settings,
                &t.message.address,
                "denied",
                serde_json::Value::Null,
            )],
            _ => Vec::new(),
        };
    }
    let mut replies = Vec::new();
    for t in timed {
        if let Some(reply) = handle_message(shared, t.message, t.when, source).await {
            replies.push(reply);
        }
    }
    replies
}

async fn handle_message(
    shared: &Shared,
    message: Message,
    when: When,
    source: SocketAddr,
) -> Option<Vec<u8>> {
    let settings = &shared.settings;
    let meaning = shared.dialect.interpret(&message);
    if shared.log {
        println!(
            "osc {source} {} {:?} → {meaning:?}",
            message.address, message.args
        );
    }
    let native = matches!(meaning, Meaning::Native(_));
    let request = match meaning {
        Meaning::Native(Ok(r)) => r,
        Meaning::Native(Err(e)) => {
            tracing::warn!("OSC from {source}: {}: {e}", message.address);
            return Some(reply_bytes(settings, &message.address, "error", e.into()));
        }
        Meaning::Desk(commands) => Request::Commands(commands),
        Meaning::Quiet => return None,
        Meaning::Unknown => {
            tracing::debug!("OSC from {source}: nothing listens on {}", message.address);
            return None;
        }
    };
    let query = matches!(request, Request::State | Request::Ping);
    if !query && is_repeat(shared, &message, when) {
        return native
            .then(|| reply_bytes(settings, &message.address, "ok", "repeat ignored".into()));
    }
    if let When::At(time) = when
        && let Some(wait) = packet::wait_until(time, SystemTime::now())
    {
        if wait > MAX_SCHEDULE {
            return native.then(|| {
                reply_bytes(
                    settings,
                    &message.address,
                    "error",
                    "time tag more than an hour ahead".into(),
                )
            });
        }
        let Some(_slot) = Slot::take(&shared.scheduled, MAX_SCHEDULED) else {
            warn_limited(shared, source.ip(), "scheduled", || {
                format!(
                    "OSC from {source}: {MAX_SCHEDULED} timed messages already wait; refusing more"
                )
            });
            return native.then(|| {
                reply_bytes(
                    settings,
                    &message.address,
                    "error",
                    "too many timed messages waiting".into(),
                )
            });
        };
        // Held until its time, so several machines act in step.
        tokio::time::sleep(wait).await;
    }
    let (sender, receiver) = oneshot::channel();
    (shared.deliver)(Incoming {
        source: source.to_string(),
        request,
        reply: native.then_some(sender),
    });
    if !native {
        return None;
    }
    let answer = tokio::time::timeout(Duration::from_secs(5), receiver).await;
    Some(match answer {
        Ok(Ok(Ok(data))) => reply_bytes(settings, &message.address, "ok", data),
        Ok(Ok(Err(e))) => reply_bytes(settings, &message.address, "error", e.into()),
        _ => reply_bytes(
            settings,
            &message.address,
            "error",
            "the show did not answer".into(),
        ),
    })
}

/// The same trigger again within the debounce window (a desk sending on two interfaces). A
/// copy of a timed bundle carries the same time tag; the same cue for another time does not.
fn is_repeat(shared: &Shared, message: &Message, when: When) -> bool {
    let window = shared.settings.debounce;
    if window.is_zero() {
        return false;
    }
    // A digest, not the text: a sender's long arguments must not become long-lived keys.
    let key = {
        use std::hash::{Hash, Hasher};
        let mut h = std::hash::DefaultHasher::new();
        message.address.to_ascii_lowercase().hash(&mut h);
        format!("{:?}{when:?}", message.args).hash(&mut h);
        h.finish()
    };
    let now = Instant::now();
    let mut seen = shared.debounce.lock().unwrap_or_else(|p| p.into_inner());
    if seen.len() > MAX_REMEMBERED {
        seen.retain(|_, t| now.duration_since(*t) < window);
        // Still full: a flood of distinct messages. Forgetting them costs at most a repeat.
        if seen.len() > MAX_REMEMBERED {
            seen.clear();
        }
    }
    match seen.insert(key, now) {
        Some(before) => now.duration_since(before) < window,
        None => false,
    }
}

/// Logs a kind of noise from one source at most once every 10 s, so a flood of garbage or
/// refused packets cannot bury the log; the next line says how many were held back.
fn warn_limited(shared: &Shared, ip: IpAddr, kind: &'static str, message: impl FnOnce() -> String) {
    let now = Instant::now();
    let mut noise = shared.noise.lock().unwrap_or_else(|p| p.into_inner());
    if noise.len() > MAX_REMEMBERED {
        noise.retain(|_, (t, _)| t.is_some_and(|t| now.duration_since(t) < NOISE_EVERY));
        if noise.len() > MAX_REMEMBERED {
            noise.clear();
        }
    }
    let entry = noise.entry((ip, kind)).or_insert((None, 0));
    if entry.0.is_some_and(|t| now.duration_since(t) < NOISE_EVERY) {
        entry.1 += 1;
        return;
    }
    let held_back = std::mem::take(&mut entry.1);
    entry.0 = Some(now);
    if held_back > 0 {
        tracing::warn!(
            "{} (and {held_back} more like it in the last seconds)",
            message()
        );
    } else {
        tracing::warn!("{}", message());
    }
}
