use std::process::ExitCode;

fn main() -> ExitCode {
    rollwise::cli::main()
}
