//! A million structure-aware hostile DMX inputs (sACN and Art-Net datagrams, valid and
//! mutated, from listed and unlisted addresses) through decode, merge, fixture and report:
//! `cargo bench --bench dmx_fuzz [-- INPUTS [SEED]]`. Exits non-zero if any input panicked,
//! and prints the rate.

use std::process::ExitCode;
use std::time::Instant;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let inputs = args
        .first()
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let seed = args
        .get(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(0x0c0f_fee5);
    let start = Instant::now();
    let panics = candela::dmx::fuzz::run(seed, inputs);
    let seconds = start.elapsed().as_secs_f64();
    println!(
        "DMX fuzz: {inputs} inputs (seed {seed}) in {seconds:.1} s, {:.0} inputs/s, {panics} panicked",
        inputs as f64 / seconds
    );
    if panics == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
