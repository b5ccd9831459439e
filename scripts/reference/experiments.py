#!/usr/bin/env python3
"""Reference figures for holdfast-experiments, computed independently with SciPy and NumPy.

    python3 -m venv /tmp/ref && /tmp/ref/bin/pip install scipy numpy
    /tmp/ref/bin/python scripts/reference/experiments.py > crates/holdfast-experiments/tests/data/reference.json

On hand-made groups it writes: Welch's interval, t statistic, degrees of freedom and p-value
(scipy.stats.ttest_ind(equal_var=False)); a reference percentile bootstrap of the difference of
means (scipy.stats.bootstrap, each group resampled separately, 100,000 resamples) with the Monte
Carlo spread of a 2,000-resample bound (the standard deviation of the bounds over 300 repeated
2,000-resample bootstraps); CUPED (theta, and Welch on the adjusted outcome); the sample-ratio
chi-square test (scipy.stats.chisquare); the minimum detectable effect (scipy.stats.norm);
t quantiles; and the stable buckets of a few customer ids. crates/holdfast-experiments/tests/reference.rs
compares: Welch to 1e-9, the bootstrap within 4 Monte Carlo standard deviations.
"""

import json
import sys

import numpy as np
import scipy
from scipy import stats


def zero_heavy(n, a, b, m):
    """Deterministic zero-heavy revenue: every m-th customer (by a multiplicative pattern) buys."""
    return [float((100 + (i * b) % 900) + ((i * 7) % 13) / 4) if (i * a) % m == 0 else 0.0 for i in range(1, n + 1)]


GROUPS = {
    "small": {
        "treated": [12.5, 0.0, 0.0, 30.0, 7.25, 0.0, 19.99, 0.0],
        "control": [0.0, 4.5, 0.0, 0.0, 11.0, 0.0, 2.25],
    },
    "conversion": {
        "treated": [1.0 if i % 9 in (0, 4) else 0.0 for i in range(40)],
        "control": [1.0 if i % 7 == 3 else 0.0 for i in range(35)],
    },
    "zero_heavy": {
        "treated": zero_heavy(240, 37, 53, 5),
        "control": zero_heavy(200, 41, 61, 7),
    },
    "unequal": {
        "treated": [float(v) for v in [3, 8, 1, 9, 14, 2, 0, 7, 6, 11, 5, 4]],
        "control": [float(v) for v in [2, 2, 3, 1, 2, 4, 3, 2, 1, 3, 2, 2, 3, 1, 2, 2, 3, 2, 2, 1, 3, 2]],
    },
}

# CUPED: outcome y and pre-period covariate x per customer.
CUPED = {
    "treated_x": [float((i * 17) % 23) for i in range(30)],
    "control_x": [float((i * 19) % 29) for i in range(28)],
}
CUPED["treated_y"] = [2.0 + 0.7 * x + ((i * 5) % 7) - 3 + 1.5 for i, x in enumerate(CUPED["treated_x"])]
CUPED["control_y"] = [2.0 + 0.7 * x + ((i * 3) % 7) - 3 for i, x in enumerate(CUPED["control_x"])]


def welch(t, c):
    r = stats.ttest_ind(t, c, equal_var=False)
    ci = r.confidence_interval(0.95)
    return {"difference": float(np.mean(t) - np.mean(c)), "ci_low": float(ci.low), "ci_high": float(ci.high), "t": float(r.statistic), "df": float(r.df), "p_value": float(r.pvalue)}


def diff_of_means(x, y, axis=-1):
    return np.mean(x, axis=axis) - np.mean(y, axis=axis)


def bootstrap(t, c):
    t, c = np.asarray(t), np.asarray(c)
    ref = stats.bootstrap((t, c), diff_of_means, method="percentile", n_resamples=100_000, confidence_level=0.95, vectorized=True, paired=False, random_state=np.random.default_rng(20240501))
    rng = np.random.default_rng(7)
    lows, highs = [], []
    for _ in range(300):
        r = stats.bootstrap((t, c), diff_of_means, method="percentile", n_resamples=2_000, confidence_level=0.95, vectorized=True, paired=False, random_state=rng)
        lows.append(r.confidence_interval.low)
        highs.append(r.confidence_interval.high)
    return {"ci_low": float(ref.confidence_interval.low), "ci_high": float(ref.confidence_interval.high), "mc_sd_low": float(np.std(lows, ddof=1)), "mc_sd_high": float(np.std(highs, ddof=1)), "resamples": 2_000}


def cuped():
    yt, xt, yc, xc = (np.asarray(CUPED[k]) for k in ("treated_y", "treated_x", "control_y", "control_x"))
    y, x = np.concatenate([yt, yc]), np.concatenate([xt, xc])
    theta = np.cov(y, x, ddof=1)[0, 1] / np.var(x, ddof=1)
    xbar = np.mean(x)
    w = welch(yt - theta * (xt - xbar), yc - theta * (xc - xbar))
    raw = welch(yt, yc)
    return {**CUPED, "theta": float(theta), "correlation": float(np.corrcoef(y, x)[0, 1]), "adjusted": w, "raw": raw}


def srm():
    out = []
    for observed, planned in [([5500, 4500], [0.5, 0.5]), ([5030, 4970], [0.5, 0.5]), ([905, 95], [0.9, 0.1]), ([310, 355, 335], [1 / 3, 1 / 3, 1 / 3])]:
        n = sum(observed)
        r = stats.chisquare(observed, [p * n for p in planned])
        out.append({"observed": observed, "planned": planned, "chi2": float(r.statistic), "p_value": float(r.pvalue)})
    return out


def mde():
    z = stats.norm.ppf(0.975) + stats.norm.ppf(0.8)
    out = []
    for audience, holdout, sd in [(10_000, 0.1, 0.3), (2_500, 0.2, 1234.5), (100_000, 0.05, 0.17)]:
        control = round(audience * holdout)
        treated = audience - control
        out.append({"audience": audience, "holdout": holdout, "sd": sd, "mde": float(z * sd * np.sqrt(1 / treated + 1 / control))})
    return out


M64 = (1 << 64) - 1


def bucket(salt, customer):
    """64-bit FNV-1a over salt, 0xff, customer; SplitMix64's finaliser; modulo 10,000."""
    h = 0xCBF29CE484222325
    for b in salt.encode() + b"\xff" + customer.encode():
        h ^= b
        h = (h * 0x100000001B3) & M64
    h = ((h ^ (h >> 30)) * 0xBF58476D1CE4E5B9) & M64
    h = ((h ^ (h >> 27)) * 0x94D049BB133111EB) & M64
    h ^= h >> 31
    return h % 10_000


def main():
    out = {
        "generated_by": "scripts/reference/experiments.py",
        "scipy": scipy.__version__,
        "numpy": np.__version__,
        "groups": {name: {**g, "welch": welch(g["treated"], g["control"]), "bootstrap": bootstrap(g["treated"], g["control"])} for name, g in GROUPS.items()},
        "cuped": cuped(),
        "srm": srm(),
        "mde": mde(),
        "t_quantiles": [{"df": df, "p": p, "q": float(stats.t.ppf(p, df))} for df, p in [(1.5, 0.975), (7.3, 0.975), (42.0, 0.025), (1234.5, 0.975), (3.0, 0.999)]],
        "buckets": [{"salt": s, "customer": c, "bucket": bucket(s, c)} for s, c in [("win-back", "C1"), ("win-back", "C2"), ("win-back", "customer-000042"), ("win-back", "Иван"), ("holdfast/global-holdout", "C000570"), ("spring sale", "42")]],
    }
    json.dump(out, sys.stdout, indent=1, ensure_ascii=False)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
