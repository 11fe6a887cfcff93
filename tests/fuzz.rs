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
