//! The `jidoka` binary: parses the command line and runs it.

use std::process::ExitCode;

use clap::Parser;

#[tokio::main]
async fn main() -> ExitCode {
    jidoka::cli::main(jidoka::cli::Cli::parse()).await
}
