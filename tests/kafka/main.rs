//! Integration tests against a real Kafka broker (KAFKA_BROKERS); see scripts/test.sh.
