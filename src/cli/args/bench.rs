//! Clap types of `ix bench`.

use clap::Subcommand;

#[derive(Debug, clap::Args)]
pub(crate) struct BenchArgs {
    #[command(subcommand)]
    pub(crate) command: BenchCommand,
}

#[derive(Debug, Subcommand)]
pub(crate) enum BenchCommand {
    /// Benchmark a serving endpoint (flags compatible with the reference `benchmark_serving.py`).
    Serve(Box<BenchServeArgs>),
    /// Run the built-in OpenAI-compatible streaming simulator.
    SimServer(SimServerArgs),
    /// Measure the load generator itself against a zero-latency simulator.
    Selftest(SelftestArgs),
    /// Write seeded synthetic agentic traces (Weka `traces.jsonl` schema) of a chosen size.
    Traces(TracesArgs),
}

/// Flags of `ix bench serve`; names and defaults follow the reference client.
#[derive(Debug, clap::Args)]
pub(crate) struct BenchServeArgs {
    /// vllm, openai, sglang, lmdeploy, scalellm (completions), openai-chat (chat), tgi,
    /// tensorrt-llm (generate_stream) or deepspeed-mii (non-streaming).
    #[arg(long, default_value = "vllm")]
    pub(crate) backend: String,
    /// Base URL; the request URL is base-url + endpoint.
    #[arg(long)]
    pub(crate) base_url: Option<String>,
    #[arg(long, default_value = "127.0.0.1")]
    pub(crate) host: String,
    #[arg(long, default_value_t = 8000)]
    pub(crate) port: u16,
    #[arg(long, default_value = "/v1/completions")]
    pub(crate) endpoint: String,
    /// random, sharegpt (a JSON file) or jsonl (a prompts file); see --dataset-path.
    #[arg(long, default_value = "random")]
    pub(crate) dataset_name: String,
    #[arg(long)]
    pub(crate) dataset_path: Option<std::path::PathBuf>,
    /// Model name sent to the server, and the tokenizer unless --tokenizer is given.
    #[arg(long)]
    pub(crate) model: String,
    /// A tokenizer.json, a folder holding one, or a model id in the Hugging Face cache.
    #[arg(long)]
    pub(crate) tokenizer: Option<String>,
    /// Accepted for compatibility; the Rust tokenizer is always used.
    #[arg(long, default_value = "auto")]
    pub(crate) tokenizer_mode: String,
    /// Accepted for compatibility (no remote code is ever run).
    #[arg(long)]
    pub(crate) trust_remote_code: bool,
    #[arg(long)]
    pub(crate) served_model_name: Option<String>,
    #[arg(long, default_value_t = 1000)]
    pub(crate) num_prompts: usize,
    /// Requests per second, or `inf`.
    #[arg(long, default_value = "inf")]
    pub(crate) request_rate: String,
    #[arg(long, default_value_t = 1.0)]
    pub(crate) burstiness: f64,
    #[arg(long)]
    pub(crate) max_concurrency: Option<usize>,
    #[arg(long, default_value_t = 0)]
    pub(crate) num_warmups: usize,
    #[arg(long, default_value_t = 0)]
    pub(crate) seed: u32,
    #[arg(long)]
    pub(crate) ignore_eos: bool,
    #[arg(long, default_value_t = 1)]
    pub(crate) best_of: u32,
    /// Accepted for compatibility; not sent.
    #[arg(long)]
    pub(crate) logprobs: Option<u32>,
    #[arg(long, default_value_t = 1024)]
    pub(crate) random_input_len: u64,
    #[arg(long, default_value_t = 128)]
    pub(crate) random_output_len: u64,
    #[arg(long, default_value_t = 1.0)]
    pub(crate) random_range_ratio: f64,
    #[arg(long, default_value_t = 0)]
    pub(crate) random_prefix_len: u64,
    /// Wrap random prompts in the tokenizer's chat template (sent as plain prompts).
    #[arg(long)]
    pub(crate) use_chat_template: bool,
    /// Output length for ShareGPT prompts instead of the reference answer's length.
    #[arg(long)]
    pub(crate) sharegpt_output_len: Option<u64>,
    #[arg(long, default_value = "ttft,tpot,itl")]
    pub(crate) percentile_metrics: String,
    #[arg(long, default_value = "99")]
    pub(crate) metric_percentiles: String,
    /// SLOs as KEY:MS (keys ttft, tpot, e2el).
    #[arg(long, num_args = 1..)]
    pub(crate) goodput: Vec<String>,
    #[arg(long)]
    pub(crate) save_result: bool,
    /// Also save per-request lists (and ix's per-request schedule timing).
    #[arg(long)]
    pub(crate) save_detailed: bool,
    #[arg(long)]
    pub(crate) result_dir: Option<std::path::PathBuf>,
    #[arg(long)]
    pub(crate) result_filename: Option<String>,
    /// KEY=VALUE pairs copied into the result file.
    #[arg(long, num_args = 1..)]
    pub(crate) metadata: Vec<String>,
    #[arg(long)]
    pub(crate) disable_tqdm: bool,
    /// Open a new connection per request, like the reference (default: keep-alive).
    #[arg(long)]
    pub(crate) no_keepalive: bool,
    /// Seconds a request may take, from sending it to its last byte; a request that takes longer
    /// fails with the `timeout` category (the reference allows six hours).
    #[arg(long, default_value_t = 1800.0)]
    pub(crate) request_timeout: f64,
    /// Seconds the whole run (warm-ups included) may take; past it `ix bench serve` stops and exits 2
    /// without a result, so a server that never answers cannot hang a task.
    #[arg(long, default_value_t = 10800.0)]
    pub(crate) run_timeout: f64,
    /// Worker threads of the client (1 = one event loop on one core).
    #[arg(long, default_value_t = 1)]
    pub(crate) client_threads: usize,
    /// HTTP implementation: `raw` (ix's own HTTP/1.1 client for http:// URLs) or `reqwest`.
    #[arg(long, default_value = "raw")]
    pub(crate) http_client: String,
    /// POST <base>/start_profile before the measured run and <base>/stop_profile after it.
    #[arg(long)]
    pub(crate) profile: bool,
    /// Send each request to one of these models (LoRA adapters), picked at random per request
    /// (the reference's `random.choice` stream for --seed).
    #[arg(long, num_args = 1..)]
    pub(crate) lora_modules: Vec<String>,
    #[command(flatten)]
    pub(crate) agentic: AgenticArgs,
}

/// Flags of the agentic trace replay (`--dataset-name weka|mooncake`), named as aiperf names
/// them (AGENTIC.md §8).
#[derive(Debug, clap::Args)]
#[command(next_help_heading = "Agentic replay (--dataset-name weka|mooncake)")]
pub(crate) struct AgenticArgs {
    /// Lanes (one session tree each); overrides --max-concurrency.
    #[arg(long)]
    pub(crate) concurrency: Option<usize>,
    /// Profiling length in seconds (nothing is sent after it; in-flight requests finish).
    #[arg(long, default_value_t = 1800.0)]
    pub(crate) benchmark_duration: f64,
    /// Seconds in-flight requests may run past the profiling end before they are cancelled.
    #[arg(long, default_value_t = 30.0)]
    pub(crate) benchmark_grace_period: f64,
    /// Extra warm-up requests per lane after the start-point request (1 output token each).
    #[arg(long, default_value_t = 0)]
    pub(crate) warmup_requests_per_lane: usize,
    /// Seconds the warm-up may take before what is still in flight is cancelled and profiling starts.
    #[arg(long, default_value_t = 1800.0)]
    pub(crate) warmup_grace_period: f64,
    /// `burst`: every lane's first profiling request goes out at the profiling start; `spread`:
    /// each waits a seeded fraction of its recorded gap, so lanes do not start in lockstep.
    #[arg(long, default_value = "burst", value_parser = ["burst", "spread"])]
    pub(crate) warmup_mode: String,
    /// Sample start points by top-level turn index (`turn`) or by recorded time (`time`: an
    /// instant between the ratios of the trace's span; newer aiperf).
    #[arg(long, default_value = "turn", value_parser = ["turn", "time"])]
    pub(crate) trajectory_start_by: String,
    #[arg(long, default_value_t = 0.0)]
    pub(crate) trajectory_start_min_ratio: f64,
    #[arg(long, default_value_t = 1.0)]
    pub(crate) trajectory_start_max_ratio: f64,
    /// No recorded gap of a session tree waits longer than this (seconds).
    #[arg(long, default_value_t = 300.0)]
    pub(crate) trace_idle_gap_cap_seconds: f64,
    /// The whole run never idles longer than this (seconds).
    #[arg(long, default_value_t = 10.0)]
    pub(crate) system_idle_gap_cap_seconds: f64,
    /// Post-run (and live) gate on failed / completed profiling requests; equal passes.
    #[arg(long, default_value_t = 0.10)]
    pub(crate) failed_request_threshold: f64,
    /// Prometheus endpoint to scrape (default: <base-url>/metrics; `none` to skip).
    #[arg(long)]
    pub(crate) server_metrics: Option<String>,
    /// Timeslice length of the server-metrics export, seconds.
    #[arg(long, default_value_t = 1.0)]
    pub(crate) slice_duration: f64,
    /// Seeds trace sampling, start points and block content.
    #[arg(long, default_value_t = 42)]
    pub(crate) random_seed: u64,
    /// Drop traces whose peak input + output exceeds this many tokens.
    #[arg(long)]
    pub(crate) max_context_length: Option<u64>,
    /// Load at most this many traces.
    #[arg(long)]
    pub(crate) num_dataset_entries: Option<usize>,
    /// Mooncake block size (tokens per hash id).
    #[arg(long, default_value_t = 512)]
    pub(crate) isl_block_size: u32,
    /// Where aiperf's artifact files go (default: <result-dir>/aiperf_artifacts).
    #[arg(long)]
    pub(crate) output_artifact_dir: Option<std::path::PathBuf>,
    /// JSON object merged into every request body.
    #[arg(long)]
    pub(crate) extra_inputs: Option<String>,
    /// Replay the schedule on a virtual clock against a latency model; no server is contacted.
    #[arg(long)]
    pub(crate) dry_run: bool,
    /// Dry run: TTFT of a fully cached prompt, ms.
    #[arg(long, default_value_t = 20.0)]
    pub(crate) dry_run_ttft_ms: f64,
    /// Dry run: extra TTFT per uncached prompt token, ms.
    #[arg(long, default_value_t = 0.02)]
    pub(crate) dry_run_ms_per_uncached_token: f64,
    /// Dry run: inter-token latency, ms.
    #[arg(long, default_value_t = 8.0)]
    pub(crate) dry_run_itl_ms: f64,
}

/// Flags of `ix bench sim-server`.
#[derive(Debug, clap::Args)]
pub(crate) struct SimServerArgs {
    #[arg(long, default_value = "127.0.0.1")]
    pub(crate) host: String,
    /// Port to listen on; 0 picks a free one (printed on start).
    #[arg(long, default_value_t = 8000)]
    pub(crate) port: u16,
    #[arg(long, default_value = "sim")]
    pub(crate) model: String,
    /// Delay before the first token, in ms.
    #[arg(long, default_value_t = 0.0)]
    pub(crate) ttft_ms: f64,
    /// Delay between tokens, in ms.
    #[arg(long, default_value_t = 0.0)]
    pub(crate) itl_ms: f64,
    /// Output length when a request sets no max_tokens.
    #[arg(long, default_value_t = 16)]
    pub(crate) output_len: u64,
    /// Stop after this many tokens unless the request sets ignore_eos.
    #[arg(long)]
    pub(crate) eos_after: Option<u64>,
    /// Fraction of streaming requests answered with HTTP 500.
    #[arg(long, default_value_t = 0.0)]
    pub(crate) error_rate: f64,
    /// Fraction of streams whose connection is dropped halfway.
    #[arg(long, default_value_t = 0.0)]
    pub(crate) drop_rate: f64,
    /// Fraction of streams that stall halfway for --stall-ms.
    #[arg(long, default_value_t = 0.0)]
    pub(crate) stall_rate: f64,
    #[arg(long, default_value_t = 100.0)]
    pub(crate) stall_ms: f64,
    #[arg(long, default_value_t = 0)]
    pub(crate) seed: u64,
    /// Worker threads (1 = one event loop).
    #[arg(long, default_value_t = 1)]
    pub(crate) threads: usize,
    /// Answer /start_profile and /stop_profile with 404, like a vLLM without a profiler.
    #[arg(long)]
    pub(crate) no_profiler: bool,
    /// Prefix-cache pool size in blocks (0: no caching); LRU, blocks of running requests pinned.
    #[arg(long, default_value_t = 0)]
    pub(crate) kv_blocks: usize,
    /// Words per prefix-cache block.
    #[arg(long, default_value_t = 16)]
    pub(crate) block_size: usize,
    /// Extra TTFT per uncached prompt word, in ms.
    #[arg(long, default_value_t = 0.0)]
    pub(crate) prefill_ms_per_token: f64,
    /// Refuse prompt + max_tokens above this with HTTP 400 (a context-length error).
    #[arg(long)]
    pub(crate) max_model_len: Option<u64>,
    /// `/metrics` names: vllm or sglang.
    #[arg(long, default_value = "vllm")]
    pub(crate) metrics_flavour: String,
}

/// Flags of `ix bench selftest`.
#[derive(Debug, clap::Args)]
pub(crate) struct SelftestArgs {
    /// Concurrency levels to measure.
    #[arg(long, value_delimiter = ',', default_values_t = [64usize, 1024, 4096])]
    pub(crate) concurrency: Vec<usize>,
    /// Requests per concurrency level = this × concurrency.
    #[arg(long, default_value_t = 10)]
    pub(crate) requests_per_slot: usize,
    /// Output tokens per request in the chunk-throughput phase.
    #[arg(long, default_value_t = 256)]
    pub(crate) output_len: u64,
    /// A tokenizer for the dataset-generation phase (skipped without one).
    #[arg(long)]
    pub(crate) tokenizer: Option<String>,
    #[arg(long, default_value_t = 10240)]
    pub(crate) dataset_prompts: usize,
    #[arg(long, default_value_t = 8192)]
    pub(crate) dataset_input_len: u64,
    /// Pin the simulator to this CPU (taskset); the client then runs on the others.
    #[arg(long)]
    pub(crate) server_cpu: Option<usize>,
}

/// Flags of `ix bench traces` (defaults: the real corpus's sizes).
#[derive(Debug, clap::Args)]
pub(crate) struct TracesArgs {
    /// Output file (`traces.jsonl`); `-` for stdout.
    #[arg(short, long)]
    pub(crate) output: std::path::PathBuf,
    #[arg(long, default_value_t = 393)]
    pub(crate) traces: usize,
    #[arg(long, default_value_t = 1)]
    pub(crate) seed: u64,
    #[arg(long, default_value_t = 110)]
    pub(crate) min_turns: usize,
    #[arg(long, default_value_t = 180)]
    pub(crate) max_turns: usize,
    /// Mean first-prompt size in tokens (each trace within ±25 %).
    #[arg(long, default_value_t = 12_800)]
    pub(crate) initial_tokens: u64,
    #[arg(long, default_value_t = 64_000)]
    pub(crate) max_prompt_tokens: u64,
    /// Subagent spawn points per trace (between half of this and this).
    #[arg(long, default_value_t = 16)]
    pub(crate) max_subagents: usize,
    #[arg(long, default_value_t = 400)]
    pub(crate) max_output_tokens: u64,
    /// Recorded request durations are drawn in [max/8, max] seconds.
    #[arg(long, default_value_t = 4.0)]
    pub(crate) max_api_time: f64,
    /// Recorded gap between a request's end and the next start, seconds.
    #[arg(long, default_value_t = 0.5)]
    pub(crate) think_time: f64,
    /// Per-turn probability that the prompt is compacted (restarts from its first quarter).
    #[arg(long, default_value_t = 0.005)]
    pub(crate) compaction_rate: f64,
}
