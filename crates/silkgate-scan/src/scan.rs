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
use crate::json;
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
    /// Longest record (CSV) or line (JSON Lines) read; longer ones are skipped and counted
    /// as unread (the review is then incomplete).
    pub max_record_bytes: usize,
    /// Share of a column's non-empty values that must prove an entity for the column to be
    /// labelled without header evidence. High, so that numbers passing a check digit by
    /// chance (about one in ten for Luhn, Verhoeff or a mod-11 digit) never label a column.
    pub value_threshold: f64,
    /// Share needed when the header names the entity (weak matches then count too).
    pub header_threshold: f64,
    /// Most distinct columns (CSV fields or JSON paths) tracked. A CSV record is read up
    /// to this many fields; values of further columns are not scanned, and are counted as
    /// unread (the review is then incomplete, [`ScanReport::unread`]).
    pub max_columns: usize,
    /// Deepest nesting of JSON objects and arrays walked (iteratively, so any setting is
    /// safe). A line nested deeper is not scanned and is counted as unread, not as invalid.
    pub max_depth: usize,
    /// The day ages are computed at; with it the scan counts minors from birth dates and
    /// from identifiers that encode one. `None` skips the age check.
    pub as_of: Option<Date>,
    /// In a column pinned to its entity (after a warm-up of 1024 values, see
    /// [`ColumnReport::checked`]), the entity's detector checks one value in `check_every`,
    /// drawn at random; every value still feeds the distinct-value sketch. 1 checks every
    /// value of every column (exact counts: a value matching none of its column's entities
    /// gets every detector); the default, 8, makes the pinned entity's `matched` an
    /// estimate (flagged `estimated`, with a 95 % `margin`) and the scan about twice as
    /// fast. Sampling never applies to another entity a column has shown once: it is
    /// checked on every later value. Columns whose values give ages are always checked in
    /// full when `as_of` is set, so the count of minors stays exact.
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
            max_depth: 1024,
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
    /// JSON Lines nested deeper than [`ScanOptions::max_depth`] (not scanned).
    #[serde(default)]
    pub too_deep_lines: u64,
    /// Values in columns beyond [`ScanOptions::max_columns`] (not scanned).
    #[serde(default)]
    pub values_beyond_column_limit: u64,
    /// The most columns a record had (CSV fields, or distinct JSON paths seen).
    #[serde(default)]
    pub widest_record: u64,
    /// Whether every record and value of the input was read and scanned. When false,
    /// `unread` says what was not and why, the categories never say `non-personal`, and
    /// [`ScanReport::facts`] treats the unread part as personal.
    #[serde(default = "yes")]
    pub complete: bool,
    /// What could not be read, each with its count, share and the limit that was hit.
    #[serde(default)]
    pub unread: Vec<Unread>,
    /// How values were sampled (absent in reports written before it was recorded).
    #[serde(default)]
    pub sampling: Option<Sampling>,
}

fn yes() -> bool {
    true
}

/// Which part of an input the review could not read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum UnreadKind {
    /// Records (CSV) or lines (JSON Lines) longer than [`ScanOptions::max_record_bytes`],
    /// skipped whole.
    OversizedRecords,
    /// JSON Lines that are not JSON.
    InvalidJson,
    /// JSON Lines nested deeper than [`ScanOptions::max_depth`].
    TooDeep,
    /// Values in columns beyond [`ScanOptions::max_columns`].
    ColumnsBeyondLimit,
    /// Fields whose bytes are not valid in the text encoding (read with replacement
    /// characters, so an identifier in them may not be recognised).
    InvalidEncoding,
}

impl UnreadKind {
    /// Whether the count is of records (else of values).
    pub fn counts_records(self) -> bool {
        matches!(
            self,
            UnreadKind::OversizedRecords | UnreadKind::InvalidJson | UnreadKind::TooDeep
        )
    }

    /// The stable name (as in JSON).
    pub fn as_str(self) -> &'static str {
        match self {
            UnreadKind::OversizedRecords => "oversized-records",
            UnreadKind::InvalidJson => "invalid-json",
            UnreadKind::TooDeep => "too-deep",
            UnreadKind::ColumnsBeyondLimit => "columns-beyond-limit",
            UnreadKind::InvalidEncoding => "invalid-encoding",
        }
    }
}

/// One part of an input the review did not read, so that a reader of the report knows
/// what the findings do not cover.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Unread {
    /// What was not read.
    pub kind: UnreadKind,
    /// How many records (for record kinds) or values.
    pub count: u64,
    /// `count` as a share of all records, or of all values.
    pub share: f64,
    /// The limit that was hit, if a limit caused it (bytes, nesting depth or columns).
    pub limit: Option<u64>,
    /// The reason in one line of English, naming the setting.
    pub reason: String,
}

/// How values were sampled, so the report says which counts are estimates and how far
/// they can be off.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sampling {
    /// Whether every value was checked (no count is an estimate).
    pub exact: bool,
    /// Values of every column checked with every detector before sampling may start.
    pub warmup: u64,
    /// In a pinned column, one value in this many is checked for the column's entity.
    pub pinned_check_every: u64,
    /// In a pinned column, one value in this many gets every detector.
    pub pinned_full_every: u64,
    /// In another column, one value in this many gets every detector; an entity found
    /// once is from then on checked on every value of its column.
    pub unpinned_full_every: u64,
    /// Confidence of the `margin` of estimated counts and of `unseen_bound`.
    pub confidence: f64,
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
    /// (both drawn at random) until an entity turns up, which is then checked on every
    /// value. Equal to `non_empty` when the count is exact.
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
    /// Every entity at least one value of the column matched, with how many did: the
    /// column's label (`entity`) is only the summary of these counts, and the dataset's
    /// categories and subject estimate come from all of them.
    #[serde(default)]
    pub counts: Vec<EntityCount>,
    /// Estimated distinct data subjects in this column: distinct values that matched a
    /// person-identifying entity, whatever the column's label (HyperLogLog over the values
    /// seen, plus the extrapolated ones not seen, capped at their count).
    #[serde(default)]
    pub subjects: u64,
    /// When some values were not put through every detector (sampling), the upper end of
    /// the 95 % interval of the values of an entity not found in the column that the sample
    /// may have missed (rule of three); 0 when every value was checked.
    #[serde(default)]
    pub unseen_bound: u64,
}

/// How many values of a column matched one entity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EntityCount {
    /// The entity.
    pub entity: Entity,
    /// Values that are the entity: counted when `estimated` is false, else the values
    /// counted plus a random sample's matches extrapolated to the values it stands for.
    pub matched: u64,
    /// `matched` as a share of the column's non-empty values.
    pub share: f64,
    /// Values checked for this entity.
    pub checked: u64,
    /// Whether `matched` is an estimate from a sample.
    pub estimated: bool,
    /// Half-width of the 95 % interval of an estimated `matched` (0 when counted): the
    /// true count is within `matched ± margin` with 95 % confidence.
    pub margin: u64,
}

/// The facts the policy engine needs from a review.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContentFacts {
    /// Data categories present.
    pub categories: Vec<DataCategory>,
    /// Estimated number of data subjects.
    pub subjects: u64,
    /// Entities found (any value matched), each with the columns that hold it (for
    /// obligations such as "pseudonymise the ID column").
    pub entities: BTreeMap<Entity, Vec<String>>,
    /// Whether the review read the whole input; when false the categories and subjects
    /// above already count the unread part as personal.
    #[serde(default = "yes")]
    pub complete: bool,
}

impl ScanReport {
    /// Whether the whole input was read: nothing skipped, invalid, too deep, beyond the
    /// column limit or wrongly encoded. Also checks the counters of reports written before
    /// `complete` was recorded.
    pub fn is_complete(&self) -> bool {
        self.complete
            && self.unread.is_empty()
            && self.skipped_records == 0
            && self.invalid_lines == 0
            && self.invalid_utf8_fields == 0
            && self.too_deep_lines == 0
            && self.values_beyond_column_limit == 0
            && !self.columns_truncated
    }

    /// Records not read at all (skipped, invalid or too deep).
    pub fn unread_records(&self) -> u64 {
        self.skipped_records + self.invalid_lines + self.too_deep_lines
    }

    /// The facts for a policy decision: categories, subject count and where each entity is.
    ///
    /// Fails closed: when the review is incomplete, the unread part is treated as personal
    /// data (`personal` is added, `non-personal` never given) and every unread record as
    /// one more data subject.
    pub fn facts(&self) -> ContentFacts {
        let mut entities: BTreeMap<Entity, Vec<String>> = BTreeMap::new();
        for c in &self.columns {
            let found = c.counts.iter().map(|k| k.entity).chain(c.entity);
            for e in found.collect::<BTreeSet<_>>() {
                entities.entry(e).or_default().push(c.name.clone());
            }
        }
        let complete = self.is_complete();
        let mut categories = self.categories.clone();
        let mut subjects = self.subjects_estimate;
        if !complete {
            categories.retain(|c| *c != DataCategory::NonPersonal);
            if !categories.contains(&DataCategory::Personal) {
                categories.insert(0, DataCategory::Personal);
            }
            subjects = subjects.saturating_add(self.unread_records().max(1));
        }
        ContentFacts {
            categories,
            subjects,
            entities,
            complete,
        }
    }
}

/// Values of a column that always get every detector, before the column may be pinned.
pub(crate) const WARMUP: u64 = 1024;
/// In a pinned column, one value in this many (at random) gets every detector, so entities
/// the column did not hold in the warm-up are still looked for.
const PINNED_FULL_EVERY: u64 = 64;
/// In a column not pinned after the warm-up, one value in this many (at random) gets every
/// detector; an entity found in it is from then on checked on every value of the column.
const SAMPLE_EVERY: u64 = 32;
/// Two-sided 95 % normal quantile, for the error bounds of sampled counts.
const Z95: f64 = 1.96;
/// Distinct multi-entity detections remembered during the warm-up (values that match
/// several entities, such as twelve digits passing both the IIN and the Aadhaar check).
const MAX_COMBOS: usize = 64;

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

/// Upper end of the 95 % interval of the values of an entity among `unchecked` values,
/// when `hits` of `checked` sampled values matched (normal approximation of the sample
/// share, plus the rule of three, `3 / checked`, so that a sample with no or few hits
/// still bounds what it may have missed).
pub(crate) fn sample_margin(hits: u64, checked: u64, unchecked: u64) -> u64 {
    if unchecked == 0 {
        return 0;
    }
    if checked == 0 {
        return unchecked;
    }
    let n = checked as f64;
    let p = hits as f64 / n;
    let half = Z95 * (p * (1.0 - p) / n).sqrt() + 3.0 / n;
    ((unchecked as f64 * half).ceil() as u64).min(unchecked)
}

/// A column's count of one entity: the values counted exactly, plus a sampled stratum
/// extrapolated to the values it stands for.
#[derive(Debug, Clone, Copy)]
struct Estimate {
    matched: u64,
    checked: u64,
    exact: bool,
    margin: u64,
    /// Matches actually seen (the rest of `matched` is extrapolated).
    seen: u64,
}

/// Counters for one column while the file is read.
///
/// Every value is counted for every entity it is checked against (*counts are per value*);
/// the column's label is only a summary of those counts. Speed without losing a value that
/// matched: the first [`WARMUP`] values get every detector. After them an entity the column
/// has shown at least once is checked on every value (`every`), and the others are looked
/// for on one value in [`SAMPLE_EVERY`] (drawn at random); one that turns up joins `every`.
/// A column that is clearly one entity (half the warm-up or more) is *pinned*: with
/// [`ScanOptions::check_every`] above 1 that entity is checked on one value in
/// `check_every` and its count extrapolated with a stated 95 % bound, every value still
/// feeds the distinct-value sketch, and one value in [`PINNED_FULL_EVERY`] gets every
/// detector. With `check_every` 1 nothing is sampled: a value that matches none of the
/// column's entities gets every detector.
struct ColumnState {
    name: String,
    header: Vec<HeaderEvidence>,
    /// Entities the header names: their weak matches count.
    announced: EntitySet,
    non_empty: u64,
    /// Values that went through every detector.
    full_checked: u64,
    /// Per entity: matches counted while every value was checked for it (the warm-up, and
    /// every value since it joined `every`).
    exact: [u64; N],
    /// Per entity: values checked, and matches, in its sampled stratum (after the warm-up,
    /// before it joined `every`).
    s_checked: [u64; N],
    s_hits: [u64; N],
    /// Per entity in `every`: how many post-warm-up values went by before it joined (the
    /// size of its sampled stratum).
    since: [u64; N],
    /// Values after the warm-up.
    post: u64,
    /// Post-warm-up values that got every detector.
    post_full: u64,
    /// Entities checked on every value after the warm-up.
    every: EntitySet,
    /// The column's entity, once pinned, and one value in how many is checked for it (1:
    /// every value, the entity is in `every`).
    primary: Option<(Entity, u64)>,
    /// Whether every value goes into the distinct-value sketch, checked or not (a sampled
    /// column of a person-identifying entity).
    sketch_all: bool,
    /// Whether nothing is sampled (`check_every` 1).
    exact_mode: bool,
    /// Warm-up values that matched several entities, by set: when the column is pinned,
    /// a value of its entity counts for that entity alone.
    combos: Vec<(EntitySet, u32)>,
    sample_counts: [u8; N],
    samples: Vec<(Entity, String)>,
    hll: Option<HyperLogLog>,
    minors: Minors,
    /// State of the sampling draws.
    rng: u64,
}

impl ColumnState {
    fn new(name: String, opts: &ScanOptions) -> Self {
        let header = header::evidence(&name);
        let mut announced = EntitySet::EMPTY;
        for h in &header {
            announced.insert(h.entity);
        }
        ColumnState {
            name,
            header,
            announced,
            non_empty: 0,
            full_checked: 0,
            exact: [0; N],
            s_checked: [0; N],
            s_hits: [0; N],
            since: [0; N],
            post: 0,
            post_full: 0,
            every: EntitySet::EMPTY,
            primary: None,
            sketch_all: false,
            exact_mode: opts.check_every <= 1,
            combos: Vec::new(),
            sample_counts: [0; N],
            samples: Vec::new(),
            hll: None,
            minors: Minors::default(),
            rng: 0x9e37_79b9_7f4a_7c15,
        }
    }

    fn announced(&self, e: Entity) -> bool {
        self.announced.contains(e)
    }

    /// The entities a detection counts for: strong matches, and weak ones the header
    /// announces.
    fn counted(&self, det: &detect::Detection) -> EntitySet {
        det.strong.union(det.weak.intersect(self.announced))
    }

    fn observe(&mut self, raw: &str, opts: &ScanOptions) {
        let v = raw.trim_ascii();
        if v.is_empty() {
            return;
        }
        self.non_empty += 1;
        if self.non_empty <= WARMUP {
            let det = detect::detect(v);
            self.full_checked += 1;
            let c = self.counted(&det);
            for e in c.iter() {
                self.exact[e.index()] += 1;
            }
            if c.len() > 1 {
                let room = self.combos.len() < MAX_COMBOS;
                match self.combos.iter_mut().find(|(s, _)| *s == c) {
                    Some((_, n)) => *n += 1,
                    // Forgetting a combination only keeps a coincidental entity checked on
                    // every value: slower, never less.
                    None if room => self.combos.push((c, 1)),
                    None => {}
                }
            }
            if !det.is_empty() {
                self.record(v, &det, c, opts);
            }
            if self.non_empty == WARMUP {
                self.after_warmup(opts);
            }
            return;
        }
        self.post += 1;
        if self.exact_mode {
            let mut det = if self.every.is_empty() {
                detect::Detection::default()
            } else {
                detect::detect_in(v, self.every)
            };
            let mut c = self.counted(&det);
            if c.is_empty() {
                det = detect::detect(v);
                self.full_checked += 1;
                self.post_full += 1;
                c = self.counted(&det);
            }
            if let Some((p, _)) = self.primary
                && c.contains(p)
            {
                c = EntitySet::only(p);
            }
            for e in c.iter() {
                self.every.insert(e);
                self.exact[e.index()] += 1;
            }
            if !det.is_empty() {
                self.record(v, &det, c, opts);
            }
            return;
        }
        if self.sketch_all {
            self.sketch(v);
        }
        let mut det = if self.every.is_empty() {
            detect::Detection::default()
        } else {
            detect::detect_in(v, self.every)
        };
        let sampled_primary = self.primary.filter(|(p, _)| !self.every.contains(*p));
        let full_every = if self.primary.is_some() {
            PINNED_FULL_EVERY
        } else {
            SAMPLE_EVERY
        };
        let full = draw(&mut self.rng, full_every);
        if full {
            det = detect::detect(v);
            self.full_checked += 1;
            self.post_full += 1;
            for e in EntitySet::ALL.without(self.every).iter() {
                self.s_checked[e.index()] += 1;
            }
        } else if let Some((p, every)) = sampled_primary
            && draw(&mut self.rng, every)
        {
            let d = detect::detect_in(v, EntitySet::only(p));
            det.strong = det.strong.union(d.strong);
            det.weak = det.weak.union(d.weak);
            self.s_checked[p.index()] += 1;
        }
        let mut c = self.counted(&det);
        if let Some((p, _)) = self.primary
            && c.contains(p)
        {
            c = EntitySet::only(p);
        }
        for e in c.iter() {
            let i = e.index();
            if self.every.contains(e) {
                self.exact[i] += 1;
            } else {
                self.s_hits[i] += 1;
                if sampled_primary.is_none_or(|(p, _)| p != e) {
                    // Found once: from now on every value is checked for it.
                    self.every.insert(e);
                    self.since[i] = self.post;
                }
            }
        }
        if !det.is_empty() {
            self.record(v, &det, c, opts);
        }
    }

    /// Adds a value to the distinct-value sketch.
    fn sketch(&mut self, v: &str) {
        self.hll
            .get_or_insert_with(HyperLogLog::default)
            .insert_hash(identity_hash(v));
    }

    /// At the end of the warm-up: pins the column to its entity if it is clear, and puts
    /// every other entity the warm-up found into `every`.
    fn after_warmup(&mut self, opts: &ScanOptions) {
        let mut best: Option<(Entity, u64)> = None;
        for &e in Entity::ALL {
            let score = self.exact[e.index()];
            if score > 0
                && score as f64 >= PIN_SHARE * self.full_checked as f64
                && best.is_none_or(|(_, s)| score > s)
            {
                best = Some((e, score));
            }
        }
        if let Some((p, _)) = best {
            // Ages must be counted on every value: a single minor changes the categories.
            let gives_age = matches!(
                p,
                Entity::DateOfBirth | Entity::KzIin | Entity::CnResidentId
            );
            let every = if self.exact_mode || (opts.as_of.is_some() && gives_age) {
                1
            } else {
                u64::from(opts.check_every.max(1))
            };
            self.primary = Some((p, every));
            if every == 1 {
                self.every.insert(p);
            } else {
                self.sketch_all = p.identifies_person();
            }
            // A value of the column's entity counts for it alone.
            for (set, n) in std::mem::take(&mut self.combos) {
                if set.contains(p) {
                    for e in set.iter().filter(|e| *e != p) {
                        self.exact[e.index()] -= u64::from(n);
                    }
                }
            }
        }
        self.combos = Vec::new();
        for &e in Entity::ALL {
            if self.exact[e.index()] > 0 && self.primary.is_none_or(|(p, _)| p != e) {
                self.every.insert(e);
            }
        }
    }

    /// Samples, the distinct-value sketch and ages for a value that matched; `counted` are
    /// the entities it counts for.
    fn record(&mut self, v: &str, det: &detect::Detection, counted: EntitySet, opts: &ScanOptions) {
        for e in det.all().iter() {
            let count = &mut self.sample_counts[e.index()];
            if usize::from(*count) < opts.sample.min(255) {
                *count += 1;
                self.samples.push((e, mask::sample(v, e)));
            }
        }
        if !self.sketch_all && counted.iter().any(Entity::identifies_person) {
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

    /// The count of `e` in the column: the values counted exactly, plus its sampled stratum
    /// (post-warm-up values before it joined `every`, or all of them for a sampled pinned
    /// entity) extrapolated from the values checked in it.
    fn estimate(&self, e: Entity) -> Estimate {
        let i = e.index();
        let stratum = if self.every.contains(e) {
            self.since[i]
        } else {
            self.post
        };
        let (checked, hits) = (self.s_checked[i].min(stratum), self.s_hits[i]);
        let warm = self.non_empty.min(WARMUP);
        let exact_checked = warm + (self.post - stratum);
        let seen = self.exact[i] + hits;
        if self.exact_mode || checked >= stratum {
            return Estimate {
                matched: seen,
                checked: self.non_empty,
                exact: true,
                margin: 0,
                seen,
            };
        }
        let extrapolated = if checked == 0 {
            0.0
        } else {
            hits as f64 * stratum as f64 / checked as f64
        };
        let unchecked = stratum - checked;
        let matched = (self.exact[i] + extrapolated.round() as u64).max(seen);
        Estimate {
            matched: matched.min(self.non_empty),
            checked: exact_checked + checked,
            exact: false,
            margin: sample_margin(hits, checked, unchecked),
            seen,
        }
    }

    /// Upper 95 % bound of the values of an entity the column never showed that sampling
    /// may have missed (0 when every value got every detector or matched an entity).
    fn unseen_bound(&self) -> u64 {
        if self.exact_mode {
            return 0;
        }
        let unchecked = self.post - self.post_full;
        sample_margin(0, self.post_full, unchecked)
    }

    fn classify(self, opts: &ScanOptions) -> (ColumnReport, Option<HyperLogLog>, Minors) {
        let threshold = |e: Entity| {
            if self.announced(e) {
                opts.header_threshold
            } else {
                opts.value_threshold
            }
        };
        let share = |m: u64| {
            if self.non_empty == 0 {
                0.0
            } else {
                m as f64 / self.non_empty as f64
            }
        };
        let mut counts = Vec::new();
        let mut best: Option<(Entity, Estimate)> = None;
        let (mut person_matched, mut unsketched) = (0u64, 0u64);
        for &e in Entity::ALL {
            let est = self.estimate(e);
            if est.matched == 0 {
                continue;
            }
            counts.push(EntityCount {
                entity: e,
                matched: est.matched,
                share: share(est.matched),
                checked: est.checked,
                estimated: !est.exact,
                margin: est.margin,
            });
            if e.identifies_person() {
                person_matched += est.matched;
                if !self.sketch_all || self.primary.is_none_or(|(p, _)| p != e) {
                    unsketched += est.matched - est.seen.min(est.matched);
                }
            }
            if share(est.matched) >= threshold(e)
                && best.as_ref().is_none_or(|(_, b)| est.matched > b.matched)
            {
                best = Some((e, est));
            }
        }
        if best.is_none()
            && self.non_empty > 0
            && let Some(h) = self.header.iter().find(|h| h.entity.header_only())
        {
            let all = Estimate {
                matched: self.non_empty,
                checked: self.non_empty,
                exact: true,
                margin: 0,
                seen: self.non_empty,
            };
            best = Some((h.entity, all));
        }
        let unseen_bound = self.unseen_bound();
        let (entity, matched, checked, estimated) = match best {
            Some((e, est)) => (Some(e), est.matched, est.checked, !est.exact),
            None => (
                None,
                0,
                if self.exact_mode {
                    self.non_empty
                } else {
                    self.full_checked
                },
                unseen_bound > 0,
            ),
        };
        let distinct = entity
            .filter(|e| e.identifies_person())
            .map(|_| self.hll.as_ref().map_or(0, |h| h.estimate().min(matched)));
        let sketched = self.hll.as_ref().map_or(0, HyperLogLog::estimate);
        let subjects = (sketched + unsketched).min(person_matched);
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
            share: share(matched),
            non_empty: self.non_empty,
            checked,
            estimated,
            header_evidence: self.header,
            distinct_estimate: distinct,
            samples,
            counts,
            subjects,
            unseen_bound,
        };
        let hll = if subjects > 0 { self.hll } else { None };
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
    /// Values read (CSV fields of data records, JSON scalars), scanned or not.
    values: u64,
    /// Values not scanned because their column was beyond the limit.
    dropped_values: u64,
    too_deep: u64,
    widest: u64,
}

impl<'o> Scanner<'o> {
    fn column(&mut self, i: usize) -> Option<&mut ColumnState> {
        while self.columns.len() <= i {
            if self.columns.len() >= self.opts.max_columns {
                self.truncated = true;
                self.dropped_values += 1;
                return None;
            }
            let name = format!("column_{}", self.columns.len() + 1);
            self.columns.push(ColumnState::new(name, self.opts));
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
        let unread = self.unread(skipped, invalid_lines);
        let format = sniffed.format;
        let opts = self.opts;
        let mut columns = Vec::with_capacity(self.columns.len());
        let mut categories = BTreeSet::new();
        let mut subjects = 0;
        let mut subjects_in_arrays = 0;
        let mut minors = Minors::default();
        for c in self.columns {
            let (report, _hll, m) = c.classify(opts);
            // Categories come from every entity any value matched, not only from labels.
            for e in report.counts.iter().map(|k| k.entity).chain(report.entity) {
                categories.extend(e.categories().iter().copied());
            }
            if report.subjects > 0 {
                // Array elements (`phones[]`) are several values of one record's
                // subject: they count only when no scalar column identifies people.
                let slot = if report.name.contains("[]") {
                    &mut subjects_in_arrays
                } else {
                    &mut subjects
                };
                *slot = (*slot).max(report.subjects);
            }
            if report.counts.iter().any(|k| {
                matches!(
                    k.entity,
                    Entity::DateOfBirth | Entity::KzIin | Entity::CnResidentId
                )
            }) {
                minors.under_14 = minors.under_14.max(m.under_14);
                minors.under_18 = minors.under_18.max(m.under_18);
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
        let complete = unread.is_empty();
        if categories.iter().any(|c| *c != DataCategory::NonPersonal) {
            categories.remove(&DataCategory::NonPersonal);
        } else if complete {
            categories.insert(DataCategory::NonPersonal);
        } else {
            // What was not read may be anything: an incomplete review is never
            // `non-personal`; the categories are those of what was read.
            categories.remove(&DataCategory::NonPersonal);
        }
        let exact = opts.check_every <= 1;
        let sampling = Sampling {
            exact,
            warmup: WARMUP,
            pinned_check_every: u64::from(opts.check_every.max(1)),
            pinned_full_every: if exact { 1 } else { PINNED_FULL_EVERY },
            unpinned_full_every: if exact { 1 } else { SAMPLE_EVERY },
            confidence: 0.95,
        };
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
            too_deep_lines: self.too_deep,
            values_beyond_column_limit: self.dropped_values,
            widest_record: self.widest,
            complete,
            unread,
            sampling: Some(sampling),
        }
    }

    /// What was not read, with shares and limits.
    fn unread(&self, skipped: u64, invalid_lines: u64) -> Vec<Unread> {
        let opts = self.opts;
        let records = self.rows + skipped + invalid_lines + self.too_deep;
        let values = self.values + self.dropped_values;
        let share = |n: u64, of: u64| if of == 0 { 1.0 } else { n as f64 / of as f64 };
        let mut out = Vec::new();
        let mut add = |kind: UnreadKind, count: u64, limit: Option<u64>, reason: String| {
            if count > 0 {
                let of = if kind.counts_records() {
                    records
                } else {
                    values
                };
                out.push(Unread {
                    kind,
                    count,
                    share: share(count, of),
                    limit,
                    reason,
                });
            }
        };
        add(
            UnreadKind::OversizedRecords,
            skipped,
            Some(opts.max_record_bytes.max(1024) as u64),
            format!(
                "{skipped} record(s) longer than max_record_bytes ({} bytes) were skipped unread",
                opts.max_record_bytes.max(1024)
            ),
        );
        add(
            UnreadKind::InvalidJson,
            invalid_lines,
            None,
            format!("{invalid_lines} line(s) are not valid JSON and were not scanned"),
        );
        add(
            UnreadKind::TooDeep,
            self.too_deep,
            Some(opts.max_depth as u64),
            format!(
                "{} line(s) nest objects or arrays deeper than max_depth ({}) and were not scanned",
                self.too_deep, opts.max_depth
            ),
        );
        add(
            UnreadKind::ColumnsBeyondLimit,
            self.dropped_values,
            Some(opts.max_columns as u64),
            format!(
                "{} value(s) in columns beyond max_columns ({}; widest record: {} columns) were not scanned",
                self.dropped_values, opts.max_columns, self.widest
            ),
        );
        add(
            UnreadKind::InvalidEncoding,
            self.invalid_utf8,
            None,
            format!(
                "{} field(s) are not valid text in the file's encoding and were scanned with replacement characters",
                self.invalid_utf8
            ),
        );
        out
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
        values: 0,
        dropped_values: 0,
        too_deep: 0,
        widest: 0,
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
    let mut rdr = CsvReader::new(text, delimiter, s.opts.max_record_bytes)
        .keep_fields(s.opts.max_columns.max(1));
    let Some(first) = rdr.next_record()? else {
        s.widest = rdr.widest as u64;
        return Ok((rdr.skipped, 0));
    };
    let first: Vec<Vec<u8>> = first.fields().map(<[u8]>::to_vec).collect();
    let header_dropped = rdr.dropped_fields;
    let names: Vec<String> = first
        .iter()
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
            let name = if n.is_empty() {
                format!("column_{}", i + 1)
            } else {
                n.clone()
            };
            s.columns.push(ColumnState::new(name, s.opts));
        }
    } else {
        s.values += first.len() as u64;
        for (i, f) in first.iter().enumerate() {
            s.observe_bytes(i, f);
        }
        s.rows += 1;
    }
    while let Some(rec) = rdr.next_record()? {
        s.values += rec.len() as u64;
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
    // The header's own fields beyond the limit are names, not values.
    let dropped = rdr.dropped_fields - if is_header { header_dropped } else { 0 };
    s.dropped_values += dropped;
    s.truncated |= rdr.dropped_fields > 0;
    s.widest = rdr.widest as u64;
    Ok((rdr.skipped, 0))
}

fn scan_jsonl(s: &mut Scanner<'_>, text: Box<dyn Read + '_>) -> Result<(u64, u64), ScanError> {
    let mut lines = LineReader::new(text, s.opts.max_record_bytes);
    let mut paths: HashMap<String, usize> = HashMap::new();
    let mut invalid = 0;
    let mut scratch = json::Scratch::default();
    while let Some(line) = lines.next_line()? {
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let walked = json::walk(line, s.opts.max_depth, &mut scratch, &mut |p, v| {
            s.values += 1;
            let idx = match paths.get(p) {
                Some(&i) => Some(i),
                None if s.columns.len() < s.opts.max_columns => {
                    let i = s.columns.len();
                    s.columns.push(ColumnState::new(p.to_owned(), s.opts));
                    paths.insert(p.to_owned(), i);
                    Some(i)
                }
                None => {
                    s.truncated = true;
                    s.dropped_values += 1;
                    s.values -= 1;
                    None
                }
            };
            if let Some(i) = idx {
                s.columns[i].observe(v, s.opts);
            }
        });
        match walked {
            Ok(()) => s.rows += 1,
            Err(json::JsonError::Invalid) => invalid += 1,
            Err(json::JsonError::TooDeep) => s.too_deep += 1,
        }
    }
    s.widest = (s.columns.len() + usize::from(s.truncated)) as u64;
    Ok((lines.skipped, invalid))
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
