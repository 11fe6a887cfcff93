//! A million structure-aware hostile OSC inputs (valid and mutated messages, nested bundles
//! with every kind of time tag, SLIP and length-prefixed streams cut anywhere) through decode,
//! framing and dialects: `cargo bench --bench osc_fuzz [-- INPUTS [SEED]]`. Exits non-zero if
//! any input panicked, and prints the rate.

mod support;

fn main() -> std::process::ExitCode {
    support::fuzz("OSC", candela::osc::fuzz::run)
}
