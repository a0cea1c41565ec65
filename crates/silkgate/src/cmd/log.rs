//! `silkgate log ...`: audit a node's transparency log from the outside, check receipt bundles
//! offline, list entries, make log and witness keys. The checks themselves are
//! `silkgate-log`'s; this module fetches (HTTP or a directory), shows progress and verdicts.

use std::collections::HashMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context as _, anyhow, bail};
use futures::StreamExt as _;
use indicatif::{ProgressBar, ProgressStyle};
use serde::{Deserialize, Serialize};
use silkgate_log::tile::parse_entry_bundle;
use silkgate_log::{
    Checkpoint, Entry, Hash, KeyName, LogTrust, Note, NoteSigner, Receipt, SignatureType,
    StorageError, TileId, TileKind, TileSource, TrustList, VerifiedCheckpoint, audit_order,
    audit_tiles,
};

/// Subcommands of `silkgate log`.
#[derive(Debug, clap::Subcommand)]
pub enum LogCommand {
    /// Audit a log through its public tile API alone: checkpoint signature and cosignatures,
    /// root recomputed from every tile, every entry against its leaf hash, and consistency with
    /// the checkpoint seen last time.
    Verify(VerifyArgs),
    /// Check a receipt bundle (c2sp.org/tlog-proof) offline with only the trust file.
    VerifyReceipt(VerifyReceiptArgs),
    /// List the most recent entries of a log readably.
    Show(ShowArgs),
    /// Make an Ed25519 key for a log (checkpoints) or a witness (cosignatures).
    Keygen(KeygenArgs),
}

/// Where the log is read from.
#[derive(Debug, clap::Args)]
#[group(required = true, multiple = false)]
pub struct SourceArgs {
    /// Base URL of the node; tiles are read under `<URL>/log/` (a URL already ending in
    /// `/log` is used as is).
    #[arg(long)]
    url: Option<String>,
    /// A directory holding `checkpoint` and `tile/...` in the tlog-tiles layout.
    #[arg(long)]
    dir: Option<PathBuf>,
}

/// Arguments of `silkgate log verify`.
#[derive(Debug, clap::Args)]
pub struct VerifyArgs {
    #[command(flatten)]
    source: SourceArgs,
    /// Trust file: verifier keys of logs and witnesses, and the quorum (see
    /// `silkgate_log::trust`). Without it signatures are not checked, only the tiles.
    #[arg(long)]
    trust: Option<PathBuf>,
    /// PEM of the CA that issued the node's TLS certificate.
    #[arg(long)]
    ca_cert: Option<PathBuf>,
    /// File remembering the last checkpoint verified, to check consistency next time.
    /// Default: `$HOME/.local/state/silkgate/log-<origin>.json`.
    #[arg(long)]
    state: Option<PathBuf>,
    /// Check the tree only, not every entry bundle.
    #[arg(long)]
    no_entries: bool,
    /// Parallel HTTP requests.
    #[arg(long, default_value_t = 4)]
    parallel: usize,
}

/// Arguments of `silkgate log verify-receipt`.
#[derive(Debug, clap::Args)]
pub struct VerifyReceiptArgs {
    /// The receipt bundle file.
    file: PathBuf,
    /// Trust file (log and witness verifier keys, quorum).
    #[arg(long)]
    trust: PathBuf,
}

/// Arguments of `silkgate log show`.
#[derive(Debug, clap::Args)]
pub struct ShowArgs {
    #[command(flatten)]
    source: SourceArgs,
    /// Number of entries, counted back from the newest.
    #[arg(long, default_value_t = 20)]
    last: u64,
    /// Trust file; when given the checkpoint must verify.
    #[arg(long)]
    trust: Option<PathBuf>,
    /// PEM of the CA that issued the node's TLS certificate.
    #[arg(long)]
    ca_cert: Option<PathBuf>,
}

/// Arguments of `silkgate log keygen`.
#[derive(Debug, clap::Args)]
pub struct KeygenArgs {
    /// Key name: for a log, its origin (e.g. `log.kz.silkgate.example`).
    #[arg(long)]
    name: String,
    /// Make a witness cosignature key (type 0x04) instead of a log key (type 0x01).
    #[arg(long)]
    witness: bool,
    /// File to write the private key to (created with mode 0600, never overwritten).
    #[arg(long)]
    out: PathBuf,
}

/// Runs the subcommand. Exit code 0: verified; 1: verification failed (the reason is
/// printed); 2: could not run (bad arguments, unreachable node).
pub fn run(command: LogCommand) -> anyhow::Result<ExitCode> {
    match command {
        LogCommand::Verify(args) => verify(args),
        LogCommand::VerifyReceipt(args) => verify_receipt(args),
        LogCommand::Show(args) => show(args),
        LogCommand::Keygen(args) => keygen(args),
    }
}

fn keygen(args: KeygenArgs) -> anyhow::Result<ExitCode> {
    let name = KeyName::new(&args.name).context("--name")?;
    let kind = if args.witness {
        SignatureType::Cosignature
    } else {
        SignatureType::Ed25519
    };
    let signer = NoteSigner::generate(name, kind);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    writeln!(file, "{}", signer.to_signer_string())?;
    println!("{}", signer.verifier());
    Ok(ExitCode::SUCCESS)
}

fn verify_receipt(args: VerifyReceiptArgs) -> anyhow::Result<ExitCode> {
    let bytes =
        std::fs::read(&args.file).with_context(|| format!("reading {}", args.file.display()))?;
    let trust = read_trust(&args.trust)?;
    let receipt = match Receipt::parse(&bytes) {
        Ok(r) => r,
        Err(e) => return Ok(failed(&format!("{}: {e}", args.file.display()))),
    };
    let origin = match unverified_origin(&receipt.checkpoint) {
        Ok(o) => o,
        Err(e) => return Ok(failed(&format!("receipt checkpoint: {e}"))),
    };
    let log_trust = trust.for_origin(&origin).context("--trust")?;
    match receipt.verify(&log_trust) {
        Ok(v) => {
            let cp = v.checkpoint.checkpoint();
            println!(
                "VERIFIED: entry {} is in log {} at size {} (root {}), cosigned by {} of {} trusted witnesses (quorum {})",
                v.index,
                cp.origin(),
                cp.size(),
                cp.root(),
                v.checkpoint.cosigners().len(),
                log_trust.witness_keys.len(),
                log_trust.quorum
            );
            for (name, ts) in v.checkpoint.cosigners() {
                println!("  cosigned by {name} at {}", format_time(ts * 1000));
            }
            print_entry(v.index, &v.entry);
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => Ok(failed(&e.to_string())),
    }
}

fn failed(reason: &str) -> ExitCode {
    println!("FAILED: {reason}");
    ExitCode::from(1)
}

fn read_trust(path: &Path) -> anyhow::Result<TrustList> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    TrustList::parse(&text).with_context(|| format!("trust file {}", path.display()))
}

fn unverified_origin(checkpoint: &[u8]) -> anyhow::Result<String> {
    let note = Note::parse(checkpoint)?;
    Ok(Checkpoint::parse_text(note.text_unverified())?
        .origin()
        .to_owned())
}

/// Reads tlog-tiles resources from a directory or over HTTP.
struct Fetcher {
    kind: FetcherKind,
}

enum FetcherKind {
    Dir(PathBuf),
    Http {
        client: reqwest::Client,
        prefix: String,
        rt: tokio::runtime::Runtime,
    },
}

impl Fetcher {
    fn new(source: &SourceArgs, ca_cert: Option<&Path>) -> anyhow::Result<Self> {
        if let Some(dir) = &source.dir {
            return Ok(Self {
                kind: FetcherKind::Dir(dir.clone()),
            });
        }
        let url = source.url.as_deref().expect("clap requires --url or --dir");
        let parsed = reqwest::Url::parse(url).with_context(|| format!("--url '{url}'"))?;
        let base = parsed.as_str().trim_end_matches('/');
        let prefix = if base.ends_with("/log") {
            format!("{base}/")
        } else {
            format!("{base}/log/")
        };
        let mut builder = reqwest::Client::builder()
            .connect_timeout(std::time::Duration::from_secs(10))
            .timeout(std::time::Duration::from_secs(60));
        if let Some(ca) = ca_cert {
            let pem = std::fs::read_to_string(ca)
                .with_context(|| format!("reading --ca-cert {}", ca.display()))?;
            let config = silkgate_node::tls::org_client_config(&pem, None)
                .map_err(|e| anyhow!("--ca-cert {}: {e}", ca.display()))?;
            builder = builder.use_preconfigured_tls(config);
        }
        Ok(Self {
            kind: FetcherKind::Http {
                client: builder.build()?,
                prefix,
                rt: tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()?,
            },
        })
    }

    fn get(&self, path: &str) -> anyhow::Result<Vec<u8>> {
        match &self.kind {
            FetcherKind::Dir(dir) => {
                let p = dir.join(path);
                std::fs::read(&p).with_context(|| format!("reading {}", p.display()))
            }
            FetcherKind::Http { client, prefix, rt } => {
                rt.block_on(http_get(client, &format!("{prefix}{path}")))
            }
        }
    }

    /// Fetches `tiles` in order with `parallel` requests in flight, handing them over through
    /// a bounded channel as the audit consumes them.
    fn prefetch(&self, tiles: Vec<TileId>, parallel: usize) -> Option<Prefetched> {
        let FetcherKind::Http { client, prefix, rt } = &self.kind else {
            return None;
        };
        // A tokio channel: the task awaits room instead of blocking a runtime thread, and the
        // synchronous audit takes items with `blocking_recv`.
        let (tx, rx) = tokio::sync::mpsc::channel(parallel.max(1) * 4);
        let client = client.clone();
        let prefix = prefix.clone();
        rt.spawn(async move {
            let mut stream = futures::stream::iter(tiles)
                .map(|t| {
                    let client = client.clone();
                    let url = format!("{prefix}{}", t.path());
                    async move { (t, http_get(&client, &url).await) }
                })
                .buffered(parallel.max(1));
            while let Some(item) = stream.next().await {
                if tx.send(item).await.is_err() {
                    break;
                }
            }
        });
        Some(Prefetched { rx })
    }
}

async fn http_get(client: &reqwest::Client, url: &str) -> anyhow::Result<Vec<u8>> {
    let resp = client
        .get(url)
        .send()
        .await
        .with_context(|| format!("GET {url}"))?;
    let status = resp.status();
    if !status.is_success() {
        bail!("GET {url}: HTTP {status}");
    }
    Ok(resp.bytes().await?.to_vec())
}

struct Prefetched {
    rx: tokio::sync::mpsc::Receiver<(TileId, anyhow::Result<Vec<u8>>)>,
}

/// The audit's [`TileSource`]: prefetched tiles when fetching over HTTP, else direct reads.
struct AuditSource<'a> {
    fetcher: &'a Fetcher,
    prefetched: Option<Prefetched>,
}

impl TileSource for AuditSource<'_> {
    fn fetch(&mut self, tile: &TileId) -> Result<Vec<u8>, StorageError> {
        let to_storage = |e: anyhow::Error| StorageError::Backend(format!("{e:#}").into());
        if let Some(p) = &mut self.prefetched
            && let Some((got, result)) = p.rx.blocking_recv()
        {
            if got == *tile {
                return result.map_err(to_storage);
            }
            // Out of order: should not happen; fall back to direct fetches.
            self.prefetched = None;
        }
        self.fetcher.get(&tile.path()).map_err(to_storage)
    }
}

/// What `silkgate log verify` remembers between runs.
#[derive(Debug, Serialize, Deserialize)]
struct SeenCheckpoint {
    origin: String,
    size: u64,
    root: String,
    checkpoint: String,
}

fn state_path(args: &VerifyArgs, origin: &str) -> anyhow::Result<PathBuf> {
    if let Some(p) = &args.state {
        return Ok(p.clone());
    }
    let home = std::env::var_os("HOME").ok_or_else(|| anyhow!("HOME is not set; use --state"))?;
    let safe: String = origin
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    Ok(PathBuf::from(home)
        .join(".local/state/silkgate")
        .join(format!("log-{safe}.json")))
}

fn verify(args: VerifyArgs) -> anyhow::Result<ExitCode> {
    let fetcher = Fetcher::new(&args.source, args.ca_cert.as_deref())?;
    let checkpoint_bytes = fetcher
        .get("checkpoint")
        .context("fetching the checkpoint")?;
    let origin = match unverified_origin(&checkpoint_bytes) {
        Ok(o) => o,
        Err(e) => return Ok(failed(&format!("checkpoint: {e:#}"))),
    };
    // Signature and cosignatures.
    let checkpoint = if let Some(trust_path) = &args.trust {
        let trust = read_trust(trust_path)?
            .for_origin(&origin)
            .context("--trust")?;
        let v = match VerifiedCheckpoint::open(&checkpoint_bytes, &trust) {
            Ok(v) => v,
            Err(e) => return Ok(failed(&format!("checkpoint signature: {e}"))),
        };
        println!(
            "checkpoint: signed by {origin}; {} of {} trusted witnesses cosigned (quorum {})",
            v.cosigners().len(),
            trust.witness_keys.len(),
            trust.quorum
        );
        if let Err(e) = v.require_quorum(trust.quorum) {
            return Ok(failed(&format!("checkpoint is not final: {e}")));
        }
        v.checkpoint().clone()
    } else {
        println!("checkpoint: signatures NOT checked (no --trust given)");
        let note = Note::parse(&checkpoint_bytes)?;
        Checkpoint::parse_text(note.text_unverified())?
    };
    let size = checkpoint.size();
    println!("log {origin}: size {size}, root {}", checkpoint.root());

    // What we saw last time.
    let state_file = state_path(&args, &origin)?;
    let previous: Option<SeenCheckpoint> = match std::fs::read(&state_file) {
        Ok(bytes) => Some(
            serde_json::from_slice(&bytes)
                .with_context(|| format!("state file {}", state_file.display()))?,
        ),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(e).with_context(|| format!("reading {}", state_file.display())),
    };
    let previous = previous.filter(|p| p.origin == origin);
    if let Some(p) = &previous
        && p.size > size
    {
        return Ok(failed(&format!(
            "ROLLBACK: the log shows size {size}, smaller than the size {} verified before",
            p.size
        )));
    }
    let earlier: Vec<u64> = previous.iter().map(|p| p.size).collect();

    // Every tile.
    let check_entries = !args.no_entries;
    let order = audit_order(size, check_entries);
    let pb = ProgressBar::new(size);
    pb.set_style(
        ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} entries {per_sec} ({eta})")
            .expect("static template is valid")
            .progress_chars("=> "),
    );
    pb.set_message("verifying tiles");
    let started = std::time::Instant::now();
    let mut source = AuditSource {
        fetcher: &fetcher,
        prefetched: fetcher.prefetch(order, args.parallel),
    };
    let result = audit_tiles(
        size,
        checkpoint.root(),
        &earlier,
        check_entries,
        &mut source,
        &mut |n| pb.set_position(n),
    );
    pb.finish_and_clear();
    let (report, roots) = match result {
        Ok(r) => r,
        Err(e) => return Ok(failed(&format!("tiles do not match the checkpoint: {e}"))),
    };
    if let (Some(p), Some(root)) = (&previous, roots.first()) {
        let seen = Hash::from_base64(&p.root).context("state file root")?;
        if *root != seen {
            return Ok(failed(&format!(
                "INCONSISTENT: at size {} the log's tree now has root {root}, but root {seen} was verified before: history was rewritten",
                p.size
            )));
        }
    }
    println!(
        "tiles: {} fetched, {} entries checked, root recomputed in {:.2?}",
        report.tiles_fetched,
        report.entries_checked,
        started.elapsed()
    );
    if let Some(p) = &previous {
        println!(
            "consistent with the checkpoint of size {} verified before",
            p.size
        );
    }
    let seen = SeenCheckpoint {
        origin: origin.clone(),
        size,
        root: checkpoint.root().to_base64(),
        checkpoint: String::from_utf8_lossy(&checkpoint_bytes).into_owned(),
    };
    if let Some(dir) = state_file.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    std::fs::write(&state_file, serde_json::to_vec_pretty(&seen)?)
        .with_context(|| format!("writing {}", state_file.display()))?;
    println!("OK: log {origin} verified at size {size}");
    Ok(ExitCode::SUCCESS)
}

fn show(args: ShowArgs) -> anyhow::Result<ExitCode> {
    let fetcher = Fetcher::new(&args.source, args.ca_cert.as_deref())?;
    let bytes = fetcher
        .get("checkpoint")
        .context("fetching the checkpoint")?;
    let origin = unverified_origin(&bytes)?;
    let checkpoint: Checkpoint = match &args.trust {
        Some(t) => {
            let trust: LogTrust = read_trust(t)?.for_origin(&origin).context("--trust")?;
            match VerifiedCheckpoint::open(&bytes, &trust) {
                Ok(v) => v.checkpoint().clone(),
                Err(e) => return Ok(failed(&format!("checkpoint signature: {e}"))),
            }
        }
        None => Checkpoint::parse_text(Note::parse(&bytes)?.text_unverified())?,
    };
    let size = checkpoint.size();
    println!("log {origin}: size {size}, root {}", checkpoint.root());
    let start = size.saturating_sub(args.last);
    let mut bundles: HashMap<u64, Vec<Vec<u8>>> = HashMap::new();
    for index in start..size {
        let n = index / 256;
        if let std::collections::hash_map::Entry::Vacant(slot) = bundles.entry(n) {
            let width = (size - n * 256).min(256) as u16;
            let tile = TileId {
                kind: TileKind::Entries,
                index: n,
                width,
            };
            let data = fetcher.get(&tile.path())?;
            let entries = parse_entry_bundle(&data)?;
            slot.insert(entries.into_iter().map(<[u8]>::to_vec).collect());
        }
        let raw = bundles[&n]
            .get((index % 256) as usize)
            .ok_or_else(|| anyhow!("entry bundle for entry {index} is short"))?;
        match Entry::parse(raw) {
            Ok(e) => print_entry(index, &e),
            Err(e) => println!("#{index}  (not a Silkgate entry: {e})"),
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn print_entry(index: u64, e: &Entry) {
    println!(
        "#{index}  {}  {}",
        format_time(e.time_ms()),
        e.kind().as_str()
    );
    for (label, value) in e.ids() {
        println!("    {label}: {value}");
    }
    for (label, d) in e.digests() {
        println!("    {label}: sha256:{}", d.to_hex());
    }
}

/// RFC 3339 UTC time of milliseconds since the Epoch (civil-from-days, proleptic Gregorian).
fn format_time(ms: u64) -> String {
    let secs = ms / 1000;
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        ms % 1000
    )
}

#[cfg(test)]
mod tests;
