//! Start-up: wait for the brokers to answer before anything else talks to them.
//!
//! `run` calls [`wait_for_brokers`] after its HTTP listener is up (so `/healthz` answers and
//! `/readyz` says `starting`) and before the access checks. It asks for the cluster metadata
//! a few times a second until the brokers answer, logging each connection failure as it
//! happens (WARN, with the bootstrap servers and a hint), and gives up after
//! `kafka.startup_timeout`. A SIGTERM or Ctrl-C (the `stop` flag) ends the wait within one
//! poll ([`POLL`]), and `run` exits 0. A refused login or a failed TLS handshake ends the
//! wait at once: waiting cannot fix either.
//!
//! Must not: log a client property (secrets live there).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use rdkafka::client::ClientContext;
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};

use super::access::AccessError;
use super::clients;
use crate::config::{limits::format_duration, KafkaConfig};

/// Longest single wait for an answer: the `stop` flag is read at least this often.
pub const POLL: Duration = Duration::from_millis(200);

/// The same failure is logged again at most this often (librdkafka retries every second or
/// so, with a back-off).
const REPEAT_EVERY: Duration = Duration::from_secs(5);

/// What an operator should check for a connection failure with this error code.
pub fn hint(code: Option<RDKafkaErrorCode>, reason: &str) -> &'static str {
    if reason.contains("SSL handshake failed") || code == Some(RDKafkaErrorCode::SSL) {
        return "the TLS handshake failed: check kafka.client \"ssl.ca.location\" (the CA that \
                signed the brokers' certificates) and that this port is a TLS listener";
    }
    match code {
        Some(RDKafkaErrorCode::Resolve) => {
            "a broker host name does not resolve: check kafka.brokers \
             (ATTENDANCE__KAFKA__BROKERS) and DNS"
        }
        Some(RDKafkaErrorCode::Authentication | RDKafkaErrorCode::SaslAuthenticationFailed) => {
            "the brokers refused the credentials: check \"sasl.username\", the password (file) \
             and \"sasl.mechanisms\""
        }
        _ => {
            "check kafka.brokers (ATTENDANCE__KAFKA__BROKERS), that the brokers are up and \
             reachable from here (firewall, network policy), and that \"security.protocol\" \
             matches their listener"
        }
    }
}

/// Client context of the wait: each error callback becomes one WARN line naming the brokers,
/// the failure and a hint (the same failure at most every [`REPEAT_EVERY`]); librdkafka's
/// own log lines for the failed connections (facility `FAIL`) go to DEBUG, as they say the
/// same thing.
#[derive(Clone)]
struct WaitContext {
    brokers: String,
    started: Instant,
    logged: Arc<Mutex<HashMap<String, Instant>>>,
    /// The brokers refused the credentials: waiting longer cannot help.
    refused: Arc<AtomicBool>,
    /// A TLS handshake failed (an untrusted certificate, plain text on a TLS port...).
    tls_failed: Arc<AtomicBool>,
}

impl ClientContext for WaitContext {
    fn log(&self, level: RDKafkaLogLevel, fac: &str, log_message: &str) {
        if fac == "FAIL" {
            tracing::debug!(target: "librdkafka", facility = fac, "{log_message}");
        } else {
            super::context::forward_log(level, fac, log_message);
        }
    }

    fn error(&self, error: KafkaError, reason: &str) {
        let code = error.rdkafka_error_code();
        if matches!(
            code,
            Some(RDKafkaErrorCode::Authentication | RDKafkaErrorCode::SaslAuthenticationFailed)
        ) {
            self.refused.store(true, Ordering::Relaxed);
        }
        if reason.contains("SSL handshake failed") || code == Some(RDKafkaErrorCode::SSL) {
            self.tls_failed.store(true, Ordering::Relaxed);
        }
        let key = format!("{code:?}");
        let now = Instant::now();
        {
            let mut logged = self.logged.lock().unwrap_or_else(PoisonError::into_inner);
            if logged
                .get(&key)
                .is_some_and(|last| now.duration_since(*last) < REPEAT_EVERY)
            {
                return;
            }
            logged.insert(key, now);
        }
        tracing::warn!(
            brokers = %self.brokers,
            error = %reason,
            waited_s = self.started.elapsed().as_secs(),
            hint = hint(code, reason),
            "cannot reach the Kafka brokers (retrying until kafka.startup_timeout)"
        );
    }
}

impl ConsumerContext for WaitContext {}

/// Waits until the brokers of `kafka` answer a metadata request, at most
/// `kafka.startup_timeout`. `Err(AccessError::Stopped)` when `stop` was set meanwhile,
/// `Err(AccessError::Unreachable)` after the timeout, `Err(AccessError::Authentication)` or
/// `Err(AccessError::Tls)` as soon as the brokers refuse the credentials or a TLS handshake
/// fails (as the access checks did before this wait existed).
pub fn wait_for_brokers(kafka: &KafkaConfig, stop: &AtomicBool) -> Result<(), AccessError> {
    let started = Instant::now();
    let context = WaitContext {
        brokers: kafka.brokers.clone(),
        started,
        logged: Arc::default(),
        refused: Arc::default(),
        tls_failed: Arc::default(),
    };
    let client: BaseConsumer<WaitContext> = clients::metadata_client(kafka)
        .create_with_context(context.clone())
        .map_err(|source| AccessError::Kafka {
            context: "creating a metadata client",
            source,
        })?;
    tracing::info!(
        brokers = %kafka.brokers,
        timeout = %format_duration(kafka.startup_timeout),
        "connecting to the Kafka brokers"
    );
    let deadline = started + kafka.startup_timeout;
    let mut last_error = None;
    loop {
        if stop.load(Ordering::Relaxed) {
            return Err(AccessError::Stopped);
        }
        // Serves the error and log callbacks (they run inside poll).
        let _ = client.poll(Duration::ZERO);
        if context.refused.load(Ordering::Relaxed) {
            return Err(AccessError::Authentication {
                brokers: kafka.brokers.clone(),
            });
        }
        if context.tls_failed.load(Ordering::Relaxed) {
            return Err(AccessError::Tls {
                brokers: kafka.brokers.clone(),
            });
        }
        let now = Instant::now();
        if now >= deadline {
            return Err(AccessError::Unreachable {
                brokers: kafka.brokers.clone(),
                timeout: format_duration(kafka.startup_timeout),
                last_error: last_error.map(|e: KafkaError| super::error_chain(&e)),
            });
        }
        match client.fetch_metadata(None, POLL.min(deadline - now)) {
            Ok(metadata) if !metadata.brokers().is_empty() => {
                tracing::info!(
                    brokers = %kafka.brokers,
                    cluster_brokers = metadata.brokers().len(),
                    elapsed_ms = started.elapsed().as_millis() as u64,
                    "the Kafka brokers answer"
                );
                return Ok(());
            }
            Ok(_) => {}
            Err(e) => last_error = Some(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_hint_names_what_to_check() {
        assert!(
            hint(Some(RDKafkaErrorCode::BrokerTransportFailure), "refused")
                .contains("kafka.brokers")
        );
        assert!(hint(Some(RDKafkaErrorCode::Resolve), "").contains("DNS"));
        assert!(hint(None, "SSL handshake failed: x").contains("ssl.ca.location"));
        assert!(hint(Some(RDKafkaErrorCode::Authentication), "").contains("sasl.username"));
    }

    #[test]
    fn a_closed_port_is_reported_with_the_address_after_the_timeout() {
        // A port nothing listens on: bind one, note it, close it.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free port");
        let kafka = KafkaConfig {
            brokers: format!("127.0.0.1:{port}"),
            startup_timeout: Duration::from_secs(1),
            ..KafkaConfig::default()
        };
        let started = Instant::now();
        let error = wait_for_brokers(&kafka, &AtomicBool::new(false)).expect_err("no broker");
        let elapsed = started.elapsed();
        let text = error.to_string();
        assert!(matches!(error, AccessError::Unreachable { .. }), "{text}");
        assert!(text.contains(&kafka.brokers), "{text}");
        assert!(text.contains("kafka.startup_timeout"), "{text}");
        assert!(elapsed >= Duration::from_secs(1), "{elapsed:?}");
        assert!(elapsed < Duration::from_secs(10), "{elapsed:?}");
    }

    #[test]
    fn a_set_stop_flag_ends_the_wait_at_once() {
        let kafka = KafkaConfig {
            brokers: "127.0.0.1:9".to_owned(),
            startup_timeout: Duration::from_secs(3600),
            ..KafkaConfig::default()
        };
        let started = Instant::now();
        let error = wait_for_brokers(&kafka, &AtomicBool::new(true)).expect_err("stopped");
        assert!(matches!(error, AccessError::Stopped), "{error}");
        assert!(started.elapsed() < Duration::from_secs(5));
    }
}
