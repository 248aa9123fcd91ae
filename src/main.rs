//! The `warden` binary: parse the command line, run (which sets up logging), exit with a policy code.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let code = match warden::cli::Cli::try_parse() {
        Ok(cli) => warden::run(cli),
        Err(e) => warden::argument_error(&e),
    };
    ExitCode::from(code)
}
