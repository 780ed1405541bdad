//! The single integration-test binary: one module per `ix` verb, all driving the real executable.

mod bench;
mod util;
