//! Buffered, line-counting file output that reports errors with the path.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use super::GenerateError;

/// Writes lines to one file and counts them.
#[derive(Debug)]
pub(crate) struct LineSink<W: Write> {
    out: W,
    path: PathBuf,
    lines: u64,
}

impl LineSink<BufWriter<File>> {
    /// Creates (truncates) `path` with a 1 MiB buffer.
    pub(crate) fn create(path: &Path) -> Result<Self, GenerateError> {
        let file = File::create(path).map_err(|source| io_error(path, source))?;
        Ok(LineSink {
            out: BufWriter::with_capacity(1 << 20, file),
            path: path.to_path_buf(),
            lines: 0,
        })
    }
}

impl<W: Write> LineSink<W> {
    /// Writes `line` and a `\n`. `line` must not contain a line break.
    pub(crate) fn write_line(&mut self, line: &str) -> Result<(), GenerateError> {
        debug_assert!(!line.contains('\n'), "a JSONL record must fit on one line");
        self.out
            .write_all(line.as_bytes())
            .and_then(|()| self.out.write_all(b"\n"))
            .map_err(|source| io_error(&self.path, source))?;
        self.lines += 1;
        Ok(())
    }

    /// Flushes the buffer; call once at the end.
    pub(crate) fn finish(mut self) -> Result<u64, GenerateError> {
        self.out
            .flush()
            .map_err(|source| io_error(&self.path, source))?;
        Ok(self.lines)
    }
}

/// The `Io` error for `path`.
pub(crate) fn io_error(path: &Path, source: std::io::Error) -> GenerateError {
    GenerateError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Writes a whole small file.
pub(crate) fn write_file(path: &Path, text: &str) -> Result<(), GenerateError> {
    std::fs::write(path, text).map_err(|source| io_error(path, source))
}

/// A one-line JSON object from `(key, value)` pairs whose values are already
/// JSON (`"\"text\""`, `null`, `42`); for the hand-made bad lines.
pub(crate) fn object(fields: &[(&str, &str)]) -> String {
    let mut out = String::from("{");
    for (position, (key, value)) in fields.iter().enumerate() {
        if position > 0 {
            out.push(',');
        }
        out.push('"');
        out.push_str(key);
        out.push_str("\":");
        out.push_str(value);
    }
    out.push('}');
    out
}

/// A JSON string literal for `text`, which holds no character needing escape.
pub(crate) fn quote(text: &str) -> String {
    format!("\"{text}\"")
}

/// Whether another of `wanted` bad lines, spread evenly over a file of
/// `total` regular records, is due after record `position` (0-based) when
/// `written` are out; after the last record, every one left is.
pub(crate) fn bad_due(position: u64, total: u64, wanted: u64, written: u64) -> bool {
    written < wanted && (position + 1) * wanted >= (written + 1) * total
}
