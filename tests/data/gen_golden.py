#!/usr/bin/env python3
"""Generate tests/data/ks_golden.json: reference results of scipy.stats.ks_2samp.

Usage:  python3 tests/data/gen_golden.py   (needs numpy + scipy >= 1.11)

Two sections:

* "cases": full ks_2samp calls. Samples are stored as integers plus a divisor
  `scale`; the actual sample values are `float(i) / scale` (correctly rounded
  division, identical in numpy and Rust). The statistic and p-value are those of
  `scipy.stats.ks_2samp`; `method_used` is derived from scipy's rule (auto ->
  exact iff max(n1, n2) <= 10000, exact -> asymp if lcm too big) plus the
  "Exact calculation unsuccessful" RuntimeWarning that scipy emits when it
  falls back to the asymptotic distribution.
* "pvalue_cases": (d, n1, n2, alternative, method) -> p-value, computed with a
  verbatim copy of the tail of scipy's ks_2samp (calling scipy's own
  _attempt_exact_2kssamp and kstwo.sf). That copy is cross-checked against
  ks_2samp on every full case above. A NaN p-value (scipy's kstwo with
  n = round(0.5) = 0, i.e. n1 = n2 = 1 with method='asymp') is stored as null.
  `*_bits` fields are the IEEE-754 bit patterns of the neighbouring float
  fields (exact values, independent of the JSON float parser).
"""
import json
import math
import os
import sys
import warnings

import numpy as np
import scipy
from scipy.stats import distributions, ks_2samp
from scipy.stats._stats_py import _attempt_exact_2kssamp

SEED = 20240611
MAX_AUTO_N = 10000
rng = np.random.default_rng(SEED)


def bits(x):
    """IEEE-754 bit pattern of a float64 (exact, independent of JSON float parsing)."""
    return int(np.float64(x).view(np.uint64))


def ref_tail(d, n1, n2, alternative, mode):
    """Verbatim tail of scipy.stats.ks_2samp (warnings removed). Returns (d, p, mode)."""
    g = math.gcd(n1, n2)
    n1g = n1 // g
    n2g = n2 // g
    prob = -np.inf
    if mode == 'auto':
        mode = 'exact' if max(n1, n2) <= MAX_AUTO_N else 'asymp'
    elif mode == 'exact':
        if n1g >= np.iinfo(np.int32).max / n2g:
            mode = 'asymp'
    if mode == 'exact':
        success, d, prob = _attempt_exact_2kssamp(n1, n2, g, d, alternative)
        if not success:
            mode = 'asymp'
    if mode == 'asymp':
        m, n = sorted([float(n1), float(n2)], reverse=True)
        en = m * n / (m + n)
        if alternative == 'two-sided':
            prob = distributions.kstwo.sf(d, np.round(en))
        else:
            z = np.sqrt(en) * d
            expt = -2 * z**2 - 2 * z * (m + 2*n)/np.sqrt(m*n*(m+n))/3.0
            prob = np.exp(expt)
    prob = np.clip(prob, 0, 1)
    return float(d), float(prob), mode


def raw_statistic(x, y, alternative):
    """scipy's statistic before the exact-method snapping."""
    data1 = np.sort(x)
    data2 = np.sort(y)
    data_all = np.concatenate([data1, data2])
    cdf1 = np.searchsorted(data1, data_all, side='right') / data1.shape[0]
    cdf2 = np.searchsorted(data2, data_all, side='right') / data2.shape[0]
    cddiffs = cdf1 - cdf2
    minS = np.clip(-np.min(cddiffs), 0, 1)
    maxS = np.max(cddiffs)
    if alternative == 'less' or (alternative == 'two-sided' and minS > maxS):
        return minS
    return maxS


ALTS = ['two-sided', 'less', 'greater']


def draw_sample(kind, n, shift, scale_factor):
    """Returns integer codes; values = codes / scale."""
    if kind == 'cont':          # 3 decimals, practically no ties
        scale = 1000
        v = rng.normal(shift, scale_factor, n)
        return np.round(v * scale).astype(np.int64), scale
    if kind == 'round1':        # 1 decimal: heavy ties
        scale = 10
        v = rng.normal(shift, scale_factor, n)
        return np.round(v * scale).astype(np.int64), scale
    if kind == 'int':           # small integers: very heavy ties
        scale = 1
        v = rng.poisson(max(0.5, 4.0 + 4.0 * shift), n)
        return v.astype(np.int64), scale
    if kind == 'expo':          # skewed, 2 decimals
        scale = 100
        v = rng.exponential(1.0 + 0.5 * abs(shift), n) + shift
        return np.round(v * scale).astype(np.int64), scale
    raise ValueError(kind)


def make_case(n1, n2, alternative, method, kind=None):
    if kind is None:
        kind = rng.choice(['cont', 'cont', 'round1', 'int', 'expo'])
    en = n1 * n2 / (n1 + n2)
    if rng.random() < 0.2:
        shift = 0.0
    else:
        # sqrt(en) * D up to ~4-5 -> p-values down to ~1e-13
        shift = rng.uniform(0, 11.0) / math.sqrt(en) * rng.choice([-1, 1])
    sf = 1.0 if rng.random() < 0.8 else rng.uniform(0.7, 1.5)
    a, scale = draw_sample(kind, n1, 0.0, 1.0)
    b, scale2 = draw_sample(kind, n2, shift, sf)
    assert scale == scale2
    x = a.astype(np.float64) / scale
    y = b.astype(np.float64) / scale
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter('always')
        res = ks_2samp(x, y, alternative=alternative, method=method)
    fell_back = any('Switching to' in str(wi.message) for wi in w)
    if method == 'asymp':
        used = 'asymp'
    elif method == 'auto':
        used = 'exact' if max(n1, n2) <= MAX_AUTO_N else 'asymp'
    else:
        used = 'exact'
    if fell_back:
        used = 'asymp'
    # cross-check the verbatim tail used for pvalue_cases
    d_raw = raw_statistic(x, y, alternative)
    d_ref, p_ref, mode_ref = ref_tail(d_raw, n1, n2, alternative, method)
    assert d_ref == float(res.statistic), (d_ref, res.statistic)
    assert p_ref == float(res.pvalue) or (math.isnan(p_ref) and math.isnan(res.pvalue)), (p_ref, res.pvalue)
    assert mode_ref == used, (mode_ref, used, n1, n2, alternative, method)
    return {
        'n1': int(n1), 'n2': int(n2), 'kind': str(kind), 'scale': int(scale),
        'a': [int(v) for v in a], 'b': [int(v) for v in b],
        'alternative': alternative, 'method': method,
        'statistic': float(res.statistic), 'pvalue': float(res.pvalue),
        'statistic_bits': bits(res.statistic), 'pvalue_bits': bits(res.pvalue),
        'method_used': used,
    }


def sizes(lo, hi, equal_prob=0.3):
    n1 = int(rng.integers(lo, hi + 1))
    if rng.random() < equal_prob:
        return n1, n1
    return n1, int(rng.integers(lo, hi + 1))


def main():
    out_path = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'ks_golden.json')
    cases = []
    # small, auto
    for i in range(330):
        n1, n2 = sizes(5, 300)
        cases.append(make_case(n1, n2, ALTS[i % 3], 'auto'))
    # tiny sizes with every kind
    for i in range(30):
        n1, n2 = sizes(5, 12)
        cases.append(make_case(n1, n2, ALTS[i % 3], 'auto'))
    # medium, auto
    for i in range(150):
        n1, n2 = sizes(300, 3000)
        cases.append(make_case(n1, n2, ALTS[i % 3], 'auto'))
    # explicit methods
    for i in range(60):
        n1, n2 = sizes(5, 1500)
        cases.append(make_case(n1, n2, ALTS[i % 3], ['exact', 'asymp'][i % 2]))
    # one-sided unequal sizes around the float overflow of binom(n1+n2, n1)
    for i in range(24):
        n1 = int(rng.integers(300, 700))
        n2 = int(rng.integers(300, 700))
        if n1 == n2:
            n2 += 1
        cases.append(make_case(n1, n2, ['less', 'greater'][i % 2], 'auto'))
    # large, near and above the 10_000 exact limit, up to 20_000
    large_sizes = [(10000, 10000), (10001, 10001), (10000, 9999), (9999, 10001), (10000, 5000),
                   (10001, 5000), (8000, 6000), (6000, 6000), (3000, 9000), (12000, 12000),
                   (15000, 11000), (20000, 20000), (20000, 7000), (9990, 10000), (10000, 10000),
                   (4000, 9500), (16000, 16000), (10005, 9995), (7000, 7001), (10000, 8000)]
    for i, (n1, n2) in enumerate(large_sizes):
        cases.append(make_case(n1, n2, ALTS[i % 3], 'auto', kind=['cont', 'round1', 'int', 'cont'][i % 4]))
    for i in range(12):
        n1, n2 = sizes(3000, 10000)
        cases.append(make_case(n1, n2, ALTS[i % 3], 'auto'))

    pv = []

    def add_pv(d, n1, n2, alt, method):
        d = np.float64(d)
        d2, p, mode = ref_tail(d, n1, n2, alt, method)
        pv.append({'d': float(d), 'd_bits': bits(d), 'n1': int(n1), 'n2': int(n2), 'alternative': alt, 'method': method,
                   'statistic': d2, 'pvalue': None if math.isnan(p) else p, 'pvalue_bits': bits(p),
                   'method_used': mode})

    # A. kstwo.sf(d, N) through the asymptotic two-sided path: n1 = n2 = 2N gives en = N exactly
    Ns = list(range(1, 21)) + [25, 30, 49, 50, 75, 100, 139, 140, 141, 150, 200, 333, 500, 1000, 2500,
                              5000, 10000, 30000, 99999, 100000, 100001, 300000]
    for N in Ns:
        ds = [0.4 / N, 0.5 / N, 0.5 / N + 1e-9, 0.6 / N, 0.8 / N, 1.0 / N, 1.3 / N, 2.0 / N, 3.5 / N,
              0.49, 0.5, 0.51, 0.75, 0.99, 1.0, 1 - 1.0 / N, 1 - 1.5 / N]
        for nxsq in [0.05, 0.3, 0.754693, 0.76, 1.0, 1.5, 2.19, 2.2, 2.5, 3.0, 4.0, 4.1, 6.0, 10.0, 17.9, 18.0, 30.0, 369.0, 371.0]:
            ds.append(math.sqrt(nxsq / N))
        ds.append((1.4 / N) ** (2.0 / 3.0))
        ds.append((1.4 / N) ** (2.0 / 3.0) * 1.01)
        for d in ds:
            if 0 <= d <= 1:
                add_pv(d, 2 * N, 2 * N, 'two-sided', 'asymp')
    # B. realistic lattice statistics, all alternatives and methods
    def lattice_d(n1, n2, frac_hi=1.0):
        while True:
            a = int(rng.integers(0, n1 + 1))
            b = int(rng.integers(0, n2 + 1))
            d = a / n1 - b / n2
            if 0 <= d <= frac_hi:
                return d
    for i in range(400):
        n1, n2 = sizes(1, 400)
        en = n1 * n2 / (n1 + n2)
        lim = min(1.0, 7.0 / math.sqrt(en))
        add_pv(lattice_d(n1, n2, lim), n1, n2, ALTS[i % 3], ['auto', 'exact', 'asymp'][(i // 3) % 3])
    for i in range(150):
        n1, n2 = sizes(400, 4000)
        en = n1 * n2 / (n1 + n2)
        add_pv(lattice_d(n1, n2, 7.0 / math.sqrt(en)), n1, n2, ALTS[i % 3], ['auto', 'exact', 'asymp'][(i // 3) % 3])
    # C. one-sided exact, unequal sizes near the overflow boundary of the path counting
    for i in range(200):
        n1 = int(rng.integers(100, 900))
        n2 = int(rng.integers(100, 900))
        en = n1 * n2 / (n1 + n2)
        add_pv(lattice_d(n1, n2, 6.0 / math.sqrt(en)), n1, n2, ['less', 'greater'][i % 2], 'auto')
    for i in range(60):
        n1 = int(rng.integers(2, 60))
        n2 = int(rng.integers(1000, 10000))
        en = n1 * n2 / (n1 + n2)
        add_pv(lattice_d(n1, n2, 6.0 / math.sqrt(en)), n1, n2, ['less', 'greater'][i % 2], 'auto')
    # D. equal sizes exact up to 10000 (square method / closed product)
    for i in range(90):
        n = int(rng.integers(1, 10001))
        k = int(rng.integers(0, min(n, int(8 * math.sqrt(n)) + 2) + 1))
        add_pv(k / n, n, n, ALTS[i % 3], 'auto')
    # E. explicit exact with huge lcm (falls back) or large sizes
    for (n1, n2) in [(50000, 49999), (46341, 46340), (46340, 46339), (12000, 11999), (30000, 20000), (100000, 100000)]:
        for alt in ALTS:
            en = n1 * n2 / (n1 + n2)
            add_pv(lattice_d(n1, n2, 5.0 / math.sqrt(en)), n1, n2, alt, 'exact')
    # F. D = 0 and D = 1 edge cases
    for (n1, n2) in [(1, 1), (1, 2), (2, 1), (3, 3), (5, 7), (100, 100), (10000, 1), (20000, 20000)]:
        for alt in ALTS:
            for method in ['auto', 'exact', 'asymp']:
                for d in [0.0, 1.0]:
                    add_pv(d, n1, n2, alt, method)

    doc = {
        'generator': 'tests/data/gen_golden.py',
        'seed': SEED,
        'scipy_version': scipy.__version__,
        'numpy_version': np.__version__,
        'cases': cases,
        'pvalue_cases': pv,
    }
    with open(out_path, 'w') as f:
        json.dump(doc, f, separators=(',', ':'), allow_nan=False)
    print(f'wrote {out_path}: {len(cases)} ks_2samp cases, {len(pv)} p-value cases, '
          f'{os.path.getsize(out_path) / 1e6:.1f} MB', file=sys.stderr)


if __name__ == '__main__':
    main()
