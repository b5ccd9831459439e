//! The report as one self-contained HTML file: inline CSS, inline SVG charts, no script, no font,
//! no image and no link to anything outside the file. Every piece of user text is escaped.
//!
//! [`Page`] is the builder every section writes into (cards, charts with a "how to read this" line,
//! formula explanations, tables); [`Section`] is what a module implements to add its own part of
//! the report (see [`crate::analyze`] for the one field and one call it takes: a field on
//! [`crate::analyze::Sections`] and a line in [`crate::analyze::Sections::list`]).

use crate::analyze::{cohort_table, ltv_table, movement_table, AnalyzeReport, CohortMetric, RateFigure};
use crate::format::{fmt_count, fmt_days, fmt_money, fmt_money_short, fmt_pct, fmt_pp};
use crate::svg::{bar_chart, color, esc, heat_map, line_chart, HeatCell, Series, ValueFormat};
use crate::table::Table;
use holdfast_core::cohorts::CohortTable;
use std::fmt::Write;

/// A part of the report added by another module (predictions, segments, …).
pub trait Section {
    /// Anchor id, lower-case letters and dashes (`segments`).
    fn id(&self) -> &str;
    /// Heading shown on the page and in the terminal.
    fn title(&self) -> String;
    /// One or two sentences under the heading; none by default.
    fn intro(&self) -> String {
        String::new()
    }
    /// Writes the section body (cards, charts, explanations, tables) into the page; the heading
    /// and intro are written by [`Page::add`].
    fn html(&self, page: &mut Page);
    /// The section as terminal text (tables); empty by default.
    fn terminal(&self) -> String {
        String::new()
    }
}

/// A headline card: a label, a value, optional detail lines and a one-line formula.
#[derive(Clone, Debug, Default)]
pub struct Card {
    pub label: String,
    pub value: String,
    /// Small lines under the value (changes, context).
    pub details: Vec<String>,
    /// How the number is computed, in one line.
    pub explain: String,
}

impl Card {
    pub fn new(label: &str, value: String, explain: &str) -> Self {
        Card { label: label.into(), value, details: Vec::new(), explain: explain.into() }
    }

    pub fn detail(mut self, d: String) -> Self {
        self.details.push(d);
        self
    }
}

/// The HTML page being written.
#[derive(Default)]
pub struct Page {
    body: String,
    toc: Vec<(String, String)>,
    open: bool,
    /// Only these sections are kept (all when `None`).
    only: Option<Vec<String>>,
    /// Where the section being left out began: the body is cut back to it when it closes.
    dropped_from: Option<usize>,
}

impl Page {
    pub fn new() -> Self {
        Page::default()
    }

    /// A page that keeps only the sections with these ids (a dashboard page shows a few).
    pub fn only(ids: &[&str]) -> Self {
        Page { only: Some(ids.iter().map(|s| s.to_string()).collect()), ..Page::default() }
    }

    /// Starts a section with a heading and an optional introduction (closes the previous one).
    pub fn section(&mut self, id: &str, title: &str, intro: &str) {
        self.close();
        if self.only.as_ref().is_some_and(|o| !o.iter().any(|x| x == id)) {
            self.dropped_from = Some(self.body.len());
        } else {
            self.toc.push((id.to_string(), title.to_string()));
        }
        let _ = write!(self.body, "<section id=\"{}\"><h2>{}</h2>", esc(id), esc(title));
        if !intro.is_empty() {
            let _ = write!(self.body, "<p class=\"intro\">{}</p>", esc(intro));
        }
        self.open = true;
    }

    fn close(&mut self) {
        if self.open {
            self.body.push_str("</section>");
            self.open = false;
        }
        if let Some(at) = self.dropped_from.take() {
            self.body.truncate(at);
        }
    }

    /// The sections written, without the document around them (for a page that has its own).
    pub fn into_body(mut self) -> String {
        self.close();
        self.body
    }

    pub fn cards(&mut self, cards: &[Card]) {
        self.body.push_str("<div class=\"cards\">");
        for c in cards {
            let _ = write!(self.body, "<div class=\"card\"><div class=\"label\">{}</div><div class=\"value\">{}</div>", esc(&c.label), esc(&c.value));
            for d in &c.details {
                let _ = write!(self.body, "<div class=\"detail\">{}</div>", esc(d));
            }
            if !c.explain.is_empty() {
                let _ = write!(self.body, "<div class=\"explain\">{}</div>", esc(&c.explain));
            }
            self.body.push_str("</div>");
        }
        self.body.push_str("</div>");
    }

    /// A chart (an `<svg>` string from [`crate::svg`]) with its title and a "how to read this" line.
    pub fn chart(&mut self, title: &str, svg: &str, how_to_read: &str) {
        let _ = write!(
            self.body,
            "<figure><figcaption><strong>{}</strong><span class=\"how\">How to read this: {}</span></figcaption>{svg}</figure>",
            esc(title),
            esc(how_to_read)
        );
    }

    /// Formula explanations: (name, one line each).
    pub fn explain(&mut self, items: &[(&str, &str)]) {
        self.body.push_str("<dl class=\"formulas\">");
        for (name, text) in items {
            let _ = write!(self.body, "<dt>{}</dt><dd>{}</dd>", esc(name), esc(text));
        }
        self.body.push_str("</dl>");
    }

    /// A table, folded away under a summary line.
    pub fn table(&mut self, summary: &str, t: &Table) {
        let _ = write!(self.body, "<details><summary>{}</summary>{}</details>", esc(summary), t.to_html());
    }

    pub fn paragraph(&mut self, text: &str) {
        let _ = write!(self.body, "<p>{}</p>", esc(text));
    }

    pub fn warning(&mut self, text: &str) {
        let _ = write!(self.body, "<p class=\"warning\">{}</p>", esc(text));
    }

    /// Adds a whole [`Section`]: its heading and intro, then its body.
    pub fn add(&mut self, s: &dyn Section) {
        self.section(s.id(), &s.title(), &s.intro());
        s.html(self);
    }

    /// The sections written so far without the document around them: a fragment for a page that
    /// has its own head, style and navigation (the dashboard). Uses the classes of the report's
    /// style sheet ([`Page::finish`]).
    pub fn into_fragment(mut self) -> String {
        self.close();
        self.body
    }

    /// The finished document.
    pub fn finish(mut self, title: &str, subtitle: &str) -> String {
        self.close();
        let mut out = String::with_capacity(self.body.len() + 8192);
        let _ = write!(
            out,
            "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{}</title><style>{CSS}</style></head><body><header><h1>{}</h1><p class=\"subtitle\">{}</p><nav>",
            esc(title),
            esc(title),
            esc(subtitle)
        );
        for (id, t) in &self.toc {
            let _ = write!(out, "<a href=\"#{}\">{}</a>", esc(id), esc(t));
        }
        out.push_str("</nav></header><main>");
        out.push_str(&self.body);
        out.push_str("</main><footer>Made by Holdfast. Every number is defined in METRICS.md; figures count orders strictly before the as-of date; refunded and cancelled orders count for nothing.</footer></body></html>\n");
        out
    }
}

/// The report's style sheet (the dashboard uses it for the report's sections too).
pub const CSS: &str = "body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;color:#222;background:#fafafa;margin:0}\
header,main,footer{max-width:1000px;margin:0 auto;padding:0 20px}\
header{padding-top:24px}h1{margin:0 0 4px;font-size:26px}h2{margin-top:36px;border-bottom:2px solid #e4e4e4;padding-bottom:4px}\
.subtitle{color:#555;margin:0 0 12px}nav a{margin-right:14px;color:#3b6ea5;text-decoration:none;font-size:14px}\
.intro{color:#444}.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(210px,1fr));gap:12px;margin:16px 0}\
.card{background:#fff;border:1px solid #e4e4e4;border-radius:8px;padding:12px}.card .label{font-size:13px;color:#555}\
.card .value{font-size:26px;font-weight:600;margin:4px 0}.card .detail{font-size:13px;color:#333}\
.card .explain{font-size:12px;color:#777;margin-top:6px}figure{background:#fff;border:1px solid #e4e4e4;border-radius:8px;margin:16px 0;padding:12px}\
figcaption{margin-bottom:8px}figcaption .how{display:block;color:#666;font-size:13px;margin-top:2px}svg.chart{width:100%;height:auto}\
dl.formulas{display:grid;grid-template-columns:max-content 1fr;gap:4px 14px;font-size:14px}dl.formulas dt{font-weight:600}dl.formulas dd{margin:0;color:#444}\
details{margin:10px 0}summary{cursor:pointer;color:#3b6ea5}.table-wrap{overflow-x:auto}table{border-collapse:collapse;font-size:13px;background:#fff}\
th,td{padding:3px 8px;border-bottom:1px solid #eee;white-space:nowrap}th{text-align:left;background:#f3f3f3}.num{text-align:right;font-variant-numeric:tabular-nums}\
.note{font-size:13px;color:#666}.warning{background:#fff7e0;border-left:4px solid #e0a458;padding:8px 12px}\
footer{color:#777;font-size:13px;padding:30px 20px}";

fn rate_card(label: &str, r: &RateFigure, period: &str, explain: &str) -> Card {
    Card::new(label, fmt_pct(r.value), explain)
        .detail(format!("{period}; vs previous {}", fmt_pp(r.change_previous)))
        .detail(format!("vs a year earlier {}", fmt_pp(r.change_year_ago)))
}

/// Renders the analyze report as one self-contained HTML document.
pub fn render(r: &AnalyzeReport) -> String {
    write_report(r, Page::new())
}

/// The sections of the report with these ids (`summary`, `retention`, `revenue`, `cohorts`,
/// `repeat`, `ltv`, `rfm`, `segments`, `prediction`, …) without the document around them: what a
/// dashboard page embeds beside its own layout (style: [`CSS`]).
pub fn render_sections(r: &AnalyzeReport, ids: &[&str]) -> String {
    write_sections(r, Page::only(ids)).into_body()
}

fn write_report(r: &AnalyzeReport, page: Page) -> String {
    let s = &r.source;
    let per = s.period.as_str();
    let cur = s.currency.as_str();
    let page = write_sections(r, page);
    let title = format!("Retention report: {}", s.name);
    let subtitle = format!(
        "{} orders of {} customers, {} to {}; as of {}; by {per}; inactivity window {} days; time zone {}; currency {cur}.",
        fmt_count(s.orders as i64),
        fmt_count(s.customers as i64),
        s.first_order.map(|d| d.to_string()).unwrap_or_else(|| "—".into()),
        s.last_order.map(|d| d.to_string()).unwrap_or_else(|| "—".into()),
        s.as_of,
        s.window_days,
        s.time_zone
    );
    page.finish(&title, &subtitle)
}

fn write_sections(r: &AnalyzeReport, mut page: Page) -> Page {
    let s = &r.source;
    let h = &r.headline;
    let cur = s.currency.as_str();
    let per = s.period.as_str();
    let period = h.last_complete_period.clone().unwrap_or_else(|| "no complete period yet".into());

    page.section("summary", "At a glance", "The headline numbers. Rates describe the last complete period; money is in the file's currency.");
    page.cards(&[
        Card::new("Customers", fmt_count(h.customers as i64), "Everyone with at least one counted order before the as-of date."),
        Card::new("Active now", fmt_count(h.active_now as i64), &format!("Customers whose last order is within the last {} days.", s.window_days)),
        rate_card("Retention rate", &h.retention_rate, &period, "Kept ÷ active at the start of the period (K / S). Won-back customers are not counted as kept."),
        rate_card("Churn rate", &h.churn_rate, &period, "Lost ÷ active at the start of the period (L / S). Retention + churn = 100%."),
        Card::new("Repeat-purchase rate", fmt_pct(h.repeat_purchase_rate), "Customers with two or more orders ÷ all customers."),
        Card::new("Average order value", format!("{} {cur}", fmt_money(h.aov)), "All revenue ÷ all orders."),
        Card::new("Time between orders", fmt_days(h.median_days_between_orders), "Median over repeat customers of each one's average gap between orders."),
        Card::new("Customer value (LTV)", format!("{} {cur}", fmt_money(h.ltv_mean)), "Mean revenue to date per customer.")
            .detail(format!("median {} {cur}", fmt_money(h.ltv_median))),
    ]);
    for w in &r.warnings {
        page.warning(w);
    }

    let mv = &r.movement;
    let labels: Vec<String> = mv.periods.iter().map(|p| p.label.clone()).collect();
    let incomplete: Vec<bool> = mv.periods.iter().map(|p| !p.complete).collect();
    let col = |f: fn(&holdfast_core::PeriodMovement) -> f64| -> Vec<Option<f64>> { mv.periods.iter().map(|p| Some(f(p))).collect() };
    page.section(
        "movement",
        "Customers coming and going",
        &format!(
            "A customer counts as active while their last order is less than {} days old. Each {per}, some customers are new, some come back and some lapse.",
            s.window_days
        ),
    );
    page.chart(
        "Active customers",
        &line_chart("Active customers at the end of each period", &labels, &[Series::new("active at end", color::ACTIVE, col(|p| p.active_end as f64))], ValueFormat::Count, true),
        &format!("the line is how many customers were active at the end of each {per}; rising means the customer base is growing."),
    );
    page.chart(
        "Movement per period",
        &bar_chart(
            "New, reactivated and lost customers",
            &labels,
            &[Series::new("new", color::NEW, col(|p| p.new as f64)), Series::new("reactivated", color::REACTIVATED, col(|p| p.reactivated as f64))],
            &[Series::new("lost", color::LOST, col(|p| p.lost as f64))],
            ValueFormat::Count,
            &incomplete,
        ),
        "bars above the line are customers gained (new and won back), bars below are customers lost; when the red bars outgrow the green ones, the base shrinks. Pale bars: the period is not over yet.",
    );
    page.explain(&[
        ("Active at start (S)", "customers whose last order before the period start is within the inactivity window."),
        ("New (N)", "active at the end, first order ever in this period."),
        ("Reactivated (R)", "active at the end, not active at the start, first order before the period: won back."),
        ("Lost (L)", "active at the start, not active at the end."),
        ("Kept (K)", "active at both ends. Always E = S − L + N + R and K = S − L."),
    ]);
    page.table("Movement table", &movement_table(mv));

    page.section("retention", "Retention and churn", "How many of the customers active at the start of each period were still active at its end.");
    let complete_only = |f: fn(&holdfast_core::PeriodMovement) -> Option<f64>| -> Vec<Option<f64>> {
        mv.periods.iter().map(|p| if p.complete { f(p) } else { None }).collect()
    };
    let mut simple = Series::new("simple ratio E/S", color::SIMPLE, complete_only(|p| p.simple_retention_ratio));
    simple.dashed = true;
    page.chart(
        "Retention and churn rate per period",
        &line_chart(
            "Retention and churn",
            &labels,
            &[
                Series::new("retention rate", color::RETENTION, complete_only(|p| p.retention_rate)),
                Series::new("churn rate", color::CHURN, complete_only(|p| p.churn_rate)),
                simple,
            ],
            ValueFormat::Percent,
            true,
        ),
        "blue is the share of customers kept, red the share lost (they add up to 100%); the grey dashed line is the simple ratio, which mixes newcomers in. Periods that have not ended are left out.",
    );
    page.explain(&[
        ("Retention rate", "K / S = (E − N − R) / S: customers kept ÷ customers active at the start."),
        ("Churn rate", "L / S: customers lost ÷ customers active at the start."),
        ("Simple ratio E/S", "customers at the end ÷ customers at the start, as the articles quote it."),
        ("Its blind spot", "it hides movement: losing 21 and winning 20 looks like losing 1."),
    ]);

    page.section("revenue", "Revenue from new and returning customers", "Revenue of each period split into first orders and repeat orders.");
    page.chart(
        "Revenue per period",
        &bar_chart(
            "Revenue from first and repeat orders",
            &labels,
            &[
                Series::new("first orders", color::FIRST_ORDERS, col(|p| p.revenue - p.returning_revenue)),
                Series::new("repeat orders", color::REPEAT_ORDERS, col(|p| p.returning_revenue)),
            ],
            &[],
            ValueFormat::Money,
            &incomplete,
        ),
        &format!("each bar is a {per}'s revenue in {cur}; the blue part comes from customers buying again. A growing blue share means the business lives on loyal customers. Pale bars: the period is not over yet."),
    );
    page.explain(&[
        ("Share of revenue from returning customers", "revenue of repeat orders (every order but a customer's first) ÷ revenue."),
        ("Average order value (AOV)", "revenue ÷ counted orders in the period."),
        ("Purchase frequency", "counted orders ÷ distinct ordering customers in the period."),
    ]);
    let mut t = Table::new(&["period", "revenue", "repeat share", "orders", "AOV", "frequency"]);
    for p in &mv.periods {
        t.row(vec![
            p.label.clone(),
            fmt_money(Some(p.revenue)),
            fmt_pct(p.returning_revenue_share),
            fmt_count(p.orders as i64),
            fmt_money(p.aov),
            p.purchase_frequency.map(|f| format!("{f:.2}")).unwrap_or_else(|| "—".into()),
        ]);
    }
    page.table("Revenue table", &t);

    page.section(
        "cohorts",
        "Cohorts",
        &format!("Customers grouped by the {per} of their first order, then followed {per} by {per}."),
    );
    page.chart(
        "Share of each cohort ordering again",
        &cohort_heat_map(&r.cohorts, CohortMetric::Customers),
        &format!("each row is a cohort, each column the {per}s since its first order; darker means more of the cohort ordered in that {per}. Column +0 is always 100%. Hatched cells: the {per} is not over yet, so a low number is not a drop."),
    );
    page.chart(
        "Revenue to date per cohort customer (LTV curve)",
        &cohort_heat_map(&r.cohorts, CohortMetric::CumulativeRevenuePerCustomer),
        &format!("how much an average customer of each cohort has spent by that {per}, in {cur}; compare rows to see whether newer customers are worth more or less."),
    );
    page.explain(&[
        ("Cohort", "the calendar period of a customer's first counted order."),
        ("Customer cell (c, k)", "share of cohort c with at least one counted order in period c + k."),
        ("Revenue cell (c, k)", "revenue of cohort c in period c + k; also per cohort customer and cumulatively (the cohort's LTV curve)."),
    ]);
    page.table("Cohort table: customers", &cohort_table(&r.cohorts, CohortMetric::Customers, usize::MAX, usize::MAX));
    page.table("Cohort table: revenue", &cohort_table(&r.cohorts, CohortMetric::Revenue, usize::MAX, usize::MAX));
    page.table("Cohort table: revenue per cohort customer, cumulative", &cohort_table(&r.cohorts, CohortMetric::CumulativeRevenuePerCustomer, usize::MAX, usize::MAX));

    let rep = &r.repeat;
    page.section("repeat", "Repeat purchases", "Do customers come back, and how soon?");
    page.cards(&[
        Card::new("Repeat-purchase rate", fmt_pct(rep.repeat_purchase_rate), "Customers with at least two orders ÷ customers with at least one.")
            .detail(format!("{} of {} customers", fmt_count(rep.repeat_customers as i64), fmt_count(rep.customers as i64))),
        Card::new("Median time between orders", fmt_days(rep.median_days_between_orders), "Each repeat customer's average gap between orders; the middle one."),
        Card::new("Mean time between orders", fmt_days(rep.mean_days_between_orders), "The same gaps, averaged (pulled up by a few slow buyers)."),
    ]);

    let l = &r.ltv;
    page.section("ltv", "Customer value to date (historical LTV)", "What each customer has spent so far: the sum of their counted orders.");
    page.cards(&[
        Card::new("Mean LTV", format!("{} {cur}", fmt_money(l.mean)), "Total revenue ÷ customers."),
        Card::new("Median LTV", format!("{} {cur}", fmt_money(l.median)), "Half of the customers have spent less than this."),
        Card::new("Revenue to date", format!("{} {cur}", fmt_money(Some(l.revenue))), "All counted orders before the as-of date."),
    ]);
    let bl: Vec<String> = l.distribution.iter().map(|b| b.label.clone()).collect();
    page.chart(
        "How many customers have spent how much",
        &bar_chart(
            "Customers by historical LTV",
            &bl,
            &[Series::new("customers", color::NEUTRAL, l.distribution.iter().map(|b| Some(b.customers as f64)).collect())],
            &[],
            ValueFormat::Count,
            &[],
        ),
        &format!("each bar counts the customers whose spending to date falls in that range of {cur}; the last bar collects the big spenders. A mean far above the median means a few customers bring much of the revenue."),
    );
    page.explain(&[
        ("Historical LTV", "a customer's counted order amounts to date, summed (50,000 for a first project and three more like it make 200,000)."),
        ("Simple LTV formula", "AOV × purchases per customer per year × expected lifetime in years: a rough forward-looking guide, shown for explanation only."),
    ]);
    page.table("LTV distribution table", &ltv_table(l));
    page.add(&r.rfm);

    for sec in r.sections.list() {
        page.add(sec);
    }

    page
}

/// Heat map of the latest 36 cohorts over at most 36 offsets.
fn cohort_heat_map(t: &CohortTable, metric: CohortMetric) -> String {
    const MAX: usize = 36;
    let skip = t.cohorts.len().saturating_sub(MAX);
    let shown = &t.cohorts[skip..];
    let width = shown.iter().map(|c| c.cells.len()).max().unwrap_or(0).min(MAX);
    let value = |c: &holdfast_core::cohorts::CohortCell| match metric {
        CohortMetric::Customers => c.retention,
        CohortMetric::Revenue => c.revenue,
        CohortMetric::RevenuePerCustomer => c.revenue_per_customer,
        CohortMetric::CumulativeRevenuePerCustomer => c.cumulative_revenue_per_customer,
    };
    // Scale: for retention, against the highest complete k >= 1 cell (k = 0 is always 100%).
    let top = shown
        .iter()
        .flat_map(|c| c.cells.iter().take(width))
        .filter(|c| c.complete && (metric != CohortMetric::Customers || c.offset > 0))
        .map(value)
        .fold(0.0f64, f64::max);
    let rows: Vec<String> = shown.iter().map(|c| format!("{} ({})", c.label, fmt_count(c.customers as i64))).collect();
    let cols: Vec<String> = (0..width).map(|k| format!("+{k}")).collect();
    let cells: Vec<Vec<Option<HeatCell>>> = shown
        .iter()
        .map(|c| {
            c.cells
                .iter()
                .take(width)
                .map(|cell| {
                    let v = value(cell);
                    let (text, title) = match metric {
                        CohortMetric::Customers => (
                            format!("{:.0}%", v * 100.0),
                            format!("cohort {}, {} ({}): {} of {} customers ordered ({})", c.label, format_args!("+{}", cell.offset), cell.period, cell.customers, c.customers, fmt_pct(Some(v))),
                        ),
                        _ => (fmt_money_short(v), format!("cohort {}, +{} ({}): {}", c.label, cell.offset, cell.period, fmt_money(Some(v)))),
                    };
                    let intensity = if top > 0.0 { (v / top).min(1.0) } else { 0.0 };
                    Some(HeatCell { intensity, text, title, complete: cell.complete })
                })
                .collect()
        })
        .collect();
    heat_map("Cohort heat map", &rows, &cols, &cells)
}
