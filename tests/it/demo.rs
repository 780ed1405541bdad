//! The README's main command, `ix run sweeps/demo.ix`, end to end in a fresh copy of the project
//! files it needs (its own state store): every task succeeds, every point has a result, the
//! summary has one row per point, the report renders in headless Chromium with all its charts;
//! a second run executes nothing; an edit reruns exactly the edited points. Plus the same flow
//! against a real llama.cpp server (`sweeps/demo-llama.ix`).

use std::path::Path;

use serde_json::Value;

use crate::report::{chromium, chromium_command};
use crate::util::{ix, project_root};

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// A fresh folder holding what `ix run sweeps/demo*.ix` reads.
fn fresh_project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for sub in ["sweeps", "benchmarks", "runners", "ci"] {
        copy_dir(&project_root().join(sub), &dir.path().join(sub));
    }
    dir
}

/// Runs `ix run ARGS` in `dir`; on a non-zero exit, panics with both streams and every task log.
fn run_ix(dir: &Path, args: &[&str]) -> crate::util::IxOutput {
    let out = ix(["run"]).args_from(args).current_dir(dir).env("CI", "1").run();
    if out.code != 0 {
        let mut logs = String::new();
        for entry in std::fs::read_dir(dir.join(".ix/logs")).into_iter().flatten().flatten() {
            logs.push_str(&format!(
                "--- {}\n{}\n",
                entry.path().display(),
                std::fs::read_to_string(entry.path()).unwrap_or_default()
            ));
        }
        panic!("ix run exited {}\n--- stdout\n{}\n--- stderr\n{}\n{logs}", out.code, out.stdout, out.stderr);
    }
    out
}

/// Task ids that ran (`done <id> (…s)` lines on stderr).
fn ran(stderr: &str) -> Vec<String> {
    let mut ids: Vec<String> = stderr
        .lines()
        .filter_map(|line| line.strip_prefix("done    "))
        .map(|rest| rest.rsplit_once(" (").map_or(rest, |(id, _)| id).to_string())
        .collect();
    ids.sort();
    ids
}

/// Data rows of the markdown summary printed on stdout.
fn summary_rows(stdout: &str) -> Vec<&str> {
    stdout.lines().filter(|l| l.starts_with("| ") && !l.starts_with("| Model")).collect()
}

const POINTS: [(&str, i64); 9] = [
    ("SIM", 1),
    ("SIM", 2),
    ("SIM", 4),
    ("SIM-FAST", 1),
    ("SIM-FAST", 2),
    ("SIM-FAST", 4),
    ("SIM-SLOW", 1),
    ("SIM-SLOW", 2),
    ("SIM-SLOW", 4),
];

#[test]
fn demo_sweep_runs_end_to_end_then_incrementally() {
    let project = fresh_project();
    let dir = project.path();

    let first = run_ix(dir, &["sweeps/demo.ix"]);
    assert!(first.stdout.contains("24 done, 0 reused, 0 failed, 0 skipped, 0 cancelled"), "{}", first.stdout);
    let rows = summary_rows(&first.stdout);
    assert_eq!(rows.len(), POINTS.len(), "one summary row per point:\n{}", first.stdout);
    for (row, (framework, conc)) in rows.iter().zip(POINTS) {
        let cells: Vec<&str> = row.split('|').map(str::trim).collect();
        assert_eq!((cells[4], cells[11]), (framework, conc.to_string().as_str()), "{row}");
        let tput: f64 = cells[16].parse().unwrap();
        assert!(tput > 0.0, "{row}");
    }
    assert!(first.stdout.contains("report:  report.html"), "{}", first.stdout);
    assert!(first.stdout.contains("summary: .ix/work/"), "{}", first.stdout);

    // Results for every point, in the state store's work folders and verified by `ix state verify`.
    let records: Vec<Value> = std::fs::read_dir(dir.join(".ix/work"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .flat_map(|p| std::fs::read_dir(p).unwrap())
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy();
            name.starts_with("agg_tiny_") && name.ends_with(".json")
        })
        .map(|p| serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap())
        .collect();
    assert_eq!(records.len(), POINTS.len());
    let _ = ix(["state", "verify", "--state-dir", ".ix"]).current_dir(dir).run().expect_code(0);

    // The report renders with its three charts, one series per framework, one point per conc.
    let html = std::fs::read_to_string(dir.join("report.html")).unwrap();
    if let Some(chromium) = chromium() {
        let probe = html.replacen(
            "</body>",
            r#"<script>(function(){var out={};document.querySelectorAll('svg.chart').forEach(function(svg){
var s={};svg.querySelectorAll('g.series').forEach(function(g){s[g.getAttribute('data-series')]=g.querySelectorAll('circle.pt').length;});
out[svg.getAttribute('data-chart')]=s;});var pre=document.createElement('pre');pre.id='ix-probe';pre.textContent=JSON.stringify(out);document.body.appendChild(pre);})();</script></body>"#,
            1,
        );
        let probe_path = dir.join("probe.html");
        std::fs::write(&probe_path, probe).unwrap();
        let profile = tempfile::tempdir().unwrap();
        let output = chromium_command(&chromium, profile.path())
            .arg("--dump-dom")
            .arg(format!("file://{}", probe_path.display()))
            .output()
            .unwrap();
        let dom = String::from_utf8_lossy(&output.stdout);
        let start = dom.find("<pre id=\"ix-probe\">").expect("probe output") + 19;
        let end = start + dom[start..].find("</pre>").unwrap();
        let charts: Value = serde_json::from_str(&dom[start..end].replace("&amp;", "&")).unwrap();
        for chart in ["0-tput", "0-ttft", "0-e2el"] {
            let series = charts[chart].as_object().unwrap_or_else(|| panic!("chart {chart} missing: {charts}"));
            assert_eq!(series.len(), 3, "{chart}: one series per framework: {charts}");
            assert!(series.values().all(|points| points == 3), "{chart}: three points per series: {charts}");
        }
    }

    // Again: nothing runs, and one line says so.
    let second = run_ix(dir, &["sweeps/demo.ix"]);
    assert!(ran(&second.stderr).is_empty(), "{}", second.stderr);
    assert!(
        second.stdout.starts_with("nothing to run: all 24 tasks are up to date (state .ix)\n"),
        "{}",
        second.stdout
    );
    assert_eq!(summary_rows(&second.stdout).len(), POINTS.len());

    // Edit the image of one config key: exactly its three points (and the aggregates) rerun.
    let sweep = dir.join("sweeps/demo.ix");
    let text = std::fs::read_to_string(&sweep).unwrap();
    let edited = text.replacen("  framework sim-slow\n", "  framework sim-slow\n  image \"ix/sim:v2\"\n", 1);
    assert_ne!(text, edited);
    std::fs::write(&sweep, edited).unwrap();
    let third = run_ix(dir, &["sweeps/demo.ix"]);
    let benches: Vec<String> = ran(&third.stderr).into_iter().filter(|id| id.starts_with("bench/")).collect();
    assert_eq!(
        benches,
        ["c1", "c2", "c4"]
            .map(|c| format!("bench/tiny-fp32-local-sim-slow/128_32/tp1-ep1-dpa0-none/{c}/local_0"))
            .to_vec(),
        "{}",
        third.stderr
    );
    let others: Vec<String> =
        ran(&third.stderr).into_iter().filter(|id| id.starts_with("result/") || id.starts_with("collect/")).collect();
    assert_eq!(others.len(), 4, "three results and the edited key's collect: {others:?}");
    assert!(ran(&third.stderr).contains(&"report".to_string()));
    assert_eq!(summary_rows(&third.stdout).len(), POINTS.len());
}

#[test]
fn demo_report_goes_where_dash_o_says() {
    let project = fresh_project();
    let dir = project.path();
    let sweep = dir.join("sweeps/demo.ix");
    // One point keeps the test short.
    let text = std::fs::read_to_string(&sweep).unwrap().replace("conc 1..=4", "conc 1..=1");
    std::fs::write(&sweep, text).unwrap();
    let out = ix(["run", "sweeps/demo.ix", "-o", "out/r.html"]).current_dir(dir).env("CI", "1").run();
    assert_eq!(out.code, 2, "a missing folder is an error\n{}{}", out.stdout, out.stderr);
    std::fs::create_dir(dir.join("out")).unwrap();
    let out = run_ix(dir, &["sweeps/demo.ix", "-o", "out/r.html"]);
    assert!(out.stdout.contains("report:  out/r.html"), "{}", out.stdout);
    assert!(std::fs::read_to_string(dir.join("out/r.html")).unwrap().contains("<svg"));
    assert!(!dir.join("report.html").exists());
}

/// The real-server flow. Needs `ci/llama.sh` to have run (it builds llama.cpp and the tiny model
/// into `${IX_CACHE:-~/.cache/ix}/llama-0.3.36`).
#[test]
fn demo_llama_sweep_runs_against_llama_cpp() {
    let cache = std::env::var_os("IX_LLAMA_DIR").map(std::path::PathBuf::from).unwrap_or_else(|| {
        let base = std::env::var_os("IX_CACHE")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|| std::path::PathBuf::from(std::env::var_os("HOME").unwrap()).join(".cache/ix"));
        base.join("llama-0.3.36")
    });
    assert!(
        cache.join("bin/llama-server").is_file() && cache.join("model/tiny.gguf").is_file(),
        "llama.cpp is not built in {}: run `bash ci/llama.sh` first",
        cache.display()
    );
    let project = fresh_project();
    let dir = project.path();
    let out = run_ix(dir, &["sweeps/demo-llama.ix"]);
    assert!(out.stdout.contains("8 done, 0 reused, 0 failed"), "{}\n{}", out.stdout, out.stderr);
    let rows = summary_rows(&out.stdout);
    assert_eq!(rows.len(), 2, "{}", out.stdout);
    assert!(rows.iter().all(|r| r.contains("LLAMACPP")), "{rows:?}");
    assert!(std::fs::read_to_string(dir.join("report.html")).unwrap().contains("<svg"));
}

/// Chart id -> series -> number of points, read from the report rendered in headless Chromium.
fn chart_points(dir: &Path, html: &str) -> Option<Value> {
    let chromium = chromium()?;
    let probe = html.replacen(
        "</body>",
        r#"<script>(function(){var out={};document.querySelectorAll('svg.chart').forEach(function(svg){
var s={};svg.querySelectorAll('g.series').forEach(function(g){s[g.getAttribute('data-series')]=g.querySelectorAll('circle.pt').length;});
out[svg.getAttribute('data-chart')]=s;});var pre=document.createElement('pre');pre.id='ix-probe';pre.textContent=JSON.stringify(out);document.body.appendChild(pre);})();</script></body>"#,
        1,
    );
    let probe_path = dir.join("probe.html");
    std::fs::write(&probe_path, probe).unwrap();
    let profile = tempfile::tempdir().unwrap();
    let output = chromium_command(&chromium, profile.path())
        .arg("--dump-dom")
        .arg(format!("file://{}", probe_path.display()))
        .output()
        .unwrap();
    let dom = String::from_utf8_lossy(&output.stdout);
    let start = dom.find("<pre id=\"ix-probe\">").expect("probe output") + 19;
    let end = start + dom[start..].find("</pre>").unwrap();
    Some(serde_json::from_str(&dom[start..end].replace("&amp;", "&")).unwrap())
}

/// The agentic demo (`sweeps/demo-agentic.yaml`): two lane counts replay synthetic agent
/// sessions (`ix bench traces`) against the simulator's prefix cache through `ix run`; the
/// aggregates reach the agentic summary table and the report's agentic charts; a second run
/// reuses everything.
#[test]
fn agentic_demo_sweep_runs_end_to_end_then_is_reused() {
    let project = fresh_project();
    let dir = project.path();
    let args = ["sweeps/demo-agentic.yaml", "--runner-config", "sweeps/demo-agentic-runners.yaml"];
    let first = run_ix(dir, &args);
    assert!(first.stdout.contains("8 done, 0 reused, 0 failed, 0 skipped, 0 cancelled"), "{}", first.stdout);
    assert!(first.stdout.contains("## Agentic Results"), "{}", first.stdout);
    let rows = summary_rows(&first.stdout);
    assert_eq!(rows.len(), 2, "one agentic row per lane count:\n{}", first.stdout);
    for (row, users) in rows.iter().zip(["2", "8"]) {
        let cells: Vec<&str> = row.split('|').map(str::trim).collect();
        assert_eq!((cells[4], cells[7]), ("sim", users), "{row}");
        let requests: u64 = cells[8].parse().unwrap();
        assert!(requests > 10, "{row}");
        for cell in [cells[12], cells[13]] {
            let rate: f64 = cell.parse().unwrap();
            assert!(rate > 0.3 && rate < 1.0, "cache hit rates: {row}");
        }
    }

    // The aggregates: the job's identity from the environment, the simulator's pool from its
    // log, the client's reported cached tokens equal to the server's /metrics, a pass verdict.
    let mut records: Vec<Value> = std::fs::read_dir(dir.join(".ix/work"))
        .unwrap()
        .flat_map(|e| std::fs::read_dir(e.unwrap().path()).unwrap())
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with("agg_tiny_tp1_"))
        .map(|p| serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap())
        .collect();
    records.sort_by_key(|r| r["conc"].as_u64());
    assert_eq!(records.len(), 2);
    let server_rate = |r: &Value| r["server_metrics"]["cache"]["overall_cache_hit_rate"].as_f64().unwrap();
    for record in &records {
        assert_eq!(record["scenario_type"], "agentic-coding");
        assert_eq!(record["hw"], "cluster:local");
        assert_eq!(record["framework"], "sim");
        assert_eq!(record["kv_cache_pool_tokens"], 24_000, "GPU KV cache size from server.log");
        assert!(record["image_digest"].is_string());
        assert_eq!(record["ix"]["validation"]["passed"], true, "{}", record["ix"]);
        let client = record["ix"]["reported_prompt_cache_hit_rate"].as_f64().unwrap();
        assert!((client - server_rate(record)).abs() < 0.01, "client {client} vs /metrics {}", server_rate(record));
    }
    // Eight lanes overflow the 1,500-block pool that two lanes fit in.
    assert!(
        server_rate(&records[1]) < server_rate(&records[0]),
        "{} vs {}",
        server_rate(&records[1]),
        server_rate(&records[0])
    );
    let _ = ix(["state", "verify", "--state-dir", ".ix"]).current_dir(dir).run().expect_code(0);

    let html = std::fs::read_to_string(dir.join("report.html")).unwrap();
    assert!(html.contains("<h2>Agentic replay</h2>"));
    if let Some(charts) = chart_points(dir, &html) {
        for chart in ["agentic-0-tput", "agentic-0-cache", "agentic-0-ttft", "agentic-0-context"] {
            let series = charts[chart].as_object().unwrap_or_else(|| panic!("chart {chart} missing: {charts}"));
            assert!(!series.is_empty() && series.values().all(|n| n.as_u64().unwrap() >= 2), "{chart}: {charts}");
        }
    }

    let second = run_ix(dir, &args);
    assert!(ran(&second.stderr).is_empty(), "{}", second.stderr);
    assert!(second.stdout.starts_with("nothing to run: all 8 tasks are up to date (state .ix)\n"), "{}", second.stdout);
    assert_eq!(summary_rows(&second.stdout).len(), 2);
}
