//! The analyze report end to end on a small log: JSON shape, headline figures, HTML safety.

use chrono::NaiveDate;
use holdfast_core::{Calendar, Currency, Granularity, Instant, OrderLogBuilder};
use holdfast_report::{analyze, render, AnalyzeOptions};

fn day(s: &str) -> Instant {
    Calendar::default().start_of_day(NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap())
}

/// W = 60 days, months of 2024, as of 2024-06-01 (the orders of the movement example in core):
/// a: 01-10 (100), 02-15 (50), 05-20 (70); b: 01-20 (200); c: 02-05 (30), 02-25 (30).
/// Movement (worked out in holdfast-core's movement tests): May is the last complete period,
/// S=0 E=1 R=1, so its rates are null; April S=2 L=2 → churn 100%.
/// Customers 3, orders 6, revenue 480 → AOV 80; LTV a 220, b 200, c 60 → mean 160, median 200.
/// Repeat: a and c of 3 → 2/3; gaps a (05-20 − 01-10 = 131 days) / 2 = 65.5, c 20 → median 42.75.
fn report() -> holdfast_report::AnalyzeReport {
    let mut b = OrderLogBuilder::new(Currency::USD);
    b.push("a", day("2024-01-10"), 10000);
    b.push("a", day("2024-02-15"), 5000);
    b.push("a", day("2024-05-20"), 7000);
    b.push("b<script>", day("2024-01-20"), 20000);
    b.push("c", day("2024-02-05"), 3000);
    b.push("c", day("2024-02-25"), 3000);
    let log = b.build();
    analyze(
        &log,
        &AnalyzeOptions {
            calendar: Calendar::default(),
            granularity: Granularity::Month,
            window_days: 60,
            as_of: day("2024-06-01"),
            source: "<orders & co>.csv".into(),
        },
    )
}

#[test]
fn headline_figures() {
    let r = report();
    let h = &r.headline;
    assert_eq!((h.customers, h.active_now), (3, 1));
    assert_eq!(h.last_complete_period.as_deref(), Some("2024-05"));
    assert_eq!(h.retention_rate.value, None);
    assert_eq!(h.aov, Some(80.0));
    assert_eq!((h.ltv_mean, h.ltv_median), (Some(160.0), Some(200.0)));
    assert_eq!(h.repeat_purchase_rate, Some(2.0 / 3.0));
    assert_eq!(h.median_days_between_orders, Some(42.75));
    let apr = &r.movement.periods[3];
    assert_eq!((apr.label.as_str(), apr.churn_rate), ("2024-04", Some(1.0)));
}

#[test]
fn json_has_the_documented_shape() {
    let v = serde_json::to_value(report()).unwrap();
    for key in ["source", "headline", "movement", "cohorts", "repeat", "ltv", "warnings"] {
        assert!(v.get(key).is_some(), "missing {key}");
    }
    let p = &v["movement"]["periods"][0];
    for key in [
        "start",
        "end",
        "active_start",
        "active_end",
        "new",
        "reactivated",
        "lost",
        "kept",
        "orders",
        "revenue",
        "retention_rate",
        "churn_rate",
        "simple_retention_ratio",
    ] {
        assert!(p.get(key).is_some(), "movement period lacks {key}");
    }
    assert_eq!(p["start"], "2024-01-01");
    assert_eq!(p["revenue"], 300.0);
    assert!(p["retention_rate"].is_null());
    assert_eq!(v["cohorts"]["cohorts"][0]["cells"][0]["retention"], 1.0);
    assert_eq!(v["source"]["as_of"], "2024-06-01");
    assert!(!serde_json::to_string(&v).unwrap().contains("NaN"));
}

#[test]
fn html_is_self_contained_and_escaped() {
    let r = report();
    let html = render(&r);
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.contains("<svg"));
    assert!(!html.contains("http://") && !html.contains("https://"));
    assert!(!html.contains("<script") && !html.contains("<orders"));
    assert!(html.contains("&lt;orders &amp; co&gt;.csv"));
    assert!(html.contains("losing 21 and winning 20 looks like losing 1"));
    assert!(!html.contains("NaN") && !html.contains("\"inf") && !html.contains(">inf"));
    let text = r.to_terminal();
    assert!(text.contains("Retention report") && text.contains("2024-05"));
}

/// What another module's section does: implement `Section`, and the page shows it with its own
/// heading, escaped.
#[test]
fn a_section_adds_itself_to_the_page() {
    use holdfast_report::{Card, Page, Section};
    struct Demo;
    impl Section for Demo {
        fn id(&self) -> &str {
            "demo"
        }
        fn title(&self, _l: holdfast_report::Lang) -> String {
            "Demo <section>".into()
        }
        fn html(&self, page: &mut Page) {
            page.cards(&[Card::new("Champions", "12".into(), "RFM 5-5-5 customers.")]);
        }
    }
    let mut page = Page::new();
    page.add(&Demo);
    let html = page.finish("t", "s");
    assert!(html.contains("<section id=\"demo\"><h2>Demo &lt;section&gt;</h2>"));
    assert!(html.contains("<a href=\"#demo\">") && html.contains("Champions"));
    assert_eq!(html.matches("<h2>Demo &lt;section&gt;</h2>").count(), 1, "one heading per section");
}

/// 240 customers over three years, deterministic: enough for segments, a queue of tasks and a
/// fitted model, so every section of the report is written.
fn bigger() -> (holdfast_core::OrderLog, Instant) {
    let mut b = OrderLogBuilder::new(Currency::RUB);
    let start = day("2022-01-01");
    let as_of = day("2025-01-01");
    let mut seed: u64 = 7;
    let mut next = || {
        seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (seed >> 33) as i64
    };
    for c in 0..240 {
        let first = start + (next() % 900) * holdfast_core::DAY;
        let gap = 20 + next() % 150;
        let stop = first + (next() % 1000) * holdfast_core::DAY;
        let mut t = first;
        while t < as_of && t <= stop {
            b.push(&format!("C{c:04}"), t, 1000 + next() % 90_000);
            t += (gap + next() % gap) * holdfast_core::DAY;
        }
    }
    (b.build(), as_of)
}

fn full_report() -> holdfast_report::AnalyzeReport {
    let (log, as_of) = bigger();
    let mut r =
        analyze(&log, &AnalyzeOptions { calendar: Calendar::default(), granularity: Granularity::Month, window_days: 365, as_of, source: "orders.csv".into() });
    r.sections.segments = Some(holdfast_report::segments::SegmentsSection::compute(&log, as_of, 365));
    r.sections.prediction = Some(holdfast_report::prediction::PredictionSection::compute(&log, &Calendar::default(), as_of));
    r
}

/// The text of every element opened by `open` (e.g. `<h2`) up to `close` (`</h2>`), tags inside
/// removed.
fn texts(html: &str, open: &str, close: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(i) = rest.find(open) {
        let after = &rest[i + open.len()..];
        // `<th` must not match `<thead`.
        if !after.starts_with(['>', ' ']) {
            rest = after;
            continue;
        }
        let Some(gt) = after.find('>') else { break };
        let body = &after[gt + 1..];
        let Some(end) = body.find(close) else { break };
        let mut text = String::new();
        let mut in_tag = false;
        for ch in body[..end].chars() {
            match ch {
                '<' => in_tag = true,
                '>' => in_tag = false,
                c if !in_tag => text.push(c),
                _ => {}
            }
        }
        out.push(text.trim().to_string());
        rest = &body[end..];
    }
    out
}

/// The headings, labels and titles a reader reads first: page and section headings, chart
/// titles, table headers and summaries, card labels, formula names, legends and axis titles.
fn headings(html: &str) -> Vec<String> {
    let mut all = Vec::new();
    for (open, close) in [
        ("<h1", "</h1>"),
        ("<h2", "</h2>"),
        ("<h3", "</h3>"),
        ("<strong", "</strong>"),
        ("<summary", "</summary>"),
        ("<th", "</th>"),
        ("<dt", "</dt>"),
        ("<div class=\"label\"", "</div>"),
        ("<text class=\"legend\"", "</text>"),
        ("<text class=\"axis-title\"", "</text>"),
        ("<nav", "</nav>"),
        ("<footer", "</footer>"),
    ] {
        all.extend(texts(html, open, close));
    }
    all
}

/// A heading reads as English when, after the names kept in every language (RFM, LTV, E/S, …)
/// are taken out, it has no Cyrillic letter and still has a Latin word.
fn english_left(h: &str) -> bool {
    const KEPT: [&str; 14] =
        ["P(alive)", "BG/NBD", "Gamma-Gamma", "RFM", "LTV", "CLV", "AOV", "E/S", "orders.csv", "METRICS.md", "Holdfast", "RUB", "UTC", "holdfast"];
    if h.chars().any(|c| ('\u{400}'..='\u{4ff}').contains(&c)) {
        return false;
    }
    let mut rest = h.to_string();
    for k in KEPT {
        rest = rest.replace(k, " ");
    }
    // Single letters are symbols (S, N, R, L, K, E, F1, M5, c, k).
    rest.split(|c: char| !c.is_ascii_alphabetic()).any(|w| w.len() > 1 && !(w.len() == 2 && w.ends_with(|c: char| c.is_ascii_digit())))
}

#[test]
fn the_russian_report_has_no_english_heading_left() {
    let r = full_report();
    let ru = holdfast_report::render_in(&r, holdfast_report::Lang::Ru);
    assert!(ru.contains("<html lang=\"ru\">"));
    let hs = headings(&ru);
    assert!(hs.len() > 100, "only {} headings found", hs.len());
    let left: Vec<&String> = hs.iter().filter(|h| english_left(h)).collect();
    assert!(left.is_empty(), "English left in the Russian report: {left:#?}");
    // The English report's headings are English, and none of them is in the Russian one.
    let en = holdfast_report::render(&r);
    assert!(en.contains("<html lang=\"en\">"));
    let en_heads = headings(&en);
    assert!(en_heads.iter().filter(|h| english_left(h)).count() > 100);
    for h in en_heads.iter().filter(|h| english_left(h)) {
        assert!(!hs.contains(h), "the English heading {h:?} is in the Russian report");
    }
    // Numbers, money and dates in the Russian conventions.
    assert!(ru.contains("\u{a0}₽"), "no amount in roubles");
    assert!(ru.contains("01.01.2025"), "the as-of date is not written dd.mm.yyyy");
    assert!(!ru.contains("2025-01-01"), "an ISO date in the Russian report");
    let text = r.to_terminal_in(holdfast_report::Lang::Ru);
    assert!(text.contains("Отчёт об удержании") && text.contains("Что сделать"), "{text}");
}

#[test]
fn the_report_opens_with_this_weeks_list() {
    let r = full_report();
    let seg = r.sections.segments.as_ref().unwrap();
    assert!(seg.total_tasks > seg.top_tasks.len() && seg.top_tasks.len() == 10, "{} tasks, {} shown", seg.total_tasks, seg.top_tasks.len());
    let html = holdfast_report::render(&r);
    let week = html.find("<section id=\"week\">").expect("the week's list");
    let summary = html.find("<section id=\"summary\">").expect("at a glance");
    let movement = html.find("<section id=\"movement\">").expect("movement");
    assert!(week < summary && summary < movement, "the list comes first, then at a glance, then the metrics");
    // The list: whom, what to do, why, the stake, and how many more.
    let list = &html[week..summary];
    for x in &seg.top_tasks {
        assert!(list.contains(&format!("<td data-label=\"Customer\">{}</td>", x.customer_id)), "{} is not in the list", x.customer_id);
    }
    assert!(list.contains("What to do") && list.contains("<td class=\"wrap\" data-label=\"Why\">"), "the reasons wrap");
    assert!(list.contains("<table class=\"stack\">"), "on a phone the list becomes cards");
    assert!(list.contains(&format!("…and {} more", seg.total_tasks - 10)));
    // "At a glance" ends with what to do.
    let glance = &html[summary..movement];
    let last_p = glance.rfind("<p class=\"do\">").expect("a do-this line");
    assert!(glance[last_p..].starts_with("<p class=\"do\">Do this: work through this week&#39;s list"), "{}", &glance[last_p..]);
    // The dashboard's sections still come alone.
    let frag = holdfast_report::render_sections(&r, &["retention", "revenue"]);
    assert!(frag.starts_with("<section id=\"retention\">") && !frag.contains("id=\"week\"") && !frag.contains("<html"));
    let ru = holdfast_report::render_sections_in(&r, &["week"], holdfast_report::Lang::Ru);
    assert!(ru.contains("На этой неделе") && ru.contains("Что сделать"));
}

#[test]
fn charts_keep_their_labels_inside() {
    let r = full_report();
    let html = holdfast_report::render(&r);
    // Every segment is named under its bars, on screens and on phones.
    let n = r.sections.segments.as_ref().unwrap().segments.len();
    let seg_at = html.find("<section id=\"segments\">").unwrap();
    for class in ["chart wide", "chart narrow"] {
        let at = seg_at + html[seg_at..].find(&format!("<svg class=\"{class}\"")).unwrap();
        let svg = &html[at..at + html[at..].find("</svg>").unwrap()];
        assert_eq!(svg.matches("class=\"xl\"").count(), n, "{class}: a segment without its name");
    }
    // Segment names do not fit side by side: they are turned.
    let seg = &html[html.find("<section id=\"segments\">").unwrap()..];
    let svg = &seg[seg.find("<svg").unwrap()..seg.find("</svg>").unwrap()];
    assert!(svg.contains("class=\"xl\"") && svg.contains("rotate(-40"), "segment labels are not rotated");
    // Shares are drawn up from zero: no bar below the axis in the segments chart.
    let seg_ticks = texts(svg, "<text class=\"yl\"", "</text>");
    assert!(!seg_ticks.is_empty() && !seg_ticks.iter().any(|t| t.starts_with('\u{2212}') || t.starts_with('-')), "{seg_ticks:?}");
    // The retention chart stays on 0–100%: the simple ratio has its own chart.
    let ret = &html[html.find("<section id=\"retention\">").unwrap()..html.find("<section id=\"revenue\">").unwrap()];
    assert_eq!(ret.matches("<svg class=\"chart wide\"").count(), 2);
    assert_eq!(ret.matches("<svg class=\"chart narrow\"").count(), 2, "each chart has its phone drawing");
    let first = &ret[..ret.find("</svg>").unwrap()];
    let ticks = texts(first, "<text class=\"yl\"", "</text>");
    let top: f64 = ticks.last().and_then(|t| t.trim_end_matches('%').parse().ok()).expect("a top tick");
    assert!(top <= 100.0, "retention ticks: {ticks:?}");
    // Every chart has its axis titles.
    assert!(html.matches("<svg").count() <= html.matches("class=\"axis-title\"").count());
}
