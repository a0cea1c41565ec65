//! `silkgate log ...`.

use std::process::ExitCode;

/// Subcommands of `silkgate log`.
#[derive(Debug, clap::Subcommand)]
pub enum LogCommand {
    /// Placeholder until the owning issue lands.
    Todo,
}

/// Runs the subcommand.
pub fn run(_command: LogCommand) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`silkgate log` is not built yet")
}
