//! The `fairmark` binary: parse arguments, run the command, map the outcome to an exit code
//! (0 pass, 1 findings at or above `--fail-on`, 2 usage, config or input error).

mod cli;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    match cli::run(args) {
        Ok(code) => code,
        Err(error) => {
            // One line, so CI logs and wrappers show the whole message.
            let message = format!("{error:#}").replace('\n', " ");
            eprintln!("fairmark: error: {message}");
            ExitCode::from(cli::EXIT_ERROR)
        }
    }
}
