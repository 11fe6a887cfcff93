//! Hostile OSC, made to order: a structure-aware input generator for the fuzz test and the
//! fuzz bench. It builds valid messages, bundles (nested, with every kind of time tag) and
//! SLIP or length-prefixed streams from the addresses desks and attackers send, then mutates
//! their bytes; [`run`] pushes each through decode → framing → dialect exactly as the server
//! does, and counts the inputs that panicked.

use super::dialect::Dialect;
use super::framing::{self, Framing, StreamDecoder};
use super::packet::{self, When};
pub use crate::random::Xorshift;
use crate::show::OscSettings;
use rosc::{OscBundle, OscMessage, OscPacket, OscTime, OscType};

const ADDRESSES: &[&str] = &[
    "/candela/next",
    "/candela/goto",
    "/candela/count/letters/add",
    "/candela/warp/main/corner/1",
    "/candela/warp/main/point/2/2",
    "/candela/test",
    "/candela/state",
    "/candela/\u{212A}x",
    "/\u{0130}/candela",
    "/eos/out/event/cue/1/12.5/fire",
    "/14.14.1.6.3",
    "/hog/playback/go/0",
    "/magicq/macro/*",
    "",
    "/",
    "//",
    "/candela/cue/",
];

fn argument(r: &mut Xorshift, depth: usize) -> OscType {
    match r.below(if depth > 2 { 8 } else { 9 }) {
        0 => OscType::Int(r.draw() as i32),
        1 => OscType::Float(f32::from_bits(r.draw() as u32)),
        2 => OscType::Double(f64::from_bits(r.draw())),
        3 => OscType::String(
            r.pick(&["12.5", "off", "grid", "-1", "nan", "", "鄭淑貞"])
                .to_string(),
        ),
        4 => OscType::Bool(r.draw() & 1 == 0),
        5 => OscType::Long(r.draw() as i64),
        6 => OscType::Blob((0..r.below(16)).map(|_| r.draw() as u8).collect()),
        7 => OscType::Nil,
        _ => OscType::Array(rosc::OscArray {
            content: (0..r.below(4)).map(|_| argument(r, depth + 1)).collect(),
        }),
    }
}

fn time_tag(r: &mut Xorshift) -> OscTime {
    let any = r.draw() as u32;
    let seconds = *r.pick(&[0, 1, 2_208_988_700, 3_900_000_000, u32::MAX, any]);
    OscTime {
        seconds,
        fractional: r.draw() as u32,
    }
}

fn osc_packet(r: &mut Xorshift, depth: usize) -> OscPacket {
    if depth < 10 && r.below(3) == 0 {
        return OscPacket::Bundle(OscBundle {
            timetag: time_tag(r),
            content: (0..r.below(4)).map(|_| osc_packet(r, depth + 1)).collect(),
        });
    }
    OscPacket::Message(OscMessage {
        addr: r.pick(ADDRESSES).to_string(),
        args: (0..r.below(4)).map(|_| argument(r, 0)).collect(),
    })
}

/// A packet's bytes, valid or mutated.
pub fn packet(r: &mut Xorshift) -> Vec<u8> {
    let mut bytes = rosc::encoder::encode(&osc_packet(r, 0)).unwrap_or_default();
    for _ in 0..r.below(4) {
        r.mutate(&mut bytes, SPECIAL);
    }
    bytes
}

/// OSC's delimiters and a byte's edges, for [`Xorshift::mutate`].
const SPECIAL: &[u8] = &[0, 0x7f, 0x80, 0xff, b',', b'/', b'#'];

/// A TCP byte stream of several packets in one framing, sometimes mutated, cut into chunks.
pub fn stream(r: &mut Xorshift) -> Vec<Vec<u8>> {
    let framing = if r.draw() & 1 == 0 {
        Framing::Slip
    } else {
        Framing::LengthPrefixed
    };
    let mut bytes = Vec::new();
    for _ in 0..1 + r.below(4) {
        bytes.extend(framing::encode(framing, &packet(r)));
    }
    if r.below(3) == 0 {
        r.mutate(&mut bytes, SPECIAL);
    }
    let mut chunks = Vec::new();
    while !bytes.is_empty() {
        let n = (1 + r.below(64)).min(bytes.len());
        chunks.push(bytes.drain(..n).collect());
    }
    chunks
}

/// What the server does with one packet's bytes, short of the show: decode it, see when each
/// message is due, and interpret it.
fn dispatch(bytes: &[u8], dialect: &Dialect) {
    let Ok(timed) = packet::decode(bytes) else {
        return;
    };
    for t in timed {
        if let When::At(time) = t.when {
            packet::wait_until(time, std::time::SystemTime::now());
        }
        dialect.interpret(&t.message);
    }
}

/// Pushes `inputs` generated inputs (from `seed`) through the server's pure path; returns how
/// many panicked. Alternates datagrams and streams.
pub fn run(seed: u64, inputs: usize) -> usize {
    let mut settings = OscSettings::default();
    settings.map.push(crate::show::MapEntry {
        pattern: "/magicq/{macro,exec}/[0-9]*".into(),
        actions: vec![],
    });
    let dialect = Dialect::new(settings);
    let mut r = Xorshift::new(seed);
    let mut panics = 0;
    for i in 0..inputs {
        let outcome = if i % 2 == 0 {
            let bytes = packet(&mut r);
            std::panic::catch_unwind(|| dispatch(&bytes, &dialect))
        } else {
            let chunks = stream(&mut r);
            std::panic::catch_unwind(|| {
                let mut decoder = StreamDecoder::new(super::server::MAX_PACKET);
                for chunk in &chunks {
                    match decoder.push(chunk) {
                        Ok(frames) => frames.iter().for_each(|f| dispatch(f, &dialect)),
                        Err(_) => break,
                    }
                }
            })
        };
        panics += usize::from(outcome.is_err());
    }
    panics
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_generator_makes_valid_and_broken_packets() {
        let mut r = Xorshift::new(7);
        let (mut valid, mut broken) = (0, 0);
        for _ in 0..2000 {
            match packet::decode(&packet(&mut r)) {
                Ok(_) => valid += 1,
                Err(_) => broken += 1,
            }
        }
        assert!(
            valid > 200 && broken > 200,
            "{valid} valid, {broken} broken"
        );
    }
}
