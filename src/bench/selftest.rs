//! `ix bench selftest`: measures the load generator itself against its own simulator, run as a
//! separate process (optionally pinned to another core), and returns the figures; it prints
//! nothing (the CLI does).
//!
//! Phases: per-request overhead (TTFT at concurrency 1 on a kept-alive connection, zero-latency
//! server), then per concurrency level the chunk ceiling (long outputs), the request ceiling
//! (1-token outputs), peak memory, and accuracy against the paced simulator's ground truth;
//! optionally the random dataset's generation speed.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Instant;

use super::dataset::{self, Prompt, RandomSpec};
use super::{ApiKind, Progress, RequestTemplate, RunConfig, RunRecord};

/// Requests per slot in the paced accuracy phase.
const PACED_ROUNDS: usize = 8;

/// What to measure.
#[derive(Debug, Clone)]
pub struct SelftestConfig {
    pub concurrency: Vec<usize>,
    pub requests_per_slot: usize,
    pub output_len: u64,
    pub tokenizer: Option<PathBuf>,
    pub dataset_prompts: usize,
    pub dataset_input_len: u64,
    pub server_cpu: Option<usize>,
}

/// Figures for one concurrency level.
#[derive(Debug, Clone)]
pub struct LevelFigures {
    pub concurrency: usize,
    pub chunks_per_s: f64,
    pub chunk_run_cpu: f64,
    /// The simulator's CPU use during the chunk run (near 100 %: it, not the client, limited).
    pub chunk_run_server_cpu: f64,
    pub requests_per_s: f64,
    pub request_run_cpu: f64,
    pub peak_rss_mb: f64,
    pub paced_peak_rss_mb: f64,
    /// Paced run (TTFT 50 ms, ITL 11 ms): client minus server, in ms.
    pub ttft_mean_error_ms: f64,
    pub ttft_p99_error_ms: f64,
    pub itl_mean_error_ms: f64,
    pub achieved_output_fraction: f64,
    pub paced_saturated: bool,
    /// The paced simulator's CPU share (near 100 %: its ground truth starts late, when it
    /// finally reads a request, so client-minus-server errors then include its backlog).
    pub paced_server_cpu: f64,
}

/// Everything the self-test measured.
#[derive(Debug, Clone)]
pub struct SelftestReport {
    pub ttft_c1_mean_ms: f64,
    pub ttft_c1_p50_ms: f64,
    pub levels: Vec<LevelFigures>,
    /// (prompts, input length, seconds) of the dataset phase.
    pub dataset: Option<(usize, u64, f64)>,
}

/// Self-test failures (the simulator could not start, the tokenizer is missing, …).
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum SelftestError {
    #[error("cannot start the simulator: {0}")]
    #[diagnostic(code(ix::bench::selftest_server))]
    Server(String),
    #[error(transparent)]
    #[diagnostic(transparent)]
    Dataset(#[from] dataset::DatasetError),
    #[error(transparent)]
    #[diagnostic(transparent)]
    Run(#[from] super::BenchError),
}

struct SimProcess {
    child: Child,
    port: u16,
}

impl Drop for SimProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_sim(args: &[&str], server_cpu: Option<usize>) -> Result<SimProcess, SelftestError> {
    let exe = std::env::current_exe().map_err(|err| SelftestError::Server(err.to_string()))?;
    let mut command = match server_cpu {
        Some(cpu) => {
            let mut command = Command::new("taskset");
            command.arg("-c").arg(cpu.to_string()).arg(exe);
            command
        }
        None => Command::new(exe),
    };
    let mut child = command
        .args(["bench", "sim-server", "--port", "0"])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|err| SelftestError::Server(err.to_string()))?;
    let mut line = String::new();
    if let Some(stdout) = child.stdout.take() {
        let _ = BufReader::new(stdout).read_line(&mut line);
    }
    let port = line.trim().rsplit(':').next().and_then(|port| port.parse().ok());
    match port {
        Some(port) => Ok(SimProcess { child, port }),
        None => {
            let _ = child.kill();
            Err(SelftestError::Server(format!("unexpected first line {line:?}")))
        }
    }
}

fn get_json(port: u16, path: &str) -> serde_json::Value {
    let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", port)) else { return serde_json::Value::Null };
    let _ = write!(stream, "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    let mut text = String::new();
    let _ = stream.read_to_string(&mut text);
    text.split_once("\r\n\r\n").and_then(|(_, body)| serde_json::from_str(body).ok()).unwrap_or_default()
}

fn server_cpu(port: u16) -> f64 {
    get_json(port, "/ground-truth").get("cpu_s").and_then(serde_json::Value::as_f64).unwrap_or(f64::NAN)
}

fn synthetic_prompts(n: usize, output_len: u64) -> Vec<Prompt> {
    let text: Arc<str> = Arc::from("w1 w2 w3 w4 w5 w6 w7 w8");
    (0..n).map(|_| Prompt { text: text.clone(), prompt_len: 8, output_len }).collect()
}

/// Prompts of the paced phase: output lengths 48 to 80 tokens (mean 64), spread over the
/// requests, so slots finish at different times as in a real run with a range ratio below 1
/// (with equal lengths every slot finishes at once, a burst no real sweep has).
fn paced_prompts(n: usize) -> Vec<Prompt> {
    let text: Arc<str> = Arc::from("w1 w2 w3 w4 w5 w6 w7 w8");
    (0..n as u64)
        .map(|idx| Prompt { text: text.clone(), prompt_len: 8, output_len: 48 + idx.wrapping_mul(7919) % 33 })
        .collect()
}

/// How long an ideal client's closed loop over `prompts` takes: each request keeps the server
/// `ttft + n · itl` seconds (n output tokens), and a slot starts the next request the moment it
/// finishes one, in order (the reference client's FIFO semaphore).
fn ideal_closed_loop_s(prompts: &[Prompt], concurrency: usize, ttft_s: f64, itl_s: f64) -> f64 {
    use std::cmp::Reverse;
    // Slot free times in nanoseconds (integers, so the heap orders them).
    let mut slots: std::collections::BinaryHeap<Reverse<u64>> = (0..concurrency.max(1)).map(|_| Reverse(0)).collect();
    let mut end = 0;
    for prompt in prompts {
        let Some(Reverse(free)) = slots.pop() else { break };
        let busy = ((ttft_s + prompt.output_len as f64 * itl_s) * 1e9) as u64;
        end = end.max(free + busy);
        slots.push(Reverse(free + busy));
    }
    end as f64 / 1e9
}

fn run(port: u16, concurrency: usize, prompts: &[Prompt], warmups: usize) -> Result<RunRecord, SelftestError> {
    let template = RequestTemplate {
        url: format!("http://127.0.0.1:{port}/v1/completions"),
        api: ApiKind::Completions,
        model: "sim".into(),
        ignore_eos: true,
        best_of: 1,
        api_key: None,
    };
    let mut config = RunConfig::new(template);
    config.max_concurrency = Some(concurrency);
    config.num_warmups = warmups;
    Ok(super::run_blocking(&config, prompts, None, Arc::new(Progress::default()))?)
}

/// Resets this process's peak-RSS mark (`VmHWM`) so the next phase is measured on its own.
fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// Peak resident memory of this process (`VmHWM`), in MB.
fn peak_rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

/// Runs every phase; `progress` is told which phase starts (for the CLI to show).
pub fn selftest(config: &SelftestConfig, progress: &mut dyn FnMut(&str)) -> Result<SelftestReport, SelftestError> {
    let zero = start_sim(&["--output-len", "1"], config.server_cpu)?;

    progress("TTFT at concurrency 1 (zero-latency server, kept-alive connection)");
    let record = run(zero.port, 1, &synthetic_prompts(2000, 1), 10)?;
    let ttft_c1_mean_ms = record.metrics.ttft.mean;
    let ttft_c1_p50_ms = record.metrics.ttft.median;

    let mut levels = Vec::new();
    for &concurrency in &config.concurrency {
        let n = config.requests_per_slot * concurrency;
        progress(&format!("concurrency {concurrency}: chunk ceiling ({n} requests x {} tokens)", config.output_len));
        reset_peak_rss();
        let cpu_before = server_cpu(zero.port);
        let record = run(zero.port, concurrency, &synthetic_prompts(n, config.output_len), concurrency)?;
        let chunk_run_server_cpu = (server_cpu(zero.port) - cpu_before) / record.duration.as_secs_f64();
        let chunks: u64 = record.requests.iter().map(|r| r.outcome.n_chunks).sum();
        let chunks_per_s = chunks as f64 / record.duration.as_secs_f64();
        let chunk_run_cpu = record.diagnostics.cpu_utilization;

        progress(&format!("concurrency {concurrency}: request ceiling ({n} requests x 1 token)"));
        let record = run(zero.port, concurrency, &synthetic_prompts(n, 1), concurrency)?;
        let requests_per_s = record.metrics.request_throughput;
        let request_run_cpu = record.diagnostics.cpu_utilization;
        let peak = peak_rss_mb();

        progress(&format!("concurrency {concurrency}: accuracy against a paced server (TTFT 50 ms, ITL 11 ms)"));
        let paced = start_sim(&["--ttft-ms", "50", "--itl-ms", "11"], config.server_cpu)?;
        let paced_prompts = paced_prompts(PACED_ROUNDS * concurrency);
        reset_peak_rss();
        let paced_cpu_before = server_cpu(paced.port);
        let record = run(paced.port, concurrency, &paced_prompts, concurrency)?;
        let paced_server_cpu = (server_cpu(paced.port) - paced_cpu_before) / record.duration.as_secs_f64();
        let paced_peak = peak_rss_mb();
        let truth = get_json(paced.port, &format!("/ground-truth?skip={concurrency}"));
        let field = |key: &str| truth.get(key).and_then(serde_json::Value::as_f64).unwrap_or(f64::NAN);
        // Offered: the output rate of an ideal client against this server, whose requests take
        // the TTFT and ITL it actually sent (a request of n tokens: n + 1 choice chunks, n gaps);
        // a closed loop achieves less only by client delay.
        let ideal_s = ideal_closed_loop_s(
            &paced_prompts,
            concurrency,
            field("mean_ttft_ms") / 1000.0,
            field("mean_itl_ms") / 1000.0,
        );
        let offered = paced_prompts.iter().map(|prompt| prompt.output_len as f64).sum::<f64>() / ideal_s;
        levels.push(LevelFigures {
            concurrency,
            chunks_per_s,
            chunk_run_cpu,
            chunk_run_server_cpu,
            requests_per_s,
            request_run_cpu,
            peak_rss_mb: peak,
            paced_peak_rss_mb: paced_peak,
            ttft_mean_error_ms: record.metrics.ttft.mean - field("mean_ttft_ms"),
            ttft_p99_error_ms: record.metrics.ttft.percentiles.first().map_or(f64::NAN, |p| p.1) - field("p99_ttft_ms"),
            itl_mean_error_ms: record.metrics.itl.mean - field("mean_itl_ms"),
            achieved_output_fraction: record.metrics.output_throughput / offered,
            paced_saturated: record.diagnostics.saturated,
            paced_server_cpu,
        });
    }
    drop(zero);

    let dataset = match &config.tokenizer {
        Some(path) => {
            progress(&format!(
                "dataset: {} random prompts of {} tokens",
                config.dataset_prompts, config.dataset_input_len
            ));
            let tokenizer = dataset::load_tokenizer(path)?;
            let spec = RandomSpec {
                input_len: config.dataset_input_len,
                output_len: 1024,
                range_ratio: 0.8,
                prefix_len: 0,
                num_prompts: config.dataset_prompts,
                seed: 0,
                chat_template: None,
            };
            let start = Instant::now();
            let _ = dataset::random(&tokenizer, &spec)?;
            Some((config.dataset_prompts, config.dataset_input_len, start.elapsed().as_secs_f64()))
        }
        None => None,
    };
    Ok(SelftestReport { ttft_c1_mean_ms, ttft_c1_p50_ms, levels, dataset })
}

#[cfg(test)]
mod tests {
    use super::{ideal_closed_loop_s, paced_prompts};

    #[test]
    fn paced_lengths_average_64_and_the_ideal_loop_schedules_slots_in_order() {
        let prompts = paced_prompts(33 * 100);
        let mean = prompts.iter().map(|p| p.output_len).sum::<u64>() as f64 / prompts.len() as f64;
        assert!((mean - 64.0).abs() < 0.01, "{mean}");
        assert_eq!(prompts.iter().map(|p| p.output_len).min(), Some(48));
        assert_eq!(prompts.iter().map(|p| p.output_len).max(), Some(80));
        // Two slots, requests of 1, 3, 1, 1 s: slot A runs 0-1, 1-2, 2-3; slot B 0-3.
        let mut prompts = paced_prompts(4);
        for (prompt, len) in prompts.iter_mut().zip([1, 3, 1, 1]) {
            prompt.output_len = len;
        }
        assert!((ideal_closed_loop_s(&prompts, 2, 0.0, 1.0) - 3.0).abs() < 1e-9);
        // One slot: the sum, TTFT included.
        assert!((ideal_closed_loop_s(&prompts, 1, 0.5, 1.0) - 8.0).abs() < 1e-9);
    }
}
