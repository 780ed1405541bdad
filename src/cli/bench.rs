//! `ix bench serve`, `ix bench sim-server` and `ix bench selftest`: flags in, library calls, and
//! everything the load generator shows a user (dataset summary, progress bar, console report,
//! result file).
//!
//! Owns flag validation and printing; all measuring lives in `crate::bench`.

#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use miette::{Diagnostic, Report};

use super::ExitStatus;
use super::args::{BenchArgs, BenchCommand, BenchServeArgs, SelftestArgs, SimServerArgs};
use crate::bench::dataset::{self, RandomSpec};
use crate::bench::metrics::{Metric, Slos};
use crate::bench::result::{self, ResultHeader};
use crate::bench::sim_server::{self, SimConfig};
use crate::bench::{self as lib, ApiKind, Progress, RequestTemplate, RunConfig, RunRecord};

/// Flag errors, found before any work starts.
#[derive(Debug, thiserror::Error, Diagnostic)]
pub(crate) enum FlagError {
    #[error("unsupported backend `{0}`")]
    #[diagnostic(
        code(ix::bench::backend),
        help(
            "use vllm, openai, sglang, lmdeploy, scalellm (completions), openai-chat (chat), tgi, tensorrt-llm or deepspeed-mii"
        )
    )]
    Backend(String),
    #[error("endpoint `{endpoint}` does not fit backend `{backend}`")]
    #[diagnostic(code(ix::bench::endpoint))]
    Endpoint {
        backend: String,
        endpoint: String,
        #[help]
        help: String,
    },
    #[error("invalid `--{flag}` value `{value}`: {reason}")]
    #[diagnostic(code(ix::bench::flag))]
    Value { flag: &'static str, value: String, reason: String },
    #[error("unknown dataset `{0}`")]
    #[diagnostic(code(ix::bench::dataset_name), help("use random, sharegpt, jsonl, weka or mooncake"))]
    DatasetName(String),
    #[error("`--dataset-name {0}` needs `--dataset-path`")]
    #[diagnostic(code(ix::bench::dataset_path))]
    DatasetPath(String),
}

pub(crate) fn bench(args: &BenchArgs) -> ExitStatus {
    match &args.command {
        BenchCommand::Serve(args) => serve(args),
        BenchCommand::SimServer(args) => sim(args),
        BenchCommand::Selftest(args) => selftest(args),
        BenchCommand::Traces(args) => super::bench_agentic::traces(args),
    }
}

fn report_error(error: impl Diagnostic + Send + Sync + 'static) -> ExitStatus {
    eprintln!("{:?}", Report::new(error));
    ExitStatus::Error
}

/// A positive, finite number of seconds.
fn seconds_flag(flag: &'static str, seconds: f64) -> Result<Duration, FlagError> {
    if seconds.is_finite() && seconds > 0.0 {
        Duration::try_from_secs_f64(seconds).map_err(|_| value_error(flag, &seconds.to_string(), "too large"))
    } else {
        Err(value_error(flag, &seconds.to_string(), "expected a positive number of seconds"))
    }
}

fn value_error(flag: &'static str, value: &str, reason: &str) -> FlagError {
    FlagError::Value { flag, value: value.to_owned(), reason: reason.to_owned() }
}

/// Everything `serve` resolved from its flags.
struct ServePlan {
    config: RunConfig,
    header: ResultHeader,
    /// Things the user should know before the run (printed on stderr).
    warnings: Vec<String>,
}

fn plan(args: &BenchServeArgs) -> Result<ServePlan, FlagError> {
    let api = match args.backend.as_str() {
        "vllm" | "openai" | "sglang" | "lmdeploy" | "scalellm" => ApiKind::Completions,
        "openai-chat" => ApiKind::Chat,
        "tgi" => ApiKind::Tgi,
        "tensorrt-llm" => ApiKind::TensorRtLlm,
        "deepspeed-mii" => ApiKind::DeepspeedMii,
        other => return Err(FlagError::Backend(other.to_owned())),
    };
    let endpoint = args.endpoint.as_str();
    let endpoint_help = match api {
        ApiKind::Completions if !(endpoint.ends_with("completions") || endpoint.ends_with("profile")) => {
            Some("completions backends need an endpoint ending in `completions`, e.g. `--endpoint /v1/completions`")
        }
        ApiKind::Chat if !endpoint.ends_with("chat/completions") => {
            Some("openai-chat needs an endpoint ending in `chat/completions`, e.g. `--endpoint /v1/chat/completions`")
        }
        ApiKind::Tgi if !endpoint.ends_with("generate_stream") => {
            Some("tgi needs an endpoint ending in `generate_stream`, e.g. `--endpoint /generate_stream`")
        }
        ApiKind::TensorRtLlm if !endpoint.ends_with("generate_stream") => Some(
            "tensorrt-llm needs an endpoint ending in `generate_stream`, e.g. `--endpoint /v2/models/ensemble/generate_stream`",
        ),
        ApiKind::DeepspeedMii if !(endpoint.ends_with("generate") || endpoint.ends_with("completions")) => Some(
            "deepspeed-mii sends one non-streaming request: use `--endpoint /generate` (MII's REST server) or an OpenAI `completions` endpoint",
        ),
        _ => None,
    };
    if let Some(help) = endpoint_help {
        return Err(FlagError::Endpoint {
            backend: args.backend.clone(),
            endpoint: args.endpoint.clone(),
            help: help.to_owned(),
        });
    }
    // TGI refuses best_of > 1 on a stream; the other two assert 1 in the reference.
    if args.best_of != 1 && matches!(api, ApiKind::Tgi | ApiKind::TensorRtLlm | ApiKind::DeepspeedMii) {
        let reason = format!("backend `{}` supports only 1", args.backend);
        return Err(value_error("best-of", &args.best_of.to_string(), &reason));
    }
    if !args.lora_modules.is_empty() && !api.sends_model() {
        return Err(value_error(
            "lora-modules",
            &args.lora_modules.join(" "),
            &format!("backend `{}` sends no model name (use a completions backend or openai-chat)", args.backend),
        ));
    }
    if let Some(name) = args.lora_modules.iter().find(|name| name.is_empty()) {
        return Err(value_error("lora-modules", name, "a model name cannot be empty"));
    }
    let mut warnings = Vec::new();
    if args.ignore_eos && api == ApiKind::Tgi {
        warnings.push(
            "warning: TGI has no `ignore_eos` parameter; requests may stop before their requested output length"
                .to_owned(),
        );
    }
    if api == ApiKind::DeepspeedMii {
        warnings.push(
            "note: deepspeed-mii does not stream: TTFT is reported as 0 and TPOT as E2EL / (output tokens - 1), as in the reference"
                .to_owned(),
        );
    }
    let base = match &args.base_url {
        Some(base) => base.trim_end_matches('/').to_owned(),
        None => format!("http://{}:{}", args.host, args.port),
    };
    let request_rate = match args.request_rate.as_str() {
        "inf" | "infinity" => f64::INFINITY,
        text => match text.parse::<f64>() {
            Ok(rate) if rate > 0.0 => rate,
            _ => return Err(value_error("request-rate", text, "expected a positive number or `inf`")),
        },
    };
    if args.burstiness <= 0.0 || !args.burstiness.is_finite() {
        return Err(value_error("burstiness", &args.burstiness.to_string(), "must be greater than 0"));
    }
    if args.max_concurrency == Some(0) {
        return Err(value_error("max-concurrency", "0", "must be at least 1"));
    }
    if !(0.0..=1.0).contains(&args.random_range_ratio) {
        return Err(value_error("random-range-ratio", &args.random_range_ratio.to_string(), "must be in [0, 1]"));
    }
    let mut selected_metrics = Vec::new();
    for name in args.percentile_metrics.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let metric = Metric::parse(name)
            .ok_or_else(|| value_error("percentile-metrics", name, "expected ttft, tpot, itl or e2el"))?;
        selected_metrics.push(metric);
    }
    let mut percentiles = Vec::new();
    for text in args.metric_percentiles.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        match text.parse::<f64>() {
            Ok(p) if (0.0..=100.0).contains(&p) => percentiles.push(p),
            _ => return Err(value_error("metric-percentiles", text, "expected numbers in [0, 100]")),
        }
    }
    let slos = if args.goodput.is_empty() {
        None
    } else {
        let mut slos = Slos::default();
        for pair in &args.goodput {
            let (key, value) =
                pair.split_once(':').ok_or_else(|| value_error("goodput", pair, "expected KEY:MILLISECONDS"))?;
            let ms = value
                .parse::<f64>()
                .ok()
                .filter(|ms| *ms >= 0.0)
                .ok_or_else(|| value_error("goodput", pair, "the value must be a number of ms >= 0"))?;
            match key {
                "ttft" => slos.ttft_ms = Some(ms),
                "tpot" => slos.tpot_ms = Some(ms),
                "e2el" => slos.e2el_ms = Some(ms),
                _ => return Err(value_error("goodput", pair, "keys are ttft, tpot and e2el")),
            }
        }
        Some(slos)
    };
    let mut metadata = Vec::new();
    for pair in &args.metadata {
        let mut parts = pair.split('=');
        match (parts.next(), parts.next()) {
            (Some(key), Some(value)) => metadata.push((key.to_owned(), value.to_owned())),
            _ => return Err(value_error("metadata", pair, "expected KEY=VALUE")),
        }
    }
    let template = RequestTemplate {
        url: format!("{base}{}", args.endpoint),
        api,
        model: args.served_model_name.clone().unwrap_or_else(|| args.model.clone()),
        ignore_eos: args.ignore_eos,
        best_of: args.best_of,
        api_key: std::env::var("OPENAI_API_KEY").ok(),
    };
    let mut config = RunConfig::new(template);
    config.request_rate = request_rate;
    config.burstiness = args.burstiness;
    config.max_concurrency = args.max_concurrency;
    config.num_warmups = args.num_warmups;
    config.seed = u64::from(args.seed);
    config.percentiles = percentiles.clone();
    config.slos = slos;
    config.keepalive = !args.no_keepalive;
    config.timeout = seconds_flag("request-timeout", args.request_timeout)?;
    config.run_timeout = Some(seconds_flag("run-timeout", args.run_timeout)?);
    config.client_threads = args.client_threads.max(1);
    config.keep_text = args.save_detailed;
    config.lora_modules = args.lora_modules.clone();
    config.profile_base = args.profile.then(|| base.clone());
    config.http_client = match args.http_client.as_str() {
        "raw" => lib::HttpClient::Raw,
        "reqwest" => lib::HttpClient::Reqwest,
        other => return Err(value_error("http-client", other, "expected `raw` or `reqwest`")),
    };
    let header = ResultHeader {
        date: result::local_date(),
        backend: args.backend.clone(),
        model_id: args.model.clone(),
        tokenizer_id: args.tokenizer.clone().unwrap_or_else(|| args.model.clone()),
        best_of: args.best_of,
        num_prompts: args.num_prompts,
        metadata,
        request_rate,
        burstiness: args.burstiness,
        max_concurrency: args.max_concurrency,
        selected_metrics,
        percentiles,
        save_detailed: args.save_detailed,
    };
    Ok(ServePlan { config, header, warnings })
}

fn serve(args: &BenchServeArgs) -> ExitStatus {
    if matches!(args.dataset_name.as_str(), "weka" | "mooncake") {
        return super::bench_agentic::serve(args);
    }
    let ServePlan { config, header, warnings } = match plan(args) {
        Ok(plan) => plan,
        Err(err) => return report_error(err),
    };
    for warning in &warnings {
        eprintln!("{warning}");
    }
    let tokenizer_spec = args.tokenizer.as_deref().unwrap_or(&args.model);
    let loaded = dataset::resolve_tokenizer(tokenizer_spec).and_then(|path| {
        let template = if args.use_chat_template { Some(dataset::ChatTemplate::load(&path)?) } else { None };
        Ok((dataset::load_tokenizer(&path)?, template))
    });
    let (tokenizer, chat_template) = match loaded {
        Ok((tokenizer, template)) => (Arc::new(tokenizer), template),
        Err(err) => return report_error(err),
    };
    let built = Instant::now();
    let prompts = match args.dataset_name.as_str() {
        "random" => {
            let spec = RandomSpec {
                input_len: args.random_input_len,
                output_len: args.random_output_len,
                range_ratio: args.random_range_ratio,
                prefix_len: args.random_prefix_len,
                num_prompts: args.num_prompts,
                seed: args.seed,
                chat_template,
            };
            match dataset::random(&tokenizer, &spec) {
                Ok((prompts, summary)) => {
                    print_lengths(&prompts, Some(summary.avg_token_mismatch));
                    prompts
                }
                Err(err) => return report_error(err),
            }
        }
        name @ ("sharegpt" | "jsonl") => {
            let Some(path) = &args.dataset_path else {
                return report_error(FlagError::DatasetPath(name.to_owned()));
            };
            let loaded = if name == "sharegpt" {
                dataset::sharegpt(&tokenizer, path, args.num_prompts, args.sharegpt_output_len)
            } else {
                dataset::prompts_jsonl(&tokenizer, path, args.num_prompts, args.random_output_len)
            };
            match loaded {
                Ok(prompts) => {
                    print_lengths(&prompts, None);
                    prompts
                }
                Err(err) => return report_error(err),
            }
        }
        other => return report_error(FlagError::DatasetName(other.to_owned())),
    };
    eprintln!("dataset: {} prompts built in {:.2} s", prompts.len(), built.elapsed().as_secs_f64());
    println!(
        "Traffic request rate: {}",
        if config.request_rate.is_finite() { config.request_rate.to_string() } else { "inf".into() }
    );
    let process = if config.burstiness == 1.0 { "Poisson process" } else { "Gamma distribution" };
    println!("Burstiness factor: {:?} ({process})", config.burstiness);
    println!("Maximum request concurrency: {}", config.max_concurrency.map_or("None".into(), |c| c.to_string()));
    let _ = std::io::stdout().flush();

    let progress = Arc::new(Progress::default());
    let done = Arc::new(AtomicBool::new(false));
    let bar_thread = (!args.disable_tqdm).then(|| spawn_progress(prompts.len(), progress.clone(), done.clone()));
    let outcome = lib::run_blocking(&config, &prompts, Some(tokenizer), progress);
    done.store(true, Ordering::Relaxed);
    if let Some(thread) = bar_thread {
        let _ = thread.join();
    }
    let record = match outcome {
        Ok(record) => record,
        Err(err) => return report_error(err),
    };
    print_report(&header, &record);
    match &record.profile_stop_error {
        Some(error) => {
            eprintln!("warning: cannot stop the profiler: {error}; the measurements stand, the trace may be incomplete")
        }
        None if config.profile_base.is_some() => {
            eprintln!("profiler: started before the measured run and stopped after it")
        }
        None => {}
    }
    if args.save_result || args.save_detailed {
        let name = args.result_filename.clone().unwrap_or_else(|| result::default_file_name(&header));
        let path = match &args.result_dir {
            Some(dir) => dir.join(name),
            None => PathBuf::from(name),
        };
        let json = result::result_json(&header, &record);
        if let Err(err) = std::fs::write(&path, json.to_string()) {
            eprintln!("error: cannot write the result file `{}`: {err}", path.display());
            return ExitStatus::Error;
        }
    }
    if record.metrics.completed == 0 {
        eprintln!("warning: no request completed ({} failed)", record.failed);
        return ExitStatus::Failure;
    }
    ExitStatus::Success
}

fn print_lengths(prompts: &[dataset::Prompt], mismatch: Option<f64>) {
    let summary = |values: Vec<u64>| {
        let min = values.iter().copied().min().unwrap_or(0);
        let max = values.iter().copied().max().unwrap_or(0);
        let mean = values.iter().sum::<u64>() as f64 / values.len().max(1) as f64;
        format!("min={min}, max={max}, mean={mean:.2}")
    };
    let mismatch = mismatch.map(|m| format!(", avg_token_mismatch={m:.2}")).unwrap_or_default();
    println!("input_lens: {}{mismatch}", summary(prompts.iter().map(|p| p.prompt_len).collect()));
    println!("output_lens: {}", summary(prompts.iter().map(|p| p.output_len).collect()));
}

fn spawn_progress(total: usize, progress: Arc<Progress>, done: Arc<AtomicBool>) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let bar = indicatif::ProgressBar::new(total as u64);
        bar.set_style(
            indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} [{elapsed_precise}] {msg}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        let start = Instant::now();
        while !done.load(Ordering::Relaxed) {
            std::thread::sleep(Duration::from_millis(200));
            let finished = progress.finished.load(Ordering::Relaxed);
            let chunks = progress.chunks.load(Ordering::Relaxed);
            let seconds = start.elapsed().as_secs_f64().max(1e-9);
            bar.set_position(finished);
            bar.set_message(format!(
                "{:.1} req/s, {:.0} chunks/s, {} failed",
                finished as f64 / seconds,
                chunks as f64 / seconds,
                progress.failed.load(Ordering::Relaxed)
            ));
        }
        bar.finish_and_clear();
    })
}

fn print_report(header: &ResultHeader, record: &RunRecord) {
    let _ = std::io::stdout().lock().write_all(report_text(header, record).as_bytes());
    let diagnostics = &record.diagnostics;
    eprintln!(
        "client: cpu {:.0}%, loop lag p99 {:.3} ms, dispatch lag p99 {:.3} ms, output tokens from {}",
        diagnostics.cpu_utilization * 100.0,
        diagnostics.loop_lag_p99.as_secs_f64() * 1000.0,
        diagnostics.dispatch_lag_p99.as_secs_f64() * 1000.0,
        record.output_tokens_source.name()
    );
    if diagnostics.saturated {
        eprintln!(
            "warning: the client was saturated; latencies and throughputs may reflect the client, not the server"
        );
    }
}

/// The reference's console report (plus failure rows), as text.
fn report_text(header: &ResultHeader, record: &RunRecord) -> String {
    use std::fmt::Write as _;
    let metrics = &record.metrics;
    let mut out = String::new();
    let row = |out: &mut String, label: &str, value: String| {
        let _ = writeln!(out, "{label:<40} {value:<10}");
    };
    let float = |value: f64| format!("{value:.2}");
    let _ = writeln!(out, "{:=^50}", " Serving Benchmark Result ");
    row(&mut out, "Successful requests:", metrics.completed.to_string());
    let successes = || record.requests.iter().filter(|r| r.outcome.error.is_none());
    let incomplete = successes().filter(|r| r.outcome.incomplete_stream).count();
    let error_events = successes().filter(|r| r.outcome.error_events > 0).count();
    if incomplete > 0 {
        row(&mut out, "  of which cut before [DONE]:", incomplete.to_string());
    }
    if error_events > 0 {
        row(&mut out, "  of which with error events:", error_events.to_string());
    }
    row(&mut out, "Failed requests:", record.failed.to_string());
    for (kind, count) in &record.errors_by_kind {
        row(&mut out, &format!("  {kind}:"), count.to_string());
    }
    row(&mut out, "Benchmark duration (s):", float(record.duration.as_secs_f64()));
    row(&mut out, "Total input tokens:", metrics.total_input_tokens.to_string());
    row(&mut out, "Total generated tokens:", metrics.total_output_tokens.to_string());
    row(&mut out, "Request throughput (req/s):", float(metrics.request_throughput));
    if let Some(goodput) = metrics.request_goodput {
        row(&mut out, "Request goodput (req/s):", float(goodput));
    }
    row(&mut out, "Output token throughput (tok/s):", float(metrics.output_throughput));
    row(&mut out, "Total Token throughput (tok/s):", float(metrics.total_token_throughput));
    for metric in Metric::ALL {
        if !header.selected_metrics.contains(&metric) {
            continue;
        }
        let stats = metrics.stats(metric);
        let name = metric.key().to_uppercase();
        let _ = writeln!(out, "{:-^50}", metric.title());
        row(&mut out, &format!("Mean {name} (ms):"), float(stats.mean));
        row(&mut out, &format!("Median {name} (ms):"), float(stats.median));
        for (p, value) in &stats.percentiles {
            row(&mut out, &format!("P{} {name} (ms):", result::percentile_label(*p)), float(*value));
        }
    }
    let _ = writeln!(out, "{:=^50}", "");
    out
}

fn sim_config(args: &SimServerArgs) -> SimConfig {
    SimConfig {
        model: args.model.clone(),
        ttft: Duration::from_secs_f64(args.ttft_ms.max(0.0) / 1000.0),
        itl: Duration::from_secs_f64(args.itl_ms.max(0.0) / 1000.0),
        default_output_len: args.output_len,
        eos_after: args.eos_after,
        error_rate: args.error_rate,
        drop_rate: args.drop_rate,
        stall_rate: args.stall_rate,
        stall: Duration::from_secs_f64(args.stall_ms.max(0.0) / 1000.0),
        seed: args.seed,
        profiler: !args.no_profiler,
        kv_blocks: args.kv_blocks,
        block_size: args.block_size.max(1),
        prefill_per_token: Duration::from_secs_f64(args.prefill_ms_per_token.max(0.0) / 1000.0),
        max_model_len: args.max_model_len,
        metrics_flavour: if args.metrics_flavour == "sglang" {
            crate::bench::sim_cache::MetricsFlavour::Sglang
        } else {
            crate::bench::sim_cache::MetricsFlavour::Vllm
        },
    }
}

fn sim(args: &SimServerArgs) -> ExitStatus {
    let runtime = if args.threads <= 1 {
        tokio::runtime::Builder::new_current_thread().enable_all().build()
    } else {
        tokio::runtime::Builder::new_multi_thread().worker_threads(args.threads).enable_all().build()
    };
    let runtime = match runtime {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("error: cannot start the runtime: {err}");
            return ExitStatus::Error;
        }
    };
    let config = sim_config(args);
    if !matches!(args.metrics_flavour.as_str(), "vllm" | "sglang") {
        return report_error(value_error("metrics-flavour", &args.metrics_flavour, "expected `vllm` or `sglang`"));
    }
    if config.kv_blocks > 0 {
        // vLLM's startup line, which the agentic aggregate reads from a server log.
        eprintln!("GPU KV cache size: {} tokens", config.kv_blocks * config.block_size);
    }
    let served = runtime.block_on(async {
        let listener = sim_server::bind(&args.host, args.port).await?;
        let address = listener.local_addr()?;
        println!("ix bench sim-server listening on http://{address}");
        let _ = std::io::stdout().flush();
        sim_server::serve(listener, config, shutdown_signal()).await
    });
    match served {
        Ok(()) => ExitStatus::Success,
        Err(err) => {
            eprintln!("error: sim-server on {}:{}: {err}", args.host, args.port);
            ExitStatus::Error
        }
    }
}

/// Resolves on SIGINT or SIGTERM.
async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut interrupt), Ok(mut terminate)) = (signal(SignalKind::interrupt()), signal(SignalKind::terminate()))
    else {
        std::future::pending::<()>().await;
        return;
    };
    tokio::select! {
        _ = interrupt.recv() => {}
        _ = terminate.recv() => {}
    }
}

fn selftest(args: &SelftestArgs) -> ExitStatus {
    use crate::bench::selftest::{SelftestConfig, selftest};
    let tokenizer = match &args.tokenizer {
        Some(spec) => match dataset::resolve_tokenizer(spec) {
            Ok(path) => Some(path),
            Err(err) => return report_error(err),
        },
        None => None,
    };
    let config = SelftestConfig {
        concurrency: args.concurrency.clone(),
        requests_per_slot: args.requests_per_slot,
        output_len: args.output_len,
        tokenizer,
        dataset_prompts: args.dataset_prompts,
        dataset_input_len: args.dataset_input_len,
        server_cpu: args.server_cpu,
    };
    let report = match selftest(&config, &mut |phase| eprintln!("selftest: {phase}")) {
        Ok(report) => report,
        Err(err) => return report_error(err),
    };
    println!(
        "TTFT at concurrency 1, kept-alive, zero-latency server: mean {:.3} ms, median {:.3} ms",
        report.ttft_c1_mean_ms, report.ttft_c1_p50_ms
    );
    println!(
        "{:>11} {:>12} {:>6} {:>6} {:>12} {:>10} {:>6} {:>12} {:>9} {:>12} {:>11} {:>12} {:>9} {:>10} {:>7}",
        "concurrency",
        "chunks/s",
        "cpu",
        "server",
        "chunks/cpu-s",
        "req/s(1tok)",
        "cpu",
        "req/cpu-s",
        "peak MB",
        "TTFT err ms",
        "p99 err ms",
        "ITL err ms",
        "achieved",
        "saturated",
        "server"
    );
    for level in &report.levels {
        println!(
            "{:>11} {:>12.0} {:>5.0}% {:>5.0}% {:>12.0} {:>10.0} {:>5.0}% {:>12.0} {:>9} {:>12.3} {:>11.3} {:>12.4} {:>8.2}% {:>10} {:>6.0}%",
            level.concurrency,
            level.chunks_per_s,
            level.chunk_run_cpu * 100.0,
            level.chunk_run_server_cpu * 100.0,
            level.chunks_per_s / level.chunk_run_cpu.max(1e-9),
            level.requests_per_s,
            level.request_run_cpu * 100.0,
            level.requests_per_s / level.request_run_cpu.max(1e-9),
            format!("{:.0}/{:.0}", level.peak_rss_mb, level.paced_peak_rss_mb),
            level.ttft_mean_error_ms,
            level.ttft_p99_error_ms,
            level.itl_mean_error_ms,
            level.achieved_output_fraction * 100.0,
            level.paced_saturated,
            level.paced_server_cpu * 100.0
        );
    }
    println!("peak MB = client peak resident memory during the zero-latency runs / during the paced run");
    if let Some((prompts, input_len, seconds)) = report.dataset {
        println!("random dataset: {prompts} prompts x {input_len} tokens in {seconds:.2} s");
    }
    ExitStatus::Success
}
