//! Fuzz target `outage`: see `attendance_fuzz_core::targets::outage` for what it feeds and checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    attendance_fuzz_core::targets::outage(data);
});
