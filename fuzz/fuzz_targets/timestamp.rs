//! Fuzz target `timestamp`: see `attendance_fuzz_core::targets::timestamp` for what it feeds and checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    attendance_fuzz_core::targets::timestamp(data);
});
