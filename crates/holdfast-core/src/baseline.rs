//! Baselines: what is usual for each customer, learned from their own history and shrunk toward
//! the workspace's when that history is short — the yardstick of every red flag in
//! [`crate::flags`].
//!
//! A [`Baseline`] is fitted once per workspace and as-of instant ([`Baseline::fit`]) from what
//! happened strictly before it. It holds empirical-Bayes priors, each fitted to the workspace's
//! customers by the method of moments, and answers one question per flag: *how likely is what we
//! see for this customer, if nothing has changed?* A flag is raised when that probability is below
//! [`Baseline::level`] (default 5%).
//!
//! # Purchase rhythm (`silence_beyond_rhythm`)
//!
//! The gaps between a customer's purchase days are log-normal: `ln g ~ N(μ_c, σ_c²)`. The
//! workspace gives a normal-inverse-gamma prior `σ² ~ Scaled-Inv-χ²(ν₀, σ₀²)`,
//! `μ | σ² ~ N(μ₀, σ²/κ₀)`: `μ₀` the mean of the customers' mean log gaps, `σ₀²` the pooled
//! within-customer variance, `κ₀ = σ₀² / τ²` with `τ²` the between-customer variance of the means
//! net of their sampling noise, `ν₀ = 8` (a customer's own spread outweighs the workspace's
//! from eight gaps on). With `n` log gaps of mean `x̄` and sum of squares `S`,
//! the posterior is `κ = κ₀ + n`, `μ = (κ₀μ₀ + n x̄)/κ`, `ν = ν₀ + n`,
//! `νσ² = ν₀σ₀² + S + κ₀ n (x̄ − μ₀)²/κ`, and the next gap's log is Student-t with `ν` degrees of
//! freedom, location `μ` and scale `σ √(1 + 1/κ)` (Gelman et al., *Bayesian Data Analysis*, 3rd
//! ed., §3.3). The chance of a silence of at least `s` days is `P(ln g ≥ ln s)`. A customer with
//! one gap leans on the workspace; one with twenty is judged by their own rhythm and spread.
//!
//! # Second purchase (`no_second_order`)
//!
//! A one-time buyer has no rhythm of their own. They are judged against the workspace's
//! first-time buyers: the Kaplan–Meier estimate of the share still without a second purchase `s`
//! days after their first (customers whose first order is recent count while they were observed).
//! Where most first-time buyers never come back, a long wait is the norm and raises nothing; where
//! nearly all come back within weeks, a one-time buyer silent for months is news.
//!
//! # Purchase count (`frequency_drop`)
//!
//! Orders arrive as a Poisson process whose rate has a gamma prior `Gamma(r₀, a₀)` fitted to the
//! customers' rates; with `n` repeat purchases over `e` days before the recent window the rate is
//! `Gamma(r₀ + n, a₀ + e)` and the count in a window of `w` days is negative binomial with `r₀ + n`
//! and `p = (a₀ + e)/(a₀ + e + w)`. The window is three of the customer's usual gaps (at least 90
//! days); the chance is `P(N ≤ recent)`. The Poisson model is looser than a regular buyer's real
//! spread, so for them the test is conservative (errs toward no flag).
//!
//! # Order size (`shrinking_orders`)
//!
//! Log order amounts, the last three against the earlier ones: a one-sided two-sample t statistic
//! whose variance is the customer's pooled with the workspace's within-customer variance of log
//! amounts (weight `ν₀ = 8`).
//!
//! # Activity
//!
//! - `fewer_logins`: with an unchanged rate, the logins of the last 30 days among those of the last
//!   120 are binomial with `p = ¼`; the chance is `P(X ≤ recent)`.
//! - `ignored_messages`: opens are Bernoulli with a rate whose beta prior is the workspace's open
//!   rate (weight 4 messages), updated by the customer's earlier messages; the chance that `n`
//!   messages in a row go unopened is beta-binomial, `∏ (b + i)/(a + b + i)`.
//! - `negative_ticket`, `cancelled_addon`: rare events with a gamma-Poisson rate (the workspace's
//!   customers give the prior, the customer's own earlier days update it); the chance is
//!   `P(N ≥ seen)` over the 90 days.
//! - `detractor`: the latest NPS answer against the customer's earlier answers, smoothed by the
//!   workspace's answers (weight 5) and one answer per score; the chance is `P(score ≤ latest)`.

use crate::flags::{Activity, EventKind};
use crate::rfm::n_before;
use crate::{CustomerIdx, Instant, OrderLog, DAY};
use rayon::prelude::*;
use statrs::distribution::{Binomial, ContinuousCDF, DiscreteCDF, NegativeBinomial, StudentsT};

/// The default significance level of a flag: raised when what is seen has less than a 5% chance
/// under the customer's usual behaviour.
pub const DEFAULT_LEVEL: f64 = 0.05;

/// Prior degrees of freedom of a customer's spread (gaps, amounts).
pub(crate) const NU0: f64 = 8.0;

/// Normal-inverse-gamma prior of the log gaps between purchase days (see the module docs).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GapPrior {
    pub mu0: f64,
    pub kappa0: f64,
    pub nu0: f64,
    pub sigma2_0: f64,
}

/// Gamma prior `Gamma(shape, rate)` of a rate per day.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RatePrior {
    pub shape: f64,
    /// Per day: the prior's pseudo-exposure in days.
    pub rate: f64,
}

impl RatePrior {
    /// The method-of-moments prior of per-day rates from `(count, exposure days)` pairs; `None`
    /// without exposure. The between-customer variance is net of the Poisson noise and at least a
    /// tenth of the squared mean.
    fn fit(pairs: &[(f64, f64)]) -> Option<RatePrior> {
        let (n, e): (f64, f64) = pairs.iter().fold((0.0, 0.0), |a, p| (a.0 + p.0, a.1 + p.1));
        if e <= 0.0 {
            return None;
        }
        let m = (n.max(0.5)) / e;
        let k = pairs.iter().filter(|p| p.1 > 0.0).count() as f64;
        let v = pairs.iter().filter(|p| p.1 > 0.0).map(|&(c, x)| x * (c / x - m).powi(2)).sum::<f64>() / e - m * k / e;
        let v = v.max(m * m / 10.0);
        let shape = (m * m / v).clamp(0.05, 100.0);
        Some(RatePrior { shape, rate: shape / m })
    }

    /// `P(N ≤ k)` of the count in `window` days for a customer with `n` events over `exposure` days.
    pub fn p_at_most(&self, n: f64, exposure: f64, window: f64, k: u64) -> f64 {
        let (r, a) = (self.shape + n, self.rate + exposure);
        NegativeBinomial::new(r, a / (a + window)).map_or(1.0, |d| d.cdf(k))
    }

    /// `P(N ≥ k)` of the count in `window` days (see [`RatePrior::p_at_most`]).
    pub fn p_at_least(&self, n: f64, exposure: f64, window: f64, k: u64) -> f64 {
        if k == 0 {
            return 1.0;
        }
        let (r, a) = (self.shape + n, self.rate + exposure);
        NegativeBinomial::new(r, a / (a + window)).map_or(1.0, |d| d.sf(k - 1))
    }

    /// The expected count in `window` days for `n` events over `exposure` days.
    pub fn expected(&self, n: f64, exposure: f64, window: f64) -> f64 {
        (self.shape + n) / (self.rate + exposure) * window
    }
}

/// A customer's predictive distribution of their next gap (log days).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GapPosterior {
    /// Location of the next log gap; `exp(mu)` is the customer's usual gap in days.
    pub mu: f64,
    pub scale: f64,
    pub nu: f64,
    /// Gaps of their own behind it.
    pub gaps: u32,
}

impl GapPosterior {
    /// The customer's usual gap in days (the predictive median).
    pub fn usual_days(&self) -> f64 {
        self.mu.exp()
    }

    /// The chance that the next gap is at least `days` long.
    pub fn p_at_least(&self, days: f64) -> f64 {
        if days <= 0.0 {
            return 1.0;
        }
        t_sf(self.nu, (days.ln() - self.mu) / self.scale)
    }

    /// Whether a silence of `days` is shorter than the usual gap (its chance is then at least ½,
    /// known without the t distribution).
    pub fn within_usual(&self, days: f64) -> bool {
        days <= 0.0 || days.ln() <= self.mu
    }
}

/// Baselines of activity (see the module docs); absent without activity.
#[derive(Clone, Debug, PartialEq)]
pub struct ActivityPrior {
    /// Beta prior of the open rate.
    pub open_a: f64,
    pub open_b: f64,
    pub negatives: RatePrior,
    pub cancellations: RatePrior,
    /// Workspace NPS answers by score 0–10 (before as-of).
    pub nps: [u32; 11],
    /// How many answers the workspace's distribution weighs against a customer's own: `(1 − ρ)/ρ`
    /// with `ρ` the intra-customer correlation of detractor answers (1–100).
    pub nps_weight: f64,
}

/// The workspace's baselines at one as-of instant (see the module docs).
#[derive(Clone, Debug, PartialEq)]
pub struct Baseline {
    pub as_of: Instant,
    /// Flags are raised below this probability.
    pub level: f64,
    pub gaps: GapPrior,
    pub rate: RatePrior,
    /// Kaplan–Meier curve of the time to a second purchase day: `(days, share still without one
    /// after them)` at each time a second purchase happened, in time order.
    pub second: Vec<(f64, f64)>,
    /// Pooled within-customer variance of log order amounts.
    pub amount_var: f64,
    pub activity: ActivityPrior,
}

/// Per-customer sums of one pass (see [`Baseline::fit`]).
#[derive(Clone, Copy, Default)]
struct Sums {
    gaps: u32,
    log_sum: f64,
    log_ss: f64,
    /// Repeat purchases and their exposure (days from the first order to as-of).
    repeats: f64,
    exposure: f64,
    /// Days to the second purchase day, or `Err(days observed)` without one.
    second: Option<std::result::Result<f64, f64>>,
    amounts: u32,
    amount_ss: f64,
}

/// Gaps between purchase days in days (at least an hour), in order.
pub(crate) fn gap_days(times: &[Instant]) -> impl Iterator<Item = f64> + '_ {
    times.windows(2).filter(|w| w[1] > w[0]).map(|w| ((w[1] - w[0]) as f64 / DAY as f64).max(1.0 / 24.0))
}

pub(crate) fn mean_ss(v: impl Iterator<Item = f64>) -> (u32, f64, f64) {
    // Welford: count, mean, sum of squared deviations.
    let (mut n, mut mean, mut ss) = (0u32, 0.0, 0.0);
    for x in v {
        n += 1;
        let d = x - mean;
        mean += d / n as f64;
        ss += d * (x - mean);
    }
    (n, mean, ss)
}

impl Baseline {
    /// The baselines of `log` (and `activity`) at `as_of`, flags raised below `level`. Over more
    /// than 100,000 customers the order priors come from an evenly spaced sample of 100,000.
    pub fn fit(log: &OrderLog, activity: Option<&Activity>, as_of: Instant, level: f64) -> Baseline {
        // Over more than 100,000 customers, an evenly spaced sample of 100,000 gives the priors.
        let stride = log.n_customers().div_ceil(100_000).max(1);
        let sums: Vec<Sums> = (0..log.n_customers().div_ceil(stride))
            .into_par_iter()
            .map(|i| {
                let c = (i * stride) as CustomerIdx;
                let k = n_before(log, c, as_of);
                let times = &log.times_of(c)[..k];
                let Some(&first) = times.first() else { return Sums::default() };
                let (gaps, mean, ss) = mean_ss(gap_days(times).map(f64::ln));
                let (amounts, _, amount_ss) = mean_ss(log.amounts_of(c)[..k].iter().filter(|&&a| a > 0).map(|&a| (a as f64).ln()));
                Sums {
                    gaps,
                    log_sum: mean * gaps as f64,
                    log_ss: ss,
                    repeats: gaps as f64,
                    exposure: (as_of - first) as f64 / DAY as f64,
                    second: Some(gap_days(times).next().ok_or((as_of - first) as f64 / DAY as f64)),
                    amounts,
                    amount_ss,
                }
            })
            .collect();
        // Gap prior: means of customers with a gap, spread of those with two or more.
        let means: Vec<(f64, u32)> = sums.iter().filter(|s| s.gaps > 0).map(|s| (s.log_sum / s.gaps as f64, s.gaps)).collect();
        let (within_ss, within_df) = sums.iter().filter(|s| s.gaps >= 2).fold((0.0, 0.0), |a, s| (a.0 + s.log_ss, a.1 + (s.gaps - 1) as f64));
        let sigma2_0 = if within_df >= 10.0 { (within_ss / within_df).max(0.01) } else { 0.36 };
        let (mu0, kappa0) = if means.len() >= 10 {
            let m = means.iter().map(|x| x.0).sum::<f64>() / means.len() as f64;
            let var = means.iter().map(|x| (x.0 - m).powi(2)).sum::<f64>() / (means.len() - 1) as f64;
            let noise = means.iter().map(|x| sigma2_0 / x.1 as f64).sum::<f64>() / means.len() as f64;
            let tau2 = (var - noise).max(0.01);
            (m, (sigma2_0 / tau2).clamp(0.01, 10.0))
        } else if !means.is_empty() {
            (means.iter().map(|x| x.0).sum::<f64>() / means.len() as f64, 0.1)
        } else {
            (30f64.ln(), 0.1)
        };
        let pairs: Vec<(f64, f64)> = sums.iter().filter(|s| s.gaps > 0 && s.exposure > 0.0).map(|s| (s.repeats, s.exposure)).collect();
        let rate = RatePrior::fit(&pairs).unwrap_or(RatePrior { shape: 1.0, rate: 30.0 });
        let second = kaplan_meier(sums.iter().filter_map(|s| s.second).collect());
        let (a_ss, a_df) = sums.iter().filter(|s| s.amounts >= 2).fold((0.0, 0.0), |a, s| (a.0 + s.amount_ss, a.1 + (s.amounts - 1) as f64));
        let amount_var = if a_df >= 10.0 { (a_ss / a_df).max(1e-4) } else { 0.25 };
        Baseline {
            as_of,
            level,
            gaps: GapPrior { mu0, kappa0, nu0: NU0, sigma2_0 },
            rate,
            second,
            amount_var,
            activity: activity.map_or_else(ActivityPrior::none, |a| ActivityPrior::fit(a, as_of)),
        }
    }

    /// The predictive next gap of a customer whose purchase instants before as-of are `times`;
    /// `None` with fewer than two purchase days.
    pub fn gap_posterior(&self, times: &[Instant]) -> Option<GapPosterior> {
        let (n, mean, ss) = mean_ss(gap_days(times).map(f64::ln));
        if n == 0 {
            return None;
        }
        let GapPrior { mu0, kappa0, nu0, sigma2_0 } = self.gaps;
        let nf = n as f64;
        let kappa = kappa0 + nf;
        let mu = (kappa0 * mu0 + nf * mean) / kappa;
        let nu = nu0 + nf;
        let sigma2 = (nu0 * sigma2_0 + ss + kappa0 * nf * (mean - mu0).powi(2) / kappa) / nu;
        Some(GapPosterior { mu, scale: (sigma2 * (1.0 + 1.0 / kappa)).sqrt(), nu, gaps: n })
    }

    /// The share of first-time buyers still without a second purchase `days` after their first
    /// (Kaplan–Meier); `None` when nobody came back.
    pub fn p_second_at_least(&self, days: f64) -> Option<f64> {
        if self.second.is_empty() {
            return None;
        }
        let i = self.second.partition_point(|&(t, _)| t < days);
        Some(if i == 0 { 1.0 } else { self.second[i - 1].1 })
    }
}

impl ActivityPrior {
    fn none() -> ActivityPrior {
        ActivityPrior {
            open_a: 1.0,
            open_b: 1.0,
            negatives: RatePrior { shape: 0.5, rate: 0.5 * 365.0 },
            cancellations: RatePrior { shape: 0.5, rate: 0.5 * 365.0 },
            nps: [0; 11],
            nps_weight: 5.0,
        }
    }

    fn fit(a: &Activity, as_of: Instant) -> ActivityPrior {
        let (mut sent, mut opened) = (0u64, 0u64);
        let mut nps = [0u32; 11];
        let (mut neg, mut canc): (Vec<(f64, f64)>, Vec<(f64, f64)>) = (Vec::new(), Vec::new());
        // (answers, detractor answers) of customers with two or more
        let mut answers: Vec<(f64, f64)> = Vec::new();
        for (_, c) in a.customers() {
            let first = c
                .events
                .iter()
                .map(|e| e.at)
                .chain(c.feedback.iter().map(|f| f.at))
                .chain(c.subscriptions.iter().map(|s| s.started_at))
                .filter(|&t| t < as_of)
                .min();
            let exposure = first.map_or(0.0, |f| (as_of - f) as f64 / DAY as f64);
            let (mut n_neg, mut n_canc) = (0.0, 0.0);
            for e in c.events.iter().filter(|e| e.at < as_of) {
                match e.kind {
                    EventKind::MessageSent => sent += 1,
                    EventKind::MessageOpened => opened += 1,
                    EventKind::Complaint | EventKind::NegativeTicket => n_neg += 1.0,
                    EventKind::AddonCancelled => n_canc += 1.0,
                    _ => {}
                }
            }
            n_canc += c.subscriptions.iter().filter(|s| s.ended_at.is_some_and(|e| e < as_of)).count() as f64;
            let (mut n, mut k) = (0.0, 0.0);
            for f in c.feedback.iter().filter(|f| f.at < as_of && f.score <= 10) {
                nps[f.score as usize] += 1;
                n += 1.0;
                k += (f.score <= 6) as u8 as f64;
            }
            if n >= 2.0 {
                answers.push((n, k));
            }
            if exposure > 0.0 {
                neg.push((n_neg, exposure));
                canc.push((n_canc, exposure));
            }
        }
        let m = if sent > 0 { (opened as f64 / sent as f64).clamp(0.02, 0.98) } else { 0.5 };
        let none = ActivityPrior::none();
        ActivityPrior {
            open_a: 4.0 * m,
            open_b: 4.0 * (1.0 - m),
            negatives: RatePrior::fit(&neg).unwrap_or(none.negatives),
            cancellations: RatePrior::fit(&canc).unwrap_or(none.cancellations),
            nps,
            nps_weight: nps_weight(&answers),
        }
    }

    /// `P(score ≤ x)` for a customer whose earlier answers are `own`: the workspace's answers
    /// (half an answer more per score) as a Dirichlet prior of weight [`ActivityPrior::nps_weight`],
    /// updated by the customer's own.
    pub fn p_score_at_most(&self, x: u8, own: &[u8]) -> f64 {
        let total: f64 = self.nps.iter().map(|&n| n as f64 + 0.5).sum();
        let ws_le: f64 = self.nps.iter().take(x as usize + 1).map(|&n| n as f64 + 0.5).sum::<f64>() / total;
        let own_le = own.iter().filter(|&&s| s <= x).count() as f64;
        (self.nps_weight * ws_le + own_le) / (self.nps_weight + own.len() as f64)
    }
}

/// The Kaplan–Meier curve of `Ok(event time)` / `Err(censoring time)` (see [`Baseline::second`]);
/// at equal times events come before censorings.
fn kaplan_meier(mut obs: Vec<std::result::Result<f64, f64>>) -> Vec<(f64, f64)> {
    let key = |o: &std::result::Result<f64, f64>| match *o {
        Ok(t) => (t, 0u8),
        Err(t) => (t, 1u8),
    };
    obs.sort_by(|a, b| key(a).0.total_cmp(&key(b).0).then(key(a).1.cmp(&key(b).1)));
    let mut at_risk = obs.len() as f64;
    let mut s = 1.0;
    let mut out = Vec::new();
    let mut i = 0;
    while i < obs.len() {
        let t = key(&obs[i]).0;
        let (mut d, mut n) = (0.0, 0.0);
        while i < obs.len() && key(&obs[i]).0 == t {
            d += obs[i].is_ok() as u8 as f64;
            n += 1.0;
            i += 1;
        }
        if d > 0.0 {
            s *= 1.0 - d / at_risk;
            out.push((t, s));
        }
        at_risk -= n;
    }
    out
}

/// The prior weight of the workspace's NPS answers against a customer's own, `(1 − ρ)/ρ` within
/// 1–100, from the intra-customer correlation `ρ` of detractor answers among customers with two
/// or more (ANOVA estimator; Fleiss, *Statistical Methods for Rates and Proportions*, §13.2);
/// 5 with fewer than 20 such customers.
fn nps_weight(answers: &[(f64, f64)]) -> f64 {
    let c = answers.len() as f64;
    let n: f64 = answers.iter().map(|a| a.0).sum();
    if c < 20.0 || n <= c {
        return 5.0;
    }
    let m = answers.iter().map(|a| a.1).sum::<f64>() / n;
    // between- and within-customer mean squares of the 0/1 answers
    let msb = answers.iter().map(|&(ni, ki)| ni * (ki / ni - m).powi(2)).sum::<f64>() / (c - 1.0);
    let msw = answers.iter().map(|&(ni, ki)| ki - ki * ki / ni).sum::<f64>() / (n - c);
    let n0 = (n - answers.iter().map(|a| a.0 * a.0).sum::<f64>() / n) / (c - 1.0);
    let rho = (msb - msw) / (msb + (n0 - 1.0) * msw);
    if !rho.is_finite() {
        return 5.0;
    }
    ((1.0 - rho.max(0.0)) / rho.max(0.01)).clamp(1.0, 100.0)
}

/// The upper tail `P(T > t)` of Student's t with `df` degrees of freedom.
pub fn t_sf(df: f64, t: f64) -> f64 {
    if !t.is_finite() {
        return if t > 0.0 { 0.0 } else { 1.0 };
    }
    StudentsT::new(0.0, 1.0, df).map_or(0.5, |d| d.sf(t))
}

/// `P(X ≤ k)` of a binomial count of `n` trials with success rate `p`.
pub fn binomial_at_most(n: u64, p: f64, k: u64) -> f64 {
    Binomial::new(p, n).map_or(1.0, |d| d.cdf(k))
}

/// "less than 1 time in 50": how rare a probability is, in words.
pub fn rarity(p: f64) -> String {
    if p < 0.001 {
        return "less than 1 time in 1,000".to_string();
    }
    for n in [500u32, 200, 100, 50, 20, 10] {
        if p < 1.0 / n as f64 {
            return format!("less than 1 time in {n}");
        }
    }
    match (1.0 / p.max(1e-9)).round() as u32 {
        0 | 1 => "most of the time".to_string(),
        n => format!("about 1 time in {n}"),
    }
}

/// "6 months", "3 weeks", "10 days": a span of days in the unit a person would use.
pub fn span_words(days: f64) -> String {
    let (n, one, many) = if days >= 56.0 || (26.0..36.0).contains(&days) {
        ((days / 30.44).round().max(1.0), "month", "months")
    } else if days >= 14.0 {
        ((days / 7.0).round(), "week", "weeks")
    } else {
        (days.round().max(1.0), "day", "days")
    };
    format!("{n:.0} {}", if n == 1.0 { one } else { many })
}

/// "every 6 months", "every week".
pub fn every_words(days: f64) -> String {
    let s = span_words(days);
    match s.strip_prefix("1 ") {
        Some(unit) => format!("every {unit}"),
        None => format!("every {s}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words() {
        assert_eq!(rarity(0.0004), "less than 1 time in 1,000");
        assert_eq!(rarity(0.015), "less than 1 time in 50");
        assert_eq!(rarity(0.04), "less than 1 time in 20");
        assert_eq!(rarity(0.25), "about 1 time in 4");
        assert_eq!(span_words(182.0), "6 months");
        assert_eq!(span_words(30.0), "1 month");
        assert_eq!(span_words(42.0), "6 weeks");
        assert_eq!(span_words(7.0), "7 days");
        assert_eq!(every_words(31.0), "every month");
        assert_eq!(every_words(182.0), "every 6 months");
    }

    #[test]
    fn rate_prior_counts() {
        // Gamma(2, 20) per day, 30 days: NB with r = 2, p = 20/50; mean 2 × 30 / 20 = 3
        let p = RatePrior { shape: 2.0, rate: 20.0 };
        assert!((p.expected(0.0, 0.0, 30.0) - 3.0).abs() < 1e-12);
        // P(N = 0) = (20/50)^2 = 0.16
        assert!((p.p_at_most(0.0, 0.0, 30.0, 0) - 0.16).abs() < 1e-12);
        assert!((p.p_at_least(0.0, 0.0, 30.0, 1) - 0.84).abs() < 1e-12);
        assert_eq!(p.p_at_least(0.0, 0.0, 30.0, 0), 1.0);
    }

    #[test]
    fn gap_posterior_of_a_regular_buyer() {
        // A prior centred on 30 days, weak (κ₀ = 0.1); a customer with 10 gaps of exactly 182 days
        // is judged by their own rhythm: usual gap ≈ 182 days, spread from the prior only.
        let b = Baseline {
            as_of: 0,
            level: DEFAULT_LEVEL,
            gaps: GapPrior { mu0: 30f64.ln(), kappa0: 0.1, nu0: 3.0, sigma2_0: 0.04 },
            rate: RatePrior { shape: 1.0, rate: 30.0 },
            // 4 first-time buyers: second purchases after 10 and 30 days, one observed 20 days
            // without, one 200 days without: S = 3/4 after 10 days, 3/4 × 1/2 after 30
            second: kaplan_meier(vec![Ok(10.0), Err(20.0), Ok(30.0), Err(200.0)]),
            amount_var: 0.25,
            activity: ActivityPrior::none(),
        };
        let times: Vec<Instant> = (0..11).map(|k| k * 182 * DAY).collect();
        let g = b.gap_posterior(&times).unwrap();
        assert!((g.usual_days() - 182.0).abs() < 20.0, "{g:?}");
        assert!(g.p_at_least(150.0) > 0.5);
        assert!(g.p_at_least(364.0) < 0.01, "{}", g.p_at_least(364.0));
        assert_eq!(b.p_second_at_least(5.0), Some(1.0));
        assert_eq!(b.p_second_at_least(25.0), Some(0.75));
        assert_eq!(b.p_second_at_least(300.0), Some(0.375));
        assert!(b.gap_posterior(&times[..1]).is_none());
    }
}
