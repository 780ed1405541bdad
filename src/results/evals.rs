//! lm-eval outputs to eval rows (REFERENCE-SEMANTICS.md §9.4) and score thresholds.
//!
//! An eval set is an immediate sub-folder of the results directory holding `meta_env.json` (the
//! job description written next to lm-eval's output) and lm-eval's `results*.json`. This module
//! reads them and checks thresholds; running lm-eval itself lives in `super::lm_eval`.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use super::collect::{CollectError, read_json};

/// Why eval results could not be collected or checked.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum EvalError {
    #[error(transparent)]
    #[diagnostic(transparent)]
    Collect(#[from] CollectError),
    #[error("cannot read `{}`", path.display())]
    #[diagnostic(code(ix::evals::io))]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the thresholds file `{}` is invalid: {message}", path.display())]
    #[diagnostic(
        code(ix::evals::bad_thresholds),
        help(
            "expected a list of `{{\"task\": ..., \"model\": ..., \"min_score\": 0.0-1.0}}` objects; `model` may be omitted"
        )
    )]
    BadThresholds { path: PathBuf, message: String },
}

/// Where each row's score comes from in the lm-eval output of one task.
#[derive(Clone, Debug, Default, PartialEq)]
struct TaskMetrics {
    strict: Option<Value>,
    strict_se: Option<Value>,
    flex: Option<Value>,
    flex_se: Option<Value>,
    accuracy: Option<Value>,
    accuracy_se: Option<Value>,
}

/// Every eval set under `dir`, sorted by folder name.
pub fn eval_sets(dir: &Path) -> Result<Vec<PathBuf>, EvalError> {
    let io = |source| EvalError::Io { path: dir.to_path_buf(), source };
    let mut sets = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let path = entry.map_err(io)?.path();
        if path.is_dir() && path.join("meta_env.json").is_file() {
            sets.push(path);
        }
    }
    sets.sort();
    Ok(sets)
}

/// An lm-eval result file: its path and parsed content.
type LmEvalFile = (PathBuf, Map<String, Value>);

/// The lm-eval result file of an eval set: the newest `*.json` (other than `meta_env.json`) with
/// a top-level `lm_eval_version` key. Ties on mtime go to the later path.
fn lm_eval_file(set: &Path) -> Result<Option<LmEvalFile>, EvalError> {
    let io = |source| EvalError::Io { path: set.to_path_buf(), source };
    let mut candidates: Vec<PathBuf> = Vec::new();
    for entry in std::fs::read_dir(set).map_err(io)? {
        let path = entry.map_err(io)?.path();
        let is_json = path.extension().is_some_and(|ext| ext == "json");
        if is_json && path.file_name().is_some_and(|name| name != "meta_env.json") && path.is_file() {
            candidates.push(path);
        }
    }
    candidates.sort();
    let mut best: Option<(std::time::SystemTime, PathBuf, Map<String, Value>)> = None;
    for path in candidates {
        let Ok(Value::Object(data)) = read_json(&path) else { continue };
        if !data.contains_key("lm_eval_version") {
            continue;
        }
        let modified = std::fs::metadata(&path).and_then(|meta| meta.modified()).map_err(io)?;
        if best.as_ref().is_none_or(|(best_time, _, _)| modified >= *best_time) {
            best = Some((modified, path, data));
        }
    }
    Ok(best.map(|(_, path, data)| (path, data)))
}

fn task_metrics(task_results: &Map<String, Value>, config: Option<&Map<String, Value>>) -> TaskMetrics {
    let base_metric = config
        .and_then(|config| config.get("metric_list"))
        .and_then(Value::as_array)
        .and_then(|list| list.first())
        .and_then(|first| first.get("metric"))
        .and_then(Value::as_str)
        .unwrap_or("exact_match");
    let filters: Vec<&str> = config
        .and_then(|config| config.get("filter_list"))
        .and_then(Value::as_array)
        .map(|list| list.iter().filter_map(|filter| filter.get("name").and_then(Value::as_str)).collect())
        .unwrap_or_default();
    let get = |key: &str| task_results.get(key).filter(|value| !value.is_null()).cloned();
    // lm-eval suffixes every metric with its filter; an unfiltered metric has filter `none`.
    let get_either = |key: &str| get(key).or_else(|| get(&format!("{key},none")));
    let mut metrics = TaskMetrics::default();
    if filters.is_empty() {
        metrics.accuracy = get_either("acc");
        metrics.accuracy_se = get_either("acc_stderr");
        if metrics.accuracy.is_none() {
            metrics.strict = get_either(base_metric);
            metrics.strict_se = get_either(&format!("{base_metric}_stderr"));
        }
    } else {
        for filter in filters {
            let value = get(&format!("{base_metric},{filter}"));
            let stderr = get(&format!("{base_metric}_stderr,{filter}"));
            if filter.contains("strict") {
                (metrics.strict, metrics.strict_se) = (value, stderr);
            } else if filter.contains("flex") || filter.contains("extract") {
                (metrics.flex, metrics.flex_se) = (value, stderr);
            }
        }
    }
    metrics
}

fn meta_str(meta: &Map<String, Value>, key: &str) -> Option<String> {
    match meta.get(key)? {
        Value::String(text) => Some(text.clone()),
        Value::Null => None,
        Value::Bool(flag) => Some(if *flag { "True" } else { "False" }.to_string()),
        other => Some(other.to_string()),
    }
}

fn meta_int(meta: &Map<String, Value>, key: &str, default: i64) -> i64 {
    match meta.get(key) {
        Some(Value::Number(number)) => number.as_i64().or_else(|| number.as_f64().map(|f| f as i64)).unwrap_or(default),
        Some(Value::String(text)) => text.trim().parse().unwrap_or(default),
        _ => default,
    }
}

/// Collects one row per (eval set, task), sorted by (hw, framework, precision, spec_decoding, tp,
/// ep, conc), with keys in the order of §9.4.
pub fn collect_eval_rows(dir: &Path) -> Result<Vec<Map<String, Value>>, EvalError> {
    let mut rows = Vec::new();
    for set in eval_sets(dir)? {
        let meta = match read_json(&set.join("meta_env.json")) {
            Ok(Value::Object(meta)) => meta,
            _ => Map::new(),
        };
        let Some((source, data)) = lm_eval_file(&set)? else { continue };
        let empty = Map::new();
        let results = data.get("results").and_then(Value::as_object).unwrap_or(&empty);
        let configs = data.get("configs").and_then(Value::as_object);
        for (task, task_results) in results {
            let Some(task_results) = task_results.as_object() else { continue };
            let config = configs.and_then(|configs| configs.get(task)).and_then(Value::as_object);
            let metrics = task_metrics(task_results, config);
            let model = data
                .get("model_name")
                .and_then(Value::as_str)
                .filter(|name| !name.is_empty())
                .map(str::to_string)
                .or_else(|| {
                    config
                        .and_then(|c| c.get("metadata"))
                        .and_then(|m| m.get("model"))
                        .and_then(Value::as_str)
                        .map(str::to_string)
                })
                .or_else(|| meta_str(&meta, "model"))
                .unwrap_or_else(|| "unknown".into());
            let n_eff = data.get("n-samples").and_then(|n| n.get(task)).and_then(|n| n.get("effective")).cloned();
            let (score, score_name, score_se) = if metrics.strict.is_some() {
                (metrics.strict.clone(), Value::from("em_strict"), metrics.strict_se.clone())
            } else if metrics.accuracy.is_some() {
                (metrics.accuracy.clone(), Value::from("acc"), metrics.accuracy_se.clone())
            } else {
                (None, Value::Null, None)
            };
            let mut row = Map::new();
            row.insert("model".into(), model.into());
            row.insert("hw".into(), meta_str(&meta, "hw").unwrap_or_else(|| "unknown".into()).to_uppercase().into());
            row.insert(
                "framework".into(),
                meta_str(&meta, "framework").unwrap_or_else(|| "unknown".into()).to_lowercase().into(),
            );
            row.insert(
                "precision".into(),
                meta_str(&meta, "precision").unwrap_or_else(|| "unknown".into()).to_lowercase().into(),
            );
            row.insert(
                "spec_decoding".into(),
                meta_str(&meta, "spec_decoding").unwrap_or_else(|| "none".into()).into(),
            );
            row.insert("tp".into(), meta_int(&meta, "tp", 1).into());
            row.insert("ep".into(), meta_int(&meta, "ep", 1).into());
            row.insert("conc".into(), meta_int(&meta, "conc", 0).into());
            row.insert(
                "dp_attention".into(),
                meta_str(&meta, "dp_attention").unwrap_or_else(|| "False".into()).to_lowercase().into(),
            );
            row.insert("task".into(), task.clone().into());
            row.insert("em_strict".into(), metrics.strict.unwrap_or(Value::Null));
            row.insert("em_strict_se".into(), metrics.strict_se.unwrap_or(Value::Null));
            row.insert("em_flexible".into(), metrics.flex.unwrap_or(Value::Null));
            row.insert("em_flexible_se".into(), metrics.flex_se.unwrap_or(Value::Null));
            row.insert("n_eff".into(), n_eff.unwrap_or(Value::Null));
            row.insert("source".into(), source.display().to_string().into());
            row.insert("score".into(), score.unwrap_or(Value::Null));
            row.insert("score_name".into(), score_name);
            row.insert("score_se".into(), score_se.unwrap_or(Value::Null));
            rows.push(row);
        }
    }
    let key = |row: &Map<String, Value>| {
        let text = |k: &str| row[k].as_str().unwrap_or_default().to_string();
        let int = |k: &str| row[k].as_i64().unwrap_or_default();
        (text("hw"), text("framework"), text("precision"), text("spec_decoding"), int("tp"), int("ep"), int("conc"))
    };
    rows.sort_by_key(key);
    Ok(rows)
}

/// Headers of the eval table, in order.
pub const EVAL_HEADERS: [&str; 14] = [
    "Model",
    "Hardware",
    "Framework",
    "Precision",
    "Spec Decode",
    "TP",
    "EP",
    "Conc",
    "DP Attention",
    "Task",
    "Score",
    "EM Strict",
    "EM Flexible",
    "N (eff)",
];

fn percent(value: &Value, stderr: &Value) -> String {
    match value.as_f64() {
        None => "N/A".into(),
        Some(value) => match stderr.as_f64() {
            Some(stderr) => format!("{:.2}% ±{:.2}%", value * 100.0, stderr * 100.0),
            None => format!("{:.2}%", value * 100.0),
        },
    }
}

/// The table cells of one row, in [`EVAL_HEADERS`] order.
pub fn eval_table_row(row: &Map<String, Value>) -> Vec<Option<String>> {
    let text = |key: &str| match &row[key] {
        Value::String(text) => text.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    };
    vec![
        Some(text("model")),
        Some(text("hw")),
        Some(text("framework").to_uppercase()),
        Some(text("precision").to_uppercase()),
        Some(text("spec_decoding")),
        Some(text("tp")),
        Some(text("ep")),
        Some(text("conc")),
        Some(text("dp_attention")),
        Some(text("task")),
        Some(percent(&row["score"], &row["score_se"])),
        Some(percent(&row["em_strict"], &row["em_strict_se"])),
        Some(percent(&row["em_flexible"], &row["em_flexible_se"])),
        Some(text("n_eff")),
    ]
}

/// One minimum score: for `task` (and `model`, when given), `score` must be at least `min_score`.
#[derive(Clone, Debug, PartialEq)]
pub struct Threshold {
    pub task: String,
    pub model: Option<String>,
    pub min_score: f64,
}

/// A row that scored below its threshold (or has no score at all).
#[derive(Clone, Debug, PartialEq)]
pub struct Regression {
    pub task: String,
    pub model: String,
    pub hw: String,
    pub framework: String,
    pub precision: String,
    pub score: Option<f64>,
    pub min_score: f64,
    pub source: String,
}

/// Reads a thresholds file: a JSON or YAML list of `{task, model?, min_score}`.
pub fn load_thresholds(path: &Path) -> Result<Vec<Threshold>, EvalError> {
    let text = std::fs::read_to_string(path).map_err(|source| EvalError::Io { path: path.to_path_buf(), source })?;
    let bad = |message: String| EvalError::BadThresholds { path: path.to_path_buf(), message };
    let value: Value = if text.trim_start().starts_with(['[', '{']) {
        serde_json::from_str(&text).map_err(|err| bad(err.to_string()))?
    } else {
        yaml_to_json(&text).map_err(bad)?
    };
    let list = value.as_array().ok_or_else(|| bad("the top level is not a list".into()))?;
    list.iter()
        .enumerate()
        .map(|(idx, entry)| {
            let task =
                entry.get("task").and_then(Value::as_str).ok_or_else(|| bad(format!("entry {idx} lacks `task`")))?;
            let min_score = entry
                .get("min_score")
                .and_then(Value::as_f64)
                .ok_or_else(|| bad(format!("entry {idx} lacks a numeric `min_score`")))?;
            let model = entry.get("model").and_then(Value::as_str).map(str::to_string);
            Ok(Threshold { task: task.to_string(), model, min_score })
        })
        .collect()
}

fn yaml_to_json(text: &str) -> Result<Value, String> {
    use saphyr::LoadableYamlNode;
    fn convert(node: &saphyr::Yaml<'_>) -> Value {
        if let Some(list) = node.as_sequence() {
            return Value::Array(list.iter().map(convert).collect());
        }
        if let Some(map) = node.as_mapping() {
            return Value::Object(
                map.iter().filter_map(|(key, value)| Some((key.as_str()?.to_string(), convert(value)))).collect(),
            );
        }
        if let Some(int) = node.as_integer() {
            return Value::from(int);
        }
        if let Some(float) = node.as_floating_point() {
            return Value::from(float);
        }
        if let Some(flag) = node.as_bool() {
            return Value::from(flag);
        }
        node.as_str().map_or(Value::Null, Value::from)
    }
    let docs = saphyr::Yaml::load_from_str(text).map_err(|err| err.to_string())?;
    Ok(docs.first().map_or(Value::Null, convert))
}

/// Every row below its threshold. A threshold with a model applies to rows of that model only;
/// one without applies to every row of its task. A missing score counts as a regression.
pub fn check_thresholds(rows: &[Map<String, Value>], thresholds: &[Threshold]) -> Vec<Regression> {
    let mut regressions = Vec::new();
    for row in rows {
        let text = |key: &str| row.get(key).and_then(Value::as_str).unwrap_or_default().to_string();
        for threshold in thresholds {
            if threshold.task != text("task") || threshold.model.as_ref().is_some_and(|model| *model != text("model")) {
                continue;
            }
            let score = row.get("score").and_then(Value::as_f64);
            if score.is_none_or(|score| score < threshold.min_score) {
                regressions.push(Regression {
                    task: text("task"),
                    model: text("model"),
                    hw: text("hw"),
                    framework: text("framework"),
                    precision: text("precision"),
                    score,
                    min_score: threshold.min_score,
                    source: text("source"),
                });
            }
        }
    }
    regressions
}
