//! A million structure-aware hostile DMX inputs (sACN and Art-Net datagrams, valid and
//! mutated, from listed and unlisted addresses) through decode, merge, fixture and report:
//! `cargo bench --bench dmx_fuzz [-- INPUTS [SEED]]`. Exits non-zero if any input panicked,
//! and prints the rate.

mod support;

fn main() -> std::process::ExitCode {
    support::fuzz("DMX", candela::dmx::fuzz::run)
}
