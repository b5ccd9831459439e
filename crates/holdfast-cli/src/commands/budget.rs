//! `holdfast budget`: the one contact budget per customer — how many messages a customer may get
//! per local day, week and month, across every campaign and channel.

use crate::output::{print, print_json};
use crate::session::Session;
use crate::Global;
use holdfast_report::vocab::word;
use holdfast_report::Lang;
use holdfast_store::engine::{BudgetRule, BudgetScope};

/// The contact budget: limits per day / week / month for the workspace, per segment and per
/// customer (the customer's own preference); the most restrictive rule that applies wins. Days
/// are calendar days in the customer's time zone. Transactional messages are exempt but recorded.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Examples:\n  holdfast --db sqlite://shop.db budget set --per-day 1 --per-week 2 --per-month 6\n  holdfast --db sqlite://shop.db budget set --segment champions --per-week 3\n  holdfast --db sqlite://shop.db budget set --customer C-1042 --per-month 1\n  holdfast --db sqlite://shop.db budget show --json"
)]
pub struct Args {
    #[command(subcommand)]
    pub action: Action,
}

#[derive(clap::Subcommand, Debug)]
pub enum Action {
    /// Sets the limits of the workspace, a segment or a customer (a limit left out: none).
    Set {
        #[arg(long, value_name = "N")]
        per_day: Option<u32>,
        #[arg(long, value_name = "N")]
        per_week: Option<u32>,
        #[arg(long, value_name = "N")]
        per_month: Option<u32>,
        /// The override of one segment (e.g. at_risk).
        #[arg(long, value_name = "SEGMENT", conflicts_with = "customer")]
        segment: Option<String>,
        /// The preference of one customer.
        #[arg(long, value_name = "ID")]
        customer: Option<String>,
    },
    /// The rules in force.
    Show {
        #[arg(long)]
        json: bool,
    },
}

fn limits(l: Lang, r: &BudgetRule) -> String {
    let f = |v: Option<u32>, what: &str| {
        v.map(|n| match l {
            Lang::En => format!("{n} per {what}"),
            Lang::Ru => format!("{n} в {what}"),
        })
    };
    let parts: Vec<String> =
        [f(r.per_day, l.t("day", "день")), f(r.per_week, l.t("week", "неделю")), f(r.per_month, l.t("month", "месяц"))].into_iter().flatten().collect();
    if parts.is_empty() {
        l.t("no limit", "без ограничений").into()
    } else {
        parts.join(", ")
    }
}

pub fn run(args: Args, g: &Global) -> anyhow::Result<()> {
    let s = Session::new(g)?;
    let app = s.open_existing()?;
    let ws = app.ws.id;
    let l = g.lang();
    let ru = l == Lang::Ru;
    match args.action {
        Action::Set { per_day, per_week, per_month, segment, customer } => {
            let scope = match (segment, customer) {
                (Some(seg), _) => {
                    let sg = holdfast_engine::campaign::segment_named(&seg)
                        .ok_or_else(|| holdfast_app::Error::user(format!("--segment: {seg:?} is not a segment (e.g. at_risk, champions)")))?;
                    BudgetScope::Segment(sg.key().to_owned())
                }
                (None, Some(c)) => BudgetScope::Customer(c),
                (None, None) => BudgetScope::Workspace,
            };
            let rule = BudgetRule { per_day, per_week, per_month };
            s.store(app.store.set_budget(ws, &scope, rule))?;
            if ru {
                let what = match &scope {
                    BudgetScope::Workspace => "всего рабочего пространства".to_owned(),
                    BudgetScope::Segment(sg) => format!("сегмента «{}»", word(l, sg)),
                    BudgetScope::Customer(c) => format!("клиента {c}"),
                };
                return print(&format!("бюджет контактов {what}: {}\n", limits(l, &rule)));
            }
            let what = match &scope {
                BudgetScope::Workspace => "the workspace".to_owned(),
                BudgetScope::Segment(sg) => format!("segment {sg}"),
                BudgetScope::Customer(c) => format!("customer {c}"),
            };
            print(&format!("budget of {what}: {}\n", limits(l, &rule)))
        }
        Action::Show { json } => {
            let b = s.store(app.store.budget(ws))?;
            if json {
                return print_json(&b);
            }
            let mut out = format!("{}: {}\n", l.t("workspace", "всё рабочее пространство"), limits(l, &b.workspace));
            for (sg, r) in &b.segments {
                let sg = if ru { format!("«{}»", word(l, sg)) } else { sg.clone() };
                out.push_str(&format!("{} {sg}: {}\n", l.t("segment", "сегмент"), limits(l, r)));
            }
            for (c, r) in &b.customers {
                out.push_str(&format!("{} {c}: {}\n", l.t("customer", "клиент"), limits(l, r)));
            }
            print(&out)
        }
    }
}
