//! OSC decode + interpretation, one packet at a time, as criterion measures a function:
//! `cargo bench --bench osc_dispatch`. The packets are what desks send: native cues, Eos fire
//! events and Eos chatter, grandMA3 key feedback, Hog 4 go, and a bundle; each is decoded
//! from bytes and turned into commands. Messages a second on one core = messages in the set
//! divided by the time criterion reports (the set is 9 messages).

use candela::osc::dialect::{Dialect, Meaning};
use candela::osc::packet::{decode, encode_message};
use candela::show::OscSettings;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rosc::OscType;
use std::hint::black_box;

fn packets() -> Vec<Vec<u8>> {
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
    packets
}

fn dispatch(c: &mut Criterion) {
    let packets = packets();
    let dialect = Dialect::new(OscSettings::default());
    let messages: usize = packets.iter().map(|p| decode(p).unwrap().len()).sum();
    let mut group = c.benchmark_group("osc");
    group.throughput(Throughput::Elements(messages as u64));
    group.bench_function("decode and dispatch, desk mix", |b| {
        b.iter(|| {
            let mut acted = 0;
            for p in &packets {
                for timed in decode(black_box(p)).unwrap() {
                    if matches!(
                        dialect.interpret(&timed.message),
                        Meaning::Native(Ok(_)) | Meaning::Desk(_)
                    ) {
                        acted += 1;
                    }
                }
            }
            acted
        })
    });
    group.finish();
}

criterion_group!(benches, dispatch);
criterion_main!(benches);
