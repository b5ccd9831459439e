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
    let mut lines = text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty());
    let (_, head) = lines.next().ok_or_else(|| CsvError::Empty { expected: expected.to_string() })?;
    let header: Vec<String> = head
        .trim_start_matches('\u{feff}')
        .split(',')
        .map(|h| h.trim().trim_matches('"').trim().to_ascii_lowercase())
        .collect();
    let mut fields = Vec::with_capacity(text.len() / 8);
    let mut ends = Vec::with_capacity(text.len() / (8 * header.len().max(1)));
    for (i, l) in lines {
        fields.extend(l.split(',').map(|f| f.trim().trim_matches('"').trim()));
        ends.push((i + 1, fields.len()));
    }
    Ok(Table { header, fields, ends })
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
