//! The `ix` binary: parse arguments, call the library, map the result to an exit code.

fn main() -> std::process::ExitCode {
    ix::cli::main()
}
