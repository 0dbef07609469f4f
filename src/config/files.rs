//! The files of the configuration directory and how problems name places in them: the leaf
//! that loading, layering and validation share.

use std::borrow::Cow;

/// The sites file of the configuration directory.
pub(crate) const SITES_FILE: &str = "sites.toml";
/// The holidays file.
pub(crate) const HOLIDAYS_FILE: &str = "holidays.toml";
/// The policies file.
pub(crate) const POLICIES_FILE: &str = "policies.toml";
/// The processor settings file (optional).
pub(crate) const PROCESSOR_FILE: &str = "processor.toml";

/// A TOML key as written in a path: bare when it can be, quoted otherwise.
pub(crate) fn toml_key(key: &str) -> Cow<'_, str> {
    let bare = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if bare {
        Cow::Borrowed(key)
    } else {
        Cow::Owned(format!("{key:?}"))
    }
}
