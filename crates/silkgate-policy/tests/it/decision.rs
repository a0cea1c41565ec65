//! The decision's JSON shape, texts in three languages, citations and pack versions.

use silkgate_policy::Outcome;

use crate::rule;

fn decide(json: &str) -> silkgate_policy::Decision {
    rule(json).decision
}

#[test]
fn json_shape_matches_the_issue() {
    let d = decide(
        r#"{"from":"CN","to":"KZ","exporter":{"sector":"trade"},"recipient":{"kind":"enterprise"},
            "data":{"categories":["personal"],"subjects":200000}}"#,
    );
    assert_eq!(d.outcome, Outcome::Conditional);
    let v = serde_json::to_value(&d).unwrap();
    assert_eq!(v["outcome"], "conditional");
    let ob = &v["obligations"][0];
    for key in ["id", "text", "citations"] {
        assert!(ob.get(key).is_some(), "obligation lacks {key}: {ob}");
    }
    for lang in ["en", "ru", "zh"] {
        assert!(
            ob["text"][lang].as_str().is_some_and(|s| !s.is_empty()),
            "{lang}"
        );
    }
    let reason = &v["reasons"][0];
    for key in ["rule", "text", "citations"] {
        assert!(reason.get(key).is_some(), "reason lacks {key}: {reason}");
    }
    assert_eq!(v["unverified"], false, "{v}");
    let citation = &v["obligations"][0]["citations"][0];
    for key in [
        "state",
        "instrument",
        "instrument_en",
        "instrument_original",
        "article",
        "source",
        "verified",
    ] {
        assert!(
            citation.get(key).is_some(),
            "citation lacks {key}: {citation}"
        );
    }
    assert_eq!(
        citation["instrument_original"], "个人信息保护法",
        "{citation}"
    );
    assert_eq!(v["rulepacks"]["CN"], "2026.12.07");
    assert!(v["rulepacks"]["KZ"].is_string());
    // A decision read back is the same decision (the node stores it).
    let back: silkgate_policy::Decision = serde_json::from_value(v).unwrap();
    assert_eq!(back, d);
}

#[test]
fn obligation_ids_are_stable_and_met_ones_are_not_listed() {
    let base = r#"{"from":"CN","to":"KZ","exporter":{"sector":"trade"},"recipient":{"kind":"enterprise"},
            "data":{"categories":["personal"],"subjects":200000}GROUNDS}"#;
    let d = decide(&base.replace("GROUNDS", ""));
    assert_eq!(
        d.obligation_ids(),
        [
            "cn.standard-contract-or-certification",
            "cn.notice-and-separate-consent",
            "cn.pipia"
        ]
    );
    let d = decide(&base.replace(
        "GROUNDS",
        r#","grounds":{"standard_contract":true,"consent":true}"#,
    ));
    assert_eq!(d.obligation_ids(), ["cn.pipia"]);
}

#[test]
fn unverified_facts_show_in_the_decision() {
    let d = decide(
        r#"{"from":"KZ","to":"CN","exporter":{"sector":"trade"},"recipient":{"kind":"enterprise"},
            "data":{"categories":["personal"],"subjects":10}}"#,
    );
    let unverified = d
        .reasons
        .iter()
        .find(|r| r.rule == "kz.unlisted-destination")
        .expect("art 16 rule applies");
    assert!(unverified.citations.iter().all(|c| !c.verified));
    assert!(d.has_unverified());
    let json = serde_json::to_string(&d).unwrap();
    assert!(json.contains("\"verified\":false"), "{json}");
    assert!(json.contains("\"unverified\":true"), "{json}");
}

#[test]
fn treaty_applies_only_between_ratifying_states() {
    let kz_to = |to: &str| {
        decide(&format!(
            r#"{{"from":"KZ","to":"{to}","exporter":{{"sector":"other"}},"recipient":{{"kind":"public-body"}},
                "data":{{"categories":["personal"],"subjects":10}}}}"#
        ))
    };
    let d = kz_to("CN");
    assert!(!d.rulepacks.contains_key("CIS-2020-PD"));
    assert!(
        d.obligation_ids()
            .contains(&"kz.consent-or-statutory-ground")
    );
}

#[test]
fn importer_pack_is_used_and_named() {
    let d = decide(
        r#"{"from":"KZ","to":"CN","exporter":{"sector":"trade"},"recipient":{"kind":"enterprise"},
            "data":{"categories":["non-personal"],"subjects":0}}"#,
    );
    assert_eq!(d.outcome, Outcome::Allow);
    assert_eq!(d.rulepacks.keys().collect::<Vec<_>>(), ["CN", "KZ"]);
    // No rule of China's pack applies to imports: its base rule says so.
    assert!(
        d.reasons.iter().any(|r| r.rule == "cn.base"),
        "{:?}",
        d.reasons
    );
}
