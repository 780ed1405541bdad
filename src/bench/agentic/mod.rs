//! Agentic-coding trace replay (AGENTIC.md): `ix bench serve --dataset-name weka|mooncake`.
//!
//! Data flow: [`trace`] (Weka or Mooncake files → traces of conversations, with every field
//! checked) → [`prompt`] (per-conversation turn plans; text rendered at send time) →
//! [`schedule`] (the clock-free lane/play state machine) driven either by [`live`] (the bench
//! HTTP client on tokio's clock) or by [`dry_run`] (a latency model on a virtual clock) →
//! [`record`] (aiperf's per-request records and run summary) → [`aggregate`] (InferenceX's
//! agentic aggregate and validation verdict) with [`server_metrics`] (Prometheus scraping and
//! the vLLM, SGLang and llama.cpp adapters).
//!
//! [`synth`] writes seeded synthetic Weka traces (`ix bench traces`).
//!
//! It shares the single-turn client's transport and SSE parsing (`bench::Sender`,
//! `bench::client::StreamState`); it prints nothing.

pub mod aggregate;
pub mod dry_run;
pub mod live;
pub mod prompt;
pub mod record;
pub mod schedule;
pub mod server_metrics;
pub mod synth;
pub mod trace;
