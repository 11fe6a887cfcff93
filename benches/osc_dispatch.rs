//! OSC decode + interpretation rate on one core: `cargo bench --bench osc_dispatch`.
//! The packets are what desks send: native cues, Eos fire events and Eos chatter, grandMA3 key
//! feedback, Hog 4 go, and a bundle; each is decoded from bytes and turned into commands.

use candela::osc::dialect::{Meaning, interpret};
use candela::osc::packet::{decode, encode_message};
use candela::show::OscSettings;
use rosc::OscType;
use std::hint::black_box;
use std::time::Instant;

fn main() {
    let s = |v: &str| OscType::String(v.into());
    let mut packets = vec![
        encode_message("/candela/next", vec![]),
        encode_message("/candela/goto", vec![s("yorm-bopha"), OscType::Float(1.5)]),
        encode_message("/candela/count/total/add", vec![OscType::Int(3)]),
        encode_message("/eos/out/event/cue/1/12.5/fire", vec![s("12.5 Speaker")]),
        encode_message("/eos/out/active/cue/1/12", vec![OscType::Float(0.42)]),
        encode_message("/14.14.1.6.3", vec![s("Go+"), OscType::Int(1), s("Finale")]),
        encode_message("/hog/playback/go/0", vec![OscType::Float(15.2)]),
    ];
    let bundle = rosc::encoder::encode(&rosc::OscPacket::Bundle(rosc::OscBundle {
        timetag: rosc::OscTime {
            seconds: 0,
            fractional: 1,
        },
        content: vec![
            rosc::decoder::decode_udp(&packets[0]).unwrap().1,
            rosc::decoder::decode_udp(&packets[1]).unwrap().1,
        ],
    }))
    .unwrap();
    packets.push(bundle);
    let settings = OscSettings::default();
    let rounds = 150_000;
    let start = Instant::now();
    let mut messages = 0u64;
    let mut acted = 0u64;
    for _ in 0..rounds {
        for p in &packets {
            for timed in decode(black_box(p)).unwrap() {
                messages += 1;
                if matches!(
                    interpret(&timed.message, &settings),
                    Meaning::Native(Ok(_)) | Meaning::Desk(_)
                ) {
                    acted += 1;
                }
            }
        }
    }
    let elapsed = start.elapsed();
    println!(
        "OSC decode + dispatch: {messages} messages ({acted} acted on) in {:.2} s: {:.0} messages/s on one core",
        elapsed.as_secs_f64(),
        messages as f64 / elapsed.as_secs_f64()
    );
}
