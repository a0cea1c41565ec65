//! Tables as records of named columns, read from and written to CSV or JSON Lines.
//!
//! Marking and tracing address cells by column *name*, never by position, so a file whose
//! columns were reordered, dropped or re-saved in the other format is still readable here.

use std::collections::BTreeMap;
use std::io::{BufRead, Read, Write};

use serde_json::Value;

use crate::MarkError;

/// The two file formats a delivered table travels in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Format {
    /// Comma-separated values with a header row.
    Csv,
    /// One JSON object per line.
    Jsonl,
}

impl Format {
    /// Guesses the format from the first non-blank byte: JSON Lines records start with `{`,
    /// and a CSV header practically never does.
    pub fn sniff(bytes: &[u8]) -> Format {
        match bytes.iter().find(|b| !b.is_ascii_whitespace()) {
            Some(b'{') => Format::Jsonl,
            _ => Format::Csv,
        }
    }
}

/// One cell. CSV cells are all text; JSON Lines cells keep their JSON type so that a number
/// written back is still a number.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Cell {
    /// Missing or `null`.
    Null,
    /// Text, as found.
    Text(String),
    /// A JSON number, in the textual form it was read in.
    Number(String),
    /// Any other JSON value (booleans, arrays, objects), carried through untouched.
    Other(Value),
}

impl Cell {
    /// The cell's text if it is text or a number; marking only ever looks at these.
    pub fn as_text(&self) -> Option<&str> {
        match self {
            Cell::Text(s) | Cell::Number(s) => Some(s),
            Cell::Null | Cell::Other(_) => None,
        }
    }
}

/// A table: column names and rows of cells, one cell per column.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Table {
    /// Column names, in file order.
    pub columns: Vec<String>,
    /// Rows; each has exactly `columns.len()` cells.
    pub rows: Vec<Vec<Cell>>,
}

impl Table {
    /// Position of a column by name.
    pub fn column_index(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c == name)
    }

    /// Reads a table in the given format.
    ///
    /// # Errors
    /// [`MarkError::Csv`] or [`MarkError::Jsonl`] with the line that could not be read.
    pub fn read(reader: impl Read, format: Format) -> Result<Table, MarkError> {
        match format {
            Format::Csv => Self::read_csv(reader),
            Format::Jsonl => Self::read_jsonl(reader),
        }
    }

    /// Reads a table, guessing its format with [`Format::sniff`].
    ///
    /// # Errors
    /// As [`Table::read`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Table, MarkError> {
        Self::read(bytes, Format::sniff(bytes))
    }

    /// Reads CSV with a header row.
    ///
    /// # Errors
    /// [`MarkError::Csv`] for malformed CSV or a row of the wrong length.
    pub fn read_csv(reader: impl Read) -> Result<Table, MarkError> {
        let mut rdr = csv::ReaderBuilder::new()
            .has_headers(true)
            .from_reader(reader);
        let columns: Vec<String> = rdr
            .headers()
            .map_err(|e| MarkError::Csv {
                line: 1,
                reason: e.to_string(),
            })?
            .iter()
            .map(str::to_owned)
            .collect();
        let mut rows = Vec::new();
        for (i, rec) in rdr.records().enumerate() {
            let rec = rec.map_err(|e| MarkError::Csv {
                line: i as u64 + 2,
                reason: e.to_string(),
            })?;
            rows.push(rec.iter().map(|s| Cell::Text(s.to_owned())).collect());
        }
        Ok(Table { columns, rows })
    }

    /// Reads JSON Lines: one object per non-blank line. Columns are the union of the keys, in
    /// order of first appearance; a key missing from a record is a [`Cell::Null`].
    ///
    /// # Errors
    /// [`MarkError::Jsonl`] naming the line that is not a JSON object.
    pub fn read_jsonl(reader: impl Read) -> Result<Table, MarkError> {
        let reader = std::io::BufReader::new(reader);
        let mut columns: Vec<String> = Vec::new();
        let mut index: BTreeMap<String, usize> = BTreeMap::new();
        let mut records: Vec<Vec<(usize, Cell)>> = Vec::new();
        for (i, line) in reader.lines().enumerate() {
            let line_no = i as u64 + 1;
            let line = line.map_err(|e| MarkError::Jsonl {
                line: line_no,
                reason: e.to_string(),
            })?;
            if line.trim().is_empty() {
                continue;
            }
            let value: Value = serde_json::from_str(&line).map_err(|e| MarkError::Jsonl {
                line: line_no,
                reason: e.to_string(),
            })?;
            let Value::Object(map) = value else {
                return Err(MarkError::Jsonl {
                    line: line_no,
                    reason: "not a JSON object".into(),
                });
            };
            let mut rec = Vec::with_capacity(map.len());
            for (k, v) in map {
                let idx = *index.entry(k.clone()).or_insert_with(|| {
                    columns.push(k);
                    columns.len() - 1
                });
                rec.push((idx, cell_of_json(v)));
            }
            records.push(rec);
        }
        let width = columns.len();
        let rows = records
            .into_iter()
            .map(|rec| {
                let mut row = vec![Cell::Null; width];
                for (idx, cell) in rec {
                    row[idx] = cell;
                }
                row
            })
            .collect();
        Ok(Table { columns, rows })
    }

    /// Writes the table in the given format.
    ///
    /// # Errors
    /// [`MarkError::Io`] if the writer fails.
    pub fn write(&self, writer: impl Write, format: Format) -> Result<(), MarkError> {
        match format {
            Format::Csv => self.write_csv(writer),
            Format::Jsonl => self.write_jsonl(writer),
        }
    }

    /// The table as bytes in the given format.
    pub fn to_bytes(&self, format: Format) -> Vec<u8> {
        let mut out = Vec::new();
        // Writing to a Vec cannot fail.
        self.write(&mut out, format)
            .expect("writing a table to memory cannot fail");
        out
    }

    /// Writes CSV with a header row. Nulls become empty fields; other JSON values their JSON text.
    ///
    /// # Errors
    /// [`MarkError::Io`] if the writer fails.
    pub fn write_csv(&self, writer: impl Write) -> Result<(), MarkError> {
        let mut w = csv::Writer::from_writer(writer);
        let io = |e: csv::Error| MarkError::Io(e.to_string());
        w.write_record(&self.columns).map_err(io)?;
        for row in &self.rows {
            w.write_record(row.iter().map(csv_field)).map_err(io)?;
        }
        w.flush().map_err(|e| MarkError::Io(e.to_string()))
    }

    /// Writes JSON Lines. A [`Cell::Number`] whose text is not a valid JSON number is written
    /// as a string rather than producing invalid JSON.
    ///
    /// # Errors
    /// [`MarkError::Io`] if the writer fails.
    pub fn write_jsonl(&self, mut writer: impl Write) -> Result<(), MarkError> {
        for row in &self.rows {
            write_jsonl_row(&mut writer, &self.columns, row)?;
        }
        Ok(())
    }
}

/// A cell as a CSV field: nulls empty, other JSON values their JSON text. Shared by the table
/// writer and the streaming marker so both write the same bytes.
pub(crate) fn csv_field(cell: &Cell) -> std::borrow::Cow<'_, [u8]> {
    match cell {
        Cell::Null => std::borrow::Cow::Borrowed(b""),
        Cell::Text(s) | Cell::Number(s) => std::borrow::Cow::Borrowed(s.as_bytes()),
        Cell::Other(v) => std::borrow::Cow::Owned(v.to_string().into_bytes()),
    }
}

/// A JSON Lines cell from its JSON value, as [`Table::read_jsonl`] reads it.
pub(crate) fn cell_of_json(v: Value) -> Cell {
    match v {
        Value::Null => Cell::Null,
        Value::String(s) => Cell::Text(s),
        Value::Number(n) => Cell::Number(n.to_string()),
        other => Cell::Other(other),
    }
}

/// Writes one row as a JSON Lines record (an object of every column, then a newline). Shared
/// by the table writer and the streaming marker so both write the same bytes.
pub(crate) fn write_jsonl_row(
    mut writer: impl Write,
    columns: &[String],
    row: &[Cell],
) -> Result<(), MarkError> {
    let mut map = serde_json::Map::new();
    for (name, cell) in columns.iter().zip(row) {
        let v = match cell {
            Cell::Null => Value::Null,
            Cell::Text(s) => Value::String(s.clone()),
            Cell::Number(s) => serde_json::from_str::<serde_json::Number>(s)
                .map(Value::Number)
                .unwrap_or_else(|_| Value::String(s.clone())),
            Cell::Other(v) => v.clone(),
        };
        map.insert(name.clone(), v);
    }
    serde_json::to_writer(&mut writer, &Value::Object(map))
        .map_err(|e| MarkError::Io(e.to_string()))?;
    writer
        .write_all(b"\n")
        .map_err(|e| MarkError::Io(e.to_string()))
}
