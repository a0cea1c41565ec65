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
}

/// Arguments of `silkgate deidentify`.
#[derive(Debug, clap::Args)]
pub struct DeidentifyArgs {}

fn options(args: &ScanArgs) -> anyhow::Result<ScanOptions> {
    let mut opts = ScanOptions {
        sample: args.sample,
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

fn scan_file(path: &Path, opts: &ScanOptions) -> anyhow::Result<ScanReport> {
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
        "{}: {:?}, {}, {} rows, {} bytes, ~{} data subjects, categories: {}",
        path.display(),
        r.format,
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
                "  {:<28} {:<20} {:>10}/{:<10} {:>6.1}%  {}",
                c.name,
                e.as_str(),
                c.matched,
                c.non_empty,
                c.share * 100.0,
                c.samples.join("  ")
            )?,
            None => writeln!(out, "  {:<28} -", c.name)?,
        }
    }
    if r.skipped_records + r.invalid_lines + r.invalid_utf8_fields > 0 || r.columns_truncated {
        writeln!(
            out,
            "  note: {} oversized records skipped, {} invalid JSON lines, {} fields with invalid UTF-8{}",
            r.skipped_records,
            r.invalid_lines,
            r.invalid_utf8_fields,
            if r.columns_truncated {
                ", columns beyond the limit not scanned"
            } else {
                ""
            }
        )?;
    }
    Ok(())
}

/// Runs `silkgate scan`.
pub fn run_scan(args: ScanArgs) -> anyhow::Result<ExitCode> {
    let opts = options(&args)?;
    let stdout = std::io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    let mut failed = false;
    for path in &args.files {
        match scan_file(path, &opts) {
            Ok(report) => match args.format {
                OutputFormat::Json => {
                    let mut v = serde_json::to_value(&report)?;
                    v.as_object_mut()
                        .expect("a report serialises to an object")
                        .insert("file".into(), path.display().to_string().into());
                    writeln!(out, "{}", serde_json::to_string(&v)?)?;
                }
                OutputFormat::Text => print_text(&mut out, path, &report)?,
            },
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
    } else {
        ExitCode::SUCCESS
    })
}

/// Runs `silkgate deidentify`.
pub fn run_deidentify(_args: DeidentifyArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`silkgate deidentify` is not built yet")
}
