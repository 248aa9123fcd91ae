//! The `warden` binary: parse the command line, set up logging, run, exit with a policy code.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = warden::cli::Cli::parse();
    warden::telemetry::init(cli.verbose);
    ExitCode::from(warden::run(cli))
}
