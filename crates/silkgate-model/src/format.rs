//! Streaming check that payload bytes match their declared [`DatasetFormat`] and schema.
//!
//! A provider declares "CSV with columns a, b, c"; the catalogue must not hold a payload that
//! says otherwise, because the scanner and the policy engine later reason about those columns.
//! The check is incremental so a 1 GiB payload is validated while it streams to storage.

use crate::{Column, DatasetFormat};

/// Longest JSON Lines record accepted, so a payload without newlines cannot exhaust memory.
pub const MAX_RECORD_BYTES: usize = 16 * 1024 * 1024;

/// Why payload bytes do not match their declared format.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
#[error("payload record {record}: {reason}")]
pub struct FormatError {
    /// 1-based record (line) number where the problem was found; 0 for the whole payload.
    pub record: u64,
    /// What is wrong.
    pub reason: String,
}

/// Incremental format checker: feed chunks in order, then call [`FormatChecker::finish`].
#[derive(Debug)]
pub struct FormatChecker {
    format: DatasetFormat,
    columns: Vec<String>,
    records: u64,
    // CSV state.
    csv: csv_core::Reader,
    field: Vec<u8>,
    fields_in_record: usize,
    header: Vec<String>,
    header_seen: bool,
    // JSON Lines state.
    line: Vec<u8>,
}

impl FormatChecker {
    /// A checker for `format` whose records must carry exactly the `schema` columns.
    pub fn new(format: DatasetFormat, schema: &[Column]) -> Self {
        Self {
            format,
            columns: schema.iter().map(|c| c.name.clone()).collect(),
            records: 0,
            csv: csv_core::Reader::new(),
            field: Vec::new(),
            fields_in_record: 0,
            header: Vec::new(),
            header_seen: false,
            line: Vec::new(),
        }
    }

    /// Number of complete data records seen so far (the CSV header is not counted).
    pub fn records(&self) -> u64 {
        self.records
    }

    /// Checks the next chunk of the payload.
    ///
    /// # Errors
    /// [`FormatError`] at the first record that does not match.
    pub fn feed(&mut self, chunk: &[u8]) -> Result<(), FormatError> {
        match self.format {
            DatasetFormat::Csv => self.feed_csv(chunk, false),
            DatasetFormat::JsonLines => self.feed_jsonl(chunk),
        }
    }

    /// Ends the payload, checking the last record and that there was at least a header.
    ///
    /// # Errors
    /// [`FormatError`] if the payload is empty or its last record is malformed.
    pub fn finish(mut self) -> Result<u64, FormatError> {
        match self.format {
            DatasetFormat::Csv => {
                self.feed_csv(&[], true)?;
                if !self.header_seen {
                    return Err(FormatError {
                        record: 0,
                        reason: "empty CSV payload: a header row is required".into(),
                    });
                }
            }
            DatasetFormat::JsonLines => {
                if !self.line.is_empty() {
                    let line = std::mem::take(&mut self.line);
                    self.check_json_line(&line)?;
                }
            }
        }
        Ok(self.records)
    }

    fn feed_csv(&mut self, mut input: &[u8], eof: bool) -> Result<(), FormatError> {
        let mut out = [0u8; 8192];
        loop {
            // csv-core reads an empty input as the end of the data, so stop before it.
            if input.is_empty() && !eof {
                return Ok(());
            }
            let (res, nin, nout) = self.csv.read_field(input, &mut out);
            input = &input[nin..];
            self.field.extend_from_slice(&out[..nout]);
            match res {
                csv_core::ReadFieldResult::InputEmpty => {
                    if !eof {
                        return Ok(());
                    }
                }
                csv_core::ReadFieldResult::OutputFull => {
                    if self.field.len() > MAX_RECORD_BYTES {
                        return Err(self.err("field longer than 16 MiB"));
                    }
                }
                csv_core::ReadFieldResult::Field { record_end } => {
                    self.end_csv_field()?;
                    if record_end {
                        self.end_csv_record()?;
                    }
                }
                csv_core::ReadFieldResult::End => return Ok(()),
            }
        }
    }

    fn end_csv_field(&mut self) -> Result<(), FormatError> {
        let field = std::mem::take(&mut self.field);
        let text = String::from_utf8(field).map_err(|_| self.err("field is not UTF-8"))?;
        if !self.header_seen {
            self.header.push(text);
        }
        self.fields_in_record += 1;
        Ok(())
    }

    fn end_csv_record(&mut self) -> Result<(), FormatError> {
        let n = std::mem::take(&mut self.fields_in_record);
        if !self.header_seen {
            // The first record is the header: it must name the schema's columns in order.
            self.header_seen = true;
            if self.header != self.columns {
                return Err(FormatError {
                    record: 1,
                    reason: format!(
                        "CSV header [{}] does not match the schema columns [{}]",
                        self.header.join(", "),
                        self.columns.join(", ")
                    ),
                });
            }
            return Ok(());
        }
        self.records += 1;
        if n != self.columns.len() {
            return Err(FormatError {
                record: self.records + 1,
                reason: format!("expected {} fields, found {n}", self.columns.len()),
            });
        }
        Ok(())
    }

    fn feed_jsonl(&mut self, chunk: &[u8]) -> Result<(), FormatError> {
        let mut rest = chunk;
        while let Some(pos) = rest.iter().position(|&b| b == b'\n') {
            self.line.extend_from_slice(&rest[..pos]);
            rest = &rest[pos + 1..];
            let line = std::mem::take(&mut self.line);
            self.check_json_line(&line)?;
        }
        self.line.extend_from_slice(rest);
        if self.line.len() > MAX_RECORD_BYTES {
            return Err(self.err("line longer than 16 MiB"));
        }
        Ok(())
    }

    fn check_json_line(&mut self, line: &[u8]) -> Result<(), FormatError> {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.iter().all(u8::is_ascii_whitespace) {
            return Ok(());
        }
        self.records += 1;
        let value: serde_json::Value =
            serde_json::from_slice(line).map_err(|e| self.err(&format!("not JSON: {e}")))?;
        let obj = value
            .as_object()
            .ok_or_else(|| self.err("not a JSON object"))?;
        if let Some(key) = obj.keys().find(|k| !self.columns.iter().any(|c| c == *k)) {
            return Err(self.err(&format!("key '{key}' is not a schema column")));
        }
        Ok(())
    }

    fn err(&self, reason: &str) -> FormatError {
        FormatError {
            record: self.records.max(1),
            reason: reason.to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cols(names: &[&str]) -> Vec<Column> {
        names
            .iter()
            .map(|n| Column {
                name: (*n).to_owned(),
                ty: "string".into(),
            })
            .collect()
    }

    fn check(
        format: DatasetFormat,
        names: &[&str],
        data: &[u8],
        chunk: usize,
    ) -> Result<u64, FormatError> {
        let mut c = FormatChecker::new(format, &cols(names));
        for part in data.chunks(chunk.max(1)) {
            c.feed(part)?;
        }
        c.finish()
    }

    #[test]
    fn csv_accepts_matching_header_and_rows_in_any_chunking() {
        let data = b"a,b\n1,\"x,\ny\"\n3,4\n";
        for chunk in [1, 2, 3, 100] {
            assert_eq!(
                check(DatasetFormat::Csv, &["a", "b"], data, chunk).unwrap(),
                2
            );
        }
        // No trailing newline.
        assert_eq!(
            check(DatasetFormat::Csv, &["a", "b"], b"a,b\n1,2", 4).unwrap(),
            1
        );
    }

    #[test]
    fn csv_refuses_wrong_header_ragged_rows_and_empty() {
        let e = check(DatasetFormat::Csv, &["a", "b"], b"a,c\n1,2\n", 3).unwrap_err();
        assert!(e.reason.contains("header"), "{e}");
        let e = check(DatasetFormat::Csv, &["a", "b"], b"a,b\n1,2\n3\n", 3).unwrap_err();
        assert_eq!(e.record, 3, "{e}");
        assert!(check(DatasetFormat::Csv, &["a"], b"", 3).is_err());
        assert!(check(DatasetFormat::Csv, &["a", "b"], b"a,b\n\xff,1\n", 3).is_err());
    }

    #[test]
    fn json_lines_checks_each_line() {
        let ok = b"{\"a\":1}\n\n{\"b\":\"x\"}\r\n{\"a\":2}";
        assert_eq!(
            check(DatasetFormat::JsonLines, &["a", "b"], ok, 2).unwrap(),
            3
        );
        let e = check(
            DatasetFormat::JsonLines,
            &["a"],
            b"{\"a\":1}\nnot json\n",
            5,
        )
        .unwrap_err();
        assert_eq!(e.record, 2);
        let e = check(DatasetFormat::JsonLines, &["a"], b"[1]\n", 5).unwrap_err();
        assert!(e.reason.contains("object"));
        let e = check(DatasetFormat::JsonLines, &["a"], b"{\"z\":1}\n", 5).unwrap_err();
        assert!(e.reason.contains("'z'"));
    }
}
