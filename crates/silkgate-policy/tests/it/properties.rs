//! Properties over generated facts: adding a restriction never lowers the outcome (so never
//! turns `deny` into `allow`), and supplying a ground never adds an obligation.

use proptest::prelude::*;
use silkgate_model::{DataCategory, Sector, StateCode};
use silkgate_policy::{
    DataFacts, Decision, Exporter, Facts, Grounds, Outcome, PackKind, Recipient, RecipientKind,
    TransferFacts, YearToDate,
};

use crate::{day, engine};

fn decide(f: &Facts) -> Decision {
    engine()
        .decide_on(&TransferFacts::from(f.clone()), day())
        .expect("generated facts are valid")
        .decision
}

fn rank(o: Outcome) -> u8 {
    match o {
        Outcome::Allow => 0,
        Outcome::Conditional => 1,
        Outcome::Deny => 2,
    }
}

fn grounds() -> impl Strategy<Value = Grounds> {
    proptest::collection::vec(any::<bool>(), 10).prop_map(|b| Grounds {
        consent: b[0],
        standard_contract: b[1],
        certification: b[2],
        security_assessment: b[3],
        regulator_permit: b[4],
        regulator_notified: b[5],
        judicial_approval: b[6],
        impact_assessment: b[7],
        domestic_database: b[8],
        waiting_period_elapsed: b[9],
    })
}

fn count() -> impl Strategy<Value = u64> {
    prop_oneof![
        0u64..200,
        9_990u64..10_010,
        99_990u64..100_010,
        999_990u64..1_000_010,
        0u64..3_000_000,
    ]
}

fn facts() -> impl Strategy<Value = Facts> {
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
    let kind = prop_oneof![
        Just(RecipientKind::Enterprise),
        Just(RecipientKind::PublicBody),
        Just(RecipientKind::ForeignAuthority),
        Just(RecipientKind::ForeignRegulator)
    ];
    let exemptions = proptest::sample::subsequence(
        vec![
            "contract-with-individual",
            "cross-border-hr",
            "emergency",
            "collected-abroad",
            "free-trade-zone",
        ],
        0..2,
    );
    (
        states,
        categories,
        kind,
        (count(), count(), count(), count()),
        (any::<bool>(), any::<bool>(), any::<bool>()),
        proptest::sample::select(Sector::ALL.to_vec()),
        grounds(),
        exemptions,
    )
        .prop_map(
            |(
                (from, to),
                categories,
                kind,
                (s, ss, ys, yss),
                (ciio, important, bio),
                sector,
                grounds,
                ex,
            )| {
                Facts {
                    from,
                    to,
                    exporter: Exporter {
                        state: Some(from),
                        ciio,
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
                        important_data: important,
                        biometric: bio,
                    },
                    year_to_date: YearToDate {
                        subjects: ys.max(yss),
                        sensitive_subjects: yss,
                    },
                    grounds,
                    exemptions: ex.into_iter().map(str::to_owned).collect(),
                }
            },
        )
}

/// The restrictions the issue names, applied one at a time.
fn restrictions(f: &Facts, extra: u64) -> Vec<(&'static str, Facts)> {
    let mut more = f.clone();
    more.data.subjects += extra;
    let mut ytd = f.clone();
    ytd.year_to_date.subjects += extra;
    let mut sensitive = f.clone();
    sensitive.data.categories.push(DataCategory::Sensitive);
    let mut sensitive_count = f.clone();
    sensitive_count.data.subjects += extra;
    sensitive_count.data.sensitive_subjects += extra;
    let mut biometric = f.clone();
    biometric.data.biometric = true;
    let mut important = f.clone();
    important.data.important_data = true;
    let mut authority = f.clone();
    authority.recipient.kind = RecipientKind::ForeignAuthority;
    let mut ciio = f.clone();
    ciio.exporter.ciio = true;
    vec![
        ("more subjects", more),
        ("more subjects earlier this year", ytd),
        ("a sensitive category", sensitive),
        ("more sensitive subjects", sensitive_count),
        ("biometric data", biometric),
        ("important data", important),
        ("a foreign-authority recipient", authority),
        ("a CIIO exporter", ciio),
    ]
}

fn with_ground(f: &Facts, i: usize) -> Facts {
    let mut f = f.clone();
    let g = &mut f.grounds;
    *[
        &mut g.consent,
        &mut g.standard_contract,
        &mut g.certification,
        &mut g.security_assessment,
        &mut g.regulator_permit,
        &mut g.regulator_notified,
        &mut g.judicial_approval,
        &mut g.impact_assessment,
        &mut g.domestic_database,
        &mut g.waiting_period_elapsed,
    ][i] = true;
    f
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn a_restriction_never_lowers_the_outcome(f in facts(), extra in count()) {
        let before = decide(&f);
        for (what, g) in restrictions(&f, extra) {
            let after = decide(&g);
            prop_assert!(
                rank(after.outcome) >= rank(before.outcome),
                "adding {what} turned {} into {} for {:?}", before.outcome, after.outcome, f
            );
            prop_assert!(!(before.outcome == Outcome::Deny && after.outcome == Outcome::Allow));
        }
    }

    #[test]
    fn a_ground_never_adds_an_obligation(f in facts(), i in 0usize..10) {
        let before = decide(&f);
        let after = decide(&with_ground(&f, i));
        for id in after.obligation_ids() {
            prop_assert!(
                before.obligation_ids().contains(&id),
                "ground #{i} added obligation {id} for {:?}", f
            );
        }
        prop_assert!(rank(after.outcome) <= rank(before.outcome));
    }
}
