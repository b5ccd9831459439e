//! Fits against the published values on the reference data in tests/data (see its README).

use holdfast_models::{bgbb, bgnbd, compress, gamma_gamma, pareto_nbd, sbg, Fit, FitError, RfmRow};

fn read(name: &str) -> Vec<Vec<f64>> {
    let path = format!("{}/tests/data/{}", env!("CARGO_MANIFEST_DIR"), name);
    let text = std::fs::read_to_string(path).unwrap();
    text.lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.split(',').map(|v| v.trim().parse::<f64>().unwrap()).collect())
        .collect()
}

fn cdnow() -> Vec<Vec<f64>> {
    read("cdnow_sample_summary_weeks.csv")
}

fn cdnow_rows() -> Vec<RfmRow> {
    compress(
        &cdnow().iter().map(|r| RfmRow { x: r[1], t_x: r[2], t: r[3], weight: 1.0 }).collect::<Vec<_>>(),
    )
}

/// Same to 3 significant figures.
fn sig3(got: f64, want: f64) {
    let scale = 10f64.powf(want.abs().log10().floor() - 2.0);
    assert!(
        (got / scale).round() == (want / scale).round() || (got - want).abs() <= 0.5 * scale,
        "got {got}, published {want}"
    );
}

fn check(fit: &Fit, want: &[(&str, f64)], ll: Option<f64>) {
    println!("{fit:?}");
    for (n, v) in want {
        sig3(fit.param(n).unwrap(), *v);
    }
    if let Some(ll) = ll {
        assert!((fit.log_likelihood - ll).abs() <= 0.1, "LL {} vs {}", fit.log_likelihood, ll);
    }
    assert!(fit.converged);
}

#[test]
fn bgnbd_cdnow() {
    let fit = bgnbd::fit(&cdnow_rows()).unwrap();
    assert_eq!(fit.customers, 2357.0);
    check(&fit, &[("r", 0.243), ("alpha", 4.414), ("a", 0.793), ("b", 2.426)], Some(-9582.4));
}

#[test]
fn pareto_cdnow() {
    let fit = pareto_nbd::fit(&cdnow_rows()).unwrap();
    check(&fit, &[("r", 0.553), ("alpha", 10.58), ("s", 0.606), ("beta", 11.67)], Some(-9595.0));
}

#[test]
fn gamma_gamma_cdnow() {
    let rows: Vec<gamma_gamma::SpendRow> = cdnow()
        .iter()
        .filter(|r| r[1] > 0.0)
        .map(|r| gamma_gamma::SpendRow { x: r[1], m: r[4], weight: 1.0 })
        .collect();
    assert_eq!(rows.len(), 946);
    let fit = gamma_gamma::fit(&rows).unwrap();
    check(&fit, &[("p", 6.25), ("q", 3.74), ("v", 15.44)], None);
    let c = gamma_gamma::frequency_spend_correlation(&rows).unwrap();
    assert!(c.abs() < 0.2, "correlation {c}");
}

fn survival(col: usize) -> Vec<f64> {
    read("sbg_survival.csv").iter().filter(|r| r[0] <= 7.0).map(|r| r[col]).collect()
}

#[test]
fn sbg_regular_and_high_end() {
    let fit = sbg::fit(&survival(1)).unwrap();
    check(&fit, &[("alpha", 0.704), ("beta", 1.182)], Some(-1680.3));
    let fit = sbg::fit(&survival(2)).unwrap();
    check(&fit, &[("alpha", 0.668), ("beta", 3.806)], Some(-1611.2));
    // retention identity: S(t) = S(t-1) · r_t
    let p = sbg::Params::from_fit(&fit).unwrap();
    for t in 1..12 {
        assert!((p.survival(t) - p.survival(t - 1) * p.retention(t)).abs() < 1e-12);
    }
}

#[test]
fn bgbb_donations() {
    let rows: Vec<bgbb::Row> = read("donations_bgbb.csv")
        .iter()
        .map(|r| bgbb::Row { x: r[0], t_x: r[1], n: r[2], weight: r[3] })
        .collect();
    let fit = bgbb::fit(&rows).unwrap();
    assert_eq!(fit.customers, 11104.0);
    check(&fit, &[("alpha", 1.204), ("beta", 0.750), ("gamma", 0.657), ("delta", 2.783)], Some(-33225.6));
}

#[test]
fn unidentifiable_data_is_an_error() {
    let r = |x: f64, t_x: f64, t: f64, w: f64| RfmRow { x, t_x, t, weight: w };
    assert_eq!(bgnbd::fit(&[r(0.0, 0.0, 10.0, 50.0), r(0.0, 0.0, 20.0, 5.0)]), Err(FitError::NoRepeat));
    assert_eq!(bgnbd::fit(&[r(2.0, 5.0, 10.0, 1.0)]), Err(FitError::OneCustomer));
    assert_eq!(bgnbd::fit(&[r(2.0, 5.0, 10.0, 7.0)]), Err(FitError::AllIdentical));
    assert_eq!(pareto_nbd::fit(&[]), Err(FitError::Empty));
    assert_eq!(sbg::fit(&[100.0, 100.0, 100.0]), Err(FitError::AllIdentical));
    assert!(bgnbd::fit(&[r(2.0, 11.0, 10.0, 1.0), r(0.0, 0.0, 3.0, 1.0)]).is_err());
}
