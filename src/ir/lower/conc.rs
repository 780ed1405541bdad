//! Lowering a point's `conc` items: a range (geometric at the expander's step, else a fixed
//! list of its values) or a list, with the checks of each form.

use super::*;

impl Cx {
    pub(super) fn concurrency(
        &mut self,
        point: &Point,
        range: Option<&Spanned<Conc>>,
        list: Option<&Spanned<Conc>>,
    ) -> Option<Concurrency> {
        let mut ok = true;
        let mut conc = Concurrency { start: None, end: None, list: None };
        if let Some(Spanned { value: Conc::List(values), span }) = list {
            for value in values {
                if value.value < 1 {
                    ok = false;
                    self.diags.push(
                        Diag::error(
                            "ix::dsl::invalid-concurrency",
                            format!("concurrency must be at least 1, found {}", value.value),
                        )
                        .at(value.span, "not a valid concurrency"),
                    );
                }
            }
            conc.list = Some(Spanned::new(values.iter().map(|v| v.value).collect(), *span));
        }
        if let Some(range) = range {
            match &range.value {
                Conc::Range { start, end, step } => {
                    if start.value < 1 {
                        ok = false;
                        self.diags.push(
                            Diag::error(
                                "ix::dsl::invalid-range",
                                format!("a range must start at 1 or more, found {}", start.value),
                            )
                            .at(start.span, "start")
                            .help("a geometric range starting at 0 never grows"),
                        );
                    } else if start.value > end.value {
                        ok = false;
                        self.diags.push(
                            Diag::error(
                                "ix::dsl::invalid-range",
                                format!("range start {} is greater than its end {}", start.value, end.value),
                            )
                            .at(start.span, "start")
                            .also(end.span, "end"),
                        );
                    }
                    match step.as_ref().map(|s| (s.value, s.span)) {
                        Some((Step::Mul(m), span)) if m < 2 => {
                            ok = false;
                            self.diags.push(
                                Diag::error(
                                    "ix::dsl::invalid-range",
                                    format!("a geometric step must be at least x2, found x{m}"),
                                )
                                .at(span, "never grows")
                                .help("use `step x2` or larger, or a list `[...]`"),
                            );
                        }
                        Some((Step::Add(k), span)) if k < 1 => {
                            ok = false;
                            self.diags.push(
                                Diag::error(
                                    "ix::dsl::invalid-range",
                                    format!("an additive step must be at least +1, found +{k}"),
                                )
                                .at(span, "never grows"),
                            );
                        }
                        _ => {}
                    }
                    if ok {
                        match step.as_ref().map(|s| s.value) {
                            // The IR's range is geometric at the expander's step (x2 unless
                            // `--step-size` says otherwise); any other step is a fixed list.
                            None | Some(Step::Mul(2)) => {
                                conc.start = Some(start.clone());
                                conc.end = Some(end.clone());
                            }
                            Some(step) => {
                                let Some(values) = step_values(start.value, end.value, step) else {
                                    self.diags.push(
                                        Diag::error(
                                            "ix::dsl::range-too-long",
                                            format!("a stepped range may give at most {MAX_STEPPED_VALUES} values"),
                                        )
                                        .at(range.span, "too many values")
                                        .help("use a larger step"),
                                    );
                                    return None;
                                };
                                if conc.list.as_ref().is_some_and(|l| !l.value.is_empty()) {
                                    ok = false;
                                } else {
                                    conc.list = Some(Spanned::new(values, range.span));
                                }
                            }
                        }
                    }
                }
                Conc::From(start) => conc.start = Some(start.clone()),
                Conc::To(end) => conc.end = Some(end.clone()),
                Conc::List(_) => {}
            }
        }
        if !ok {
            return None;
        }
        let has_range = conc.start.is_some() && conc.end.is_some();
        let has_list = conc.list.as_ref().is_some_and(|l| !l.value.is_empty());
        if has_range && has_list {
            let list_span = list.map_or(point.span, |l| l.span);
            self.diags.push(
                Diag::error("ix::dsl::conc-both-forms", "a point sets both a concurrency range and a list")
                    .at(list_span, "list here")
                    .also(range.map_or(point.span, |r| r.span), "range here")
                    .help("keep one `conc`"),
            );
            return None;
        }
        if !has_range && !has_list {
            let mut diag =
                Diag::error("ix::dsl::missing-conc", "a point needs a concurrency range or a non-empty list");
            diag = match (range, list) {
                (Some(r), _) => diag.at(r.span, "only one end of the range"),
                (None, Some(l)) => diag.at(l.span, "empty list"),
                (None, None) => diag.at(point.span, "no `conc` here"),
            };
            self.diags.push(diag.help("add e.g. `conc 4..=64` or `conc [4, 8]`"));
            return None;
        }
        Some(conc)
    }
}

/// The most values a stepped range may expand to when lowered (`conc 1..=10^12 step +1` would
/// otherwise allocate terabytes while checking; job counts are bounded later by `--max-jobs`).
const MAX_STEPPED_VALUES: usize = 1_000_000;

/// The values of a checked range with a non-default step (start >= 1, start <= end); `None`
/// when there would be more than [`MAX_STEPPED_VALUES`].
fn step_values(start: i64, end: i64, step: Step) -> Option<Vec<i64>> {
    let mut values = Vec::new();
    let mut current = start;
    while current < end {
        if values.len() >= MAX_STEPPED_VALUES {
            return None;
        }
        values.push(current);
        let next = match step {
            Step::Mul(m) => current.checked_mul(m),
            Step::Add(k) => current.checked_add(k),
        };
        match next {
            Some(next) if next > current => current = next,
            _ => break,
        }
    }
    values.push(end);
    Some(values)
}
