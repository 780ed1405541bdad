//! `ix results process|collect|summary|success-rate|bench`: flags to library calls, results to
//! stdout and files. The logic lives in `crate::results` and `crate::report`.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde_json::Value;

use super::ExitStatus;
use super::args::{
    CollectArgs, ProcessArgs, ResultsBenchArgs, ResultsCommand, SuccessRateArgs, SummaryArgs, TableFormat,
};
use crate::report::summary::{to_csv, to_json, to_markdown};
use crate::report::table::github_table;
use crate::results::collect::read_json;
use crate::results::success_rate::{FetchError, GithubRun, fetch_run_jobs, skus_from_runners, success_rates};
use crate::results::{self, ProcessOptions, SummaryOptions};

/// Dispatches `ix results ...`.
pub(super) fn results(command: ResultsCommand) -> ExitStatus {
    match command {
        ResultsCommand::Process(args) => process(&args),
        ResultsCommand::Collect(args) => collect(&args),
        ResultsCommand::Summary(args) => summary(&args),
        ResultsCommand::SuccessRate(args) => success_rate(&args),
        ResultsCommand::Bench(args) => bench(&args),
        ResultsCommand::Ingest(args) => super::history::ingest(&args),
        ResultsCommand::Runs(args) => super::history::runs(&args),
        ResultsCommand::HistoryBench(args) => super::history::history_bench(&args),
        ResultsCommand::Synth(args) => super::history::synth(&args),
    }
}

/// Prints a diagnostic to stderr and returns the failure status (exit 1).
pub(super) fn fail(error: impl miette::Diagnostic + Send + Sync + 'static) -> ExitStatus {
    #[allow(clippy::print_stderr)]
    {
        eprintln!("{:?}", miette::Report::new(error));
    }
    ExitStatus::Failure
}

/// The records of `loaded`, after a warning on stderr for each malformed file left out.
pub(super) fn warn_skipped(loaded: results::Loaded) -> Vec<results::Record> {
    for (path, reason) in &loaded.skipped {
        #[allow(clippy::print_stderr)]
        {
            eprintln!("warning: skipped malformed record file `{}`: {reason}", path.display());
        }
    }
    loaded.records
}

/// An IO problem outside any stage (writing an output file, stdout).
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[error("cannot {action} `{}`", path.display())]
#[diagnostic(code(ix::io))]
pub(super) struct IoError {
    action: &'static str,
    path: PathBuf,
    #[source]
    source: std::io::Error,
}

pub(super) fn write_file(path: &Path, contents: &str) -> Result<(), IoError> {
    std::fs::write(path, contents).map_err(|source| IoError { action: "write", path: path.to_path_buf(), source })
}

/// Writes to stdout; a closed pipe is not an error.
pub(super) fn print_stdout(text: &str) {
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(text.as_bytes()).and_then(|()| stdout.flush());
}

fn pretty(value: &Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_default()
}

fn process(args: &ProcessArgs) -> ExitStatus {
    let lookup = |name: &str| std::env::var(name).ok();
    let (job, result_filename) = match results::job_from_env(&lookup) {
        Ok(job) => job,
        Err(error) => return fail(error),
    };
    let raw = match read_json(&args.dir.join(format!("{result_filename}.json"))) {
        Ok(raw) => raw,
        Err(error) => return fail(error),
    };
    let record = match results::process(&job, &raw, ProcessOptions { lenient: args.lenient }) {
        Ok(record) => Value::Object(record),
        Err(error) => return fail(error),
    };
    let text = pretty(&record);
    if let Err(error) = write_file(&args.dir.join(format!("agg_{result_filename}.json")), &text) {
        return fail(error);
    }
    print_stdout(&format!("{text}\n"));
    ExitStatus::Success
}

fn collect(args: &CollectArgs) -> ExitStatus {
    let list = match results::collect(&args.dir) {
        Ok(list) => Value::Array(list),
        Err(error) => return fail(error),
    };
    match write_file(&args.out_dir.join(format!("agg_{}.json", args.name)), &pretty(&list)) {
        Ok(()) => ExitStatus::Success,
        Err(error) => fail(error),
    }
}

fn summary(args: &SummaryArgs) -> ExitStatus {
    let records = match results::load_records(&args.dir, args.skip_malformed) {
        Ok(loaded) => warn_skipped(loaded),
        Err(error) => return fail(error),
    };
    let table = match results::summarize(&records, SummaryOptions { lenient: args.lenient }) {
        Ok(table) => table,
        Err(error) => return fail(error),
    };
    let markdown = to_markdown(&table);
    let text = match args.format {
        TableFormat::Md => markdown.clone(),
        TableFormat::Csv => to_csv(&table),
        TableFormat::Json => format!("{}\n", pretty(&to_json(&table))),
    };
    print_stdout(&text);
    append_step_summary(&markdown)
}

/// Appends markdown to `$GITHUB_STEP_SUMMARY` when it is set.
pub(super) fn append_step_summary(markdown: &str) -> ExitStatus {
    let Some(path) = std::env::var_os("GITHUB_STEP_SUMMARY").filter(|path| !path.is_empty()) else {
        return ExitStatus::Success;
    };
    let path = PathBuf::from(path);
    let appended = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .and_then(|mut file| file.write_all(markdown.as_bytes()));
    match appended {
        Ok(()) => ExitStatus::Success,
        Err(source) => fail(IoError { action: "append to", path, source }),
    }
}

fn success_rate(args: &SuccessRateArgs) -> ExitStatus {
    let runners = match std::fs::read_to_string(&args.runners) {
        Ok(text) => text,
        Err(source) => return fail(IoError { action: "read", path: args.runners.clone(), source }),
    };
    let skus = match skus_from_runners(&runners) {
        Ok(skus) => skus,
        Err(error) => return fail(error),
    };
    let out = PathBuf::from(format!("{}.json", args.outname));
    let jobs = match &args.jobs {
        Some(path) => match read_json(path) {
            Ok(jobs) => jobs,
            Err(error) => return fail(error),
        },
        None => {
            let lookup = |name: &str| std::env::var(name).ok();
            let fetched = GithubRun::from_env(&lookup).and_then(|run| fetch_run_jobs(&run));
            match fetched {
                Ok(jobs) => jobs,
                // As the reference does: say so, write `null`, and do not fail the workflow.
                Err(error @ FetchError::Unauthorized { .. }) => {
                    if let Err(error) = write_file(&out, "null") {
                        return fail(error);
                    }
                    let _ = fail(error);
                    return ExitStatus::Success;
                }
                Err(error) => return fail(error),
            }
        }
    };
    let counts = match success_rates(&jobs, &skus) {
        Ok(counts) => counts,
        Err(error) => return fail(error),
    };
    if let Err(error) = write_file(&out, &pretty(&results::success_rate::to_json(&counts))) {
        return fail(error);
    }
    let rows: Vec<Vec<Option<String>>> = counts
        .iter()
        .filter(|(_, count)| count.total > 0)
        .map(|(sku, count)| {
            let rate = 100.0 * count.n_success as f64 / count.total as f64;
            vec![
                Some(sku.to_uppercase()),
                Some(count.n_success.to_string()),
                Some(count.total.to_string()),
                Some(format!("{rate:.1}%")),
            ]
        })
        .collect();
    print_stdout(&format!("{}\n", github_table(&["GPU", "Succeeded", "Total", "Success Rate"], &rows)));
    ExitStatus::Success
}

/// Processes, collects and summarises `--records` synthetic results through the same library
/// calls and file layout as the real commands, and prints the time of each phase.
fn bench(args: &ResultsBenchArgs) -> ExitStatus {
    let dir = std::env::temp_dir().join(format!("ix-results-bench-{}", std::process::id()));
    let outcome = bench_in(&dir, args.records);
    let _ = std::fs::remove_dir_all(&dir);
    match outcome {
        Ok(report) => {
            print_stdout(&report);
            ExitStatus::Success
        }
        Err(message) => {
            #[allow(clippy::print_stderr)]
            {
                eprintln!("error: {message}");
            }
            ExitStatus::Error
        }
    }
}

fn bench_in(dir: &Path, n_records: usize) -> Result<String, String> {
    let models = ["dsr1", "gptoss", "llama70b", "qwen3"];
    let hardware = ["b200", "h200", "mi355x", "gb200", "h100"];
    let frameworks = ["sglang", "vllm", "trt"];
    let raws: Vec<(results::JobParams, Value)> = (0..n_records)
        .map(|idx| {
            let tp = [1, 2, 4, 8][idx % 4];
            let conc = 1 << (idx % 10);
            let job = results::JobParams {
                hw: hardware[idx % hardware.len()].into(),
                image: "example/image:1".into(),
                model_prefix: models[(idx / 7) % models.len()].into(),
                framework: frameworks[(idx / 3) % frameworks.len()].into(),
                precision: if idx % 2 == 0 { "fp8" } else { "fp4" }.into(),
                spec_decoding: "none".into(),
                disagg: false,
                isl: 1024,
                osl: if idx % 3 == 0 { 8192 } else { 1024 },
                topology: results::Topology::Single { tp, ep: 1, dp_attention: "false".into() },
            };
            let scale = 1.0 + (idx % 97) as f64 / 50.0;
            let raw = serde_json::json!({
                "date": "20260110-031522", "backend": "vllm", "model_id": "org/model",
                "max_concurrency": conc, "duration": 400.0 * scale, "completed": 10 * conc,
                "request_throughput": 1.5 * scale, "request_goodput:": null,
                "output_throughput": 9101.3381 * scale, "total_token_throughput": 18734.52219 * scale,
                "mean_ttft_ms": 812.4 * scale, "median_ttft_ms": 640.12 * scale, "std_ttft_ms": 402.9, "p99_ttft_ms": 2480.7,
                "mean_tpot_ms": 6.81 * scale, "median_tpot_ms": 6.70 * scale, "std_tpot_ms": 0.88, "p99_tpot_ms": 9.33,
                "mean_itl_ms": 6.7, "median_itl_ms": 5.9, "std_itl_ms": 12.0, "p99_itl_ms": 41.5,
                "mean_e2el_ms": 62051.2 * scale, "median_e2el_ms": 61987.4 * scale, "std_e2el_ms": 1800.3, "p99_e2el_ms": 66120.9
            });
            (job, raw)
        })
        .collect();
    for artifact in 0..50 {
        std::fs::create_dir_all(dir.join(format!("bmk_{artifact}"))).map_err(|err| err.to_string())?;
    }

    let (start, cpu_start) = (Instant::now(), cpu_time());
    for (idx, (job, raw)) in raws.iter().enumerate() {
        let record = results::process(job, raw, ProcessOptions::default()).map_err(|err| err.to_string())?;
        let text = serde_json::to_string_pretty(&record).map_err(|err| err.to_string())?;
        let path = dir.join(format!("bmk_{}/agg_{idx}.json", idx % 50));
        std::fs::write(path, text).map_err(|err| err.to_string())?;
    }
    let processed = (start.elapsed(), cpu_time() - cpu_start);

    let (start, cpu_start) = (Instant::now(), cpu_time());
    let list = results::collect(dir).map_err(|err| err.to_string())?;
    let collected_text = serde_json::to_string_pretty(&Value::Array(list)).map_err(|err| err.to_string())?;
    std::fs::write(dir.join("collected.txt"), &collected_text).map_err(|err| err.to_string())?;
    let collected = (start.elapsed(), cpu_time() - cpu_start);

    let (start, cpu_start) = (Instant::now(), cpu_time());
    let records = results::load_records(dir, false).map_err(|err| err.to_string())?.records;
    let render_start = Instant::now();
    let table = results::summarize(&records, SummaryOptions::default()).map_err(|err| err.to_string())?;
    let markdown = to_markdown(&table);
    let rendered = render_start.elapsed();
    let summarised = (start.elapsed(), cpu_time() - cpu_start);

    let total = (processed.0 + collected.0 + summarised.0, processed.1 + collected.1 + summarised.1);
    let line = |(wall, cpu): (std::time::Duration, Cpu)| {
        format!("{:.3} s wall, {:.3} s CPU ({:.3} s system)", wall.as_secs_f64(), cpu.total, cpu.system)
    };
    let mut report = format!(
        "records: {n_records} (threads: {})\nprocess (library, write agg files): {}\ncollect (read all, write list): {}\n\
         summary (read all, sort, render {} bytes of markdown): {} (sort + render: {:.3} s wall)\ntotal: {}\n",
        std::thread::available_parallelism().map_or(1, |n| n.get()),
        line(processed),
        line(collected),
        markdown.len(),
        line(summarised),
        rendered.as_secs_f64(),
        line(total)
    );
    if processed.1.system > 0.5 && processed.1.system > 0.5 * processed.1.total {
        report.push_str(&format!(
            "note: the process phase spent {:.3} s in the kernel creating {n_records} files. On ext4 without a journal, \
             file creation right after many deletions is slow for any program (BENCHMARKS.md, results); \
             TMPDIR selects another file system.\n",
            processed.1.system
        ));
    }
    Ok(report)
}

/// CPU seconds used by this process so far (all threads): user + system, and system alone.
fn cpu_time() -> Cpu {
    // SAFETY: getrusage only writes into the zeroed struct we pass.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut usage);
        usage
    };
    let seconds = |time: libc::timeval| time.tv_sec as f64 + time.tv_usec as f64 / 1e6;
    Cpu { total: seconds(usage.ru_utime) + seconds(usage.ru_stime), system: seconds(usage.ru_stime) }
}

/// CPU time, and the part of it spent in the kernel (file creation shows there).
#[derive(Clone, Copy)]
struct Cpu {
    total: f64,
    system: f64,
}

impl std::ops::Sub for Cpu {
    type Output = Cpu;

    fn sub(self, other: Cpu) -> Cpu {
        Cpu { total: self.total - other.total, system: self.system - other.system }
    }
}

impl std::ops::Add for Cpu {
    type Output = Cpu;

    fn add(self, other: Cpu) -> Cpu {
        Cpu { total: self.total + other.total, system: self.system + other.system }
    }
}
