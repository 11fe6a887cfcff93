#![allow(dead_code)] // Each bench uses its own part of these helpers.
//! What the hand-written benches share (a folder, so cargo does not take it for a bench).

use std::time::Duration;

/// "p50 …, p99 …, max …" of `sorted` times, in ms with `decimals` places.
pub fn spread(sorted: &[Duration], decimals: usize) -> String {
    let at = |p: f64| sorted[((sorted.len() - 1) as f64 * p).round() as usize];
    let ms = |d: Duration| format!("{:.*} ms", decimals, d.as_secs_f64() * 1000.0);
    format!(
        "p50 {}, p99 {}, max {}",
        ms(at(0.5)),
        ms(at(0.99)),
        ms(at(1.0))
    )
}

/// A fuzz bench's `main`: `run(seed, inputs)` over INPUTS (default a million) inputs from
/// SEED, as given after `--`; prints the rate, and fails if any input panicked.
pub fn fuzz(what: &str, run: fn(u64, usize) -> usize) -> std::process::ExitCode {
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
    let start = std::time::Instant::now();
    let panics = run(seed, inputs);
    let seconds = start.elapsed().as_secs_f64();
    println!(
        "{what} fuzz: {inputs} inputs (seed {seed}) in {seconds:.1} s, {:.0} inputs/s, {panics} panicked",
        inputs as f64 / seconds
    );
    if panics == 0 {
        std::process::ExitCode::SUCCESS
    } else {
        std::process::ExitCode::FAILURE
    }
}
