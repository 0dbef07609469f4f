//! Giving back the memory glibc keeps after librdkafka freed it.
//!
//! The engine's state lives in mimalloc (the global allocator), which returns freed pages
//! itself. librdkafka and OpenSSL allocate from glibc's `malloc`, which keeps freed memory
//! in its arenas: after a catch-up read (a restore of the changelog, the backlog after a
//! broker outage) the fetch and decompression buffers are freed, but the pages stay
//! resident, and each set of new clients after a client restart adds to them
//! (docs/RELIABILITY.md, "Soak": peak live glibc heap 59 MiB, 11 KiB leaked, yet +44 MiB of
//! RSS after each restart). `malloc_trim(0)` returns the free pages of every arena.
//!
//! The loop calls [`Trimmer::maybe_trim`] once per round; it trims at most every
//! [`TRIM_EVERY`] (a walk of glibc's two arenas, about a millisecond).

use std::time::{Duration, Instant};

/// How often the loop returns glibc's free pages to the system.
pub const TRIM_EVERY: Duration = Duration::from_secs(30);

/// Calls [`release_free_memory`] at most every [`TRIM_EVERY`].
#[derive(Debug)]
pub struct Trimmer {
    last: Instant,
}

impl Trimmer {
    /// A trimmer whose first trim is due [`TRIM_EVERY`] after `now`.
    pub fn new(now: Instant) -> Self {
        Trimmer { last: now }
    }

    /// Trims when the last trim is at least [`TRIM_EVERY`] before `now`; returns whether it
    /// trimmed.
    pub fn maybe_trim(&mut self, now: Instant) -> bool {
        if now.saturating_duration_since(self.last) < TRIM_EVERY {
            return false;
        }
        self.last = now;
        let released = release_free_memory();
        tracing::debug!(released, "returned glibc's free pages to the system");
        true
    }
}

/// Asks glibc to return the free pages of all its arenas to the system (`malloc_trim(0)`);
/// returns whether it gave any back. Elsewhere (musl, macOS) a no-op returning false: those
/// allocators return memory themselves or have no such call.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
pub fn release_free_memory() -> bool {
    // SAFETY: `malloc_trim` takes no pointer and touches only glibc's own free lists, under
    // the arenas' locks; it is safe to call from any thread at any time.
    unsafe { libc::malloc_trim(0) == 1 }
}

/// Asks glibc to return its free pages: not glibc here, nothing to do.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn release_free_memory() -> bool {
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trims_at_most_every_interval() {
        let start = Instant::now();
        let mut trimmer = Trimmer::new(start);
        assert!(!trimmer.maybe_trim(start));
        assert!(!trimmer.maybe_trim(start + TRIM_EVERY - Duration::from_millis(1)));
        assert!(trimmer.maybe_trim(start + TRIM_EVERY));
        assert!(!trimmer.maybe_trim(start + TRIM_EVERY + Duration::from_secs(1)));
        assert!(trimmer.maybe_trim(start + TRIM_EVERY * 2));
    }

    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    #[test]
    fn freed_glibc_memory_goes_back_to_the_system() {
        // Many mid-sized blocks from glibc (below the mmap threshold, so in the arena), a
        // small one kept after them so the heap top cannot shrink, then all but it freed.
        fn rss_kib() -> u64 {
            std::fs::read_to_string("/proc/self/status")
                .ok()
                .and_then(|s| {
                    s.lines()
                        .find(|l| l.starts_with("VmRSS:"))
                        .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
                })
                .unwrap_or(0)
        }
        let blocks: Vec<CBlock> = (0..2048).map(|_| CBlock::new(16 * 1024)).collect();
        let keep = CBlock::new(64);
        let before_free = rss_kib();
        drop(blocks);
        release_free_memory();
        let after_trim = rss_kib();
        drop(keep);
        // 32 MiB were resident; most of it must be gone (other tests' threads allocate too).
        assert!(
            before_free.saturating_sub(after_trim) > 16 * 1024,
            "RSS {before_free} KiB before, {after_trim} KiB after the trim"
        );
    }

    /// A block from glibc's `malloc`, written to so its pages are resident.
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    struct CBlock(*mut libc::c_void);

    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    impl CBlock {
        #[allow(unsafe_code)]
        fn new(size: usize) -> Self {
            // SAFETY: malloc of a non-zero size; the result is checked before it is written.
            let p = unsafe { libc::malloc(size) };
            assert!(!p.is_null(), "malloc failed");
            // SAFETY: `p` points to `size` writable bytes just allocated.
            unsafe { std::ptr::write_bytes(p.cast::<u8>(), 1, size) };
            CBlock(p)
        }
    }

    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    impl Drop for CBlock {
        #[allow(unsafe_code)]
        fn drop(&mut self) {
            // SAFETY: `self.0` came from `libc::malloc` and is freed once, here.
            unsafe { libc::free(self.0) }
        }
    }
}
