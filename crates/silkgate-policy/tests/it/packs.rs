//! Loading: the embedded packs are valid, and an invalid pack is refused with an error naming
//! the file, the rule and the reason.

use silkgate_policy::{PackError, PackKind, PolicyEngine};

use crate::bad_input::engine_files;
use crate::engine;

/// Loads the repository's packs with one file changed by `edit`, expecting a refusal.
fn refuse(file: &str, edit: impl Fn(&str) -> String) -> PackError {
    let files: Vec<(String, String)> = engine_files()
        .into_iter()
        .map(|(p, t)| {
            let t = if p == file { edit(&t) } else { t };
            (p, t)
        })
        .collect();
    PolicyEngine::from_files(&files).expect_err("the edited pack must be refused")
}

#[test]
fn load_dir_reads_the_same_packs_as_embedded() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../rulepacks");
    let from_disk = PolicyEngine::load_dir(dir).unwrap();
    let a: Vec<_> = from_disk
        .packs()
        .map(|p| (&p.id, &p.version, p.rules))
        .collect();
    let b: Vec<_> = engine()
        .packs()
        .map(|p| (&p.id, &p.version, p.rules))
        .collect();
    assert_eq!(a, b);
    assert_eq!(from_disk.case_tables().len(), engine().case_tables().len());
}

#[test]
fn treaty_pack_lists_only_confirmed_parties() {
    let cis = engine().packs().find(|p| p.id == "CIS-2020-PD").unwrap();
    let PackKind::Treaty {
        parties,
        unverified_parties,
    } = &cis.kind
    else {
        panic!("CIS-2020-PD is a treaty pack")
    };
    let parties: Vec<_> = parties.iter().map(|s| s.as_str()).collect();
    assert_eq!(parties, ["RU", "KZ", "KG"]);
    assert_eq!(unverified_parties.len(), 3);
    assert!(cis.unverified_rules >= 1);
}

#[test]
fn cedar_syntax_error_names_file_and_line() {
    let err = refuse("CN/policies.cedar", |t| {
        t.replacen("context.from == \"CN\" &&", "context.from == \"CN\" &&&", 1)
    });
    let msg = err.to_string();
    assert!(
        matches!(err, PackError::File { ref file, .. } if file == "CN/policies.cedar"),
        "{msg}"
    );
    assert!(msg.contains("line "), "{msg}");
}

#[test]
fn schema_violation_names_the_rule() {
    let err = refuse("CN/policies.cedar", |t| {
        t.replacen(
            "context.grounds.judicial_approval",
            "context.grounds.judicial_aproval",
            1,
        )
    });
    match &err {
        PackError::Rule { file, rule, reason } => {
            assert_eq!(file, "CN/policies.cedar");
            assert_eq!(rule, "cn.foreign-authority-without-approval");
            assert!(reason.contains("judicial_aproval"), "{reason}");
        }
        other => panic!("expected a rule error, got {other}"),
    }
}

#[test]
fn type_error_names_the_rule() {
    let err = refuse("KZ/policies.cedar", |t| {
        t.replacen("context.data.personal &&", "context.data.subjects &&", 1)
    });
    assert!(
        matches!(&err, PackError::Rule { rule, file, .. } if rule == "kz.domestic-database" && file == "KZ/policies.cedar"),
        "{err}"
    );
}

#[test]
fn rule_without_manifest_entry_is_refused() {
    let err = refuse("CN/policies.cedar", |t| {
        t.replacen("@id(\"cn.pipia-unused\")", "", 1).replacen(
            "@id(\"cn.impact-assessment\")",
            "@id(\"cn.impact-assesment\")",
            1,
        )
    });
    assert!(
        matches!(&err, PackError::Rule { rule, .. } if rule == "cn.impact-assesment"),
        "{err}"
    );
    assert!(err.to_string().contains("no entry under [rules]"), "{err}");
}

#[test]
fn unknown_instrument_and_missing_obligation_are_refused() {
    let err = refuse("CN/manifest.toml", |t| {
        t.replacen("instrument = \"ICJAL\"", "instrument = \"ICJA\"", 1)
    });
    assert!(
        matches!(&err, PackError::Rule { file, .. } if file == "CN/manifest.toml"),
        "{err}"
    );
    assert!(err.to_string().contains("'ICJA'"), "{err}");

    let err = refuse("CN/policies.cedar", |t| {
        t.replacen("@obligation(\"cn.pipia\")", "@obligation(\"cn.pia\")", 1)
    });
    assert!(err.to_string().contains("cn.pia"), "{err}");
}

#[test]
fn malformed_manifest_names_the_file() {
    let err = refuse("KZ/manifest.toml", |t| {
        t.replacen("version = ", "versoin = ", 1)
    });
    assert!(
        matches!(&err, PackError::File { file, .. } if file == "KZ/manifest.toml"),
        "{err}"
    );
    let err = refuse("KZ/manifest.toml", |t| {
        t.replacen("state = \"KZ\"", "state = \"RU\"", 1)
    });
    assert!(
        err.to_string().contains("does not match its directory"),
        "{err}"
    );
}

#[test]
fn annotation_misuse_is_refused() {
    // A forbid carrying an obligation is ambiguous and refused.
    let err = refuse("CN/policies.cedar", |t| {
        t.replacen(
            "@id(\"cn.foreign-authority-without-approval\")",
            "@id(\"cn.foreign-authority-without-approval\")\n@obligation(\"cn.pipia\")",
            1,
        )
    });
    assert!(
        matches!(&err, PackError::Rule { rule, .. } if rule == "cn.foreign-authority-without-approval"),
        "{err}"
    );
}

#[test]
fn an_obligation_without_a_basis_twin_is_refused() {
    // Drop the twin of China's PIPIA rule from the manifest and the policies.
    let files: Vec<(String, String)> = engine_files()
        .into_iter()
        .map(|(p, t)| {
            let t = match p.as_str() {
                "CN/manifest.toml" => {
                    let start = t.find("[rules.\"cn.impact-assessment.met\"]").unwrap();
                    let end = t[start + 1..]
                        .find("\n[")
                        .map_or(t.len(), |e| start + 1 + e);
                    format!("{}{}", &t[..start], &t[end..])
                }
                "CN/policies.cedar" => {
                    let start = t.find("@id(\"cn.impact-assessment.met\")").unwrap();
                    let end = start + t[start..].find("};").unwrap() + 2;
                    format!("{}{}", &t[..start], &t[end..])
                }
                _ => t,
            };
            (p, t)
        })
        .collect();
    let err = PolicyEngine::from_files(&files).expect_err("refused");
    assert!(
        matches!(&err, PackError::Rule { rule, .. } if rule == "cn.impact-assessment"),
        "{err}"
    );
    assert!(err.to_string().contains("no basis twin"), "{err}");
    // A twin naming a ground the facts do not have is refused too.
    let err = refuse("CN/manifest.toml", |t| {
        t.replacen(
            "grounds = [\"impact_assessment\"]",
            "grounds = [\"good_will\"]",
            1,
        )
    });
    assert!(err.to_string().contains("'good_will'"), "{err}");
}

#[test]
fn exemption_words_are_namespaced_and_aliases_name_one() {
    let err = refuse("RU/manifest.toml", |t| {
        t.replacen("\"ru.vital-interests\" = ", "vital-interests = ", 1)
    });
    assert!(err.to_string().contains("not namespaced"), "{err}");
    let err = refuse("CN/manifest.toml", |t| {
        t.replacen(
            "emergency = \"cn.emergency\"",
            "emergency = \"cn.urgency\"",
            1,
        )
    });
    assert!(err.to_string().contains("'cn.urgency'"), "{err}");
    let ru = engine().packs().find(|p| p.id == "RU").unwrap();
    assert_eq!(ru.aliases["emergency"], "ru.vital-interests");
}
