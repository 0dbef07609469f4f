//! A line reader whose memory is bounded whatever the input: replay's defence against a
//! multi-gigabyte line (issue 8 point 2).
//!
//! A line is kept whole up to [`LINE_KEEP`] + 1 bytes (+ 1 for a `\r\n`), which is every line the processor
//! judges itself (a line of up to 128 KiB is dead-lettered `too_large` with its whole payload,
//! exactly as before). Past that the reader stops buffering: it keeps the first
//! [`LINE_KEEP`] bytes, then skips to the next newline in the reader's fixed-size chunks,
//! counting the bytes and hashing them (SHA-256) as they pass. The caller gets a
//! [`PayloadPrefix`] that says everything a truncated dead letter carries.
//!
//! Line endings are those of `read_until(b'\n')` followed by stripping `\n` and then one
//! `\r` before it: a final line without a newline is a line, a `\r` not followed by `\n` is
//! content, and bytes are bytes (invalid UTF-8 and NUL pass through untouched).

use std::io::{self, BufRead};

use sha2::Digest as _;

use crate::domain::output::{PayloadPrefix, DEAD_LETTER_PAYLOAD_MAX};

/// The bytes of a line kept in memory: what a dead letter keeps of a payload. A line whose
/// content is longer than this by two bytes or more is read as [`Line::Long`].
pub(crate) const LINE_KEEP: usize = DEAD_LETTER_PAYLOAD_MAX;

/// One input line, without its line ending.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Line<'a> {
    /// A line of at most [`LINE_KEEP`] + 1 bytes, whole.
    Whole(&'a [u8]),
    /// A longer line: its first [`LINE_KEEP`] bytes, its length and digest.
    Long {
        /// Prefix, length and SHA-256 of the line's content.
        seen: PayloadPrefix,
        /// True when every byte of the line is ASCII white space (a blank line, skipped).
        blank: bool,
    },
}

/// Reads lines from a [`BufRead`] with at most `LINE_KEEP + 2` bytes of line in memory
/// (plus the reader's own buffer).
#[derive(Debug)]
pub(crate) struct LineReader<R> {
    inner: R,
    buf: Vec<u8>,
    bytes_read: u64,
    keep: usize,
}

impl<R: BufRead> LineReader<R> {
    /// A reader over `inner`.
    pub(crate) fn new(inner: R) -> Self {
        Self::with_keep(inner, LINE_KEEP)
    }

    /// A reader that keeps `keep` bytes of a long line (tests use small limits).
    pub(crate) fn with_keep(inner: R, keep: usize) -> Self {
        Self {
            inner,
            buf: Vec::with_capacity(1024),
            bytes_read: 0,
            keep,
        }
    }

    /// Bytes consumed so far, line endings included.
    pub(crate) fn bytes_read(&self) -> u64 {
        self.bytes_read
    }

    /// The next line, or `None` at the end of input.
    pub(crate) fn next_line(&mut self) -> io::Result<Option<Line<'_>>> {
        self.buf.clear();
        let mut long: Option<LongLine> = None;
        let mut any = false;
        let mut newline = false;
        loop {
            let available = match self.inner.fill_buf() {
                Ok(bytes) => bytes,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if available.is_empty() {
                break;
            }
            any = true;
            let (chunk, found) = match memchr::memchr(b'\n', available) {
                Some(at) => (&available[..at], true),
                None => (available, false),
            };
            match &mut long {
                Some(line) => line.feed(chunk),
                // One byte more than the longest whole line: its `\r` of a `\r\n` ending.
                None if self.buf.len() + chunk.len() <= self.keep + 2 => {
                    self.buf.extend_from_slice(chunk);
                }
                None => {
                    // Too long to keep: hash what is held, keep only the prefix from now on.
                    let mut line = LongLine::new();
                    line.feed(&self.buf);
                    line.feed(chunk);
                    let missing = self.keep.saturating_sub(self.buf.len());
                    self.buf
                        .extend_from_slice(&chunk[..missing.min(chunk.len())]);
                    self.buf.truncate(self.keep);
                    long = Some(line);
                }
            }
            let used = chunk.len() + usize::from(found);
            self.inner.consume(used);
            self.bytes_read += used as u64;
            if found {
                newline = true;
                break;
            }
        }
        if !any {
            return Ok(None);
        }
        Ok(Some(match long {
            Some(line) => line.finish(newline, std::mem::take(&mut self.buf)),
            None => {
                let mut len = self.buf.len();
                if newline && self.buf.last() == Some(&b'\r') {
                    len -= 1;
                }
                if len <= self.keep + 1 {
                    Line::Whole(&self.buf[..len])
                } else {
                    // Held whole only for its possible `\r\n`: long after all.
                    let mut line = LongLine::new();
                    line.content(&self.buf[..len]);
                    self.buf.truncate(self.keep);
                    line.finish(true, std::mem::take(&mut self.buf))
                }
            }
        }))
    }
}

/// The running length, digest and blankness of a line too long to keep. A trailing `\r` is
/// held back until the next byte shows whether it belongs to a `\r\n` line ending.
struct LongLine {
    hasher: sha2::Sha256,
    len: u64,
    blank: bool,
    pending_cr: bool,
}

impl LongLine {
    fn new() -> Self {
        Self {
            hasher: sha2::Sha256::new(),
            len: 0,
            blank: true,
            pending_cr: false,
        }
    }

    fn feed(&mut self, bytes: &[u8]) {
        let Some((&last, body)) = bytes.split_last() else {
            return;
        };
        if self.pending_cr {
            self.content(b"\r");
        }
        if last == b'\r' {
            self.content(body);
            self.pending_cr = true;
        } else {
            self.content(bytes);
            self.pending_cr = false;
        }
    }

    fn content(&mut self, bytes: &[u8]) {
        self.hasher.update(bytes);
        self.len += bytes.len() as u64;
        if self.blank {
            self.blank = bytes.iter().all(u8::is_ascii_whitespace);
        }
    }

    fn finish(mut self, newline: bool, prefix: Vec<u8>) -> Line<'static> {
        if self.pending_cr && !newline {
            self.content(b"\r");
        }
        Line::Long {
            seen: PayloadPrefix {
                prefix,
                len: self.len,
                sha256: self.hasher.finalize().into(),
            },
            blank: self.blank,
        }
    }
}
