//! Keying: the one place a job's tasks are keyed from its contract ([`key_job`]), launch
//! tasks from their inputs, and aggregates from their upstream.

use super::*;

/// What a launch task's key is made of, with the origins of its sweep fields.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct LaunchInputs {
    pub(super) image: String,
    pub(super) digest: ImageId,
    pub(super) image_at: Option<Origin>,
    pub(super) runner_type: String,
    pub(super) runner_at: Option<Origin>,
    pub(super) launcher: FileInput,
}

impl LaunchInputs {
    /// The launch inputs of `job` (from `entry`), launched with `launcher`.
    pub(super) fn of(
        job: &Job,
        entry: &crate::ir::ConfigEntry,
        at: &dyn Fn(Span) -> Option<Origin>,
        launcher: FileInput,
        digest: ImageId,
    ) -> Self {
        LaunchInputs {
            image: job.image.clone(),
            digest,
            image_at: at(entry.image.span),
            runner_type: entry.runner.value.clone(),
            runner_at: at(entry.runner.span),
            launcher,
        }
    }

    pub(super) fn hash_and_manifest(&self) -> (Digest, Manifest) {
        let key = TaskKey::Launch(LaunchKey {
            image: Input::new(self.image.clone(), self.image_at.clone()),
            digest: self.digest.clone(),
            runner_type: Input::new(self.runner_type.clone(), self.runner_at.clone()),
            launcher: self.launcher.clone(),
        });
        let (hash, manifest) = key.hash_and_manifest();
        (hash, manifest.into())
    }
}

/// Every file the `roots` source or run, recursively (`db::source_candidates`), without the
/// roots themselves: sorted by path, deduplicated.
pub(super) fn reached_files(files: &dyn ProjectFiles, roots: &[&str]) -> Vec<FileInput> {
    let mut seen: std::collections::BTreeMap<String, Digest> = std::collections::BTreeMap::new();
    let mut stack: Vec<String> = roots.iter().filter_map(|root| files.facts(root)).flat_map(|f| f.sourced).collect();
    while let Some(next) = stack.pop() {
        if roots.contains(&next.as_str()) || seen.contains_key(&next) {
            continue;
        }
        if let Some(sub) = files.facts(&next) {
            seen.insert(next.clone(), sub.digest);
            stack.extend(sub.sourced);
        }
    }
    seen.into_iter().map(|(path, digest)| FileInput { path, digest }).collect()
}

/// `bench/<config key>/<seq-len>/<shape>/c<conc>/<node>`, written into one string.
pub(super) fn bench_id_of(job: &Job, node: &str) -> String {
    use std::fmt::Write;
    let mut id = String::with_capacity(96);
    let _ = write!(id, "bench/{}/{}/", job.origin.key, seq_len_name(job.isl, job.osl));
    let spec = job.spec_decoding.as_str();
    let _ = match &job.shape {
        JobShape::Single { tp, ep, dp_attn, conc } => {
            write!(id, "tp{tp}-ep{ep}-dpa{}-{spec}/c{conc}", u8::from(*dp_attn))
        }
        JobShape::Multi { prefill, decode, conc } => {
            let _ = write!(
                id,
                "p{}x{}-ep{}-dpa{}_d{}x{}-ep{}-dpa{}-{spec}/c",
                prefill.num_worker,
                prefill.tp,
                prefill.ep,
                u8::from(prefill.dp_attn),
                decode.num_worker,
                decode.tp,
                decode.ep,
                u8::from(decode.dp_attn),
            );
            for (idx, value) in conc.iter().enumerate() {
                if idx > 0 {
                    id.push('x');
                }
                let _ = write!(id, "{value}");
            }
            Ok(())
        }
    };
    let _ = write!(id, "/{node}");
    id
}

/// Keys an aggregate task (collect, summary, report) from its upstream (id, hash) list: the one
/// place aggregates are keyed, for full builds and patches alike.
pub(super) fn key_aggregate(kind: TaskKind, name: String, upstream: Vec<(Arc<str>, Digest)>) -> AggregateMemo {
    let key = TaskKey::Aggregate(AggregateKey {
        stage: kind.as_str(),
        name: name.clone(),
        version: AGGREGATE_VERSION,
        upstream: upstream.iter().map(|(id, hash)| (id.to_string(), *hash)).collect(),
    });
    let (hash, manifest) = key.hash_and_manifest();
    AggregateMemo { kind, name, upstream, hash, manifest: manifest.into() }
}

/// The launch slot of a job: image, runner type and launcher path (one launch task each).
pub(super) fn launch_slot(job: &Job, entry: &crate::ir::ConfigEntry, launcher_path: &str) -> Arc<str> {
    format!("{}\0{}\0{launcher_path}", job.image, entry.runner.value).into()
}

/// What [`key_job`] needs to know about one job.
pub(super) struct JobContext<'a> {
    pub(super) job: &'a Job,
    pub(super) job_idx: usize,
    pub(super) entry: &'a crate::ir::ConfigEntry,
    pub(super) at: &'a dyn Fn(Span) -> Option<Origin>,
    pub(super) node: &'a Arc<str>,
    pub(super) entry_line: u32,
    /// The job's [`job_layout`].
    pub(super) layout: SourceLayout,
    pub(super) launch_slot: &'a Arc<str>,
    pub(super) script_path: &'a Arc<str>,
    pub(super) launcher_path: &'a Arc<str>,
    pub(super) script: &'a FileInput,
    pub(super) sourced: &'a [FileInput],
    pub(super) launcher: &'a FileInput,
    pub(super) launch_hash: Digest,
    /// What the job's image resolved to (its launch task's key holds the same).
    pub(super) image: &'a ImageId,
    pub(super) evals: &'a EvalSettings,
    /// The repeat index (`ix run --repeat`): in the bench key and the task ids when above 0.
    pub(super) repeat: u32,
}

/// Keys one job: derives its contract, builds and hashes its bench, result and eval keys from
/// it and names its tasks. The one place a job's keys are made, for full builds and patches.
pub(super) fn key_job(cx: &JobContext<'_>) -> Box<JobMemo> {
    let JobContext { job, entry, at, node, .. } = *cx;
    let contract = Contract::of(job, cx.evals);
    let origin_of = origins(job, entry, at);
    let vars = |vars: &mut dyn Iterator<Item = &Var>| -> Vec<VarInput> {
        vars.map(|var| VarInput { key: var.key.clone(), value: var.value.clone(), origin: origin_of(&var.source) })
            .collect()
    };
    let image = Input::new(cx.image.clone(), at(entry.image.span));
    let bench = TaskKey::Bench(Box::new(BenchKey {
        image: image.clone(),
        vars: vars(&mut contract.bench_vars()),
        script: cx.script.clone(),
        sourced: cx.sourced.to_vec(),
        launcher: cx.launcher.clone(),
        client_version: BENCH_CLIENT_VERSION,
        repeat: cx.repeat,
    }));
    let (bench_hash, manifest) = bench.hash_and_manifest();
    let result = TaskKey::Result(ResultKey {
        format_version: RESULT_FORMAT_VERSION,
        image_ref: job.image.clone(),
        upstream_bench: bench_hash,
    });
    let (result_hash, result_manifest) = result.hash_and_manifest();
    // An eval scores the server once: repeats measure speed only.
    let eval = (job.run_eval && cx.repeat == 0).then(|| {
        let thresholds = cx
            .evals
            .thresholds_for(&job.model)
            .map(|threshold| {
                let what = match &threshold.model {
                    Some(model) => format!("{}/{model}", threshold.task),
                    None => threshold.task.clone(),
                };
                Input::new((what, threshold.min_score.to_string()), threshold.at.clone())
            })
            .collect();
        let eval = TaskKey::Eval(EvalKey {
            image,
            vars: vars(&mut contract.eval_vars()),
            script: cx.script.clone(),
            sourced: cx.sourced.to_vec(),
            launcher: cx.launcher.clone(),
            harness_version: EVAL_HARNESS_VERSION,
            thresholds,
        });
        let (hash, manifest) = eval.hash_and_manifest();
        (hash, Manifest::from(manifest))
    });
    let mut bench_id = bench_id_of(job, node);
    if cx.repeat > 0 {
        use std::fmt::Write;
        let _ = write!(bench_id, "/repeat-{}", cx.repeat);
    }
    let suffix = &bench_id["bench/".len()..];
    Box::new(JobMemo {
        job: relative_job(job),
        node: node.clone(),
        entry_line: cx.entry_line,
        layout: cx.layout.clone(),
        launch_slot: cx.launch_slot.clone(),
        result_id: format!("result/{suffix}").into(),
        eval_id: format!("eval/{suffix}").into(),
        bench_id: bench_id.into(),
        info: BenchInfo {
            job_idx: cx.job_idx,
            node: node.clone(),
            script: cx.script_path.clone(),
            launcher: cx.launcher_path.clone(),
            result_filename: naming::result_filename(&naming::result_stem(job), node).into(),
        },
        script: cx.script.clone(),
        sourced: cx.sourced.to_vec(),
        launcher: cx.launcher.digest,
        launch_hash: cx.launch_hash,
        bench: (bench_hash, manifest.into()),
        result: (result_hash, result_manifest.into()),
        eval,
    })
}

/// Where each [`Source`] of `job`'s contract is in the sweep.
pub(super) fn origins<'a>(
    job: &'a Job,
    entry: &'a crate::ir::ConfigEntry,
    at: &'a dyn Fn(Span) -> Option<Origin>,
) -> impl Fn(&Source) -> Option<Origin> + 'a {
    let seq = entry.seq_len_configs.get(job.origin.seq_idx);
    let point = seq.and_then(|seq| seq.search_space.get(job.origin.point_idx));
    let single = match point {
        Some(SearchPoint::Single(single)) => Some(single),
        _ => None,
    };
    move |source| {
        let point_span = point.map(|point| point.span());
        let span = match source {
            Source::Image => Some(entry.image.span),
            Source::Model => Some(entry.model.span),
            Source::ModelPrefix => Some(entry.model_prefix.span),
            Source::Precision => Some(entry.precision.span),
            Source::Framework => Some(entry.framework.span),
            Source::Runner => Some(entry.runner.span),
            Source::Isl => seq.map(|seq| seq.isl.span),
            Source::Osl => seq.map(|seq| seq.osl.span),
            Source::SeqLen => seq.map(|seq| seq.span),
            Source::Point => point_span,
            Source::Tp => single.map(|s| s.tp.span).or(point_span),
            Source::Ep => single.and_then(|s| s.ep.as_ref()).map(|ep| ep.span).or(point_span),
            Source::DpAttn => single.and_then(|s| s.dp_attn.as_ref()).map(|d| d.span).or(point_span),
            Source::Conc => point.and_then(|point| {
                let conc = point.concurrency();
                conc.list.as_ref().map(|list| list.span).or_else(|| conc.start.as_ref().map(|start| start.span))
            }),
            Source::Entry => Some(entry.span),
            Source::Evals(origin) => return origin.clone(),
            Source::Constant => None,
        };
        span.and_then(at)
    }
}

/// Where a job's sweep sources are, relative to its entry's first line: (line difference,
/// column) per [`Source`] read from the sweep, in [`LAYOUT_SOURCES`] order. Two builds give a
/// job the same manifest origins (up to the entry's line shift) exactly when its layout is the
/// same, so the memo compares it: an edit inside an entry after a job's point (a comment line
/// before a field that follows the search space) moves origins without moving the point.
pub(super) type SourceLayout = Arc<[Option<(i64, u32)>]>;

/// The sources whose origins are positions in the sweep.
const LAYOUT_SOURCES: [Source; 15] = [
    Source::Image,
    Source::Model,
    Source::ModelPrefix,
    Source::Precision,
    Source::Framework,
    Source::Runner,
    Source::Isl,
    Source::Osl,
    Source::SeqLen,
    Source::Point,
    Source::Tp,
    Source::Ep,
    Source::DpAttn,
    Source::Conc,
    Source::Entry,
];

/// Whether a source's origin is a sweep position (kept in a job's [`SourceLayout`]); exhaustive, so a
/// new source must be placed here.
const fn in_layout(source: &Source) -> bool {
    match source {
        Source::Image
        | Source::Model
        | Source::ModelPrefix
        | Source::Precision
        | Source::Framework
        | Source::Runner
        | Source::Isl
        | Source::Osl
        | Source::SeqLen
        | Source::Point
        | Source::Tp
        | Source::Ep
        | Source::DpAttn
        | Source::Conc
        | Source::Entry => true,
        Source::Evals(_) | Source::Constant => false,
    }
}

/// The [`SourceLayout`] of `job` (from `entry`, whose first byte is on line `entry_line`).
pub(super) fn job_layout(
    job: &Job,
    entry: &crate::ir::ConfigEntry,
    at: &dyn Fn(Span) -> Option<Origin>,
    entry_line: u32,
) -> SourceLayout {
    let origin_of = origins(job, entry, at);
    LAYOUT_SOURCES
        .iter()
        .filter(|source| in_layout(source))
        .map(|source| origin_of(source).map(|o| (i64::from(o.line) - i64::from(entry_line), o.col)))
        .collect()
}

/// The benchmark script a job runs on `node`: the first of the naming rules' candidates that
/// exists in the project (today's launchers try several names), else the first (reported
/// missing).
pub(super) fn pick_script(files: &dyn ProjectFiles, job: &Job, node: &str) -> String {
    let mut candidates = naming::script_candidates(job, node);
    let found = candidates.iter().position(|path| files.facts(path).is_some()).unwrap_or(0);
    candidates.swap_remove(found)
}
