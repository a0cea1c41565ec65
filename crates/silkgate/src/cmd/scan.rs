//! `silkgate scan` and `silkgate deidentify`: thin wrappers over `silkgate-scan`.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use silkgate_scan::{Date, HeaderMode, ScanOptions, ScanReport};

/// Files at least this large get a progress bar (when stderr is a terminal).
const PROGRESS_MIN_BYTES: u64 = 32 << 20;

/// Output format of `silkgate scan`.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum OutputFormat {
    /// A human-readable summary.
    Text,
    /// One JSON object per file, one per line.
    Json,
}

/// Arguments of `silkgate scan`.
#[derive(Debug, clap::Args)]
pub struct ScanArgs {
    /// CSV or JSON Lines files to review.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    pub format: OutputFormat,
    /// Masked samples to show per column.
    #[arg(long, default_value_t = 3)]
    pub sample: usize,
    /// Force the text encoding (e.g. windows-1251, gb18030) instead of detecting it.
    #[arg(long)]
    pub encoding: Option<String>,
    /// Force the CSV delimiter (one character) instead of detecting it.
    #[arg(long)]
    pub delimiter: Option<char>,
    /// The first CSV line is data, not a header.
    #[arg(long)]
    pub no_header: bool,
    /// Count minors by ages at this date (YYYY-MM-DD).
    #[arg(long)]
    pub as_of: Option<String>,
    /// Check every value of every column (exact counts; about half the speed). Without it,
    /// a column whose entity is clear after 1024 values has one value in 8 checked for it
    /// and its count extrapolated (shown with `~` and its 95 % margin; `"estimated": true`
    /// in JSON); an entity found once in a column is checked on every later value.
    #[arg(long)]
    pub exact: bool,
    /// Most columns read per CSV record (and distinct JSON paths); values beyond are
    /// reported as unread and the review is incomplete (exit code 2).
    #[arg(long, default_value_t = 4096)]
    pub max_columns: usize,
    /// Deepest JSON nesting walked; deeper lines are reported as unread and the review is
    /// incomplete (exit code 2).
    #[arg(long, default_value_t = 1024)]
    pub max_depth: usize,
}

/// Arguments of `silkgate deidentify`.
#[derive(Debug, clap::Args)]
pub struct DeidentifyArgs {
    /// CSV or JSON Lines file to de-identify.
    pub file: PathBuf,
    /// The plan: JSON, or TOML when the name ends in `.toml`.
    #[arg(long)]
    pub plan: PathBuf,
    /// Where to write the result (written to OUT.partial, renamed when complete).
    #[arg(long)]
    pub out: PathBuf,
    /// File holding the agreement's pseudonymisation key as 64 hex digits.
    #[arg(long, env = "SILKGATE_PSEUDONYM_KEY_FILE")]
    pub pseudonym_key_file: Option<PathBuf>,
    /// File holding the provider's tokenisation key as 64 hex digits.
    #[arg(long, env = "SILKGATE_TOKEN_KEY_FILE")]
    pub token_key_file: Option<PathBuf>,
}

fn options(args: &ScanArgs) -> anyhow::Result<ScanOptions> {
    anyhow::ensure!(args.max_columns > 0, "--max-columns: must be at least 1");
    anyhow::ensure!(args.max_depth > 0, "--max-depth: must be at least 1");
    let mut opts = ScanOptions {
        sample: args.sample,
        check_every: if args.exact { 1 } else { 8 },
        max_columns: args.max_columns,
        max_depth: args.max_depth,
        ..ScanOptions::default()
    };
    if let Some(label) = &args.encoding {
        opts.sniff.encoding = Some(
            encoding_rs::Encoding::for_label(label.as_bytes())
                .with_context(|| format!("--encoding: '{label}' is not an encoding label"))?,
        );
    }
    if let Some(d) = args.delimiter {
        anyhow::ensure!(
            d.is_ascii(),
            "--delimiter: '{d}' must be one ASCII character"
        );
        opts.sniff.delimiter = Some(d as u8);
    }
    if args.no_header {
        opts.header = HeaderMode::Absent;
    }
    if let Some(s) = &args.as_of {
        opts.as_of =
            Some(parse_date(s).with_context(|| format!("--as-of: '{s}' is not YYYY-MM-DD"))?);
    }
    Ok(opts)
}

fn parse_date(s: &str) -> Option<Date> {
    let mut it = s.splitn(3, '-').map(|p| p.parse::<u32>().ok());
    Some(Date {
        year: it.next()??,
        month: it.next()??,
        day: it.next()??,
    })
}

/// The format a file's name announces, used only when its content shows none (an empty
/// `.jsonl` is JSON Lines, not CSV).
fn format_hint(path: &Path) -> Option<silkgate_scan::Format> {
    let ext = path.extension()?.to_str()?.to_ascii_lowercase();
    match ext.as_str() {
        "jsonl" | "ndjson" => Some(silkgate_scan::Format::Jsonl),
        "csv" | "tsv" => Some(silkgate_scan::Format::Csv),
        _ => None,
    }
}

fn scan_file(path: &Path, opts: &ScanOptions) -> anyhow::Result<ScanReport> {
    let mut opts = opts.clone();
    opts.sniff.hint = format_hint(path);
    let opts = &opts;
    let file = File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    let report = if len >= PROGRESS_MIN_BYTES {
        let bar = ProgressBar::new(len).with_style(
            ProgressStyle::with_template(
                "{msg} {bar:40} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
            )
            .expect("the progress template is valid"),
        );
        bar.set_message(path.display().to_string());
        let r = silkgate_scan::scan(bar.wrap_read(file), opts);
        bar.finish_and_clear();
        r
    } else {
        silkgate_scan::scan(file, opts)
    };
    report.with_context(|| format!("scanning {}", path.display()))
}

fn print_text(out: &mut impl Write, path: &Path, r: &ScanReport) -> std::io::Result<()> {
    let cats: Vec<&str> = r.categories.iter().map(|c| c.as_str()).collect();
    writeln!(
        out,
        "{}: {}, {}, {} rows, {} bytes, ~{} data subjects, categories: {}",
        path.display(),
        match r.format {
            silkgate_scan::Format::Csv => "CSV",
            silkgate_scan::Format::Jsonl => "JSON Lines",
        },
        r.encoding,
        r.rows,
        r.bytes,
        r.subjects_estimate,
        cats.join(", ")
    )?;
    for c in &r.columns {
        match c.entity {
            Some(e) => writeln!(
                out,
                "  {:<28} {:<20} {:>11}/{:<10} {:>6.1}%  {}",
                c.name,
                e.as_str(),
                format!("{}{}", if c.estimated { "~" } else { "" }, c.matched),
                c.non_empty,
                c.share * 100.0,
                c.samples.join("  ")
            )?,
            None => writeln!(out, "  {:<28} -", c.name)?,
        }
        // Every entity any value matched, not only the label.
        for k in c.counts.iter().filter(|k| Some(k.entity) != c.entity) {
            let margin = if k.estimated {
                format!(" ±{}", k.margin)
            } else {
                String::new()
            };
            writeln!(
                out,
                "  {:<28} + {:<18} {:>11}/{:<10} {:>6.1}%",
                "",
                k.entity.as_str(),
                format!(
                    "{}{}{margin}",
                    if k.estimated { "~" } else { "" },
                    k.matched
                ),
                c.non_empty,
                k.share * 100.0,
            )?;
        }
        if c.unseen_bound > 0 {
            writeln!(
                out,
                "  {:<28}   sampled: up to {} values of an entity not found may be missed (95 %)",
                "", c.unseen_bound
            )?;
        }
    }
    if !r.is_complete() {
        writeln!(
            out,
            "  REVIEW INCOMPLETE: the findings above do not cover what was not read; this file is not shown to be non-personal"
        )?;
        for u in &r.unread {
            writeln!(
                out,
                "  unread: {} ({:.2} % of the {}): {}",
                u.kind.as_str(),
                u.share * 100.0,
                if u.kind.counts_records() {
                    "records"
                } else {
                    "values"
                },
                u.reason
            )?;
        }
    }
    Ok(())
}

/// Exit code of `silkgate scan` when a file could not be read in full (and none failed).
pub const EXIT_INCOMPLETE: u8 = 2;

/// Runs `silkgate scan`. Exit code 0: every file read in full; 2: some file's review is
/// incomplete (records or values not read, listed in the report); 1: some file could not
/// be scanned at all.
pub fn run_scan(args: ScanArgs) -> anyhow::Result<ExitCode> {
    let opts = options(&args)?;
    let stdout = std::io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    let mut failed = false;
    let mut incomplete = false;
    for path in &args.files {
        match scan_file(path, &opts) {
            Ok(report) => {
                incomplete |= !report.is_complete();
                match args.format {
                    OutputFormat::Json => {
                        let mut v = serde_json::to_value(&report)?;
                        v.as_object_mut()
                            .expect("a report serialises to an object")
                            .insert("file".into(), path.display().to_string().into());
                        writeln!(out, "{}", serde_json::to_string(&v)?)?;
                    }
                    OutputFormat::Text => print_text(&mut out, path, &report)?,
                }
            }
            Err(e) => {
                out.flush()?;
                eprintln!("error: {e:#}");
                failed = true;
            }
        }
    }
    out.flush()?;
    Ok(if failed {
        ExitCode::from(1)
    } else if incomplete {
        eprintln!("warning: the review of some file is incomplete (see 'unread' in its report)");
        ExitCode::from(EXIT_INCOMPLETE)
    } else {
        ExitCode::SUCCESS
    })
}

fn read_key(path: &Path, flag: &str) -> anyhow::Result<[u8; 32]> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("{flag}: reading {}", path.display()))?;
    let bytes = hex::decode(text.trim())
        .with_context(|| format!("{flag}: {} is not hex", path.display()))?;
    bytes.try_into().map_err(|b: Vec<u8>| {
        anyhow::anyhow!(
            "{flag}: key must be 32 bytes (64 hex digits), got {}",
            b.len()
        )
    })
}

/// Runs `silkgate deidentify`: applies the plan, then re-scans the output and fails if a
/// transformed column still holds an identifier.
pub fn run_deidentify(args: DeidentifyArgs) -> anyhow::Result<ExitCode> {
    let plan_text = std::fs::read_to_string(&args.plan)
        .with_context(|| format!("--plan: reading {}", args.plan.display()))?;
    let plan = if args.plan.extension().is_some_and(|e| e == "toml") {
        silkgate_scan::Plan::from_toml(&plan_text)
    } else {
        silkgate_scan::Plan::from_json(&plan_text)
    }
    .with_context(|| format!("--plan {}", args.plan.display()))?;
    let mut keys = silkgate_scan::Keys::new();
    if let Some(p) = &args.pseudonym_key_file {
        keys = keys.with_pseudonymisation(read_key(p, "--pseudonym-key-file")?);
    }
    if let Some(p) = &args.token_key_file {
        keys = keys.with_tokenisation(read_key(p, "--token-key-file")?);
    }
    let input =
        File::open(&args.file).with_context(|| format!("opening {}", args.file.display()))?;
    let mut partial = args.out.clone().into_os_string();
    partial.push(".partial");
    let partial = PathBuf::from(partial);
    let out = File::create(&partial).with_context(|| format!("creating {}", partial.display()))?;
    let result = silkgate_scan::deidentify(input, BufWriter::new(out), &plan, &keys);
    let report = match result {
        Ok(r) => r,
        Err(e) => {
            let _ = std::fs::remove_file(&partial);
            return Err(e).with_context(|| format!("de-identifying {}", args.file.display()));
        }
    };
    std::fs::rename(&partial, &args.out)
        .with_context(|| format!("renaming to {}", args.out.display()))?;
    for c in &report.columns {
        println!("{:<28} {:<14} {} values", c.name, c.transform, c.changed);
    }
    println!(
        "{} rows, {} bytes in, {} bytes out, {} records left out",
        report.rows, report.bytes_in, report.bytes_out, report.records_left_out
    );
    let rescan = silkgate_scan::scan(
        File::open(&args.out)?,
        &ScanOptions {
            sample: 0,
            ..ScanOptions::default()
        },
    )?;
    let mut clean = report.residual.is_empty();
    for r in &report.residual {
        eprintln!(
            "residual: column {} still holds {} value(s) of {}",
            r.column, r.count, r.entity
        );
    }
    for c in &rescan.columns {
        if let (Some(e), Some(t)) = (c.entity, plan.columns.get(&c.name))
            && !matches!(t, silkgate_scan::Transform::Drop)
        {
            eprintln!(
                "re-scan: column {} ({}) is still labelled {e}",
                c.name,
                t.name()
            );
            clean = false;
        }
    }
    println!(
        "re-scan of {}: {}",
        args.out.display(),
        if clean {
            "no identifiers left in transformed columns"
        } else {
            "IDENTIFIERS LEFT"
        }
    );
    Ok(if clean {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
