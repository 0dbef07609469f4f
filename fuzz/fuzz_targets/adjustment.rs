//! Fuzz target `adjustment`: see `attendance_fuzz_core::targets::adjustment` for what it feeds and checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    attendance_fuzz_core::targets::adjustment(data);
});
