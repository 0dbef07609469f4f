//! attendance-compliance
