//! `holdfast next-offers`: service chains learned from purchase sequences, and per-customer
//! cross-sell, upsell and replenishment offers with their evidence.

use crate::args::When;
use crate::output::{print, print_json, Csv};
use crate::session::{Loaded, Session};
use crate::Global;
use holdfast_core::nbo::{next_offers, service_chains, Level, NboOptions};
use holdfast_report::vocab::{offer_reason, word};
use holdfast_report::{Lang, Table};
use serde::Serialize;
use std::path::PathBuf;

/// Next best offers. Service chains X → Y: of the customers whose first X leaves a full window,
/// the share who bought Y within the window (confidence), how many (support) and after how long
/// (median delay); only chains well above the baseline are kept. Offers per customer: cross-sell
/// and upsell from those chains ("41% of customers who bought X bought Y within 60 days"), and
/// replenishment reminders when the customer's own repurchase interval has passed. Needs a product
/// column. Rules: docs/SEGMENTS.md.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Example:\n  holdfast next-offers --orders orders.csv\n  holdfast next-offers --orders orders.csv --window 90 --level category --json\n  holdfast next-offers --orders orders.csv --csv > offers.csv"
)]
pub struct Args {
    /// Orders file (CSV) with a product column (and optionally a category column). Omitted: the orders in the store given by --db.
    #[arg(long, value_name = "FILE")]
    pub orders: Option<PathBuf>,
    #[command(flatten)]
    pub when: When,
    #[command(flatten)]
    pub input: crate::args::OrdersInput,
    /// Window in days within which the next purchase counts.
    #[arg(long, value_name = "DAYS", default_value_t = 60)]
    pub window: u32,
    /// Link products or their categories.
    #[arg(long, value_enum, default_value_t = LevelArg::Product)]
    pub level: LevelArg,
    /// Minimum number of customers behind a chain.
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub min_support: u32,
    /// Minimum share of customers who take the next step.
    #[arg(long, value_name = "SHARE", default_value_t = 0.1)]
    pub min_confidence: f64,
    /// Minimum lift over the baseline follow rate.
    #[arg(long, value_name = "X", default_value_t = 2.0)]
    pub min_lift: f64,
    /// At most this many offers per customer.
    #[arg(long, value_name = "N", default_value_t = 3)]
    pub max_offers: usize,
    /// Show only the first N offers (the table shows the first 25 unless told; JSON and CSV all).
    #[arg(long, value_name = "N")]
    pub limit: Option<usize>,
    /// Print one JSON document instead of tables.
    #[arg(long, conflicts_with = "csv")]
    pub json: bool,
    /// Print one CSV row per offer instead of tables.
    #[arg(long)]
    pub csv: bool,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum LevelArg {
    Product,
    Category,
}

#[derive(Serialize)]
struct ChainOut<'a> {
    from: &'a str,
    to: &'a str,
    support: u32,
    confidence: f64,
    median_delay_days: f64,
    eligible: u32,
    support_share: f64,
    baseline: f64,
    lift: Option<f64>,
    replenishment: bool,
}

#[derive(Serialize)]
struct OfferOut<'a> {
    customer_id: &'a str,
    product: &'a str,
    reason: String,
    kind: &'static str,
    confidence: Option<f64>,
    due: Option<String>,
    /// The reason in the language of the table.
    #[serde(skip)]
    said: String,
}

#[derive(Serialize)]
struct Out<'a> {
    as_of: String,
    level: Level,
    window_days: u32,
    chains: Vec<ChainOut<'a>>,
    total_offers: usize,
    offers: Vec<OfferOut<'a>>,
}

pub fn run(args: Args, g: &Global) -> anyhow::Result<()> {
    anyhow::ensure!(args.window > 0, "--window: expected at least 1 day");
    anyhow::ensure!((0.0..=1.0).contains(&args.min_confidence), "--min-confidence: expected a share between 0 and 1, got {}", args.min_confidence);
    anyhow::ensure!(args.min_lift.is_finite() && args.min_lift >= 0.0, "--min-lift: expected a number ≥ 0, got {}", args.min_lift);
    let s = Session::new(g)?;
    let Loaded { source, cal, log, as_of } = s.load(args.orders.as_deref(), &args.input, &args.when, true)?;
    anyhow::ensure!(
        log.lines().is_some(),
        "{} has no product column: service chains and offers need what each order bought (name it with --map product=HEADER)",
        source.name()
    );
    let level = match args.level {
        LevelArg::Product => Level::Product,
        LevelArg::Category => Level::Category,
    };
    anyhow::ensure!(
        level == Level::Product || !log.catalog().categories.is_empty(),
        "{} has no category column: use --level product or name it with --map category=HEADER",
        source.name()
    );
    let opts = NboOptions {
        level,
        window_days: args.window,
        min_support: args.min_support,
        min_confidence: args.min_confidence,
        min_lift: args.min_lift,
        max_offers: args.max_offers,
        ..NboOptions::new(as_of)
    };
    let chains = service_chains(&log, &opts);
    let offers = next_offers(&log, &chains, &opts);
    let total = offers.len();
    let l = g.lang();
    let ru = l == Lang::Ru;
    let offers_out: Vec<OfferOut> = offers
        .iter()
        .take(args.limit.unwrap_or(if args.json || args.csv { usize::MAX } else { 25 }))
        .map(|o| OfferOut {
            customer_id: o.customer_id(&log),
            product: o.product(&log),
            reason: o.reason(&log, &chains),
            kind: o.kind.as_str(),
            confidence: o.confidence,
            due: o.due.map(|d| cal.date(d).to_string()),
            said: if ru && !args.json && !args.csv { offer_reason(l, o, &log, &chains) } else { String::new() },
        })
        .collect();
    if args.csv {
        let mut csv = Csv::new(&["customer_id", "product", "kind", "confidence", "due", "reason"]);
        for o in &offers_out {
            csv.row([
                o.customer_id.to_string(),
                o.product.to_string(),
                o.kind.to_string(),
                o.confidence.map_or(String::new(), |c| format!("{c:.4}")),
                o.due.clone().unwrap_or_default(),
                o.reason.to_string(),
            ]);
        }
        return csv.print();
    }
    let chains_out: Vec<ChainOut> = chains
        .iter()
        .map(|c| ChainOut {
            from: &c.from,
            to: &c.to,
            support: c.support,
            confidence: c.confidence,
            median_delay_days: c.median_delay_days,
            eligible: c.eligible,
            support_share: c.support_share,
            baseline: c.baseline,
            lift: c.lift,
            replenishment: c.replenishment,
        })
        .collect();
    let as_of_s = cal.date(as_of).to_string();
    if args.json {
        return print_json(&Out { as_of: as_of_s, level, window_days: args.window, chains: chains_out, total_offers: total, offers: offers_out });
    }
    let mut t = Table::new(&[
        l.t("From", "После"),
        l.t("To", "Что дальше"),
        l.t("Customers", "Клиенты"),
        l.t("Share who follow", "Доля купивших"),
        l.t("Median delay, days", "Медиана задержки, дн."),
        l.t("Lift", "Лифт"),
    ]);
    for c in &chains_out {
        t.row(if ru {
            vec![
                c.from.to_string(),
                if c.replenishment { format!("{} (снова)", c.to) } else { c.to.to_string() },
                format!("{} из {}", l.count(c.support as i64), l.count(c.eligible as i64)),
                l.pct(Some(c.confidence)),
                l.number(Some(c.median_delay_days), 0),
                c.lift.map_or("—".to_string(), |x| format!("{}×", l.number(Some(x), 1))),
            ]
        } else {
            vec![
                c.from.to_string(),
                if c.replenishment { format!("{} (again)", c.to) } else { c.to.to_string() },
                format!("{} of {}", c.support, c.eligible),
                format!("{:.1}%", 100.0 * c.confidence),
                format!("{:.0}", c.median_delay_days),
                c.lift.map_or("—".to_string(), |l| format!("{l:.1}×")),
            ]
        });
    }
    let mut o = Table::new(&[l.t("Customer", "Клиент"), l.t("Offer", "Предложение"), l.t("Kind", "Вид"), l.t("Why", "Почему")]);
    for x in &offers_out {
        let (kind, why) = if ru { (word(l, x.kind), x.said.clone()) } else { (x.kind.replace('_', "-"), x.reason.to_string()) };
        o.row(vec![x.customer_id.to_string(), x.product.to_string(), kind, why]);
    }
    let chains_text = if chains_out.is_empty() {
        l.t("(no chain clears the thresholds)\n", "(ни одна цепочка не проходит пороги)\n").to_string()
    } else {
        t.to_text()
    };
    if ru {
        let shown = if offers_out.len() < total { format!(", показаны первые {}", l.count(offers_out.len() as i64)) } else { String::new() };
        return print(&format!(
            "Цепочки покупок на {} (окно {} дн., сильнейшие первыми)\n{chains_text}\nСледующие лучшие предложения: {}{shown}\n{}",
            l.date(cal.date(as_of)),
            args.window,
            l.count(total as i64),
            o.to_text()
        ));
    }
    let shown = if offers_out.len() < total { format!(", showing the first {}", offers_out.len()) } else { String::new() };
    print(&format!(
        "Service chains as of {as_of_s} (window {} days, strongest first)\n{chains_text}\nNext best offers: {total}{shown}\n{}",
        args.window,
        o.to_text()
    ))
}
