//! Input recognition and streaming readers: the format (CSV or JSON Lines), the text
//! encoding (UTF-8, UTF-16 with a BOM, and by detection Windows-1251 or GB18030), the CSV
//! delimiter, and record readers that keep memory bounded whatever the file size.
//!
//! Bounded memory: the reader holds a 64 KiB input buffer and one record. A record longer
//! than `max_record_bytes` (CSV) or a line longer than that (JSON Lines) is skipped and
//! counted, never held whole (documented best effort for, e.g., a 100 MB single line).

use std::cell::Cell;
use std::io::{self, Cursor, Read};
use std::rc::Rc;

use encoding_rs::{Encoding, GB18030, UTF_8, WINDOWS_1251};
use serde::{Deserialize, Serialize};

use crate::error::ScanError;

/// How much of the input is looked at to recognise it.
const SNIFF_BYTES: usize = 64 * 1024;
/// Size of the read buffer.
const BUF_BYTES: usize = 64 * 1024;
/// Most fields a CSV record may have; a longer record is skipped.
pub const MAX_FIELDS: usize = 16_384;

/// The two input formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// Comma- (or otherwise) separated values, RFC 4180 quoting.
    Csv,
    /// One JSON object per line.
    Jsonl,
}

/// What was recognised about an input before reading it.
#[derive(Debug, Clone, Copy)]
pub struct Sniffed {
    /// CSV or JSON Lines.
    pub format: Format,
    /// The text encoding; the readers yield UTF-8 whatever it is.
    pub encoding: &'static Encoding,
    /// The CSV field delimiter (`,` for JSON Lines).
    pub delimiter: u8,
}

/// Overrides for recognition; `None` means detect.
#[derive(Debug, Clone, Copy, Default)]
pub struct SniffOptions {
    /// Force a format.
    pub format: Option<Format>,
    /// Force an encoding.
    pub encoding: Option<&'static Encoding>,
    /// Force a CSV delimiter.
    pub delimiter: Option<u8>,
    /// The format to report when the content does not show one (an empty or blank
    /// input), e.g. from the file name; content that shows its format wins.
    pub hint: Option<Format>,
}

/// Counts the bytes read from the underlying input (before any decoding).
struct Counting<R> {
    inner: R,
    count: Rc<Cell<u64>>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.set(self.count.get() + n as u64);
        Ok(n)
    }
}

/// An opened input: UTF-8 bytes to read, what was recognised, and a byte counter.
pub struct Input<'a> {
    /// UTF-8 text of the input (decoded if it was in another encoding), BOM removed.
    pub text: Box<dyn Read + 'a>,
    /// What was recognised.
    pub sniffed: Sniffed,
    count: Rc<Cell<u64>>,
}

impl std::fmt::Debug for Input<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Input")
            .field("sniffed", &self.sniffed)
            .finish_non_exhaustive()
    }
}

impl<'a> Input<'a> {
    /// Reads the start of `reader`, recognises format, encoding and delimiter, and returns
    /// a reader of the whole input as UTF-8.
    ///
    /// # Errors
    /// [`ScanError::Io`] when reading fails, [`ScanError::NotText`] for binary input and
    /// [`ScanError::JsonArray`] for a JSON array.
    pub fn open<R: Read + 'a>(reader: R, opts: &SniffOptions) -> Result<Self, ScanError> {
        let count = Rc::new(Cell::new(0));
        let mut counting = Counting {
            inner: reader,
            count: Rc::clone(&count),
        };
        let mut prefix = Vec::with_capacity(SNIFF_BYTES);
        (&mut counting)
            .take(SNIFF_BYTES as u64)
            .read_to_end(&mut prefix)?;

        let bom = Encoding::for_bom(&prefix);
        let encoding = match (opts.encoding, bom) {
            (Some(e), _) => e,
            (None, Some((e, _))) => e,
            (None, None) => detect_encoding(&prefix),
        };
        if bom.is_none_or(|(e, _)| e == UTF_8)
            && let Some(offset) = binary_offset(&prefix)
        {
            return Err(ScanError::NotText { offset });
        }
        let (sample, _, _) = encoding.decode(&prefix);
        let blank = sample.trim_start_matches('\u{feff}').trim().is_empty();
        let format = opts
            .format
            .or(opts.hint.filter(|_| blank))
            .unwrap_or_else(|| {
                if sample
                    .trim_start_matches('\u{feff}')
                    .trim_start()
                    .starts_with('{')
                {
                    Format::Jsonl
                } else {
                    Format::Csv
                }
            });
        if opts.format.is_none()
            && sample
                .trim_start_matches('\u{feff}')
                .trim_start()
                .starts_with('[')
        {
            return Err(ScanError::JsonArray);
        }
        let delimiter = opts.delimiter.unwrap_or_else(|| sniff_delimiter(&sample));
        if encoding == UTF_8 && prefix.starts_with(b"\xEF\xBB\xBF") {
            prefix.drain(..3);
        }
        let whole = Cursor::new(prefix).chain(counting);
        let text: Box<dyn Read + 'a> = if encoding == UTF_8 {
            Box::new(whole)
        } else {
            Box::new(
                encoding_rs_io::DecodeReaderBytesBuilder::new()
                    .encoding(Some(encoding))
                    .bom_override(true)
                    .build(whole),
            )
        };
        Ok(Input {
            text,
            sniffed: Sniffed {
                format,
                encoding,
                delimiter,
            },
            count,
        })
    }

    /// Bytes read from the underlying input so far.
    pub fn bytes_read(&self) -> u64 {
        self.count.get()
    }

    /// A shared handle to the byte counter, for readers that take the text away.
    pub fn counter(&self) -> ByteCounter {
        ByteCounter(Rc::clone(&self.count))
    }
}

/// A handle that reports how many input bytes were read.
#[derive(Debug, Clone)]
pub struct ByteCounter(Rc<Cell<u64>>);

impl ByteCounter {
    /// Bytes read from the underlying input so far.
    pub fn get(&self) -> u64 {
        self.0.get()
    }
}

/// The offset of the first byte that text never contains (NUL, or C0 controls other than
/// tab, newline, carriage return, form feed and escape).
fn binary_offset(prefix: &[u8]) -> Option<usize> {
    prefix
        .iter()
        .position(|&b| b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r' | 0x0C | 0x1B))
}

/// Chooses UTF-8 when the bytes are valid UTF-8 (allowing a character cut at the end of the
/// sample); otherwise Windows-1251 or GB18030.
///
/// Cyrillic text in Windows-1251 is mostly lower-case letters, bytes 0xE0-0xFF; Chinese in
/// GB18030 has lead bytes 0x81-0xFE followed by trail bytes, spread over the whole high
/// range. The share of high bytes in 0xE0-0xFF separates the two; a GB18030 decode with
/// errors rules GB18030 out.
fn detect_encoding(prefix: &[u8]) -> &'static Encoding {
    match std::str::from_utf8(prefix) {
        Ok(_) => return UTF_8,
        Err(e) if e.error_len().is_none() => return UTF_8,
        Err(_) => {}
    }
    let high: Vec<u8> = prefix.iter().copied().filter(|b| *b >= 0x80).collect();
    let lower_cyrillic = high.iter().filter(|b| **b >= 0xE0).count();
    let (_, _, gb_errors) = GB18030.decode(trim_partial_gb(prefix));
    if gb_errors || lower_cyrillic * 10 > high.len() * 6 {
        WINDOWS_1251
    } else {
        GB18030
    }
}

/// Drops a lead byte cut off at the end of the sample so it does not count as an error.
fn trim_partial_gb(prefix: &[u8]) -> &[u8] {
    let mut end = prefix.len();
    let mut i = 0;
    while i < prefix.len() {
        let b = prefix[i];
        if b < 0x80 {
            i += 1;
        } else if i + 1 < prefix.len() && (0x30..=0x39).contains(&prefix[i + 1]) {
            if i + 3 >= prefix.len() {
                end = i;
                break;
            }
            i += 4;
        } else {
            if i + 1 >= prefix.len() {
                end = i;
                break;
            }
            i += 2;
        }
    }
    &prefix[..end]
}

/// Picks the delimiter among `, ; TAB |` that splits the first lines into the same, largest
/// number of fields (quotes respected).
fn sniff_delimiter(sample: &str) -> u8 {
    let lines: Vec<&str> = sample
        .lines()
        .filter(|l| !l.trim().is_empty())
        .take(20)
        .collect();
    // The last line may be cut by the sample size.
    let lines = if lines.len() > 1 {
        &lines[..lines.len() - 1]
    } else {
        &lines[..]
    };
    let mut best = (b',', 0usize, 0usize);
    for d in [b',', b';', b'\t', b'|'] {
        let counts: Vec<usize> = lines.iter().map(|l| count_outside_quotes(l, d)).collect();
        let Some(&first) = counts.first() else {
            continue;
        };
        let consistent = counts.iter().filter(|c| **c == first && first > 0).count();
        if (consistent, first) > (best.1, best.2) {
            best = (d, consistent, first);
        }
    }
    best.0
}

fn count_outside_quotes(line: &str, d: u8) -> usize {
    let mut quoted = false;
    let mut n = 0;
    for &b in line.as_bytes() {
        if b == b'"' {
            quoted = !quoted;
        } else if b == d && !quoted {
            n += 1;
        }
    }
    n
}

/// One CSV record: field bytes and where each field ends. Either unescaped fields laid end
/// to end (`gap` 0, from `csv-core`), or a line without quotes as it is in the input, fields
/// separated by one delimiter byte (`gap` 1, the fast path).
#[derive(Debug)]
pub struct Record<'r> {
    data: &'r [u8],
    ends: &'r [usize],
    gap: usize,
}

impl<'r> Record<'r> {
    /// Number of fields.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// Whether the record has no field.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    fn start(&self, i: usize) -> usize {
        if i == 0 {
            0
        } else {
            self.ends[i - 1] + self.gap
        }
    }

    /// The bytes of field `i`.
    pub fn field(&self, i: usize) -> &'r [u8] {
        &self.data[self.start(i)..self.ends[i]]
    }

    /// The fields in order.
    pub fn fields(&self) -> impl Iterator<Item = &'r [u8]> + '_ {
        (0..self.ends.len()).map(|i| self.field(i))
    }

    /// The fields as text when the whole record is valid UTF-8 and every field is (checked
    /// once per record). A line read in place keeps its delimiters, which are ASCII, so no
    /// field boundary can fall inside a character; unescaped fields laid end to end can
    /// join into a valid character (`\xC3,\xA9`), so their boundaries are checked too.
    pub fn str_fields(&self) -> Option<impl Iterator<Item = &'r str> + '_> {
        let text = simdutf8::basic::from_utf8(self.data).ok()?;
        if self.gap == 0 && !self.ends.iter().all(|&e| text.is_char_boundary(e)) {
            return None;
        }
        Some((0..self.ends.len()).map(move |i| &text[self.start(i)..self.ends[i]]))
    }
}

/// A streaming CSV reader over `csv-core` with bounded buffers.
///
/// Fast path: a line that is whole in the read buffer and holds no quote and no carriage
/// return (other than the one of a CRLF ending) has no escaping to undo, so it is split at
/// its delimiters in place (SIMD search via `memchr`) instead of going through the
/// `csv-core` state machine byte by byte. The result is the same (the tests compare both
/// paths on generated input); every other line, and a line cut by the buffer's end, goes
/// to `csv-core`.
pub struct CsvReader<'a> {
    core: csv_core::Reader,
    delimiter: u8,
    /// Whether the fast path may be used (off only to test it against `csv-core`).
    fast: bool,
    /// Field ends of a fast-path record.
    fast_ends: Vec<usize>,
    input: Box<dyn Read + 'a>,
    buf: Box<[u8]>,
    pos: usize,
    len: usize,
    eof: bool,
    out: Vec<u8>,
    ends: Vec<usize>,
    max_record: usize,
    /// Records skipped because they exceeded the size limit (or, without a field limit set
    /// by [`CsvReader::keep_fields`], [`MAX_FIELDS`]).
    pub skipped: u64,
    /// With [`CsvReader::keep_fields`]: how many fields a record keeps; later fields are
    /// read past and counted, and the record is yielded with its first fields.
    keep: Option<usize>,
    /// Fields read past because their record had more than the kept number.
    pub dropped_fields: u64,
    /// Records that had fields read past.
    pub wide_records: u64,
    /// The most fields any record had (kept or not).
    pub widest: usize,
    /// Scratch space for the fields read past.
    spill: Vec<u8>,
    spill_ends: Vec<usize>,
}

impl<'a> CsvReader<'a> {
    /// A reader of `input` (UTF-8) with `delimiter`, skipping records over `max_record`
    /// bytes.
    pub fn new(input: Box<dyn Read + 'a>, delimiter: u8, max_record: usize) -> Self {
        Self::with_buffer(input, delimiter, max_record, BUF_BYTES, true)
    }

    /// A reader with a given read-buffer size, with or without the fast path (for tests of
    /// records cut by the buffer's end, and of the fast path against `csv-core`).
    pub(crate) fn with_buffer(
        input: Box<dyn Read + 'a>,
        delimiter: u8,
        max_record: usize,
        buf_bytes: usize,
        fast: bool,
    ) -> Self {
        let core = csv_core::ReaderBuilder::new().delimiter(delimiter).build();
        CsvReader {
            core,
            delimiter,
            fast,
            fast_ends: Vec::with_capacity(64),
            input,
            buf: vec![0; buf_bytes.max(1)].into_boxed_slice(),
            pos: 0,
            len: 0,
            eof: false,
            out: vec![0; 4096],
            ends: vec![0; 64],
            max_record: max_record.max(1024),
            skipped: 0,
            keep: None,
            dropped_fields: 0,
            wide_records: 0,
            widest: 0,
            spill: Vec::new(),
            spill_ends: Vec::new(),
        }
    }

    /// Keeps the first `n` fields (at least 1) of a wider record
    /// instead of skipping it: the rest are read past, counted in `dropped_fields`, and the
    /// record counted in `wide_records`, so a wide file is read as far as the limit allows
    /// and says what it did not read.
    pub fn keep_fields(mut self, n: usize) -> Self {
        self.keep = Some(n.max(1));
        self
    }

    fn field_cap(&self) -> usize {
        self.keep.unwrap_or(MAX_FIELDS)
    }

    /// The next record, or `None` at the end of the input.
    ///
    /// # Errors
    /// [`ScanError::Io`] when reading fails.
    pub fn next_record(&mut self) -> Result<Option<Record<'_>>, ScanError> {
        use csv_core::ReadRecordResult as R;
        // At the start of a record: try whole, quote-free lines first.
        while self.fast {
            if self.pos == self.len && !self.eof {
                self.len = read_full(&mut *self.input, &mut self.buf)?;
                self.pos = 0;
                self.eof = self.len == 0;
            }
            let avail = &self.buf[self.pos..self.len];
            let Some(nl) = memchr::memchr(b'\n', avail) else {
                break;
            };
            let line = &avail[..nl];
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            if memchr::memchr2(b'"', b'\r', line).is_some() {
                break;
            }
            let (start, next) = (self.pos, self.pos + nl + 1);
            self.pos = next;
            if line.is_empty() {
                // csv-core skips empty lines too.
                continue;
            }
            self.fast_ends.clear();
            self.fast_ends
                .extend(memchr::memchr_iter(self.delimiter, line));
            self.fast_ends.push(line.len());
            // The same limits as the csv-core path: its output buffer (at least 4096 bytes,
            // grown up to `max_record`) must hold the unescaped bytes with room to spare
            // (csv-core reports a full buffer as soon as it is full), and at most
            // `MAX_FIELDS` fields.
            let unescaped = line.len() - (self.fast_ends.len() - 1);
            let fields = self.fast_ends.len();
            self.widest = self.widest.max(fields);
            if unescaped >= self.max_record.max(self.out.len())
                || (self.keep.is_none() && fields > MAX_FIELDS)
            {
                self.skipped += 1;
                continue;
            }
            let cap = self.field_cap();
            if fields > cap {
                self.dropped_fields += (fields - cap) as u64;
                self.wide_records += 1;
                self.fast_ends.truncate(cap);
                let end = self.fast_ends[cap - 1];
                return Ok(Some(Record {
                    data: &self.buf[start..start + end],
                    ends: &self.fast_ends,
                    gap: 1,
                }));
            }
            return Ok(Some(Record {
                data: &self.buf[start..start + line.len()],
                ends: &self.fast_ends,
                gap: 1,
            }));
        }
        let (mut outlen, mut nends) = (0usize, 0usize);
        let mut oversized = false;
        // Fields beyond the kept number, read past into the spill buffers.
        let mut dropped = 0usize;
        let mut spilling = false;
        loop {
            if self.pos == self.len && !self.eof {
                self.len = read_full(&mut *self.input, &mut self.buf)?;
                self.pos = 0;
                self.eof = self.len == 0;
            }
            if spilling {
                if self.spill.is_empty() {
                    self.spill = vec![0; 4096];
                    self.spill_ends = vec![0; 64];
                }
                let (res, nin, _, nend) = self.core.read_record(
                    &self.buf[self.pos..self.len],
                    &mut self.spill,
                    &mut self.spill_ends,
                );
                self.pos += nin;
                dropped += nend;
                match res {
                    R::InputEmpty | R::OutputFull | R::OutputEndsFull => continue,
                    R::Record | R::End => {
                        self.widest = self.widest.max(nends + dropped);
                        if oversized {
                            self.skipped += 1;
                            (outlen, nends, dropped) = (0, 0, 0);
                            (oversized, spilling) = (false, false);
                            if res == R::End {
                                return Ok(None);
                            }
                            continue;
                        }
                        self.dropped_fields += dropped as u64;
                        self.wide_records += 1;
                        return Ok(Some(Record {
                            data: &self.out[..outlen],
                            ends: &self.ends[..nends],
                            gap: 0,
                        }));
                    }
                }
            }
            let (res, nin, nout, nend) = self.core.read_record(
                &self.buf[self.pos..self.len],
                &mut self.out[outlen..],
                &mut self.ends[nends..],
            );
            self.pos += nin;
            outlen += nout;
            nends += nend;
            if let Some(cap) = self.keep
                && nends > cap
            {
                // The field ends past the kept number were written here; read past the rest.
                dropped += nends - cap;
                nends = cap;
                if !matches!(res, R::Record) {
                    spilling = true;
                    continue;
                }
            }
            match res {
                R::InputEmpty => continue,
                R::OutputFull => {
                    if self.out.len() < self.max_record {
                        let n = (self.out.len() * 2).min(self.max_record);
                        self.out.resize(n, 0);
                    } else {
                        // Keep parsing into the same buffer, discarding bytes, until the
                        // record ends: it is skipped.
                        oversized = true;
                        outlen = 0;
                    }
                }
                R::OutputEndsFull => {
                    // With a kept number, one slot past it, so that a wide record shows
                    // itself; without, up to the limit, past which the record is skipped.
                    let room = self.keep.map_or(MAX_FIELDS, |cap| cap + 1);
                    if self.ends.len() < room {
                        let n = (self.ends.len() * 2).min(room);
                        self.ends.resize(n, 0);
                    } else if self.keep.is_some() {
                        spilling = true;
                    } else {
                        oversized = true;
                        nends = 0;
                    }
                }
                R::Record => {
                    self.widest = self.widest.max(nends + dropped);
                    if oversized {
                        self.skipped += 1;
                        outlen = 0;
                        nends = 0;
                        dropped = 0;
                        oversized = false;
                        continue;
                    }
                    if dropped > 0 {
                        self.dropped_fields += dropped as u64;
                        self.wide_records += 1;
                    }
                    return Ok(Some(Record {
                        data: &self.out[..outlen],
                        ends: &self.ends[..nends],
                        gap: 0,
                    }));
                }
                R::End => return Ok(None),
            }
        }
    }
}

fn read_full(r: &mut dyn Read, buf: &mut [u8]) -> io::Result<usize> {
    loop {
        match r.read(buf) {
            Ok(n) => return Ok(n),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
}

/// A streaming JSON Lines reader: yields each line (without the line end), skipping lines
/// longer than the limit.
pub struct LineReader<'a> {
    input: Box<dyn Read + 'a>,
    buf: Box<[u8]>,
    pos: usize,
    len: usize,
    eof: bool,
    line: Vec<u8>,
    max_line: usize,
    /// Lines skipped because they exceeded the limit.
    pub skipped: u64,
}

impl<'a> LineReader<'a> {
    /// A reader of `input` skipping lines over `max_line` bytes.
    pub fn new(input: Box<dyn Read + 'a>, max_line: usize) -> Self {
        LineReader {
            input,
            buf: vec![0; BUF_BYTES].into_boxed_slice(),
            pos: 0,
            len: 0,
            eof: false,
            line: Vec::new(),
            max_line: max_line.max(1024),
            skipped: 0,
        }
    }

    /// The next line, or `None` at the end.
    ///
    /// # Errors
    /// [`ScanError::Io`] when reading fails.
    pub fn next_line(&mut self) -> Result<Option<&[u8]>, ScanError> {
        self.line.clear();
        let mut oversized = false;
        loop {
            if self.pos == self.len {
                if self.eof {
                    if self.line.is_empty() && !oversized {
                        return Ok(None);
                    }
                    break;
                }
                self.len = read_full(&mut *self.input, &mut self.buf)?;
                self.pos = 0;
                self.eof = self.len == 0;
                continue;
            }
            let avail = &self.buf[self.pos..self.len];
            let (chunk, found) = match memchr_newline(avail) {
                Some(i) => (&avail[..i], true),
                None => (avail, false),
            };
            if !oversized {
                if self.line.len() + chunk.len() > self.max_line {
                    oversized = true;
                    self.line.clear();
                    self.line.shrink_to(BUF_BYTES);
                } else {
                    self.line.extend_from_slice(chunk);
                }
            }
            self.pos += chunk.len() + usize::from(found);
            if found {
                if oversized {
                    self.skipped += 1;
                    oversized = false;
                    continue;
                }
                break;
            }
        }
        if oversized {
            self.skipped += 1;
            return Ok(None);
        }
        if self.line.last() == Some(&b'\r') {
            self.line.pop();
        }
        Ok(Some(&self.line))
    }
}

fn memchr_newline(b: &[u8]) -> Option<usize> {
    b.iter().position(|c| *c == b'\n')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sniff(bytes: &[u8]) -> Sniffed {
        Input::open(bytes, &SniffOptions::default())
            .unwrap()
            .sniffed
    }

    #[test]
    fn recognises_format_delimiter_and_encoding() {
        let s = sniff(b"a;b;c\n1;2;3\n4;5;6\n");
        assert_eq!(
            (s.format, s.delimiter, s.encoding),
            (Format::Csv, b';', UTF_8)
        );
        assert_eq!(sniff(b"a\tb\n1\t2\n").delimiter, b'\t');
        assert_eq!(sniff(b"\xEF\xBB\xBF{\"a\":1}\n").format, Format::Jsonl);
        let (cp1251, _, _) = WINDOWS_1251.encode(
            "ФИО;Телефон\nИванов Иван Иванович;+7 701 234 5678\nПетрова Мария;+7 702 111 2233\n",
        );
        assert_eq!(sniff(&cp1251).encoding, WINDOWS_1251);
        let (gbk, _, _) = GB18030.encode("姓名,手机\n王小明,13800138000\n李娜,13900139000\n");
        assert_eq!(sniff(&gbk).encoding, GB18030);
    }

    #[test]
    fn rejects_binary_and_json_arrays() {
        assert!(matches!(
            Input::open(&b"PK\x03\x04\x00\x00binary"[..], &SniffOptions::default()),
            Err(ScanError::NotText { offset: 2 })
        ));
        assert!(matches!(
            Input::open(&b"[{\"a\":1}]"[..], &SniffOptions::default()),
            Err(ScanError::JsonArray)
        ));
    }

    #[test]
    fn csv_reader_unquotes_and_skips_oversized_records() {
        let big = "x".repeat(5000);
        let text = format!("a,b\n\"1,5\",\"say \"\"hi\"\"\"\n{big},2\n3,4");
        let input = Input::open(text.as_bytes(), &SniffOptions::default()).unwrap();
        let mut r = CsvReader::new(input.text, b',', 1024);
        let mut rows = Vec::new();
        while let Some(rec) = r.next_record().unwrap() {
            rows.push(
                rec.fields()
                    .map(|f| String::from_utf8(f.to_vec()).unwrap())
                    .collect::<Vec<_>>(),
            );
        }
        assert_eq!(
            rows,
            vec![vec!["a", "b"], vec!["1,5", "say \"hi\""], vec!["3", "4"]]
        );
        assert_eq!(r.skipped, 1);
    }

    /// Every record of `text` read with and without the fast path, and the skipped count.
    fn read_all(text: &[u8], buf: usize, fast: bool) -> (Vec<Vec<Vec<u8>>>, u64) {
        let mut r = CsvReader::with_buffer(Box::new(text), b',', 1024, buf, fast);
        let mut rows = Vec::new();
        while let Some(rec) = r.next_record().unwrap() {
            let fields: Vec<Vec<u8>> = rec.fields().map(<[u8]>::to_vec).collect();
            if let Some(strs) = rec.str_fields() {
                let strs: Vec<Vec<u8>> = strs.map(|f| f.as_bytes().to_vec()).collect();
                assert_eq!(strs, fields);
            }
            rows.push(fields);
        }
        (rows, r.skipped)
    }

    #[test]
    fn fields_split_inside_a_character_are_not_text() {
        // Two fields that together are the bytes of 'é': valid UTF-8 as a whole record after
        // unescaping, but neither field is text on its own.
        for text in [&b"\"\xc3\",\xa9\n"[..], b"\xc3,\xa9\n"] {
            for fast in [true, false] {
                let (rows, _) = read_all(text, 64, fast);
                assert_eq!(rows, vec![vec![vec![0xc3], vec![0xa9]]]);
            }
        }
    }

    #[test]
    fn fast_path_reads_what_csv_core_reads() {
        let cases: &[&[u8]] = &[
            b"a,b\n1,2\n",
            b"a,b\r\n1,2\r\n\r\n\n3,4",
            b"\n\n,\n,,\n a , b \n",
            b"a,\"b,c\",d\n\"x\"\"y\",z\n1,2\n",
            b"a\rb,c\nd\r\r\ne",
            b"x,\xff\xfe,y\n\xc3\xa9,\xd0\x96\n",
            b"only one line without end",
        ];
        for text in cases {
            for buf in [1, 2, 3, 5, 8, 64, 65536] {
                assert_eq!(
                    read_all(text, buf, true),
                    read_all(text, buf, false),
                    "{:?} buffer {buf}",
                    String::from_utf8_lossy(text)
                );
            }
        }
        // Oversized records and records with too many fields are skipped alike.
        let mut texts = Vec::new();
        for fields in [MAX_FIELDS - 1, MAX_FIELDS, MAX_FIELDS + 1, MAX_FIELDS + 2] {
            texts.push(format!("{}\nok\n", ",".repeat(fields - 1)));
        }
        for len in [4095, 4096, 4097, 5000] {
            texts.push(format!("{}\nok\n", "y".repeat(len)));
        }
        for text in texts {
            let (fast, slow) = (
                read_all(text.as_bytes(), 65536, true),
                read_all(text.as_bytes(), 65536, false),
            );
            assert_eq!(fast, slow);
        }
    }

    proptest::proptest! {
        #[test]
        fn fast_path_agrees_with_csv_core_on_any_input(
            bytes in proptest::collection::vec(
                proptest::sample::select(vec![b'a', b'b', b',', b'"', b'\n', b'\r', b' ', 0xc3, 0xa9]),
                0..300,
            ),
            buf in 1usize..80,
        ) {
            proptest::prop_assert_eq!(read_all(&bytes, buf, true), read_all(&bytes, buf, false));
        }
    }

    /// Every record of `text` with `keep` fields kept, and the reader's counters.
    fn read_kept(
        text: &[u8],
        buf: usize,
        fast: bool,
        keep: usize,
    ) -> (Vec<Vec<Vec<u8>>>, [u64; 4]) {
        let mut r = CsvReader::with_buffer(Box::new(text), b',', 1024, buf, fast).keep_fields(keep);
        let mut rows = Vec::new();
        while let Some(rec) = r.next_record().unwrap() {
            rows.push(rec.fields().map(<[u8]>::to_vec).collect());
        }
        (
            rows,
            [r.skipped, r.dropped_fields, r.wide_records, r.widest as u64],
        )
    }

    #[test]
    fn wide_records_keep_their_first_fields_and_count_the_rest() {
        let text = b"a,b,c,d,e\n1,2\n\"x\",\"y,z\",3,4\n5,6,7\n";
        for fast in [true, false] {
            for buf in [1, 3, 7, 64, 65536] {
                let (rows, counts) = read_kept(text, buf, fast, 3);
                assert_eq!(
                    rows,
                    vec![
                        vec![b"a".to_vec(), b"b".to_vec(), b"c".to_vec()],
                        vec![b"1".to_vec(), b"2".to_vec()],
                        vec![b"x".to_vec(), b"y,z".to_vec(), b"3".to_vec()],
                        vec![b"5".to_vec(), b"6".to_vec(), b"7".to_vec()],
                    ],
                    "fast {fast} buffer {buf}"
                );
                assert_eq!(counts, [0, 3, 2, 5], "fast {fast} buffer {buf}");
            }
        }
        // More fields than the default limit: kept up to the setting, never skipped.
        let wide = format!("{}\nok\n", ",".repeat(MAX_FIELDS + 10));
        for fast in [true, false] {
            let (rows, counts) = read_kept(wide.as_bytes(), 65536, fast, 100);
            assert_eq!(rows.len(), 2);
            assert_eq!(rows[0].len(), 100);
            assert_eq!(
                counts,
                [
                    0,
                    (MAX_FIELDS + 11 - 100) as u64,
                    1,
                    (MAX_FIELDS + 11) as u64
                ]
            );
        }
    }

    proptest::proptest! {
        #[test]
        fn kept_fields_agree_between_the_paths(
            bytes in proptest::collection::vec(
                proptest::sample::select(vec![b'a', b',', b'"', b'\n', b'\r', b' ']),
                0..300,
            ),
            buf in 1usize..80,
            keep in 1usize..6,
        ) {
            proptest::prop_assert_eq!(read_kept(&bytes, buf, true, keep), read_kept(&bytes, buf, false, keep));
        }
    }

    #[test]
    fn line_reader_skips_long_lines_with_bounded_memory() {
        let text = format!("{{\"a\":1}}\r\n{}\n{{\"b\":2}}", "y".repeat(300_000));
        let mut r = LineReader::new(Box::new(text.as_bytes()), 4096);
        assert_eq!(r.next_line().unwrap(), Some(&b"{\"a\":1}"[..]));
        assert_eq!(r.next_line().unwrap(), Some(&b"{\"b\":2}"[..]));
        assert_eq!(r.next_line().unwrap(), None);
        assert_eq!(r.skipped, 1);
        assert!(r.line.capacity() <= BUF_BYTES + 4096);
    }
}
