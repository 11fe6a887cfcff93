//! One OSC packet (a UDP datagram or one TCP frame) into timed messages.
//!
//! rosc decodes the messages, but bundles are walked here: rosc recurses once per nested
//! bundle with no limit (one UDP datagram of a few thousand nested bundles overflows a 2 MiB
//! thread stack), and it silently drops a bundle element it cannot decode along with
//! everything after it.

use rosc::{OscMessage, OscPacket, OscTime, OscType};

#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    pub address: String,
    pub args: Vec<OscType>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum When {
    Now,
    At(OscTime),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Timed {
    pub when: When,
    pub message: Message,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PacketError {
    #[error("undecodable OSC: {0}")]
    Decode(String),
    #[error("bundles or arrays nested deeper than {MAX_DEPTH}")]
    TooDeep,
    #[error("more than {MAX_MESSAGES} messages in one packet")]
    TooMany,
    #[error("{0} stray bytes after the end of the message")]
    Trailing(usize),
    #[error("bundle cut short: {0}")]
    Truncated(&'static str),
    #[error("bad type tags: {0}")]
    BadTypeTags(&'static str),
}

/// Bundle nesting, and array nesting inside a message's arguments.
pub const MAX_DEPTH: usize = 8;
/// Per packet, bundles included.
pub const MAX_MESSAGES: usize = 1024;

const BUNDLE_TAG: &[u8; 8] = b"#bundle\0";
const IMMEDIATELY: OscTime = OscTime {
    seconds: 0,
    fractional: 1,
};

/// Seconds from the OSC epoch (1900) to the Unix epoch (1970).
const UNIX_EPOCH_IN_OSC: u64 = 2_208_988_800;

/// How long from `now` until `time`, or None when it is due: in the past, the "immediately"
/// tag, or before 1970 (time tag 0 is sent by senders that mean "now"). Never panics, whatever
/// the sender wrote.
pub fn wait_until(time: OscTime, now: std::time::SystemTime) -> Option<std::time::Duration> {
    let unix = (time.seconds as u64).checked_sub(UNIX_EPOCH_IN_OSC)?;
    let nanos = (time.fractional as u64 * 1_000_000_000) >> 32;
    let at = std::time::UNIX_EPOCH.checked_add(std::time::Duration::new(unix, nanos as u32))?;
    at.duration_since(now).ok().filter(|d| !d.is_zero())
}

/// Decodes one packet (a UDP datagram or one TCP frame). Bundles, nested too, are flattened in
/// order; each message takes the time tag of the bundle that holds it directly; a bare message,
/// and the "immediately" time tag, are [`When::Now`]. A message with no type-tag string at all
/// (`/go` and its padding only) is a message with no arguments.
pub fn decode(bytes: &[u8]) -> Result<Vec<Timed>, PacketError> {
    let mut out = Vec::new();
    walk(bytes, When::Now, 0, &mut out)?;
    Ok(out)
}

/// A message's bytes (for replies and for the `send` command). A NUL inside the address or a
/// string argument would cut it short on the receiving end, as in any OSC encoder.
pub fn encode_message(address: &str, args: Vec<OscType>) -> Vec<u8> {
    let packet = OscPacket::Message(OscMessage {
        addr: address.to_owned(),
        args,
    });
    rosc::encoder::encode(&packet).expect("encoding into a Vec cannot fail")
}

/// `depth` counts the bundles enclosing `bytes`.
fn walk(bytes: &[u8], when: When, depth: usize, out: &mut Vec<Timed>) -> Result<(), PacketError> {
    let Some(rest) = bytes.strip_prefix(BUNDLE_TAG) else {
        if out.len() == MAX_MESSAGES {
            return Err(PacketError::TooMany);
        }
        out.push(Timed {
            when,
            message: message(bytes)?,
        });
        return Ok(());
    };
    if depth == MAX_DEPTH {
        return Err(PacketError::TooDeep);
    }
    let (tag, mut rest) = rest
        .split_first_chunk::<8>()
        .ok_or(PacketError::Truncated("no time tag"))?;
    let [s0, s1, s2, s3, f0, f1, f2, f3] = *tag;
    let time = OscTime {
        seconds: u32::from_be_bytes([s0, s1, s2, s3]),
        fractional: u32::from_be_bytes([f0, f1, f2, f3]),
    };
    let when = if time == IMMEDIATELY {
        When::Now
    } else {
        When::At(time)
    };
    while !rest.is_empty() {
        let (size, tail) = rest
            .split_first_chunk::<4>()
            .ok_or(PacketError::Truncated("partial element size"))?;
        let size = u32::from_be_bytes(*size) as usize;
        if size > tail.len() {
            return Err(PacketError::Truncated("element runs past the end"));
        }
        let (element, tail) = tail.split_at(size);
        walk(element, when, depth + 1, out)?;
        rest = tail;
    }
    Ok(())
}

fn message(bytes: &[u8]) -> Result<Message, PacketError> {
    let address_end = bytes.iter().position(|&b| b == 0);
    let decoded = match address_end.and_then(|nul| bytes.get((nul + 4) & !3..)) {
        // rosc insists on a type-tag string; an empty one means the same thing.
        Some([]) => {
            rosc::decoder::decode_udp(&[bytes, b",\0\0\0"].concat()).map(|(_, packet)| (0, packet))
        }
        Some(tags) => {
            check_tags(tags)?;
            rosc::decoder::decode_udp(bytes).map(|(rest, packet)| (rest.len(), packet))
        }
        // Unterminated or unpadded address: let rosc say what is wrong.
        None => rosc::decoder::decode_udp(bytes).map(|(rest, packet)| (rest.len(), packet)),
    };
    match decoded.map_err(|e| PacketError::Decode(e.to_string()))? {
        (0, OscPacket::Message(m)) => Ok(Message {
            address: m.addr,
            args: m.args,
        }),
        (0, OscPacket::Bundle(_)) => unreachable!("bundles are walked before reaching rosc"),
        (stray, _) => Err(PacketError::Trailing(stray)),
    }
}

/// What rosc lets through: a tag string without the leading ',' (it just skips the first
/// character) and an unclosed '[' (it drops the outer arguments and returns the array's).
/// Array depth is capped too, as each level is a nested value that recurses when dropped.
fn check_tags(tags: &[u8]) -> Result<(), PacketError> {
    let Some(tags) = tags.strip_prefix(b",") else {
        return Err(PacketError::BadTypeTags("no leading ','"));
    };
    let mut depth = 0usize;
    for &tag in tags.iter().take_while(|&&b| b != 0) {
        match tag {
            b'[' if depth == MAX_DEPTH => return Err(PacketError::TooDeep),
            b'[' => depth += 1,
            b']' if depth == 0 => return Err(PacketError::BadTypeTags("']' outside an array")),
            b']' => depth -= 1,
            _ => {}
        }
    }
    if depth == 0 {
        Ok(())
    } else {
        Err(PacketError::BadTypeTags("unclosed '['"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_tags_before_1970_or_past_are_due_now() {
        let now = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_800_000_000);
        let at = |seconds| OscTime {
            seconds,
            fractional: 0,
        };
        assert_eq!(wait_until(at(0), now), None);
        assert_eq!(wait_until(IMMEDIATELY, now), None);
        assert_eq!(wait_until(at(2_208_988_700), now), None, "1969");
        assert_eq!(
            wait_until(at(u32::MAX), now).map(|d| d.as_secs() > 0),
            Some(true)
        );
        let soon = OscTime {
            seconds: (UNIX_EPOCH_IN_OSC + 1_800_000_002) as u32,
            fractional: 1 << 31,
        };
        assert_eq!(
            wait_until(soon, now),
            Some(std::time::Duration::from_millis(2500))
        );
    }
    use rosc::OscBundle;

    const OSCILLATOR: [u8; 32] = [
        0x2f, 0x6f, 0x73, 0x63, 0x69, 0x6c, 0x6c, 0x61, 0x74, 0x6f, 0x72, 0x2f, 0x34, 0x2f, 0x66,
        0x72, 0x65, 0x71, 0x75, 0x65, 0x6e, 0x63, 0x79, 0x00, 0x2c, 0x66, 0x00, 0x00, 0x43, 0xdc,
        0x00, 0x00,
    ];

    fn msg(address: &str, args: Vec<OscType>) -> OscPacket {
        OscPacket::Message(OscMessage {
            addr: address.into(),
            args,
        })
    }

    fn bundle(seconds: u32, fractional: u32, content: Vec<OscPacket>) -> OscPacket {
        OscPacket::Bundle(OscBundle {
            timetag: OscTime {
                seconds,
                fractional,
            },
            content,
        })
    }

    fn bytes(packet: &OscPacket) -> Vec<u8> {
        rosc::encoder::encode(packet).unwrap()
    }

    fn addresses(timed: &[Timed]) -> Vec<&str> {
        timed.iter().map(|t| t.message.address.as_str()).collect()
    }

    #[test]
    fn spec_example_decodes_and_encodes_exactly() {
        let timed = decode(&OSCILLATOR).unwrap();
        assert_eq!(
            timed,
            vec![Timed {
                when: When::Now,
                message: Message {
                    address: "/oscillator/4/frequency".into(),
                    args: vec![OscType::Float(440.0)],
                },
            }]
        );
        let encoded = encode_message("/oscillator/4/frequency", vec![OscType::Float(440.0)]);
        assert_eq!(encoded, OSCILLATOR);
    }

    #[test]
    fn eos_ping_has_no_args() {
        let timed = decode(b"/eos/ping\0\0\0,\0\0\0").unwrap();
        assert_eq!(addresses(&timed), ["/eos/ping"]);
        assert!(timed[0].message.args.is_empty());
        assert_eq!(
            encode_message("/eos/ping", vec![]),
            b"/eos/ping\0\0\0,\0\0\0"
        );
    }

    #[test]
    fn message_without_type_tags_is_accepted() {
        for (raw, address) in [
            (&b"/go\0"[..], "/go"),
            (b"/eos/ping\0\0\0", "/eos/ping"),
            (b"/abc\0\0\0\0", "/abc"),
        ] {
            let timed = decode(raw).unwrap();
            assert_eq!(addresses(&timed), [address]);
            assert!(timed[0].message.args.is_empty());
        }
        // Inside a bundle as well.
        let mut raw = BUNDLE_TAG.to_vec();
        raw.extend([0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 4]);
        raw.extend(b"/go\0");
        assert_eq!(addresses(&decode(&raw).unwrap()), ["/go"]);
    }

    #[test]
    fn bundles_flatten_in_order_with_their_own_time_tags() {
        let packet = bundle(
            0,
            1,
            vec![
                msg("/a", vec![OscType::Int(1)]),
                bundle(
                    5000,
                    7,
                    vec![
                        msg("/b", vec![]),
                        bundle(0, 1, vec![msg("/c", vec![])]),
                        msg("/d", vec![OscType::String("12.5".into())]),
                    ],
                ),
                msg("/e", vec![]),
            ],
        );
        let timed = decode(&bytes(&packet)).unwrap();
        assert_eq!(addresses(&timed), ["/a", "/b", "/c", "/d", "/e"]);
        let later = When::At(OscTime {
            seconds: 5000,
            fractional: 7,
        });
        let whens: Vec<When> = timed.iter().map(|t| t.when).collect();
        assert_eq!(whens, [When::Now, later, When::Now, later, When::Now]);
        assert_eq!(timed[0].message.args, [OscType::Int(1)]);
        assert_eq!(timed[3].message.args, [OscType::String("12.5".into())]);
    }

    #[test]
    fn empty_bundle_has_no_messages() {
        assert_eq!(decode(&bytes(&bundle(0, 1, vec![]))).unwrap(), []);
    }

    fn nested(depth: usize) -> Vec<u8> {
        let mut packet = b"/go\0,\0\0\0".to_vec();
        for _ in 0..depth {
            let mut outer = BUNDLE_TAG.to_vec();
            outer.extend([0, 0, 0, 0, 0, 0, 0, 1]);
            outer.extend((packet.len() as u32).to_be_bytes());
            outer.extend(packet);
            packet = outer;
        }
        packet
    }

    #[test]
    fn bundle_nesting_is_limited() {
        assert_eq!(addresses(&decode(&nested(MAX_DEPTH)).unwrap()), ["/go"]);
        assert_eq!(decode(&nested(MAX_DEPTH + 1)), Err(PacketError::TooDeep));
        // Deep enough to overflow the stack if anything recursed all the way down.
        assert_eq!(decode(&nested(3000)), Err(PacketError::TooDeep));
    }

    #[test]
    fn array_nesting_is_limited() {
        let arrays = |depth: usize| {
            let mut raw = b"/a\0\0,".to_vec();
            raw.extend(std::iter::repeat_n(b'[', depth));
            raw.extend(std::iter::repeat_n(b']', depth));
            raw.push(0);
            raw.resize(raw.len().next_multiple_of(4), 0);
            decode(&raw)
        };
        assert!(arrays(MAX_DEPTH).is_ok());
        assert_eq!(arrays(MAX_DEPTH + 1), Err(PacketError::TooDeep));
        assert_eq!(arrays(30_000), Err(PacketError::TooDeep));
    }

    #[test]
    fn message_count_is_limited() {
        let many = |n: usize| bytes(&bundle(0, 1, vec![msg("/m", vec![]); n]));
        assert_eq!(decode(&many(MAX_MESSAGES)).unwrap().len(), MAX_MESSAGES);
        assert_eq!(decode(&many(MAX_MESSAGES + 1)), Err(PacketError::TooMany));
    }

    #[test]
    fn malformed_packets_are_errors() {
        let cases: [(&str, &[u8]); 11] = [
            ("empty", b""),
            ("no slash", b"go\0\0,\0\0\0"),
            ("unterminated address", b"/go"),
            ("unpadded address", b"/eos/ping\0"),
            ("float cut short", &OSCILLATOR[..30]),
            ("string cut short", b"/a\0\0,s\0\0ab"),
            ("no comma", b"/a\0\0i\0\0\0\0\0\0\x05"),
            ("unclosed array", b"/a\0\0,[i\0\0\0\0\x05"),
            ("unknown tag", b"/a\0\0,q\0\0"),
            ("bundle without time tag", b"#bundle\0\0\0\0\0"),
            ("invalid utf-8", b"/\xff\0\0,\0\0\0"),
        ];
        for (what, raw) in cases {
            assert!(decode(raw).is_err(), "{what} decoded");
        }
        let mut trailing = OSCILLATOR.to_vec();
        trailing.extend(b"junk");
        assert_eq!(decode(&trailing), Err(PacketError::Trailing(4)));

        let good = bytes(&bundle(0, 1, vec![msg("/a", vec![]), msg("/b", vec![])]));
        let element_ends = [16, 28, 40];
        assert_eq!(good.len(), 40);
        for cut in 0..=good.len() {
            let whole = element_ends.contains(&cut);
            assert_eq!(decode(&good[..cut]).is_ok(), whole, "bundle cut at {cut}");
        }
        let mut overlong = good.clone();
        overlong[16..20].copy_from_slice(&u32::MAX.to_be_bytes());
        assert!(decode(&overlong).is_err());
    }

    fn rng(seed: u64) -> impl FnMut() -> u64 {
        let mut r = crate::random::Xorshift::new(seed);
        move || r.draw()
    }

    #[test]
    fn fuzzed_packets_never_panic() {
        let mut next = rng(0x9e37_79b9_7f4a_7c15);
        let seeds = [
            OSCILLATOR.to_vec(),
            b"/eos/ping\0\0\0".to_vec(),
            nested(3),
            bytes(&bundle(
                1,
                2,
                vec![
                    msg(
                        "/x",
                        vec![
                            OscType::Blob(vec![1, 2, 3]),
                            OscType::String("cue".into()),
                            OscType::Array(rosc::OscArray {
                                content: vec![OscType::Double(1.5), OscType::Bool(true)],
                            }),
                        ],
                    ),
                    bundle(0, 1, vec![msg("/y", vec![OscType::Long(-1)])]),
                ],
            )),
        ];
        // Bytes that steer a parser into its interesting branches.
        let tokens = [0u8, b'/', b',', b'#', b'[', b']', b's', b'b', b'i', 0xff];
        for round in 0..5000 {
            let mut raw = if round % 5 == 0 {
                let len = (next() % 96) as usize;
                (0..len).map(|_| next() as u8).collect()
            } else {
                seeds[round % seeds.len()].clone()
            };
            for _ in 0..=next() % 4 {
                let at = (next() as usize) % (raw.len() + 1);
                match next() % 4 {
                    0 if at < raw.len() => raw[at] = next() as u8,
                    1 if at < raw.len() => raw[at] = tokens[(next() % 10) as usize],
                    2 => raw.truncate(at),
                    _ => raw.insert(at, next() as u8),
                }
            }
            let _ = decode(&raw);
        }
    }
}
