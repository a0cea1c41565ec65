//! Embedding a recipient's fingerprint in a table, and the record the provider keeps of it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use silkgate_model::MarkingTerms;

use crate::MarkError;
use crate::keys::{DatasetKey, MarkKey, SCHEME};
use crate::number;
use crate::table::{Cell, Table};

/// Which delivery a copy is marked for: the identifiers the fingerprint is derived from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivery {
    /// Dataset identifier (e.g. its version hash); copies of one dataset share cell identities.
    pub dataset: String,
    /// Transfer id of this delivery; two deliveries to one recipient get different fingerprints.
    pub transfer_id: String,
    /// Agreement the delivery is made under.
    pub agreement_id: String,
    /// Recipient code (e.g. `KZ/org-17`).
    pub recipient: String,
}

/// Digests of one canary record's cells (column name to keyed digest of the normalised value).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CanaryDigest {
    /// Column name to hex digest.
    pub cells: BTreeMap<String, String>,
}

/// What the provider node stores for each marked delivery, and all tracing needs besides the
/// node's marking secret. It holds no payload value and no secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MarkingRecord {
    /// Marking scheme and version, `silkgate-mark/v1`.
    pub scheme: String,
    /// The delivery this copy went out in.
    #[serde(flatten)]
    pub delivery: Delivery,
    /// The marking parameters used (from the agreement's terms).
    pub params: MarkingTerms,
    /// Canary records added to this copy.
    #[serde(default)]
    pub canaries: Vec<CanaryDigest>,
}

/// Counts of what marking did, for the delivery's evidence and for the operator.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MarkSummary {
    /// Cells in markable columns that hold a number at the column's precision.
    pub cells_eligible: u64,
    /// Eligible cells selected to carry a fingerprint symbol.
    pub cells_marked: u64,
    /// Marked cells whose value actually changed (the rest already had the right residue).
    pub cells_changed: u64,
    /// Distinct cell identities (column and high-order part) among the marked cells; what
    /// tracing can count as independent evidence.
    pub distinct_identities: u64,
    /// Columns the parameters allow marking but the table does not have.
    pub columns_absent: Vec<String>,
    /// Canary records inserted.
    pub canaries_added: u64,
}

/// A marked copy with its record.
#[derive(Debug, Clone)]
pub struct Marked {
    /// The table to deliver.
    pub table: Table,
    /// The record to store on the provider node (and give to tracing later).
    pub record: MarkingRecord,
    /// What marking did.
    pub summary: MarkSummary,
}

/// Marks `table` for `delivery` under `params`: inserts the keyed canary records, then sets the
/// low-order residue of the keyed choice of cells in the allowed columns from the copy's
/// fingerprint. No column outside `params.columns` is changed, and no value moves by more than
/// its column's `max_change_units`.
///
/// # Errors
/// [`MarkError::Disabled`] if the parameters turn marking off; [`MarkError::Params`] if they
/// cannot work; [`MarkError::RowWidth`] for a ragged table.
pub fn mark(
    key: &MarkKey,
    table: &Table,
    delivery: &Delivery,
    params: &MarkingTerms,
) -> Result<Marked, MarkError> {
    params.validate().map_err(MarkError::Params)?;
    if !params.enabled {
        return Err(MarkError::Disabled);
    }
    check_width(table)?;
    let dkey = key.dataset_key(&delivery.dataset);
    let mut out = table.clone();
    let mut summary = MarkSummary::default();

    let canary_rows = insert_canaries(key, &mut out, delivery, params);
    summary.canaries_added = canary_rows.len() as u64;

    let mut identities = std::collections::HashSet::new();
    for rule in &params.columns {
        let Some(ci) = out.column_index(&rule.column) else {
            summary.columns_absent.push(rule.column.clone());
            continue;
        };
        let fingerprint = key.fingerprint(
            &delivery.dataset,
            &delivery.transfer_id,
            &delivery.recipient,
            &rule.column,
            params.fingerprint_symbols,
        );
        let m = rule.modulus();
        for row in &mut out.rows {
            let Some(text) = row[ci].as_text() else {
                continue;
            };
            let Some(v) = number::parse(text, rule.decimals) else {
                continue;
            };
            summary.cells_eligible += 1;
            let stable = v.value.div_euclid(i128::from(m));
            let choice = dkey.cell(
                &rule.column,
                rule.decimals,
                m,
                stable,
                params.select_one_in,
                params.fingerprint_symbols,
            );
            if !choice.selected {
                continue;
            }
            summary.cells_marked += 1;
            identities.insert((ci, stable));
            let symbol = (fingerprint[choice.position as usize] % m + choice.mask) % m;
            let new_value = stable * i128::from(m) + i128::from(symbol);
            if new_value != v.value {
                summary.cells_changed += 1;
                let text = number::format(new_value, rule.decimals, v.frac_digits);
                row[ci] = match row[ci] {
                    Cell::Number(_) => Cell::Number(text),
                    _ => Cell::Text(text),
                };
            }
        }
    }
    summary.distinct_identities = identities.len() as u64;

    let canaries = canary_rows
        .iter()
        .map(|&r| canary_digest(&dkey, params, &out.columns, &out.rows[r]))
        .collect();
    Ok(Marked {
        table: out,
        record: MarkingRecord {
            scheme: SCHEME.to_owned(),
            delivery: delivery.clone(),
            params: params.clone(),
            canaries,
        },
        summary,
    })
}

pub(crate) fn check_width(table: &Table) -> Result<(), MarkError> {
    for (i, row) in table.rows.iter().enumerate() {
        if row.len() != table.columns.len() {
            return Err(MarkError::RowWidth {
                row: i as u64,
                expected: table.columns.len(),
                got: row.len(),
            });
        }
    }
    Ok(())
}

/// The normal form of a cell for canary digests: numbers by value (so `1.50` and `1.5` agree
/// after a re-save), text trimmed.
pub(crate) fn normalise(cell: &Cell) -> Option<String> {
    let text = cell.as_text()?;
    Some(match number::parse(text, 9) {
        Some(v) => format!("n:{}", v.value),
        None => format!("t:{}", text.trim()),
    })
}

/// The canary digest of one cell. A cell of a marked column is digested through its keyed
/// identity tag and residue (the same keyed hash tracing computes anyway), any other cell
/// through a keyed hash of its normal form.
pub(crate) fn cell_digest(
    dkey: &DatasetKey,
    params: &MarkingTerms,
    column: &str,
    cell: &Cell,
) -> Option<String> {
    if let Some(rule) = params.columns.iter().find(|r| r.column == column)
        && let Some(v) = cell.as_text().and_then(|t| number::parse(t, rule.decimals))
    {
        let m = i128::from(rule.modulus());
        let choice = dkey.cell(
            column,
            rule.decimals,
            rule.modulus(),
            v.value.div_euclid(m),
            params.select_one_in,
            params.fingerprint_symbols,
        );
        return Some(choice.canary_digest(v.value.rem_euclid(m) as u32));
    }
    Some(dkey.canary_digest(column, &normalise(cell)?))
}

pub(crate) fn canary_digest(
    dkey: &DatasetKey,
    params: &MarkingTerms,
    columns: &[String],
    row: &[Cell],
) -> CanaryDigest {
    CanaryDigest {
        cells: columns
            .iter()
            .zip(row)
            .filter_map(|(c, cell)| Some((c.clone(), cell_digest(dkey, params, c, cell)?)))
            .collect(),
    }
}

/// Adds `params.canary_records` synthetic records at keyed positions and returns their row
/// indices in the final table. Each canary takes every column from a different keyed real row
/// (so it looks like the data) except the markable numeric columns, which get a keyed value
/// drawn between the column's smallest and largest value, making the record unique.
fn insert_canaries(
    key: &MarkKey,
    table: &mut Table,
    delivery: &Delivery,
    params: &MarkingTerms,
) -> Vec<usize> {
    if params.canary_records == 0 || table.rows.is_empty() {
        return Vec::new();
    }
    let mut next = key.canary_stream(
        &delivery.dataset,
        &delivery.transfer_id,
        &delivery.recipient,
    );
    let mut counter = 0u64;
    let mut draw = move || {
        counter += 1;
        next(counter)
    };
    // Range of each markable numeric column: (index, decimals, min, max, frac digits).
    let ranges: Vec<(usize, u32, i128, i128, u32)> = params
        .columns
        .iter()
        .filter_map(|rule| {
            let ci = table.column_index(&rule.column)?;
            let vals: Vec<_> = table
                .rows
                .iter()
                .filter_map(|r| number::parse(r[ci].as_text()?, rule.decimals))
                .collect();
            let min = vals.iter().map(|v| v.value).min()?;
            let max = vals.iter().map(|v| v.value).max()?;
            let frac = vals.iter().map(|v| v.frac_digits).max()?;
            Some((ci, rule.decimals, min, max, frac))
        })
        .collect();
    if ranges.is_empty() {
        return Vec::new();
    }
    let n = table.rows.len() as u64;
    let mut canaries: Vec<Vec<Cell>> = Vec::new();
    for _ in 0..params.canary_records {
        let mut row: Vec<Cell> = (0..table.columns.len())
            .map(|ci| table.rows[(draw() % n) as usize][ci].clone())
            .collect();
        for &(ci, decimals, min, max, frac) in &ranges {
            let span = (max - min + 1) as u128;
            let v = min + (u128::from(draw()) % span) as i128;
            let text = number::format(v, decimals, frac);
            row[ci] = match table.rows[0][ci] {
                Cell::Number(_) => Cell::Number(text),
                _ => Cell::Text(text),
            };
        }
        canaries.push(row);
    }
    let mut at = Vec::new();
    for row in canaries {
        let pos = (draw() % (table.rows.len() as u64 + 1)) as usize;
        table.rows.insert(pos, row);
        for p in &mut at {
            if *p >= pos {
                *p += 1;
            }
        }
        at.push(pos);
    }
    at
}
