//! De-identification: a [`Plan`] (data, JSON or TOML) names a transform per column, and
//! [`deidentify`] applies it while streaming the file, then checks every transformed value
//! with the detectors so a transform that let an identifier through is reported.
//!
//! Transforms: `drop` the column; `mask` all but a prefix and suffix; `pseudonymise` with
//! HMAC-SHA-256 under the agreement's key (same person, same token within an agreement;
//! unrelated tokens across agreements); `generalise` dates to year or month, ages to bands,
//! codes to a prefix; `tokenise` with AES-256-GCM-SIV under the provider's key, reversible
//! only by the provider ([`detokenise`]).

use std::collections::BTreeMap;
use std::io::{Read, Write};

use aes_gcm_siv::aead::{Aead, KeyInit};
use aes_gcm_siv::{Aes256GcmSiv, Nonce};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::detect;
use crate::entity::Entity;
use crate::error::DeidError;
use crate::header;
use crate::mask;
use crate::reader::{CsvReader, Format, Input, LineReader, SniffOptions};
use crate::scan::ScanReport;

/// Longest record or line de-identified; longer ones are left out of the output (never
/// passed through untransformed) and counted.
const MAX_RECORD: usize = 16 << 20;

/// What to do with one column.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "lowercase", deny_unknown_fields)]
pub enum Transform {
    /// Remove the column.
    Drop,
    /// Replace all but the first `keep_prefix` and last `keep_suffix` letters and digits
    /// with `*` (fewer are kept when they would reveal half the value).
    Mask {
        /// Characters kept at the start.
        #[serde(default)]
        keep_prefix: usize,
        /// Characters kept at the end.
        #[serde(default)]
        keep_suffix: usize,
    },
    /// Replace with `ps_` and 32 hex digits of HMAC-SHA-256 under the pseudonymisation key.
    #[serde(alias = "pseudonymize")]
    Pseudonymise,
    /// Coarsen the value.
    #[serde(alias = "generalize")]
    Generalise {
        /// How.
        to: Generalisation,
    },
    /// Replace with a `tk_` token that the holder of the tokenisation key can reverse.
    #[serde(alias = "tokenize")]
    Tokenise,
}

impl Transform {
    /// The transform's name as written in plans.
    pub fn name(&self) -> &'static str {
        match self {
            Transform::Drop => "drop",
            Transform::Mask { .. } => "mask",
            Transform::Pseudonymise => "pseudonymise",
            Transform::Generalise { .. } => "generalise",
            Transform::Tokenise => "tokenise",
        }
    }
}

/// How `generalise` coarsens a value. Values it cannot read become empty (suppressed),
/// never passed through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Generalisation {
    /// A date becomes its year (`1990`).
    Year,
    /// A date becomes its year and month (`1990-01`).
    Month,
    /// An age in years becomes a band of this width (`30-39` for width 10).
    AgeBand(u32),
    /// Only the first N characters are kept, the rest become `*` (postcodes, codes).
    Prefix(usize),
}

/// A de-identification plan: a transform per column (CSV header name or JSON path such as
/// `customer.passport` or `phones[]`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Plan {
    /// Column name or JSON path → transform.
    pub columns: BTreeMap<String, Transform>,
}

impl Plan {
    /// Parses a plan from JSON, e.g.
    /// `{"columns": {"iin": {"action": "pseudonymise"}, "dob": {"action": "generalise", "to": "year"}}}`.
    ///
    /// # Errors
    /// [`DeidError::InvalidPlan`] naming the field at fault.
    pub fn from_json(text: &str) -> Result<Plan, DeidError> {
        serde_json::from_str(text).map_err(|e| DeidError::InvalidPlan {
            reason: e.to_string(),
        })
    }

    /// Parses a plan from TOML (`[columns.iin]` / `action = "pseudonymise"`).
    ///
    /// # Errors
    /// [`DeidError::InvalidPlan`] naming the field at fault.
    pub fn from_toml(text: &str) -> Result<Plan, DeidError> {
        toml::from_str(text).map_err(|e| DeidError::InvalidPlan {
            reason: e.to_string(),
        })
    }

    /// A plan that applies `rules` (entity → transform) to the columns a scan labelled with
    /// those entities: how a policy obligation ("pseudonymise national identifiers") becomes
    /// a plan for one file.
    pub fn for_report(report: &ScanReport, rules: &BTreeMap<Entity, Transform>) -> Plan {
        let columns = report
            .columns
            .iter()
            .filter_map(|c| Some((c.name.clone(), rules.get(&c.entity?)?.clone())))
            .collect();
        Plan { columns }
    }
}

/// The secret keys transforms need. `Debug` never shows them.
#[derive(Clone, Default)]
pub struct Keys {
    pseudonymisation: Option<[u8; 32]>,
    tokenisation: Option<[u8; 32]>,
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keys")
            .field("pseudonymisation", &self.pseudonymisation.map(|_| "<set>"))
            .field("tokenisation", &self.tokenisation.map(|_| "<set>"))
            .finish()
    }
}

impl Keys {
    /// No keys: only drop, mask and generalise can run.
    pub fn new() -> Self {
        Keys::default()
    }

    /// Sets the pseudonymisation key, held per agreement.
    pub fn with_pseudonymisation(mut self, key: [u8; 32]) -> Self {
        self.pseudonymisation = Some(key);
        self
    }

    /// Sets the tokenisation key, held by the provider only.
    pub fn with_tokenisation(mut self, key: [u8; 32]) -> Self {
        self.tokenisation = Some(key);
        self
    }
}

/// The result of a de-identification run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeidReport {
    /// CSV or JSON Lines.
    pub format: Format,
    /// Records written.
    pub rows: u64,
    /// Bytes read.
    pub bytes_in: u64,
    /// Bytes written.
    pub bytes_out: u64,
    /// Per planned column: how many values were transformed.
    pub columns: Vec<DeidColumn>,
    /// Records or lines left out because they were over the size limit or not valid JSON
    /// (they cannot be transformed, so they are not passed through).
    pub records_left_out: u64,
    /// Transformed values in which a detector still found an identifier (should be empty).
    pub residual: Vec<Residual>,
}

/// One planned column in a [`DeidReport`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeidColumn {
    /// Column name or JSON path.
    pub name: String,
    /// The transform applied.
    pub transform: String,
    /// Values transformed (or dropped).
    pub changed: u64,
}

/// Transformed values of a column in which an identifier was still found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Residual {
    /// Column name or JSON path.
    pub column: String,
    /// The entity still found.
    pub entity: Entity,
    /// How many values.
    pub count: u64,
}

type HmacSha256 = Hmac<Sha256>;

fn hmac(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    let mut mac =
        <HmacSha256 as Mac>::new_from_slice(key).expect("HMAC accepts keys of any length");
    for p in parts {
        mac.update(p);
    }
    mac.finalize().into_bytes().into()
}

/// The form of a value that decides identity: trimmed, ASCII upper case, without the
/// separators people type (so `112-233-445 95` and `11223344595` are one person).
fn identity_form(v: &str) -> String {
    v.trim()
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '.' | '(' | ')'))
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

/// `ps_` + 32 hex digits of HMAC-SHA-256(key, identity form of the value).
pub fn pseudonym(key: &[u8; 32], value: &str) -> String {
    pseudonym_with(&keyed_mac(key), value)
}

fn keyed_mac(key: &[u8]) -> HmacSha256 {
    <HmacSha256 as Mac>::new_from_slice(key).expect("HMAC accepts keys of any length")
}

/// [`pseudonym`] with the key already absorbed (a clone of the keyed state per value
/// instead of two extra SHA-256 blocks).
fn pseudonym_with(mac: &HmacSha256, value: &str) -> String {
    let mut mac = mac.clone();
    mac.update(identity_form(value).as_bytes());
    let tag: [u8; 32] = mac.finalize().into_bytes().into();
    format!("ps_{}", hex::encode(&tag[..16]))
}

/// The tokenisation key prepared once per run: the cipher with its key schedule and the
/// keyed nonce MAC.
struct TokenKeys {
    cipher: Aes256GcmSiv,
    nonce_mac: HmacSha256,
}

impl TokenKeys {
    fn new(key: &[u8; 32]) -> Self {
        let (enc, nonce_key) = token_keys(key);
        TokenKeys {
            cipher: Aes256GcmSiv::new_from_slice(&enc).expect("32-byte key"),
            nonce_mac: keyed_mac(&nonce_key),
        }
    }
}

/// The keys of a run, prepared once before streaming.
struct Prepared {
    pseudonymisation: Option<HmacSha256>,
    tokenisation: Option<TokenKeys>,
}

impl Prepared {
    fn new(keys: &Keys) -> Self {
        Prepared {
            pseudonymisation: keys.pseudonymisation.as_ref().map(|k| keyed_mac(k)),
            tokenisation: keys.tokenisation.as_ref().map(TokenKeys::new),
        }
    }
}

/// Encryption and nonce subkeys derived from the provider's tokenisation key, so one key
/// never serves two algorithms.
fn token_keys(key: &[u8; 32]) -> ([u8; 32], [u8; 32]) {
    (
        hmac(key, &[b"silkgate token encryption"]),
        hmac(key, &[b"silkgate token nonce"]),
    )
}

/// Encrypts `value` to a `tk_` token. Deterministic (the nonce is derived from the value by
/// HMAC, a synthetic-IV construction; AES-GCM-SIV stays safe under repeated nonces), so
/// equal values give equal tokens and joins still work.
pub fn tokenise(key: &[u8; 32], value: &str) -> String {
    tokenise_with(&TokenKeys::new(key), value)
}

/// [`tokenise`] with the keys prepared.
fn tokenise_with(keys: &TokenKeys, value: &str) -> String {
    let mut mac = keys.nonce_mac.clone();
    mac.update(value.as_bytes());
    let nonce_bytes: [u8; 32] = mac.finalize().into_bytes().into();
    let nonce = Nonce::from_slice(&nonce_bytes[..12]);
    let ct = keys
        .cipher
        .encrypt(nonce, value.as_bytes())
        .expect("AES-GCM-SIV encryption of a short value");
    let mut out = nonce_bytes[..12].to_vec();
    out.extend_from_slice(&ct);
    format!("tk_{}", URL_SAFE_NO_PAD.encode(out))
}

/// Reverses a token made by [`tokenise`] with the same key.
///
/// # Errors
/// [`DeidError::BadToken`] when the token is malformed, was made with another key, or was
/// altered.
pub fn detokenise(key: &[u8; 32], token: &str) -> Result<String, DeidError> {
    let body = token.strip_prefix("tk_").ok_or(DeidError::BadToken {
        reason: "no tk_ prefix",
    })?;
    let raw = URL_SAFE_NO_PAD
        .decode(body)
        .map_err(|_| DeidError::BadToken {
            reason: "not base64url",
        })?;
    if raw.len() < 12 + 16 {
        return Err(DeidError::BadToken {
            reason: "too short",
        });
    }
    let (enc, _) = token_keys(key);
    let cipher = Aes256GcmSiv::new_from_slice(&enc).expect("32-byte key");
    let pt = cipher
        .decrypt(Nonce::from_slice(&raw[..12]), &raw[12..])
        .map_err(|_| DeidError::BadToken {
            reason: "authentication failed (wrong key or altered)",
        })?;
    String::from_utf8(pt).map_err(|_| DeidError::BadToken {
        reason: "not UTF-8",
    })
}

fn generalise(value: &str, g: Generalisation) -> String {
    let v = value.trim();
    match g {
        Generalisation::Year => match detect::date::date(v) {
            Some((y, _, _)) => y.to_string(),
            None => String::new(),
        },
        Generalisation::Month => match detect::date::date(v) {
            Some((y, m, _)) => format!("{y}-{m:02}"),
            None => String::new(),
        },
        Generalisation::AgeBand(width) => match v.parse::<u32>() {
            Ok(age) if width > 0 && age < 150 => {
                let lo = age / width * width;
                format!("{lo}-{}", lo + width - 1)
            }
            _ => String::new(),
        },
        Generalisation::Prefix(n) => v
            .chars()
            .enumerate()
            .map(|(i, c)| {
                if i < n || !c.is_alphanumeric() {
                    c
                } else {
                    '*'
                }
            })
            .collect(),
    }
}

/// One planned column while the file is processed.
struct Planned<'p> {
    name: String,
    transform: &'p Transform,
    changed: u64,
    announced: Vec<Entity>,
    residual: BTreeMap<Entity, u64>,
}

impl Planned<'_> {
    fn apply(&mut self, value: &str, keys: &Prepared) -> String {
        if value.trim().is_empty() {
            return value.to_owned();
        }
        self.changed += 1;
        let out = match self.transform {
            Transform::Drop => String::new(),
            Transform::Mask {
                keep_prefix,
                keep_suffix,
            } => mask::mask(value, *keep_prefix, *keep_suffix),
            Transform::Pseudonymise => pseudonym_with(
                keys.pseudonymisation
                    .as_ref()
                    .expect("checked before streaming"),
                value,
            ),
            Transform::Generalise { to } => generalise(value, *to),
            Transform::Tokenise => tokenise_with(
                keys.tokenisation
                    .as_ref()
                    .expect("checked before streaming"),
                value,
            ),
        };
        // Re-scan the transformed value: a strong match anywhere, or a weak match of an
        // entity the header announces, means the transform let an identifier through.
        let det = detect::detect(&out);
        let weak_announced = det.weak.iter().filter(|e| self.announced.contains(e));
        for e in det.strong.iter().chain(weak_announced) {
            *self.residual.entry(e).or_default() += 1;
        }
        out
    }
}

fn check_keys(plan: &Plan, keys: &Keys) -> Result<(), DeidError> {
    for (column, t) in &plan.columns {
        let missing = match t {
            Transform::Pseudonymise if keys.pseudonymisation.is_none() => Some("pseudonymisation"),
            Transform::Tokenise if keys.tokenisation.is_none() => Some("tokenisation"),
            _ => None,
        };
        if let Some(key) = missing {
            return Err(DeidError::MissingKey {
                column: column.clone(),
                transform: t.name(),
                key,
            });
        }
    }
    Ok(())
}

/// Counts bytes written.
struct CountingWriter<W> {
    inner: W,
    count: u64,
}

impl<W: Write> Write for CountingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.count += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// Applies `plan` to a CSV or JSON Lines input, writing the result (UTF-8, same delimiter)
/// to `writer`. Memory stays bounded: one record at a time.
///
/// For CSV the first record must be the header; a planned column missing from it is an
/// error before anything is written. For JSON Lines the plan's paths are applied where they
/// occur; lines that are not JSON are left out (they cannot be transformed). Keys in JSON
/// objects come out sorted.
///
/// # Errors
/// [`DeidError::MissingKey`] if a transform needs a key not given, [`DeidError::UnknownColumn`]
/// for a CSV plan column absent from the header, [`DeidError::Scan`] for unreadable input,
/// [`DeidError::Write`] when writing fails.
pub fn deidentify<R: Read, W: Write>(
    reader: R,
    writer: W,
    plan: &Plan,
    keys: &Keys,
) -> Result<DeidReport, DeidError> {
    check_keys(plan, keys)?;
    let input = Input::open(reader, &SniffOptions::default())?;
    let counter = input.counter();
    let sniffed = input.sniffed;
    let mut out = CountingWriter {
        inner: writer,
        count: 0,
    };
    let mut planned: Vec<Planned<'_>> = plan
        .columns
        .iter()
        .map(|(name, t)| Planned {
            name: name.clone(),
            transform: t,
            changed: 0,
            announced: header::evidence(name)
                .into_iter()
                .map(|h| h.entity)
                .collect(),
            residual: BTreeMap::new(),
        })
        .collect();
    let keys = &Prepared::new(keys);
    let (rows, left_out) = match sniffed.format {
        Format::Csv => deid_csv(input.text, sniffed.delimiter, &mut out, &mut planned, keys)?,
        Format::Jsonl => deid_jsonl(input.text, &mut out, &mut planned, keys)?,
    };
    out.flush().map_err(|source| DeidError::Write { source })?;
    let residual = planned
        .iter()
        .flat_map(|p| {
            p.residual.iter().map(|(e, n)| Residual {
                column: p.name.clone(),
                entity: *e,
                count: *n,
            })
        })
        .collect();
    Ok(DeidReport {
        format: sniffed.format,
        rows,
        bytes_in: counter.get(),
        bytes_out: out.count,
        columns: planned
            .iter()
            .map(|p| DeidColumn {
                name: p.name.clone(),
                transform: p.transform.name().to_owned(),
                changed: p.changed,
            })
            .collect(),
        records_left_out: left_out,
        residual,
    })
}

fn write_err(e: csv::Error) -> DeidError {
    match e.into_kind() {
        csv::ErrorKind::Io(source) => DeidError::Write { source },
        other => DeidError::Write {
            source: std::io::Error::other(format!("{other:?}")),
        },
    }
}

fn deid_csv<W: Write>(
    text: Box<dyn Read + '_>,
    delimiter: u8,
    out: &mut W,
    planned: &mut [Planned<'_>],
    keys: &Prepared,
) -> Result<(u64, u64), DeidError> {
    let mut rdr = CsvReader::new(text, delimiter, MAX_RECORD);
    let mut wtr = csv::WriterBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .from_writer(out);
    let Some(head) = rdr.next_record()? else {
        if let Some(p) = planned.first() {
            return Err(DeidError::UnknownColumn {
                column: p.name.clone(),
                known: String::new(),
            });
        }
        return Ok((0, 0));
    };
    let names: Vec<String> = head
        .fields()
        .map(|f| String::from_utf8_lossy(f).trim().to_owned())
        .collect();
    // Column index → index into `planned`.
    let mut by_column: Vec<Option<usize>> = vec![None; names.len()];
    for (pi, p) in planned.iter().enumerate() {
        let Some(ci) = names.iter().position(|n| *n == p.name) else {
            return Err(DeidError::UnknownColumn {
                column: p.name.clone(),
                known: names.join(", "),
            });
        };
        by_column[ci] = Some(pi);
    }
    let dropped = |ci: usize, planned: &[Planned<'_>]| {
        by_column
            .get(ci)
            .copied()
            .flatten()
            .is_some_and(|pi| planned[pi].transform == &Transform::Drop)
    };
    let mut record = csv::ByteRecord::new();
    for (ci, f) in head.fields().enumerate() {
        if !dropped(ci, planned) {
            record.push_field(f);
        }
    }
    wtr.write_byte_record(&record).map_err(write_err)?;
    let mut rows = 0;
    while let Some(rec) = rdr.next_record()? {
        record.clear();
        for (ci, f) in rec.fields().enumerate() {
            match by_column.get(ci).copied().flatten() {
                None => record.push_field(f),
                Some(pi) if planned[pi].transform == &Transform::Drop => {
                    if !f.is_empty() {
                        planned[pi].changed += 1;
                    }
                }
                Some(pi) => {
                    let v = String::from_utf8_lossy(f);
                    let t = planned[pi].apply(&v, keys);
                    record.push_field(t.as_bytes());
                }
            }
        }
        wtr.write_byte_record(&record).map_err(write_err)?;
        rows += 1;
    }
    wtr.flush().map_err(|source| DeidError::Write { source })?;
    Ok((rows, rdr.skipped))
}

/// Applies `t` at `segments` of `v`: `a.b` walks objects, a `[]` suffix walks every element.
fn apply_path(v: &mut serde_json::Value, segments: &[&str], p: &mut Planned<'_>, keys: &Prepared) {
    use serde_json::Value;
    let Some((first, rest)) = segments.split_first() else {
        let text = match v {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            Value::Array(items) => {
                for item in items {
                    apply_path(item, &[], p, keys);
                }
                return;
            }
            Value::Object(_) | Value::Bool(_) | Value::Null => return,
        };
        *v = Value::String(p.apply(&text, keys));
        return;
    };
    let (key, each) = match first.strip_suffix("[]") {
        Some(k) => (k, true),
        None => (*first, false),
    };
    let Value::Object(map) = v else {
        return;
    };
    if rest.is_empty() && p.transform == &Transform::Drop {
        if map.remove(key).is_some() {
            p.changed += 1;
        }
        return;
    }
    let Some(child) = map.get_mut(key) else {
        return;
    };
    match (each, child) {
        (true, Value::Array(items)) => {
            for item in items {
                apply_path(item, rest, p, keys);
            }
        }
        (_, child) => apply_path(child, rest, p, keys),
    }
}

fn deid_jsonl<W: Write>(
    text: Box<dyn Read + '_>,
    out: &mut W,
    planned: &mut [Planned<'_>],
    keys: &Prepared,
) -> Result<(u64, u64), DeidError> {
    let mut lines = LineReader::new(text, MAX_RECORD);
    let mut rows = 0;
    let mut invalid = 0;
    let paths: Vec<Vec<String>> = planned
        .iter()
        .map(|p| p.name.split('.').map(str::to_owned).collect())
        .collect();
    while let Some(line) = lines.next_line().map_err(DeidError::from)? {
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let mut value: serde_json::Value = match serde_json::from_slice(line) {
            Ok(v) => v,
            Err(_) => {
                invalid += 1;
                continue;
            }
        };
        for (p, segs) in planned.iter_mut().zip(&paths) {
            let segs: Vec<&str> = segs.iter().map(String::as_str).collect();
            apply_path(&mut value, &segs, p, keys);
        }
        serde_json::to_writer(&mut *out, &value)
            .map_err(|e| DeidError::Write { source: e.into() })?;
        out.write_all(b"\n")
            .map_err(|source| DeidError::Write { source })?;
        rows += 1;
    }
    Ok((rows, lines.skipped + invalid))
}

#[cfg(test)]
mod tests {
    use super::*;

    const K1: [u8; 32] = [1; 32];
    const K2: [u8; 32] = [2; 32];

    #[test]
    fn pseudonyms_are_stable_within_and_unrelated_across_agreements() {
        let a = pseudonym(&K1, "112-233-445 95");
        assert_eq!(
            a,
            pseudonym(&K1, "11223344595"),
            "separators do not make another person"
        );
        assert_ne!(
            a,
            pseudonym(&K2, "11223344595"),
            "another agreement, another token"
        );
        assert_ne!(a, pseudonym(&K1, "11223344596"));
        assert!(a.starts_with("ps_") && a.len() == 35);
    }

    #[test]
    fn tokens_reverse_only_with_the_provider_key() {
        let t = tokenise(&K1, "900101300007");
        assert_eq!(t, tokenise(&K1, "900101300007"), "deterministic");
        assert_eq!(detokenise(&K1, &t).unwrap(), "900101300007");
        assert!(matches!(
            detokenise(&K2, &t),
            Err(DeidError::BadToken { .. })
        ));
        let mut altered = t.clone();
        altered.pop();
        altered.push(if t.ends_with('A') { 'B' } else { 'A' });
        assert!(detokenise(&K1, &altered).is_err());
        assert!(detokenise(&K1, "ps_abc").is_err());
    }

    #[test]
    fn generalisations() {
        assert_eq!(generalise("31.01.1990", Generalisation::Year), "1990");
        assert_eq!(generalise("1990-01-31", Generalisation::Month), "1990-01");
        assert_eq!(generalise("37", Generalisation::AgeBand(10)), "30-39");
        assert_eq!(generalise("050010", Generalisation::Prefix(3)), "050***");
        assert_eq!(
            generalise("not a date", Generalisation::Year),
            "",
            "unreadable is suppressed"
        );
    }

    #[test]
    fn plans_parse_from_json_and_toml_and_name_bad_fields() {
        let json = r#"{"columns": {"iin": {"action": "pseudonymise"}, "dob": {"action": "generalise", "to": "year"},
            "phone": {"action": "mask", "keep_suffix": 2}, "zip": {"action": "generalise", "to": {"prefix": 3}}}}"#;
        let p = Plan::from_json(json).unwrap();
        assert_eq!(
            p.columns["phone"],
            Transform::Mask {
                keep_prefix: 0,
                keep_suffix: 2
            }
        );
        assert_eq!(
            p.columns["zip"],
            Transform::Generalise {
                to: Generalisation::Prefix(3)
            }
        );
        let toml = "[columns.iin]\naction = \"pseudonymize\"\n[columns.photo]\naction = \"drop\"\n";
        let p = Plan::from_toml(toml).unwrap();
        assert_eq!(p.columns["photo"], Transform::Drop);
        let err = Plan::from_json(r#"{"columns": {"x": {"action": "shred"}}}"#)
            .unwrap_err()
            .to_string();
        assert!(err.contains("shred"), "{err}");
    }
}
