//! Bytes in: decoding and validating the input topics (§1–§2) into domain records. The
//! output values are domain types ([`crate::domain::output`]) serialized by the shells.

pub mod input;
pub mod json;
mod plain;
