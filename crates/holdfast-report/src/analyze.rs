//! [`AnalyzeReport`]: the full retention report of an orders log, as one serialisable struct.
//!
//! [`analyze`] runs every descriptive computation of `holdfast-core` once and keeps the results;
//! [`AnalyzeReport::to_terminal`] prints them as tables and [`crate::html::render`] as one HTML file.
//!
//! ## Adding a section
//! A section of another module (predictions, segments, …) is one field and one call:
//! 1. add `#[serde(skip_serializing_if = "Option::is_none")] pub my_section: Option<MySection>` to
//!    [`Sections`] (`MySection: Clone + Debug + Serialize + `[`Section`]); it starts as `None`
//!    and the caller fills it in (`report.sections.my_section = Some(…)`);
//! 2. add `push(&mut out, &self.my_section);` to [`Sections::list`].
//!
//! Its JSON appears at the top level of the report under the field's name; the HTML page and the
//! terminal output show it after the built-in sections.

use crate::html::Section;
use crate::locale::Lang;
use crate::table::Table;
use chrono::NaiveDate;
use holdfast_core::cohorts::{cohorts, CohortOptions, CohortTable};
use holdfast_core::ltv::{historical_ltv, HistoricalLtv, LtvOptions};
use holdfast_core::repeat::{repeat_behaviour, RepeatBehaviour, RepeatOptions};
use holdfast_core::{movement, Calendar, Currency, Granularity, Instant, Movement, MovementOptions, OrderLog, PeriodMovement};
use serde::Serialize;
use std::fmt::Write;

/// What to analyse.
#[derive(Clone, Debug)]
pub struct AnalyzeOptions {
    pub calendar: Calendar,
    /// Movement period length (month, quarter or year); cohorts use it too.
    pub granularity: Granularity,
    /// The inactivity window `W` in days.
    pub window_days: u32,
    /// The analysis instant (orders at or after it are ignored).
    pub as_of: Instant,
    /// What the orders were read from (a file name), shown in the report.
    pub source: String,
}

/// Where the numbers come from.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Source {
    pub name: String,
    pub currency: Currency,
    /// Counted orders before the as-of instant.
    pub orders: u64,
    /// Customers with at least one counted order before the as-of instant.
    pub customers: u64,
    pub first_order: Option<NaiveDate>,
    pub last_order: Option<NaiveDate>,
    /// Local date of the as-of instant (figures are as of its start).
    pub as_of: NaiveDate,
    pub window_days: u32,
    pub period: Granularity,
    pub time_zone: String,
}

/// A rate of the last complete period with its changes (fractions; changes in fraction points).
#[derive(Clone, Debug, Serialize, PartialEq, Default)]
pub struct RateFigure {
    pub value: Option<f64>,
    pub change_previous: Option<f64>,
    pub change_year_ago: Option<f64>,
}

/// The figures on the cards at the top of the report.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Headline {
    /// Customers with at least one counted order before the as-of instant.
    pub customers: u64,
    /// Customers active at the as-of instant (last order within the inactivity window).
    pub active_now: u64,
    /// Label of the last complete period, which the rates below describe.
    pub last_complete_period: Option<String>,
    pub retention_rate: RateFigure,
    pub churn_rate: RateFigure,
    pub simple_retention_ratio: RateFigure,
    pub repeat_purchase_rate: Option<f64>,
    /// All revenue / all orders to date, major units.
    pub aov: Option<f64>,
    pub median_days_between_orders: Option<f64>,
    pub ltv_mean: Option<f64>,
    pub ltv_median: Option<f64>,
}

/// The full retention report of one orders log.
#[derive(Clone, Debug, Serialize)]
pub struct AnalyzeReport {
    pub source: Source,
    pub headline: Headline,
    /// Period movement; the same shape as `holdfast movement --json`.
    pub movement: Movement,
    pub cohorts: CohortTable,
    pub repeat: RepeatBehaviour,
    pub ltv: HistoricalLtv,
    /// Customers and revenue by RFM scores (recency × frequency grid, monetary scores).
    pub rfm: crate::rfm::RfmGrid,
    /// Plain-language warnings about reading the figures.
    pub warnings: Vec<String>,
    /// Sections added by other modules (see the module docs); flattened into the JSON.
    #[serde(flatten)]
    pub sections: Sections,
}

/// Sections added to the report by other modules, each `None` until its caller fills it in.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Sections {
    /// Segments, the top of the at-risk list and service chains.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub segments: Option<crate::segments::SegmentsSection>,
    /// Value and prediction: BG/NBD and Gamma-Gamma, P(alive), CLV, the holdout check.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prediction: Option<crate::prediction::PredictionSection>,
}

impl Sections {
    /// The sections present, in page order.
    pub fn list(&self) -> Vec<&dyn Section> {
        #[allow(unused_mut)]
        let mut out: Vec<&dyn Section> = Vec::new();
        // One line per section, e.g. `push(&mut out, &self.segments);`
        push(&mut out, &self.segments);
        push(&mut out, &self.prediction);
        out
    }
}

/// Runs every descriptive computation once. Deterministic.
pub fn analyze(log: &OrderLog, opts: &AnalyzeOptions) -> AnalyzeReport {
    let cal = &opts.calendar;
    let as_of = opts.as_of;
    // The metrics are independent scans of the log: computed side by side.
    let mv_opts = MovementOptions { granularity: opts.granularity, window_days: opts.window_days, as_of, from: None, to: None };
    let coh_opts = CohortOptions { granularity: opts.granularity, as_of };
    let rep_opts = RepeatOptions { as_of, first_order_from: None, first_order_to: None };
    let ltv_opts = LtvOptions { as_of, buckets: 12 };
    let ((mv, coh), ((rep, ltv), rfm)) = rayon::join(
        || rayon::join(|| movement(log, cal, &mv_opts), || cohorts(log, cal, &coh_opts)),
        || rayon::join(|| rayon::join(|| repeat_behaviour(log, &rep_opts), || historical_ltv(log, &ltv_opts)), || crate::rfm::RfmGrid::compute(log, as_of)),
    );
    let (first_order, last_order) = time_range_before(log, as_of).map(|(a, b)| (Some(cal.date(a)), Some(cal.date(b)))).unwrap_or((None, None));
    let source = Source {
        name: opts.source.clone(),
        currency: log.currency(),
        orders: ltv.orders,
        customers: ltv.customers,
        first_order,
        last_order,
        as_of: cal.date(as_of),
        window_days: opts.window_days,
        period: opts.granularity,
        time_zone: cal.tz.name().to_string(),
    };
    let last_complete = mv.periods.iter().rev().find(|p| p.complete);
    let rate = |f: fn(&PeriodMovement) -> RateTriple| {
        last_complete.map(|p| {
            let (value, change_previous, change_year_ago) = f(p);
            RateFigure { value, change_previous, change_year_ago }
        })
    };
    let headline = Headline {
        customers: ltv.customers,
        active_now: mv.periods.last().map(|p| p.active_end).unwrap_or(0),
        last_complete_period: last_complete.map(|p| p.label.clone()),
        retention_rate: rate(|p| (p.retention_rate, p.retention_rate_change_previous, p.retention_rate_change_year_ago)).unwrap_or_default(),
        churn_rate: rate(|p| (p.churn_rate, p.churn_rate_change_previous, p.churn_rate_change_year_ago)).unwrap_or_default(),
        simple_retention_ratio: rate(|p| (p.simple_retention_ratio, p.simple_retention_ratio_change_previous, p.simple_retention_ratio_change_year_ago))
            .unwrap_or_default(),
        repeat_purchase_rate: rep.repeat_purchase_rate,
        aov: (ltv.orders > 0).then(|| ltv.revenue / ltv.orders as f64),
        median_days_between_orders: rep.median_days_between_orders,
        ltv_mean: ltv.mean,
        ltv_median: ltv.median,
    };
    let mut warnings = mv.warnings.clone();
    if ltv.customers == 0 {
        warnings.push("There are no counted orders before the as-of date: every figure is empty.".into());
    } else if last_complete.is_none() && !mv.periods.is_empty() {
        warnings.push(format!("No {} has ended by the as-of date yet: the rates on the cards are empty.", opts.granularity));
    }
    AnalyzeReport { source, headline, movement: mv, cohorts: coh, repeat: rep, ltv, rfm, warnings, sections: Sections::default() }
}

/// A rate and its changes against the previous period and a year earlier.
type RateTriple = (Option<f64>, Option<f64>, Option<f64>);

fn time_range_before(log: &OrderLog, as_of: Instant) -> Option<(Instant, Instant)> {
    let (mut lo, mut hi) = (Instant::MAX, Instant::MIN);
    for c in 0..log.n_customers() as u32 {
        let t = log.times_of(c);
        let n = t.partition_point(|&x| x < as_of);
        if n > 0 {
            lo = lo.min(t[0]);
            hi = hi.max(t[n - 1]);
        }
    }
    (lo <= hi).then_some((lo, hi))
}

#[allow(dead_code)]
fn push<'a, S: Section>(out: &mut Vec<&'a dyn Section>, s: &'a Option<S>) {
    if let Some(s) = s {
        out.push(s);
    }
}

impl AnalyzeReport {
    /// The whole report as text in English: headline, movement, cohorts, repeat behaviour, LTV.
    pub fn to_terminal(&self) -> String {
        self.to_terminal_in(Lang::En)
    }

    /// [`AnalyzeReport::to_terminal`] in `l`.
    pub fn to_terminal_in(&self, l: Lang) -> String {
        let s = &self.source;
        let h = &self.headline;
        let cur = l.currency_name(s.currency);
        let money = |v: Option<f64>| l.amount(v, s.currency);
        let (first, last) = (l.date_or_dash(s.first_order), l.date_or_dash(s.last_order));
        let per = crate::vocab::period(l, s.period);
        let mut out = String::new();
        let _ = match l {
            Lang::En => writeln!(
                out,
                "Retention report: {} — {} orders of {} customers, {first} to {last}, as of {} ({per} periods, inactivity window {} days, time zone {})\n",
                s.name,
                l.count(s.orders as i64),
                l.count(s.customers as i64),
                l.date(s.as_of),
                s.window_days,
                s.time_zone
            ),
            Lang::Ru => writeln!(
                out,
                "Отчёт об удержании: {} — заказов {}, клиентов {}, с {first} по {last}, на {} (период — {per}, окно неактивности {} дн., часовой пояс {})\n",
                s.name,
                l.count(s.orders as i64),
                l.count(s.customers as i64),
                l.date(s.as_of),
                s.window_days,
                s.time_zone
            ),
        };
        let period = h.last_complete_period.as_deref().unwrap_or(l.t("no complete period", "нет закончившегося периода"));
        let mut t = Table::new(&[
            l.t("figure", "показатель"),
            l.t("value", "значение"),
            l.t("vs previous", "к предыдущему"),
            l.t("vs year ago", "к прошлому году"),
            l.t("what it is", "что это"),
        ]);
        t.right = vec![false, true, true, true, false];
        let plain = |t: &mut Table, name: &str, value: String, what: String| t.row(vec![name.into(), value, String::new(), String::new(), what]);
        plain(
            &mut t,
            l.t("Customers", "Клиенты"),
            l.count(h.customers as i64),
            l.t("with at least one counted order", "хотя бы с одним учтённым заказом").into(),
        );
        plain(
            &mut t,
            l.t("Active now", "Активны сейчас"),
            l.count(h.active_now as i64),
            match l {
                Lang::En => format!("last order within {} days", s.window_days),
                Lang::Ru => format!("последний заказ не раньше {} дн. назад", s.window_days),
            },
        );
        for (name, r, what) in [
            (l.t("Retention rate", "Удержание"), &h.retention_rate, l.t("kept / active at start", "оставшиеся / активные на начало")),
            (l.t("Churn rate", "Отток"), &h.churn_rate, l.t("lost / active at start", "ушедшие / активные на начало")),
            (
                l.t("Simple ratio E/S *", "Простое отношение E/S *"),
                &h.simple_retention_ratio,
                l.t("active at end / active at start", "активные на конец / на начало"),
            ),
        ] {
            t.row(vec![name.into(), l.pct(r.value), l.pp(r.change_previous), l.pp(r.change_year_ago), format!("{period}: {what}")]);
        }
        plain(
            &mut t,
            l.t("Repeat-purchase rate", "Доля повторных покупателей"),
            l.pct(h.repeat_purchase_rate),
            l.t("customers with 2+ orders / customers", "клиенты с 2+ заказами / клиенты").into(),
        );
        plain(&mut t, l.t("Average order value", "Средний чек"), money(h.aov), l.t("revenue / orders, all time", "выручка / заказы, за всё время").into());
        plain(
            &mut t,
            l.t("Time between orders", "Время между заказами"),
            l.days(h.median_days_between_orders),
            l.t("median over repeat customers of their mean gap", "медиана среднего промежутка повторных покупателей").into(),
        );
        plain(&mut t, l.t("LTV mean", "LTV, среднее"), money(h.ltv_mean), l.t("revenue to date per customer", "выручка на клиента на сегодня").into());
        plain(
            &mut t,
            l.t("LTV median", "LTV, медиана"),
            money(h.ltv_median),
            l.t("half the customers spent less", "половина клиентов потратила меньше").into(),
        );
        t.note(simple_ratio_note(l));
        out.push_str(&t.to_text());
        for w in &self.warnings {
            let _ = writeln!(out, "{} {}", l.t("Note:", "Примечание:"), crate::vocab::warning(l, w, s.window_days, s.period));
        }
        if let Some(seg) = &self.sections.segments {
            let _ = writeln!(out, "\n{}", seg.do_this(l));
        }
        let _ = match l {
            Lang::En => writeln!(out, "\nMovement per {per}"),
            Lang::Ru => writeln!(out, "\nДвижение клиентов по периодам ({per})"),
        };
        out.push_str(&movement_table(&self.movement, l).to_text());
        let _ = match l {
            Lang::En => writeln!(out, "\nCohorts: share of each cohort ordering k {per}s after its first order (~ = period not over yet)"),
            Lang::Ru => writeln!(out, "\nКогорты: доля когорты, заказавшей через k периодов после первого заказа (~ = период ещё не закончился)"),
        };
        out.push_str(&cohort_table(&self.cohorts, CohortMetric::Customers, 24, 13, l).to_text());
        let _ = match l {
            Lang::En => writeln!(out, "\nCohorts: cumulative revenue per cohort customer, {cur} (the cohort's LTV curve)"),
            Lang::Ru => writeln!(out, "\nКогорты: выручка на клиента когорты нарастающим итогом, {cur} (кривая LTV когорты)"),
        };
        out.push_str(&cohort_table(&self.cohorts, CohortMetric::CumulativeRevenuePerCustomer, 24, 13, l).to_text());
        let r = &self.repeat;
        let _ = match l {
            Lang::En => writeln!(
                out,
                "\nRepeat purchases: {} of {} customers ordered again ({}); time between orders: median {}, mean {}",
                l.count(r.repeat_customers as i64),
                l.count(r.customers as i64),
                l.pct(r.repeat_purchase_rate),
                l.days(r.median_days_between_orders),
                l.days(r.mean_days_between_orders)
            ),
            Lang::Ru => writeln!(
                out,
                "\nПовторные покупки: заказали снова {} из {} клиентов ({}); время между заказами: медиана {}, среднее {}",
                l.count(r.repeat_customers as i64),
                l.count(r.customers as i64),
                l.pct(r.repeat_purchase_rate),
                l.days(r.median_days_between_orders),
                l.days(r.mean_days_between_orders)
            ),
        };
        let _ = writeln!(
            out,
            "\n{} ({cur}): {} {}, {} {}",
            l.t("Historical LTV", "Исторический LTV"),
            l.t("mean", "среднее"),
            l.money(self.ltv.mean),
            l.t("median", "медиана"),
            l.money(self.ltv.median)
        );
        out.push_str(&ltv_table(&self.ltv, l).to_text());
        let _ = writeln!(out);
        out.push_str(&crate::html::Section::terminal(&self.rfm, l));
        for sec in self.sections.list() {
            let _ = writeln!(out, "\n{}", sec.title(l));
            out.push_str(&sec.terminal(l));
        }
        out
    }
}

/// The blind spot of the simple ratio, as the report words it (English).
pub const SIMPLE_RATIO_NOTE: &str =
    "* The simple ratio E/S (customers at end / customers at start) hides movement: losing 21 and winning 20 looks like losing 1.";

/// [`SIMPLE_RATIO_NOTE`] in `l`.
pub fn simple_ratio_note(l: Lang) -> &'static str {
    l.t(
        SIMPLE_RATIO_NOTE,
        "* Простое отношение E/S (клиенты на конец / клиенты на начало) скрывает движение: потерять 21 и привлечь 20 выглядит как потерять одного.",
    )
}

/// The movement table of `holdfast movement` and the report, in `l` (the movement's warnings are
/// the caller's to print).
pub fn movement_table(mv: &Movement, l: Lang) -> Table {
    let mut t = Table::new(&[
        l.t("period", "период"),
        l.t("start", "начало"),
        l.t("new", "новые"),
        l.t("reactiv.", "вернулись"),
        l.t("lost", "ушли"),
        l.t("kept", "остались"),
        l.t("end", "конец"),
        l.t("retention", "удержание"),
        l.t("churn", "отток"),
        "E/S *",
        l.t("orders", "заказы"),
        l.t("revenue", "выручка"),
        l.t("AOV", "ср. чек"),
        l.t("repeat rev.", "повт. выручка"),
    ]);
    for p in &mv.periods {
        t.row(vec![
            if p.complete { p.label.clone() } else { format!("{} ~", p.label) },
            l.count(p.active_start as i64),
            l.count(p.new as i64),
            l.count(p.reactivated as i64),
            l.count(p.lost as i64),
            l.count(p.kept as i64),
            l.count(p.active_end as i64),
            l.pct(p.retention_rate),
            l.pct(p.churn_rate),
            l.pct(p.simple_retention_ratio),
            l.count(p.orders as i64),
            l.money(Some(p.revenue)),
            l.money(p.aov),
            l.pct(p.returning_revenue_share),
        ]);
    }
    t.note(l.t(
        "retention = kept / start; churn = lost / start; a customer is active while the last order is within the window.",
        "удержание = остались / начало; отток = ушли / начало; клиент активен, пока его последний заказ в пределах окна.",
    ));
    t.note(simple_ratio_note(l));
    if mv.periods.last().is_some_and(|p| !p.complete) {
        t.note(
            l.t("~ the period has not ended: its end figures are taken at the as-of date.", "~ период не закончился: его итоговые числа взяты на дату отчёта."),
        );
    }
    t
}

/// Which number a cohort table shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CohortMetric {
    /// Share of the cohort with an order in the period.
    Customers,
    /// Revenue of the cohort in the period.
    Revenue,
    /// Revenue in the period per cohort customer.
    RevenuePerCustomer,
    /// Revenue to date per cohort customer (the LTV curve).
    CumulativeRevenuePerCustomer,
}

/// A cohort table as text cells in `l`: one row per cohort (the last `max_rows`), one column per
/// offset `k` (the first `max_cols`); cells of periods that have not ended carry `~`.
pub fn cohort_table(t: &CohortTable, metric: CohortMetric, max_rows: usize, max_cols: usize, l: Lang) -> Table {
    let width = t.cohorts.iter().map(|c| c.cells.len()).max().unwrap_or(0).min(max_cols);
    let mut headers = vec![l.t("cohort", "когорта").to_string(), l.t("customers", "клиенты").to_string()];
    headers.extend((0..width).map(|k| format!("+{k}")));
    let mut tab = Table::new(&headers);
    let skip = t.cohorts.len().saturating_sub(max_rows);
    for c in &t.cohorts[skip..] {
        let mut row = vec![c.label.clone(), l.count(c.customers as i64)];
        for cell in c.cells.iter().take(width) {
            let v = match metric {
                CohortMetric::Customers => l.pct(Some(cell.retention)),
                CohortMetric::Revenue => l.money(Some(cell.revenue)),
                CohortMetric::RevenuePerCustomer => l.money(Some(cell.revenue_per_customer)),
                CohortMetric::CumulativeRevenuePerCustomer => l.money(Some(cell.cumulative_revenue_per_customer)),
            };
            row.push(if cell.complete { v } else { format!("~{v}") });
        }
        tab.row(row);
    }
    if skip > 0 {
        tab.note(match l {
            Lang::En => format!("({skip} earlier cohorts not shown; --json has them all)"),
            Lang::Ru => format!("(более ранние когорты не показаны: {skip}; в --json есть все)"),
        });
    }
    if t.cohorts.iter().any(|c| c.cells.len() > width) {
        tab.note(match l {
            Lang::En => format!("(columns after +{} not shown; --json has them all)", width.saturating_sub(1)),
            Lang::Ru => format!("(столбцы после +{} не показаны; в --json есть все)", width.saturating_sub(1)),
        });
    }
    tab
}

/// The LTV distribution as a table in `l`.
pub fn ltv_table(lt: &HistoricalLtv, l: Lang) -> Table {
    let mut t = Table::new(&[l.t("LTV", "LTV"), l.t("customers", "клиенты"), l.t("share", "доля")]);
    for b in &lt.distribution {
        t.row(vec![b.label.clone(), l.count(b.customers as i64), l.pct(Some(b.share))]);
    }
    t
}
