//! The OSC listeners: UDP and TCP on the same ports. [`run`] serves them until told to stop,
//! in the caller's tokio runtime (tests drive it in-process); [`start`] runs it on a thread
//! of its own, restarting it if it ever fails, so the render thread never waits on the
//! network.
//!
//! The work is bounded whatever a sender does: one receive loop per socket (and one per TCP
//! connection, at most [`MAX_CONNECTIONS`], [`PER_ADDRESS`] from one address, only from
//! listed senders when the show lists any) hands packets to one bounded queue, limited in
//! bytes as well as in count; one dispatcher takes them off it, checks the allowlist,
//! decodes, interprets, debounces, and hands requests to the show through the inbox. Timed
//! messages wait in one capped heap ([`timers`]), never in a task or a connection of their
//! own, so a bundle timed for later holds up nothing behind it.

mod limits;
mod tcp;
mod timers;

use super::dialect::{self, Meaning};
use super::framing::{self, Framing};
use super::packet::{self, Message, When};
use crate::inbox::{Deliver, Incoming, Request};
use crate::log_limit::LogLimit;
use crate::show::OscSettings;
use limits::{Denied, UdpReplies, Withheld};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc, oneshot};
use tokio::task::JoinSet;
use tokio::time::Instant;

pub use limits::Debounce;
pub use tcp::{MAX_CONNECTIONS, PER_ADDRESS};
pub use timers::MAX_SCHEDULED;

/// Largest packet accepted, over UDP or TCP.
pub const MAX_PACKET: usize = 64 * 1024;
/// Packets received and not yet dispatched, at most...
const QUEUE: usize = 4096;
/// ...and their bytes at most: past either, UDP datagrams are dropped (and logged) and TCP
/// connections are read no further until there is room (TCP's flow control slows them).
const QUEUE_BYTES: usize = 8 * 1024 * 1024;
/// Native requests whose answer from the show is awaited at once; past this they are
/// answered "busy" at once. The show answers within a frame, so this is never reached but
/// by a flood.
const MAX_AWAITED: usize = 1024;
/// How long an answer from the show is waited for.
const ANSWER_WITHIN: Duration = Duration::from_secs(5);
/// Bundles timed further ahead than this are refused, not held for days.
const MAX_SCHEDULE: Duration = Duration::from_secs(3600);

/// Where to listen, from the command line.
#[derive(Debug, Clone)]
pub struct OscOptions {
    pub binds: Vec<SocketAddr>,
    /// Print every message received and what it did (`--osc-log`).
    pub log: bool,
}

/// How the server treats what it receives.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The show's `[osc]`: prefix, allowlist, debounce, desk mappings.
    pub osc: OscSettings,
    /// Print every message received and what it did (`--osc-log`).
    pub log: bool,
}

/// The bound sockets, UDP and TCP on the same port for each address.
pub struct Sockets {
    pairs: Vec<(std::net::UdpSocket, std::net::TcpListener)>,
}

impl Sockets {
    /// Binds each address for UDP and TCP; port 0 becomes a free port, the same for both.
    pub fn bind(binds: &[SocketAddr]) -> std::io::Result<Sockets> {
        let mut pairs = Vec::new();
        for bind in binds {
            let in_use = |e: std::io::Error| {
                std::io::Error::new(
                    e.kind(),
                    format!(
                        "cannot listen for OSC on {bind}: {e} (is another candela running? choose another with --osc, or --no-osc)"
                    ),
                )
            };
            let (udp, tcp) = bind_pair(*bind).map_err(in_use)?;
            udp.set_broadcast(true)?;
            udp.set_nonblocking(true)?;
            tcp.set_nonblocking(true)?;
            pairs.push((udp, tcp));
        }
        Ok(Sockets { pairs })
    }

    /// The addresses actually bound.
    pub fn local_addrs(&self) -> Vec<SocketAddr> {
        self.pairs
            .iter()
            .filter_map(|(udp, _)| udp.local_addr().ok())
            .collect()
    }

    /// The same sockets again, for a restart after a failure.
    fn try_clone(&self) -> std::io::Result<Sockets> {
        let pairs = self
            .pairs
            .iter()
            .map(|(u, t)| Ok((u.try_clone()?, t.try_clone()?)))
            .collect::<std::io::Result<_>>()?;
        Ok(Sockets { pairs })
    }
}

/// UDP and TCP on one port. With port 0 the OS picks a free UDP port, whose TCP twin may be
/// taken by someone else: then another is picked, a few times.
fn bind_pair(bind: SocketAddr) -> std::io::Result<(std::net::UdpSocket, std::net::TcpListener)> {
    let mut tries = if bind.port() == 0 { 16 } else { 1 };
    loop {
        let udp = std::net::UdpSocket::bind(bind)?;
        match std::net::TcpListener::bind(udp.local_addr()?) {
            Ok(tcp) => return Ok((udp, tcp)),
            Err(e) if e.kind() == std::io::ErrorKind::AddrInUse && tries > 1 => tries -= 1,
            Err(e) => return Err(e),
        }
    }
}

/// A task of the server panicked; the server stopped.
#[derive(Debug, thiserror::Error)]
#[error("an OSC server task panicked: {0}")]
pub struct Panicked(String);

fn panicked(e: tokio::task::JoinError) -> Option<Panicked> {
    let payload = e.try_into_panic().ok()?;
    let text = payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(no message)".into());
    Some(Panicked(text))
}

/// Where a packet's replies go. Sending never waits: a reply that finds no room (a client
/// that does not read) is dropped, not held.
#[derive(Clone)]
enum ReplyTo {
    Udp(UdpReply),
    Tcp(mpsc::Sender<Vec<u8>>, Framing),
}

/// A reply to the address a datagram claims to come from: within that source's accounts
/// ([`UdpReplies`]). TCP peers have proven their address in the handshake, and a reply
/// there reaches nobody but the peer, so those accounts are for UDP only.
#[derive(Clone)]
struct UdpReply {
    socket: Arc<tokio::net::UdpSocket>,
    to: SocketAddr,
    /// Named in `[osc] allow`; set by the dispatcher, which knows the settings.
    listed: bool,
    accounts: Arc<UdpReplies>,
    noise: Arc<LogLimit>,
}

impl ReplyTo {
    fn send(&self, reply: &[u8]) {
        match self {
            ReplyTo::Udp(u) => {
                let now = std::time::Instant::now();
                match u.accounts.take(u.to.ip(), reply.len(), u.listed, now) {
                    Ok(()) => {
                        let _ = u.socket.try_send_to(reply, u.to);
                    }
                    Err(Withheld::MoreThanSent) => u.noise.warn(u.to.ip(), "unproven", || {
                        format!(
                            "OSC udp: no reply to {}: a sender not listed in [osc] allow is never sent more than it sent (its address may be forged); list it in [osc] allow, or ask over TCP (candela send --tcp)",
                            u.to
                        )
                    }),
                    Err(Withheld::OverBudget) => u.noise.warn(u.to.ip(), "reply budget", || {
                        format!(
                            "OSC udp: replies to {} dropped: past {} KiB a second to one address",
                            u.to,
                            limits::REPLY_BYTES_PER_SECOND / 1024.0
                        )
                    }),
                }
            }
            ReplyTo::Tcp(writer, framing) => {
                let _ = writer.try_send(framing::encode(*framing, reply));
            }
        }
    }
}

/// One received packet on its way to the dispatcher, holding its share of the byte budget.
struct Packet {
    bytes: Vec<u8>,
    source: SocketAddr,
    reply: ReplyTo,
    _budget: OwnedSemaphorePermit,
}

/// The way into the dispatcher's queue, for the receive loops.
#[derive(Clone)]
struct Queue {
    packets: mpsc::Sender<Packet>,
    budget: Arc<Semaphore>,
    noise: Arc<LogLimit>,
}

impl Queue {
    /// A datagram: queued if there is room, else dropped and logged.
    fn offer(&self, bytes: &[u8], source: SocketAddr, reply: ReplyTo) {
        let permit = u32::try_from(bytes.len())
            .ok()
            .and_then(|n| self.budget.clone().try_acquire_many_owned(n).ok());
        let queued = permit.is_some_and(|budget| {
            self.packets
                .try_send(Packet {
                    bytes: bytes.to_vec(),
                    source,
                    reply,
                    _budget: budget,
                })
                .is_ok()
        });
        if !queued {
            self.noise.warn(source.ip(), "busy", || {
                format!("OSC udp: too much in hand already; dropping packets from {source}")
            });
        }
    }

    /// A TCP frame: waits for room, so a fast sender is slowed, not dropped. False once the
    /// server is stopping.
    async fn put(&self, bytes: Vec<u8>, source: SocketAddr, reply: ReplyTo) -> bool {
        let Ok(n) = u32::try_from(bytes.len()) else {
            return false;
        };
        let Ok(budget) = self.budget.clone().acquire_many_owned(n).await else {
            return false;
        };
        self.packets
            .send(Packet {
                bytes,
                source,
                reply,
                _budget: budget,
            })
            .await
            .is_ok()
    }
}

/// A request waiting in the timers for its time.
struct Timed {
    request: Request,
    address: String,
    source: SocketAddr,
    /// Where its answer goes: candela's own addresses only, one per packet.
    reply: Option<ReplyTo>,
}

/// The running server: the OS-thread handle's side.
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

/// Longest wait before the server is started again after a failure.
const MOST_BACKOFF: Duration = Duration::from_secs(30);

/// Binds every address (UDP and TCP each) and serves them on a thread of their own, with
/// feedback to the show's targets. A failed server is logged and started again on the same
/// sockets, waiting longer each time it keeps failing.
pub fn start(
    binds: &[SocketAddr],
    settings: OscSettings,
    log: bool,
    deliver: Deliver,
) -> std::io::Result<OscServer> {
    let sockets = Sockets::bind(binds)?;
    let local_addrs = sockets.local_addrs();
    if settings.allow.is_none() {
        tracing::warn!(
            "OSC: anyone on the network can cue the show; list who may in the show file's [osc] allow = [...]"
        );
    }
    let (state, state_rx) = tokio::sync::watch::channel(serde_json::Value::Null);
    let feedback = (!settings.feedback.is_empty()).then(|| {
        super::feedback::run(settings.feedback.clone(), state_rx, settings.prefix.clone())
    });
    let has_feedback = feedback.is_some();
    let settings = Settings { osc: settings, log };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    std::thread::Builder::new()
        .name("osc".into())
        .spawn(move || {
            if let Some(f) = feedback {
                runtime.spawn(f);
            }
            let mut backoff = Duration::from_millis(100);
            loop {
                let attempt = match sockets.try_clone() {
                    Ok(s) => runtime.spawn(run(
                        s,
                        settings.clone(),
                        deliver.clone(),
                        std::future::pending(),
                    )),
                    Err(e) => return tracing::error!("OSC: the server cannot go on: {e}"),
                };
                let failure = match runtime.block_on(attempt) {
                    Ok(Ok(())) => return,
                    Ok(Err(e)) => e.to_string(),
                    Err(e) => panicked(e).map_or_else(|| "cancelled".into(), |p| p.to_string()),
                };
                tracing::error!("OSC: {failure}; listening again in {backoff:?}");
                runtime.block_on(tokio::time::sleep(backoff));
                backoff = (backoff * 2).min(MOST_BACKOFF);
            }
        })?;
    for a in &local_addrs {
        tracing::info!("OSC: listening on udp and tcp {a}");
    }
    Ok(OscServer {
        local_addrs,
        state: has_feedback.then_some(state),
    })
}

/// Serves `sockets` until `shutdown` resolves, handing requests to the show through
/// `inbox`. Must be called within a tokio runtime with IO and time enabled. Returns an error
/// as soon as any of its tasks panics, having stopped the rest.
pub async fn run(
    sockets: Sockets,
    settings: Settings,
    inbox: Deliver,
    shutdown: impl std::future::Future<Output = ()>,
) -> Result<(), Panicked> {
    let (packets, mut queue_rx) = mpsc::channel(QUEUE);
    let noise = Arc::new(LogLimit::default());
    let accounts = Arc::new(UdpReplies::default());
    let queue = Queue {
        packets,
        budget: Arc::new(Semaphore::new(QUEUE_BYTES)),
        noise: noise.clone(),
    };
    let mut receivers = JoinSet::new();
    let connections = Arc::new(tcp::Connections::default());
    for (udp, listener) in sockets.pairs {
        match (
            tokio::net::UdpSocket::from_std(udp),
            tokio::net::TcpListener::from_std(listener),
        ) {
            (Ok(udp), Ok(listener)) => {
                let reply = UdpReply {
                    socket: Arc::new(udp),
                    to: SocketAddr::from(([0, 0, 0, 0], 0)),
                    listed: false,
                    accounts: accounts.clone(),
                    noise: noise.clone(),
                };
                receivers.spawn(receive_udp(reply, queue.clone()));
                receivers.spawn(tcp::accept(
                    listener,
                    queue.clone(),
                    connections.clone(),
                    settings.osc.allow.clone(),
                ));
            }
            (Err(e), _) | (_, Err(e)) => tracing::error!("OSC: {e}"),
        }
    }
    drop(queue);
    let mut dispatcher = Dispatcher {
        dialect: dialect::Dialect::new(settings.osc.clone()),
        settings,
        inbox,
        noise,
        denied: Denied::default(),
        debounce: Debounce::default(),
        timers: timers::Timers::default(),
        awaited: JoinSet::new(),
    };
    tokio::pin!(shutdown);
    // So that a flood that stops still has its held-back count logged.
    let mut sweep = tokio::time::interval(Duration::from_secs(1));
    sweep.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let next_timer = dispatcher.timers.next();
        tokio::select! {
            biased;
            _ = &mut shutdown => return Ok(()),
            Some(Err(e)) = receivers.join_next() => {
                if let Some(p) = panicked(e) {
                    return Err(p);
                }
            }
            Some(Err(e)) = dispatcher.awaited.join_next() => {
                if let Some(p) = panicked(e) {
                    return Err(p);
                }
            }
            _ = sweep.tick() => dispatcher.noise.sweep(),
            _ = sleep_until(next_timer) => {
                for t in dispatcher.timers.due(Instant::now()) {
                    dispatcher.deliver(t);
                }
            }
            packet = queue_rx.recv() => match packet {
                Some(p) => dispatcher.packet(p),
                // Every receive loop ended: nothing can arrive any more.
                None => return Ok(()),
            },
        }
    }
}

/// Sleeps until `at`, or for ever when there is nothing to wait for.
async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// One receive loop per UDP socket; the packets go to the queue, never to a task each.
/// `reply` is the socket's way back, to be addressed to each packet's source.
async fn receive_udp(reply: UdpReply, queue: Queue) {
    let mut buf = vec![0u8; MAX_PACKET];
    loop {
        match reply.socket.recv_from(&mut buf).await {
            Ok((len, source)) => {
                let now = std::time::Instant::now();
                reply.accounts.received(source.ip(), len, now);
                let bytes = buf.get(..len).unwrap_or_default();
                let to = UdpReply {
                    to: source,
                    ..reply.clone()
                };
                queue.offer(bytes, source, ReplyTo::Udp(to));
            }
            // A reply to a closed port comes back as an error on some systems; go on.
            Err(e) => tracing::debug!("OSC udp: {e}"),
        }
    }
}

/// Takes packets off the queue, one at a time, and never waits: answers from the show are
/// awaited by small tasks (at most [`MAX_AWAITED`]), timed messages by the timers.
struct Dispatcher {
    settings: Settings,
    /// The same settings, with mapping patterns compiled.
    dialect: dialect::Dialect,
    inbox: Deliver,
    noise: Arc<LogLimit>,
    denied: Denied,
    debounce: Debounce,
    timers: timers::Timers<Timed>,
    awaited: JoinSet<()>,
}

impl Dispatcher {
    fn osc(&self) -> &OscSettings {
        &self.settings.osc
    }

    fn packet(&mut self, mut packet: Packet) {
        let source = packet.source;
        if let ReplyTo::Udp(u) = &mut packet.reply {
            u.listed = listed(self.osc(), source.ip());
        }
        let timed = match packet::decode(&packet.bytes) {
            Ok(t) => t,
            Err(e) => {
                return self
                    .noise
                    .warn(source.ip(), "garbage", || format!("OSC from {source}: {e}"));
            }
        };
        if !allowed(self.osc(), source.ip()) {
            self.noise.warn(source.ip(), "denied", || {
                format!("OSC: {source} is not in [osc] allow; its messages are refused")
            });
            // One reply for the whole packet, and few per source: a refused sender must not
            // be able to use the show to flood a third party it names as its source.
            let prefix = &self.osc().prefix;
            let first = timed.iter().find(|t| under(prefix, &t.message.address));
            if let Some(t) = first
                && self
                    .denied
                    .may_answer(source.ip(), Instant::now().into_std())
            {
                let reply = reply_bytes(
                    &self.osc().prefix,
                    &t.message.address,
                    "denied",
                    serde_json::Value::Null,
                );
                packet.reply.send(&reply);
            }
            return;
        }
        // One reply per packet, to the last of candela's own messages in it: a bundle of a
        // thousand queries must not draw a thousand replies.
        let prefix = &self.osc().prefix;
        let answered = timed
            .iter()
            .rposition(|t| under(prefix, &t.message.address));
        for (i, t) in timed.into_iter().enumerate() {
            let reply = (answered == Some(i)).then_some(&packet.reply);
            self.message(t.message, t.when, source, reply);
        }
    }

    /// Interprets and acts on one message; `reply` is where its answer goes, None when
    /// another message of its packet is the one answered.
    fn message(
        &mut self,
        message: Message,
        when: When,
        source: SocketAddr,
        reply: Option<&ReplyTo>,
    ) {
        let meaning = self.dialect.interpret(&message);
        if self.settings.log {
            println!(
                "osc {source} {} {:?} → {meaning:?}",
                message.address, message.args
            );
        }
        // Only candela's own addresses are answered; desks expect nothing back.
        let reply = reply.filter(|_| matches!(meaning, Meaning::Native(_)));
        let answer = |osc: &OscSettings, status: &str, data: serde_json::Value| {
            if let Some(reply) = reply {
                reply.send(&reply_bytes(&osc.prefix, &message.address, status, data));
            }
        };
        let request = match meaning {
            Meaning::Native(Ok(r)) => r,
            Meaning::Native(Err(e)) => {
                self.noise.warn(source.ip(), "error", || {
                    format!("OSC from {source}: {}: {e}", message.address)
                });
                return answer(self.osc(), "error", e.into());
            }
            Meaning::Desk(commands) => Request::Commands(commands),
            Meaning::Quiet => return,
            Meaning::Unknown => {
                return tracing::debug!(
                    "OSC from {source}: nothing listens on {}",
                    message.address
                );
            }
        };
        if matches!(request, Request::Sync(_)) && !listed(self.osc(), source.ip()) {
            let why = "a machine's part in sync (lead, follow) is changed over OSC only by senders listed in [osc] allow; or use the web remote with the control PIN";
            self.noise.warn(source.ip(), "sync", || {
                format!("OSC from {source}: {} refused: {why}", message.address)
            });
            return answer(self.osc(), "error", why.into());
        }
        let request = if !request.edits_geometry() {
            request
        } else if !listed(self.osc(), source.ip()) {
            self.noise.warn(source.ip(), "geometry", || {
                format!(
                    "OSC from {source}: {} refused; geometry over OSC is taken only from senders listed in [osc] allow",
                    message.address
                )
            });
            return answer(
                self.osc(),
                "error",
                "geometry over OSC is taken only from senders listed in [osc] allow".into(),
            );
        } else if self.osc().geometry_any_time {
            request
        } else {
            Request::WhileAligning(Box::new(request))
        };
        let query = matches!(request, Request::State | Request::Setup | Request::Ping);
        let window = self.osc().debounce;
        if !query
            && self
                .debounce
                .is_repeat(&message, when, window, Instant::now().into_std())
        {
            return answer(self.osc(), "ok", "repeat ignored".into());
        }
        let wait = match when {
            When::At(time) => packet::wait_until(time, SystemTime::now()),
            When::Now => None,
        };
        if wait.is_some_and(|w| w > MAX_SCHEDULE) {
            return answer(
                self.osc(),
                "error",
                "time tag more than an hour ahead".into(),
            );
        }
        let timed = Timed {
            request,
            address: message.address,
            source,
            reply: reply.cloned(),
        };
        let Some(wait) = wait else {
            return self.deliver(timed);
        };
        // Held until its time, so several machines act in step.
        if let Err(t) = self.timers.add(Instant::now() + wait, timed) {
            self.noise.warn(source.ip(), "scheduled", || {
                format!(
                    "OSC from {source}: {MAX_SCHEDULED} timed messages already wait; refusing more"
                )
            });
            if let Some(reply) = t.reply {
                reply.send(&reply_bytes(
                    &self.osc().prefix,
                    &t.address,
                    "error",
                    "too many timed messages waiting".into(),
                ));
            }
        }
    }

    /// Hands a request to the show; a native one's answer is sent back when it comes.
    fn deliver(&mut self, t: Timed) {
        let Some(reply) = t.reply else {
            return (self.inbox)(Incoming {
                source: t.source.to_string(),
                request: t.request,
                reply: None,
                at: None,
            });
        };
        if self.awaited.len() >= MAX_AWAITED {
            let busy = reply_bytes(
                &self.osc().prefix,
                &t.address,
                "error",
                "busy; try again".into(),
            );
            return reply.send(&busy);
        }
        let (sender, receiver) = oneshot::channel();
        (self.inbox)(Incoming {
            source: t.source.to_string(),
            request: t.request,
            reply: Some(sender),
            at: None,
        });
        let prefix = self.osc().prefix.clone();
        self.awaited.spawn(async move {
            let answer = tokio::time::timeout(ANSWER_WITHIN, receiver).await;
            let (status, data) = match answer {
                Ok(Ok(Ok(data))) => ("ok", data),
                Ok(Ok(Err(e))) => ("error", e.into()),
                _ => ("error", "the show did not answer".into()),
            };
            reply.send(&reply_bytes(&prefix, &t.address, status, data));
        });
    }
}

fn allowed(settings: &OscSettings, ip: IpAddr) -> bool {
    let ip = ip.to_canonical();
    settings
        .allow
        .as_ref()
        .is_none_or(|nets| nets.iter().any(|n| n.contains(&ip)))
}

/// Named in an `[osc] allow` list, not merely let in for want of one: geometry asks this.
fn listed(settings: &OscSettings, ip: IpAddr) -> bool {
    let ip = ip.to_canonical();
    settings
        .allow
        .as_ref()
        .is_some_and(|nets| nets.iter().any(|n| n.contains(&ip)))
}

/// Under candela's prefix (the server answers only those), in any case.
fn under(prefix: &str, address: &str) -> bool {
    address
        .get(..prefix.len())
        .is_some_and(|p| p.eq_ignore_ascii_case(prefix))
}

fn reply_bytes(prefix: &str, address: &str, status: &str, data: serde_json::Value) -> Vec<u8> {
    let body = serde_json::json!({ "address": address, "status": status, "data": data });
    packet::encode_message(
        &format!("{prefix}/reply{address}"),
        vec![rosc::OscType::String(body.to_string())],
    )
}
