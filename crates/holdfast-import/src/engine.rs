//! The streaming layer every reader shares: a [`Source`] reads a file in fixed-size blocks cut at
//! record boundaries (quotes respected), detects the encoding and delimiter from the first block
//! and parses the header; [`Records`] splits decoded text into fields.
//!
//! Blocks are raw bytes in the file's encoding. All three supported encodings keep `"`, `\n` and
//! the delimiters as single ASCII bytes, so a block can be cut and decoded on its own, in parallel
//! with the others. Line numbers inside a block are relative; readers add the block's first line.

use crate::sheet::Sniffed;
use crate::{ImportError, ImportOptions, MAX_FIELD};
use encoding_rs::Encoding;
use memchr::{memchr, memchr2, memchr3_iter, memchr_iter, memrchr};
use std::borrow::Cow;
use std::io::Read;
use std::path::PathBuf;
use std::sync::Arc;

/// Bytes read per block.
pub(crate) const BLOCK: usize = 8 << 20;
/// Bytes read first, whatever the block size: the encoding, the delimiter, the header, slash-date
/// order and currency are decided from them, so every reader (and every block size) decides alike.
const SAMPLE: usize = 8 << 20;
/// A record longer than this without an end is reported as a too-long field.
const MAX_RECORD: usize = 24 << 20;

/// Where the bytes come from (kept so a reader can make a second pass).
#[derive(Clone)]
pub(crate) enum Origin {
    Path(PathBuf),
    Bytes(Arc<Vec<u8>>),
}

struct ArcCursor {
    data: Arc<Vec<u8>>,
    pos: usize,
}

impl Read for ArcCursor {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let rest = self.data.get(self.pos..).unwrap_or(&[]);
        let n = rest.len().min(buf.len());
        buf[..n].copy_from_slice(&rest[..n]);
        self.pos += n;
        Ok(n)
    }
}

/// A block of whole records, raw bytes in the file's encoding.
pub(crate) struct Block {
    pub index: usize,
    pub raw: Vec<u8>,
    /// The block ends inside a record longer than the limit.
    pub overflow: bool,
}

/// An open delimited file: encoding, delimiter and header known, records still to read.
pub(crate) struct Source {
    pub path: String,
    pub origin: Origin,
    reader: Box<dyn Read + Send>,
    pub encoding: &'static Encoding,
    pub delimiter: u8,
    pub header: Vec<String>,
    /// Lines taken by the header record (the first data line is `header_lines + 1`).
    pub header_lines: u64,
    carry: Vec<u8>,
    spare: Vec<Vec<u8>>,
    eof: bool,
    stopped: bool,
    pub total: u64,
    pub done: u64,
    next_index: usize,
    block_size: usize,
    /// The file is UTF-16, read through a decoder (the blocks are UTF-8).
    pub utf16: Option<&'static Encoding>,
    /// What the file is was told from its first bytes.
    sniffed: bool,
    /// Bytes read before anything is decided.
    sample_size: usize,
}

fn io_err(path: &str, source: std::io::Error) -> ImportError {
    ImportError::Io { path: path.to_owned(), source }
}

impl Source {
    /// Opens a file or in-memory bytes, reading the first block to detect the encoding and the
    /// delimiter and to parse the header.
    pub fn open(path: String, origin: Origin, opts: &ImportOptions, block_size: usize) -> Result<Source, ImportError> {
        Source::open_as(path, origin, opts, block_size, SAMPLE, true)
    }

    /// [`Source::open`] deciding from the first `sample` bytes instead of [`SAMPLE`] (tests
    /// use a small sample to read a small file as if it were a large one).
    pub fn open_sampled(path: String, origin: Origin, opts: &ImportOptions, block_size: usize, sample: usize) -> Result<Source, ImportError> {
        Source::open_as(path, origin, opts, block_size, sample, true)
    }

    /// [`Source::open`]; `sniff`: tell what the file is by its first bytes (off for the text a
    /// spreadsheet was turned into).
    fn open_as(path: String, origin: Origin, opts: &ImportOptions, block_size: usize, sample: usize, sniff: bool) -> Result<Source, ImportError> {
        let (reader, total): (Box<dyn Read + Send>, u64) = match &origin {
            Origin::Path(p) => {
                let f = std::fs::File::open(p).map_err(|e| io_err(&path, e))?;
                let len = f.metadata().map(|m| m.len()).unwrap_or(0);
                (Box::new(f), len)
            }
            Origin::Bytes(b) => (Box::new(ArcCursor { data: b.clone(), pos: 0 }), b.len() as u64),
        };
        let mut s = Source {
            path,
            origin,
            reader,
            encoding: encoding_rs::UTF_8,
            delimiter: b',',
            header: Vec::new(),
            header_lines: 1,
            carry: Vec::new(),
            spare: Vec::new(),
            eof: false,
            stopped: false,
            total,
            done: 0,
            next_index: 0,
            block_size: block_size.max(64),
            utf16: None,
            sniffed: sniff,
            sample_size: sample.max(block_size).max(64),
        };
        s.fill(s.sample_size)?;
        // What the file is, by its first bytes (not its name).
        let sniffed = if sniff { crate::sheet::sniff(&s.carry) } else { Sniffed::Text };
        let utf16 = match (opts.encoding, sniffed) {
            (Some(e), _) if e == encoding_rs::UTF_16LE || e == encoding_rs::UTF_16BE => Some(e),
            (None, Sniffed::Utf16(e)) => Some(e),
            _ => None,
        };
        match sniffed {
            Sniffed::Binary(what) if utf16.is_none() => return Err(ImportError::NotText { path: s.path, what }),
            Sniffed::Spreadsheet => {
                let mut bytes = std::mem::take(&mut s.carry);
                s.reader.read_to_end(&mut bytes).map_err(|e| io_err(&s.path, e))?;
                let (name, csv) = crate::sheet::to_csv(&s.path, bytes)?;
                let o = ImportOptions { encoding: Some(encoding_rs::UTF_8), delimiter: Some(b','), ..opts.clone() };
                return Source::open_as(name, Origin::Bytes(Arc::new(csv)), &o, block_size, sample, false);
            }
            _ => {}
        }
        if let Some(enc) = utf16 {
            // Read on as UTF-8: the bytes read so far, then the rest, through a decoder.
            let head = std::mem::take(&mut s.carry);
            let rest = std::mem::replace(&mut s.reader, Box::new(std::io::empty()));
            s.reader = Box::new(crate::sheet::Utf16Reader::new(std::io::Cursor::new(head).chain(rest), enc));
            s.eof = false;
            s.fill(s.sample_size)?;
            s.utf16 = Some(enc);
        }
        // Carriage returns alone end lines (old Mac files): read them as line feeds.
        if memchr(b'\n', &s.carry).is_none() && memchr(b'\r', &s.carry).is_some() {
            let head = std::mem::take(&mut s.carry);
            let rest = std::mem::replace(&mut s.reader, Box::new(std::io::empty()));
            s.reader = Box::new(crate::sheet::CrReader(std::io::Cursor::new(head).chain(rest)));
            s.eof = false;
            s.fill(s.sample_size)?;
        }
        // UTF-8 byte order mark.
        if s.carry.starts_with(b"\xEF\xBB\xBF") && opts.encoding.is_none_or(|e| e == encoding_rs::UTF_8) {
            s.carry.drain(..3);
            s.done += 3;
        }
        if s.eof && s.carry.iter().all(|b| b.is_ascii_whitespace()) {
            return Err(ImportError::Empty { path: s.path });
        }
        // Sample: whole lines of the first block.
        let sample_end = if s.eof { s.carry.len() } else { memrchr(b'\n', &s.carry).map(|i| i + 1).unwrap_or(s.carry.len()) };
        let sample = &s.carry[..sample_end];
        s.encoding = match (opts.encoding, s.utf16) {
            (_, Some(_)) => encoding_rs::UTF_8,
            (Some(e), None) => e,
            (None, None) => crate::decode(&s.path, sample, None)?.1,
        };
        let text: Cow<str> = match decode_block(s.encoding, sample) {
            Ok(t) => t,
            Err(_) => Cow::Owned(String::from_utf8_lossy(sample).into_owned()),
        };
        s.delimiter = opts.delimiter.unwrap_or_else(|| crate::sniff_delimiter(&text));
        let mut recs = Records::new(&text, s.delimiter);
        let mut fields = Vec::new();
        // The header is the first record that is not blank.
        loop {
            match recs.next(&mut fields) {
                None => return Err(ImportError::Empty { path: s.path }),
                Some(Err(e)) => return Err(e.into_error(&s.path, 0)),
                Some(Ok(_)) => {
                    if fields.iter().all(|f| f.trim().is_empty()) {
                        continue;
                    }
                    break;
                }
            }
        }
        s.header = fields.iter().map(|f| f.trim().to_string()).collect();
        s.header_lines = recs.line;
        // Skip the header's bytes: as many newlines in the raw bytes as in the text.
        let mut cut = 0usize;
        let mut n = 0u64;
        if recs.pos >= text.len() {
            cut = sample_end;
        } else {
            for p in memchr_iter(b'\n', sample) {
                n += 1;
                if n == recs.line {
                    cut = p + 1;
                    break;
                }
            }
        }
        s.carry.drain(..cut);
        s.done += cut as u64;
        Ok(s)
    }

    fn fill(&mut self, want: usize) -> Result<(), ImportError> {
        while !self.eof && self.carry.len() < want {
            let room = (want - self.carry.len()).max(64 << 10);
            self.carry.reserve(room);
            // `read_to_end` on a `take` fills spare capacity without zeroing it first.
            let got = (&mut self.reader).take(room as u64).read_to_end(&mut self.carry).map_err(|e| io_err(&self.path, e))?;
            if got == 0 {
                self.eof = true;
            }
        }
        Ok(())
    }

    /// Gives a parsed block's buffer back for the next reads (saves faulting in fresh pages).
    pub fn recycle(&mut self, mut raw: Vec<u8>) {
        if self.spare.len() < 2 && raw.capacity() >= self.block_size {
            raw.clear();
            self.spare.push(raw);
        }
    }

    /// The next block of whole records, `None` at the end.
    pub fn next_block(&mut self) -> Result<Option<Block>, ImportError> {
        if self.stopped {
            return Ok(None);
        }
        let mut want = self.block_size;
        loop {
            self.fill(want)?;
            if self.carry.is_empty() {
                return Ok(None);
            }
            // A block is at most `want` bytes, cut at the last record boundary within them (the
            // first fill reads more: the sample, see `SAMPLE`).
            let limit = self.carry.len().min(want);
            let cut = if self.eof && limit == self.carry.len() { Some(limit) } else { last_boundary(&self.carry[..limit], self.delimiter) };
            let (cut, overflow) = match cut {
                Some(c) if c > 0 => (c, false),
                _ if limit >= MAX_RECORD => (limit, true),
                _ => {
                    want = limit.max(64) * 2;
                    continue;
                }
            };
            let mut rest = self.spare.pop().unwrap_or_default();
            rest.extend_from_slice(&self.carry[cut..]);
            self.carry.truncate(cut);
            let raw = std::mem::replace(&mut self.carry, rest);
            self.carry.reserve(self.block_size);
            self.done += raw.len() as u64;
            if overflow {
                self.stopped = true;
            }
            let index = self.next_index;
            self.next_index += 1;
            return Ok(Some(Block { index, raw, overflow }));
        }
    }

    /// Whether the first block is the whole file (nothing left to read).
    pub fn is_whole(&self) -> bool {
        self.eof
    }

    /// The encoding to name in summaries: the file's, not the blocks' (UTF-16 is read as UTF-8).
    pub fn encoding_name(&self) -> &'static str {
        self.utf16.unwrap_or(self.encoding).name()
    }

    /// A fresh source over the same bytes with the same settings (for a second pass).
    pub fn reopen(&self, opts: &ImportOptions) -> Result<Source, ImportError> {
        let o = ImportOptions { encoding: Some(self.utf16.unwrap_or(self.encoding)), delimiter: Some(self.delimiter), ..opts.clone() };
        Source::open_as(self.path.clone(), self.origin.clone(), &o, self.block_size, self.sample_size, self.sniffed)
    }

    /// The whole records of the first block, not consumed.
    pub fn sample(&self) -> &[u8] {
        if self.eof {
            return &self.carry;
        }
        match last_boundary(&self.carry, self.delimiter) {
            Some(c) => &self.carry[..c],
            None => &[],
        }
    }
}

/// The end of the last complete record in `buf` (just after its newline), reading quotes the
/// way [`Records`] does: a quote opens a field only at the field's start.
fn last_boundary(buf: &[u8], delim: u8) -> Option<usize> {
    if memchr(b'"', buf).is_none() {
        return memrchr(b'\n', buf).map(|i| i + 1);
    }
    let mut in_q = false;
    let mut field_start = 0usize;
    let mut last = None;
    let mut skip = usize::MAX;
    for p in memchr3_iter(delim, b'"', b'\n', buf) {
        if p == skip {
            continue;
        }
        let c = buf[p];
        if in_q {
            if c == b'"' {
                if buf.get(p + 1) == Some(&b'"') {
                    skip = p + 1;
                } else {
                    in_q = false;
                }
            }
            continue;
        }
        if c == b'"' {
            if p == field_start {
                in_q = true;
            }
        } else if c == b'\n' {
            last = Some(p + 1);
            field_start = p + 1;
        } else {
            field_start = p + 1;
        }
    }
    last
}

/// Decodes a block; for UTF-8 the error is the byte offset of the first invalid sequence.
pub(crate) fn decode_block<'a>(enc: &'static Encoding, raw: &'a [u8]) -> Result<Cow<'a, str>, usize> {
    if enc == encoding_rs::UTF_8 {
        return std::str::from_utf8(raw).map(Cow::Borrowed).map_err(|e| e.valid_up_to());
    }
    Ok(enc.decode_without_bom_handling(raw).0)
}

/// 0-based line (newlines before) of byte offset `at`.
pub(crate) fn line_of(raw: &[u8], at: usize) -> u64 {
    memchr_iter(b'\n', &raw[..at.min(raw.len())]).count() as u64
}

/// What a block says about its encoding when read as UTF-8: the first line holding non-ASCII
/// UTF-8 text and the first line that is not UTF-8 (0-based, relative to the block).
pub(crate) fn utf8_facts(raw: &[u8]) -> (Option<u64>, Option<u64>) {
    match std::str::from_utf8(raw) {
        Ok(_) => match raw.iter().position(|&b| b >= 0x80) {
            Some(p) => (Some(line_of(raw, p)), None),
            None => (None, None),
        },
        Err(e) => {
            let bad = e.valid_up_to();
            let good = raw[..bad].iter().position(|&b| b >= 0x80).map(|p| line_of(raw, p));
            (good, Some(line_of(raw, bad)))
        }
    }
}

/// A structural problem of one record.
#[derive(Debug, Clone, Copy)]
pub(crate) enum RecErr {
    Unterminated { line: u64 },
    TooLong { line: u64 },
}

impl RecErr {
    /// The error with absolute lines (`base` is the 1-based line of the block's first line minus 1).
    pub fn into_error(self, path: &str, base: u64) -> ImportError {
        match self {
            RecErr::Unterminated { line } => ImportError::UnterminatedQuote { path: path.to_owned(), line: base + line + 1 },
            RecErr::TooLong { line } => ImportError::FieldTooLong { path: path.to_owned(), line: base + line + 1 },
        }
    }
}

/// Splits decoded text into records and fields. Quoted fields may hold delimiters, doubled quotes
/// and newlines; a quote elsewhere in a field is an ordinary character.
pub(crate) struct Records<'a> {
    text: &'a str,
    b: &'a [u8],
    pub pos: usize,
    /// Newlines consumed so far (the 0-based line of the next record).
    pub line: u64,
    delim: u8,
}

impl<'a> Records<'a> {
    pub fn new(text: &'a str, delim: u8) -> Self {
        Records { text, b: text.as_bytes(), pos: 0, line: 0, delim }
    }

    /// Reads the next record into `out`, returning its 0-based first line.
    pub fn next(&mut self, out: &mut Vec<Cow<'a, str>>) -> Option<Result<u64, RecErr>> {
        out.clear();
        let len = self.b.len();
        if self.pos >= len {
            return None;
        }
        let start_line = self.line;
        let start = self.pos;
        let eol = memchr(b'\n', &self.b[start..]).map(|i| start + i);
        let line_end = eol.unwrap_or(len);
        if memchr(b'"', &self.b[start..line_end]).is_none() {
            let mut end = line_end;
            if end > start && self.b[end - 1] == b'\r' {
                end -= 1;
            }
            let mut s = start;
            for p in memchr_iter(self.delim, &self.b[start..end]) {
                out.push(Cow::Borrowed(&self.text[s..start + p]));
                s = start + p + 1;
            }
            out.push(Cow::Borrowed(&self.text[s..end]));
            match eol {
                Some(e) => {
                    self.pos = e + 1;
                    self.line += 1;
                }
                None => self.pos = len,
            }
            if line_end - start > MAX_FIELD && out.iter().any(|f| f.len() > MAX_FIELD) {
                return Some(Err(RecErr::TooLong { line: start_line }));
            }
            return Some(Ok(start_line));
        }
        Some(self.slow(out, start_line))
    }

    fn slow(&mut self, out: &mut Vec<Cow<'a, str>>, start_line: u64) -> Result<u64, RecErr> {
        let (b, text, len, delim) = (self.b, self.text, self.b.len(), self.delim);
        let mut i = self.pos;
        loop {
            // One field starting at i.
            let mut value: Cow<'a, str>;
            if i < len && b[i] == b'"' {
                let open_line = self.line;
                let mut owned: Option<String> = None;
                let mut seg = i + 1;
                let mut j = i + 1;
                let close = loop {
                    let Some(k) = memchr(b'"', &b[j..]) else {
                        return Err(RecErr::Unterminated { line: open_line });
                    };
                    let q = j + k;
                    if b.get(q + 1) == Some(&b'"') {
                        owned.get_or_insert_with(String::new).push_str(&text[seg..q + 1]);
                        seg = q + 2;
                        j = q + 2;
                        continue;
                    }
                    break q;
                };
                self.line += memchr_iter(b'\n', &b[i..close]).count() as u64;
                value = match owned {
                    None => Cow::Borrowed(&text[i + 1..close]),
                    Some(mut s) => {
                        s.push_str(&text[seg..close]);
                        Cow::Owned(s)
                    }
                };
                // Characters after the closing quote are kept as they are.
                i = close + 1;
                let end = memchr2(delim, b'\n', &b[i..]).map(|k| i + k).unwrap_or(len);
                let mut tail_end = end;
                if tail_end > i && b[tail_end - 1] == b'\r' && (end == len || b[end] == b'\n') {
                    tail_end -= 1;
                }
                if tail_end > i {
                    value.to_mut().push_str(&text[i..tail_end]);
                }
                i = end;
            } else {
                let end = memchr2(delim, b'\n', &b[i.min(len)..]).map(|k| i + k).unwrap_or(len);
                let mut vend = end;
                if vend > i && b[vend - 1] == b'\r' && (end == len || b[end] == b'\n') {
                    vend -= 1;
                }
                value = Cow::Borrowed(&text[i.min(vend)..vend]);
                i = end;
            }
            if value.len() > MAX_FIELD {
                // Resynchronise at the end of the line so the caller can stop cleanly.
                out.push(value);
                self.pos = memchr(b'\n', &b[i.min(len)..]).map(|k| i + k + 1).unwrap_or(len);
                self.line += 1;
                return Err(RecErr::TooLong { line: start_line });
            }
            out.push(value);
            if i >= len {
                self.pos = len;
                return Ok(start_line);
            }
            if b[i] == b'\n' {
                self.pos = i + 1;
                self.line += 1;
                return Ok(start_line);
            }
            i += 1; // the delimiter
            if i >= len {
                out.push(Cow::Borrowed(""));
                self.pos = len;
                return Ok(start_line);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(text: &str) -> Vec<Vec<String>> {
        let mut r = Records::new(text, b',');
        let mut f = Vec::new();
        let mut out = Vec::new();
        while let Some(x) = r.next(&mut f) {
            x.expect("record");
            out.push(f.iter().map(|c| c.to_string()).collect());
        }
        out
    }

    #[test]
    fn quotes_delimiters_newlines() {
        assert_eq!(
            split("a,b\r\n\"x,y\",\"he said \"\"hi\"\"\"\n\"multi\nline\",5\" pipe\n"),
            vec![vec!["a", "b"], vec!["x,y", "he said \"hi\""], vec!["multi\nline", "5\" pipe"]]
        );
        assert_eq!(split("a,\n"), vec![vec!["a", ""]]);
    }

    #[test]
    fn boundaries_respect_quotes() {
        let buf = b"a,\"x\ny\"\nb,c\n\"open\nz";
        assert_eq!(last_boundary(buf, b','), Some(12));
        assert_eq!(last_boundary(b"5\" pipe,x\nb", b','), Some(10));
    }
}
