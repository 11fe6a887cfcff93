//! The leader's side, pure (time passed in): who follows, what each datagram from the network
//! asks of it, and what to send back.
//!
//! The venue network is hostile, so a datagram's source address proves nothing until the
//! sender has echoed a cookie sent there (an HMAC of its address under a key made at start):
//! only then is it a follower, sent moments and relayed commands. Before that, every answer is
//! no larger than what was received, so a forged source cannot turn the leader into an
//! amplifier against a third party. Followers are at most [`MOST_FOLLOWERS`], forgotten when
//! silent for [`FORGET_AFTER`].

use super::wire::Wire;
use crate::control::{Command, FollowerReport};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// Cookie length, bytes.
pub const COOKIE: usize = 16;
pub const MOST_FOLLOWERS: usize = 16;
pub const FORGET_AFTER: Duration = Duration::from_secs(5);

struct Known {
    heard: Instant,
    fingerprint: String,
    offset_ms: Option<f64>,
}

/// What the leader is now, for its answers.
pub struct Now<'a> {
    pub at: Instant,
    pub wall_ns: u64,
    pub origin_ns: u64,
    pub seq: u64,
    pub fingerprint: &'a str,
}

/// What a datagram calls for.
#[derive(Debug, PartialEq)]
pub enum Act {
    Send(Wire, SocketAddr),
    /// A follower joined (or asked again): it is sent the moment once the player gives it.
    Snapshot(SocketAddr),
    /// A follower's operator sent it these: relay them as the leader's own.
    Forward(SocketAddr, Vec<Command>),
    /// Refused, with why, for the log (rate-limited there).
    Refused(SocketAddr, &'static str),
}

pub struct Leader {
    key: ring::hmac::Key,
    allow: Option<Vec<ipnet::IpNet>>,
    followers: BTreeMap<SocketAddr, Known>,
}

impl Leader {
    /// `allow` is the show's `[osc] allow`: when it lists anyone, only they may follow.
    pub fn new(allow: Option<Vec<ipnet::IpNet>>) -> Leader {
        let mut key = [0u8; 32];
        // Without the system's randomness the cookies are still unguessable enough for a show
        // night (the time since boot); getrandom fails only on a broken system.
        if getrandom::fill(&mut key).is_err() {
            let t = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap_or_default();
            key[..16].copy_from_slice(&t.as_nanos().to_le_bytes());
        }
        Leader {
            key: ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &key),
            allow,
            followers: BTreeMap::new(),
        }
    }

    fn cookie(&self, from: SocketAddr) -> Vec<u8> {
        let tag = ring::hmac::sign(&self.key, from.to_string().as_bytes());
        tag.as_ref()[..COOKIE].to_vec()
    }

    fn allowed(&self, from: SocketAddr) -> bool {
        let ip = from.ip().to_canonical();
        self.allow
            .as_ref()
            .is_none_or(|nets| nets.iter().any(|n| n.contains(&ip)))
    }

    pub fn followers(&self) -> impl Iterator<Item = SocketAddr> + '_ {
        self.followers.keys().copied()
    }

    /// What one datagram from `from` calls for.
    pub fn receive(&mut self, wire: Wire, from: SocketAddr, now: &Now) -> Vec<Act> {
        if !self.allowed(from) {
            return vec![Act::Refused(from, "not in the show's [osc] allow")];
        }
        let known = self.followers.contains_key(&from);
        match wire {
            Wire::Hello => vec![Act::Send(Wire::Cookie(self.cookie(from)), from)],
            Wire::Join {
                cookie,
                fingerprint,
            } => {
                if !same(&cookie, &self.cookie(from)) {
                    return vec![Act::Refused(from, "a join without a good cookie")];
                }
                if !known && self.followers.len() >= MOST_FOLLOWERS {
                    return vec![Act::Refused(from, "already as many followers as allowed")];
                }
                let matches = fingerprint == now.fingerprint;
                self.followers.insert(
                    from,
                    Known {
                        heard: now.at,
                        fingerprint,
                        offset_ms: None,
                    },
                );
                if matches {
                    vec![Act::Snapshot(from)]
                } else {
                    // It plays its own show and says so; its pings keep it listed.
                    vec![Act::Send(pong(0, now), from)]
                }
            }
            Wire::Ping {
                sent_ns,
                fingerprint,
                offset_ms,
            } => match self.followers.get_mut(&from) {
                Some(k) => {
                    k.heard = now.at;
                    k.fingerprint = fingerprint;
                    k.offset_ms = offset_ms;
                    vec![Act::Send(pong(sent_ns, now), from)]
                }
                // A follower of a leader that has restarted since: asked to join again.
                None => vec![Act::Send(Wire::Cookie(self.cookie(from)), from)],
            },
            Wire::Forward(commands) if known => vec![Act::Forward(from, commands)],
            Wire::Forward(_) => vec![Act::Refused(from, "forwarded commands from no follower")],
            Wire::Cookie(_) | Wire::Moment(_) | Wire::Do { .. } | Wire::Pong { .. } => {
                vec![Act::Refused(from, "a leader's message sent to the leader")]
            }
        }
    }

    /// Followers silent for [`FORGET_AFTER`] are dropped: nothing more is sent to them.
    pub fn sweep(&mut self, now: Instant) {
        self.followers
            .retain(|_, k| now.duration_since(k.heard) < FORGET_AFTER);
    }

    pub fn report(&self, now: Instant, fingerprint: &str) -> Vec<FollowerReport> {
        self.followers
            .iter()
            .map(|(a, k)| FollowerReport {
                address: a.to_string(),
                show_matches: k.fingerprint == fingerprint,
                offset_ms: k.offset_ms,
                age: now.duration_since(k.heard).as_secs_f64(),
            })
            .collect()
    }
}

/// Compared in constant time, so the cookie cannot be found a byte at a time by timing.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |d, (x, y)| d | (x ^ y)) == 0
}

fn pong(sent_ns: u64, now: &Now) -> Wire {
    Wire::Pong {
        sent_ns,
        leader_ns: now.wall_ns,
        origin_ns: now.origin_ns,
        seq: now.seq,
        fingerprint: now.fingerprint.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now(at: Instant) -> Now<'static> {
        Now {
            at,
            wall_ns: 5,
            origin_ns: 1,
            seq: 3,
            fingerprint: "show",
        }
    }

    fn addr(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    fn join(leader: &mut Leader, from: SocketAddr, at: Instant) -> Vec<Act> {
        let cookie = match leader.receive(Wire::Hello, from, &now(at)).pop() {
            Some(Act::Send(Wire::Cookie(c), to)) if to == from => c,
            other => panic!("{other:?}"),
        };
        let wire = Wire::Join {
            cookie,
            fingerprint: "show".into(),
        };
        leader.receive(wire, from, &now(at))
    }

    #[test]
    fn a_follower_joins_only_with_the_cookie_sent_to_its_address() {
        let t = Instant::now();
        let mut leader = Leader::new(None);
        let a = addr("127.0.0.2:5000");
        assert_eq!(join(&mut leader, a, t), vec![Act::Snapshot(a)]);
        // A cookie sent to one address is no good from another.
        let cookie = leader.cookie(a);
        let forged = Wire::Join {
            cookie,
            fingerprint: "show".into(),
        };
        let b = addr("127.0.0.3:5000");
        assert!(matches!(
            leader.receive(forged, b, &now(t))[..],
            [Act::Refused(..)]
        ));
        assert_eq!(leader.followers().collect::<Vec<_>>(), vec![a]);
        // Only a follower's forwarded commands are taken.
        let forward = Wire::Forward(vec![Command::Pause]);
        assert!(matches!(
            leader.receive(forward.clone(), b, &now(t))[..],
            [Act::Refused(..)]
        ));
        assert_eq!(
            leader.receive(forward, a, &now(t)),
            vec![Act::Forward(a, vec![Command::Pause])]
        );
    }

    #[test]
    fn followers_are_capped_and_forgotten_when_silent() {
        let t = Instant::now();
        let mut leader = Leader::new(None);
        for i in 0..MOST_FOLLOWERS + 4 {
            join(&mut leader, addr(&format!("10.0.0.{}:1", i + 1)), t);
        }
        assert_eq!(leader.followers().count(), MOST_FOLLOWERS);
        let first = addr("10.0.0.1:1");
        let ping = Wire::Ping {
            sent_ns: 1,
            fingerprint: "show".into(),
            offset_ms: Some(0.5),
        };
        let later = t + FORGET_AFTER - Duration::from_millis(1);
        assert!(matches!(
            leader.receive(ping.clone(), first, &now(later))[..],
            [Act::Send(Wire::Pong { sent_ns: 1, .. }, _)]
        ));
        leader.sweep(t + FORGET_AFTER);
        assert_eq!(leader.followers().collect::<Vec<_>>(), vec![first]);
        // A ping from one forgotten is asked to join again, with no more bytes than it sent.
        let gone = addr("10.0.0.2:1");
        let answer = leader.receive(ping.clone(), gone, &now(t + FORGET_AFTER));
        let [Act::Send(cookie @ Wire::Cookie(_), to)] = &answer[..] else {
            panic!("{answer:?}");
        };
        assert_eq!(*to, gone);
        let size = |w: &Wire| super::super::wire::encode(w, None).len();
        assert!(size(cookie) <= size(&ping));
    }

    #[test]
    fn only_the_listed_may_follow() {
        let t = Instant::now();
        let mut leader = Leader::new(Some(vec!["10.1.0.0/16".parse().unwrap()]));
        let out = leader.receive(Wire::Hello, addr("10.2.0.1:9"), &now(t));
        assert!(matches!(out[..], [Act::Refused(..)]));
        let listed = addr("10.1.2.3:9");
        assert_eq!(join(&mut leader, listed, t), vec![Act::Snapshot(listed)]);
    }

    #[test]
    fn a_follower_with_another_show_is_told_but_sent_no_moment() {
        let t = Instant::now();
        let mut leader = Leader::new(None);
        let a = addr("127.0.0.2:5000");
        let cookie = leader.cookie(a);
        let wire = Wire::Join {
            cookie,
            fingerprint: "other".into(),
        };
        let out = leader.receive(wire, a, &now(t));
        assert!(
            matches!(out[..], [Act::Send(Wire::Pong { .. }, _)]),
            "{out:?}"
        );
        assert!(!leader.report(t, "show")[0].show_matches);
    }
}
