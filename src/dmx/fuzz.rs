//! Hostile DMX, made to order: a structure-aware generator for the fuzz test and the fuzz
//! bench. It builds sACN data packets (a few CIDs, so sources meet in the merge; every
//! priority, option, universe and slot count that matters) and Art-Net packets (ArtDmx,
//! ArtPoll, other opcodes), mutates their bytes, and [`run`] pushes each through the
//! [`Receiver`] from a handful of addresses with the clock moving on by steps that cross
//! every hold, learning and loss time, as the server does; it counts the inputs that panicked.

use super::receiver::Receiver;
use super::{artnet, sacn};
use crate::random::Xorshift;
use crate::show::{DmxSettings, OnLoss};
use std::net::SocketAddr;
use std::time::Duration;

/// The universe and port address the fuzzed receiver listens to.
const UNIVERSE: u16 = 1;
const PORT_ADDRESS: u16 = 0;
/// A packet's edges and the fields' tell-tale values, for [`Xorshift::mutate`].
const SPECIAL: &[u8] = &[0, 1, 0x7f, 0x80, 0xc8, 0xdd, 0xff];

fn slots(r: &mut Xorshift) -> Vec<u8> {
    let any = r.below(600);
    let n = *r.pick(&[0, 1, 2, 5, 6, 511, 512, 513, any]);
    let fill = *r.pick(&[0u8, 10, 50, 200, 255]);
    (0..n)
        .map(|_| {
            if r.below(4) == 0 {
                r.draw() as u8
            } else {
                fill
            }
        })
        .collect()
}

/// An sACN datagram, valid or mutated.
pub fn sacn_packet(r: &mut Xorshift) -> Vec<u8> {
    let cid = [*r.pick(&[1u8, 2, 3, 4, 5]); 16];
    let priority = *r.pick(&[0u8, 99, 100, 150, 200, 201, 255]);
    let any = r.draw() as u8;
    let options = *r.pick(&[0u8, 0x80, 0x40, 0x20, 0x60, any]);
    let universe = *r.pick(&[UNIVERSE, UNIVERSE, 2, 0, 63999, 64000, 64214]);
    let mut bytes = sacn::packet(cid, priority, r.draw() as u8, options, universe, &slots(r));
    if r.below(5) == 0 {
        bytes[125] = *r.pick(&[0xdd, 0x17, 0xcc]);
    }
    for _ in 0..r.below(3) {
        r.mutate(&mut bytes, SPECIAL);
    }
    bytes
}

/// An Art-Net datagram, valid or mutated.
pub fn artnet_packet(r: &mut Xorshift) -> Vec<u8> {
    let mut bytes = match r.below(4) {
        0 => artnet::poll(),
        1 => {
            let mut other = artnet::poll();
            other[8..10]
                .copy_from_slice(&(*r.pick(&[0x9700u16, 0x5200, 0x2100, 0x6000])).to_le_bytes());
            other
        }
        _ => {
            let port = *r.pick(&[PORT_ADDRESS, PORT_ADDRESS, 1, 0x7fff, 0xffff]);
            artnet::dmx(r.draw() as u8, port, &slots(r))
        }
    };
    for _ in 0..r.below(3) {
        r.mutate(&mut bytes, SPECIAL);
    }
    bytes
}

/// A receiver as a show would configure it, with a counter channel and an allowlist that
/// leaves one of the fuzzing addresses out.
pub fn receiver() -> Receiver {
    Receiver::new(DmxSettings {
        universe: UNIVERSE,
        address: 1,
        port_address: PORT_ADDRESS,
        on_loss: OnLoss::Blackout,
        allow: Some(vec!["127.0.0.0/30".parse().expect("a network")]),
        counters: vec!["letters".into()],
    })
}

/// Pushes `inputs` generated datagrams (from `seed`) through one receiver; returns how many
/// panicked.
pub fn run(seed: u64, inputs: usize) -> usize {
    let mut r = Xorshift::new(seed);
    let mut receiver = receiver();
    let mut now = Duration::ZERO;
    let mut panics = 0;
    for i in 0..inputs {
        now += Duration::from_millis(*r.pick(&[0, 1, 23, 23, 23, 150, 1600, 2600, 11_000]));
        let from = SocketAddr::from(([127, 0, 0, 1 + r.below(4) as u8], 5568));
        let outcome = if i % 2 == 0 {
            let bytes = sacn_packet(&mut r);
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                receiver.sacn(&bytes, from, now);
                receiver.report(now);
            }))
        } else {
            let bytes = artnet_packet(&mut r);
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                receiver.artnet(&bytes, from, now);
                receiver.frame(now);
                receiver.report(now);
            }))
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
        let (mut valid, mut broken) = ([0; 2], [0; 2]);
        for _ in 0..2000 {
            let ok = [
                sacn::parse(&sacn_packet(&mut r)).is_ok(),
                artnet::parse(&artnet_packet(&mut r)).is_ok(),
            ];
            for (k, ok) in ok.into_iter().enumerate() {
                if ok {
                    valid[k] += 1;
                } else {
                    broken[k] += 1;
                }
            }
        }
        assert!(
            valid.iter().chain(&broken).all(|&n| n > 200),
            "valid {valid:?}, broken {broken:?} (sACN, Art-Net)"
        );
    }
}
