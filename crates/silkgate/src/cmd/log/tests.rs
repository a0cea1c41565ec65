//! End-to-end checks of `silkgate log` against logs written to directories and served over
//! loopback HTTP.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use silkgate_log::tile::tiles_for_size;
use silkgate_log::{
    Digest, Entry, EventKind, KeyName, Log, MemoryStorage, NoteSigner, SignatureType,
};

use super::*;

const ORIGIN: &str = "log.kz.silkgate.example";

fn scratch(name: &str) -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_nanos();
    let dir = std::env::temp_dir().join(format!(
        "silkgate-cli-{name}-{}-{nanos}",
        std::process::id()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn log_key() -> NoteSigner {
    NoteSigner::from_seed(
        KeyName::new(ORIGIN).unwrap(),
        SignatureType::Ed25519,
        [1; 32],
    )
}

fn witness_key(i: u8) -> NoteSigner {
    NoteSigner::from_seed(
        KeyName::new(&format!("witness{i}.silkgate.example")).unwrap(),
        SignatureType::Cosignature,
        [20 + i; 32],
    )
}

fn entry(i: u64, variant: &str) -> Entry {
    Entry::builder(
        EventKind::new("transfer.requested").unwrap(),
        1_764_147_600_000 + i,
    )
    .id("transfer", &format!("tr-{i}"))
    .digest("payload", Digest::of(format!("{variant} {i}").as_bytes()))
    .build()
    .unwrap()
}

fn log_of(n: u64, variant: &str) -> Log<MemoryStorage> {
    let mut log = Log::open(ORIGIN, log_key(), MemoryStorage::new()).unwrap();
    let entries: Vec<Entry> = (0..n).map(|i| entry(i, variant)).collect();
    log.append_batch(&entries).unwrap();
    log
}

/// Writes checkpoint (cosigned by witnesses 1 and 2) and tiles in the tlog-tiles layout.
fn publish(log: &mut Log<MemoryStorage>, dir: &Path) {
    let _ = std::fs::remove_dir_all(dir.join("tile"));
    let mut note = log.sign_checkpoint().unwrap();
    for w in [witness_key(1), witness_key(2)] {
        note.add_signature(w.sign(note.text_unverified(), 1_764_147_600).unwrap());
    }
    std::fs::write(dir.join("checkpoint"), note.to_bytes()).unwrap();
    for tile in tiles_for_size(log.size(), true) {
        let path = dir.join(tile.path());
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, log.read_tile(&tile.path(), log.size()).unwrap()).unwrap();
    }
}

fn trust_file(dir: &Path, quorum: usize) -> PathBuf {
    let path = dir.join(format!("trust-q{quorum}"));
    let text = format!(
        "# test trust file\n{}\n{}\n{}\n{}\nquorum {quorum}\n",
        log_key().verifier(),
        witness_key(1).verifier(),
        witness_key(2).verifier(),
        witness_key(3).verifier(),
    );
    std::fs::write(&path, text).unwrap();
    path
}

fn code(c: ExitCode) -> String {
    format!("{c:?}")
}

fn verify_args(source: SourceArgs, trust: Option<PathBuf>, state: PathBuf) -> VerifyArgs {
    VerifyArgs {
        source,
        trust,
        ca_cert: None,
        state: Some(state),
        no_entries: false,
        parallel: 4,
    }
}

fn dir_source(dir: &Path) -> SourceArgs {
    SourceArgs {
        url: None,
        dir: Some(dir.to_owned()),
    }
}

#[test]
fn verify_follows_a_growing_log_and_catches_a_rewrite() {
    let base = scratch("verify");
    let site = base.join("site");
    std::fs::create_dir_all(&site).unwrap();
    let trust = trust_file(&base, 2);
    let state = base.join("state.json");

    let mut log = log_of(600, "honest");
    publish(&mut log, &site);
    let ok = verify(verify_args(
        dir_source(&site),
        Some(trust.clone()),
        state.clone(),
    ))
    .unwrap();
    assert_eq!(code(ok), code(ExitCode::SUCCESS));
    let seen: SeenCheckpoint = serde_json::from_slice(&std::fs::read(&state).unwrap()).unwrap();
    assert_eq!(seen.size, 600);

    // Grown honestly: consistent.
    log.append_batch(&(600..1000).map(|i| entry(i, "honest")).collect::<Vec<_>>())
        .unwrap();
    publish(&mut log, &site);
    let ok = verify(verify_args(
        dir_source(&site),
        Some(trust.clone()),
        state.clone(),
    ))
    .unwrap();
    assert_eq!(code(ok), code(ExitCode::SUCCESS));

    // Rewritten and re-signed with the log's own key: the tiles match the new checkpoint, but
    // not what was verified before.
    let mut forged = log_of(1200, "rewritten");
    publish(&mut forged, &site);
    let bad = verify(verify_args(
        dir_source(&site),
        Some(trust.clone()),
        state.clone(),
    ))
    .unwrap();
    assert_eq!(code(bad), code(ExitCode::from(1)));

    // Shrunk: a rollback.
    let mut small = log_of(10, "honest");
    publish(&mut small, &site);
    let bad = verify(verify_args(
        dir_source(&site),
        Some(trust.clone()),
        state.clone(),
    ))
    .unwrap();
    assert_eq!(code(bad), code(ExitCode::from(1)));

    // A quorum of 3 is not met by 2 cosignatures.
    let strict = trust_file(&base, 3);
    let fresh = base.join("fresh.json");
    let bad = verify(verify_args(dir_source(&site), Some(strict), fresh)).unwrap();
    assert_eq!(code(bad), code(ExitCode::from(1)));

    // A tampered tile fails the audit.
    let mut log = log_of(700, "honest");
    publish(&mut log, &site);
    let tile = site.join("tile/entries/001");
    let mut bytes = std::fs::read(&tile).unwrap();
    bytes[10] ^= 1;
    std::fs::write(&tile, bytes).unwrap();
    let bad = verify(verify_args(
        dir_source(&site),
        Some(trust),
        base.join("other.json"),
    ))
    .unwrap();
    assert_eq!(code(bad), code(ExitCode::from(1)));
    let _ = std::fs::remove_dir_all(&base);
}

#[test]
fn verify_receipt_accepts_a_cosigned_receipt_and_refuses_a_tampered_one() {
    let base = scratch("receipt");
    let trust = trust_file(&base, 2);
    let mut log = log_of(300, "honest");
    let mut note = log.sign_checkpoint().unwrap();
    for w in [witness_key(1), witness_key(2)] {
        note.add_signature(w.sign(note.text_unverified(), 1_764_147_600).unwrap());
    }
    let receipt = log.receipt(123, &note.to_bytes()).unwrap();
    let file = base.join("r.tlog-proof");
    std::fs::write(&file, receipt.to_bytes()).unwrap();
    let ok = verify_receipt(VerifyReceiptArgs {
        file: file.clone(),
        trust: trust.clone(),
    })
    .unwrap();
    assert_eq!(code(ok), code(ExitCode::SUCCESS));

    let mut tampered = receipt.clone();
    tampered.index = 124;
    std::fs::write(&file, tampered.to_bytes()).unwrap();
    let bad = verify_receipt(VerifyReceiptArgs {
        file: file.clone(),
        trust,
    })
    .unwrap();
    assert_eq!(code(bad), code(ExitCode::from(1)));

    std::fs::write(&file, b"not a receipt").unwrap();
    let bad = verify_receipt(VerifyReceiptArgs {
        file,
        trust: trust_file(&base, 0),
    })
    .unwrap();
    assert_eq!(code(bad), code(ExitCode::from(1)));
    let _ = std::fs::remove_dir_all(&base);
}

/// Serves a directory over loopback HTTP/1.1, one connection at a time, enough for reqwest.
fn serve_dir(root: PathBuf) -> String {
    use std::io::{BufRead as _, BufReader, Write as _};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            let root = root.clone();
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut stream = stream;
                loop {
                    let mut request = String::new();
                    if reader.read_line(&mut request).unwrap_or(0) == 0 {
                        return;
                    }
                    let mut line = String::new();
                    while reader.read_line(&mut line).unwrap_or(0) > 2 {
                        line.clear();
                    }
                    let path = request.split(' ').nth(1).unwrap_or("/");
                    let rel = path.trim_start_matches("/log/");
                    let (status, body) = match std::fs::read(root.join(rel)) {
                        Ok(b) if path.starts_with("/log/") => ("200 OK", b),
                        _ => ("404 Not Found", Vec::new()),
                    };
                    let head = format!(
                        "HTTP/1.1 {status}\r\ncontent-length: {}\r\ncontent-type: application/octet-stream\r\n\r\n",
                        body.len()
                    );
                    if stream
                        .write_all(head.as_bytes())
                        .and_then(|()| stream.write_all(&body))
                        .is_err()
                    {
                        return;
                    }
                }
            });
        }
    });
    format!("http://{addr}")
}

#[test]
fn verify_and_show_over_http() {
    let base = scratch("http");
    let site = base.join("site");
    std::fs::create_dir_all(&site).unwrap();
    let mut log = log_of(1_500, "honest");
    publish(&mut log, &site);
    let url = serve_dir(site.clone());
    let source = || SourceArgs {
        url: Some(url.clone()),
        dir: None,
    };
    let ok = verify(verify_args(
        source(),
        Some(trust_file(&base, 2)),
        base.join("s.json"),
    ))
    .unwrap();
    assert_eq!(code(ok), code(ExitCode::SUCCESS));
    let ok = show(ShowArgs {
        source: source(),
        last: 300,
        trust: Some(trust_file(&base, 2)),
        ca_cert: None,
    })
    .unwrap();
    assert_eq!(code(ok), code(ExitCode::SUCCESS));
    // A node that serves no log: a clear error, not a verdict.
    let missing = SourceArgs {
        url: Some(format!("{url}/nothing")),
        dir: None,
    };
    let err = verify(verify_args(missing, None, base.join("t.json"))).unwrap_err();
    assert!(format!("{err:#}").contains("404"), "{err:#}");
    let _ = std::fs::remove_dir_all(&base);
}

#[test]
fn times_are_rfc3339_utc() {
    assert_eq!(format_time(0), "1970-01-01T00:00:00.000Z");
    assert_eq!(format_time(1_764_147_600_123), "2025-11-26T09:00:00.123Z");
    assert_eq!(format_time(951_782_400_000), "2000-02-29T00:00:00.000Z");
}
