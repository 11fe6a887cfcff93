//! The sync socket's thread, and the player's side of it.
//!
//! The thread owns the socket's receiving end and the logic ([`Leader`] or [`Follower`]):
//! joins, heartbeats, moments asked of the player through the inbox, relayed commands handed
//! to it. The player's side ([`Link`]) sends what it relays itself, from the render thread,
//! the moment it takes a command: no hop through another thread before the datagram leaves.

use super::follower::{Follower, Hand};
use super::leader::{Act, Leader, Now};
use super::wire::{self, Wire};
use super::{SyncOptions, fingerprint, wall_ns};
use crate::control::{Command, Engine, SyncReport};
use crate::inbox::{Deliver, Incoming, Join, Request, SyncRequest};
use crate::log_limit::LogLimit;
use crate::show::Show;
use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

/// Moments asked of the player and not yet answered, at most.
const MOST_ASKED: usize = 16;
/// The state is told of the followers and the clocks this often (and on every change of
/// who is in step).
const REPORT_EVERY: Duration = Duration::from_secs(1);

/// What the thread and the player share.
#[derive(Default)]
struct Shared {
    /// A leader's followers: where relayed commands go.
    followers: Mutex<Vec<SocketAddr>>,
    /// The last number relayed.
    seq: AtomicU64,
    /// Show time zero on the wall clock, ns since 1970.
    origin_ns: AtomicU64,
    /// A follower plays the leader's moment.
    in_step: AtomicBool,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Role {
    Lead { delay: Duration },
    Follow { leader: SocketAddr },
}

/// The player's side.
pub struct Link {
    role: Role,
    socket: UdpSocket,
    shared: Arc<Shared>,
    to_thread: mpsc::Sender<Tell>,
    revision: u64,
    pub local_addr: SocketAddr,
}

/// What the player tells the thread.
enum Tell {
    /// A reloaded show, to hash again.
    Show(Box<Show>),
    /// Lead or follow from now on.
    Role(Role),
}

/// The commands a request carries, when every machine in step applies all of them.
fn shared_commands(request: &Request) -> Option<Vec<Command>> {
    match request {
        Request::Command(c) if c.shared() => Some(vec![c.clone()]),
        Request::Commands(cs) if cs.iter().all(Command::shared) => Some(cs.clone()),
        _ => None,
    }
}

impl Link {
    /// Binds the sync socket and starts its thread; what the thread hands the show reaches
    /// it through `deliver`.
    pub fn start(options: &SyncOptions, engine: &Engine, deliver: Deliver) -> anyhow::Result<Link> {
        let (bind, role) = match *options {
            SyncOptions::Lead { bind, delay } => (bind, Role::Lead { delay }),
            SyncOptions::Follow { leader, bind } => (bind, Role::Follow { leader }),
        };
        let socket = UdpSocket::bind(bind).map_err(|e| {
            anyhow::anyhow!(
                "cannot listen for sync on udp {bind}: {e} (is another candela leading here? choose another with --lead ADDR)"
            )
        })?;
        socket.set_read_timeout(Some(Duration::from_millis(20)))?;
        let local_addr = socket.local_addr()?;
        let shared = Arc::new(Shared::default());
        let (to_thread, told) = mpsc::channel();
        let thread = Thread {
            socket: socket.try_clone()?,
            shared: shared.clone(),
            deliver,
            told,
            allow: engine.show().osc.allow.clone(),
            fingerprint: fingerprint(engine.show()),
            noise: LogLimit::default(),
            local_addr,
        };
        spawn(move || thread.run(role))?;
        Ok(Link {
            role,
            socket,
            shared,
            to_thread,
            revision: engine.revision(),
            local_addr,
        })
    }

    /// Show time zero is (now) at `origin_ns` on the wall clock.
    pub fn set_origin(&self, origin_ns: u64) {
        self.shared.origin_ns.store(origin_ns, Ordering::Relaxed);
    }

    /// The last number this leader relayed: every one up to it is applied or waiting.
    pub fn relayed(&self) -> u64 {
        self.shared.seq.load(Ordering::Relaxed)
    }

    /// Whether [`Link::route`] would relay `request`: at a leader, commands every machine
    /// applies.
    pub fn would_relay(&self, request: &Request) -> bool {
        matches!(self.role, Role::Lead { .. }) && shared_commands(request).is_some()
    }

    pub fn follows(&self) -> bool {
        matches!(self.role, Role::Follow { .. })
    }

    /// A follower plays the leader's moment now.
    pub fn in_step(&self) -> bool {
        matches!(self.role, Role::Follow { .. }) && self.shared.in_step.load(Ordering::Relaxed)
    }

    /// An incoming request, as the player takes it off the inbox at show time `now`:
    /// - at a leader, commands every machine applies are numbered, timed the delay ahead and
    ///   sent to the followers, and wait for that time here too;
    /// - at a follower in step, they are sent to the leader to be relayed like its own, and
    ///   the sender is answered that they were (None: nothing left to do here);
    /// - anything else is this machine's own, untouched.
    pub fn route(
        &mut self,
        mut incoming: Incoming,
        now: Duration,
        engine: &Engine,
    ) -> Option<Incoming> {
        let Some(commands) = shared_commands(&incoming.request) else {
            return Some(incoming);
        };
        match self.role {
            Role::Lead { delay } => {
                let seq = self.shared.seq.load(Ordering::Relaxed) + 1;
                let at = incoming.at.unwrap_or(now).max(now + delay);
                let origin = self.shared.origin_ns.load(Ordering::Relaxed);
                let effect_ns = origin.saturating_add(at.as_nanos() as u64);
                let wire = Wire::Do {
                    seq,
                    at,
                    commands: commands.clone(),
                };
                let bytes = wire::encode(&wire, Some(effect_ns));
                let followers = self.followers();
                for to in followers {
                    // A follower that misses it sees the gap and asks for the moment again.
                    let _ = self.socket.send_to(&bytes, to);
                }
                self.shared.seq.store(seq, Ordering::Relaxed);
                incoming.request = Request::Sync(SyncRequest::Relayed { seq, commands });
                incoming.at = Some(at);
                Some(incoming)
            }
            Role::Follow { leader } if self.in_step() => {
                let bytes = wire::encode(&Wire::Forward(commands), None);
                let sent = self.socket.send_to(&bytes, leader);
                if let Some(reply) = incoming.reply {
                    let mut state = crate::inbox::state(engine);
                    state["forwarded_to_leader"] = leader.to_string().into();
                    let answer = match sent {
                        Ok(_) => Ok(state),
                        Err(e) => Err(format!(
                            "this machine follows {leader}, which cannot be reached: {e}"
                        )),
                    };
                    // The sender may have given up waiting; nothing to do then.
                    let _ = reply.send(answer);
                }
                None
            }
            Role::Follow { .. } => Some(incoming),
        }
    }

    fn followers(&self) -> Vec<SocketAddr> {
        self.shared
            .followers
            .lock()
            .map(|f| f.clone())
            .unwrap_or_default()
    }

    /// After each frame: a reloaded show is hashed again (on the thread), so the machines
    /// know whether they still play the same show.
    pub fn frame(&mut self, engine: &Engine) {
        if engine.revision() != self.revision {
            self.revision = engine.revision();
            let _ = self
                .to_thread
                .send(Tell::Show(Box::new(engine.show().clone())));
        }
    }

    /// Leads from now on, numbering on from `seq`, the last relayed number it applied.
    pub fn lead(&mut self, seq: u64) {
        if let Role::Follow { .. } = self.role {
            let delay = super::DEFAULT_DELAY;
            self.role = Role::Lead { delay };
            self.shared.seq.store(seq, Ordering::Relaxed);
            self.shared.in_step.store(false, Ordering::Relaxed);
            let _ = self.to_thread.send(Tell::Role(self.role));
        }
    }

    /// Follows the leader at `leader` from now on.
    pub fn follow(&mut self, leader: SocketAddr) {
        self.role = Role::Follow { leader };
        self.shared.in_step.store(false, Ordering::Relaxed);
        if let Ok(mut f) = self.shared.followers.lock() {
            f.clear();
        }
        let _ = self.to_thread.send(Tell::Role(self.role));
    }
}

fn spawn(body: impl FnOnce() + Send + 'static) -> std::io::Result<()> {
    std::thread::Builder::new()
        .name("sync".into())
        .spawn(body)
        .map(|_| ())
}

/// The thread's side.
struct Thread {
    socket: UdpSocket,
    shared: Arc<Shared>,
    deliver: Deliver,
    told: mpsc::Receiver<Tell>,
    allow: Option<Vec<ipnet::IpNet>>,
    fingerprint: String,
    noise: LogLimit,
    local_addr: SocketAddr,
}

impl Thread {
    /// The next datagram, within the socket's timeout; garbage is counted and logged.
    fn receive(&self, buf: &mut [u8]) -> Option<(Wire, SocketAddr)> {
        let (n, from) = self.socket.recv_from(buf).ok()?;
        match wire::decode(buf.get(..n).unwrap_or_default()) {
            Ok(w) => Some((w, from)),
            Err(e) => {
                self.noise
                    .warn(from.ip(), "garbage", || format!("sync: from {from}: {e}"));
                None
            }
        }
    }

    fn send(&self, wire: &Wire, to: SocketAddr) {
        let bytes = wire::encode(wire, None);
        if bytes.len() > wire::MAX_DATAGRAM {
            return tracing::error!(
                "sync: a message for {to} is {} bytes, more than a datagram holds; not sent",
                bytes.len()
            );
        }
        if let Err(e) = self.socket.send_to(&bytes, to) {
            self.noise.warn(to.ip(), "send", || {
                format!("sync: cannot send to {to}: {e}")
            });
        }
    }

    /// What the player told: a reloaded show is hashed again (true if one was); a new role
    /// is returned.
    fn told(&mut self) -> (bool, Option<Role>) {
        let mut changed = false;
        let mut role = None;
        while let Ok(tell) = self.told.try_recv() {
            match tell {
                Tell::Show(show) => {
                    self.fingerprint = fingerprint(&show);
                    changed = true;
                }
                Tell::Role(r) => role = Some(r),
            }
        }
        (changed, role)
    }

    /// Leads or follows, as the player says, for as long as the process.
    fn run(mut self, mut role: Role) {
        loop {
            role = match role {
                Role::Lead { delay } => {
                    tracing::info!(
                        "sync: leading on udp {}; commands take effect {} ms after they arrive, on every machine",
                        self.local_addr,
                        delay.as_millis()
                    );
                    let leader = Leader::new(self.allow.clone());
                    self.lead(leader)
                }
                Role::Follow { leader } => {
                    tracing::info!(
                        "sync: following the leader at {leader} (from udp {})",
                        self.local_addr
                    );
                    self.follow(leader)
                }
            };
        }
    }

    fn report(&self, report: SyncReport) {
        (self.deliver)(Incoming {
            source: "sync".into(),
            request: Request::Command(Command::SyncSeen(report)),
            reply: None,
            at: None,
        });
    }

    /// Until told to follow.
    fn lead(&mut self, mut leader: Leader) -> Role {
        let mut buf = vec![0u8; wire::MAX_DATAGRAM];
        let mut asked: Vec<(SocketAddr, tokio::sync::oneshot::Receiver<_>)> = Vec::new();
        let mut reported: Option<(Instant, usize)> = None;
        loop {
            if let (_, Some(role @ Role::Follow { .. })) = self.told() {
                return role;
            }
            if let Some((wire, from)) = self.receive(&mut buf) {
                let now = Now {
                    at: Instant::now(),
                    wall_ns: wall_ns(),
                    origin_ns: self.shared.origin_ns.load(Ordering::Relaxed),
                    seq: self.shared.seq.load(Ordering::Relaxed),
                    fingerprint: &self.fingerprint,
                };
                for act in leader.receive(wire, from, &now) {
                    match act {
                        Act::Send(w, to) => self.send(&w, to),
                        Act::Snapshot(to) if asked.len() < MOST_ASKED => {
                            let (reply, answer) = tokio::sync::oneshot::channel();
                            (self.deliver)(Incoming {
                                source: format!("follower {to}"),
                                request: Request::Sync(SyncRequest::Snapshot),
                                reply: Some(reply),
                                at: None,
                            });
                            asked.push((to, answer));
                        }
                        Act::Snapshot(_) => {}
                        Act::Forward(from, commands) => (self.deliver)(Incoming {
                            source: format!("follower {from}"),
                            request: Request::Commands(commands),
                            reply: None,
                            at: None,
                        }),
                        Act::Refused(from, why) => self
                            .noise
                            .warn(from.ip(), why, || format!("sync: {from}: {why}; ignored")),
                    }
                }
                if let Ok(mut f) = self.shared.followers.lock() {
                    *f = leader.followers().collect();
                }
            }
            asked.retain_mut(|(to, answer)| match answer.try_recv() {
                Ok(Ok(value)) => {
                    match serde_json::from_value::<Join>(value) {
                        Ok(join) => self.send(&Wire::Moment(Box::new(join)), *to),
                        Err(e) => tracing::error!("sync: the moment for {to}: {e}"),
                    }
                    false
                }
                Err(tokio::sync::oneshot::error::TryRecvError::Empty) => true,
                Ok(Err(_)) | Err(_) => false,
            });
            let now = Instant::now();
            let count = leader.followers().count();
            if reported.is_none_or(|(t, n)| now.duration_since(t) >= REPORT_EVERY || n != count) {
                leader.sweep(now);
                if let Ok(mut f) = self.shared.followers.lock() {
                    *f = leader.followers().collect();
                }
                let count = leader.followers().count();
                if reported.is_some_and(|(_, n)| n != count) {
                    tracing::info!("sync: {count} followers");
                }
                reported = Some((now, count));
                self.report(SyncReport {
                    role: "leader",
                    leader: self.local_addr.to_string(),
                    in_step: true,
                    offset_ms: None,
                    round_trip_ms: None,
                    show_matches: true,
                    problem: None,
                    followers: leader.report(now, &self.fingerprint),
                });
            }
        }
    }

    /// Until told to lead, or to follow another.
    fn follow(&mut self, leader: SocketAddr) -> Role {
        let mut follower = Follower::new(leader, self.fingerprint.clone());
        let mut buf = vec![0u8; wire::MAX_DATAGRAM];
        let mut reported: Option<(Instant, bool, Option<String>)> = None;
        let source = format!("leader {leader}");
        loop {
            let (reloaded, role) = self.told();
            if let Some(role) = role {
                return role;
            }
            if reloaded {
                follower.set_fingerprint(self.fingerprint.clone());
            }
            let mut send = Vec::new();
            if let Some((wire, from)) = self.receive(&mut buf) {
                let (out, hand) = follower.receive(wire, from, Instant::now(), wall_ns());
                send.extend(out);
                for h in hand {
                    let (request, at) = match h {
                        Hand::Adopt(join) => (SyncRequest::Adopt(join), None),
                        Hand::Do { seq, at, commands } => {
                            (SyncRequest::Relayed { seq, commands }, Some(at))
                        }
                    };
                    (self.deliver)(Incoming {
                        source: source.clone(),
                        request: Request::Sync(request),
                        reply: None,
                        at,
                    });
                }
            }
            let now = Instant::now();
            send.extend(follower.tick(now, wall_ns()));
            for w in &send {
                self.send(w, leader);
            }
            let in_step = follower.in_step(now);
            self.shared.in_step.store(in_step, Ordering::Relaxed);
            let report = follower.report(now);
            let changed = reported
                .as_ref()
                .is_none_or(|(_, s, p)| *s != in_step || *p != report.problem);
            if changed {
                match (&report.problem, in_step) {
                    (_, true) => tracing::info!("sync: in step with the leader at {leader}"),
                    (Some(p), false) => tracing::warn!("sync: {p}"),
                    (None, false) => tracing::info!("sync: joining the leader at {leader}"),
                }
            }
            if changed
                || reported
                    .as_ref()
                    .is_some_and(|(t, ..)| now.duration_since(*t) >= REPORT_EVERY)
            {
                reported = Some((now, in_step, report.problem.clone()));
                self.report(report);
            }
        }
    }
}
