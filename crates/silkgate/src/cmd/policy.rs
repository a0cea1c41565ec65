//! `silkgate policy ...`.

use std::process::ExitCode;

/// Subcommands of `silkgate policy`.
#[derive(Debug, clap::Subcommand)]
pub enum PolicyCommand {
    /// Placeholder until the owning issue lands.
    Todo,
}

/// Runs the subcommand.
pub fn run(_command: PolicyCommand) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`silkgate policy` is not built yet")
}
