//! `silkgate demo`.

use std::process::ExitCode;

/// Arguments of `silkgate demo`.
#[derive(Debug, clap::Args)]
pub struct DemoArgs {}

/// Runs the subcommand.
pub fn run(_args: DemoArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`silkgate demo` is not built yet")
}
