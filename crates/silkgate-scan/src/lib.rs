//! Content compliance review: streaming detection of personal data in CSV and JSON Lines,
//! column classification, data-subject estimates and de-identification.
//!
//! The main entry points are [`scan`], which reads a file once and returns a
//! [`ScanReport`] (per column: the [`Entity`] most values are, how many matched, the header
//! evidence; for the dataset: [`DataCategory`](silkgate_model::DataCategory)s and an
//! estimate of distinct data subjects), [`ScanReport::facts`], which turns a report into the
//! [`ContentFacts`] a policy decision needs, and [`deidentify`], which applies a [`Plan`]
//! (drop, mask, pseudonymise, generalise, tokenise per column) while streaming.
//!
//! Invariant: a report never contains the raw values it found, only counts, columns and
//! masked samples; the scanner never logs the text it scans. Memory stays bounded whatever
//! the input size: one record at a time, fixed-size counters and sketches per column. It
//! fails closed: every value matched is counted (not only a column's label), and whatever
//! it could not read makes the review incomplete ([`ScanReport::unread`]), never
//! `non-personal`.
//!
//! ```
//! use silkgate_scan::{scan, DataCategory, Entity, ScanOptions};
//! let csv = "ФИО;Телефон;Сумма\nИванов Иван Иванович;+7 701 234 5678;1200.50\n";
//! let report = scan(csv.as_bytes(), &ScanOptions::default()).unwrap();
//! assert_eq!(report.columns[0].entity, Some(Entity::PersonName));
//! assert_eq!(report.columns[1].entity, Some(Entity::Phone));
//! assert_eq!(report.columns[2].entity, None);
//! assert_eq!(report.categories, vec![DataCategory::Personal]);
//! ```

pub mod corpus;
mod deid;
pub mod detect;
mod entity;
mod error;
pub mod header;
pub mod hll;
mod json;
pub mod mask;
pub mod reader;
mod scan;

pub use deid::{
    DeidColumn, DeidReport, Generalisation, Keys, Plan, Residual, Transform, deidentify,
    detokenise, pseudonym, tokenise,
};
pub use entity::{Entity, EntitySet, UnknownEntity};
pub use error::{DeidError, ScanError};
pub use reader::Format;
pub use scan::{
    ColumnReport, ContentFacts, Date, EntityCount, HeaderMode, Minors, Sampling, ScanOptions,
    ScanReport, Unread, UnreadKind, scan,
};
pub use silkgate_model::DataCategory;
