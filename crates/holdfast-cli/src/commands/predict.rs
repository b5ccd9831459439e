//! `holdfast predict`: per-customer predictions — probability alive, expected purchases over the
//! horizon, expected next order, expected order value (Gamma-Gamma) and CLV — from an orders file
//! or a summary file. Parsing and presentation only; fitting and formulas live in
//! `holdfast-models`.

use crate::args::OrdersInput;
use crate::output::{print, print_json_with_array, Csv};
use crate::summary_input::{csv_error, parse_date, read_text};
use crate::Global;
use chrono::Duration;
use holdfast_app::ValueOptions;
use holdfast_models::{PurchaseKind, Summary, TimeUnit};
use rayon::prelude::*;
use serde::Serialize;
use std::fmt::Write;
use std::path::PathBuf;

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Model {
    Bgnbd,
    Pareto,
}

/// Per customer: P(alive), expected purchases, expected next order, expected order value, CLV.
#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:
  holdfast predict --orders orders.csv --horizon 12m --discount 0.01
  holdfast predict --summary cdnow_summary.csv --unit week --model pareto --csv

With --orders the models are fitted on every order before --as-of (default: the day after the last
order). A summary has columns [customer_id,]frequency,recency,T[,monetary_value] in --unit.
CLV sums each month's expected purchases times the Gamma-Gamma expected order value, discounted
monthly (Fader, Hardie & Lee 2005); without spend, expected_aov and clv are empty.")]
pub struct Args {
    /// Orders file. Omitted (and no --summary): the orders in the store given by --db.
    #[arg(long, value_name = "FILE", conflicts_with = "summary")]
    pub orders: Option<PathBuf>,
    /// RFM summary CSV.
    #[arg(long, value_name = "FILE")]
    pub summary: Option<PathBuf>,
    /// Time unit of the summary (and of the model fitted on orders): day or week.
    #[arg(long, default_value = "week", value_parser = |s: &str| s.parse::<TimeUnit>())]
    pub unit: TimeUnit,
    /// Purchase model.
    #[arg(long, value_enum, default_value = "bgnbd")]
    pub model: Model,
    /// Horizon: months (`12m` or `12`), weeks (`52w`) or days (`365d`).
    #[arg(long, default_value = "12m", value_parser = parse_horizon)]
    pub horizon: f64,
    /// Monthly discount rate for CLV.
    #[arg(long, default_value_t = 0.01)]
    pub discount: f64,
    /// Analysis date YYYY-MM-DD: with --orders only orders before it count (default: the day after
    /// the last order); with --summary the date T ends at, used to date the next order.
    #[arg(long, value_name = "DATE")]
    pub as_of: Option<String>,
    /// IANA time zone in which order times are cut into days. Default: the workspace's zone for
    /// the store, UTC for a file.
    #[arg(long, value_name = "ZONE")]
    pub tz: Option<String>,
    /// L2 penalizer on the model parameters (as lifetimes' `penalizer_coef`).
    #[arg(long, default_value_t = 0.0)]
    pub penalizer: f64,
    #[command(flatten)]
    pub input: OrdersInput,
    /// Print one JSON document.
    #[arg(long, conflicts_with = "csv")]
    pub json: bool,
    /// Print CSV.
    #[arg(long)]
    pub csv: bool,
    /// Customers in the table, most valuable first (default 25; --csv and --json give all unless
    /// this is set).
    #[arg(long, value_name = "N")]
    pub limit: Option<usize>,
}

/// A horizon in months.
fn parse_horizon(s: &str) -> Result<f64, String> {
    let s = s.trim().to_ascii_lowercase();
    let (num, per_month) = match s.chars().last() {
        Some('m') => (&s[..s.len() - 1], 1.0),
        Some('w') => (&s[..s.len() - 1], 365.25 / 12.0 / 7.0),
        Some('d') => (&s[..s.len() - 1], 365.25 / 12.0),
        _ => (s.as_str(), 1.0),
    };
    match num.parse::<f64>() {
        Ok(v) if v > 0.0 && v.is_finite() => Ok(v / per_month),
        _ => Err(format!("{s:?} is not a horizon (expected e.g. 12m, 52w or 365d)")),
    }
}

#[derive(Serialize)]
struct Row<'a> {
    customer_id: &'a str,
    frequency: u32,
    recency: f64,
    #[serde(rename = "T")]
    t: f64,
    p_alive: Option<f64>,
    expected_purchases: Option<f64>,
    expected_next_order: Option<String>,
    expected_next_order_in: Option<f64>,
    expected_aov: Option<f64>,
    clv: Option<f64>,
}

/// The document's head; `customers` follows it (see `print_json_with_array`).
#[derive(Serialize)]
struct Output {
    model: &'static str,
    params: serde_json::Map<String, serde_json::Value>,
    unit: TimeUnit,
    horizon_months: f64,
    discount_monthly: f64,
    as_of: Option<String>,
    spend_model: Option<serde_json::Value>,
}

fn fin(v: f64) -> Option<f64> {
    v.is_finite().then_some(v)
}

pub fn run(args: Args, g: &Global) -> anyhow::Result<()> {
    if !(args.discount >= 0.0 && args.discount.is_finite()) {
        anyhow::bail!("--discount must be a rate ≥ 0, e.g. 0.01 for 1% a month");
    }
    let mut clock = holdfast_app::timing::Phases::from_env();
    let vopts = ValueOptions {
        kind: match args.model {
            Model::Bgnbd => PurchaseKind::Bgnbd,
            Model::Pareto => PurchaseKind::Pareto,
        },
        unit: args.unit,
        penalizer: args.penalizer,
        horizon_months: args.horizon,
        discount_monthly: args.discount,
    };
    let mut currency = None;
    let values = if let Some(path) = &args.summary {
        let s = Summary::parse_csv(&read_text(path)?, args.unit).map_err(|e| csv_error(path, e))?;
        let end = args.as_of.as_deref().map(|d| parse_date(d, "--as-of")).transpose()?.map(|d| d - Duration::days(1));
        clock.mark("read");
        holdfast_app::predict_summary(s, end, &vopts)
    } else {
        // From the orders file, or from the store of --db.
        let when = crate::args::When { as_of: args.as_of.clone(), tz: args.tz.clone() };
        let session = crate::session::Session::new(g)?;
        let crate::session::Loaded { cal, log, as_of, .. } = session.load(args.orders.as_deref(), &args.input, &when, false)?;
        currency = Some(log.currency());
        clock.mark("read");
        holdfast_app::predict_values(&log, &cal, as_of, &vopts)
    };
    clock.mark("fit+predict");
    let Some(model) = values.models.purchases.as_ref() else {
        let why = values.models.purchases_unavailable.clone().unwrap_or_default();
        return Err(holdfast_app::Error::user(format!("no predictions: {why}")).into());
    };
    if !g.quiet {
        if let Some(u) = &values.models.spend_unavailable {
            eprintln!("note: no CLV: {u}; expected_aov and clv are empty");
        }
    }
    let (summary, end, preds, spend) = (&values.summary, values.end, &values.predictions, values.models.spend);
    let days = summary.unit.days();
    let mut rows: Vec<Row> = summary
        .customer_ids
        .par_iter()
        .zip(&summary.rows)
        .zip(preds)
        .map(|((id, r), p)| {
            let next_in = p.expected_next_order_in.and_then(fin);
            Row {
                customer_id: id,
                frequency: r.frequency,
                recency: r.recency,
                t: r.t,
                p_alive: fin(p.p_alive),
                expected_purchases: fin(p.expected_purchases),
                expected_next_order: next_in.zip(end).map(|(t, e)| (e + Duration::days((t * days).ceil() as i64)).format("%Y-%m-%d").to_string()),
                expected_next_order_in: next_in,
                expected_aov: p.expected_aov.and_then(fin),
                clv: p.clv.and_then(fin),
            }
        })
        .collect();
    let total = rows.len();
    if let Some(n) = args.limit {
        rows.sort_by(by_value);
        rows.truncate(n);
    }
    let params: serde_json::Map<String, serde_json::Value> = model.params().into_iter().map(|(k, v)| (k.to_string(), serde_json::json!(fin(v)))).collect();
    if args.json {
        let out = Output {
            model: model.name(),
            params,
            unit: summary.unit,
            horizon_months: args.horizon,
            discount_monthly: args.discount,
            as_of: end.map(|e| (e + Duration::days(1)).format("%Y-%m-%d").to_string()),
            spend_model: spend.map(|s| serde_json::json!({"p": s.p, "q": s.q, "v": s.v})),
        };
        print_json_with_array(&out, "customers", &rows)?;
        clock.mark("output");
        return Ok(());
    }
    let opt = |v: Option<f64>, d: usize| v.map_or(String::new(), |x| format!("{x:.d$}"));
    if args.csv {
        let mut csv = Csv::new(&[
            "customer_id",
            "frequency",
            "recency",
            "T",
            "p_alive",
            "expected_purchases",
            "expected_next_order",
            "expected_next_order_in",
            "expected_aov",
            "clv",
        ]);
        for r in &rows {
            csv.row([
                r.customer_id.to_string(),
                r.frequency.to_string(),
                r.recency.to_string(),
                r.t.to_string(),
                opt(r.p_alive, 6),
                opt(r.expected_purchases, 6),
                r.expected_next_order.clone().unwrap_or_default(),
                opt(r.expected_next_order_in, 3),
                opt(r.expected_aov, 2),
                opt(r.clv, 2),
            ]);
        }
        return csv.print();
    }
    // The table: the most valuable customers first, in days, with named columns.
    rows.sort_by(by_value);
    let limit = args.limit.unwrap_or(25);
    let l = g.lang();
    let ru = l == holdfast_report::Lang::Ru;
    let cur = currency.map(|c| format!(" ({})", l.currency_name(c))).unwrap_or_default();
    let mut s = String::new();
    let ps: Vec<String> = model.params().iter().map(|(k, v)| format!("{k} = {}", l.number(Some(*v), 4))).collect();
    let _ = if ru {
        writeln!(
            s,
            "Клиентов: {}; модель {} ({}, обучена в единицах: {}); горизонт {} мес., дисконт {} в месяц",
            l.count(total as i64),
            model.name(),
            ps.join(", "),
            summary.unit.as_str(),
            args.horizon,
            l.pct(Some(args.discount))
        )
    } else {
        writeln!(
            s,
            "{total} customers; model {} ({}, fitted in {}s); horizon {} months, discount {}% a month",
            model.name(),
            ps.join(", "),
            summary.unit.as_str(),
            args.horizon,
            args.discount * 100.0
        )
    };
    let head = [
        l.t("Customer", "Клиент").to_string(),
        l.t("Repeat purchases", "Повторные покупки").into(),
        l.t("Days since last", "Дней с последнего").into(),
        l.t("Customer for (days)", "Клиент дней").into(),
        "P(alive)".into(),
        if ru { format!("Ожидаемые покупки ({} мес.)", args.horizon) } else { format!("Expected purchases ({} months)", args.horizon) },
        l.t("Next order by", "Следующий заказ до").into(),
        format!("{}{cur}", l.t("Expected order value", "Ожидаемый чек")),
        format!("CLV{cur}"),
    ];
    let mut t = holdfast_report::Table::new(&head.iter().map(String::as_str).collect::<Vec<_>>());
    t.right = vec![false, true, true, true, true, true, false, true, true];
    for r in rows.iter().take(limit) {
        let next = match (&r.expected_next_order, r.expected_next_order_in) {
            (Some(d), _) => chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").map_or_else(|_| d.clone(), |d| l.date(d)),
            (None, Some(u)) if ru => format!("через {:.0} дн.", u * days),
            (None, Some(u)) => format!("in {:.0} days", u * days),
            (None, None) => l.t("not expected", "не ожидается").into(),
        };
        t.row(vec![
            r.customer_id.to_string(),
            l.count(r.frequency as i64),
            format!("{:.0}", (r.t - r.recency) * days),
            format!("{:.0}", r.t * days),
            r.p_alive.map_or("n/a".into(), |v| l.pct(Some(v))),
            l.num(r.expected_purchases),
            next,
            l.money(r.expected_aov),
            l.money(r.clv),
        ]);
    }
    s.push_str(&t.to_text());
    if total > limit {
        let _ = if ru {
            writeln!(s, "… и ещё {} клиентов (--limit N покажет больше; --csv или --json — всех)", l.count((total - limit) as i64))
        } else {
            writeln!(s, "… and {} more customers (--limit N shows more; --csv or --json gives all)", total - limit)
        };
    }
    print(&s)
}

/// Most valuable first: by CLV, then expected purchases (customers without come last).
fn by_value(a: &Row, b: &Row) -> std::cmp::Ordering {
    let key = |r: &Row| (r.clv.unwrap_or(f64::NEG_INFINITY), r.expected_purchases.unwrap_or(f64::NEG_INFINITY));
    let (ka, kb) = (key(a), key(b));
    kb.0.total_cmp(&ka.0).then(kb.1.total_cmp(&ka.1)).then_with(|| a.customer_id.cmp(b.customer_id))
}
