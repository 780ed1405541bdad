//! The results database and `ix compare`: ingest into SQLite and a real PostgreSQL server (a
//! throwaway cluster this file starts with Debian's `initdb`/`pg_ctl`), compare of synthetic
//! stores with a planted regression, and a real simulator run whose slowdown compare catches.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::run::{Project, SCRIPT, entry};
use crate::util::{ix, project_root};

/// The PostgreSQL server binaries (Debian puts them under `/usr/lib/postgresql/<v>/bin`).
fn pg_bin_dir() -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .flatten()
        .map(|e| e.path().join("bin"))
        .filter(|bin| bin.join("initdb").is_file() && bin.join("pg_ctl").is_file())
        .collect();
    dirs.sort();
    dirs.pop()
}

/// A throwaway PostgreSQL cluster on a free loopback port, stopped on drop.
struct PgCluster {
    bin: PathBuf,
    data: PathBuf,
    as_postgres: bool,
    port: u16,
    _dir: tempfile::TempDir,
}

impl PgCluster {
    /// Starts one; `None` (after saying so) only with `IX_ALLOW_MISSING_POSTGRES=1`.
    fn start() -> Option<PgCluster> {
        let Some(bin) = pg_bin_dir() else {
            if std::env::var("IX_ALLOW_MISSING_POSTGRES").as_deref() == Ok("1") {
                #[allow(clippy::print_stderr)]
                {
                    eprintln!("PostgreSQL not installed; skipped by IX_ALLOW_MISSING_POSTGRES=1");
                }
                return None;
            }
            panic!(
                "PostgreSQL not installed: run ci/postgres.sh (or set IX_ALLOW_MISSING_POSTGRES=1 to skip on purpose)"
            );
        };
        let dir = tempfile::tempdir().expect("tempdir");
        let data = dir.path().join("pg");
        std::fs::create_dir(&data).expect("mkdir");
        // initdb refuses root: run the server as the `postgres` user then.
        // SAFETY: geteuid has no preconditions.
        let as_postgres = unsafe { libc::geteuid() } == 0;
        if as_postgres {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod");
            let status = Command::new("chown").args(["postgres:postgres"]).arg(&data).status().expect("chown");
            assert!(status.success(), "chown postgres");
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
        let cluster = PgCluster { bin, data, as_postgres, port, _dir: dir };
        cluster.tool("initdb", &["-U", "ix", "--auth=trust", "-E", "UTF8", "--no-sync", "-D"], true);
        let options = format!(
            "-p {port} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off",
            cluster.data.display()
        );
        let log = cluster.data.join("server.log").display().to_string();
        cluster.tool("pg_ctl", &["-w", "-t", "60", "-l", &log, "-o", &options, "start", "-D"], true);
        Some(cluster)
    }

    /// Runs a server tool with `args` and the data folder last.
    fn tool(&self, name: &str, args: &[&str], check: bool) {
        let mut cmd = if self.as_postgres {
            let mut cmd = Command::new("runuser");
            cmd.args(["-u", "postgres", "--"]).arg(self.bin.join(name));
            cmd
        } else {
            Command::new(self.bin.join(name))
        };
        let output = cmd.args(args).arg(&self.data).output().expect("run a PostgreSQL tool");
        if check {
            assert!(
                output.status.success(),
                "{name} failed\n{}\n{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            );
        }
    }

    /// Runs SQL with `psql` (unaligned, tuples only) and returns its output.
    fn psql(&self, sql: &str) -> String {
        let output = Command::new(self.bin.join("psql"))
            .args(["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", sql])
            .arg(self.url())
            .output()
            .expect("psql");
        assert!(output.status.success(), "psql: {}", String::from_utf8_lossy(&output.stderr));
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    fn url(&self) -> String {
        format!("postgres://ix@127.0.0.1:{}/postgres", self.port)
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        self.tool("pg_ctl", &["-w", "-m", "immediate", "stop", "-D"], false);
    }
}

/// A temporary folder on tmpfs where there is one (synthetic stores fsync every record).
fn tempdir() -> tempfile::TempDir {
    let shm = Path::new("/dev/shm");
    if shm.is_dir() { tempfile::tempdir_in(shm) } else { tempfile::tempdir() }.expect("tempdir")
}

fn synth(dir: &Path, seed: u64, slower: Option<&str>) {
    let state = dir.display().to_string();
    let mut args = vec!["results", "synth", "--state-dir", &state, "--configs", "300", "--repeats", "5"];
    let seed = seed.to_string();
    args.extend(["--seed", &seed]);
    if let Some(slower) = slower {
        args.extend(["--slower", slower]);
    }
    let _ = ix(args).run().expect_code(0);
}

fn compare_json(base: &str, head: &str, extra: &[&str], code: i32) -> serde_json::Value {
    let out =
        ix(["compare", "--base", base, "--head", head, "--format", "json"]).args_from(extra).run().expect_code(code);
    serde_json::from_str(&out.stdout).expect("compare JSON")
}

fn regressed_configs(json: &serde_json::Value) -> Vec<String> {
    let mut configs: Vec<String> = json["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .filter(|row| row["verdict"] == "regressed")
        .map(|row| row["config"].as_str().unwrap_or_default().to_string())
        .collect();
    configs.dedup();
    configs
}

#[test]
fn compare_flags_exactly_the_planted_regression_among_hundreds_of_noisy_configs() {
    let dir = tempdir();
    let (base, head, quiet) = (dir.path().join("base"), dir.path().join("head"), dir.path().join("quiet"));
    synth(&base, 1, None);
    synth(&head, 2, Some("137:5"));
    synth(&quiet, 3, Some("137:0.5"));
    let (base, head, quiet) = (base.display().to_string(), head.display().to_string(), quiet.display().to_string());
    let json = compare_json(&base, &head, &["--fail-on-regression"], 1);
    assert_eq!(regressed_configs(&json), vec!["synth4 1024/1024 tp2 ep1 c2".to_string()], "{json:#}");
    assert_eq!(json["improved"], 0);
    assert_eq!(json["rows"].as_array().map(Vec::len), Some(300 * 6));
    // Every row decided by the t-test over the 5 repeats.
    assert!(json["rows"].as_array().expect("rows").iter().all(|r| r["rule"] == "welch" && r["current"]["n"] == 5));
    let json = compare_json(&base, &quiet, &["--fail-on-regression"], 0);
    assert_eq!((json["regressed"].as_u64(), json["improved"].as_u64()), (Some(0), Some(0)), "{json:#}");
    // The markdown for a pull request names the regression and the rule.
    let out = ix(["compare", "--base", &base, "--head", &head, "--format", "md"]).run().expect_code(0);
    assert!(
        out.stdout.contains("🔴 regressed") && out.stdout.contains("synth4 1024/1024 tp2 ep1 c2"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("Welch's t-test"), "{}", out.stdout);
}

#[test]
fn postgres_and_sqlite_hold_the_same_runs_and_ingest_is_idempotent() {
    let Some(pg) = PgCluster::start() else { return };
    let dir = tempdir();
    let store = dir.path().join("store");
    let sqlite = dir.path().join("results.sqlite").display().to_string();
    let _ = ix(["results", "synth", "--state-dir", &store.display().to_string(), "--configs", "40", "--repeats", "3"])
        .run()
        .expect_code(0);
    let state = store.display().to_string();
    for db in [pg.url(), sqlite.clone()] {
        let first = ix(["results", "ingest", "--state-dir", &state, "--results-db", &db, "--label", "nightly"])
            .run()
            .expect_code(0);
        assert!(first.stdout.contains(": 120 points, 120 new"), "{}", first.stdout);
        let again = ix(["results", "ingest", "--state-dir", &state, "--results-db", &db]).run().expect_code(0);
        assert!(again.stdout.contains(": 120 points, 0 new"), "{}", again.stdout);
        let runs = ix(["results", "runs", "--results-db", &db]).run().expect_code(0);
        assert_eq!(runs.stdout.lines().count(), 2, "one run: {}", runs.stdout);
        assert!(runs.stdout.contains(" 120  nightly "), "{}", runs.stdout);
    }
    // The two backends hold the same points: a compare of one against the other matches all.
    let json = compare_json(&format!("{}#nightly", pg.url()), &sqlite, &[], 0);
    assert_eq!(json["rows"].as_array().map(Vec::len), Some(40 * 6));
    assert!(json["rows"].as_array().expect("rows").iter().all(|r| r["delta"] == 0.0), "{json:#}");
    assert_eq!(json["only_base"].as_array().map(Vec::len), Some(0));
    // Every numeric field of every point (6 per synthetic record), written once.
    assert_eq!(pg.psql("SELECT COUNT(*) FROM metrics").trim(), "720");
    // Turn the PostgreSQL database back into a version 1 one (what an older `ix` wrote): the
    // next `ix` to open it migrates it, and its runs read as before.
    pg.psql("ALTER TABLE points DROP COLUMN bench_hash; DROP INDEX points_identity; UPDATE ix_schema SET version = 1;");
    assert_eq!(pg.psql("SELECT version FROM ix_schema").trim(), "1");
    let json = compare_json(&format!("{}#nightly", pg.url()), &sqlite, &[], 0);
    assert_eq!(json["rows"].as_array().map(Vec::len), Some(40 * 6));
    assert_eq!(pg.psql("SELECT version FROM ix_schema").trim(), "2");
    assert_eq!(pg.psql("SELECT COUNT(*) FROM points WHERE bench_hash IS NULL").trim(), "120");
    let missing = ix(["compare", "--base", &format!("{}#nope", pg.url()), "--head", &sqlite]).run().expect_code(2);
    assert!(missing.stderr.contains("ix::history::no_run"), "{}", missing.stderr);
}

/// The tiny sim script with another inter-token latency: its digest changes, so every bench
/// task runs again, slower.
fn sim_script(itl_ms: u32) -> String {
    let text =
        std::fs::read_to_string(project_root().join("benchmarks/tiny_fp32_local_sim_server.sh")).expect("script");
    text.replace("*) speed=(--ttft-ms 15 --itl-ms 3) ;;", &format!("*) speed=(--ttft-ms 15 --itl-ms {itl_ms}) ;;"))
}

#[test]
fn a_real_simulator_slowdown_is_caught_through_run_ingest_and_compare() {
    // Short sequences (128 in, 32 out) keep the two runs to seconds.
    let master = entry("tiny-fp32-local-sim", "sim", "img", "conc-list: [1, 2]")
        .replace("isl: 1024", "isl: 128")
        .replace("osl: 1024", "osl: 32");
    let project = Project::new(&master, &[(SCRIPT, &sim_script(3))]);
    let root = project_root();
    project.write(
        "benchmarks/benchmark_lib.sh",
        &std::fs::read_to_string(root.join("benchmarks/benchmark_lib.sh")).expect("lib"),
    );
    project.write(
        "benchmarks/data/words-tokenizer.json",
        &std::fs::read_to_string(root.join("benchmarks/data/words-tokenizer.json")).expect("tokenizer"),
    );
    let db = project.path().join("results.sqlite").display().to_string();
    let first = project.run(&["--state-dir", ".ix-base", "--results-db", &db]).expect_code(0);
    assert!(first.stderr.contains("results: run "), "{}", first.stderr);
    project.write(&format!("benchmarks/{SCRIPT}"), &sim_script(9));
    let _ = project.run(&["--state-dir", ".ix-head", "--results-db", &db]).expect_code(0);
    let runs = ix(["results", "runs", "--results-db", &db]).run().expect_code(0);
    let ids: Vec<&str> = runs.stdout.lines().skip(1).filter_map(|l| l.split_whitespace().next()).collect();
    assert_eq!(ids.len(), 2, "{}", runs.stdout);
    let (base, head) = (project.path().join(".ix-base"), project.path().join(".ix-head"));
    // Store against store, and run against run in the database: the same verdicts.
    let from_stores =
        compare_json(&base.display().to_string(), &head.display().to_string(), &["--fail-on-regression"], 1);
    let from_db = compare_json(&format!("{db}#{}", ids[0]), &format!("{db}#{}", ids[1]), &["--fail-on-regression"], 1);
    for json in [&from_stores, &from_db] {
        let tpot: Vec<&serde_json::Value> =
            json["rows"].as_array().expect("rows").iter().filter(|r| r["metric"] == "median_tpot").collect();
        assert_eq!(tpot.len(), 2, "both concurrencies matched: {json:#}");
        assert!(tpot.iter().all(|r| r["verdict"] == "regressed" && r["rule"] == "threshold"), "{json:#}");
    }
    assert_eq!(from_stores["rows"], from_db["rows"]);
}

#[test]
fn repeats_are_tasks_of_their_own_and_repeat_zero_keeps_its_key() {
    let master = entry("tiny-fp32-local-sim", "sim", "img", "conc-list: [1, 2]");
    let project = Project::new(&master, &[(SCRIPT, crate::run::OK_SCRIPT)]);
    let once = project.run(&[]).expect_code(0);
    assert!(crate::run::summary_line(&once).starts_with("8 done"), "{}", once.stdout);
    // Three repeats: repeat 0 is the task that already ran, 1 and 2 (bench + result each) run.
    let three = project.run(&["--repeat", "3"]).expect_code(0);
    let ran: Vec<&str> = three.stderr.lines().filter(|l| l.starts_with("done    bench/")).collect();
    assert_eq!(ran.len(), 4, "{}", three.stderr);
    assert!(ran.iter().all(|l| l.contains("/repeat-1 (") || l.contains("/repeat-2 (")), "{ran:?}");
    assert!(three.stdout.contains("## Repeats: mean ± spread"), "{}", three.stdout);
    assert!(
        three.stdout.contains("| tiny-fp32-local-sim 1024/1024 tp1 ep1 c1 | 3 | 200.00 ± 0 (0.0%)"),
        "{}",
        three.stdout
    );
    // Nothing left to run at 3; back at 1 only the collect, summary and report change.
    let again = project.run(&["--repeat", "3"]).expect_code(0);
    assert!(crate::run::summary_line(&again).starts_with("nothing to run"), "{}", again.stdout);
    // `ix plan --repeat 3` agrees with the run: everything is reused.
    let plan = ix(["plan", "configs/master.yaml", "--runner-config", "configs/runners.yaml", "--repeat", "3"])
        .current_dir(project.path())
        .run()
        .expect_code(0);
    assert!(plan.stdout.contains("bench 6 · result 6") && plan.stdout.contains("reuse     16"), "{}", plan.stdout);
    let single = project.run(&[]).expect_code(0);
    assert!(!single.stderr.contains("done    bench/"), "{}", single.stderr);
    // The repeats are samples compare reads: a store against itself is all within noise, by t-test.
    let store = project.path().join(".ix").display().to_string();
    let json = compare_json(&store, &store, &[], 0);
    assert!(json["rows"].as_array().expect("rows").iter().all(|r| r["current"]["n"] == 3), "{json:#}");
}

/// Injected after the report's own code: counts history charts, regression marks and baseline
/// series, hovers a regressed point and writes the findings into `<pre id="ix-probe">`.
const HISTORY_PROBE: &str = r#"<script>(function(){
var out={errors:window.__errors||[]};
out.history_charts=document.querySelectorAll('svg.hist').length;
out.regressed=Array.prototype.map.call(document.querySelectorAll('svg.hist circle.pt.regressed'),function(c){return c.closest('svg').getAttribute('data-chart');});
out.marks=document.querySelectorAll('svg.hist circle.mark').length;
out.baseline_series=Array.prototype.map.call(document.querySelectorAll('svg.chart g.series'),function(g){return g.getAttribute('data-series');}).filter(function(s){return s.indexOf('baseline')>=0;});
out.baseline_dashed=document.querySelectorAll('svg.chart g.series polyline[stroke-dasharray]').length;
var pt=document.querySelector('svg.hist circle.pt.regressed');
if(pt){pt.dispatchEvent(new MouseEvent('mouseover',{bubbles:true,clientX:10,clientY:10}));}
var tip=document.getElementById('tip');out.tip_hidden=tip.hidden;out.tip=tip.textContent;
var pre=document.createElement('pre');pre.id='ix-probe';pre.textContent=JSON.stringify(out);document.body.appendChild(pre);
})();</script>"#;

#[test]
fn the_report_of_a_database_shows_history_regressions_and_a_baseline_in_chromium() {
    let Some(chromium) = crate::report::chromium() else { return };
    let dir = tempdir();
    let db = dir.path().join("results.sqlite").display().to_string();
    for (seed, slower) in [(1, None), (2, None), (3, Some("4:8"))] {
        let store = dir.path().join(format!("run{seed}"));
        let state = store.display().to_string();
        let mut args = vec!["results", "synth", "--state-dir", &state, "--configs", "10", "--repeats", "3"];
        let seed_text = seed.to_string();
        args.extend(["--seed", &seed_text]);
        if let Some(slower) = slower {
            args.extend(["--slower", slower]);
        }
        let _ = ix(args).run().expect_code(0);
        let label = format!("r{seed}");
        let _ = ix(["results", "ingest", "--state-dir", &state, "--results-db", &db, "--label", &label])
            .run()
            .expect_code(0);
    }
    let report = dir.path().join("report.html");
    let _ = ix(["report", "--results-db", &db, "--baseline", "r1", "-o", &report.display().to_string()])
        .run()
        .expect_code(0);
    let html = std::fs::read_to_string(&report).expect("report");
    let probe = html.replacen("</body>", &format!("{HISTORY_PROBE}</body>"), 1);
    let probe_path = dir.path().join("probe.html");
    std::fs::write(&probe_path, probe).expect("probe");
    let profile = tempfile::tempdir().expect("profile");
    let output = crate::report::chromium_command(&chromium, profile.path())
        .arg("--dump-dom")
        .arg(format!("file://{}", probe_path.display()))
        .output()
        .expect("chromium");
    let dom = String::from_utf8_lossy(&output.stdout);
    let start = dom.find("<pre id=\"ix-probe\">").expect("probe output") + 19;
    let end = start + dom[start..].find("</pre>").expect("end");
    let probe: serde_json::Value =
        serde_json::from_str(&dom[start..end].replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">"))
            .expect("probe JSON");
    assert_eq!(probe["errors"], serde_json::json!([]));
    // 10 configurations in all three runs, 4 metrics each.
    assert_eq!(probe["history_charts"], 40, "{probe:#}");
    // Only the slowed configuration (conc 16, sorted third) regressed, in run 3, and each mark
    // is one `ix compare` of run 2 against run 3 also calls a regression.
    let mut regressed: Vec<&str> =
        probe["regressed"].as_array().expect("list").iter().filter_map(|v| v.as_str()).collect();
    assert!(!regressed.is_empty() && regressed.iter().all(|c| c.starts_with("history-2-")), "{regressed:?}");
    assert_eq!(probe["marks"].as_u64(), Some(regressed.len() as u64));
    let json = compare_json(&format!("{db}#r2"), &format!("{db}#r3"), &[], 0);
    let mut compared: Vec<String> = json["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .filter(|r| {
            r["verdict"] == "regressed"
                && ["tput_per_gpu", "median_ttft", "median_tpot", "median_e2el"]
                    .contains(&r["metric"].as_str().unwrap_or(""))
        })
        .map(|r| format!("history-2-{}", r["metric"].as_str().unwrap_or("")))
        .collect();
    regressed.sort_unstable();
    compared.sort();
    assert_eq!(regressed, compared, "the report marks what compare flags");
    // The baseline run is overlaid, dashed, on the throughput charts.
    assert_eq!(probe["baseline_series"], serde_json::json!(["LOCAL sim FP8 · baseline"]), "{probe:#}");
    assert!(probe["baseline_dashed"].as_u64().unwrap_or(0) >= 1, "{probe:#}");
    // Hover shows the run, image digest and commit.
    assert_eq!(probe["tip_hidden"], false);
    let tip = probe["tip"].as_str().unwrap_or_default();
    assert!(tip.contains("regressed") && tip.contains("image sha256:5e7e") && tip.contains("commit "), "{tip}");
}

fn git(dir: &Path, args: &[&str]) {
    let status = Command::new("git")
        .args(["-c", "user.name=ix", "-c", "user.email=ix@example.com", "-c", "commit.gpgsign=false"])
        .args(args)
        .current_dir(dir)
        .status()
        .expect("git");
    assert!(status.success(), "git {args:?}");
}

#[test]
fn compare_finds_the_runs_ingested_at_two_git_refs() {
    let dir = tempdir();
    let repo = dir.path();
    git(repo, &["init", "-q"]);
    std::fs::write(repo.join("sweep.txt"), "one\n").expect("write");
    git(repo, &["add", "sweep.txt"]);
    git(repo, &["commit", "-qm", "one"]);
    let db = repo.join("results.sqlite").display().to_string();
    for (store, seed, slower) in [("a/.ix", "1", None), ("b/.ix", "2", Some("3:10"))] {
        let state = repo.join(store).display().to_string();
        let mut args =
            vec!["results", "synth", "--state-dir", &state, "--configs", "8", "--repeats", "3", "--seed", seed];
        if let Some(slower) = slower {
            args.extend(["--slower", slower]);
        }
        let _ = ix(args).run().expect_code(0);
        let _ = ix(["results", "ingest", "--state-dir", &state, "--results-db", &db]).run().expect_code(0);
        std::fs::write(repo.join("sweep.txt"), format!("after {store}\n")).expect("write");
        git(repo, &["commit", "-qam", "next"]);
    }
    // Store a was ingested at the first commit (HEAD~2), store b at the second (HEAD~1).
    let out = ix(["compare", "--results-db", &db, "--base-ref", "HEAD~2", "--head-ref", "HEAD~1", "--format", "json"])
        .current_dir(repo)
        .run()
        .expect_code(0);
    let json: serde_json::Value = serde_json::from_str(&out.stdout).expect("json");
    assert_eq!(regressed_configs(&json), vec!["synth0 1024/1024 tp1 ep1 c8".to_string()], "{json:#}");
    // No run was ingested at HEAD: said so, exit 2.
    let none = ix(["compare", "--results-db", &db, "--base-ref", "HEAD~2", "--head-ref", "HEAD"])
        .current_dir(repo)
        .run()
        .expect_code(2);
    assert!(none.stderr.contains("ix::history::no_run"), "{}", none.stderr);
}

/// Points in the SQLite database at `db` (0 before it exists).
fn db_points(db: &Path) -> i64 {
    let Ok(conn) = rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY) else {
        return 0;
    };
    conn.query_row("SELECT COUNT(*) FROM points", [], |row| row.get(0)).unwrap_or(0)
}

#[test]
fn run_with_results_db_ingests_each_point_as_it_completes_and_a_killed_run_keeps_them() {
    use std::os::unix::process::CommandExt;
    // c1 finishes at once; c2 hangs until the run is killed.
    let script =
        crate::run::OK_SCRIPT.replace("sleep \"${SLEEP_SECS:-0}\"", "if [ \"$CONC\" = 2 ]; then sleep 120; fi");
    assert_ne!(script, crate::run::OK_SCRIPT);
    let project = Project::new(&entry("tiny-fp32-local-sim", "sim", "img", "conc-list: [1, 2]"), &[(SCRIPT, &script)]);
    let db = project.path().join("results.sqlite");
    let mut child = Command::new(crate::util::ix_bin())
        .args(["run", "--config-files", "configs/master.yaml", "--runner-config", "configs/runners.yaml"])
        .arg("--results-db")
        .arg(&db)
        .current_dir(project.path())
        .env_remove("CI")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .process_group(0)
        .spawn()
        .expect("spawn ix run");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(90);
    while db_points(&db) == 0 && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    // The run is still going (c2 sleeps): the c1 point got in while it ran, not after.
    assert!(child.try_wait().expect("wait").is_none(), "the run ended before the check");
    assert_eq!(db_points(&db), 1);
    let _ = Command::new("kill").args(["-9", "--", &format!("-{}", child.id())]).status();
    let _ = child.wait();
    let db = db.display().to_string();
    let runs = ix(["results", "runs", "--results-db", &db]).run().expect_code(0);
    assert_eq!(runs.stdout.lines().skip(1).count(), 1, "the live run: {}", runs.stdout);
    // Ingesting the killed run's store again adds nothing: the same point, by its natural key.
    let state = project.path().join(".ix").display().to_string();
    let again = ix(["results", "ingest", "--state-dir", &state, "--results-db", &db]).run().expect_code(0);
    assert!(again.stdout.contains(": 1 points, 0 new"), "{}", again.stdout);
    assert_eq!(db_points(Path::new(&db)), 1);
}

#[test]
fn run_with_results_db_whose_second_bench_fails_keeps_the_first_and_one_run_on_sqlite_and_postgres() {
    let script = crate::run::OK_SCRIPT.replace("sleep \"${SLEEP_SECS:-0}\"", "if [ \"$CONC\" = 2 ]; then exit 3; fi");
    let project = Project::new(&entry("tiny-fp32-local-sim", "sim", "img", "conc-list: [1, 2]"), &[(SCRIPT, &script)]);
    let db = project.path().join("results.sqlite").display().to_string();
    let out = project.run(&["--results-db", &db]).expect_code(1);
    assert!(out.stderr.contains("results: run ") && out.stderr.contains("(1 points, 0 new)"), "{}", out.stderr);
    // The live run is dropped once the final pass's run (the store's) holds its points.
    let runs = ix(["results", "runs", "--results-db", &db]).run().expect_code(0);
    assert_eq!(runs.stdout.lines().skip(1).count(), 1, "{}", runs.stdout);
    assert_eq!(db_points(Path::new(&db)), 1);
    // The same on PostgreSQL (a fresh store: the c1 task runs again).
    let Some(pg) = PgCluster::start() else { return };
    let out = project.run(&["--state-dir", ".ix-pg", "--results-db", &pg.url()]).expect_code(1);
    assert!(out.stderr.contains("(1 points, 0 new)"), "{}", out.stderr);
    assert_eq!(pg.psql("SELECT COUNT(*) FROM runs").trim(), "1");
    assert_eq!(pg.psql("SELECT COUNT(*) FROM points").trim(), "1");
}

#[test]
fn run_with_an_unusable_results_db_still_runs_and_records_every_task() {
    let project = Project::new(
        &entry("tiny-fp32-local-sim", "sim", "img", "conc-list: [1, 2]"),
        &[(SCRIPT, crate::run::OK_SCRIPT)],
    );
    // A folder is no SQLite file: every ingest fails, the run does not.
    let db = project.path().join("not-a-db");
    std::fs::create_dir(&db).expect("mkdir");
    let out = project.run(&["--results-db", &db.display().to_string()]).expect_code(2);
    assert_eq!(out.stderr.matches("not ingested yet (the final pass retries)").count(), 2, "{}", out.stderr);
    assert!(out.stderr.contains("ix::history::open"), "{}", out.stderr);
    assert_eq!(project.results().len(), 2, "both benches ran");
    let again = project.run(&[]).expect_code(0);
    assert!(crate::run::summary_line(&again).starts_with("nothing to run"), "{}", again.stdout);
}
