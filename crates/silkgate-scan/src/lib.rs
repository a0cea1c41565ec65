//! Content compliance review: streaming detection of personal data in CSV and JSON Lines,
//! column classification, data-subject estimates and de-identification.
//!
//! Invariant: a report never contains the raw values it found, only counts, columns and masked
//! samples. (Built out by the content-review issue.)
