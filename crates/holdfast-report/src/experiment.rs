//! One experiment's report for people: the verdict in one sentence, the groups, every interval
//! — as terminal text with small text bars ([`to_terminal`]), as an HTML fragment with the
//! intervals drawn as inline SVG bars that the dashboard reuses ([`fragment`]), or as a whole
//! self-contained HTML document ([`render`]). Every figure comes from
//! `holdfast_experiments::ExperimentReport`; nothing is computed here.

use crate::format::{fmt_count, fmt_money, fmt_pct, fmt_pp};
use crate::html::{Card, Page, Section};
use crate::locale::Lang;
use crate::svg::{color, esc};
use crate::table::Table;
use holdfast_experiments::report::fmt_p;
use holdfast_experiments::{Effect, ExperimentReport, Status};
use std::fmt::Write;

fn status_word(s: Status) -> &'static str {
    match s {
        Status::Verdict => "final",
        Status::NotFinal => "NOT FINAL",
        Status::Blocked => "BLOCKED: sample-ratio mismatch",
    }
}

/// How a difference of `metric` is written: points for shares, money for revenue.
fn diff_text(metric: &str, v: f64) -> String {
    match metric {
        "conversion" | "retention" => fmt_pp(Some(v)),
        "revenue" => format!("{}{}", if v > 0.0 { "+" } else { "" }, fmt_money(Some(v))),
        _ => format!("{v:+.3}"),
    }
}

/// A bar of `width` characters over `[-scale, scale]`: `|` at zero, `=` over the interval, `●`
/// at the estimate.
pub fn text_bar(low: f64, high: f64, point: f64, scale: f64, width: usize) -> String {
    if scale.is_nan() || scale <= 0.0 || !low.is_finite() || !high.is_finite() {
        return String::new();
    }
    let pos = |v: f64| (((v / scale).clamp(-1.0, 1.0) + 1.0) / 2.0 * (width - 1) as f64).round() as usize;
    let mut cells = vec!['·'; width];
    for c in cells.iter_mut().take(pos(high) + 1).skip(pos(low)) {
        *c = '=';
    }
    cells[pos(0.0)] = '|';
    cells[pos(point)] = '●';
    cells.into_iter().collect()
}

/// The largest distance from zero of any bound of a metric's intervals (the bars' half-width).
fn scale_of(effects: &[&Effect]) -> f64 {
    effects.iter().flat_map(|e| [e.ci_low, e.ci_high, Some(e.difference)]).flatten().map(f64::abs).fold(0.0, f64::max) * 1.05
}

/// The report as terminal text.
pub fn to_terminal(r: &ExperimentReport) -> String {
    to_terminal_in(r, Lang::En)
}

fn status_word_in(l: Lang, s: Status) -> &'static str {
    match (l, s) {
        (Lang::En, s) => status_word(s),
        (Lang::Ru, Status::Verdict) => "итог",
        (Lang::Ru, Status::NotFinal) => "НЕ ОКОНЧАТЕЛЬНО",
        (Lang::Ru, Status::Blocked) => "ЗАБЛОКИРОВАНО: группы не совпадают с планом",
    }
}

/// An amount in major units without the currency: English keeps its plain-text tables' ASCII
/// minus, Russian writes as [`Lang`] does.
fn money_in(l: Lang, v: f64) -> String {
    match l {
        Lang::En => fmt_money(Some(v)),
        Lang::Ru => l.money(Some(v)),
    }
}

/// An amount with its currency: `1,234.56 RUB` / `1 234,56 ₽`.
fn amount_in(l: Lang, v: f64, r: &ExperimentReport) -> String {
    match l {
        Lang::En => format!("{} {}", fmt_money(Some(v)), r.currency.as_str()),
        Lang::Ru => l.amount(Some(v), r.currency),
    }
}

fn count_in(l: Lang, n: i64) -> String {
    match l {
        Lang::En => fmt_count(n),
        Lang::Ru => l.count(n),
    }
}

/// A number with `d` decimals: `3.60` / `3,60`.
fn dec_in(l: Lang, v: f64, d: usize) -> String {
    match l {
        Lang::En => format!("{v:.d$}"),
        Lang::Ru => l.number(Some(v), d),
    }
}

fn p_in(l: Lang, p: f64) -> String {
    match l {
        Lang::En => fmt_p(p),
        Lang::Ru => fmt_p(p).replace('.', ","),
    }
}

/// How a difference of `metric` is written in `l`.
fn diff_text_in(l: Lang, metric: &str, v: f64) -> String {
    match (l, metric) {
        (Lang::En, _) => diff_text(metric, v),
        (Lang::Ru, "conversion" | "retention") => l.pp(Some(v)),
        (Lang::Ru, "revenue") => format!("{}{}", if v > 0.0 { "+" } else { "" }, l.money(Some(v))),
        (Lang::Ru, _) => format!("{}{}", if v > 0.0 { "+" } else { "" }, l.number(Some(v), 3)),
    }
}

fn metric_in(l: Lang, metric: &str) -> &str {
    match (l, metric) {
        (Lang::Ru, "conversion") => "конверсия",
        (Lang::Ru, "revenue") => "выручка",
        (Lang::Ru, "orders") => "заказы",
        (Lang::Ru, "retention") => "удержание",
        (_, m) => m,
    }
}

fn method_in(l: Lang, method: &str) -> &str {
    match (l, method) {
        (Lang::Ru, "welch") => "Уэлч",
        (Lang::Ru, "bootstrap") => "бутстрэп",
        (Lang::Ru, "cuped") => "CUPED",
        (_, m) => m,
    }
}

/// A `YYYY-MM-DD` date of the report in `l` (`05.12.2026`); anything else as written.
fn date_in(l: Lang, d: &str) -> String {
    chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").map_or_else(|_| d.to_string(), |x| l.date(x))
}

/// The report as terminal text in `l` (figures, tables and words; the engine's warnings as
/// written).
pub fn to_terminal_in(r: &ExperimentReport, l: Lang) -> String {
    let ru = l == Lang::Ru;
    let cur = match l {
        Lang::En => r.currency.as_str().to_string(),
        Lang::Ru => l.currency_name(r.currency),
    };
    let mut out = String::new();
    if ru {
        let _ = writeln!(out, "Кампания «{}»: окно атрибуции {} дн., на {} ({})", r.campaign, r.window_days, date_in(l, &r.as_of), status_word_in(l, r.status));
        let _ = writeln!(out, "\n{}\n", r.verdict.ru);
    } else {
        let _ = writeln!(out, "Campaign \"{}\": {}-day attribution window, as of {} ({})", r.campaign, r.window_days, r.as_of, status_word(r.status));
        let _ = writeln!(out, "\n{}\n{}\n", r.verdict.en, r.verdict.ru);
    }

    let mut g = Table::new(&[
        l.t("Group", "Группа"),
        l.t("Customers", "Клиенты"),
        l.t("Conversion", "Конверсия"),
        l.t("Revenue / customer", "Выручка на клиента"),
        l.t("Orders / customer", "Заказы на клиента"),
        l.t("Retained", "Удержано"),
        l.t("Cost", "Затраты"),
    ]);
    for x in &r.groups {
        g.row(vec![
            x.name.clone(),
            count_in(l, x.n as i64),
            l.pct(Some(x.conversion)),
            amount_in(l, x.revenue_mean, r),
            dec_in(l, x.orders_mean, 3),
            l.pct(Some(x.retention)),
            amount_in(l, x.cost_total, r),
        ]);
    }
    let _ = writeln!(
        out,
        "{}\n{}",
        l.t(
            "Groups (as assigned: a treated customer whose message bounced stays treated)",
            "Группы (как назначены: клиент, которому письмо не дошло, остаётся в своей группе)"
        ),
        g.to_text()
    );

    let mut t = Table::new(&[
        l.t("Treated", "Группа"),
        l.t("Metric", "Показатель"),
        l.t("Method", "Метод"),
        l.t("Difference", "Разница"),
        l.t("95% interval", "95-% интервал"),
        "p",
        "−   0   +",
    ]);
    t.right = vec![false, false, false, true, true, true, false];
    for metric in ["conversion", "revenue", "orders", "retention"] {
        let rows: Vec<&Effect> = r.effects.iter().chain(&r.retention).filter(|e| e.metric == metric).collect();
        let scale = scale_of(&rows);
        for e in rows {
            let bound = |v: Option<f64>| v.map_or_else(|| "—".to_string(), |v| diff_text_in(l, metric, v));
            t.row(vec![
                e.group.clone(),
                metric_in(l, e.metric).to_owned(),
                format!("{}{}", method_in(l, e.method), if e.decides { " *" } else { "" }),
                diff_text_in(l, metric, e.difference),
                format!("{} … {}", bound(e.ci_low), bound(e.ci_high)),
                e.p_value.map(|p| p_in(l, p)).unwrap_or_default(),
                match (e.ci_low, e.ci_high) {
                    (Some(lo), Some(hi)) => text_bar(lo, hi, e.difference, scale, 21),
                    _ => String::new(),
                },
            ]);
        }
    }
    t.note(if ru {
        format!(
            "Разница — получившие кампанию минус контрольная группа; выручка на назначенного клиента в {cur}, нули учтены. * итог опирается на объединение интервалов Уэлча и бутстрэпа ({} повторов, seed {}).",
            count_in(l, r.bootstrap.replicates as i64),
            r.bootstrap.seed
        )
    } else {
        format!(
            "Differences are treated − control; revenue per assigned customer in {cur}, zeros included. * the verdict uses the hull of Welch's and the bootstrap's interval ({} resamples, seed {}).",
            r.bootstrap.replicates, r.bootstrap.seed
        )
    });
    let _ = writeln!(out, "{}\n{}", l.t("Effects with 95% confidence intervals", "Эффекты с 95-% доверительными интервалами"), t.to_text());

    if let Some(i) = &r.incremental {
        if ru {
            let _ = writeln!(
                out,
                "Дополнительная выручка: {} (95-% ДИ {} – {}) = разница выручки × {} клиентов, получивших кампанию",
                amount_in(l, i.revenue, r),
                money_in(l, i.revenue_ci_low),
                money_in(l, i.revenue_ci_high),
                count_in(l, i.treated_n as i64)
            );
            let what = if i.margin.is_some() { "прибыль" } else { "прибыль (= выручка: маржа не задана)" };
            let margin = i.margin.map(|m| format!(" при марже {}", l.pct(Some(m)))).unwrap_or_default();
            let _ = writeln!(
                out,
                "Дополнительная {what}{margin}: {} (95-% ДИ {} – {})",
                amount_in(l, i.profit, r),
                money_in(l, i.profit_ci_low),
                money_in(l, i.profit_ci_high)
            );
            let _ = writeln!(out, "Затраты: {}", amount_in(l, i.cost, r));
        } else {
            let what = if i.margin.is_some() { "profit" } else { "profit (= revenue: no margin set)" };
            let _ = writeln!(
                out,
                "Incremental revenue: {} {cur} (95% CI {} – {}) = revenue difference × {} treated customers",
                fmt_money(Some(i.revenue)),
                fmt_money(Some(i.revenue_ci_low)),
                fmt_money(Some(i.revenue_ci_high)),
                fmt_count(i.treated_n as i64)
            );
            let margin = i.margin.map(|m| format!(" at a {:.0}% margin", m * 100.0)).unwrap_or_default();
            let _ = writeln!(
                out,
                "Incremental {what}{margin}: {} {cur} (95% CI {} – {})",
                fmt_money(Some(i.profit)),
                fmt_money(Some(i.profit_ci_low)),
                fmt_money(Some(i.profit_ci_high))
            );
            let _ = writeln!(out, "Cost: {} {cur}", fmt_money(Some(i.cost)));
        }
    }
    match &r.roi {
        Some(roi) if ru => {
            let _ = writeln!(
                out,
                "ROI = (дополнительная прибыль − затраты) / затраты = {} (95-% ДИ {} – {})",
                dec_in(l, roi.value, 2),
                dec_in(l, roi.ci_low, 2),
                dec_in(l, roi.ci_high, 2)
            );
        }
        Some(roi) => {
            let _ = writeln!(out, "ROI = (incremental profit − cost) / cost = {:.2} (95% CI {:.2} – {:.2})", roi.value, roi.ci_low, roi.ci_high);
        }
        None => {
            let _ = writeln!(out, "{}", l.t("ROI: no cost given", "ROI: затраты не указаны"));
        }
    }
    if ru {
        let _ = writeln!(
            out,
            "Выручка «по рассылке» (наивная цифра почтовых сервисов): {}{} — в ней все покупки получивших кампанию, включая те, что они сделали бы и так.",
            amount_in(l, r.revenue_attributed, r),
            r.return_ratio.map(|x| format!(", отношение к затратам {}", l.number(Some(x * 100.0), 0) + "\u{a0}%")).unwrap_or_default()
        );
    } else {
        let _ = writeln!(
            out,
            "Revenue attributed (the naive figure mailers print): {} {cur}{} — it counts every purchase treated customers made, including those they would have made anyway.",
            fmt_money(Some(r.revenue_attributed)),
            r.return_ratio.map(|x| format!(", return ratio {:.0}%", x * 100.0)).unwrap_or_default()
        );
    }
    if let Some(c) = &r.cuped {
        if ru {
            let _ = writeln!(
                out,
                "CUPED с выручкой за {} дн. до кампании: θ = {}, ρ = {}; дисперсия интервала выручки меньше на {} (ширина × {}).",
                c.pre_days,
                dec_in(l, c.theta, 4),
                dec_in(l, c.correlation, 3),
                l.pct(Some(c.variance_reduction)),
                dec_in(l, c.width_ratio, 3)
            );
        } else {
            let _ = writeln!(
                out,
                "CUPED with the {}-day pre-period revenue: θ = {:.4}, ρ = {:.3}; the revenue interval's variance shrinks by {:.1}% (width × {:.3}).",
                c.pre_days,
                c.theta,
                c.correlation,
                c.variance_reduction * 100.0,
                c.width_ratio
            );
        }
    }
    match &r.srm {
        Some(s) => {
            let planned: Vec<String> = s.planned.iter().map(|p| if ru { l.pct(Some(*p)) } else { format!("{:.1}%", p * 100.0) }).collect();
            let observed: Vec<String> = s.observed.iter().map(|n| count_in(l, *n as i64)).collect();
            let p = if s.p_value < 0.001 { p_in(l, s.p_value) } else { format!("= {}", p_in(l, s.p_value)) };
            if ru {
                let _ = writeln!(
                    out,
                    "Соотношение групп: по плану {}, фактически {} (χ² = {}, p {p}): {}",
                    planned.join(" / "),
                    observed.join(" / "),
                    dec_in(l, s.chi2, 2),
                    if s.passed { "как запланировано" } else { "НЕ СОВПАДАЕТ — итог не выносится (p < 0,001)" }
                );
            } else {
                let _ = writeln!(
                    out,
                    "Sample ratio: planned {}, observed {} (χ² = {:.2}, p {p}): {}",
                    planned.join(" / "),
                    observed.join(" / "),
                    s.chi2,
                    if s.passed { "as planned" } else { "MISMATCH — the verdict is withheld (p < 0.001)" }
                );
            }
        }
        None => {
            let _ = writeln!(
                out,
                "{}",
                l.t("Sample ratio: not checked (no planned split recorded)", "Соотношение групп: не проверено (план разбиения не записан)")
            );
        }
    }
    if let Some(m) = r.mde_revenue {
        if ru {
            let _ = writeln!(
                out,
                "При таких размерах групп наименьшая разница выручки, которую обнаружит этот тест (α = 0,05, мощность 0,8), — {} на клиента.",
                amount_in(l, m, r)
            );
        } else {
            let _ = writeln!(
                out,
                "With these group sizes the smallest revenue difference this test detects (α = 0.05, power 0.8) is {} {cur} per customer.",
                fmt_money(Some(m))
            );
        }
    }
    if let Some(m) = &r.multiplicity {
        if ru {
            let variants = r.comparisons.len().saturating_sub(1);
            let winners: Vec<String> =
                r.comparisons.iter().skip(1).filter(|c| c.significant).map(|c| format!("{} (p = {})", c.group, p_in(l, c.p_holm.unwrap_or(1.0)))).collect();
            let _ = writeln!(
                out,
                "Вариантов, каждый из которых сравнён с контрольной группой: {variants}; их p-значения скорректированы по Холму на число сравнений ({variants}), так что шанс ложной победы остаётся 5\u{a0}%. Значимы после поправки: {}.",
                if winners.is_empty() { "ни один".to_owned() } else { winners.join(", ") }
            );
        } else {
            let _ = writeln!(out, "{m}");
        }
    }
    for w in &r.warnings {
        let _ = writeln!(out, "{}: {}", l.t("warning", "предупреждение"), warning_in(l, w));
    }
    out
}

/// A warning of the experiment's analysis in `l`; one it does not know stays as written.
fn warning_in(l: Lang, w: &str) -> String {
    if l == Lang::En {
        return w.to_string();
    }
    if w.starts_with("the control group has a cost of") {
        "у контрольной группы указаны затраты: её клиентам ничего не отправляют, поэтому эти затраты не входят в ROI".into()
    } else if w.starts_with("a group has fewer than two customers") {
        "в группе меньше двух клиентов: интервал посчитать нельзя".into()
    } else if w.starts_with("no planned split is recorded") {
        "план разбиения для этой кампании не записан, поэтому соотношение групп не проверено (задайте его, например --split control=0.1,treatment=0.9)".into()
    } else if w.starts_with("no gross margin is set") {
        "валовая маржа не задана: прибылью считается вся выручка, и ROI завышен (задайте её, например --margin 0.35)".into()
    } else {
        w.to_string()
    }
}

const BAR_W: f64 = 760.0;
const LABEL_W: f64 = 230.0;
const ROW_H: f64 = 24.0;

/// The intervals of one report drawn as horizontal bars, one panel per metric with its own scale
/// and a line at zero; the intervals the verdict uses are drawn in the accent colour. Hovering a
/// bar shows its numbers.
pub fn interval_svg(r: &ExperimentReport) -> String {
    let metrics = ["conversion", "revenue", "orders", "retention"];
    let panels: Vec<(&str, Vec<&Effect>)> = metrics
        .iter()
        .map(|m| (*m, r.effects.iter().chain(&r.retention).filter(|e| e.metric == *m && e.ci_low.is_some()).collect::<Vec<_>>()))
        .filter(|(_, v)| !v.is_empty())
        .collect();
    let rows: usize = panels.iter().map(|(_, v)| v.len() + 1).sum();
    let height = 20.0 + rows as f64 * ROW_H;
    let mut out = String::new();
    let _ = write!(
        out,
        r#"<svg class="chart" viewBox="0 0 {BAR_W} {height}" role="img" aria-label="{}" font-family="system-ui, sans-serif" font-size="12">"#,
        esc(&format!("95% intervals of the differences treated − control, campaign {}", r.campaign))
    );
    let (x0, x1) = (LABEL_W, BAR_W - 20.0);
    let mut y = 10.0;
    for (metric, effects) in panels {
        let scale = scale_of(&effects).max(1e-12);
        let x = |v: f64| x0 + ((v / scale).clamp(-1.0, 1.0) + 1.0) / 2.0 * (x1 - x0);
        let _ = write!(
            out,
            r##"<text x="4" y="{:.1}" font-weight="600" fill="#222">{}</text><text x="{x0}" y="{:.1}" fill="#777">{}</text><text x="{x1}" y="{:.1}" text-anchor="end" fill="#777">{}</text>"##,
            y + 14.0,
            esc(&panel_title(metric, r.currency.as_str())),
            y + 14.0,
            esc(&diff_text(metric, -scale)),
            y + 14.0,
            esc(&diff_text(metric, scale))
        );
        let _ = write!(
            out,
            r##"<line x1="{:.1}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="#888"/>"##,
            x(0.0),
            y + 4.0,
            x(0.0),
            y + ROW_H * (effects.len() as f64 + 1.0)
        );
        y += ROW_H;
        for e in effects {
            let (lo, hi) = (e.ci_low.unwrap_or(e.difference), e.ci_high.unwrap_or(e.difference));
            let col = if e.decides { color::ACTIVE } else { color::SIMPLE };
            let mid = y + ROW_H / 2.0;
            let _ = write!(
                out,
                r##"<text x="4" y="{:.1}" fill="#333">{} · {}{}</text>"##,
                mid + 4.0,
                esc(&e.group),
                esc(e.method),
                if e.decides { " (decides)" } else { "" }
            );
            let _ = write!(
                out,
                r#"<g><title>{}</title><rect x="{:.1}" y="{:.1}" width="{:.1}" height="8" rx="3" fill="{col}" opacity="0.55"/><circle cx="{:.1}" cy="{mid:.1}" r="4.5" fill="{col}"/></g>"#,
                esc(&format!(
                    "{} {} ({}): {} (95% CI {} … {})",
                    e.group,
                    metric,
                    e.method,
                    diff_text(metric, e.difference),
                    diff_text(metric, lo),
                    diff_text(metric, hi)
                )),
                x(lo),
                mid - 4.0,
                (x(hi) - x(lo)).max(1.0),
                x(e.difference)
            );
            y += ROW_H;
        }
    }
    out.push_str("</svg>");
    out
}

fn panel_title(metric: &str, currency: &str) -> String {
    match metric {
        "conversion" => "conversion, percentage points".to_owned(),
        "revenue" => format!("revenue per customer, {currency}"),
        "orders" => "orders per customer".to_owned(),
        m => format!("{m}, percentage points"),
    }
}

/// The experiment as a report [`Section`].
pub struct ExperimentSection<'a>(pub &'a ExperimentReport);

impl Section for ExperimentSection<'_> {
    fn id(&self) -> &str {
        "experiment"
    }

    fn title(&self, _l: Lang) -> String {
        format!("Campaign \"{}\": proof, not attribution", self.0.campaign)
    }

    fn intro(&self, _l: Lang) -> String {
        format!(
            "Treated customers against a control group that got nothing, over a {}-day attribution window after each assignment, as of {} ({}).",
            self.0.window_days,
            self.0.as_of,
            status_word(self.0.status)
        )
    }

    fn html(&self, page: &mut Page) {
        let r = self.0;
        let cur = r.currency.as_str();
        match r.status {
            Status::Verdict => page.paragraph(&r.verdict.en),
            _ => page.warning(&r.verdict.en),
        }
        page.paragraph(&r.verdict.ru);
        let mut cards = Vec::new();
        if let Some(i) = &r.incremental {
            cards.push(
                Card::new(
                    if i.margin.is_some() { "Extra profit" } else { "Extra revenue" },
                    format!("{} {cur}", fmt_money(Some(i.profit))),
                    "Revenue difference per customer × treated customers × margin.",
                )
                .detail(format!("95% CI {} – {}", fmt_money(Some(i.profit_ci_low)), fmt_money(Some(i.profit_ci_high)))),
            );
            cards.push(Card::new("Cost", format!("{} {cur}", fmt_money(Some(i.cost))), "Sum of the treated customers' costs."));
        }
        if let Some(roi) = &r.roi {
            cards.push(
                Card::new("ROI", format!("{:.2}", roi.value), "(Extra profit − cost) / cost.").detail(format!("95% CI {:.2} – {:.2}", roi.ci_low, roi.ci_high)),
            );
        }
        cards.push(
            Card::new(
                "Revenue attributed",
                format!("{} {cur}", fmt_money(Some(r.revenue_attributed))),
                "What a mailer would print: all revenue of treated customers. Not the campaign's effect.",
            )
            .detail(r.return_ratio.map(|x| format!("return ratio {:.0}%", x * 100.0)).unwrap_or_default()),
        );
        if let Some(s) = &r.srm {
            cards.push(
                Card::new(
                    "Sample ratio",
                    if s.passed { "as planned".into() } else { "MISMATCH".into() },
                    "χ² of group sizes against the planned split; p < 0.001 withholds the verdict.",
                )
                .detail(format!("p {}", fmt_p(s.p_value))),
            );
        }
        page.cards(&cards);
        page.chart(
            "Differences treated − control, with 95% intervals",
            &interval_svg(r),
            "each bar is an interval, the dot its estimate, the grey line zero; a bar clear of zero is a difference the data support. Blue bars are the ones the verdict uses.",
        );
        let mut g = Table::new(&["Group", "Customers", "Conversion", "Revenue / customer", "Retained", "Cost"]);
        for x in &r.groups {
            g.row(vec![
                x.name.clone(),
                fmt_count(x.n as i64),
                fmt_pct(Some(x.conversion)),
                format!("{} {cur}", fmt_money(Some(x.revenue_mean))),
                fmt_pct(Some(x.retention)),
                format!("{} {cur}", fmt_money(Some(x.cost_total))),
            ]);
        }
        page.table("The groups", &g);
        page.explain(&[
            ("As assigned", "Every customer counts in the group it was assigned to, whether or not the message reached it."),
            ("Welch", "Difference of means ± t quantile × √(s²_t/n_t + s²_c/n_c), Welch–Satterthwaite degrees of freedom."),
            ("Bootstrap", "Each group resampled with replacement; the 2.5% and 97.5% quantiles of the resampled differences. Seeded: the same data give the same interval."),
            ("CUPED", "Revenue minus θ × (pre-period revenue − its mean), θ = cov / var: the same difference with less noise."),
            ("ROI", "(Incremental profit − cost) / cost; its interval is the decision interval of the revenue difference carried through."),
        ]);
        if let Some(m) = &r.multiplicity {
            page.paragraph(m);
        }
        for w in &r.warnings {
            page.warning(w);
        }
    }

    fn terminal(&self, l: Lang) -> String {
        to_terminal_in(self.0, l)
    }
}

/// The report as an HTML fragment (a `<section>`) for a page that has its own head and style —
/// the dashboard. The intervals are inline SVG.
pub fn fragment(r: &ExperimentReport) -> String {
    let mut page = Page::new();
    page.add(&ExperimentSection(r));
    page.into_fragment()
}

/// The report as one self-contained HTML document.
pub fn render(r: &ExperimentReport) -> String {
    let mut page = Page::new();
    page.add(&ExperimentSection(r));
    page.finish(&format!("Holdfast: campaign \"{}\"", r.campaign), &format!("Experiment report as of {}", r.as_of))
}

#[cfg(test)]
mod tests {
    use super::*;
    use holdfast_core::Currency;
    use holdfast_experiments::{analyse, Design, Options, Unit};

    fn report(campaign: &str) -> ExperimentReport {
        let units: Vec<Unit> = (0..400)
            .map(|i| {
                let group = (i % 2) as u32;
                let orders = u32::from(i % (7 - 2 * group as usize) == 0);
                Unit { group, orders, revenue: orders as i64 * 150_000, pre_revenue: (i % 5) as i64 * 10_000, retained: orders > 0, cost: 4_500 * group as i64 }
            })
            .collect();
        let design = Design {
            campaign: campaign.into(),
            groups: vec!["control".into(), "treatment".into()],
            planned: Some(vec![0.5, 0.5]),
            window_days: 30,
            pre_days: 365,
            currency: Currency::RUB,
            margin: Some(0.4),
            as_of: "2024-05-01".into(),
            window_end: "2024-03-31".into(),
            is_final: true,
        };
        analyse(&design, &units, &Options::default()).unwrap()
    }

    #[test]
    fn html_fragment_and_page() {
        let r = report("<script>alert(1)</script> win-back");
        let f = fragment(&r);
        assert!(f.starts_with("<section id=\"experiment\">") && f.ends_with("</section>"), "{f}");
        assert!(f.contains("<svg") && f.contains("(decides)") && !f.contains("<html") && !f.contains("<script>"));
        assert!(f.contains(&esc(&r.verdict.en)) && f.contains(&esc(&r.verdict.ru)));
        let page = render(&r);
        assert!(page.starts_with("<!DOCTYPE html>") && page.contains(&f));
        let text = to_terminal(&r);
        assert!(text.contains("Effects with 95% confidence intervals") && text.contains("bootstrap *") && text.contains(&r.verdict.en), "{text}");
    }

    #[test]
    fn terminal_text_in_russian() {
        let r = report("win-back");
        let ru = to_terminal_in(&r, Lang::Ru);
        assert!(ru.starts_with("Кампания «win-back»: окно атрибуции 30 дн., на 01.05.2024 ("), "{ru}");
        assert!(ru.contains(&r.verdict.ru) && !ru.contains(&r.verdict.en) && ru.contains("бутстрэп *") && ru.contains("\u{a0}₽"), "{ru}");
        assert!(!ru.contains("Groups") && !ru.contains("Effects") && !ru.contains("Incremental"), "{ru}");
        assert_eq!(to_terminal_in(&r, Lang::En), to_terminal(&r));
    }

    #[test]
    fn bars() {
        assert_eq!(text_bar(1.0, 3.0, 2.0, 4.0, 9), "····|=●=·");
        assert_eq!(text_bar(-1.0, 1.0, 0.5, 2.0, 9), "··==|●=··");
        assert_eq!(text_bar(0.0, 1.0, 0.5, 0.0, 9), "");
    }
}
