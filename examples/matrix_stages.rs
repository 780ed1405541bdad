//! Where `ix matrix full-sweep` spends its time, stage by stage, in one process:
//! `cargo run --release --example matrix_stages [REFERENCE_DIR]` (default `../shared/reference`).
//!
//! For today's masters (`head/configs`) and the Feb ones (`configs`): saphyr's events alone
//! (its scanner and parser, the path of files outside the fast path's subset), the spanned tree
//! (`yaml::parse`, through `yaml::fast` when it accepts the file), validation into the IR,
//! expansion and eval marking, JSON text. Each figure is the least thread CPU time of 100 runs,
//! so a busy machine disturbs it less than wall time or a mean. Prints figures only (speed targets are not tests).

#![allow(clippy::print_stdout)]

use std::time::Duration;

use ix::expand::{self, FullSweep, HeadEvals, KeyOrder, NodeMode};
use ix::ir::{Format, inferencex, runners};
use ix::source::SourceMap;

/// This thread's CPU time: unlike wall time, it does not count waiting for a busy machine's cores.
fn thread_cpu() -> Duration {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `ts` is a valid timespec for the call to fill.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

fn best<T>(mut f: impl FnMut() -> T) -> (Duration, T) {
    let mut best = Duration::MAX;
    let mut out = None;
    for _ in 0..100 {
        let start = thread_cpu();
        let value = f();
        best = best.min(thread_cpu().saturating_sub(start));
        out = Some(value);
    }
    (best, out.expect("100 runs"))
}

struct Sink;

impl saphyr_parser::SpannedEventReceiver<'_> for Sink {
    fn on_event(&mut self, event: saphyr_parser::Event<'_>, _span: saphyr_parser::Span) {
        std::hint::black_box(event);
    }
}

#[allow(clippy::result_large_err)] // `yaml::parse` results, kept to time their drop too
fn main() {
    let reference = std::env::args().nth(1).unwrap_or_else(|| "../shared/reference".to_string());
    for (label, dir, modes) in [
        ("today's masters", format!("{reference}/head/configs"), vec![None]),
        ("Feb masters", format!("{reference}/configs"), vec![Some(NodeMode::Single), Some(NodeMode::Multi)]),
    ] {
        let mut sources = SourceMap::new();
        let mut files = Vec::new();
        for name in ["nvidia-master.yaml", "amd-master.yaml"] {
            let text = std::fs::read_to_string(format!("{dir}/{name}")).expect("master file");
            files.push(sources.add(name.to_string(), text.into()));
        }
        let runners_text = std::fs::read_to_string(format!("{dir}/runners.yaml")).expect("runners.yaml");
        let runners_file = sources.add("runners.yaml".to_string(), runners_text.into());
        let table = runners::lower_runners(&sources, runners_file, &mut Vec::new());
        let (events, ()) = best(|| {
            for &file in &files {
                let mut parser = saphyr_parser::Parser::new_from_str(&sources.get(file).text);
                let _ = parser.load(&mut Sink, false);
            }
        });
        let (tree, _) =
            best(|| files.iter().map(|&file| ix::yaml::parse(file, &sources.get(file).text)).collect::<Vec<_>>());
        let (lowered, (sweep, _)) = best(|| inferencex::lower_master_configs(&sources, &files));
        for mode in modes {
            let opts = FullSweep::new(mode.unwrap_or(NodeMode::Single));
            let (expanded, jobs) = best(|| {
                let mut jobs = expand::full_sweep(&sweep, &table, &opts).unwrap_or_default();
                if sweep.format() == Format::Head {
                    expand::mark_evals_head(&mut jobs, HeadEvals { evals_only: false, all_evals: false });
                }
                jobs
            });
            let (json, text) = best(|| {
                let mut line = String::new();
                for job in &jobs {
                    job.write_json(KeyOrder::Sweep, &mut line);
                }
                line
            });
            let ms = |d: Duration| d.as_secs_f64() * 1e3;
            println!(
                "{label} {mode:?}: saphyr events {:.1} ms (not on the path) · tree {:.1} ms · tree + validation {:.1} ms · expand + evals {:.1} ms ({} jobs) · JSON {:.1} ms ({} bytes)",
                ms(events),
                ms(tree),
                ms(lowered),
                ms(expanded),
                jobs.len(),
                ms(json),
                text.len()
            );
        }
    }
}
