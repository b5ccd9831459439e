//! A small limited-memory BFGS minimiser with a strong-Wolfe line search (Nocedal & Wright 2006,
//! "Numerical Optimization", algorithms 7.4, 3.5 and 3.6). Enough for the handful of parameters
//! of the customer-base models, and it keeps the dependency tree lean.

/// Settings of one minimisation.
#[derive(Clone, Copy, Debug)]
pub struct LbfgsOptions {
    pub max_iter: usize,
    /// Pairs kept for the inverse-Hessian approximation.
    pub memory: usize,
    /// Converged when the largest gradient component is at most this.
    pub gtol: f64,
}

impl Default for LbfgsOptions {
    fn default() -> Self {
        LbfgsOptions { max_iter: 400, memory: 8, gtol: 1e-9 }
    }
}

/// Where a minimisation stopped.
#[derive(Clone, Debug)]
pub struct Minimum {
    pub x: Vec<f64>,
    pub f: f64,
    /// Largest absolute gradient component at `x`.
    pub grad_max: f64,
    pub iterations: usize,
    pub evaluations: usize,
    pub converged: bool,
    /// The curvature pairs `(s, y)` of the inverse-Hessian approximation at the end, to continue a
    /// related minimisation from (see [`minimize_from`]).
    pub pairs: Vec<(Vec<f64>, Vec<f64>)>,
}

/// Minimises `f` from `x0`. `f(x, grad)` returns the value and fills the gradient; a non-finite
/// value means "outside the domain" and makes the line search step back.
pub fn minimize<F>(f: F, x0: &[f64], opts: &LbfgsOptions) -> Minimum
where
    F: FnMut(&[f64], &mut [f64]) -> f64,
{
    minimize_from(f, x0, opts, Vec::new())
}

/// Like [`minimize`], with the inverse-Hessian approximation started from `pairs` (those of a
/// minimisation of a similar function, such as the same likelihood on a sample), so the first
/// steps are already close to Newton steps.
pub fn minimize_from<F>(mut f: F, x0: &[f64], opts: &LbfgsOptions, pairs: Vec<(Vec<f64>, Vec<f64>)>) -> Minimum
where
    F: FnMut(&[f64], &mut [f64]) -> f64,
{
    let n = x0.len();
    let mut x = x0.to_vec();
    let mut g = vec![0.0; n];
    let mut evals = 1;
    let mut fx = f(&x, &mut g);
    let max_abs = |v: &[f64]| v.iter().fold(0.0f64, |m, a| m.max(a.abs()));
    if !fx.is_finite() || g.iter().any(|v| !v.is_finite()) {
        return Minimum { x, f: fx, grad_max: f64::INFINITY, iterations: 0, evaluations: evals, converged: false, pairs };
    }
    let mut s_hist: Vec<Vec<f64>> = Vec::new();
    let mut y_hist: Vec<Vec<f64>> = Vec::new();
    let mut rho_hist: Vec<f64> = Vec::new();
    for (s, y) in pairs.into_iter().filter(|(s, y)| s.len() == n && y.len() == n && dot(s, y) > 1e-300).take(opts.memory) {
        rho_hist.push(1.0 / dot(&s, &y));
        s_hist.push(s);
        y_hist.push(y);
    }
    let mut stall = 0;
    let mut no_descent = false;
    let mut it = 0;
    while it < opts.max_iter {
        if max_abs(&g) <= opts.gtol {
            break;
        }
        it += 1;
        // Two-loop recursion: d = −H g.
        let mut q = g.clone();
        let k = s_hist.len();
        let mut alphas = vec![0.0; k];
        for i in (0..k).rev() {
            let a = rho_hist[i] * dot(&s_hist[i], &q);
            alphas[i] = a;
            axpy(-a, &y_hist[i], &mut q);
        }
        let gamma = if k > 0 { dot(&s_hist[k - 1], &y_hist[k - 1]) / dot(&y_hist[k - 1], &y_hist[k - 1]) } else { 1.0 / max_abs(&g).max(1.0) };
        for v in q.iter_mut() {
            *v *= gamma;
        }
        for i in 0..k {
            let b = rho_hist[i] * dot(&y_hist[i], &q);
            axpy(alphas[i] - b, &s_hist[i], &mut q);
        }
        let mut d: Vec<f64> = q.iter().map(|v| -v).collect();
        let mut dg = dot(&d, &g);
        if !(dg < 0.0) {
            // Not a descent direction: restart from steepest descent.
            s_hist.clear();
            y_hist.clear();
            rho_hist.clear();
            let scale = 1.0 / max_abs(&g).max(1.0);
            d = g.iter().map(|v| -v * scale).collect();
            dg = dot(&d, &g);
        }
        // The decrease this step can bring is below the rounding of f: nothing more to gain.
        if -dg < 8.0 * f64::EPSILON * fx.abs() && max_abs(&g) <= 1e-5 {
            no_descent = true;
            break;
        }
        // Keep steps on the log-parameter scale moderate.
        let dmax = max_abs(&d);
        if dmax > 5.0 {
            for v in d.iter_mut() {
                *v *= 5.0 / dmax;
            }
            dg = dot(&d, &g);
        }
        let ls = line_search(&mut f, &x, fx, dg, &d, &mut evals);
        let Some((step, f_new, x_new, g_new)) = ls else {
            if s_hist.is_empty() {
                // Not even steepest descent lowers f: the rounding of f has been reached.
                no_descent = true;
                break;
            }
            s_hist.clear();
            y_hist.clear();
            rho_hist.clear();
            continue;
        };
        let _ = step;
        let s: Vec<f64> = x_new.iter().zip(&x).map(|(a, b)| a - b).collect();
        let y: Vec<f64> = g_new.iter().zip(&g).map(|(a, b)| a - b).collect();
        let sy = dot(&s, &y);
        let rel = (fx - f_new).abs() / fx.abs().max(1e-300);
        x = x_new;
        g = g_new;
        fx = f_new;
        if sy > 1e-300 {
            if s_hist.len() == opts.memory {
                s_hist.remove(0);
                y_hist.remove(0);
                rho_hist.remove(0);
            }
            s_hist.push(s);
            y_hist.push(y);
            rho_hist.push(1.0 / sy);
        }
        if rel < 1e-15 {
            stall += 1;
            if stall >= 3 {
                break;
            }
        } else {
            stall = 0;
        }
    }
    let grad_max = max_abs(&g);
    // Stalled at machine precision with a small gradient also counts as converged: on large data
    // the summed objective's rounding is reached before the gradient gets below `gtol`.
    let converged = grad_max <= opts.gtol || (grad_max <= 1e-5 && (stall >= 3 || no_descent));
    let pairs = s_hist.into_iter().zip(y_hist).collect();
    Minimum { x, f: fx, grad_max, iterations: it, evaluations: evals, converged, pairs }
}

type Trial = (f64, f64, Vec<f64>, Vec<f64>);

fn line_search<F>(f: &mut F, x: &[f64], f0: f64, dg0: f64, d: &[f64], evals: &mut usize) -> Option<Trial>
where
    F: FnMut(&[f64], &mut [f64]) -> f64,
{
    const C1: f64 = 1e-4;
    const C2: f64 = 0.9;
    let n = x.len();
    let mut eval = |a: f64, evals: &mut usize| -> (f64, f64, Vec<f64>, Vec<f64>) {
        let xt: Vec<f64> = x.iter().zip(d).map(|(xi, di)| xi + a * di).collect();
        let mut gt = vec![0.0; n];
        *evals += 1;
        let ft = f(&xt, &mut gt);
        let ok = ft.is_finite() && gt.iter().all(|v| v.is_finite());
        let ft = if ok { ft } else { f64::INFINITY };
        let dgt = if ok { dot(&gt, d) } else { f64::NAN };
        (ft, dgt, xt, gt)
    };
    let (mut a_prev, mut f_prev, mut dg_prev) = (0.0, f0, dg0);
    let mut a = 1.0;
    for i in 0..30 {
        let (fa, dga, xa, ga) = eval(a, evals);
        if !fa.is_finite() {
            // Outside the domain: shrink towards the last good point.
            return zoom(&mut eval, evals, f0, dg0, a_prev, f_prev, dg_prev, a, fa, dga);
        }
        if fa > f0 + C1 * a * dg0 || (i > 0 && fa >= f_prev) {
            return zoom(&mut eval, evals, f0, dg0, a_prev, f_prev, dg_prev, a, fa, dga);
        }
        if dga.abs() <= -C2 * dg0 {
            return Some((a, fa, xa, ga));
        }
        if dga >= 0.0 {
            return zoom(&mut eval, evals, f0, dg0, a, fa, dga, a_prev, f_prev, dg_prev);
        }
        a_prev = a;
        f_prev = fa;
        dg_prev = dga;
        a *= 2.0;
    }
    None
}

#[allow(clippy::too_many_arguments)]
fn zoom<E>(
    eval: &mut E,
    evals: &mut usize,
    f0: f64,
    dg0: f64,
    mut lo: f64,
    mut f_lo: f64,
    mut dg_lo: f64,
    mut hi: f64,
    mut f_hi: f64,
    mut dg_hi: f64,
) -> Option<Trial>
where
    E: FnMut(f64, &mut usize) -> (f64, f64, Vec<f64>, Vec<f64>),
{
    const C1: f64 = 1e-4;
    const C2: f64 = 0.9;
    let mut best: Option<Trial> = None;
    for _ in 0..40 {
        // Cubic interpolation when both ends are usable, else bisection.
        let mut a = 0.5 * (lo + hi);
        if f_hi.is_finite() && dg_hi.is_finite() {
            let d1 = dg_lo + dg_hi - 3.0 * (f_lo - f_hi) / (lo - hi);
            let disc = d1 * d1 - dg_lo * dg_hi;
            if disc >= 0.0 {
                let d2 = (hi - lo).signum() * disc.sqrt();
                let c = hi - (hi - lo) * (dg_hi + d2 - d1) / (dg_hi - dg_lo + 2.0 * d2);
                let (mn, mx) = (lo.min(hi), lo.max(hi));
                let w = mx - mn;
                if c.is_finite() && c > mn + 0.1 * w && c < mx - 0.1 * w {
                    a = c;
                }
            }
        }
        let (fa, dga, xa, ga) = eval(a, evals);
        if fa.is_finite() && fa < f0 && best.as_ref().is_none_or(|b| fa < b.1) {
            best = Some((a, fa, xa.clone(), ga.clone()));
        }
        if !fa.is_finite() || fa > f0 + C1 * a * dg0 || fa >= f_lo {
            hi = a;
            f_hi = fa;
            dg_hi = dga;
        } else {
            if dga.abs() <= -C2 * dg0 {
                return Some((a, fa, xa, ga));
            }
            if dga * (hi - lo) >= 0.0 {
                hi = lo;
                f_hi = f_lo;
                dg_hi = dg_lo;
            }
            lo = a;
            f_lo = fa;
            dg_lo = dga;
        }
        if (hi - lo).abs() < 1e-16 * lo.abs().max(1.0) {
            break;
        }
    }
    // No Wolfe point found: accept the best decrease seen, if any.
    best
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn axpy(a: f64, x: &[f64], y: &mut [f64]) {
    for (yi, xi) in y.iter_mut().zip(x) {
        *yi += a * xi;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minimises_rosenbrock() {
        let m = minimize(
            |x, g| {
                let (a, b) = (x[0], x[1]);
                g[0] = -2.0 * (1.0 - a) - 400.0 * a * (b - a * a);
                g[1] = 200.0 * (b - a * a);
                (1.0 - a).powi(2) + 100.0 * (b - a * a).powi(2)
            },
            &[-1.2, 1.0],
            &LbfgsOptions::default(),
        );
        assert!(m.converged, "{m:?}");
        assert!((m.x[0] - 1.0).abs() < 1e-6 && (m.x[1] - 1.0).abs() < 1e-6);
    }
}
