//! Every input that can change a result is in its task's key: each job field and eval
//! setting, changed alone, changes the hash of exactly the tasks it can affect, and every
//! contract variable is reached by some change.

use super::*;
use crate::contract::{Setting, Threshold};
use crate::dag::hash::file_digest;
use crate::ir::{ConfigEntry, SpecDecoding, Worker};
use crate::source::{FileId, Spanned};

fn span() -> Span {
    Span::new(FileId(0), 0, 0)
}

fn job() -> Job {
    crate::contract::tests::single_job()
}

fn multi_job() -> Job {
    let worker = |tp: i64| Worker {
        num_worker: 1,
        tp,
        ep: 1,
        dp_attn: false,
        additional_settings: None,
        parallel: Default::default(),
        hardware: None,
    };
    Job { shape: JobShape::Multi { prefill: worker(4), decode: worker(8), conc: vec![8, 16] }, ..job() }
}

/// An entry without seq-len blocks: origins do not enter hashes, so none are needed.
fn entry() -> ConfigEntry {
    let s = |text: &str| Spanned::new(text.to_string(), span());
    ConfigEntry {
        key: s("demo"),
        image: s("img"),
        model: s("org/demo"),
        model_prefix: s("demo"),
        precision: s("fp8"),
        framework: s("vllm"),
        runner: s("h100"),
        multinode: false,
        disagg: false,
        seq_len_configs: Vec::new(),
        format: Default::default(),
        router: None,
        kv_p2p_transfer: None,
        agentic: Vec::new(),
        span: span(),
    }
}

/// The bench and eval hashes of `job` with `evals`.
fn hashes(job: &Job, evals: &EvalSettings) -> (Digest, Digest, Vec<String>) {
    let entry = entry();
    let at = |_: Span| None;
    let file = |path: &str| FileInput { path: path.into(), digest: file_digest(path.as_bytes()) };
    let (script, launcher) = (file("benchmarks/s.sh"), file("runners/launch_h100.sh"));
    let node: Arc<str> = "h100_0".into();
    let path: Arc<str> = "p".into();
    let image = ImageId { digest: format!("sha256:{}", "ab".repeat(32)), reference: job.image.clone() };
    let memo = key_job(&JobContext {
        job,
        job_idx: 0,
        entry: &entry,
        at: &at,
        node: &node,
        entry_line: 1,
        layout: Arc::from([]),
        launch_slot: &path,
        script_path: &path,
        launcher_path: &path,
        script: &script,
        sourced: &[],
        launcher: &launcher,
        launch_hash: file_digest(b"launch"),
        image: &image,
        evals,
        repeat: 0,
    });
    let eval = memo.eval.as_ref().expect("the job is an eval job").0;
    let mut names: Vec<String> = memo.bench.1.iter().map(|e| e.name.to_string()).collect();
    names.extend(memo.eval_manifest_names());
    (memo.bench.0, eval, names)
}

impl JobMemo {
    fn eval_manifest_names(&self) -> Vec<String> {
        self.eval.iter().flat_map(|(_, m)| m.iter().map(|e| e.name.to_string())).collect()
    }
}

type JobEdit = (&'static str, fn(&mut Job), bool, bool);

#[test]
fn every_job_field_changes_exactly_the_tasks_it_can_affect() {
    let evals = EvalSettings::default();
    // (what, edit, changes the bench, changes the eval)
    let single: Vec<JobEdit> = vec![
        ("model", |j| j.model.push('x'), true, true),
        ("model_prefix", |j| j.model_prefix.push('x'), true, true),
        ("precision", |j| j.precision = "fp4".into(), true, true),
        ("framework", |j| j.framework = "sglang".into(), true, true),
        ("runner", |j| j.runner = "h200".into(), true, true),
        ("isl", |j| j.isl = 8192, true, true),
        ("osl", |j| j.osl = 8192, true, true),
        ("spec_decoding", |j| j.spec_decoding = SpecDecoding::Mtp, true, true),
        ("max_model_len", |j| j.max_model_len += 1, true, true),
        ("disagg", |j| j.disagg = true, true, true),
        ("exp_name", |j| j.exp_name.push('x'), true, true),
        ("tp", |j| j.shape = JobShape::Single { tp: 8, ep: 1, dp_attn: false, conc: 4 }, true, true),
        ("ep", |j| j.shape = JobShape::Single { tp: 2, ep: 2, dp_attn: false, conc: 4 }, true, true),
        ("dp_attn", |j| j.shape = JobShape::Single { tp: 2, ep: 1, dp_attn: true, conc: 4 }, true, true),
        ("conc", |j| j.shape = JobShape::Single { tp: 2, ep: 1, dp_attn: false, conc: 8 }, true, true),
        // The image's identity in keys is its digest (same digest here): no change.
        ("image", |j| j.image.push('x'), false, false),
        // Origins sit beside keys.
        ("origin", |j| j.origin.point_idx += 1, false, false),
    ];
    let (bench, eval, _) = hashes(&job(), &evals);
    for (what, edit, bench_changes, eval_changes) in single {
        let mut changed = job();
        edit(&mut changed);
        let (b, e, _) = hashes(&changed, &evals);
        assert_eq!(b != bench, bench_changes, "editing `{what}`: bench hash changed = {}", b != bench);
        assert_eq!(e != eval, eval_changes, "editing `{what}`: eval hash changed = {}", e != eval);
    }
    let multi: Vec<JobEdit> = vec![
        ("prefill workers", |j| edit_worker(j, true, |w| w.num_worker = 2), true, true),
        ("prefill tp", |j| edit_worker(j, true, |w| w.tp = 2), true, true),
        ("decode ep", |j| edit_worker(j, false, |w| w.ep = 4), true, true),
        ("decode dp-attn", |j| edit_worker(j, false, |w| w.dp_attn = true), true, true),
        (
            "a setting",
            |j| edit_worker(j, true, |w| w.additional_settings = Some(vec!["NCCL_DEBUG=INFO".into()])),
            true,
            true,
        ),
        (
            "conc list",
            |j| {
                if let JobShape::Multi { conc, .. } = &mut j.shape {
                    conc.push(32);
                }
            },
            true,
            true,
        ),
    ];
    let (bench, eval, _) = hashes(&multi_job(), &evals);
    for (what, edit, bench_changes, eval_changes) in multi {
        let mut changed = multi_job();
        edit(&mut changed);
        let (b, e, _) = hashes(&changed, &evals);
        assert_eq!(b != bench, bench_changes, "editing `{what}` (multi-node)");
        assert_eq!(e != eval, eval_changes, "editing `{what}` (multi-node)");
    }
}

fn edit_worker(job: &mut Job, prefill_side: bool, edit: fn(&mut Worker)) {
    if let JobShape::Multi { prefill, decode, .. } = &mut job.shape {
        edit(if prefill_side { prefill } else { decode });
    }
}

#[test]
fn eval_settings_change_only_eval_tasks() {
    let base = EvalSettings::default();
    let (bench, eval, _) = hashes(&job(), &base);
    type SettingsEdit = (&'static str, fn(&mut EvalSettings));
    let edits: Vec<SettingsEdit> = vec![
        ("task", |s| s.task = Setting::default_value("ix_smoke".into())),
        ("num-fewshot", |s| s.num_fewshot = Setting::default_value(5)),
        ("limit", |s| s.limit = Some(Setting::default_value(10))),
        ("threshold", |s| s.thresholds.push(Threshold { task: "gsm8k".into(), model: None, min_score: 0.5, at: None })),
    ];
    for (what, edit) in edits {
        let mut settings = base.clone();
        edit(&mut settings);
        let (b, e, _) = hashes(&job(), &settings);
        assert_eq!(b, bench, "`{what}` must not rerun benchmarks");
        assert_ne!(e, eval, "`{what}` must rerun evals");
    }
    // A threshold of another task or another model does not gate this eval.
    let mut settings = base.clone();
    settings.thresholds.push(Threshold { task: "other".into(), model: None, min_score: 0.5, at: None });
    settings.thresholds.push(Threshold {
        task: "gsm8k".into(),
        model: Some("another/model".into()),
        min_score: 0.5,
        at: None,
    });
    assert_eq!(hashes(&job(), &settings).1, eval);
}

#[test]
fn every_contract_variable_is_a_key_input_of_its_tasks() {
    let evals = EvalSettings { limit: Some(Setting::default_value(3)), ..EvalSettings::default() };
    for job in [job(), multi_job()] {
        let contract = Contract::of(&job, &evals);
        let (_, _, names) = hashes(&job, &evals);
        for var in contract.bench_vars().chain(contract.eval_vars()) {
            assert!(names.iter().any(|name| **name == *var.key), "`{}` ({}) is in no key", var.env, var.key);
        }
        assert!(names.iter().any(|name| name == "image"), "the image digest is in the keys");
    }
}

#[test]
fn every_field_of_todays_format_changes_the_tasks_it_can_affect() {
    use crate::expand::Scenario;
    use crate::ir::{Component, Format, KvOffloading};
    let evals = EvalSettings::default();
    let head_job = || {
        let mut job = job();
        job.head.format = Format::Head;
        job.head.scenario = Scenario::AgenticCoding;
        job.head.kv_offloading = Some(KvOffloading::Dram);
        job.head.total_cpu_dram_gb = 100;
        job.head.duration = 3600;
        job
    };
    let (bench, eval, _) = hashes(&head_job(), &evals);
    let edits: Vec<JobEdit> = vec![
        ("scenario", |j| j.head.scenario = crate::expand::Scenario::FixedSeqLen, true, true),
        ("pp", |j| j.head.parallel.pp = Some(2), true, true),
        ("dcp-size", |j| j.head.parallel.dcp_size = Some(2), true, true),
        ("pcp-size", |j| j.head.parallel.pcp_size = Some(2), true, true),
        ("router", |j| j.head.router = Some(Component { name: "dynamo".into(), version: None }), true, true),
        ("kv-p2p-transfer", |j| j.head.kv_p2p_transfer = Some("nixl".into()), true, true),
        ("kv-offloading", |j| j.head.kv_offloading = Some(crate::ir::KvOffloading::None), true, true),
        (
            "kv-offload-backend",
            |j| j.head.kv_offload_backend = Some(Component { name: "lmcache".into(), version: Some("1".into()) }),
            true,
            true,
        ),
        ("total-cpu-dram-gb", |j| j.head.total_cpu_dram_gb = 200, true, true),
        ("duration", |j| j.head.duration = 600, true, true),
        // Which tasks a job has, not an input of one.
        ("eval-only", |j| j.head.eval_only = true, false, false),
    ];
    for (what, edit, bench_changes, eval_changes) in edits {
        let mut changed = head_job();
        edit(&mut changed);
        let (b, e, _) = hashes(&changed, &evals);
        assert_eq!(b != bench, bench_changes, "editing `{what}` (today's format)");
        assert_eq!(e != eval, eval_changes, "editing `{what}` (today's format)");
    }
    // Feb jobs keep the Feb contract exactly: none of today's variables.
    let feb = Contract::of(&job(), &evals);
    assert!(feb.bench_vars().all(|var| !["SCENARIO_TYPE", "PP_SIZE", "DURATION"].contains(&&*var.env)));
}
