//! L-BFGS (Nocedal & Wright 2006, Algorithm 7.4 two-loop recursion) with a backtracking Armijo
//! line search, minimising a smooth function of unconstrained parameters.

/// Outcome of a minimisation.
#[derive(Clone, Debug)]
pub struct Minimum {
    pub x: Vec<f64>,
    pub f: f64,
    pub converged: bool,
}

/// Minimises `f` (returning value and gradient; `None` when not finite) from `x0`.
pub fn lbfgs<F>(f: F, x0: &[f64], max_iter: usize, gtol: f64) -> Option<Minimum>
where
    F: Fn(&[f64]) -> Option<(f64, Vec<f64>)>,
{
    let m = 10;
    let n = x0.len();
    let mut x = x0.to_vec();
    let (mut fx, mut g) = f(&x)?;
    if !fx.is_finite() || g.iter().any(|v| !v.is_finite()) {
        return None;
    }
    let mut s_hist: Vec<Vec<f64>> = Vec::new();
    let mut y_hist: Vec<Vec<f64>> = Vec::new();
    let mut converged = false;
    for _ in 0..max_iter {
        let gnorm = g.iter().fold(0.0f64, |a, v| a.max(v.abs()));
        if gnorm < gtol {
            converged = true;
            break;
        }
        // two-loop recursion
        let mut q = g.clone();
        let k = s_hist.len();
        let mut alphas = vec![0.0; k];
        for i in (0..k).rev() {
            let rho = 1.0 / dot(&y_hist[i], &s_hist[i]);
            alphas[i] = rho * dot(&s_hist[i], &q);
            for j in 0..n {
                q[j] -= alphas[i] * y_hist[i][j];
            }
        }
        let gamma = if k > 0 {
            dot(&s_hist[k - 1], &y_hist[k - 1]) / dot(&y_hist[k - 1], &y_hist[k - 1])
        } else {
            1.0 / gnorm.max(1.0)
        };
        for v in q.iter_mut() {
            *v *= gamma;
        }
        for i in 0..k {
            let rho = 1.0 / dot(&y_hist[i], &s_hist[i]);
            let beta = rho * dot(&y_hist[i], &q);
            for j in 0..n {
                q[j] += s_hist[i][j] * (alphas[i] - beta);
            }
        }
        let mut d: Vec<f64> = q.iter().map(|v| -v).collect();
        let mut slope = dot(&g, &d);
        if !(slope < 0.0) {
            // not a descent direction: restart with steepest descent
            s_hist.clear();
            y_hist.clear();
            d = g.iter().map(|v| -v / gnorm.max(1.0)).collect();
            slope = dot(&g, &d);
        }
        // backtracking Armijo
        let mut step = 1.0;
        let mut accepted = None;
        for _ in 0..60 {
            let xn: Vec<f64> = x.iter().zip(&d).map(|(a, b)| a + step * b).collect();
            if let Some((fn_, gn)) = f(&xn) {
                if fn_.is_finite()
                    && gn.iter().all(|v| v.is_finite())
                    && fn_ <= fx + 1e-4 * step * slope
                {
                    accepted = Some((xn, fn_, gn));
                    break;
                }
            }
            step *= 0.5;
        }
        let Some((xn, fn_, gn)) = accepted else {
            // no progress possible along d: at a (numerical) optimum if the gradient is small
            converged = gnorm < gtol * 1e3;
            break;
        };
        let s: Vec<f64> = xn.iter().zip(&x).map(|(a, b)| a - b).collect();
        let y: Vec<f64> = gn.iter().zip(&g).map(|(a, b)| a - b).collect();
        let df = fx - fn_;
        x = xn;
        g = gn;
        fx = fn_;
        if dot(&s, &y) > 1e-12 {
            if s_hist.len() == m {
                s_hist.remove(0);
                y_hist.remove(0);
            }
            s_hist.push(s);
            y_hist.push(y);
        }
        if df.abs() < 1e-15 * fx.abs().max(1.0) {
            let gnorm = g.iter().fold(0.0f64, |a, v| a.max(v.abs()));
            converged = gnorm < gtol * 1e3;
            break;
        }
    }
    Some(Minimum { x, f: fx, converged })
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Central-difference gradient (used where an analytic gradient is not implemented).
pub fn numeric_grad<F: Fn(&[f64]) -> f64>(f: &F, x: &[f64]) -> Vec<f64> {
    let mut g = vec![0.0; x.len()];
    let mut xp = x.to_vec();
    for i in 0..x.len() {
        let h = 1e-6 * x[i].abs().max(1.0);
        xp[i] = x[i] + h;
        let fp = f(&xp);
        xp[i] = x[i] - h;
        let fm = f(&xp);
        xp[i] = x[i];
        g[i] = (fp - fm) / (2.0 * h);
    }
    g
}

/// Maximises a log-likelihood of log-parameters from several starts. `nll` returns the negative
/// log-likelihood and its gradient with respect to the log-parameters. Returns the best finite
/// optimum (log-parameters, LL, converged).
pub(crate) fn fit_multistart<F>(nll: F, starts: &[Vec<f64>], scale: f64) -> Option<Minimum>
where
    F: Fn(&[f64]) -> Option<(f64, Vec<f64>)>,
{
    let scaled = |th: &[f64]| -> Option<(f64, Vec<f64>)> {
        if th.iter().any(|v| v.abs() > 30.0) {
            return None;
        }
        let (f, g) = nll(th)?;
        Some((f / scale, g.into_iter().map(|v| v / scale).collect()))
    };
    let mut best: Option<Minimum> = None;
    for s in starts {
        if let Some(m) = lbfgs(&scaled, s, 2000, 1e-9) {
            if m.f.is_finite() && best.as_ref().map_or(true, |b| m.f < b.f - 1e-12) {
                best = Some(m);
            }
        }
    }
    best.map(|mut b| {
        b.f *= scale;
        b
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn rosenbrock() {
        let f = |x: &[f64]| {
            let (a, b) = (x[0], x[1]);
            let v = (1.0 - a).powi(2) + 100.0 * (b - a * a).powi(2);
            let g = vec![-2.0 * (1.0 - a) - 400.0 * a * (b - a * a), 200.0 * (b - a * a)];
            Some((v, g))
        };
        let m = lbfgs(f, &[-1.2, 1.0], 1000, 1e-8).unwrap();
        assert!(m.converged);
        assert!((m.x[0] - 1.0).abs() < 1e-5 && (m.x[1] - 1.0).abs() < 1e-5);
    }
}
