//! # holdfast-risk
//!
//! A churn-risk score learned from each workspace's own history: for every customer, the
//! probability of no purchase (or a cancelled subscription) within a horizon `H`, with the
//! reasons in plain words. Pure: no I/O, no clock — the as-of instant is an argument, and the
//! same input gives the same scores.
//!
//! ## Brief overview
//! - [`churn_risk`]: given the order log, optional [`Activity`] and [`RiskOptions`] (as-of,
//!   horizon), learns the model and scores every customer → [`RiskReport`]: the model's
//!   description ([`ModelInfo`]: features, training rows, holdout AUC beside the BG/NBD baseline)
//!   and per customer [`CustomerRisk`] with its [`Reason`]s, highest risk first.
//! - How it learns (a time split, no peeking): the features of every customer at `as-of − H`
//!   ([`features`]), the label "no purchase in `[as-of − H, as-of)`", customers split by a seeded
//!   hash of their id into training (60%), calibration (20%) and holdout (20%). The model is an
//!   L2-regularised logistic regression on standardised features ([`logistic`]), its log-odds
//!   calibrated by Platt scaling on the calibration customers; the holdout gives the AUC
//!   ([`auc()`]) and, on the same customers, the AUC of BG/NBD's expected purchases over `H`.
//! - The horizon `H`, unless given: the 90th percentile of the gaps between a customer's
//!   consecutive purchase days, rounded up to whole weeks, within 4 to 52 weeks, and at most half
//!   of the history before as-of (so the training cut keeps a history to learn from).
//! - Reasons: each feature's contribution to the calibrated log-odds, `a · bⱼ · (xⱼ − x̄ⱼ) / sⱼ`
//!   (Platt slope × coefficient × deviation from today's mean input over every scored customer,
//!   in training standard deviations), so the contributions add up to how far the customer's
//!   log-odds are from those of today's average customer; those of at
//!   least [`MIN_CONTRIBUTION`] largest first, each explained from the customer's own numbers in
//!   English and Russian ([`explain`]). Days since the last order and their ratio to the usual gap
//!   are one reason (their contributions summed): they measure the same silence.
//!
//! Reading files and the store is `holdfast-app`'s job, presenting `holdfast-cli`'s; the purchase
//! model is `holdfast-models`'.

pub mod auc;
pub mod explain;
pub mod features;
pub mod logistic;

pub use auc::auc;
pub use explain::Lang;
pub use features::{Facts, Feature};

use features::{add_activity, gaps_before, order_facts, quantile};
use holdfast_core::flags::{Activity, CustomerActivity};
use holdfast_core::{Calendar, Instant, OrderLog};
use holdfast_models::summary::{date_of_day, day_number, Occasions};
use logistic::{Logistic, Platt, Scaler};
use serde::Serialize;

/// What to learn and score.
#[derive(Clone, Debug)]
pub struct RiskOptions {
    /// Scores are for this instant; only what happened strictly before it is used.
    pub as_of: Instant,
    /// The horizon `H` in days; `None`: chosen from the data's rhythm (see the crate docs).
    pub horizon_days: Option<u32>,
    /// L2 penalty `λ` on the standardised coefficients.
    pub penalty: f64,
    /// Seed of the training / calibration / holdout split.
    pub seed: u64,
    /// At most this many reasons per customer.
    pub max_reasons: usize,
}

impl RiskOptions {
    pub fn new(as_of: Instant) -> RiskOptions {
        RiskOptions { as_of, horizon_days: None, penalty: 1.0, seed: 15, max_reasons: 5 }
    }
}

/// Why no model could be learned.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum RiskError {
    #[error("no customer ordered before the as-of date")]
    NoOrders,
    #[error("{days} days of orders before the as-of date: learning churn over a {horizon}-day horizon needs at least {} days (twice the horizon)", 2 * horizon)]
    TooLittleHistory { days: i64, horizon: i64 },
    #[error("horizon: expected 1 to 3650 days, got {0}")]
    BadHorizon(u32),
    #[error("only {rows} customers had ordered by {cut} (as-of minus the {horizon}-day horizon): too few to learn from (at least {min})")]
    TooFewCustomers { rows: usize, cut: String, horizon: i64, min: usize },
    #[error("every customer who had ordered by {cut} {what} within the next {horizon} days, so the history shows nothing to tell churners from the rest")]
    OneClass { cut: String, horizon: i64, what: &'static str },
    #[error("the customers who had ordered by {cut} all look alike (no feature varies among them): nothing to learn churn from")]
    NoVariation { cut: String },
    #[error("the churn model cannot be fitted: {0}")]
    Fit(#[from] logistic::FitError),
}

/// The model, as reports show it.
#[derive(Clone, Debug, Serialize)]
pub struct ModelInfo {
    /// `logistic_l2`: L2-regularised logistic regression, Platt-calibrated.
    pub kind: &'static str,
    pub features: Vec<Feature>,
    /// Customers the coefficients were fitted on.
    pub train_rows: usize,
    /// Customers the calibration was fitted on, and the holdout.
    pub calibration_rows: usize,
    pub holdout_rows: usize,
    /// AUC of the risk on the holdout (`None` when the holdout lacks a class).
    pub holdout_auc: Option<f64>,
    /// AUC of BG/NBD's expected purchases over `H` (fewer = riskier) on the same holdout; `None`
    /// when BG/NBD could not be fitted.
    pub baseline_auc: Option<f64>,
    /// The horizon `H` in days and how it was chosen.
    pub horizon_days: i64,
    pub horizon_rule: String,
    /// The training cut (as-of − H), a local date.
    pub cut: chrono::NaiveDate,
    /// Share of training customers who churned.
    pub churn_rate: f64,
    /// Coefficients on the standardised features, in `features` order, the intercept, and the
    /// Platt calibration.
    pub coefficients: Vec<f64>,
    pub intercept: f64,
    pub calibration: Platt,
    /// What the model had to do without (e.g. why BG/NBD is missing).
    pub notes: Vec<String>,
}

/// One reason of a customer's risk.
#[derive(Clone, Debug, Serialize)]
pub struct Reason {
    pub feature: Feature,
    /// The feature's value for the customer, in the units of [`Feature`]'s docs.
    pub value: f64,
    /// Its contribution to the calibrated log-odds of churn (positive = raises the risk).
    pub contribution: f64,
    pub explanation: String,
    #[serde(skip)]
    pub explanation_ru: String,
}

impl Reason {
    pub fn explanation(&self, lang: Lang) -> &str {
        match lang {
            Lang::En => &self.explanation,
            Lang::Ru => &self.explanation_ru,
        }
    }
}

/// One customer's risk.
#[derive(Clone, Debug, Serialize)]
pub struct CustomerRisk {
    pub customer_id: String,
    /// Calibrated probability of no purchase (or a cancelled subscription) within `H`.
    pub risk: f64,
    /// Contributions raising the risk, largest first.
    pub reasons: Vec<Reason>,
    /// How many positive contributions there were in all (`reasons` holds the first ones).
    #[serde(skip)]
    pub reasons_total: usize,
}

/// The scores of every customer who ordered before as-of, highest risk first (then by id).
#[derive(Clone, Debug, Serialize)]
pub struct RiskReport {
    pub as_of: Instant,
    pub model: ModelInfo,
    pub customers: Vec<CustomerRisk>,
}

/// Contributions below this (in log-odds: a factor of about 1.05 on the odds) are not reasons.
pub const MIN_CONTRIBUTION: f64 = 0.05;

impl RiskReport {
    /// Each customer's risk by id, for callers that look customers up (the queue, a customer's page).
    pub fn by_customer(&self) -> std::collections::HashMap<&str, &CustomerRisk> {
        self.customers.iter().map(|c| (c.customer_id.as_str(), c)).collect()
    }
}

/// Fewest customers at the training cut to learn from.
pub const MIN_ROWS: usize = 50;

/// Learns the churn model on the history before `opts.as_of` and scores every customer (days cut
/// in `cal`). See the crate docs for the method.
pub fn churn_risk(log: &OrderLog, cal: &Calendar, activity: Option<&Activity>, opts: &RiskOptions) -> Result<RiskReport, RiskError> {
    // Only orders before as-of count (a copy of the log only when there are later ones).
    let later = log.time_range().is_some_and(|(_, last)| last >= opts.as_of);
    let before = later.then(|| log.before(opts.as_of));
    let occ = Occasions::from_log(before.as_ref().unwrap_or(log), cal);
    drop(before);
    let day = day_number(cal.date(opts.as_of - 1)) + 1;
    let (first_day, _) = occ.day_range().ok_or(RiskError::NoOrders)?;
    let span = day - first_day;
    let (horizon, rule) = horizon(&occ, day, span, opts.horizon_days)?;
    let cut = day - horizon;
    let cut_date = date_of_day(cut).ok_or(RiskError::TooLittleHistory { days: span, horizon })?;
    let cut_at = cal.start_of_day(cut_date);
    let activity = activity.filter(|a| !a.is_empty());
    let act_of = |c: usize| activity.and_then(|a| a.get(&occ.customer_ids[c]));

    // Training rows: facts at the cut, label from the horizon after it.
    // Rows in customer-id order: the sums of the fit, and so the last bits of every number, do
    // not depend on the order of the customers in the log.
    let by_id = |v: &mut Vec<Facts>| v.sort_by(|a, b| occ.customer_ids[a.customer].cmp(&occ.customer_ids[b.customer]));
    let (mut train, bg_cut) = order_facts(&occ, cut, horizon, prior_gap(&occ, cut, horizon));
    by_id(&mut train);
    let labels: Vec<bool> = train
        .iter()
        .map(|f| {
            let days = occ.days_of(f.customer);
            let bought = days.iter().any(|&d| d >= cut && d < day);
            !bought || act_of(f.customer).is_some_and(|a| cancelled_within(a, cut_at, opts.as_of))
        })
        .collect();
    if let Some(a) = activity {
        for f in train.iter_mut() {
            if let Some(x) = a.get(&occ.customer_ids[f.customer]) {
                add_activity(f, x, cut_at);
            }
        }
    }
    if train.len() < MIN_ROWS {
        return Err(RiskError::TooFewCustomers { rows: train.len(), cut: cut_date.to_string(), horizon, min: MIN_ROWS });
    }
    if labels.iter().all(|&l| l) || labels.iter().all(|&l| !l) {
        let what = if labels[0] { "stopped buying" } else { "bought again" };
        return Err(RiskError::OneClass { cut: cut_date.to_string(), horizon, what });
    }

    // Scoring rows: facts at as-of.
    let (mut now, bg_now) = order_facts(&occ, day, horizon, prior_gap(&occ, day, horizon));
    by_id(&mut now);
    if let Some(a) = activity {
        for f in now.iter_mut() {
            if let Some(x) = a.get(&occ.customer_ids[f.customer]) {
                add_activity(f, x, opts.as_of);
            }
        }
    }

    let mut notes = Vec::new();
    let mut candidates: Vec<Feature> = Feature::ORDERS.to_vec();
    match (&bg_cut, &bg_now) {
        (Ok(()), Ok(())) => candidates.extend(Feature::MODEL),
        (Err(why), _) | (_, Err(why)) => notes.push(format!("no P(alive) or expected purchases among the features: {why}")),
    }
    if activity.is_some() {
        candidates.extend(Feature::ACTIVITY);
    } else {
        notes.push("no activity (logins, tickets, messages, NPS): the model learns from orders alone".to_string());
    }
    // Only features that vary among the training customers.
    let inputs_of = |fs: &[Feature], f: &Facts| fs.iter().map(|&k| k.input(f.value(k))).collect::<Vec<f64>>();
    let all: Vec<f64> = train.iter().flat_map(|f| inputs_of(&candidates, f)).collect();
    let sc = Scaler::of(&all, candidates.len());
    let features: Vec<Feature> = candidates.iter().zip(&sc.sd).filter(|(_, &sd)| sd > 1e-9).map(|(&k, _)| k).collect();
    let p = features.len();
    if p == 0 {
        return Err(RiskError::NoVariation { cut: cut_date.to_string() });
    }

    // Split by a seeded hash of the customer id.
    let part: Vec<u8> = train.iter().map(|f| split_of(&occ.customer_ids[f.customer], opts.seed)).collect();
    let rows = |which: u8| -> (Vec<f64>, Vec<bool>, Vec<usize>) {
        let mut x = Vec::new();
        let (mut y, mut idx) = (Vec::new(), Vec::new());
        for (i, f) in train.iter().enumerate() {
            if part[i] == which {
                x.extend(inputs_of(&features, f));
                y.push(labels[i]);
                idx.push(i);
            }
        }
        (x, y, idx)
    };
    let (mut xt, yt, _) = rows(TRAIN);
    let scaler = Scaler::of(&xt, p);
    let standardise = |x: &mut Vec<f64>| x.chunks_exact_mut(p.max(1)).for_each(|r| scaler.apply(r));
    standardise(&mut xt);
    let model: Logistic = logistic::fit(&xt, p, &yt, opts.penalty)?;
    let logits = |x: &[f64]| x.chunks_exact(p.max(1)).map(|r| model.logit(r)).collect::<Vec<f64>>();
    let (mut xc, yc, _) = rows(CALIBRATE);
    standardise(&mut xc);
    let calibration = match Platt::fit(&logits(&xc), &yc) {
        Ok(c) => c,
        Err(e) => {
            notes.push(format!("probabilities not calibrated ({e} on the {} calibration customers)", yc.len()));
            Platt { a: 1.0, c: 0.0 }
        }
    };
    let (mut xh, yh, ih) = rows(HOLDOUT);
    standardise(&mut xh);
    let holdout_risk: Vec<f64> = logits(&xh).into_iter().map(|z| calibration.apply(z)).collect();
    let holdout_auc = auc(&holdout_risk, &yh);
    let baseline_auc = if features.contains(&Feature::ExpectedPurchases) {
        let fewer: Vec<f64> = ih.iter().map(|&i| -train[i].expected_purchases.unwrap_or(0.0)).collect();
        auc(&fewer, &yh)
    } else {
        None
    };

    // Scores and reasons.
    let mut xn: Vec<f64> = now.iter().flat_map(|f| inputs_of(&features, f)).collect();
    standardise(&mut xn);
    // Reasons are deviations from today's average customer: a history that shifts every
    // customer alike (all of a young shop's customers are older at as-of than at the cut) is
    // nobody's reason.
    let today = Scaler::of(&xn, p);
    let mut customers: Vec<CustomerRisk> = now
        .iter()
        .zip(xn.chunks_exact(p.max(1)))
        .map(|(f, x)| {
            let risk = calibration.apply(model.logit(x));
            let mut parts: Vec<(Feature, f64)> =
                features.iter().zip(&model.coef).zip(x.iter().zip(&today.mean)).map(|((&k, b), (z, m))| (k, calibration.a * b * (z - m))).collect();
            // Days since the last order and their ratio to the usual gap measure one silence:
            // one reason, their contributions summed (apart, the two collinear terms can show
            // "no order for 1 day" as a reason when the ratio's term outweighs it).
            if let Some(i) = parts.iter().position(|p| p.0 == Feature::DaysSinceLast) {
                if let Some(j) = parts.iter().position(|p| p.0 == Feature::RecencyRatio) {
                    parts[j].1 += parts[i].1;
                    parts.remove(i);
                }
            }
            let mut reasons: Vec<Reason> = parts
                .into_iter()
                .filter(|(_, c)| *c >= MIN_CONTRIBUTION)
                .map(|(k, c)| Reason {
                    feature: k,
                    value: f.value(k),
                    contribution: c,
                    explanation: explain::explain(k, f, horizon, Lang::En),
                    explanation_ru: explain::explain(k, f, horizon, Lang::Ru),
                })
                .collect();
            reasons.sort_by(|a, b| b.contribution.total_cmp(&a.contribution).then(a.feature.cmp(&b.feature)));
            let reasons_total = reasons.len();
            reasons.truncate(opts.max_reasons);
            CustomerRisk { customer_id: occ.customer_ids[f.customer].clone(), risk, reasons, reasons_total }
        })
        .collect();
    customers.sort_by(|a, b| b.risk.total_cmp(&a.risk).then_with(|| a.customer_id.cmp(&b.customer_id)));

    let train_rows = yt.len();
    Ok(RiskReport {
        as_of: opts.as_of,
        model: ModelInfo {
            kind: "logistic_l2",
            features,
            train_rows,
            calibration_rows: yc.len(),
            holdout_rows: yh.len(),
            holdout_auc,
            baseline_auc,
            horizon_days: horizon,
            horizon_rule: rule,
            cut: cut_date,
            churn_rate: yt.iter().filter(|&&l| l).count() as f64 / train_rows.max(1) as f64,
            coefficients: model.coef.clone(),
            intercept: model.intercept,
            calibration,
            notes,
        },
        customers,
    })
}

const TRAIN: u8 = 0;
const CALIBRATE: u8 = 1;
const HOLDOUT: u8 = 2;

/// The part of a customer: 60% training, 20% calibration, 20% holdout, by a seeded 64-bit
/// FNV-1a hash of the id (finished by the splitmix64 mixer), so the split is the same on every
/// machine and does not depend on the order of the customers.
fn split_of(id: &str, seed: u64) -> u8 {
    let mut h = 0xcbf2_9ce4_8422_2325u64 ^ seed.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    for b in id.bytes() {
        h = (h ^ b as u64).wrapping_mul(0x0000_0100_0000_01b3);
    }
    h = (h ^ (h >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h = (h ^ (h >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^= h >> 31;
    match h % 10 {
        0..=5 => TRAIN,
        6 | 7 => CALIBRATE,
        _ => HOLDOUT,
    }
}

/// The horizon in days and the sentence saying how it was chosen.
fn horizon(occ: &Occasions, day: i64, span: i64, explicit: Option<u32>) -> Result<(i64, String), RiskError> {
    if let Some(h) = explicit {
        if !(1..=3650).contains(&h) {
            return Err(RiskError::BadHorizon(h));
        }
        if 2 * h as i64 > span {
            return Err(RiskError::TooLittleHistory { days: span, horizon: h as i64 });
        }
        return Ok((h as i64, format!("{h} days, as given")));
    }
    let cap = (span / 2) / 7 * 7;
    if cap < 28 {
        return Err(RiskError::TooLittleHistory { days: span, horizon: 28 });
    }
    let mut gaps = gaps_before(occ, day);
    let Some(q) = quantile(&mut gaps, 0.9) else {
        let h = cap.min(364);
        return Ok((h, format!("{h} days: nobody bought on two days, so half the history (at most 52 weeks)")));
    };
    let weeks = ((q + 6) / 7 * 7).clamp(28, 364);
    let h = weeks.min(cap);
    let why = if h < weeks { format!(", cut to half the {span}-day history") } else { String::new() };
    Ok((h, format!("{h} days: 90% of gaps between purchase days are at most {q} days; rounded up to whole weeks within 4–52 weeks{why}")))
}

/// The workspace's median gap between purchase days before `day` (the prior of every customer's
/// usual gap); `fallback` when nobody bought on two days.
fn prior_gap(occ: &Occasions, day: i64, fallback: i64) -> f64 {
    let mut gaps = gaps_before(occ, day);
    quantile(&mut gaps, 0.5).unwrap_or(fallback) as f64
}

/// Whether every subscription running at `from` ended before `to` (a customer with
/// subscriptions who cancelled them all).
fn cancelled_within(a: &CustomerActivity, from: Instant, to: Instant) -> bool {
    let running: Vec<_> = a.subscriptions.iter().filter(|s| s.started_at < from && s.ended_at.is_none_or(|e| e >= from)).collect();
    !running.is_empty() && running.iter().all(|s| s.ended_at.is_some_and(|e| e < to))
}
