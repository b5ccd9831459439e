//! What a file is, told by its first bytes rather than its name: delimited text (UTF-8, a
//! single-byte Cyrillic encoding, or UTF-16 with or without a byte order mark, with any line
//! ends), a spreadsheet (xlsx, xlsm, xlsb, ods — zip archives — or xls, an OLE compound file),
//! or something else, refused as "not a text or spreadsheet file".
//!
//! A spreadsheet is read with calamine and handed to the delimited reader as UTF-8 CSV, one line
//! per sheet row (blank lines stand for the rows above the data), so it goes through the same
//! header aliases, column map, value rules and errors as a CSV file, and a message's line is the
//! sheet's row: `orders.xlsx (sheet Orders):5: column "date": …`. The first visible worksheet
//! with data is read. Cell values: numbers as Excel shows them (15 significant digits), dates as
//! `YYYY-MM-DD[ HH:MM:SS]`, line breaks inside a cell as spaces.

use crate::ImportError;
use calamine::{Data, Reader};
use std::io::{Cursor, Read};

/// What the first bytes of a file say it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Sniffed {
    /// Delimited text in an 8-bit encoding (UTF-8 or a single-byte one).
    Text,
    /// UTF-16 text, little- or big-endian.
    Utf16(&'static encoding_rs::Encoding),
    /// A zip archive (xlsx, xlsm, xlsb, ods) or an OLE compound file (xls).
    Spreadsheet,
    /// Neither: what it looks like.
    Binary(&'static str),
}

const MAGICS: &[(&[u8], &str)] = &[
    (b"%PDF", "a PDF document"),
    (b"\x89PNG", "a PNG image"),
    (b"\xFF\xD8\xFF", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"\x1F\x8B", "a gzip archive"),
    (b"BZh", "a bzip2 archive"),
    (b"\xFD7zXZ\x00", "an xz archive"),
    (b"7z\xBC\xAF\x27\x1C", "a 7-Zip archive"),
    (b"Rar!\x1A\x07", "a RAR archive"),
    (b"\x7FELF", "a program"),
    (b"SQLite format 3\x00", "a SQLite database"),
    (b"\x28\xB5\x2F\xFD", "a zstd archive"),
];

/// Tells what `head` (the first block of a file) is.
pub(crate) fn sniff(head: &[u8]) -> Sniffed {
    if head.starts_with(b"PK\x03\x04") || head.starts_with(b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1") {
        return Sniffed::Spreadsheet;
    }
    if head.starts_with(b"\xFF\xFE") {
        return Sniffed::Utf16(encoding_rs::UTF_16LE);
    }
    if head.starts_with(b"\xFE\xFF") {
        return Sniffed::Utf16(encoding_rs::UTF_16BE);
    }
    if let Some((_, what)) = MAGICS.iter().find(|(m, _)| head.starts_with(m)) {
        return Sniffed::Binary(what);
    }
    let probe = &head[..head.len().min(64 << 10)];
    // UTF-16 without a mark: text in Latin or Cyrillic letters has 0x00 (or 0x04, the Cyrillic
    // block) as the high byte of most pairs, always on the same side, and no zero on the other.
    if probe.len() >= 4 {
        let pairs = probe.len() / 2;
        let high_at = |k: usize| probe.chunks_exact(2).filter(|p| p[k] == 0 || p[k] == 4).count();
        let zero_at = |k: usize| probe.chunks_exact(2).filter(|p| p[k] == 0).count();
        if high_at(1) * 2 >= pairs && zero_at(1) > 0 && zero_at(0) * 20 < pairs {
            return Sniffed::Utf16(encoding_rs::UTF_16LE);
        }
        if high_at(0) * 2 >= pairs && zero_at(0) > 0 && zero_at(1) * 20 < pairs {
            return Sniffed::Utf16(encoding_rs::UTF_16BE);
        }
    }
    // Binary: zero bytes in the first line, or many zero or control bytes. (One zero byte in a
    // field of a text file is a bad row, reported with its line.)
    let first_line = &probe[..memchr::memchr(b'\n', probe).unwrap_or(probe.len()).min(4096)];
    let zeros = memchr::memchr_iter(0, probe).count();
    let controls = probe.iter().filter(|&&b| b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r' | 0x0C | 0x1A | 0x1B | 0)).count();
    if memchr::memchr(0, first_line).is_some() || (zeros > 16 && zeros * 100 > probe.len()) || (controls > 16 && controls * 20 > probe.len()) {
        return Sniffed::Binary("binary data");
    }
    Sniffed::Text
}

/// A reader that decodes UTF-16 into UTF-8 (the byte order mark dropped, unpaired surrogates
/// replaced by U+FFFD), so everything after it reads UTF-8.
pub(crate) struct Utf16Reader<R> {
    inner: R,
    decoder: encoding_rs::Decoder,
    input: Vec<u8>,
    out: Vec<u8>,
    pos: usize,
    eof: bool,
}

impl<R: Read> Utf16Reader<R> {
    pub fn new(inner: R, enc: &'static encoding_rs::Encoding) -> Self {
        Utf16Reader { inner, decoder: enc.new_decoder_with_bom_removal(), input: vec![0; 64 << 10], out: Vec::new(), pos: 0, eof: false }
    }
}

impl<R: Read> Read for Utf16Reader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.pos >= self.out.len() {
            if self.eof {
                return Ok(0);
            }
            let n = self.inner.read(&mut self.input)?;
            self.eof = n == 0;
            self.out.clear();
            self.out.resize(self.decoder.max_utf8_buffer_length(n).unwrap_or(n * 3 + 16), 0);
            let (_, _, written, _) = self.decoder.decode_to_utf8(&self.input[..n], &mut self.out, self.eof);
            self.out.truncate(written);
            self.pos = 0;
        }
        let k = (self.out.len() - self.pos).min(buf.len());
        buf[..k].copy_from_slice(&self.out[self.pos..self.pos + k]);
        self.pos += k;
        Ok(k)
    }
}

/// A reader that turns every carriage return into a line feed (files with CR-only line ends,
/// as old Mac software writes them).
pub(crate) struct CrReader<R>(pub R);

impl<R: Read> Read for CrReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.0.read(buf)?;
        for b in &mut buf[..n] {
            if *b == b'\r' {
                *b = b'\n';
            }
        }
        Ok(n)
    }
}

/// The first visible worksheet with data of the workbook in `bytes`, as UTF-8 CSV (one line per
/// sheet row from row 1), and the name messages use for it: `PATH (sheet NAME)`.
pub(crate) fn to_csv(path: &str, bytes: Vec<u8>) -> Result<(String, Vec<u8>), ImportError> {
    let bad = |message: String| ImportError::Sheet { path: path.to_owned(), message };
    let zip = bytes.starts_with(b"PK");
    let mut book = match calamine::open_workbook_auto_from_rs(Cursor::new(bytes.clone())) {
        Ok(b) => b,
        Err(_) if zip => {
            // Say why: a damaged archive, or one that holds no workbook.
            return Err(bad(match calamine::open_workbook_from_rs::<calamine::Xlsx<_>, _>(Cursor::new(bytes)) {
                Err(calamine::XlsxError::Zip(e)) => format!("the zip archive is damaged or incomplete ({e})"),
                _ => "a zip archive that holds no workbook (expected xlsx, xlsm, xlsb or ods)".to_string(),
            }));
        }
        Err(e) => return Err(bad(format!("not a readable xls workbook ({e})"))),
    };
    let sheets: Vec<String> = book
        .sheets_metadata()
        .iter()
        .filter(|s| s.typ == calamine::SheetType::WorkSheet && s.visible == calamine::SheetVisible::Visible)
        .map(|s| s.name.clone())
        .collect();
    for name in &sheets {
        let range = book.worksheet_range(name).map_err(|e| bad(format!("sheet {name}: {e}")))?;
        let Some((top, _)) = range.start() else { continue };
        let mut out = Vec::with_capacity(range.get_size().0 * range.get_size().1 * 8);
        // Line k of the text is row k of the sheet.
        out.resize(top as usize, b'\n');
        let mut cell = String::new();
        for row in range.rows() {
            for (i, v) in row.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                cell.clear();
                write_cell(&mut cell, v);
                put_field(&mut out, &cell);
            }
            out.push(b'\n');
        }
        return Ok((format!("{path} (sheet {name})"), out));
    }
    Err(ImportError::Empty { path: path.to_owned() })
}

fn write_cell(out: &mut String, v: &Data) {
    use std::fmt::Write;
    match v {
        Data::Empty => {}
        Data::String(s) | Data::DateTimeIso(s) | Data::DurationIso(s) => out.push_str(s),
        Data::Int(i) => {
            let _ = write!(out, "{i}");
        }
        Data::Float(f) => write_number(out, *f),
        Data::Bool(b) => out.push_str(if *b { "TRUE" } else { "FALSE" }),
        Data::DateTime(d) => match d.as_datetime().filter(|_| !d.is_duration()) {
            Some(t) if t.time() == chrono::NaiveTime::MIN => {
                let _ = write!(out, "{}", t.format("%Y-%m-%d"));
            }
            Some(t) => {
                let _ = write!(out, "{}", t.format("%Y-%m-%d %H:%M:%S"));
            }
            None => write_number(out, d.as_f64()),
        },
        Data::Error(e) => {
            let _ = write!(out, "{e}");
        }
    }
}

/// A number as Excel shows it: 15 significant digits, no exponent (`0.1 + 0.2` is `0.3`).
fn write_number(out: &mut String, f: f64) {
    use std::fmt::Write;
    if !f.is_finite() {
        let _ = write!(out, "{f}");
        return;
    }
    let rounded: f64 = format!("{f:.14e}").parse().unwrap_or(f);
    let _ = write!(out, "{rounded}");
}

/// Writes one CSV field: quoted when it holds a comma or a quote; line breaks become spaces, so
/// each sheet row stays one line.
fn put_field(out: &mut Vec<u8>, s: &str) {
    let needs_quotes = s.bytes().any(|b| matches!(b, b',' | b'"'));
    if needs_quotes {
        out.push(b'"');
    }
    for b in s.bytes() {
        match b {
            b'"' => out.extend_from_slice(b"\"\""),
            b'\r' | b'\n' => out.push(b' '),
            _ => out.push(b),
        }
    }
    if needs_quotes {
        out.push(b'"');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_as_excel_shows_them() {
        let n = |f: f64| {
            let mut s = String::new();
            write_number(&mut s, f);
            s
        };
        assert_eq!(
            (n(0.1 + 0.2), n(1001.0), n(34128.930000000004), n(-5.5), n(1e20)),
            ("0.3".into(), "1001".into(), "34128.93".into(), "-5.5".into(), "100000000000000000000".into())
        );
    }

    #[test]
    fn files_are_told_by_content() {
        assert_eq!(sniff(b"PK\x03\x04rest"), Sniffed::Spreadsheet);
        assert_eq!(sniff(b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1"), Sniffed::Spreadsheet);
        assert_eq!(sniff(b"\xFF\xFEc\x00,\x00"), Sniffed::Utf16(encoding_rs::UTF_16LE));
        assert_eq!(sniff("customer,date\n".encode_utf16().flat_map(|u| u.to_le_bytes()).collect::<Vec<_>>().as_slice()), Sniffed::Utf16(encoding_rs::UTF_16LE));
        assert_eq!(sniff("клиент;дата\n".encode_utf16().flat_map(|u| u.to_be_bytes()).collect::<Vec<_>>().as_slice()), Sniffed::Utf16(encoding_rs::UTF_16BE));
        assert_eq!(sniff(b"%PDF-1.7\n"), Sniffed::Binary("a PDF document"));
        assert_eq!(sniff(b"customer\x00id,date\n"), Sniffed::Binary("binary data"));
        assert_eq!(
            sniff(b"customer,date\nC\x001,2024-01-01\nC2,2024-01-02\nC3,2024-01-02\nC4,2024-01-02\nC5,2024-01-02\nC6,2024-01-02\nC7,2024-01-02\n"),
            Sniffed::Text
        );
        assert_eq!(sniff(b"customer,date\r\nC1,2024-01-01\r\n"), Sniffed::Text);
    }
}
