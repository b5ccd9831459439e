//! The analyze report's section on segments, the action queue and service chains: segment sizes
//! and revenue shares (a diverging bar chart), value tiers with their effort, the top of the
//! at-risk list and the strongest service chains. Every number comes from `holdfast-core`'s
//! `segments`, `actions` and `nbo` (rules: `docs/SEGMENTS.md`).

use crate::html::{Page, Section};
use crate::locale::Lang;
use crate::svg::{grouped_bar_chart, Axes, Series, ValueFormat};
use crate::table::Table;
use crate::vocab::{explanation, word};
use holdfast_core::actions::{action_queue_top, QueueOptions};
use holdfast_core::flags::Flag;
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
    /// The flags themselves, for the reason in another language.
    #[serde(skip)]
    pub flag_details: Vec<Flag>,
}

impl TaskRow {
    /// The reason in `l`: each flag's explanation with its numbers.
    pub fn reason_in(&self, l: Lang) -> String {
        if l == Lang::En || self.flag_details.is_empty() {
            return self.reason.clone();
        }
        self.flag_details.iter().map(|f| explanation(l, f)).collect::<Vec<_>>().join("; ")
    }
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
    /// The learned churn risk by segment (filled by the caller that learns it; `None`: not
    /// learned).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub churn_risk: Option<ChurnRiskRows>,
}

/// The learned churn risk (`holdfast risk`'s model) by segment.
#[derive(Clone, Debug, Serialize)]
pub struct ChurnRiskRows {
    /// The risk is the chance of no purchase within this many days.
    pub horizon_days: i64,
    pub holdout_auc: Option<f64>,
    /// BG/NBD's expected purchases' AUC on the same holdout.
    pub baseline_auc: Option<f64>,
    /// Mean risk by segment key (`champions`, …) and how many customers have a risk ≥ 0.5.
    pub segments: Vec<(String, f64, u64)>,
}

impl SegmentsSection {
    /// Segments (window `window_days` for lifecycle states), the action queue and service chains
    /// (60-day window) of `log` at `as_of`.
    pub fn compute(log: &OrderLog, as_of: Instant, window_days: u32) -> SegmentsSection {
        Self::compute_keeping(log, as_of, window_days).0
    }

    /// [`SegmentsSection::compute`], and every customer's segment it was summed from (for a
    /// caller that adds figures by segment, such as the learned churn risk).
    pub fn compute_keeping(log: &OrderLog, as_of: Instant, window_days: u32) -> (SegmentsSection, Vec<holdfast_core::segments::CustomerSegment>) {
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
                flag_details: t.flags.clone(),
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
        (SegmentsSection { customers: n, segments, tiers, total_tasks, top_tasks, chains, currency: log.currency(), churn_risk: None }, segs)
    }

    /// Share of customers in each segment, as the table shows it.
    fn segment_table(&self, l: Lang) -> Table {
        let mut head =
            vec![l.t("Segment", "Сегмент"), l.t("Customers", "Клиенты"), l.t("Share of customers", "Доля клиентов"), l.t("Share of revenue", "Доля выручки")];
        if self.churn_risk.is_some() {
            head.push(l.t("Mean churn risk", "Средний риск оттока"));
        }
        let mut t = Table::new(&head);
        for s in &self.segments {
            let mut row = vec![word(l, s.name), l.count(s.customers as i64), l.pct(s.customer_share), l.pct(s.revenue_share)];
            if let Some(r) = &self.churn_risk {
                row.push(l.pct(r.segments.iter().find(|x| x.0 == s.segment).map(|x| x.1)));
            }
            t.row(row);
        }
        t
    }

    /// The learned risk's line: its horizon and how well it ranks beside BG/NBD.
    fn risk_line(&self, l: Lang) -> Option<String> {
        let r = self.churn_risk.as_ref()?;
        let auc = |a: Option<f64>| a.map_or("–".to_owned(), |a| l.number(Some(a), 3));
        Some(match l {
            Lang::En => format!(
                "Mean churn risk: the learned model's chance of no purchase within {} days (holdout AUC {} vs BG/NBD {}; holdfast risk for each customer and the reasons).",
                r.horizon_days,
                auc(r.holdout_auc),
                auc(r.baseline_auc)
            ),
            Lang::Ru => format!(
                "Средний риск оттока: вероятность по обученной модели, что клиент ничего не купит за {} дн. (AUC на отложенной выборке {} против BG/NBD {}; по каждому клиенту и с причинами — holdfast risk).",
                r.horizon_days,
                auc(r.holdout_auc),
                auc(r.baseline_auc)
            ),
        })
    }

    fn tier_table(&self, l: Lang) -> Table {
        let mut t = Table::new(&[l.t("Tier", "Уровень"), l.t("Customers", "Клиенты"), l.t("Effort", "Усилие")]);
        t.right = vec![false, true, false];
        for x in &self.tiers {
            t.row(vec![x.tier.clone(), l.count(x.customers as i64), word(l, x.effort)]);
        }
        t
    }

    fn task_table(&self, l: Lang) -> Table {
        let stake = format!("{} ({})", l.t("Stake", "На кону"), l.currency_name(self.currency));
        let mut t = Table::new(&[l.t("Customer", "Клиент"), &stake, l.t("Severity", "Важность"), l.t("Step", "Шаг"), l.t("Why", "Почему")]);
        t.right = vec![false, true, false, false, false];
        t.wrap = vec![4];
        for x in &self.top_tasks {
            t.row(vec![x.customer_id.clone(), l.money(Some(x.stake)), word(l, x.severity), word(l, x.suggested_step), x.reason_in(l)]);
        }
        t
    }

    /// This week's list: whom to contact, what to do, why, and what they have spent.
    fn week_table(&self, l: Lang) -> Table {
        let mut t = Table::new(&[
            "#".to_string(),
            l.t("Customer", "Клиент").to_string(),
            l.t("What to do", "Что сделать").to_string(),
            l.t("Why", "Почему").to_string(),
            format!("{}, {}", l.t("Spent so far", "Потратил"), l.currency_name(self.currency)),
        ]);
        t.right = vec![true, false, false, false, true];
        t.wrap = vec![3];
        t.stack = true;
        for (i, x) in self.top_tasks.iter().enumerate() {
            t.row(vec![(i + 1).to_string(), x.customer_id.clone(), word(l, x.suggested_step), x.reason_in(l), l.money(Some(x.stake))]);
        }
        t
    }

    /// The "do this" line that closes "At a glance": what this week's list asks for, in one
    /// sentence.
    pub fn do_this(&self, l: Lang) -> String {
        if self.top_tasks.is_empty() {
            return l
                .t(
                    "Do this: nothing urgent — no customer has drifted from their own rhythm. Watch the retention chart below for slower trends.",
                    "Что сделать: срочного нет — ни один клиент не выбился из своего ритма. Медленные изменения видны на графике удержания ниже.",
                )
                .into();
        }
        let mut steps: Vec<(&str, usize)> = Vec::new();
        for x in &self.top_tasks {
            match steps.iter_mut().find(|(s, _)| *s == x.suggested_step) {
                Some((_, n)) => *n += 1,
                None => steps.push((x.suggested_step, 1)),
            }
        }
        let steps: Vec<String> = steps.iter().map(|(s, n)| format!("{} × {n}", word(l, s))).collect();
        let stake = l.amount(Some(self.top_tasks.iter().map(|x| x.stake).sum()), self.currency);
        let n = self.top_tasks.len();
        let more = self.total_tasks.saturating_sub(n);
        match l {
            Lang::En => format!(
                "Do this: work through this week's list at the top — {} — {n} customers who have spent {stake} in all.{}",
                steps.join(", "),
                if more > 0 { format!(" {} more wait in holdfast at-risk.", l.count(more as i64)) } else { String::new() }
            ),
            Lang::Ru => format!(
                "Что сделать: пройдите список этой недели в начале отчёта — {} — {n} клиентов, потративших всего {stake}.{}",
                steps.join(", "),
                if more > 0 { format!(" Ещё {} ждут в holdfast at-risk.", l.count(more as i64)) } else { String::new() }
            ),
        }
    }

    /// Writes the section "This week" (id `week`): the top of the action queue as a list to work
    /// through, before the metrics.
    pub fn week(&self, page: &mut Page) {
        let l = page.lang();
        page.section(
            "week",
            l.t("This week: whom to contact", "На этой неделе: с кем связаться"),
            l.t(
                "The customers drifting away from their own rhythm with the most at stake, highest first: whom to contact, why, and the step their value deserves.",
                "Клиенты, которые выбиваются из своего ритма, — сначала те, у кого больше на кону: с кем связаться, почему и какой шаг оправдан их ценностью.",
            ),
        );
        if self.top_tasks.is_empty() {
            page.paragraph(l.t(
                "Nobody needs contacting this week: no customer has a red flag.",
                "На этой неделе связываться не с кем: ни у одного клиента нет тревожных признаков.",
            ));
            return;
        }
        page.open_table("", &self.week_table(l));
        let more = self.total_tasks.saturating_sub(self.top_tasks.len());
        if more > 0 {
            page.paragraph(&match l {
                Lang::En => format!("…and {} more, in order, in holdfast at-risk (and the dashboard's Today page).", l.count(more as i64)),
                Lang::Ru => format!("…и ещё {} — по порядку в holdfast at-risk (и на странице «Сегодня» панели).", l.count(more as i64)),
            });
        }
    }

    fn chain_table(&self, l: Lang) -> Option<Table> {
        let chains = self.chains.as_ref()?;
        let mut t = Table::new(&[
            l.t("From", "После"),
            l.t("To", "Покупают"),
            l.t("Customers", "Клиенты"),
            l.t("Share who follow", "Доля последовавших"),
            l.t("Median delay, days", "Медианная задержка, дн."),
        ]);
        for c in chains {
            t.row(vec![
                c.from.clone(),
                if c.replenishment { format!("{} ({})", c.to, l.t("again", "снова")) } else { c.to.clone() },
                l.count(c.support as i64),
                l.pct(Some(c.confidence)),
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

    fn title(&self, l: Lang) -> String {
        l.t("Segments, customers at risk and service chains", "Сегменты, клиенты под угрозой и цепочки покупок").to_string()
    }

    fn intro(&self, l: Lang) -> String {
        l.t(
            "RFM segments (recency, frequency, monetary scores 1–5 by quintiles), value tiers by share of revenue, the customers drifting from their own rhythm with the most at stake, and which purchase tends to follow which.",
            "RFM-сегменты (оценки давности, частоты и суммы покупок 1–5 по квинтилям), уровни ценности по доле выручки, клиенты, выбившиеся из своего ритма, с наибольшей суммой на кону, и какая покупка обычно следует за какой.",
        )
        .to_string()
    }

    fn html(&self, page: &mut Page) {
        let l = page.lang();
        let labels: Vec<String> = self.segments.iter().map(|s| word(l, s.name)).collect();
        let series = [
            Series::new(l.t("share of revenue", "доля выручки"), "#2b6cb0", self.segments.iter().map(|s| s.revenue_share).collect()),
            Series::new(l.t("share of customers", "доля клиентов"), "#a0aec0", self.segments.iter().map(|s| s.customer_share).collect()),
        ];
        page.chart(
            l.t("Segments: share of revenue and of customers", "Сегменты: доля выручки и доля клиентов"),
            &grouped_bar_chart(
                l.t("Segments", "Сегменты"),
                &labels,
                &series,
                ValueFormat::Percent,
                &Axes::new(l, l.t("RFM segment", "RFM-сегмент"), l.t("share of all, %", "доля от всех, %")).categories(),
            ),
            l.t(
                "for each segment, the dark bar is its share of revenue and the light bar its share of customers. A dark bar taller than the light one: few customers, much revenue (champions, can't lose them). The reverse: many customers worth little each.",
                "для каждого сегмента тёмный столбик — его доля выручки, светлый — доля клиентов. Тёмный выше светлого: мало клиентов, много выручки (чемпионы, нельзя потерять). Наоборот: много клиентов, каждый приносит мало.",
            ),
        );
        page.table(l.t("Segments", "Сегменты"), &self.segment_table(l));
        if let Some(line) = self.risk_line(l) {
            page.explain(&[(l.t("Churn risk", "Риск оттока"), &line)]);
        }
        page.table(l.t("Value tiers and the effort each deserves", "Уровни ценности и усилие, которого заслуживает каждый"), &self.tier_table(l));
        page.table(
            &match l {
                Lang::En => format!("Top of the at-risk list ({} tasks in all; holdfast at-risk for every one)", l.count(self.total_tasks as i64)),
                Lang::Ru => format!("Начало списка клиентов под угрозой (всего задач: {}; все — в holdfast at-risk)", l.count(self.total_tasks as i64)),
            },
            &self.task_table(l),
        );
        match self.chain_table(l) {
            Some(t) => page.table(
                l.t(
                    "Strongest service chains (60-day window; holdfast next-offers for offers per customer)",
                    "Самые устойчивые цепочки покупок (окно 60 дней; предложения по клиентам — holdfast next-offers)",
                ),
                &t,
            ),
            None => page.explain(&[(
                l.t("Service chains", "Цепочки покупок"),
                l.t("The orders have no product column, so no chains can be learned.", "В заказах нет столбца с товаром, поэтому цепочки выучить нельзя."),
            )]),
        }
    }

    fn terminal(&self, l: Lang) -> String {
        let mut out = match l {
            Lang::En => format!("RFM segments of {} customers\n", l.count(self.customers as i64)),
            Lang::Ru => format!("RFM-сегменты, клиентов: {}\n", l.count(self.customers as i64)),
        };
        out.push_str(&self.segment_table(l).to_text());
        if let Some(line) = self.risk_line(l) {
            out.push_str(&line);
            out.push('\n');
        }
        out.push_str(&format!("\n{}\n{}\n", l.t("Value tiers", "Уровни ценности"), self.tier_table(l).to_text()));
        out.push_str(&match l {
            Lang::En => format!("Top of the at-risk list ({} tasks in all)\n", l.count(self.total_tasks as i64)),
            Lang::Ru => format!("Начало списка клиентов под угрозой (всего задач: {})\n", l.count(self.total_tasks as i64)),
        });
        out.push_str(&self.task_table(l).to_text());
        out.push('\n');
        if let Some(t) = self.chain_table(l) {
            out.push_str(&format!("{}\n{}", l.t("Strongest service chains (60-day window)", "Самые устойчивые цепочки покупок (окно 60 дней)"), t.to_text()));
        }
        out
    }
}
