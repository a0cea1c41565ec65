//! `silkgate init` writes a node with private files, refuses to overwrite it; `demo --once`
//! succeeds from an empty directory and again on the reused one.

use std::process::Command;

fn silkgate() -> Command {
    Command::new(env!("CARGO_BIN_EXE_silkgate"))
}

#[test]
fn init_writes_keys_0600_and_refuses_to_overwrite() {
    let dir = tempfile::tempdir().unwrap();
    let node = dir.path().join("kz");
    let out = silkgate()
        .args(["init", "--state", "KZ", "--dir"])
        .arg(&node)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for f in [
        "silkgate.toml",
        "ca.crt",
        "tls.crt",
        "trust-list.json",
        "keys/node-signing.key",
        "keys/ca.key",
        "keys/tls.key",
        "keys/operator.token",
    ] {
        assert!(node.join(f).exists(), "{f} missing");
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        for f in [
            "keys/node-signing.key",
            "keys/ca.key",
            "keys/tls.key",
            "keys/operator.token",
            "keys/committee.key",
        ] {
            let mode = std::fs::metadata(node.join(f))
                .unwrap()
                .permissions()
                .mode()
                & 0o777;
            assert_eq!(mode, 0o600, "{f} has mode {mode:o}");
        }
    }
    let config = std::fs::read_to_string(node.join("silkgate.toml")).unwrap();
    assert!(config.contains("state = \"KZ\""), "{config}");
    let again = silkgate()
        .args(["init", "--state", "KZ", "--dir"])
        .arg(&node)
        .output()
        .unwrap();
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("already holds a node"));
    let bad = silkgate()
        .args(["init", "--state", "kz", "--dir"])
        .arg(dir.path().join("x"))
        .output()
        .unwrap();
    assert!(!bad.status.success());
}

#[test]
fn demo_once_succeeds_fresh_and_on_the_reused_directory() {
    let dir = tempfile::tempdir().unwrap();
    for run in 1..=2 {
        let out = silkgate()
            .args(["demo", "--once", "--dir"])
            .arg(dir.path().join("demo"))
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "run {run}: {stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            stdout.contains("6 transfers delivered, 0 failed"),
            "{stdout}"
        );
        assert!(
            stdout.contains(&format!("trust list version {run}")),
            "{stdout}"
        );
        assert_eq!(
            stdout.matches("signature and SHA-256 verified").count(),
            6,
            "{stdout}"
        );
    }
}
