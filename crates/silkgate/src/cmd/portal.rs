//! `silkgate portal`: the web portal's accounts, and the demo's portal sign-ins.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use silkgate_node::local::LocalFederation;
use silkgate_portal::auth::{self, NewAccount};
use silkgate_store::PortalRole;

/// `silkgate portal ...`.
#[derive(Debug, clap::Subcommand)]
pub enum PortalCommand {
    /// Create a person's account on a node (e.g. the first operator). Prints the TOTP secret
    /// to enrol in an authenticator app; the password is read from SILKGATE_PORTAL_PASSWORD.
    AddAccount(AddAccountArgs),
    /// Print the current TOTP code of a secret (plays the authenticator app in the demo).
    Code {
        /// The base32 TOTP secret.
        secret: String,
    },
}

/// Arguments of `silkgate portal add-account`.
#[derive(Debug, clap::Args)]
pub struct AddAccountArgs {
    /// The node directory written by `silkgate init`.
    #[arg(long)]
    pub dir: PathBuf,
    /// What the person types to sign in.
    #[arg(long)]
    pub login: String,
    /// Name shown in the portal.
    #[arg(long)]
    pub name: String,
    /// org-member, org-admin, regulator or operator.
    #[arg(long)]
    pub role: String,
    /// Organisation id, for organisation roles.
    #[arg(long)]
    pub org: Option<String>,
    /// The password (at least 12 characters).
    #[arg(long, env = "SILKGATE_PORTAL_PASSWORD", hide_env_values = true)]
    pub password: String,
}

/// Runs the subcommand.
pub fn run(command: PortalCommand) -> anyhow::Result<ExitCode> {
    crate::init_tracing();
    let rt = tokio::runtime::Runtime::new()?;
    rt.block_on(async move {
        match command {
            PortalCommand::AddAccount(args) => add_account(args).await,
            PortalCommand::Code { secret } => {
                println!(
                    "{}",
                    auth::current_code(&secret, &silkgate_model::Clock::system())?
                );
                Ok(ExitCode::SUCCESS)
            }
        }
    })
}

async fn add_account(args: AddAccountArgs) -> anyhow::Result<ExitCode> {
    let identity = silkgate_node::identity::load_identity(&args.dir)?;
    let store = silkgate_store::Store::open_sqlite(&identity.data_dir()).await?;
    let role = PortalRole::parse(&args.role).with_context(|| {
        format!(
            "--role: '{}' is not one of org-member, org-admin, regulator, operator",
            args.role
        )
    })?;
    let org_id = args
        .org
        .as_deref()
        .map(str::parse)
        .transpose()
        .map_err(|e| anyhow::anyhow!("--org: {e}"))?;
    let created = auth::create_account(
        &store,
        NewAccount {
            login: args.login,
            display_name: args.name,
            role,
            org_id,
            password: args.password,
        },
        &format!("Silkgate {}", identity.config.state),
    )
    .await?;
    println!("account {} ({})", created.account.login, role.as_str());
    println!(
        "TOTP secret (enrol it now, it is not shown again): {}",
        created.totp_secret
    );
    println!("{}", created.otpauth_url);
    Ok(ExitCode::SUCCESS)
}

/// The demo's password for its portal accounts: printed, and only ever on loopback nodes.
const DEMO_PASSWORD: &str = "silkgate-demo-only";

/// Lines the demo prints at the end: each node's portal URL and sign-ins for an
/// organisation and the regulator of KZ and RU.
///
/// # Errors
/// Store failures.
pub async fn demo_printout(fed: &LocalFederation) -> anyhow::Result<()> {
    println!("\nWeb portal of each node (self-signed TLS: accept the node's certificate):");
    for (state, node) in &fed.nodes {
        println!("  {state}  {}/portal/", node.url);
    }
    println!(
        "Demo sign-ins (password '{DEMO_PASSWORD}'; code: silkgate portal code <secret>, or any authenticator app):"
    );
    for state in ["KZ", "RU"] {
        let node = fed.node(state);
        let store = node.running.state.store();
        let org = store.organisations().await?.into_iter().next();
        let lower = state.to_lowercase();
        let mut wanted = vec![(
            format!("regulator@{lower}"),
            "Regulator",
            PortalRole::Regulator,
            None,
        )];
        if let Some(org) = org {
            wanted.push((
                format!("officer@{lower}"),
                "Compliance officer",
                PortalRole::OrgAdmin,
                Some(org.id),
            ));
        }
        for (login, name, role, org_id) in wanted {
            let s = auth::ensure_demo_account(
                store,
                NewAccount {
                    login,
                    display_name: format!("{name} ({state})"),
                    role,
                    org_id,
                    password: DEMO_PASSWORD.into(),
                },
                &format!("Silkgate {state}"),
            )
            .await?;
            println!(
                "  {state}  {:<20} {:<10} TOTP secret {}",
                s.login,
                role.as_str(),
                s.totp_secret
            );
        }
    }
    Ok(())
}
