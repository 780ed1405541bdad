//! Benchmark of the `.ix` front end: `cargo run --example dsl_bench [--release] [REFERENCE_CONFIGS_DIR]`.
//!
//! Lowers both InferenceX vendor files to `.ix` (printing the line figures recorded in
//! BENCHMARKS.md), then times parse + check + expand (full-sweep, single- and multi-node) of the
//! lowered nvidia file. Prints figures only; no assertion (speed targets are not tests).

#![allow(clippy::print_stdout)]

use std::time::{Duration, Instant};

use ix::expand::{self, FullSweep, NodeMode};
use ix::ir::lower;
use ix::ir::to_dsl::{ToDsl, to_dsl};
use ix::ir::{inferencex, runners};
use ix::source::SourceMap;
use ix::syntax::{self, format::format_file};

fn main() {
    let dir = std::env::args().nth(1).unwrap_or_else(|| "../shared/reference/configs".to_string());
    let mut sources = SourceMap::new();
    let runners_text = std::fs::read_to_string(format!("{dir}/runners.yaml")).expect("runners.yaml");
    let runners_file = sources.add("runners.yaml".to_string(), runners_text.into());
    let mut diags = Vec::new();
    let table = runners::lower_runners(&sources, runners_file, &mut diags);
    let mut nvidia_ix = String::new();
    for name in ["nvidia-master", "amd-master"] {
        let yaml = std::fs::read_to_string(format!("{dir}/{name}.yaml")).expect("vendor file");
        let file = sources.add(format!("{name}.yaml"), yaml.clone().into());
        let (sweep, diags) = inferencex::lower_master_configs(&sources, &[file]);
        assert!(diags.iter().all(|d| !d.is_error()), "{name}.yaml does not validate");
        let text = format_file(&to_dsl(
            &sweep,
            &ToDsl { header: Some(format!("lowered from {name}.yaml")), runners_path: None },
        ));
        let (yaml_lines, ix_lines) = (yaml.lines().count(), text.lines().count());
        println!(
            "{name}: yaml {yaml_lines} lines -> ix {ix_lines} lines ({:.1}%), {} bytes -> {} bytes",
            100.0 * ix_lines as f64 / yaml_lines as f64,
            yaml.len(),
            text.len()
        );
        if name == "nvidia-master" {
            nvidia_ix = text;
        }
    }
    let iterations = 50;
    let mut times: Vec<Duration> = Vec::with_capacity(iterations);
    let mut stages = [Duration::MAX; 3];
    let mut n_jobs = 0;
    for _ in 0..iterations {
        let started = Instant::now();
        let mut sources = SourceMap::new();
        let file = sources.add("nvidia-master.ix".to_string(), nvidia_ix.as_str().into());
        let (ast, diags) = syntax::parse(file, &sources.get(file).text);
        assert!(diags.is_empty());
        let parsed = Instant::now();
        let (lowered, diags) = lower::lower(&ast.expect("parses"), &Default::default());
        assert!(diags.iter().all(|d| !d.is_error()));
        let checked = Instant::now();
        n_jobs = 0;
        for mode in [NodeMode::Single, NodeMode::Multi] {
            n_jobs += expand::full_sweep(&lowered.sweep, &table, &FullSweep::new(mode)).expect("expands").len();
        }
        let done = Instant::now();
        for (stage, time) in stages.iter_mut().zip([parsed - started, checked - parsed, done - checked]) {
            *stage = (*stage).min(time);
        }
        times.push(started.elapsed());
    }
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "parse+check+expand nvidia-master.ix ({n_jobs} jobs), {iterations} runs: min {:.2} ms, median {:.2} ms, max {:.2} ms",
        ms(times[0]),
        ms(times[iterations / 2]),
        ms(times[iterations - 1])
    );
    println!(
        "fastest stage times: parse {:.2} ms, check {:.2} ms, expand {:.2} ms",
        ms(stages[0]),
        ms(stages[1]),
        ms(stages[2])
    );
}
