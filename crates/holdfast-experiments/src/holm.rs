//! Holm's step-down adjustment of p-values for several variants compared with one control
//! (Holm 1979, "A simple sequentially rejective multiple test procedure", Scand. J. Statist. 6).
//!
//! Sort the `m` p-values ascending, `p_(1) ≤ … ≤ p_(m)`; the adjusted value of `p_(i)` is
//! `max_{j ≤ i} min(1, (m − j + 1)·p_(j))`. Rejecting where the adjusted value is below `α`
//! keeps the chance of any false "this variant works" at `α` whatever the number of variants —
//! as Bonferroni does, but never less powerful. Equal p-values keep their input order.

/// The Holm-adjusted p-values, in the input's order. (`statsmodels`' `multipletests(method="holm")`
/// gives the same numbers.)
pub fn holm(p: &[f64]) -> Vec<f64> {
    let m = p.len();
    let mut order: Vec<usize> = (0..m).collect();
    order.sort_by(|&a, &b| p[a].total_cmp(&p[b]).then(a.cmp(&b)));
    let mut out = vec![0.0; m];
    let mut running: f64 = 0.0;
    for (j, &i) in order.iter().enumerate() {
        let adj = ((m - j) as f64 * p[i]).min(1.0);
        running = running.max(adj);
        out[i] = running;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn by_hand() {
        // m = 3: 0.01·3 = 0.03, 0.04·2 = 0.08, 0.03 … sorted 0.01, 0.03, 0.04 → 0.03, 0.06, 0.06.
        let a = holm(&[0.01, 0.04, 0.03]);
        let want = [0.03, 0.06, 0.06];
        for (x, y) in a.iter().zip(want) {
            assert!((x - y).abs() < 1e-15, "{a:?}");
        }
        assert_eq!(holm(&[0.5, 0.9]), vec![1.0, 1.0]);
        assert_eq!(holm(&[0.02]), vec![0.02]);
        assert!(holm(&[]).is_empty());
    }
}
