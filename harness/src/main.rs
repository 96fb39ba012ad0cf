//! The `ballot` command (see [`ballot_harness::cli`]).

fn main() -> std::process::ExitCode {
    ballot_harness::cli::main()
}
