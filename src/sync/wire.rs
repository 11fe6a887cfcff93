//! The messages between a leader and its followers: OSC over UDP, candela's own addresses
//! under `/candela/sync/`. Relayed commands travel in a bundle time-tagged with the wall
//! time they take effect (NTP format); the commands themselves, a moment and the numbers are
//! JSON and 64-bit integers, exact to the nanosecond, so every machine computes the same frame.

use crate::control::Command;
use crate::inbox::Join;
use crate::osc::packet::{self, When};
use rosc::{OscBundle, OscMessage, OscPacket, OscTime, OscType};
use std::time::Duration;

/// A sync packet is never larger; a moment with its pending commands fits well within it.
pub const MAX_DATAGRAM: usize = 60 * 1024;
/// Padding a hello carries, so that the cookie answering it is never larger than it: a
/// forged hello cannot make the leader send a third party more than the forger sent.
const HELLO_PADDING: usize = 48;

#[derive(Debug, Clone, PartialEq)]
pub enum Wire {
    /// A follower's first word.
    Hello,
    /// The leader's answer to a hello (or to a ping it does not know): proof of the
    /// follower's address to send back with its join.
    Cookie(Vec<u8>),
    Join {
        cookie: Vec<u8>,
        fingerprint: String,
    },
    Moment(Box<Join>),
    /// Relayed commands: their number, and their show time in ns (the bundle's time tag says
    /// the same on the wall clock, for OSC tools).
    Do {
        seq: u64,
        at: Duration,
        commands: Vec<Command>,
    },
    /// A follower's heartbeat: its wall clock when sent, its show, the offset it measured.
    Ping {
        sent_ns: u64,
        fingerprint: String,
        offset_ms: Option<f64>,
    },
    /// The leader's answer: the ping's time, its own wall clock, its show's time zero, the
    /// last number relayed and its show.
    Pong {
        sent_ns: u64,
        leader_ns: u64,
        origin_ns: u64,
        seq: u64,
        fingerprint: String,
    },
    /// Commands an operator sent a follower, for the leader to relay.
    Forward(Vec<Command>),
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum WireError {
    #[error(transparent)]
    Packet(#[from] packet::PacketError),
    #[error("not a sync message: {0}")]
    Unknown(String),
    #[error("{0}: bad arguments")]
    Arguments(String),
    #[error("{0}: {1}")]
    Json(String, String),
}

const UNIX_EPOCH_IN_OSC: u64 = 2_208_988_800;

/// A wall time (ns since 1970) as an OSC time tag.
pub fn time_tag(unix_ns: u64) -> OscTime {
    let seconds = unix_ns / 1_000_000_000 + UNIX_EPOCH_IN_OSC;
    let nanos = unix_ns % 1_000_000_000;
    OscTime {
        seconds: seconds as u32,
        fractional: ((nanos << 32) / 1_000_000_000) as u32,
    }
}

fn message(address: &str, args: Vec<OscType>) -> OscPacket {
    OscPacket::Message(OscMessage {
        addr: format!("/candela/sync/{address}"),
        args,
    })
}

fn long(n: u64) -> OscType {
    OscType::Long(n as i64)
}

fn json<T: serde::Serialize>(value: &T) -> OscType {
    OscType::String(serde_json::to_string(value).unwrap_or_default())
}

/// The packet's bytes; a relayed `Do` goes in a bundle timed at `effect_ns` on the wall.
pub fn encode(wire: &Wire, effect_ns: Option<u64>) -> Vec<u8> {
    let packet = match wire {
        Wire::Hello => message(
            "hello",
            vec![
                OscType::String("candela 1".into()),
                OscType::Blob(vec![0; HELLO_PADDING]),
            ],
        ),
        Wire::Cookie(c) => message("cookie", vec![OscType::Blob(c.clone())]),
        Wire::Join {
            cookie,
            fingerprint,
        } => message(
            "join",
            vec![
                OscType::Blob(cookie.clone()),
                OscType::String(fingerprint.clone()),
            ],
        ),
        Wire::Moment(join) => message("moment", vec![json(join)]),
        Wire::Do { seq, at, commands } => {
            let m = message(
                "do",
                vec![long(*seq), long(at.as_nanos() as u64), json(commands)],
            );
            OscPacket::Bundle(OscBundle {
                timetag: time_tag(effect_ns.unwrap_or(0)),
                content: vec![m],
            })
        }
        Wire::Ping {
            sent_ns,
            fingerprint,
            offset_ms,
        } => message(
            "ping",
            vec![
                long(*sent_ns),
                OscType::String(fingerprint.clone()),
                offset_ms.map_or(OscType::Nil, OscType::Double),
            ],
        ),
        Wire::Pong {
            sent_ns,
            leader_ns,
            origin_ns,
            seq,
            fingerprint,
        } => message(
            "pong",
            vec![
                long(*sent_ns),
                long(*leader_ns),
                long(*origin_ns),
                long(*seq),
                OscType::String(fingerprint.clone()),
            ],
        ),
        Wire::Forward(commands) => message("forward", vec![json(commands)]),
    };
    rosc::encoder::encode(&packet).unwrap_or_default()
}

/// Reads one datagram; anything else than one sync message (in a bundle or not) is an error,
/// never a panic.
pub fn decode(bytes: &[u8]) -> Result<Wire, WireError> {
    let timed = packet::decode(bytes)?;
    let [one] = timed.as_slice() else {
        return Err(WireError::Unknown(format!("{} messages", timed.len())));
    };
    let address = one.message.address.as_str();
    let Some(name) = address.strip_prefix("/candela/sync/") else {
        return Err(WireError::Unknown(address.into()));
    };
    let bad = || WireError::Arguments(address.into());
    let from_json = |s: &str| WireError::Json(address.into(), s.to_string());
    let args = one.message.args.as_slice();
    let n = |a: &OscType| match a {
        OscType::Long(n) => u64::try_from(*n).ok(),
        _ => None,
    };
    Ok(match (name, args) {
        ("hello", _) => Wire::Hello,
        ("cookie", [OscType::Blob(c)]) => Wire::Cookie(c.clone()),
        ("join", [OscType::Blob(c), OscType::String(f)]) => Wire::Join {
            cookie: c.clone(),
            fingerprint: f.clone(),
        },
        ("moment", [OscType::String(j)]) => {
            Wire::Moment(serde_json::from_str(j).map_err(|e| from_json(&e.to_string()))?)
        }
        ("do", [seq, at, OscType::String(c)]) if matches!(one.when, When::At(_)) => Wire::Do {
            seq: n(seq).ok_or_else(bad)?,
            at: Duration::from_nanos(n(at).ok_or_else(bad)?),
            commands: serde_json::from_str(c).map_err(|e| from_json(&e.to_string()))?,
        },
        ("ping", [sent, OscType::String(f), offset]) => Wire::Ping {
            sent_ns: n(sent).ok_or_else(bad)?,
            fingerprint: f.clone(),
            offset_ms: match offset {
                OscType::Double(d) if d.is_finite() => Some(*d),
                _ => None,
            },
        },
        ("pong", [sent, leader, origin, seq, OscType::String(f)]) => Wire::Pong {
            sent_ns: n(sent).ok_or_else(bad)?,
            leader_ns: n(leader).ok_or_else(bad)?,
            origin_ns: n(origin).ok_or_else(bad)?,
            seq: n(seq).ok_or_else(bad)?,
            fingerprint: f.clone(),
        },
        ("forward", [OscType::String(c)]) => {
            Wire::Forward(serde_json::from_str(c).map_err(|e| from_json(&e.to_string()))?)
        }
        _ => return Err(bad()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::control::SlideRef;

    #[test]
    fn every_message_reads_back_as_it_was_sent() {
        let commands = vec![
            Command::Goto {
                slide: SlideRef::Id("yorm-bopha".into()),
                fade: Some(Duration::from_nanos(1_234_567_891)),
            },
            Command::Master {
                level: 0.1 + 0.2,
                fade: None,
            },
        ];
        let all = [
            Wire::Hello,
            Wire::Cookie(vec![1, 2, 3]),
            Wire::Join {
                cookie: vec![9; 16],
                fingerprint: "ab".into(),
            },
            Wire::Do {
                seq: 7,
                at: Duration::from_nanos(86_400_000_000_001),
                commands: commands.clone(),
            },
            Wire::Ping {
                sent_ns: u64::MAX / 2,
                fingerprint: "f".into(),
                offset_ms: Some(-0.25),
            },
            Wire::Pong {
                sent_ns: 1,
                leader_ns: 2,
                origin_ns: 3,
                seq: 4,
                fingerprint: "g".into(),
            },
            Wire::Forward(commands),
        ];
        for wire in all {
            let bytes = encode(&wire, Some(1_700_000_000_000_000_000));
            assert_eq!(decode(&bytes), Ok(wire));
        }
    }

    #[test]
    fn a_hello_is_larger_than_the_cookie_that_answers_it() {
        let cookie = encode(&Wire::Cookie(vec![0; super::super::leader::COOKIE]), None);
        assert!(encode(&Wire::Hello, None).len() >= cookie.len());
    }

    #[test]
    fn relayed_commands_are_timed_on_the_wall_clock() {
        let ns = 1_700_000_000_123_456_789;
        let bytes = encode(
            &Wire::Do {
                seq: 1,
                at: Duration::ZERO,
                commands: vec![],
            },
            Some(ns),
        );
        let timed = packet::decode(&bytes).unwrap();
        let When::At(tag) = timed[0].when else {
            panic!("not timed: {timed:?}");
        };
        let at = std::time::UNIX_EPOCH + Duration::from_nanos(ns);
        let early = at - Duration::from_millis(5);
        let wait = packet::wait_until(tag, early).unwrap();
        assert!(wait.abs_diff(Duration::from_millis(5)) < Duration::from_micros(1));
        // An untimed "do" is not one.
        let untimed = packet::encode_message("/candela/sync/do", vec![]);
        assert!(decode(&untimed).is_err());
    }

    #[test]
    fn garbage_is_an_error() {
        for bytes in [
            &b""[..],
            b"/candela/sync/do\0\0\0\0,s\0\0{\0\0\0",
            b"#bundle\0",
        ] {
            assert!(decode(bytes).is_err(), "{bytes:?}");
        }
    }
}
