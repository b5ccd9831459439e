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
    for key in ["start", "end", "active_start", "active_end", "new", "reactivated", "lost", "kept", "orders", "revenue", "retention_rate", "churn_rate", "simple_retention_ratio"] {
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
        fn title(&self) -> String {
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
