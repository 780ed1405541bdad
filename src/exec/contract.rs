//! What the executor checks of a task's environment before it starts the script: the
//! variables benchmark scripts rely on (`check_env_vars`, the reference's §7.4 and §8.1), and the
//! per-node port. The variables themselves come from `crate::contract`.

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
