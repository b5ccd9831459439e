//! Predictions against values computed independently with mpmath 1.4.1 (Python, 30 digits):
//! the BG/NBD closed forms of Fader, Hardie & Lee (2005) eqs. (9), (10) and P(alive) evaluated with
//! `mpmath.hyp2f1`; the Pareto/NBD P(alive) obtained by numerically integrating the
//! "died between t_x and T" part of the likelihood with `mpmath.quad` (no 2F1 involved), i.e.
//! alive = (α+T)^-(r+x) (β+T)^-s, dead = s ∫_{t_x}^{T} (α+y)^-(r+x) (β+y)^-(s+1) dy,
//! P(alive) = alive / (alive + dead). Parameters: the published CDNOW fits.

use holdfast_models::{BgNbd, ParetoNbd, PurchaseModel};

fn close(got: f64, want: f64, tol: f64) {
    assert!((got - want).abs() <= tol * want.abs().max(1e-300), "got {got}, want {want}");
}

#[test]
fn bgnbd_p_alive_and_expected_purchases() {
    let p = BgNbd { r: 0.243, alpha: 4.414, a: 0.793, b: 2.426 };
    // (x, t_x, T, P(alive), E[purchases in next 39 weeks])
    let cases = [
        (0.0, 0.0, 38.86, 1.0, 0.195098052011263),
        (2.0, 30.43, 38.86, 0.726578570080673, 1.22602817476714),
        (7.0, 35.0, 38.0, 0.861991065093433, 4.55618527658972),
        (1.0, 1.71, 38.86, 0.212100985377379, 0.203186987079754),
        (20.0, 37.0, 38.5, 0.929321213655013, 13.2582222498858),
    ];
    for (x, tx, t, pa, e) in cases {
        close(p.p_alive(x, tx, t), pa, 1e-10);
        close(p.expected_purchases(39.0, x, tx, t), e, 1e-9);
    }
    // Unconditional E[X(t)] (FHL 2005 eq. 9) is the conditional expectation at x = t_x = T = 0.
    close(p.expected_purchases(39.0, 0.0, 0.0, 0.0), 1.19672319332082, 1e-9);
    close(p.expected_purchases(78.0, 0.0, 0.0, 0.0), 1.86051905794277, 1e-9);
}

#[test]
fn pareto_p_alive() {
    let p = ParetoNbd { r: 0.553, alpha: 10.58, s: 0.606, beta: 11.67 };
    close(p.p_alive(0.0, 0.0, 38.86), 0.295310904597843, 1e-9);
    close(p.p_alive(2.0, 30.43, 38.86), 0.86917148212026, 1e-9);
    close(p.p_alive(7.0, 35.0, 38.0), 0.95284107511118, 1e-9);
    close(p.p_alive(20.0, 10.0, 38.5), 3.84582313420322e-7, 1e-6);
    // Large x and T stay finite (Euler-form series, log scale).
    for (x, tx, t) in [(500.0, 900.0, 1000.0), (5000.0, 2000.0, 2100.0), (3.0, 5.0, 10000.0)] {
        let v = p.p_alive(x, tx, t);
        assert!(v.is_finite() && (0.0..=1.0).contains(&v), "{v}");
        assert!(p.expected_purchases(52.0, x, tx, t).is_finite());
    }
}
