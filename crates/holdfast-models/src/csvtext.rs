//! A minimal reader for the small numeric CSV files the models take (summaries, survivor counts):
//! comma-separated, a header row, optional quotes, a UTF-8 BOM. Errors name line and column.

use thiserror::Error;

/// Why a summary-style CSV could not be read. Line numbers count from 1 (the header is line 1).
#[derive(Debug, Error, Clone, PartialEq)]
pub enum CsvError {
    #[error("the file is empty (expected a header row such as {expected})")]
    Empty { expected: String },
    #[error("line 1: no {what} column (expected one of: {expected})")]
    MissingColumn { what: String, expected: String },
    #[error("line {line}, column {column} ({name}): {value:?} is not {expected}")]
    BadValue { line: usize, column: usize, name: String, value: String, expected: String },
    #[error("line {line}: {message}")]
    BadRow { line: usize, message: String },
    #[error("no data rows after the header")]
    NoRows,
}

/// A parsed table: header names (lower-cased, trimmed) and rows of raw fields with line numbers,
/// the fields of all rows in one vector (a summary has one row per customer).
pub(crate) struct Table<'a> {
    pub header: Vec<String>,
    fields: Vec<&'a str>,
    /// Per row: line number and the end of its fields in `fields`.
    ends: Vec<(usize, usize)>,
}

pub(crate) fn parse<'a>(text: &'a str, expected: &str) -> Result<Table<'a>, CsvError> {
    let mut lines = text.split('\n').enumerate().map(|(i, l)| (i, l.strip_suffix('\r').unwrap_or(l))).filter(|(_, l)| !l.trim().is_empty());
    let (_, head) = lines.next().ok_or_else(|| CsvError::Empty { expected: expected.to_string() })?;
    let header: Vec<String> = head.trim_start_matches('\u{feff}').split(',').map(|h| clean(h).to_ascii_lowercase()).collect();
    let mut fields = Vec::with_capacity(text.len() / 8);
    let mut ends = Vec::with_capacity(text.len() / (8 * header.len().max(1)));
    for (i, l) in lines {
        let mut rest = l;
        while let Some(k) = rest.as_bytes().iter().position(|&b| b == b',') {
            fields.push(clean(&rest[..k]));
            rest = &rest[k + 1..];
        }
        fields.push(clean(rest));
        ends.push((i + 1, fields.len()));
    }
    Ok(Table { header, fields, ends })
}

/// A field without surrounding whitespace and quotes (`str::trim`, then `"`s, then `str::trim`),
/// by bytes when the field is ASCII.
fn clean(f: &str) -> &str {
    if !f.is_ascii() {
        return f.trim().trim_matches('"').trim();
    }
    let b = f.as_bytes();
    let (mut i, mut j) = (0, b.len());
    while i < j && b[i].is_ascii_whitespace() {
        i += 1;
    }
    while j > i && b[j - 1].is_ascii_whitespace() {
        j -= 1;
    }
    while i < j && b[i] == b'"' {
        i += 1;
    }
    while j > i && b[j - 1] == b'"' {
        j -= 1;
    }
    while i < j && b[i].is_ascii_whitespace() {
        i += 1;
    }
    while j > i && b[j - 1].is_ascii_whitespace() {
        j -= 1;
    }
    &f[i..j]
}

/// `digits[.digits]` with at most 15 significant digits, exactly as `str::parse` reads it: the
/// digits form an exact integer `n` below 2⁵³ and `n / 10^k` (k ≤ 15) is one correctly rounded
/// division. `None` for anything else (signs, exponents, long numbers), left to `str::parse`.
fn plain_decimal(s: &str) -> Option<f64> {
    const POW10: [f64; 16] = [1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15];
    let b = s.as_bytes();
    if b.is_empty() || b.len() > 16 {
        return None;
    }
    let (mut n, mut frac, mut dot, mut digits) = (0u64, 0usize, false, 0usize);
    for &c in b {
        match c {
            b'0'..=b'9' => {
                n = n * 10 + (c - b'0') as u64;
                digits += 1;
                frac += usize::from(dot);
            }
            b'.' if !dot => dot = true,
            _ => return None,
        }
    }
    if digits == 0 || digits > 15 {
        return None;
    }
    Some(n as f64 / POW10[frac])
}

impl<'a> Table<'a> {
    /// Number of data rows.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// The data rows: line number and fields.
    pub fn rows(&self) -> impl Iterator<Item = (usize, &[&'a str])> + '_ {
        self.ends.iter().enumerate().map(|(k, &(line, end))| {
            let start = if k == 0 { 0 } else { self.ends[k - 1].1 };
            (line, &self.fields[start..end])
        })
    }

    /// Index of the first header matching one of `names`.
    pub fn find(&self, names: &[&str]) -> Option<usize> {
        names.iter().find_map(|n| self.header.iter().position(|h| h == &n.to_ascii_lowercase()))
    }

    pub fn require(&self, what: &str, names: &[&str]) -> Result<usize, CsvError> {
        self.find(names).ok_or_else(|| CsvError::MissingColumn { what: what.to_string(), expected: names.join(", ") })
    }

    /// The field at `col` of a row parsed as a finite number.
    pub fn number(&self, line: usize, fields: &[&str], col: usize, expected: &str) -> Result<f64, CsvError> {
        let raw = fields.get(col).copied().unwrap_or("");
        if let Some(v) = plain_decimal(raw) {
            return Ok(v);
        }
        match raw.parse::<f64>() {
            Ok(v) if v.is_finite() => Ok(v),
            _ => Err(CsvError::BadValue {
                line,
                column: col + 1,
                name: self.header.get(col).cloned().unwrap_or_default(),
                value: raw.to_string(),
                expected: expected.to_string(),
            }),
        }
    }

    /// The field at `col` parsed as a non-negative whole number (`3` or `3.0`).
    pub fn count(&self, line: usize, fields: &[&str], col: usize) -> Result<u32, CsvError> {
        let v = self.number(line, fields, col, "a whole number ≥ 0")?;
        if v < 0.0 || v.fract() != 0.0 || v > u32::MAX as f64 {
            return Err(CsvError::BadValue {
                line,
                column: col + 1,
                name: self.header.get(col).cloned().unwrap_or_default(),
                value: fields.get(col).copied().unwrap_or("").to_string(),
                expected: "a whole number ≥ 0".to_string(),
            });
        }
        Ok(v as u32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_decimals_read_as_str_parse_does() {
        for s in ["0", "7", "1082", "1082.0", "0.5", ".5", "5.", "00012", "123.456", "33.41", "999999999999999", "0.000000000000001", "4503599627370495", "1.7976931348623157"] {
            match plain_decimal(s) {
                Some(v) => assert_eq!(v.to_bits(), s.parse::<f64>().unwrap().to_bits(), "{s}"),
                None => assert!(s.len() > 15, "{s} should take the fast path"),
            }
        }
        // Every two-decimal amount up to 10,000.00 and a spread of longer ones.
        for cents in (0..1_000_000u64).step_by(7) {
            let s = format!("{}.{:02}", cents / 100, cents % 100);
            assert_eq!(plain_decimal(&s).map(f64::to_bits), Some(s.parse::<f64>().unwrap().to_bits()), "{s}");
        }
        let mut x = 0.123456789f64;
        for _ in 0..10_000 {
            x = (x * 7.77).fract() * 10f64.powi((x * 1000.0) as i32 % 9);
            let s = format!("{x:.6}");
            if let Some(v) = plain_decimal(&s) {
                assert_eq!(v.to_bits(), s.parse::<f64>().unwrap().to_bits(), "{s}");
            }
        }
        for bad in ["", ".", "-1", "1e5", "1.2.3", "abc", " 1"] {
            assert_eq!(plain_decimal(bad), None, "{bad}");
        }
    }

    #[test]
    fn fields_are_cleaned_as_trim_and_quotes() {
        for f in ["a", " a ", "\"a\"", " \" a \" ", "\"\"", "", "  ", "\t1.5\u{a0}", " «x» ", "\"a,b"] {
            assert_eq!(clean(f), f.trim().trim_matches('"').trim(), "{f:?}");
        }
        let t = parse("id,frequency\r\n\r\n\"c1\", 2\n c2 ,3\n", "").unwrap();
        assert_eq!(t.header, ["id", "frequency"]);
        let rows: Vec<(usize, Vec<&str>)> = t.rows().map(|(l, f)| (l, f.to_vec())).collect();
        assert_eq!(rows, [(3, vec!["c1", "2"]), (4, vec!["c2", "3"])]);
    }
}
