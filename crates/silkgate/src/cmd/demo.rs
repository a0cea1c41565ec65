//! `silkgate demo`: ten national nodes on loopback in one process and a scripted scenario of
//! cross-border transfers, printed step by step.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use silkgate_model::{MEMBER_STATES, Sector, Visibility};
use silkgate_node::agreements::{AgreementTransferRequest, ProposeAgreementRequest, templates};
use silkgate_node::api_types::{DatasetView, DecisionRequest, PublishMetadata, TransferRequest};
use silkgate_node::client::{CredentialFile, OrgClient};
use silkgate_node::local::{LocalFederation, synthetic_trade_csv};

/// Arguments of `silkgate demo`.
#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    /// Run the scenario once and exit (0 on success); without it the nodes keep serving.
    #[arg(long)]
    pub once: bool,
    /// Root directory of the nodes' data (reused on the next start).
    #[arg(long, default_value = "silkgate-demo")]
    pub dir: PathBuf,
}

/// A sample organisation: state, name, sector.
const ORGS: &[(&str, &str, Sector)] = &[
    ("KZ", "Steppe Grain Exporters", Sector::Trade),
    ("CN", "Silk Road Logistics", Sector::Trade),
    ("RU", "Volga Investment Partners", Sector::Investment),
    ("IN", "Deccan Payments Bureau", Sector::Finance),
    ("UZ", "Fergana Textile Cluster", Sector::Trade),
    ("PK", "Indus Patent Services", Sector::IntellectualProperty),
    ("KG", "Tian Shan Freight", Sector::Trade),
    ("BY", "Minsk Machinery Works", Sector::Investment),
    ("TJ", "Pamir Energy Trading", Sector::Other),
    ("IR", "Caspian Shipping Lines", Sector::Trade),
];

/// Scripted transfers: (provider state, dataset id, consumer state).
const SCENARIO: &[(&str, &str, &str)] = &[
    ("KZ", "kz-grain-exports", "CN"),
    ("CN", "cn-container-traffic", "RU"),
    ("IN", "in-cross-border-payments", "UZ"),
    ("PK", "pk-patent-filings", "KG"),
    ("BY", "by-machinery-orders", "TJ"),
    ("IR", "ir-caspian-shipping", "KZ"),
];

struct DemoOrg {
    client: OrgClient,
    creds: CredentialFile,
}

async fn org(
    fed: &LocalFederation,
    root: &Path,
    state: &str,
    name: &str,
    sector: Sector,
) -> anyhow::Result<DemoOrg> {
    // The credential (with the organisation's private key) is kept under the demo root so a
    // restart reuses the same organisation instead of registering a new one.
    let path = root
        .join("orgs")
        .join(format!("{}.json", state.to_lowercase()));
    if let Ok(text) = std::fs::read_to_string(&path) {
        let creds: CredentialFile = serde_json::from_str(&text)?;
        let mut creds = creds;
        creds.credentials.node_url = fed.node(state).url.clone();
        return Ok(DemoOrg {
            client: OrgClient::from_credentials(&creds)?,
            creds,
        });
    }
    let (client, creds) = fed
        .node(state)
        .register(&format!("demo-org-{}", state.to_lowercase()), name, sector)
        .await?;
    std::fs::create_dir_all(path.parent().expect("has a parent"))?;
    std::fs::write(&path, serde_json::to_vec_pretty(&creds)?)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
    }
    Ok(DemoOrg { client, creds })
}

fn spinner(mp: &MultiProgress, msg: String) -> ProgressBar {
    let pb = mp.add(ProgressBar::new_spinner());
    pb.set_style(
        ProgressStyle::with_template("{spinner} {msg}").expect("static template is valid"),
    );
    pb.set_message(msg);
    pb.enable_steady_tick(Duration::from_millis(100));
    pb
}

/// Runs the subcommand.
pub fn run(args: DemoArgs) -> anyhow::Result<ExitCode> {
    crate::init_tracing();
    let rt = tokio::runtime::Runtime::new()?;
    rt.block_on(run_async(args))
}

async fn run_async(args: DemoArgs) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    let root = &args.dir;
    println!(
        "Silkgate demo: one national node per SCO member state, data under {}/",
        root.display()
    );
    let fed = LocalFederation::start(
        root,
        &MEMBER_STATES,
        silkgate_portal::node_options(Default::default()),
    )
    .await
    .context("starting the nodes")?;
    println!(
        "  trust list version {} signed by the committee key, naming {} nodes",
        fed.trust_list_version,
        fed.nodes.len()
    );
    for (state, node) in &fed.nodes {
        println!("  {state}  {}  ({})", node.url, node.dir.display());
    }

    println!("\nRegistering sample organisations (client certificate + API token each):");
    let mut orgs = std::collections::BTreeMap::new();
    for (state, name, sector) in ORGS {
        let o = org(&fed, root, state, name, *sector)
            .await
            .with_context(|| format!("registering {name}"))?;
        println!(
            "  {state}  {:<28} {:<22} {}",
            name,
            sector.as_str(),
            o.creds.credentials.organisation.id
        );
        orgs.insert(*state, o);
    }

    println!("\nPublishing synthetic datasets (generated customs-style rows, no persons):");
    let mut datasets: std::collections::BTreeMap<&str, (DatasetView, Vec<u8>)> = Default::default();
    for (i, (provider, dataset_id, _)) in SCENARIO.iter().enumerate() {
        let (schema, payload) = synthetic_trade_csv(2_000 + 500 * i, i as u64 + 1);
        let meta = PublishMetadata {
            request_id: format!("demo-publish-{dataset_id}"),
            dataset_id: (*dataset_id).into(),
            title: dataset_id.replace('-', " "),
            description: "Synthetic sample data generated by the demo".into(),
            sector: "trade".into(),
            format: "csv".into(),
            schema,
            visibility: Visibility::Federation,
        };
        let view = orgs[provider]
            .client
            .publish(&meta, payload.clone().into())
            .await
            .with_context(|| format!("publishing {dataset_id}"))?;
        println!(
            "  {provider}  {:<26} {:>8} bytes  sha256 {}",
            view.dataset_id,
            view.size,
            &view.sha256[..16]
        );
        datasets.insert(dataset_id, (view, payload));
    }

    let page = orgs["UZ"]
        .client
        .catalogue(&[("limit", "4".into())])
        .await?;
    println!(
        "\nFederated catalogue as seen from UZ (first page of 4, filtered and paged on each node): {}{}",
        page.items
            .iter()
            .map(|d| format!("{}:{}", d.state, d.dataset_id))
            .collect::<Vec<_>>()
            .join(", "),
        if page.next_page_token.is_some() {
            ", ..."
        } else {
            ""
        }
    );

    let run = fed.trust_list_version;
    println!(
        "\nData-sharing agreements from the trade sub-committee's template (consumer proposes, provider signs, authorities approve where a rule pack asks):"
    );
    let mut agreements = std::collections::BTreeMap::new();
    for (provider, dataset_id, consumer) in SCENARIO {
        let id = agree(&fed, &orgs, provider, consumer, run)
            .await
            .with_context(|| format!("agreement {provider} -> {consumer}"))?;
        println!("  {provider} -> {consumer}  {dataset_id:<26} agreement {id} active");
        agreements.insert(*dataset_id, id);
    }

    println!(
        "\nScripted transfers (run {run}) under the agreements: request -> terms checked -> content review -> rule packs -> marked for the recipient -> encrypt (HPKE) -> deliver -> signed receipt -> decrypt"
    );
    let mp = MultiProgress::new();
    let mut tasks = Vec::new();
    let copies = std::sync::Arc::new(std::sync::Mutex::new(std::collections::BTreeMap::new()));
    for (provider, dataset_id, consumer) in SCENARIO {
        let c = &orgs[consumer];
        let (view, payload) = datasets[dataset_id].clone();
        let pb = spinner(
            &mp,
            format!("{provider} -> {consumer}  {dataset_id}: requesting"),
        );
        let (pc, cc) = (orgs[provider].client.clone(), c.client.clone());
        let key = c.creds.hpke_private_key.clone();
        let agreement = agreements[dataset_id].clone();
        let label = format!("{provider} -> {consumer}  {dataset_id:<26}");
        let (mp, copies) = (mp.clone(), copies.clone());
        tasks.push(tokio::spawn(async move {
            let t0 = Instant::now();
            let req = AgreementTransferRequest {
                request_id: format!("demo-run{run}-{dataset_id}"),
                dataset_id: view.dataset_id.clone(),
                sha256: view.sha256.clone(),
                onward_to: None,
                recipient_kind: None,
            };
            let t = cc.request_under_agreement(&agreement, &req).await?;
            let decided = decision_line(&t);
            // Asking again with the same request id returns the first answer.
            let again = cc.request_under_agreement(&agreement, &req).await?;
            anyhow::ensure!(again.id == t.id, "a repeated request created a second transfer");
            pb.set_message(format!("{label}: approved by the agreement; marking, encrypting and delivering"));
            let done = cc.wait_final(&t.id, Duration::from_secs(30)).await?;
            anyhow::ensure!(done.status == "delivered", "transfer {}: {}", done.status, done.reason.unwrap_or_default());
            let mut out = Vec::new();
            let got = cc.fetch_delivery(&t.id, &key, &mut out, |_, _| {}).await?;
            // The copy is marked for its recipient: a few low-order digits changed, perhaps
            // keyed canary rows added, never a row lost.
            anyhow::ensure!(
                out.split(|b| *b == b'\n').count() >= payload.split(|b| *b == b'\n').count(),
                "the delivered copy lost rows of the published dataset"
            );
            let pv = pc.wait_final(&t.id, Duration::from_secs(30)).await?;
            anyhow::ensure!(pv.receipt.is_some(), "provider holds no receipt");
            copies.lock().expect("not poisoned").insert(dataset_id, (t.id.clone(), out));
            pb.finish_and_clear();
            // Printed through the progress display so the line stays when bars redraw, and
            // also appears when the output is not a terminal (bars are hidden then).
            mp.suspend(|| {
                println!(
                    "  {label}: {decided}\n  {label}: delivered {} bytes, signature and SHA-256 verified, receipt held by provider ({} ms)",
                    got.size,
                    t0.elapsed().as_millis()
                )
            });
            Ok::<_, anyhow::Error>(())
        }));
    }
    let mut failures = 0;
    for t in tasks {
        if let Err(e) = t.await? {
            failures += 1;
            eprintln!("transfer failed: {e:#}");
        }
    }

    // One refusal: the provider denies, the consumer's node learns it.
    let (view, _) = &datasets["kz-grain-exports"];
    let t = orgs["RU"]
        .client
        .request_transfer(&TransferRequest {
            request_id: format!("demo-run{run}-denied"),
            provider: orgs["KZ"].creds.credentials.organisation.id.clone(),
            dataset_id: view.dataset_id.clone(),
            sha256: view.sha256.clone(),
            purpose: "demo: a request the provider refuses".into(),
            recipient_kind: None,
        })
        .await?;
    orgs["KZ"]
        .client
        .decide(
            &t.id,
            &DecisionRequest {
                request_id: format!("demo-deny-{}", t.id),
                approve: false,
                reason: Some("no data-sharing agreement in force".into()),
                grounds: None,
            },
        )
        .await?;
    let denied = orgs["RU"]
        .client
        .wait_final(&t.id, Duration::from_secs(30))
        .await?;
    println!(
        "  KZ -> RU  kz-grain-exports: {}\n  KZ -> RU  kz-grain-exports: {} ({})",
        decision_line(&t),
        denied.status,
        denied.reason.clone().unwrap_or_default()
    );
    if denied.status != "denied" {
        failures += 1;
    }

    // A broken term: the agreement bans onward transfers, CN declares one to IR.
    let (view, _) = &datasets["kz-grain-exports"];
    let t = orgs["CN"]
        .client
        .request_under_agreement(
            &agreements["kz-grain-exports"],
            &AgreementTransferRequest {
                request_id: format!("demo-run{run}-onward"),
                dataset_id: view.dataset_id.clone(),
                sha256: view.sha256.clone(),
                onward_to: Some("IR".into()),
                recipient_kind: None,
            },
        )
        .await?;
    println!(
        "  KZ -> CN  kz-grain-exports, onward to IR: {} ({})",
        t.status,
        t.reason.clone().unwrap_or_default()
    );
    if t.status != "denied" {
        failures += 1;
    }

    // Leak tracing: a tenth of CN's copy turns up elsewhere, rows reversed, as JSON Lines.
    let copies = copies.lock().expect("not poisoned").clone();
    if let Some((transfer_id, copy)) = copies.get(&"kz-grain-exports") {
        let leaked = leaked_sample(copy)?;
        let report = fed.node("KZ").operator()?.trace(leaked.clone()).await?;
        println!(
            "\nLeak tracing on the KZ node: a file of {} rows (every tenth row of a delivered copy, reordered, re-saved as JSON Lines) tested against {} delivered copies:",
            report.rows_examined, report.candidates_considered
        );
        match &report.verdict {
            silkgate_mark::Verdict::Match {
                transfer_id: found,
                recipient,
                false_attribution_log10,
                ..
            } => {
                println!(
                    "  MATCH: transfer {found}, delivered to {recipient}; chance of a wrong attribution below 1e{false_attribution_log10:.1}"
                );
                if found != transfer_id {
                    failures += 1;
                }
            }
            _ => {
                println!("  no match");
                failures += 1;
            }
        }
    }

    let kz_events = fed.node("KZ").operator()?.events(0, 1000).await?;
    println!("\nKZ node event stream: {} events, e.g.", kz_events.len());
    for e in kz_events.iter().rev().take(5).rev() {
        println!("  #{:<4} {:<26} {}", e.seq, e.kind, e.subject);
    }
    println!(
        "\nFinished in {:.1} s: {} transfers delivered, {} failed.",
        started.elapsed().as_secs_f64(),
        SCENARIO.len() as i32 - failures.min(SCENARIO.len() as i32),
        failures
    );

    if args.once {
        fed.shutdown();
        return Ok(if failures == 0 {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        });
    }
    crate::cmd::portal::demo_printout(&fed).await?;
    println!("\nThe nodes keep serving. Try, for instance:");
    let kz = fed.node("KZ");
    println!(
        "  curl --cacert {}/ca.crt {}/healthz",
        kz.dir.display(),
        kz.url
    );
    println!(
        "  curl --cacert {}/ca.crt {}/openapi.json",
        kz.dir.display(),
        kz.url
    );
    println!(
        "  silkgate org catalogue --cred {}/orgs/cn.json",
        root.display()
    );
    println!("Press Ctrl-C to stop.");
    tokio::signal::ctrl_c().await?;
    fed.shutdown();
    Ok(if failures == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// One line with a transfer's compliance decision: outcome, the rule packs' own outcome,
/// obligations and every article cited.
fn decision_line(t: &silkgate_node::api_types::TransferView) -> String {
    let Some(d) = &t.decision else {
        return "no decision recorded".into();
    };
    let words = |v: &serde_json::Value, key: &str| -> Vec<String> {
        v[key]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|o| o.get("id").or_else(|| o.get("rule")))
                    .filter_map(|x| x.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut cites: Vec<String> = Vec::new();
    for key in ["reasons", "obligations"] {
        for item in d[key].as_array().into_iter().flatten() {
            for c in item["citations"].as_array().into_iter().flatten() {
                let line = format!(
                    "{} {} {}{}",
                    c["state"].as_str().unwrap_or("?"),
                    c["instrument"].as_str().unwrap_or("?"),
                    c["article"].as_str().unwrap_or("?"),
                    if c["verified"] == false {
                        " (UNVERIFIED)"
                    } else {
                        ""
                    }
                );
                if !cites.contains(&line) {
                    cites.push(line);
                }
            }
        }
    }
    format!(
        "decision {} (rule packs: {}); obligations [{}]; reasons [{}]; cites [{}]",
        d["outcome"].as_str().unwrap_or("?"),
        d["legal_outcome"].as_str().unwrap_or("?"),
        words(d, "obligations").join(", "),
        words(d, "reasons").join(", "),
        if cites.is_empty() {
            "none".into()
        } else {
            cites.join("; ")
        }
    )
}

/// Sets up an active agreement from the trade template between the scenario's pair: the
/// consumer proposes (columns of the sample data, marking of two numeric columns, a year's
/// validity), the provider accepts, each authority the rule packs name approves.
async fn agree(
    fed: &LocalFederation,
    orgs: &std::collections::BTreeMap<&str, DemoOrg>,
    provider: &str,
    consumer: &str,
    run: u64,
) -> anyhow::Result<String> {
    let template = templates()
        .get(&("trade".to_owned(), 1))
        .context("the trade template is built in")?;
    let mut terms = serde_json::to_value(&template.terms)?;
    terms["columns"] = serde_json::json!([
        "declaration_id",
        "hs_code",
        "origin",
        "destination",
        "value_usd",
        "weight_kg"
    ]);
    terms["categories"] = serde_json::json!(["non-personal"]);
    terms["deidentification"] = serde_json::json!([]);
    terms["marking"]["columns"] = serde_json::json!([
        { "column": "value_usd", "decimals": 0, "max_change_units": 9 },
        { "column": "weight_kg", "decimals": 0, "max_change_units": 9 },
    ]);
    let today = silkgate_model::Clock::system().today();
    let day = |offset: i64| today.add_days(offset).to_string();
    terms["validity"] = serde_json::json!({ "not_before": day(-1), "not_after": day(365) });
    let a = orgs[consumer]
        .client
        .propose_agreement(&ProposeAgreementRequest {
            request_id: format!("demo-run{run}-agreement-{provider}-{consumer}"),
            template_id: "trade".into(),
            template_version: 1,
            counterparty: orgs[provider].creds.credentials.organisation.id.clone(),
            role: "consumer".into(),
            terms: Some(terms),
        })
        .await?;
    let mut signed = orgs[provider]
        .client
        .agreement_action(&a.id, "accept", &format!("demo-accept-{}", a.id), None)
        .await?;
    for state in &a.approvals_required {
        signed = fed
            .node(state)
            .operator()?
            .agreement_action(
                &a.id,
                "approval",
                &format!("demo-approval-{}-{state}", a.id),
                Some("standard_contract"),
            )
            .await?;
    }
    anyhow::ensure!(
        signed.status == "active",
        "agreement {} is {}",
        a.id,
        signed.status
    );
    Ok(a.id)
}

/// Every tenth row of a delivered CSV copy, last first, as JSON Lines: what a leak might look
/// like after someone re-saved part of it.
fn leaked_sample(copy: &[u8]) -> anyhow::Result<Vec<u8>> {
    let table = silkgate_mark::Table::from_bytes(copy)?;
    let mut out = String::new();
    for row in table.rows.iter().step_by(10).rev() {
        let obj: serde_json::Map<String, serde_json::Value> = table
            .columns
            .iter()
            .zip(row)
            .map(|(c, v)| {
                (
                    c.clone(),
                    serde_json::Value::String(v.as_text().unwrap_or_default().to_owned()),
                )
            })
            .collect();
        out.push_str(&serde_json::Value::Object(obj).to_string());
        out.push('\n');
    }
    Ok(out.into_bytes())
}
