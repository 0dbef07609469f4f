//! The configuration as the engine uses it: sites with their zones and regions, holiday
//! bitmaps per week, policy versions per group, and the time settings. Built once from a
//! validated [`Config`]; read-only afterwards.

use std::time::Duration;

use chrono_tz::Tz;
use rustc_hash::FxHashMap;

use crate::config::{Config, Policy};
use crate::domain::{Day, Week};

use super::outages::Outages;

/// A configured site.
#[derive(Debug, Clone)]
pub struct SiteRule {
    /// Site id.
    pub id: String,
    /// Its time zone.
    pub tz: Tz,
    /// Index into [`Rules::zones`].
    pub zone: usize,
    /// Index into [`Rules::regions`].
    pub region: usize,
}

/// Everything the engine needs from the configuration, in lookup-friendly form.
#[derive(Debug, Clone)]
pub struct Rules {
    /// Sites in configuration order (a site's index is its id in the engine).
    pub sites: Vec<SiteRule>,
    /// Distinct time zones of the sites, sorted by IANA name (ties in §3.6 go by this order).
    pub zones: Vec<Tz>,
    /// Distinct regions.
    pub regions: Vec<String>,
    holidays: FxHashMap<(usize, Week), u8>,
    /// Policies in configuration order.
    pub policies: Vec<Policy>,
    group_index: FxHashMap<String, u16>,
    group_versions: Vec<Vec<(Day, usize)>>,
    /// §1.4 `allowed_lateness`.
    pub allowed_lateness: Duration,
    /// §1.4 `max_future_skew`.
    pub max_future_skew: Duration,
    /// §1.4 `correction_weeks`.
    pub correction_weeks: u32,
    /// How many weeks before the latest closed one are kept (§8): longest rolling window
    /// plus `correction_weeks`.
    pub retention_weeks: u32,
    /// Whether some policy has `min_presence`, so presence evidence is kept (§3.7, §8).
    pub track_presence: bool,
    /// The site outages in force (§1.5): input, not configuration, but like configuration
    /// they hold for every employee of a site, so they live beside the holidays.
    pub(super) outages: Outages,
}

impl Rules {
    /// Builds the rules from a validated configuration.
    pub fn new(config: &Config) -> Self {
        let mut zones: Vec<Tz> = config.sites.iter().map(|s| s.timezone).collect();
        zones.sort_by_key(|tz| tz.name());
        zones.dedup();
        let mut regions: Vec<String> = config.sites.iter().map(|s| s.region.clone()).collect();
        for region in config.holidays.keys() {
            regions.push(region.clone());
        }
        regions.sort();
        regions.dedup();
        let region_index = |r: &str| regions.iter().position(|x| x == r).unwrap_or(0);
        let sites = config
            .sites
            .iter()
            .map(|s| SiteRule {
                id: s.id.clone(),
                tz: s.timezone,
                zone: zones.iter().position(|z| *z == s.timezone).unwrap_or(0),
                region: region_index(&s.region),
            })
            .collect();
        let mut holidays: FxHashMap<(usize, Week), u8> = FxHashMap::default();
        for (region, dates) in &config.holidays {
            let r = region_index(region);
            for date in dates {
                let day = Day::from_date(*date);
                let wd = day.weekday_index();
                if wd < 5 {
                    *holidays.entry((r, day.week())).or_default() |= 1 << wd;
                }
            }
        }
        let mut by_group: FxHashMap<String, Vec<(Day, usize)>> = FxHashMap::default();
        for (i, p) in config.policies.iter().enumerate() {
            for g in &p.policy_groups {
                by_group
                    .entry(g.clone())
                    .or_default()
                    .push((Day::from_date(p.effective_from), i));
            }
        }
        let mut names: Vec<String> = by_group.keys().cloned().collect();
        names.sort();
        let group_index = names
            .iter()
            .enumerate()
            .map(|(i, g)| (g.clone(), i as u16))
            .collect();
        let group_versions = names
            .iter()
            .map(|g| {
                let mut versions = by_group.remove(g).unwrap_or_default();
                versions.sort();
                versions
            })
            .collect();
        let longest = config
            .policies
            .iter()
            .map(|p| p.rule.window_weeks().max(1))
            .max()
            .unwrap_or(1);
        let time = &config.processor.time;
        Self {
            sites,
            zones,
            regions,
            holidays,
            policies: config.policies.clone(),
            group_index,
            group_versions,
            allowed_lateness: time.allowed_lateness,
            max_future_skew: time.max_future_skew,
            correction_weeks: time.correction_weeks,
            retention_weeks: longest + time.correction_weeks,
            track_presence: config.policies.iter().any(|p| p.min_presence.is_some()),
            outages: Outages::default(),
        }
    }

    /// The policy in force for `group` in `week`: the latest `effective_from` on or before
    /// the week's Monday (§4.1).
    pub fn policy_for(&self, group: Option<u16>, week: Week) -> Option<usize> {
        let versions = self.group_versions.get(usize::from(group?))?;
        let monday = week.monday();
        let n = versions.partition_point(|(from, _)| *from <= monday);
        n.checked_sub(1).map(|i| versions[i].1)
    }

    /// The index of a policy group named by some policy, resolved once per roster record so
    /// the hot path never hashes group names.
    pub fn group_index(&self, group: &str) -> Option<u16> {
        self.group_index.get(group).copied()
    }

    /// Weekdays of `week` inside an active outage of `site`, as bits (Monday = bit 0).
    pub(super) fn outage_bits(&self, site: u16, week: Week) -> u8 {
        self.outages.bits(site, week)
    }

    /// Holiday weekdays of `region` in `week`, as bits (Monday = bit 0).
    pub fn holiday_bits(&self, region: usize, week: Week) -> u8 {
        self.holidays.get(&(region, week)).copied().unwrap_or(0)
    }
}
