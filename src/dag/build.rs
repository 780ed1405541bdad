//! The full build of the task graph from the jobs, reusing the memo's keys where it can.

use super::*;

pub(super) fn origin(sources: &SourceMap, paths: &[Arc<str>], span: Span) -> Option<Origin> {
    let path = paths.get(span.file.0 as usize)?;
    let (line, col) = sources.get(span.file).line_col(span.start);
    Some(Origin { file: path.clone(), line: line as u32, col: col as u32 })
}

pub(super) struct Ctx {
    pub(super) tasks: Vec<Task>,
    pub(super) by_id: HashMap<Arc<str>, usize>,
    pub(super) diags: Vec<Diag>,
    pub(super) reported: std::collections::HashSet<(String, usize)>,
}

impl Ctx {
    /// `base`, or `base~2`, `base~3`, … when taken (the reference never de-duplicates jobs).
    pub(super) fn unique_id(&self, base: &str) -> Option<String> {
        if !self.by_id.contains_key(base) {
            return None;
        }
        let mut n = 2;
        while self.by_id.contains_key(format!("{base}~{n}").as_str()) {
            n += 1;
        }
        Some(format!("{base}~{n}"))
    }

    pub(super) fn push(&mut self, mut task: Task) -> usize {
        let idx = self.tasks.len();
        // One hash of the id on the usual path (a new id); duplicates take the slow one.
        if let std::collections::hash_map::Entry::Vacant(slot) = self.by_id.entry(task.id.clone()) {
            slot.insert(idx);
        } else {
            let unique: Arc<str> = self.unique_id(&task.id).unwrap_or_default().into();
            self.by_id.insert(unique.clone(), idx);
            task.id = unique;
        }
        self.tasks.push(task);
        idx
    }

    pub(super) fn missing(&mut self, job: &Job, what: &str, path: &str, node: &str) {
        if !self.reported.insert((path.to_string(), job.origin.entry_idx)) {
            return;
        }
        self.diags.push(
            Diag::error(
                if what == "script" { "ix::plan::missing-script" } else { "ix::plan::missing-launcher" },
                format!("{what} `{path}` does not exist"),
            )
            .at(job.origin.point_span, format!("`{}` on node `{node}` needs `{path}`", job.origin.key))
            .help(match naming::script_candidates(job, node) {
                candidates if what == "script" && candidates.len() > 1 => format!(
                    "the launcher of `{node}` looks for {}; create one of them, or change the sweep entry",
                    candidates.iter().map(|c| format!("`{c}`")).collect::<Vec<_>>().join(", then ")
                ),
                _ => format!("create `{path}` in the project, or change the sweep entry"),
            }),
        );
    }
}

/// Resolves the node a job runs on: the runner type's first node, or the node itself.
pub(super) fn resolve_node(runners: &RunnerTable, runner: &str) -> Option<String> {
    if let Some(runner_type) = runners.get(runner) {
        return runner_type.nodes.first().map(|node| node.value.clone());
    }
    runners.types.iter().flat_map(|t| t.nodes.iter()).find(|node| node.value == runner).map(|node| node.value.clone())
}

/// Builds the task graph of `input.jobs`.
pub fn build(input: &BuildInput<'_>) -> (TaskGraph, Vec<Diag>) {
    build_with_memo(input, &mut BuildMemo::default())
}

/// [`build`], reusing the keys of jobs whose inputs did not change since the memo was filled.
pub fn build_with_memo(input: &BuildInput<'_>, memo: &mut BuildMemo) -> (TaskGraph, Vec<Diag>) {
    if memo.evals.as_ref() != Some(input.evals) {
        memo.jobs.clear();
        memo.by_key.clear();
        memo.recycled = None;
        if memo.enabled {
            memo.evals = Some(input.evals.clone());
        }
    }
    // A patch knows one bench task per job: with repeats, build in full.
    if let Some(changes) = input.changes.filter(|_| input.repeat <= 1)
        && let Some(patched) = patch(input, memo, changes)
    {
        memo.patched += 1;
        return (patched, Vec::new());
    }
    let mut ctx = Ctx {
        tasks: Vec::with_capacity(input.jobs.len() * 2 + 64),
        by_id: HashMap::with_capacity_and_hasher(input.jobs.len() * 2 + 64, Default::default()),
        diags: Vec::new(),
        reported: std::collections::HashSet::new(),
    };
    let sources = input.sources;
    let mut previous_jobs = std::mem::take(&mut memo.jobs);
    let mut previous = std::mem::take(&mut memo.by_key);
    let mut previous_launches = std::mem::take(&mut memo.launches);
    memo.recycled = None;
    let mut keyed = 0;
    let mut next_jobs: Vec<Option<Box<JobMemo>>> = Vec::new();
    let mut next_keys: HashMap<Arc<str>, KeyMemos> = HashMap::default();
    let mut job_tasks: Vec<Option<(usize, usize, Option<usize>)>> = Vec::new();
    if memo.enabled {
        next_jobs.resize_with(input.jobs.len(), || None);
        job_tasks.resize(input.jobs.len(), None);
    }
    let paths: Vec<Arc<str>> = sources.files().map(|(_, file)| Arc::from(file.path.as_str())).collect();
    let mut script_cache: HashMap<Arc<str>, Option<FileFacts>> = HashMap::default();
    let mut launcher_cache: HashMap<Arc<str>, Option<FileFacts>> = HashMap::default();
    let mut reached_cache: HashMap<(Arc<str>, Arc<str>), Vec<FileInput>> = HashMap::default();
    // One launch per image x runner type x launcher: node expansion can put one runner type's
    // jobs on clusters with different launchers, and each imports the image on its own.
    let mut launch_ids: HashMap<Arc<str>, usize> = HashMap::default();
    // The image id each launch slot resolved to (the bench and eval keys hold it).
    let mut launch_images: HashMap<Arc<str>, ImageId> = HashMap::default();
    // Per config key: the result and eval task indices, in job order.
    let mut per_key: Vec<(String, Option<Span>, Vec<usize>)> = Vec::new();
    let mut key_slot: HashMap<&str, usize> = HashMap::default();
    // Node of each runner name (resolving scans the runners table).
    let mut node_cache: HashMap<&str, Option<Arc<str>>> = HashMap::default();
    // Line of each entry's first byte.
    let mut entry_lines: HashMap<usize, u32> = HashMap::default();
    // Layout of each search-space point's jobs (entry, seq-len, point).
    let mut layouts: HashMap<(usize, usize, usize), SourceLayout> = HashMap::default();
    for (job_idx, job) in input.jobs.iter().enumerate() {
        let Some(entry) = input.sweep.entries.get(job.origin.entry_idx) else {
            continue;
        };
        let node = match node_cache.get(job.runner.as_str()) {
            Some(node) => node.clone(),
            None => {
                let node = resolve_node(input.runners, &job.runner).map(Arc::<str>::from);
                node_cache.insert(job.runner.as_str(), node.clone());
                node
            }
        };
        let Some(node) = node else {
            if ctx.reported.insert((format!("runner:{}", job.runner), job.origin.entry_idx)) {
                ctx.diags.push(
                    Diag::error(
                        "ix::plan::unknown-runner",
                        format!("runner `{}` has no nodes in the runners config", job.runner),
                    )
                    .at(entry.runner.span, "no node to run on"),
                );
            }
            continue;
        };
        let entry_line = *entry_lines
            .entry(job.origin.entry_idx)
            .or_insert_with(|| sources.get(job.origin.entry_span.file).line_col(job.origin.entry_span.start).0 as u32);
        let at = |span: Span| origin(sources, &paths, span);
        // Jobs of one point share it.
        let point = (job.origin.entry_idx, job.origin.seq_idx, job.origin.point_idx);
        let layout = match layouts.get(&point) {
            Some(layout) => SourceLayout::clone(layout),
            None => {
                let layout = job_layout(job, entry, &at, entry_line);
                layouts.insert(point, layout.clone());
                layout
            }
        };

        // The job as last built, when it is the same job on the same node: its names are then
        // the same, and its keys too if its files and launch task are.
        let remembered = previous
            .get_mut(job.origin.key.as_str())
            .and_then(|memos| memos.take(job, &mut previous_jobs))
            .filter(|remembered| remembered.node == node);
        let (script_path, launcher_path, launch_slot) = match &remembered {
            Some(remembered) => {
                (remembered.info.script.clone(), remembered.info.launcher.clone(), remembered.launch_slot.clone())
            }
            None => {
                let launcher_path: Arc<str> = naming::launcher_path(&node).into();
                let slot = launch_slot(job, entry, &launcher_path);
                (pick_script(input.files, job, &node).into(), launcher_path, slot)
            }
        };
        if !script_cache.contains_key(&*script_path) {
            script_cache.insert(script_path.clone(), input.files.facts(&script_path));
        }
        if !launcher_cache.contains_key(&*launcher_path) {
            launcher_cache.insert(launcher_path.clone(), input.files.facts(&launcher_path));
        }
        let script = &script_cache[&*script_path];
        let launcher = &launcher_cache[&*launcher_path];
        if script.is_none() {
            ctx.missing(job, "script", &script_path, &node);
        }
        if launcher.is_none() {
            ctx.missing(job, "launcher", &launcher_path, &node);
        }
        let (Some(script), Some(launcher)) = (script, launcher) else {
            continue;
        };
        let script = &FileInput { path: script_path.to_string(), digest: script.digest };
        let sourced = reached_cache
            .entry((script_path.clone(), launcher_path.clone()))
            .or_insert_with(|| reached_files(input.files, &[&script_path, &launcher_path]));
        let launcher = FileInput { path: launcher_path.to_string(), digest: launcher.digest };

        let launch_idx = match launch_ids.get(&*launch_slot) {
            Some(idx) => *idx,
            None => {
                let id = launch_id(&entry.runner.value, &node, &job.image);
                let digest = input.images.image_id(&id, &entry.runner.value, &launcher.path, &job.image);
                let inputs = LaunchInputs::of(job, entry, &at, launcher.clone(), digest);
                let launch = match previous_launches.remove(&*launch_slot) {
                    Some(old) if old.inputs == inputs => old,
                    _ => {
                        let (hash, manifest) = inputs.hash_and_manifest();
                        LaunchMemo { inputs, id: id.into(), hash, manifest }
                    }
                };
                launch_images.insert(launch_slot.clone(), launch.inputs.digest.clone());
                let idx = ctx.push(Task {
                    id: launch.id.clone(),
                    kind: TaskKind::Launch,
                    hash: launch.hash,
                    manifest: TaskManifest::new(launch.manifest.clone()),
                    deps: Vec::new(),
                    origin: Some(entry.image.span),
                    bench: None,
                });
                launch_ids.insert(launch_slot.clone(), idx);
                if memo.enabled {
                    memo.launches.insert(launch_slot.clone(), launch);
                }
                idx
            }
        };
        let launch_hash = ctx.tasks[launch_idx].hash;

        // Every key of this job (repeat 0 is the job itself, `--repeat` adds the others).
        let job_context = |repeat: u32| JobContext {
            job,
            job_idx,
            entry,
            at: &at,
            node: &node,
            entry_line,
            layout: layout.clone(),
            launch_slot: &launch_slot,
            script_path: &script_path,
            launcher_path: &launcher_path,
            script,
            sourced,
            launcher: &launcher,
            launch_hash,
            image: &launch_images[&*launch_slot],
            evals: input.evals,
            repeat,
        };
        let job_memo = match remembered {
            Some(remembered)
                if remembered.script == *script
                    && remembered.sourced == *sourced
                    && remembered.launcher == launcher.digest
                    && remembered.launch_hash == launch_hash
                    && remembered.layout == layout =>
            {
                remembered
            }
            _ => {
                keyed += 1;
                key_job(&job_context(0))
            }
        };
        let file = &paths[job.origin.entry_span.file.0 as usize];
        let delta = i64::from(entry_line) - i64::from(job_memo.entry_line);
        let manifest = |entries: &Manifest| TaskManifest::shifted(entries, file, delta);
        let bench_idx = ctx.push(Task {
            id: job_memo.bench_id.clone(),
            kind: TaskKind::Bench,
            hash: job_memo.bench.0,
            manifest: manifest(&job_memo.bench.1),
            deps: vec![launch_idx],
            origin: Some(job.origin.point_span),
            bench: Some(BenchInfo { job_idx, ..job_memo.info.clone() }),
        });
        // The bench id may have been made unique (a duplicate job); derived ids follow it.
        let bench_id = &ctx.tasks[bench_idx].id;
        let (result_id, eval_id) = if Arc::ptr_eq(bench_id, &job_memo.bench_id) {
            (job_memo.result_id.clone(), job_memo.eval_id.clone())
        } else {
            let suffix = &bench_id["bench/".len()..];
            (format!("result/{suffix}").into(), format!("eval/{suffix}").into())
        };
        let slot = match key_slot.get(job.origin.key.as_str()) {
            Some(slot) => *slot,
            None => {
                per_key.push((job.origin.key.clone(), Some(job.origin.entry_span), Vec::new()));
                key_slot.insert(job.origin.key.as_str(), per_key.len() - 1);
                per_key.len() - 1
            }
        };
        let result_idx = ctx.push(Task {
            id: result_id,
            kind: TaskKind::Result,
            hash: job_memo.result.0,
            // Result keys have no sweep inputs, so nothing in them moves.
            manifest: TaskManifest::new(job_memo.result.1.clone()),
            deps: vec![bench_idx],
            origin: Some(job.origin.point_span),
            bench: None,
        });
        per_key[slot].2.push(result_idx);
        let mut eval_idx = None;
        if let Some((hash, entries)) = &job_memo.eval {
            // An eval starts the job's server on its own: it needs the image, not the bench.
            let idx = ctx.push(Task {
                id: eval_id,
                kind: TaskKind::Eval,
                hash: *hash,
                manifest: manifest(entries),
                deps: vec![launch_idx],
                origin: Some(job.origin.point_span),
                bench: Some(BenchInfo { job_idx, ..job_memo.info.clone() }),
            });
            per_key[slot].2.push(idx);
            eval_idx = Some(idx);
        }
        // `ix run --repeat N`: repeats 1.. are tasks of their own, keyed by the one `key_job`
        // with their index (repeat 0 is the job itself, above, with its usual key).
        for repeat in 1..input.repeat {
            let again = key_job(&job_context(repeat));
            let bench_idx = ctx.push(Task {
                id: again.bench_id.clone(),
                kind: TaskKind::Bench,
                hash: again.bench.0,
                manifest: TaskManifest::new(again.bench.1.clone()),
                deps: vec![launch_idx],
                origin: Some(job.origin.point_span),
                bench: Some(BenchInfo { job_idx, ..again.info.clone() }),
            });
            let result_idx = ctx.push(Task {
                id: again.result_id.clone(),
                kind: TaskKind::Result,
                hash: again.result.0,
                manifest: TaskManifest::new(again.result.1.clone()),
                deps: vec![bench_idx],
                origin: Some(job.origin.point_span),
                bench: None,
            });
            per_key[slot].2.push(result_idx);
        }
        if memo.enabled {
            let memos = match next_keys.get_mut(job.origin.key.as_str()) {
                Some(memos) => memos,
                None => next_keys.entry(Arc::from(job.origin.key.as_str())).or_default(),
            };
            memos.idx.push(job_idx);
            next_jobs[job_idx] = Some(job_memo);
            job_tasks[job_idx] = Some((bench_idx, result_idx, eval_idx));
        }
    }
    if memo.enabled {
        memo.file_users.clear();
        for (job_idx, job_memo) in next_jobs.iter().enumerate() {
            if let Some(job_memo) = job_memo {
                add_file_users(&mut memo.file_users, job_idx, job_memo);
            }
        }
    }
    memo.jobs = next_jobs;
    memo.by_key = next_keys;
    memo.keyed = keyed;
    let n_job_tasks = ctx.tasks.len();
    let mut aggregates =
        Aggregates { previous: std::mem::take(&mut memo.aggregates), next: HashMap::default(), enabled: memo.enabled };
    let mut collect_ids = Vec::new();
    for (key_name, span, deps) in per_key {
        let idx = aggregate(
            &mut ctx,
            &mut aggregates,
            TaskKind::Collect,
            format!("collect/{key_name}"),
            key_name,
            deps,
            span,
        );
        collect_ids.push(idx);
    }
    if !collect_ids.is_empty() {
        let summary = aggregate(
            &mut ctx,
            &mut aggregates,
            TaskKind::Summary,
            "summary".into(),
            "summary".into(),
            collect_ids,
            None,
        );
        aggregate(&mut ctx, &mut aggregates, TaskKind::Report, "report".into(), "report".into(), vec![summary], None);
    }
    memo.aggregates = aggregates.next;
    let Ctx { tasks, by_id, diags, .. } = ctx;
    // The previous graph when its edges are exactly these (edges are added in task order, so
    // the edge list is compared in that order): a copy instead of thousands of `add_edge`s.
    let same_edges = memo.graph.node_count() == tasks.len() && {
        let mut edges = memo.graph.raw_edges().iter();
        tasks.iter().enumerate().all(|(idx, task)| {
            task.deps.iter().all(|dep| {
                edges.next().is_some_and(|edge| edge.source().index() == *dep && edge.target().index() == idx)
            })
        }) && edges.next().is_none()
    };
    let graph = if same_edges {
        memo.graph.clone()
    } else {
        let mut graph = DiGraph::with_capacity(tasks.len(), tasks.len() * 2);
        for idx in 0..tasks.len() {
            graph.add_node(idx);
        }
        for (idx, task) in tasks.iter().enumerate() {
            for dep in &task.deps {
                graph.add_edge(NodeIndex::new(*dep), NodeIndex::new(idx), ());
            }
        }
        if memo.enabled {
            memo.graph = graph.clone();
        }
        graph
    };
    let graph_hash = Some(hash::graph_hash_in_order(
        &tasks.iter().map(|task| (&*task.id, task.hash)).collect::<Vec<_>>(),
        &mut memo.graph_order,
    ));
    if memo.enabled {
        memo.layout = Some(Layout { job_tasks, n_job_tasks, graph_hash });
    }
    (TaskGraph { tasks, graph, by_id, graph_hash }, diags)
}

/// The aggregate memo of one build: the previous build's aggregates and this build's.
pub(super) struct Aggregates {
    pub(super) previous: HashMap<Arc<str>, AggregateMemo>,
    pub(super) next: HashMap<Arc<str>, AggregateMemo>,
    pub(super) enabled: bool,
}

#[allow(clippy::too_many_arguments)]
pub(super) fn aggregate(
    ctx: &mut Ctx,
    memo: &mut Aggregates,
    kind: TaskKind,
    id: String,
    name: String,
    deps: Vec<usize>,
    origin: Option<Span>,
) -> usize {
    // Reused when kind, name and every upstream (id, hash) are those of the previous build:
    // the key, and so its hash and manifest, are then the same.
    let remembered = memo.previous.remove(id.as_str()).filter(|old| {
        old.kind == kind
            && old.name == name
            && old.upstream.len() == deps.len()
            && old.upstream.iter().zip(&deps).all(|((old_id, old_hash), dep)| {
                let task = &ctx.tasks[*dep];
                task.hash == *old_hash && (Arc::ptr_eq(&task.id, old_id) || task.id == *old_id)
            })
    });
    let remembered = match remembered {
        Some(old) => old,
        None => {
            let upstream: Vec<(Arc<str>, Digest)> =
                deps.iter().map(|dep| (ctx.tasks[*dep].id.clone(), ctx.tasks[*dep].hash)).collect();
            key_aggregate(kind, name, upstream)
        }
    };
    let task = Task {
        id: id.into(),
        kind,
        hash: remembered.hash,
        manifest: TaskManifest::new(remembered.manifest.clone()),
        deps,
        origin,
        bench: None,
    };
    let idx = ctx.push(task);
    if memo.enabled {
        // Keyed by the id the task got (unique), like the job memo.
        memo.next.insert(ctx.tasks[idx].id.clone(), remembered);
    }
    idx
}
