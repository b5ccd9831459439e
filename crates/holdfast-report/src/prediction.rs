//! The "value and prediction" section of the report: BG/NBD and Gamma-Gamma fitted on the orders
//! before the as-of date, what they predict for the next 12 months (who is still alive, how many
//! purchases, what each customer is worth), and how well the model would have predicted the last
//! part of the history it had not seen (the tracking and conditional-expectation plots of Fader,
//! Hardie & Lee 2005).
//!
//! Time unit: weeks, as in the literature. The calibration/holdout split for the check keeps the
//! last quarter of the history (at least 4 and at most 52 weeks) as the holdout.

use crate::html::{Card, Page, Section};
use crate::locale::Lang;
use crate::svg::{bar_chart, color, line_chart, Axes, Series, ValueFormat};
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

    fn params_table(&self, l: Lang) -> Table {
        let mut t = Table::new(&[
            l.t("Model", "Модель"),
            l.t("Parameters", "Параметры"),
            l.t("Log-likelihood", "Лог-правдоподобие"),
            l.t("Customers", "Клиенты"),
            l.t("Converged", "Сошлась"),
        ]);
        t.right = vec![false, false, true, true, false];
        for m in [&self.purchases, &self.spend].into_iter().flatten() {
            let params: Vec<String> = m.params.iter().map(|(n, v)| format!("{n} = {}", l.number(Some(*v), 4))).collect();
            t.row(vec![
                if m.model == "gg" {
                    l.t("Gamma-Gamma (spend)", "Gamma-Gamma (траты)").into()
                } else {
                    l.t("BG/NBD (purchases)", "BG/NBD (покупки)").into()
                },
                params.join(", "),
                l.num(Some(m.log_likelihood)),
                l.count(m.customers.round() as i64),
                l.yes_no(m.converged).into(),
            ]);
        }
        t
    }

    fn top_table(&self, l: Lang) -> Table {
        let cur = l.currency_name(self.currency);
        let (aov, clv) = (format!("{} ({cur})", l.t("Expected order value", "Ожидаемый чек")), format!("CLV ({cur})"));
        let mut t = Table::new(&[
            l.t("Customer", "Клиент"),
            l.t("Repeat purchases", "Повторные покупки"),
            "P(alive)",
            l.t("Expected purchases", "Ожидаемые покупки"),
            l.t("Next order by", "Следующий заказ до"),
            &aov,
            &clv,
        ]);
        t.right = vec![false, true, true, true, false, true, true];
        for r in &self.top {
            t.row(vec![
                r.customer_id.clone(),
                l.count(r.frequency as i64),
                l.pct(Some(r.p_alive)),
                l.num(Some(r.expected_purchases)),
                r.expected_next_order.map(|d| l.date(d)).unwrap_or_else(|| l.t("not expected", "не ожидается").into()),
                l.money(r.expected_aov),
                l.money(r.clv),
            ]);
        }
        t
    }

    fn check_table(c: &ModelCheck, l: Lang) -> Table {
        let mut t = Table::new(&[
            l.t("Calibration frequency", "Частота в калибровке"),
            l.t("Customers", "Клиенты"),
            l.t("Actual holdout purchases", "Фактические покупки в проверке"),
            l.t("Predicted", "Прогноз"),
        ]);
        t.right = vec![false, true, true, true];
        for p in &c.conditional {
            t.row(vec![p.frequency.clone(), l.count(p.customers as i64), l.num(Some(p.actual)), l.num(Some(p.predicted))]);
        }
        t
    }
}

impl Section for PredictionSection {
    fn id(&self) -> &str {
        "prediction"
    }

    fn title(&self, l: Lang) -> String {
        l.t("Value and prediction", "Ценность и прогноз").to_string()
    }

    fn intro(&self, l: Lang) -> String {
        l.t(
            "What the customer-base models expect: who is still buying, how much they will buy in the next 12 months and what each customer is worth (BG/NBD for purchases, Gamma-Gamma for spend, 1% monthly discount).",
            "Что ожидают модели клиентской базы: кто ещё покупает, сколько купят за следующие 12 месяцев и сколько стоит каждый клиент (BG/NBD для покупок, Gamma-Gamma для трат, дисконт 1 % в месяц).",
        )
        .to_string()
    }

    fn html(&self, page: &mut Page) {
        let l = page.lang();
        if let Some(why) = &self.unavailable {
            page.warning(&format!("{} {why}.", l.t("No predictions:", "Прогноза нет:")));
            return;
        }
        let mut cards = vec![
            Card::new(
                l.t("Expected still buying", "Ожидается, что ещё покупают"),
                l.count(self.expected_alive.round() as i64),
                l.t("Sum over customers of the probability each is still alive (P(alive)).", "Сумма по клиентам вероятности, что каждый ещё «жив» (P(alive))."),
            )
            .detail(match l {
                Lang::En => format!("of {} customers", l.count(self.customers as i64)),
                Lang::Ru => format!("из {} клиентов", l.count(self.customers as i64)),
            }),
            Card::new(
                l.t("Expected purchases, next 12 months", "Ожидаемые покупки за 12 месяцев"),
                l.count(self.expected_purchases.round() as i64),
                l.t("Sum of each customer's expected purchases over the horizon.", "Сумма ожидаемых покупок каждого клиента на горизонте."),
            ),
        ];
        if let Some(v) = self.total_clv {
            cards.push(Card::new(
                l.t("Customer value, next 12 months (CLV)", "Ценность клиентов за 12 месяцев (CLV)"),
                l.amount(Some(v), self.currency),
                l.t(
                    "Expected purchases × expected order value, discounted 1% a month, summed.",
                    "Ожидаемые покупки × ожидаемый чек с дисконтом 1 % в месяц, в сумме.",
                ),
            ));
        }
        page.cards(&cards);
        if let Some(why) = &self.spend_unavailable {
            page.warning(why);
        }
        if let Some(r) = self.frequency_spend_correlation {
            if r.abs() > 0.3 {
                page.warning(&match l {
                    Lang::En => {
                        format!("Repeat purchases and order value are correlated ({r:.2}); Gamma-Gamma assumes they are not, so treat CLV as a rough guide.")
                    }
                    Lang::Ru => format!(
                        "Число повторных покупок и размер чека связаны (корреляция {}); Gamma-Gamma предполагает, что нет, поэтому CLV — лишь грубый ориентир.",
                        l.num(Some(r))
                    ),
                });
            }
        }
        let labels: Vec<String> = self.p_alive_distribution.iter().map(|b| b.label.clone()).collect();
        page.chart(
            l.t("How many customers are still alive, by probability", "Сколько клиентов ещё «живы», по вероятности"),
            &bar_chart(
                l.t("Customers by P(alive)", "Клиенты по P(alive)"),
                &labels,
                &[Series::new(l.t("customers", "клиенты"), color::NEUTRAL, self.p_alive_distribution.iter().map(|b| Some(b.customers as f64)).collect())],
                &[],
                ValueFormat::Count,
                &[],
                &Axes::new(l, l.t("P(alive): probability of still buying", "P(alive): вероятность, что ещё покупает"), l.t("customers", "клиентов"))
                    .categories(),
            ),
            l.t(
                "each bar counts the customers whose probability of still buying falls in that range; a tall left end means many customers have quietly gone.",
                "каждый столбик — число клиентов, чья вероятность ещё покупать попадает в этот диапазон; высокий левый край — многие клиенты тихо ушли.",
            ),
        );
        page.table(l.t("The most valuable customers", "Самые ценные клиенты"), &self.top_table(l));
        if let Some(c) = &self.check {
            let labels: Vec<String> = c.tracking.iter().map(|p| l.date(p.week_start)).collect();
            page.chart(
                &match l {
                    Lang::En => format!("Tracking: cumulative repeat purchases, actual and expected (holdout from {})", l.date(c.calibration_end)),
                    Lang::Ru => format!("Отслеживание: повторные покупки нарастающим итогом, факт и ожидание (проверка с {})", l.date(c.calibration_end)),
                },
                &line_chart(
                    l.t("Tracking plot", "График отслеживания"),
                    &labels,
                    &[
                        Series::new(l.t("actual", "факт"), color::NEUTRAL, c.tracking.iter().map(|p| Some(p.actual)).collect()),
                        Series { dashed: true, ..Series::new(l.t("expected", "ожидание"), "#2b6cb0", c.tracking.iter().map(|p| Some(p.expected)).collect()) },
                    ],
                    ValueFormat::Count,
                    true,
                    &Axes::new(l, l.t("week starting", "неделя, начиная с"), l.t("repeat purchases, cumulative", "повторные покупки, нарастающим итогом")),
                ),
                l.t(
                    "the model was fitted on the orders before the holdout; where the dashed line keeps following the solid one after it, the model forecasts well.",
                    "модель обучена на заказах до проверочного периода; если пунктир и дальше идёт за сплошной линией, модель прогнозирует хорошо.",
                ),
            );
            let freq: Vec<String> = c.conditional.iter().map(|p| p.frequency.clone()).collect();
            page.chart(
                l.t("Conditional expectations: holdout purchases by calibration frequency", "Условные ожидания: покупки в проверке по частоте в калибровке"),
                &line_chart(
                    l.t("Conditional expectations", "Условные ожидания"),
                    &freq,
                    &[
                        Series::new(l.t("actual", "факт"), color::NEUTRAL, c.conditional.iter().map(|p| Some(p.actual)).collect()),
                        Series { dashed: true, ..Series::new(l.t("predicted", "прогноз"), "#2b6cb0", c.conditional.iter().map(|p| Some(p.predicted)).collect()) },
                    ],
                    ValueFormat::Count,
                    true,
                    &Axes::new(
                        l,
                        l.t("repeat purchases before the holdout", "повторные покупки до проверки"),
                        l.t("purchases per customer in the holdout", "покупок на клиента в проверке"),
                    )
                    .categories(),
                ),
                l.t(
                    "customers grouped by how many repeat purchases they made before the holdout; for each group, the purchases they made in the holdout against what the model predicted.",
                    "клиенты сгруппированы по числу повторных покупок до проверочного периода; для каждой группы — покупки в проверке против прогноза модели.",
                ),
            );
            page.table(l.t("Holdout check by calibration frequency", "Проверка по частоте в калибровке"), &Self::check_table(c, l));
        } else if let Some(why) = &self.check_unavailable {
            page.explain(&[(l.t("Holdout check", "Проверка на отложенных данных"), why.as_str())]);
        }
        page.explain(&[
            (
                "P(alive)",
                l.t(
                    "the probability that a customer with this history has not quietly stopped buying (BG/NBD, Fader, Hardie & Lee 2005).",
                    "вероятность, что клиент с такой историей не перестал тихо покупать (BG/NBD, Fader, Hardie & Lee 2005).",
                ),
            ),
            (
                "CLV",
                l.t(
                    "Σ over the next 12 months of (expected purchases that month × expected order value) ÷ 1.01^month.",
                    "Σ за следующие 12 месяцев (ожидаемые покупки в месяце × ожидаемый чек) ÷ 1,01^месяц.",
                ),
            ),
        ]);
        page.table(l.t("Fitted models", "Обученные модели"), &self.params_table(l));
    }

    fn terminal(&self, l: Lang) -> String {
        if let Some(why) = &self.unavailable {
            return format!("{} {why}.\n", l.t("No predictions:", "Прогноза нет:"));
        }
        let clv = self.total_clv.map(|v| format!("; CLV {}", l.amount(Some(v), self.currency))).unwrap_or_default();
        let mut out = match l {
            Lang::En => format!(
                "{} customers; expected still buying {}; expected purchases in the next 12 months {}{clv}\n",
                l.count(self.customers as i64),
                l.count(self.expected_alive.round() as i64),
                l.count(self.expected_purchases.round() as i64),
            ),
            Lang::Ru => format!(
                "Клиентов: {}; ожидается, что ещё покупают: {}; ожидаемых покупок за 12 месяцев: {}{clv}\n",
                l.count(self.customers as i64),
                l.count(self.expected_alive.round() as i64),
                l.count(self.expected_purchases.round() as i64),
            ),
        };
        out.push_str(&self.params_table(l).to_text());
        out.push_str(&format!("\n{}\n", l.t("The most valuable customers", "Самые ценные клиенты")));
        out.push_str(&self.top_table(l).to_text());
        if let Some(c) = &self.check {
            out.push_str(&match l {
                Lang::En => format!(
                    "\nHoldout check from {} to {}: {:.0} repeat purchases happened, the model predicted {:.0}\n",
                    l.date(c.calibration_end),
                    l.date(c.holdout_end),
                    c.actual_holdout_purchases,
                    c.predicted_holdout_purchases
                ),
                Lang::Ru => format!(
                    "\nПроверка с {} по {}: повторных покупок было {:.0}, модель предсказала {:.0}\n",
                    l.date(c.calibration_end),
                    l.date(c.holdout_end),
                    c.actual_holdout_purchases,
                    c.predicted_holdout_purchases
                ),
            });
            out.push_str(&Self::check_table(c, l).to_text());
        }
        out
    }
}
