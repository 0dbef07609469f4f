//! Kafka shell: consumer, transactional producer, changelog restore (owned by the live-service work).
