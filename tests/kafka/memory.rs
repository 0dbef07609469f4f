//! Where a process's resident memory lives, from `/proc/<pid>/smaps`, for the soak: the
//! Rust heap (mimalloc's arenas), the C heap (glibc malloc: librdkafka, OpenSSL) and the
//! rest (code, stacks, small mappings).
//!
//! The split is by the shape of the mappings, not by asking the allocators: mimalloc
//! reserves its arenas as anonymous mappings of 1 GiB (`arena_reserve`), glibc's main arena
//! is `[heap]` and each of its thread arenas is a 64 MiB-aligned anonymous mapping of at
//! most 64 MiB (`HEAP_MAX_SIZE`). Large blocks either allocator takes straight from the OS
//! fall into "other"; good enough to see which heap grows.

/// Resident memory of a process, in KiB.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Memory {
    /// VmRSS.
    pub(crate) rss: u64,
    /// Resident in mappings of 256 MiB or more (mimalloc's arenas).
    pub(crate) mimalloc: u64,
    /// Resident in `[heap]` and in 64 MiB-aligned mappings of at most 64 MiB (glibc).
    pub(crate) glibc: u64,
}

impl Memory {
    /// Resident elsewhere (code, stacks, other mappings).
    pub(crate) fn other(&self) -> u64 {
        self.rss.saturating_sub(self.mimalloc + self.glibc)
    }
}

const MIB: u64 = 1 << 20;

/// The memory of `pid` (all zero when it is gone).
pub(crate) fn memory(pid: u32) -> Memory {
    let Ok(smaps) = std::fs::read_to_string(format!("/proc/{pid}/smaps")) else {
        return Memory::default();
    };
    let mut memory = Memory::default();
    // The kind of the mapping whose fields follow.
    let mut kind = Kind::Other;
    for line in smaps.lines() {
        if let Some(rss) = line.strip_prefix("Rss:") {
            let kib: u64 = rss
                .split_whitespace()
                .next()
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
            memory.rss += kib;
            match kind {
                Kind::Mimalloc => memory.mimalloc += kib,
                Kind::Glibc => memory.glibc += kib,
                Kind::Other => {}
            }
        } else if let Some(mapping) = Mapping::parse(line) {
            kind = mapping.kind();
        }
    }
    memory
}

enum Kind {
    Mimalloc,
    Glibc,
    Other,
}

/// A mapping's header line: `start-end perms offset dev inode [path]`.
struct Mapping<'a> {
    start: u64,
    end: u64,
    inode: &'a str,
    path: Option<&'a str>,
}

impl<'a> Mapping<'a> {
    fn parse(line: &'a str) -> Option<Self> {
        let mut fields = line.split_whitespace();
        let (start, end) = fields.next()?.split_once('-')?;
        let start = u64::from_str_radix(start, 16).ok()?;
        let end = u64::from_str_radix(end, 16).ok()?;
        let _perms = fields.next()?;
        let _offset = fields.next()?;
        let _dev = fields.next()?;
        let inode = fields.next()?;
        Some(Self {
            start,
            end,
            inode,
            path: fields.next(),
        })
    }

    fn kind(&self) -> Kind {
        let size = self.end.saturating_sub(self.start);
        match self.path {
            Some("[heap]") => Kind::Glibc,
            None if self.inode == "0" && size >= 256 * MIB => Kind::Mimalloc,
            None if self.inode == "0" && self.start % (64 * MIB) == 0 && size <= 64 * MIB => {
                Kind::Glibc
            }
            _ => Kind::Other,
        }
    }
}

#[test]
fn own_memory_is_split_without_loss() {
    let memory = memory(std::process::id());
    assert!(memory.rss > 0, "VmRSS of this process");
    assert!(memory.mimalloc + memory.glibc <= memory.rss);
}
