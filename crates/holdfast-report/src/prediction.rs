//! The "value and prediction" section of the report: BG/NBD and Gamma-Gamma fitted on the orders
//! before the as-of date, what they predict for the next 12 months (who is still alive, how many
//! purchases, what each customer is worth), and how well the model would have predicted the last
//! part of the history it had not seen (the tracking and conditional-expectation plots of Fader,
//! Hardie & Lee 2005).
//!
//! Time unit: weeks, as in the literature. The calibration/holdout split for the check keeps the
//! last quarter of the history (at least 4 and at most 52 weeks) as the holdout.

use crate::format::{fmt_count, fmt_money, fmt_num, fmt_pct};
use crate::html::{Card, Page, Section};
use crate::svg::{bar_chart, color, line_chart, Series, ValueFormat};
use crate::table::Table;
use chrono::{Duration, NaiveDate};
use holdfast_core::{Calendar, Instant, OrderLog};
use holdfast_models::check::{model_check, ModelCheck};
use holdfast_models::{fit_purchases, fit_value_models, predict_customers, FitInfo, FitOptions, Occasions, PredictOptions, PurchaseKind, TimeUnit};
use serde::Serialize;

/// Customers listed by value.
const TOP: usize = 20;

/// A fitted model as shown: the statistics `fit_value_models` reports.
pub type ModelFit = FitInfo;

/// One of the most valuable customers.
#[derive(Clone, Debug, Serialize)]
pub struct ValueRow {
    pub customer_id: String,
    /// Repeat purchase occasions so far.
    pub frequency: u32,
    pub p_alive: f64,
    pub expected_purchases: f64,
    /// The date by which one more purchase is expected; `None`: not expected within the horizon.
    pub expected_next_order: Option<NaiveDate>,
    pub expected_aov: Option<f64>,
    pub clv: Option<f64>,
}

/// Customers by probability of being alive, in tenths.
#[derive(Clone, Debug, Serialize)]
pub struct AliveBucket {
    pub label: String,
    pub customers: usize,
}

/// The section.
#[derive(Clone, Debug, Serialize)]
pub struct PredictionSection {
    /// Why there are no predictions (the data cannot support the model), in plain words.
    pub unavailable: Option<String>,
    pub unit: TimeUnit,
    pub horizon_months: f64,
    pub discount_monthly: f64,
    pub purchases: Option<ModelFit>,
    pub spend: Option<ModelFit>,
    /// Pearson correlation of repeat purchases and mean repeat spend: near 0 supports
    /// Gamma-Gamma's independence assumption.
    pub frequency_spend_correlation: Option<f64>,
    /// Why there is no spend model, if there is none.
    pub spend_unavailable: Option<String>,
    pub customers: usize,
    /// Sum of P(alive): the customers the model expects to be still buying.
    pub expected_alive: f64,
    pub expected_purchases: f64,
    /// Sum of CLV over the horizon (major units), with a spend model.
    pub total_clv: Option<f64>,
    pub p_alive_distribution: Vec<AliveBucket>,
    pub top: Vec<ValueRow>,
    /// The holdout check; `None` when the history is too short or the calibration fit fails.
    pub check: Option<ModelCheck>,
    pub check_unavailable: Option<String>,
    /// The currency of the amounts (named in the tables; the JSON's `source` names it).
    #[serde(skip)]
    pub currency: holdfast_core::Currency,
}

impl PredictionSection {
    /// Fits on the orders of `log` before `as_of` (days cut in `cal`'s zone).
    pub fn compute(log: &OrderLog, cal: &Calendar, as_of: Instant) -> PredictionSection {
        let unit = TimeUnit::Week;
        let opts = PredictOptions::default();
        let mut out = PredictionSection {
            currency: log.currency(),
            unavailable: None,
            unit,
            horizon_months: opts.horizon_months,
            discount_monthly: opts.discount_monthly,
            purchases: None,
            spend: None,
            frequency_spend_correlation: None,
            spend_unavailable: None,
            customers: 0,
            expected_alive: 0.0,
            expected_purchases: 0.0,
            total_clv: None,
            p_alive_distribution: Vec::new(),
            top: Vec::new(),
            check: None,
            check_unavailable: None,
        };
        // The last day with orders counted is the day before as-of.
        let Some(end) = cal.date(as_of).pred_opt() else {
            out.unavailable = Some("the as-of date is out of range".into());
            return out;
        };
        let occ = Occasions::from_log(log, cal);
        let (summary, _) = occ.summary(end, unit);
        out.customers = summary.len();
        let fit_opts = FitOptions::default();
        let models = fit_value_models(PurchaseKind::Bgnbd, &summary, &summary.compress(), &fit_opts);
        out.purchases = models.purchase_fit;
        out.spend = models.spend_fit;
        out.frequency_spend_correlation = models.frequency_spend_correlation;
        let Some(model) = models.purchases else {
            out.unavailable = models.purchases_unavailable.map(|u| format!("no predictions: {u}"));
            return out;
        };
        out.spend_unavailable = models.spend_unavailable.map(|u| format!("no spend model, so no CLV: {u}"));
        let spend = models.spend;
        let preds = predict_customers(model.as_ref(), spend.as_ref(), &summary, &opts);
        let mut buckets = [0usize; 10];
        let mut clv_total = 0.0;
        for p in &preds {
            if p.p_alive.is_finite() {
                out.expected_alive += p.p_alive;
                buckets[((p.p_alive * 10.0) as usize).min(9)] += 1;
            }
            if p.expected_purchases.is_finite() {
                out.expected_purchases += p.expected_purchases;
            }
            clv_total += p.clv.unwrap_or(0.0);
        }
        out.total_clv = spend.map(|_| clv_total);
        out.p_alive_distribution =
            buckets.iter().enumerate().map(|(i, &n)| AliveBucket { label: format!("{}–{}%", i * 10, i * 10 + 10), customers: n }).collect();
        // The most valuable: by CLV when there is a spend model, else by expected purchases; ties
        // by customer id.
        let key = |i: usize| preds[i].clv.unwrap_or(preds[i].expected_purchases);
        let mut order: Vec<usize> = (0..preds.len()).filter(|&i| key(i).is_finite()).collect();
        order.sort_by(|&a, &b| key(b).total_cmp(&key(a)).then_with(|| summary.customer_ids[a].cmp(&summary.customer_ids[b])));
        let days_per_unit = unit.days();
        out.top = order
            .iter()
            .take(TOP)
            .map(|&i| {
                let p = &preds[i];
                ValueRow {
                    customer_id: summary.customer_ids[i].clone(),
                    frequency: summary.rows[i].frequency,
                    p_alive: p.p_alive,
                    expected_purchases: p.expected_purchases,
                    expected_next_order: p.expected_next_order_in.and_then(|w| end.checked_add_signed(Duration::days((w * days_per_unit).ceil() as i64))),
                    expected_aov: p.expected_aov,
                    clv: p.clv,
                }
            })
            .collect();
        // The check: fit again without the last quarter of the history and compare.
        match occ.day_range().and_then(|(first, _)| holdfast_models::summary::date_of_day(first)) {
            None => out.check_unavailable = Some("no orders".into()),
            Some(first) => {
                let span = (end - first).num_days();
                let holdout = (span / 4).clamp(28, 364);
                if span < 2 * holdout {
                    out.check_unavailable = Some(format!("the history ({span} days) is too short to hold out {holdout} days and still fit the model"));
                } else {
                    let cal_end = end - Duration::days(holdout);
                    let (cal_summary, _) = occ.summary(cal_end, unit);
                    match fit_purchases(PurchaseKind::Bgnbd, &cal_summary.compress(), &fit_opts) {
                        Ok((m, _)) => out.check = Some(model_check(m.as_ref(), &occ, cal_end, end, unit)),
                        Err((why, _)) => out.check_unavailable = Some(format!("on the calibration period, {why}")),
                    }
                }
            }
        }
        out
    }

    fn params_table(&self) -> Table {
        let mut t = Table::new(&["Model", "Parameters", "Log-likelihood", "Customers", "Converged"]);
        t.right = vec![false, false, true, true, false];
        for m in [&self.purchases, &self.spend].into_iter().flatten() {
            let params: Vec<String> = m.params.iter().map(|(n, v)| format!("{n} = {v:.4}")).collect();
            t.row(vec![
                if m.model == "gg" { "Gamma-Gamma (spend)".into() } else { "BG/NBD (purchases)".into() },
                params.join(", "),
                format!("{:.2}", m.log_likelihood),
                fmt_count(m.customers.round() as i64),
                if m.converged { "yes".into() } else { "no".into() },
            ]);
        }
        t
    }

    fn top_table(&self) -> Table {
        let (aov, clv) = (format!("Expected order value ({})", self.currency), format!("CLV ({})", self.currency));
        let mut t = Table::new(&["Customer", "Repeat purchases", "P(alive)", "Expected purchases", "Next order by", &aov, &clv]);
        t.right = vec![false, true, true, true, false, true, true];
        for r in &self.top {
            t.row(vec![
                r.customer_id.clone(),
                fmt_count(r.frequency as i64),
                fmt_pct(Some(r.p_alive)),
                fmt_num(Some(r.expected_purchases)),
                r.expected_next_order.map(|d| d.to_string()).unwrap_or_else(|| "not expected".into()),
                fmt_money(r.expected_aov),
                fmt_money(r.clv),
            ]);
        }
        t
    }

    fn check_table(c: &ModelCheck) -> Table {
        let mut t = Table::new(&["Calibration frequency", "Customers", "Actual holdout purchases", "Predicted"]);
        t.right = vec![false, true, true, true];
        for p in &c.conditional {
            t.row(vec![p.frequency.clone(), fmt_count(p.customers as i64), fmt_num(Some(p.actual)), fmt_num(Some(p.predicted))]);
        }
        t
    }
}

impl Section for PredictionSection {
    fn id(&self) -> &str {
        "prediction"
    }

    fn title(&self) -> String {
        "Value and prediction".to_string()
    }

    fn intro(&self) -> String {
        "What the customer-base models expect: who is still buying, how much they will buy in the next 12 months and what each customer is worth (BG/NBD for purchases, Gamma-Gamma for spend, 1% monthly discount).".to_string()
    }

    fn html(&self, page: &mut Page) {
        if let Some(why) = &self.unavailable {
            page.warning(&format!("No predictions: {why}."));
            return;
        }
        let mut cards = vec![
            Card::new(
                "Expected still buying",
                fmt_count(self.expected_alive.round() as i64),
                "Sum over customers of the probability each is still alive (P(alive)).",
            )
            .detail(format!("of {} customers", fmt_count(self.customers as i64))),
            Card::new(
                "Expected purchases, next 12 months",
                fmt_count(self.expected_purchases.round() as i64),
                "Sum of each customer's expected purchases over the horizon.",
            ),
        ];
        if let Some(v) = self.total_clv {
            cards.push(Card::new(
                "Customer value, next 12 months (CLV)",
                format!("{} {}", fmt_money(Some(v)), self.currency),
                "Expected purchases × expected order value, discounted 1% a month, summed.",
            ));
        }
        page.cards(&cards);
        if let Some(why) = &self.spend_unavailable {
            page.warning(why);
        }
        if let Some(r) = self.frequency_spend_correlation {
            if r.abs() > 0.3 {
                page.warning(&format!(
                    "Repeat purchases and order value are correlated ({r:.2}); Gamma-Gamma assumes they are not, so treat CLV as a rough guide."
                ));
            }
        }
        let labels: Vec<String> = self.p_alive_distribution.iter().map(|b| b.label.clone()).collect();
        page.chart(
            "How many customers are still alive, by probability",
            &bar_chart(
                "Customers by P(alive)",
                &labels,
                &[Series::new("customers", color::NEUTRAL, self.p_alive_distribution.iter().map(|b| Some(b.customers as f64)).collect())],
                &[],
                ValueFormat::Count,
                &[],
            ),
            "each bar counts the customers whose probability of still buying falls in that range; a tall left end means many customers have quietly gone.",
        );
        page.table("The most valuable customers", &self.top_table());
        if let Some(c) = &self.check {
            let labels: Vec<String> = c.tracking.iter().map(|p| p.week_start.to_string()).collect();
            page.chart(
                &format!("Tracking: cumulative repeat purchases, actual and expected (holdout from {})", c.calibration_end),
                &line_chart(
                    "Tracking plot",
                    &labels,
                    &[
                        Series::new("actual", color::NEUTRAL, c.tracking.iter().map(|p| Some(p.actual)).collect()),
                        Series { dashed: true, ..Series::new("expected", "#2b6cb0", c.tracking.iter().map(|p| Some(p.expected)).collect()) },
                    ],
                    ValueFormat::Count,
                    true,
                ),
                "the model was fitted on the orders before the holdout; where the dashed line keeps following the solid one after it, the model forecasts well.",
            );
            let freq: Vec<String> = c.conditional.iter().map(|p| p.frequency.clone()).collect();
            page.chart(
                "Conditional expectations: holdout purchases by calibration frequency",
                &line_chart(
                    "Conditional expectations",
                    &freq,
                    &[
                        Series::new("actual", color::NEUTRAL, c.conditional.iter().map(|p| Some(p.actual)).collect()),
                        Series { dashed: true, ..Series::new("predicted", "#2b6cb0", c.conditional.iter().map(|p| Some(p.predicted)).collect()) },
                    ],
                    ValueFormat::Count,
                    true,
                ),
                "customers grouped by how many repeat purchases they made before the holdout; for each group, the purchases they made in the holdout against what the model predicted.",
            );
            page.table("Holdout check by calibration frequency", &Self::check_table(c));
        } else if let Some(why) = &self.check_unavailable {
            page.explain(&[("Holdout check", why.as_str())]);
        }
        page.explain(&[
            ("P(alive)", "the probability that a customer with this history has not quietly stopped buying (BG/NBD, Fader, Hardie & Lee 2005)."),
            ("CLV", "Σ over the next 12 months of (expected purchases that month × expected order value) ÷ 1.01^month."),
        ]);
        page.table("Fitted models", &self.params_table());
    }

    fn terminal(&self) -> String {
        if let Some(why) = &self.unavailable {
            return format!("No predictions: {why}.\n");
        }
        let mut out = format!(
            "{} customers; expected still buying {}; expected purchases in the next 12 months {}{}\n",
            fmt_count(self.customers as i64),
            fmt_count(self.expected_alive.round() as i64),
            fmt_count(self.expected_purchases.round() as i64),
            self.total_clv.map(|v| format!("; CLV {} {}", fmt_money(Some(v)), self.currency)).unwrap_or_default()
        );
        out.push_str(&self.params_table().to_text());
        out.push_str("\nThe most valuable customers\n");
        out.push_str(&self.top_table().to_text());
        if let Some(c) = &self.check {
            out.push_str(&format!(
                "\nHoldout check from {} to {}: {:.0} repeat purchases happened, the model predicted {:.0}\n",
                c.calibration_end, c.holdout_end, c.actual_holdout_purchases, c.predicted_holdout_purchases
            ));
            out.push_str(&Self::check_table(c).to_text());
        }
        out
    }
}
