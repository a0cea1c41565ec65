//! Marking a file as it streams: CSV or JSON Lines in, the marked copy out, one row in memory
//! at a time.
//!
//! [`mark_stream`] reads with the same readers and writes with the same writers as
//! [`Table`](crate::Table), and marks with the same [`Marker`] as [`mark`](crate::mark), so its
//! output is byte for byte `mark(Table::read(input)).table.write(...)` and its record is the
//! same. One difference only: a JSON Lines record that brings a key no earlier record had
//! widens the copy from there on, while the table writer (which knows every key before writing)
//! would also write that key as `null` in the earlier records.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, BufWriter, Read, Write};

use serde_json::Value;
use silkgate_model::MarkingTerms;

use crate::MarkError;
use crate::keys::MarkKey;
use crate::mark::{Delivery, MarkSummary, Marker, MarkingRecord};
use crate::table::{Cell, Format, cell_of_json, csv_field, write_jsonl_row};

/// The outcome of [`mark_stream`].
#[derive(Debug, Clone)]
pub struct StreamMarked {
    /// The format the input was read in, and the copy written in.
    pub format: Format,
    /// Rows read (canaries not counted).
    pub rows: u64,
    /// The record to store on the provider node.
    pub record: MarkingRecord,
    /// What marking did.
    pub summary: MarkSummary,
}

/// Bytes read before giving up looking for the first non-blank byte that tells the format.
const SNIFF_LIMIT: usize = 64 * 1024;

/// Marks the table read from `input` (CSV with a header row, or JSON Lines, told apart by
/// [`Format::sniff`]) for `delivery` under `params`, writing the marked copy in the same format
/// to `output`, canary records last. Memory holds one row, the canary samples and the
/// fingerprints, whatever the size of the input.
///
/// On an error, part of the copy may have been written; the caller discards it.
///
/// # Errors
/// [`MarkError::Params`] or [`MarkError::Disabled`] before anything is read;
/// [`MarkError::Csv`] or [`MarkError::Jsonl`] naming the record that could not be read;
/// [`MarkError::RowWidth`]; [`MarkError::Read`] or [`MarkError::Io`] if the input or output
/// fails.
pub fn mark_stream(
    key: &MarkKey,
    mut input: impl Read,
    output: impl Write,
    delivery: &Delivery,
    params: &MarkingTerms,
) -> Result<StreamMarked, MarkError> {
    params.validate().map_err(MarkError::Params)?;
    if !params.enabled {
        return Err(MarkError::Disabled);
    }
    let mut prefix = Vec::new();
    let mut buf = [0u8; 8192];
    while prefix.len() < SNIFF_LIMIT && prefix.iter().all(u8::is_ascii_whitespace) {
        let n = input
            .read(&mut buf)
            .map_err(|e| MarkError::Read(e.to_string()))?;
        if n == 0 {
            break;
        }
        prefix.extend_from_slice(&buf[..n]);
    }
    let format = Format::sniff(&prefix);
    let input = std::io::Cursor::new(prefix).chain(input);
    let mut output = BufWriter::with_capacity(256 * 1024, output);
    let (rows, finished) = match format {
        Format::Csv => csv_rows(key, input, &mut output, delivery, params)?,
        Format::Jsonl => jsonl_rows(key, input, &mut output, delivery, params)?,
    };
    output.flush().map_err(|e| MarkError::Io(e.to_string()))?;
    Ok(StreamMarked {
        format,
        rows,
        record: finished.record,
        summary: finished.summary,
    })
}

fn csv_rows(
    key: &MarkKey,
    input: impl Read,
    output: impl Write,
    delivery: &Delivery,
    params: &MarkingTerms,
) -> Result<(u64, crate::mark::Finished), MarkError> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(input);
    let columns: Vec<String> = reader
        .headers()
        .map_err(|e| csv_error(1, e))?
        .iter()
        .map(str::to_owned)
        .collect();
    let mut marker = Marker::new(key, delivery, params, columns)?;
    let mut writer = csv::Writer::from_writer(output);
    let io = |e: csv::Error| MarkError::Io(e.to_string());
    writer.write_record(marker.columns()).map_err(io)?;
    let mut record = csv::StringRecord::new();
    let mut row: Vec<Cell> = Vec::new();
    loop {
        let line = marker.rows() + 2;
        if !reader
            .read_record(&mut record)
            .map_err(|e| csv_error(line, e))?
        {
            break;
        }
        // Each cell's string is reused from row to row: no allocation per cell.
        row.truncate(record.len());
        for (i, field) in record.iter().enumerate() {
            match row.get_mut(i) {
                Some(Cell::Text(text)) => {
                    text.clear();
                    text.push_str(field);
                }
                Some(cell) => *cell = Cell::Text(field.to_owned()),
                None => row.push(Cell::Text(field.to_owned())),
            }
        }
        marker.mark_row(&mut row)?;
        writer.write_record(row.iter().map(csv_field)).map_err(io)?;
    }
    let rows = marker.rows();
    let finished = marker.finish();
    for row in &finished.canary_rows {
        writer.write_record(row.iter().map(csv_field)).map_err(io)?;
    }
    writer.flush().map_err(|e| MarkError::Io(e.to_string()))?;
    Ok((rows, finished))
}

fn csv_error(line: u64, e: csv::Error) -> MarkError {
    if let csv::ErrorKind::Io(io) = e.kind() {
        return MarkError::Read(io.to_string());
    }
    MarkError::Csv {
        line,
        reason: e.to_string(),
    }
}

fn jsonl_rows(
    key: &MarkKey,
    input: impl Read,
    mut output: impl Write,
    delivery: &Delivery,
    params: &MarkingTerms,
) -> Result<(u64, crate::mark::Finished), MarkError> {
    let mut reader = BufReader::with_capacity(256 * 1024, input);
    let mut marker = Marker::new(key, delivery, params, Vec::new())?;
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut line = String::new();
    let mut line_no = 0u64;
    let mut row: Vec<Cell> = Vec::new();
    loop {
        line.clear();
        let n = reader.read_line(&mut line).map_err(|e| MarkError::Jsonl {
            line: line_no + 1,
            reason: e.to_string(),
        })?;
        if n == 0 {
            break;
        }
        line_no += 1;
        // As `BufRead::lines`, which the table reader uses: without "\n" or "\r\n".
        let text = line.strip_suffix('\n').unwrap_or(&line);
        let text = text.strip_suffix('\r').unwrap_or(text);
        if text.trim().is_empty() {
            continue;
        }
        let value: Value = serde_json::from_str(text).map_err(|e| MarkError::Jsonl {
            line: line_no,
            reason: e.to_string(),
        })?;
        let Value::Object(map) = value else {
            return Err(MarkError::Jsonl {
                line: line_no,
                reason: "not a JSON object".into(),
            });
        };
        row.clear();
        row.resize(marker.columns().len(), Cell::Null);
        for (k, v) in map {
            let idx = match index.get(&k) {
                Some(&i) => i,
                None => {
                    let i = marker.add_column(k.clone());
                    index.insert(k, i);
                    row.push(Cell::Null);
                    i
                }
            };
            row[idx] = cell_of_json(v);
        }
        marker.mark_row(&mut row)?;
        write_jsonl_row(&mut output, marker.columns(), &row)?;
    }
    let rows = marker.rows();
    let columns = marker.columns().to_vec();
    let finished = marker.finish();
    for row in &finished.canary_rows {
        write_jsonl_row(&mut output, &columns, row)?;
    }
    Ok((rows, finished))
}
