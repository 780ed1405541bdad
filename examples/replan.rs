//! Re-plan benchmark: the work `ix plan --watch` does after a one-line edit, timed in-process.
//!
//!     cargo run --release --example replan -- DIR [ROUNDS] -- CONFIG...
//!
//! `DIR` is a project (the benchmark scripts and launchers the configs need, `runners.yaml`, and
//! optionally a state store `.ix` whose records every plan then looks up);
//! `bench/engine.sh` prepares one from the vendor master configs. The example plans once (cold),
//! then alternates two edits `ROUNDS` times each (default 50): a line appended to the first
//! benchmark script, and the first `model:` line of the first config toggled. After each edit it
//! times what `--watch` times: `PlanSession::refresh` + `PlanSession::plan`. It prints min,
//! median and max per edit kind, with the median of each stage. The files are restored at the end.

#![allow(clippy::print_stdout)] // a benchmark program: its figures are its output

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use ix::expand::NodeMode;
use ix::expand::select::JobSelection;
use ix::plan::PlanOptions;
use ix::session::{PlanRequest, PlanSession, Timings};

fn first_script(dir: &Path) -> PathBuf {
    let mut scripts: Vec<PathBuf> = walk(&dir.join("benchmarks"))
        .into_iter()
        .filter(|path| path.extension().is_some_and(|ext| ext == "sh") && !path.ends_with("benchmark_lib.sh"))
        .collect();
    scripts.sort();
    scripts.into_iter().next().expect("no benchmark script under DIR/benchmarks")
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(walk(&path));
        } else {
            found.push(path);
        }
    }
    found
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

fn summary(name: &str, mut samples: Vec<(Duration, Timings, usize)>) {
    samples.sort_by_key(|sample| sample.0);
    let median = |values: &mut Vec<f64>| {
        values.sort_by(f64::total_cmp);
        values[values.len() / 2]
    };
    let mut load: Vec<f64> = samples.iter().map(|s| ms(s.1.load + s.1.expand)).collect();
    let mut build: Vec<f64> = samples.iter().map(|s| ms(s.1.build)).collect();
    let mut plan: Vec<f64> = samples.iter().map(|s| ms(s.1.plan)).collect();
    let keyed = samples[0].2;
    println!(
        "{name:<28} min {:>6.3} ms  median {:>6.3} ms  max {:>6.3} ms   (median stages: load+expand {:.3} · build {:.3} · plan {:.3} ms; {keyed} jobs re-keyed)",
        ms(samples[0].0),
        ms(samples[samples.len() / 2].0),
        ms(samples[samples.len() - 1].0),
        median(&mut load),
        median(&mut build),
        median(&mut plan),
    );
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let split = args.iter().position(|arg| arg == "--").expect("usage: replan DIR [ROUNDS] -- CONFIG...");
    let dir = PathBuf::from(&args[0]);
    let rounds: usize = args.get(1).filter(|_| split > 1).map_or(50, |n| n.parse().expect("ROUNDS is a number"));
    let configs: Vec<String> = args[split + 1..].to_vec();
    std::env::set_current_dir(&dir).expect("cannot enter DIR");
    let dir = PathBuf::from(".");

    let filters = ix::expand::FullSweep::new(NodeMode::Single);
    let request = PlanRequest {
        config_files: configs.clone(),
        runner_config: Some("runners.yaml".into()),
        selection: JobSelection { filters, ..JobSelection::all() },
        options: PlanOptions::default(),
        evals: Default::default(),
        images: Default::default(),
    };
    // The project's state store when it has one (`.ix`): plans then look up every task's record.
    let store = ix::state::StateStore::open_existing(std::path::Path::new(".ix")).expect("cannot open .ix");
    // `IX_REPLAN_VERIFY=1`: compare every re-plan with a fresh plan (slow; a correctness check).
    let verify = std::env::var_os("IX_REPLAN_VERIFY").is_some();
    let fresh_request = request.clone();
    let mut session = PlanSession::new(request, &dir).with_memo();
    let started = Instant::now();
    let planned = session.plan(store.as_ref());
    let cold = started.elapsed();
    let plan = planned.plan.as_ref().expect("the cold plan has errors");
    let reused = plan.tasks.iter().filter(|task| task.action == ix::plan::Action::Reuse).count();
    println!(
        "cold plan (in-process, first plan of the session): {:.3} ms, {} jobs, {} tasks ({})",
        ms(cold),
        planned.n_jobs,
        plan.tasks.len(),
        match &store {
            Some(_) => format!("state store .ix: {reused} reused"),
            None => "no state store".to_string(),
        }
    );
    session.recycle(planned);

    let script = first_script(&dir);
    let script_text = std::fs::read_to_string(&script).unwrap();
    let sweep = PathBuf::from(&configs[0]);
    let sweep_text = std::fs::read_to_string(&sweep).unwrap();
    let model_line =
        sweep_text.lines().find(|line| line.starts_with("  model: ")).expect("no `  model:` line").to_string();
    let edited_sweep = sweep_text.replacen(&model_line, &format!("{model_line}-e"), 1);

    // `IX_REPLAN_PAUSE_MS`: idle time before each re-plan, as between edits in `--watch` (caches
    // go cold meanwhile).
    let pause = std::env::var("IX_REPLAN_PAUSE_MS").ok().and_then(|ms| ms.parse().ok()).map(Duration::from_millis);
    let replan = |session: &mut PlanSession| {
        if let Some(pause) = pause {
            std::thread::sleep(pause);
        }
        // Files are stamped by mtime and size: every edit here changes the size.
        let started = Instant::now();
        session.refresh();
        let planned = session.plan(store.as_ref());
        let elapsed = started.elapsed();
        assert!(planned.plan.is_some(), "re-plan has errors");
        let timings = planned.timings;
        if verify {
            // The re-plan must equal a fresh plan of the same files, origins included.
            let fresh = PlanSession::new(fresh_request.clone(), &dir).plan(store.as_ref());
            let view = |planned: &ix::session::Planned| -> Vec<String> {
                let plan = planned.plan.as_ref().expect("a plan");
                plan.graph
                    .tasks
                    .iter()
                    .zip(&plan.tasks)
                    .map(|(t, p)| {
                        format!("{} {:?} {:?} {:?} {:?}", t.id, t.hash, t.manifest.entries(), t.origin, p.action)
                    })
                    .collect()
            };
            let (a, b) = (view(&planned), view(&fresh));
            let differ = a.iter().zip(&b).find(|(a, b)| a != b);
            assert!(differ.is_none() && a.len() == b.len(), "re-plan differs from a fresh plan: {differ:#?}");
        }
        // As `ix plan --watch` does once the plan is shown.
        session.recycle(planned);
        (elapsed, timings, session.last_keyed())
    };
    let (mut script_samples, mut sweep_samples) = (Vec::new(), Vec::new());
    for round in 0..rounds {
        std::fs::write(&script, format!("{script_text}# edit {round}\n")).unwrap();
        script_samples.push(replan(&mut session));
        let text = if round % 2 == 0 { &edited_sweep } else { &sweep_text };
        std::fs::write(&sweep, text).unwrap();
        sweep_samples.push(replan(&mut session));
    }
    std::fs::write(&script, &script_text).unwrap();
    std::fs::write(&sweep, &sweep_text).unwrap();
    println!(
        "{rounds} rounds of each edit ({} of {} re-plans patched the previous graph); time = refresh + plan, as `ix plan --watch` reports it:",
        session.patched(),
        2 * rounds
    );
    summary("one line appended to script", script_samples);
    summary("first `model:` line edited", sweep_samples);
}
