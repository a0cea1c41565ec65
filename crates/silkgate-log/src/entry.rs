//! Log entries: one per event of a node, in a canonical, versioned, self-describing text form.
//!
//! ```text
//! silkgate-log-entry/v1
//! kind transfer.requested
//! time-ms 1764147600123
//! id agreement ag-2026-0042
//! id transfer tr-01JDX4
//! sha256 request 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
//! ```
//!
//! Invariant (ARCHITECTURE.md, "Invariants"): no personal data and no payload bytes enter a
//! log entry. The type enforces it: the only values an entry holds are an event kind and labels
//! from a small token alphabet, a time, opaque identifiers of at most 128 characters from an
//! alphabet without spaces or `@`, and SHA-256 digests. There is no constructor that takes
//! free text or bytes; payloads and documents enter only as their [`Digest`].
//!
//! Canonical: identifiers and digests are sorted by label then value, duplicates refused, so
//! one event has exactly one encoding, and [`Entry::parse`] accepts only that encoding.

use std::fmt;

use sha2::{Digest as _, Sha256};

/// First line of every entry: format name and version.
pub const ENTRY_VERSION_LINE: &str = "silkgate-log-entry/v1";

/// Most identifiers, and most digests, in one entry.
pub const MAX_ITEMS: usize = 32;

/// Longest identifier value.
pub const MAX_ID_LEN: usize = 128;

/// Longest kind or label.
pub const MAX_TOKEN_LEN: usize = 64;

/// A SHA-256 digest of a document or payload. The only way bytes reach an entry.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digest(pub [u8; 32]);

impl Digest {
    /// Hashes `bytes`; the bytes themselves go no further.
    pub fn of(bytes: &[u8]) -> Self {
        Self(Sha256::digest(bytes).into())
    }

    /// Lower-case hex.
    pub fn to_hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }

    fn from_hex(s: &str) -> Option<Self> {
        if s.len() != 64 || !s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            return None;
        }
        let mut out = [0u8; 32];
        for (i, o) in out.iter_mut().enumerate() {
            *o = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).ok()?;
        }
        Some(Self(out))
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Digest({})", self.to_hex())
    }
}

/// An entry could not be built or parsed; names the field and the reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EntryError {
    /// A kind or label is not a token.
    #[error(
        "entry {field} '{value}' is invalid: use 1 to 64 of a-z 0-9 . _ -, starting with a letter"
    )]
    Token {
        /// Which field.
        field: &'static str,
        /// The value (truncated to 80 characters).
        value: String,
    },
    /// An identifier value is not allowed.
    #[error("entry identifier '{label}' is invalid: use 1 to 128 of A-Z a-z 0-9 . _ - : /")]
    Identifier {
        /// Its label.
        label: String,
    },
    /// Too many identifiers or digests.
    #[error("entry has more than {max} {field}")]
    TooMany {
        /// Which list.
        field: &'static str,
        /// The limit.
        max: usize,
    },
    /// The same label and value twice.
    #[error("entry has a duplicate {field} '{label}'")]
    Duplicate {
        /// Which list.
        field: &'static str,
        /// The label.
        label: String,
    },
    /// Parsing: not this format or not canonical.
    #[error("not a canonical {ENTRY_VERSION_LINE} entry: {reason} (line {line})")]
    Format {
        /// 1-based line.
        line: usize,
        /// What is wrong.
        reason: &'static str,
    },
}

fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= MAX_TOKEN_LEN
        && s.as_bytes()[0].is_ascii_lowercase()
        && s.bytes()
            .all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'.' | b'_' | b'-'))
}

pub(crate) fn is_identifier(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= MAX_ID_LEN
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b':' | b'/'))
}

fn token(field: &'static str, s: &str) -> Result<String, EntryError> {
    if is_token(s) {
        Ok(s.to_owned())
    } else {
        Err(EntryError::Token {
            field,
            value: s.chars().take(80).collect(),
        })
    }
}

/// The kind of event an entry records, e.g. `transfer.requested`, `decision.made`,
/// `agreement.signed`, `dataset.version-published`. A token, so it cannot carry free text.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EventKind(String);

impl EventKind {
    /// Checks and wraps an event kind.
    ///
    /// # Errors
    /// [`EntryError::Token`] when it is not a token.
    pub fn new(kind: &str) -> Result<Self, EntryError> {
        token("kind", kind).map(Self)
    }

    /// The kind as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// One log entry. Build with [`Entry::builder`]; read back with [`Entry::parse`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    kind: EventKind,
    time_ms: u64,
    ids: Vec<(String, String)>,
    digests: Vec<(String, Digest)>,
}

/// Collects the fields of an [`Entry`]; [`EntryBuilder::build`] checks and sorts them.
#[derive(Debug, Clone)]
#[must_use]
pub struct EntryBuilder {
    entry: Entry,
    error: Option<EntryError>,
}

impl EntryBuilder {
    /// Adds an identifier (a transfer id, an agreement id, a node's state code, ...).
    pub fn id(mut self, label: &str, value: &str) -> Self {
        if self.error.is_some() {
            return self;
        }
        match token("identifier label", label) {
            Ok(label) if is_identifier(value) => self.entry.ids.push((label, value.to_owned())),
            Ok(label) => self.error = Some(EntryError::Identifier { label }),
            Err(e) => self.error = Some(e),
        }
        self
    }

    /// Adds the digest of a document or payload under a label (`payload`, `receipt`, ...).
    pub fn digest(mut self, label: &str, digest: Digest) -> Self {
        if self.error.is_some() {
            return self;
        }
        match token("digest label", label) {
            Ok(label) => self.entry.digests.push((label, digest)),
            Err(e) => self.error = Some(e),
        }
        self
    }

    /// Checks limits and duplicates and returns the canonical entry.
    ///
    /// # Errors
    /// The first [`EntryError`] met while building.
    pub fn build(self) -> Result<Entry, EntryError> {
        if let Some(e) = self.error {
            return Err(e);
        }
        let mut entry = self.entry;
        if entry.ids.len() > MAX_ITEMS {
            return Err(EntryError::TooMany {
                field: "identifiers",
                max: MAX_ITEMS,
            });
        }
        if entry.digests.len() > MAX_ITEMS {
            return Err(EntryError::TooMany {
                field: "digests",
                max: MAX_ITEMS,
            });
        }
        entry.ids.sort();
        entry.digests.sort();
        if let Some(w) = entry.ids.windows(2).find(|w| w[0] == w[1]) {
            return Err(EntryError::Duplicate {
                field: "identifier",
                label: w[0].0.clone(),
            });
        }
        if let Some(w) = entry.digests.windows(2).find(|w| w[0] == w[1]) {
            return Err(EntryError::Duplicate {
                field: "digest",
                label: w[0].0.clone(),
            });
        }
        Ok(entry)
    }
}

impl Entry {
    /// Starts an entry for an event of `kind` at `time_ms` (milliseconds since the Epoch).
    pub fn builder(kind: EventKind, time_ms: u64) -> EntryBuilder {
        EntryBuilder {
            entry: Self {
                kind,
                time_ms,
                ids: Vec::new(),
                digests: Vec::new(),
            },
            error: None,
        }
    }

    /// The event kind.
    pub fn kind(&self) -> &EventKind {
        &self.kind
    }

    /// Milliseconds since the Epoch.
    pub fn time_ms(&self) -> u64 {
        self.time_ms
    }

    /// Identifiers, sorted by label then value.
    pub fn ids(&self) -> &[(String, String)] {
        &self.ids
    }

    /// Digests, sorted by label then value.
    pub fn digests(&self) -> &[(String, Digest)] {
        &self.digests
    }

    /// The canonical encoding, the bytes the log stores and hashes.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.to_string().into_bytes()
    }

    /// Parses an entry, accepting only the canonical encoding.
    ///
    /// # Errors
    /// [`EntryError::Format`] naming the line, or the builder's error for a bad field.
    pub fn parse(bytes: &[u8]) -> Result<Self, EntryError> {
        let fmt_err = |line: usize, reason: &'static str| EntryError::Format { line, reason };
        let text = std::str::from_utf8(bytes).map_err(|_| fmt_err(1, "not UTF-8"))?;
        let body = text
            .strip_suffix('\n')
            .ok_or(fmt_err(1, "does not end with a newline"))?;
        let mut lines = body.split('\n').enumerate().map(|(i, l)| (i + 1, l));
        let (_, first) = lines.next().ok_or(fmt_err(1, "empty"))?;
        if first != ENTRY_VERSION_LINE {
            return Err(fmt_err(1, "unknown format or version"));
        }
        let (n, kind_line) = lines.next().ok_or(fmt_err(2, "missing kind"))?;
        let kind = kind_line
            .strip_prefix("kind ")
            .ok_or(fmt_err(n, "expected 'kind <event kind>'"))?;
        let (n, time_line) = lines.next().ok_or(fmt_err(3, "missing time-ms"))?;
        let time = time_line
            .strip_prefix("time-ms ")
            .ok_or(fmt_err(n, "expected 'time-ms <milliseconds>'"))?;
        let time_ms = crate::checkpoint::parse_decimal(time)
            .map_err(|_| fmt_err(n, "time-ms is not a decimal number"))?;
        let mut builder = Self::builder(EventKind::new(kind)?, time_ms);
        for (n, line) in lines {
            let (tag, rest) = line
                .split_once(' ')
                .ok_or(fmt_err(n, "expected '<tag> <label> <value>'"))?;
            let (label, value) = rest
                .split_once(' ')
                .ok_or(fmt_err(n, "expected '<tag> <label> <value>'"))?;
            builder = match tag {
                "id" => builder.id(label, value),
                "sha256" => builder.digest(
                    label,
                    Digest::from_hex(value)
                        .ok_or(fmt_err(n, "digest is not 64 lower-case hex digits"))?,
                ),
                _ => return Err(fmt_err(n, "unknown tag (expected id or sha256)")),
            };
        }
        let entry = builder.build()?;
        if entry.to_bytes() != bytes {
            return Err(fmt_err(1, "fields are not in canonical order"));
        }
        Ok(entry)
    }
}

impl fmt::Display for Entry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{ENTRY_VERSION_LINE}")?;
        writeln!(f, "kind {}", self.kind.0)?;
        writeln!(f, "time-ms {}", self.time_ms)?;
        for (label, value) in &self.ids {
            writeln!(f, "id {label} {value}")?;
        }
        for (label, d) in &self.digests {
            writeln!(f, "sha256 {label} {}", d.to_hex())?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
