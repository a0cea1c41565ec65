//! Decision latency and pack load time, single thread.
//!
//! `cargo bench -p silkgate-policy --bench decide` loads all packs (embedded) 20 times and
//! reports the median load-and-validate time, then times 100,000 decisions over a fixed mix of
//! generated facts (every pair of member states, all recipient kinds, counts around every China
//! threshold, random categories, grounds, exporter roles and consent kinds, on days either side
//! of India's DPDP commencement) through `decide_on` and reports median, p99 and max.

use std::hint::black_box;
use std::time::{Duration, Instant};

use silkgate_model::agreement::Date;
use silkgate_model::{DataCategory, MEMBER_STATES, Sector};
use silkgate_policy::{
    ConsentKind, DataFacts, Exporter, ExporterRole, Facts, Grounds, Outcome, PolicyEngine,
    Recipient, RecipientKind, TransferFacts, YearToDate,
};

/// A small deterministic generator (SplitMix64) so every run decides the same mix.
struct Mix(u64);

impl Mix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn flag(&mut self, one_in: u64) -> bool {
        self.below(one_in) == 0
    }
}

fn full_facts(mix: &mut Mix) -> TransferFacts {
    let mut f = TransferFacts::from(facts(mix));
    let days = ["2026-12-07", "2027-06-01"];
    f.date = Some(days[mix.below(2) as usize].parse().expect("valid dates"));
    if mix.flag(5) {
        f.exporter_roles.push(ExporterRole::PaymentSystemOperator);
    }
    if mix.flag(5) {
        f.exporter_roles.push(ExporterRole::TelecomOperator);
    }
    if mix.flag(3) {
        f.consent_kinds
            .push(ConsentKind::ALL[mix.below(ConsentKind::ALL.len() as u64) as usize]);
    }
    f.domestic_storage_with_return = mix.flag(3);
    f
}

fn facts(mix: &mut Mix) -> Facts {
    let a = mix.below(10) as usize;
    let b = (a + 1 + mix.below(9) as usize) % 10;
    let counts = [
        0, 10, 9_999, 10_000, 99_999, 100_000, 500_000, 999_999, 1_000_000,
    ];
    let subjects = counts[mix.below(counts.len() as u64) as usize];
    let mut categories =
        vec![DataCategory::ALL[mix.below(DataCategory::ALL.len() as u64) as usize]];
    if mix.flag(2) {
        categories.push(DataCategory::Personal);
    }
    let sensitive = if mix.flag(4) { subjects / 10 } else { 0 };
    let kind = [
        RecipientKind::Enterprise,
        RecipientKind::PublicBody,
        RecipientKind::ForeignAuthority,
        RecipientKind::ForeignRegulator,
    ][mix.below(4) as usize];
    Facts {
        from: MEMBER_STATES[a],
        to: MEMBER_STATES[b],
        exporter: Exporter {
            state: Some(MEMBER_STATES[a]),
            ciio: mix.flag(8),
            sector: Sector::ALL[mix.below(Sector::ALL.len() as u64) as usize],
        },
        recipient: Recipient {
            state: Some(MEMBER_STATES[b]),
            kind,
        },
        data: DataFacts {
            categories,
            subjects,
            sensitive_subjects: sensitive,
            important_data: mix.flag(10),
            biometric: mix.flag(10),
        },
        year_to_date: YearToDate {
            subjects: mix.below(200_000),
            sensitive_subjects: 0,
        },
        grounds: Grounds {
            consent: mix.flag(2),
            standard_contract: mix.flag(3),
            certification: mix.flag(5),
            security_assessment: mix.flag(5),
            regulator_permit: mix.flag(4),
            regulator_notified: mix.flag(2),
            judicial_approval: mix.flag(3),
            impact_assessment: mix.flag(2),
            domestic_database: mix.flag(2),
            waiting_period_elapsed: mix.flag(3),
        },
        exemptions: if mix.flag(6) {
            vec!["contract-with-individual".to_owned()]
        } else {
            Vec::new()
        },
    }
}

/// CPU time this thread has run, from Linux's `/proc/thread-self/schedstat` (first field, ns),
/// so the figure excludes time the shared machine gave to other processes. `None` elsewhere.
fn thread_cpu() -> Option<Duration> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns: u64 = text.split_whitespace().next()?.parse().ok()?;
    Some(Duration::from_nanos(ns))
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

fn main() {
    // Pack load and validation (schema + 10 state packs + 1 treaty pack).
    let mut loads = Vec::new();
    for _ in 0..20 {
        let t = Instant::now();
        black_box(PolicyEngine::embedded().expect("packs load"));
        loads.push(t.elapsed());
    }
    loads.sort();
    let engine = PolicyEngine::embedded().expect("packs load");
    let rules: usize = engine.packs().map(|p| p.rules).sum();
    println!(
        "load+validate {} packs ({rules} rules): median {:?}, max {:?} over 20 loads",
        engine.packs().count(),
        percentile(&loads, 0.5),
        loads[loads.len() - 1]
    );

    let mut mix = Mix(2026);
    let today: Date = "2026-12-07".parse().expect("a valid date");
    let inputs: Vec<TransferFacts> = (0..100_000).map(|_| full_facts(&mut mix)).collect();
    // Warm up caches and the allocator.
    for f in inputs.iter().take(5_000) {
        black_box(
            engine
                .decide_on(f, today)
                .expect("generated facts are valid"),
        );
    }
    let mut times = Vec::with_capacity(inputs.len());
    let mut outcomes = [0usize; 3];
    let start = Instant::now();
    let cpu_start = thread_cpu();
    for f in &inputs {
        let t = Instant::now();
        let d = engine
            .decide_on(black_box(f), today)
            .expect("generated facts are valid");
        times.push(t.elapsed());
        outcomes[match d.decision.outcome {
            Outcome::Allow => 0,
            Outcome::Conditional => 1,
            Outcome::Deny => 2,
        }] += 1;
        black_box(d);
    }
    let total = start.elapsed();
    let cpu = thread_cpu().zip(cpu_start).map(|(end, begin)| end - begin);
    times.sort();
    println!(
        "decide x{}: median {:?}, p99 {:?}, max {:?}, total {:?} (allow {}, conditional {}, deny {})",
        times.len(),
        percentile(&times, 0.5),
        percentile(&times, 0.99),
        times[times.len() - 1],
        total,
        outcomes[0],
        outcomes[1],
        outcomes[2]
    );
    if let Some(cpu) = cpu {
        println!(
            "decide x{}: thread CPU time {cpu:?}, mean {:?} CPU per decision (wall mean {:?})",
            times.len(),
            cpu / times.len() as u32,
            total / times.len() as u32
        );
    }
    // Batches of 100 decisions timed by CPU: the spread of per-decision cost without the
    // preemption that a loaded machine adds to wall-clock figures.
    let mut batches = Vec::new();
    for chunk in inputs.chunks(100) {
        let Some(begin) = thread_cpu() else { break };
        for f in chunk {
            black_box(
                engine
                    .decide_on(black_box(f), today)
                    .expect("generated facts are valid"),
            );
        }
        if let Some(end) = thread_cpu() {
            batches.push((end - begin) / chunk.len() as u32);
        }
    }
    if !batches.is_empty() {
        batches.sort();
        println!(
            "CPU per decision in batches of 100: median {:?}, p99 {:?}",
            percentile(&batches, 0.5),
            percentile(&batches, 0.99)
        );
    }
}
