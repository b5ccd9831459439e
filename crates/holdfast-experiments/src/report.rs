//! One experiment analysed: the groups as assigned, every effect with its intervals, the guards
//! (sample ratio, fixed horizon, multiplicity) and the verdict in one sentence, in English and
//! Russian. [`analyse`] takes each customer's outcomes ([`Unit`]) and the design ([`Design`]);
//! reading them from the store is `holdfast-app`'s job.
//!
//! Which interval decides: revenue per customer is mostly zeros with a long tail, where Welch's
//! normal approximation and the bootstrap's resampling can each be a little too optimistic (in
//! `tests/planted.rs`' simulations the percentile bootstrap covers 94.3% instead of 95% over
//! 10,000 seeds). So the verdict, the incremental revenue and profit and the ROI use the **decision interval**:
//! the hull of the two, `[min(lows), max(highs)]` — a campaign is called a win only when both
//! intervals leave zero out, and neither method alone can manufacture one. CUPED (Welch on the
//! pre-period-adjusted revenue) shows how much narrower the same comparison gets with the
//! covariate. Conversion, orders and retention are compared with Welch's interval.

use crate::bootstrap::{bootstrap_diff, BootstrapOptions};
use crate::cuped::cuped;
use crate::holm::holm;
use crate::mde::{mde, ALPHA, POWER};
use crate::srm::{srm, Srm};
use crate::stats::{welch, Interval, Moments};
use holdfast_core::Currency;
use serde::Serialize;

/// The confidence level of every interval.
pub const LEVEL: f64 = 0.95;

/// One assigned customer's outcomes in the attribution window (as assigned: a treated customer
/// whose message bounced is still treated).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Unit {
    /// Index into [`Design::groups`].
    pub group: u32,
    /// Counted orders in the window.
    pub orders: u32,
    /// Their revenue, minor units.
    pub revenue: i64,
    /// Revenue of counted orders in the pre-period before assignment (the CUPED covariate).
    pub pre_revenue: i64,
    /// Active at the window's end (`METRICS.md`: a counted order in the inactivity window before it).
    pub retained: bool,
    /// What reaching this customer cost, minor units.
    pub cost: i64,
}

/// What the analysis needs to know besides the outcomes.
#[derive(Clone, Debug, PartialEq)]
pub struct Design {
    pub campaign: String,
    /// Group names; one must be the control group ([`is_control`]).
    pub groups: Vec<String>,
    /// Planned shares per group, in the order of `groups` (any positive weights), when known.
    pub planned: Option<Vec<f64>>,
    pub window_days: u32,
    /// Length of the pre-period of the CUPED covariate.
    pub pre_days: u32,
    pub currency: Currency,
    /// Gross margin: the share of revenue that is profit. `None`: not known (profit is then
    /// revenue, and the report says so).
    pub margin: Option<f64>,
    /// The as-of date and the date the last customer's window closes, as shown.
    pub as_of: String,
    pub window_end: String,
    /// Whether every customer's window closed before the as-of instant.
    pub is_final: bool,
}

/// The level and the bootstrap's replicates and seed.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Options {
    pub level: f64,
    pub bootstrap: BootstrapOptions,
}

impl Default for Options {
    fn default() -> Self {
        Options { level: LEVEL, bootstrap: BootstrapOptions::default() }
    }
}

/// Why an experiment cannot be analysed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ExperimentError {
    #[error("campaign {campaign:?} has no control group (its groups: {groups}): without customers who got nothing there is nothing to measure the campaign against; name the held-out customers' group \"control\"")]
    NoControl { campaign: String, groups: String },
    #[error("campaign {campaign:?} has only a control group: nobody was treated, so there is nothing to compare")]
    NoTreated { campaign: String },
    #[error("campaign {campaign:?} has more than one control group ({groups}); merge them into one group named \"control\"")]
    TwoControls { campaign: String, groups: String },
}

/// Whether a group name means the control group: `control` (or Russian `контроль`,
/// `контрольная`), any case.
pub fn is_control(name: &str) -> bool {
    let n = name.trim().to_lowercase();
    matches!(n.as_str(), "control" | "контроль" | "контрольная")
}

/// One group's size and mean outcomes.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct GroupSummary {
    pub name: String,
    pub n: u64,
    /// Share of the group with at least one counted order in the window.
    pub conversion: f64,
    /// Mean revenue per assigned customer (zeros included), major units.
    pub revenue_mean: f64,
    pub orders_mean: f64,
    /// Share active at the window's end.
    pub retention: f64,
    pub pre_revenue_mean: f64,
    pub revenue_total: f64,
    pub cost_total: f64,
}

/// A difference treated − control with its interval.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Effect {
    /// `conversion`, `revenue`, `orders` (or `retention`).
    pub metric: &'static str,
    /// The treated side: a variant's name, or `all variants` when several are pooled.
    pub group: String,
    pub difference: f64,
    pub ci_low: Option<f64>,
    pub ci_high: Option<f64>,
    /// `welch`, `bootstrap` or `cuped`.
    pub method: &'static str,
    pub p_value: Option<f64>,
    /// Whether the verdict uses this interval (for revenue: Welch's and the bootstrap's, through
    /// their hull, [`decision_interval`]).
    pub decides: bool,
}

/// Incremental revenue and profit of one comparison: the revenue difference × treated customers.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Incremental {
    pub treated_n: u64,
    pub revenue: f64,
    pub revenue_ci_low: f64,
    pub revenue_ci_high: f64,
    /// Revenue × margin (revenue itself when no margin is known).
    pub profit: f64,
    pub profit_ci_low: f64,
    pub profit_ci_high: f64,
    /// The treated customers' cost.
    pub cost: f64,
    pub margin: Option<f64>,
}

/// `ROI = (incremental profit − cost) / cost` with its interval.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Roi {
    pub value: f64,
    pub ci_low: f64,
    pub ci_high: f64,
    /// The ROI is an increasing linear function of the revenue difference (cost and margin are
    /// fixed), so its interval is the difference's decision interval ([`decision_interval`])
    /// mapped through it: `welch+bootstrap`.
    pub method: &'static str,
}

/// What CUPED did for one comparison's revenue.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CupedSummary {
    pub theta: f64,
    pub correlation: f64,
    pub variance_reduction: f64,
    /// Interval width with CUPED ÷ without (`√(1 − variance_reduction)`).
    pub width_ratio: f64,
    pub pre_days: u32,
}

/// One treated side against the control group.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Comparison {
    pub group: String,
    /// The groups pooled on the treated side.
    pub groups: Vec<String>,
    pub treated_n: u64,
    pub control_n: u64,
    /// The decision interval of the revenue difference leaves out zero (with several variants:
    /// each variant's Holm-adjusted p-value — the larger of Welch's and the bootstrap's — is
    /// below 0.05).
    pub significant: bool,
    pub p_value: Option<f64>,
    /// Holm-adjusted over the variants (variants only, when there are several).
    pub p_holm: Option<f64>,
    pub incremental: Option<Incremental>,
    pub roi: Option<Roi>,
    pub cuped: Option<CupedSummary>,
}

/// Where the experiment stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Final and trustworthy: the verdict stands.
    Verdict,
    /// Some windows are still open: figures are interim, not a verdict.
    NotFinal,
    /// The group sizes do not match the plan: no verdict at all.
    Blocked,
}

/// The verdict in one sentence.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Verdict {
    pub status: Status,
    pub en: String,
    pub ru: String,
}

/// The whole analysis. Money in major units of `currency`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ExperimentReport {
    pub campaign: String,
    pub window_days: u32,
    pub currency: Currency,
    pub as_of: String,
    pub window_end: String,
    #[serde(rename = "final")]
    pub is_final: bool,
    pub status: Status,
    pub control: String,
    pub groups: Vec<GroupSummary>,
    /// Conversion, revenue and orders, treated − control: the headline comparison first (the only
    /// variant, or all variants pooled), then each variant when there are several.
    pub effects: Vec<Effect>,
    /// Retention at the window's end, the same comparisons (Welch).
    pub retention: Vec<Effect>,
    /// The interval the verdict uses for revenue: `welch+bootstrap`, the hull of the two.
    pub decision_method: &'static str,
    pub level: f64,
    pub bootstrap: BootstrapOptions,
    pub cuped: Option<CupedSummary>,
    pub incremental: Option<Incremental>,
    pub roi: Option<Roi>,
    /// The naive figure mailers print: all revenue of treated customers in the window, as if none
    /// of it would have happened anyway. Labelled; never used for a decision.
    pub revenue_attributed: f64,
    /// `revenue_attributed / cost` (the articles' "return ratio"), with the same warning.
    pub return_ratio: Option<f64>,
    pub comparisons: Vec<Comparison>,
    /// How several variants were compared (Holm), in plain words.
    pub multiplicity: Option<String>,
    pub srm: Option<Srm>,
    pub srm_p: Option<f64>,
    /// The smallest revenue difference per customer this experiment could detect (α = 0.05,
    /// power 0.8), from its sizes and the control group's spread.
    pub mde_revenue: Option<f64>,
    pub significant: bool,
    pub verdict: Verdict,
    pub warnings: Vec<String>,
}

/// Each group's outcomes as columns (major units for money).
#[derive(Default)]
struct Columns {
    converted: Vec<f64>,
    orders: Vec<f64>,
    revenue: Vec<f64>,
    pre: Vec<f64>,
    retained: Vec<f64>,
    cost_minor: i64,
}

impl Columns {
    fn extend(&mut self, o: &Columns) {
        self.converted.extend(&o.converted);
        self.orders.extend(&o.orders);
        self.revenue.extend(&o.revenue);
        self.pre.extend(&o.pre);
        self.retained.extend(&o.retained);
        self.cost_minor += o.cost_minor;
    }
    fn n(&self) -> usize {
        self.revenue.len()
    }
}

fn mean(xs: &[f64]) -> f64 {
    if xs.is_empty() {
        0.0
    } else {
        xs.iter().sum::<f64>() / xs.len() as f64
    }
}

/// Analyses one experiment. Groups without customers are left out.
pub fn analyse(design: &Design, units: &[Unit], opts: &Options) -> Result<ExperimentReport, ExperimentError> {
    let per = design.currency.minor_per_major() as f64;
    let mut cols: Vec<Columns> = (0..design.groups.len()).map(|_| Columns::default()).collect();
    for u in units {
        let Some(c) = cols.get_mut(u.group as usize) else { continue };
        c.converted.push(if u.orders > 0 { 1.0 } else { 0.0 });
        c.orders.push(u.orders as f64);
        c.revenue.push(u.revenue as f64 / per);
        c.pre.push(u.pre_revenue as f64 / per);
        c.retained.push(if u.retained { 1.0 } else { 0.0 });
        c.cost_minor += u.cost;
    }
    let present: Vec<usize> = (0..cols.len()).filter(|&g| cols[g].n() > 0).collect();
    let names = |gs: &[usize]| gs.iter().map(|&g| design.groups[g].as_str()).collect::<Vec<_>>().join(", ");
    let controls: Vec<usize> = present.iter().copied().filter(|&g| is_control(&design.groups[g])).collect();
    let control = match controls.as_slice() {
        [] => return Err(ExperimentError::NoControl { campaign: design.campaign.clone(), groups: names(&present) }),
        [c] => *c,
        _ => return Err(ExperimentError::TwoControls { campaign: design.campaign.clone(), groups: names(&controls) }),
    };
    let treated: Vec<usize> = present.iter().copied().filter(|&g| g != control).collect();
    if treated.is_empty() {
        return Err(ExperimentError::NoTreated { campaign: design.campaign.clone() });
    }
    let mut warnings = Vec::new();

    let groups: Vec<GroupSummary> = present
        .iter()
        .map(|&g| {
            let c = &cols[g];
            GroupSummary {
                name: design.groups[g].clone(),
                n: c.n() as u64,
                conversion: mean(&c.converted),
                revenue_mean: mean(&c.revenue),
                orders_mean: mean(&c.orders),
                retention: mean(&c.retained),
                pre_revenue_mean: mean(&c.pre),
                revenue_total: c.revenue.iter().sum(),
                cost_total: c.cost_minor as f64 / per,
            }
        })
        .collect();
    if cols[control].cost_minor != 0 {
        warnings.push(format!(
            "the control group has a cost of {:.2} {}: control customers are not contacted, so that cost is left out of the ROI",
            cols[control].cost_minor as f64 / per,
            design.currency
        ));
    }

    // The comparisons: the only variant, or all variants pooled and then each one.
    let mut sides: Vec<(String, Vec<usize>)> = Vec::new();
    if treated.len() == 1 {
        sides.push((design.groups[treated[0]].clone(), treated.clone()));
    } else {
        sides.push(("all variants".to_owned(), treated.clone()));
        for &t in &treated {
            sides.push((design.groups[t].clone(), vec![t]));
        }
    }

    let level = opts.level;
    let ctl = &cols[control];
    let margin = design.margin;
    let m = margin.unwrap_or(1.0);
    let (mut effects, mut retention, mut comparisons) = (Vec::new(), Vec::new(), Vec::new());
    for (k, (label, members)) in sides.iter().enumerate() {
        let mut t = Columns::default();
        for &g in members {
            t.extend(&cols[g]);
        }
        let nt = t.n() as u64;
        let headline = k == 0;
        let push = |metric: &'static str, method: &'static str, iv: Option<Interval>, point: f64, decides: bool, out: &mut Vec<Effect>| {
            out.push(Effect {
                metric,
                group: label.clone(),
                difference: iv.map_or(point, |i| i.estimate),
                ci_low: iv.map(|i| i.low),
                ci_high: iv.map(|i| i.high),
                method,
                p_value: iv.map(|i| i.p_value),
                decides,
            })
        };
        let w = |a: &[f64], b: &[f64]| welch(&Moments::of(a), &Moments::of(b), level).map(|w| w.interval);
        let diff = |a: &[f64], b: &[f64]| mean(a) - mean(b);
        push("conversion", "welch", w(&t.converted, &ctl.converted), diff(&t.converted, &ctl.converted), false, &mut effects);
        let rev_welch = w(&t.revenue, &ctl.revenue);
        let boot_opts = BootstrapOptions { seed: opts.bootstrap.seed.wrapping_add(k as u64), ..opts.bootstrap };
        let boot = bootstrap_diff(&t.revenue, &ctl.revenue, level, &boot_opts).map(|b| b.interval);
        let cup = cuped(&t.revenue, &t.pre, &ctl.revenue, &ctl.pre, level);
        let rev_point = diff(&t.revenue, &ctl.revenue);
        push("revenue", "welch", rev_welch, rev_point, true, &mut effects);
        push("revenue", "bootstrap", boot, rev_point, true, &mut effects);
        push("revenue", "cuped", cup.map(|c| c.welch.interval), rev_point, false, &mut effects);
        push("orders", "welch", w(&t.orders, &ctl.orders), diff(&t.orders, &ctl.orders), false, &mut effects);
        push("retention", "welch", w(&t.retained, &ctl.retained), diff(&t.retained, &ctl.retained), false, &mut retention);

        let cost = t.cost_minor as f64 / per;
        let decision = decision_interval(rev_welch, boot);
        let incremental = decision.map(|d| {
            let r = d.map(0.0, nt as f64);
            let p = r.map(0.0, m);
            Incremental {
                treated_n: nt,
                revenue: r.estimate,
                revenue_ci_low: r.low,
                revenue_ci_high: r.high,
                profit: p.estimate,
                profit_ci_low: p.low,
                profit_ci_high: p.high,
                cost,
                margin,
            }
        });
        let roi = match (&incremental, cost > 0.0) {
            (Some(i), true) => Some(Roi {
                value: (i.profit - cost) / cost,
                ci_low: (i.profit_ci_low - cost) / cost,
                ci_high: (i.profit_ci_high - cost) / cost,
                method: DECISION_METHOD,
            }),
            _ => None,
        };
        let cuped_summary = cup.map(|c| CupedSummary {
            theta: c.theta,
            correlation: c.correlation,
            variance_reduction: c.variance_reduction,
            width_ratio: (1.0 - c.variance_reduction).max(0.0).sqrt(),
            pre_days: design.pre_days,
        });
        comparisons.push(Comparison {
            group: label.clone(),
            groups: members.iter().map(|&g| design.groups[g].clone()).collect(),
            treated_n: nt,
            control_n: ctl.n() as u64,
            significant: decision.is_some_and(|d| d.excludes_zero()),
            p_value: decision.map(|d| d.p_value),
            p_holm: None,
            incremental,
            roi,
            cuped: cuped_summary,
        });
        if headline && (nt < 2 || ctl.n() < 2) {
            warnings.push("a group has fewer than two customers: no interval can be computed".to_owned());
        }
    }

    // Several variants: Holm over the variants' decision p-values.
    let mut multiplicity = None;
    if treated.len() > 1 {
        let ps: Vec<f64> = comparisons[1..].iter().map(|c| c.p_value.unwrap_or(1.0)).collect();
        let adj = holm(&ps);
        for (c, a) in comparisons[1..].iter_mut().zip(&adj) {
            c.p_holm = Some(*a);
            c.significant = *a < ALPHA;
        }
        let winners: Vec<String> =
            comparisons[1..].iter().filter(|c| c.significant).map(|c| format!("{} (p = {})", c.group, fmt_p(c.p_holm.unwrap_or(1.0)))).collect();
        multiplicity = Some(format!(
            "{} variants were each compared with the control group; their p-values are Holm-adjusted for {} comparisons, so the chance of any false win stays at 5%. Significant after the adjustment: {}.",
            treated.len(),
            treated.len(),
            if winners.is_empty() { "none".to_owned() } else { winners.join(", ") }
        ));
    }

    let srm_check = design.planned.as_ref().and_then(|planned| {
        let observed: Vec<u64> = present.iter().map(|&g| cols[g].n() as u64).collect();
        let shares: Vec<f64> = present.iter().map(|&g| planned.get(g).copied().unwrap_or(0.0)).collect();
        srm(&observed, &shares)
    });
    if design.planned.is_none() {
        warnings.push(
            "no planned split is recorded for this campaign, so the sample-ratio check did not run (give one, e.g. --split control=0.1,treatment=0.9)"
                .to_owned(),
        );
    }
    if design.margin.is_none() {
        warnings.push("no gross margin is set: profit is counted as the whole revenue, which overstates the ROI (set one, e.g. --margin 0.35)".to_owned());
    }
    let srm_p = srm_check.as_ref().map(|s| s.p_value);
    let status = if srm_check.as_ref().is_some_and(|s| !s.passed) {
        Status::Blocked
    } else if !design.is_final {
        Status::NotFinal
    } else {
        Status::Verdict
    };

    let main = &comparisons[0];
    let treated_cols: Vec<&Columns> = treated.iter().map(|&g| &cols[g]).collect();
    let revenue_attributed: f64 = treated_cols.iter().flat_map(|c| c.revenue.iter()).sum();
    let treated_cost = main.incremental.as_ref().map_or(0.0, |i| i.cost);
    let ctl_sd = Moments::of(&ctl.revenue).var.sqrt();
    let mde_revenue = mde(main.treated_n as f64, main.control_n as f64, ctl_sd, ALPHA, POWER);
    let mut report = ExperimentReport {
        campaign: design.campaign.clone(),
        window_days: design.window_days,
        currency: design.currency,
        as_of: design.as_of.clone(),
        window_end: design.window_end.clone(),
        is_final: design.is_final,
        status,
        control: design.groups[control].clone(),
        groups,
        effects,
        retention,
        decision_method: DECISION_METHOD,
        level,
        bootstrap: opts.bootstrap,
        cuped: main.cuped.clone(),
        incremental: main.incremental.clone(),
        roi: main.roi.clone(),
        revenue_attributed,
        return_ratio: (treated_cost > 0.0).then(|| revenue_attributed / treated_cost),
        significant: main.significant,
        comparisons,
        multiplicity,
        srm: srm_check,
        srm_p,
        mde_revenue,
        verdict: Verdict { status, en: String::new(), ru: String::new() },
        warnings,
    };
    report.verdict = crate::verdict::verdict(&report);
    Ok(report)
}

/// How the decision interval is made (see the module docs).
pub const DECISION_METHOD: &str = "welch+bootstrap";

/// The decision interval of the revenue difference: the hull of Welch's and the bootstrap's
/// intervals (either alone when the other is missing), with the larger of their p-values — it
/// leaves zero out exactly when both do.
pub fn decision_interval(welch: Option<Interval>, bootstrap: Option<Interval>) -> Option<Interval> {
    match (welch, bootstrap) {
        (Some(w), Some(b)) => Some(Interval { estimate: w.estimate, low: w.low.min(b.low), high: w.high.max(b.high), p_value: w.p_value.max(b.p_value) }),
        (w, b) => w.or(b),
    }
}

/// A p-value for people: `0.004`, `< 0.001`.
pub fn fmt_p(p: f64) -> String {
    if p < 0.001 {
        "< 0.001".to_owned()
    } else {
        format!("{p:.3}")
    }
}
