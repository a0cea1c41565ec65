//! `silkgate trace`: which delivered copy a found file came from.
//!
//! The found file is CSV or JSON Lines, guessed from its first byte. With `--node DIR` the
//! provider node traces it through its operator API against every copy it delivered; offline,
//! the command reads a registry of delivered copies (a JSON file of marking records) and the
//! provider node's marking secret. It prints the verdict with its evidence. Exit status: 0 when
//! a copy is identified, 1 for "no match", 2 on error.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use silkgate_mark::{MarkKey, Registry, Table, TraceReport, Tracer, Verdict};

/// Arguments of `silkgate trace`.
#[derive(Debug, clap::Args)]
pub struct TraceArgs {
    /// The file found (CSV with a header row, or JSON Lines).
    pub file: PathBuf,
    /// Ask the provider node whose directory this is (as its operator): it traces against
    /// every copy it has delivered, with its own marking key.
    #[arg(long, conflicts_with_all = ["registry", "key_file"])]
    pub node: Option<PathBuf>,
    /// Registry of delivered copies: JSON `{"version": 1, "records": [...]}` (offline tracing).
    #[arg(long, required_unless_present = "node")]
    pub registry: Option<PathBuf>,
    /// File holding the provider node's marking secret as 64 hex digits (offline tracing).
    #[arg(long, env = "SILKGATE_MARK_KEY_FILE", required_unless_present = "node")]
    pub key_file: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub format: OutputFormat,
}

/// How the result is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    /// Readable text.
    Text,
    /// The full report as JSON.
    Json,
}

/// Runs the subcommand, printing to standard output.
pub fn run(args: TraceArgs) -> anyhow::Result<ExitCode> {
    run_to(&args, &mut std::io::stdout().lock())
}

fn run_to(args: &TraceArgs, out: &mut impl Write) -> anyhow::Result<ExitCode> {
    let found_bytes =
        std::fs::read(&args.file).with_context(|| format!("reading {}", args.file.display()))?;
    let found = Table::from_bytes(&found_bytes)
        .with_context(|| format!("reading {}", args.file.display()))?;
    let report = match (&args.node, &args.registry, &args.key_file) {
        (Some(dir), _, _) => trace_on_node(dir, found_bytes)?,
        (None, Some(registry), Some(key_file)) => {
            let registry_bytes = std::fs::read(registry)
                .with_context(|| format!("reading {}", registry.display()))?;
            let registry = Registry::from_json(&registry_bytes)
                .with_context(|| format!("reading {}", registry.display()))?;
            let key_text = std::fs::read_to_string(key_file)
                .with_context(|| format!("reading {}", key_file.display()))?;
            let key = MarkKey::from_hex(&key_text)
                .with_context(|| format!("reading {}", key_file.display()))?;
            Tracer::new(&key, &registry.records).trace(&found)
        }
        _ => anyhow::bail!("give --node DIR, or both --registry and --key-file"),
    };
    match args.format {
        OutputFormat::Json => {
            serde_json::to_writer_pretty(&mut *out, &report)?;
            writeln!(out)?;
        }
        OutputFormat::Text => write_text(out, &args.file.display().to_string(), &report)?,
    }
    Ok(match report.verdict {
        Verdict::Match { .. } => ExitCode::SUCCESS,
        _ => ExitCode::from(1),
    })
}

/// Sends the found file to the node's trace API with the operator's token.
fn trace_on_node(dir: &std::path::Path, found: Vec<u8>) -> anyhow::Result<TraceReport> {
    use silkgate_node::identity::{self, files};
    let id = identity::load_identity(dir)
        .with_context(|| format!("reading the node in {}", dir.display()))?;
    let token_path = dir.join(files::OPERATOR_TOKEN);
    let token = std::fs::read_to_string(&token_path)
        .with_context(|| format!("reading {}", token_path.display()))?;
    let client = silkgate_node::client::OrgClient::new(
        &id.config.public_url,
        &id.ca_cert_pem,
        token.trim(),
        None,
    )?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(client.trace(found))
        .with_context(|| format!("tracing on the node at {}", id.config.public_url))
}

fn write_text(out: &mut impl Write, file: &str, r: &TraceReport) -> std::io::Result<()> {
    writeln!(
        out,
        "Traced {file}: {} rows against {} delivered copies.",
        r.rows_examined, r.candidates_considered
    )?;
    match &r.verdict {
        Verdict::Match {
            transfer_id,
            recipient,
            agreement_id,
            false_attribution_log10,
            ..
        } => {
            writeln!(
                out,
                "MATCH: copy of transfer {transfer_id}, delivered to {recipient} under agreement {agreement_id}."
            )?;
            writeln!(
                out,
                "Confidence: the chance that a copy not delivered to {recipient} shows this evidence is below 1e{:.1}.",
                false_attribution_log10
            )?;
        }
        _ => writeln!(
            out,
            "NO MATCH: no delivered copy explains this file better than chance would."
        )?,
    }
    if r.several_significant {
        writeln!(
            out,
            "Note: more than one copy is significant; the file may combine rows of several copies."
        )?;
    }
    for (i, c) in r.candidates.iter().take(3).enumerate() {
        let label = if i == 0 { "Best candidate" } else { "Next" };
        writeln!(
            out,
            "{label}: {} ({}, dataset {}): {} of {} fingerprint positions agree ({:.1} expected by chance), p = 1e{:.1}{}",
            c.transfer_id,
            c.recipient,
            c.dataset,
            c.positions_agreeing,
            c.positions_observed,
            c.expected_by_chance,
            c.p_value_log10,
            if c.significant { ", significant" } else { "" }
        )?;
        if i == 0 {
            for col in &c.columns {
                writeln!(
                    out,
                    "  column {}: {} marked cells, {} carry this copy's symbol",
                    col.column, col.marked_cells, col.agreeing_cells
                )?;
            }
            writeln!(
                out,
                "  canary records of this copy found: {}",
                c.canaries_found
            )?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use silkgate_mark::{Delivery, Format, mark};
    use silkgate_model::{MarkedColumn, MarkingTerms};

    fn setup(dir: &std::path::Path) -> (PathBuf, PathBuf, Table) {
        let mut csv = String::from("id,price,qty\n");
        for i in 0..600u32 {
            csv.push_str(&format!(
                "p{i},{}.{:02},{}\n",
                50 + i * 13 % 900,
                i * 7 % 100,
                1 + i * 31 % 5000
            ));
        }
        let table = Table::read_csv(csv.as_bytes()).unwrap();
        let params = MarkingTerms {
            enabled: true,
            columns: vec![
                MarkedColumn {
                    column: "price".into(),
                    decimals: 2,
                    max_change_units: 9,
                },
                MarkedColumn {
                    column: "qty".into(),
                    decimals: 0,
                    max_change_units: 1,
                },
            ],
            select_one_in: 2,
            fingerprint_symbols: 64,
            canary_records: 2,
        };
        let key = MarkKey::from_bytes([3; 32]);
        let mut records = Vec::new();
        let mut target = None;
        for i in 0..5 {
            let d = Delivery {
                dataset: "ds".into(),
                transfer_id: format!("tr-{i}"),
                agreement_id: "ag-1".into(),
                recipient: format!("UZ/org-{i}"),
            };
            let m = mark(&key, &table, &d, &params).unwrap();
            if i == 3 {
                target = Some(m.table.clone());
            }
            records.push(m.record);
        }
        let reg = dir.join("registry.json");
        std::fs::write(&reg, Registry::new(records).to_json()).unwrap();
        let keyf = dir.join("mark.key");
        std::fs::write(&keyf, format!("{}\n", "03".repeat(32))).unwrap();
        (reg, keyf, target.unwrap())
    }

    fn args(
        file: PathBuf,
        registry: PathBuf,
        key_file: PathBuf,
        format: OutputFormat,
    ) -> TraceArgs {
        TraceArgs {
            file,
            node: None,
            registry: Some(registry),
            key_file: Some(key_file),
            format,
        }
    }

    #[test]
    fn traces_a_leaked_subset_and_says_no_match_for_unmarked() {
        let dir = std::env::temp_dir().join(format!("silkgate-trace-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (reg, keyf, copy) = setup(&dir);

        // A fifth of the rows, re-saved as JSON Lines.
        let mut leak = copy.clone();
        leak.rows
            .retain(|r| r[0].as_text().unwrap().ends_with(['1', '6']));
        let found = dir.join("found.jsonl");
        std::fs::write(&found, leak.to_bytes(Format::Jsonl)).unwrap();
        let mut out = Vec::new();
        let code = run_to(
            &args(found.clone(), reg.clone(), keyf.clone(), OutputFormat::Text),
            &mut out,
        )
        .unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(code, ExitCode::SUCCESS, "{text}");
        assert!(
            text.contains("MATCH: copy of transfer tr-3, delivered to UZ/org-3"),
            "{text}"
        );
        assert!(text.contains("column price"), "{text}");

        let mut out = Vec::new();
        run_to(
            &args(found, reg.clone(), keyf.clone(), OutputFormat::Json),
            &mut out,
        )
        .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["verdict"]["verdict"], "match");
        assert_eq!(v["verdict"]["recipient"], "UZ/org-3");
        assert_eq!(v["candidates"].as_array().unwrap().len(), 5);

        // The original, unmarked file.
        let mut orig = String::from("id,price,qty\n");
        for i in 0..600u32 {
            orig.push_str(&format!(
                "p{i},{}.{:02},{}\n",
                50 + i * 13 % 900,
                i * 7 % 100,
                1 + i * 31 % 5000
            ));
        }
        let plain = dir.join("plain.csv");
        std::fs::write(&plain, orig).unwrap();
        let mut out = Vec::new();
        let code = run_to(
            &args(plain, reg.clone(), keyf.clone(), OutputFormat::Text),
            &mut out,
        )
        .unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(code, ExitCode::from(1), "{text}");
        assert!(text.contains("NO MATCH"), "{text}");

        // Errors name the file and the problem.
        let bad = dir.join("bad.json");
        std::fs::write(&bad, r#"{"version": 2, "records": []}"#).unwrap();
        let err = run_to(
            &args(
                dir.join("found.jsonl"),
                bad.clone(),
                keyf.clone(),
                OutputFormat::Text,
            ),
            &mut Vec::new(),
        )
        .unwrap_err();
        assert!(format!("{err:#}").contains("version"), "{err:#}");
        std::fs::write(&bad, "00").unwrap();
        let err = run_to(
            &args(dir.join("found.jsonl"), reg, bad, OutputFormat::Text),
            &mut Vec::new(),
        )
        .unwrap_err();
        assert!(format!("{err:#}").contains("marking key"), "{err:#}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
