//! Hand-written inline SVG charts: line charts, stacked (and diverging) bar charts, heat maps.
//!
//! Every chart is a self-contained `<svg>` string with a `viewBox`, so it scales with the page and
//! needs no script, font or stylesheet from elsewhere. All text passes through [`esc`]. Hovering
//! a bar, point or cell shows its exact value (an SVG `<title>`). Sections of other modules use
//! the same functions so the whole report looks alike.

use crate::format::{fmt_count, fmt_money_short, fmt_pct};
use std::fmt::Write;

/// Escapes text for HTML and SVG (element content and quoted attributes).
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Palette shared by every chart.
pub mod color {
    pub const ACTIVE: &str = "#3b6ea5";
    pub const NEW: &str = "#3a9d5d";
    pub const REACTIVATED: &str = "#7fbf7f";
    pub const LOST: &str = "#d1495b";
    pub const RETENTION: &str = "#3b6ea5";
    pub const CHURN: &str = "#d1495b";
    pub const SIMPLE: &str = "#999999";
    pub const FIRST_ORDERS: &str = "#e0a458";
    pub const REPEAT_ORDERS: &str = "#3b6ea5";
    pub const NEUTRAL: &str = "#5b7c99";
}

/// How values on an axis are written.
#[derive(Clone, Copy, Debug)]
pub enum ValueFormat {
    Count,
    /// A fraction shown as a percentage.
    Percent,
    /// An amount in major units.
    Money,
}

impl ValueFormat {
    fn show(self, v: f64) -> String {
        match self {
            ValueFormat::Count => fmt_count(v.round() as i64),
            ValueFormat::Percent => fmt_pct(Some(v)),
            ValueFormat::Money => fmt_money_short(v),
        }
    }
}

/// A named series of values, one per x label (`None` leaves a gap).
#[derive(Clone, Debug)]
pub struct Series {
    pub name: String,
    pub color: &'static str,
    pub values: Vec<Option<f64>>,
    /// Drawn dashed (e.g. a reference figure).
    pub dashed: bool,
}

impl Series {
    pub fn new(name: &str, color: &'static str, values: Vec<Option<f64>>) -> Self {
        Series { name: name.to_string(), color, values, dashed: false }
    }
}

const W: f64 = 900.0;
const H: f64 = 300.0;
const LEFT: f64 = 72.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 34.0;
const BOTTOM: f64 = 40.0;

/// Round tick values covering `[lo, hi]`.
fn ticks(lo: f64, hi: f64, n: usize) -> Vec<f64> {
    let (lo, hi) = if hi - lo < 1e-12 { (lo.min(0.0), lo.max(0.0) + 1.0) } else { (lo, hi) };
    let raw = (hi - lo) / n.max(1) as f64;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0].iter().map(|m| m * mag).find(|s| *s >= raw).unwrap_or(10.0 * mag);
    let start = (lo / step).floor() * step;
    let mut out = Vec::new();
    for i in 0..60 {
        let t = start + i as f64 * step;
        out.push(if t.abs() < step * 1e-9 { 0.0 } else { t });
        if t >= hi - step * 1e-9 {
            break;
        }
    }
    out
}

struct Frame {
    lo: f64,
    hi: f64,
    n: usize,
}

impl Frame {
    fn y(&self, v: f64) -> f64 {
        let plot = H - TOP - BOTTOM;
        TOP + plot * (1.0 - (v - self.lo) / (self.hi - self.lo))
    }
    fn band(&self) -> f64 {
        (W - LEFT - RIGHT) / self.n.max(1) as f64
    }
    fn x_center(&self, i: usize) -> f64 {
        LEFT + self.band() * (i as f64 + 0.5)
    }
}

fn open_svg(out: &mut String, label: &str) {
    let _ = write!(
        out,
        r#"<svg class="chart" viewBox="0 0 {W} {H}" role="img" aria-label="{}" font-family="system-ui, sans-serif" font-size="12">"#,
        esc(label)
    );
}

fn legend(out: &mut String, items: &[(&str, &str, bool)]) {
    let mut x = LEFT;
    for (name, col, dashed) in items {
        if *dashed {
            let _ = write!(out, r#"<line x1="{x}" y1="14" x2="{}" y2="14" stroke="{col}" stroke-width="2" stroke-dasharray="4 3"/>"#, x + 14.0);
        } else {
            let _ = write!(out, r#"<rect x="{x}" y="8" width="14" height="12" fill="{col}"/>"#);
        }
        let _ = write!(out, r##"<text x="{}" y="18" fill="#333">{}</text>"##, x + 18.0, esc(name));
        x += 30.0 + 7.0 * name.chars().count() as f64;
    }
}

fn axes(out: &mut String, f: &Frame, labels: &[String], fmt: ValueFormat) {
    for t in ticks(f.lo, f.hi, 5) {
        if t < f.lo - 1e-9 || t > f.hi + 1e-9 {
            continue;
        }
        let y = f.y(t);
        let stroke = if t == 0.0 { "#888" } else { "#e4e4e4" };
        let _ = write!(out, r#"<line x1="{LEFT}" y1="{y:.1}" x2="{}" y2="{y:.1}" stroke="{stroke}"/>"#, W - RIGHT);
        let _ = write!(out, r##"<text x="{}" y="{:.1}" text-anchor="end" fill="#555">{}</text>"##, LEFT - 6.0, y + 4.0, esc(&fmt.show(t)));
    }
    let every = labels.len().div_ceil(12).max(1);
    for (i, l) in labels.iter().enumerate() {
        if i % every == 0 {
            let _ = write!(out, r##"<text x="{:.1}" y="{}" text-anchor="middle" fill="#555">{}</text>"##, f.x_center(i), H - BOTTOM + 18.0, esc(l));
        }
    }
}

/// Line chart: one line per series over the x labels; points carry their exact value on hover.
pub fn line_chart(title: &str, labels: &[String], series: &[Series], fmt: ValueFormat, zero_based: bool) -> String {
    let vals = series.iter().flat_map(|s| s.values.iter().flatten().copied());
    let (mut lo, mut hi) = vals.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| (a.min(v), b.max(v)));
    if !lo.is_finite() {
        (lo, hi) = (0.0, 1.0);
    }
    if zero_based {
        lo = lo.min(0.0);
    }
    let t = ticks(lo, hi, 5);
    let f = Frame { lo: t.first().copied().unwrap_or(lo).min(lo), hi: t.last().copied().unwrap_or(hi).max(hi), n: labels.len() };
    let f = if f.hi - f.lo < 1e-12 { Frame { hi: f.lo + 1.0, ..f } } else { f };
    let mut out = String::new();
    open_svg(&mut out, title);
    let items: Vec<_> = series.iter().map(|s| (s.name.as_str(), s.color, s.dashed)).collect();
    legend(&mut out, &items);
    axes(&mut out, &f, labels, fmt);
    for s in series {
        let mut path = String::new();
        let mut pen_up = true;
        for (i, v) in s.values.iter().enumerate() {
            match v {
                Some(v) => {
                    let _ = write!(path, "{}{:.1},{:.1} ", if pen_up { "M" } else { "L" }, f.x_center(i), f.y(*v));
                    pen_up = false;
                }
                None => pen_up = true,
            }
        }
        let dash = if s.dashed { r#" stroke-dasharray="5 4""# } else { "" };
        let _ = write!(out, r#"<path d="{}" fill="none" stroke="{}" stroke-width="2"{dash}/>"#, path.trim_end(), s.color);
        if labels.len() <= 60 {
            for (i, v) in s.values.iter().enumerate() {
                if let Some(v) = v {
                    let _ = write!(
                        out,
                        r#"<circle cx="{:.1}" cy="{:.1}" r="3" fill="{}"><title>{}: {} {}</title></circle>"#,
                        f.x_center(i),
                        f.y(*v),
                        s.color,
                        esc(&labels[i]),
                        esc(&s.name),
                        esc(&fmt.show(*v))
                    );
                }
            }
        }
    }
    out.push_str("</svg>");
    out
}

/// Bar chart: `up` series stacked above zero, `down` series stacked below (their values are drawn
/// downwards whatever their sign). `hatched[i]` draws bar `i` lighter (an incomplete period).
pub fn bar_chart(title: &str, labels: &[String], up: &[Series], down: &[Series], fmt: ValueFormat, hatched: &[bool]) -> String {
    let n = labels.len();
    let total = |ss: &[Series], i: usize| ss.iter().map(|s| s.values.get(i).copied().flatten().unwrap_or(0.0).abs()).sum::<f64>();
    let hi = (0..n).map(|i| total(up, i)).fold(0.0, f64::max);
    let lo = -(0..n).map(|i| total(down, i)).fold(0.0, f64::max);
    let t = ticks(lo, if hi == 0.0 && lo == 0.0 { 1.0 } else { hi }, 5);
    let f = Frame { lo: t.first().copied().unwrap_or(lo).min(lo), hi: t.last().copied().unwrap_or(hi).max(hi), n };
    let mut out = String::new();
    open_svg(&mut out, title);
    out.push_str(r##"<defs><pattern id="hatch" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="6" height="6" fill="#fff"/><line x1="0" y1="0" x2="0" y2="6" stroke="#bbb" stroke-width="3"/></pattern></defs>"##);
    let items: Vec<_> = up.iter().chain(down).map(|s| (s.name.as_str(), s.color, false)).collect();
    legend(&mut out, &items);
    axes(&mut out, &f, labels, fmt);
    let bw = (f.band() * 0.75).max(1.0);
    #[allow(clippy::needless_range_loop)]
    for i in 0..n {
        let x = f.x_center(i) - bw / 2.0;
        let light = hatched.get(i).copied().unwrap_or(false);
        for (ss, sign) in [(up, 1.0), (down, -1.0)] {
            let mut base = 0.0;
            for s in ss {
                let v = s.values.get(i).copied().flatten().unwrap_or(0.0).abs();
                if v == 0.0 {
                    continue;
                }
                let (a, b) = (f.y(base), f.y(base + sign * v));
                let (y, h) = (a.min(b), (a - b).abs().max(0.5));
                let opacity = if light { r#" fill-opacity="0.45""# } else { "" };
                let _ = write!(
                    out,
                    r#"<rect x="{x:.1}" y="{y:.1}" width="{bw:.1}" height="{h:.1}" fill="{}"{opacity}><title>{}: {} {}{}</title></rect>"#,
                    s.color,
                    esc(&labels[i]),
                    esc(&s.name),
                    esc(&fmt.show(v)),
                    if light { " (period not complete)" } else { "" }
                );
                base += sign * v;
            }
        }
    }
    out.push_str("</svg>");
    out
}

/// One heat-map cell.
#[derive(Clone, Debug)]
pub struct HeatCell {
    /// Colour intensity, 0 to 1.
    pub intensity: f64,
    /// Text written in the cell (may be empty).
    pub text: String,
    /// Hover text.
    pub title: String,
    /// Incomplete cells are hatched grey.
    pub complete: bool,
}

/// Heat map: one row per `rows` label, one column per `cols` label; `None` cells are left blank.
pub fn heat_map(title: &str, rows: &[String], cols: &[String], cells: &[Vec<Option<HeatCell>>]) -> String {
    let (left, top) = (104.0, 34.0);
    let cw = ((W - left - 10.0) / cols.len().max(1) as f64).clamp(8.0, 60.0);
    let ch = if rows.len() > 40 { 12.0 } else { 20.0 };
    let w = left + cw * cols.len() as f64 + 10.0;
    let h = top + ch * rows.len() as f64 + 10.0;
    let mut out = String::new();
    let _ = write!(
        out,
        r#"<svg class="chart" viewBox="0 0 {w:.0} {h:.0}" style="max-width:{:.0}px" role="img" aria-label="{}" font-family="system-ui, sans-serif" font-size="11">"#,
        w * 1.2,
        esc(title)
    );
    out.push_str(r##"<defs><pattern id="hatch-cell" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="6" height="6" fill="#f2f2f2"/><line x1="0" y1="0" x2="0" y2="6" stroke="#cfcfcf" stroke-width="2"/></pattern></defs>"##);
    let every = cols.len().div_ceil((W / 40.0) as usize).max(1);
    for (k, c) in cols.iter().enumerate() {
        if k % every == 0 {
            let _ = write!(out, r##"<text x="{:.1}" y="{}" text-anchor="middle" fill="#555">{}</text>"##, left + cw * (k as f64 + 0.5), top - 8.0, esc(c));
        }
    }
    let show_text = cw >= 30.0 && ch >= 16.0;
    for (r, label) in rows.iter().enumerate() {
        let y = top + ch * r as f64;
        let _ = write!(out, r##"<text x="{}" y="{:.1}" text-anchor="end" fill="#555">{}</text>"##, left - 6.0, y + ch / 2.0 + 4.0, esc(label));
        for (k, cell) in cells.get(r).map(|v| v.as_slice()).unwrap_or(&[]).iter().enumerate() {
            let Some(cell) = cell else { continue };
            let x = left + cw * k as f64;
            let fill = if cell.complete { blue(cell.intensity) } else { "url(#hatch-cell)".to_string() };
            let _ = write!(
                out,
                r##"<rect x="{x:.1}" y="{y:.1}" width="{:.1}" height="{:.1}" fill="{fill}" stroke="#fff"><title>{}{}</title></rect>"##,
                cw,
                ch,
                esc(&cell.title),
                if cell.complete { "" } else { " (period not complete yet)" }
            );
            if show_text && !cell.text.is_empty() {
                let dark = cell.complete && cell.intensity > 0.55;
                let _ = write!(
                    out,
                    r##"<text x="{:.1}" y="{:.1}" text-anchor="middle" fill="{}" pointer-events="none">{}</text>"##,
                    x + cw / 2.0,
                    y + ch / 2.0 + 4.0,
                    if dark { "#fff" } else { "#222" },
                    esc(&cell.text)
                );
            }
        }
    }
    out.push_str("</svg>");
    out
}

/// White to deep blue.
fn blue(t: f64) -> String {
    let t = if t.is_finite() { t.clamp(0.0, 1.0) } else { 0.0 };
    let lerp = |a: f64, b: f64| (a + (b - a) * t).round() as u8;
    format!("#{:02x}{:02x}{:02x}", lerp(247.0, 8.0), lerp(251.0, 69.0), lerp(255.0, 148.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_text() {
        assert_eq!(esc(r#"<a href="x">&'"#), "&lt;a href=&quot;x&quot;&gt;&amp;&#39;");
    }

    #[test]
    fn ticks_are_round() {
        let t = ticks(0.0, 1.0, 5);
        assert_eq!(t.len(), 6);
        assert!(t.iter().zip([0.0, 0.2, 0.4, 0.6, 0.8, 1.0]).all(|(a, b)| (a - b).abs() < 1e-12));
        // (95 + 30) / 5 = 25 per step.
        assert_eq!(ticks(-30.0, 95.0, 5), [-50.0, -25.0, 0.0, 25.0, 50.0, 75.0, 100.0]);
        assert_eq!(ticks(0.0, 0.0, 5).first(), Some(&0.0));
    }

    #[test]
    fn charts_escape_labels_and_never_print_nan() {
        let labels = vec!["<b>".to_string(), "x".to_string()];
        let s = line_chart("t", &labels, &[Series::new("a&b", "#000", vec![Some(0.5), None])], ValueFormat::Percent, true);
        assert!(s.contains("&lt;b&gt;") && s.contains("a&amp;b") && !s.contains("<b>") && !s.contains("NaN"));
        let b = bar_chart("t", &labels, &[Series::new("up", "#000", vec![Some(3.0), Some(0.0)])], &[Series::new("down", "#111", vec![Some(2.0), None])], ValueFormat::Count, &[false, true]);
        assert!(b.starts_with("<svg") && !b.contains("NaN") && !b.contains("inf"));
        let e = bar_chart("t", &[], &[], &[], ValueFormat::Count, &[]);
        assert!(!e.contains("NaN"));
        let h = heat_map("t", &labels, &labels, &[vec![Some(HeatCell { intensity: 1.0, text: "100%".into(), title: "x".into(), complete: false })]]);
        assert!(h.contains("hatch-cell") && !h.contains("NaN"));
    }
}
