//! The HTML report of `holdfast analyze` in a real browser: headless Chromium (Debian's
//! `chromium` and `chromium-driver`, installed by `scripts/test` when missing) opens the report of
//! a generated orders file, written in English and in Russian, at 1400 px and at a 390 px phone's
//! width. In the browser it checks that no chart's text lies outside its SVG's box, that no two x
//! labels of a chart overlap (their turned boxes compared, not just their bounding rectangles),
//! and that at 390 px the page has no horizontal scroll — wide tables scroll inside their card,
//! with every folded table opened.
//!
//! Full-page screenshots go to `<target>/artefacts/report/` (`HOLDFAST_REPORT_ARTEFACTS`
//! overrides it): `report-en-1400.png`, `report-en-390.png`, `report-ru-1400.png`,
//! `report-ru-390.png`. The test fails, never skips, when Chromium is missing.

mod common;
mod webdriver;

use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::time::Instant;
use webdriver::{chromedriver, Driver};

fn exe() -> &'static str {
    env!("CARGO_BIN_EXE_holdfast")
}

fn artefacts() -> PathBuf {
    let dir = match std::env::var_os("HOLDFAST_REPORT_ARTEFACTS") {
        Some(d) => PathBuf::from(d),
        None => Path::new(exe()).parent().and_then(Path::parent).expect("the binary lives in <target>/<profile>/").join("artefacts/report"),
    };
    std::fs::create_dir_all(&dir).expect("artefacts directory");
    dir
}

/// What is wrong with the charts of the page as the browser lays it out now: text outside its
/// SVG, overlapping x labels (class `xl`, compared as turned rectangles: separating axis test).
const CHART_PROBLEMS: &str = r#"
const bad = [];
const corners = (t) => {
  const b = t.getBBox(), m = t.getScreenCTM();
  return [[b.x, b.y], [b.x + b.width, b.y], [b.x + b.width, b.y + b.height], [b.x, b.y + b.height]]
    .map(([x, y]) => new DOMPoint(x, y).matrixTransform(m));
};
const overlap = (p, q) => {
  for (const poly of [p, q]) {
    for (let i = 0; i < 4; i++) {
      const a = poly[i], b = poly[(i + 1) % 4];
      const nx = b.y - a.y, ny = a.x - b.x, len = Math.hypot(nx, ny) || 1;
      const proj = (pts) => pts.map(pt => (pt.x * nx + pt.y * ny) / len);
      const pp = proj(p), qq = proj(q);
      if (Math.max(...pp) <= Math.min(...qq) + 0.5 || Math.max(...qq) <= Math.min(...pp) + 0.5) return false;
    }
  }
  return true;
};
// Each chart comes drawn twice, for screens and for phones; the style sheet shows one.
const svgs = [...document.querySelectorAll('svg.chart')].filter(x => x.getClientRects().length > 0);
const figures = document.querySelectorAll('figure').length;
if (svgs.length !== figures) bad.push(`${svgs.length} charts shown in ${figures} figures: one each expected`);
const narrow = svgs.filter(x => x.classList.contains('narrow')).length;
if (narrow !== 0 && narrow !== svgs.length) bad.push(`${narrow} of ${svgs.length} charts are the phone drawing`);
svgs.forEach((svg, si) => {
  const box = svg.getBoundingClientRect();
  const name = `chart ${si} "${svg.getAttribute('aria-label')}"`;
  if (box.width < 1) { bad.push(`${name} has no width`); return; }
  for (const t of svg.querySelectorAll('text')) {
    const r = t.getBoundingClientRect();
    if (r.width === 0 && r.height === 0) continue;
    if (r.left < box.left - 0.5 || r.right > box.right + 0.5 || r.top < box.top - 0.5 || r.bottom > box.bottom + 0.5) {
      bad.push(`${name}: "${t.textContent}" at x ${r.left.toFixed(1)}–${r.right.toFixed(1)}, y ${r.top.toFixed(1)}–${r.bottom.toFixed(1)} leaves the chart's box x ${box.left.toFixed(1)}–${box.right.toFixed(1)}, y ${box.top.toFixed(1)}–${box.bottom.toFixed(1)}`);
    }
  }
  const labels = [...svg.querySelectorAll('text.xl')].map(t => [t.textContent, corners(t)]);
  for (let i = 0; i + 1 < labels.length; i++) {
    if (overlap(labels[i][1], labels[i + 1][1])) bad.push(`${name}: x labels "${labels[i][0]}" and "${labels[i + 1][0]}" overlap`);
  }
});
const font = svgs.length ? Math.min(...svgs.map(x => x.querySelector('text').getBoundingClientRect().height)) : 0;
return {charts: svgs.length, narrow, font, labels: svgs.map(x => x.querySelectorAll('text.xl').length).reduce((a, b) => a + b, 0), problems: bad};
"#;

/// Sets the viewport to `width` (a phone's when `mobile`) and lets the layout settle.
fn viewport(d: &Driver, width: u32, mobile: bool) {
    d.cdp("Emulation.setDeviceMetricsOverride", json!({"width": width, "height": if mobile { 844 } else { 900 }, "deviceScaleFactor": 1, "mobile": mobile}));
    d.js("return document.body.offsetHeight", json!([]));
}

/// The problems of the charts as laid out now, each prefixed with `what`.
fn chart_problems(d: &Driver, what: &str, mobile: bool) -> Vec<String> {
    let v: Value = d.js(CHART_PROBLEMS, json!([]));
    let mut problems: Vec<String> = serde_json::from_value(v["problems"].clone()).expect("problems");
    let charts = v["charts"].as_u64().unwrap_or(0);
    if charts < 10 {
        problems.push(format!("only {charts} charts"));
    }
    if v["labels"].as_u64().unwrap_or(0) < 50 {
        problems.push(format!("too few x labels: {v}"));
    }
    // On a phone the phone drawings, whose text stays readable.
    if mobile != (v["narrow"].as_u64().unwrap_or(0) > 0) {
        problems.push(format!("the {} drawings are shown", if mobile { "screen" } else { "phone" }));
    }
    if v["font"].as_f64().unwrap_or(0.0) < 9.0 {
        problems.push(format!("chart text is only {} px high", v["font"]));
    }
    problems.into_iter().map(|p| format!("{what}: {p}")).collect()
}

/// The page is no wider than the screen, with every folded table opened.
fn horizontal_scroll(d: &Driver, what: &str) -> Option<String> {
    let v = d.js(
        "document.querySelectorAll('details').forEach(x => x.open = true); const e = document.documentElement; \
         const wide = [...document.querySelectorAll('main > *, main section > *')].filter(x => x.getBoundingClientRect().right > e.clientWidth + 0.5).map(x => x.tagName + '.' + x.className + ' ' + x.getBoundingClientRect().right.toFixed(0)); \
         const r = [e.scrollWidth, e.clientWidth, wide.slice(0, 10)]; document.querySelectorAll('details').forEach(x => x.open = false); return r",
        json!([]),
    );
    let (scroll, client) = (v[0].as_u64().unwrap_or(0), v[1].as_u64().unwrap_or(0));
    (scroll > client).then(|| format!("{what}: the page scrolls sideways ({scroll} px of content in {client} px): {}", v[2]))
}

#[test]
fn the_report_in_a_real_browser() {
    let started = Instant::now();
    let _reaper = webdriver::Reaper::new();
    let out = artefacts();
    let tmp = tempfile::tempdir().expect("temp dir");
    let db = format!("sqlite://{}", tmp.path().join("h.db").display());
    let orders = tmp.path().join("orders.csv");
    common::ok(&db, &["generate", "--customers", "400", "--seed", "12", "--out", orders.to_str().unwrap()]);
    let (_driver_proc, wd_port) = chromedriver(&out.join("chromedriver.log"));
    let profile = tempfile::tempdir().expect("profile dir");
    let d = Driver::new(wd_port, profile.path());
    let mut shots = Vec::new();
    let mut problems = Vec::new();
    for lang in ["en", "ru"] {
        let html = tmp.path().join(format!("report-{lang}.html"));
        common::ok(&db, &["--lang", lang, "analyze", orders.to_str().unwrap(), "--out", html.to_str().unwrap()]);
        d.goto(&format!("file://{}", html.display()));
        let lang_attr = d.js("return document.documentElement.lang", json!([]));
        assert_eq!(lang_attr, lang, "<html lang> of the {lang} report");
        let first = d.js("return document.querySelector('main section').id", json!([]));
        assert_eq!(first, "week", "the {lang} report does not open with this week's list");
        for (width, mobile) in [(1400, false), (390, true)] {
            let what = format!("the {lang} report at {width} px");
            viewport(&d, width, mobile);
            problems.extend(chart_problems(&d, &what, mobile));
            if mobile {
                problems.extend(horizontal_scroll(&d, &what));
            }
            let png = d.screenshot(width, mobile, 30_000);
            assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "the screenshot of {what} is not a PNG");
            let file = out.join(format!("report-{lang}-{width}.png"));
            std::fs::write(&file, png).expect("write a screenshot");
            shots.push(file);
        }
    }
    assert!(problems.is_empty(), "{} problems (screenshots in {}):\n{}", problems.len(), out.display(), problems.join("\n"));
    eprintln!("report in the browser: {} screenshots in {} ({:.1} s)", shots.len(), out.display(), started.elapsed().as_secs_f64());
}
