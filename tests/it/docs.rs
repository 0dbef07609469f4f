//! The documentation resolves inside a clone: every relative markdown link in README.md and
//! docs/*.md names a file of the repository (and, with a `#fragment`, one of its headings),
//! README.md links nowhere outside it, docs/SPEC.md is the v2 contract, and every `§N` or
//! `§N.M` cited in the code, the tests and the docs is a heading of docs/SPEC.md.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::helpers::root;

/// The title line of the behaviour contract this code implements.
const SPEC_TITLE: &str = "# attendance-compliance — product specification (v2)";

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// README.md and every docs/*.md.
fn markdown_files() -> Vec<PathBuf> {
    let mut files = vec![root().join("README.md")];
    let docs = std::fs::read_dir(root().join("docs")).unwrap_or_else(|e| panic!("docs/: {e}"));
    for entry in docs {
        let path = entry.unwrap_or_else(|e| panic!("docs/: {e}")).path();
        if path.extension().is_some_and(|ext| ext == "md") {
            files.push(path);
        }
    }
    files.sort();
    files
}

/// The lines of `text` outside fenced code blocks.
fn outside_fences(text: &str) -> Vec<&str> {
    let mut in_fence = false;
    let mut lines = Vec::new();
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            in_fence = !in_fence;
        } else if !in_fence {
            lines.push(line);
        }
    }
    lines
}

/// The lines of `text` outside fenced code blocks, with inline code spans blanked out.
fn prose_lines(text: &str) -> Vec<String> {
    outside_fences(text)
        .into_iter()
        .map(|line| {
            let mut prose = String::new();
            for (i, part) in line.split('`').enumerate() {
                if i % 2 == 0 {
                    prose.push_str(part);
                }
                prose.push(' ');
            }
            prose
        })
        .collect()
}

/// The targets of the inline links `[text](target)` of `text`, outside code.
fn link_targets(text: &str) -> Vec<String> {
    let mut targets = Vec::new();
    for line in prose_lines(text) {
        let mut rest = line.as_str();
        while let Some(at) = rest.find("](") {
            let after = &rest[at + 2..];
            let Some(end) = after.find(')') else { break };
            targets.push(after[..end].trim().to_owned());
            rest = &after[end..];
        }
    }
    targets
}

/// GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens.
fn slug(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || matches!(c, ' ' | '-' | '_'))
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

/// The anchors of every heading of the markdown file `text`.
fn anchors(text: &str) -> BTreeSet<String> {
    outside_fences(text)
        .into_iter()
        .filter_map(|line| {
            let title = line.trim_start_matches('#');
            (title.len() < line.len() && title.starts_with(' ')).then(|| slug(title))
        })
        .collect()
}

#[test]
fn every_relative_link_in_readme_and_docs_names_a_file_and_heading_of_the_repository() {
    let mut checked = 0;
    for file in markdown_files() {
        let text = read(&file);
        let dir = file
            .parent()
            .unwrap_or_else(|| panic!("{} has a parent", file.display()));
        for target in link_targets(&text) {
            if target.starts_with("https://") || target.starts_with("http://") {
                continue;
            }
            let (path, fragment) = match target.split_once('#') {
                Some((path, fragment)) => (path, Some(fragment)),
                None => (target.as_str(), None),
            };
            let resolved = if path.is_empty() {
                file.clone()
            } else {
                dir.join(path)
            };
            assert!(
                resolved.exists(),
                "{}: link ({target}) names {}, which does not exist",
                file.display(),
                resolved.display()
            );
            assert!(
                resolved.starts_with(root()),
                "{}: link ({target}) leaves the repository",
                file.display()
            );
            if let Some(fragment) = fragment {
                let headings = anchors(&read(&resolved));
                assert!(
                    headings.contains(fragment),
                    "{}: link ({target}): {} has no heading with anchor #{fragment}",
                    file.display(),
                    resolved.display()
                );
            }
            checked += 1;
        }
    }
    assert!(
        checked >= 20,
        "only {checked} links found: is the parser broken?"
    );
}

#[test]
fn readme_links_only_inside_the_repository() {
    let text = read(&root().join("README.md"));
    let outside: Vec<String> = link_targets(&text)
        .into_iter()
        .filter(|t| t.contains("://") || t.starts_with("..") || t.starts_with('/'))
        .collect();
    assert!(
        outside.is_empty(),
        "README.md links outside the repository: {outside:?}"
    );
    assert!(
        link_targets(&text).iter().any(|t| t == "docs/SPEC.md"),
        "README.md links the behaviour contract in the repository"
    );
}

#[test]
fn the_spec_in_the_repository_is_the_v2_contract() {
    let spec = read(&root().join("docs/SPEC.md"));
    assert_eq!(spec.lines().next(), Some(SPEC_TITLE));
}

/// The section numbers (`1`, `1.5`, …) that docs/SPEC.md has headings for.
fn spec_sections() -> BTreeSet<String> {
    read(&root().join("docs/SPEC.md"))
        .lines()
        .filter(|line| line.starts_with('#'))
        .filter_map(|line| line.trim_start_matches('#').trim().strip_prefix('§'))
        .filter_map(|title| title.split_whitespace().next().map(str::to_owned))
        .collect()
}

/// Every `§N` or `§N.M` in `text` with its line number, except citations of RFCs
/// (`RFC 8259 §8.1`).
fn section_citations(text: &str) -> Vec<(usize, String)> {
    let mut found = Vec::new();
    for (n, line) in text.lines().enumerate() {
        for (at, _) in line.match_indices('§') {
            let before = &line[..at];
            let cited_rfc = before
                .trim_end()
                .trim_end_matches(|c: char| c.is_ascii_digit())
                .trim_end()
                .ends_with("RFC");
            if cited_rfc {
                continue;
            }
            let after = &line[at + '§'.len_utf8()..];
            let number: String = after
                .char_indices()
                .take_while(|&(i, c)| {
                    c.is_ascii_digit()
                        || (c == '.'
                            && i > 0
                            && after[i + 1..].starts_with(|d: char| d.is_ascii_digit()))
                })
                .map(|(_, c)| c)
                .collect();
            if !number.is_empty() {
                found.push((n + 1, number));
            }
        }
    }
    found
}

/// Text files under `dir` (recursively) that may cite the spec.
fn cited_in(dir: &Path, files: &mut Vec<PathBuf>) {
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    for entry in entries {
        let path = entry
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .path();
        if path.is_dir() {
            cited_in(&path, files);
        } else if path
            .extension()
            .and_then(|ext| ext.to_str())
            .is_some_and(|ext| ["rs", "md", "toml", "py", "sh", "yaml", "yml"].contains(&ext))
        {
            files.push(path);
        }
    }
}

#[test]
fn every_section_cited_in_code_tests_and_docs_is_a_heading_of_the_spec() {
    let sections = spec_sections();
    assert!(
        sections.contains("1.6") && sections.contains("10"),
        "headings found: {sections:?}"
    );
    let mut files = vec![root().join("README.md")];
    for dir in ["src", "tests", "docs", "deploy", "scripts", "config"] {
        cited_in(&root().join(dir), &mut files);
    }
    let mut cited = 0;
    let mut unknown = Vec::new();
    for file in &files {
        for (line, number) in section_citations(&read(file)) {
            cited += 1;
            if !sections.contains(&number) {
                unknown.push(format!("{}:{line}: §{number}", file.display()));
            }
        }
    }
    assert!(
        cited > 100,
        "only {cited} citations found: is the scan broken?"
    );
    assert!(
        unknown.is_empty(),
        "not a section of docs/SPEC.md: {unknown:#?}"
    );
}

#[test]
fn citations_are_read_with_their_section_number_and_rfcs_are_left_out() {
    let text = "see §4.3 rule 7 and §7. Also §10, RFC 8259 §8.1 and RFC 9562 §5.5";
    let numbers: Vec<String> = section_citations(text).into_iter().map(|c| c.1).collect();
    assert_eq!(numbers, ["4.3", "7", "10"]);
    assert_eq!(
        slug("Replay safety (v2) — `x`"),
        "replay-safety-v2--x",
        "GitHub keeps both hyphens around a dropped dash"
    );
}
