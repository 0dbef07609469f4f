//! Wire formats: decoding the input topics (§1–§2) and the shapes of the output values (§6).

pub mod input;
pub mod json;
pub mod output;
