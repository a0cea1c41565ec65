//! `silkgate init`: create a national node's directory (keys, certificates, configuration).

use std::path::PathBuf;
use std::process::ExitCode;

use silkgate_model::StateCode;
use silkgate_node::identity::{InitOptions, files, init_node};

/// Arguments of `silkgate init`.
#[derive(Debug, clap::Args)]
pub struct InitArgs {
    /// The state the node serves (two-letter code, e.g. KZ).
    #[arg(long)]
    pub state: StateCode,
    /// Directory to create the node in.
    #[arg(long)]
    pub dir: PathBuf,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:7443")]
    pub listen: String,
    /// Public base URL (default: https://<listen>).
    #[arg(long)]
    pub public_url: Option<String>,
    /// Hex Ed25519 public key of the committee that signs the trust list. Without it, the
    /// node is stand-alone: it signs a one-node trust list with a committee key of its own.
    #[arg(long)]
    pub committee_key: Option<String>,
}

/// Runs the subcommand.
pub fn run(args: InitArgs) -> anyhow::Result<ExitCode> {
    let committee_key = args
        .committee_key
        .as_deref()
        .map(|k| {
            silkgate_node::parse_verifying_key(k).ok_or_else(|| {
                anyhow::anyhow!("--committee-key: expected 64 hex digits of an Ed25519 public key")
            })
        })
        .transpose()?;
    let identity = init_node(&InitOptions {
        state: args.state,
        dir: args.dir.clone(),
        listen: args.listen,
        public_url: args.public_url,
        committee_key,
    })?;
    println!(
        "created node {} for {} in {}",
        identity.config.node_id,
        identity.config.state,
        args.dir.display()
    );
    println!(
        "  configuration   {}",
        args.dir.join(files::CONFIG).display()
    );
    println!(
        "  signing key     {} (0600)",
        args.dir.join(files::SIGNING_KEY).display()
    );
    println!(
        "  CA certificate  {}",
        args.dir.join(files::CA_CERT).display()
    );
    println!(
        "  TLS certificate {}",
        args.dir.join(files::TLS_CERT).display()
    );
    println!(
        "  operator token  {} (0600)",
        args.dir.join(files::OPERATOR_TOKEN).display()
    );
    println!("start it with: silkgate node --dir {}", args.dir.display());
    Ok(ExitCode::SUCCESS)
}
