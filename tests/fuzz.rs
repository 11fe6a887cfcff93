//! Structure-aware fuzzing of the OSC path a packet takes before the show (decode, TCP
//! framing, time tags, dialects): no input may panic. Two seeds of half a million inputs each
//! (about 8 s in a debug build); `cargo bench --bench osc_fuzz` runs a million in release and
//! prints the rate. With the old case-insensitive matching this test fails at once.

#[test]
fn a_million_hostile_inputs_panic_nowhere() {
    for seed in [1, 0x5eed] {
        let panics = candela::osc::fuzz::run(seed, 500_000);
        assert_eq!(
            panics, 0,
            "seed {seed}: {panics} inputs panicked (their messages are above)"
        );
    }
}

/// The same for DMX: sACN and Art-Net datagrams, valid and mutated, from listed and unlisted
/// addresses, through decode, the merge, the fixture and the state's report, with the clock
/// crossing every hold, learning and loss time: a million inputs (about 1 s in a debug build).
#[test]
fn hostile_dmx_panics_nowhere() {
    for seed in [1, 0x5eed] {
        let panics = candela::dmx::fuzz::run(seed, 500_000);
        assert_eq!(
            panics, 0,
            "seed {seed}: {panics} DMX inputs panicked (their messages are above)"
        );
    }
}
