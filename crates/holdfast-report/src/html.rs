//! The report as one self-contained HTML file: inline CSS, inline SVG charts, no script, no font,
//! no image and no link to anything outside the file. Every piece of user text is escaped.
//!
//! [`Page`] is the builder every section writes into (cards, charts with a "how to read this" line,
//! formula explanations, tables); [`Section`] is what a module implements to add its own part of
//! the report (see [`crate::analyze`] for the one field and one call it takes: a field on
//! [`crate::analyze::Sections`] and a line in [`crate::analyze::Sections::list`]).

use crate::analyze::{cohort_table, ltv_table, movement_table, AnalyzeReport, CohortMetric, RateFigure};
use crate::locale::Lang;
use crate::svg::{bar_chart, color, esc, heat_legend, heat_map, line_chart, Axes, HeatCell, Series, ValueFormat};
use crate::table::Table;
use crate::vocab::{period, periods};
use holdfast_core::cohorts::CohortTable;
use std::fmt::Write;

/// A part of the report added by another module (predictions, segments, …).
pub trait Section {
    /// Anchor id, lower-case letters and dashes (`segments`).
    fn id(&self) -> &str;
    /// Heading shown on the page and in the terminal, in `l`.
    fn title(&self, l: Lang) -> String;
    /// One or two sentences under the heading; none by default.
    fn intro(&self, _l: Lang) -> String {
        String::new()
    }
    /// Writes the section body (cards, charts, explanations, tables) into the page, in the
    /// page's language ([`Page::lang`]); the heading and intro are written by [`Page::add`].
    fn html(&self, page: &mut Page);
    /// The section as terminal text (tables) in `l`; empty by default.
    fn terminal(&self, _l: Lang) -> String {
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
    lang: Lang,
}

impl Page {
    /// An English page.
    pub fn new() -> Self {
        Page::default()
    }

    /// A page in `lang`.
    pub fn in_lang(lang: Lang) -> Self {
        Page { lang, ..Page::default() }
    }

    /// A page that keeps only the sections with these ids (a dashboard page shows a few).
    pub fn only(ids: &[&str]) -> Self {
        Page { only: Some(ids.iter().map(|s| s.to_string()).collect()), ..Page::default() }
    }

    /// The language the page is written in; sections write their text in it.
    pub fn lang(&self) -> Lang {
        self.lang
    }

    /// `l.t(en, ru)` of the page's language.
    pub fn t<'a>(&self, en: &'a str, ru: &'a str) -> &'a str {
        self.lang.t(en, ru)
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
        let how = self.t("How to read this:", "Как читать:");
        let _ = write!(
            self.body,
            "<figure><figcaption><strong>{}</strong><span class=\"how\">{how} {}</span></figcaption>{svg}</figure>",
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

    /// A table shown open, under a small heading.
    pub fn open_table(&mut self, heading: &str, t: &Table) {
        if !heading.is_empty() {
            let _ = write!(self.body, "<h3>{}</h3>", esc(heading));
        }
        self.body.push_str(&t.to_html());
    }

    pub fn paragraph(&mut self, text: &str) {
        let _ = write!(self.body, "<p>{}</p>", esc(text));
    }

    /// A paragraph that tells the reader what to do, set apart.
    pub fn action(&mut self, text: &str) {
        let _ = write!(self.body, "<p class=\"do\">{}</p>", esc(text));
    }

    pub fn warning(&mut self, text: &str) {
        let _ = write!(self.body, "<p class=\"warning\">{}</p>", esc(text));
    }

    /// Adds a whole [`Section`]: its heading and intro, then its body.
    pub fn add(&mut self, s: &dyn Section) {
        self.section(s.id(), &s.title(self.lang), &s.intro(self.lang));
        s.html(self);
    }

    /// The sections written so far without the document around them: a fragment for a page that
    /// has its own head, style and navigation (the dashboard). Uses the classes of the report's
    /// style sheet ([`Page::finish`]).
    pub fn into_fragment(mut self) -> String {
        self.close();
        self.body
    }

    /// The finished document, `<html lang>` set to the page's language.
    pub fn finish(mut self, title: &str, subtitle: &str) -> String {
        self.close();
        let mut out = String::with_capacity(self.body.len() + 8192);
        let _ = write!(
            out,
            "<!DOCTYPE html>\n<html lang=\"{}\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{}</title><style>{CSS}</style></head><body><header><h1>{}</h1><p class=\"subtitle\">{}</p><nav>",
            self.lang.code(),
            esc(title),
            esc(title),
            esc(subtitle)
        );
        for (id, t) in &self.toc {
            let _ = write!(out, "<a href=\"#{}\">{}</a>", esc(id), esc(t));
        }
        out.push_str("</nav></header><main>");
        out.push_str(&self.body);
        let _ = write!(
            out,
            "</main><footer>{}</footer></body></html>\n",
            self.t(
                "Made by Holdfast. Every number is defined in METRICS.md; figures count orders strictly before the as-of date; refunded and cancelled orders count for nothing.",
                "Сделано в Holdfast. Каждое число определено в METRICS.md; учитываются заказы строго до даты отчёта; возвращённые и отменённые заказы не учитываются."
            )
        );
        out
    }
}

/// The report's style sheet (the dashboard uses it for the report's sections too). Charts scale
/// with the page (`viewBox`, width 100%); wide tables scroll inside their own box, never the page.
pub const CSS: &str = "body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;color:#222;background:#fafafa;margin:0}\
header,main,footer{max-width:1000px;margin:0 auto;padding:0 20px}\
header{padding-top:24px}h1{margin:0 0 4px;font-size:26px;overflow-wrap:anywhere}h2{margin-top:36px;border-bottom:2px solid #e4e4e4;padding-bottom:4px}h3{font-size:16px;margin:14px 0 6px}\
.subtitle{color:#555;margin:0 0 12px;overflow-wrap:anywhere}nav a{margin-right:14px;color:#3b6ea5;text-decoration:none;font-size:14px;display:inline-block}\
.intro{color:#444}.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(210px,1fr));gap:12px;margin:16px 0}\
.card{background:#fff;border:1px solid #e4e4e4;border-radius:8px;padding:12px;min-width:0}.card .label{font-size:13px;color:#555}\
.card .value{font-size:26px;font-weight:600;margin:4px 0;overflow-wrap:anywhere}.card .detail{font-size:13px;color:#333}\
.card .explain{font-size:12px;color:#777;margin-top:6px}figure{background:#fff;border:1px solid #e4e4e4;border-radius:8px;margin:16px 0;padding:12px;min-width:0}\
figcaption{margin-bottom:8px}figcaption .how{display:block;color:#666;font-size:13px;margin-top:2px}svg.chart{width:100%;height:auto;display:block}\
dl.formulas{display:grid;grid-template-columns:minmax(0,max-content) minmax(0,1fr);gap:4px 14px;font-size:14px}dl.formulas dt{font-weight:600}dl.formulas dd{margin:0;color:#444}\
details{margin:10px 0}summary{cursor:pointer;color:#3b6ea5}.table-wrap{overflow-x:auto;max-width:100%}table{border-collapse:collapse;font-size:13px;background:#fff}\
th,td{padding:3px 8px;border-bottom:1px solid #eee;white-space:nowrap;vertical-align:top}th{text-align:left;background:#f3f3f3}.num{text-align:right;font-variant-numeric:tabular-nums}\
td.wrap{white-space:normal;min-width:14em;max-width:36em}\
.note{font-size:13px;color:#666}.warning{background:#fff7e0;border-left:4px solid #e0a458;padding:8px 12px}\
.do{background:#eef5ec;border-left:4px solid #3a9d5d;padding:8px 12px;font-weight:600}\
.heat-legend{display:flex;flex-wrap:wrap;align-items:center;gap:4px 6px;font-size:12px;color:#555;margin-top:6px}\
.heat-legend .swatch{display:inline-block;width:18px;height:12px;border:1px solid #ddd}.heat-legend .swatch.hatched{background:repeating-linear-gradient(45deg,#f2f2f2 0 3px,#cfcfcf 3px 5px);margin-left:10px}\
footer{color:#777;font-size:13px;padding:30px 20px}\
@media (max-width:600px){svg.chart.wide{display:none!important}svg.chart.narrow{display:block!important}header,main,footer{padding:0 10px}dl.formulas{grid-template-columns:minmax(0,1fr)}dl.formulas dd{margin-bottom:6px}figure{padding:8px}td.wrap{min-width:12em}\
table.stack,table.stack tbody,table.stack tr,table.stack td{display:block}table.stack thead{display:none}table.stack tr{border-bottom:1px solid #ddd;padding:6px 0}\
table.stack td{border:0;white-space:normal;min-width:0;max-width:none;padding:1px 8px;text-align:left}table.stack td[data-label]::before{content:attr(data-label) \": \";color:#777}}";

fn rate_card(l: Lang, label: &str, r: &RateFigure, period: &str, explain: &str) -> Card {
    Card::new(label, l.pct(r.value), explain).detail(format!("{period}; {} {}", l.t("vs previous", "к предыдущему"), l.pp(r.change_previous))).detail(format!(
        "{} {}",
        l.t("vs a year earlier", "к прошлому году"),
        l.pp(r.change_year_ago)
    ))
}

/// Renders the analyze report as one self-contained HTML document, in English.
pub fn render(r: &AnalyzeReport) -> String {
    render_in(r, Lang::En)
}

/// Renders the analyze report as one self-contained HTML document in `l`.
pub fn render_in(r: &AnalyzeReport, l: Lang) -> String {
    write_report(r, Page::in_lang(l))
}

/// The sections of the report with these ids (`week`, `summary`, `retention`, `revenue`,
/// `cohorts`, `repeat`, `ltv`, `rfm`, `segments`, `prediction`, …) without the document around
/// them, in English: what a dashboard page embeds beside its own layout (style: [`CSS`]).
pub fn render_sections(r: &AnalyzeReport, ids: &[&str]) -> String {
    render_sections_in(r, ids, Lang::En)
}

/// [`render_sections`] in `l`.
pub fn render_sections_in(r: &AnalyzeReport, ids: &[&str], l: Lang) -> String {
    write_sections(r, Page { lang: l, ..Page::only(ids) }).into_body()
}

fn write_report(r: &AnalyzeReport, page: Page) -> String {
    let l = page.lang();
    let s = &r.source;
    let per = period(l, s.period);
    let page = write_sections(r, page);
    let title = format!("{}: {}", l.t("Retention report", "Отчёт об удержании"), s.name);
    let (first, last) = (l.date_or_dash(s.first_order), l.date_or_dash(s.last_order));
    let subtitle = match l {
        Lang::En => format!(
            "{} orders of {} customers, {first} to {last}; as of {}; by {per}; inactivity window {} days; time zone {}; currency {}.",
            l.count(s.orders as i64),
            l.count(s.customers as i64),
            l.date(s.as_of),
            s.window_days,
            s.time_zone,
            s.currency
        ),
        Lang::Ru => format!(
            "Заказов: {}, клиентов: {}, с {first} по {last}; на {}; период — {per}; окно неактивности {} дн.; часовой пояс {}; валюта {}.",
            l.count(s.orders as i64),
            l.count(s.customers as i64),
            l.date(s.as_of),
            s.window_days,
            s.time_zone,
            s.currency
        ),
    };
    page.finish(&title, &subtitle)
}

/// The money of the report: `$1,234.56` / `1 234,56 ₽`.
fn money(l: Lang, r: &AnalyzeReport, v: Option<f64>) -> String {
    l.amount(v, r.source.currency)
}

fn write_sections(r: &AnalyzeReport, mut page: Page) -> Page {
    let l = page.lang();
    let s = &r.source;
    let h = &r.headline;
    let cur = l.currency_name(s.currency);
    let per = period(l, s.period);
    let pers = periods(l, s.period);
    let period_label = h.last_complete_period.clone().unwrap_or_else(|| l.t("no complete period yet", "ни один период ещё не закончился").into());

    if let Some(seg) = &r.sections.segments {
        seg.week(&mut page);
    }

    page.section(
        "summary",
        l.t("At a glance", "Коротко"),
        l.t(
            "The headline numbers. Rates describe the last complete period; money is in the file's currency.",
            "Главные числа. Доли — за последний закончившийся период; деньги — в валюте файла.",
        ),
    );
    page.cards(&[
        Card::new(
            l.t("Customers", "Клиенты"),
            l.count(h.customers as i64),
            l.t("Everyone with at least one counted order before the as-of date.", "Все, у кого есть хотя бы один учтённый заказ до даты отчёта."),
        ),
        Card::new(
            l.t("Active now", "Активны сейчас"),
            l.count(h.active_now as i64),
            &match l {
                Lang::En => format!("Customers whose last order is within the last {} days.", s.window_days),
                Lang::Ru => format!("Клиенты, чей последний заказ был не раньше {} дн. назад.", s.window_days),
            },
        ),
        rate_card(
            l,
            l.t("Retention rate", "Удержание"),
            &h.retention_rate,
            &period_label,
            l.t(
                "Kept ÷ active at the start of the period (K / S). Won-back customers are not counted as kept.",
                "Оставшиеся ÷ активные на начало периода (K / S). Вернувшиеся не считаются оставшимися.",
            ),
        ),
        rate_card(
            l,
            l.t("Churn rate", "Отток"),
            &h.churn_rate,
            &period_label,
            l.t(
                "Lost ÷ active at the start of the period (L / S). Retention + churn = 100%.",
                "Ушедшие ÷ активные на начало периода (L / S). Удержание + отток = 100 %.",
            ),
        ),
        Card::new(
            l.t("Repeat-purchase rate", "Доля повторных покупателей"),
            l.pct(h.repeat_purchase_rate),
            l.t("Customers with two or more orders ÷ all customers.", "Клиенты с двумя и более заказами ÷ все клиенты."),
        ),
        Card::new(l.t("Average order value", "Средний чек"), money(l, r, h.aov), l.t("All revenue ÷ all orders.", "Вся выручка ÷ все заказы.")),
        Card::new(
            l.t("Time between orders", "Время между заказами"),
            l.days(h.median_days_between_orders),
            l.t(
                "Median over repeat customers of each one's average gap between orders.",
                "Медиана по повторным покупателям их среднего промежутка между заказами.",
            ),
        ),
        Card::new(
            l.t("Customer value (LTV)", "Ценность клиента (LTV)"),
            money(l, r, h.ltv_mean),
            l.t("Mean revenue to date per customer.", "Средняя выручка на клиента на сегодня."),
        )
        .detail(format!("{} {}", l.t("median", "медиана"), money(l, r, h.ltv_median))),
    ]);
    for w in &r.warnings {
        page.warning(&crate::vocab::warning(l, w, s.window_days, s.period));
    }
    match &r.sections.segments {
        Some(seg) => page.action(&seg.do_this(l)),
        None => page.action(l.t(
            "Do this: compute the report with its segments (holdfast analyze FILE --sections all) to get this week's list of whom to contact.",
            "Что сделать: постройте отчёт с сегментами (holdfast analyze ФАЙЛ --sections all), чтобы получить список тех, с кем связаться на этой неделе.",
        )),
    }

    let mv = &r.movement;
    let labels: Vec<String> = mv.periods.iter().map(|p| p.label.clone()).collect();
    let incomplete: Vec<bool> = mv.periods.iter().map(|p| !p.complete).collect();
    let col = |f: fn(&holdfast_core::PeriodMovement) -> f64| -> Vec<Option<f64>> { mv.periods.iter().map(|p| Some(f(p))).collect() };
    let x_period = l.t("period", "период");
    page.section(
        "movement",
        l.t("Customers coming and going", "Приход и уход клиентов"),
        &match l {
            Lang::En => format!(
                "A customer counts as active while their last order is less than {} days old. Each {per}, some customers are new, some come back and some lapse.",
                s.window_days
            ),
            Lang::Ru => format!(
                "Клиент считается активным, пока его последнему заказу меньше {} дн. За каждый период ({per}) одни клиенты приходят впервые, другие возвращаются, третьи уходят.",
                s.window_days
            ),
        },
    );
    page.chart(
        l.t("Active customers", "Активные клиенты"),
        &line_chart(
            l.t("Active customers at the end of each period", "Активные клиенты на конец каждого периода"),
            &labels,
            &[Series::new(l.t("active at end", "активны на конец"), color::ACTIVE, col(|p| p.active_end as f64))],
            ValueFormat::Count,
            true,
            &Axes::new(l, x_period, l.t("customers", "клиентов")),
        ),
        &match l {
            Lang::En => format!("the line is how many customers were active at the end of each {per}; rising means the customer base is growing."),
            Lang::Ru => "линия — сколько клиентов были активны на конец каждого периода; растёт — значит, клиентская база растёт.".to_string(),
        },
    );
    page.chart(
        l.t("Movement per period", "Движение за период"),
        &bar_chart(
            l.t("New, reactivated and lost customers", "Новые, вернувшиеся и ушедшие клиенты"),
            &labels,
            &[
                Series::new(l.t("new", "новые"), color::NEW, col(|p| p.new as f64)),
                Series::new(l.t("reactivated", "вернувшиеся"), color::REACTIVATED, col(|p| p.reactivated as f64)),
            ],
            &[Series::new(l.t("lost", "ушедшие"), color::LOST, col(|p| p.lost as f64))],
            ValueFormat::Count,
            &incomplete,
            &Axes::new(l, x_period, l.t("customers (lost below zero)", "клиентов (ушедшие — ниже нуля)")),
        ),
        l.t(
            "bars above the line are customers gained (new and won back), bars below are customers lost; when the red bars outgrow the green ones, the base shrinks. Pale bars: the period is not over yet.",
            "столбики над нулём — пришедшие клиенты (новые и вернувшиеся), под нулём — ушедшие; когда красные длиннее зелёных, база сокращается. Бледные столбики: период ещё не закончился.",
        ),
    );
    page.explain(&[
        (
            l.t("Active at start (S)", "Активные на начало (S)"),
            l.t(
                "customers whose last order before the period start is within the inactivity window.",
                "клиенты, чей последний заказ до начала периода попадает в окно неактивности.",
            ),
        ),
        (l.t("New (N)", "Новые (N)"), l.t("active at the end, first order ever in this period.", "активны на конец, первый заказ — в этом периоде.")),
        (
            l.t("Reactivated (R)", "Вернувшиеся (R)"),
            l.t(
                "active at the end, not active at the start, first order before the period: won back.",
                "активны на конец, не были активны на начало, первый заказ — раньше периода: вернули.",
            ),
        ),
        (l.t("Lost (L)", "Ушедшие (L)"), l.t("active at the start, not active at the end.", "активны на начало, не активны на конец.")),
        (
            l.t("Kept (K)", "Оставшиеся (K)"),
            l.t("active at both ends. Always E = S − L + N + R and K = S − L.", "активны и на начало, и на конец. Всегда E = S − L + N + R и K = S − L."),
        ),
    ]);
    page.table(l.t("Movement table", "Таблица движения"), &movement_table(mv, l));

    page.section(
        "retention",
        l.t("Retention and churn", "Удержание и отток"),
        l.t(
            "How many of the customers active at the start of each period were still active at its end.",
            "Сколько из клиентов, активных на начало периода, остались активными на его конец.",
        ),
    );
    let complete_only = |f: fn(&holdfast_core::PeriodMovement) -> Option<f64>| -> Vec<Option<f64>> {
        mv.periods.iter().map(|p| if p.complete { f(p) } else { None }).collect()
    };
    page.chart(
        l.t("Retention and churn rate per period", "Удержание и отток по периодам"),
        &line_chart(
            l.t("Retention and churn", "Удержание и отток"),
            &labels,
            &[
                Series::new(l.t("retention rate", "удержание"), color::RETENTION, complete_only(|p| p.retention_rate)),
                Series::new(l.t("churn rate", "отток"), color::CHURN, complete_only(|p| p.churn_rate)),
            ],
            ValueFormat::Percent,
            true,
            &Axes::new(l, x_period, l.t("% of active at start", "% от активных на начало")),
        ),
        l.t(
            "blue is the share of customers kept, red the share lost; they add up to 100%. Periods that have not ended are left out.",
            "синяя — доля оставшихся клиентов, красная — доля ушедших; вместе 100 %. Незакончившиеся периоды не показаны.",
        ),
    );
    let mut simple = Series::new(l.t("simple ratio E/S", "простое отношение E/S"), color::SIMPLE, complete_only(|p| p.simple_retention_ratio));
    simple.dashed = true;
    page.chart(
        l.t("The simple ratio E/S, for comparison", "Простое отношение E/S, для сравнения"),
        &line_chart(
            l.t("Simple ratio E/S", "Простое отношение E/S"),
            &labels,
            &[simple],
            ValueFormat::Percent,
            true,
            &Axes::new(l, x_period, l.t("end ÷ start, %", "конец ÷ начало, %")).short(),
        ),
        l.t(
            "customers at the end ÷ customers at the start, as the articles quote it. It mixes newcomers in, so it can exceed 100% while many customers leave: read the chart above for who stays.",
            "клиенты на конец ÷ клиенты на начало, как его приводят в статьях. Оно смешивает новичков с оставшимися и может превышать 100 %, даже когда многие уходят: кто остаётся, показывает график выше.",
        ),
    );
    page.explain(&[
        (
            l.t("Retention rate", "Удержание"),
            l.t("K / S = (E − N − R) / S: customers kept ÷ customers active at the start.", "K / S = (E − N − R) / S: оставшиеся ÷ активные на начало."),
        ),
        (l.t("Churn rate", "Отток"), l.t("L / S: customers lost ÷ customers active at the start.", "L / S: ушедшие ÷ активные на начало.")),
        (
            l.t("Simple ratio E/S", "Простое отношение E/S"),
            l.t(
                "customers at the end ÷ customers at the start, as the articles quote it.",
                "клиенты на конец ÷ клиенты на начало, как его приводят в статьях.",
            ),
        ),
        (
            l.t("Its blind spot", "Его слепое пятно"),
            l.t(
                "it hides movement: losing 21 and winning 20 looks like losing 1.",
                "оно скрывает движение: потерять 21 и привлечь 20 выглядит как потерять одного.",
            ),
        ),
    ]);

    page.section(
        "revenue",
        l.t("Revenue from new and returning customers", "Выручка от новых и постоянных клиентов"),
        l.t("Revenue of each period split into first orders and repeat orders.", "Выручка каждого периода, разделённая на первые и повторные заказы."),
    );
    page.chart(
        l.t("Revenue per period", "Выручка за период"),
        &bar_chart(
            l.t("Revenue from first and repeat orders", "Выручка от первых и повторных заказов"),
            &labels,
            &[
                Series::new(l.t("first orders", "первые заказы"), color::FIRST_ORDERS, col(|p| p.revenue - p.returning_revenue)),
                Series::new(l.t("repeat orders", "повторные заказы"), color::REPEAT_ORDERS, col(|p| p.returning_revenue)),
            ],
            &[],
            ValueFormat::Money,
            &incomplete,
            &Axes::new(l, x_period, &format!("{}, {cur}", l.t("revenue", "выручка"))),
        ),
        &match l {
            Lang::En => format!("each bar is a {per}'s revenue in {cur}; the blue part comes from customers buying again. A growing blue share means the business lives on loyal customers. Pale bars: the period is not over yet."),
            Lang::Ru => format!("каждый столбик — выручка за период ({per}) в {cur}; синяя часть — от клиентов, купивших снова. Растущая синяя доля — бизнес держится на постоянных клиентах. Бледные столбики: период ещё не закончился."),
        },
    );
    page.explain(&[
        (
            l.t("Share of revenue from returning customers", "Доля выручки от постоянных клиентов"),
            l.t(
                "revenue of repeat orders (every order but a customer's first) ÷ revenue.",
                "выручка повторных заказов (всех, кроме первого заказа клиента) ÷ выручка.",
            ),
        ),
        (l.t("Average order value (AOV)", "Средний чек (AOV)"), l.t("revenue ÷ counted orders in the period.", "выручка ÷ учтённые заказы периода.")),
        (
            l.t("Purchase frequency", "Частота покупок"),
            l.t("counted orders ÷ distinct ordering customers in the period.", "учтённые заказы ÷ число разных покупателей периода."),
        ),
    ]);
    let mut t = Table::new(&[
        l.t("period", "период"),
        &format!("{}, {cur}", l.t("revenue", "выручка")),
        l.t("repeat share", "доля повторных"),
        l.t("orders", "заказы"),
        &format!("{}, {cur}", l.t("AOV", "средний чек")),
        l.t("frequency", "частота"),
    ]);
    for p in &mv.periods {
        t.row(vec![
            p.label.clone(),
            l.money(Some(p.revenue)),
            l.pct(p.returning_revenue_share),
            l.count(p.orders as i64),
            l.money(p.aov),
            l.num(p.purchase_frequency),
        ]);
    }
    page.table(l.t("Revenue table", "Таблица выручки"), &t);

    page.section(
        "cohorts",
        l.t("Cohorts", "Когорты"),
        &match l {
            Lang::En => format!("Customers grouped by the {per} of their first order, then followed {per} by {per}."),
            Lang::Ru => format!("Клиенты, сгруппированные по периоду ({per}) первого заказа и прослеженные период за периодом."),
        },
    );
    let cohort_axes = |y_unit: &str| {
        Axes::new(
            l,
            &match l {
                Lang::En => format!("{pers} since the first order"),
                Lang::Ru => format!("{pers} с первого заказа"),
            },
            &format!("{} ({y_unit})", l.t("cohort", "когорта")),
        )
    };
    page.chart(
        l.t("Share of each cohort ordering again", "Доля когорты, заказавшая снова"),
        &cohort_heat_map(l, &r.cohorts, CohortMetric::Customers, &cohort_axes(l.t("customers", "клиентов"))),
        &match l {
            Lang::En => format!("each row is a cohort, each column the {pers} since its first order; darker means more of the cohort ordered in that {per}. Column +0 is always 100%. Hatched cells: the {per} is not over yet, so a low number is not a drop."),
            Lang::Ru => "каждая строка — когорта, каждый столбец — сколько периодов прошло с её первого заказа; темнее — больше клиентов когорты заказали в этом периоде. Столбец +0 всегда 100 %. Заштрихованные клетки: период ещё не закончился, и низкое число — не падение.".to_string(),
        },
    );
    page.chart(
        l.t("Revenue to date per cohort customer (LTV curve)", "Выручка на клиента когорты нарастающим итогом (кривая LTV)"),
        &cohort_heat_map(l, &r.cohorts, CohortMetric::CumulativeRevenuePerCustomer, &cohort_axes(l.t("customers", "клиентов"))),
        &match l {
            Lang::En => format!("how much an average customer of each cohort has spent by that {per}, in {cur}; compare rows to see whether newer customers are worth more or less."),
            Lang::Ru => format!("сколько средний клиент когорты потратил к этому периоду, в {cur}; сравните строки, чтобы увидеть, ценнее ли новые клиенты."),
        },
    );
    page.explain(&[
        (l.t("Cohort", "Когорта"), l.t("the calendar period of a customer's first counted order.", "календарный период первого учтённого заказа клиента.")),
        (
            l.t("Customer cell (c, k)", "Клетка клиентов (c, k)"),
            l.t(
                "share of cohort c with at least one counted order in period c + k.",
                "доля когорты c, у которой есть хотя бы один учтённый заказ в периоде c + k.",
            ),
        ),
        (
            l.t("Revenue cell (c, k)", "Клетка выручки (c, k)"),
            l.t(
                "revenue of cohort c in period c + k; also per cohort customer and cumulatively (the cohort's LTV curve).",
                "выручка когорты c в периоде c + k; также на клиента когорты и нарастающим итогом (кривая LTV когорты).",
            ),
        ),
    ]);
    page.table(l.t("Cohort table: customers", "Таблица когорт: клиенты"), &cohort_table(&r.cohorts, CohortMetric::Customers, usize::MAX, usize::MAX, l));
    page.table(l.t("Cohort table: revenue", "Таблица когорт: выручка"), &cohort_table(&r.cohorts, CohortMetric::Revenue, usize::MAX, usize::MAX, l));
    page.table(
        l.t("Cohort table: revenue per cohort customer, cumulative", "Таблица когорт: выручка на клиента когорты нарастающим итогом"),
        &cohort_table(&r.cohorts, CohortMetric::CumulativeRevenuePerCustomer, usize::MAX, usize::MAX, l),
    );

    let rep = &r.repeat;
    page.section("repeat", l.t("Repeat purchases", "Повторные покупки"), l.t("Do customers come back, and how soon?", "Возвращаются ли клиенты и как скоро?"));
    page.cards(&[
        Card::new(
            l.t("Repeat-purchase rate", "Доля повторных покупателей"),
            l.pct(rep.repeat_purchase_rate),
            l.t("Customers with at least two orders ÷ customers with at least one.", "Клиенты хотя бы с двумя заказами ÷ клиенты хотя бы с одним."),
        )
        .detail(match l {
            Lang::En => format!("{} of {} customers", l.count(rep.repeat_customers as i64), l.count(rep.customers as i64)),
            Lang::Ru => format!("{} из {} клиентов", l.count(rep.repeat_customers as i64), l.count(rep.customers as i64)),
        }),
        Card::new(
            l.t("Median time between orders", "Медианное время между заказами"),
            l.days(rep.median_days_between_orders),
            l.t(
                "Each repeat customer's average gap between orders; the middle one.",
                "Средний промежуток между заказами каждого повторного покупателя; серединное значение.",
            ),
        ),
        Card::new(
            l.t("Mean time between orders", "Среднее время между заказами"),
            l.days(rep.mean_days_between_orders),
            l.t("The same gaps, averaged (pulled up by a few slow buyers).", "Те же промежутки, усреднённые (их тянут вверх несколько редких покупателей)."),
        ),
    ]);

    let lt = &r.ltv;
    page.section(
        "ltv",
        l.t("Customer value to date (historical LTV)", "Ценность клиента на сегодня (исторический LTV)"),
        l.t("What each customer has spent so far: the sum of their counted orders.", "Сколько каждый клиент потратил до сих пор: сумма его учтённых заказов."),
    );
    page.cards(&[
        Card::new(l.t("Mean LTV", "Средний LTV"), money(l, r, lt.mean), l.t("Total revenue ÷ customers.", "Вся выручка ÷ клиенты.")),
        Card::new(
            l.t("Median LTV", "Медианный LTV"),
            money(l, r, lt.median),
            l.t("Half of the customers have spent less than this.", "Половина клиентов потратила меньше."),
        ),
        Card::new(
            l.t("Revenue to date", "Выручка на сегодня"),
            money(l, r, Some(lt.revenue)),
            l.t("All counted orders before the as-of date.", "Все учтённые заказы до даты отчёта."),
        ),
    ]);
    let bl: Vec<String> = lt.distribution.iter().map(|b| b.label.clone()).collect();
    page.chart(
        l.t("How many customers have spent how much", "Сколько клиентов сколько потратили"),
        &bar_chart(
            l.t("Customers by historical LTV", "Клиенты по историческому LTV"),
            &bl,
            &[Series::new(l.t("customers", "клиенты"), color::NEUTRAL, lt.distribution.iter().map(|b| Some(b.customers as f64)).collect())],
            &[],
            ValueFormat::Count,
            &[],
            &Axes::new(l, &format!("{}, {cur}", l.t("spent to date", "потрачено на сегодня")), l.t("customers", "клиентов")).categories(),
        ),
        &match l {
            Lang::En => format!("each bar counts the customers whose spending to date falls in that range of {cur}; the last bar collects the big spenders. A mean far above the median means a few customers bring much of the revenue."),
            Lang::Ru => format!("каждый столбик — число клиентов, чьи траты на сегодня попадают в этот диапазон ({cur}); последний собирает крупных покупателей. Среднее намного выше медианы — значит, немногие клиенты приносят большую часть выручки."),
        },
    );
    page.explain(&[
        (
            l.t("Historical LTV", "Исторический LTV"),
            l.t(
                "a customer's counted order amounts to date, summed (50,000 for a first project and three more like it make 200,000).",
                "сумма учтённых заказов клиента на сегодня (50 000 за первый проект и ещё три таких же дают 200 000).",
            ),
        ),
        (
            l.t("Simple LTV formula", "Простая формула LTV"),
            l.t(
                "AOV × purchases per customer per year × expected lifetime in years: a rough forward-looking guide, shown for explanation only.",
                "средний чек × покупок на клиента в год × ожидаемый срок жизни в годах: грубый ориентир на будущее, приведён только для пояснения.",
            ),
        ),
    ]);
    page.table(l.t("LTV distribution table", "Таблица распределения LTV"), &ltv_table(lt, l));
    page.add(&r.rfm);

    for sec in r.sections.list() {
        page.add(sec);
    }

    page
}

/// Heat map of the latest 36 cohorts over at most 36 offsets.
fn cohort_heat_map(l: Lang, t: &CohortTable, metric: CohortMetric, axes: &Axes) -> String {
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
    let rows: Vec<String> = shown.iter().map(|c| format!("{} ({})", c.label, l.count(c.customers as i64))).collect();
    let cols: Vec<String> = (0..width).map(|k| format!("+{k}")).collect();
    let cohort = l.t("cohort", "когорта");
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
                            match l {
                                Lang::En => format!(
                                    "cohort {}, +{} ({}): {} of {} customers ordered ({})",
                                    c.label,
                                    cell.offset,
                                    cell.period,
                                    cell.customers,
                                    c.customers,
                                    l.pct(Some(v))
                                ),
                                Lang::Ru => format!(
                                    "когорта {}, +{} ({}): заказали {} из {} клиентов ({})",
                                    c.label,
                                    cell.offset,
                                    cell.period,
                                    cell.customers,
                                    c.customers,
                                    l.pct(Some(v))
                                ),
                            },
                        ),
                        _ => (l.money_short(v), format!("{cohort} {}, +{} ({}): {}", c.label, cell.offset, cell.period, l.money(Some(v)))),
                    };
                    let intensity = if top > 0.0 { (v / top).min(1.0) } else { 0.0 };
                    Some(HeatCell { intensity, text, title, complete: cell.complete })
                })
                .collect()
        })
        .collect();
    let key = |v: f64| match metric {
        CohortMetric::Customers => format!("{:.0}%", v * 100.0),
        _ => l.money_short(v),
    };
    let unfinished = match l {
        Lang::En => format!("{} not over yet", period(l, t.granularity)),
        Lang::Ru => format!("{}: ещё не закончился", period(l, t.granularity)),
    };
    // The class names the metric, so a page can show one map at a time (the dashboard's switch).
    let class = if metric == CohortMetric::Customers { "customers" } else { "revenue" };
    format!(
        "<div class=\"cohort-map {class}\">{}{}</div>",
        heat_map(l.t("Cohort heat map", "Тепловая карта когорт"), &rows, &cols, &cells, axes),
        heat_legend(top, key, &unfinished)
    )
}
