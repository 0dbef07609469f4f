//! TEMPORARY stand-in with the validated types only; replaced by the real module.
#![allow(missing_docs)]
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;
pub struct Config { pub sites: Vec<Site>, pub holidays: BTreeMap<String, BTreeSet<chrono::NaiveDate>>, pub policies: Vec<Policy>, pub processor: ProcessorConfig }
pub struct Site { pub id: String, pub timezone: chrono_tz::Tz, pub region: String }
#[derive(Clone, Debug)]
pub struct Policy { pub id: String, pub version: u32, pub policy_groups: Vec<String>, pub effective_from: chrono::NaiveDate, pub required_days: u8, pub rolling_weeks: u32, pub count_weekends: bool, pub new_hire_grace_weeks: u32, pub promotion_hold_after_weeks: u32, pub escalation: Vec<EscalationRung> }
#[derive(Clone, Debug)]
pub struct EscalationRung { pub after_weeks: u32, pub level: String }
pub struct ProcessorConfig { pub time: TimeConfig }
pub struct TimeConfig { pub allowed_lateness: Duration, pub idle_advance_after: Duration, pub max_future_skew: Duration, pub correction_weeks: u32 }
