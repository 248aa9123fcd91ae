//! The `warden` binary: parse the command line, run (which sets up logging), exit with a policy code.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = warden::cli::Cli::parse();
    ExitCode::from(warden::run(cli))
}
