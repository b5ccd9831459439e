//! The dashboard: server-rendered pages (askama, compile-time checked and escaped), plain forms
//! that work without script, in English and Russian.

use crate::api::{self, blocking};
use crate::auth::{self, Caller, PageCaller, Who};
use crate::error::{ApiError, ApiResult};
use crate::i18n::Lang;
use crate::state::Shared;
use askama::Template;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use holdfast_app::{AnalyzeRequest, Sections};
use holdfast_core::flags::FlagKind;
use holdfast_core::segments::{Segment, Tier};
use holdfast_core::Granularity;
use holdfast_report::svg::esc as html_escape;
use holdfast_report::AnalyzeReport;
use holdfast_store::{Entity, Role, Scope, TaskFilter, TaskState};
use serde::Deserialize;
use std::sync::Arc;

pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/", get(overview))
        .route("/today", get(today))
        .route("/customers", get(customers))
        .route("/customers/{id}", get(customer))
        .route("/customers/{id}/notes", post(customer_note))
        .route("/customers/{id}/dates", post(customer_date))
        .route("/customers/{id}/interactions", post(customer_interaction))
        .route("/cohorts", get(cohorts))
        .route("/segments", get(segments))
        .route("/prediction", get(prediction))
        .route("/import", get(import_page).post(import_check))
        .route("/import/run", post(import_run))
        .route("/settings", get(settings))
        .route("/settings/workspace", post(settings_workspace))
        .route("/settings/users", post(settings_users))
        .route("/settings/tokens", post(settings_tokens))
        .route("/settings/tokens/{id}/revoke", post(settings_token_revoke))
        .route("/settings/lang", post(settings_lang))
        .route("/tasks/{id}/{action}", post(task_action))
        .route("/login", get(login_page).post(login))
        .route("/logout", post(logout))
        .route("/setup/{secret}", get(setup_page).post(setup))
        .route(
            "/assets/app.css",
            get(|| async {
                ([(header::CONTENT_TYPE, "text/css; charset=utf-8"), (header::CACHE_CONTROL, "public, max-age=3600")], include_str!("../assets/app.css"))
            }),
        )
        .route(
            "/assets/app.js",
            get(|| async {
                ([(header::CONTENT_TYPE, "text/javascript; charset=utf-8"), (header::CACHE_CONTROL, "public, max-age=3600")], include_str!("../assets/app.js"))
            }),
        )
}

/// No such route: the API answers in its error shape, pages with a page.
pub async fn not_found(uri: axum::http::Uri) -> Response {
    if uri.path().starts_with("/api/") {
        return ApiError::not_found("no such API route; see /api/v1/openapi.json").into_response();
    }
    (StatusCode::NOT_FOUND, Html("<!DOCTYPE html><title>Not found · Holdfast</title><link rel=stylesheet href=/assets/app.css><main><h1>Not found</h1><p><a href=\"/\">Holdfast</a></p></main>")).into_response()
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

// --- Layout -------------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "layout.html")]
struct Layout<'a> {
    lang: Lang,
    title: &'a str,
    workspace: &'a str,
    nav: Vec<(&'static str, &'static str, bool)>,
    csrf: &'a str,
    path: &'a str,
    user: &'a str,
    role: &'static str,
    flash: &'a str,
    body: &'a str,
    as_of: String,
}

const NAV: [(&str, &str); 9] = [
    ("/", "Overview"),
    ("/today", "Today"),
    ("/customers", "Customers"),
    ("/cohorts", "Cohorts"),
    ("/segments", "Segments"),
    ("/prediction", "Prediction"),
    ("/campaigns", "Campaigns"),
    ("/import", "Import"),
    ("/settings", "Settings"),
];

/// A whole page around `body`.
pub(crate) fn page(c: &Caller, path: &str, title: &str, body: &str, flash: &str) -> Response {
    let s = c.who.session().expect("pages are for people");
    let layout = Layout {
        lang: c.lang,
        title,
        workspace: &c.app.ws.name,
        nav: NAV.iter().map(|(href, label)| (*href, c.lang.t(label), *href == path || (*href != "/" && path.starts_with(href)))).collect(),
        csrf: &s.csrf,
        path,
        user: &s.user.email,
        role: s.role.as_str(),
        flash,
        body,
        as_of: if c.lang == Lang::Ru {
            format!("суммы в {}, даты в поясе {}", c.app.ws.currency, c.app.ws.time_zone)
        } else {
            format!("amounts in {}, dates in {}", c.app.ws.currency, c.app.ws.time_zone)
        },
    };
    render(&layout)
}

fn render(t: &impl Template) -> Response {
    match t.render() {
        Ok(html) => Html(html).into_response(),
        Err(e) => {
            eprintln!("holdfast serve: a page did not render: {e}");
            (StatusCode::INTERNAL_SERVER_ERROR, "a page did not render; the server's log has the details").into_response()
        }
    }
}

/// An error as a page (the API's errors are JSON).
pub(crate) fn error_page(c: &Caller, path: &str, e: ApiError) -> Response {
    let body = format!("<p class=\"error\">{}</p>", html_escape(&e.message));
    let mut r = page(c, path, c.lang.t("Overview"), &body, "");
    *r.status_mut() = e.status;
    r
}

/// Percent-encodes a path segment (customer ids may hold anything).
pub(crate) fn seg(s: &str) -> String {
    s.bytes().map(|b| if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) { (b as char).to_string() } else { format!("%{b:02X}") }).collect()
}

/// A local path to go back to after a form (never another site).
fn local(back: Option<&str>, default: &str) -> String {
    match back {
        Some(b) if b.starts_with('/') && !b.starts_with("//") && !b.contains('\\') => b.to_owned(),
        _ => default.to_owned(),
    }
}

pub(crate) fn check_csrf(c: &Caller, token: &str) -> Result<(), Response> {
    let ok = c.who.session().is_some_and(|s| holdfast_app::accounts::same_secret(token, &s.csrf));
    if ok {
        Ok(())
    } else {
        Err(ApiError::forbidden("the form is out of date or not from this site: reload the page and try again").into_response())
    }
}

pub(crate) fn require_write(c: &Caller) -> Result<(), Response> {
    c.require_write().map_err(IntoResponse::into_response)
}

// --- The report behind the figure pages ---------------------------------------------------------

/// The workspace's report (retention; `sections` adds segments or prediction), computed once per
/// import of orders and kept.
async fn report(shared: &Shared, c: &Caller, granularity: Granularity, sections: Sections) -> ApiResult<Option<Arc<AnalyzeReport>>> {
    let (cal, log) = shared.orders(&c.app).await?;
    if log.n_orders() == 0 {
        return Ok(None);
    }
    let key = format!("report:{granularity}:{}:{}:{}", c.app.ws.window_days, sections.segments, sections.prediction);
    let name = c.app.ws.name.clone();
    let window = c.app.ws.window_days;
    let r = shared
        .cached(&c.app, &key, move || {
            let req = AnalyzeRequest { as_of: None, window_days: window, granularity, sections };
            holdfast_app::report_of_log(&log, &cal, &name, &req, None, &mut holdfast_app::timing::Phases::from_env()).map_err(ApiError::from)
        })
        .await?;
    Ok(Some(r))
}

// --- Overview -----------------------------------------------------------------------------------

struct CardView {
    label: String,
    value: String,
    details: Vec<String>,
    definition: &'static str,
    blind_spot: &'static str,
}

struct MoveRow {
    label: String,
    complete: bool,
    start: String,
    new: String,
    reactivated: String,
    lost: String,
    end: String,
    retention: String,
    churn: String,
    revenue: String,
}

#[derive(Template)]
#[template(path = "overview.html")]
struct OverviewBody {
    lang: Lang,
    empty: bool,
    week: WeekView,
    lead: String,
    cards: Vec<CardView>,
    rows: Vec<MoveRow>,
    report: String,
}

#[derive(Deserialize)]
struct PeriodQuery {
    period: Option<String>,
    /// The cohort heat map shown: `customers` (default) or `revenue`.
    metric: Option<String>,
}

fn granularity(q: &PeriodQuery) -> Granularity {
    q.period.as_deref().and_then(|p| p.parse().ok()).unwrap_or(Granularity::Month)
}

async fn overview(PageCaller(c): PageCaller, State(shared): State<Shared>, Query(q): Query<PeriodQuery>) -> Response {
    let r = match report(&shared, &c, granularity(&q), Sections::NONE).await {
        Ok(r) => r,
        Err(e) => return error_page(&c, "/", e),
    };
    let l = c.lang;
    let Some(r) = r else {
        let body = OverviewBody { lang: l, empty: true, week: WeekView::default(), lead: String::new(), cards: vec![], rows: vec![], report: String::new() };
        return page(&c, "/", l.t("Overview"), &body.render().unwrap_or_default(), "");
    };
    let cur = r.source.currency;
    let h = &r.headline;
    let last = r.movement.periods.iter().rev().find(|p| p.complete);
    let ru = l == Lang::Ru;
    let lead = match last {
        Some(p) if ru => format!(
            "{}: на начало было {} активных; ушли {}, пришли {} новых и вернулись {}; на конец {}. Удержание {} ({} к прошлому периоду).",
            p.label,
            l.int(p.active_start as i64),
            l.int(p.lost as i64),
            l.int(p.new as i64),
            l.int(p.reactivated as i64),
            l.int(p.active_end as i64),
            l.pct(p.retention_rate),
            l.pp(p.retention_rate_change_previous)
        ),
        Some(p) => format!(
            "{}: {} customers were active at the start; we lost {} and won {} ({} new, {} back); {} at the end. Retention {} ({} vs the period before).",
            p.label,
            l.int(p.active_start as i64),
            l.int(p.lost as i64),
            l.int((p.new + p.reactivated) as i64),
            l.int(p.new as i64),
            l.int(p.reactivated as i64),
            l.int(p.active_end as i64),
            l.pct(p.retention_rate),
            l.pp(p.retention_rate_change_previous)
        ),
        None => String::new(),
    };
    let vs = |prev: Option<f64>, year: Option<f64>| {
        vec![
            format!("{} {}", if ru { "к прошлому:" } else { "vs last period:" }, l.pp(prev)),
            format!("{} {}", if ru { "к году назад:" } else { "vs a year ago:" }, l.pp(year)),
        ]
    };
    let mut cards = vec![
        CardView {
            label: l.t("Active customers").into(),
            value: l.int(h.active_now as i64),
            details: vec![format!("{} {}", l.int(h.customers as i64), if ru { "клиентов всего" } else { "customers in all" })],
            definition: if ru {
                "Клиенты, чей последний заказ был не раньше окна неактивности назад."
            } else {
                "Customers whose last counted order is within the inactivity window."
            },
            blind_spot: if ru {
                "Не отличает того, кто купил вчера, от того, кто вот-вот уйдёт."
            } else {
                "Says nothing of who is about to lapse: yesterday's buyer and one at day W−1 count the same."
            },
        },
        CardView {
            label: l.t("Retention").into(),
            value: l.pct(h.retention_rate.value),
            details: vs(h.retention_rate.change_previous, h.retention_rate.change_year_ago),
            definition: if ru {
                "Оставшиеся ÷ активные на начало периода (K / S)."
            } else {
                "Kept ÷ active at the start of the period (K / S)."
            },
            blind_spot: if ru {
                "Вернувшиеся не считаются оставшимися; новые не входят."
            } else {
                "Won-back customers are not kept; new customers are not in it at all."
            },
        },
        CardView {
            label: l.t("Churn").into(),
            value: l.pct(h.churn_rate.value),
            details: vs(h.churn_rate.change_previous, h.churn_rate.change_year_ago),
            definition: if ru {
                "Ушедшие ÷ активные на начало (L / S); удержание + отток = 100%."
            } else {
                "Lost ÷ active at the start (L / S); retention + churn = 100%."
            },
            blind_spot: if ru {
                "«Ушедший» — тот, кто молчит дольше окна; редкие покупатели уходят позже, чем кажется."
            } else {
                "Lost means silent beyond the window: slow buyers are counted late, fast ones early."
            },
        },
    ];
    if let Some(p) = last {
        cards.push(CardView {
            label: l.t("Revenue").into(),
            value: l.money_major(p.revenue, cur),
            details: vec![
                format!("{}: {}", l.t("New customers' revenue"), l.money_major(p.revenue - p.returning_revenue, cur)),
                format!("{}: {}", l.t("Returning customers' revenue"), l.money_major(p.returning_revenue, cur)),
            ],
            definition: if ru {
                "Сумма засчитанных заказов периода; первые заказы — выручка новых."
            } else {
                "Counted orders of the period; first orders are new customers' revenue."
            },
            blind_spot: if ru {
                "Не показывает маржу и возвраты после конца периода."
            } else {
                "Not margin; refunds after the period's end are not taken back."
            },
        });
    }
    // Subscriptions: net and gross revenue retention of the last finished month.
    match holdfast_app::mrr::mrr_report(&c.app, Granularity::Month, None, None).await {
        Ok(Some((m, cur))) => {
            let n = m.periods.len();
            if let Some(p) = m.periods.get(n.saturating_sub(2)).filter(|_| n >= 2).or(m.periods.last()) {
                cards.push(CardView {
                    label: if ru { "NRR (подписки)".into() } else { "NRR (subscriptions)".into() },
                    value: l.pct(p.nrr),
                    details: vec![format!("GRR {}", l.pct(p.grr)), format!("{}: MRR {} → {}", p.label, l.money(p.mrr_start, cur), l.money(p.mrr_end, cur))],
                    definition: if ru {
                        "MRR клиентов с начала периода на его конец (с расширениями, без новых) ÷ MRR на начало; GRR — без расширений."
                    } else {
                        "MRR at the period's end of the subscribers there at its start (expansion in, new out) ÷ their MRR at the start; GRR leaves expansion out."
                    },
                    blind_spot: if ru { "Считает деньги, а не клиентов: один крупный клиент может скрыть отток многих мелких." } else { "Counts money, not customers: one large expansion can hide many small losses." },
                });
            }
        }
        Ok(None) => {}
        Err(e) => return error_page(&c, "/", e.into()),
    }
    let rows = r
        .movement
        .periods
        .iter()
        .rev()
        .take(13)
        .map(|p| MoveRow {
            label: p.label.clone(),
            complete: p.complete,
            start: l.int(p.active_start as i64),
            new: l.int(p.new as i64),
            reactivated: l.int(p.reactivated as i64),
            lost: l.int(p.lost as i64),
            end: l.int(p.active_end as i64),
            retention: l.pct(p.retention_rate),
            churn: l.pct(p.churn_rate),
            revenue: l.money_major(p.revenue, cur),
        })
        .collect();
    let week = match week_list(&c).await {
        Ok(w) => w,
        Err(e) => return error_page(&c, "/", e),
    };
    let report = holdfast_report::render_sections_in(&r, &["retention", "revenue"], l.report());
    let body = OverviewBody { lang: l, empty: false, week, lead, cards, rows, report };
    page(&c, "/", l.t("Overview"), &body.render().unwrap_or_default(), "")
}

/// This week's list, as the dashboard opens with it: whom to contact, why, what to do.
#[derive(Default)]
struct WeekView {
    /// "12 personal tasks this week, 5 of them yours; 40 waiting."
    summary: String,
    items: Vec<WeekItem>,
    /// Whether the list shows the person's own customers (else everyone's).
    mine: bool,
}

struct WeekItem {
    customer: String,
    href: String,
    reason: String,
    step: String,
    stake: String,
    owner: String,
}

/// The first tasks of this week's plan — the person's own customers when they have any, else
/// everyone's — with the counts of the week.
async fn week_list(c: &Caller) -> ApiResult<WeekView> {
    use holdfast_core::actions::Plan;
    let app = &c.app;
    let l = c.lang;
    let email = c.who.session().map(|s| s.user.email.clone());
    let open = TaskFilter { state: Some(TaskState::Open), ..Default::default() };
    let this_week = TaskFilter { plan: Some(Plan::ThisWeek), ..open.clone() };
    let total = app.store.task_count(app.ws.id, &this_week).await?;
    let waiting = app.store.task_count(app.ws.id, &TaskFilter { plan: Some(Plan::Waiting), ..open.clone() }).await?;
    let mine_filter = email.map(|e| TaskFilter { owner: Some(e), ..this_week.clone() });
    let mine = match &mine_filter {
        Some(f) => app.store.task_count(app.ws.id, f).await?,
        None => 0,
    };
    let filter = if mine > 0 { mine_filter.unwrap_or(this_week) } else { this_week };
    let t_now = now();
    let page = app.store.tasks_page(app.ws.id, &filter, None, 20).await?;
    let items = page
        .items
        .iter()
        .filter(|t| t.snoozed_until.is_none_or(|u| u <= t_now))
        .take(7)
        .map(|t| WeekItem {
            customer: t.customer.clone(),
            href: seg(&t.customer),
            reason: t.reason_in(l == Lang::Ru).to_owned(),
            step: holdfast_report::vocab::word(l.report(), &t.suggested_step),
            stake: t.stake.map(|m| l.money(m, app.ws.currency)).unwrap_or_default(),
            owner: t.assignee.clone().or_else(|| t.owner.clone()).unwrap_or_default(),
        })
        .collect();
    let summary = if l == Lang::Ru {
        format!("Личных задач на этой неделе: {}, из них ваших: {}; ждут очереди: {}.", l.int(total as i64), l.int(mine as i64), l.int(waiting as i64))
    } else {
        format!("{} personal tasks this week, {} of them yours; {} waiting.", l.int(total as i64), l.int(mine as i64), l.int(waiting as i64))
    };
    Ok(WeekView { summary, items, mine: mine > 0 })
}

async fn figure_page(
    c: Caller,
    shared: Shared,
    path: &'static str,
    title: &'static str,
    sections: Sections,
    ids: &'static [&'static str],
    q: PeriodQuery,
    lead: fn(&AnalyzeReport, Lang, &PeriodQuery) -> String,
    extra: String,
) -> Response {
    match report(&shared, &c, granularity(&q), sections).await {
        Ok(Some(r)) => {
            let per = granularity(&q);
            let keep = if q.metric.as_deref() == Some("revenue") { "&metric=revenue" } else { "" };
            let switch: String = [
                ("month", if c.lang == Lang::Ru { "по месяцам" } else { "by month" }),
                ("quarter", if c.lang == Lang::Ru { "по кварталам" } else { "by quarter" }),
            ]
            .iter()
            .map(
                |(p, label)| {
                    if per.to_string() == *p {
                        format!("<strong>{label}</strong>")
                    } else {
                        format!("<a href=\"{path}?period={p}{keep}\">{label}</a>")
                    }
                },
            )
            .collect::<Vec<_>>()
            .join(" · ");
            let shown = if q.metric.as_deref() == Some("revenue") { "show-revenue" } else { "show-customers" };
            let body = format!(
                "<p class=\"switch\">{switch}</p>{}{extra}<div class=\"report {shown}\">{}</div>",
                lead(&r, c.lang, &q),
                holdfast_report::render_sections_in(&r, ids, c.lang.report())
            );
            page(&c, path, c.lang.t(title), &body, "")
        }
        Ok(None) => page(&c, path, c.lang.t(title), &format!("<p class=\"empty\">{}</p>", html_escape(c.lang.t("Nothing here yet: import orders first."))), ""),
        Err(e) => error_page(&c, path, e),
    }
}

fn no_lead(_: &AnalyzeReport, _: Lang, _: &PeriodQuery) -> String {
    String::new()
}

async fn cohorts(PageCaller(c): PageCaller, State(shared): State<Shared>, Query(q): Query<PeriodQuery>) -> Response {
    figure_page(c, shared, "/cohorts", "Cohorts", Sections::NONE, &["cohorts", "repeat", "ltv"], q, metric_switch, String::new()).await
}

/// Customers or revenue in the cohort heat map, keeping the period; the page's style shows the
/// chosen map (`show-customers` / `show-revenue` on the report).
fn metric_switch(_: &AnalyzeReport, l: Lang, q: &PeriodQuery) -> String {
    let per = q.period.as_deref().and_then(|p| p.parse::<Granularity>().ok()).unwrap_or(Granularity::Month);
    let revenue = q.metric.as_deref() == Some("revenue");
    let link = |m: &str, label: &str, on: bool| {
        if on {
            format!("<strong>{label}</strong>")
        } else {
            format!("<a href=\"/cohorts?period={per}&metric={m}\">{label}</a>")
        }
    };
    let (c, r) = if l == Lang::Ru { ("клиенты", "выручка на клиента") } else { ("customers", "revenue per customer") };
    format!("<p class=\"switch\">{} · {}</p>", link("customers", c, !revenue), link("revenue", r, revenue))
}

async fn segments(PageCaller(c): PageCaller, State(shared): State<Shared>, Query(q): Query<PeriodQuery>) -> Response {
    let risk = match c.app.store.risk_by_segment(c.app.ws.id).await {
        Ok(rows) => segment_risk(&rows, c.lang),
        Err(e) => return error_page(&c, "/segments", e.into()),
    };
    figure_page(c, shared, "/segments", "Segments", Sections { segments: true, ..Sections::NONE }, &["segments", "rfm"], q, segment_links, risk).await
}

/// The learned churn risk by segment, from the scoring snapshot: customers scored, the mean risk
/// and how many are more likely than not to buy nothing within the model's horizon.
fn segment_risk(rows: &[holdfast_store::SegmentRisk], l: Lang) -> String {
    if rows.is_empty() {
        return String::new();
    }
    let ru = l == Lang::Ru;
    let head = if ru {
        "<h2>Риск оттока по сегментам</h2><p class=\"muted\">Обученная модель (holdfast score): вероятность, что клиент ничего не купит за горизонт модели.</p>\
         <div class=\"table-wrap\"><table class=\"grid\"><thead><tr><th>Сегмент</th><th class=\"num\">Клиентов</th><th class=\"num\">Средний риск</th><th class=\"num\">Риск ≥ 50%</th></tr></thead><tbody>"
    } else {
        "<h2>Churn risk by segment</h2><p class=\"muted\">The learned model (holdfast score): the chance a customer buys nothing within the model's horizon.</p>\
         <div class=\"table-wrap\"><table class=\"grid\"><thead><tr><th>Segment</th><th class=\"num\">Customers</th><th class=\"num\">Mean risk</th><th class=\"num\">Risk ≥ 50%</th></tr></thead><tbody>"
    };
    let body: String = rows
        .iter()
        .map(|r| {
            let name = r.segment.map_or("—".to_owned(), |s| holdfast_report::vocab::word(l.report(), s.key()));
            let href = r.segment.map(|s| format!("/customers?segment={}", s.key())).unwrap_or_default();
            format!(
                "<tr><td><a href=\"{}\">{}</a></td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
                html_escape(&href),
                html_escape(&name),
                l.int(r.customers as i64),
                l.pct(Some(r.mean_risk)),
                l.int(r.above_half as i64)
            )
        })
        .collect();
    format!("{head}{body}</tbody></table></div>")
}

/// Each segment's size, linking to the list of its customers.
fn segment_links(r: &AnalyzeReport, l: Lang, _: &PeriodQuery) -> String {
    let Some(s) = &r.sections.segments else { return String::new() };
    let links: String = s
        .segments
        .iter()
        .filter(|row| row.customers > 0)
        .map(|row| {
            format!(
                "<li><a href=\"/customers?segment={}\">{}</a> <span class=\"num\">{}</span></li>",
                row.segment,
                html_escape(&holdfast_report::vocab::word(l.report(), row.name)),
                l.int(row.customers as i64)
            )
        })
        .collect();
    format!("<section class=\"card\"><h2>{}</h2><ul class=\"segment-links\">{links}</ul></section>", html_escape(l.t("Customers by segment")))
}

async fn prediction(PageCaller(c): PageCaller, State(shared): State<Shared>, Query(q): Query<PeriodQuery>) -> Response {
    figure_page(c, shared, "/prediction", "Prediction", Sections { prediction: true, ..Sections::NONE }, &["prediction"], q, no_lead, String::new()).await
}

// --- Today --------------------------------------------------------------------------------------

struct TaskView {
    id: i64,
    customer: String,
    customer_href: String,
    kind: &'static str,
    kind_label: String,
    /// The task's other flags (kind, label).
    more_kinds: Vec<(&'static str, String)>,
    /// Where the task stands in the week: "this week" or "waiting" (empty when not planned).
    plan: String,
    stake: String,
    owner: String,
    due: String,
    reason: String,
    step: String,
    tier: String,
}

#[derive(Template)]
#[template(path = "today.html")]
struct TodayBody {
    lang: Lang,
    csrf: String,
    owner: String,
    owners: Vec<String>,
    kind: String,
    kinds: Vec<(String, String)>,
    tier: String,
    tiers: Vec<(String, String)>,
    summary: String,
    tasks: Vec<TaskView>,
    /// How many of `tasks`, from the first, are the person's own customers'.
    mine_count: usize,
    can_write: bool,
    members: Vec<String>,
    back: String,
    next: String,
}

#[derive(Deserialize)]
struct TodayQuery {
    owner: Option<String>,
    kind: Option<String>,
    tier: Option<String>,
    after: Option<String>,
}

async fn today(PageCaller(c): PageCaller, State(shared): State<Shared>, Query(q): Query<TodayQuery>) -> Response {
    match today_body(&c, &shared, q).await {
        Ok(body) => page(&c, "/today", c.lang.t("Today"), &body, ""),
        Err(e) => error_page(&c, "/today", e),
    }
}

async fn today_body(c: &Caller, shared: &Shared, q: TodayQuery) -> ApiResult<String> {
    let app = &c.app;
    let s = c.who.session().expect("a page caller is a person");
    let owner_q = q.owner.clone().unwrap_or_default();
    let owner = match owner_q.as_str() {
        "" => None,
        "me" => Some(s.user.email.clone()),
        o => Some(o.to_owned()),
    };
    let kind = q.kind.as_deref().filter(|k| !k.is_empty()).and_then(FlagKind::parse);
    let tier = q.tier.as_deref().and_then(Tier::parse);
    let filter = TaskFilter { state: Some(TaskState::Open), owner, kind, tier, ..Default::default() };
    let after = q.after.as_deref().and_then(|a| a.parse().ok());
    let page = app.store.tasks_page(app.ws.id, &filter, after.as_ref(), 50).await?;
    // The person's own customers come first: on the first page of the unfiltered queue, the top of
    // their share of it, then everyone else's (their tasks are not repeated below).
    let mine = if owner_q.is_empty() && after.is_none() {
        let f = TaskFilter { owner: Some(s.user.email.clone()), ..filter.clone() };
        app.store.tasks_page(app.ws.id, &f, None, 10).await?.items
    } else {
        Vec::new()
    };
    let cal = app.calendar()?;
    let t_now = now();
    let owners = shared.owner_names(app).await?;
    let members: Vec<String> = app.store.members(app.ws.id).await?.into_iter().map(|m| m.user.email).collect();
    let mine_ids: std::collections::HashSet<i64> = mine.iter().map(|t| t.id).collect();
    let tasks: Vec<TaskView> = mine
        .iter()
        .chain(page.items.iter().filter(|t| !mine_ids.contains(&t.id)))
        .filter(|t| t.snoozed_until.is_none_or(|u| u <= t_now))
        .map(|t| TaskView {
            id: t.id,
            customer: t.customer.clone(),
            customer_href: seg(&t.customer),
            kind: t.kind.as_str(),
            kind_label: kind_label(c.lang, t.kind),
            more_kinds: t.kinds.iter().filter(|k| **k != t.kind).map(|k| (k.as_str(), kind_label(c.lang, *k))).collect(),
            plan: match (t.plan.as_deref(), c.lang) {
                (Some("this_week"), Lang::Ru) => "на этой неделе".into(),
                (Some("this_week"), _) => "this week".into(),
                (Some("waiting"), Lang::Ru) => "ждёт очереди".into(),
                (Some("waiting"), _) => "waiting".into(),
                _ => String::new(),
            },
            stake: t.stake.map(|m| c.lang.money(m, app.ws.currency)).unwrap_or_default(),
            owner: t.assignee.clone().or_else(|| t.owner.clone()).unwrap_or_default(),
            due: t.due_at.map(|d| c.lang.date(cal.date(d))).unwrap_or_default(),
            reason: t.reason_in(c.lang == Lang::Ru).to_owned(),
            step: holdfast_report::vocab::word(c.lang.report(), &t.suggested_step),
            tier: t.tier.clone().unwrap_or_default(),
        })
        .collect();
    let mine_count = tasks.iter().filter(|t| mine_ids.contains(&t.id)).count();
    let tier_q = tier.map(Tier::as_str).unwrap_or("");
    let mut base = format!("/today?owner={}&kind={}&tier={tier_q}", seg(&owner_q), seg(q.kind.as_deref().unwrap_or("")));
    let next = page.next.map(|n| format!("{base}&after={n}")).unwrap_or_default();
    if let Some(a) = &q.after {
        base.push_str(&format!("&after={}", seg(a)));
    }
    let summary = if c.lang == Lang::Ru { format!("{} на странице", tasks.len()) } else { format!("{} on this page", tasks.len()) };
    let body = TodayBody {
        lang: c.lang,
        csrf: s.csrf.clone(),
        owner: owner_q,
        owners: owners.as_ref().clone(),
        kind: q.kind.unwrap_or_default(),
        kinds: FlagKind::ALL.iter().map(|k| (k.as_str().to_owned(), kind_label(c.lang, *k))).collect(),
        tier: tier_q.to_owned(),
        tiers: Tier::ALL.iter().map(|t| (t.as_str().to_owned(), tier_label(c.lang, *t))).collect(),
        summary,
        tasks,
        mine_count,
        can_write: c.who.can_write(),
        members,
        back: base,
        next,
    };
    body.render().map_err(|e| holdfast_app::Error::internal(e.to_string()).into())
}

/// A value tier with the effort it deserves, in the person's language.
fn tier_label(l: Lang, t: Tier) -> String {
    format!("{} — {}", t.as_str(), holdfast_report::vocab::word(l.report(), t.effort()))
}

/// A flag kind in the person's language.
fn kind_label(l: Lang, k: FlagKind) -> String {
    holdfast_report::vocab::word(l.report(), k.as_str()).replace('_', " ")
}

#[derive(Deserialize)]
struct TaskForm {
    csrf: String,
    back: Option<String>,
    reason: Option<String>,
    days: Option<i64>,
    assignee: Option<String>,
}

async fn task_action(PageCaller(c): PageCaller, Path((id, action)): Path<(i64, String)>, Form(f): Form<TaskForm>) -> Response {
    if let Err(r) = check_csrf(&c, &f.csrf).and_then(|_| require_write(&c)) {
        return r;
    }
    let result = match action.as_str() {
        "done" => api::set_state(&c, id, TaskState::Done, None).await,
        "reopen" => api::set_state(&c, id, TaskState::Open, None).await,
        "dismiss" => match f.reason.as_deref().map(str::trim).filter(|r| !r.is_empty()) {
            Some(r) => api::set_state(&c, id, TaskState::Dismissed, Some(r)).await,
            None => Err(ApiError::bad("reason", "say why the task is dismissed")),
        },
        "snooze" => api::snooze(&c, id, Some(now() + f.days.unwrap_or(7).clamp(1, 365) * 86_400)).await,
        "assign" => api::assign(&c, id, f.assignee.as_deref()).await,
        _ => Err(ApiError::not_found("no such task action")),
    };
    match result {
        Ok(_) => Redirect::to(&local(f.back.as_deref(), "/today")).into_response(),
        Err(e) => error_page(&c, "/today", e),
    }
}

// --- Customers ----------------------------------------------------------------------------------

struct CustomerRow {
    id: String,
    href: String,
    name: String,
    owner: String,
    segment: String,
    p_alive: String,
    clv: String,
    tasks: String,
}

#[derive(Template)]
#[template(path = "customers.html")]
struct CustomersBody {
    lang: Lang,
    from: String,
    segment: String,
    segments: Vec<(&'static str, String)>,
    rows: Vec<CustomerRow>,
    next: String,
}

#[derive(Deserialize)]
struct CustomersQuery {
    from: Option<String>,
    after: Option<String>,
    segment: Option<String>,
}

async fn customers(PageCaller(c): PageCaller, Query(q): Query<CustomersQuery>) -> Response {
    let app = &c.app;
    // "from" starts the list at an id (the page after the ids sorting before it).
    let from = q.from.clone().unwrap_or_default();
    let after = q.after.clone().or_else(|| (!from.is_empty()).then(|| prev_id(&from)));
    let segment = q.segment.as_deref().and_then(Segment::from_key);
    let page_ = match app.store.customers_page_in(app.ws.id, segment, after.as_deref(), 50).await {
        Ok(p) => p,
        Err(e) => return error_page(&c, "/customers", e.into()),
    };
    let l = c.lang;
    let rows = page_
        .items
        .iter()
        .map(|s| CustomerRow {
            id: s.external_id.clone(),
            href: seg(&s.external_id),
            name: s.name.clone().unwrap_or_default(),
            owner: s.owner.clone().unwrap_or_default(),
            segment: s.segment.map(|x| holdfast_report::vocab::word(l.report(), x.as_str())).unwrap_or_default(),
            p_alive: s.p_alive.map(|p| format!("{p:.2}")).unwrap_or_default(),
            clv: s.clv.map(|m| l.money(m, app.ws.currency)).unwrap_or_default(),
            tasks: s.open_tasks.to_string(),
        })
        .collect();
    let seg_key = segment.map(Segment::key).unwrap_or_default();
    let next = page_.next.map(|n| format!("/customers?segment={seg_key}&after={}", seg(&n))).unwrap_or_default();
    let segments = Segment::ALL.iter().map(|x| (x.key(), holdfast_report::vocab::word(l.report(), x.as_str()))).collect();
    let body = CustomersBody { lang: l, from, segment: seg_key.to_owned(), segments, rows, next };
    page(&c, "/customers", l.t("Customers"), &body.render().unwrap_or_default(), "")
}

/// The greatest string sorting before `s` that a keyset page can start after: `s` without its
/// last character (pages hold ids greater than it, so `s` itself is on the page).
fn prev_id(s: &str) -> String {
    let mut t = s.to_owned();
    t.pop();
    t
}

struct TimelineItem {
    when: String,
    kind: &'static str,
    what: String,
    detail: String,
}

#[derive(Template)]
#[template(path = "customer.html")]
struct CustomerBody {
    lang: Lang,
    csrf: String,
    id: String,
    id_href: String,
    kind: String,
    facts: Vec<(String, String)>,
    tags: Vec<String>,
    score: Vec<(String, String)>,
    /// Why the learned churn risk is what it is, in the person's language.
    risk_reasons: Vec<String>,
    timeline: Vec<TimelineItem>,
    tasks: Vec<(String, String, String, i64, bool)>,
    dates: Vec<String>,
    contacts: Vec<String>,
    consents: Vec<String>,
    /// The customer's own time zone and sending window (empty: the workspace's zone; any time).
    time_zone: String,
    send_window: String,
    workspace_zone: String,
    can_write: bool,
}

async fn customer(PageCaller(c): PageCaller, Path(id): Path<String>) -> Response {
    let app = &c.app;
    let v = match app.store.customer_view(app.ws.id, &id).await {
        Ok(v) => v,
        Err(holdfast_store::Error::NotFound { .. }) => return error_page(&c, "/customers", ApiError::not_found(format!("no customer {id:?}"))),
        Err(e) => return error_page(&c, "/customers", e.into()),
    };
    let l = c.lang;
    let cal = app.calendar().unwrap_or_default();
    let d = |t: i64| l.date(cal.date(t));
    let k = &v.customer;
    let mut facts = Vec::new();
    for (label, val) in [("e-mail", &k.email), ("phone", &k.phone), ("owner", &k.owner)] {
        if let Some(x) = val {
            facts.push((label.to_owned(), x.clone()));
        }
    }
    let mut score = Vec::new();
    let mut risk_reasons = Vec::new();
    if let Some(s) = &v.score {
        let segment = s.segment.map_or("—".to_owned(), |x| holdfast_report::vocab::word(l.report(), x.key()));
        score.push((l.t("Segment").to_owned(), segment));
        if let Some(r) = s.risk {
            score.push((l.t("Churn risk").to_owned(), format!("{:.0}%", r * 100.0)));
        }
        score.push(("P(alive)".to_owned(), s.p_alive.map_or("—".into(), |p| format!("{p:.2}"))));
        score.push(("CLV".to_owned(), s.clv.map_or("—".into(), |m| l.money(m, app.ws.currency))));
        if !s.flags.is_empty() {
            score.push((l.t("Flags").to_owned(), s.flags.iter().map(|f| kind_label(l, *f)).collect::<Vec<_>>().join(", ")));
        }
        score.push((l.t("As of").to_owned(), d(s.computed_at)));
        risk_reasons = s
            .risk_reasons
            .iter()
            .map(|r| if l == Lang::Ru && !r.explanation_ru.is_empty() { r.explanation_ru.clone() } else { r.explanation.clone() })
            .collect();
    }
    let mut timeline: Vec<(i64, TimelineItem)> = Vec::new();
    for o in &v.orders {
        let lines = o.lines.iter().map(|x| x.sku.as_str()).collect::<Vec<_>>().join(", ");
        let what = format!("{} {} · {}", l.t("Orders").trim_end_matches('s').trim_end_matches('ы'), o.external_id, l.money(o.amount, o.currency));
        let status = if o.status.is_counted() { String::new() } else { format!("{} · ", o.status.as_str()) };
        timeline.push((o.ordered_at, TimelineItem { when: d(o.ordered_at), kind: "order", what, detail: format!("{status}{lines}") }));
    }
    for n in &v.notes {
        let at = n.created_at.unwrap_or(0);
        timeline.push((
            at,
            TimelineItem { when: n.created_at.map(d).unwrap_or_default(), kind: "note", what: n.body.clone(), detail: n.author.clone().unwrap_or_default() },
        ));
    }
    for f in &v.feedback {
        let what = format!("NPS {}", f.score.map_or("—".into(), |s| s.to_string()));
        timeline.push((f.responded_at, TimelineItem { when: d(f.responded_at), kind: "feedback", what, detail: f.comment.clone().unwrap_or_default() }));
    }
    for i in &v.interactions {
        let detail = [i.by_whom.as_deref(), i.with_whom.as_deref(), i.summary.as_deref()].into_iter().flatten().collect::<Vec<_>>().join(" · ");
        timeline.push((i.occurred_at, TimelineItem { when: d(i.occurred_at), kind: "interaction", what: i.kind.clone(), detail }));
    }
    for e in &v.events {
        timeline.push((e.last_at, TimelineItem { when: d(e.last_at), kind: "event", what: format!("{} × {}", e.kind, e.count), detail: String::new() }));
    }
    for t in &v.tasks {
        timeline.push((
            t.created_at,
            TimelineItem { when: d(t.created_at), kind: "task", what: kind_label(l, t.kind), detail: t.reason_in(l == Lang::Ru).to_owned() },
        ));
    }
    // Messages: every contact the engine made or held back (the contact ledger).
    for (_, m) in app.store.ledger(app.ws.id, Some(&k.external_id)).await.unwrap_or_default() {
        let outcome = holdfast_report::vocab::word(l.report(), &m.outcome);
        let rule = m.rule.map(|r| format!(" ({r})")).unwrap_or_default();
        timeline.push((
            m.at,
            TimelineItem { when: d(m.at), kind: "message", what: format!("{} · {} · {outcome}{rule}", m.campaign, m.channel), detail: m.subject },
        ));
    }
    for s in &v.subscriptions {
        timeline.push((
            s.started_at,
            TimelineItem {
                when: d(s.started_at),
                kind: "order",
                what: format!("{} · {}/mo", s.plan, l.money(s.mrr, s.currency)),
                detail: s.cancel_reason.clone().unwrap_or_default(),
            },
        ));
    }
    timeline.sort_by(|a, b| b.0.cmp(&a.0));
    let tasks = v
        .tasks
        .iter()
        .map(|t| {
            (
                l.t(t.state.as_str()).to_owned(),
                kind_label(l, t.kind),
                holdfast_report::vocab::word(l.report(), &t.suggested_step),
                t.id,
                t.state == TaskState::Open,
            )
        })
        .collect();
    let dates = v
        .important_dates
        .iter()
        .map(|x| format!("{} · {}{}", l.date(x.date), x.label.clone().unwrap_or_else(|| x.kind.as_str().replace('_', " ")), if x.yearly { " ↻" } else { "" }))
        .collect();
    let contacts = v
        .contacts
        .iter()
        .map(|x| [Some(x.name.as_str()), x.role.as_deref(), x.email.as_deref(), x.phone.as_deref()].into_iter().flatten().collect::<Vec<_>>().join(" · "))
        .collect();
    let consents = k.consents.iter().map(|x| format!("{}: {}", x.channel, if x.granted { "✓" } else { "✗" })).collect();
    let sending = match holdfast_app::sending::customer_sending(app, &k.external_id).await {
        Ok(s) => s,
        Err(e) => return error_page(&c, "/customers", e.into()),
    };
    let body = CustomerBody {
        lang: l,
        csrf: c.who.session().map(|s| s.csrf.clone()).unwrap_or_default(),
        id: k.external_id.clone(),
        id_href: seg(&k.external_id),
        kind: k.kind.as_str().to_owned(),
        facts,
        tags: k.tags.clone(),
        score,
        risk_reasons,
        timeline: timeline.into_iter().map(|(_, t)| t).take(500).collect(),
        tasks,
        dates,
        contacts,
        consents,
        time_zone: sending.time_zone.unwrap_or_default(),
        send_window: sending.send_window.unwrap_or_default(),
        workspace_zone: app.ws.time_zone.clone(),
        can_write: c.who.can_write(),
    };
    let title = k.name.clone().unwrap_or_else(|| k.external_id.clone());
    page(&c, "/customers", &title, &body.render().unwrap_or_default(), "")
}

#[derive(Deserialize)]
struct NoteForm {
    csrf: String,
    body: String,
}

async fn customer_note(PageCaller(c): PageCaller, Path(id): Path<String>, Form(f): Form<NoteForm>) -> Response {
    if let Err(r) = check_csrf(&c, &f.csrf).and_then(|_| require_write(&c)) {
        return r;
    }
    let note = holdfast_app::records::NoteInput {
        body: f.body,
        pain_points: None,
        goals: None,
        preferred_channel: None,
        preferred_time: None,
        communication_style: None,
    };
    let rec = holdfast_app::records::note_record(&id, &note, &c.who.actor(), now());
    add_to_customer(&c, &id, rec).await
}

/// Records a note, a date or an interaction typed on the customer's page, then shows the page.
async fn add_to_customer(c: &Caller, id: &str, rec: holdfast_app::Result<holdfast_store::Record>) -> Response {
    let result = async {
        let rec = rec?;
        let what = rec.entity().name();
        c.app.store.add_record(c.app.ws.id, rec).await?;
        c.app.store.audit(c.app.ws.id, now(), &c.who.actor(), &format!("{what}.add"), Some(id), None).await?;
        Ok::<_, holdfast_app::Error>(())
    }
    .await;
    match result {
        Ok(()) => Redirect::to(&format!("/customers/{}", seg(id))).into_response(),
        Err(e) => error_page(c, "/customers", e.into()),
    }
}

#[derive(Deserialize)]
struct DateForm {
    csrf: String,
    kind: String,
    on: String,
    label: Option<String>,
    once: Option<String>,
}

async fn customer_date(PageCaller(c): PageCaller, Path(id): Path<String>, Form(f): Form<DateForm>) -> Response {
    if let Err(r) = check_csrf(&c, &f.csrf).and_then(|_| require_write(&c)) {
        return r;
    }
    let rec = holdfast_app::records::date_record(&id, &f.kind, &f.on, f.label, f.once.is_some());
    add_to_customer(&c, &id, rec).await
}

#[derive(Deserialize)]
struct InteractionForm {
    csrf: String,
    kind: String,
    with: Option<String>,
    summary: Option<String>,
}

async fn customer_interaction(PageCaller(c): PageCaller, Path(id): Path<String>, Form(f): Form<InteractionForm>) -> Response {
    if let Err(r) = check_csrf(&c, &f.csrf).and_then(|_| require_write(&c)) {
        return r;
    }
    let rec = holdfast_app::records::interaction_record(&id, &f.kind, now(), &c.who.actor(), f.with, f.summary);
    add_to_customer(&c, &id, rec).await
}

// --- Import -------------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "import.html")]
struct ImportBody {
    lang: Lang,
    csrf: String,
    can_write: bool,
    kind_label: String,
    entities: Vec<(String, String)>,
    entity: String,
    encoding: String,
    map: String,
    error: String,
    preview_title: String,
    preview: Vec<(String, String)>,
    head: Vec<Vec<String>>,
    upload: String,
    result: String,
}

impl ImportBody {
    fn new(c: &Caller) -> ImportBody {
        ImportBody {
            lang: c.lang,
            csrf: c.who.session().map(|s| s.csrf.clone()).unwrap_or_default(),
            can_write: c.who.can_write(),
            kind_label: if c.lang == Lang::Ru { "Что в файле".into() } else { "The file holds".into() },
            entities: Entity::ALL.iter().map(|e| (e.name().to_owned(), e.name().to_owned())).collect(),
            entity: "orders".into(),
            encoding: String::new(),
            map: String::new(),
            error: String::new(),
            preview_title: String::new(),
            preview: vec![],
            head: vec![],
            upload: String::new(),
            result: String::new(),
        }
    }
}

async fn import_page(PageCaller(c): PageCaller) -> Response {
    let body = ImportBody::new(&c);
    page(&c, "/import", c.lang.t("Import"), &body.render().unwrap_or_default(), "")
}

/// An upload waiting for "Import it": kept in memory for an hour.
pub struct Upload {
    pub workspace: i64,
    pub user: i64,
    pub entity: Entity,
    pub name: String,
    pub bytes: Vec<u8>,
    pub read: holdfast_app::ReadOptions,
    pub at: std::time::Instant,
}

fn read_options(encoding: &str, date_format: &str, map: &str) -> Result<holdfast_app::ReadOptions, String> {
    let mut r = holdfast_app::ReadOptions::default();
    if !encoding.trim().is_empty() {
        r.encoding =
            Some(holdfast_import_encoding(encoding.trim()).ok_or_else(|| format!("{encoding:?} is not an encoding (e.g. utf-8, windows-1251, koi8-r)"))?);
    }
    if !date_format.trim().is_empty() {
        r.date_format = Some(date_format.trim().parse().map_err(|e: String| e)?);
    }
    for pair in map.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (field, header) = pair.split_once('=').ok_or_else(|| format!("{pair:?}: a column map is FIELD=HEADER"))?;
        r.column_map.push((field.trim().to_owned(), header.trim().to_owned()));
    }
    Ok(r)
}

fn holdfast_import_encoding(label: &str) -> Option<&'static holdfast_app::encoding::Encoding> {
    holdfast_app::encoding::Encoding::for_label(label.as_bytes())
}

async fn import_check(PageCaller(c): PageCaller, State(shared): State<Shared>, mut form: Multipart) -> Response {
    if let Err(r) = require_write(&c) {
        return r;
    }
    let mut fields: std::collections::HashMap<String, String> = Default::default();
    let mut file: Option<(String, Vec<u8>)> = None;
    loop {
        match form.next_field().await {
            Ok(Some(f)) => {
                let name = f.name().unwrap_or("").to_owned();
                if name == "file" {
                    let fname = f.file_name().unwrap_or("upload.csv").to_owned();
                    match f.bytes().await {
                        Ok(b) => file = Some((fname, b.to_vec())),
                        Err(e) => return error_page(&c, "/import", ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "too_large", e.body_text())),
                    }
                } else if let Ok(t) = f.text().await {
                    fields.insert(name, t);
                }
            }
            Ok(None) => break,
            Err(e) => return error_page(&c, "/import", ApiError::new(StatusCode::BAD_REQUEST, "bad_request", e.body_text())),
        }
    }
    let get = |k: &str| fields.get(k).cloned().unwrap_or_default();
    if let Err(r) = check_csrf(&c, &get("csrf")) {
        return r;
    }
    let mut body = ImportBody::new(&c);
    body.encoding = get("encoding");
    body.map = get("map");
    let entity = Entity::ALL.iter().copied().find(|e| e.name() == get("entity")).unwrap_or(Entity::Orders);
    body.entity = entity.name().to_owned();
    let Some((name, bytes)) = file.filter(|(_, b)| !b.is_empty()) else {
        body.error = "choose a file to upload".into();
        return page(&c, "/import", c.lang.t("Import"), &body.render().unwrap_or_default(), "");
    };
    let read = match read_options(&get("encoding"), &get("date_format"), &get("map")) {
        Ok(r) => r,
        Err(e) => {
            body.error = e;
            return page(&c, "/import", c.lang.t("Import"), &body.render().unwrap_or_default(), "");
        }
    };
    if entity == Entity::Orders {
        let (app, n, b, r) = (c.app.clone(), name.clone(), bytes.clone(), read.clone());
        match blocking(move || holdfast_app::preview_orders(&app, &n, &b, &r).map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "bad_request", e.to_string())))
            .await
        {
            Ok(p) => {
                let l = c.lang;
                body.preview_title =
                    format!("{} — {}", p.file, if l == Lang::Ru { "всё прочитано, ничего не записано" } else { "read in full, nothing written yet" });
                body.preview = vec![
                    ("encoding".into(), p.encoding.to_owned()),
                    ("delimiter".into(), p.delimiter.clone()),
                    ("columns".into(), p.columns.iter().map(|(f, h)| format!("{f} ← {h}")).collect::<Vec<_>>().join(", ")),
                    ("rows".into(), l.int(p.rows as i64)),
                    (l.t("Orders").to_lowercase(), format!("{} ({} {})", l.int(p.orders as i64), l.int(p.customers as i64), l.t("Customers").to_lowercase())),
                    ("currency".into(), format!("{}{}", p.currency, if p.currency_assumed { " (the workspace's)" } else { "" })),
                    ("not counted (status)".into(), l.int(p.excluded_by_status as i64)),
                ];
                body.head = p.head;
            }
            Err(e) => {
                body.error = e.message;
                return page(&c, "/import", c.lang.t("Import"), &body.render().unwrap_or_default(), "");
            }
        }
    } else {
        body.preview_title = format!("{name} ({} bytes)", c.lang.int(bytes.len() as i64));
        body.preview = vec![("entity".into(), entity.name().to_owned())];
    }
    let s = c.who.session().expect("a page caller is a person");
    body.upload = shared.keep_upload(Upload { workspace: c.app.ws.id.0, user: s.user.id, entity, name, bytes, read, at: std::time::Instant::now() });
    page(&c, "/import", c.lang.t("Import"), &body.render().unwrap_or_default(), "")
}

#[derive(Deserialize)]
struct RunForm {
    csrf: String,
    upload: String,
}

async fn import_run(PageCaller(c): PageCaller, State(shared): State<Shared>, Form(f): Form<RunForm>) -> Response {
    if let Err(r) = check_csrf(&c, &f.csrf).and_then(|_| require_write(&c)) {
        return r;
    }
    let s = c.who.session().expect("a page caller is a person");
    let mut body = ImportBody::new(&c);
    let Some(u) = shared.take_upload(&f.upload, c.app.ws.id.0, s.user.id) else {
        body.error = "this upload has expired: choose the file again".into();
        return page(&c, "/import", c.lang.t("Import"), &body.render().unwrap_or_default(), "");
    };
    match holdfast_app::import_bytes(&c.app, u.entity, &u.name, u.bytes, &u.read, &holdfast_app::Quiet).await {
        Ok(r) => {
            let _ = c.app.store.audit(c.app.ws.id, now(), &c.who.actor(), "import", Some(&r.file), Some(&format!("{} {} rows", r.entity, r.rows))).await;
            // New orders move scores and the queue: both are brought up to date, as
            // `holdfast score` and `holdfast at-risk` would.
            if r.entity == Entity::Orders.name() && r.inserted + r.updated > 0 {
                if let Err(e) = refresh_snapshot(&c.app).await {
                    body.error = format!("the orders are imported, but the scores were not refreshed: {e}");
                }
            }
            body.result = if c.lang == Lang::Ru {
                format!("{}: {} записей — {} новых, {} обновлено, {} без изменений.", r.file, r.rows, r.inserted, r.updated, r.unchanged)
            } else {
                format!("{}: {} records — {} new, {} updated, {} unchanged.", r.file, r.rows, r.inserted, r.updated, r.unchanged)
            };
        }
        Err(e) => body.error = e.to_string(),
    }
    page(&c, "/import", c.lang.t("Import"), &body.render().unwrap_or_default(), "")
}

/// Recomputes the scoring snapshot and the action queue after new orders.
async fn refresh_snapshot(app: &holdfast_app::App) -> holdfast_app::Result<()> {
    holdfast_app::score_workspace(app, None, &holdfast_app::Quiet).await?;
    let cal = app.calendar()?;
    holdfast_app::at_risk(&holdfast_app::Source::Store(app.clone()), &cal, &holdfast_app::AtRiskOptions::default(), &holdfast_app::Quiet).await?;
    Ok(())
}

// --- Settings -----------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "settings.html")]
struct SettingsBody {
    lang: Lang,
    csrf: String,
    owner: bool,
    token: String,
    ws_name: String,
    ws_tz: String,
    ws_currency: String,
    ws_window: u32,
    members: Vec<(String, String, String)>,
    tokens: Vec<(i64, String, String, String, String, String)>,
    audit: Vec<(String, String, String, String)>,
    /// The Sending section (owner only; `sending.rs`).
    sending: String,
}

pub(crate) async fn settings_body(c: &Caller, token: String) -> ApiResult<String> {
    let app = &c.app;
    let l = c.lang;
    let cal = app.calendar()?;
    let d = |t: i64| l.date(cal.date(t));
    let members =
        app.store.members(app.ws.id).await?.into_iter().map(|m| (m.user.email, m.user.name.unwrap_or_default(), m.role.as_str().to_owned())).collect();
    let tokens = if c.who.is_owner() {
        app.store
            .tokens(app.ws.id)
            .await?
            .into_iter()
            .map(|t| {
                (
                    t.id,
                    t.name,
                    t.scope.as_str().to_owned(),
                    d(t.created_at),
                    t.last_used_at.map(d).unwrap_or_else(|| "—".into()),
                    t.revoked_at.map(d).unwrap_or_default(),
                )
            })
            .collect()
    } else {
        vec![]
    };
    let audit = if c.who.is_owner() {
        app.store
            .audit_log(app.ws.id, 30)
            .await?
            .into_iter()
            .map(|a| {
                (
                    format!(
                        "{} {}",
                        d(a.at),
                        chrono::DateTime::from_timestamp(a.at, 0).map(|t| t.with_timezone(&cal.tz).format("%H:%M").to_string()).unwrap_or_default()
                    ),
                    a.actor,
                    a.action,
                    [a.target, a.detail].into_iter().flatten().collect::<Vec<_>>().join(" · "),
                )
            })
            .collect()
    } else {
        vec![]
    };
    let body = SettingsBody {
        lang: l,
        csrf: c.who.session().map(|s| s.csrf.clone()).unwrap_or_default(),
        owner: c.who.is_owner(),
        token,
        ws_name: app.ws.name.clone(),
        ws_tz: app.ws.time_zone.clone(),
        ws_currency: app.ws.currency.to_string(),
        ws_window: app.ws.window_days,
        members,
        tokens,
        audit,
        sending: crate::sending::settings_section(c).await?,
    };
    body.render().map_err(|e| holdfast_app::Error::internal(e.to_string()).into())
}

async fn settings(PageCaller(c): PageCaller) -> Response {
    match settings_body(&c, String::new()).await {
        Ok(b) => page(&c, "/settings", c.lang.t("Settings"), &b, ""),
        Err(e) => error_page(&c, "/settings", e),
    }
}

pub(crate) fn require_owner(c: &Caller) -> Result<(), Response> {
    if c.who.is_owner() {
        Ok(())
    } else {
        Err(ApiError::forbidden("only an owner may change settings, people and tokens").into_response())
    }
}

#[derive(Deserialize)]
struct WorkspaceForm {
    csrf: String,
    name: String,
    time_zone: String,
    currency: String,
    window_days: u32,
}

async fn settings_workspace(PageCaller(c): PageCaller, Form(f): Form<WorkspaceForm>) -> Response {
    if let Err(r) = check_csrf(&c, &f.csrf).and_then(|_| require_owner(&c)) {
        return r;
    }
    let mut ws = c.app.ws.clone();
    let result: ApiResult<()> = async {
        holdfast_core::Calendar::from_name(f.time_zone.trim()).map_err(|e| ApiError::bad("time_zone", e))?;
        ws.currency = holdfast_core::Currency::new(&f.currency.trim().to_uppercase())
            .ok_or_else(|| ApiError::bad("currency", format!("{:?} is not an ISO 4217 code", f.currency)))?;
        ws.name = f.name.trim().chars().take(100).collect();
        ws.time_zone = f.time_zone.trim().to_owned();
        ws.window_days = f.window_days.clamp(1, 3650);
        c.app.store.update_workspace(&ws).await?;
        c.app
            .store
            .audit(ws.id, now(), &c.who.actor(), "workspace.update", None, Some(&format!("{} {} {} {}", ws.name, ws.time_zone, ws.currency, ws.window_days)))
            .await?;
        Ok(())
    }
    .await;
    match result {
        Ok(()) => Redirect::to("/settings").into_response(),
        Err(e) => error_page(&c, "/settings", e),
    }
}

#[derive(Deserialize)]
struct UserForm {
    csrf: String,
    email: String,
    password: String,
    role: String,
}

async fn settings_users(PageCaller(c): PageCaller, Form(f): Form<UserForm>) -> Response {
    if let Err(r) = check_csrf(&c, &f.csrf).and_then(|_| require_owner(&c)) {
        return r;
    }
    let Some(role) = Role::parse(&f.role) else { return error_page(&c, "/settings", ApiError::bad("role", "owner, manager or viewer")) };
    let result = async {
        let hash = holdfast_app::accounts::hash_password_async(f.password).await?;
        let u = c.app.store.upsert_user(c.app.ws.id, &f.email, None, &hash, role, now()).await?;
        c.app.store.audit(c.app.ws.id, now(), &c.who.actor(), "user.add", Some(&u.email), Some(role.as_str())).await?;
        Ok::<_, holdfast_app::Error>(())
    }
    .await;
    match result {
        Ok(()) => Redirect::to("/settings").into_response(),
        Err(e) => error_page(&c, "/settings", e.into()),
    }
}

#[derive(Deserialize)]
struct TokenForm {
    csrf: String,
    name: String,
    scope: String,
}

async fn settings_tokens(PageCaller(c): PageCaller, Form(f): Form<TokenForm>) -> Response {
    if let Err(r) = check_csrf(&c, &f.csrf).and_then(|_| require_owner(&c)) {
        return r;
    }
    let Some(scope) = Scope::parse(&f.scope) else { return error_page(&c, "/settings", ApiError::bad("scope", "read or write")) };
    let user = c.who.session().map(|s| s.user.clone());
    let t = match holdfast_app::accounts::create_token(&c.app, &f.name, scope, user.as_ref(), now()).await {
        Ok(t) => t,
        Err(e) => return error_page(&c, "/settings", e.into()),
    };
    match settings_body(&c, t.token).await {
        Ok(b) => {
            let mut r = page(&c, "/settings", c.lang.t("Settings"), &b, "");
            r.headers_mut().insert(header::CACHE_CONTROL, header::HeaderValue::from_static("no-store"));
            r
        }
        Err(e) => error_page(&c, "/settings", e),
    }
}

#[derive(Deserialize)]
struct CsrfForm {
    csrf: String,
}

async fn settings_token_revoke(PageCaller(c): PageCaller, Path(id): Path<i64>, Form(f): Form<CsrfForm>) -> Response {
    if let Err(r) = check_csrf(&c, &f.csrf).and_then(|_| require_owner(&c)) {
        return r;
    }
    let result = async {
        c.app.store.revoke_token(c.app.ws.id, id, now()).await?;
        c.app.store.audit(c.app.ws.id, now(), &c.who.actor(), "token.revoke", Some(&id.to_string()), None).await
    }
    .await;
    match result {
        Ok(()) => Redirect::to("/settings").into_response(),
        Err(e) => error_page(&c, "/settings", e.into()),
    }
}

#[derive(Deserialize)]
struct LangForm {
    csrf: String,
    lang: String,
    back: Option<String>,
}

async fn settings_lang(PageCaller(c): PageCaller, Form(f): Form<LangForm>) -> Response {
    if let Err(r) = check_csrf(&c, &f.csrf) {
        return r;
    }
    let Who::Person(s) = &c.who else { return StatusCode::FORBIDDEN.into_response() };
    let lang = Lang::parse(&f.lang).map(Lang::code);
    if let Err(e) = c.app.store.set_user_lang(s.user.id, lang).await {
        return error_page(&c, "/settings", e.into());
    }
    Redirect::to(&local(f.back.as_deref(), "/")).into_response()
}

// --- Signing in ---------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage<'a> {
    lang: Lang,
    title: &'a str,
    action: &'a str,
    error: &'a str,
    next: &'a str,
    csrf: &'a str,
    email: &'a str,
    setup: bool,
    button: &'a str,
}

#[derive(Deserialize)]
struct NextQuery {
    next: Option<String>,
}

async fn login_page(headers: HeaderMap, Query(q): Query<NextQuery>) -> Response {
    let lang = Lang::negotiate(None, &headers);
    let next = local(q.next.as_deref(), "/");
    render(&LoginPage {
        lang,
        title: lang.t("Sign in"),
        action: "/login",
        error: "",
        next: &next,
        csrf: "",
        email: "",
        setup: false,
        button: lang.t("Sign in"),
    })
}

#[derive(Deserialize)]
struct LoginForm {
    email: String,
    password: String,
    next: Option<String>,
    name: Option<String>,
}

async fn login(State(shared): State<Shared>, headers: HeaderMap, Form(f): Form<LoginForm>) -> Response {
    let lang = Lang::negotiate(None, &headers);
    let next = local(f.next.as_deref(), "/");
    let again = |status: StatusCode, error: &str| {
        let mut r = render(&LoginPage {
            lang,
            title: lang.t("Sign in"),
            action: "/login",
            error,
            next: &next,
            csrf: "",
            email: &f.email,
            setup: false,
            button: lang.t("Sign in"),
        });
        *r.status_mut() = status;
        r
    };
    if !auth::same_origin(&headers) {
        return again(StatusCode::FORBIDDEN, "This form was sent from another site.");
    }
    let wait = shared.throttle.wait(&f.email);
    if !wait.is_zero() {
        let mut r = again(StatusCode::TOO_MANY_REQUESTS, lang.t("Too many wrong passwords: wait a little and try again."));
        r.headers_mut().insert(header::RETRY_AFTER, header::HeaderValue::from(wait.as_secs().max(1)));
        return r;
    }
    match holdfast_app::accounts::sign_in(&shared.store, &f.email, &f.password, now()).await {
        Ok(Some(signed)) => {
            shared.throttle.succeeded(&f.email);
            signed_in(&headers, &signed.cookie, &next)
        }
        Ok(None) => {
            shared.throttle.failed(&f.email);
            again(StatusCode::UNAUTHORIZED, lang.t("Wrong e-mail or password."))
        }
        Err(e) => ApiError::from(e).into_response(),
    }
}

fn signed_in(headers: &HeaderMap, cookie: &str, next: &str) -> Response {
    let secure = headers.get("x-forwarded-proto").and_then(|v| v.to_str().ok()) == Some("https");
    let mut r = Redirect::to(next).into_response();
    if let Ok(v) = header::HeaderValue::from_str(&auth::session_cookie(cookie, holdfast_app::accounts::SESSION_SECONDS, secure)) {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    r
}

async fn logout(State(shared): State<Shared>, PageCaller(c): PageCaller, headers: HeaderMap, Form(f): Form<CsrfForm>) -> Response {
    if let Err(r) = check_csrf(&c, &f.csrf) {
        return r;
    }
    if let Some(cookie) = auth::cookie(&headers, auth::SESSION_COOKIE) {
        let _ = holdfast_app::accounts::sign_out(&shared.store, cookie, now()).await;
    }
    let mut r = Redirect::to("/login").into_response();
    r.headers_mut().insert(header::SET_COOKIE, header::HeaderValue::from_static("holdfast_session=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0"));
    r
}

async fn setup_page(State(shared): State<Shared>, headers: HeaderMap, Path(secret): Path<String>) -> Response {
    let lang = Lang::negotiate(None, &headers);
    match holdfast_app::accounts::setup_link_live(&shared.store, &secret, now()).await {
        Ok(true) => {
            let action = format!("/setup/{}", seg(&secret));
            render(&LoginPage {
                lang,
                title: lang.t("Create the owner's account"),
                action: &action,
                error: "",
                next: "/",
                csrf: "",
                email: "",
                setup: true,
                button: lang.t("Set up Holdfast"),
            })
        }
        Ok(false) => Redirect::to("/login").into_response(),
        Err(e) => ApiError::from(e).into_response(),
    }
}

async fn setup(State(shared): State<Shared>, headers: HeaderMap, Path(secret): Path<String>, Form(f): Form<LoginForm>) -> Response {
    let lang = Lang::negotiate(None, &headers);
    if !auth::same_origin(&headers) {
        return ApiError::forbidden("this form was sent from another site").into_response();
    }
    match holdfast_app::accounts::complete_setup(&shared.store, &secret, &f.email, f.name.as_deref().filter(|n| !n.trim().is_empty()), &f.password, now()).await
    {
        Ok(signed) => signed_in(&headers, &signed.cookie, "/"),
        Err(e) => {
            let action = format!("/setup/{}", seg(&secret));
            let msg = e.to_string();
            let mut r = render(&LoginPage {
                lang,
                title: lang.t("Create the owner's account"),
                action: &action,
                error: &msg,
                next: "/",
                csrf: "",
                email: &f.email,
                setup: true,
                button: lang.t("Set up Holdfast"),
            });
            *r.status_mut() = ApiError::from(e).status;
            r
        }
    }
}
