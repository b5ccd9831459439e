//! [`Table`]: rows of text cells, printed as aligned columns in a terminal or as an HTML table.

use crate::svg::esc;
use std::fmt::Write;

/// A table of already formatted cells. The first column is left-aligned, the others right-aligned
/// (numbers), unless set otherwise.
#[derive(Clone, Debug, Default)]
pub struct Table {
    pub headers: Vec<String>,
    pub rows: Vec<Vec<String>>,
    /// `true` = right-aligned, per column.
    pub right: Vec<bool>,
    /// Lines printed under the table (footnotes such as the simple ratio's blind spot).
    pub notes: Vec<String>,
    /// Columns of running text (reasons): wrapped in HTML instead of kept on one line.
    pub wrap: Vec<usize>,
    /// On a narrow screen each row becomes a small card, every cell under its header's name
    /// (a list read row by row, such as this week's customers), instead of scrolling sideways.
    pub stack: bool,
}

impl Table {
    pub fn new<S: AsRef<str>>(headers: &[S]) -> Self {
        let headers: Vec<String> = headers.iter().map(|h| h.as_ref().to_string()).collect();
        let right = (0..headers.len()).map(|i| i > 0).collect();
        Table { headers, rows: Vec::new(), right, notes: Vec::new(), wrap: Vec::new(), stack: false }
    }

    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    pub fn note(&mut self, text: impl Into<String>) {
        self.notes.push(text.into());
    }

    /// Aligned columns separated by two spaces, a rule under the header, then the notes.
    pub fn to_text(&self) -> String {
        let cols = self.headers.len().max(self.rows.iter().map(Vec::len).max().unwrap_or(0));
        let mut width = vec![0usize; cols];
        for r in std::iter::once(&self.headers).chain(&self.rows) {
            for (i, c) in r.iter().enumerate() {
                width[i] = width[i].max(c.chars().count());
            }
        }
        let mut out = String::new();
        let line = |out: &mut String, r: &[String]| {
            let mut s = String::new();
            for (i, w) in width.iter().enumerate() {
                let c = r.get(i).map(String::as_str).unwrap_or("");
                let pad = w - c.chars().count();
                if i > 0 {
                    s.push_str("  ");
                }
                if self.right.get(i).copied().unwrap_or(true) {
                    s.push_str(&" ".repeat(pad));
                    s.push_str(c);
                } else {
                    s.push_str(c);
                    s.push_str(&" ".repeat(pad));
                }
            }
            out.push_str(s.trim_end());
            out.push('\n');
        };
        line(&mut out, &self.headers);
        let total: usize = width.iter().sum::<usize>() + 2 * cols.saturating_sub(1);
        out.push_str(&"─".repeat(total));
        out.push('\n');
        for r in &self.rows {
            line(&mut out, r);
        }
        for n in &self.notes {
            let _ = writeln!(out, "{n}");
        }
        out
    }

    /// An HTML `<table>` (every cell escaped), notes as a paragraph below.
    pub fn to_html(&self) -> String {
        let mut out = String::from(if self.stack {
            "<div class=\"table-wrap\"><table class=\"stack\"><thead><tr>"
        } else {
            "<div class=\"table-wrap\"><table><thead><tr>"
        });
        for (i, h) in self.headers.iter().enumerate() {
            let _ = write!(out, "<th{}>{}</th>", self.align(i), esc(h));
        }
        out.push_str("</tr></thead><tbody>");
        for r in &self.rows {
            out.push_str("<tr>");
            for (i, c) in r.iter().enumerate() {
                let class = if self.wrap.contains(&i) { " class=\"wrap\"" } else { self.align(i) };
                let label = match self.headers.get(i).filter(|_| self.stack) {
                    Some(h) => format!(" data-label=\"{}\"", esc(h)),
                    None => String::new(),
                };
                let _ = write!(out, "<td{class}{label}>{}</td>", esc(c));
            }
            out.push_str("</tr>");
        }
        out.push_str("</tbody></table></div>");
        for n in &self.notes {
            let _ = write!(out, "<p class=\"note\">{}</p>", esc(n));
        }
        out
    }

    fn align(&self, i: usize) -> &'static str {
        if self.right.get(i).copied().unwrap_or(true) {
            " class=\"num\""
        } else {
            ""
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aligns_columns() {
        let mut t = Table::new(&["period", "customers"]);
        t.row(vec!["1997-01".into(), "7".into()]);
        t.row(vec!["1997-02".into(), "1,234".into()]);
        t.note("* a note");
        assert_eq!(t.to_text(), "period   customers\n──────────────────\n1997-01          7\n1997-02      1,234\n* a note\n");
        assert!(t.to_html().contains("<td class=\"num\">1,234</td>"));
    }

    #[test]
    fn html_escapes_cells() {
        let mut t = Table::new(&["<x>"]);
        t.row(vec!["a&b".into()]);
        let h = t.to_html();
        assert!(h.contains("&lt;x&gt;") && h.contains("a&amp;b"));
    }
}
