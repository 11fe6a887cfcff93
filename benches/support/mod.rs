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
