//! Logging via tracing: terminal or JSON format, pseudonymous employee ids (owned by the observability work).
