//! `silkgate agreement ...`: every step of a data-sharing agreement from the command line,
//! through the same node API (and so the same service functions) as the portal. A party acts
//! with its credential file (`--cred`); the state's authority acts as the node's operator
//! (`--node`, `--ca`, `--operator-token-file`). Text by default, JSON with `--format json`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use silkgate_node::agreements::{
    AgreementTransferRequest, AgreementView, CounterAgreementRequest, ProposeAgreementRequest,
};
use silkgate_node::client::OrgClient;

use crate::cmd::org::{Format, load, print, request_id, transfer_line};

/// Who acts: an organisation by its credential file, or the operator by its token.
#[derive(Debug, clap::Args)]
pub struct Who {
    /// Credential file written by `silkgate org register` (a party acting).
    #[arg(long, conflicts_with_all = ["node", "ca", "operator_token_file"])]
    pub cred: Option<PathBuf>,
    /// Node URL (the operator acting; with `--ca` and `--operator-token-file`).
    #[arg(long, requires_all = ["ca", "operator_token_file"])]
    pub node: Option<String>,
    /// The node's CA certificate (PEM file).
    #[arg(long)]
    pub ca: Option<PathBuf>,
    /// File holding the operator token.
    #[arg(long)]
    pub operator_token_file: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

impl Who {
    fn client(&self) -> anyhow::Result<OrgClient> {
        if let Some(node) = &self.node {
            let ca = self.ca.as_ref().context("--ca is required with --node")?;
            let token_file = self
                .operator_token_file
                .as_ref()
                .context("--operator-token-file is required with --node")?;
            let ca_pem = std::fs::read_to_string(ca)
                .with_context(|| format!("reading the CA certificate {}", ca.display()))?;
            let token = std::fs::read_to_string(token_file)
                .with_context(|| format!("reading the operator token {}", token_file.display()))?;
            return Ok(OrgClient::new(node, &ca_pem, token.trim(), None)?);
        }
        let cred = self
            .cred
            .clone()
            .unwrap_or_else(|| PathBuf::from("silkgate-credentials.json"));
        Ok(load(&cred)?.0)
    }
}

/// A change of status with its reason.
#[derive(Debug, clap::Args)]
pub struct Change {
    #[command(flatten)]
    pub who: Who,
    /// Agreement id.
    pub id: String,
    /// Why (required for suspension, resumption and termination).
    #[arg(long)]
    pub reason: Option<String>,
    /// Idempotency key (default: random).
    #[arg(long)]
    pub request_id: Option<String>,
}

/// Subcommands of `silkgate agreement`.
#[derive(Debug, clap::Subcommand)]
pub enum AgreementCommand {
    /// Propose an agreement from a committee template to an organisation of another state.
    Propose {
        #[command(flatten)]
        who: Who,
        /// Template id (`trade`, `investment`, `financial`, `intellectual-property`, `general`).
        #[arg(long)]
        template: String,
        /// Template version.
        #[arg(long, default_value_t = 1)]
        version: u32,
        /// The other party's organisation id.
        #[arg(long)]
        counterparty: String,
        /// This organisation's role: `provider` or `consumer`.
        #[arg(long)]
        role: String,
        /// Terms as a JSON file (default: the template's, valid from today).
        #[arg(long)]
        terms: Option<PathBuf>,
        /// Idempotency key (default: random).
        #[arg(long)]
        request_id: Option<String>,
    },
    /// Answer a proposal with other terms (a new revision).
    Counter {
        #[command(flatten)]
        who: Who,
        /// Agreement id.
        id: String,
        /// The new terms, whole, as a JSON file.
        #[arg(long)]
        terms: PathBuf,
        /// Idempotency key (default: random).
        #[arg(long)]
        request_id: Option<String>,
    },
    /// Accept the current revision as it stands.
    Accept(Change),
    /// Approve as the state's authority (operator); `--reason` is the basis:
    /// `security_assessment`, `standard_contract` or `regulator_permit`.
    Approve(Change),
    /// Suspend an active agreement (the authority, or a party in a dispute).
    Suspend(Change),
    /// Lift a suspension (the authority whose node made it).
    Resume(Change),
    /// End an agreement for good.
    Terminate(Change),
    /// The organisation's agreements.
    List {
        #[command(flatten)]
        who: Who,
    },
    /// One agreement.
    Show {
        #[command(flatten)]
        who: Who,
        /// Agreement id.
        id: String,
    },
    /// This node's events about one agreement, with their log indexes.
    Events {
        #[command(flatten)]
        who: Who,
        /// Agreement id.
        id: String,
    },
    /// Ask for a dataset version under an active agreement (the consumer).
    Transfer {
        #[command(flatten)]
        who: Who,
        /// Agreement id.
        id: String,
        /// Dataset id.
        #[arg(long)]
        dataset_id: String,
        /// Version (SHA-256).
        #[arg(long)]
        sha256: String,
        /// The state the data will be passed on to, if any.
        #[arg(long)]
        onward_to: Option<String>,
        /// Idempotency key (default: random).
        #[arg(long)]
        request_id: Option<String>,
    },
}

fn line(a: &AgreementView) -> String {
    format!(
        "{}  {:<10} rev {}  {} -> {}  ({} v{})",
        a.id, a.status, a.revision, a.provider, a.consumer, a.template.id, a.template.version
    )
}

fn read_terms(path: &PathBuf) -> anyhow::Result<serde_json::Value> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading terms {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{} is not JSON", path.display()))
}

/// Runs the subcommand.
pub fn run(command: AgreementCommand) -> anyhow::Result<ExitCode> {
    let rt = tokio::runtime::Runtime::new()?;
    rt.block_on(run_async(command))?;
    Ok(ExitCode::SUCCESS)
}

async fn change(c: Change, action: &str) -> anyhow::Result<()> {
    let client = c.who.client()?;
    let a = client
        .agreement_action(
            &c.id,
            action,
            &request_id(c.request_id),
            c.reason.as_deref(),
        )
        .await?;
    print(c.who.format, &a, || line(&a))
}

async fn run_async(command: AgreementCommand) -> anyhow::Result<()> {
    match command {
        AgreementCommand::Propose {
            who,
            template,
            version,
            counterparty,
            role,
            terms,
            request_id: rid,
        } => {
            let terms = terms.as_ref().map(read_terms).transpose()?;
            let a = who
                .client()?
                .propose_agreement(&ProposeAgreementRequest {
                    request_id: request_id(rid),
                    template_id: template,
                    template_version: version,
                    counterparty,
                    role,
                    terms,
                })
                .await?;
            print(who.format, &a, || line(&a))
        }
        AgreementCommand::Counter {
            who,
            id,
            terms,
            request_id: rid,
        } => {
            let a = who
                .client()?
                .counter_agreement(
                    &id,
                    &CounterAgreementRequest {
                        request_id: request_id(rid),
                        terms: read_terms(&terms)?,
                    },
                )
                .await?;
            print(who.format, &a, || line(&a))
        }
        AgreementCommand::Accept(c) => change(c, "accept").await,
        AgreementCommand::Approve(c) => change(c, "approval").await,
        AgreementCommand::Suspend(c) => change(c, "suspend").await,
        AgreementCommand::Resume(c) => change(c, "resume").await,
        AgreementCommand::Terminate(c) => change(c, "terminate").await,
        AgreementCommand::List { who } => {
            let all = who.client()?.agreements().await?;
            print(who.format, &all, || {
                if all.is_empty() {
                    "no agreements".to_owned()
                } else {
                    all.iter().map(line).collect::<Vec<_>>().join("\n")
                }
            })
        }
        AgreementCommand::Show { who, id } => {
            let a = who.client()?.agreement(&id).await?;
            print(who.format, &a, || {
                format!(
                    "{}\n{}",
                    line(&a),
                    serde_json::to_string_pretty(&a.terms).unwrap_or_default()
                )
            })
        }
        AgreementCommand::Events { who, id } => {
            let events = who.client()?.agreement_events(&id).await?;
            print(who.format, &events, || {
                events
                    .iter()
                    .map(|e| format!("{:>6}  {}  {}", e.seq, e.kind, e.detail))
                    .collect::<Vec<_>>()
                    .join("\n")
            })
        }
        AgreementCommand::Transfer {
            who,
            id,
            dataset_id,
            sha256,
            onward_to,
            request_id: rid,
        } => {
            let t = who
                .client()?
                .request_under_agreement(
                    &id,
                    &AgreementTransferRequest {
                        request_id: request_id(rid),
                        dataset_id,
                        sha256,
                        onward_to,
                        recipient_kind: None,
                    },
                )
                .await?;
            print(who.format, &t, || transfer_line(&t))
        }
    }
}
