//! What each field of a sweep means, for hovers and completion: `.ix` names and the master-config
//! YAML names of both InferenceX formats.

/// (name, type, meaning).
pub(crate) const FIELDS: &[(&str, &str, &str)] = &[
    ("image", "string", "The container image the engine runs in (a tag or a digest; keys hold its digest)."),
    ("model", "string", "The model the server loads (a Hugging Face id or path)."),
    ("prefix", "name", "The model code in script and result names (`.ix`; `model-prefix` in YAML)."),
    ("model-prefix", "string", "The model code in script and result names, e.g. `dsr1`."),
    (
        "precision",
        "enum",
        "The weight precision: fp4, fp8, bf16, fp16 (`.ix` files may declare more with `enum precision`).",
    ),
    (
        "framework",
        "enum",
        "The serving engine: vllm, sglang, trt, atom, dynamo-trt, dynamo-sglang, sglang-disagg (or a declared one).",
    ),
    (
        "runner",
        "runner type",
        "The runner type the jobs run on: a key of the runners file (or a `runner` declared in the `.ix` file); its nodes are interchangeable.",
    ),
    ("multinode", "boolean", "The entry's points are multi-node (prefill and decode workers)."),
    ("disagg", "boolean", "Prefill and decode run disaggregated."),
    ("router", "mapping", "The request router in front of the workers (today's format)."),
    (
        "kv-p2p-transfer",
        "string",
        "The KV transfer engine between prefill and decode workers (today's format, multi-node).",
    ),
    ("scenarios", "mapping", "Today's format: `fixed-seq-len` and `agentic-coding` scenario lists."),
    ("fixed-seq-len", "list", "Fixed sequence-length blocks: `isl`, `osl` and a `search-space`."),
    ("agentic-coding", "list", "Agentic trace-replay blocks: a `search-space` and `dram-utilization`."),
    ("seq-len-configs", "list", "February 2026 format: the sequence-length blocks (`isl`, `osl`, `search-space`)."),
    ("isl", "integer", "Input sequence length in tokens."),
    ("osl", "integer", "Output sequence length in tokens."),
    (
        "search-space",
        "list",
        "The points of a sequence-length block: parallelism and concurrency values; each point expands to one job per concurrency value.",
    ),
    ("tp", "integer", "Tensor parallelism (GPUs per model replica)."),
    ("ep", "integer", "Expert parallelism (1 when omitted)."),
    ("dp-attn", "boolean", "Data-parallel attention."),
    ("dpa", "boolean", "Data-parallel attention (`dp-attn` in YAML)."),
    ("spec-decoding", "enum", "Speculative decoding: none, mtp, draft_model."),
    ("spec", "enum", "Speculative decoding: none, mtp, draft_model (`spec-decoding` in YAML)."),
    ("conc", "concurrency", "Concurrency values: `[a, b]`, `A..=B` (doubling), or `A..=B step +K` / `step xM`."),
    ("conc-start", "integer", "First concurrency value; values double up to `conc-end`."),
    ("conc-end", "integer", "Last concurrency value (inclusive)."),
    ("conc-list", "list of integers", "Explicit concurrency values (instead of `conc-start`/`conc-end`)."),
    (
        "prefill",
        "worker",
        "The prefill worker group of a multi-node point: `num-worker`, `tp`, `ep`, `dp-attn`, `additional-settings`.",
    ),
    ("decode", "worker", "The decode worker group of a multi-node point."),
    ("num-worker", "integer", "How many workers of this group."),
    (
        "additional-settings",
        "list of strings",
        "`NAME=value` environment settings for the worker (checked by the environment policy).",
    ),
    ("pp", "integer", "Pipeline parallelism (today's format)."),
    ("dcp-size", "integer", "Decode context parallelism (today's format)."),
    ("pcp-size", "integer", "Prefill context parallelism (today's format)."),
    ("hardware", "string", "The worker's hardware label (today's format)."),
    ("kv-offloading", "boolean", "Offload KV cache to CPU DRAM (agentic)."),
    ("kv-offload-backend", "string", "The KV offload backend (agentic)."),
    ("dram-utilization", "number", "Share of the runner's DRAM the KV offload may use (agentic)."),
    ("at", "block", "`at ISL/OSL[, ...]: POINT` or `at ISL/OSL { POINT... }`: sequence lengths and their points."),
    ("template", "declaration", "`template NAME { fields }`: fields sweeps inherit with `sweep NAME : TEMPLATE`."),
    ("sweep", "declaration", "`sweep NAME : TEMPLATES { fields }`: one config entry (its name is the config key)."),
    ("enum", "declaration", "`enum precision|framework { values }`: extends a built-in enum."),
    ("runners", "declaration", "`runners \"FILE.yaml\"`: runner types from an InferenceX runners file."),
];

/// The meaning of a field, if `name` is one.
pub(crate) fn lookup(name: &str) -> Option<(&'static str, &'static str)> {
    FIELDS.iter().find(|(field, _, _)| *field == name).map(|(_, ty, doc)| (*ty, *doc))
}

/// `.ix` header fields of sweeps and templates.
pub(crate) const DSL_FIELDS: &[&str] = crate::ir::lower::FIELDS;
/// `.ix` point items.
pub(crate) const DSL_POINT_ITEMS: &[&str] = &["tp", "ep", "dpa", "spec", "conc", "prefill", "decode"];
/// Values of `spec`/`spec-decoding`.
pub(crate) const SPEC_VALUES: &[&str] = &["none", "mtp", "draft_model"];

/// The keys valid under a YAML parent key (`None`: top-level entry fields), both formats.
pub(crate) fn yaml_keys(parent: Option<&str>) -> &'static [&'static str] {
    match parent {
        None => &[
            "image",
            "model",
            "model-prefix",
            "precision",
            "framework",
            "runner",
            "multinode",
            "disagg",
            "router",
            "kv-p2p-transfer",
            "scenarios",
            "seq-len-configs",
        ],
        Some("scenarios") => &["fixed-seq-len", "agentic-coding"],
        Some("seq-len-configs" | "fixed-seq-len") => &["isl", "osl", "search-space"],
        Some("agentic-coding") => &["search-space", "dram-utilization"],
        Some("search-space") => &[
            "tp",
            "ep",
            "dp-attn",
            "spec-decoding",
            "conc-start",
            "conc-end",
            "conc-list",
            "pp",
            "dcp-size",
            "pcp-size",
            "prefill",
            "decode",
            "router",
            "kv-offloading",
            "kv-offload-backend",
        ],
        Some("prefill" | "decode") => {
            &["num-worker", "tp", "ep", "dp-attn", "additional-settings", "pp", "dcp-size", "pcp-size", "hardware"]
        }
        Some(_) => &[],
    }
}
