//! DMX decode + merge + fixture, a datagram at a time, as the receiver takes them:
//! `cargo bench --bench dmx`. Every packet is a full 512-slot universe whose levels change,
//! with the sequence moving on and the clock at 44 packets a second per console. Packets a
//! second on one core = the throughput criterion reports. The target is 100 full universes
//! at 44 Hz: 4,400 packets a second.

use candela::dmx::fuzz::receiver;
use candela::dmx::{artnet, sacn};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use std::net::SocketAddr;
use std::time::Duration;

/// Packets per iteration: a sequence number's whole cycle.
const PACKETS: usize = 256;

fn universe(i: usize) -> Vec<u8> {
    (0..512).map(|ch| ((ch + i) % 256) as u8).collect()
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("dmx");
    group.throughput(Throughput::Elements(PACKETS as u64));
    let desk = SocketAddr::from(([127, 0, 0, 1], 5568));
    let other = SocketAddr::from(([127, 0, 0, 2], 5568));

    let one: Vec<Vec<u8>> = (0..PACKETS)
        .map(|i| sacn::packet([1; 16], 100, i as u8, 0, 1, &universe(i)))
        .collect();
    let mut r = receiver();
    let mut now = Duration::ZERO;
    group.bench_function("sACN, one console, full universes", |b| {
        b.iter(|| {
            for p in &one {
                now += Duration::from_millis(23);
                black_box(r.sacn(black_box(p), desk, now));
            }
        })
    });

    let two: Vec<(Vec<u8>, SocketAddr)> = (0..PACKETS)
        .map(|i| {
            let cid = [1 + (i % 2) as u8; 16];
            let from = if i % 2 == 0 { desk } else { other };
            (
                sacn::packet(cid, 100, (i / 2) as u8, 0, 1, &universe(i)),
                from,
            )
        })
        .collect();
    let mut r = receiver();
    let mut now = Duration::ZERO;
    group.bench_function("sACN, two consoles merged HTP, full universes", |b| {
        b.iter(|| {
            for (p, from) in &two {
                now += Duration::from_millis(11);
                black_box(r.sacn(black_box(p), *from, now));
            }
        })
    });

    let art: Vec<Vec<u8>> = (0..PACKETS)
        .map(|i| artnet::dmx((i % 255 + 1) as u8, 0, &universe(i)))
        .collect();
    let mut r = receiver();
    let mut now = Duration::ZERO;
    group.bench_function("Art-Net, one console, full universes", |b| {
        b.iter(|| {
            for p in &art {
                now += Duration::from_millis(23);
                black_box(r.artnet(black_box(p), desk, now));
            }
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
