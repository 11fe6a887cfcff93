//! What leading costs the leader's frame: `cargo bench --bench sync_relay`.
//!
//! A leader and 0, 1, 4 and 16 followers play in this process (players with no GPU: the
//! frame's steps without the drawing), each with its real sync socket on loopback. Once every
//! follower is in step, the leader is handed a Next before each of its frames; the frame that
//! takes it (numbering it, sending it to each follower, queueing it for its time) is timed,
//! a cue a millisecond,
//! and compared with the same frames with no follower. Followers' frames run between, so they
//! keep up as a real machine would.

mod support;

use candela::control::{Command, Engine};
use candela::counts::Counts;
use candela::inbox::{Incoming, Request};
use candela::output::{LinkOptions, Player, Unseen};
use candela::show::Show;
use candela::sync::SyncOptions;
use std::time::{Duration, Instant};

const FRAMES: usize = 2000;

fn player(show: &Show, sync: SyncOptions) -> Player {
    let engine = Engine::new(show.clone(), Counts::from_show(show), Duration::ZERO).unwrap();
    let options = LinkOptions {
        sync: Some(sync),
        ..LinkOptions::default()
    };
    Player::new(engine, options, || {}).unwrap()
}

fn main() {
    let (show, _) = Show::load(std::path::Path::new("slides")).unwrap();
    let any = "127.0.0.1:0".parse().unwrap();
    println!("leader frame taking one relayed Next ({FRAMES} frames each, no GPU):");
    for n in [0usize, 1, 4, 16] {
        let mut leader = player(
            &show,
            SyncOptions::Lead {
                bind: any,
                delay: candela::sync::DEFAULT_DELAY,
            },
        );
        leader.black(&mut Unseen);
        let addr = leader.sync_addr().unwrap();
        let mut followers: Vec<Player> = (0..n)
            .map(|_| {
                player(
                    &show,
                    SyncOptions::Follow {
                        leader: addr,
                        bind: any,
                    },
                )
            })
            .collect();
        let end = Instant::now() + Duration::from_secs(20);
        while !followers.iter().all(Player::in_step) {
            assert!(Instant::now() < end, "followers never in step");
            leader.frame(leader.now(), &mut Unseen);
            for f in &mut followers {
                f.frame(f.now(), &mut Unseen);
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        let mut times = Vec::with_capacity(FRAMES);
        for _ in 0..FRAMES {
            (leader.deliver())(Incoming {
                source: "bench".into(),
                request: Request::Command(Command::Next {
                    fade: Some(Duration::ZERO),
                }),
                reply: None,
                at: None,
            });
            let started = Instant::now();
            leader.frame(leader.now(), &mut Unseen);
            times.push(started.elapsed());
            for f in &mut followers {
                f.frame(f.now(), &mut Unseen);
            }
            // A cue a millisecond: a hundred waiting for their time, as in a flurry.
            std::thread::sleep(Duration::from_millis(1));
        }
        times.sort();
        println!(
            "  {n:2} followers: {} ({} in step at the end)",
            support::spread(&times, 3),
            followers.iter().filter(|f| f.in_step()).count()
        );
    }
}
