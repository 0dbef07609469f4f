//! Property tests of the engine's invariants (proptest).

use proptest::prelude::*;

use super::tests::Company;
use crate::domain::output::Decision;
use crate::engine::Output;

const EMPLOYEES: [&str; 3] = ["e-1", "e-2", "e-3"];
const SITES: [&str; 3] = ["SEA-1", "SYD-1", "BLR-1"];

/// A badge inside 2026-W20 (Mon 05-11 .. Sun 05-17) at any site, as UTC text.
fn badge_strategy() -> impl Strategy<Value = (usize, usize, i64, bool)> {
    // Seconds from Mon 05-11 12:00Z over 5 days keep every site's local date inside W20.
    (
        0..EMPLOYEES.len(),
        0..SITES.len(),
        0i64..(5 * 86_400),
        any::<bool>(),
    )
}

fn at(offset: i64) -> String {
    let base = chrono::DateTime::parse_from_rfc3339("2026-05-11T12:00:00Z").expect("base");
    (base + chrono::Duration::seconds(offset))
        .with_timezone(&chrono::Utc)
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn company(presence: bool) -> Company {
    company_with(false, presence)
}

/// The test configuration; with `presence`, every policy has `min_presence = "2h"` (§3.7),
/// and the weekend policy ignores unverified days.
fn config(presence: bool) -> crate::config::Config {
    let mut config = crate::engine::tests::load_config(
        crate::engine::tests::SITES,
        crate::engine::tests::HOLIDAYS,
        crate::engine::tests::POLICIES,
        "",
    );
    if presence {
        for p in &mut config.policies {
            p.min_presence = Some(std::time::Duration::from_secs(2 * 3600));
            if p.count_weekends {
                p.unverified_presence = crate::config::UnverifiedPresence::Ignore;
            }
        }
    }
    config
}

/// The test company; with `track`, every state change from the first roster record on is
/// recorded for the changelog (as the live service does from its start).
fn company_with(track: bool, presence: bool) -> Company {
    let mut c = Company::with_config(&config(presence));
    if track {
        c.processor.track_changes();
    }
    c.employee("e-1", "corporate", "SEA-1");
    c.employee("e-2", "eng", "SYD-1");
    c.employee("e-3", "weekend", "BLR-1");
    // Start the clock the Sunday before W19 everywhere, so W19 and W20 are judged.
    c.kickoff("2026-05-03T00:00:00-12:00");
    c
}

fn run(badges: &[(usize, usize, i64, bool)], presence: bool) -> Company {
    let mut c = company(presence);
    for &(e, s, offset, inward) in badges {
        let direction = if inward { "in" } else { "out" };
        c.badge_dir(EMPLOYEES[e], SITES[s], &at(offset), direction);
    }
    c.advance("2026-05-20T00:00:00Z");
    c
}

fn decisions(c: &Company) -> Vec<Decision> {
    let mut d: Vec<Decision> = c.decisions().into_iter().cloned().collect();
    d.sort_by(|a, b| {
        (&a.employee_id, &a.week, a.revision).cmp(&(&b.employee_id, &b.week, b.revision))
    });
    d
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn reordering_badges_of_an_open_week_changes_no_decision(
        badges in proptest::collection::vec(badge_strategy(), 0..30),
        seed in any::<u64>(),
        presence in any::<bool>(),
    ) {
        let mut shuffled = badges.clone();
        // A deterministic permutation from the seed.
        let n = shuffled.len();
        let mut s = seed;
        for i in (1..n).rev() {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            shuffled.swap(i, (s >> 33) as usize % (i + 1));
        }
        // In and out badges alike: presence keeps the first in and latest out (§3.7).
        prop_assert_eq!(
            decisions(&run(&badges, presence)),
            decisions(&run(&shuffled, presence))
        );
    }

    #[test]
    fn a_duplicate_badge_changes_nothing(
        badges in proptest::collection::vec(badge_strategy(), 1..30),
        pick in any::<prop::sample::Index>(),
        presence in any::<bool>(),
    ) {
        let mut doubled = badges.clone();
        let i = pick.index(badges.len());
        doubled.insert(i + 1, badges[i]);
        let a = run(&badges, presence).out;
        let b = run(&doubled, presence).out;
        prop_assert_eq!(a, b);
    }

    #[test]
    fn every_output_is_a_well_formed_decision_stream(
        badges in proptest::collection::vec(badge_strategy(), 0..30),
        presence in any::<bool>(),
    ) {
        let c = run(&badges, presence);
        for o in &c.out {
            if let Output::Decision(d) = o {
                prop_assert!(d.office_days.len() <= 7);
                // A short or unverified day is a badged day; short days never count.
                for day in d.short_days.iter() {
                    prop_assert!(!d.office_days.contains(day));
                    prop_assert!(!d.unverified_days.contains(day));
                }
                if !presence {
                    prop_assert!(d.short_days.is_empty() && d.unverified_days.is_empty());
                }
                prop_assert!(d.window.missed_weeks as usize <= d.window.weeks.len());
                prop_assert_eq!(d.correction, d.revision > 0);
                prop_assert!(!d.explanation.contains('\n'));
            }
        }
    }
}

/// Restores a fresh engine from `records` (as a compacted changelog would hold them).
fn restored(
    records: &[crate::engine::snapshot::StateRecord],
    presence: bool,
) -> crate::engine::Engine {
    let mut engine = crate::engine::Engine::new(&config(presence));
    for r in records {
        engine
            .restore(&r.key, r.value.as_deref())
            .expect("record restores");
    }
    engine.finish_restore();
    engine
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    #[test]
    fn replaying_the_changelog_rebuilds_an_engine_that_behaves_identically(
        before in proptest::collection::vec(badge_strategy(), 0..20),
        after in proptest::collection::vec(badge_strategy(), 0..20),
        close_before_restore in any::<bool>(),
        presence in any::<bool>(),
    ) {
        // With presence, the restore happens mid-week with first-in/latest-out evidence held.
        let mut c = company_with(true, presence);
        let mut changelog = c.processor.take_changes();
        for &(e, s, offset, inward) in &before {
            c.badge_dir(EMPLOYEES[e], SITES[s], &at(offset), if inward { "in" } else { "out" });
            changelog.extend(c.processor.take_changes());
        }
        if close_before_restore {
            c.advance("2026-05-19T08:00:00Z");
            changelog.extend(c.processor.take_changes());
        }
        let mut twin = Company::with_engine(restored(&changelog, presence));
        c.out.clear();
        for &(e, s, offset, inward) in &after {
            let direction = if inward { "in" } else { "out" };
            // Later badges: W21, so some are on time and W20 corrections are possible.
            let t = at(offset + 5 * 86_400);
            c.badge_dir(EMPLOYEES[e], SITES[s], &t, direction);
            twin.badge_dir(EMPLOYEES[e], SITES[s], &t, direction);
        }
        c.advance("2026-06-10T00:00:00Z");
        twin.advance("2026-06-10T00:00:00Z");
        prop_assert_eq!(c.out, twin.out);
    }
}
