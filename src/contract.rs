//! The environment contract of a job: one typed list of variables that is both what a task's
//! script receives and what the task's key hashes.
//!
//! A [`Contract`] is derived from a [`Job`] (and the project's [`EvalSettings`]) in one place,
//! [`Contract::of`]. `dag` keys bench and eval tasks from [`Contract::bench_vars`] and
//! [`Contract::eval_vars`]; `exec` hands the same variables to the scripts
//! ([`Contract::bench_env`], [`Contract::eval_env`]). The variables a task gets beyond these
//! (the node it runs on, its work folder, the `ix` binary) are listed in [`EXECUTOR_VARS`],
//! each with the reason it cannot change a result. A test enumerates every variable a script
//! receives and checks that it is either in the key or on that list.
//!
//! Values reach scripts only as environment variables: nothing here builds shell text.

use std::sync::Arc;

use crate::dag::task_key::Origin;
use crate::diag::{Diag, did_you_mean};
use crate::expand::{Job, JobShape};
use crate::ir::Worker;
use crate::source::{FileId, SourceMap, Span};
use crate::yaml::{self, NodeKind};

/// The random-range ratio every job's client uses (§7.4: the workflow sets 0.8).
pub const RANDOM_RANGE_RATIO: &str = "0.8";

/// Where a variable's value came from in the sweep, so its task manifest can point at it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    Image,
    Model,
    ModelPrefix,
    Precision,
    Framework,
    Runner,
    Isl,
    Osl,
    /// The seq-len block (max-model-len is derived from it).
    SeqLen,
    /// The search-space point (its parallelism, spec decoding, workers).
    Point,
    Tp,
    Ep,
    DpAttn,
    Conc,
    /// The config entry as a whole (e.g. `disagg`).
    Entry,
    /// A setting of the project's eval settings (`evals.yaml`, where it was written), or its
    /// default (`None`).
    Evals(Option<Origin>),
    /// A constant of `ix` itself.
    Constant,
}

/// One variable of the contract.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Var {
    /// The environment variable the script reads.
    pub env: Arc<str>,
    /// Its name in task keys and manifests (`tp`, `max-model-len`, `setting NCCL_DEBUG`).
    pub key: Arc<str>,
    pub value: String,
    pub source: Source,
}

/// Variables the executor adds when a task runs, and why none of them can change a result.
/// Everything else a script receives from `ix` is in the task's key.
pub const EXECUTOR_VARS: &[(&str, &str)] = &[
    (
        "RUNNER_NAME",
        "the node of the runner type (in the key) the task landed on; nodes of one type are interchangeable",
    ),
    ("PORT", "derived from the node name so that tasks sharing a host do not collide"),
    ("RESULT_FILENAME", "a file name built from key fields plus the node name (naming::result_filename)"),
    ("GITHUB_WORKSPACE", "the task's work folder (a path named by the task hash)"),
    ("IX_BIN", "the running `ix` binary; what it measures is versioned by the key's bench-client field"),
    ("IX_BENCHMARK_SCRIPT", "the path of the script, whose content digest is in the key"),
    ("IX_REPO", "the project root the script and launcher paths are relative to"),
    ("IX_WORKDIR", "the task's work folder, for the Slurm wrapper"),
    ("IX_ENTRY", "the launcher or script path, whose digest is in the key"),
    ("IX_SQUASH_FILE", "where the image's squash file is cached (named by its digest, which is in the key)"),
    ("IX_IMPORT_IMAGE", "the image reference pinned to the digest that is in the key, for the Slurm import"),
    ("EVAL_RESULT_DIR", "where the eval writes its files (inside the work folder)"),
];

/// The image variable: scripts get the reference as written (`IMAGE`), while every key holds the
/// digest the image's launch task resolved it to (key field `image`), so a moved tag reruns its
/// tasks and a new tag for the same digest does not.
pub const IMAGE_VAR: (&str, &str) = (
    "IMAGE",
    "the image reference as written; keys hold the digest its launch task resolved instead (with the reference for \
     launchers that start no container, and in result keys, whose records carry it)",
);

/// The variables of an eval task beyond the server's (and the executor's `EVAL_RESULT_DIR`):
/// names a config setting may not take.
pub const EVAL_VARS: &[&str] =
    &["EVAL_ONLY", "EVAL_FRAMEWORK", "EVAL_TASK", "NUM_FEWSHOT", "EVAL_LIMIT", "EVAL_CONC", "EVAL_RESULT_DIR"];

/// How the project's eval tasks run (`evals.yaml`; defaults when absent).
#[derive(Clone, Debug, PartialEq)]
pub struct EvalSettings {
    /// The eval harness (`lm-eval`).
    pub harness: Setting<String>,
    /// The task name (a file `utils/evals/<task>.yaml`, or an lm-eval task).
    pub task: Setting<String>,
    pub num_fewshot: Setting<u32>,
    /// Only this many items.
    pub limit: Option<Setting<u32>>,
    /// Minimum scores; an eval task whose score is below one of its thresholds fails.
    pub thresholds: Vec<Threshold>,
}

/// A setting's value and where it was written (`None`: the default).
#[derive(Clone, Debug, PartialEq)]
pub struct Setting<T> {
    pub value: T,
    pub at: Option<Origin>,
}

impl<T> Setting<T> {
    pub fn default_value(value: T) -> Setting<T> {
        Setting { value, at: None }
    }
}

/// A minimum score for a task (and, optionally, one model).
#[derive(Clone, Debug, PartialEq)]
pub struct Threshold {
    pub task: String,
    pub model: Option<String>,
    pub min_score: f64,
    /// The threshold's entry in `evals.yaml`.
    pub at: Option<Origin>,
}

impl Default for EvalSettings {
    fn default() -> EvalSettings {
        EvalSettings {
            harness: Setting::default_value("lm-eval".to_string()),
            task: Setting::default_value("gsm8k".to_string()),
            num_fewshot: Setting::default_value(2),
            limit: None,
            thresholds: Vec::new(),
        }
    }
}

impl EvalSettings {
    /// The thresholds that gate an eval of `model`.
    pub fn thresholds_for<'a>(&'a self, model: &'a str) -> impl Iterator<Item = &'a Threshold> + 'a {
        self.thresholds
            .iter()
            .filter(move |t| t.task == self.task.value && t.model.as_deref().is_none_or(|m| m == model))
    }
}

/// The file of eval settings, at the project root.
pub const EVALS_FILE: &str = "evals.yaml";

impl EvalSettings {
    /// Lowers `evals.yaml` (a mapping: `harness`, `task`, `num-fewshot`, `limit`, and
    /// `thresholds`, a list of `{task, model?, min-score}`), appending diagnostics. Missing keys
    /// keep their defaults.
    pub fn lower(sources: &SourceMap, file: FileId, diags: &mut Vec<Diag>) -> EvalSettings {
        let source = sources.get(file);
        let mut settings = EvalSettings::default();
        let root = match yaml::parse(file, &source.text) {
            Ok(root) => root,
            Err(diag) => {
                diags.push(diag);
                return settings;
            }
        };
        let at = |span: Span| {
            let (line, col) = source.line_col(span.start);
            Some(Origin { file: source.path.as_str().into(), line: line as u32, col: col as u32 })
        };
        let entries = match &root.kind {
            NodeKind::Map(entries) => entries.as_slice(),
            NodeKind::Null => &[],
            _ => {
                diags.push(
                    Diag::error(
                        "ix::evals::not-a-mapping",
                        format!("`{}` must be a mapping of eval settings", source.path),
                    )
                    .at(root.span, format!("found {}", root.type_name())),
                );
                return settings;
            }
        };
        let mut seen: Vec<(&str, Span)> = Vec::new();
        for (key, value) in entries {
            let Some(name) = key.as_str() else {
                diags.push(Diag::error("ix::evals::invalid-key", "setting names must be strings").at(key.span, "here"));
                continue;
            };
            if let Some((_, first)) = seen.iter().find(|(seen, _)| *seen == name) {
                diags.push(
                    Diag::error("ix::evals::duplicate-key", format!("`{name}` is set twice"))
                        .at(key.span, "set again here")
                        .also(*first, "first set here"),
                );
                continue;
            }
            seen.push((name, key.span));
            match name {
                "harness" => match value.as_str() {
                    Some("lm-eval") => settings.harness = Setting { value: "lm-eval".into(), at: at(value.span) },
                    _ => diags.push(
                        Diag::error("ix::evals::unknown-harness", "the only eval harness is `lm-eval`")
                            .at(value.span, format!("found {}", describe(value))),
                    ),
                },
                "task" => match value.as_str().filter(|task| valid_task(task)) {
                    Some(task) => settings.task = Setting { value: task.to_string(), at: at(value.span) },
                    None => diags.push(
                        Diag::error(
                            "ix::evals::invalid-task",
                            "`task` must be a task name (letters, digits, `_`, `-`, `.`)",
                        )
                        .at(value.span, format!("found {}", describe(value))),
                    ),
                },
                "num-fewshot" => {
                    if let Some(n) = count(value, name, diags) {
                        settings.num_fewshot = Setting { value: n, at: at(value.span) };
                    }
                }
                "limit" => {
                    if let Some(n) = count(value, name, diags).filter(|n| *n > 0) {
                        settings.limit = Some(Setting { value: n, at: at(value.span) });
                    } else if matches!(value.kind, NodeKind::Int(0)) {
                        diags.push(
                            Diag::error("ix::evals::invalid-limit", "`limit` must be at least 1")
                                .at(value.span, "here"),
                        );
                    }
                }
                "thresholds" => {
                    let NodeKind::Seq(items) = &value.kind else {
                        diags.push(
                            Diag::error("ix::evals::invalid-thresholds", "`thresholds` must be a list")
                                .at(value.span, format!("found {}", value.type_name())),
                        );
                        continue;
                    };
                    for item in items {
                        if let Some(threshold) = threshold(item, diags) {
                            settings.thresholds.push(Threshold { at: at(item.span), ..threshold });
                        }
                    }
                }
                other => {
                    let known = ["harness", "task", "num-fewshot", "limit", "thresholds"];
                    let diag = Diag::error("ix::evals::unknown-key", format!("unknown eval setting `{other}`"))
                        .at(key.span, "not a setting");
                    diags.push(match did_you_mean(other, known) {
                        Some(known) => diag.help(format!("did you mean `{known}`?")),
                        None => diag.help(format!("settings: {}", known.join(", "))),
                    });
                }
            }
        }
        settings
    }
}

/// A value for messages: its text when it is a scalar, else its type.
fn describe(node: &yaml::Node) -> String {
    match &node.kind {
        NodeKind::Str(text) => format!("`{}`", text.chars().take(60).collect::<String>()),
        NodeKind::Int(n) => format!("`{n}`"),
        _ => node.type_name().to_string(),
    }
}

/// Task names become file names and lm-eval arguments: a conservative character set.
fn valid_task(task: &str) -> bool {
    !task.is_empty()
        && task.len() <= 128
        && !task.starts_with(['-', '.'])
        && task.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
}

fn count(value: &yaml::Node, name: &str, diags: &mut Vec<Diag>) -> Option<u32> {
    match value.kind {
        NodeKind::Int(n) => match u32::try_from(n) {
            Ok(n) => Some(n),
            Err(_) => {
                diags.push(
                    Diag::error("ix::evals::out-of-range", format!("`{name}` must be between 0 and {}", u32::MAX))
                        .at(value.span, format!("found `{n}`")),
                );
                None
            }
        },
        _ => {
            diags.push(
                Diag::error("ix::evals::not-an-integer", format!("`{name}` must be an integer"))
                    .at(value.span, format!("found {}", value.type_name())),
            );
            None
        }
    }
}

fn threshold(item: &yaml::Node, diags: &mut Vec<Diag>) -> Option<Threshold> {
    let NodeKind::Map(fields) = &item.kind else {
        diags.push(
            Diag::error("ix::evals::invalid-threshold", "a threshold is a mapping: `{task, model?, min-score}`")
                .at(item.span, format!("found {}", item.type_name())),
        );
        return None;
    };
    let (mut task, mut model, mut min_score) = (None, None, None);
    let mut ok = true;
    for (key, value) in fields {
        match (key.as_str(), &value.kind) {
            (Some("task"), NodeKind::Str(text)) => task = Some(text.clone()),
            (Some("model"), NodeKind::Str(text)) => model = Some(text.clone()),
            (Some("min-score"), NodeKind::Float(x)) if (0.0..=1.0).contains(x) => min_score = Some(*x),
            (Some("min-score"), NodeKind::Int(n)) if (0..=1).contains(n) => min_score = Some(*n as f64),
            (Some(name @ ("task" | "model" | "min-score")), _) => {
                ok = false;
                let expected = if name == "min-score" { "a number between 0 and 1" } else { "a string" };
                diags.push(
                    Diag::error("ix::evals::invalid-threshold", format!("`{name}` must be {expected}"))
                        .at(value.span, format!("found {}", describe(value))),
                );
            }
            _ => {
                ok = false;
                diags.push(
                    Diag::error("ix::evals::invalid-threshold", "a threshold has only `task`, `model` and `min-score`")
                        .at(key.span, "not a threshold field"),
                );
            }
        }
    }
    let missing: Vec<&str> = [("task", task.is_none()), ("min-score", min_score.is_none())]
        .into_iter()
        .filter_map(|(name, missing)| missing.then_some(name))
        .collect();
    if ok && !missing.is_empty() {
        diags.push(
            Diag::error("ix::evals::invalid-threshold", format!("a threshold needs {}", missing.join(" and ")))
                .at(item.span, "incomplete threshold"),
        );
    }
    Some(Threshold { task: task?, model, min_score: min_score?, at: None }).filter(|_| ok)
}

/// The contract of one job: the variables of the server it starts, of the load its bench task
/// offers and of the eval its eval task runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Contract {
    /// `IMAGE`: in the environment, keyed by digest ([`IMAGE_VAR`]).
    pub image: Var,
    /// Inputs of the server (bench and eval tasks both start it).
    pub server: Vec<Var>,
    /// Inputs of the benchmark client only.
    pub load: Vec<Var>,
    /// Inputs of the eval only.
    pub eval: Vec<Var>,
}

struct Builder(Vec<Var>);

impl Builder {
    fn push(&mut self, env: &'static str, key: &'static str, value: impl Into<String>, source: Source) {
        self.0.push(Var { env: env.into(), key: key.into(), value: value.into(), source });
    }
}

impl Contract {
    /// The contract of `job`; `evals` gives the eval task's settings.
    pub fn of(job: &Job, evals: &EvalSettings) -> Contract {
        // Exhaustive, so a new job field cannot be forgotten here: it is either a variable
        // below or named in the comment that says why it is not.
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
            // Whether the job has an eval task at all: decides the task, is no input of one.
            run_eval: _,
            // Where the job came from: origins sit beside keys, never in them.
            origin: _,
            head,
        } = job;
        let image = Var { env: "IMAGE".into(), key: "image-ref".into(), value: image.clone(), source: Source::Image };
        let mut server = Builder(Vec::with_capacity(24));
        server.push("MODEL", "model", model.clone(), Source::Model);
        server.push("MODEL_PREFIX", "model-prefix", model_prefix.clone(), Source::ModelPrefix);
        server.push("PRECISION", "precision", precision.clone(), Source::Precision);
        server.push("FRAMEWORK", "framework", framework.clone(), Source::Framework);
        server.push("RUNNER_TYPE", "runner", runner.clone(), Source::Runner);
        server.push("ISL", "isl", isl.to_string(), Source::Isl);
        server.push("OSL", "osl", osl.to_string(), Source::Osl);
        server.push("MAX_MODEL_LEN", "max-model-len", max_model_len.to_string(), Source::SeqLen);
        server.push("SPEC_DECODING", "spec-decoding", spec_decoding.as_str(), Source::Point);
        server.push("DISAGG", "disagg", disagg.to_string(), Source::Entry);
        let mut eval = Builder(Vec::with_capacity(8));
        let mut load = Builder(Vec::with_capacity(4));
        let eval_conc = match shape {
            JobShape::Single { tp, ep, dp_attn, conc } => {
                server.push("TP", "tp", tp.to_string(), Source::Tp);
                server.push("EP_SIZE", "ep", ep.to_string(), Source::Ep);
                server.push("DP_ATTENTION", "dp-attn", dp_attn.to_string(), Source::DpAttn);
                // Engines size their batch by it (`--max-num-seqs $CONC`): a server input.
                server.push("CONC", "conc", conc.to_string(), Source::Conc);
                *conc
            }
            JobShape::Multi { prefill, decode, conc } => {
                let list: Vec<String> = conc.iter().map(i64::to_string).collect();
                server.push("CONC_LIST", "conc", list.join(" "), Source::Conc);
                server.push("IS_MULTINODE", "multinode", "true", Source::Constant);
                workers(&mut server, "PREFILL", prefill);
                workers(&mut server, "DECODE", decode);
                if head.format == crate::ir::Format::Head {
                    head_workers(&mut server, "PREFILL", prefill);
                    head_workers(&mut server, "DECODE", decode);
                }
                settings(&mut server.0, prefill, decode);
                // Today's InferenceX names the eval's concurrency (`eval-conc`).
                head.eval_conc.unwrap_or_else(|| conc.iter().copied().max().unwrap_or(1))
            }
        };
        if head.format == crate::ir::Format::Head {
            head_vars(&mut server, job);
        }
        // Names and constants every script checks for (`check_env_vars`), evals included.
        server.push("EXP_NAME", "exp-name", exp_name.clone(), Source::ModelPrefix);
        server.push("RANDOM_RANGE_RATIO", "random-range-ratio", RANDOM_RANGE_RATIO, Source::Constant);
        load.push("RUN_EVAL", "run-eval", "false", Source::Constant);
        eval.push("RUN_EVAL", "run-eval", "true", Source::Constant);
        eval.push("EVAL_ONLY", "eval-only", "true", Source::Constant);
        eval.push(
            "EVAL_FRAMEWORK",
            "eval-harness",
            evals.harness.value.clone(),
            Source::Evals(evals.harness.at.clone()),
        );
        eval.push("EVAL_TASK", "eval-task", evals.task.value.clone(), Source::Evals(evals.task.at.clone()));
        eval.push(
            "NUM_FEWSHOT",
            "eval-num-fewshot",
            evals.num_fewshot.value.to_string(),
            Source::Evals(evals.num_fewshot.at.clone()),
        );
        if let Some(limit) = &evals.limit {
            eval.push("EVAL_LIMIT", "eval-limit", limit.value.to_string(), Source::Evals(limit.at.clone()));
        }
        eval.push("EVAL_CONC", "eval-conc", eval_conc.to_string(), Source::Conc);
        Contract { image, server: server.0, load: load.0, eval: eval.0 }
    }

    /// The variables of the bench task, in the order scripts get them.
    pub fn bench_vars(&self) -> impl Iterator<Item = &Var> {
        self.server.iter().chain(&self.load)
    }

    /// The variables of the eval task, in the order scripts get them.
    pub fn eval_vars(&self) -> impl Iterator<Item = &Var> {
        self.server.iter().chain(&self.eval)
    }

    /// The environment of the bench task (before the executor's own variables).
    pub fn bench_env(&self) -> Vec<(String, String)> {
        env_of(std::iter::once(&self.image).chain(self.bench_vars()))
    }

    /// The environment of the eval task (before the executor's own variables).
    pub fn eval_env(&self) -> Vec<(String, String)> {
        env_of(std::iter::once(&self.image).chain(self.eval_vars()))
    }
}

fn env_of<'a>(vars: impl Iterator<Item = &'a Var>) -> Vec<(String, String)> {
    vars.map(|var| (var.env.to_string(), var.value.clone())).collect()
}

/// The variables of today's InferenceX (INFERENCEX-HEAD §7): scenario, parallelism beyond tp,
/// router, KV transfer and offloading, the offload's DRAM budget and the replay's duration. Feb
/// jobs get none of them, so their environment is the Feb contract exactly.
fn head_vars(out: &mut Builder, job: &Job) {
    let crate::expand::HeadFields {
        // Picks the JSON shape of `ix matrix`; the variables below are what it means for a run.
        format: _,
        scenario,
        parallel,
        router,
        kv_p2p_transfer,
        kv_offloading,
        kv_offload_backend,
        total_cpu_dram_gb,
        duration,
        // The eval's concurrency: the eval task's `EVAL_CONC`.
        eval_conc: _,
        // Which tasks a job has (an eval, no benchmark), not inputs of one.
        eval_only: _,
        eval_all_concs: _,
        evals_marked: _,
    } = &job.head;
    let agentic = *scenario == crate::expand::Scenario::AgenticCoding;
    out.push("SCENARIO_TYPE", "scenario", scenario.as_str(), Source::Point);
    out.push("IS_AGENTIC", "agentic", if agentic { "1" } else { "0" }, Source::Point);
    out.push("SCENARIO_SUBDIR", "scenario-subdir", if agentic { "agentic/" } else { "fixed_seq_len/" }, Source::Point);
    if let JobShape::Single { tp, .. } = job.shape {
        let (pp, dcp, pcp) = parallel.values();
        out.push("PP_SIZE", "pp", pp.to_string(), Source::Point);
        out.push("DCP_SIZE", "dcp-size", dcp.to_string(), Source::Point);
        out.push("PCP_SIZE", "pcp-size", pcp.to_string(), Source::Point);
        let gpus =
            tp.checked_mul(pp).and_then(|n| n.checked_mul(pcp)).map_or("overflow".to_string(), |n| n.to_string());
        out.push("GPU_COUNT", "gpu-count", gpus, Source::Point);
    }
    let component = |c: &crate::ir::Component| serde_json::json!({ "name": c.name, "version": c.version }).to_string();
    if let Some(router) = router {
        out.push("ROUTER_METADATA", "router", component(router), Source::Point);
    }
    if let Some(transfer) = kv_p2p_transfer {
        out.push("KV_P2P_TRANSFER", "kv-p2p-transfer", transfer.clone(), Source::Point);
    }
    if let Some(offloading) = kv_offloading {
        out.push("KV_OFFLOADING", "kv-offloading", offloading.as_str(), Source::Point);
    }
    if let Some(backend) = kv_offload_backend {
        out.push("KV_OFFLOAD_BACKEND", "kv-offload-backend", backend.name.clone(), Source::Point);
        out.push("KV_OFFLOAD_BACKEND_METADATA", "kv-offload-backend-metadata", component(backend), Source::Point);
    }
    if agentic {
        out.push("TOTAL_CPU_DRAM_GB", "total-cpu-dram-gb", total_cpu_dram_gb.to_string(), Source::Point);
        out.push("DURATION", "duration", duration.to_string(), Source::Point);
    }
}

/// A worker's parallelism beyond tp and its hardware (today's format).
fn head_workers(out: &mut Builder, side: &'static str, worker: &Worker) {
    let (pp, dcp, pcp) = worker.parallel.values();
    let names: [(&'static str, &'static str, String); 3] = match side {
        "PREFILL" => [
            ("PREFILL_PP_SIZE", "prefill-pp", pp.to_string()),
            ("PREFILL_DCP_SIZE", "prefill-dcp-size", dcp.to_string()),
            ("PREFILL_PCP_SIZE", "prefill-pcp-size", pcp.to_string()),
        ],
        _ => [
            ("DECODE_PP_SIZE", "decode-pp", pp.to_string()),
            ("DECODE_DCP_SIZE", "decode-dcp-size", dcp.to_string()),
            ("DECODE_PCP_SIZE", "decode-pcp-size", pcp.to_string()),
        ],
    };
    for (env, key, value) in names {
        out.push(env, key, value, Source::Point);
    }
    if let Some(hardware) = &worker.hardware {
        let (env, key) = if side == "PREFILL" {
            ("PREFILL_HARDWARE", "prefill-hardware")
        } else {
            ("DECODE_HARDWARE", "decode-hardware")
        };
        out.push(env, key, hardware.clone(), Source::Point);
    }
}

fn workers(out: &mut Builder, side: &'static str, worker: &Worker) {
    // Today's `parallel` and `hardware` are [`head_workers`]'s.
    let Worker { num_worker, tp, ep, dp_attn, additional_settings: _, parallel: _, hardware: _ } = worker;
    let (nw, tp_name, ep_name, dpa_name, keys) = match side {
        "PREFILL" => (
            "PREFILL_NUM_WORKERS",
            "PREFILL_TP",
            "PREFILL_EP",
            "PREFILL_DP_ATTN",
            ["prefill-workers", "prefill-tp", "prefill-ep", "prefill-dp-attn"],
        ),
        _ => (
            "DECODE_NUM_WORKERS",
            "DECODE_TP",
            "DECODE_EP",
            "DECODE_DP_ATTN",
            ["decode-workers", "decode-tp", "decode-ep", "decode-dp-attn"],
        ),
    };
    out.push(nw, keys[0], num_worker.to_string(), Source::Point);
    out.push(tp_name, keys[1], tp.to_string(), Source::Point);
    out.push(ep_name, keys[2], ep.to_string(), Source::Point);
    out.push(dpa_name, keys[3], dp_attn.to_string(), Source::Point);
}

/// Every prefill, then decode, `additional-settings` entry (`NAME=value`) as a variable named
/// `setting NAME` in the key. A later setting of the same name wins, as in the environment.
fn settings(out: &mut Vec<Var>, prefill: &Worker, decode: &Worker) {
    for worker in [prefill, decode] {
        for setting in worker.additional_settings.iter().flatten() {
            if let Some((name, value)) = setting.split_once('=') {
                let name = name.trim();
                out.retain(|var| &*var.env != name);
                out.push(Var {
                    env: name.into(),
                    key: format!("setting {name}").into(),
                    value: value.to_string(),
                    source: Source::Point,
                });
            }
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::expand::JobOrigin;
    use crate::ir::SpecDecoding;
    use crate::source::{FileId, Span};

    fn lower(text: &str) -> (EvalSettings, Vec<Diag>) {
        let mut sources = SourceMap::default();
        let file = sources.add("evals.yaml".into(), text.into());
        let mut diags = Vec::new();
        (EvalSettings::lower(&sources, file, &mut diags), diags)
    }

    #[test]
    fn eval_settings_read_every_key_with_origins() {
        let (settings, diags) =
            lower("task: ix_smoke\nnum-fewshot: 0\nlimit: 5\nthresholds:\n  - task: ix_smoke\n    min-score: 0.25\n");
        assert!(diags.is_empty(), "{diags:?}");
        assert_eq!(settings.task.value, "ix_smoke");
        assert_eq!(settings.task.at.as_ref().map(|o| (o.line, o.col)), Some((1, 7)));
        assert_eq!(settings.num_fewshot.value, 0);
        assert_eq!(settings.limit.as_ref().map(|l| l.value), Some(5));
        assert_eq!(settings.thresholds.len(), 1);
        assert_eq!(settings.thresholds[0].min_score, 0.25);
        assert_eq!(settings.thresholds[0].at.as_ref().map(|o| o.line), Some(5));
        assert_eq!(settings.thresholds_for("any/model").count(), 1);
    }

    #[test]
    fn eval_settings_errors_have_codes_and_spans() {
        let (_, diags) = lower("task: ../../etc\nnum-fewshot: -1\nlimt: 3\nthresholds:\n  - task: x\n");
        let codes: Vec<&str> = diags.iter().map(|d| d.code).collect();
        assert_eq!(
            codes,
            [
                "ix::evals::invalid-task",
                "ix::evals::out-of-range",
                "ix::evals::unknown-key",
                "ix::evals::invalid-threshold"
            ]
        );
        assert!(diags.iter().all(|d| d.primary.is_some()));
    }

    pub(crate) fn single_job() -> Job {
        let span = Span::new(FileId(0), 0, 0);
        Job {
            image: "vllm/vllm-openai:v0.10.0".into(),
            model: "org/demo".into(),
            model_prefix: "demo".into(),
            precision: "fp8".into(),
            framework: "vllm".into(),
            runner: "h100".into(),
            isl: 1024,
            osl: 1024,
            shape: JobShape::Single { tp: 2, ep: 1, dp_attn: false, conc: 4 },
            spec_decoding: SpecDecoding::None,
            max_model_len: 2248,
            exp_name: "demo_1k1k".into(),
            disagg: false,
            run_eval: true,
            head: Default::default(),
            origin: JobOrigin {
                key: "demo".into(),
                entry_idx: 0,
                seq_idx: 0,
                point_idx: 0,
                entry_span: span,
                point_span: span,
            },
        }
    }

    #[test]
    fn env_names_are_unique_per_task() {
        let contract = Contract::of(&single_job(), &EvalSettings::default());
        for env in [contract.bench_env(), contract.eval_env()] {
            let mut names: Vec<&str> = env.iter().map(|(k, _)| k.as_str()).collect();
            let before = names.len();
            names.sort_unstable();
            names.dedup();
            assert_eq!(names.len(), before, "a variable is set twice: {env:?}");
        }
    }

    #[test]
    fn a_later_additional_setting_wins() {
        let mut job = single_job();
        let worker = |settings: &[&str]| Worker {
            num_worker: 1,
            tp: 4,
            ep: 1,
            dp_attn: false,
            additional_settings: Some(settings.iter().map(|s| s.to_string()).collect()),
            parallel: Default::default(),
            hardware: None,
        };
        job.shape = JobShape::Multi { prefill: worker(&["A=1", "B=2"]), decode: worker(&["A=3"]), conc: vec![8] };
        let env = Contract::of(&job, &EvalSettings::default()).bench_env();
        let a: Vec<&str> = env.iter().filter(|(k, _)| k == "A").map(|(_, v)| v.as_str()).collect();
        assert_eq!(a, ["3"]);
        assert!(env.iter().any(|(k, v)| k == "B" && v == "2"));
    }
}
