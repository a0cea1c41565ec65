//! Every lawful transfer names its basis: each obligation of every pack has a ground that
//! lifts it (shown on the lawyers' own cases and on generated facts), a lifted obligation
//! leaves its basis twin citing the same articles, and an `allow` always names a basis with a
//! citation.

use proptest::prelude::*;
use silkgate_model::agreement::Date;
use silkgate_model::{DataCategory, Sector, StateCode};
use silkgate_policy::{
    ConsentKind, DataFacts, Exporter, ExporterRole, Facts, Grounds, Outcome, PackKind, Recipient,
    RecipientKind, Ruling, TransferFacts, YearToDate, case_facts,
};

use crate::{day, engine};

fn decide(f: &TransferFacts) -> Ruling {
    engine()
        .decide_on(f, day())
        .expect("facts of the tests are valid")
}

/// The facts with one ground (a word of `GROUND_NAMES`) supplied.
fn with_ground(f: &TransferFacts, ground: &str) -> TransferFacts {
    let mut f = f.clone();
    let g = &mut f.facts.grounds;
    match ground {
        "consent" => {
            g.consent = true;
            f.consent_kinds = ConsentKind::ALL.to_vec();
        }
        "standard_contract" => g.standard_contract = true,
        "certification" => g.certification = true,
        "security_assessment" => {
            g.security_assessment = true;
            f.security_assessment_on = None;
        }
        "regulator_permit" => g.regulator_permit = true,
        "regulator_notified" => {
            g.regulator_notified = true;
            f.notice_covers = vec![f.facts.to];
        }
        "judicial_approval" => g.judicial_approval = true,
        "impact_assessment" => g.impact_assessment = true,
        "domestic_database" => g.domestic_database = true,
        "waiting_period_elapsed" => g.waiting_period_elapsed = true,
        "domestic_storage_with_return" => f.domestic_storage_with_return = true,
        "subjects_notified" => f.subjects_notified = true,
        other => panic!("no such ground '{other}'"),
    }
    f
}

/// For every obligation of the decision on `f`: some ground its twins name lifts it, and the
/// decision then names a basis meeting it that cites every article the obligation cited.
fn check_liftable(f: &TransferFacts) -> Result<(), String> {
    let before = decide(f);
    for ob in &before.decision.obligations {
        let grounds = engine().grounds_meeting(&ob.id);
        if grounds.is_empty() {
            return Err(format!(
                "obligation {} names no ground that meets it",
                ob.id
            ));
        }
        let lifted = grounds.iter().find_map(|g| {
            let after = decide(&with_ground(f, g));
            (!after.decision.obligation_ids().contains(&ob.id.as_str())).then_some(after)
        });
        let Some(after) = lifted else {
            return Err(format!(
                "no ground of {grounds:?} lifts obligation {} for {f:?}",
                ob.id
            ));
        };
        let twins: Vec<_> = after
            .bases
            .iter()
            .filter(|b| b.meets.as_deref() == Some(ob.id.as_str()))
            .collect();
        if twins.is_empty() {
            return Err(format!(
                "obligation {} was lifted but no basis says it is met: {:?}",
                ob.id, after.bases
            ));
        }
        for c in &ob.citations {
            let same = twins.iter().any(|t| {
                t.citations.iter().any(|tc| {
                    tc.instrument == c.instrument
                        && tc.article == c.article
                        && tc.verified == c.verified
                })
            });
            if !same {
                return Err(format!(
                    "the basis meeting {} does not cite {} {} with the same mark",
                    ob.id, c.instrument, c.article
                ));
            }
        }
    }
    Ok(())
}

#[test]
fn every_obligation_of_every_pack_is_raised_by_a_case_and_lifted_by_a_ground() {
    let mut cases = Vec::new();
    for (file, text) in engine().case_tables() {
        cases.extend(case_facts(file, text).expect("case table parses"));
    }
    for pack in engine().packs() {
        for ob in &pack.obligations {
            let raising: Vec<_> = cases
                .iter()
                .filter(|(_, f)| {
                    engine()
                        .decide_on(f, day())
                        .is_ok_and(|r| r.decision.obligation_ids().contains(&ob.as_str()))
                })
                .collect();
            assert!(
                !raising.is_empty(),
                "no case of the tables raises {} of pack {}",
                ob,
                pack.id
            );
            for (name, f) in raising {
                if let Err(e) = check_liftable(f) {
                    panic!("case \"{name}\": {e}");
                }
            }
        }
    }
}

#[test]
fn authority_only_obligations_are_chinas_security_assessment() {
    let ids: Vec<&str> = engine()
        .authority_only_obligations()
        .iter()
        .map(String::as_str)
        .collect();
    assert_eq!(ids, ["cn.security-assessment"]);
}

fn date(text: &str) -> Date {
    text.parse().expect("a valid date")
}

fn facts() -> impl Strategy<Value = TransferFacts> {
    let loaded: Vec<StateCode> = engine()
        .packs()
        .filter_map(|p| match p.kind {
            PackKind::State { state } => Some(state),
            _ => None,
        })
        .collect();
    let n = loaded.len();
    let states = (0..n, 1..n).prop_map(move |(a, d)| (loaded[a], loaded[(a + d) % n]));
    let categories = proptest::sample::subsequence(DataCategory::ALL.to_vec(), 1..4);
    let kind = proptest::sample::select(vec![
        RecipientKind::Enterprise,
        RecipientKind::PublicBody,
        RecipientKind::ForeignAuthority,
        RecipientKind::ForeignRegulator,
    ]);
    let roles = proptest::sample::subsequence(
        vec![
            ExporterRole::StateOrgan,
            ExporterRole::TelecomOperator,
            ExporterRole::PaymentSystemOperator,
        ],
        0..3,
    );
    let kinds = proptest::sample::subsequence(ConsentKind::ALL.to_vec(), 0..3);
    let days = proptest::sample::select(vec!["2026-12-07", "2027-06-01", "2029-01-01"]);
    let count = prop_oneof![
        0u64..200,
        9_990u64..10_010,
        99_990u64..100_010,
        0u64..2_000_000
    ];
    (
        states,
        categories,
        kind,
        (count.clone(), count.clone(), count.clone(), count),
        proptest::collection::vec(any::<bool>(), 14),
        proptest::sample::select(Sector::ALL.to_vec()),
        (roles, kinds, days),
    )
        .prop_map(
            |((from, to), categories, kind, (s, ss, ys, yss), b, sector, (roles, kinds, on))| {
                let facts = Facts {
                    from,
                    to,
                    exporter: Exporter {
                        state: Some(from),
                        ciio: b[0],
                        sector,
                    },
                    recipient: Recipient {
                        state: Some(to),
                        kind,
                    },
                    data: DataFacts {
                        categories,
                        subjects: s.max(ss),
                        sensitive_subjects: ss.min(s.max(ss)),
                        important_data: b[1],
                        biometric: b[2],
                    },
                    year_to_date: YearToDate {
                        subjects: ys.max(yss),
                        sensitive_subjects: yss,
                    },
                    grounds: Grounds {
                        consent: b[3],
                        standard_contract: b[4],
                        certification: b[5],
                        security_assessment: b[6],
                        regulator_permit: b[7],
                        regulator_notified: b[8],
                        judicial_approval: b[9],
                        impact_assessment: b[10],
                        domestic_database: b[11],
                        waiting_period_elapsed: b[12],
                    },
                    exemptions: Vec::new(),
                };
                let mut full = TransferFacts::from(facts);
                full.date = Some(date(on));
                full.exporter_roles = roles;
                full.consent_kinds = kinds;
                full.domestic_storage_with_return = b[13];
                full
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn an_allowed_transfer_names_a_basis_with_a_citation(f in facts()) {
        let r = decide(&f);
        if r.decision.outcome == Outcome::Allow {
            prop_assert!(
                r.bases.iter().any(|b| !b.citations.is_empty()),
                "allowed without a cited basis: {:?} for {:?}", r.decision.reasons, f
            );
        }
    }

    #[test]
    fn every_obligation_raised_can_be_lifted(f in facts()) {
        prop_assert!(check_liftable(&f).is_ok(), "{}", check_liftable(&f).unwrap_err());
    }
}
