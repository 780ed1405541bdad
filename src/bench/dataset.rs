//! The request datasets: `random` (LOAD-GENERATOR.md §3), a ShareGPT JSON file and a prompts JSONL
//! file, plus tokenizer loading (a `tokenizer.json`, a folder holding one, or a Hugging Face cache).
//!
//! Owns prompt text, client-side prompt lengths and requested output lengths. It does not know
//! about HTTP, pacing or metrics. The random dataset reproduces NumPy's legacy draws (see
//! `numpy_rng.rs`) in the reference's order; the per-prompt decode/re-encode work runs on all
//! cores, and only the rare corrections that draw fresh random ids run in index order, so the
//! result is the same as a sequential run.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokenizers::Tokenizer;

use super::numpy_rng::NumpyRng;

mod fast_encode;
use fast_encode::{FastDecoder, FastEncoder};

/// One request of a dataset.
#[derive(Debug, Clone)]
pub struct Prompt {
    pub text: Arc<str>,
    /// Client-side prompt length in tokens (the reference's `prompt_len`).
    pub prompt_len: u64,
    /// Requested output length (`max_tokens`).
    pub output_len: u64,
}

/// Dataset errors; each names the file or setting at fault.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum DatasetError {
    #[error("cannot find a tokenizer for `{spec}`")]
    #[diagnostic(
        code(ix::bench::tokenizer_not_found),
        help("pass a tokenizer.json, a folder holding one, or a model id present in the Hugging Face cache")
    )]
    TokenizerNotFound { spec: String },
    #[error("cannot load tokenizer `{path}`: {message}")]
    #[diagnostic(code(ix::bench::tokenizer_invalid))]
    TokenizerInvalid { path: PathBuf, message: String },
    #[error("cannot read dataset `{path}`")]
    #[diagnostic(code(ix::bench::dataset_unreadable))]
    Unreadable {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("invalid dataset `{path}`: {message}")]
    #[diagnostic(code(ix::bench::dataset_invalid))]
    Invalid { path: PathBuf, message: String },
    #[error("tokenizer failed: {0}")]
    #[diagnostic(code(ix::bench::tokenizer_failed))]
    Tokenize(String),
    #[error("no chat template next to `{path}`")]
    #[diagnostic(
        code(ix::bench::chat_template_missing),
        help("`--use-chat-template` reads `chat_template.jinja` or the `chat_template` of `tokenizer_config.json`")
    )]
    ChatTemplateMissing { path: PathBuf },
    #[error("cannot apply the chat template: {0}")]
    #[diagnostic(code(ix::bench::chat_template_invalid))]
    ChatTemplate(String),
}

/// A Hugging Face chat template (Jinja), rendered the way `apply_chat_template` does for one user
/// message with the generation prompt (`trim_blocks`, `lstrip_blocks`, `bos_token`/`eos_token`,
/// `raise_exception`).
#[derive(Debug, Clone)]
pub struct ChatTemplate {
    source: String,
    bos_token: String,
    eos_token: String,
}

impl ChatTemplate {
    /// Reads the template next to a resolved `tokenizer.json`.
    pub fn load(tokenizer_json: &Path) -> Result<ChatTemplate, DatasetError> {
        let dir = tokenizer_json.parent().unwrap_or(Path::new("."));
        let config: serde_json::Value = std::fs::read(dir.join("tokenizer_config.json"))
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .unwrap_or_default();
        let token = |key: &str| match config.get(key) {
            Some(serde_json::Value::String(text)) => text.clone(),
            Some(value) => value.get("content").and_then(|c| c.as_str()).unwrap_or_default().to_owned(),
            None => String::new(),
        };
        let from_config = match config.get("chat_template") {
            Some(serde_json::Value::String(text)) => Some(text.clone()),
            Some(serde_json::Value::Array(named)) => named
                .iter()
                .find(|entry| entry.get("name").and_then(|n| n.as_str()) == Some("default"))
                .or_else(|| named.first())
                .and_then(|entry| entry.get("template")?.as_str().map(str::to_owned)),
            _ => None,
        };
        let source = match std::fs::read_to_string(dir.join("chat_template.jinja")) {
            Ok(text) => text,
            Err(_) => {
                from_config.ok_or_else(|| DatasetError::ChatTemplateMissing { path: tokenizer_json.to_path_buf() })?
            }
        };
        Ok(ChatTemplate { source, bos_token: token("bos_token"), eos_token: token("eos_token") })
    }

    /// The text for one user message followed by the generation prompt.
    pub fn apply(&self, user_text: &str) -> Result<String, DatasetError> {
        let mut env = minijinja::Environment::new();
        env.set_trim_blocks(true);
        env.set_lstrip_blocks(true);
        env.add_function("raise_exception", |message: String| -> Result<String, minijinja::Error> {
            Err(minijinja::Error::new(minijinja::ErrorKind::InvalidOperation, message))
        });
        let template =
            env.template_from_str(&self.source).map_err(|err| DatasetError::ChatTemplate(err.to_string()))?;
        let messages = vec![std::collections::BTreeMap::from([("role", "user"), ("content", user_text)])];
        template
            .render(minijinja::context! {
                messages => messages,
                add_generation_prompt => true,
                bos_token => self.bos_token,
                eos_token => self.eos_token,
            })
            .map_err(|err| DatasetError::ChatTemplate(err.to_string()))
    }
}

/// Finds the `tokenizer.json` for a `--tokenizer`/`--model` value.
pub fn resolve_tokenizer(spec: &str) -> Result<PathBuf, DatasetError> {
    let path = Path::new(spec);
    if path.is_file() {
        return Ok(path.to_path_buf());
    }
    if path.join("tokenizer.json").is_file() {
        return Ok(path.join("tokenizer.json"));
    }
    // Hugging Face hub cache: <cache>/models--<org>--<name>/snapshots/<rev>/tokenizer.json.
    let mut caches = Vec::new();
    if let Some(dir) = std::env::var_os("HF_HUB_CACHE") {
        caches.push(PathBuf::from(dir));
    }
    if let Some(dir) = std::env::var_os("HF_HOME") {
        caches.push(PathBuf::from(dir).join("hub"));
    }
    if let Some(home) = std::env::var_os("HOME") {
        caches.push(PathBuf::from(home).join(".cache/huggingface/hub"));
    }
    let folder = format!("models--{}", spec.replace('/', "--"));
    for cache in caches {
        let snapshots = cache.join(&folder).join("snapshots");
        let preferred = std::fs::read_to_string(cache.join(&folder).join("refs/main")).ok();
        if let Some(rev) = preferred {
            let candidate = snapshots.join(rev.trim()).join("tokenizer.json");
            if candidate.is_file() {
                return Ok(candidate);
            }
        }
        if let Ok(entries) = std::fs::read_dir(&snapshots) {
            let mut found: Vec<PathBuf> =
                entries.flatten().map(|entry| entry.path().join("tokenizer.json")).filter(|p| p.is_file()).collect();
            found.sort();
            if let Some(candidate) = found.pop() {
                return Ok(candidate);
            }
        }
    }
    Err(DatasetError::TokenizerNotFound { spec: spec.to_owned() })
}

/// Word cache size for BPE models: bigger than any vocabulary, so that after warming up nearly
/// every word of a random prompt (decoded vocabulary entries) is a cache hit. The library's
/// default (10 000) stops inserting when full, so with a 50 k vocabulary most words miss.
const BPE_CACHE_WORDS: usize = 1 << 18;

/// Loads a tokenizer from a resolved `tokenizer.json`.
pub fn load_tokenizer(path: &Path) -> Result<Tokenizer, DatasetError> {
    let mut tokenizer = Tokenizer::from_file(path)
        .map_err(|err| DatasetError::TokenizerInvalid { path: path.to_path_buf(), message: err.to_string() })?;
    let mut model = tokenizer.get_model().clone();
    model.resize_cache(BPE_CACHE_WORDS);
    tokenizer.with_model(model);
    Ok(tokenizer)
}

/// Settings of the `random` dataset (LOAD-GENERATOR.md §3).
#[derive(Debug, Clone)]
pub struct RandomSpec {
    pub input_len: u64,
    pub output_len: u64,
    pub range_ratio: f64,
    pub prefix_len: u64,
    pub num_prompts: usize,
    pub seed: u32,
    /// `--use-chat-template`: the input length makes room for the template, and the final text
    /// is wrapped in it (LOAD-GENERATOR.md §3, steps 2 and 7).
    pub chat_template: Option<ChatTemplate>,
}

/// What building a random dataset printed in the reference (length summary).
#[derive(Debug, Clone, Default)]
pub struct RandomSummary {
    /// Mean of (final prompt length − target length).
    pub avg_token_mismatch: f64,
}

const CORRECTION_ROUNDS: usize = 10;

/// Where a prompt's correction loop stopped in the parallel phase.
enum Pending {
    Done {
        text: String,
        prompt_len: Option<u64>,
    },
    /// Needs fresh random ids: continue sequentially from these ids at this round.
    NeedsDraws {
        ids: Vec<u32>,
        round: usize,
    },
}

/// Builds the `random` dataset. Deterministic for a seed; uses every available core.
pub fn random(tokenizer: &Tokenizer, spec: &RandomSpec) -> Result<(Vec<Prompt>, RandomSummary), DatasetError> {
    let vocab = tokenizer.get_vocab_size(false) as i64;
    let fast = FastEncoder::new(tokenizer);
    let encode = |tokenizer: &Tokenizer, text: &str| -> Result<Vec<u32>, DatasetError> {
        let mut ids = Vec::new();
        match &fast {
            Some(fast) if fast.encode_into(text, &mut ids) => Ok(ids),
            _ => encode(tokenizer, text),
        }
    };
    let fast_decoder = FastDecoder::new(tokenizer);
    let decode = |tokenizer: &Tokenizer, ids: &[u32]| -> Result<String, DatasetError> {
        match fast_decoder.as_ref().and_then(|fast| fast.decode(ids, &mut Vec::new())) {
            Some(text) => Ok(text),
            None => decode(tokenizer, ids),
        }
    };
    let mut rng = NumpyRng::new(spec.seed);
    let prefix: Vec<u32> = rng.randint_n(0, vocab, spec.prefix_len as usize).into_iter().map(|id| id as u32).collect();
    let input_len = match &spec.chat_template {
        Some(template) => {
            let allowance = encode(tokenizer, &template.apply("a")?)?.len() as u64;
            spec.input_len.saturating_sub(allowance.saturating_sub(1))
        }
        None => spec.input_len,
    };
    let floor_in = (input_len as f64 * spec.range_ratio).floor() as i64;
    let floor_out = (spec.output_len as f64 * spec.range_ratio).floor() as i64;
    let input_lens = rng.randint_n(floor_in, input_len as i64 + 1, spec.num_prompts);
    let output_lens = rng.randint_n(floor_out, spec.output_len as i64 + 1, spec.num_prompts);
    let offsets = rng.randint_n(0, vocab, spec.num_prompts);

    let targets: Vec<usize> = input_lens.iter().map(|&len| prefix.len() + len as usize).collect();
    let build = |idx: usize| -> Result<Pending, DatasetError> {
        let mut ids = prefix.clone();
        ids.extend((0..input_lens[idx]).map(|j| ((offsets[idx] + idx as i64 + j) % vocab) as u32));
        let mut text = decode(tokenizer, &ids)?;
        for round in 0..CORRECTION_ROUNDS {
            let mut encoded = encode(tokenizer, &text)?;
            let target = targets[idx];
            if encoded.len() == target {
                return Ok(Pending::Done { text, prompt_len: Some(target as u64) });
            }
            if encoded.len() < target {
                return Ok(Pending::NeedsDraws { ids: encoded, round });
            }
            encoded.truncate(target);
            text = decode(tokenizer, &encoded)?;
        }
        Ok(Pending::Done { text, prompt_len: None })
    };
    let pending = parallel_map(spec.num_prompts, &build)?;

    let mut prompts = Vec::with_capacity(spec.num_prompts);
    let mut mismatch_sum = 0i64;
    for (idx, state) in pending.into_iter().enumerate() {
        let target = targets[idx];
        let (text, known_len) = match state {
            Pending::Done { text, prompt_len } => (text, prompt_len),
            Pending::NeedsDraws { mut ids, round } => {
                // Sequential: these draws come from the shared generator, in index order.
                let mut text = String::new();
                for step in round..CORRECTION_ROUNDS {
                    if step > round {
                        ids = encode(tokenizer, &text)?;
                        if ids.len() == target {
                            break;
                        }
                    }
                    if ids.len() < target {
                        let extra = rng.randint_n(0, vocab, target - ids.len());
                        ids.extend(extra.into_iter().map(|id| id as u32));
                    } else {
                        ids.truncate(target);
                    }
                    text = decode(tokenizer, &ids)?;
                }
                (text, None)
            }
        };
        let (text, known_len) = match &spec.chat_template {
            Some(template) => (template.apply(&text)?, None),
            None => (text, known_len),
        };
        let prompt_len = match known_len {
            Some(len) => len,
            None => encode(tokenizer, &text)?.len() as u64,
        };
        mismatch_sum += prompt_len as i64 - target as i64;
        prompts.push(Prompt { text: Arc::from(text), prompt_len, output_len: output_lens[idx] as u64 });
    }
    let summary = RandomSummary {
        avg_token_mismatch: if prompts.is_empty() { 0.0 } else { mismatch_sum as f64 / prompts.len() as f64 },
    };
    Ok((prompts, summary))
}

fn decode(tokenizer: &Tokenizer, ids: &[u32]) -> Result<String, DatasetError> {
    tokenizer.decode(ids, false).map_err(|err| DatasetError::Tokenize(err.to_string()))
}

fn encode(tokenizer: &Tokenizer, text: &str) -> Result<Vec<u32>, DatasetError> {
    tokenizer
        .encode_fast(text, false)
        .map(|encoding| encoding.get_ids().to_vec())
        .map_err(|err| DatasetError::Tokenize(err.to_string()))
}

/// Counts the tokens of a text (no special tokens added).
pub fn count_tokens(tokenizer: &Tokenizer, text: &str) -> Result<u64, DatasetError> {
    Ok(encode(tokenizer, text)?.len() as u64)
}

/// Runs `work(idx)` for `0..n` on every available core, results in index order.
fn parallel_map<T: Send>(
    n: usize,
    work: &(dyn Fn(usize) -> Result<T, DatasetError> + Sync),
) -> Result<Vec<T>, DatasetError> {
    let n_threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(n.max(1));
    let next = std::sync::atomic::AtomicUsize::new(0);
    let mut slots: Vec<Option<Result<T, DatasetError>>> = (0..n).map(|_| None).collect();
    let results = std::sync::Mutex::new(&mut slots);
    std::thread::scope(|scope| {
        for _ in 0..n_threads {
            scope.spawn(|| {
                loop {
                    let idx = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    if idx >= n {
                        break;
                    }
                    let value = work(idx);
                    if let Ok(mut guard) = results.lock() {
                        guard[idx] = Some(value);
                    }
                }
            });
        }
    });
    slots
        .into_iter()
        .map(|slot| slot.unwrap_or_else(|| Err(DatasetError::Tokenize("worker panicked".into()))))
        .collect()
}

/// Reads a ShareGPT-style JSON file: the first human turn is the prompt, the next turn's token
/// count the output length (unless `fixed_output_len`). Conversations with fewer than two turns
/// are skipped; the first `num_prompts` usable ones are kept in file order.
pub fn sharegpt(
    tokenizer: &Tokenizer,
    path: &Path,
    num_prompts: usize,
    fixed_output_len: Option<u64>,
) -> Result<Vec<Prompt>, DatasetError> {
    let bytes = std::fs::read(path).map_err(|source| DatasetError::Unreadable { path: path.to_path_buf(), source })?;
    let value: serde_json::Value = serde_json::from_slice(&bytes)
        .map_err(|err| DatasetError::Invalid { path: path.to_path_buf(), message: err.to_string() })?;
    let entries = value
        .as_array()
        .ok_or_else(|| DatasetError::Invalid { path: path.to_path_buf(), message: "expected a JSON list".into() })?;
    let mut prompts = Vec::new();
    for entry in entries {
        if prompts.len() >= num_prompts {
            break;
        }
        let Some(turns) = entry.get("conversations").and_then(|turns| turns.as_array()) else { continue };
        let texts: Vec<&str> = turns.iter().filter_map(|turn| turn.get("value")?.as_str()).collect();
        if texts.len() < 2 {
            continue;
        }
        let prompt_len = count_tokens(tokenizer, texts[0])?;
        let output_len = match fixed_output_len {
            Some(len) => len,
            None => count_tokens(tokenizer, texts[1])?,
        };
        prompts.push(Prompt { text: Arc::from(texts[0]), prompt_len, output_len });
    }
    Ok(prompts)
}

/// Reads a prompts JSONL file: one object per line with `prompt` and optionally `output_len`
/// (or `max_tokens`); lines without an output length use `default_output_len`.
pub fn prompts_jsonl(
    tokenizer: &Tokenizer,
    path: &Path,
    num_prompts: usize,
    default_output_len: u64,
) -> Result<Vec<Prompt>, DatasetError> {
    let text = std::fs::read_to_string(path)
        .map_err(|source| DatasetError::Unreadable { path: path.to_path_buf(), source })?;
    let mut prompts = Vec::new();
    for (line_idx, line) in text.lines().enumerate() {
        if prompts.len() >= num_prompts {
            break;
        }
        if line.trim().is_empty() {
            continue;
        }
        let invalid = |message: String| DatasetError::Invalid {
            path: path.to_path_buf(),
            message: format!("line {}: {message}", line_idx + 1),
        };
        let value: serde_json::Value = serde_json::from_str(line).map_err(|err| invalid(err.to_string()))?;
        let prompt =
            value.get("prompt").and_then(|p| p.as_str()).ok_or_else(|| invalid("missing string `prompt`".into()))?;
        let output_len = value
            .get("output_len")
            .or_else(|| value.get("max_tokens"))
            .and_then(|v| v.as_u64())
            .unwrap_or(default_output_len);
        prompts.push(Prompt { text: Arc::from(prompt), prompt_len: count_tokens(tokenizer, prompt)?, output_len });
    }
    Ok(prompts)
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    pub(super) fn words() -> Tokenizer {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/bench/words-tokenizer.json");
        load_tokenizer(&path).expect("test tokenizer")
    }

    fn spec(seed: u32) -> RandomSpec {
        RandomSpec {
            input_len: 40,
            output_len: 10,
            range_ratio: 0.5,
            prefix_len: 3,
            num_prompts: 50,
            seed,
            chat_template: None,
        }
    }

    /// The GPT-2 byte-level BPE tokenizer `ci/llama.sh` writes.
    pub(super) fn gpt2() -> Tokenizer {
        let dir = match std::env::var_os("IX_LLAMA_DIR") {
            Some(dir) => PathBuf::from(dir),
            None => std::env::var_os("IX_CACHE")
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").expect("HOME")).join(".cache/ix"))
                .join("llama-0.3.36"),
        };
        let path = dir.join("model/tokenizer/tokenizer.json");
        assert!(path.is_file(), "{} is missing: run `ci/llama.sh` first (or set IX_LLAMA_DIR)", path.display());
        load_tokenizer(&path).expect("gpt2 tokenizer")
    }

    /// A digest of every generated prompt (text, client-side length, output length) and the mismatch.
    fn digest(prompts: &[Prompt], summary: &RandomSummary) -> String {
        let mut hasher = blake3::Hasher::new();
        for prompt in prompts {
            hasher.update(&(prompt.text.len() as u64).to_le_bytes());
            hasher.update(prompt.text.as_bytes());
            hasher.update(&prompt.prompt_len.to_le_bytes());
            hasher.update(&prompt.output_len.to_le_bytes());
        }
        hasher.update(&summary.avg_token_mismatch.to_le_bytes());
        hasher.finalize().to_hex().to_string()
    }

    /// Pins the random dataset for the GPT-2 vocabulary (pinned before the encode fast path), so that
    /// speed work cannot change a single prompt: long windows cross `<|endoftext|>` (id 50256) and
    /// the correction rounds (truncation and fresh draws) both run.
    #[test]
    fn random_gpt2_prompts_are_pinned() {
        let tokenizer = gpt2();
        let spec = RandomSpec {
            input_len: 1024,
            output_len: 64,
            range_ratio: 0.5,
            prefix_len: 7,
            num_prompts: 256,
            seed: 0,
            chat_template: None,
        };
        let (prompts, summary) = random(&tokenizer, &spec).expect("dataset");
        assert_eq!(digest(&prompts, &summary), "37358415201ec18c039c9946d5a9348cb054d5e8a66741402b7b9b0caf3176e5");
    }

    #[test]
    fn random_is_deterministic_and_respects_the_windows() {
        let tokenizer = words();
        let (first, summary) = random(&tokenizer, &spec(7)).expect("dataset");
        let (again, _) = random(&tokenizer, &spec(7)).expect("dataset");
        let (other, _) = random(&tokenizer, &spec(8)).expect("dataset");
        let texts = |prompts: &[Prompt]| prompts.iter().map(|p| p.text.to_string()).collect::<Vec<_>>();
        assert_eq!(texts(&first), texts(&again));
        assert_ne!(texts(&first), texts(&other));
        assert_eq!(summary.avg_token_mismatch, 0.0);
        // The shared prefix (3 tokens, not scaled by the ratio) starts every prompt.
        let prefix: Vec<&str> = first[0].text.split(' ').take(3).collect();
        for prompt in &first {
            assert!((3 + 20..=3 + 40).contains(&prompt.prompt_len), "{}", prompt.prompt_len);
            assert!((5..=10).contains(&prompt.output_len), "{}", prompt.output_len);
            assert_eq!(prompt.text.split(' ').take(3).collect::<Vec<_>>(), prefix);
        }
    }

    #[test]
    fn bodies_are_consecutive_ids() {
        // No prefix: prompt i is ids (offset_i + i + j) mod V for j = 0..len.
        let tokenizer = words();
        let spec = RandomSpec {
            input_len: 4,
            output_len: 1,
            range_ratio: 1.0,
            prefix_len: 0,
            num_prompts: 3,
            seed: 0,
            chat_template: None,
        };
        let (prompts, _) = random(&tokenizer, &spec).expect("dataset");
        for (idx, prompt) in prompts.iter().enumerate() {
            let ids: Vec<u32> = prompt.text.split(' ').map(|w| w[1..].parse().expect("wN")).collect();
            for pair in ids.windows(2) {
                assert_eq!((pair[0] + 1) % 1000, pair[1], "prompt {idx}: {:?}", prompt.text);
            }
        }
        // np.random.seed(0): lengths [4,4,4] draw nothing, outputs [1,1,1] nothing, then offsets.
        let mut rng = NumpyRng::new(0);
        let first_offset = rng.randint(0, 1000) as u32;
        assert!(prompts[0].text.starts_with(&format!("w{first_offset} ")));
    }

    #[test]
    fn chat_template_wraps_prompts_and_shrinks_the_input_window() {
        let dir = tempfile::tempdir().expect("tempdir");
        let tokenizer_json = dir.path().join("tokenizer.json");
        std::fs::copy(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/bench/words-tokenizer.json"),
            &tokenizer_json,
        )
        .expect("copy");
        let template = "{{ bos_token }}{% for m in messages %}\n<{{ m['role'] }}> {{ m['content'] }} </{{ m['role'] }}>\n{% endfor %}\n{% if add_generation_prompt %}<assistant>{% endif %}";
        let config = serde_json::json!({"bos_token": {"content": "<s>"}, "chat_template": template});
        std::fs::write(dir.path().join("tokenizer_config.json"), config.to_string()).expect("config");
        let chat = ChatTemplate::load(&tokenizer_json).expect("template");
        // trim_blocks removes the newline after a block tag, as Hugging Face renders it.
        assert_eq!(chat.apply("w1 w2").expect("render"), "<s><user> w1 w2 </user>\n<assistant>");
        // "a" renders to 4 words, so the window [floor(I·r), I] shrinks by 3 before the draws: 17
        // body words, plus the template's 3 others.
        let tokenizer = load_tokenizer(&tokenizer_json).expect("tokenizer");
        let spec = RandomSpec {
            input_len: 20,
            output_len: 4,
            range_ratio: 1.0,
            prefix_len: 0,
            num_prompts: 4,
            seed: 0,
            chat_template: Some(chat),
        };
        let (prompts, summary) = random(&tokenizer, &spec).expect("dataset");
        for prompt in &prompts {
            assert_eq!(prompt.prompt_len, 17 + 3, "{}", prompt.text);
            assert!(prompt.text.ends_with("<assistant>"));
        }
        assert_eq!(summary.avg_token_mismatch, 3.0);
    }
}
