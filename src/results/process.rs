//! One raw benchmark result plus the job's parameters to one aggregate record
//! (REFERENCE-SEMANTICS.md §9.1): same keys, same key order, same formulas.
//!
//! Owns the environment contract of the reference `process_result.py` ([`job_from_env`]) and the
//! record arithmetic ([`process`]). It does not read or write files: the CLI does that.

use serde_json::{Map, Value};

/// Options that change how inputs the reference would crash on are handled.
#[derive(Clone, Copy, Debug, Default)]
pub struct ProcessOptions {
    /// When set, a zero `*tpot*` value gives a `null` interactivity and a `null` metric gives
    /// `null` derived values, instead of an error.
    pub lenient: bool,
}

/// What one benchmark job was: everything the record needs besides the raw result.
#[derive(Clone, Debug, PartialEq)]
pub struct JobParams {
    /// `RUNNER_TYPE`, e.g. `b200-trt`.
    pub hw: String,
    pub image: String,
    /// `MODEL_PREFIX`, e.g. `dsr1`.
    pub model_prefix: String,
    pub framework: String,
    pub precision: String,
    pub spec_decoding: String,
    pub disagg: bool,
    pub isl: i64,
    pub osl: i64,
    pub topology: Topology,
}

/// Single- or multi-node parallelism of a job. Divisors of the per-GPU throughputs come from here.
#[derive(Clone, Debug, PartialEq)]
pub enum Topology {
    Single {
        tp: i64,
        ep: i64,
        /// Kept as the string given (`"false"`, `"True"`), as the reference does.
        dp_attention: String,
    },
    Multi {
        prefill_tp: i64,
        prefill_ep: i64,
        prefill_dp_attention: String,
        prefill_num_workers: i64,
        decode_tp: i64,
        decode_ep: i64,
        decode_dp_attention: String,
        decode_num_workers: i64,
        num_prefill_gpu: i64,
        num_decode_gpu: i64,
    },
}

/// Why a result could not be processed. Every variant names the offending variable or key.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum ProcessError {
    #[error("missing required environment variables: {}", .0.join(", "))]
    #[diagnostic(code(ix::results::missing_env))]
    MissingEnv(Vec<String>),
    #[error("disaggregated mode requires a multi-node setup (`DISAGG` is true but `IS_MULTINODE` is not)")]
    #[diagnostic(code(ix::results::disagg_single_node))]
    DisaggSingleNode,
    #[error("`{name}` must be an integer, got `{value}`")]
    #[diagnostic(code(ix::results::not_an_integer))]
    NotAnInteger { name: String, value: String },
    #[error("the raw result lacks `{0}`")]
    #[diagnostic(code(ix::results::missing_key))]
    MissingKey(String),
    #[error("`{key}` must be a number, got `{value}`")]
    #[diagnostic(
        code(ix::results::not_a_number),
        help("pass `--lenient` to turn a null metric into null derived values")
    )]
    NotANumber { key: String, value: String },
    #[error("`{key}` is 0, so its interactivity (1000 / {key}) is undefined")]
    #[diagnostic(code(ix::results::zero_tpot), help("pass `--lenient` to write `null` for this interactivity instead"))]
    ZeroTpot { key: String },
    #[error("the per-GPU throughput divisor `{0}` is 0")]
    #[diagnostic(code(ix::results::zero_gpus))]
    ZeroGpus(String),
    #[error("the raw result is not a JSON object")]
    #[diagnostic(code(ix::results::not_an_object))]
    NotAnObject,
}

const BASE_VARS: [&str; 10] = [
    "RUNNER_TYPE",
    "FRAMEWORK",
    "PRECISION",
    "SPEC_DECODING",
    "RESULT_FILENAME",
    "ISL",
    "OSL",
    "DISAGG",
    "MODEL_PREFIX",
    "IMAGE",
];

const MULTI_VARS: [&str; 10] = [
    "PREFILL_GPUS",
    "DECODE_GPUS",
    "PREFILL_NUM_WORKERS",
    "PREFILL_TP",
    "PREFILL_EP",
    "PREFILL_DP_ATTN",
    "DECODE_NUM_WORKERS",
    "DECODE_TP",
    "DECODE_EP",
    "DECODE_DP_ATTN",
];

const SINGLE_VARS: [&str; 3] = ["TP", "EP_SIZE", "DP_ATTENTION"];

/// Reads the job from the reference's environment contract. `lookup` returns a variable's value;
/// a variable counts as missing only when unset (an empty value is accepted, as in the reference).
/// Returns the job and `RESULT_FILENAME`.
pub fn job_from_env(lookup: &dyn Fn(&str) -> Option<String>) -> Result<(JobParams, String), ProcessError> {
    require(lookup, &BASE_VARS)?;
    let get = |name: &str| lookup(name).unwrap_or_default();
    let int = |name: &str| parse_int(name, &get(name));
    let is_multinode = get("IS_MULTINODE").to_lowercase() == "true";
    let disagg = get("DISAGG").to_lowercase() == "true";
    let topology = if is_multinode {
        require(lookup, &MULTI_VARS)?;
        Topology::Multi {
            prefill_tp: int("PREFILL_TP")?,
            prefill_ep: int("PREFILL_EP")?,
            prefill_dp_attention: get("PREFILL_DP_ATTN"),
            prefill_num_workers: int("PREFILL_NUM_WORKERS")?,
            decode_tp: int("DECODE_TP")?,
            decode_ep: int("DECODE_EP")?,
            decode_dp_attention: get("DECODE_DP_ATTN"),
            decode_num_workers: int("DECODE_NUM_WORKERS")?,
            num_prefill_gpu: int("PREFILL_GPUS")?,
            num_decode_gpu: int("DECODE_GPUS")?,
        }
    } else {
        if disagg {
            return Err(ProcessError::DisaggSingleNode);
        }
        require(lookup, &SINGLE_VARS)?;
        Topology::Single { tp: int("TP")?, ep: int("EP_SIZE")?, dp_attention: get("DP_ATTENTION") }
    };
    let job = JobParams {
        hw: get("RUNNER_TYPE"),
        image: get("IMAGE"),
        model_prefix: get("MODEL_PREFIX"),
        framework: get("FRAMEWORK"),
        precision: get("PRECISION"),
        spec_decoding: get("SPEC_DECODING"),
        disagg,
        isl: int("ISL")?,
        osl: int("OSL")?,
        topology,
    };
    Ok((job, get("RESULT_FILENAME")))
}

fn require(lookup: &dyn Fn(&str) -> Option<String>, names: &[&str]) -> Result<(), ProcessError> {
    let missing: Vec<String> =
        names.iter().filter(|name| lookup(name).is_none()).map(|name| name.to_string()).collect();
    if missing.is_empty() { Ok(()) } else { Err(ProcessError::MissingEnv(missing)) }
}

/// Parses an integer the way Python's `int(str)` does for the values that occur (surrounding
/// whitespace, a sign, `_` digit separators).
fn parse_int(name: &str, value: &str) -> Result<i64, ProcessError> {
    let cleaned: String = value.trim().chars().filter(|&c| c != '_').collect();
    cleaned.parse().map_err(|_| ProcessError::NotAnInteger { name: name.to_string(), value: value.to_string() })
}

/// Turns one raw result (the benchmark client's JSON object, LOAD-GENERATOR.md §8.2) into the
/// aggregate record of §9.1, keys in the reference's order.
pub fn process(job: &JobParams, raw: &Value, options: ProcessOptions) -> Result<Map<String, Value>, ProcessError> {
    let raw = raw.as_object().ok_or(ProcessError::NotAnObject)?;
    let mut record = Map::new();
    let conc = match raw.get("max_concurrency") {
        None => return Err(ProcessError::MissingKey("max_concurrency".into())),
        Some(value) => match (value.as_i64(), value.as_f64()) {
            (Some(int), _) => int,
            (None, Some(float)) if float.is_finite() => float.trunc() as i64,
            _ => return Err(not_a_number("max_concurrency", value)),
        },
    };
    record.insert("hw".into(), job.hw.clone().into());
    record.insert("conc".into(), conc.into());
    record.insert("image".into(), job.image.clone().into());
    record.insert(
        "model".into(),
        raw.get("model_id").cloned().ok_or_else(|| ProcessError::MissingKey("model_id".into()))?,
    );
    record.insert("infmax_model_prefix".into(), job.model_prefix.clone().into());
    record.insert("framework".into(), job.framework.clone().into());
    record.insert("precision".into(), job.precision.clone().into());
    record.insert("spec_decoding".into(), job.spec_decoding.clone().into());
    record.insert("disagg".into(), job.disagg.into());
    record.insert("isl".into(), job.isl.into());
    record.insert("osl".into(), job.osl.into());

    let total = number(raw, "total_token_throughput")?;
    let output = number(raw, "output_throughput")?;
    match &job.topology {
        Topology::Single { tp, ep, dp_attention } => {
            record.insert("is_multinode".into(), false.into());
            record.insert("tp".into(), (*tp).into());
            record.insert("ep".into(), (*ep).into());
            record.insert("dp_attention".into(), dp_attention.clone().into());
            let tp = divisor("TP", *tp)?;
            record.insert("tput_per_gpu".into(), float(total / tp));
            record.insert("output_tput_per_gpu".into(), float(output / tp));
            record.insert("input_tput_per_gpu".into(), float((total - output) / tp));
        }
        Topology::Multi {
            prefill_tp,
            prefill_ep,
            prefill_dp_attention,
            prefill_num_workers,
            decode_tp,
            decode_ep,
            decode_dp_attention,
            decode_num_workers,
            num_prefill_gpu,
            num_decode_gpu,
        } => {
            record.insert("is_multinode".into(), true.into());
            record.insert("prefill_tp".into(), (*prefill_tp).into());
            record.insert("prefill_ep".into(), (*prefill_ep).into());
            record.insert("prefill_dp_attention".into(), prefill_dp_attention.clone().into());
            record.insert("prefill_num_workers".into(), (*prefill_num_workers).into());
            record.insert("decode_tp".into(), (*decode_tp).into());
            record.insert("decode_ep".into(), (*decode_ep).into());
            record.insert("decode_dp_attention".into(), decode_dp_attention.clone().into());
            record.insert("decode_num_workers".into(), (*decode_num_workers).into());
            record.insert("num_prefill_gpu".into(), (*num_prefill_gpu).into());
            record.insert("num_decode_gpu".into(), (*num_decode_gpu).into());
            let all_gpus = divisor("PREFILL_GPUS + DECODE_GPUS", num_prefill_gpu + num_decode_gpu)?;
            let decode_gpus = divisor("DECODE_GPUS", *num_decode_gpu)?;
            let prefill_gpus = divisor("PREFILL_GPUS", *num_prefill_gpu)?;
            record.insert("tput_per_gpu".into(), float(total / all_gpus));
            record.insert("output_tput_per_gpu".into(), float(output / decode_gpus));
            record.insert("input_tput_per_gpu".into(), float((total - output) / prefill_gpus));
        }
    }

    for (key, value) in raw {
        let is_ms = key.ends_with("ms");
        let is_tpot = key.contains("tpot");
        if !is_ms && !is_tpot {
            continue;
        }
        let base = key.replace("_ms", "");
        let number = match value {
            Value::Number(number) => number.as_f64(),
            Value::Null if options.lenient => None,
            _ => return Err(not_a_number(key, value)),
        };
        if is_ms {
            record.insert(base.clone(), number.map_or(Value::Null, |ms| float(ms / 1000.0)));
        }
        if is_tpot {
            let intvty = match number {
                Some(0.0) if options.lenient => Value::Null,
                Some(0.0) => return Err(ProcessError::ZeroTpot { key: key.clone() }),
                Some(tpot) => float(1000.0 / tpot),
                None => Value::Null,
            };
            record.insert(base.replace("tpot", "intvty"), intvty);
        }
    }
    Ok(record)
}

fn number(raw: &Map<String, Value>, key: &str) -> Result<f64, ProcessError> {
    let value = raw.get(key).ok_or_else(|| ProcessError::MissingKey(key.to_string()))?;
    value.as_f64().ok_or_else(|| not_a_number(key, value))
}

fn not_a_number(key: &str, value: &Value) -> ProcessError {
    ProcessError::NotANumber { key: key.to_string(), value: value.to_string() }
}

fn divisor(name: &str, value: i64) -> Result<f64, ProcessError> {
    if value == 0 { Err(ProcessError::ZeroGpus(name.to_string())) } else { Ok(value as f64) }
}

/// A float as a JSON number; non-finite values (only reachable from non-finite inputs) become null.
fn float(value: f64) -> Value {
    serde_json::Number::from_f64(value).map_or(Value::Null, Value::Number)
}
