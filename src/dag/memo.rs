//! What a build remembers for the next one ([`BuildMemo`]) and the in-place patch of the last
//! graph when only some entries' text or some files changed.

use super::*;

/// What the last build made of one job: the inputs it was keyed from and the tasks' ids,
/// hashes and manifests. Boxed in the memo, so moving it between builds moves a pointer.
#[derive(Clone, Debug)]
pub(super) struct JobMemo {
    /// The job with its spans relative to its entry ([`relative_job`]), so an edit elsewhere
    /// in the file that only moves the entry leaves it equal.
    pub(super) job: Job,
    pub(super) node: Arc<str>,
    /// The line of the entry's first byte when the manifests were built: a moved entry's
    /// manifests are reused with their sweep-file origins shifted by the line difference.
    pub(super) entry_line: u32,
    /// Where the job's sweep sources were ([`job_layout`]): the manifests are reused only
    /// while it is the same.
    pub(super) layout: SourceLayout,
    /// Image, runner type and launcher path: the launch task the bench task needs.
    pub(super) launch_slot: Arc<str>,
    /// The bench task's id before de-duplication, and the ids derived from it.
    pub(super) bench_id: Arc<str>,
    pub(super) result_id: Arc<str>,
    pub(super) eval_id: Arc<str>,
    pub(super) info: BenchInfo,
    pub(super) script: FileInput,
    pub(super) sourced: Vec<FileInput>,
    pub(super) launcher: Digest,
    pub(super) launch_hash: Digest,
    pub(super) bench: (Digest, Manifest),
    pub(super) result: (Digest, Manifest),
    pub(super) eval: Option<(Digest, Manifest)>,
}

/// The last build's jobs of one config key (indices into [`BuildMemo::jobs`]), in job order,
/// with a cursor: a re-plan meets the jobs in the same order, so the next memo is almost
/// always the one at the cursor.
#[derive(Debug, Default)]
pub(super) struct KeyMemos {
    pub(super) idx: Vec<usize>,
    pub(super) cursor: usize,
}

impl KeyMemos {
    /// The memo of a job equal to `job` (relative spans), taken out of `memos`.
    pub(super) fn take(&mut self, job: &Job, memos: &mut [Option<Box<JobMemo>>]) -> Option<Box<JobMemo>> {
        let matches = |idx: &usize| memos[*idx].as_ref().is_some_and(|memo| same_relative(&memo.job, job));
        let at = if self.idx.get(self.cursor).is_some_and(matches) {
            self.cursor
        } else {
            self.idx.iter().position(matches)?
        };
        self.cursor = at + 1;
        memos[self.idx[at]].take()
    }
}

/// Where the last build put each job's tasks, to patch its graph in place on the next build.
#[derive(Debug)]
pub(super) struct Layout {
    /// Per job: its bench, result and eval task indices (`None`: the job made no task).
    pub(super) job_tasks: Vec<Option<(usize, usize, Option<usize>)>>,
    /// The index of the first aggregate task (collect, summary, report come last).
    pub(super) n_job_tasks: usize,
    pub(super) graph_hash: Option<Digest>,
}

/// A launch task of the last build, by launch slot.
#[derive(Clone, Debug)]
pub(super) struct LaunchMemo {
    pub(super) inputs: LaunchInputs,
    pub(super) id: Arc<str>,
    pub(super) hash: Digest,
    pub(super) manifest: Manifest,
}

/// Keys, ids and manifests of the last build, reused by the next one.
///
/// A job's tasks are reused when the job (fields, and spans relative to its entry), its node,
/// script (and sourced files), launcher and launch task are all unchanged; when only the entry
/// moved (an edit earlier in the file), the hashes are reused and the manifests' sweep origins
/// are shifted by the entry's line difference (lazily, [`TaskManifest`]); an edit inside the
/// entry that moves a source of the job relative to the entry's first line (its [`SourceLayout`])
/// keys it again. Memos of jobs that disappear are dropped. A build with the memo gives
/// exactly the graph of a build without it: ids, hashes, manifests and their origins.
#[derive(Debug, Default)]
pub struct BuildMemo {
    /// Job memos of the last build, by job index (`None`: the job made no task).
    pub(super) jobs: Vec<Option<Box<JobMemo>>>,
    /// The last build's job indices per config key.
    pub(super) by_key: HashMap<Arc<str>, KeyMemos>,
    /// The last build's layout, and its graph once handed back ([`BuildMemo::recycle`]).
    pub(super) layout: Option<Layout>,
    pub(super) recycled: Option<TaskGraph>,
    /// How many builds patched the recycled graph (tests).
    pub(super) patched: usize,
    /// The jobs (indices) that use each project file: script, sourced files, launcher.
    pub(super) file_users: HashMap<Arc<str>, Vec<usize>>,
    pub(super) launches: HashMap<Arc<str>, LaunchMemo>,
    pub(super) enabled: bool,
    /// How many jobs the last build keyed (built and hashed their keys) rather than reused.
    pub(super) keyed: usize,
    /// Aggregate tasks of the last build by id: their upstream (id, hash) list, hash and
    /// manifest. An aggregate whose upstream list is unchanged is not re-keyed (early cutoff).
    pub(super) aggregates: HashMap<Arc<str>, AggregateMemo>,
    /// The sorted order of the last graph's task ids (for [`hash::graph_hash_in_order`]).
    pub(super) graph_order: Vec<usize>,
    /// The last graph's petgraph view, reused while the edges are the same.
    pub(super) graph: DiGraph<usize, ()>,
    /// The eval settings the memo's keys were made with (other settings: nothing is reused).
    pub(super) evals: Option<EvalSettings>,
}

/// One aggregate task of the previous build.
#[derive(Clone, Debug)]
pub(super) struct AggregateMemo {
    pub(super) kind: TaskKind,
    pub(super) name: String,
    pub(super) upstream: Vec<(Arc<str>, Digest)>,
    pub(super) hash: Digest,
    pub(super) manifest: Manifest,
}

impl BuildMemo {
    /// A memo that remembers (for repeated builds: `--watch`, long-lived sessions).
    pub fn enabled() -> BuildMemo {
        BuildMemo { enabled: true, ..BuildMemo::default() }
    }

    pub fn is_enabled(&self) -> bool {
        self.enabled
    }

    /// Hands back the graph of the last build, so the next one can patch it in place instead
    /// of building every task again (when only some entries' text or some files changed).
    pub fn recycle(&mut self, graph: TaskGraph) {
        if self.enabled && self.layout.as_ref().is_some_and(|layout| layout.graph_hash == graph.graph_hash) {
            self.recycled = Some(graph);
        }
    }

    /// How many builds so far patched a recycled graph.
    pub fn patched(&self) -> usize {
        self.patched
    }

    /// How many jobs the last build keyed rather than reused from the memo.
    pub fn keyed(&self) -> usize {
        self.keyed
    }
}

/// `job` with its spans relative to its entry's first byte: equal for two builds exactly when
/// the job's fields and its place inside the entry are.
pub(super) fn relative_job(job: &Job) -> Job {
    let mut relative = job.clone();
    let entry = job.origin.entry_span;
    let rebase = |span: Span| Span {
        file: span.file,
        start: span.start.wrapping_sub(entry.start),
        end: span.end.wrapping_sub(entry.start),
    };
    relative.origin.entry_span = rebase(entry);
    relative.origin.point_span = rebase(job.origin.point_span);
    relative
}

/// Whether `relative` (a [`relative_job`]) is `job` with its spans made relative, without
/// building the relative job (the memo-hit path of every re-plan).
pub(super) fn same_relative(relative: &Job, job: &Job) -> bool {
    // Exhaustive, so a new job field cannot be forgotten here.
    let Job {
        image,
        model,
        model_prefix,
        precision,
        framework,
        runner,
        isl,
        osl,
        shape,
        spec_decoding,
        max_model_len,
        exp_name,
        disagg,
        run_eval,
        origin,
        head,
    } = job;
    let start = origin.entry_span.start;
    let rebase =
        |span: Span| Span { file: span.file, start: span.start.wrapping_sub(start), end: span.end.wrapping_sub(start) };
    let r = &relative.origin;
    r.entry_span == rebase(origin.entry_span)
        && r.point_span == rebase(origin.point_span)
        && (r.entry_idx, r.seq_idx, r.point_idx) == (origin.entry_idx, origin.seq_idx, origin.point_idx)
        && r.key == origin.key
        && (relative.isl, relative.osl, relative.max_model_len) == (*isl, *osl, *max_model_len)
        && (relative.disagg, relative.run_eval, relative.spec_decoding) == (*disagg, *run_eval, *spec_decoding)
        && relative.shape == *shape
        && relative.image == *image
        && relative.model == *model
        && relative.model_prefix == *model_prefix
        && relative.precision == *precision
        && relative.framework == *framework
        && relative.runner == *runner
        && relative.exp_name == *exp_name
        && relative.head == *head
}

/// Records that job `job_idx` uses the files of `job_memo` (a path listed twice is harmless).
pub(super) fn add_file_users(users: &mut HashMap<Arc<str>, Vec<usize>>, job_idx: usize, job_memo: &JobMemo) {
    let paths = [&*job_memo.info.script, &*job_memo.info.launcher].into_iter();
    for path in paths.chain(job_memo.sourced.iter().map(|input| input.path.as_str())) {
        match users.get_mut(path) {
            Some(jobs) => {
                if jobs.last() != Some(&job_idx) {
                    jobs.push(job_idx);
                }
            }
            None => {
                users.insert(Arc::from(path), vec![job_idx]);
            }
        }
    }
}

/// Builds the graph by patching the last build's (handed back with [`BuildMemo::recycle`]) in
/// place: jobs of unchanged entries that use no changed file keep their tasks (moved entries get
/// their origins updated), the others are keyed again into the same slots, and aggregates whose
/// upstream changed are keyed again. `None` when the result could differ in shape from a full
/// build (a job appears, disappears or changes launch task, an id is taken, a file is missing,
/// a launcher changed): the caller then builds in full, which also reports any problem.
pub(super) fn patch(input: &BuildInput<'_>, memo: &mut BuildMemo, changes: &Changes) -> Option<TaskGraph> {
    let mut graph = memo.recycled.take()?;
    let layout = memo.layout.as_ref()?;
    if graph.graph_hash != layout.graph_hash
        || layout.job_tasks.len() != input.jobs.len()
        || memo.jobs.len() != input.jobs.len()
    {
        return None;
    }
    let sources = input.sources;
    let paths: Vec<Arc<str>> = sources.files().map(|(_, file)| Arc::from(file.path.as_str())).collect();
    let changed_files: std::collections::HashSet<&str> = changes.files.iter().map(String::as_str).collect();
    // Jobs using a changed file, from the index (no job's own paths are read).
    let mut uses_changed = vec![false; input.jobs.len()];
    for path in &changes.files {
        for job_idx in memo.file_users.get(path.as_str()).into_iter().flatten() {
            *uses_changed.get_mut(*job_idx)? = true;
        }
    }
    let mut changed_entries = vec![false; input.sweep.entries.len()];
    for idx in &changes.entries {
        *changed_entries.get_mut(*idx)? = true;
    }
    let mut entry_lines: Vec<Option<u32>> = vec![None; input.sweep.entries.len()];
    let mut launch_seen = vec![false; graph.tasks.len()];
    let mut renames: Vec<(usize, Arc<str>)> = Vec::new();
    let mut keyed = 0;
    let mut dirty = false;
    for (job_idx, job) in input.jobs.iter().enumerate() {
        let (bench_idx, result_idx, eval_idx) = layout.job_tasks[job_idx]?;
        let old = memo.jobs[job_idx].as_deref()?;
        let entry = input.sweep.entries.get(job.origin.entry_idx)?;
        // A launch task comes from the first job that needs it: when that job's entry moved,
        // so did the launch task's origins (its hash does not cover them).
        let launch_idx = *graph.tasks[bench_idx].deps.first()?;
        if !std::mem::replace(launch_seen.get_mut(launch_idx)?, true) {
            let at = |span: Span| origin(sources, &paths, span);
            let launch = memo.launches.get_mut(&*old.launch_slot)?;
            let digest =
                input.images.image_id(&launch.id, &entry.runner.value, &launch.inputs.launcher.path, &job.image);
            let inputs = LaunchInputs::of(job, entry, &at, launch.inputs.launcher.clone(), digest);
            if launch.inputs != inputs {
                let (hash, manifest) = inputs.hash_and_manifest();
                if hash != launch.hash {
                    return None;
                }
                launch.inputs = inputs;
                launch.manifest = manifest;
                graph.tasks[launch_idx].manifest = TaskManifest::new(launch.manifest.clone());
            }
            graph.tasks[launch_idx].origin = Some(entry.image.span);
        }
        let entry_line = *entry_lines.get_mut(job.origin.entry_idx)?.get_or_insert_with(|| {
            sources.get(job.origin.entry_span.file).line_col(job.origin.entry_span.start).0 as u32
        });
        let file = &paths[job.origin.entry_span.file.0 as usize];
        // A job of an edited entry that is still the same job (relative spans) keeps its keys,
        // as in a full build with this memo.
        let at = |span: Span| origin(sources, &paths, span);
        let unchanged = if changed_entries[job.origin.entry_idx] {
            !uses_changed[job_idx]
                && same_relative(&old.job, job)
                && old.layout == job_layout(job, entry, &at, entry_line)
        } else {
            !uses_changed[job_idx]
        };
        if unchanged {
            // The entry's text is the same, so is the job, unless the job list shifted (an edited
            // entry has more or fewer jobs) or evals were marked differently (marking looks
            // across entries).
            let (o, r) = (&old.job.origin, &job.origin);
            if (o.entry_idx, o.seq_idx, o.point_idx) != (r.entry_idx, r.seq_idx, r.point_idx)
                || old.job.run_eval != job.run_eval
                || old.job.shape != job.shape
            {
                return None;
            }
            let tasks = &mut graph.tasks;
            let delta = i64::from(entry_line) - i64::from(old.entry_line);
            if tasks[bench_idx].manifest.shift.as_ref().map_or(0, |(_, d)| *d) != delta {
                tasks[bench_idx].manifest = TaskManifest::shifted(&old.bench.1, file, delta);
                if let (Some(idx), Some((_, entries))) = (eval_idx, &old.eval) {
                    tasks[idx].manifest = TaskManifest::shifted(entries, file, delta);
                }
            }
            let span = Some(job.origin.point_span);
            if tasks[bench_idx].origin != span {
                for idx in [Some(bench_idx), Some(result_idx), eval_idx].into_iter().flatten() {
                    tasks[idx].origin = span;
                }
            }
            continue;
        }
        // Keyed again, into the same slots.
        dirty = true;
        let node: Arc<str> = resolve_node(input.runners, &job.runner)?.into();
        let launcher_path: Arc<str> = naming::launcher_path(&node).into();
        let launch_slot = launch_slot(job, entry, &launcher_path);
        if launch_slot != old.launch_slot || changed_files.contains(&*launcher_path) {
            return None;
        }
        let script_path: Arc<str> = pick_script(input.files, job, &node).into();
        let script = FileInput { path: script_path.to_string(), digest: input.files.facts(&script_path)?.digest };
        let launcher = FileInput { path: launcher_path.to_string(), digest: input.files.facts(&launcher_path)?.digest };
        let sourced = reached_files(input.files, &[&script_path, &launcher_path]);
        let new = key_job(&JobContext {
            job,
            job_idx,
            entry,
            at: &at,
            node: &node,
            entry_line,
            layout: job_layout(job, entry, &at, entry_line),
            launch_slot: &launch_slot,
            script_path: &script_path,
            launcher_path: &launcher_path,
            script: &script,
            sourced: &sourced,
            launcher: &launcher,
            launch_hash: graph.tasks[launch_idx].hash,
            image: &memo.launches.get(&*old.launch_slot)?.inputs.digest.clone(),
            evals: input.evals,
            repeat: 0,
        });
        keyed += 1;
        if new.eval.is_some() != eval_idx.is_some() || *graph.tasks[bench_idx].id != *old.bench_id {
            // Evals appeared or went, or the old id had been made unique.
            return None;
        }
        if new.bench_id != old.bench_id {
            // Applied after the loop: two jobs of one entry may swap ids (c4, c8 -> c8, c16).
            renames.push((bench_idx, new.bench_id.clone()));
            renames.push((result_idx, new.result_id.clone()));
            if let Some(idx) = eval_idx {
                renames.push((idx, new.eval_id.clone()));
            }
        }
        let span = Some(job.origin.point_span);
        let bench = &mut graph.tasks[bench_idx];
        bench.hash = new.bench.0;
        bench.manifest = TaskManifest::new(new.bench.1.clone());
        bench.origin = span;
        bench.bench = Some(BenchInfo { job_idx, ..new.info.clone() });
        let result = &mut graph.tasks[result_idx];
        result.hash = new.result.0;
        result.manifest = TaskManifest::new(new.result.1.clone());
        result.origin = span;
        if let (Some(idx), Some((hash, entries))) = (eval_idx, &new.eval) {
            let eval = &mut graph.tasks[idx];
            eval.hash = *hash;
            eval.manifest = TaskManifest::new(entries.clone());
            eval.origin = span;
            eval.bench = Some(BenchInfo { job_idx, ..new.info.clone() });
        }
        add_file_users(&mut memo.file_users, job_idx, &new);
        memo.jobs[job_idx] = Some(new);
    }
    for (idx, _) in &renames {
        graph.by_id.remove(&graph.tasks[*idx].id);
    }
    for (idx, id) in renames {
        if graph.by_id.insert(id.clone(), idx).is_some() {
            return None;
        }
        graph.tasks[idx].id = id;
    }
    let n_job_tasks = layout.n_job_tasks;
    // Aggregates: a collect points at its entry (which may have moved); any aggregate whose
    // upstream (id, hash) list changed is keyed again.
    for idx in n_job_tasks..graph.tasks.len() {
        let task = &graph.tasks[idx];
        if task.kind == TaskKind::Collect {
            // Its first upstream is the first job's result (or eval) task, whose upstream is the bench.
            let first = task
                .deps
                .first()
                .and_then(|dep| graph.tasks[*dep].deps.first())
                .and_then(|bench| graph.tasks[*bench].bench.as_ref())
                .map(|info| info.job_idx);
            let span = first.and_then(|job_idx| input.jobs.get(job_idx)).map(|job| job.origin.entry_span);
            graph.tasks[idx].origin = span;
        }
        if !dirty {
            continue;
        }
        let task = &graph.tasks[idx];
        let old = memo.aggregates.get(&task.id)?;
        let same = old.upstream.len() == task.deps.len()
            && old.upstream.iter().zip(&task.deps).all(|((id, hash), dep)| {
                let up = &graph.tasks[*dep];
                up.hash == *hash && (Arc::ptr_eq(&up.id, id) || up.id == *id)
            });
        if same {
            continue;
        }
        let upstream: Vec<(Arc<str>, Digest)> =
            task.deps.iter().map(|dep| (graph.tasks[*dep].id.clone(), graph.tasks[*dep].hash)).collect();
        let id = task.id.clone();
        let entry = key_aggregate(task.kind, old.name.clone(), upstream);
        graph.tasks[idx].hash = entry.hash;
        graph.tasks[idx].manifest = TaskManifest::new(entry.manifest.clone());
        memo.aggregates.insert(id, entry);
    }
    graph.graph_hash = Some(hash::graph_hash_in_order(
        &graph.tasks.iter().map(|task| (&*task.id, task.hash)).collect::<Vec<_>>(),
        &mut memo.graph_order,
    ));
    if let Some(layout) = &mut memo.layout {
        layout.graph_hash = graph.graph_hash;
    }
    memo.keyed = keyed;
    Some(graph)
}
