//! report.html in a real headless browser (Debian's `chromium`, installed by
//! scripts/install-tools.sh): loaded offline from a file, its DOM dumped and a screenshot
//! taken to `target/artifacts/report.png`. Skipped with a note when chromium is missing,
//! unless `REQUIRE_CHROMIUM=1` (scripts/test.sh sets it), which makes a missing browser
//! fail the test.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::helpers::root;
use crate::simulate::simulate_dir;

/// The browser, or `None` (test skipped) when it is missing and not required.
fn chromium(test: &str) -> Option<PathBuf> {
    let found = ["chromium", "chromium-browser"].iter().find_map(|name| {
        let ok = Command::new(name)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success());
        ok.then(|| PathBuf::from(name))
    });
    match found {
        Some(path) => Some(path),
        None if std::env::var("REQUIRE_CHROMIUM").as_deref() == Ok("1") => {
            panic!("{test}: REQUIRE_CHROMIUM=1 but chromium is not installed (scripts/install-tools.sh)")
        }
        None => {
            eprintln!(
                "{test}: skipped (chromium not installed; scripts/install-tools.sh installs it)"
            );
            None
        }
    }
}

/// Runs headless chromium on `page` with `args`, offline: the proxy goes nowhere, so
/// nothing can be fetched even by mistake (the file itself is checked for references).
fn run(browser: &Path, profile: &Path, page: &Path, args: &[&str]) -> Output {
    let url = format!("file://{}", page.display());
    Command::new(browser)
        .args([
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--hide-scrollbars",
            "--enable-logging=stderr",
            "--v=0",
            "--proxy-server=127.0.0.1:9",
            "--proxy-bypass-list=<-loopback>",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .arg(url)
        .output()
        .expect("chromium runs")
}

fn console_errors(stderr: &str) -> Vec<&str> {
    stderr
        .lines()
        .filter(|l| l.contains("CONSOLE") || l.contains("Uncaught") || l.contains("net::ERR_"))
        .collect()
}

#[test]
fn the_report_renders_its_charts_in_headless_chromium_offline() {
    let Some(browser) = chromium("the_report_renders_its_charts_in_headless_chromium_offline")
    else {
        return;
    };
    let out = tempfile::tempdir().expect("tempdir");
    let scenario = root().join("tests/scenarios/amazon-missed-weeks");
    let alternative = root().join("tests/fixtures/simulate/weekly-3.toml");
    simulate_dir(&scenario, &alternative, out.path(), false);
    let page = out.path().join("report.html");
    let html = std::fs::read_to_string(&page).expect("report");
    // Self-contained: nothing to fetch, nothing to run.
    for needle in [
        "http://", "https://", "<script", "<link", "<img", "@import", "url(",
    ] {
        assert!(!html.contains(needle), "report.html contains {needle:?}");
    }
    let profile = tempfile::tempdir().expect("profile");

    let dumped = run(&browser, profile.path(), &page, &["--dump-dom"]);
    let dom = String::from_utf8_lossy(&dumped.stdout);
    let stderr = String::from_utf8_lossy(&dumped.stderr);
    assert!(dumped.status.success(), "chromium failed: {stderr}");
    assert!(
        dom.contains("<title>Policy simulation"),
        "no page title in the DOM:\n{dom}"
    );
    // Every chart rendered: an SVG with role img, its title and desc, and the series.
    assert_eq!(
        dom.matches("<svg class=\"chart\" role=\"img\"").count(),
        4,
        "{dom}"
    );
    assert_eq!(dom.matches("<desc id=").count(), 4);
    for side in ["current", "alternative"] {
        // Compliance and the two alert charts draw a polyline per side; office days bars.
        let lines = dom
            .matches(&format!("<polyline class=\"series {side}\""))
            .count();
        assert_eq!(lines, 3, "{side} polylines");
        assert!(
            dom.contains(&format!("<rect class=\"bar {side}\"")),
            "{side} bars"
        );
    }
    assert!(
        dom.matches("<caption>").count() >= 6,
        "tables have captions"
    );
    assert!(dom.contains("<th scope=\"col\">") && dom.contains("<th scope=\"row\">"));
    let errors = console_errors(&stderr);
    assert!(errors.is_empty(), "console errors or requests: {errors:?}");

    let artifacts = root().join("target/artifacts");
    std::fs::create_dir_all(&artifacts).expect("mkdir target/artifacts");
    let png = artifacts.join("report.png");
    let _ = std::fs::remove_file(&png);
    let shot = run(
        &browser,
        profile.path(),
        &page,
        &[
            &format!("--screenshot={}", png.display()),
            "--window-size=1280,2000",
        ],
    );
    assert!(
        shot.status.success(),
        "{}",
        String::from_utf8_lossy(&shot.stderr)
    );
    let bytes = std::fs::read(&png).expect("screenshot written");
    assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
    assert!(
        bytes.len() > 20_000,
        "a near-empty screenshot ({} bytes)",
        bytes.len()
    );
}
