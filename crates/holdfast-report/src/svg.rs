//! Hand-written inline SVG charts: line charts, stacked (and diverging) bar charts, heat maps.
//!
//! Every chart is a self-contained `<svg>` string with a `viewBox`, so it scales with the page and
//! needs no script, font or stylesheet from elsewhere. All text passes through [`esc`]. Hovering
//! a bar, point or cell shows its exact value (an SVG `<title>`). Sections of other modules use
//! the same functions so the whole report looks alike.

use crate::locale::Lang;
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
    fn show(self, v: f64, l: Lang) -> String {
        match self {
            ValueFormat::Count => l.count(v.round() as i64),
            ValueFormat::Percent => l.pct(Some(v)),
            ValueFormat::Money => l.money_short(v),
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

/// What a chart's axes say, and how it is laid out.
#[derive(Clone, Debug)]
pub struct Axes {
    /// Title under the x axis (what the labels are).
    pub x: String,
    /// Title beside the y axis, with its unit (`customers`, `% of active at start`, `USD`).
    pub y: String,
    /// The language numbers on the axes are written in.
    pub lang: Lang,
    /// Every x label names a category and is shown (rotated when they do not fit side by side);
    /// otherwise (periods) labels are thinned out to fit.
    pub categories: bool,
    /// A low chart (a companion figure).
    pub short: bool,
    /// Width of the drawing in its own units; set per rendering by [`both`].
    width: f64,
}

impl Axes {
    pub fn new(lang: Lang, x: &str, y: &str) -> Axes {
        Axes { x: x.into(), y: y.into(), lang, categories: false, short: false, width: W }
    }

    /// Every label shown: they are categories, not a sequence.
    pub fn categories(mut self) -> Axes {
        self.categories = true;
        self
    }

    /// A low chart.
    pub fn short(mut self) -> Axes {
        self.short = true;
        self
    }
}

/// Width of a chart in its own units (the `viewBox`) for screens; it scales to the page.
const W: f64 = 900.0;
/// Width of the phone rendering: at a 390 px screen its text stays about 10 px high.
const NARROW: f64 = 420.0;

/// A chart drawn twice — for screens ([`W`] wide, class `wide`) and for phones ([`NARROW`],
/// class `narrow`) — of which the style sheet shows one (`.chart.narrow` below 600 px).
fn both(axes: &Axes, draw: impl Fn(&Axes) -> String) -> String {
    let wide = draw(&Axes { width: W, ..axes.clone() });
    let narrow = draw(&Axes { width: NARROW, ..axes.clone() });
    format!("{wide}{narrow}")
}

/// The phone rendering is hidden unless a style sheet shows it (the report's does, below 600 px,
/// with `!important`): a page that embeds the charts with its own style shows the screen one.
fn hidden(width: f64) -> &'static str {
    if width < W {
        r#" style="display:none""#
    } else {
        ""
    }
}

/// The class and id suffix of a rendering.
fn variant(width: f64) -> &'static str {
    if width < W {
        "narrow"
    } else {
        "wide"
    }
}
/// Font size of chart text, in viewBox units.
const FONT: f64 = 12.0;
/// An upper estimate of one character's width at [`FONT`] (DejaVu Sans and system fonts: wide
/// letters such as `m`, `ш` included): labels are laid out with it, so nothing leaves the box.
const CHAR_W: f64 = 7.6;
/// Angle of x labels that do not fit side by side.
const ROTATE_DEG: f64 = 40.0;

fn text_w(s: &str) -> f64 {
    s.chars().count() as f64 * CHAR_W
}

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

/// Where everything of an x/y chart goes: margins sized by the legend, the tick labels and the x
/// labels so that no text leaves the `viewBox`.
struct Frame {
    /// Width of the drawing.
    w: f64,
    lo: f64,
    hi: f64,
    n: usize,
    left: f64,
    right: f64,
    top: f64,
    plot_h: f64,
    h: f64,
    /// Show every `every`th x label.
    every: usize,
    /// Degrees the x labels are turned by, when they are.
    rotate: Option<f64>,
    legend: Vec<(f64, f64)>,
}

impl Frame {
    fn new(lo: f64, hi: f64, labels: &[String], legend: &[(&str, &str, bool)], fmt: ValueFormat, axes: &Axes) -> Frame {
        let (lo, hi) = if hi - lo < 1e-12 { (lo, lo + 1.0) } else { (lo, hi) };
        let n = labels.len();
        let w = axes.width;
        // The legend, wrapped into lines across the top.
        let mut pos = Vec::new();
        let (mut x, mut y) = (8.0, 14.0);
        for (name, _, _) in legend {
            let item = 18.0 + text_w(name) + 18.0;
            if x > 8.0 && x + item > w - 8.0 {
                x = 8.0;
                y += 18.0;
            }
            pos.push((x, y));
            x += item;
        }
        let top = if legend.is_empty() { 16.0 } else { y + 16.0 };
        let tick_w = ticks(lo, hi, 5).iter().map(|t| text_w(&fmt.show(*t, axes.lang))).fold(0.0, f64::max);
        let mut left = 8.0 + FONT + 10.0 + tick_w + 6.0;
        let max_w = labels.iter().map(|l| text_w(l)).fold(0.0, f64::max);
        // Side by side when every label fits its band (or, for periods, every few bands);
        // categories that do not fit are turned 40°, or upright when even that leaves no room for
        // each of them. Margins are reserved before the bands are cut.
        let band_at = |left: f64, right: f64| (w - left - right) / n.max(1) as f64;
        let flat_fits = band_at(left, 16.0f64.max(max_w / 2.0 + 4.0)) >= max_w + 10.0;
        let rotate = if !axes.categories || flat_fits {
            None
        } else {
            let (sin, cos) = ROTATE_DEG.to_radians().sin_cos();
            let band = band_at(left.max(max_w * cos + 6.0), 16.0);
            Some(if band >= 1.5 * FONT / sin { ROTATE_DEG } else { 90.0 })
        };
        let right = if rotate.is_some() { 16.0 } else { 16.0f64.max(max_w / 2.0 + 4.0) };
        let (every, label_h) = match rotate {
            Some(deg) => {
                let (sin, cos) = deg.to_radians().sin_cos();
                // The first label reaches left of its anchor by its turned width.
                left = left.max(max_w * cos + 6.0);
                let band = band_at(left, right);
                ((1.5 * FONT / sin.max(0.5) / band).ceil().max(1.0) as usize, max_w * sin + FONT * cos + 10.0)
            }
            None => (((max_w + 10.0) / band_at(left, right)).ceil().max(1.0) as usize, FONT + 6.0),
        };
        // The y title, turned, runs along the plot: the plot is at least as tall as it.
        let plot_h = f64::max(if axes.short { 110.0 } else { 226.0 }, text_w(&axes.y) + 4.0);
        let h = top + plot_h + label_h + 6.0 + FONT + 10.0;
        Frame { w, lo, hi, n, left, right, top, plot_h, h, every, rotate, legend: pos }
    }

    fn y(&self, v: f64) -> f64 {
        self.top + self.plot_h * (1.0 - (v - self.lo) / (self.hi - self.lo))
    }
    fn band(&self) -> f64 {
        (self.w - self.left - self.right) / self.n.max(1) as f64
    }
    fn x_center(&self, i: usize) -> f64 {
        self.left + self.band() * (i as f64 + 0.5)
    }
    fn plot_bottom(&self) -> f64 {
        self.top + self.plot_h
    }

    fn open(&self, out: &mut String, label: &str) {
        open_svg(out, self.w, self.h, label, FONT);
    }

    /// The legend: a swatch (a short line when `lines`, dashed for dashed series) and a name.
    fn legend(&self, out: &mut String, items: &[(&str, &str, bool)], lines: bool) {
        for ((name, col, dashed), (x, y)) in items.iter().zip(&self.legend) {
            if *dashed || lines {
                let dash = if *dashed { r#" stroke-dasharray="4 3""# } else { "" };
                let _ = write!(out, r#"<line x1="{x}" y1="{}" x2="{}" y2="{}" stroke="{col}" stroke-width="2"{dash}/>"#, y - 4.0, x + 14.0, y - 4.0);
            } else {
                let _ = write!(out, r#"<rect x="{x}" y="{}" width="14" height="12" fill="{col}"/>"#, y - 10.0);
            }
            let _ = write!(out, r##"<text class="legend" x="{}" y="{y}" fill="#333">{}</text>"##, x + 18.0, esc(name));
        }
    }

    /// Grid lines with their values, the x labels and both axis titles.
    fn axes(&self, out: &mut String, labels: &[String], fmt: ValueFormat, axes: &Axes) {
        for t in ticks(self.lo, self.hi, 5) {
            if t < self.lo - 1e-9 || t > self.hi + 1e-9 {
                continue;
            }
            let y = self.y(t);
            let stroke = if t == 0.0 { "#888" } else { "#e4e4e4" };
            let _ = write!(out, r#"<line x1="{:.1}" y1="{y:.1}" x2="{}" y2="{y:.1}" stroke="{stroke}"/>"#, self.left, self.w - self.right);
            let _ = write!(
                out,
                r##"<text class="yl" x="{:.1}" y="{:.1}" text-anchor="end" fill="#555">{}</text>"##,
                self.left - 6.0,
                y + 4.0,
                esc(&fmt.show(t, axes.lang))
            );
        }
        let base = self.plot_bottom();
        for (i, l) in labels.iter().enumerate() {
            if i % self.every != 0 {
                continue;
            }
            let x = self.x_center(i);
            if let Some(deg) = self.rotate {
                let y = base + 12.0;
                // Upright labels hang left of their anchor: shifted to sit on the band's centre.
                let x = if deg >= 89.0 { x + FONT * 0.35 } else { x };
                let _ = write!(
                    out,
                    r##"<text class="xl" x="{x:.1}" y="{y:.1}" text-anchor="end" transform="rotate(-{deg} {x:.1} {y:.1})" fill="#555">{}</text>"##,
                    esc(l)
                );
            } else {
                let _ = write!(out, r##"<text class="xl" x="{x:.1}" y="{:.1}" text-anchor="middle" fill="#555">{}</text>"##, base + 17.0, esc(l));
            }
        }
        axis_titles(out, axes, (self.left + self.w - self.right) / 2.0, self.h - 8.0, (self.top + base) / 2.0);
    }
}

/// The x axis title centred at (`x_mid`, `x_base`), the y axis title turned upright along the left
/// edge, centred at `y_mid`.
fn axis_titles(out: &mut String, axes: &Axes, x_mid: f64, x_base: f64, y_mid: f64) {
    if !axes.x.is_empty() {
        let _ = write!(out, r##"<text class="axis-title" x="{x_mid:.1}" y="{x_base:.1}" text-anchor="middle" fill="#333">{}</text>"##, esc(&axes.x));
    }
    if !axes.y.is_empty() {
        let x = 8.0 + FONT - 2.0;
        let _ = write!(
            out,
            r##"<text class="axis-title" x="{x:.1}" y="{y_mid:.1}" text-anchor="middle" transform="rotate(-90 {x:.1} {y_mid:.1})" fill="#333">{}</text>"##,
            esc(&axes.y)
        );
    }
}

fn open_svg(out: &mut String, w: f64, h: f64, label: &str, font: f64) {
    let _ = write!(
        out,
        r#"<svg class="chart {}" viewBox="0 0 {w:.0} {h:.0}"{} role="img" aria-label="{}" font-family="system-ui, sans-serif" font-size="{font}">"#,
        variant(w),
        hidden(w),
        esc(label)
    );
}

fn value_range(series: &[Series]) -> (f64, f64) {
    let vals = series.iter().flat_map(|s| s.values.iter().flatten().copied()).filter(|v| v.is_finite());
    let (lo, hi) = vals.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| (a.min(v), b.max(v)));
    if lo.is_finite() {
        (lo, hi)
    } else {
        (0.0, 1.0)
    }
}

/// `[lo, hi]` widened to round ticks.
fn rounded(lo: f64, hi: f64) -> (f64, f64) {
    let t = ticks(lo, hi, 5);
    (t.first().copied().unwrap_or(lo).min(lo), t.last().copied().unwrap_or(hi).max(hi))
}

/// Line chart: one line per series over the x labels; points carry their exact value on hover.
pub fn line_chart(title: &str, labels: &[String], series: &[Series], fmt: ValueFormat, zero_based: bool, axes: &Axes) -> String {
    both(axes, |a| draw_line_chart(title, labels, series, fmt, zero_based, a))
}

fn draw_line_chart(title: &str, labels: &[String], series: &[Series], fmt: ValueFormat, zero_based: bool, axes: &Axes) -> String {
    let (mut lo, hi) = value_range(series);
    if zero_based {
        lo = lo.min(0.0);
    }
    let (lo, hi) = rounded(lo, hi);
    let items: Vec<_> = series.iter().map(|s| (s.name.as_str(), s.color, s.dashed)).collect();
    let f = Frame::new(lo, hi, labels, &items, fmt, axes);
    let mut out = String::new();
    f.open(&mut out, title);
    f.legend(&mut out, &items, true);
    f.axes(&mut out, labels, fmt, axes);
    for s in series {
        let mut path = String::new();
        let mut pen_up = true;
        for (i, v) in s.values.iter().enumerate() {
            match v.filter(|v| v.is_finite()) {
                Some(v) => {
                    let _ = write!(path, "{}{:.1},{:.1} ", if pen_up { "M" } else { "L" }, f.x_center(i), f.y(v));
                    pen_up = false;
                }
                None => pen_up = true,
            }
        }
        let dash = if s.dashed { r#" stroke-dasharray="5 4""# } else { "" };
        let _ = write!(out, r#"<path d="{}" fill="none" stroke="{}" stroke-width="2"{dash}/>"#, path.trim_end(), s.color);
        if labels.len() <= 60 {
            for (i, v) in s.values.iter().enumerate() {
                if let Some(v) = v.filter(|v| v.is_finite()) {
                    let _ = write!(
                        out,
                        r#"<circle cx="{:.1}" cy="{:.1}" r="3" fill="{}"><title>{}: {} {}</title></circle>"#,
                        f.x_center(i),
                        f.y(v),
                        s.color,
                        esc(&labels[i]),
                        esc(&s.name),
                        esc(&fmt.show(v, axes.lang))
                    );
                }
            }
        }
    }
    out.push_str("</svg>");
    out
}

/// Bar chart: `up` series stacked above zero, `down` series stacked below (their values are drawn
/// downwards whatever their sign — things lost). `hatched[i]` draws bar `i` lighter (an
/// incomplete period).
pub fn bar_chart(title: &str, labels: &[String], up: &[Series], down: &[Series], fmt: ValueFormat, hatched: &[bool], axes: &Axes) -> String {
    both(axes, |a| draw_bar_chart(title, labels, up, down, fmt, hatched, a))
}

fn draw_bar_chart(title: &str, labels: &[String], up: &[Series], down: &[Series], fmt: ValueFormat, hatched: &[bool], axes: &Axes) -> String {
    let n = labels.len();
    let total = |ss: &[Series], i: usize| ss.iter().map(|s| s.values.get(i).copied().flatten().filter(|v| v.is_finite()).unwrap_or(0.0).abs()).sum::<f64>();
    let hi = (0..n).map(|i| total(up, i)).fold(0.0, f64::max);
    let lo = -(0..n).map(|i| total(down, i)).fold(0.0, f64::max);
    let (lo, hi) = rounded(lo, if hi == 0.0 && lo == 0.0 { 1.0 } else { hi });
    let items: Vec<_> = up.iter().chain(down).map(|s| (s.name.as_str(), s.color, false)).collect();
    let f = Frame::new(lo, hi, labels, &items, fmt, axes);
    let mut out = String::new();
    f.open(&mut out, title);
    f.legend(&mut out, &items, false);
    f.axes(&mut out, labels, fmt, axes);
    let bw = (f.band() * 0.75).max(1.0);
    let incomplete = axes.lang.t(" (period not complete)", " (период ещё не закончился)");
    #[allow(clippy::needless_range_loop)]
    for i in 0..n {
        let x = f.x_center(i) - bw / 2.0;
        let light = hatched.get(i).copied().unwrap_or(false);
        for (ss, sign) in [(up, 1.0), (down, -1.0)] {
            let mut base = 0.0;
            for s in ss {
                let v = s.values.get(i).copied().flatten().filter(|v| v.is_finite()).unwrap_or(0.0).abs();
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
                    esc(&fmt.show(v, axes.lang)),
                    if light { incomplete } else { "" }
                );
                base += sign * v;
            }
        }
    }
    out.push_str("</svg>");
    out
}

/// Grouped bar chart: the series side by side within each label's band, every bar rising from
/// zero (shares of different wholes compared label by label).
pub fn grouped_bar_chart(title: &str, labels: &[String], series: &[Series], fmt: ValueFormat, axes: &Axes) -> String {
    both(axes, |a| draw_grouped_bar_chart(title, labels, series, fmt, a))
}

fn draw_grouped_bar_chart(title: &str, labels: &[String], series: &[Series], fmt: ValueFormat, axes: &Axes) -> String {
    let (_, hi) = value_range(series);
    let (lo, hi) = rounded(0.0, hi.max(0.0));
    let items: Vec<_> = series.iter().map(|s| (s.name.as_str(), s.color, false)).collect();
    let f = Frame::new(lo, hi, labels, &items, fmt, axes);
    let mut out = String::new();
    f.open(&mut out, title);
    f.legend(&mut out, &items, false);
    f.axes(&mut out, labels, fmt, axes);
    let k = series.len().max(1) as f64;
    let bw = (f.band() * 0.8 / k).max(1.0);
    for i in 0..labels.len() {
        let x0 = f.x_center(i) - bw * k / 2.0;
        for (j, s) in series.iter().enumerate() {
            let Some(v) = s.values.get(i).copied().flatten().filter(|v| v.is_finite() && *v > 0.0) else { continue };
            let (y, h) = (f.y(v), (f.y(0.0) - f.y(v)).max(0.5));
            let _ = write!(
                out,
                r#"<rect x="{:.1}" y="{y:.1}" width="{bw:.1}" height="{h:.1}" fill="{}"><title>{}: {} {}</title></rect>"#,
                x0 + bw * j as f64,
                s.color,
                esc(&labels[i]),
                esc(&s.name),
                esc(&fmt.show(v, axes.lang))
            );
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
/// The x axis title goes above the column labels, the y axis title along the row labels.
pub fn heat_map(title: &str, rows: &[String], cols: &[String], cells: &[Vec<Option<HeatCell>>], axes: &Axes) -> String {
    both(axes, |a| draw_heat_map(title, rows, cols, cells, a))
}

fn draw_heat_map(title: &str, rows: &[String], cols: &[String], cells: &[Vec<Option<HeatCell>>], axes: &Axes) -> String {
    const F: f64 = 11.0;
    let cw_text = |s: &str| s.chars().count() as f64 * CHAR_W * F / FONT;
    let row_w = rows.iter().map(|r| cw_text(r.as_str())).fold(0.0, f64::max);
    let left = 8.0 + F + 10.0 + row_w + 8.0;
    let top = 8.0 + F + 8.0 + F + 10.0;
    let cw = ((axes.width - left - 10.0) / cols.len().max(1) as f64).clamp(8.0, 60.0);
    let ch = if rows.len() > 40 { 12.0 } else { 20.0 };
    let w = (left + cw * cols.len() as f64 + 10.0).max(left + cw_text(&axes.x) + 10.0);
    // The y title, turned, runs along the rows: the map is at least as tall as it.
    let h = (top + ch * rows.len() as f64 + 10.0).max(top + cw_text(&axes.y) + 10.0);
    let v = variant(axes.width);
    let mut out = String::new();
    let _ = write!(
        out,
        r#"<svg class="chart heat {v}" viewBox="0 0 {w:.0} {h:.0}" style="max-width:{:.0}px{}" role="img" aria-label="{}" font-family="system-ui, sans-serif" font-size="{F}">"#,
        w * 1.2,
        if v == "narrow" { ";display:none" } else { "" },
        esc(title)
    );
    // One pattern per rendering: a pattern inside a hidden (display: none) drawing paints nothing.
    let _ = write!(
        out,
        r##"<defs><pattern id="hatch-cell-{v}" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="6" height="6" fill="#f2f2f2"/><line x1="0" y1="0" x2="0" y2="6" stroke="#cfcfcf" stroke-width="2"/></pattern></defs>"##
    );
    let col_w = cols.iter().map(|c| cw_text(c.as_str())).fold(0.0, f64::max);
    let every = ((col_w + 6.0) / cw).ceil().max(1.0) as usize;
    for (k, c) in cols.iter().enumerate() {
        if k % every == 0 {
            let _ = write!(
                out,
                r##"<text class="xl" x="{:.1}" y="{}" text-anchor="middle" fill="#555">{}</text>"##,
                left + cw * (k as f64 + 0.5),
                top - 8.0,
                esc(c)
            );
        }
    }
    let show_text = cw >= 30.0 && ch >= 16.0;
    let incomplete = axes.lang.t(" (period not complete yet)", " (период ещё не закончился)");
    for (r, label) in rows.iter().enumerate() {
        let y = top + ch * r as f64;
        let _ = write!(out, r##"<text class="yl" x="{}" y="{:.1}" text-anchor="end" fill="#555">{}</text>"##, left - 6.0, y + ch / 2.0 + 4.0, esc(label));
        for (k, cell) in cells.get(r).map(|v| v.as_slice()).unwrap_or(&[]).iter().enumerate() {
            let Some(cell) = cell else { continue };
            let x = left + cw * k as f64;
            let fill = if cell.complete { blue(cell.intensity) } else { format!("url(#hatch-cell-{v})") };
            let _ = write!(
                out,
                r##"<rect x="{x:.1}" y="{y:.1}" width="{:.1}" height="{:.1}" fill="{fill}" stroke="#fff"><title>{}{}</title></rect>"##,
                cw,
                ch,
                esc(&cell.title),
                if cell.complete { "" } else { incomplete }
            );
            if show_text && !cell.text.is_empty() && cw_text(&cell.text) <= cw - 2.0 {
                let dark = cell.complete && cell.intensity > 0.55;
                let _ = write!(
                    out,
                    r##"<text class="cell" x="{:.1}" y="{:.1}" text-anchor="middle" fill="{}" pointer-events="none">{}</text>"##,
                    x + cw / 2.0,
                    y + ch / 2.0 + 4.0,
                    if dark { "#fff" } else { "#222" },
                    esc(&cell.text)
                );
            }
        }
    }
    let x_mid = (left + (left + cw * cols.len() as f64).max(left + cw_text(&axes.x))) / 2.0;
    if !axes.x.is_empty() {
        let _ = write!(out, r##"<text class="axis-title" x="{x_mid:.1}" y="{:.1}" text-anchor="middle" fill="#333">{}</text>"##, 8.0 + F, esc(&axes.x));
    }
    if !axes.y.is_empty() {
        let (x, y_mid) = (8.0 + F - 2.0, top + (ch * rows.len() as f64).max(cw_text(&axes.y)) / 2.0);
        let _ = write!(
            out,
            r##"<text class="axis-title" x="{x:.1}" y="{y_mid:.1}" text-anchor="middle" transform="rotate(-90 {x:.1} {y_mid:.1})" fill="#333">{}</text>"##,
            esc(&axes.y)
        );
    }
    out.push_str("</svg>");
    out
}

/// White to deep blue.
/// The colour key of a heat map: swatches from none to `top` (labelled by `label`), and the
/// hatched swatch of a period not over yet.
pub fn heat_legend(top: f64, label: impl Fn(f64) -> String, unfinished: &str) -> String {
    let mut out = String::from(r#"<div class="heat-legend">"#);
    for i in 0..=4 {
        let t = i as f64 / 4.0;
        let _ = write!(out, r#"<span class="swatch" style="background:{}"></span><span>{}</span>"#, blue(t), esc(&label(top * t)));
    }
    let _ = write!(out, r#"<span class="swatch hatched"></span><span>{}</span></div>"#, esc(unfinished));
    out
}

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
        let ax = Axes::new(Lang::En, "x", "y");
        let s = line_chart("t", &labels, &[Series::new("a&b", "#000", vec![Some(0.5), None])], ValueFormat::Percent, true, &ax);
        assert!(s.contains("&lt;b&gt;") && s.contains("a&amp;b") && !s.contains("<b>") && !s.contains("NaN"));
        let b = bar_chart(
            "t",
            &labels,
            &[Series::new("up", "#000", vec![Some(3.0), Some(0.0)])],
            &[Series::new("down", "#111", vec![Some(2.0), None])],
            ValueFormat::Count,
            &[false, true],
            &ax,
        );
        assert!(b.starts_with("<svg") && !b.contains("NaN") && !b.contains("inf"));
        let e = bar_chart("t", &[], &[], &[], ValueFormat::Count, &[], &ax);
        assert!(!e.contains("NaN"));
        let h = heat_map("t", &labels, &labels, &[vec![Some(HeatCell { intensity: 1.0, text: "100%".into(), title: "x".into(), complete: false })]], &ax);
        assert!(h.contains("hatch-cell") && !h.contains("NaN"));
    }
}
