//! `simulate` on a company made by `generate`, against the alternative policies shipped in
//! `examples/alternative-policies.toml`: the demo ends with this report.

use std::path::{Path, PathBuf};

use anyhow::Context;

use super::{simulate, SimulateInput, OUTPUT_FILES};
use crate::config::Config;
use crate::domain::Timestamp;
use crate::replay::ReplayInput;

/// The alternative policies for generated companies (policy groups corporate, engineering,
/// sales, executive).
pub const GENERATED_ALTERNATIVE: &str = include_str!("../../examples/alternative-policies.toml");

/// Simulates the company `generate` wrote into `company` (config/ and its JSONL files) at
/// clock `now` against [`GENERATED_ALTERNATIVE`], writing into `out`; returns the path of
/// `report.html`.
pub fn report_for_generated(company: &Path, now: Timestamp, out: &Path) -> anyhow::Result<PathBuf> {
    let config = Config::load(&company.join("config"))
        .map_err(|e| anyhow::anyhow!("generated configuration is invalid:\n{e}"))?
        .config;
    let alternative_file = company.join("alternative-policies.toml");
    std::fs::write(&alternative_file, GENERATED_ALTERNATIVE)
        .with_context(|| format!("while writing {}", alternative_file.display()))?;
    let (alternative, _) = Config::load_policies(&alternative_file)
        .map_err(|e| anyhow::anyhow!("alternative policies are invalid:\n{e}"))?;
    let optional = |name: &str| Some(company.join(name)).filter(|p| p.exists());
    let input = SimulateInput {
        replay: ReplayInput {
            badges: company.join("badges.jsonl"),
            roster: optional("roster.jsonl"),
            absences: optional("absences.jsonl"),
            outages: optional("outages.jsonl"),
            adjustments: optional("adjustments.jsonl"),
            advance_to: Some(now),
            clock: now,
            out: out.to_owned(),
            progress: false,
        },
        config_dir: company.join("config"),
        alternative_file,
        with_ids: false,
    };
    simulate(&config, &alternative, &input).context("while simulating")?;
    Ok(out.join(OUTPUT_FILES[1]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_alternative_is_valid_and_covers_the_generated_groups() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("alt.toml");
        std::fs::write(&path, GENERATED_ALTERNATIVE).unwrap_or_else(|e| panic!("{e}"));
        let (policies, warnings) =
            Config::load_policies(&path).unwrap_or_else(|e| panic!("invalid: {e}"));
        assert!(warnings.is_empty(), "{warnings:?}");
        let groups: Vec<&str> = policies
            .iter()
            .flat_map(|p| p.policy_groups.iter().map(String::as_str))
            .collect();
        for group in ["corporate", "engineering", "sales", "executive"] {
            assert!(groups.contains(&group), "{group} has no alternative policy");
        }
    }
}
