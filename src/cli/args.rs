//! All clap types of the `ix` command line.

use clap::{Parser, Subcommand};

/// Declarative, incremental benchmarking of LLM inference servers.
#[derive(Debug, Parser)]
#[command(name = "ix", version, infer_long_args = true)]
pub struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Print the version of `ix`.
    Version,
    /// Load-generate against OpenAI-compatible servers, or simulate one.
    Bench(BenchArgs),
}

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
}

/// Flags of `ix bench serve`; names and defaults follow the reference client.
#[derive(Debug, clap::Args)]
pub(crate) struct BenchServeArgs {
    /// vllm, openai, sglang, lmdeploy, scalellm (completions) or openai-chat (chat).
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
    /// Worker threads of the client (1 = one event loop on one core).
    #[arg(long, default_value_t = 1)]
    pub(crate) client_threads: usize,
    /// HTTP implementation: `raw` (ix's own HTTP/1.1 client for http:// URLs) or `reqwest`.
    #[arg(long, default_value = "raw")]
    pub(crate) http_client: String,
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
