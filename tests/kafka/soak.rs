//! The soak (docs/RELIABILITY.md, "Soak"): a steady badge rate against the real broker for
//! a long time, with broker restarts (one at 1/2 by default) and one instance restart
//! (SIGKILL, at 3/4) after the warm-up (the first 1/5).
//! Before the paced run, the first `SOAK_BACKLOG_WEEKS` weeks of the generated company are
//! fed as a backlog as fast as the service takes them, so that the engine's state has filled
//! its retention window (the longest policy window plus `correction_weeks`) when the paced
//! run starts: RSS after the warm-up then measures steady state, not the filling of
//! history. Ignored by default; `scripts/soak.sh` runs it with the release build and prints
//! the figures: RSS of the service over time (and which heap holds it, see `memory`),
//! consumer lag, and whether the read_committed outputs equal replay.
//!
//! Settings (environment): `SOAK_MINUTES` (30, the paced run), `SOAK_RATE` (5000 badges/s),
//! `SOAK_PARTITIONS` (4), `SOAK_SAMPLE_SECONDS` (10), `SOAK_BACKLOG_WEEKS` (16),
//! `SOAK_BROKER_RESTARTS` (1: N restarts spread evenly from 1/2 of the run to the SIGKILL,
//! so that RSS can be compared after each of the service's in-process client restarts),
//! `SOAK_INSTANCE_RESTART` (1; 0: no SIGKILL, one instance throughout, the broker restarts
//! spread from 1/2 to the end).

use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use attendance_compliance::generate::GenerateOptions;
use attendance_compliance::kafka::context::LogContext;
use rdkafka::producer::{Producer, ThreadedProducer};
use rdkafka::ClientConfig;

use crate::bench::env_or;
use crate::harness::{
    send_waiting, start_monday, Company, Kafka, Outputs, Service, ServiceEnv, Topics,
};
use crate::memory::{memory, Memory};

/// One sample of the soak.
struct Sample {
    at: Duration,
    instance: u32,
    instance_age: Duration,
    memory: Memory,
    lag: Option<i64>,
    sent: u64,
}

#[test]
#[ignore = "soak: scripts/soak.sh"]
fn soak() {
    let Some(kafka) = Kafka::get("soak") else {
        return;
    };
    let minutes = u64::from(env_or("SOAK_MINUTES", 30));
    let rate = u64::from(env_or("SOAK_RATE", 5000));
    let partitions = env_or("SOAK_PARTITIONS", 4) as i32;
    let every = Duration::from_secs(u64::from(env_or("SOAK_SAMPLE_SECONDS", 10)));
    let duration = Duration::from_secs(minutes * 60);
    let warm_up = duration / 5;
    // Instance 0 runs until the SIGKILL at 3/4 (or to the end without one).
    let kill = env_or("SOAK_INSTANCE_RESTART", 1) != 0;
    let kill_at = if kill { duration * 3 / 4 } else { duration };
    let broker_restarts = env_or("SOAK_BROKER_RESTARTS", 1).max(1);
    // Restart i at 1/2 + i/N of the time between 1/2 and the end of instance 0.
    let restart_at: Vec<Duration> = (0..broker_restarts)
        .map(|i| duration / 2 + (kill_at - duration / 2) * i / broker_restarts)
        .collect();

    // Enough badges for the paced run over 26 weeks (about 4 badges per employee-week),
    // after the backlog's weeks.
    let need = rate * minutes * 60;
    let backlog_weeks = env_or("SOAK_BACKLOG_WEEKS", 16);
    let paced_weeks = 26u32;
    let weeks = backlog_weeks + paced_weeks;
    let employees = (need * 11 / 10 / (4 * u64::from(paced_weeks))).max(1000) as u32;
    let t = Instant::now();
    let company = Company::generate(
        &GenerateOptions {
            employees,
            weeks,
            start_monday: start_monday(weeks, 0),
            seed: 2026,
            ..GenerateOptions::default()
        },
        partitions,
        "soak",
    );
    eprintln!(
        "generated {} employees x {weeks} weeks: {} badges in {:.0}s (need {need})",
        employees,
        company.badges(),
        t.elapsed().as_secs_f64()
    );
    // Per partition, the first `backlog[p]` badges (the backlog weeks' share of the file),
    // then the next `share` badges in file order: exactly what replay reads.
    let mut lines: Vec<Vec<(Vec<u8>, Vec<u8>)>> = Vec::new();
    let mut sent_per_partition = Vec::new();
    for p in 0..partitions {
        let keyed = std::fs::read(company.part(p, "badges.keyed")).expect("keyed badges");
        let part: Vec<(Vec<u8>, Vec<u8>)> = keyed
            .split(|b| *b == b'\n')
            .filter(|l| !l.is_empty())
            .filter_map(|l| {
                let tab = l.iter().position(|b| *b == b'\t')?;
                Some((l[..tab].to_vec(), l[tab + 1..].to_vec()))
            })
            .collect();
        lines.push(part);
    }
    let backlog: Vec<usize> = lines
        .iter()
        .map(|part| part.len() * backlog_weeks as usize / weeks as usize)
        .collect();
    let total_after: u64 = lines
        .iter()
        .zip(&backlog)
        .map(|(l, b)| (l.len() - b) as u64)
        .sum();
    assert!(total_after >= need, "not enough badges generated");
    for (part, b) in lines.iter().zip(&backlog) {
        let share = ((part.len() - b) as u64 * need).div_ceil(total_after) as usize;
        sent_per_partition.push((b + share).min(part.len()));
    }
    let backlog_total: u64 = backlog.iter().map(|b| *b as u64).sum();
    // Replay's input: the same prefixes.
    for (p, share) in sent_per_partition.iter().enumerate() {
        let path = company.part(p as i32, "badges.jsonl");
        let text = std::fs::read(&path).expect("badges");
        let kept: Vec<&[u8]> = text
            .split_inclusive(|b| *b == b'\n')
            .filter(|l| l.iter().any(|b| !b.is_ascii_whitespace()))
            .take(*share)
            .collect();
        std::fs::write(&path, kept.concat()).expect("replay badges");
    }

    let topics = Topics::unique("soak");
    kafka.create_topics(&topics, partitions, &[]);
    company.produce_tables(&kafka, &topics);
    let group = format!("{}-group", topics.badges);
    let env = ServiceEnv {
        kafka: &kafka,
        topics: &topics,
        group: &group,
        instance: "soak-0",
        extra: Vec::new(),
    };
    let log = company.dir.path().join("service.log");
    let producer: ThreadedProducer<LogContext> = ClientConfig::new()
        .set("bootstrap.servers", &kafka.brokers)
        .set("linger.ms", "5")
        .set("enable.idempotence", "true")
        .set("message.timeout.ms", "600000")
        .set("queue.buffering.max.messages", "2000000")
        .create_with_context(LogContext::default())
        .expect("producer");
    let sent = AtomicU64::new(0);
    let feeding = AtomicBool::new(true);
    let mut samples: Vec<Sample> = Vec::new();
    let mut events: Vec<String> = Vec::new();

    // The backlog: as fast as the producer takes it, then wait until the service committed
    // all of it (the state is then at its retention plateau).
    let mut service = Service::spawn(&company.config_dir(), &env, log.clone());
    let mut born = Instant::now();
    let t = Instant::now();
    for (p, part) in lines.iter().enumerate() {
        for (key, value) in &part[..backlog[p]] {
            send_waiting(&producer, &topics.badges, p as i32, key, value);
        }
    }
    producer.flush(Duration::from_secs(600)).expect("flush");
    kafka.wait_committed(
        &group,
        &topics,
        partitions,
        company.counts_tables() + backlog_total as i64,
        Duration::from_secs(1200),
    );
    events.push(format!(
        "backlog of {backlog_total} badges ({backlog_weeks} weeks) committed in {:.0}s; \
         RSS then {} KiB",
        t.elapsed().as_secs_f64(),
        memory(service.child.id()).rss
    ));

    let started = Instant::now();
    std::thread::scope(|scope| {
        // The feed: round-robin over the partitions at a fixed rate, file order kept.
        scope.spawn(|| {
            let mut next = backlog.clone();
            let mut n = 0u64;
            'feed: loop {
                let mut any = false;
                for (p, part) in lines.iter().enumerate() {
                    if next[p] >= sent_per_partition[p] {
                        continue;
                    }
                    any = true;
                    let (key, value) = &part[next[p]];
                    next[p] += 1;
                    let due = started + Duration::from_secs_f64(n as f64 / rate as f64);
                    if let Some(wait) = due.checked_duration_since(Instant::now()) {
                        std::thread::sleep(wait);
                    }
                    send_waiting(&producer, &topics.badges, p as i32, key, value);
                    n += 1;
                    sent.store(n, Ordering::Relaxed);
                }
                if !any {
                    break 'feed;
                }
            }
            producer.flush(Duration::from_secs(600)).expect("flush");
            feeding.store(false, Ordering::Relaxed);
        });

        let mut instance = 0u32;
        let mut broker_restarted = 0;
        let mut instance_restarted = false;
        let mut next_sample = Instant::now();
        while feeding.load(Ordering::Relaxed) || started.elapsed() < duration {
            if Instant::now() >= next_sample {
                next_sample += every;
                let lag = kafka
                    .try_progress(&group, &topics, partitions)
                    .ok()
                    .map(|(done, total)| total - done);
                samples.push(Sample {
                    at: started.elapsed(),
                    instance,
                    instance_age: born.elapsed(),
                    memory: memory(service.child.id()),
                    lag,
                    sent: sent.load(Ordering::Relaxed),
                });
            }
            if restart_at
                .get(broker_restarted)
                .is_some_and(|at| started.elapsed() >= *at)
            {
                broker_restarted += 1;
                let t = Instant::now();
                let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/kafka-broker.sh");
                let status = Command::new(script)
                    .arg("restart")
                    .status()
                    .expect("kafka-broker.sh restart");
                assert!(status.success(), "kafka-broker.sh restart failed");
                events.push(format!(
                    "broker restarted at {:.0}s (took {:.1}s)",
                    started.elapsed().as_secs_f64() - t.elapsed().as_secs_f64(),
                    t.elapsed().as_secs_f64()
                ));
            }
            if kill && !instance_restarted && started.elapsed() >= kill_at {
                instance_restarted = true;
                events.push(format!(
                    "instance SIGKILLed and restarted at {:.0}s",
                    started.elapsed().as_secs_f64()
                ));
                service.kill();
                service = Service::spawn(&company.config_dir(), &env, log.clone());
                instance += 1;
                born = Instant::now();
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        kafka.wait_committed(
            &group,
            &topics,
            partitions,
            company.counts_tables() + (backlog_total + sent.load(Ordering::Relaxed)) as i64,
            Duration::from_secs(600),
        );
        let live = Outputs::read(&kafka, &topics);
        let expected = company.expected(None);
        live.assert_same(&expected, "soak");
        let status = service.terminate(Duration::from_secs(60));
        assert!(status.success(), "exit status after SIGTERM: {status}");
        eprintln!(
            "SOAK outputs: {} decisions, {} changes, {} alerts, {} dead letters, equal to replay",
            live.decisions.len(),
            live.changes.len(),
            live.alerts.len(),
            live.dead_letters.len()
        );
    });

    let secs = started.elapsed().as_secs_f64();
    let total = sent.load(Ordering::Relaxed);
    eprintln!(
        "SOAK: {total} badges over {secs:.0}s ({:.0}/s), {partitions} partitions",
        total as f64 / secs
    );
    for e in &events {
        eprintln!("SOAK event: {e}");
    }
    for s in &samples {
        eprintln!(
            "SOAK sample: t={:>5.0}s instance={} age={:>5.0}s rss={:>7} KiB \
             (mimalloc {:>7}, glibc {:>6}, other {:>6}) lag={} sent={}",
            s.at.as_secs_f64(),
            s.instance,
            s.instance_age.as_secs_f64(),
            s.memory.rss,
            s.memory.mimalloc,
            s.memory.glibc,
            s.memory.other(),
            s.lag.map_or("?".to_owned(), |l| l.to_string()),
            s.sent
        );
    }
    let lags: Vec<i64> = samples.iter().filter_map(|s| s.lag).collect();
    eprintln!(
        "SOAK lag: max {} messages, median {}",
        lags.iter().max().copied().unwrap_or(0),
        median(&lags)
    );
    // Instance 0 between the warm-up, each broker restart and the SIGKILL; then all of
    // instance 0 after the warm-up; then instance 1 after its own warm-up.
    let mut bounds = vec![warm_up];
    bounds.extend(&restart_at);
    bounds.push(kill_at);
    let mut phases: Vec<(String, u32, Duration, Duration)> = bounds
        .windows(2)
        .enumerate()
        .map(|(i, w)| {
            let name = if i == 0 {
                "instance 0, warm-up to broker restart 1".to_owned()
            } else {
                format!("instance 0, after broker restart {i}")
            };
            (name, 0, w[0], w[1])
        })
        .collect();
    phases.push(("instance 0, after warm-up".to_owned(), 0, warm_up, kill_at));
    phases.push((
        "instance 1, after its own warm-up".to_owned(),
        1,
        Duration::ZERO,
        duration * 2,
    ));
    let mut before: Option<f64> = None;
    for (name, instance, from, to) in phases {
        let rss: Vec<i64> = samples
            .iter()
            .filter(|s| s.instance == instance && s.at >= from && s.at < to && s.memory.rss > 0)
            .filter(|s| instance == 0 || s.instance_age >= warm_up.min(duration / 8))
            .map(|s| s.memory.rss as i64)
            .collect();
        if rss.is_empty() {
            continue;
        }
        let m = median(&rss) as f64;
        let (lo, hi) = (
            *rss.iter().min().unwrap_or(&0) as f64,
            *rss.iter().max().unwrap_or(&0) as f64,
        );
        let first = *before.get_or_insert(m);
        eprintln!(
            "SOAK rss {name}: {} samples, median {m:.0} KiB ({:+.1}% of the first phase), \
             min {:+.1}%, max {:+.1}%",
            rss.len(),
            (m / first - 1.0) * 100.0,
            (lo / m - 1.0) * 100.0,
            (hi / m - 1.0) * 100.0
        );
    }
    // Both instances together after the warm-up, without the recoveries (3 minutes after
    // each broker restart, while the in-process client restart drops and restores the state;
    // instance 1's own warm-up as above): the steady state the ±10 % is about.
    let recovering = |at: Duration| {
        restart_at
            .iter()
            .any(|r| at >= *r && at < *r + Duration::from_secs(180))
    };
    let steady: Vec<i64> = samples
        .iter()
        .filter(|s| s.memory.rss > 0 && s.at >= warm_up && !recovering(s.at))
        .filter(|s| s.instance == 0 || s.instance_age >= warm_up.min(duration / 8))
        .map(|s| s.memory.rss as i64)
        .collect();
    if !steady.is_empty() {
        let m = median(&steady) as f64;
        let lo = *steady.iter().min().unwrap_or(&0) as f64;
        let hi = *steady.iter().max().unwrap_or(&0) as f64;
        eprintln!(
            "SOAK rss steady (both instances after warm-up, recoveries left out): {} samples, \
             median {m:.0} KiB, min {:+.1}%, max {:+.1}%",
            steady.len(),
            (lo / m - 1.0) * 100.0,
            (hi / m - 1.0) * 100.0
        );
    }
    let name = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("soak.log");
    let _ = std::fs::copy(&log, &name);
    eprintln!("SOAK service log: {}", name.display());
}

fn median(v: &[i64]) -> i64 {
    let mut v = v.to_vec();
    v.sort_unstable();
    v.get(v.len() / 2).copied().unwrap_or(0)
}
