//! Record API latency under load (BENCHMARKS.md, "Record API"): two instances with the API
//! share four partitions while a generated company's badges are fed at about
//! `BENCH_RATE` badges/s; one client asks instance A for random employees' records, one
//! request at a time on a new connection, and the latency of each 200 (connect → last byte)
//! is sorted into "served" (A owns the employee's partition) and "forwarded" (B owns it: A
//! forwards to B). Ignored by default; `scripts/load-bench.sh api` runs it with the release
//! build. Environment: `BENCH_EMPLOYEES` (30,000), `BENCH_WEEKS` (8), `BENCH_RATE` (5,000),
//! `BENCH_SECONDS` (60, the measuring window), `BENCH_REQUESTS_PER_SECOND` (100).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use attendance_compliance::generate::GenerateOptions;
use serde_json::Value;

use crate::api_client::{free_port, get, token, ApiSetup};
use crate::bench::env_or;
use crate::harness::{partition_of, start_monday, Company, Kafka, Service, ServiceEnv, Topics};
use crate::wait_for_log;

const PARTITIONS: i32 = 4;

/// Milliseconds at the given percentiles of `samples` (sorted here).
fn percentiles(samples: &mut [Duration]) -> String {
    samples.sort();
    let at = |q: f64| {
        let i = ((samples.len() as f64 * q).ceil() as usize).clamp(1, samples.len()) - 1;
        samples[i].as_secs_f64() * 1000.0
    };
    format!(
        "n={} p50={:.2} ms p90={:.2} ms p99={:.2} ms p99.9={:.2} ms max={:.2} ms",
        samples.len(),
        at(0.50),
        at(0.90),
        at(0.99),
        at(0.999),
        at(1.0)
    )
}

/// The partitions each instance announced last in the instance directory.
fn owners(kafka: &Kafka, topic: &str) -> BTreeMap<i32, String> {
    let mut owners = BTreeMap::new();
    for line in kafka.read(topic, "%s\n") {
        let Ok(v) = serde_json::from_str::<Value>(&line) else {
            continue;
        };
        let instance = v["instance"].as_str().unwrap_or_default().to_owned();
        owners.retain(|_, owner: &mut String| *owner != instance);
        for p in v["partitions"].as_array().into_iter().flatten() {
            if let Some(p) = p.as_i64() {
                owners.insert(p as i32, instance.clone());
            }
        }
    }
    owners
}

#[test]
#[ignore = "benchmark: scripts/load-bench.sh api"]
fn bench_api() {
    let Some(kafka) = Kafka::get("bench_api") else {
        return;
    };
    let employees = env_or("BENCH_EMPLOYEES", 30_000);
    let weeks = env_or("BENCH_WEEKS", 8);
    let rate = u64::from(env_or("BENCH_RATE", 5_000).max(1));
    let window = Duration::from_secs(u64::from(env_or("BENCH_SECONDS", 60)));
    let per_second = u64::from(env_or("BENCH_REQUESTS_PER_SECOND", 100).max(1));
    let topics = Topics::unique("bench-api");
    kafka.create_topics(&topics, PARTITIONS, &[]);
    let company = Company::generate(
        &GenerateOptions {
            employees,
            weeks,
            start_monday: start_monday(weeks, 0),
            seed: 17,
            ..GenerateOptions::default()
        },
        PARTITIONS,
        "bench-api",
    );
    let api = ApiSetup::new(&kafka, &topics, company.dir.path());
    company.produce_tables(&kafka, &topics);
    let group = format!("{}-group", topics.badges);
    let ports = [free_port(), free_port()];
    let env = |instance: &'static str, port: u16| ServiceEnv {
        kafka: &kafka,
        topics: &topics,
        group: &group,
        instance,
        extra: api.env(port),
    };
    let spawn = |instance: &'static str, port: u16| {
        Service::spawn(
            &company.config_dir(),
            &env(instance, port),
            company.dir.path().join(format!("{instance}.log")),
        )
    };
    let mut a = spawn("bench-a", ports[0]);
    assert!(
        wait_for_log(&mut a, "state restored", Duration::from_secs(120)),
        "bench-a restored nothing"
    );
    let mut b = spawn("bench-b", ports[1]);
    assert!(
        wait_for_log(&mut b, "state restored", Duration::from_secs(120)),
        "bench-b restored nothing"
    );

    // Employees by partition, and a token each (minted before the clock starts).
    let roster =
        std::fs::read_to_string(company.dir.path().join("roster.jsonl")).expect("roster.jsonl");
    let people: Vec<(String, i32, String)> = roster
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter_map(|v| v["employee_id"].as_str().map(str::to_owned))
        .take(2_000)
        .map(|id| {
            let p = partition_of(id.as_bytes(), PARTITIONS);
            let t = token(&id);
            (id, p, t)
        })
        .collect();
    assert!(!people.is_empty(), "an empty roster");

    // The feed: about `rate` badges/s in one-second slices, from a thread.
    let badges = company.badges();
    let slices = (badges / rate).max(1) as usize;
    let feeding = AtomicBool::new(true);
    let mut served = Vec::new();
    let mut forwarded = Vec::new();
    let mut unavailable = 0u64;
    let mut owners_seen = BTreeMap::new();
    let mut measured = Duration::ZERO;
    std::thread::scope(|scope| {
        scope.spawn(|| {
            company.produce_badges_paced(&kafka, &topics, slices, Duration::from_secs(1));
            feeding.store(false, Ordering::Relaxed);
        });
        // Let the load settle, then learn who owns what (no rebalance happens afterwards).
        std::thread::sleep(Duration::from_secs(10));
        owners_seen = owners(&kafka, &topics.instances);
        assert_eq!(owners_seen.len(), PARTITIONS as usize, "{owners_seen:?}");
        let started = Instant::now();
        let mut n = 0u64;
        while started.elapsed() < window && feeding.load(Ordering::Relaxed) {
            let (id, p, t) = &people[(n as usize * 7919) % people.len()];
            let answer = get(ports[0], &format!("/v1/employees/{id}/record"), Some(t));
            let elapsed = answer.elapsed;
            match answer.status {
                200 if owners_seen.get(p).map(String::as_str) == Some("bench-a") => {
                    served.push(elapsed);
                }
                200 => forwarded.push(elapsed),
                503 => unavailable += 1,
                other => panic!("{id}: status {other}"),
            }
            n += 1;
            // Paced: request n is due at n / per_second.
            let due = Duration::from_micros(n * 1_000_000 / per_second);
            if let Some(wait) = due.checked_sub(started.elapsed()) {
                std::thread::sleep(wait);
            }
        }
        // The scope waits for the feed to end.
        measured = started.elapsed();
    });
    for service in [a, b] {
        let status = service.terminate(Duration::from_secs(60));
        assert!(status.success(), "exit status after SIGTERM: {status}");
    }
    assert!(
        !served.is_empty() && !forwarded.is_empty(),
        "both kinds measured"
    );
    eprintln!(
        "API: owners {owners_seen:?}; {badges} badges fed at ~{rate}/s in {slices} slices; \
         {per_second} requests/s to bench-a for {:.0} s while the feed ran; {unavailable} \
         answered 503",
        measured.as_secs_f64()
    );
    eprintln!("API served:    {}", percentiles(&mut served));
    eprintln!("API forwarded: {}", percentiles(&mut forwarded));
}
