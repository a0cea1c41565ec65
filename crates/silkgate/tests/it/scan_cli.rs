//! `silkgate scan` fails closed: its exit code says whether every file was read in full
//! (0), some review is incomplete (2) or some file could not be scanned (1); identifiers
//! below a column's labelling threshold still make the file personal.

use std::path::Path;

use crate::procs::silkgate;

fn scan_json(args: &[&str], file: &Path) -> (i32, serde_json::Value) {
    let out = silkgate()
        .args(["scan", "--format", "json"])
        .args(args)
        .arg(file)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let report = serde_json::from_str(stdout.trim())
        .unwrap_or_else(|e| panic!("{e}: {stdout} {}", String::from_utf8_lossy(&out.stderr)));
    (out.status.code().unwrap(), report)
}

#[test]
fn exit_code_and_categories_fail_closed() {
    let dir = tempfile::tempdir().unwrap();
    // 40 % e-mails: below the 80 % labelling threshold, still personal, exit 0.
    let emails = dir.path().join("emails.csv");
    let mut text = String::from("id,note\n");
    for i in 0..3000 {
        if i % 5 < 2 {
            text.push_str(&format!("{i},person{i}@mail.kz\n"));
        } else {
            text.push_str(&format!("{i},delivered on time\n"));
        }
    }
    std::fs::write(&emails, &text).unwrap();
    let (code, r) = scan_json(&[], &emails);
    assert_eq!(code, 0, "{r}");
    assert_eq!(r["complete"], true);
    assert!(
        r["categories"]
            .as_array()
            .unwrap()
            .contains(&"personal".into()),
        "{r}"
    );
    assert!(r["subjects_estimate"].as_u64().unwrap() >= 1140, "{r}");
    assert_eq!(r["columns"][1]["counts"][0]["entity"], "EMAIL");

    // JSON nested deeper than the limit: incomplete, exit 2, never non-personal.
    let deep = dir.path().join("deep.jsonl");
    let line = format!("{}\"a@b.kz\"{}\n", "{\"k\":".repeat(40), "}".repeat(40));
    std::fs::write(&deep, line.repeat(3)).unwrap();
    let (code, r) = scan_json(&["--max-depth", "32"], &deep);
    assert_eq!(code, 2, "{r}");
    assert_eq!(r["complete"], false);
    assert_eq!(r["unread"][0]["kind"], "too-deep");
    assert_eq!(r["unread"][0]["limit"], 32);
    assert!(
        !r["categories"]
            .as_array()
            .unwrap()
            .contains(&"non-personal".into())
    );
    let (code, r) = scan_json(&[], &deep);
    assert_eq!(code, 0, "{r}");
    assert!(
        r["categories"]
            .as_array()
            .unwrap()
            .contains(&"personal".into()),
        "{r}"
    );

    // Wider than --max-columns: the rest is reported, exit 2; the text output says so.
    let wide = dir.path().join("wide.csv");
    std::fs::write(&wide, "a,b,c,d\n1,2,3,x@y.kz\n").unwrap();
    let (code, r) = scan_json(&["--max-columns", "3"], &wide);
    assert_eq!(code, 2);
    assert_eq!(r["unread"][0]["kind"], "columns-beyond-limit");
    let out = silkgate()
        .args(["scan", "--max-columns", "3"])
        .arg(&wide)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("REVIEW INCOMPLETE"), "{text}");
    assert!(text.contains("max_columns (3"), "{text}");

    // An empty .jsonl is JSON Lines.
    let empty = dir.path().join("empty.jsonl");
    std::fs::write(&empty, "").unwrap();
    let (code, r) = scan_json(&[], &empty);
    assert_eq!((code, r["format"].as_str()), (0, Some("jsonl")));

    // A file that cannot be scanned at all: exit 1.
    let binary = dir.path().join("blob.csv");
    std::fs::write(&binary, b"PK\x03\x04\x00\x00").unwrap();
    let out = silkgate().arg("scan").arg(&binary).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
}
