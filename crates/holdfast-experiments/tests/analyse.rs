//! The analysis of one experiment on hand-made groups: several variants with Holm's correction,
//! the refusals, "not final", and the verdict's wording when cost or margin is missing.

use holdfast_core::Currency;
use holdfast_experiments::*;

fn unit(group: u32, revenue: i64, cost: i64) -> Unit {
    Unit { group, orders: u32::from(revenue > 0), revenue, pre_revenue: 0, retained: revenue > 0, cost }
}

fn design(groups: &[&str]) -> Design {
    Design {
        campaign: "spring".into(),
        groups: groups.iter().map(|g| g.to_string()).collect(),
        planned: None,
        window_days: 14,
        pre_days: 365,
        currency: Currency::RUB,
        margin: None,
        as_of: "2024-05-01".into(),
        window_end: "2024-04-15".into(),
        is_final: true,
    }
}

/// Group `g` of `n` customers, every `k`-th buying for 1,000.00 ₽ (minor units), costing 10.00 ₽.
fn group(g: u32, n: usize, k: usize, cost: i64) -> Vec<Unit> {
    (0..n).map(|i| unit(g, if i % k == 0 { 100_000 } else { 0 }, cost)).collect()
}

fn opts() -> Options {
    Options { level: 0.95, bootstrap: BootstrapOptions { replicates: 500, seed: 1 } }
}

#[test]
fn several_variants_are_holm_corrected() {
    // Control buys 1 in 10; variant "A" 1 in 4 (a clear win), "B" and "C" like control.
    let mut units = group(0, 600, 10, 0);
    units.extend(group(1, 600, 4, 1_000));
    units.extend(group(2, 600, 10, 1_000));
    units.extend(group(3, 600, 9, 1_000));
    let r = analyse(&design(&["control", "A", "B", "C"]), &units, &opts()).unwrap();
    let names: Vec<&str> = r.comparisons.iter().map(|c| c.group.as_str()).collect();
    assert_eq!(names, ["all variants", "A", "B", "C"]);
    assert_eq!(r.comparisons[0].treated_n, 1_800);
    assert!(r.comparisons[0].p_holm.is_none());
    let ps: Vec<f64> = r.comparisons[1..].iter().map(|c| c.p_value.unwrap()).collect();
    let adjusted = holm(&ps);
    for (c, a) in r.comparisons[1..].iter().zip(&adjusted) {
        assert_eq!(c.p_holm, Some(*a));
        assert_eq!(c.significant, *a < 0.05, "{c:?}");
    }
    assert!(r.comparisons[1].significant && !r.comparisons[2].significant && !r.comparisons[3].significant);
    let m = r.multiplicity.as_deref().unwrap();
    assert!(m.starts_with("3 variants were each compared with the control group") && m.contains("Significant after the adjustment: A (p "), "{m}");
    assert!(r.verdict.en.contains("Of its 3 variants, after the Holm correction for 3 comparisons, these beat the control group: A."), "{}", r.verdict.en);
    assert!(r.verdict.ru.contains("с поправкой Холма на 3 сравнения лучше контрольной группы: A."), "{}", r.verdict.ru);
    // Effects: the pooled comparison first, then each variant.
    assert_eq!(r.effects.len(), 4 * 5);
    assert_eq!(r.effects[0].group, "all variants");
    assert_eq!(r.effects[5].group, "A");
}

#[test]
fn refusals() {
    let units = group(0, 10, 2, 0);
    let e = analyse(&design(&["treatment"]), &units, &opts()).unwrap_err();
    assert!(matches!(e, ExperimentError::NoControl { .. }));
    assert!(e.to_string().starts_with("campaign \"spring\" has no control group (its groups: treatment)"), "{e}");
    let e = analyse(&design(&["control", "treatment"]), &units, &opts()).unwrap_err();
    assert!(matches!(e, ExperimentError::NoTreated { .. }), "{e}");
    let mut two = group(0, 10, 2, 0);
    two.extend(group(1, 10, 2, 0));
    assert!(matches!(analyse(&design(&["control", "Контроль"]), &two, &opts()), Err(ExperimentError::TwoControls { .. })));
}

#[test]
fn wording_without_cost_margin_or_closed_window() {
    let mut units = group(0, 500, 10, 0);
    units.extend(group(1, 500, 5, 0));
    let r = analyse(&design(&["control", "treatment"]), &units, &opts()).unwrap();
    assert!(r.roi.is_none() && r.incremental.as_ref().unwrap().margin.is_none());
    assert!(r.verdict.en.contains(" of extra revenue (95% CI ") && r.verdict.en.ends_with("; no cost was given, so there is no ROI."), "{}", r.verdict.en);
    assert!(r.verdict.ru.contains("дополнительной выручки") && r.verdict.ru.contains("затраты не указаны"), "{}", r.verdict.ru);
    assert!(r.warnings.iter().any(|w| w.contains("no gross margin")) && r.warnings.iter().any(|w| w.contains("no planned split")));

    let costly: Vec<Unit> = units.iter().map(|u| Unit { cost: if u.group == 1 { 5_000 } else { 0 }, ..*u }).collect();
    let mut d = design(&["control", "treatment"]);
    d.margin = Some(0.3);
    let r = analyse(&d, &costly, &opts()).unwrap();
    let (inc, roi) = (r.incremental.as_ref().unwrap(), r.roi.as_ref().unwrap());
    // 500 treated × 50.00 ₽ = 25,000 ₽ of cost; profit = 0.3 × revenue difference × 500.
    assert!((inc.cost - 25_000.0).abs() < 1e-9);
    assert!((inc.profit - 0.3 * inc.revenue).abs() < 1e-6);
    assert!((roi.value - (inc.profit - 25_000.0) / 25_000.0).abs() < 1e-12);
    assert!((roi.ci_low - (inc.profit_ci_low - 25_000.0) / 25_000.0).abs() < 1e-12);
    assert!(r.verdict.en.contains(" ₽ of extra profit (95% CI ") && r.verdict.en.contains(" ₽ of cost: ROI "), "{}", r.verdict.en);
    assert_eq!(r.return_ratio, Some(r.revenue_attributed / 25_000.0));

    d.is_final = false;
    let r = analyse(&d, &costly, &opts()).unwrap();
    assert_eq!(r.status, Status::NotFinal);
    assert!(
        r.verdict.en.starts_with("Not final: the attribution window closes on 2024-04-15.") && r.verdict.en.ends_with("— interim figures, not a verdict."),
        "{}",
        r.verdict.en
    );
    assert!(r.verdict.ru.starts_with("Не окончательно: окно атрибуции закрывается 15.04.2024."), "{}", r.verdict.ru);
}
