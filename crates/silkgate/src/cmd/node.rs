//! `silkgate node`: run a national node from its directory.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use silkgate_node::{NodeOptions, NodeState};

/// Arguments of `silkgate node`.
#[derive(Debug, clap::Args)]
pub struct NodeArgs {
    /// The node directory written by `silkgate init`.
    #[arg(long)]
    pub dir: PathBuf,
    /// Fault injection for crash tests: pause this many milliseconds after each chunk of an
    /// outgoing delivery.
    #[arg(long, hide = true)]
    pub delivery_delay_ms: Option<u64>,
}

/// Runs the subcommand until interrupted.
pub fn run(args: NodeArgs) -> anyhow::Result<ExitCode> {
    crate::init_tracing();
    let rt = tokio::runtime::Runtime::new()?;
    rt.block_on(async move {
        let options = silkgate_portal::node_options(NodeOptions {
            delivery_record_delay: args.delivery_delay_ms.map(Duration::from_millis),
            ..NodeOptions::default()
        });
        let state = NodeState::open(&args.dir, options).await?;
        let listen = state.identity().config.listen.clone();
        let listener = tokio::net::TcpListener::bind(&listen).await?;
        let running = silkgate_node::serve(state, listener)?;
        println!(
            "node {} serving on https://{} (public URL {})",
            running.state.node_id(),
            running.addr,
            running.state.identity().config.public_url
        );
        tokio::signal::ctrl_c().await?;
        running.shutdown();
        Ok::<_, anyhow::Error>(ExitCode::SUCCESS)
    })
}
