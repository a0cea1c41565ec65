//! `silkgate scan` and `silkgate deidentify`.

use std::process::ExitCode;

/// Arguments of `silkgate scan`.
#[derive(Debug, clap::Args)]
pub struct ScanArgs {}

/// Arguments of `silkgate deidentify`.
#[derive(Debug, clap::Args)]
pub struct DeidentifyArgs {}

/// Runs `silkgate scan`.
pub fn run_scan(_args: ScanArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`silkgate scan` is not built yet")
}

/// Runs `silkgate deidentify`.
pub fn run_deidentify(_args: DeidentifyArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`silkgate deidentify` is not built yet")
}
