//! `silkgate trace`.

use std::process::ExitCode;

/// Arguments of `silkgate trace`.
#[derive(Debug, clap::Args)]
pub struct TraceArgs {}

/// Runs the subcommand.
pub fn run(_args: TraceArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`silkgate trace` is not built yet")
}
