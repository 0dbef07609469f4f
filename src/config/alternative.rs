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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn problems_name_the_file_as_given_and_every_one_is_reported() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("what-if.toml");
        std::fs::write(
            &path,
            "[[policy]]\nid = \"a\"\nversion = 1\npolicy_groups = [\"g\"]\n\
             effective_from = \"2026-05-04\"\nrequired_days = 8\ncolour = \"red\"\n",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let errors = load_policies(&path)
            .err()
            .unwrap_or_else(|| panic!("loaded"));
        let shown = path.display().to_string();
        let fields: Vec<(&str, &str)> = errors
            .problems
            .iter()
            .map(|p| (p.file.as_str(), p.field.as_str()))
            .collect();
        assert!(
            fields.contains(&(shown.as_str(), "policy[0].colour")),
            "{errors}"
        );
        assert!(
            fields.contains(&(shown.as_str(), "policy[0].required_days")),
            "{errors}"
        );
    }

    #[test]
    fn a_missing_or_directory_alternative_is_a_problem_not_a_panic() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        for path in [dir.path().join("absent.toml"), dir.path().to_owned()] {
            let errors = load_policies(&path)
                .err()
                .unwrap_or_else(|| panic!("loaded"));
            assert_eq!(errors.problems.len(), 1, "{errors}");
            assert_eq!(errors.problems[0].file, path.display().to_string());
        }
    }

    #[test]
    fn a_valid_file_loads_its_policies() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("ok.toml");
        std::fs::write(
            &path,
            "[[policy]]\nid = \"a\"\nversion = 1\npolicy_groups = [\"g\"]\n\
             effective_from = \"2026-05-04\"\nrequired_days = 2\n",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let (policies, _) = load_policies(&path).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(policies.len(), 1);
        assert_eq!(policies[0].required_days, 2);
    }
}
