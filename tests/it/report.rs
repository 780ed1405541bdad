//! `ix report`: the HTML report rendered from a fixture and checked in headless Chromium (points and
//! Pareto frontier per chart counted through the DOM, hover, filter and sort exercised, no script
//! errors, screenshot saved under `target/test-artifacts/`), plus the markdown report.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::util::{ix, project_root};

fn fixture_dir() -> PathBuf {
    project_root().join("tests/data/results/report")
}

fn fixture_records() -> Vec<Value> {
    serde_json::from_slice(&std::fs::read(fixture_dir().join("agg_fixture.json")).unwrap()).unwrap()
}

/// Debian's `chromium`, which `ci/results.sh` installs. Missing is a failure unless
/// `IX_ALLOW_MISSING_CHROMIUM=1` says skipping is deliberate.
pub(crate) fn chromium() -> Option<PathBuf> {
    let found = std::env::var_os("PATH")
        .and_then(|paths| std::env::split_paths(&paths).map(|dir| dir.join("chromium")).find(|path| path.is_file()));
    if found.is_none() {
        assert!(
            std::env::var("IX_ALLOW_MISSING_CHROMIUM").as_deref() == Ok("1"),
            "`chromium` not found on PATH: run ci/results.sh (or set IX_ALLOW_MISSING_CHROMIUM=1 to skip on purpose)"
        );
    }
    found
}

pub(crate) fn chromium_command(chromium: &Path, profile: &Path) -> Command {
    let mut cmd = Command::new(chromium);
    cmd.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
        "--window-size=1480,1500",
    ]);
    cmd.arg(format!("--user-data-dir={}", profile.display()));
    cmd
}

/// Injected before the report's own code: records script errors and console errors.
const PROBE_HEAD: &str = r#"<script>window.__errors=[];
window.addEventListener('error',function(e){window.__errors.push(String(e.message));});
(function(){var orig=console.error;console.error=function(){window.__errors.push(Array.prototype.join.call(arguments,' '));orig.apply(console,arguments);};})();
</script>"#;

/// Injected after the report's own code: counts chart elements, exercises hover, filter and sort,
/// and writes the findings as JSON into `<pre id="ix-probe">`.
const PROBE_TAIL: &str = r#"<script>(function(){
var out={charts:{},errors:window.__errors};
document.querySelectorAll('svg.chart').forEach(function(svg){
  var series={};
  svg.querySelectorAll('g.series').forEach(function(g){
    series[g.getAttribute('data-series')]={points:g.querySelectorAll('circle.pt').length,frontier:g.querySelectorAll('circle.frontier').length,frontier_lines:g.querySelectorAll('polyline.frontier-line').length,lines:g.querySelectorAll('polyline.line').length};
  });
  out.charts[svg.getAttribute('data-chart')]={series:series,rect:svg.getBoundingClientRect().width};
});
var pt=document.querySelector('svg.chart circle.pt');
pt.dispatchEvent(new MouseEvent('mouseover',{bubbles:true,clientX:10,clientY:10}));
var tip=document.getElementById('tip');
out.tip_hidden=tip.hidden;out.tip=tip.textContent;out.point_tip=pt.getAttribute('data-tip');
var filter=document.getElementById('filter');
filter.value='gptoss mi355x';filter.dispatchEvent(new Event('input'));
out.filtered=Array.prototype.filter.call(document.querySelector('table.records').tBodies[0].rows,function(r){return !r.hidden;}).length;
out.count_text=document.getElementById('count').textContent;
filter.value='';filter.dispatchEvent(new Event('input'));
var th=Array.prototype.filter.call(document.querySelectorAll('table.records th'),function(h){return h.textContent==='TPUT per GPU';})[0];
var col=Array.prototype.indexOf.call(th.parentNode.children,th);
th.click();th.click();
out.sorted_desc=Array.prototype.map.call(document.querySelector('table.records').tBodies[0].rows,function(r){return parseFloat(r.cells[col].getAttribute('data-v'));}).slice(0,5);
out.external=document.querySelectorAll('[src],link[href]').length;
var pre=document.createElement('pre');pre.id='ix-probe';pre.textContent=JSON.stringify(out);document.body.appendChild(pre);
})();</script>"#;

/// Independent dominance check: a point is on the frontier when no other point is at least as
/// good in both coordinates and better in one.
fn frontier_size(points: &[(f64, f64)]) -> usize {
    points
        .iter()
        .enumerate()
        .filter(|(idx, (x, y))| {
            !points.iter().enumerate().any(|(other, (ox, oy))| {
                other != *idx && ox >= x && oy >= y && (ox > x || oy > y || other < *idx && ox == x && oy == y)
            })
        })
        .count()
}

/// (model prefix, ISL, OSL).
type GroupKey = (String, i64, i64);

fn series_label(record: &Value) -> String {
    let text = |key: &str| record[key].as_str().unwrap_or("").to_string();
    format!("{} {} {}", text("hw").to_uppercase(), text("framework"), text("precision").to_uppercase())
}

#[test]
fn html_report_charts_render_in_headless_chromium() {
    let Some(chromium) = chromium() else { return };
    let work = tempfile::tempdir().unwrap();
    let report = work.path().join("report.html");
    let _ = ix(["report"]).arg(fixture_dir()).arg("-o").arg(&report).run().expect_code(0);
    let html = std::fs::read_to_string(&report).unwrap();
    for external in [" src=", "<link", "@import", "url("] {
        assert!(!html.contains(external), "the report must be self-contained, found `{external}`");
    }

    // Expected counts per group (groups sorted by model, then ISL/OSL: dsr1 1k1k = 0, gptoss 8k1k = 1).
    let mut groups: BTreeMap<GroupKey, BTreeMap<String, Vec<(f64, f64)>>> = BTreeMap::new();
    for record in fixture_records() {
        let key = (
            record["infmax_model_prefix"].as_str().unwrap().to_string(),
            record["isl"].as_i64().unwrap(),
            record["osl"].as_i64().unwrap(),
        );
        let point = (record["median_intvty"].as_f64().unwrap(), record["tput_per_gpu"].as_f64().unwrap());
        groups.entry(key).or_default().entry(series_label(&record)).or_default().push(point);
    }
    assert_eq!(groups.len(), 2);

    let probe_html = html.replacen("<head>", &format!("<head>{PROBE_HEAD}"), 1).replacen(
        "</body>",
        &format!("{PROBE_TAIL}</body>"),
        1,
    );
    let probe = work.path().join("probe.html");
    std::fs::write(&probe, probe_html).unwrap();
    let profile = tempfile::tempdir().unwrap();
    let output = chromium_command(&chromium, profile.path())
        .args(["--enable-logging=stderr", "--v=0", "--dump-dom"])
        .arg(format!("file://{}", probe.display()))
        .output()
        .unwrap();
    let dom = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("Uncaught"), "console errors:\n{stderr}");
    let start =
        dom.find("<pre id=\"ix-probe\">").unwrap_or_else(|| panic!("probe missing; chromium stderr:\n{stderr}")) + 19;
    let end = start + dom[start..].find("</pre>").unwrap();
    let probe: Value =
        serde_json::from_str(&dom[start..end].replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">")).unwrap();
    assert_eq!(probe["errors"], serde_json::json!([]), "script errors");
    assert_eq!(probe["external"], 0, "no element loads anything");

    for (group_idx, (_, series)) in groups.iter().enumerate() {
        for chart in ["tput", "ttft", "e2el"] {
            let found = &probe["charts"][format!("{group_idx}-{chart}")]["series"];
            assert_eq!(
                found.as_object().map(|o| o.len()),
                Some(series.len()),
                "chart {group_idx}-{chart}: one line per series"
            );
            for (label, points) in series {
                let found = &found[label];
                assert_eq!(found["points"], points.len(), "chart {group_idx}-{chart} series {label}: points");
                if chart == "tput" {
                    assert_eq!(
                        found["frontier"],
                        frontier_size(points),
                        "chart {group_idx}-{chart} series {label}: frontier"
                    );
                    assert_eq!(found["frontier_lines"], 1, "chart {group_idx}-{chart} series {label}: frontier line");
                } else {
                    assert_eq!(found["frontier"], 0);
                    assert_eq!(found["lines"], 1, "chart {group_idx}-{chart} series {label}: latency line");
                }
            }
        }
    }
    // The dsr1 group's B200 series spans two TP sizes, so some of its points are dominated.
    let b200 = &probe["charts"]["0-tput"]["series"]["B200 sglang FP8"];
    assert!(b200["frontier"].as_u64().unwrap() < b200["points"].as_u64().unwrap(), "{b200}");

    assert_eq!(probe["tip_hidden"], false, "hovering a point shows the tooltip");
    assert_eq!(probe["tip"], probe["point_tip"]);
    let tip = probe["tip"].as_str().unwrap();
    assert!(tip.contains("conc ") && tip.contains("TP") && tip.contains("throughput/GPU"), "{tip}");
    assert_eq!(probe["filtered"], 6, "filter `gptoss mi355x` keeps the 6 MI355X gpt-oss records");
    assert_eq!(probe["count_text"], "6 of 51 records");
    let sorted: Vec<f64> = probe["sorted_desc"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
    let mut all: Vec<f64> = fixture_records().iter().map(|r| r["tput_per_gpu"].as_f64().unwrap()).collect();
    all.sort_by(|a, b| b.total_cmp(a));
    assert_eq!(sorted, all[..5], "two clicks sort the table by TPUT per GPU, descending");

    // A screenshot for reviewers.
    let artifacts = project_root().join("target/test-artifacts");
    std::fs::create_dir_all(&artifacts).unwrap();
    let screenshot = artifacts.join("report.png");
    let _ = std::fs::remove_file(&screenshot);
    let profile = tempfile::tempdir().unwrap();
    let status = chromium_command(&chromium, profile.path())
        .arg(format!("--screenshot={}", screenshot.display()))
        .arg(format!("file://{}", report.display()))
        .output()
        .unwrap();
    assert!(status.status.success(), "{}", String::from_utf8_lossy(&status.stderr));
    let png = std::fs::read(&screenshot).unwrap();
    assert!(png.starts_with(b"\x89PNG") && png.len() > 20_000, "screenshot is a real PNG");
    std::fs::copy(&report, artifacts.join("report.html")).unwrap();
}

#[test]
fn markdown_report_lists_configurations_with_their_frontier() {
    let output = ix(["report", "--format", "md"]).arg(fixture_dir()).run().expect_code(0);
    let text = output.stdout;
    assert!(text.starts_with("# Benchmark report\n"));
    assert!(text.contains("## dsr1 · 1k/1k (ISL 1024, OSL 1024)"), "{text}");
    assert!(text.contains("## gptoss · 8k/1k (ISL 8192, OSL 1024)"), "{text}");
    let rows = text.lines().filter(|line| line.starts_with("| ") && !line.starts_with("| Series")).count();
    assert_eq!(rows, fixture_records().len());
    // Every series has at least one frontier point; a series on one curve has all of them.
    let gptoss_b200: Vec<&str> = text.lines().filter(|line| line.starts_with("| B200 trt FP4")).collect();
    assert_eq!(gptoss_b200.len(), 6);
    assert!(gptoss_b200.iter().all(|line| line.contains("| yes")), "{gptoss_b200:?}");
}

#[test]
fn html_report_of_an_empty_directory_says_so() {
    let work = tempfile::tempdir().unwrap();
    let output = ix(["report"]).arg(work.path()).run().expect_code(0);
    assert!(output.stdout.contains("No aggregate records"), "{}", output.stdout);
}
