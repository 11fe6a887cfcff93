//! A million structure-aware hostile OSC inputs (valid and mutated messages, nested bundles
//! with every kind of time tag, SLIP and length-prefixed streams cut anywhere) through decode,
//! framing and dialects: `cargo bench --bench osc_fuzz [-- INPUTS [SEED]]`. Exits non-zero if
//! any input panicked, and prints the rate.

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
    let panics = candela::osc::fuzz::run(seed, inputs);
    let seconds = start.elapsed().as_secs_f64();
    println!(
        "OSC fuzz: {inputs} inputs (seed {seed}) in {seconds:.1} s, {:.0} inputs/s, {panics} panicked",
        inputs as f64 / seconds
    );
    if panics == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
