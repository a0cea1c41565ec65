//! Embedding a recipient's fingerprint in a table, and the record the provider keeps of it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use silkgate_model::MarkingTerms;

use crate::MarkError;
use crate::keys::{ColumnKey, DatasetKey, MarkKey, SCHEME};
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
    /// tracing can count as independent evidence. An estimate (HyperLogLog, about 1.6%
    /// standard error), so that marking needs no memory per row.
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

/// Marks `table` for `delivery` under `params`: sets the low-order residue of the keyed choice
/// of cells in the allowed columns from the copy's fingerprint, then appends the keyed canary
/// records. No column outside `params.columns` is changed, and no value moves by more than its
/// column's `max_change_units`. This is [`Marker`] run over the rows of a table held in memory;
/// [`crate::mark_stream`] runs the same marker over a file in constant memory and writes the
/// same bytes.
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
    let mut marker = Marker::new(key, delivery, params, table.columns.clone())?;
    check_width(table)?;
    let mut rows = Vec::with_capacity(table.rows.len() + params.canary_records as usize);
    for row in &table.rows {
        let mut row = row.clone();
        marker.mark_row(&mut row)?;
        rows.push(row);
    }
    let finished = marker.finish();
    rows.extend(finished.canary_rows);
    Ok(Marked {
        table: Table {
            columns: table.columns.clone(),
            rows,
        },
        record: finished.record,
        summary: finished.summary,
    })
}

/// Marks a table one row at a time, in memory bounded by the number of columns and canary
/// records (never by the number of rows): [`Marker::mark_row`] for each row in file order,
/// then [`Marker::finish`] for the canary records to append and the [`MarkingRecord`].
///
/// Every choice is per cell: whether a cell is marked, and which fingerprint symbol it
/// carries, depend only on the key, the column and the cell's own high-order part. The canary
/// records need whole-table facts, which are gathered as the rows pass: each canary cell of an
/// ordinary column is copied from a real row picked by a keyed reservoir sample (one row per
/// canary and column, uniform over the table), and each markable numeric column gets a keyed
/// value between the column's running minimum and maximum. The canaries therefore go at the
/// end of the copy.
pub struct Marker {
    key: MarkKey,
    dkey: DatasetKey,
    delivery: Delivery,
    params: MarkingTerms,
    columns: Vec<String>,
    /// Per marking rule (same order as `params.columns`): its state once its column is known.
    rules: Vec<Option<RuleState>>,
    rows: u64,
    summary: MarkSummary,
    identities: DistinctCount,
    reservoir: Reservoir,
}

/// What the marker keeps for one markable column present in the table.
struct RuleState {
    /// Position of the column.
    ci: usize,
    /// The copy's fingerprint in this column.
    fingerprint: Vec<u32>,
    /// The dataset key with this column's part of each cell identity absorbed.
    ckey: ColumnKey,
    /// Whether the column's cell in the first row was a JSON number (canary cells follow it).
    number_kind: bool,
    /// Smallest and largest value at the rule's precision, and the most fractional digits seen.
    range: Option<(i128, i128, u32)>,
}

/// What [`Marker::finish`] returns.
#[derive(Debug, Clone)]
pub struct Finished {
    /// Canary records, already marked, to write after the last row (one cell per column).
    pub canary_rows: Vec<Vec<Cell>>,
    /// The record to store on the provider node.
    pub record: MarkingRecord,
    /// What marking did.
    pub summary: MarkSummary,
}

impl Marker {
    /// A marker for one delivered copy whose columns (header) are `columns`. More columns may
    /// be added later with [`Marker::add_column`] (JSON Lines records may bring new keys).
    ///
    /// # Errors
    /// [`MarkError::Params`] if the parameters cannot work; [`MarkError::Disabled`] if they
    /// turn marking off.
    pub fn new(
        key: &MarkKey,
        delivery: &Delivery,
        params: &MarkingTerms,
        columns: Vec<String>,
    ) -> Result<Self, MarkError> {
        params.validate().map_err(MarkError::Params)?;
        if !params.enabled {
            return Err(MarkError::Disabled);
        }
        let mut marker = Marker {
            key: key.clone(),
            dkey: key.dataset_key(&delivery.dataset),
            delivery: delivery.clone(),
            params: params.clone(),
            columns: Vec::with_capacity(columns.len()),
            rules: (0..params.columns.len()).map(|_| None).collect(),
            rows: 0,
            summary: MarkSummary::default(),
            identities: DistinctCount::new(),
            reservoir: Reservoir::default(),
        };
        for c in columns {
            marker.add_column(c);
        }
        Ok(marker)
    }

    /// The columns known so far, in order; every row passed to [`Marker::mark_row`] has one
    /// cell per column.
    pub fn columns(&self) -> &[String] {
        &self.columns
    }

    /// Rows marked so far (canaries not counted).
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Adds a column after the rows seen so far (which had no cell in it, as if null) and
    /// returns its position. A name seen before gets a new position but, as in
    /// [`Table::column_index`], only its first position is ever marked.
    pub fn add_column(&mut self, name: String) -> usize {
        let ci = self.columns.len();
        for (rule, state) in self.params.columns.iter().zip(&mut self.rules) {
            if state.is_none() && rule.column == name {
                *state = Some(RuleState {
                    ci,
                    fingerprint: self.key.fingerprint(
                        &self.delivery.dataset,
                        &self.delivery.transfer_id,
                        &self.delivery.recipient,
                        &rule.column,
                        self.params.fingerprint_symbols,
                    ),
                    ckey: self
                        .dkey
                        .column(&rule.column, rule.decimals, rule.modulus()),
                    number_kind: false,
                    range: None,
                });
            }
        }
        self.columns.push(name);
        for canary in 0..self.params.canary_records {
            self.reservoir
                .add_slot(&self.key, &self.delivery, canary, ci, self.rows);
        }
        ci
    }

    /// Marks one row in place: each selected cell of an allowed column gets its fingerprint
    /// symbol as low-order residue. The row is also sampled for the canary records.
    ///
    /// # Errors
    /// [`MarkError::RowWidth`] if the row does not have one cell per column.
    pub fn mark_row(&mut self, row: &mut [Cell]) -> Result<(), MarkError> {
        if row.len() != self.columns.len() {
            return Err(MarkError::RowWidth {
                row: self.rows,
                expected: self.columns.len(),
                got: row.len(),
            });
        }
        if self.rows == 0 {
            for state in self.rules.iter_mut().flatten() {
                state.number_kind = matches!(row[state.ci], Cell::Number(_));
            }
        }
        self.rows += 1;
        self.reservoir
            .observe(&self.key, &self.delivery, self.rows, row);
        self.mark_cells(row, true);
        Ok(())
    }

    /// Sets the fingerprint residues of one row (a real row, or a canary when `observe` is
    /// false, which then does not count towards the columns' ranges).
    fn mark_cells(&mut self, row: &mut [Cell], observe: bool) {
        let m_params = &self.params;
        for (rule, state) in m_params.columns.iter().zip(&mut self.rules) {
            let Some(state) = state else {
                continue;
            };
            let ci = state.ci;
            let Some(v) = row[ci]
                .as_text()
                .and_then(|t| number::parse(t, rule.decimals))
            else {
                continue;
            };
            if observe {
                state.range = Some(match state.range {
                    None => (v.value, v.value, v.frac_digits),
                    Some((lo, hi, frac)) => {
                        (lo.min(v.value), hi.max(v.value), frac.max(v.frac_digits))
                    }
                });
            }
            self.summary.cells_eligible += 1;
            let m = rule.modulus();
            let stable = v.value.div_euclid(i128::from(m));
            let choice =
                state
                    .ckey
                    .cell(stable, m_params.select_one_in, m_params.fingerprint_symbols);
            if !choice.selected {
                continue;
            }
            self.summary.cells_marked += 1;
            self.identities.insert(choice.tag);
            let symbol = (state.fingerprint[choice.position as usize] % m + choice.mask) % m;
            let new_value = stable * i128::from(m) + i128::from(symbol);
            if new_value != v.value {
                self.summary.cells_changed += 1;
                // Rewritten in place: the cell is text or a number (it parsed as one).
                if let Cell::Text(text) | Cell::Number(text) = &mut row[ci] {
                    number::format_into(text, new_value, rule.decimals, v.frac_digits);
                }
            }
        }
    }

    /// Ends the copy: builds and marks the canary records (none if the table had no row or no
    /// markable number) and returns them with the marking record and the summary.
    pub fn finish(mut self) -> Finished {
        let canary_rows = self.canaries();
        let canaries = canary_rows
            .iter()
            .map(|row| canary_digest(&self.dkey, &self.params, &self.columns, row))
            .collect();
        let mut summary = std::mem::take(&mut self.summary);
        summary.canaries_added = canary_rows.len() as u64;
        summary.distinct_identities = self.identities.estimate();
        summary.columns_absent = self
            .params
            .columns
            .iter()
            .zip(&self.rules)
            .filter(|(_, s)| s.is_none())
            .map(|(r, _)| r.column.clone())
            .collect();
        Finished {
            canary_rows,
            record: MarkingRecord {
                scheme: SCHEME.to_owned(),
                delivery: self.delivery,
                params: self.params,
                canaries,
            },
            summary,
        }
    }

    /// The canary records: each takes every column from its keyed reservoir row, except the
    /// markable numeric columns, which get a keyed value drawn between the column's smallest
    /// and largest value, making the record unique; then it is marked like any row.
    fn canaries(&mut self) -> Vec<Vec<Cell>> {
        if self.params.canary_records == 0 || self.rows == 0 {
            return Vec::new();
        }
        // (index, decimals, min, max, frac digits, number kind) of each markable numeric column.
        let ranges: Vec<(usize, u32, i128, i128, u32, bool)> = self
            .params
            .columns
            .iter()
            .zip(&self.rules)
            .filter_map(|(rule, state)| {
                let state = state.as_ref()?;
                let (min, max, frac) = state.range?;
                Some((state.ci, rule.decimals, min, max, frac, state.number_kind))
            })
            .collect();
        if ranges.is_empty() {
            return Vec::new();
        }
        let mut picked = self
            .reservoir
            .rows(self.params.canary_records, self.columns.len());
        {
            let mut next = self.key.canary_stream(
                &self.delivery.dataset,
                &self.delivery.transfer_id,
                &self.delivery.recipient,
            );
            let mut counter = 0u64;
            for row in &mut picked {
                for &(ci, decimals, min, max, frac, number_kind) in &ranges {
                    counter += 1;
                    let span = (max - min + 1) as u128;
                    let v = min + (u128::from(next(counter)) % span) as i128;
                    let text = number::format(v, decimals, frac);
                    row[ci] = if number_kind {
                        Cell::Number(text)
                    } else {
                        Cell::Text(text)
                    };
                }
            }
        }
        for row in &mut picked {
            self.mark_cells(row, false);
        }
        picked
    }
}

/// Keyed reservoir samples of one row per (canary, column): each slot holds the cell of a row
/// drawn uniformly from the rows seen so far. Instead of a draw per row, each slot draws when
/// its next replacement happens (the gap of a size-one reservoir: after keeping row `t`, the
/// next row kept is the first `n` with `n >= t / u`, `u` uniform in (0, 1)), so a slot costs
/// about `ln(rows)` keyed draws in all.
#[derive(Default)]
struct Reservoir {
    slots: Vec<Slot>,
    /// (row at which a slot next takes a cell, slot index), earliest first.
    due: std::collections::BinaryHeap<std::cmp::Reverse<(u64, usize)>>,
}

struct Slot {
    canary: u32,
    column: usize,
    cell: Cell,
    draws: u64,
}

impl Reservoir {
    /// Adds the slot of (`canary`, `column`) when `rows_seen` rows have passed without a cell
    /// in this column: it replays its draws over those rows, all of which held null.
    fn add_slot(
        &mut self,
        key: &MarkKey,
        delivery: &Delivery,
        canary: u32,
        column: usize,
        rows_seen: u64,
    ) {
        let mut slot = Slot {
            canary,
            column,
            cell: Cell::Null,
            draws: 0,
        };
        let mut due = 1;
        while due <= rows_seen {
            due = Self::next_due(key, delivery, &mut slot, due);
        }
        self.due.push(std::cmp::Reverse((due, self.slots.len())));
        self.slots.push(slot);
    }

    /// The row after `kept` at which `slot` next takes a cell.
    fn next_due(key: &MarkKey, delivery: &Delivery, slot: &mut Slot, kept: u64) -> u64 {
        slot.draws += 1;
        let x = key.canary_pick(delivery, slot.canary, slot.column, slot.draws);
        // Uniform in (0, 1): 53 random bits, offset by half a step so neither end is reached.
        let u = ((x >> 11) as f64 + 0.5) / (1u64 << 53) as f64;
        let due = (kept as f64 / u).ceil();
        let due = if due >= u64::MAX as f64 {
            u64::MAX
        } else {
            due as u64
        };
        due.max(kept + 1)
    }

    /// Row `row` (1-based) has passed: every slot due at it takes its cell.
    fn observe(&mut self, key: &MarkKey, delivery: &Delivery, row: u64, cells: &[Cell]) {
        while let Some(&std::cmp::Reverse((due, i))) = self.due.peek() {
            if due != row {
                break;
            }
            self.due.pop();
            let slot = &mut self.slots[i];
            slot.cell = cells[slot.column].clone();
            let next = Self::next_due(key, delivery, slot, row);
            self.due.push(std::cmp::Reverse((next, i)));
        }
    }

    /// The sampled rows, one per canary, `width` cells each.
    fn rows(&self, canaries: u32, width: usize) -> Vec<Vec<Cell>> {
        let mut rows = vec![vec![Cell::Null; width]; canaries as usize];
        for slot in &self.slots {
            rows[slot.canary as usize][slot.column] = slot.cell.clone();
        }
        rows
    }
}

/// Estimated number of distinct marked-cell identities, in constant memory: a HyperLogLog
/// sketch of 4,096 registers (standard error about 1.6%, exact-ish below a few thousand by
/// linear counting) over the identities' keyed tags, which are already uniform hashes.
struct DistinctCount {
    registers: Vec<u8>,
}

impl DistinctCount {
    const BITS: u32 = 12;

    fn new() -> Self {
        DistinctCount {
            registers: vec![0; 1 << Self::BITS],
        }
    }

    fn insert(&mut self, tag: [u8; 8]) {
        let x = u64::from_be_bytes(tag);
        let index = (x >> (64 - Self::BITS)) as usize;
        let rest = (x << Self::BITS) | (1 << (Self::BITS - 1));
        let rank = rest.leading_zeros() as u8 + 1;
        if self.registers[index] < rank {
            self.registers[index] = rank;
        }
    }

    fn estimate(&self) -> u64 {
        let m = self.registers.len() as f64;
        let alpha = 0.7213 / (1.0 + 1.079 / m);
        let sum: f64 = self
            .registers
            .iter()
            .map(|&r| 2f64.powi(-i32::from(r)))
            .sum();
        let raw = alpha * m * m / sum;
        let zeros = self.registers.iter().filter(|&&r| r == 0).count();
        let estimate = if raw <= 2.5 * m && zeros > 0 {
            m * (m / zeros as f64).ln()
        } else {
            raw
        };
        estimate.round() as u64
    }
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
