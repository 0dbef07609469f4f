//! Start-up checks of the topics: all ten exist (twelve when `api.listen` is set: the record
//! API's instance directory, `topics.instances`, and its audit trail, `api.access_log_topic`),
//! the four employee-keyed inputs
//! (badges, roster, absences, adjustments) are co-partitioned (same partition count) and the
//! changelog has a partition for every input partition. The site-outages topic and the
//! instance directory are read whole by every instance, the access log is only written: any
//! partition count will do.
//!
//! The service never creates topics: partition counts and the changelog's compaction are
//! deployment decisions (see `docs/LIVE.md`; `scripts/kafka-broker.sh create-topic` in tests).

use std::time::Duration;

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::metadata::Metadata;

use crate::config::TopicsConfig;

/// Why the topics are not usable.
#[derive(Debug, thiserror::Error)]
pub enum TopicError {
    /// The cluster could not be asked for its metadata.
    #[error("cannot read cluster metadata from {brokers}")]
    Metadata {
        /// The bootstrap servers.
        brokers: String,
        /// The cause.
        #[source]
        source: rdkafka::error::KafkaError,
    },
    /// Topics the service needs do not exist.
    #[error(
        "missing topic(s): {}; create them first (inputs co-partitioned by employee_id, the \
         changelog with cleanup.policy=compact and at least as many partitions as the inputs, \
         site outages and the instance directory with cleanup.policy=compact and any partition \
         count, the access log with cleanup.policy=delete and a retention as long as the audit \
         trail must be kept)",
        .0.join(", ")
    )]
    Missing(Vec<String>),
    /// The input topics do not have the same number of partitions.
    #[error(
        "input topics are not co-partitioned: {}; badges, roster, absences and adjustments of \
         one employee must land on the same partition number, so the four topics need the same \
         partition count",
        .0.iter().map(|(t, n)| format!("{t} has {n}")).collect::<Vec<_>>().join(", ")
    )]
    NotCoPartitioned(Vec<(String, usize)>),
    /// The changelog has fewer partitions than the inputs.
    #[error(
        "changelog topic {topic} has {changelog} partition(s) but the inputs have {inputs}: \
         input partition p keeps its state in changelog partition p"
    )]
    ChangelogTooSmall {
        /// The changelog topic.
        topic: String,
        /// Its partition count.
        changelog: usize,
        /// The input partition count.
        inputs: usize,
    },
}

/// Every topic that must exist, with its setting: the `[topics]`, without the instance
/// directory unless the record API is on (`access_log`), plus the access log then.
fn required<'a>(topics: &'a TopicsConfig, access_log: Option<&'a str>) -> Vec<(String, &'a str)> {
    let mut required: Vec<(String, &str)> = topics
        .named()
        .into_iter()
        .filter(|(setting, _)| access_log.is_some() || *setting != "instances")
        .map(|(setting, name)| (format!("topics.{setting}"), name))
        .collect();
    if let Some(name) = access_log {
        required.push(("api.access_log_topic".to_owned(), name));
    }
    required
}

/// Partition counts of every existing topic in `metadata`.
fn partition_count(metadata: &Metadata, topic: &str) -> Option<usize> {
    metadata
        .topics()
        .iter()
        .find(|t| t.name() == topic && t.error().is_none())
        .map(|t| t.partitions().len())
        .filter(|&n| n > 0)
}

/// Checks the topics (`access_log`: the record API is on, so the instance directory and this
/// access-log topic are needed too); returns the input partition count.
pub fn check_topics<C: rdkafka::consumer::ConsumerContext>(
    client: &BaseConsumer<C>,
    brokers: &str,
    topics: &TopicsConfig,
    access_log: Option<&str>,
    timeout: Duration,
) -> Result<usize, TopicError> {
    let metadata = client
        .fetch_metadata(None, timeout)
        .map_err(|source| TopicError::Metadata {
            brokers: brokers.to_owned(),
            source,
        })?;
    check_metadata(&metadata, topics, access_log)
}

/// [`check_topics`] on metadata already fetched.
pub fn check_metadata(
    metadata: &Metadata,
    topics: &TopicsConfig,
    access_log: Option<&str>,
) -> Result<usize, TopicError> {
    let missing: Vec<String> = required(topics, access_log)
        .into_iter()
        .filter(|(_, name)| partition_count(metadata, name).is_none())
        .map(|(setting, name)| format!("{name} ({setting})"))
        .collect();
    if !missing.is_empty() {
        return Err(TopicError::Missing(missing));
    }
    let count = |t: &str| partition_count(metadata, t).unwrap_or(0);
    let inputs = [
        &topics.badges,
        &topics.roster,
        &topics.absences,
        &topics.adjustments,
    ];
    let counts: Vec<(String, usize)> = inputs.iter().map(|t| ((*t).clone(), count(t))).collect();
    if counts.iter().any(|(_, n)| *n != counts[0].1) {
        return Err(TopicError::NotCoPartitioned(counts));
    }
    let partitions = counts[0].1;
    let changelog = count(&topics.changelog);
    if changelog < partitions {
        return Err(TopicError::ChangelogTooSmall {
            topic: topics.changelog.clone(),
            changelog,
            inputs: partitions,
        });
    }
    Ok(partitions)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_record_api_needs_the_instance_directory_and_the_access_log() {
        let topics = TopicsConfig::default();
        let without = required(&topics, None);
        assert_eq!(without.len(), topics.named().len() - 1);
        assert!(without.iter().all(|(_, name)| *name != topics.instances));
        let with = required(&topics, Some("audit"));
        assert_eq!(with.len(), topics.named().len() + 1);
        assert!(with
            .iter()
            .any(|(s, n)| s == "topics.instances" && *n == topics.instances));
        assert!(with
            .iter()
            .any(|(s, n)| s == "api.access_log_topic" && *n == "audit"));
    }
}
