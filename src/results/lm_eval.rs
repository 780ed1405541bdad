//! Running an lm-eval task against a server's `/v1/chat/completions`, as the reference's
//! `run_lm_eval` + `append_lm_eval_summary` do (REFERENCE-SEMANTICS.md §8.4): lm-eval in
//! `local-chat-completions` mode with a task file, then `meta_env.json` and the result files
//! gathered flat in one eval-set folder that `ix evals collect` reads.
//!
//! This module builds the command and moves files; it does not install lm-eval (see
//! `ci/results.sh`) and prints nothing itself (lm-eval's own output goes to stderr).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::{Map, Value};

/// Why an eval run failed.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum EvalRunError {
    #[error("task file `{}` not found", path.display())]
    #[diagnostic(code(ix::evals::task_not_found), help("task names resolve to `<tasks dir>/<task>.yaml`"))]
    TaskNotFound { path: PathBuf },
    #[error("cannot start lm-eval (`{program}`)")]
    #[diagnostic(
        code(ix::evals::lm_eval_missing),
        help(
            "install it with `pip install 'lm-eval[api]'` (ci/results.sh does), or point `--lm-eval`/`IX_LM_EVAL` at it"
        )
    )]
    Spawn {
        program: String,
        #[source]
        source: std::io::Error,
    },
    #[error("lm-eval exited with {status}")]
    #[diagnostic(code(ix::evals::lm_eval_failed))]
    Failed { status: std::process::ExitStatus },
    #[error("lm-eval wrote no result file under `{}`", path.display())]
    #[diagnostic(code(ix::evals::no_results))]
    NoResults { path: PathBuf },
    #[error("cannot write `{}`", path.display())]
    #[diagnostic(code(ix::evals::io))]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// One eval run: which server, which task, where the results go.
#[derive(Clone, Debug)]
pub struct EvalRun {
    /// The lm-eval executable (`lm_eval`, or a venv's `bin/lm_eval`).
    pub lm_eval: String,
    /// Server base URL without the path, e.g. `http://127.0.0.1:8888`.
    pub server: String,
    /// Model name sent in each request.
    pub model: String,
    /// The task YAML file; lm-eval runs in its folder so relative `data_files` resolve there.
    pub task_file: PathBuf,
    /// The eval-set folder: receives `meta_env.json`, `results_*.json`, `samples_*.jsonl`.
    pub out_dir: PathBuf,
    pub num_fewshot: u32,
    pub concurrent_requests: u32,
    pub max_gen_tokens: u32,
    pub limit: Option<u32>,
}

/// Resolves a task name to `<tasks_dir>/<task>.yaml`; a path to an existing file is used as is;
/// a plain name without a file there (`gsm8k`) is one of lm-eval's own tasks, passed as is.
pub fn task_file(tasks_dir: &Path, task: &str) -> Result<PathBuf, EvalRunError> {
    let as_path = PathBuf::from(task);
    let path = if as_path.is_file() { as_path } else { tasks_dir.join(format!("{task}.yaml")) };
    let plain_name = !task.is_empty() && task.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-'));
    if path.is_file() {
        Ok(path)
    } else if plain_name {
        Ok(PathBuf::from(task))
    } else {
        Err(EvalRunError::TaskNotFound { path })
    }
}

/// The lm-eval command line (program and arguments) for a run writing into `raw_dir`.
pub fn lm_eval_args(run: &EvalRun, task_file: &Path, raw_dir: &Path) -> Vec<String> {
    let base_url = format!("{}/v1/chat/completions", run.server.trim_end_matches('/'));
    let mut args = vec![
        "--model".to_string(),
        "local-chat-completions".into(),
        "--apply_chat_template".into(),
        "--tasks".into(),
        task_file.display().to_string(),
        "--num_fewshot".into(),
        run.num_fewshot.to_string(),
        "--output_path".into(),
        raw_dir.display().to_string(),
        "--log_samples".into(),
        "--model_args".into(),
        format!(
            "model={},base_url={base_url},api_key=EMPTY,eos_string=</s>,max_retries=5,num_concurrent={},timeout=600,tokenized_requests=False",
            run.model, run.concurrent_requests
        ),
        "--gen_kwargs".into(),
        format!("max_tokens={},temperature=0,top_p=1", run.max_gen_tokens),
    ];
    if let Some(limit) = run.limit {
        args.extend(["--limit".into(), limit.to_string()]);
    }
    args
}

/// `meta_env.json` as `append_lm_eval_summary` writes it: framework and precision from the
/// environment, else parsed from `RESULT_FILENAME` (the two `_`-separated fields right before
/// `_tp`); numbers default to 1; `dp_attention` is a JSON bool; `isl`/`osl` stay strings.
pub fn meta_env(lookup: &dyn Fn(&str) -> Option<String>) -> Map<String, Value> {
    let get = |name: &str| lookup(name).filter(|value| !value.is_empty());
    let (parsed_precision, parsed_framework) = get("RESULT_FILENAME").and_then(|name| fields_before_tp(&name)).unzip();
    let number = |name: &str| -> Value {
        get(name).and_then(|value| value.trim().parse::<i64>().ok()).map_or(Value::from(1), Value::from)
    };
    let mut meta = Map::new();
    meta.insert("framework".into(), get("FRAMEWORK").or(parsed_framework).unwrap_or_default().into());
    meta.insert("precision".into(), get("PRECISION").or(parsed_precision).unwrap_or_default().into());
    meta.insert("spec_decoding".into(), get("SPEC_DECODING").unwrap_or_else(|| "none".into()).into());
    meta.insert("tp".into(), number("TP"));
    meta.insert("conc".into(), number("CONC"));
    meta.insert("ep".into(), number("EP_SIZE"));
    meta.insert("dp_attention".into(), (get("DP_ATTENTION").as_deref() == Some("true")).into());
    meta.insert("model".into(), get("MODEL_NAME").or_else(|| get("MODEL")).unwrap_or_default().into());
    meta.insert("hw".into(), get("RUNNER_TYPE").unwrap_or_default().into());
    meta.insert("isl".into(), get("ISL").unwrap_or_default().into());
    meta.insert("osl".into(), get("OSL").unwrap_or_default().into());
    meta
}

/// `(precision, framework)` from e.g. `dsr1_1k1k_fp8_sglang_tp8-ep1-...`.
fn fields_before_tp(name: &str) -> Option<(String, String)> {
    let position = name.find("_tp")?;
    let mut fields = name[..position].rsplit('_');
    let framework = fields.next()?.to_string();
    let precision = fields.next()?.to_string();
    Some((precision, framework))
}

/// Runs lm-eval, then gathers its output flat into `run.out_dir` next to `meta_env.json`.
/// Returns the path of the lm-eval results file.
pub fn run_eval(run: &EvalRun, meta: &Map<String, Value>) -> Result<PathBuf, EvalRunError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| EvalRunError::Io { path, source }
    };
    std::fs::create_dir_all(&run.out_dir).map_err(io(&run.out_dir))?;
    let out_dir = std::path::absolute(&run.out_dir).map_err(io(&run.out_dir))?;
    let raw_dir = out_dir.join(".lm-eval-raw");
    let _ = std::fs::remove_dir_all(&raw_dir);
    // A task file runs in its folder (its relative data files resolve there); a task of
    // lm-eval's own (a plain name) in the output folder.
    let (task_file, task_dir) = if run.task_file.is_file() {
        let task_file = std::path::absolute(&run.task_file).map_err(io(&run.task_file))?;
        let dir = task_file.parent().map(Path::to_path_buf).unwrap_or_else(|| PathBuf::from("."));
        (task_file, dir)
    } else {
        (run.task_file.clone(), out_dir.clone())
    };
    let status = Command::new(&run.lm_eval)
        .args(lm_eval_args(run, &task_file, &raw_dir))
        .current_dir(task_dir)
        .stdin(Stdio::null())
        .stdout(Stdio::from(std::io::stderr()))
        .status()
        .map_err(|source| EvalRunError::Spawn { program: run.lm_eval.clone(), source })?;
    if !status.success() {
        return Err(EvalRunError::Failed { status });
    }
    let mut moved = Vec::new();
    gather(&raw_dir, &out_dir, &mut moved).map_err(io(&raw_dir))?;
    let _ = std::fs::remove_dir_all(&raw_dir);
    let meta_path = out_dir.join("meta_env.json");
    let meta_text = serde_json::to_string_pretty(&Value::Object(meta.clone())).unwrap_or_default();
    std::fs::write(&meta_path, meta_text).map_err(io(&meta_path))?;
    moved.sort();
    moved
        .into_iter()
        .rev()
        .find(|path| {
            path.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with("results") && n.ends_with(".json"))
        })
        .ok_or(EvalRunError::NoResults { path: raw_dir })
}

/// Moves every `*.json*` file under `from` (recursively) into `to`.
fn gather(from: &Path, to: &Path, moved: &mut Vec<PathBuf>) -> std::io::Result<()> {
    if !from.is_dir() {
        return Ok(());
    }
    for entry in std::fs::read_dir(from)? {
        let path = entry?.path();
        if path.is_dir() {
            gather(&path, to, moved)?;
        } else if let Some(name) = path.file_name().filter(|name| name.to_string_lossy().contains(".json")) {
            let target = to.join(name);
            std::fs::rename(&path, &target).or_else(|_| std::fs::copy(&path, &target).map(|_| ()))?;
            moved.push(target);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use super::{EvalRun, lm_eval_args, meta_env};

    #[test]
    fn meta_env_parses_framework_and_precision_from_the_result_filename() {
        let env = [
            ("RESULT_FILENAME", "dsr1_1k8k_fp8_sglang_tp8-ep1-dpafalse_disagg-false_spec-none_conc64_b200-nv_0"),
            ("TP", "8"),
            ("CONC", "64"),
            ("DP_ATTENTION", "true"),
            ("MODEL", "deepseek-ai/DeepSeek-R1-0528"),
            ("RUNNER_TYPE", "b200"),
            ("ISL", "1024"),
            ("OSL", "8192"),
        ];
        let lookup = |name: &str| env.iter().find(|(key, _)| *key == name).map(|(_, value)| value.to_string());
        let meta = serde_json::Value::Object(meta_env(&lookup));
        assert_eq!(
            meta,
            serde_json::json!({"framework": "sglang", "precision": "fp8", "spec_decoding": "none", "tp": 8, "conc": 64,
                "ep": 1, "dp_attention": true, "model": "deepseek-ai/DeepSeek-R1-0528", "hw": "b200", "isl": "1024", "osl": "8192"})
        );
        let with_env = |name: &str| match name {
            "FRAMEWORK" => Some("vllm".to_string()),
            "MODEL_NAME" => Some("served".to_string()),
            other => lookup(other),
        };
        let meta = meta_env(&with_env);
        assert_eq!(meta["framework"], "vllm", "the environment wins over the file name");
        assert_eq!(meta["precision"], "fp8");
        assert_eq!(meta["model"], "served", "MODEL_NAME wins over MODEL");
    }

    #[test]
    fn lm_eval_runs_in_local_chat_completions_mode() {
        let run = EvalRun {
            lm_eval: "lm_eval".into(),
            server: "http://127.0.0.1:8888/".into(),
            model: "tiny".into(),
            task_file: PathBuf::from("utils/evals/gsm8k.yaml"),
            out_dir: PathBuf::from("out"),
            num_fewshot: 2,
            concurrent_requests: 32,
            max_gen_tokens: 8192,
            limit: Some(5),
        };
        let args = lm_eval_args(&run, Path::new("/abs/gsm8k.yaml"), Path::new("/abs/raw")).join(" ");
        assert_eq!(
            args,
            "--model local-chat-completions --apply_chat_template --tasks /abs/gsm8k.yaml --num_fewshot 2 \
             --output_path /abs/raw --log_samples --model_args model=tiny,base_url=http://127.0.0.1:8888/v1/chat/completions,\
             api_key=EMPTY,eos_string=</s>,max_retries=5,num_concurrent=32,timeout=600,tokenized_requests=False \
             --gen_kwargs max_tokens=8192,temperature=0,top_p=1 --limit 5"
        );
    }
}
