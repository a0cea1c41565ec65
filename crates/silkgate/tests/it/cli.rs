//! `silkgate init` writes a node with private files, refuses to overwrite it; `demo --once`
//! succeeds from an empty directory and again on the reused one.

use crate::procs::{free_port, silkgate};

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

/// Runs `silkgate org ...` with `--format json` and returns the parsed output.
fn org_json(args: &[&str]) -> serde_json::Value {
    let out = silkgate()
        .arg("org")
        .args(args)
        .args(["--format", "json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "silkgate org {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
}

#[test]
fn organisation_commands_publish_request_approve_fetch_on_a_standalone_node() {
    let dir = tempfile::tempdir().unwrap();
    let node = dir.path().join("kg");
    let port = free_port();
    let url = format!("https://127.0.0.1:{port}");
    let out = silkgate()
        .args([
            "init",
            "--state",
            "KG",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--dir",
        ])
        .arg(&node)
        .output()
        .unwrap();
    assert!(out.status.success());
    let mut child = silkgate()
        .args(["node", "--dir"])
        .arg(&node)
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let ca = node.join("ca.crt");
    let token = node.join("keys/operator.token");
    let p = |name: &str| dir.path().join(name).to_string_lossy().into_owned();
    // Wait for the node.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let register = |name: &str, out_file: &str| {
        silkgate()
            .args(["org", "register", "--node", &url, "--ca"])
            .arg(&ca)
            .arg("--operator-token-file")
            .arg(&token)
            .args([
                "--name",
                name,
                "--registration-number",
                "7",
                "--sector",
                "trade",
                "--contact",
                "dpo@example.kg",
                "--out",
                out_file,
                "--format",
                "json",
            ])
            .output()
            .unwrap()
    };
    let provider = loop {
        let out = register("Tian Shan Freight", &p("provider.json"));
        if out.status.success() {
            break serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap();
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    assert!(
        register("Issyk-Kul Analytics", &p("consumer.json"))
            .status
            .success()
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        assert_eq!(
            std::fs::metadata(p("consumer.json"))
                .unwrap()
                .permissions()
                .mode()
                & 0o777,
            0o600
        );
    }

    std::fs::write(
        p("freight.csv"),
        "route,tonnes\nBishkek-Osh,120\nOsh-Kashgar,75\n",
    )
    .unwrap();
    let published = org_json(&[
        "publish",
        "--cred",
        &p("provider.json"),
        "--file",
        &p("freight.csv"),
        "--dataset-id",
        "freight",
        "--title",
        "Freight 2025",
        "--visibility",
        "national",
    ]);
    let sha = published["sha256"].as_str().unwrap().to_owned();
    let page = org_json(&["catalogue", "--cred", &p("consumer.json"), "--q", "freight"]);
    assert_eq!(page["items"][0]["dataset_id"], "freight");

    let t = org_json(&[
        "request",
        "--cred",
        &p("consumer.json"),
        "--provider",
        provider["id"].as_str().unwrap(),
        "--dataset-id",
        "freight",
        "--sha256",
        &sha,
        "--purpose",
        "route planning",
        "--request-id",
        "r1",
    ]);
    let id = t["id"].as_str().unwrap().to_owned();
    let incoming = org_json(&[
        "transfers",
        "--cred",
        &p("provider.json"),
        "--role",
        "provider",
    ]);
    assert_eq!(incoming[0]["id"], id.as_str());
    org_json(&["approve", "--cred", &p("provider.json"), &id]);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let list = org_json(&[
            "transfers",
            "--cred",
            &p("consumer.json"),
            "--role",
            "consumer",
        ]);
        if list[0]["status"] == "delivered" {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{list}");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    org_json(&[
        "fetch",
        "--cred",
        &p("consumer.json"),
        &id,
        "--out",
        &p("got.csv"),
    ]);
    assert_eq!(
        std::fs::read(p("got.csv")).unwrap(),
        std::fs::read(p("freight.csv")).unwrap()
    );
    let events = org_json(&["events", "--cred", &p("consumer.json"), &id]);
    assert!(
        events
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["kind"] == "transfer.delivery-received")
    );
    // A wrong credential path is a clear error, not a panic.
    let bad = silkgate()
        .args(["org", "transfers", "--cred"])
        .arg(p("missing.json"))
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("missing.json"));

    // Every step of an agreement from the command line, through the same API: here between
    // two organisations of this state (a domestic agreement needs no other node).
    let agreement = |args: &[&str]| {
        let out = silkgate().arg("agreement").args(args).output().unwrap();
        (
            out.status.success(),
            serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap_or_default(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (ok, listed, err) = agreement(&["list", "--cred", &p("provider.json"), "--format", "json"]);
    assert!(ok, "{err}");
    assert_eq!(listed, serde_json::json!([]));
    let consumer_id = serde_json::from_str::<serde_json::Value>(
        &std::fs::read_to_string(p("consumer.json")).unwrap(),
    )
    .unwrap()["credentials"]["organisation"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let propose = |template: &str| {
        agreement(&[
            "propose",
            "--cred",
            &p("provider.json"),
            "--template",
            template,
            "--counterparty",
            &consumer_id,
            "--role",
            "provider",
            "--request-id",
            "cli-ag-1",
            "--format",
            "json",
        ])
    };
    let (ok, _, err) = propose("no-such-template");
    assert!(!ok);
    assert!(err.contains("template"), "{err}");
    let (ok, proposed, err) = propose("trade");
    assert!(ok, "{err}");
    assert_eq!(proposed["status"], "proposed", "{proposed}");
    let id = proposed["id"].as_str().unwrap().to_owned();
    let (ok, accepted, err) = agreement(&[
        "accept",
        "--cred",
        &p("consumer.json"),
        &id,
        "--format",
        "json",
    ]);
    assert!(ok, "{err}");
    assert_eq!(accepted["status"], "active", "{accepted}");
    let ca_arg = ca.to_string_lossy().into_owned();
    let token_arg = token.to_string_lossy().into_owned();
    let operator = [
        "--node",
        &url,
        "--ca",
        &ca_arg,
        "--operator-token-file",
        &token_arg,
    ];
    let with = |cmd: &str, extra: &[&str]| {
        let mut args = vec![cmd];
        args.extend(operator);
        args.extend(extra);
        args.extend(["--format", "json"]);
        agreement(&args)
    };
    let (ok, suspended, err) = with("suspend", &[&id, "--reason", "inspection"]);
    assert!(ok, "{err}");
    assert_eq!(suspended["status"], "suspended", "{suspended}");
    let (ok, all, err) = agreement(&["list", "--cred", &p("consumer.json"), "--format", "json"]);
    assert!(ok, "{err}");
    assert_eq!(all.as_array().map(Vec::len), Some(1), "{all}");
    assert_eq!(all[0]["status"], "suspended", "{all}");
    let (ok, resumed, err) = with("resume", &[&id, "--reason", "inspection closed"]);
    assert!(ok, "{err}");
    assert_eq!(resumed["status"], "active", "{resumed}");
    let (ok, events, err) = agreement(&[
        "events",
        "--cred",
        &p("consumer.json"),
        &id,
        "--format",
        "json",
    ]);
    assert!(ok, "{err}");
    let kinds: Vec<&str> = events
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["kind"].as_str())
        .collect();
    for kind in [
        "agreement.proposed",
        "agreement.signed",
        "agreement.suspended",
        "agreement.resumed",
    ] {
        assert!(kinds.contains(&kind), "{kind} in {kinds:?}");
    }
    let _ = child.kill();
    let _ = child.wait();
}
