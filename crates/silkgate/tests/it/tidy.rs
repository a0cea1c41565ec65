//! The layering rules of the workspace, held by a test that reads the source (as
//! rust-analyzer's `xtask/src/tidy.rs` does), so a change that breaks them fails `cargo test`
//! instead of waiting for a reviewer to notice:
//!
//! - in `silkgate-node`, dependencies run one way, `http -> services -> core`: `core/` does
//!   not reach into `services/` or `http/`, `services/` not into `http/`;
//! - `services/` and `core/` know nothing of HTTP: no `axum`, no `http` crate, no status
//!   codes (a service answers in domain types and a `ServiceError`);
//! - no library crate (model, policy, scan, mark, log, store, wire) depends on the node, the
//!   portal or the program.

use std::path::{Path, PathBuf};

/// One broken rule: where, and which rule.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Violation {
    file: PathBuf,
    line: usize,
    rule: &'static str,
}

/// Text that marks a use of HTTP types.
const HTTP_WORDS: [&str; 4] = ["axum", "http::", "StatusCode", "HeaderMap"];

/// The crates that must stay libraries of their own concern.
const LIBRARIES: [&str; 7] = [
    "silkgate-model",
    "silkgate-policy",
    "silkgate-scan",
    "silkgate-mark",
    "silkgate-log",
    "silkgate-store",
    "silkgate-wire",
];

/// Crates a library may never depend on.
const UPPER: [&str; 3] = ["silkgate-node", "silkgate-portal", "silkgate_node"];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = entries.filter_map(Result::ok).map(|e| e.path()).collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The code of a line, without a trailing `//` comment (doc comments may name HTTP freely).
fn code_of(line: &str) -> &str {
    let trimmed = line.trim_start();
    if trimmed.starts_with("//") {
        return "";
    }
    match line.find("//") {
        Some(at) if !line[..at].contains('"') => &line[..at],
        _ => line,
    }
}

fn check_layer(
    dir: &Path,
    forbidden: &[(&str, &'static str)],
    http_free: bool,
    out: &mut Vec<Violation>,
) {
    let mut files = Vec::new();
    rust_files(dir, &mut files);
    for file in files {
        let text = std::fs::read_to_string(&file).expect("a source file reads");
        for (i, line) in text.lines().enumerate() {
            let code = code_of(line);
            for (needle, rule) in forbidden {
                if code.contains(needle) {
                    out.push(Violation {
                        file: file.clone(),
                        line: i + 1,
                        rule,
                    });
                }
            }
            if http_free && HTTP_WORDS.iter().any(|w| code.contains(w)) {
                out.push(Violation {
                    file: file.clone(),
                    line: i + 1,
                    rule: "services/ and core/ know nothing of HTTP",
                });
            }
        }
    }
}

/// Every broken rule under the workspace `root`.
fn violations(root: &Path) -> Vec<Violation> {
    let mut out = Vec::new();
    let node = root.join("crates/silkgate-node/src");
    check_layer(
        &node.join("core"),
        &[
            ("crate::services", "core/ does not depend on services/"),
            ("crate::http", "core/ does not depend on http/"),
        ],
        true,
        &mut out,
    );
    check_layer(
        &node.join("services"),
        &[("crate::http", "services/ does not depend on http/")],
        true,
        &mut out,
    );
    for lib in LIBRARIES {
        let manifest = root.join("crates").join(lib).join("Cargo.toml");
        if let Ok(text) = std::fs::read_to_string(&manifest) {
            for (i, line) in text.lines().enumerate() {
                if UPPER.iter().any(|u| line.trim_start().starts_with(u)) {
                    out.push(Violation {
                        file: manifest.clone(),
                        line: i + 1,
                        rule: "a library crate does not depend on the node or the portal",
                    });
                }
            }
        }
        check_layer(
            &root.join("crates").join(lib).join("src"),
            &[
                (
                    "silkgate_node",
                    "a library crate does not depend on the node or the portal",
                ),
                (
                    "silkgate_portal",
                    "a library crate does not depend on the node or the portal",
                ),
            ],
            false,
            &mut out,
        );
    }
    out
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("the program crate sits two levels under the workspace root")
        .to_path_buf()
}

#[test]
fn the_workspace_keeps_its_layers() {
    let root = workspace_root();
    // The library rule always has something to read; the node's layer rules bite once its
    // layers exist, and say so loudly until then rather than pass in silence.
    let mut manifests = 0;
    for lib in LIBRARIES {
        manifests += usize::from(root.join("crates").join(lib).join("Cargo.toml").exists());
    }
    assert!(
        manifests >= 6,
        "the library crates were not found under {}",
        root.display()
    );
    for dir in ["core", "services", "http"] {
        let path = root.join("crates/silkgate-node/src").join(dir);
        let mut files = Vec::new();
        rust_files(&path, &mut files);
        if files.is_empty() {
            eprintln!(
                "NOT CHECKED: {} does not exist yet; its layer rules apply once it does",
                path.display()
            );
        }
    }
    let found = violations(&root);
    assert!(
        found.is_empty(),
        "layering rules broken:\n{}",
        found
            .iter()
            .map(|v| format!("  {}:{}: {}", v.file.display(), v.line, v.rule))
            .collect::<Vec<_>>()
            .join("\n")
    );
}

#[test]
fn the_checker_finds_each_kind_of_violation() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let node = root.join("crates/silkgate-node/src");
    std::fs::create_dir_all(node.join("core")).unwrap();
    std::fs::create_dir_all(node.join("services/transfers")).unwrap();
    std::fs::write(
        node.join("core/clock.rs"),
        "//! Mentions axum in a comment only, which is fine.\npub fn now() {}\n",
    )
    .unwrap();
    assert_eq!(violations(root), [], "comments are not code");

    std::fs::write(
        node.join("core/state.rs"),
        "use crate::services::transfers;\n",
    )
    .unwrap();
    std::fs::write(
        node.join("services/transfers/provider.rs"),
        "fn f() {}\nuse axum::http::StatusCode; // a status in a service\nuse crate::http::dto;\n",
    )
    .unwrap();
    let lib = root.join("crates/silkgate-store");
    std::fs::create_dir_all(lib.join("src")).unwrap();
    std::fs::write(
        lib.join("Cargo.toml"),
        "[dependencies]\nsilkgate-node.workspace = true\n",
    )
    .unwrap();
    std::fs::write(lib.join("src/lib.rs"), "use silkgate_node::NodeState;\n").unwrap();

    let found: Vec<(String, usize, &str)> = violations(root)
        .into_iter()
        .map(|v| {
            let rel = v.file.strip_prefix(root).unwrap().display().to_string();
            (rel, v.line, v.rule)
        })
        .collect();
    assert_eq!(
        found,
        [
            (
                "crates/silkgate-node/src/core/state.rs".to_owned(),
                1,
                "core/ does not depend on services/"
            ),
            (
                "crates/silkgate-node/src/services/transfers/provider.rs".to_owned(),
                2,
                "services/ and core/ know nothing of HTTP"
            ),
            (
                "crates/silkgate-node/src/services/transfers/provider.rs".to_owned(),
                3,
                "services/ does not depend on http/"
            ),
            (
                "crates/silkgate-node/src/services/transfers/provider.rs".to_owned(),
                3,
                "services/ and core/ know nothing of HTTP"
            ),
            (
                "crates/silkgate-store/Cargo.toml".to_owned(),
                2,
                "a library crate does not depend on the node or the portal"
            ),
            (
                "crates/silkgate-store/src/lib.rs".to_owned(),
                1,
                "a library crate does not depend on the node or the portal"
            ),
        ]
    );
}
