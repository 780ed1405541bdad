//! Scheduling (AGENTIC.md §4) as a clock-free state machine: lanes that each hold one play (a
//! session tree), start points, warm-up, end-to-start delays with the per-tree and whole-run idle
//! caps, subagent fan-out and join, recycling and the duration bound.
//!
//! [`Schedule`] knows no clock: a driver asks it for requests due by some time
//! ([`Schedule::pop_due`]), reports completions ([`Schedule::complete`]) and waits until
//! [`Schedule::next_due`]. The live driver (`live`) uses tokio's clock; the dry run (`dry_run`)
//! a virtual one, so the same code produces both schedules.
//!
//! Decisions (COMPAT.md): start points by turn index (§4.2, not t*); children whose anchor
//! lies before the start point are not replayed; recycling takes the first trace of a FIFO queue
//! (unused traces in sampler order, then finished ones) that is not live on another lane, else
//! the queue's head anyway (the marker keeps plays apart).

use std::collections::VecDeque;
use std::time::Duration;

use super::prompt;
use super::trace::Trace;

/// The measurement phase of a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Warmup,
    Profiling,
}

impl Phase {
    pub fn name(self) -> &'static str {
        match self {
            Phase::Warmup => "warmup",
            Phase::Profiling => "profiling",
        }
    }
}

/// How plays are scheduled.
#[derive(Debug, Clone)]
pub struct ScheduleConfig {
    pub lanes: usize,
    /// Profiling length (`--benchmark-duration`).
    pub duration: Duration,
    /// Extra warm-up requests per lane (`--warmup-requests-per-lane`), sent with 1 output token.
    pub warmup_requests_per_lane: usize,
    pub start_min_ratio: f64,
    pub start_max_ratio: f64,
    /// `--trace-idle-gap-cap-seconds`: no recorded gap waits longer.
    pub trace_idle_cap: Option<Duration>,
    /// `--system-idle-gap-cap-seconds`: the whole run never idles longer.
    pub system_idle_cap: Option<Duration>,
    /// Pause between the last warm-up completion and the profiling start.
    pub phase_gap: Duration,
    pub seed: u64,
    /// Identifies the run in cache-bust markers.
    pub run_id: u64,
    /// Initial `(trace index, start turn)` per lane; `None` = sampled (§4.1, §4.2).
    pub initial: Option<Vec<(usize, usize)>>,
    /// Recycle picks in order (tests replaying a recorded run); `None` = the FIFO queue.
    pub picks: Option<Vec<usize>>,
    /// Stop dispatching after this many profiling requests (`--request-count`); `None` = duration.
    pub max_profiling_requests: Option<usize>,
    /// Start points by recorded time (`--trajectory-start-by time`, newer aiperf's t*) instead
    /// of by turn index (§4.2).
    pub start_by_time: bool,
    /// `--warmup-mode spread`: each lane's first profiling request waits a seeded fraction of
    /// its recorded gap after the boundary (capped like any gap) instead of all lanes firing at
    /// the profiling start.
    pub warmup_spread: bool,
}

/// A request to send now.
#[derive(Debug, Clone)]
pub struct Dispatch {
    pub play: usize,
    pub conversation: usize,
    pub request: usize,
    /// When the schedule wanted it sent (for replay fidelity).
    pub due: Duration,
    pub phase: Phase,
    /// 1 for the extra warm-up advances, else the recorded output length.
    pub max_tokens: u64,
    pub session_num: u64,
    /// Session number of the play's root conversation.
    pub root_session_num: u64,
    pub lane: usize,
}

/// One live replay of a trace on a lane.
#[derive(Debug, Clone)]
pub struct Play {
    pub lane: usize,
    pub trace: usize,
    pub start_turn: usize,
    pub marker: String,
    /// Session number per conversation.
    pub sessions: Vec<u64>,
    conversations: Vec<ConversationState>,
    in_flight: usize,
    pending: usize,
    /// Held successors (warm-up over its budget): released at the profiling start.
    held: Vec<(usize, usize)>,
    ended: bool,
    drained: bool,
    warmup_advances: usize,
}

#[derive(Debug, Clone, Default)]
struct ConversationState {
    /// Requests completed.
    done: usize,
    finished: bool,
    last_end: Duration,
}

#[derive(Debug, Clone)]
struct Pending {
    due: Duration,
    play: usize,
    conversation: usize,
    request: usize,
    short: bool,
}

/// Counters of the idle-cap jumps (§4.4).
#[derive(Debug, Clone, Default)]
pub struct IdleJumps {
    pub count: u64,
    pub skipped: Duration,
}

/// The schedule state machine.
pub struct Schedule<'a> {
    traces: &'a [Trace],
    config: ScheduleConfig,
    pub plays: Vec<Play>,
    lanes: Vec<Option<usize>>,
    pending: Vec<Pending>,
    phase: Phase,
    profiling_start: Option<Duration>,
    warmup_in_flight: usize,
    queue: VecDeque<usize>,
    picks: VecDeque<usize>,
    passes: Vec<u64>,
    next_session: u64,
    in_flight: usize,
    profiling_dispatched: usize,
    pub idle_jumps: IdleJumps,
}

/// The §4.2 start turn for a trace of `n` top-level turns.
pub fn start_turn(n: usize, lo: f64, hi: f64, seed: u64, trace_id: &str, lane: Option<usize>) -> Option<usize> {
    if n <= 1 {
        return None;
    }
    if n == 2 {
        return Some(0);
    }
    let low = ((lo * n as f64).floor() as usize).min(n - 2);
    let high = ((hi * n as f64).floor() as usize).min(n - 2).max(low);
    let key = match lane {
        Some(lane) => format!("{seed}:{trace_id}:{lane}"),
        None => format!("{seed}:{trace_id}"),
    };
    let digest = blake3::hash(key.as_bytes());
    let draw = u64::from_le_bytes(digest.as_bytes()[..8].try_into().unwrap_or([0; 8]));
    Some(low + (draw % (high - low + 1) as u64) as usize)
}

/// The start turn by recorded time (§4.2, newer aiperf): an instant t* drawn uniformly in
/// [lo·T, hi·T] of the root's recorded span T (first start to last end), seeded like
/// [`start_turn`]; the play starts at the first top-level request not yet started at t*
/// (at most n − 2, so at least one request follows). Subagents spawned before that turn that
/// are still running at t* are replayed from their first request not started at t*
/// ([`Schedule::new`]); the others are skipped, as with turn-index start points.
pub fn start_turn_by_time(trace: &Trace, lo: f64, hi: f64, seed: u64, lane: Option<usize>) -> Option<usize> {
    start_point_by_time(trace, lo, hi, seed, lane).map(|(turn, _)| turn)
}

/// [`start_turn_by_time`] with the drawn instant t* (seconds of the trace's clock).
pub fn start_point_by_time(trace: &Trace, lo: f64, hi: f64, seed: u64, lane: Option<usize>) -> Option<(usize, f64)> {
    let requests = &trace.root().requests;
    let n = requests.len();
    if n <= 1 {
        return None;
    }
    let first = requests[0].t;
    let span = requests.iter().map(|r| r.t + r.api_time).fold(first, f64::max) - first;
    let key = match lane {
        Some(lane) => format!("{seed}:{}:{lane}:t", trace.id),
        None => format!("{seed}:{}:t", trace.id),
    };
    let digest = blake3::hash(key.as_bytes());
    let draw = u64::from_le_bytes(digest.as_bytes()[..8].try_into().unwrap_or([0; 8]));
    let unit = (draw >> 11) as f64 / (1u64 << 53) as f64;
    let at = first + span * (lo + (hi - lo) * unit);
    let turn = requests.iter().position(|r| r.t >= at).unwrap_or(n - 1);
    Some((turn.min(n - 2), at))
}

/// A seeded shuffle of `0..n` (Fisher-Yates over SplitMix64).
fn shuffle(n: usize, seed: u64) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n).collect();
    let mut state = seed;
    for idx in (1..n).rev() {
        state = prompt::mix(state);
        let other = (state % (idx as u64 + 1)) as usize;
        order.swap(idx, other);
    }
    order
}

fn nanos(seconds: f64) -> Duration {
    Duration::from_nanos((seconds.max(0.0) * 1e9).round() as u64)
}

impl<'a> Schedule<'a> {
    /// Sets up the lanes and the warm-up requests (all due at 0).
    pub fn new(traces: &'a [Trace], config: ScheduleConfig) -> Schedule<'a> {
        let lanes = config.lanes.max(1);
        // Start instants (time sampling): subagents live at them are replayed too.
        let mut instants: Vec<Option<f64>> = Vec::new();
        let initial = match &config.initial {
            Some(initial) => initial.clone(),
            None => {
                let order = shuffle(traces.len(), config.seed);
                let usable: Vec<usize> = order.iter().copied().filter(|&idx| traces[idx].can_start_midway()).collect();
                let pool = if usable.is_empty() { order.clone() } else { usable };
                (0..lanes)
                    .map(|lane| {
                        let trace = pool[lane % pool.len().max(1)];
                        let wrapped = (lane >= pool.len()).then_some(lane);
                        let n = traces[trace].root().requests.len();
                        let (lo, hi) = (config.start_min_ratio, config.start_max_ratio);
                        let turn = if config.start_by_time {
                            let point = start_point_by_time(&traces[trace], lo, hi, config.seed, wrapped);
                            instants.push(point.map(|(_, at)| at));
                            point.map(|(turn, _)| turn)
                        } else {
                            start_turn(n, lo, hi, config.seed, &traces[trace].id, wrapped)
                        }
                        .unwrap_or(0);
                        (trace, turn)
                    })
                    .collect()
            }
        };
        let used: Vec<usize> = initial.iter().map(|&(trace, _)| trace).collect();
        let queue: VecDeque<usize> = {
            let order = shuffle(traces.len(), config.seed);
            order.into_iter().filter(|idx| !used.contains(idx)).collect()
        };
        let picks = config.picks.clone().unwrap_or_default().into();
        let mut schedule = Schedule {
            traces,
            plays: Vec::new(),
            lanes: vec![None; lanes],
            pending: Vec::new(),
            phase: Phase::Warmup,
            profiling_start: None,
            warmup_in_flight: 0,
            queue,
            picks,
            passes: vec![0; lanes],
            next_session: 1,
            in_flight: 0,
            profiling_dispatched: 0,
            idle_jumps: IdleJumps::default(),
            config,
        };
        for (lane, &(trace, turn)) in initial.iter().enumerate().take(lanes) {
            let turn = turn.min(traces[trace].root().requests.len().saturating_sub(1));
            schedule.start_play(lane, trace, turn, Duration::ZERO, instants.get(lane).copied().flatten());
        }
        schedule
    }

    pub fn phase(&self) -> Phase {
        self.phase
    }

    pub fn profiling_start(&self) -> Option<Duration> {
        self.profiling_start
    }

    /// When profiling ends (no dispatch at or after it).
    pub fn profiling_end(&self) -> Option<Duration> {
        self.profiling_start.map(|start| start + self.config.duration)
    }

    pub fn traces(&self) -> &'a [Trace] {
        self.traces
    }

    /// Starts a play of `trace` at root request `turn`. With `instant` (time sampling), children
    /// anchored before `turn` that are still running then (spawned at or before it, some request
    /// not yet started, not joined before `turn`) resume at their first request not started by
    /// it, and the root's `turn` waits for them if it joins them.
    fn start_play(&mut self, lane: usize, trace: usize, turn: usize, at: Duration, instant: Option<f64>) {
        let pass = self.passes[lane];
        self.passes[lane] += 1;
        let data = &self.traces[trace];
        let marker = prompt::marker(self.config.run_id, pass, lane, &data.id);
        let sessions = (0..data.conversations.len())
            .map(|_| {
                self.next_session += 1;
                self.next_session - 1
            })
            .collect();
        let mut conversations = vec![ConversationState::default(); data.conversations.len()];
        conversations[0].done = turn;
        let mut live: Vec<(usize, usize)> = Vec::new();
        for (idx, conversation) in data.conversations.iter().enumerate().skip(1) {
            let Some(link) = conversation.link.as_ref().filter(|link| link.anchor < turn) else { continue };
            let resume = instant.filter(|_| link.join.is_none_or(|join| join >= turn)).and_then(|t| {
                let first = conversation.requests.first()?;
                (first.t <= t).then(|| conversation.requests.iter().position(|r| r.t >= t)).flatten()
            });
            match resume {
                Some(request) => {
                    conversations[idx].done = request;
                    live.push((idx, request));
                }
                None => {
                    conversations[idx].finished = true;
                    conversations[idx].done = conversation.requests.len();
                }
            }
        }
        let root_waits = data.root().requests[turn].joins.iter().any(|&child| !conversations[child].finished);
        let play = Play {
            lane,
            trace,
            start_turn: turn,
            marker,
            sessions,
            conversations,
            in_flight: 0,
            pending: 0,
            held: Vec::new(),
            ended: false,
            drained: false,
            warmup_advances: 0,
        };
        self.plays.push(play);
        let idx = self.plays.len() - 1;
        self.lanes[lane] = Some(idx);
        for (conversation, request) in live {
            self.push(idx, conversation, request, at, false);
        }
        if !root_waits {
            self.push(idx, 0, turn, at, false);
        }
    }

    fn push(&mut self, play: usize, conversation: usize, request: usize, due: Duration, short: bool) {
        self.plays[play].pending += 1;
        self.pending.push(Pending { due, play, conversation, request, short });
    }

    /// The earliest due time of a dispatchable request, after applying the whole-run idle cap
    /// when nothing is in flight at `now`.
    pub fn next_due(&mut self, now: Duration) -> Option<Duration> {
        let earliest = self.pending.iter().map(|p| p.due).min()?;
        if let Some(cap) = self.config.system_idle_cap
            && self.in_flight == 0
            && earliest > now + cap
        {
            let shift = earliest - (now + cap);
            for pending in &mut self.pending {
                pending.due = pending.due.saturating_sub(shift);
            }
            self.idle_jumps.count += 1;
            self.idle_jumps.skipped += shift;
            return Some(earliest - shift);
        }
        Some(earliest)
    }

    /// Whether nothing more will be dispatched and nothing is in flight.
    pub fn finished(&self) -> bool {
        self.in_flight == 0 && (self.pending.is_empty() || self.phase == Phase::Profiling && self.past_end_only())
    }

    /// Whether no pending request can ever be dispatched again (until a completion adds one).
    pub fn finished_dispatching(&self) -> bool {
        (self.pending.is_empty() && self.in_flight == 0) || (self.phase == Phase::Profiling && self.past_end_only())
    }

    fn past_end_only(&self) -> bool {
        let limit_hit = self.config.max_profiling_requests.is_some_and(|max| self.profiling_dispatched >= max);
        match self.profiling_end() {
            Some(end) => limit_hit || self.pending.iter().all(|p| p.due >= end),
            None => false,
        }
    }

    /// Takes the next request due by `now` (earliest first; ties in insertion order).
    pub fn pop_due(&mut self, now: Duration) -> Option<Dispatch> {
        let (idx, _) =
            self.pending.iter().enumerate().filter(|(_, p)| p.due <= now).min_by_key(|(idx, p)| (p.due, *idx))?;
        let pending = &self.pending[idx];
        if self.phase == Phase::Profiling {
            let end = self.profiling_end().unwrap_or(Duration::MAX);
            let limit_hit = self.config.max_profiling_requests.is_some_and(|max| self.profiling_dispatched >= max);
            if pending.due >= end || limit_hit {
                return None;
            }
        }
        let pending = self.pending.remove(idx);
        let play = &mut self.plays[pending.play];
        play.pending -= 1;
        play.in_flight += 1;
        self.in_flight += 1;
        let phase = self.phase;
        if phase == Phase::Warmup {
            self.warmup_in_flight += 1;
        } else {
            self.profiling_dispatched += 1;
        }
        let request = &self.traces[play.trace].conversations[pending.conversation].requests[pending.request];
        Some(Dispatch {
            play: pending.play,
            conversation: pending.conversation,
            request: pending.request,
            due: pending.due,
            phase,
            max_tokens: if pending.short { 1 } else { request.output_tokens.max(1) },
            session_num: play.sessions[pending.conversation],
            root_session_num: play.sessions[0],
            lane: play.lane,
        })
    }

    /// Records a completion at `end`. `overflow` (a context-length error) ends the play.
    pub fn complete(&mut self, dispatch: &Dispatch, end: Duration, overflow: bool) {
        self.in_flight -= 1;
        let play_idx = dispatch.play;
        {
            let play = &mut self.plays[play_idx];
            play.in_flight -= 1;
            if overflow && !play.ended {
                play.ended = true;
                let before = self.pending.len();
                self.pending.retain(|p| p.play != play_idx);
                play.pending -= before - self.pending.len();
                play.held.clear();
            }
        }
        if !self.plays[play_idx].ended {
            self.advance(dispatch, end);
        }
        if dispatch.phase == Phase::Warmup {
            self.warmup_in_flight -= 1;
            if self.phase == Phase::Warmup && self.warmup_in_flight == 0 && !self.warmup_pending() {
                self.begin_profiling(end + self.config.phase_gap);
            }
        }
        let play = &self.plays[play_idx];
        if play.in_flight == 0 && play.pending == 0 && play.held.is_empty() && !play.drained {
            self.plays[play_idx].drained = true;
            if self.phase == Phase::Profiling {
                self.recycle(self.plays[play_idx].lane, end);
            }
        }
    }

    /// Ends the warm-up at `at` although requests are still in flight or pending
    /// (`--warmup-grace-period` expired; the driver cancels what is in flight and completes it
    /// here). Pending one-token advances become ordinary requests due at `at`.
    pub fn end_warmup(&mut self, at: Duration) {
        if self.phase != Phase::Warmup {
            return;
        }
        for pending in &mut self.pending {
            pending.short = false;
            pending.due = pending.due.max(at);
        }
        self.begin_profiling(at);
    }

    fn warmup_pending(&self) -> bool {
        self.phase == Phase::Warmup && !self.pending.is_empty()
    }

    fn begin_profiling(&mut self, at: Duration) {
        self.phase = Phase::Profiling;
        self.profiling_start = Some(at);
        for lane in 0..self.lanes.len() {
            let Some(play_idx) = self.lanes[lane] else { continue };
            // Profiling records get fresh session numbers (one per conversation, lane order).
            let count = self.plays[play_idx].sessions.len();
            let fresh: Vec<u64> = (0..count)
                .map(|_| {
                    self.next_session += 1;
                    self.next_session - 1
                })
                .collect();
            self.plays[play_idx].sessions = fresh;
            let held = std::mem::take(&mut self.plays[play_idx].held);
            let spread = if self.config.warmup_spread { self.spread_fraction(lane) } else { 0.0 };
            for (conversation, request) in held {
                let gap = self.traces[self.plays[play_idx].trace].conversations[conversation].requests[request].gap;
                let gap = nanos(gap * spread);
                let gap = self.config.trace_idle_cap.map_or(gap, |cap| gap.min(cap));
                self.push(play_idx, conversation, request, at + gap, false);
            }
            if self.plays[play_idx].drained {
                self.recycle(lane, at);
            }
        }
    }

    /// A seeded uniform fraction in [0, 1) per lane (spread warm-up).
    fn spread_fraction(&self, lane: usize) -> f64 {
        let digest = blake3::hash(format!("{}:spread:{lane}", self.config.seed).as_bytes());
        let draw = u64::from_le_bytes(digest.as_bytes()[..8].try_into().unwrap_or([0; 8]));
        (draw >> 11) as f64 / (1u64 << 53) as f64
    }

    fn recycle(&mut self, lane: usize, at: Duration) {
        let live: Vec<usize> = self
            .lanes
            .iter()
            .enumerate()
            .filter(|&(other, _)| other != lane)
            .filter_map(|(_, play)| play.map(|idx| self.plays[idx].trace))
            .collect();
        let finished = self.lanes[lane].map(|idx| self.plays[idx].trace);
        let next = if let Some(pick) = self.picks.pop_front() {
            Some(pick)
        } else {
            let position = self.queue.iter().position(|trace| !live.contains(trace));
            match position {
                Some(position) => self.queue.remove(position),
                None => self.queue.pop_front().or(finished),
            }
        };
        if let Some(finished) = finished {
            self.queue.push_back(finished);
        }
        if let Some(trace) = next {
            self.start_play(lane, trace, 0, at, None);
        } else {
            self.lanes[lane] = None;
        }
    }

    /// Schedules what a completed request unblocks.
    fn advance(&mut self, dispatch: &Dispatch, end: Duration) {
        let play_idx = dispatch.play;
        let trace = &self.traces[self.plays[play_idx].trace];
        let warmup = self.phase == Phase::Warmup;
        let cap = |gap: f64| {
            let gap = nanos(gap);
            match self.config.trace_idle_cap {
                Some(cap) => gap.min(cap),
                None => gap,
            }
        };
        let mut ready: Vec<(usize, usize, Duration)> = Vec::new();
        {
            let state = &mut self.plays[play_idx].conversations[dispatch.conversation];
            state.done = state.done.max(dispatch.request + 1);
            state.last_end = end;
        }
        let conversation = &trace.conversations[dispatch.conversation];
        if dispatch.conversation == 0 {
            for (child_idx, child) in trace.conversations.iter().enumerate().skip(1) {
                if child.link.as_ref().is_some_and(|link| link.anchor == dispatch.request) {
                    let offset = child.link.as_ref().map_or(0.0, |link| link.spawn_offset);
                    ready.push((child_idx, 0, end + cap(offset)));
                }
            }
            let next = dispatch.request + 1;
            if next < conversation.requests.len() {
                let joins = &conversation.requests[next].joins;
                let states = &self.plays[play_idx].conversations;
                if joins.iter().all(|&child| states[child].finished) {
                    let base = joins.iter().map(|&child| states[child].last_end).max().unwrap_or(end).max(end);
                    ready.push((0, next, base + cap(conversation.requests[next].gap)));
                }
            }
        } else {
            let next = dispatch.request + 1;
            if next < conversation.requests.len() {
                ready.push((dispatch.conversation, next, end + cap(conversation.requests[next].gap)));
            } else {
                self.plays[play_idx].conversations[dispatch.conversation].finished = true;
                if let Some(join) = conversation.link.as_ref().and_then(|link| link.join) {
                    let root = &trace.conversations[0];
                    let states = &self.plays[play_idx].conversations;
                    let joins = &root.requests[join].joins;
                    if states[0].done == join && joins.iter().all(|&child| states[child].finished) {
                        let base = joins.iter().map(|&child| states[child].last_end).max().unwrap_or(end);
                        ready.push((0, join, base + cap(root.requests[join].gap)));
                    }
                }
            }
        }
        for (conversation, request, due) in ready {
            if warmup {
                let play = &mut self.plays[play_idx];
                if play.warmup_advances < self.config.warmup_requests_per_lane {
                    play.warmup_advances += 1;
                    self.push(play_idx, conversation, request, end, true);
                } else {
                    play.held.push((conversation, request));
                }
            } else {
                self.push(play_idx, conversation, request, due, false);
            }
        }
    }
}
