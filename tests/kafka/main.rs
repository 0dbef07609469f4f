//! Integration tests against a real Kafka broker (KAFKA_BROKERS); see scripts/test.sh.
//!
//! Each test uses its own topics and consumer group, produces a generated company with
//! `kcat`, runs the service binary (`ATTENDANCE_BIN`, else the one Cargo built), reads the
//! outputs with `kcat -X isolation.level=read_committed` and compares them with `replay` on
//! the same input (per partition, see `harness`). Tests run one at a time (one of them
//! restarts the broker). Without `KAFKA_BROKERS` they are skipped with a note, unless
//! `REQUIRE_KAFKA=1`, which makes them fail.

/// The binary's allocator (src/main.rs), so that what these tests run in-process (the restore
/// benchmark's `restore::restore`, the state it builds) costs what it costs in the service.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod api_client;
mod bench;
mod bench_api;
mod gauges;
mod harness;
mod late;
mod memory;
mod poison;
mod record_api;
mod routing;
mod scenarios;
mod secure;
mod soak;

use std::time::{Duration, Instant};

use attendance_compliance::generate::GenerateOptions;

use harness::{start_monday, Company, Kafka, Outputs, Service, ServiceEnv, Topics};

fn company(employees: u32, weeks: u32, partitions: i32, name: &str) -> Company {
    let options = GenerateOptions {
        employees,
        weeks,
        start_monday: start_monday(weeks, 0),
        seed: 7,
        ..GenerateOptions::default()
    };
    Company::generate(&options, partitions, name)
}

fn env<'a>(
    kafka: &'a Kafka,
    topics: &'a Topics,
    group: &'a str,
    instance: &'a str,
) -> ServiceEnv<'a> {
    ServiceEnv {
        kafka,
        topics,
        group,
        instance,
        extra: Vec::new(),
    }
}

/// Waits (bounded) until the log contains `needle` or the process exits.
fn wait_for_log(service: &mut Service, needle: &str, limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if service.log_text().contains(needle) {
            return true;
        }
        if service.exited().is_some() {
            return service.log_text().contains(needle);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    false
}

#[test]
fn end_to_end_single_partition_equals_replay() {
    let Some(kafka) = Kafka::get("end_to_end") else {
        return;
    };
    let started = Instant::now();
    let topics = Topics::unique("e2e");
    kafka.create_topics(&topics, 1, &[]);
    let company = company(1500, 6, 1, "e2e");
    company.produce_tables(&kafka, &topics);
    let group = format!("{}-group", topics.badges);
    let log = company.dir.path().join("service.log");
    let mut service = Service::spawn(
        &company.config_dir(),
        &env(&kafka, &topics, &group, "e2e-0"),
        log,
    );
    // Badges arrive while the service runs.
    assert!(
        wait_for_log(&mut service, "state restored", Duration::from_secs(60)),
        "no restore: {}",
        service.log_text()
    );
    company.produce_badges(&kafka, &topics);
    kafka.wait_consumed(&group, &topics, &company, Duration::from_secs(180));
    let live = Outputs::read(&kafka, &topics);
    let expected = company.expected(None);
    assert!(!expected.decisions.is_empty());
    live.assert_same(&expected, "single partition");
    scenarios::assert_cloud_events(&kafka, &topics);
    let status = service.terminate(Duration::from_secs(60));
    assert!(status.success(), "exit status after SIGTERM: {status}");
    eprintln!(
        "end_to_end: {} badges, {} decisions, {:.1}s",
        company.badges(),
        live.decisions.len(),
        started.elapsed().as_secs_f64()
    );
}

#[test]
fn the_record_api_serves_the_decisions_the_topic_carries() {
    let Some(kafka) = Kafka::get("record_api") else {
        return;
    };
    record_api::served_record_equals_the_decisions_topic(&kafka);
}

#[test]
fn the_record_api_is_served_over_tls() {
    let Some(kafka) = Kafka::get("record_api_tls") else {
        return;
    };
    record_api::served_over_tls_by_run(&kafka);
}

#[test]
fn record_api_routing_across_two_instances() {
    let Some(kafka) = Kafka::get("routing") else {
        return;
    };
    routing::two_instances_answer_for_every_partition(&kafka);
}

#[test]
fn crash_sigkill_restart_equals_replay() {
    let Some(kafka) = Kafka::get("crash") else {
        return;
    };
    scenarios::crash(&kafka);
}

#[test]
fn scale_out_two_instances_one_killed_equals_replay() {
    let Some(kafka) = Kafka::get("scale") else {
        return;
    };
    scenarios::scale(&kafka);
}

#[test]
fn replacing_an_instance_under_its_id_equals_replay() {
    let Some(kafka) = Kafka::get("replace") else {
        return;
    };
    scenarios::replace_under_same_id(&kafka);
}

#[test]
fn broker_restart_mid_run_equals_replay() {
    let Some(kafka) = Kafka::get("broker_restart") else {
        return;
    };
    scenarios::broker_restart(&kafka);
}

#[test]
fn hostile_sizes_keep_the_partition_flowing_and_equal_replay() {
    let Some(kafka) = Kafka::get("hostile_sizes") else {
        return;
    };
    poison::hostile_sizes(&kafka);
}

#[test]
fn a_record_the_broker_refuses_is_dead_lettered_after_abort_and_rewind() {
    let Some(kafka) = Kafka::get("refused_record") else {
        return;
    };
    poison::refused_record(&kafka);
}

#[test]
fn idle_advance_closes_quiet_weeks() {
    let Some(kafka) = Kafka::get("idle_advance") else {
        return;
    };
    scenarios::idle_advance(&kafka);
}

#[test]
fn quiet_partitions_keep_their_gauges_fresh() {
    let Some(kafka) = Kafka::get("gauges") else {
        return;
    };
    gauges::quiet_partitions_keep_their_gauges_fresh(&kafka);
}

#[test]
fn late_outage_and_adjustment_reach_replays_final_decisions() {
    let Some(kafka) = Kafka::get("late_v2") else {
        return;
    };
    late::late_outage_and_adjustment(&kafka);
}

#[test]
fn a_restart_keeps_site_outages_in_force() {
    let Some(kafka) = Kafka::get("outage_restart") else {
        return;
    };
    late::restart_keeps_outages(&kafka);
}

#[test]
fn refuses_input_topics_that_are_not_co_partitioned() {
    let Some(kafka) = Kafka::get("co_partitioning") else {
        return;
    };
    let topics = Topics::unique("copart");
    kafka.create_topics(&topics, 2, &[("roster", 1)]);
    let company = company(20, 1, 1, "copart");
    let group = format!("{}-group", topics.badges);
    let log = company.dir.path().join("service.log");
    let mut service = Service::spawn(
        &company.config_dir(),
        &env(&kafka, &topics, &group, "copart-0"),
        log,
    );
    let status = service.wait_for_exit(Duration::from_secs(60), "with mismatched partitions");
    assert!(!status.success());
    let text = service.log_text();
    assert!(text.contains("not co-partitioned"), "{text}");
    assert!(text.contains(&format!("{} has 1", topics.roster)), "{text}");
}

#[test]
fn refuses_missing_topics_with_a_clear_message() {
    let Some(kafka) = Kafka::get("missing_topics") else {
        return;
    };
    let topics = Topics::unique("missing");
    let company = company(20, 1, 1, "missing");
    let group = format!("{}-group", topics.badges);
    let log = company.dir.path().join("service.log");
    let mut service = Service::spawn(
        &company.config_dir(),
        &env(&kafka, &topics, &group, "missing-0"),
        log,
    );
    let status = service.wait_for_exit(Duration::from_secs(60), "without topics");
    assert!(!status.success());
    let text = service.log_text();
    assert!(text.contains("missing topic(s)"), "{text}");
    assert!(text.contains(&topics.changelog), "{text}");
}
