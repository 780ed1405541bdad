//! Seeded synthetic Weka traces (`ix bench traces`): agent sessions of a chosen size in the
//! upstream schema (AGENTIC.md §2.1), for demos, tests and the prompt-preparation benchmark
//! when no recorded corpus is at hand.
//!
//! Each trace is a root of `turns` top-level requests whose prompt grows by a few 64-token
//! blocks a turn (so consecutive turns share their whole previous prefix), with occasional
//! compactions (the prompt restarts from its first blocks: a shorter LCP), and subagents
//! spawned between turns: one blocking child, or two adjacent entries (a parallel branch),
//! each a short chain sharing the first blocks (the tools) with the root. Block ids are local
//! per trace and numbered in first-seen order. The same spec and seed give the same bytes.
//!
//! Owns no I/O beyond the writer it is handed; the CLI (`cli::bench`) opens the file.

use std::fmt::Write as _;
use std::io::Write;

/// Shape of a synthetic corpus; [`SynthSpec::default`] matches the real corpus's sizes
/// (393 traces of ~145 turns whose prompts grow from ~13k to ~60k tokens, ~12 subagents each).
#[derive(Debug, Clone, PartialEq)]
pub struct SynthSpec {
    pub traces: usize,
    pub seed: u64,
    pub min_turns: usize,
    pub max_turns: usize,
    /// Mean first-prompt size in tokens (each trace draws within ±25 %).
    pub initial_tokens: u64,
    /// No prompt grows beyond this many tokens (plus a partial last block).
    pub max_prompt_tokens: u64,
    /// Subagent spawn points per trace (each trace draws between half of it and it).
    pub max_subagents: usize,
    /// Outputs are drawn in [max/13, max] tokens.
    pub max_output_tokens: u64,
    /// Recorded request durations are drawn in [max/8, max] seconds.
    pub max_api_time: f64,
    /// Recorded gap between a request's end and the next one's start, seconds.
    pub think_time: f64,
    /// Per-turn probability of a compaction (the prompt restarts from its first quarter).
    pub compaction_rate: f64,
}

impl Default for SynthSpec {
    fn default() -> Self {
        SynthSpec {
            traces: 393,
            seed: 1,
            min_turns: 110,
            max_turns: 180,
            initial_tokens: 12_800,
            max_prompt_tokens: 64_000,
            max_subagents: 16,
            max_output_tokens: 400,
            max_api_time: 4.0,
            think_time: 0.5,
            compaction_rate: 0.005,
        }
    }
}

/// Why a spec cannot produce traces.
pub fn check(spec: &SynthSpec) -> Result<(), String> {
    if spec.traces == 0 {
        return Err("--traces must be at least 1".into());
    }
    if spec.min_turns < 2 || spec.min_turns > spec.max_turns {
        return Err("turns must satisfy 2 <= --min-turns <= --max-turns".into());
    }
    if spec.initial_tokens < BLOCK || spec.max_prompt_tokens < spec.initial_tokens {
        return Err(format!("prompt sizes must satisfy {BLOCK} <= --initial-tokens <= --max-prompt-tokens"));
    }
    if spec.max_output_tokens == 0 {
        return Err("--max-output-tokens must be at least 1".into());
    }
    let finite = |v: f64| v.is_finite() && v >= 0.0;
    if !finite(spec.max_api_time) || spec.max_api_time == 0.0 || !finite(spec.think_time) {
        return Err("--max-api-time must be > 0 and --think-time >= 0 (seconds)".into());
    }
    if !(0.0..=1.0).contains(&spec.compaction_rate) {
        return Err("--compaction-rate must be in [0, 1]".into());
    }
    Ok(())
}

/// Tokens per hash block, as in every real corpus.
const BLOCK: u64 = 64;
/// Leading blocks a subagent shares with its parent (the declared tools).
const SHARED_TOOL_BLOCKS: u64 = 4;

/// SplitMix64: a tiny deterministic generator whose stream never changes with a crate version.
struct Rng(u64);

impl Rng {
    fn new(seed: u64, trace: usize) -> Rng {
        Rng(seed ^ (trace as u64).wrapping_mul(0xA076_1D64_78BD_642F))
    }
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform on [lo, hi] (inclusive; `lo` when the range is empty).
    fn int(&mut self, lo: u64, hi: u64) -> u64 {
        if hi <= lo { lo } else { lo + self.next() % (hi - lo + 1) }
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.unit()
    }
}

/// Writes `ids` as a JSON array body (`0,1,2`).
fn push_ids(out: &mut String, ids: impl Iterator<Item = u64>) {
    for (i, id) in ids.enumerate() {
        if i > 0 {
            out.push(',');
        }
        let _ = write!(out, "{id}");
    }
}

/// One trace as a compact JSON line (no newline).
pub fn trace_line(spec: &SynthSpec, index: usize) -> String {
    let mut rng = Rng::new(spec.seed, index);
    let turns = rng.int(spec.min_turns as u64, spec.max_turns as u64) as usize;
    let max_blocks = (spec.max_prompt_tokens / BLOCK).max(1);
    let mean = spec.initial_tokens / BLOCK;
    let mut blocks = rng.int(mean * 3 / 4, mean * 5 / 4).clamp(1, max_blocks);
    let spawns_wanted = rng.int(spec.max_subagents as u64 / 2, spec.max_subagents as u64) as usize;
    // Spawn points: distinct turns in 1..turns-1 (a child needs a parent turn after it).
    let mut spawn_at = vec![false; turns];
    let candidates = turns.saturating_sub(2);
    for _ in 0..spawns_wanted.min(candidates) {
        let mut k = 1 + rng.int(0, candidates as u64 - 1) as usize;
        while spawn_at[k] {
            k = 1 + (k % candidates);
        }
        spawn_at[k] = true;
    }
    // The root's prompt is blocks 0..blocks of `root_ids` (ids renumbered after compactions).
    let mut root_ids: Vec<u64> = (0..blocks).collect();
    let mut next_id = blocks;
    let mut now = 0.0f64;
    let mut out = String::with_capacity(turns * (blocks as usize) * 8);
    let _ =
        write!(out, "{{\"id\":\"syn-{:05}\",\"block_size\":{BLOCK},\"hash_id_scope\":\"local\",\"requests\":[", index);
    let mut first = true;
    let mut sep = |out: &mut String| {
        if !first {
            out.push(',');
        }
        first = false;
    };
    for (k, &spawns) in spawn_at.iter().enumerate() {
        if k > 0 {
            if rng.unit() < spec.compaction_rate {
                // Compaction: keep the first quarter, then a fresh summary block.
                let keep = (root_ids.len() / 4).max(1).min(max_blocks as usize - 1);
                root_ids.truncate(keep);
                root_ids.push(next_id);
                next_id += 1;
            }
            let grow = rng.int(2, 8);
            for _ in 0..grow {
                if root_ids.len() as u64 >= max_blocks {
                    break;
                }
                root_ids.push(next_id);
                next_id += 1;
            }
        }
        blocks = root_ids.len() as u64;
        let api = (rng.uniform(spec.max_api_time / 8.0, spec.max_api_time) * 1000.0).round() / 1000.0;
        let input = blocks * BLOCK + rng.int(0, BLOCK - 1);
        let output = rng.int((spec.max_output_tokens / 13).max(1), spec.max_output_tokens);
        sep(&mut out);
        let _ = write!(
            out,
            "{{\"t\":{now:.3},\"type\":\"s\",\"model\":\"m\",\"in\":{input},\"out\":{output},\"hash_ids\":["
        );
        push_ids(&mut out, root_ids.iter().copied());
        let _ = write!(out, "],\"api_time\":{api}");
        if k > 0 {
            let _ = write!(out, ",\"think_time\":{}", spec.think_time);
        }
        out.push('}');
        now += api + spec.think_time;
        if spawns {
            // One blocking child, sometimes two adjacent ones (a parallel branch).
            let children = if rng.unit() < 0.3 { 2 } else { 1 };
            let spawn = now;
            let mut branch_end = spawn;
            for c in 0..children {
                let mut sub_t = spawn + 0.05 * c as f64;
                let start_id = next_id;
                // The child's prompt: `shared` root blocks plus `size` own ones, within the cap.
                let shared = SHARED_TOOL_BLOCKS.min(root_ids.len() as u64).min(max_blocks.saturating_sub(1));
                let room = max_blocks.saturating_sub(shared).max(1);
                let mut size = rng.int(mean / 2, mean).clamp(1, room);
                let requests = rng.int(2, 5);
                let mut inner = String::new();
                for r in 0..requests {
                    size = (size + rng.int(1, 6)).min(room);
                    let n = shared + size;
                    let api = (rng.uniform(spec.max_api_time / 8.0, spec.max_api_time / 2.0) * 1000.0).round() / 1000.0;
                    let output = rng.int((spec.max_output_tokens / 13).max(1), spec.max_output_tokens);
                    if r > 0 {
                        inner.push(',');
                    }
                    let _ = write!(
                        inner,
                        "{{\"t\":{sub_t:.3},\"type\":\"n\",\"model\":\"m\",\"in\":{},\"out\":{output},\"hash_ids\":[",
                        n * BLOCK
                    );
                    push_ids(&mut inner, root_ids[..shared as usize].iter().copied().chain(start_id..start_id + size));
                    let _ = write!(inner, "],\"api_time\":{api}}}");
                    sub_t += api + 0.1;
                }
                next_id = start_id + size;
                let duration_ms = ((sub_t - 0.1 - spawn) * 1000.0).round() as u64;
                branch_end = branch_end.max(sub_t);
                sep(&mut out);
                let _ = write!(
                    out,
                    "{{\"t\":{:.3},\"type\":\"subagent\",\"agent_id\":\"a{k}_{c}\",\"subagent_type\":\"explore\",\
                     \"duration_ms\":{duration_ms},\"status\":\"completed\",\"requests\":[{inner}]}}",
                    spawn + 0.05 * c as f64
                );
            }
            now = branch_end + 0.2;
        }
    }
    out.push_str("]}");
    out
}

/// Writes the whole corpus as `traces.jsonl` lines; returns the bytes written.
pub fn write(spec: &SynthSpec, out: &mut dyn Write) -> std::io::Result<u64> {
    let mut written = 0u64;
    for index in 0..spec.traces {
        let mut line = trace_line(spec, index);
        line.push('\n');
        out.write_all(line.as_bytes())?;
        written += line.len() as u64;
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::agentic::trace::{self, LoadOptions, TraceFormat};

    fn small() -> SynthSpec {
        SynthSpec {
            traces: 12,
            seed: 7,
            min_turns: 6,
            max_turns: 14,
            initial_tokens: 1024,
            max_prompt_tokens: 4096,
            max_subagents: 3,
            max_output_tokens: 64,
            max_api_time: 1.0,
            think_time: 0.2,
            compaction_rate: 0.1,
        }
    }

    fn load(spec: &SynthSpec) -> trace::Corpus {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("traces.jsonl");
        let mut file = std::fs::File::create(&path).unwrap();
        write(spec, &mut file).unwrap();
        let options = LoadOptions {
            format: TraceFormat::Weka,
            mooncake_block_size: 512,
            max_context_length: None,
            max_entries: None,
        };
        let loaded = trace::load(&path, &options);
        assert!(loaded.diags.is_empty(), "{:?}", loaded.diags);
        loaded.corpus.unwrap()
    }

    #[test]
    fn same_seed_same_bytes_other_seed_other_bytes() {
        let spec = small();
        assert_eq!(trace_line(&spec, 3), trace_line(&spec, 3));
        assert_ne!(trace_line(&spec, 3), trace_line(&spec, 4));
        assert_ne!(trace_line(&spec, 3), trace_line(&SynthSpec { seed: 8, ..spec }, 3));
    }

    #[test]
    fn traces_load_with_subagents_growth_and_compaction() {
        let spec = small();
        let corpus = load(&spec);
        assert_eq!(corpus.traces.len(), 12);
        let mut children = 0;
        let mut parallel = 0;
        let mut compactions = 0;
        for trace in &corpus.traces {
            let root = &trace.conversations[0];
            assert!((6..=14).contains(&root.requests.len()), "{}", root.requests.len());
            for pair in root.requests.windows(2) {
                let (a, b) = (&pair[0], &pair[1]);
                assert!(b.t >= a.t + a.api_time, "delays are end-to-start");
                assert!(b.input_tokens <= spec.max_prompt_tokens + 63);
                if b.input_tokens < a.input_tokens {
                    compactions += 1;
                }
            }
            let kids: Vec<_> = trace.conversations.iter().filter_map(|c| c.link.as_ref()).collect();
            children += kids.len();
            parallel += kids.windows(2).filter(|w| w[0].anchor == w[1].anchor).count();
            for kid in kids {
                assert!(kid.join.is_some(), "every synthetic child is joined");
            }
        }
        assert!(children >= 12, "{children} children");
        assert!(parallel > 0, "no parallel branch");
        assert!(compactions > 0, "no compaction");
    }

    #[test]
    fn default_sizes_match_the_real_corpus() {
        let spec = SynthSpec { traces: 3, ..SynthSpec::default() };
        let corpus = load(&spec);
        for trace in &corpus.traces {
            let root = &trace.conversations[0];
            assert!((110..=180).contains(&root.requests.len()));
            let first = root.requests[0].input_tokens;
            let peak = root.requests.iter().map(|r| r.input_tokens).max().unwrap();
            assert!((9_000..=17_000).contains(&first), "{first}");
            assert!(peak > 20_000 && peak <= 64_063, "{peak}");
        }
    }

    #[test]
    fn no_prompt_exceeds_the_cap_even_when_it_is_tiny() {
        for cap in [64, 128, 256, 320] {
            let spec = SynthSpec { initial_tokens: 64, max_prompt_tokens: cap, ..small() };
            for trace in &load(&spec).traces {
                for conversation in &trace.conversations {
                    for request in &conversation.requests {
                        assert!(
                            request.hash_ids.len() as u64 * 64 <= cap,
                            "{} blocks over {cap}",
                            request.hash_ids.len()
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn bad_specs_are_refused() {
        assert!(check(&SynthSpec::default()).is_ok());
        assert!(check(&SynthSpec { traces: 0, ..small() }).is_err());
        assert!(check(&SynthSpec { min_turns: 1, ..small() }).is_err());
        assert!(check(&SynthSpec { min_turns: 20, max_turns: 10, ..small() }).is_err());
        assert!(check(&SynthSpec { initial_tokens: 10, ..small() }).is_err());
        assert!(check(&SynthSpec { max_api_time: f64::NAN, ..small() }).is_err());
        assert!(check(&SynthSpec { compaction_rate: 2.0, ..small() }).is_err());
    }
}
