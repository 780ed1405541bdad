//! The prefix-cache model of `ix bench sim-server` (AGENTIC.md §6.1): prompts as whitespace words,
//! blocks of `block_size` words identified by a chained hash, a pool of `capacity` blocks with
//! LRU eviction and pinning of blocks held by running requests, and the counters behind the
//! simulator's vLLM- or SGLang-style `/metrics`.
//!
//! Only full blocks are cacheable (like vLLM). A request's hit is the leading run of its blocks
//! present in the pool; its blocks are inserted when it is admitted (prefill is modelled as
//! instantaneous apart from the TTFT it adds) and stay pinned until its stream ends.

use std::collections::{BTreeSet, HashMap};

/// Which exposition `/metrics` uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricsFlavour {
    Vllm,
    Sglang,
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    tick: u64,
    pins: u32,
}

/// The pool and the counters.
#[derive(Debug)]
pub struct PrefixCache {
    block_size: usize,
    capacity: usize,
    entries: HashMap<u64, Entry>,
    /// Unpinned and pinned entries by last use (eviction skips pinned ones).
    order: BTreeSet<(u64, u64)>,
    tick: u64,
    pub queries: u64,
    pub hits: u64,
    pub prompt_tokens: u64,
    pub generation_tokens: u64,
    pub requests_finished: u64,
    pub running: u64,
    pub rejected_too_long: u64,
}

/// What admitting a request gave: its cached tokens and the blocks to unpin at its end.
#[derive(Debug, Default)]
pub struct Admission {
    pub cached_tokens: u64,
    pub pinned: Vec<u64>,
}

impl PrefixCache {
    pub fn new(block_size: usize, capacity: usize) -> PrefixCache {
        PrefixCache {
            block_size: block_size.max(1),
            capacity,
            entries: HashMap::new(),
            order: BTreeSet::new(),
            tick: 0,
            queries: 0,
            hits: 0,
            prompt_tokens: 0,
            generation_tokens: 0,
            requests_finished: 0,
            running: 0,
            rejected_too_long: 0,
        }
    }

    /// Chained hashes of the full blocks of a word sequence.
    pub fn block_hashes<'a>(&self, words: impl Iterator<Item = &'a str>) -> Vec<u64> {
        let mut hashes = Vec::new();
        let mut hasher = blake3::Hasher::new();
        let mut previous = 0u64;
        let mut in_block = 0;
        for word in words {
            hasher.update(word.as_bytes());
            hasher.update(b" ");
            in_block += 1;
            if in_block == self.block_size {
                hasher.update(&previous.to_le_bytes());
                let digest = hasher.finalize();
                previous = u64::from_le_bytes(digest.as_bytes()[..8].try_into().unwrap_or([0; 8]));
                hashes.push(previous);
                hasher = blake3::Hasher::new();
                in_block = 0;
            }
        }
        hashes
    }

    /// Admits a prompt: counts the leading hit, inserts and pins every full block.
    pub fn admit(&mut self, prompt_tokens: u64, hashes: &[u64]) -> Admission {
        self.running += 1;
        self.prompt_tokens += prompt_tokens;
        self.queries += prompt_tokens;
        if self.capacity == 0 {
            return Admission::default();
        }
        let hit_blocks = hashes.iter().take_while(|hash| self.entries.contains_key(hash)).count();
        let cached_tokens = ((hit_blocks * self.block_size) as u64).min(prompt_tokens);
        self.hits += cached_tokens;
        let mut pinned = Vec::with_capacity(hashes.len());
        for &hash in hashes {
            self.tick += 1;
            let tick = self.tick;
            match self.entries.get_mut(&hash) {
                Some(entry) => {
                    self.order.remove(&(entry.tick, hash));
                    entry.tick = tick;
                    entry.pins += 1;
                }
                None => {
                    if self.entries.len() >= self.capacity && !self.evict_one() {
                        // Every block is pinned: this block is not cached.
                        continue;
                    }
                    self.entries.insert(hash, Entry { tick, pins: 1 });
                }
            }
            self.order.insert((tick, hash));
            pinned.push(hash);
        }
        Admission { cached_tokens, pinned }
    }

    /// Evicts the least recently used unpinned block; false when all are pinned.
    fn evict_one(&mut self) -> bool {
        let victim = self.order.iter().find(|(_, hash)| self.entries.get(hash).is_some_and(|e| e.pins == 0)).copied();
        match victim {
            Some((tick, hash)) => {
                self.order.remove(&(tick, hash));
                self.entries.remove(&hash);
                true
            }
            None => false,
        }
    }

    /// A request ended: unpin its blocks and count its output.
    pub fn release(&mut self, pinned: &[u64], generated: u64) {
        self.running = self.running.saturating_sub(1);
        self.generation_tokens += generated;
        self.requests_finished += 1;
        for hash in pinned {
            if let Some(entry) = self.entries.get_mut(hash) {
                entry.pins = entry.pins.saturating_sub(1);
            }
        }
    }

    /// Blocks held by running requests / capacity (cached idle blocks count as free).
    pub fn usage(&self) -> f64 {
        if self.capacity == 0 {
            return 0.0;
        }
        self.entries.values().filter(|e| e.pins > 0).count() as f64 / self.capacity as f64
    }

    /// Prometheus text in vLLM's or SGLang's names.
    pub fn exposition(&self, flavour: MetricsFlavour, model: &str) -> String {
        let labels = format!("model_name=\"{model}\"");
        let computed = self.prompt_tokens.saturating_sub(self.hits);
        let mut out = String::new();
        let mut metric = |kind: &str, name: &str, extra: &str, value: f64| {
            out.push_str(&format!("# TYPE {name} {kind}\n"));
            let labels = if extra.is_empty() { labels.clone() } else { format!("{labels},{extra}") };
            out.push_str(&format!("{name}{{{labels}}} {value}\n"));
        };
        match flavour {
            MetricsFlavour::Vllm => {
                metric("counter", "vllm:prefix_cache_queries_total", "engine=\"0\"", self.queries as f64);
                metric("counter", "vllm:prefix_cache_hits_total", "engine=\"0\"", self.hits as f64);
                metric("counter", "vllm:prompt_tokens_total", "engine=\"0\"", self.prompt_tokens as f64);
                metric("counter", "vllm:generation_tokens_total", "engine=\"0\"", self.generation_tokens as f64);
                metric(
                    "counter",
                    "vllm:prompt_tokens_by_source_total",
                    "engine=\"0\",source=\"local_cache_hit\"",
                    self.hits as f64,
                );
                metric(
                    "counter",
                    "vllm:prompt_tokens_by_source_total",
                    "engine=\"0\",source=\"local_compute\"",
                    computed as f64,
                );
                metric(
                    "counter",
                    "vllm:request_success_total",
                    "engine=\"0\",finished_reason=\"length\"",
                    self.requests_finished as f64,
                );
                metric("counter", "vllm:num_preemptions_total", "engine=\"0\"", 0.0);
                metric("gauge", "vllm:kv_cache_usage_perc", "engine=\"0\"", self.usage());
                metric("gauge", "vllm:num_requests_running", "engine=\"0\"", self.running as f64);
                metric("gauge", "vllm:num_requests_waiting", "engine=\"0\"", 0.0);
            }
            MetricsFlavour::Sglang => {
                metric("counter", "sglang:prompt_tokens_total", "", self.prompt_tokens as f64);
                metric("counter", "sglang:generation_tokens_total", "", self.generation_tokens as f64);
                metric("counter", "sglang:cached_tokens_total", "cache_source=\"device\"", self.hits as f64);
                metric("gauge", "sglang:token_usage", "", self.usage());
                metric("gauge", "sglang:max_total_num_tokens", "", (self.capacity * self.block_size) as f64);
                metric("gauge", "sglang:num_running_reqs", "", self.running as f64);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(n: usize, salt: &str) -> Vec<String> {
        (0..n).map(|i| format!("{salt}{i}")).collect()
    }

    #[test]
    fn a_grown_prompt_hits_its_previous_full_blocks() {
        let mut cache = PrefixCache::new(4, 100);
        let first = words(10, "a");
        let hashes = cache.block_hashes(first.iter().map(String::as_str));
        assert_eq!(hashes.len(), 2, "only full blocks");
        let admitted = cache.admit(10, &hashes);
        assert_eq!(admitted.cached_tokens, 0);
        cache.release(&admitted.pinned, 3);
        let mut second = first.clone();
        second.extend(words(6, "b"));
        let hashes = cache.block_hashes(second.iter().map(String::as_str));
        let admitted = cache.admit(16, &hashes);
        assert_eq!(admitted.cached_tokens, 8);
        // A different first block changes every chained hash after it.
        let mut third = second.clone();
        third[0] = "z".into();
        let other = cache.block_hashes(third.iter().map(String::as_str));
        assert!(other.iter().all(|h| !hashes.contains(h)));
    }

    #[test]
    fn lru_evicts_unpinned_blocks_and_zero_capacity_disables() {
        let mut cache = PrefixCache::new(2, 2);
        let a = cache.block_hashes(["a", "b", "c", "d"].into_iter());
        let admitted = cache.admit(4, &a);
        cache.release(&admitted.pinned, 1);
        let b = cache.block_hashes(["x", "y", "z", "w"].into_iter());
        let held = cache.admit(4, &b);
        assert_eq!(cache.admit(4, &a).cached_tokens, 0, "evicted by the second prompt");
        cache.release(&held.pinned, 1);
        let mut off = PrefixCache::new(2, 0);
        let first = off.admit(4, &a);
        assert_eq!((first.cached_tokens, off.admit(4, &a).cached_tokens), (0, 0));
        assert!(
            cache
                .exposition(MetricsFlavour::Vllm, "m")
                .contains("vllm:prefix_cache_hits_total{model_name=\"m\",engine=\"0\"}")
        );
    }
}
