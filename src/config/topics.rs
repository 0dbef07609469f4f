//! `[topics]`: the Kafka topic names, and the topics the processor reads and writes named by
//! their setting (the `topic` label of the metrics, stable when a topic is renamed).

/// `[topics]`: Kafka topic names. All must be valid Kafka topic names and distinct.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicsConfig {
    /// Badge events in (SPEC §1.1). Default `"badge-events"`.
    pub badges: String,
    /// Compacted roster in (SPEC §1.2). Default `"employee-roster"`.
    pub roster: String,
    /// Absences in (SPEC §1.3). Default `"employee-absences"`.
    pub absences: String,
    /// Compacted site outages in (SPEC §1.5, v2), read whole by every instance.
    /// Default `"site-outages"`.
    pub outages: String,
    /// Attendance adjustments in (SPEC §1.6, v2). Default `"attendance-adjustments"`.
    pub adjustments: String,
    /// Weekly decisions out. Default `"compliance-decisions"`.
    pub decisions: String,
    /// Compliance changes out. Default `"compliance-changes"`.
    pub changes: String,
    /// Manager alerts out. Default `"manager-alerts"`.
    pub alerts: String,
    /// Dead letters out (SPEC §2). Default `"attendance-dead-letters"`.
    pub dead_letters: String,
    /// Compacted state changelog, read back on partition assignment.
    /// Default `"attendance-state-changelog"`.
    pub changelog: String,
    /// Compacted instance directory of the record API (SPEC §10 "Routing"): instance id →
    /// API base URL and the partitions it serves. Needed only when `api.listen` is set.
    /// Default `"attendance-instances"`.
    pub instances: String,
}

impl Default for TopicsConfig {
    fn default() -> Self {
        Self {
            badges: "badge-events".to_owned(),
            roster: "employee-roster".to_owned(),
            absences: "employee-absences".to_owned(),
            outages: "site-outages".to_owned(),
            adjustments: "attendance-adjustments".to_owned(),
            decisions: "compliance-decisions".to_owned(),
            changes: "compliance-changes".to_owned(),
            alerts: "manager-alerts".to_owned(),
            dead_letters: "attendance-dead-letters".to_owned(),
            changelog: "attendance-state-changelog".to_owned(),
            instances: "attendance-instances".to_owned(),
        }
    }
}

impl TopicsConfig {
    /// Every topic with its setting name, in declaration order.
    pub fn named(&self) -> [(&'static str, &str); 11] {
        [
            ("badges", &self.badges),
            ("roster", &self.roster),
            ("absences", &self.absences),
            ("outages", &self.outages),
            ("adjustments", &self.adjustments),
            ("decisions", &self.decisions),
            ("changes", &self.changes),
            ("alerts", &self.alerts),
            ("dead_letters", &self.dead_letters),
            ("changelog", &self.changelog),
            ("instances", &self.instances),
        ]
    }
}

impl TopicsConfig {
    /// The configured name of an input topic.
    pub fn input(&self, topic: InputTopic) -> &str {
        match topic {
            InputTopic::Badges => &self.badges,
            InputTopic::Roster => &self.roster,
            InputTopic::Absences => &self.absences,
            InputTopic::Outages => &self.outages,
            InputTopic::Adjustments => &self.adjustments,
        }
    }

    /// The configured name of an output topic.
    pub fn output(&self, topic: OutputTopic) -> &str {
        match topic {
            OutputTopic::Decisions => &self.decisions,
            OutputTopic::Changes => &self.changes,
            OutputTopic::Alerts => &self.alerts,
            OutputTopic::DeadLetters => &self.dead_letters,
        }
    }

    /// Which input topic the configured topic `name` is, if any.
    pub fn input_of(&self, name: &str) -> Option<InputTopic> {
        InputTopic::ALL.into_iter().find(|&t| self.input(t) == name)
    }
}

/// An input topic, by its `[topics]` setting name (the `topic` label value).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum InputTopic {
    /// `topics.badges` (badge events, SPEC §1.1).
    Badges,
    /// `topics.roster` (SPEC §1.2).
    Roster,
    /// `topics.absences` (SPEC §1.3).
    Absences,
    /// `topics.outages` (SPEC §1.5, v2).
    Outages,
    /// `topics.adjustments` (SPEC §1.6, v2).
    Adjustments,
}

impl InputTopic {
    /// Every input topic.
    pub const ALL: [InputTopic; 5] = [
        Self::Badges,
        Self::Roster,
        Self::Absences,
        Self::Outages,
        Self::Adjustments,
    ];

    /// The label value: the setting name (`badges`, `roster`, `absences`, `outages`,
    /// `adjustments`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Badges => "badges",
            Self::Roster => "roster",
            Self::Absences => "absences",
            Self::Outages => "outages",
            Self::Adjustments => "adjustments",
        }
    }
}

/// An output topic, by its `[topics]` setting name (the `topic` label value).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum OutputTopic {
    /// `topics.decisions`.
    Decisions,
    /// `topics.changes`.
    Changes,
    /// `topics.alerts`.
    Alerts,
    /// `topics.dead_letters`.
    DeadLetters,
}

impl OutputTopic {
    /// Every output topic.
    pub const ALL: [OutputTopic; 4] = [
        Self::Decisions,
        Self::Changes,
        Self::Alerts,
        Self::DeadLetters,
    ];

    /// The label value: the setting name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Decisions => "decisions",
            Self::Changes => "changes",
            Self::Alerts => "alerts",
            Self::DeadLetters => "dead_letters",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_topic_maps_to_its_setting() {
        let topics = TopicsConfig::default();
        let named: std::collections::BTreeMap<_, _> = topics.named().into_iter().collect();
        for input in InputTopic::ALL {
            assert_eq!(Some(&topics.input(input)), named.get(input.as_str()));
            assert_eq!(topics.input_of(topics.input(input)), Some(input));
        }
        for output in OutputTopic::ALL {
            assert_eq!(Some(&topics.output(output)), named.get(output.as_str()));
        }
        assert_eq!(topics.input_of(&topics.decisions), None);
    }
}
