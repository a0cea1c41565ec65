//! Throughput benchmark: single-core scan of a generated CSV with 20 mixed columns, next to
//! `wc -l` on the same file in the same run, peak memory, and de-identification throughput.
//!
//! Run: `cargo bench -p silkgate-scan --bench throughput` (1 GiB by default; set
//! `SILKGATE_BENCH_MIB` for another size and `SILKGATE_BENCH_DIR` for where the file goes).
//! The file is 12 labelled and 8 distractor columns from `silkgate_scan::corpus`: a block of
//! 50 000 generated rows repeated until the size is reached (repetition does not change the
//! work per byte; it only lowers the distinct-subject count). Each timing is the best of
//! `SILKGATE_BENCH_RUNS` runs (default 3) on a warm page cache; `SILKGATE_BENCH_KEEP=1`
//! keeps the file for the next run. The scan is timed with the default options (pinned
//! columns sampled, `check_every` 8) and again checking every value (`check_every` 1), and
//! the sampled counts are compared with the exact ones. `SILKGATE_BENCH_SCAN_ONLY=1` stops
//! after the default scan (for profiling).

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

use silkgate_scan::corpus::{ColumnSpec, Corpus, Kind};
use silkgate_scan::{Entity, Generalisation, Keys, Plan, ScanOptions, Transform, deidentify, scan};

fn columns() -> Vec<ColumnSpec> {
    use Entity::*;
    let labelled = [
        (PersonName, "ФИО"),
        (KzIin, "iin"),
        (Phone, "phone"),
        (Email, "email"),
        (DateOfBirth, "birth_date"),
        (CnResidentId, "col_6"),
        (PaymentCard, "card_number"),
        (RuSnils, "snils"),
        (InAadhaar, "col_9"),
        (Gender, "gender"),
        (Iban, "iban"),
        (UzPinfl, "col_12"),
    ];
    let mut cols: Vec<ColumnSpec> = labelled
        .iter()
        .map(|(e, h)| ColumnSpec {
            header: (*h).to_owned(),
            label: Some(*e),
            kind: Kind::Entity(*e),
        })
        .collect();
    let distractors = [
        (Kind::Amount, "amount"),
        (Kind::OrderNumber, "order_no"),
        (Kind::Sku, "sku"),
        (Kind::FailingChecksum(KzIin), "code"),
        (Kind::EventDate, "order_date"),
        (Kind::City, "city"),
        (Kind::Product, "product"),
        (Kind::RandomDigits(16), "tracking"),
    ];
    cols.extend(distractors.iter().map(|(k, h)| ColumnSpec {
        header: (*h).to_owned(),
        label: None,
        kind: *k,
    }));
    cols
}

/// Peak resident memory of this process (VmHWM), in KiB.
fn peak_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// Resets the peak-memory mark (Linux `clear_refs` value 5), so each phase is measured alone.
fn reset_peak() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// Writes the bench file: a block of 50 000 generated rows repeated up to `mib` MiB.
fn generate(path: &std::path::Path, cols: &[ColumnSpec], mib: u64) {
    let mut corpus = Corpus::new(42);
    let mut block = Vec::new();
    {
        let mut w = csv::WriterBuilder::new().from_writer(&mut block);
        for row in 0..50_000u64 {
            let rec: Vec<String> = cols.iter().map(|c| corpus.value(c.kind, row)).collect();
            w.write_record(&rec).expect("write to memory");
        }
        w.flush().expect("flush to memory");
    }
    let target = mib << 20;
    let mut f = BufWriter::new(File::create(path).expect("create the bench file"));
    let header: Vec<&str> = cols.iter().map(|c| c.header.as_str()).collect();
    writeln!(f, "{}", header.join(",")).expect("write");
    let mut written = 0u64;
    while written < target {
        f.write_all(&block).expect("write");
        written += block.len() as u64;
    }
    f.flush().expect("flush");
    drop(f);
    drop(block);
}

/// CPU seconds (user + system) used so far by this process and by its waited-for
/// children, from `/proc/self/stat` (clock ticks of 1/100 s). On a shared machine the CPU
/// time of a single-threaded run is its single-core cost, whatever else runs beside it.
fn cpu_secs() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which is in parentheses and may hold spaces).
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<u64> = rest
        .split_whitespace()
        .map(|x| x.parse().unwrap_or(0))
        .collect();
    // utime, stime, cutime, cstime are fields 14-17 of the whole line, 12-15 of `rest`.
    f.get(11..15)
        .map_or(0.0, |v| v.iter().sum::<u64>() as f64 / 100.0)
}

/// Timing of the fastest of several runs: wall-clock and CPU seconds.
#[derive(Clone, Copy)]
struct Timing {
    wall: f64,
    cpu: f64,
}

/// The fastest of `n` runs of `f` (by CPU time), with the last result.
fn best_of<T>(n: usize, mut f: impl FnMut() -> T) -> (Timing, T) {
    let mut best = Timing {
        wall: f64::INFINITY,
        cpu: f64::INFINITY,
    };
    let mut last = None;
    for _ in 0..n {
        let t = Instant::now();
        let c = cpu_secs();
        let r = f();
        let run = Timing {
            wall: t.elapsed().as_secs_f64(),
            cpu: cpu_secs() - c,
        };
        if run.cpu < best.cpu {
            best = run;
        }
        last = Some(r);
    }
    (best, last.expect("n > 0"))
}

fn main() {
    // `cargo bench` passes `--bench`; nothing else is expected.
    let mib: u64 = std::env::var("SILKGATE_BENCH_MIB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1024);
    let dir = std::env::var_os("SILKGATE_BENCH_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    let path = dir.join(format!("silkgate-scan-bench-{mib}MiB.csv"));
    let cols = columns();

    let t = Instant::now();
    if std::fs::metadata(&path)
        .map(|m| m.len() >= mib << 20)
        .unwrap_or(false)
    {
        eprintln!("reusing {}", path.display());
    } else {
        generate(&path, &cols, mib);
    }
    let size = std::fs::metadata(&path).expect("stat").len();
    eprintln!("file ready in {:.1?}", t.elapsed());

    // Warm the page cache so neither measurement pays for the disk.
    let _ = Command::new("cat")
        .arg(&path)
        .stdout(std::process::Stdio::null())
        .status();
    let runs: usize = std::env::var("SILKGATE_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);
    let (wc_secs, wc) = best_of(runs, || {
        Command::new("wc")
            .arg("-l")
            .arg(&path)
            .output()
            .expect("run wc -l")
    });
    let lines = String::from_utf8_lossy(&wc.stdout)
        .split_whitespace()
        .next()
        .unwrap_or("?")
        .to_owned();

    reset_peak();
    let (scan_secs, report) = best_of(runs, || {
        scan(File::open(&path).expect("open"), &ScanOptions::default()).expect("scan")
    });
    let scan_peak = peak_kib();
    let labelled_ok = cols
        .iter()
        .zip(&report.columns)
        .filter(|(c, r)| c.label == r.entity)
        .count();

    if std::env::var_os("SILKGATE_BENCH_SCAN_ONLY").is_some() {
        println!(
            "scan: CPU {:.2} s ({:.0} MB/s), wall {:.2} s",
            scan_secs.cpu,
            size as f64 / 1e6 / scan_secs.cpu,
            scan_secs.wall
        );
        return;
    }
    // The same scan checking every value (`check_every: 1`, exact counts).
    reset_peak();
    let (exact_secs, exact_report) = best_of(runs, || {
        let opts = ScanOptions {
            check_every: 1,
            ..ScanOptions::default()
        };
        scan(File::open(&path).expect("open"), &opts).expect("scan")
    });
    let exact_peak = peak_kib();
    let exact_ok = cols
        .iter()
        .zip(&exact_report.columns)
        .filter(|(c, r)| c.label == r.entity)
        .count();
    // How far the sampled counts are from the exact ones.
    let worst_matched_error = report
        .columns
        .iter()
        .zip(&exact_report.columns)
        .filter(|(_, e)| e.entity.is_some() && e.matched > 0)
        .map(|(s, e)| s.matched.abs_diff(e.matched) as f64 / e.matched as f64)
        .fold(0.0, f64::max);
    let plan = Plan {
        columns: [
            ("ФИО", Transform::Pseudonymise),
            ("iin", Transform::Pseudonymise),
            (
                "phone",
                Transform::Mask {
                    keep_prefix: 0,
                    keep_suffix: 2,
                },
            ),
            ("email", Transform::Drop),
            (
                "birth_date",
                Transform::Generalise {
                    to: Generalisation::Year,
                },
            ),
            ("card_number", Transform::Tokenise),
            ("snils", Transform::Pseudonymise),
            (
                "col_9",
                Transform::Mask {
                    keep_prefix: 0,
                    keep_suffix: 4,
                },
            ),
        ]
        .into_iter()
        .map(|(c, t)| (c.to_owned(), t))
        .collect(),
    };
    let keys = Keys::new()
        .with_pseudonymisation([1; 32])
        .with_tokenisation([2; 32]);
    reset_peak();
    let (deid_secs, deid) = best_of(runs, || {
        deidentify(
            File::open(&path).expect("open"),
            std::io::sink(),
            &plan,
            &keys,
        )
        .expect("deidentify")
    });
    let deid_peak = peak_kib();

    let mb = size as f64 / 1e6;
    println!("file: {size} bytes, {lines} lines, 20 columns (12 labelled, 8 distractors)");
    println!("(MB = 10^6 bytes; CPU = user+system seconds of the single thread; wall in brackets)");
    println!(
        "wc -l:       CPU {:.2} s  {:>6.0} MB/s   [wall {:.2} s]",
        wc_secs.cpu,
        mb / wc_secs.cpu.max(0.01),
        wc_secs.wall
    );
    println!(
        "scan:        CPU {:.2} s  {:>6.0} MB/s   [wall {:.2} s, {:.0} MB/s]  {:.1}x the CPU time of wc -l; {} rows; {labelled_ok}/20 columns labelled as generated; peak RSS {:.1} MiB",
        scan_secs.cpu,
        mb / scan_secs.cpu,
        scan_secs.wall,
        mb / scan_secs.wall,
        scan_secs.cpu / wc_secs.cpu.max(0.01),
        report.rows,
        scan_peak as f64 / 1024.0
    );
    println!(
        "scan --exact: CPU {:.2} s  {:>6.0} MB/s   [wall {:.2} s]  every value checked; {exact_ok}/20 columns labelled as generated; subjects {} (sampled scan: {}); largest relative difference of a sampled `matched` from the exact count: {:.4}; peak RSS {:.1} MiB",
        exact_secs.cpu,
        mb / exact_secs.cpu,
        exact_secs.wall,
        exact_report.subjects_estimate,
        report.subjects_estimate,
        worst_matched_error,
        exact_peak as f64 / 1024.0
    );
    println!(
        "de-identify: CPU {:.2} s  {:>6.0} MB/s   [wall {:.2} s]  8 transformed columns, {:.0} MB out, residual {}, peak RSS {:.1} MiB",
        deid_secs.cpu,
        mb / deid_secs.cpu,
        deid_secs.wall,
        deid.bytes_out as f64 / 1e6,
        deid.residual.len(),
        deid_peak as f64 / 1024.0
    );
    if std::env::var_os("SILKGATE_BENCH_KEEP").is_none() {
        let _ = std::fs::remove_file(&path);
    }
}
