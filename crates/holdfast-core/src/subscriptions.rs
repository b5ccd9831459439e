//! Contractual metrics from subscriptions (`METRICS.md`, "Subscriptions (contractual)"): active
//! subscribers, MRR, MRR movement (new, expansion, contraction, churned, reactivation), gross and
//! net revenue retention, subscriber movement and churn, logo and revenue churn side by side.
//!
//! Everything compares snapshots: a customer's MRR at instant `t` is the sum of the monthly
//! amounts of its subscriptions active at `t` (`started_at <= t` and `ended_at` null or `> t`).
//! For a period `[p0, p1)`, with `m0` and `m1` a customer's MRR at `p0` and `p1`
//! (ChartMogul / Baremetrics):
//! - **new**: `m0 = 0 < m1` and the customer never paid before `p0`;
//! - **reactivation**: `m0 = 0 < m1` and the customer paid at some time before `p0`;
//! - **expansion**: `0 < m0 < m1`, by `m1 - m0`; **contraction**: `0 < m1 < m0`, by `m0 - m1`;
//! - **churned**: `m0 > 0 = m1`, by `m0`.
//!
//! Identity: `MRR(p1) = MRR(p0) + new + reactivation + expansion - contraction - churned`.
//! `GRR = (MRR(p0) - contraction - churned) / MRR(p0)`, `NRR = (MRR(p0) + expansion - contraction
//! - churned) / MRR(p0)`, both `None` when `MRR(p0) = 0`. Subscriber movement uses activity, not
//! money (a free plan keeps a customer active): `S, E, N, R, L, K` as for orders, with "first
//! order" read as "first subscription". Logo churn is `L / S`; revenue churn is
//! `(contraction + churned) / MRR(p0)` = `1 - GRR`.

use crate::money::{to_major, Currency};
use crate::period::{Calendar, Granularity, Instant};
use rustc_hash::FxHashMap;
use serde::Serialize;

/// One subscription (a plan or an add-on): who, which plan, how much per month (minor units),
/// from when to when. The MRR metrics here and the `cancelled_addon` flag of
/// [`crate::flags`] read the same type.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Subscription {
    pub customer: String,
    pub plan: String,
    /// Monthly amount, minor units.
    pub mrr: i64,
    pub started_at: Instant,
    /// `None` while it runs.
    pub ended_at: Option<Instant>,
}

impl Subscription {
    /// Active at `t`: `started_at <= t` and (`ended_at` null or `ended_at > t`).
    pub fn is_active_at(&self, t: Instant) -> bool {
        self.started_at <= t && self.ended_at.is_none_or(|e| e > t)
    }
}

/// MRR at `t` (minor units).
pub fn mrr_at(subs: &[Subscription], t: Instant) -> i64 {
    subs.iter().filter(|s| s.is_active_at(t)).map(|s| s.mrr).sum()
}

/// Customers with at least one active subscription at `t`.
pub fn active_subscribers_at(subs: &[Subscription], t: Instant) -> usize {
    let mut seen: FxHashMap<&str, ()> = FxHashMap::default();
    for s in subs.iter().filter(|s| s.is_active_at(t)) {
        seen.insert(&s.customer, ());
    }
    seen.len()
}

/// MRR and subscriber movement of one period `[start, end)`. Money in minor units; the `_major`
/// twins and rates are for JSON.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MrrPeriod {
    pub label: String,
    pub start: Instant,
    pub end: Instant,
    pub mrr_start: i64,
    pub mrr_end: i64,
    pub new: i64,
    pub expansion: i64,
    pub contraction: i64,
    pub churned: i64,
    pub reactivation: i64,
    /// Net new MRR = new + reactivation + expansion − contraction − churned = mrr_end − mrr_start.
    pub net_new: i64,
    pub grr: Option<f64>,
    pub nrr: Option<f64>,
    /// Subscriber movement: S, E, N, R, L, K.
    pub subscribers_start: u64,
    pub subscribers_end: u64,
    pub subscribers_new: u64,
    pub subscribers_reactivated: u64,
    pub subscribers_lost: u64,
    pub subscribers_kept: u64,
    /// Logo churn L / S.
    pub logo_churn: Option<f64>,
    /// Revenue churn (contraction + churned) / MRR(start).
    pub revenue_churn: Option<f64>,
}

/// Options of [`mrr_movement`].
#[derive(Clone, Copy, Debug)]
pub struct MrrOptions {
    pub granularity: Granularity,
    /// Periods from the one containing `from` …
    pub from: Instant,
    /// … to the one containing `to - 1`.
    pub to: Instant,
}

/// The report of [`mrr_movement`].
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MrrReport {
    pub currency: Currency,
    pub periods: Vec<MrrPeriod>,
}

#[derive(Default, Clone, Copy)]
struct CustomerState {
    m0: i64,
    m1: i64,
    active0: bool,
    active1: bool,
    /// Some subscription started before p0 (for subscriber movement: first subscription before p0).
    started_before: bool,
    /// Paid before p0: some paid subscription was active at some instant before p0.
    paid_before: bool,
}

/// MRR movement, GRR, NRR and subscriber movement per period. Deterministic; no clock.
pub fn mrr_movement(subs: &[Subscription], cal: &Calendar, opts: &MrrOptions, currency: Currency) -> MrrReport {
    let mut index: FxHashMap<&str, usize> = FxHashMap::default();
    let mut by_customer: Vec<Vec<&Subscription>> = Vec::new();
    for s in subs {
        let k = *index.entry(&s.customer).or_insert_with(|| {
            by_customer.push(Vec::new());
            by_customer.len() - 1
        });
        by_customer[k].push(s);
    }
    let mut periods = Vec::new();
    for p in cal.periods(opts.granularity, opts.from, opts.to) {
        let (p0, p1) = (p.start, p.end);
        let mut out = MrrPeriod {
            label: p.label(),
            start: p0,
            end: p1,
            mrr_start: 0,
            mrr_end: 0,
            new: 0,
            expansion: 0,
            contraction: 0,
            churned: 0,
            reactivation: 0,
            net_new: 0,
            grr: None,
            nrr: None,
            subscribers_start: 0,
            subscribers_end: 0,
            subscribers_new: 0,
            subscribers_reactivated: 0,
            subscribers_lost: 0,
            subscribers_kept: 0,
            logo_churn: None,
            revenue_churn: None,
        };
        for subs in &by_customer {
            let mut st = CustomerState::default();
            for s in subs {
                if s.is_active_at(p0) {
                    st.m0 += s.mrr;
                    st.active0 = true;
                }
                if s.is_active_at(p1) {
                    st.m1 += s.mrr;
                    st.active1 = true;
                }
                if s.started_at < p0 {
                    st.started_before = true;
                    // Active over [started_at, ended_at): some instant before p0 when it started
                    // before p0 and did not end at its start.
                    if s.mrr > 0 && s.ended_at.is_none_or(|e| e > s.started_at) {
                        st.paid_before = true;
                    }
                }
            }
            out.mrr_start += st.m0;
            out.mrr_end += st.m1;
            match (st.m0, st.m1) {
                (0, m1) if m1 > 0 => {
                    if st.paid_before {
                        out.reactivation += m1;
                    } else {
                        out.new += m1;
                    }
                }
                (m0, 0) if m0 > 0 => out.churned += m0,
                (m0, m1) if m1 > m0 => out.expansion += m1 - m0,
                (m0, m1) if m1 < m0 => out.contraction += m0 - m1,
                _ => {}
            }
            match (st.active0, st.active1) {
                (true, true) => {
                    out.subscribers_start += 1;
                    out.subscribers_end += 1;
                    out.subscribers_kept += 1;
                }
                (true, false) => {
                    out.subscribers_start += 1;
                    out.subscribers_lost += 1;
                }
                (false, true) => {
                    out.subscribers_end += 1;
                    if st.started_before {
                        out.subscribers_reactivated += 1;
                    } else {
                        out.subscribers_new += 1;
                    }
                }
                (false, false) => {}
            }
        }
        out.net_new = out.new + out.reactivation + out.expansion - out.contraction - out.churned;
        if out.mrr_start > 0 {
            let m0 = out.mrr_start as f64;
            out.grr = Some((m0 - out.contraction as f64 - out.churned as f64) / m0);
            out.nrr = Some((m0 + out.expansion as f64 - out.contraction as f64 - out.churned as f64) / m0);
            out.revenue_churn = Some((out.contraction + out.churned) as f64 / m0);
        }
        if out.subscribers_start > 0 {
            out.logo_churn = Some(out.subscribers_lost as f64 / out.subscribers_start as f64);
        }
        periods.push(out);
    }
    MrrReport { currency, periods }
}

impl MrrPeriod {
    /// An amount of this report in major units, for printing.
    pub fn major(&self, minor: i64, currency: Currency) -> f64 {
        to_major(minor, currency)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn at(y: i32, m: u32, d: u32) -> Instant {
        Calendar::default().start_of_day(NaiveDate::from_ymd_opt(y, m, d).unwrap())
    }

    fn sub(c: &str, mrr: i64, start: Instant, end: Option<Instant>) -> Subscription {
        Subscription { customer: c.into(), plan: "pro".into(), mrr, started_at: start, ended_at: end }
    }

    /// February 2024 (`[02-01, 03-01)`), amounts in cents:
    /// - A: 100.00 all along, upgraded on 02-10 to 150.00 (old ends, new starts) → expansion 50.00.
    /// - B: 200.00, downgraded on 02-15 to 120.00 → contraction 80.00.
    /// - C: 300.00, cancelled on 02-20 → churned 300.00.
    /// - D: starts 02-05 at 50.00, first ever → new 50.00.
    /// - E: paid 70.00 in 2023 (ended 2023-12-01), back on 02-12 at 90.00 → reactivation 90.00.
    /// - F: 40.00 throughout → unchanged.
    /// - G: a free plan since January, becomes paid 30.00 on 02-03 → new 30.00 (never paid before).
    /// - H: starts 02-03 and ends 02-25 → invisible to a snapshot comparison.
    ///
    /// MRR(02-01) = A 100 + B 200 + C 300 + F 40 + G 0 = 640.00.
    /// MRR(03-01) = A 150 + B 120 + D 50 + E 90 + F 40 + G 30 = 480.00.
    /// new 80.00 (D 50 + G 30), expansion 50.00, contraction 80.00, churned 300.00, reactivation 90.00:
    /// 640 + 80 + 90 + 50 − 80 − 300 = 480 ✓.
    /// GRR = (640 − 80 − 300) / 640 = 260/640 = 0.40625; NRR = (640 + 50 − 80 − 300) / 640 = 310/640 = 0.484375.
    /// Subscribers: S = {A, B, C, F, G} = 5; E = {A, B, D, E, F, G} = 6; L = {C} = 1; K = 4;
    /// N = {D} (G and E started before 02-01) = 1; R = {E} = 1 (E = S − L + N + R = 5 − 1 + 1 + 1 = 6 ✓).
    /// Logo churn 1/5 = 0.2; revenue churn (80 + 300)/640 = 0.59375 = 1 − GRR.
    #[test]
    fn february_by_hand() {
        let subs = vec![
            sub("A", 10_000, at(2023, 6, 1), Some(at(2024, 2, 10))),
            sub("A", 15_000, at(2024, 2, 10), None),
            sub("B", 20_000, at(2023, 1, 1), Some(at(2024, 2, 15))),
            sub("B", 12_000, at(2024, 2, 15), None),
            sub("C", 30_000, at(2023, 3, 1), Some(at(2024, 2, 20))),
            sub("D", 5_000, at(2024, 2, 5), None),
            sub("E", 7_000, at(2023, 1, 1), Some(at(2023, 12, 1))),
            sub("E", 9_000, at(2024, 2, 12), None),
            sub("F", 4_000, at(2022, 1, 1), None),
            sub("G", 0, at(2024, 1, 10), Some(at(2024, 2, 3))),
            sub("G", 3_000, at(2024, 2, 3), None),
            sub("H", 2_500, at(2024, 2, 3), Some(at(2024, 2, 25))),
        ];
        let r = mrr_movement(&subs, &Calendar::default(), &MrrOptions { granularity: Granularity::Month, from: at(2024, 2, 1), to: at(2024, 3, 1) }, Currency::USD);
        assert_eq!(r.periods.len(), 1);
        let p = &r.periods[0];
        assert_eq!(p.label, "2024-02");
        assert_eq!((p.mrr_start, p.mrr_end), (64_000, 48_000));
        assert_eq!((p.new, p.expansion, p.contraction, p.churned, p.reactivation), (8_000, 5_000, 8_000, 30_000, 9_000));
        assert_eq!(p.net_new, p.mrr_end - p.mrr_start);
        assert_eq!(p.grr, Some(0.40625));
        assert_eq!(p.nrr, Some(0.484375));
        assert_eq!((p.subscribers_start, p.subscribers_end, p.subscribers_new, p.subscribers_reactivated, p.subscribers_lost, p.subscribers_kept), (5, 6, 1, 1, 1, 4));
        assert_eq!(p.logo_churn, Some(0.2));
        assert_eq!(p.revenue_churn, Some(0.59375));
        assert_eq!(mrr_at(&subs, at(2024, 2, 1)), 64_000);
        assert_eq!(active_subscribers_at(&subs, at(2024, 2, 1)), 5);
        // H was active mid-month.
        assert_eq!(mrr_at(&subs, at(2024, 2, 10)), 15_000 + 20_000 + 30_000 + 5_000 + 4_000 + 3_000 + 2_500);
    }

    /// NRR above 1 from expansion alone: two customers at 100.00 each on 01-01; one doubles to
    /// 200.00 in January. MRR 200 → 300, expansion 100, GRR = 1, NRR = 300/200 = 1.5.
    /// February has no change (GRR = NRR = 1); a month with no MRR at its start has neither.
    #[test]
    fn nrr_above_one_and_empty_start() {
        let subs = vec![sub("x", 10_000, at(2024, 1, 1), Some(at(2024, 1, 20))), sub("x", 20_000, at(2024, 1, 20), None), sub("y", 10_000, at(2024, 1, 1), None)];
        let r = mrr_movement(&subs, &Calendar::default(), &MrrOptions { granularity: Granularity::Month, from: at(2023, 12, 1), to: at(2024, 3, 1) }, Currency::USD);
        let dec = &r.periods[0];
        assert_eq!((dec.mrr_start, dec.mrr_end, dec.new), (0, 20_000, 20_000));
        assert_eq!((dec.grr, dec.nrr, dec.logo_churn), (None, None, None));
        let jan = &r.periods[1];
        assert_eq!((jan.mrr_start, jan.mrr_end, jan.expansion), (20_000, 30_000, 10_000));
        assert_eq!((jan.grr, jan.nrr), (Some(1.0), Some(1.5)));
        let feb = &r.periods[2];
        assert_eq!((feb.grr, feb.nrr, feb.logo_churn, feb.revenue_churn), (Some(1.0), Some(1.0), Some(0.0), Some(0.0)));
    }
}
