//! Routing of record-API requests across instances (SPEC §10 "Routing"), without I/O:
//!
//! - the employee's partition: Kafka's murmur2 partitioner of the employee id over the badge
//!   topic's partition count ([`partition_for`]), as the Java client and librdkafka's
//!   `murmur2_random` place keyed records;
//! - the instance directory: the entries of the compacted topic `topics.instances`
//!   ([`InstanceEntry`], schemas/instance.schema.json), folded into a bounded map partition →
//!   owner ([`Directory`]);
//! - the decision for one request ([`decide`]): answer here, forward to the owner, or 503.
//!
//! The Kafka side (reading and writing the directory) is `crate::kafka::instances`; the HTTP
//! side (forwarding) is `crate::http::forward`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::domain::time::parse_timestamp;
use crate::domain::Timestamp;

use super::handler::Lookup;

/// Schema version of directory entries.
pub const INSTANCE_SCHEMA_VERSION: u32 = 1;

/// The request header a forwarding instance adds, naming itself; a request that carries it
/// is never forwarded again (loop guard).
pub const FORWARDED_HEADER: &str = "x-attendance-forwarded";

/// Partitions the directory can map: partition numbers 0 to this − 1. The directory holds at
/// most this many owners, whatever the topic holds; an entry naming a larger partition is
/// malformed.
pub const MAX_PARTITIONS: usize = 10_000;

/// Longest directory value read, in bytes (a larger one is malformed, not parsed).
pub const MAX_ENTRY_BYTES: usize = 256 * 1024;

/// Longest instance id (the entry's key), in bytes.
pub const MAX_INSTANCE_BYTES: usize = 255;

/// Kafka's murmur2 hash (`org.apache.kafka.common.utils.Utils.murmur2`, librdkafka's
/// `rd_murmur2`): seed `0x9747b28c`, little-endian 4-byte blocks.
pub fn murmur2(data: &[u8]) -> i32 {
    const SEED: u32 = 0x9747_b28c;
    const M: u32 = 0x5bd1_e995;
    const R: u32 = 24;
    // Java truncates the length to an int; keys are far shorter.
    let mut h = SEED ^ (data.len() as u32);
    let mut blocks = data.chunks_exact(4);
    for block in &mut blocks {
        let mut k = u32::from_le_bytes([block[0], block[1], block[2], block[3]]);
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h = h.wrapping_mul(M);
        h ^= k;
    }
    let tail = blocks.remainder();
    if !tail.is_empty() {
        if let Some(&b) = tail.get(2) {
            h ^= u32::from(b) << 16;
        }
        if let Some(&b) = tail.get(1) {
            h ^= u32::from(b) << 8;
        }
        h ^= u32::from(tail[0]);
        h = h.wrapping_mul(M);
    }
    h ^= h >> 13;
    h = h.wrapping_mul(M);
    h ^= h >> 15;
    h as i32
}

/// The partition of a record keyed `key` among `partitions`, as Kafka's default partitioner
/// places it (`(murmur2(key) & 0x7fffffff) % partitions`); `None` when there is no partition.
pub fn partition_for(key: &[u8], partitions: usize) -> Option<i32> {
    let n = u32::try_from(partitions).ok().filter(|&n| n > 0)?;
    let positive = (murmur2(key) as u32) & 0x7fff_ffff;
    i32::try_from(positive % n).ok()
}

pub use crate::config::{parse_base_url, MAX_URL_BYTES};

/// One instance's directory entry: the value of its record in `topics.instances`, keyed by
/// its instance id (schemas/instance.schema.json).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstanceEntry {
    /// Always [`INSTANCE_SCHEMA_VERSION`].
    pub schema_version: u32,
    /// The instance id (equal to the record's key).
    pub instance: String,
    /// The base URL other instances forward requests to.
    pub api_url: String,
    /// The badge partitions the instance serves (restored), ascending.
    pub partitions: Vec<i32>,
    /// When the instance wrote the entry, RFC 3339.
    pub at: String,
}

impl InstanceEntry {
    /// The entry of `instance`, reachable at `api_url`, serving `partitions`, written `at`.
    pub fn new(instance: &str, api_url: &str, partitions: &[i32], at: Timestamp) -> Self {
        let mut partitions = partitions.to_vec();
        partitions.sort_unstable();
        partitions.dedup();
        Self {
            schema_version: INSTANCE_SCHEMA_VERSION,
            instance: instance.to_owned(),
            api_url: api_url.to_owned(),
            partitions,
            at: at.to_rfc3339(),
        }
    }

    /// The entry in `value`, checked against its key `key`. Errors say what is wrong in one
    /// line (for a log; never panics on any input).
    pub fn parse(key: &str, value: &[u8]) -> Result<(Self, Timestamp), String> {
        if value.len() > MAX_ENTRY_BYTES {
            return Err(format!("{} bytes, at most {MAX_ENTRY_BYTES}", value.len()));
        }
        let entry: Self =
            serde_json::from_slice(value).map_err(|e| format!("not an instance entry: {e}"))?;
        if entry.schema_version != INSTANCE_SCHEMA_VERSION {
            return Err(format!(
                "schema_version {} (this version reads {INSTANCE_SCHEMA_VERSION})",
                entry.schema_version
            ));
        }
        if entry.instance != key {
            return Err("instance differs from the record's key".into());
        }
        parse_base_url(&entry.api_url).map_err(|e| format!("api_url: {e}"))?;
        if let Some(p) = entry
            .partitions
            .iter()
            .find(|&&p| usize::try_from(p).map_or(true, |p| p >= MAX_PARTITIONS))
        {
            return Err(format!(
                "partition {p} is outside 0 to {}",
                MAX_PARTITIONS - 1
            ));
        }
        let at = parse_timestamp(&entry.at).map_err(|e| format!("at: {e}"))?;
        Ok((entry, at))
    }
}

/// The instance that serves a partition, as the directory says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owner {
    /// Its instance id.
    pub instance: String,
    /// Its API base URL.
    pub api_url: String,
    /// When it claimed the partition.
    pub at: Timestamp,
}

/// What one directory record did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Applied {
    /// The entry (or tombstone) of another instance was applied.
    Updated,
    /// The record is this instance's own: ignored (the pipeline knows what it owns).
    Own,
}

/// The instance directory as one instance sees it: partition → owner, for partitions
/// `0..MAX_PARTITIONS` (so at most [`MAX_PARTITIONS`] owners, whatever the topic holds).
///
/// Each record replaces what its instance claimed before; a tombstone withdraws it. When two
/// instances claim one partition (a crashed owner's entry is never withdrawn), the claim with
/// the later `at` holds it, ties going to the record read last. Entries of this instance are
/// ignored.
#[derive(Debug, Clone)]
pub struct Directory {
    own: String,
    owners: BTreeMap<i32, Owner>,
}

impl Directory {
    /// An empty directory of the instance `own`.
    pub fn new(own: &str) -> Self {
        Self {
            own: own.to_owned(),
            owners: BTreeMap::new(),
        }
    }

    /// Applies one record of the directory topic (`value` `None`: a tombstone). A malformed
    /// record changes nothing and says why.
    pub fn apply(&mut self, key: Option<&[u8]>, value: Option<&[u8]>) -> Result<Applied, String> {
        let key = key
            .filter(|k| !k.is_empty() && k.len() <= MAX_INSTANCE_BYTES)
            .and_then(|k| std::str::from_utf8(k).ok())
            .ok_or_else(|| {
                format!(
                    "the key must be an instance id of 1 to {MAX_INSTANCE_BYTES} bytes of UTF-8"
                )
            })?;
        if key == self.own {
            return Ok(Applied::Own);
        }
        let claim = match value {
            None => None,
            Some(value) => Some(InstanceEntry::parse(key, value)?),
        };
        self.owners.retain(|_, owner| owner.instance != key);
        if let Some((entry, at)) = claim {
            for p in entry.partitions {
                let wins = self.owners.get(&p).is_none_or(|held| held.at <= at);
                if wins {
                    self.owners.insert(
                        p,
                        Owner {
                            instance: entry.instance.clone(),
                            api_url: entry.api_url.clone(),
                            at,
                        },
                    );
                }
            }
        }
        Ok(Applied::Updated)
    }

    /// The owner of `partition`, when another instance claims it.
    pub fn owner(&self, partition: i32) -> Option<&Owner> {
        self.owners.get(&partition)
    }

    /// Partitions with a known owner.
    pub fn len(&self) -> usize {
        self.owners.len()
    }

    /// Whether no partition has a known owner.
    pub fn is_empty(&self) -> bool {
        self.owners.is_empty()
    }
}

/// Why a request for another instance's partition is answered 503 here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The request was forwarded to this instance already: never forwarded twice.
    Loop,
    /// The directory names no owner of the partition (yet).
    NoOwner,
}

impl Refusal {
    /// The label of the forwarding metric.
    pub fn as_str(self) -> &'static str {
        match self {
            Refusal::Loop => "loop",
            Refusal::NoOwner => "no_owner",
        }
    }
}

/// What to do with one request, once the pipeline said where the employee is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Answer here (served, restoring, or no state needed).
    Answer,
    /// Forward to the owner at this base URL.
    Forward {
        /// The owner's instance id.
        instance: String,
        /// The owner's API base URL.
        api_url: String,
    },
    /// Answer 503 here (the lookup's `Retry-After`).
    Refuse(Refusal),
}

/// The decision for a request whose state lookup gave `lookup`: only an employee of another
/// instance's partition is forwarded, to the owner `directory` names, and never a request
/// that was `forwarded` already.
pub fn decide(lookup: &Lookup, forwarded: bool, directory: &Directory) -> Decision {
    let Lookup::Elsewhere { partition } = lookup else {
        return Decision::Answer;
    };
    if forwarded {
        return Decision::Refuse(Refusal::Loop);
    }
    match directory.owner(*partition) {
        Some(owner) => Decision::Forward {
            instance: owner.instance.clone(),
            api_url: owner.api_url.clone(),
        },
        None => Decision::Refuse(Refusal::NoOwner),
    }
}

#[cfg(test)]
#[path = "routing_tests.rs"]
mod tests;
