//! Reading the configuration directory: files, TOML syntax, serde shapes, then layering.
//!
//! Each file is parsed with error recovery, so every syntax error is reported; a file with
//! syntax errors is not validated further (its partial content would only cause confusing
//! follow-up problems). A file that parses is deserialized *tolerantly*: when serde fails
//! (unknown key, wrong type), the problem is recorded with its TOML path and line/column,
//! the offending key is dropped and deserialization is retried, so one typo does not hide
//! the next one or the semantic problems of the rest of the file.

use std::ops::Range;
use std::path::Path;

use serde::de::DeserializeOwned;
use toml::de::{DeTable, DeValue, ValueDeserializer};
use toml::Spanned;

use super::files::{toml_key, HOLIDAYS_FILE, POLICIES_FILE, PROCESSOR_FILE, SITES_FILE};
use super::limits::{
    MAX_FILE_BYTES, MAX_KEY_PROBLEMS_PER_FILE, MAX_REPORTED_PROBLEMS, MAX_TOLERANT_READ_BYTES,
};
use super::raw::{RawHolidaysFile, RawPoliciesFile, RawProcessor, RawSitesFile};
use super::{env, layer, validate, Config, ConfigErrors, Findings, Loaded, ProcessorConfig};

/// See [`Config::load_with_env`].
pub(crate) fn load(
    dir: &Path,
    env: impl IntoIterator<Item = (String, String)>,
) -> Result<Loaded, ConfigErrors> {
    let mut findings = Findings::default();
    if !dir.is_dir() {
        findings.error(
            &dir.display().to_string(),
            "",
            "configuration directory not found (expected sites.toml, holidays.toml, \
             policies.toml and optionally processor.toml in it)",
        );
        return Err(ConfigErrors {
            problems: findings.errors,
        });
    }

    let sites_raw = read_required::<RawSitesFile>(dir, SITES_FILE, &mut findings);
    let holidays_raw = read_required::<RawHolidaysFile>(dir, HOLIDAYS_FILE, &mut findings);
    let policies_raw = read_required::<RawPoliciesFile>(dir, POLICIES_FILE, &mut findings);
    let processor_raw = read_optional::<RawProcessor>(dir, PROCESSOR_FILE, &mut findings);

    let sites = sites_raw.map(|raw| validate::sites(raw, &mut findings));
    let holidays = holidays_raw.map(|raw| validate::holidays(raw, &mut findings));
    if let (Some(sites), Some(holidays)) = (&sites, &holidays) {
        validate::holiday_regions(sites, holidays, &mut findings);
    }
    let policies = policies_raw.map(|raw| validate::policies(raw, &mut findings));

    let mut processor = ProcessorConfig::default();
    let mut provenance = layer::Provenance::default();
    if let Some(raw) = processor_raw {
        let source = layer::Source::file(PROCESSOR_FILE);
        layer::apply(&mut processor, raw, &source, &mut provenance, &mut findings);
    }
    env::apply(&mut processor, env, &mut provenance, &mut findings);
    layer::finish(&mut processor, &provenance, &mut findings);

    sort_by_place(&mut findings.errors);
    sort_by_place(&mut findings.warnings);
    cap(&mut findings.errors);
    cap(&mut findings.warnings);
    match (sites, holidays, policies) {
        (Some(sites), Some(holidays), Some(policies)) if findings.errors.is_empty() => Ok(Loaded {
            config: Config {
                sites,
                holidays,
                policies,
                processor,
            },
            warnings: findings.warnings,
        }),
        _ => Err(ConfigErrors {
            problems: findings.errors,
        }),
    }
}

/// Keeps the first [`MAX_REPORTED_PROBLEMS`] problems and counts the rest in a last one.
pub(super) fn cap(problems: &mut Vec<super::Problem>) {
    if problems.len() > MAX_REPORTED_PROBLEMS {
        let more = problems.len() - MAX_REPORTED_PROBLEMS;
        problems.truncate(MAX_REPORTED_PROBLEMS);
        problems.push(super::Problem::new(
            "configuration",
            "",
            format!("{more} more problems not listed; fix the ones above first"),
        ));
    }
}

/// Orders problems file by file (in the order the files are read), then by entry
/// (`site[0]` before `site[1]`), keeping the order found otherwise.
pub(super) fn sort_by_place(problems: &mut [super::Problem]) {
    const FILES: [&str; 5] = [
        SITES_FILE,
        HOLIDAYS_FILE,
        POLICIES_FILE,
        PROCESSOR_FILE,
        env::ENV_FILE,
    ];
    problems.sort_by_cached_key(|problem| {
        let file_rank = FILES.iter().position(|file| *file == problem.file);
        // "policy[12].version" -> ("policy", 12); a field without an index keeps its place.
        let entry = problem.field.split_once('[').and_then(|(list, rest)| {
            let index = rest.split_once(']')?.0.parse::<usize>().ok()?;
            Some((list.to_owned(), index))
        });
        (file_rank, entry)
    });
}

/// Reads and deserializes a file that must exist. `None` when it is missing or unreadable,
/// with the problems recorded.
fn read_required<T: DeserializeOwned>(
    dir: &Path,
    file: &str,
    findings: &mut Findings,
) -> Option<T> {
    let path = dir.join(file);
    if !path.exists() {
        findings.error(
            file,
            "",
            format!("required file is missing (looked for {})", path.display()),
        );
        return None;
    }
    read_file(&path, file, findings)
}

/// Reads and deserializes a file that may be absent: `None` when it is absent, or present but
/// unreadable (that problem is in `findings`).
fn read_optional<T: DeserializeOwned>(
    dir: &Path,
    file: &str,
    findings: &mut Findings,
) -> Option<T> {
    let path = dir.join(file);
    if !path.exists() {
        return None;
    }
    read_file(&path, file, findings)
}

pub(super) fn read_file<T: DeserializeOwned>(
    path: &Path,
    file: &str,
    findings: &mut Findings,
) -> Option<T> {
    // Read at most one byte more than allowed, so that a huge file (or a device that never
    // ends) is refused without being read whole.
    let mut bytes = Vec::new();
    let read = std::fs::File::open(path).and_then(|opened| {
        use std::io::Read;
        opened.take(MAX_FILE_BYTES + 1).read_to_end(&mut bytes)
    });
    if let Err(error) = read {
        findings.error(file, "", format!("cannot read {}: {error}", path.display()));
        return None;
    }
    if bytes.len() as u64 > MAX_FILE_BYTES {
        findings.error(
            file,
            "",
            format!("larger than {MAX_FILE_BYTES} bytes; a configuration file must be smaller"),
        );
        return None;
    }
    let text = match String::from_utf8(bytes) {
        Ok(text) => text,
        Err(error) => {
            let at = error.utf8_error().valid_up_to();
            findings.error(
                file,
                "",
                format!(
                    "cannot read {}: not UTF-8 (invalid byte at offset {at})",
                    path.display()
                ),
            );
            return None;
        }
    };
    parse_tolerantly(&text, file, findings)
}

/// Parses TOML text into `T`, recording every syntax error, unknown key and type error.
///
/// Returns `None` only when the text has syntax errors or the document as a whole cannot
/// become a `T`; otherwise the value with the unreadable keys left out (they are noted in
/// `findings` as dropped so that validation does not report them again as missing).
pub(crate) fn parse_tolerantly<T: DeserializeOwned>(
    text: &str,
    file: &str,
    findings: &mut Findings,
) -> Option<T> {
    let (document, syntax_errors) = DeTable::parse_recoverable(text);
    if !syntax_errors.is_empty() {
        for error in syntax_errors {
            let location = error.span().map(|span| at(text, span.start));
            let message = match location {
                Some(location) => format!("syntax error {location}: {}", error.message()),
                None => format!("syntax error: {}", error.message()),
            };
            findings.error(file, "", message);
        }
        return None;
    }
    let span = document.span();
    let mut root = Spanned::new(span, DeValue::Table(document.into_inner()));
    // Each round either succeeds or drops one key, and re-reads the whole document: it stops
    // after MAX_KEY_PROBLEMS_PER_FILE rounds, fewer for a large file (at most
    // MAX_TOLERANT_READ_BYTES read in all), so a file full of typos costs bounded time.
    let rounds = (MAX_TOLERANT_READ_BYTES / text.len().max(1)).clamp(1, MAX_KEY_PROBLEMS_PER_FILE);
    for round in 0..=rounds {
        if round == rounds {
            findings.error(
                file,
                "",
                format!(
                    "more than {rounds} unknown keys or wrong types; stopped reading this file"
                ),
            );
            return None;
        }
        let error = match T::deserialize(ValueDeserializer::from(root.clone())) {
            Ok(value) => return Some(value),
            Err(error) => error,
        };
        let position = error.span().map(|span| span.start);
        let path = position.map(|pos| path_to(&root, pos)).unwrap_or_default();
        let field = render_path(&path);
        let mut message = error.message().replace("unknown field", "unknown key");
        if let Some(position) = position {
            message = format!("{message} ({})", at(text, position));
        }
        findings.error(file, &field, message);
        // Drop the innermost table key on the path: an array element cannot be removed
        // without renumbering its siblings, so a bad element drops the whole array.
        let key_depth = path
            .iter()
            .rposition(|segment| matches!(segment, Segment::Key(_)))?;
        findings.note_dropped(file, &render_path(&path[..=key_depth]));
        if !remove(&mut root, &path[..=key_depth]) {
            return None;
        }
    }
    None
}

/// One step of a TOML path.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Key(String),
    Index(usize),
}

/// Renders `policy`, `[2]`, `escalation`, `[1]` as `policy[2].escalation[1]`.
fn render_path(path: &[Segment]) -> String {
    let mut out = String::new();
    for segment in path {
        match segment {
            Segment::Key(key) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(&toml_key(key));
            }
            Segment::Index(index) => out.push_str(&format!("[{index}]")),
        }
    }
    out
}

/// The path of the innermost key or array element at byte `position`.
///
/// Searches depth-first rather than by containing spans, because the span of a `[[policy]]`
/// table covers only its header line, not its keys.
fn path_to(root: &Spanned<DeValue<'_>>, position: usize) -> Vec<Segment> {
    fn contains(span: Range<usize>, position: usize) -> bool {
        span.start <= position && (position < span.end || span.is_empty() && position == span.end)
    }
    fn search(value: &DeValue<'_>, position: usize, path: &mut Vec<Segment>) -> bool {
        match value {
            DeValue::Table(table) => {
                for (key, child) in table.iter() {
                    path.push(Segment::Key(key.get_ref().to_string()));
                    if contains(key.span(), position)
                        || search(child.get_ref(), position, path)
                        || contains(child.span(), position)
                    {
                        return true;
                    }
                    path.pop();
                }
                false
            }
            DeValue::Array(array) => {
                for (index, child) in array.iter().enumerate() {
                    path.push(Segment::Index(index));
                    if search(child.get_ref(), position, path) || contains(child.span(), position) {
                        return true;
                    }
                    path.pop();
                }
                false
            }
            _ => false,
        }
    }
    let mut path = Vec::new();
    search(root.get_ref(), position, &mut path);
    path
}

/// Removes the key at the end of `path` (which must end in a key). False when not found.
fn remove(root: &mut Spanned<DeValue<'_>>, path: &[Segment]) -> bool {
    let Some((Segment::Key(last), parents)) = path.split_last() else {
        return false;
    };
    let mut value = root.get_mut();
    for segment in parents {
        value = match (segment, value) {
            (Segment::Key(key), DeValue::Table(table)) => match table.get_mut(key.as_str()) {
                Some(child) => child.get_mut(),
                None => return false,
            },
            (Segment::Index(index), DeValue::Array(array)) => match array.get_mut(*index) {
                Some(child) => child.get_mut(),
                None => return false,
            },
            _ => return false,
        };
    }
    match value {
        DeValue::Table(table) => table.remove(last.as_str()).is_some(),
        _ => false,
    }
}

/// `at line L, column C` (both from 1, column in characters) for a byte offset into `text`.
fn at(text: &str, offset: usize) -> String {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |newline| newline + 1);
    let column = before[line_start..].chars().count() + 1;
    format!("at line {line}, column {column}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_and_column_count_from_one_in_characters() {
        let text = "a = 1\nbé = 2\n";
        assert_eq!(at(text, 0), "at line 1, column 1");
        assert_eq!(at(text, 6), "at line 2, column 1");
        assert_eq!(at(text, 9), "at line 2, column 3");
        assert_eq!(at(text, 1000), "at line 3, column 1");
    }

    #[test]
    fn paths_render_like_toml() {
        let path = [
            Segment::Key("policy".into()),
            Segment::Index(2),
            Segment::Key("escalation".into()),
            Segment::Index(1),
            Segment::Key("after_weeks".into()),
        ];
        assert_eq!(render_path(&path), "policy[2].escalation[1].after_weeks");
        let quoted = [
            Segment::Key("holidays".into()),
            Segment::Key("New York".into()),
        ];
        assert_eq!(render_path(&quoted), "holidays.\"New York\"");
    }
}
