//! `silkgate`: the command-line program. It stays thin: each subcommand parses its arguments
//! and calls the library crate that owns the concern (see ARCHITECTURE.md).

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod cmd;

/// Silkgate: lawful, traceable data sharing among the SCO member states.
#[derive(Debug, Parser)]
#[command(name = "silkgate", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run ten national nodes on loopback and a scripted cross-border scenario.
    Demo(cmd::demo::DemoArgs),
    /// Create a national node: keys, CA, TLS certificate, configuration.
    Init(cmd::init::InitArgs),
    /// Run a national node from its directory.
    Node(cmd::node::NodeArgs),
    /// Organisation client commands: publish, catalogue, request, approve, fetch, ...
    #[command(subcommand)]
    Org(cmd::org::OrgCommand),
    /// Data-sharing agreements: propose, counter, accept, approve, suspend, resume, terminate,
    /// list, show, events, and transfers under one.
    #[command(subcommand)]
    Agreement(cmd::agreement::AgreementCommand),
    /// Check transfer facts against the member states' rule packs.
    #[command(subcommand)]
    Policy(cmd::policy::PolicyCommand),
    /// Review CSV / JSON Lines files for personal data.
    Scan(cmd::scan::ScanArgs),
    /// Apply a de-identification plan to a file.
    Deidentify(cmd::scan::DeidentifyArgs),
    /// Audit and inspect transparency logs.
    #[command(subcommand)]
    Log(cmd::log::LogCommand),
    /// Tell which delivered copy a found file came from.
    Trace(cmd::trace::TraceArgs),
    /// Web portal accounts.
    #[command(subcommand)]
    Portal(cmd::portal::PortalCommand),
}

/// Logs to stderr, filtered by `RUST_LOG` (default: warnings only, so demo output stays
/// readable).
pub(crate) fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Demo(args) => cmd::demo::run(args),
        Command::Init(args) => cmd::init::run(args),
        Command::Node(args) => cmd::node::run(args),
        Command::Org(c) => cmd::org::run(c),
        Command::Agreement(c) => cmd::agreement::run(c),
        Command::Policy(c) => cmd::policy::run(c),
        Command::Scan(args) => cmd::scan::run_scan(args),
        Command::Deidentify(args) => cmd::scan::run_deidentify(args),
        Command::Log(c) => cmd::log::run(c),
        Command::Trace(args) => cmd::trace::run(args),
        Command::Portal(c) => cmd::portal::run(c),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(2)
        }
    }
}
