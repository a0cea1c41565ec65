//! Interoperability with a verifier no one here wrote: Go's `golang.org/x/mod/sumdb/tlog` and
//! `.../note` (Debian `golang-go`, `golang-golang-x-mod-dev`), built offline in GOPATH mode.
//! The log is written to a directory in the C2SP tlog-tiles layout; `tests/go/verify_tiles.go`
//! checks the checkpoint signature, the root from the tiles, every entry against its leaf hash,
//! inclusion proofs and a consistency proof, then signs a note that we verify here.
//!
//! Gated by `SILKGATE_LOG_GO_INTEROP=1`, which `.ci/setup/50-log.sh` exports after installing
//! the Go packages.

use std::path::{Path, PathBuf};
use std::process::Command;

use silkgate_log::tile::tiles_for_size;
use silkgate_log::{KeyName, Note, NoteSigner, SignatureType, Verifiers, tree_hash};

use crate::common::log_with;

fn scratch_dir(name: &str) -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_nanos();
    let dir = std::env::temp_dir().join(format!("silkgate-{name}-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("create scratch directory");
    dir
}

fn go(dir: &Path, args: &[&str]) -> std::process::Output {
    Command::new("go")
        .args(args)
        .env("GO111MODULE", "off")
        .env("GOPATH", "/usr/share/gocode")
        .env("GOCACHE", dir.join("gocache"))
        .env_remove("GOFLAGS")
        .output()
        .expect("run go")
}

#[test]
fn go_sumdb_verifies_our_checkpoint_tiles_and_entries() {
    if std::env::var("SILKGATE_LOG_GO_INTEROP").as_deref() != Ok("1") {
        eprintln!(
            "NOT RUN: Go interoperability test (set SILKGATE_LOG_GO_INTEROP=1 with golang-go and \
             golang-golang-x-mod-dev installed; .ci/setup/50-log.sh does this)"
        );
        return;
    }
    let dir = scratch_dir("go-interop");
    // 70,000 entries: full and partial tiles at levels 0, 1 and 2 (tlog-tiles' own example).
    let size = 70_000;
    let old_size = 12_345;
    let mut log = log_with(size, 4_096);
    let checkpoint = log.sign_checkpoint().unwrap();
    std::fs::write(dir.join("checkpoint"), checkpoint.to_bytes()).unwrap();
    for tile in tiles_for_size(size, true) {
        let path = dir.join(tile.path());
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, log.read_tile(&tile.path(), size).unwrap()).unwrap();
    }
    let vkey = crate::common::log_signer(1).verifier().to_string();
    let go_signer = NoteSigner::from_seed(
        KeyName::new("go.interop.silkgate.example").unwrap(),
        SignatureType::Ed25519,
        [77; 32],
    );

    let program = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/go/verify_tiles.go");
    let binary = dir.join("verify_tiles");
    let build = go(
        &dir,
        &[
            "build",
            "-o",
            binary.to_str().unwrap(),
            program.to_str().unwrap(),
        ],
    );
    assert!(
        build.status.success(),
        "go build failed: {}",
        String::from_utf8_lossy(&build.stderr)
    );
    let run = Command::new(&binary)
        .args([
            dir.to_str().unwrap(),
            &vkey,
            &old_size.to_string(),
            &go_signer.to_signer_string(),
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success(),
        "Go verifier refused the log: {}{stdout}",
        String::from_utf8_lossy(&run.stderr)
    );
    let old_root = tree_hash(old_size, log.storage()).unwrap();
    assert_eq!(
        stdout.trim(),
        format!("OK {size} {} old={old_size}:{}", log.root(), old_root),
        "Go computed the same roots"
    );

    // The other direction: a note Go signed with a key given as our signer string verifies
    // with our verifier key.
    let go_note = std::fs::read(dir.join("go-note")).unwrap();
    let opened = Verifiers::new(vec![go_signer.verifier()])
        .open(Note::parse(&go_note).unwrap())
        .unwrap();
    assert_eq!(opened.text(), "signed by x/mod/sumdb/note\n");

    // And Go must refuse a tampered tile: flip one byte of a level-1 tile.
    let tile = dir.join("tile/1/000");
    let mut bytes = std::fs::read(&tile).unwrap();
    bytes[100] ^= 1;
    std::fs::write(&tile, bytes).unwrap();
    let run = Command::new(&binary)
        .args([
            dir.to_str().unwrap(),
            &vkey,
            &old_size.to_string(),
            &go_signer.to_signer_string(),
        ])
        .output()
        .unwrap();
    assert!(!run.status.success(), "Go must refuse a tampered tile");
    let _ = std::fs::remove_dir_all(&dir);
}
