//! The streaming scan: reads records once, runs the detectors on every value, keeps
//! per-column counters and sketches, and classifies each column at the end.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::Read;

use serde::{Deserialize, Serialize};
use silkgate_model::DataCategory;

use crate::detect::{self, cn, date, kz};
use crate::entity::{Entity, EntitySet};
use crate::error::ScanError;
use crate::header::{self, HeaderEvidence};
use crate::hll::{HyperLogLog, hash_bytes};
use crate::mask;
use crate::reader::{CsvReader, Format, Input, LineReader, SniffOptions, Sniffed};

const N: usize = Entity::ALL.len();

/// Whether the first CSV record is a header.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum HeaderMode {
    /// A header unless a first-row field is a recognised identifier (names and gender words
    /// do not count: headers can look like them) or every field is numeric.
    #[default]
    Auto,
    /// The first record is a header.
    Present,
    /// There is no header; columns are named `column_1`, `column_2`, ...
    Absent,
}

/// A calendar date, used as the reference day for ages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Date {
    /// Year.
    pub year: u32,
    /// Month 1-12.
    pub month: u32,
    /// Day 1-31.
    pub day: u32,
}

impl Date {
    /// Whole years from `born` to `self`.
    fn years_since(self, (y, m, d): (u32, u32, u32)) -> Option<u32> {
        let before_birthday = (self.month, self.day) < (m, d);
        self.year
            .checked_sub(y)?
            .checked_sub(u32::from(before_birthday))
    }
}

/// How to scan.
#[derive(Debug, Clone)]
pub struct ScanOptions {
    /// Masked samples kept per column (0 for none).
    pub sample: usize,
    /// Overrides of format, encoding and delimiter recognition.
    pub sniff: SniffOptions,
    /// Whether the first CSV record is a header.
    pub header: HeaderMode,
    /// Longest record (CSV) or line (JSON Lines) read; longer ones are skipped and counted.
    pub max_record_bytes: usize,
    /// Share of a column's non-empty values that must prove an entity for the column to be
    /// labelled without header evidence. High, so that numbers passing a check digit by
    /// chance (about one in ten for Luhn, Verhoeff or a mod-11 digit) never label a column.
    pub value_threshold: f64,
    /// Share needed when the header names the entity (weak matches then count too).
    pub header_threshold: f64,
    /// Most distinct columns (CSV fields or JSON paths) tracked; further ones are ignored
    /// and the report says so.
    pub max_columns: usize,
    /// The day ages are computed at; with it the scan counts minors from birth dates and
    /// from identifiers that encode one. `None` skips the age check.
    pub as_of: Option<Date>,
    /// In a column pinned to its entity (after a warm-up of 1024 values, see
    /// [`ColumnReport::checked`]), the entity's detector checks one value in `check_every`,
    /// drawn at random; every value still feeds the distinct-value sketch. 1 checks every
    /// value (exact counts); the default, 8, makes `matched` an estimate (flagged in the
    /// report) and the scan about twice as fast. Columns whose values give ages are always checked in full
    /// when `as_of` is set, so the count of minors stays exact.
    pub check_every: u32,
}

impl Default for ScanOptions {
    fn default() -> Self {
        ScanOptions {
            sample: 3,
            sniff: SniffOptions::default(),
            header: HeaderMode::Auto,
            max_record_bytes: 16 << 20,
            value_threshold: 0.8,
            header_threshold: 0.5,
            max_columns: 4096,
            as_of: None,
            check_every: 8,
        }
    }
}

/// The review of one file: what it holds, never the values themselves.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScanReport {
    /// CSV or JSON Lines.
    pub format: Format,
    /// The text encoding found (WHATWG label, e.g. `UTF-8`, `windows-1251`, `gb18030`).
    pub encoding: String,
    /// The CSV delimiter found.
    pub delimiter: Option<String>,
    /// Data records read (the CSV header not included).
    pub rows: u64,
    /// Bytes of input read.
    pub bytes: u64,
    /// Estimated number of distinct data subjects: the largest distinct count among the
    /// columns labelled with a person-identifying entity (HyperLogLog, about 2 % error);
    /// array columns (`phones[]`) count only when no scalar column identifies people.
    pub subjects_estimate: u64,
    /// Data categories of the dataset, in the vocabulary shared with the policy engine.
    pub categories: Vec<DataCategory>,
    /// One entry per column (CSV field or JSON path), in order of first appearance.
    pub columns: Vec<ColumnReport>,
    /// Records or lines skipped for exceeding the size limit.
    pub skipped_records: u64,
    /// JSON Lines that did not parse as JSON.
    pub invalid_lines: u64,
    /// Fields that were not valid UTF-8 and were read with replacement characters.
    pub invalid_utf8_fields: u64,
    /// Whether more columns than `max_columns` appeared (the extra ones were not scanned).
    pub columns_truncated: bool,
    /// Minors found, when an `as_of` date was given.
    pub minors: Option<Minors>,
}

/// Counts of people under age found from birth dates.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Minors {
    /// Values showing a person under 14 (PIPL art. 28: their data is sensitive).
    pub under_14: u64,
    /// Values showing a person under 18.
    pub under_18: u64,
}

/// The review of one column.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ColumnReport {
    /// The header text or JSON path.
    pub name: String,
    /// The entity most values are, if the column qualifies for one.
    pub entity: Option<Entity>,
    /// Values of the column that are that entity: counted exactly when every non-empty value
    /// was checked, else estimated as `share` × `non_empty` (then `estimated` is true).
    pub matched: u64,
    /// Share of the `checked` values that are the entity.
    pub share: f64,
    /// Non-empty values in the column.
    pub non_empty: u64,
    /// Values the entity's detector looked at. The first 1024 non-empty values always are;
    /// after them a column whose entity is clear (it is *pinned*) has one value in
    /// [`ScanOptions::check_every`] checked, and a column whose entity is not clear one in 32
    /// (both drawn at random). Equal to `non_empty` when the count is exact.
    pub checked: u64,
    /// Whether `matched` (and so `distinct_estimate`) is extrapolated from a sample of the
    /// column's values rather than counted over all of them.
    #[serde(default)]
    pub estimated: bool,
    /// What the header announced.
    pub header_evidence: Vec<HeaderEvidence>,
    /// Estimated distinct values of the entity, for person-identifying entities
    /// (HyperLogLog over the values that matched; in a sampled column over every value
    /// after the warm-up, matched or not, capped at `matched`).
    pub distinct_estimate: Option<u64>,
    /// Masked examples of the entity's values.
    pub samples: Vec<String>,
}

/// The facts the policy engine needs from a review.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContentFacts {
    /// Data categories present.
    pub categories: Vec<DataCategory>,
    /// Estimated number of data subjects.
    pub subjects: u64,
    /// Entities found, each with the columns that hold it (for obligations such as
    /// "pseudonymise the ID column").
    pub entities: BTreeMap<Entity, Vec<String>>,
}

impl ScanReport {
    /// The facts for a policy decision: categories, subject count and where each entity is.
    pub fn facts(&self) -> ContentFacts {
        let mut entities: BTreeMap<Entity, Vec<String>> = BTreeMap::new();
        for c in &self.columns {
            if let Some(e) = c.entity {
                entities.entry(e).or_default().push(c.name.clone());
            }
        }
        ContentFacts {
            categories: self.categories.clone(),
            subjects: self.subjects_estimate,
            entities,
        }
    }
}

/// Values of a column that always get every detector, before the column may be pinned.
const WARMUP: u64 = 1024;
/// In a pinned column, one value in this many (at random) still gets every detector (an
/// audit).
const AUDIT_EVERY: u64 = 64;
/// In a column not pinned after the warm-up, one value in this many (at random) gets every
/// detector.
const SAMPLE_EVERY: u64 = 32;

/// Whether the next value of a sampled column is drawn, with probability 1 / `every`.
///
/// The draw is pseudo-random (xorshift64, a fixed seed per column so a scan is
/// reproducible), not every n-th value: a systematic sample aliases with data that repeats
/// with a period (a filler in every 10th row is never seen by an every-8th sample).
fn draw(state: &mut u64, every: u64) -> bool {
    let mut x = *state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    *state = x;
    // Range reduction by multiplication: uniform enough for a sampling rate.
    (((x >> 32) * every) >> 32) == 0
}
/// Share of the warm-up values an entity needs for its column to be pinned to it.
const PIN_SHARE: f64 = 0.5;

/// A column whose entity is clear after the warm-up: one further value in `every` (at
/// random) is checked for that entity alone (every value when `every` is 1: exact counts),
/// the other detectors run on audits only.
struct Pin {
    entity: Entity,
    every: u64,
    /// Whether every value goes into the distinct-value sketch, checked or not (a sampled
    /// column of a person-identifying entity).
    sketch_all: bool,
    checked: u64,
    strong: u64,
    weak: u64,
}

/// A column's count of one entity, exact or extrapolated from a sample.
#[derive(Debug, Clone, Copy)]
struct Estimate {
    matched: u64,
    share: f64,
    checked: u64,
    exact: bool,
}

/// The counters as they were at the end of the warm-up, when every value was checked: the
/// first stratum of the estimates.
struct Warm {
    checked: u64,
    strong: [u64; N],
    weak: [u64; N],
}

/// Counters for one column while the file is read.
///
/// Speed without losing what the report needs: the first [`WARMUP`] values get every
/// detector. If one entity then holds half of them, the column is pinned: every
/// later value in [`ScanOptions::check_every`], drawn at random, is checked for that entity
/// (all of them when it is 1, so count and share are exact; else they are estimates from
/// that sample), every value of a person-identifying entity feeds the distinct-value
/// sketch, and one in [`AUDIT_EVERY`] gets the full check. Otherwise one value in
/// [`SAMPLE_EVERY`] gets the full check and the column is classified from that sample (the
/// report's
/// `checked` says how many values were looked at, `estimated` whether counts are
/// extrapolated).
struct ColumnState {
    name: String,
    header: Vec<HeaderEvidence>,
    non_empty: u64,
    /// Values that went through every detector, and their matches.
    full_checked: u64,
    strong: [u64; N],
    weak: [u64; N],
    pin: Option<Pin>,
    sample_counts: [u8; N],
    samples: Vec<(Entity, String)>,
    hll: Option<HyperLogLog>,
    minors: Minors,
    /// State of the sampling draws.
    rng: u64,
    /// The counters at the end of the warm-up, once it is over.
    warm: Option<Warm>,
}

impl ColumnState {
    fn new(name: String) -> Self {
        let header = header::evidence(&name);
        ColumnState {
            name,
            header,
            non_empty: 0,
            full_checked: 0,
            strong: [0; N],
            weak: [0; N],
            pin: None,
            sample_counts: [0; N],
            samples: Vec::new(),
            hll: None,
            minors: Minors::default(),
            rng: 0x9e37_79b9_7f4a_7c15,
            warm: None,
        }
    }

    fn announced(&self, e: Entity) -> bool {
        self.header.iter().any(|h| h.entity == e)
    }

    fn observe(&mut self, raw: &str, opts: &ScanOptions) {
        let v = raw.trim_ascii();
        if v.is_empty() {
            return;
        }
        self.non_empty += 1;
        let n = self.non_empty;
        if n <= WARMUP {
            self.full(v, opts);
            if n == WARMUP {
                self.warm = Some(Warm {
                    checked: self.full_checked,
                    strong: self.strong,
                    weak: self.weak,
                });
                self.try_pin(opts);
            }
            return;
        }
        match &self.pin {
            Some(p) => {
                let every = p.every;
                if p.sketch_all {
                    self.sketch(v);
                }
                if draw(&mut self.rng, AUDIT_EVERY) {
                    self.full(v, opts);
                } else if every == 1 || draw(&mut self.rng, every) {
                    self.pinned(v, opts);
                }
            }
            None => {
                if draw(&mut self.rng, SAMPLE_EVERY) {
                    self.full(v, opts);
                }
            }
        }
    }

    /// Adds a value to the distinct-value sketch.
    fn sketch(&mut self, v: &str) {
        self.hll
            .get_or_insert_with(HyperLogLog::default)
            .insert_hash(identity_hash(v));
    }

    fn try_pin(&mut self, opts: &ScanOptions) {
        let mut best: Option<(Entity, u64)> = None;
        for &e in Entity::ALL {
            let score = self.strong[e.index()]
                + if self.announced(e) {
                    self.weak[e.index()]
                } else {
                    0
                };
            if score as f64 >= PIN_SHARE * self.full_checked as f64
                && best.is_none_or(|(_, s)| score > s)
            {
                best = Some((e, score));
            }
        }
        if let Some((e, _)) = best.filter(|(_, s)| *s > 0) {
            // Ages must be counted on every value: a single minor changes the categories.
            let gives_age = matches!(
                e,
                Entity::DateOfBirth | Entity::KzIin | Entity::CnResidentId
            );
            let every = if opts.as_of.is_some() && gives_age {
                1
            } else {
                u64::from(opts.check_every.max(1))
            };
            self.pin = Some(Pin {
                entity: e,
                every,
                sketch_all: every > 1 && e.identifies_person(),
                checked: self.full_checked,
                strong: self.strong[e.index()],
                weak: self.weak[e.index()],
            });
        }
    }

    /// Every detector.
    fn full(&mut self, v: &str, opts: &ScanOptions) {
        self.full_checked += 1;
        let det = detect::detect(v);
        if let Some(p) = &mut self.pin {
            p.checked += 1;
            p.strong += u64::from(det.strong.contains(p.entity));
            p.weak += u64::from(det.weak.contains(p.entity));
        }
        if det.is_empty() {
            return;
        }
        for e in det.strong.iter() {
            self.strong[e.index()] += 1;
        }
        for e in det.weak.iter() {
            self.weak[e.index()] += 1;
        }
        self.record(v, det, opts);
    }

    /// Only the pinned entity's detector.
    fn pinned(&mut self, v: &str, opts: &ScanOptions) {
        let Some(p) = &mut self.pin else {
            return;
        };
        let det = detect::detect_in(v, EntitySet::only(p.entity));
        p.checked += 1;
        p.strong += u64::from(!det.strong.is_empty());
        p.weak += u64::from(!det.weak.is_empty());
        if !det.is_empty() {
            self.record(v, det, opts);
        }
    }

    /// Samples, the distinct-value sketch and ages for a value that matched.
    fn record(&mut self, v: &str, det: detect::Detection, opts: &ScanOptions) {
        let mut person = false;
        for e in det.all().iter() {
            person |= e.identifies_person();
            let count = &mut self.sample_counts[e.index()];
            if usize::from(*count) < opts.sample.min(255) {
                *count += 1;
                self.samples.push((e, mask::sample(v, e)));
            }
        }
        if person {
            self.sketch(v);
        }
        if let Some(as_of) = opts.as_of {
            let born = if det.weak.contains(Entity::DateOfBirth) {
                date::date(v)
            } else if det.strong.contains(Entity::KzIin) {
                kz::iin_birth_date(v)
            } else if det.strong.contains(Entity::CnResidentId) && v.len() == 18 {
                cn::resident_id_birth_date(v)
            } else {
                None
            };
            if let Some(age) = born.and_then(|b| as_of.years_since(b)) {
                self.minors.under_14 += u64::from(age < 14);
                self.minors.under_18 += u64::from(age < 18);
            }
        }
    }

    /// The count of `e` in the column, from the two strata: the warm-up values (all checked)
    /// and the later ones (all, or a sample, checked). `total` and `checked` are over both.
    fn estimate(&self, e: Entity, total_score: u64, checked: u64) -> Estimate {
        let ann = self.announced(e);
        let (warm_checked, warm_score) = match &self.warm {
            Some(w) => (
                w.checked,
                w.strong[e.index()] + if ann { w.weak[e.index()] } else { 0 },
            ),
            // The column never got past the warm-up: every value is in the first stratum.
            None => (checked, total_score),
        };
        let post_total = self.non_empty - warm_checked;
        let post_checked = checked - warm_checked;
        let post_score = total_score - warm_score;
        let (matched, exact) = if post_checked >= post_total {
            (warm_score + post_score, true)
        } else if post_checked == 0 {
            let m = warm_score as f64 * self.non_empty as f64 / warm_checked.max(1) as f64;
            (m.round() as u64, false)
        } else {
            let m = post_score as f64 * post_total as f64 / post_checked as f64;
            (warm_score + m.round() as u64, false)
        };
        let matched = matched.min(self.non_empty);
        Estimate {
            matched,
            share: if self.non_empty == 0 {
                0.0
            } else {
                matched as f64 / self.non_empty as f64
            },
            checked,
            exact,
        }
    }

    fn classify(self, opts: &ScanOptions) -> (ColumnReport, Option<HyperLogLog>, Minors) {
        let threshold = |e: Entity| {
            if self.announced(e) {
                opts.header_threshold
            } else {
                opts.value_threshold
            }
        };
        let score =
            |e: Entity, strong: u64, weak: u64| strong + if self.announced(e) { weak } else { 0 };
        let mut best: Option<(Entity, Estimate)> = None;
        if let Some(p) = &self.pin {
            let est = self.estimate(p.entity, score(p.entity, p.strong, p.weak), p.checked);
            if p.checked > 0 && est.share >= threshold(p.entity) {
                best = Some((p.entity, est));
            }
        }
        if best.is_none() && self.full_checked > 0 {
            for &e in Entity::ALL {
                let total = score(e, self.strong[e.index()], self.weak[e.index()]);
                if total == 0 {
                    continue;
                }
                let est = self.estimate(e, total, self.full_checked);
                if est.share >= threshold(e)
                    && best.as_ref().is_none_or(|(_, b)| est.matched > b.matched)
                {
                    best = Some((e, est));
                }
            }
        }
        if best.is_none()
            && self.non_empty > 0
            && let Some(h) = self.header.iter().find(|h| h.entity.header_only())
        {
            let all = Estimate {
                matched: self.non_empty,
                share: 1.0,
                checked: self.non_empty,
                exact: true,
            };
            best = Some((h.entity, all));
        }
        let (entity, est) = match best {
            Some((e, est)) => (Some(e), est),
            None => (
                None,
                Estimate {
                    matched: 0,
                    share: 0.0,
                    checked: self.full_checked,
                    exact: true,
                },
            ),
        };
        let Estimate {
            matched,
            share,
            checked,
            exact,
        } = est;
        let estimated = !exact;
        let distinct = entity
            .filter(|e| e.identifies_person())
            .map(|_| self.hll.as_ref().map_or(0, |h| h.estimate().min(matched)));
        let samples = match entity {
            Some(e) => self
                .samples
                .iter()
                .filter(|(x, _)| *x == e)
                .map(|(_, s)| s.clone())
                .collect(),
            None => Vec::new(),
        };
        let report = ColumnReport {
            name: self.name,
            entity,
            matched,
            share,
            non_empty: self.non_empty,
            checked,
            estimated,
            header_evidence: self.header,
            distinct_estimate: distinct,
            samples,
        };
        let hll = if distinct.is_some() { self.hll } else { None };
        (report, hll, self.minors)
    }
}

/// What [`identity_hash`] makes of each byte: separators are dropped (`KEEP` 0), ASCII
/// lower case becomes upper case (`UPPER`), everything else stays.
const KEEP: [u8; 256] = {
    let mut t = [1u8; 256];
    let mut i = 0;
    while i < 256 {
        if matches!(i as u8, b' ' | b'-' | b'.' | b'(' | b')') {
            t[i] = 0;
        }
        i += 1;
    }
    t
};
const UPPER: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = (i as u8).to_ascii_uppercase();
        i += 1;
    }
    t
};

/// Hash of a value as an identity: case and the separators people type (spaces, dashes,
/// dots, parentheses) do not make a different person. Only the first 128 kept bytes count.
fn identity_hash(v: &str) -> u64 {
    // Table-driven, without a branch per byte: every byte is written, and the write
    // position advances only past kept bytes. (Checking first whether a value is already in
    // normal form, to hash it in place, measured slower than always copying.)
    let mut buf = [0u8; 128];
    let mut n = 0;
    for &c in v.as_bytes() {
        buf[n] = UPPER[usize::from(c)];
        n += usize::from(KEEP[usize::from(c)]);
        if n == buf.len() {
            break;
        }
    }
    hash_bytes(&buf[..n])
}

/// Per-file state shared by the CSV and JSON Lines paths.
struct Scanner<'o> {
    opts: &'o ScanOptions,
    columns: Vec<ColumnState>,
    rows: u64,
    invalid_utf8: u64,
    truncated: bool,
}

impl<'o> Scanner<'o> {
    fn column(&mut self, i: usize) -> Option<&mut ColumnState> {
        while self.columns.len() <= i {
            if self.columns.len() >= self.opts.max_columns {
                self.truncated = true;
                return None;
            }
            let name = format!("column_{}", self.columns.len() + 1);
            self.columns.push(ColumnState::new(name));
        }
        self.columns.get_mut(i)
    }

    fn observe_bytes(&mut self, i: usize, field: &[u8]) {
        let opts = self.opts;
        match std::str::from_utf8(field) {
            Ok(s) => {
                if let Some(c) = self.column(i) {
                    c.observe(s, opts);
                }
            }
            Err(_) => {
                self.invalid_utf8 += 1;
                let s = String::from_utf8_lossy(field);
                if let Some(c) = self.column(i) {
                    c.observe(&s, opts);
                }
            }
        }
    }

    fn finish(self, sniffed: Sniffed, skipped: u64, invalid_lines: u64) -> ScanReport {
        let format = sniffed.format;
        let opts = self.opts;
        let mut columns = Vec::with_capacity(self.columns.len());
        let mut categories = BTreeSet::new();
        let mut subjects = 0;
        let mut subjects_in_arrays = 0;
        let mut minors = Minors::default();
        for c in self.columns {
            let (report, hll, m) = c.classify(opts);
            if let Some(e) = report.entity {
                categories.extend(e.categories().iter().copied());
                if let Some(h) = hll {
                    // Array elements (`phones[]`) are several values of one record's
                    // subject: they count only when no scalar column identifies people.
                    let slot = if report.name.contains("[]") {
                        &mut subjects_in_arrays
                    } else {
                        &mut subjects
                    };
                    *slot = (*slot).max(h.estimate().min(report.matched));
                }
                if matches!(
                    e,
                    Entity::DateOfBirth | Entity::KzIin | Entity::CnResidentId
                ) {
                    minors.under_14 = minors.under_14.max(m.under_14);
                    minors.under_18 = minors.under_18.max(m.under_18);
                }
            }
            columns.push(report);
        }
        if subjects == 0 {
            subjects = subjects_in_arrays;
        }
        if minors.under_18 > 0 {
            categories.insert(DataCategory::Children);
        }
        if minors.under_14 > 0 {
            // PIPL art. 28: personal information of minors under 14 is sensitive
            // (research/jurisdictions.md, China §2).
            categories.insert(DataCategory::Sensitive);
        }
        if categories.iter().any(|c| *c != DataCategory::NonPersonal) {
            categories.remove(&DataCategory::NonPersonal);
        } else {
            categories.insert(DataCategory::NonPersonal);
        }
        ScanReport {
            format,
            encoding: sniffed.encoding.name().to_owned(),
            delimiter: (format == Format::Csv).then(|| (sniffed.delimiter as char).to_string()),
            rows: self.rows,
            bytes: 0,
            subjects_estimate: subjects,
            categories: categories.into_iter().collect(),
            columns,
            skipped_records: skipped,
            invalid_lines,
            invalid_utf8_fields: self.invalid_utf8,
            columns_truncated: self.truncated,
            minors: opts.as_of.map(|_| minors),
        }
    }
}

/// Scans a CSV or JSON Lines input in one pass with bounded memory and reports, per column,
/// the entity found, and for the dataset its categories and an estimate of data subjects.
///
/// ```
/// use silkgate_scan::{scan, Entity, ScanOptions};
/// let csv = "name,iin\nИванов Иван Иванович,900101300007\n";
/// let report = scan(csv.as_bytes(), &ScanOptions::default()).unwrap();
/// assert_eq!(report.columns[1].entity, Some(Entity::KzIin));
/// assert_eq!(report.subjects_estimate, 1);
/// ```
///
/// # Errors
/// [`ScanError::Io`] if reading fails, [`ScanError::NotText`] for binary input,
/// [`ScanError::JsonArray`] for a JSON array. Malformed content is counted in the report
/// (skipped records, invalid lines, invalid UTF-8), not an error.
pub fn scan<R: Read>(reader: R, opts: &ScanOptions) -> Result<ScanReport, ScanError> {
    let input = Input::open(reader, &opts.sniff)?;
    let counter = input.counter();
    let sniffed = input.sniffed;
    let mut scanner = Scanner {
        opts,
        columns: Vec::new(),
        rows: 0,
        invalid_utf8: 0,
        truncated: false,
    };
    let (skipped, invalid_lines) = match sniffed.format {
        Format::Csv => scan_csv(&mut scanner, input.text, sniffed.delimiter)?,
        Format::Jsonl => scan_jsonl(&mut scanner, input.text)?,
    };
    let mut report = scanner.finish(sniffed, skipped, invalid_lines);
    report.bytes = counter.get();
    Ok(report)
}

fn scan_csv(
    s: &mut Scanner<'_>,
    text: Box<dyn Read + '_>,
    delimiter: u8,
) -> Result<(u64, u64), ScanError> {
    let mut rdr = CsvReader::new(text, delimiter, s.opts.max_record_bytes);
    let Some(first) = rdr.next_record()? else {
        return Ok((rdr.skipped, 0));
    };
    let names: Vec<String> = first
        .fields()
        .map(|f| String::from_utf8_lossy(f).trim().to_owned())
        .collect();
    let is_header = match s.opts.header {
        HeaderMode::Present => true,
        HeaderMode::Absent => false,
        HeaderMode::Auto => {
            // A header cell may look like a name ("金额", amount, starts with a surname
            // character), so only identifier-shaped cells make the first row data.
            !names.iter().any(|n| {
                detect::detect(n)
                    .strong
                    .iter()
                    .any(|e| !matches!(e, Entity::PersonName | Entity::Gender))
            }) && !names.iter().all(|n| {
                !n.is_empty()
                    && n.bytes()
                        .all(|b| b.is_ascii_digit() || b == b'.' || b == b'-')
            })
        }
    };
    if is_header {
        for (i, n) in names.iter().enumerate() {
            if i >= s.opts.max_columns {
                s.truncated = true;
                break;
            }
            let name = if n.is_empty() {
                format!("column_{}", i + 1)
            } else {
                n.clone()
            };
            s.columns.push(ColumnState::new(name));
        }
    } else {
        for (i, f) in first.fields().enumerate() {
            s.observe_bytes(i, f);
        }
        s.rows += 1;
    }
    while let Some(rec) = rdr.next_record()? {
        match rec.str_fields() {
            Some(fields) => {
                let opts = s.opts;
                for (i, f) in fields.enumerate() {
                    if let Some(c) = s.column(i) {
                        c.observe(f, opts);
                    }
                }
            }
            None => {
                for (i, f) in rec.fields().enumerate() {
                    s.observe_bytes(i, f);
                }
            }
        }
        s.rows += 1;
    }
    Ok((rdr.skipped, 0))
}

fn scan_jsonl(s: &mut Scanner<'_>, text: Box<dyn Read + '_>) -> Result<(u64, u64), ScanError> {
    let mut lines = LineReader::new(text, s.opts.max_record_bytes);
    let mut paths: HashMap<String, usize> = HashMap::new();
    let mut invalid = 0;
    let mut path = String::new();
    while let Some(line) = lines.next_line()? {
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let value: serde_json::Value = match serde_json::from_slice(line) {
            Ok(v) => v,
            Err(_) => {
                invalid += 1;
                continue;
            }
        };
        path.clear();
        walk(&value, &mut path, &mut |p, v| {
            let idx = match paths.get(p) {
                Some(&i) => Some(i),
                None if s.columns.len() < s.opts.max_columns => {
                    let i = s.columns.len();
                    s.columns.push(ColumnState::new(p.to_owned()));
                    paths.insert(p.to_owned(), i);
                    Some(i)
                }
                None => {
                    s.truncated = true;
                    None
                }
            };
            if let Some(i) = idx {
                s.columns[i].observe(v, s.opts);
            }
        });
        s.rows += 1;
    }
    Ok((lines.skipped, invalid))
}

/// Calls `f(path, text)` for every scalar in `v`; objects join keys with `.`, arrays add
/// `[]`, so all elements of an array share one column.
pub(crate) fn walk(v: &serde_json::Value, path: &mut String, f: &mut dyn FnMut(&str, &str)) {
    use serde_json::Value;
    match v {
        Value::Object(map) => {
            for (k, child) in map {
                let len = path.len();
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(k);
                walk(child, path, f);
                path.truncate(len);
            }
        }
        Value::Array(items) => {
            let len = path.len();
            path.push_str("[]");
            for child in items {
                walk(child, path, f);
            }
            path.truncate(len);
        }
        Value::String(s) => f(if path.is_empty() { "$" } else { path }, s),
        Value::Number(n) => f(if path.is_empty() { "$" } else { path }, &n.to_string()),
        Value::Bool(_) | Value::Null => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_hash_ignores_separators_and_case_only() {
        let h = identity_hash;
        assert_eq!(h("+7 (701) 234-56.78"), h("+77012345678"));
        assert_eq!(h("a.user@example.kz"), h("AUSER@EXAMPLE.KZ"));
        assert_eq!(h("Иванов Иван"), h("ИвановИван"));
        assert_ne!(
            h("Иванов Иван"),
            h("иванов иван"),
            "only ASCII case is folded"
        );
        assert_ne!(h("900101300007"), h("900101300008"));
        assert_ne!(h("12345678"), h("123456780"), "a word boundary");
        assert_ne!(h(""), h("0"));
        assert_eq!(h("-"), h(""), "separators alone are empty");
        // Only the first 128 kept bytes count; separators do not use them up.
        let long = "7".repeat(128);
        assert_eq!(h(&format!("{long}1")), h(&format!("{long}2")));
        assert_ne!(
            h(&format!("{}1", "7-".repeat(127))),
            h(&format!("{}2", "7-".repeat(127)))
        );
        // Each kept byte at each position matters.
        let base = "ABCDEFGHIJKLMNOPQRSTU";
        for i in 0..base.len() {
            let mut v = base.as_bytes().to_vec();
            v[i] = b'Z';
            assert_ne!(h(base), h(std::str::from_utf8(&v).unwrap()), "byte {i}");
        }
    }

    #[test]
    fn identity_hashes_fill_a_sketch_evenly() {
        let mut hll = HyperLogLog::default();
        for i in 0..100_000u64 {
            hll.insert_hash(identity_hash(&format!("{:012}", 900_000_000_000 + i * 7)));
        }
        let e = hll.estimate() as f64;
        assert!((e - 100_000.0).abs() < 5_000.0, "{e}");
    }
}
