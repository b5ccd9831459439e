//! The analyze report's section on segments, the action queue and service chains: segment sizes
//! and revenue shares (a diverging bar chart), value tiers with their effort, the top of the
//! at-risk list and the strongest service chains. Every number comes from `holdfast-core`'s
//! `segments`, `actions` and `nbo` (rules: `docs/SEGMENTS.md`).

use crate::format::{fmt_count, fmt_money, fmt_pct};
use crate::html::{Page, Section};
use crate::svg::{bar_chart, Series, ValueFormat};
use crate::table::Table;
use holdfast_core::actions::{action_queue_top, QueueOptions};
use holdfast_core::nbo::{service_chains, NboOptions};
use holdfast_core::segments::{segment_customers_with, summarize, Basis, SegmentOptions, Tier};
use holdfast_core::{Instant, OrderLog};
use serde::Serialize;

/// How many tasks and chains the report lists.
const TOP: usize = 10;

#[derive(Clone, Debug, Serialize)]
pub struct SegmentRow {
    pub segment: &'static str,
    pub name: &'static str,
    pub customers: usize,
    pub customer_share: Option<f64>,
    pub revenue_share: Option<f64>,
}

#[derive(Clone, Debug, Serialize)]
pub struct TierRow {
    pub tier: String,
    pub customers: usize,
    pub effort: &'static str,
}

#[derive(Clone, Debug, Serialize)]
pub struct TaskRow {
    pub customer_id: String,
    /// Major units.
    pub stake: f64,
    pub severity: &'static str,
    pub suggested_step: &'static str,
    pub flags: Vec<&'static str>,
    pub reason: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct ChainRow {
    pub from: String,
    pub to: String,
    pub support: u32,
    pub confidence: f64,
    pub median_delay_days: f64,
    pub replenishment: bool,
}

/// The section (JSON field `segments` of the analyze report).
#[derive(Clone, Debug, Serialize)]
pub struct SegmentsSection {
    pub customers: usize,
    pub segments: Vec<SegmentRow>,
    pub tiers: Vec<TierRow>,
    pub total_tasks: usize,
    pub top_tasks: Vec<TaskRow>,
    /// `None` when the orders have no products.
    pub chains: Option<Vec<ChainRow>>,
    /// The currency of the stakes (named in the tables; the JSON's `source` names it).
    #[serde(skip)]
    pub currency: holdfast_core::Currency,
}

impl SegmentsSection {
    /// Segments (window `window_days` for lifecycle states), the action queue and service chains
    /// (60-day window) of `log` at `as_of`.
    pub fn compute(log: &OrderLog, as_of: Instant, window_days: u32) -> SegmentsSection {
        let seg_opts = SegmentOptions { window_days, ..SegmentOptions::new(as_of) };
        let basis = Basis::new(log, as_of, &seg_opts.tiers);
        let (segs, chains) = rayon::join(|| segment_customers_with(log, &seg_opts, &basis), || service_chains(log, &NboOptions::new(as_of)));
        let n = segs.len();
        let share = |k: usize| (n > 0).then(|| k as f64 / n as f64);
        let segments = summarize(&segs)
            .into_iter()
            .map(|s| SegmentRow {
                segment: s.segment.key(),
                name: s.segment.as_str(),
                customers: s.customers,
                customer_share: share(s.customers),
                revenue_share: s.revenue_share,
            })
            .collect();
        let tiers = [Tier::A, Tier::B, Tier::C]
            .into_iter()
            .map(|t| TierRow { tier: t.to_string(), customers: segs.iter().filter(|s| s.tier == t).count(), effort: t.effort() })
            .collect();
        let (total_tasks, queue) = action_queue_top(log, None, &chains, &QueueOptions { window_days, ..QueueOptions::new(as_of) }, &basis, TOP);
        let k = log.currency().minor_per_major().max(1) as f64;
        let top_tasks = queue
            .iter()
            .take(TOP)
            .map(|t| TaskRow {
                customer_id: t.customer_id.clone(),
                stake: t.stake as f64 / k,
                severity: t.severity.as_str(),
                suggested_step: t.suggested_step.as_str(),
                flags: t.flags.iter().map(|f| f.kind.as_str()).collect(),
                reason: t.reason(),
            })
            .collect();
        let chains = log.lines().is_some().then(|| {
            chains
                .iter()
                .take(TOP)
                .map(|c| ChainRow {
                    from: c.from.clone(),
                    to: c.to.clone(),
                    support: c.support,
                    confidence: c.confidence,
                    median_delay_days: c.median_delay_days,
                    replenishment: c.replenishment,
                })
                .collect()
        });
        SegmentsSection { customers: n, segments, tiers, total_tasks, top_tasks, chains, currency: log.currency() }
    }

    fn segment_table(&self) -> Table {
        let mut t = Table::new(&["Segment", "Customers", "Share of customers", "Share of revenue"]);
        for s in &self.segments {
            t.row(vec![s.name.to_string(), fmt_count(s.customers as i64), fmt_pct(s.customer_share), fmt_pct(s.revenue_share)]);
        }
        t
    }

    fn tier_table(&self) -> Table {
        let mut t = Table::new(&["Tier", "Customers", "Effort"]);
        t.right = vec![false, true, false];
        for x in &self.tiers {
            t.row(vec![x.tier.clone(), fmt_count(x.customers as i64), x.effort.to_string()]);
        }
        t
    }

    fn task_table(&self) -> Table {
        let stake = format!("Stake ({})", self.currency);
        let mut t = Table::new(&["Customer", &stake, "Severity", "Step", "Why"]);
        t.right = vec![false, true, false, false, false];
        for x in &self.top_tasks {
            t.row(vec![x.customer_id.clone(), fmt_money(Some(x.stake)), x.severity.to_string(), x.suggested_step.to_string(), x.reason.clone()]);
        }
        t
    }

    fn chain_table(&self) -> Option<Table> {
        let chains = self.chains.as_ref()?;
        let mut t = Table::new(&["From", "To", "Customers", "Share who follow", "Median delay, days"]);
        for c in chains {
            t.row(vec![
                c.from.clone(),
                if c.replenishment { format!("{} (again)", c.to) } else { c.to.clone() },
                fmt_count(c.support as i64),
                fmt_pct(Some(c.confidence)),
                format!("{:.0}", c.median_delay_days),
            ]);
        }
        Some(t)
    }
}

impl Section for SegmentsSection {
    fn id(&self) -> &str {
        "segments"
    }

    fn title(&self) -> String {
        "Segments, customers at risk and service chains".to_string()
    }

    fn intro(&self) -> String {
        "RFM segments (recency, frequency, monetary scores 1–5 by quintiles), value tiers by share of revenue, the customers drifting from their own rhythm with the most at stake, and which purchase tends to follow which.".to_string()
    }

    fn html(&self, page: &mut Page) {
        let labels: Vec<String> = self.segments.iter().map(|s| s.name.to_string()).collect();
        let up = [Series::new("share of revenue", "#2b6cb0", self.segments.iter().map(|s| s.revenue_share).collect())];
        let down = [Series::new("share of customers", "#a0aec0", self.segments.iter().map(|s| s.customer_share).collect())];
        page.chart(
            "Segments: share of revenue (up) and of customers (down)",
            &bar_chart("Segments", &labels, &up, &down, ValueFormat::Percent, &[]),
            "A tall bar above a short one below: few customers, much revenue (champions, can't lose them). The reverse: many customers worth little each.",
        );
        page.table("Segments", &self.segment_table());
        page.table("Value tiers and the effort each deserves", &self.tier_table());
        page.table(
            &format!("Top of the at-risk list ({} tasks in all; holdfast at-risk for every one)", fmt_count(self.total_tasks as i64)),
            &self.task_table(),
        );
        match self.chain_table() {
            Some(t) => page.table("Strongest service chains (60-day window; holdfast next-offers for offers per customer)", &t),
            None => page.explain(&[("Service chains", "The orders have no product column, so no chains can be learned.")]),
        }
    }

    fn terminal(&self) -> String {
        let mut out = format!(
            "RFM segments of {} customers\n{}\nValue tiers\n{}\n",
            fmt_count(self.customers as i64),
            self.segment_table().to_text(),
            self.tier_table().to_text()
        );
        out.push_str(&format!("Top of the at-risk list ({} tasks in all)\n{}\n", fmt_count(self.total_tasks as i64), self.task_table().to_text()));
        if let Some(t) = self.chain_table() {
            out.push_str(&format!("Strongest service chains (60-day window)\n{}", t.to_text()));
        }
        out
    }
}
