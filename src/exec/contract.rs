//! The environment contract of a single-node benchmark (REFERENCE-SEMANTICS §7.4, §8.1).
//!
//! Values reach scripts only as environment variables: nothing here builds shell text.

use crate::expand::{Job, JobShape};

/// Variables a benchmark script may rely on being set and non-empty.
pub const REQUIRED: &[&str] = &[
    "EXP_NAME",
    "MODEL",
    "MODEL_PREFIX",
    "ISL",
    "OSL",
    "MAX_MODEL_LEN",
    "IMAGE",
    "FRAMEWORK",
    "PRECISION",
    "TP",
    "EP_SIZE",
    "DP_ATTENTION",
    "CONC",
    "SPEC_DECODING",
    "DISAGG",
    "RUN_EVAL",
    "RANDOM_RANGE_RATIO",
    "RUNNER_TYPE",
    "RUNNER_NAME",
    "RESULT_FILENAME",
    "GITHUB_WORKSPACE",
    "PORT",
];

/// Variables a multi-node benchmark script may rely on (§7.4, multi-node template).
pub const REQUIRED_MULTINODE: &[&str] = &[
    "EXP_NAME",
    "MODEL",
    "MODEL_PREFIX",
    "ISL",
    "OSL",
    "MAX_MODEL_LEN",
    "IMAGE",
    "FRAMEWORK",
    "PRECISION",
    "CONC_LIST",
    "SPEC_DECODING",
    "DISAGG",
    "PREFILL_NUM_WORKERS",
    "PREFILL_TP",
    "PREFILL_EP",
    "PREFILL_DP_ATTN",
    "DECODE_NUM_WORKERS",
    "DECODE_TP",
    "DECODE_EP",
    "DECODE_DP_ATTN",
    "IS_MULTINODE",
    "RANDOM_RANGE_RATIO",
    "RUNNER_TYPE",
    "RUNNER_NAME",
    "RESULT_FILENAME",
    "GITHUB_WORKSPACE",
    "PORT",
];

/// The contract variables of a multi-node job, minus the per-node ones: the template's env,
/// `IS_MULTINODE=true`, then every prefill and decode additional setting (`NAME=value`).
pub fn multinode_env(job: &Job) -> Option<Vec<(String, String)>> {
    let JobShape::Multi { prefill, decode, conc } = &job.shape else {
        return None;
    };
    let concs: Vec<String> = conc.iter().map(i64::to_string).collect();
    let mut pairs: Vec<(String, String)> = [
        ("EXP_NAME", job.exp_name.clone()),
        ("MODEL", job.model.clone()),
        ("MODEL_PREFIX", job.model_prefix.clone()),
        ("ISL", job.isl.to_string()),
        ("OSL", job.osl.to_string()),
        ("MAX_MODEL_LEN", job.max_model_len.to_string()),
        ("IMAGE", job.image.clone()),
        ("FRAMEWORK", job.framework.clone()),
        ("PRECISION", job.precision.clone()),
        ("CONC_LIST", concs.join(" ")),
        ("SPEC_DECODING", job.spec_decoding.as_str().to_string()),
        ("DISAGG", job.disagg.to_string()),
        ("PREFILL_NUM_WORKERS", prefill.num_worker.to_string()),
        ("PREFILL_TP", prefill.tp.to_string()),
        ("PREFILL_EP", prefill.ep.to_string()),
        ("PREFILL_DP_ATTN", prefill.dp_attn.to_string()),
        ("DECODE_NUM_WORKERS", decode.num_worker.to_string()),
        ("DECODE_TP", decode.tp.to_string()),
        ("DECODE_EP", decode.ep.to_string()),
        ("DECODE_DP_ATTN", decode.dp_attn.to_string()),
        ("IS_MULTINODE", "true".to_string()),
        ("RUN_EVAL", job.run_eval.to_string()),
        ("RANDOM_RANGE_RATIO", "0.8".to_string()),
        ("RUNNER_TYPE", job.runner.clone()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    for worker in [prefill, decode] {
        for setting in worker.additional_settings.iter().flatten() {
            if let Some((name, value)) = setting.split_once('=') {
                pairs.push((name.trim().to_string(), value.to_string()));
            }
        }
    }
    Some(pairs)
}

/// The contract variables of a single-node job, minus the per-node ones; `None` for
/// multi-node jobs (see [`multinode_env`]).
pub fn job_env(job: &Job) -> Option<Vec<(String, String)>> {
    let JobShape::Single { tp, ep, dp_attn, conc } = job.shape else {
        return None;
    };
    let pairs: Vec<(&str, String)> = vec![
        ("EXP_NAME", job.exp_name.clone()),
        ("MODEL", job.model.clone()),
        ("MODEL_PREFIX", job.model_prefix.clone()),
        ("ISL", job.isl.to_string()),
        ("OSL", job.osl.to_string()),
        ("MAX_MODEL_LEN", job.max_model_len.to_string()),
        ("IMAGE", job.image.clone()),
        ("FRAMEWORK", job.framework.clone()),
        ("PRECISION", job.precision.clone()),
        ("TP", tp.to_string()),
        ("EP_SIZE", ep.to_string()),
        ("DP_ATTENTION", dp_attn.to_string()),
        ("CONC", conc.to_string()),
        ("SPEC_DECODING", job.spec_decoding.as_str().to_string()),
        ("DISAGG", job.disagg.to_string()),
        ("RUN_EVAL", job.run_eval.to_string()),
        ("RANDOM_RANGE_RATIO", "0.8".to_string()),
        ("RUNNER_TYPE", job.runner.clone()),
    ];
    Some(pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
}

/// `RESULT_FILENAME` as the single-node template builds it (§7.4), for a given node.
pub fn result_filename(job: &Job, node: &str) -> Option<String> {
    let JobShape::Single { tp, ep, dp_attn, conc } = job.shape else {
        return None;
    };
    Some(format!(
        "{}_{}_{}_tp{tp}-ep{ep}-dpa{dp_attn}_disagg-{}_spec-{}_conc{conc}_{node}",
        job.exp_name,
        job.precision,
        job.framework,
        job.disagg,
        job.spec_decoding.as_str()
    ))
}

/// The names of required variables that are missing or empty, in contract order, as
/// `check_env_vars` reports them (the multi-node list when `IS_MULTINODE=true`).
pub fn missing(env: &[(String, String)]) -> Vec<&'static str> {
    let multinode = env.iter().any(|(k, v)| k == "IS_MULTINODE" && v == "true");
    let required = if multinode { REQUIRED_MULTINODE } else { REQUIRED };
    required
        .iter()
        .copied()
        .filter(|name| env.iter().rev().find(|(k, _)| k == name).is_none_or(|(_, v)| v.is_empty()))
        .collect()
}

/// The `PORT` a task gets: 8888 plus the node's trailing digit, so tasks on shared hosts differ.
pub fn port_for(node: &str) -> u16 {
    let digit = node.chars().last().and_then(|c| c.to_digit(10)).unwrap_or(0);
    8888 + digit as u16
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_lists_empty_and_absent_in_order() {
        let mut env: Vec<(String, String)> = REQUIRED.iter().map(|k| ((*k).to_string(), "x".to_string())).collect();
        env.retain(|(k, _)| k != "TP");
        env.push(("IMAGE".into(), String::new()));
        assert_eq!(missing(&env), vec!["IMAGE", "TP"]);
    }
}
