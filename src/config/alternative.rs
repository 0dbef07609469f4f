//! An alternative policies file for `simulate` (§9): any TOML file holding `[[policy]]`
//! tables, read and validated exactly as the configuration directory's `policies.toml`, its
//! problems naming the file as given.

use std::path::Path;

use super::files::POLICIES_FILE;
use super::load::{cap, read_file, sort_by_place};
use super::raw::RawPoliciesFile;
use super::{escape_controls, validate, ConfigErrors, Findings, Policy, Problem};

/// See [`super::Config::load_policies`].
pub(crate) fn load_policies(path: &Path) -> Result<(Vec<Policy>, Vec<Problem>), ConfigErrors> {
    let mut findings = Findings::default();
    let policies = if path.is_file() {
        read_file::<RawPoliciesFile>(path, POLICIES_FILE, &mut findings)
            .map(|raw| validate::policies(raw, &mut findings))
    } else {
        findings.error(POLICIES_FILE, "", "not a file (expected [[policy]] tables)");
        None
    };
    let shown = escape_controls(path.display().to_string());
    for findings in [&mut findings.errors, &mut findings.warnings] {
        sort_by_place(findings);
        cap(findings);
        for problem in findings.iter_mut() {
            if problem.file == POLICIES_FILE {
                problem.file.clone_from(&shown);
            }
        }
    }
    match policies {
        Some(policies) if findings.errors.is_empty() => Ok((policies, findings.warnings)),
        _ => Err(ConfigErrors {
            problems: findings.errors,
        }),
    }
}
