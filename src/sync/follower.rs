//! The follower's side, pure (time passed in): joining, taking the leader's moment, the
//! relayed commands in their numbered order, the heartbeats that measure the clocks, and
//! what it does when the leader is gone or plays another show.
//!
//! A relayed command lost on the way (UDP) would leave this machine showing something else
//! for good, so the numbers are checked: a gap, or a heartbeat saying the leader relayed more
//! than arrived, and the follower asks for the moment again. So does a leader that started
//! again (another time zero).

use super::wire::Wire;
use crate::control::{Command, SyncReport};
use crate::inbox::Join;
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// Heartbeats this often...
pub const PING_EVERY: Duration = Duration::from_millis(250);
/// ...and the leader counts as gone when none has been answered for this long.
pub const LOST_AFTER: Duration = Duration::from_millis(1500);
/// A join unanswered this long is sent again.
const JOIN_AGAIN: Duration = Duration::from_millis(300);
/// Relayed commands kept while waiting for the moment they follow.
const MOST_BUFFERED: usize = 1024;
/// Heartbeats the clock offset is taken from: the one with the shortest round trip.
const SAMPLES: usize = 16;
/// Half a frame at 60 Hz: a clock further off shows on the wall.
pub const HALF_FRAME_MS: f64 = 1000.0 / 120.0;

/// What the player is handed.
#[derive(Debug, PartialEq)]
pub enum Hand {
    Adopt(Box<Join>),
    Do {
        seq: u64,
        at: Duration,
        commands: Vec<Command>,
    },
}

struct Joined {
    origin_ns: u64,
    next_seq: u64,
    /// Heartbeats in a row that said more was relayed than arrived.
    behind: u32,
}

pub struct Follower {
    leader: SocketAddr,
    fingerprint: String,
    cookie: Option<Vec<u8>>,
    joined: Option<Joined>,
    asked: Option<Instant>,
    pinged: Option<Instant>,
    buffer: Vec<(u64, Duration, Vec<Command>)>,
    answered: Option<Instant>,
    leader_fingerprint: Option<String>,
    /// (round trip, offset) in ns.
    samples: VecDeque<(u64, i64)>,
    /// The first tick: a leader not heard yet is only missing once it had time to answer.
    began: Option<Instant>,
}

impl Follower {
    pub fn new(mut leader: SocketAddr, fingerprint: String) -> Follower {
        // "Any address" is this machine, and it answers from its loopback address.
        if leader.ip().is_unspecified() {
            leader.set_ip(match leader {
                SocketAddr::V4(_) => std::net::Ipv4Addr::LOCALHOST.into(),
                SocketAddr::V6(_) => std::net::Ipv6Addr::LOCALHOST.into(),
            });
        }
        Follower {
            leader,
            fingerprint,
            cookie: None,
            joined: None,
            asked: None,
            pinged: None,
            buffer: Vec::new(),
            answered: None,
            leader_fingerprint: None,
            samples: VecDeque::new(),
            began: None,
        }
    }

    pub fn leader(&self) -> SocketAddr {
        self.leader
    }

    /// This machine's show changed (a reload): the leader's moment is asked for again.
    pub fn set_fingerprint(&mut self, fingerprint: String) {
        if fingerprint != self.fingerprint {
            self.fingerprint = fingerprint;
            self.rejoin();
        }
    }

    fn rejoin(&mut self) {
        self.joined = None;
        self.asked = None;
    }

    fn show_matches(&self) -> bool {
        self.leader_fingerprint.as_deref() == Some(self.fingerprint.as_str())
    }

    fn heard(&self, now: Instant) -> bool {
        self.answered
            .is_some_and(|t| now.duration_since(t) < LOST_AFTER)
    }

    /// Plays the leader's moment: joined, the same show, the leader answering.
    pub fn in_step(&self, now: Instant) -> bool {
        self.joined.is_some() && self.show_matches() && self.heard(now)
    }

    /// The clock offset (leader minus this machine) and its round trip, in ms.
    pub fn offset(&self) -> Option<(f64, f64)> {
        let (rtt, offset) = self.samples.iter().min_by_key(|(rtt, _)| *rtt)?;
        Some((*offset as f64 / 1e6, *rtt as f64 / 1e6))
    }

    fn join(&self) -> Wire {
        match &self.cookie {
            Some(cookie) => Wire::Join {
                cookie: cookie.clone(),
                fingerprint: self.fingerprint.clone(),
            },
            None => Wire::Hello,
        }
    }

    /// What is due at `now` (`wall_ns` on the wall clock): a join or hello again, a heartbeat.
    pub fn tick(&mut self, now: Instant, wall_ns: u64) -> Vec<Wire> {
        let mut out = Vec::new();
        self.began.get_or_insert(now);
        let asked_long_ago = self
            .asked
            .is_none_or(|t| now.duration_since(t) >= JOIN_AGAIN);
        if self.joined.is_none() && asked_long_ago {
            out.push(self.join());
            self.asked = Some(now);
        }
        if self
            .pinged
            .is_none_or(|t| now.duration_since(t) >= PING_EVERY)
        {
            out.push(Wire::Ping {
                sent_ns: wall_ns,
                fingerprint: self.fingerprint.clone(),
                offset_ms: self.offset().map(|(o, _)| o),
            });
            self.pinged = Some(now);
        }
        out
    }

    /// One datagram from `from`: what to send the leader, and what to hand the player.
    pub fn receive(
        &mut self,
        wire: Wire,
        from: SocketAddr,
        now: Instant,
        wall_ns: u64,
    ) -> (Vec<Wire>, Vec<Hand>) {
        let mut send = Vec::new();
        let mut hand = Vec::new();
        if from != self.leader {
            return (send, hand);
        }
        match wire {
            Wire::Cookie(cookie) => {
                self.cookie = Some(cookie);
                // Asked by a leader that does not know this machine (it started again).
                self.rejoin();
                send.push(self.join());
                self.asked = Some(now);
            }
            Wire::Moment(join) if self.joined.is_none() => {
                self.answered = Some(now);
                // Sent only to a follower whose show is the leader's.
                self.leader_fingerprint = Some(self.fingerprint.clone());
                self.joined = Some(Joined {
                    origin_ns: join.origin_ns,
                    next_seq: join.seq + 1,
                    behind: 0,
                });
                let after = join.seq;
                hand.push(Hand::Adopt(join));
                let mut buffered = std::mem::take(&mut self.buffer);
                buffered.sort_by_key(|(seq, ..)| *seq);
                for (seq, at, commands) in buffered.into_iter().filter(|(s, ..)| *s > after) {
                    self.take(seq, at, commands, &mut hand, &mut send);
                }
            }
            Wire::Moment(_) => {}
            Wire::Do { seq, at, commands } => {
                if self.joined.is_some() {
                    self.take(seq, at, commands, &mut hand, &mut send);
                } else if self.buffer.len() < MOST_BUFFERED {
                    self.buffer.push((seq, at, commands));
                }
            }
            Wire::Pong {
                sent_ns,
                leader_ns,
                origin_ns,
                seq,
                fingerprint,
            } => {
                self.answered = Some(now);
                if let Some(rtt) = wall_ns.checked_sub(sent_ns).filter(|_| sent_ns > 0) {
                    let middle = sent_ns as i128 + rtt as i128 / 2;
                    let offset = (leader_ns as i128 - middle) as i64;
                    if self.samples.len() == SAMPLES {
                        self.samples.pop_front();
                    }
                    self.samples.push_back((rtt, offset));
                }
                let matched = self.show_matches();
                self.leader_fingerprint = Some(fingerprint);
                if !self.show_matches() {
                    self.joined = None;
                } else if !matched {
                    self.rejoin();
                }
                if let Some(j) = &mut self.joined {
                    j.behind = if seq >= j.next_seq { j.behind + 1 } else { 0 };
                    // A relayed datagram may pass the heartbeat that counted it: twice in a
                    // row is a loss.
                    if j.origin_ns != origin_ns || j.behind >= 2 {
                        self.rejoin();
                    }
                }
                if self.joined.is_none() && self.show_matches() && self.asked.is_none() {
                    send.push(self.join());
                    self.asked = Some(now);
                }
            }
            Wire::Hello | Wire::Join { .. } | Wire::Ping { .. } | Wire::Forward(_) => {}
        }
        (send, hand)
    }

    /// A relayed command in its place: the next one is handed on; one already had is
    /// dropped; a gap means one was lost, and the moment is asked for again.
    fn take(
        &mut self,
        seq: u64,
        at: Duration,
        commands: Vec<Command>,
        hand: &mut Vec<Hand>,
        send: &mut Vec<Wire>,
    ) {
        let Some(j) = &mut self.joined else {
            return;
        };
        if seq < j.next_seq {
            return;
        }
        if seq > j.next_seq {
            self.rejoin();
            self.buffer.push((seq, at, commands));
            send.push(self.join());
            return;
        }
        j.next_seq += 1;
        hand.push(Hand::Do { seq, at, commands });
    }

    pub fn report(&self, now: Instant) -> SyncReport {
        let offset = self.offset();
        let joining = self.answered.is_none()
            && self
                .began
                .is_none_or(|t| now.duration_since(t) < LOST_AFTER);
        let problem = if joining {
            None
        } else if !self.heard(now) {
            Some(format!(
                "no answer from the leader at {}: playing on by itself, as the leader would",
                self.leader
            ))
        } else if !self.show_matches() {
            Some("this machine's show (slides, cues, counters or photos) is not the leader's: playing its own".into())
        } else if let Some((o, _)) = offset.filter(|(o, _)| o.abs() > HALF_FRAME_MS) {
            Some(format!(
                "this machine's clock is {o:.1} ms off the leader's (more than half a frame): set up chrony or linuxptp (README)"
            ))
        } else {
            None
        };
        SyncReport {
            role: "follower",
            leader: self.leader.to_string(),
            in_step: self.in_step(now),
            offset_ms: offset.map(|(o, _)| o),
            round_trip_ms: offset.map(|(_, r)| r),
            show_matches: self.show_matches(),
            problem,
            followers: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::control::Moment;

    fn leader() -> SocketAddr {
        "127.0.0.1:9001".parse().unwrap()
    }

    fn moment(seq: u64, origin_ns: u64) -> Wire {
        let show = "[[slides]]\nid = \"a\"\nkind = \"title\"\ntitle = \"A\"\n";
        let (show, _) = crate::show::Show::parse(std::path::Path::new("t.toml"), show).unwrap();
        let counts = crate::counts::Counts::from_show(&show);
        let engine = crate::control::Engine::new(show, counts, Duration::ZERO).unwrap();
        let moment: Moment = engine.moment(Duration::ZERO);
        Wire::Moment(Box::new(Join {
            moment,
            origin_ns,
            seq,
            pending: Vec::new(),
        }))
    }

    fn pong(seq: u64, origin_ns: u64, fingerprint: &str) -> Wire {
        Wire::Pong {
            sent_ns: 0,
            leader_ns: 0,
            origin_ns,
            seq,
            fingerprint: fingerprint.into(),
        }
    }

    fn go(seq: u64) -> Wire {
        Wire::Do {
            seq,
            at: Duration::from_secs(seq),
            commands: vec![Command::Pause],
        }
    }

    fn seqs(hand: &[Hand]) -> Vec<u64> {
        hand.iter()
            .filter_map(|h| match h {
                Hand::Do { seq, .. } => Some(*seq),
                Hand::Adopt(_) => None,
            })
            .collect()
    }

    /// A follower joined at relayed number `seq`.
    fn joined(t: Instant, seq: u64) -> Follower {
        let mut f = Follower::new(leader(), "show".into());
        assert_eq!(f.tick(t, 1)[0], Wire::Hello);
        f.receive(Wire::Cookie(vec![7]), leader(), t, 1);
        f.receive(pong(seq, 10, "show"), leader(), t, 1);
        let (_, hand) = f.receive(moment(seq, 10), leader(), t, 1);
        assert!(matches!(hand[..], [Hand::Adopt(_)]));
        assert!(f.in_step(t));
        f
    }

    #[test]
    fn commands_relayed_while_joining_follow_the_moment_in_order() {
        let t = Instant::now();
        let mut f = Follower::new(leader(), "show".into());
        f.receive(Wire::Cookie(vec![7]), leader(), t, 1);
        for seq in [6, 4, 5] {
            f.receive(go(seq), leader(), t, 1);
        }
        f.receive(pong(6, 10, "show"), leader(), t, 1);
        let (_, hand) = f.receive(moment(4, 10), leader(), t, 1);
        assert!(matches!(hand[0], Hand::Adopt(_)));
        assert_eq!(seqs(&hand), vec![5, 6]);
        let (_, hand) = f.receive(go(6), leader(), t, 1);
        assert!(hand.is_empty(), "a repeat is dropped");
    }

    #[test]
    fn a_lost_command_asks_for_the_moment_again() {
        let t = Instant::now();
        let mut f = joined(t, 0);
        let (_, hand) = f.receive(go(1), leader(), t, 1);
        assert_eq!(seqs(&hand), vec![1]);
        let (send, hand) = f.receive(go(3), leader(), t, 1);
        assert!(hand.is_empty());
        assert!(matches!(send[..], [Wire::Join { .. }]));
        assert!(!f.in_step(t));
        // The last one lost: the heartbeats say so, twice in a row.
        let mut f = joined(t, 0);
        f.receive(pong(1, 10, "show"), leader(), t, 1);
        assert!(f.in_step(t));
        let (send, _) = f.receive(pong(1, 10, "show"), leader(), t, 1);
        assert!(!f.in_step(t) && matches!(send[..], [Wire::Join { .. }]));
    }

    #[test]
    fn a_leader_started_again_or_silent_or_with_another_show_is_not_followed() {
        let t = Instant::now();
        let mut f = joined(t, 0);
        f.receive(pong(0, 11, "show"), leader(), t, 1);
        assert!(!f.in_step(t), "another time zero");

        let f = joined(t, 0);
        let later = t + LOST_AFTER;
        assert!(!f.in_step(later));
        assert!(f.report(later).problem.unwrap().contains("no answer"));

        let mut f = joined(t, 0);
        f.receive(pong(0, 10, "other"), leader(), t, 1);
        let report = f.report(t);
        assert!(!report.in_step && !report.show_matches, "{report:?}");
        // Its own show edited to match again: it joins again.
        f.receive(pong(0, 10, "show"), leader(), t, 1);
        let (send, _) = f.receive(pong(0, 10, "show"), leader(), t, 1);
        let ticked = f.tick(t + JOIN_AGAIN, 1);
        assert!(
            send.iter()
                .chain(&ticked)
                .any(|w| matches!(w, Wire::Join { .. })),
            "{send:?} {ticked:?}"
        );
    }

    #[test]
    fn only_the_leader_is_heard() {
        let t = Instant::now();
        let mut f = joined(t, 0);
        let stranger: SocketAddr = "127.0.0.9:9001".parse().unwrap();
        let (send, hand) = f.receive(go(1), stranger, t, 1);
        assert!(send.is_empty() && hand.is_empty());
    }

    #[test]
    fn the_offset_is_the_heartbeat_with_the_shortest_round_trip() {
        let t = Instant::now();
        let mut f = joined(t, 0);
        let ms = 1_000_000;
        // Sent at 100 ms, answered at the leader's 105.5, back at 102 (rtt 2, offset +4.5);
        // then a slow one: rtt 10, whose offset (+1) is not believed.
        for (sent, leader_ns, back) in [
            (100 * ms, 105 * ms + ms / 2, 102 * ms),
            (200 * ms, 206 * ms, 210 * ms),
        ] {
            let wire = Wire::Pong {
                sent_ns: sent,
                leader_ns,
                origin_ns: 10,
                seq: 0,
                fingerprint: "show".into(),
            };
            f.receive(wire, leader(), t, back);
        }
        let (offset, rtt) = f.offset().unwrap();
        assert!(
            (offset - 4.5).abs() < 1e-9 && (rtt - 2.0).abs() < 1e-9,
            "{offset} {rtt}"
        );
        assert!(f.report(t).problem.is_none());
    }
}
