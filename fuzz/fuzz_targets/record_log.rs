#![no_main]
// The property lives in crates/sluice-fuzz (shared with the brief run of `cargo test`).
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    (sluice_fuzz::target("record_log").expect("a target").check)(data)
});
