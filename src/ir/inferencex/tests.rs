//! Tests of the InferenceX YAML front end.

use std::sync::Arc;

use proptest::prelude::*;

use super::lower_master_configs;
use crate::source::SourceMap;

/// YAML-ish fragments that exercise every branch of validation when glued together.
fn fragment() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("k:\n".to_string()),
        Just("  image: i\n  model: m\n  model-prefix: p\n  precision: fp8\n  framework: f\n  runner: r\n".to_string()),
        Just("  multinode: false\n".to_string()),
        Just("  multinode: true\n".to_string()),
        Just("  seq-len-configs:\n  - isl: 1024\n    osl: 1024\n    search-space:\n".to_string()),
        Just("    - { tp: 8, conc-start: 4, conc-end: 64 }\n".to_string()),
        Just("    - { tp: 8, conc-list: [0, 4], ep: x }\n".to_string()),
        Just("    - conc-list: [1]\n      prefill: { num-worker: 1, tp: 1, ep: 1, dp-attn: true }\n".to_string()),
        Just("      decode: { num-worker: 1, tp: 1, ep: 1, dp-attn: [] }\n".to_string()),
        Just("&a [*a]\n".to_string()),
        Just("\u{e9}: {".to_string()),
        "[ -~\n]{0,20}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn lowering_never_panics(parts in proptest::collection::vec(fragment(), 0..12)) {
        let mut sources = SourceMap::new();
        let file = sources.add("fuzz.yaml".to_string(), Arc::from(parts.concat()));
        let (_sweep, diags) = lower_master_configs(&sources, &[file]);
        for diag in &diags {
            if let Some(label) = &diag.primary {
                prop_assert!(label.span.end as usize <= sources.get(file).text.len());
            }
        }
        let _ = crate::diag::render(&sources, &diags, crate::diag::RenderOptions::plain());
    }
}
