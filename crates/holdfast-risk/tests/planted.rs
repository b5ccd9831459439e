//! Planted drivers: a generated SaaS workspace (holdfast-synth's `saas`) where every churn is
//! preceded by logins falling, an unresolved ticket or ignored newsletters. The model must tell
//! churners apart (holdout AUC ≥ 0.80) and name the planted driver among the top two reasons of
//! at least 80% of the customers who churn within the horizon; its probabilities must be
//! calibrated against what happens next.

use chrono::NaiveDate;
use holdfast_core::{Calendar, DAY};
use holdfast_risk::{auc, churn_risk, Feature, RiskOptions};
use holdfast_synth::saas::{generate_saas, Driver, SaasConfig};
use std::collections::HashMap;

#[test]
fn planted_drivers_are_found_and_named() {
    let cfg = SaasConfig { customers: 4_000, ..SaasConfig::default() };
    let data = generate_saas(&cfg);
    let (log, activity) = (data.order_log(), data.activity());
    let cal = Calendar::default();
    let as_of = cal.start_of_day(NaiveDate::from_ymd_opt(2024, 11, 1).unwrap());
    let r = churn_risk(&log, &cal, Some(&activity), &RiskOptions::new(as_of)).unwrap();
    let m = &r.model;
    let h = m.horizon_days;
    println!("model: {} training rows, H {h} days ({}), holdout AUC {:?}, baseline {:?}", m.train_rows, m.horizon_rule, m.holdout_auc, m.baseline_auc);
    for (f, b) in m.features.iter().zip(&m.coefficients) {
        println!("  {:<20} {b:+.3}", f.as_str());
    }
    println!("notes: {:?}", m.notes);
    assert!(m.holdout_auc.unwrap() >= 0.80, "holdout AUC {:?}", m.holdout_auc);

    // What happened next: no invoice in [as-of, as-of + H).
    let truth: HashMap<&str, (bool, Option<Driver>, bool)> = data
        .customers
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let paid = data.invoices.iter().any(|&(k, at, _)| k as usize == i && at >= as_of && at < as_of + h * DAY);
            let churns_now = c.churn_at.is_some_and(|t| t >= as_of && t < as_of + h * DAY);
            (c.id.as_str(), (!paid, c.driver.map(|d| d.0), churns_now && !paid))
        })
        .collect();
    let (risk, lost): (Vec<f64>, Vec<bool>) = r.customers.iter().map(|c| (c.risk, truth[c.customer_id.as_str()].0)).unzip();
    let future_auc = auc(&risk, &lost).unwrap();
    println!("AUC on the next {h} days: {future_auc:.4}");
    assert!(future_auc >= 0.80);

    // Reasons of the customers who churn within the horizon.
    let feature_of = |d: Driver| match d {
        Driver::LoginsFalling => Feature::LoginTrend,
        Driver::UnresolvedTicket => Feature::NegativeTickets,
        Driver::EmailsIgnored => Feature::EmailsIgnored,
    };
    let (mut churners, mut named) = (0, 0);
    for c in &r.customers {
        let (_, driver, churns_now) = truth[c.customer_id.as_str()];
        if !churns_now {
            continue;
        }
        churners += 1;
        let want = feature_of(driver.expect("every churner has a driver"));
        if c.reasons.iter().take(2).any(|x| x.feature == want) {
            named += 1;
        } else if churners - named <= 12 {
            println!(
                "  missed {} ({want:?}): {:?}",
                c.customer_id,
                c.reasons.iter().take(4).map(|x| format!("{:?} {:.2} ({})", x.feature, x.contribution, x.explanation)).collect::<Vec<_>>()
            );
        }
    }
    let share = named as f64 / churners as f64;
    println!("planted driver among the top two reasons of {named} of {churners} churners ({:.1}%)", share * 100.0);
    assert!(churners >= 30, "{churners} churners");
    assert!(share >= 0.80, "{share}");

    // Reliability diagram: in bins of the risk, the mean risk against the share that stopped
    // paying (bins of at least 30 customers).
    let bins = [0.0, 0.02, 0.1, 0.5, 0.9, 1.01];
    for w in bins.windows(2) {
        let inside: Vec<usize> = (0..risk.len()).filter(|&i| risk[i] >= w[0] && risk[i] < w[1]).collect();
        if inside.is_empty() {
            continue;
        }
        let predicted = inside.iter().map(|&i| risk[i]).sum::<f64>() / inside.len() as f64;
        let observed = inside.iter().filter(|&&i| lost[i]).count() as f64 / inside.len() as f64;
        println!("  risk {:.2}–{:.2}: {} customers, mean risk {predicted:.3}, observed {observed:.3}", w[0], w[1].min(1.0), inside.len());
        if inside.len() >= 30 {
            assert!((predicted - observed).abs() <= 0.1, "risk {w:?}: predicted {predicted}, observed {observed}");
        }
    }
}
