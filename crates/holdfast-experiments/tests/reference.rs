//! The statistics against an independent computation: `scripts/reference/experiments.py` (SciPy
//! and NumPy) wrote `tests/data/reference.json` from hand-made groups. Welch's interval, t, degrees
//! of freedom and p-value agree to 1e-9; the seeded bootstrap's bounds (2,000 resamples) lie within
//! four Monte Carlo standard deviations of a 100,000-resample SciPy bootstrap; CUPED, the
//! sample-ratio test, the MDE, the t quantiles and the stable buckets agree too.

use holdfast_experiments::stats::t_quantile;
use holdfast_experiments::*;
use serde_json::Value;

fn reference() -> Value {
    serde_json::from_str(include_str!("data/reference.json")).expect("reference.json")
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array().expect("array").iter().map(|x| x.as_f64().expect("number")).collect()
}

fn f(v: &Value, k: &str) -> f64 {
    v[k].as_f64().unwrap_or_else(|| panic!("{k} in {v}"))
}

fn close(what: &str, got: f64, want: f64, tol: f64) {
    assert!((got - want).abs() <= tol * want.abs().max(1.0), "{what}: {got} vs SciPy {want} (tolerance {tol})");
}

#[test]
fn welch_agrees_with_scipy_to_1e_9() {
    let r = reference();
    for (name, g) in r["groups"].as_object().unwrap() {
        let (t, c) = (Moments::of(&floats(&g["treated"])), Moments::of(&floats(&g["control"])));
        let w = welch(&t, &c, 0.95).unwrap();
        let s = &g["welch"];
        close(&format!("{name} difference"), w.interval.estimate, f(s, "difference"), 1e-9);
        close(&format!("{name} ci_low"), w.interval.low, f(s, "ci_low"), 1e-9);
        close(&format!("{name} ci_high"), w.interval.high, f(s, "ci_high"), 1e-9);
        close(&format!("{name} t"), w.t, f(s, "t"), 1e-9);
        close(&format!("{name} df"), w.df, f(s, "df"), 1e-9);
        close(&format!("{name} p"), w.interval.p_value, f(s, "p_value"), 1e-9);
    }
}

#[test]
fn bootstrap_agrees_with_scipy_within_monte_carlo_error() {
    let r = reference();
    for (name, g) in r["groups"].as_object().unwrap() {
        let (t, c) = (floats(&g["treated"]), floats(&g["control"]));
        let s = &g["bootstrap"];
        let b = bootstrap_diff(&t, &c, 0.95, &BootstrapOptions::default()).unwrap();
        assert_eq!(b.replicates as u64, s["resamples"].as_u64().unwrap());
        for (bound, got, want, sd) in
            [("low", b.interval.low, f(s, "ci_low"), f(s, "mc_sd_low")), ("high", b.interval.high, f(s, "ci_high"), f(s, "mc_sd_high"))]
        {
            let z = (got - want) / sd;
            eprintln!("{name} {bound}: {got:.4} vs SciPy {want:.4} ({z:+.2} Monte Carlo sd)");
            assert!(z.abs() < 4.0, "{name}: bootstrap {bound} bound {got} is {z:.1} Monte Carlo standard deviations from SciPy's {want}");
        }
    }
}

#[test]
fn cuped_agrees_with_numpy() {
    let r = reference();
    let c = &r["cuped"];
    let got = cuped(&floats(&c["treated_y"]), &floats(&c["treated_x"]), &floats(&c["control_y"]), &floats(&c["control_x"]), 0.95).unwrap();
    close("theta", got.theta, f(c, "theta"), 1e-12);
    close("correlation", got.correlation, f(c, "correlation"), 1e-12);
    let a = &c["adjusted"];
    close("adjusted difference", got.welch.interval.estimate, f(a, "difference"), 1e-9);
    close("adjusted ci_low", got.welch.interval.low, f(a, "ci_low"), 1e-9);
    close("adjusted ci_high", got.welch.interval.high, f(a, "ci_high"), 1e-9);
    let raw_width = f(&c["raw"], "ci_high") - f(&c["raw"], "ci_low");
    assert!(got.welch.interval.width() < raw_width);
}

#[test]
fn srm_mde_quantiles_and_buckets_agree() {
    let r = reference();
    for s in r["srm"].as_array().unwrap() {
        let observed: Vec<u64> = s["observed"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap()).collect();
        let got = srm(&observed, &floats(&s["planned"])).unwrap();
        close("chi2", got.chi2, f(s, "chi2"), 1e-9);
        // Tiny p-values agree relatively; others absolutely.
        let want = f(s, "p_value");
        assert!((got.p_value - want).abs() <= 1e-9 * want.max(1e-300) || (got.p_value - want).abs() < 1e-12, "srm p {} vs {want}", got.p_value);
    }
    for m in r["mde"].as_array().unwrap() {
        let p = plan("revenue", m["audience"].as_u64().unwrap(), f(m, "holdout"), 1.0, f(m, "sd")).unwrap();
        close("mde", p.mde, f(m, "mde"), 1e-9);
    }
    for q in r["t_quantiles"].as_array().unwrap() {
        close("t quantile", t_quantile(f(q, "df"), f(q, "p")), f(q, "q"), 1e-9);
    }
    for b in r["buckets"].as_array().unwrap() {
        assert_eq!(bucket(b["salt"].as_str().unwrap(), b["customer"].as_str().unwrap()) as u64, b["bucket"].as_u64().unwrap(), "{b}");
    }
}
