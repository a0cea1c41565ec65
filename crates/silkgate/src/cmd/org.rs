//! `silkgate org ...`: the organisation's client commands (and the operator's `register`).
//! Every command prints readable text by default and JSON with `--format json`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use futures::StreamExt as _;
use indicatif::{ProgressBar, ProgressStyle};
use silkgate_node::api_types::{
    ColumnView, DecisionRequest, PublishMetadata, RegisterOrganisationRequest, TransferRequest,
    TransferView,
};
use silkgate_node::client::{CredentialFile, OrgClient};

/// Output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Readable text.
    Text,
    /// JSON for scripts.
    Json,
}

/// Options shared by the organisation commands.
#[derive(Debug, clap::Args)]
pub struct Common {
    /// Credential file written by `silkgate org register`.
    #[arg(long, default_value = "silkgate-credentials.json")]
    pub cred: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

/// Subcommands of `silkgate org`.
#[derive(Debug, clap::Subcommand)]
pub enum OrgCommand {
    /// Register an organisation on its national node (operator) and write its credential file.
    Register {
        /// Node URL.
        #[arg(long)]
        node: String,
        /// The node's CA certificate (PEM file).
        #[arg(long)]
        ca: PathBuf,
        /// File holding the operator token.
        #[arg(long)]
        operator_token_file: PathBuf,
        /// Legal name.
        #[arg(long)]
        name: String,
        /// Registration number.
        #[arg(long)]
        registration_number: String,
        /// Sector: trade, investment, finance, intellectual-property, other.
        #[arg(long)]
        sector: String,
        /// Contact of the data-protection officer.
        #[arg(long)]
        contact: String,
        /// Idempotency key (default: random).
        #[arg(long)]
        request_id: Option<String>,
        /// Where to write the credential file (0600).
        #[arg(long, default_value = "silkgate-credentials.json")]
        out: PathBuf,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Publish a dataset version (CSV or JSON Lines file).
    Publish {
        #[command(flatten)]
        common: Common,
        /// The payload file.
        #[arg(long)]
        file: PathBuf,
        /// Dataset id.
        #[arg(long)]
        dataset_id: String,
        /// Title.
        #[arg(long)]
        title: String,
        /// Description.
        #[arg(long, default_value = "")]
        description: String,
        /// Sector.
        #[arg(long, default_value = "other")]
        sector: String,
        /// csv or json-lines.
        #[arg(long, default_value = "csv")]
        format_of_file: String,
        /// Columns as name:type,name:type (default for CSV: the header, typed string).
        #[arg(long)]
        schema: Option<String>,
        /// national, federation, or states:KZ,CN.
        #[arg(long, default_value = "federation")]
        visibility: String,
        /// Idempotency key (default: random).
        #[arg(long)]
        request_id: Option<String>,
    },
    /// Search the federated catalogue.
    Catalogue {
        #[command(flatten)]
        common: Common,
        /// Only this state.
        #[arg(long)]
        state: Option<String>,
        /// Only this sector.
        #[arg(long)]
        sector: Option<String>,
        /// Text to look for.
        #[arg(long)]
        q: Option<String>,
        /// Page size.
        #[arg(long, default_value_t = 20)]
        limit: u32,
        /// Token of the page to fetch.
        #[arg(long)]
        page_token: Option<String>,
    },
    /// Ask for a dataset version.
    Request {
        #[command(flatten)]
        common: Common,
        /// Provider organisation id.
        #[arg(long)]
        provider: String,
        /// Dataset id.
        #[arg(long)]
        dataset_id: String,
        /// Version (SHA-256).
        #[arg(long)]
        sha256: String,
        /// Purpose.
        #[arg(long)]
        purpose: String,
        /// Idempotency key (default: random).
        #[arg(long)]
        request_id: Option<String>,
    },
    /// List transfers (as consumer or provider).
    Transfers {
        #[command(flatten)]
        common: Common,
        /// consumer or provider.
        #[arg(long, default_value = "consumer")]
        role: String,
    },
    /// Approve a request for one of your datasets.
    Approve {
        #[command(flatten)]
        common: Common,
        /// Transfer id.
        id: String,
        /// Idempotency key (default: random).
        #[arg(long)]
        request_id: Option<String>,
    },
    /// Deny a request for one of your datasets.
    Deny {
        #[command(flatten)]
        common: Common,
        /// Transfer id.
        id: String,
        /// Reason.
        #[arg(long)]
        reason: String,
        /// Idempotency key (default: random).
        #[arg(long)]
        request_id: Option<String>,
    },
    /// Fetch a delivery, verify and decrypt it.
    Fetch {
        #[command(flatten)]
        common: Common,
        /// Transfer id.
        id: String,
        /// Output file.
        #[arg(long)]
        out: PathBuf,
    },
    /// Show the events of a transfer on your node.
    Events {
        #[command(flatten)]
        common: Common,
        /// Transfer id.
        id: String,
    },
}

pub(crate) fn request_id(given: Option<String>) -> String {
    given.unwrap_or_else(|| format!("cli-{}", hex::encode(rand::random::<[u8; 12]>())))
}

pub(crate) fn load(cred: &PathBuf) -> anyhow::Result<(OrgClient, CredentialFile)> {
    let text = std::fs::read_to_string(cred)
        .with_context(|| format!("reading credential file {}", cred.display()))?;
    let file: CredentialFile = serde_json::from_str(&text)
        .with_context(|| format!("{} is not a credential file", cred.display()))?;
    Ok((OrgClient::from_credentials(&file)?, file))
}

pub(crate) fn print<T: serde::Serialize>(
    format: Format,
    value: &T,
    text: impl FnOnce() -> String,
) -> anyhow::Result<()> {
    match format {
        Format::Json => println!("{}", serde_json::to_string_pretty(value)?),
        Format::Text => println!("{}", text()),
    }
    Ok(())
}

pub(crate) fn transfer_line(t: &TransferView) -> String {
    format!(
        "{}  {:<18} {} <- {}  {}/{}{}",
        t.id,
        t.status,
        t.consumer,
        t.provider,
        t.dataset_id,
        &t.sha256[..12.min(t.sha256.len())],
        t.reason
            .as_ref()
            .map(|r| format!("  ({r})"))
            .unwrap_or_default()
    )
}

fn bar(len: u64, msg: &str) -> ProgressBar {
    let pb = ProgressBar::new(len);
    pb.set_style(
        ProgressStyle::with_template("{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec}")
            .expect("static template is valid")
            .progress_chars("=> "),
    );
    pb.set_message(msg.to_owned());
    pb
}

fn parse_schema(
    schema: Option<&str>,
    file: &PathBuf,
    format: &str,
) -> anyhow::Result<Vec<ColumnView>> {
    if let Some(s) = schema {
        return s
            .split(',')
            .map(|c| {
                let (n, t) = c.split_once(':').unwrap_or((c, "string"));
                Ok(ColumnView {
                    name: n.trim().to_owned(),
                    ty: t.trim().to_owned(),
                })
            })
            .collect();
    }
    anyhow::ensure!(format == "csv", "--schema is required for {format} files");
    use std::io::BufRead as _;
    let mut header = String::new();
    std::io::BufReader::new(std::fs::File::open(file)?).read_line(&mut header)?;
    Ok(header
        .trim_end()
        .split(',')
        .map(|n| ColumnView {
            name: n.trim_matches('"').to_owned(),
            ty: "string".into(),
        })
        .collect())
}

fn parse_visibility(v: &str) -> anyhow::Result<silkgate_model::Visibility> {
    Ok(match v {
        "national" => silkgate_model::Visibility::National,
        "federation" => silkgate_model::Visibility::Federation,
        other => {
            let list = other.strip_prefix("states:").ok_or_else(|| {
                anyhow::anyhow!("--visibility: expected national, federation or states:KZ,CN")
            })?;
            silkgate_model::Visibility::States {
                states: list
                    .split(',')
                    .map(|s| s.trim().parse())
                    .collect::<Result<_, _>>()?,
            }
        }
    })
}

/// Runs the subcommand.
pub fn run(command: OrgCommand) -> anyhow::Result<ExitCode> {
    let rt = tokio::runtime::Runtime::new()?;
    rt.block_on(run_async(command))?;
    Ok(ExitCode::SUCCESS)
}

async fn run_async(command: OrgCommand) -> anyhow::Result<()> {
    match command {
        OrgCommand::Register {
            node,
            ca,
            operator_token_file,
            name,
            registration_number,
            sector,
            contact,
            request_id: rid,
            out,
            format,
        } => {
            let ca_pem = std::fs::read_to_string(&ca)
                .with_context(|| format!("reading {}", ca.display()))?;
            let token = std::fs::read_to_string(&operator_token_file)
                .with_context(|| format!("reading {}", operator_token_file.display()))?;
            let client = OrgClient::new(&node, &ca_pem, token.trim(), None)?;
            let (sk, pk) = silkgate_node::payload_crypto::generate_keypair();
            let creds = client
                .register_organisation(&RegisterOrganisationRequest {
                    request_id: request_id(rid),
                    name,
                    registration_number,
                    sector,
                    contact,
                    hpke_public_key: pk,
                })
                .await?;
            let file = CredentialFile {
                credentials: creds,
                hpke_private_key: sk,
            };
            write_secret(&out, &serde_json::to_vec_pretty(&file)?)?;
            print(format, &file.credentials.organisation, || {
                format!(
                    "registered {} as {}; credential written to {} (keep it secret)",
                    file.credentials.organisation.name,
                    file.credentials.organisation.id,
                    out.display()
                )
            })
        }
        OrgCommand::Publish {
            common,
            file,
            dataset_id,
            title,
            description,
            sector,
            format_of_file,
            schema,
            visibility,
            request_id: rid,
        } => {
            let (client, _) = load(&common.cred)?;
            let schema = parse_schema(schema.as_deref(), &file, &format_of_file)?;
            let meta = PublishMetadata {
                request_id: request_id(rid),
                dataset_id,
                title,
                description,
                sector,
                format: format_of_file,
                schema,
                visibility: parse_visibility(&visibility)?,
            };
            let f = tokio::fs::File::open(&file)
                .await
                .with_context(|| format!("opening {}", file.display()))?;
            let len = f.metadata().await?.len();
            let pb = if common.format == Format::Text {
                bar(len, "upload")
            } else {
                ProgressBar::hidden()
            };
            let pb2 = pb.clone();
            let stream =
                tokio_util::io::ReaderStream::with_capacity(f, 256 * 1024).inspect(move |c| {
                    if let Ok(c) = c {
                        pb2.inc(c.len() as u64);
                    }
                });
            let view = client
                .publish(&meta, reqwest::Body::wrap_stream(stream))
                .await?;
            pb.finish_and_clear();
            print(common.format, &view, || {
                format!(
                    "published {} version {} ({} bytes)",
                    view.dataset_id, view.sha256, view.size
                )
            })
        }
        OrgCommand::Catalogue {
            common,
            state,
            sector,
            q,
            limit,
            page_token,
        } => {
            let (client, _) = load(&common.cred)?;
            let mut query = vec![("limit", limit.to_string())];
            for (k, v) in [
                ("state", state),
                ("sector", sector),
                ("q", q),
                ("page_token", page_token),
            ] {
                if let Some(v) = v {
                    query.push((k, v));
                }
            }
            let page = client.catalogue(&query).await?;
            print(common.format, &page, || {
                let mut s = String::new();
                for d in &page.items {
                    s.push_str(&format!(
                        "{}  {:<24} {:<30} {:>10} B  {}  provider {}\n",
                        d.state, d.dataset_id, d.title, d.size, d.sha256, d.provider
                    ));
                }
                if let Some(t) = &page.next_page_token {
                    s.push_str(&format!("more: --page-token '{t}'\n"));
                }
                if !page.unreachable.is_empty() {
                    s.push_str(&format!("unreachable: {}\n", page.unreachable.join(", ")));
                }
                s.trim_end().to_owned()
            })
        }
        OrgCommand::Request {
            common,
            provider,
            dataset_id,
            sha256,
            purpose,
            request_id: rid,
        } => {
            let (client, _) = load(&common.cred)?;
            let t = client
                .request_transfer(&TransferRequest {
                    request_id: request_id(rid),
                    provider,
                    dataset_id,
                    sha256,
                    purpose,
                    recipient_kind: None,
                })
                .await?;
            print(common.format, &t, || transfer_line(&t))
        }
        OrgCommand::Transfers { common, role } => {
            let (client, _) = load(&common.cred)?;
            let list = client.transfers(&role).await?;
            print(common.format, &list, || {
                list.iter()
                    .map(transfer_line)
                    .collect::<Vec<_>>()
                    .join("\n")
            })
        }
        OrgCommand::Approve {
            common,
            id,
            request_id: rid,
        } => {
            let (client, _) = load(&common.cred)?;
            let t = client
                .decide(
                    &id,
                    &DecisionRequest {
                        request_id: request_id(rid),
                        approve: true,
                        reason: None,
                        grounds: None,
                    },
                )
                .await?;
            print(common.format, &t, || transfer_line(&t))
        }
        OrgCommand::Deny {
            common,
            id,
            reason,
            request_id: rid,
        } => {
            let (client, _) = load(&common.cred)?;
            let t = client
                .decide(
                    &id,
                    &DecisionRequest {
                        request_id: request_id(rid),
                        approve: false,
                        reason: Some(reason),
                        grounds: None,
                    },
                )
                .await?;
            print(common.format, &t, || transfer_line(&t))
        }
        OrgCommand::Fetch { common, id, out } => {
            let (client, file) = load(&common.cred)?;
            // Decrypt into a temporary file beside the output and rename only once everything
            // verified, so a failed fetch leaves no plausible-looking partial file.
            let tmp = out.with_extension("partial");
            let mut f = tokio::fs::File::create(&tmp).await?;
            let pb = if common.format == Format::Text {
                bar(0, "download")
            } else {
                ProgressBar::hidden()
            };
            let result = client
                .fetch_delivery(&id, &file.hpke_private_key, &mut f, |got, total| {
                    pb.set_length(total);
                    pb.set_position(got);
                })
                .await;
            pb.finish_and_clear();
            let got = match result {
                Ok(g) => g,
                Err(e) => {
                    let _ = tokio::fs::remove_file(&tmp).await;
                    return Err(e.into());
                }
            };
            tokio::fs::rename(&tmp, &out).await?;
            let manifest = serde_json::to_value(&got.manifest)?;
            print(common.format, &manifest, || {
                format!(
                    "{} bytes written to {}; SHA-256 {} matches the manifest signed by {}",
                    got.size,
                    out.display(),
                    got.manifest.payload_sha256,
                    got.manifest.provider_node
                )
            })
        }
        OrgCommand::Events { common, id } => {
            let (client, _) = load(&common.cred)?;
            let events = client.transfer_events(&id).await?;
            print(common.format, &events, || {
                events
                    .iter()
                    .map(|e| format!("#{:<5} {} {:<28} {}", e.seq, e.at, e.kind, e.detail))
                    .collect::<Vec<_>>()
                    .join("\n")
            })
        }
    }
}

fn write_secret(path: &PathBuf, bytes: &[u8]) -> anyhow::Result<()> {
    use std::io::Write as _;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        opts.mode(0o600);
    }
    opts.open(path)?.write_all(bytes)?;
    Ok(())
}
