use std::process::ExitCode;

fn main() -> ExitCode {
    rollwise::tls::install_crypto_provider();
    rollwise::cli::main()
}
