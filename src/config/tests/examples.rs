//! Tests of the commented-out example policies in `config/policies.toml`: each block,
//! uncommented next to the active policies, loads and means what its comment says.

use super::*;

/// The example blocks of `text`: runs of lines starting `# ` whose first line is
/// `# [[policy]]`, each with the `# ` removed.
fn example_blocks(text: &str) -> Vec<String> {
    let mut blocks: Vec<String> = Vec::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        match (line.strip_prefix("# "), current.as_mut()) {
            (Some("[[policy]]"), _) => {
                blocks.extend(current.take());
                current = Some("[[policy]]\n".to_owned());
            }
            (Some(uncommented), Some(block)) => {
                block.push_str(uncommented);
                block.push('\n');
            }
            (None, Some(_)) => blocks.extend(current.take()),
            (_, None) => {}
        }
    }
    blocks.extend(current);
    blocks
}

/// The example `policies.toml` with `blocks` appended, loaded; its policies.
fn load_with(blocks: &[String]) -> Vec<Policy> {
    let active =
        std::fs::read_to_string(example_dir().join("policies.toml")).expect("example policies");
    let dir = TempConfig::new().with("policies.toml", &format!("{active}\n{}", blocks.concat()));
    let loaded = load_ok(dir.path(), no_env());
    let policy_warnings: Vec<_> = loaded
        .warnings
        .iter()
        .filter(|w| w.file == "policies.toml")
        .collect();
    assert!(policy_warnings.is_empty(), "{policy_warnings:?}");
    loaded.config.policies
}

#[test]
fn the_block_finder_finds_only_commented_policies() {
    let text = "# intro\n# [[policy]]\n# id = \"a\"\n\n[[policy]]\nid = \"b\"\n\
                # [[policy]]\n# id = \"c\"\n# rule = { kind = \"weekly\" }";
    assert_eq!(
        example_blocks(text),
        [
            "[[policy]]\nid = \"a\"\n",
            "[[policy]]\nid = \"c\"\nrule = { kind = \"weekly\" }\n"
        ]
    );
}

#[test]
fn each_example_policy_loads_when_uncommented() {
    let text =
        std::fs::read_to_string(example_dir().join("policies.toml")).expect("example policies");
    let blocks = example_blocks(&text);
    let expected = [
        ("example-weekly", Rule::Weekly, None),
        ("example-rolling", Rule::RollingAverage { weeks: 4 }, None),
        (
            "example-missed",
            Rule::MissedWeeks {
                weeks: 6,
                max_missed: 1,
            },
            None,
        ),
        (
            "example-presence",
            Rule::Weekly,
            Some((Duration::from_secs(7_200), UnverifiedPresence::Ignore)),
        ),
        (
            "example-amazon",
            Rule::MissedWeeks {
                weeks: 8,
                max_missed: 4,
            },
            None,
        ),
    ];
    assert_eq!(blocks.len(), expected.len(), "{blocks:#?}");
    let active = load_with(&[]).len();
    for (block, (id, rule, presence)) in blocks.iter().zip(expected) {
        let policies = load_with(std::slice::from_ref(block));
        assert_eq!(policies.len(), active + 1, "{block}");
        let example = &policies[active];
        assert_eq!(example.id, id, "{block}");
        assert_eq!(example.rule, rule, "{block}");
        let (min_presence, unverified) = presence.unzip();
        assert_eq!(example.min_presence, min_presence, "{block}");
        assert_eq!(
            example.unverified_presence,
            unverified.unwrap_or_default(),
            "{block}"
        );
    }
    // And all of them at once.
    assert_eq!(load_with(&blocks).len(), active + expected.len());
}

#[test]
fn the_amazon_example_is_written_as_the_spec_writes_it() {
    let text =
        std::fs::read_to_string(example_dir().join("policies.toml")).expect("example policies");
    let amazon = example_blocks(&text)
        .into_iter()
        .find(|block| block.contains("example-amazon"))
        .expect("an Amazon example");
    assert!(amazon.contains("\nrequired_days = 3\n"), "{amazon}");
    assert!(
        amazon.contains("\nrule = {kind = \"missed_weeks\", weeks = 8, max_missed = 4}\n"),
        "{amazon}"
    );
}
