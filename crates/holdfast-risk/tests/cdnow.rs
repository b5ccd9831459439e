//! The CDNOW 1/10th sample (2,357 customers, first purchases in Q1 1997): scored as of
//! 1997-10-01 (the calibration end of Fader, Hardie & Lee 2005 is 1997-09-30) on the orders before
//! it, the risk must rank "no purchase in the next 39 weeks" at least as well as BG/NBD's
//! expected purchases over those 39 weeks (lifetimes on the full file: 0.763; plain recency 0.759).

use chrono::NaiveDate;
use holdfast_core::Calendar;
use holdfast_models::summary::Occasions;
use holdfast_models::{alive_and_purchases, BgNbd, FitOptions, TimeUnit};
use holdfast_risk::{auc, churn_risk, RiskOptions};
use std::collections::HashMap;

fn date(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

#[test]
fn cdnow_risk_ranks_at_least_as_well_as_bgnbd() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../holdfast-models/tests/data/cdnow_sample_orders.csv");
    let log = holdfast_import::read_orders_without_lines(&path, &holdfast_import::ImportOptions::default(), &|_, _| {}).unwrap().log;
    let cal = Calendar::default();
    let as_of = cal.start_of_day(date("1997-10-01"));
    let r = churn_risk(&log, &cal, None, &RiskOptions::new(as_of)).unwrap();
    assert_eq!(r.customers.len(), 2357);

    // Truth: no purchase day in the 39 weeks from 1997-10-01 (to 1998-06-30).
    let occ = Occasions::from_log(&log, &cal);
    let idx: HashMap<&str, usize> = occ.customer_ids.iter().enumerate().map(|(i, id)| (id.as_str(), i)).collect();
    let churned = |id: &str| occ.count_between(idx[id], date("1997-09-30"), date("1998-06-30")) == 0;
    let (risk, truth): (Vec<f64>, Vec<bool>) = r.customers.iter().map(|c| (c.risk, churned(&c.customer_id))).unzip();
    let ours = auc(&risk, &truth).unwrap();

    // BG/NBD fitted in weeks on the summary at 1997-09-30, expected purchases over 39 weeks, fewer = riskier.
    let (summary, _) = occ.summary(date("1997-09-30"), TimeUnit::Week);
    let bg = BgNbd::fit(&summary.compress(), &FitOptions::default()).unwrap().model;
    let expected = alive_and_purchases(&bg, &summary, 39.0);
    let truth_bg: Vec<bool> = summary.customer_ids.iter().map(|id| churned(id)).collect();
    let fewer: Vec<f64> = expected.iter().map(|(_, e)| -e).collect();
    let baseline = auc(&fewer, &truth_bg).unwrap();
    // Plain recency (days since the last purchase day), for reference.
    let recency: Vec<f64> = summary.rows.iter().map(|row| row.t - row.recency).collect();
    let plain = auc(&recency, &truth_bg).unwrap();

    let m = &r.model;
    println!(
        "CDNOW sample as of 1997-10-01, no purchase in 39 weeks: risk AUC {ours:.4}, BG/NBD expected purchases {baseline:.4}, recency {plain:.4}; \
         model: H {} days, cut {}, {} training rows, holdout AUC {:?} vs baseline {:?}, features {:?}",
        m.horizon_days, m.cut, m.train_rows, m.holdout_auc, m.baseline_auc, m.features
    );
    assert!(ours >= baseline, "risk AUC {ours} below BG/NBD's {baseline}");

    // Reliability on real data: the risk is P(no purchase within H); by fifths of the risk, the
    // mean risk against the share that did not buy within H of 1997-10-01.
    let end = date("1997-09-30") + chrono::Days::new(m.horizon_days as u64);
    let lost: Vec<bool> = r.customers.iter().map(|c| occ.count_between(idx[c.customer_id.as_str()], date("1997-09-30"), end) == 0).collect();
    let mut worst: f64 = 0.0;
    for (k, part) in r.customers.chunks(r.customers.len().div_ceil(5)).zip(lost.chunks(r.customers.len().div_ceil(5))).enumerate() {
        let predicted = part.0.iter().map(|c| c.risk).sum::<f64>() / part.0.len() as f64;
        let observed = part.1.iter().filter(|&&l| l).count() as f64 / part.1.len() as f64;
        println!("  fifth {} (riskiest first): mean risk {predicted:.3}, no purchase within H {observed:.3}", k + 1);
        worst = worst.max((predicted - observed).abs());
    }
    assert!(worst <= 0.07, "calibration off by {worst}");
}
