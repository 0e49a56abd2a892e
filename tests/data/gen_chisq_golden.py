#!/usr/bin/env python3
"""Regenerate src/detect/chisq_golden.rs: SciPy's chi2_contingency (default
correction=True) on random 2 x k tables of category counts (reference row,
current row), zero columns dropped as jidoka does.

Usage: python3 tests/data/gen_chisq_golden.py   (needs numpy + scipy)
"""
import json
import os

import numpy as np
import scipy
from scipy.stats import chi2_contingency

rng = np.random.default_rng(11)
cases = [([10, 20, 30], [10, 20, 30]), ([50, 50], [30, 70]), ([5, 0, 7], [0, 6, 9]),
         ([100, 1], [90, 11]), ([1, 2, 3, 4, 5], [5, 4, 3, 2, 1]), ([1000, 2000, 500], [900, 2100, 600])]
for _ in range(40):
    k = int(rng.integers(2, 8))
    r = rng.integers(0, 200, size=k).tolist()
    c = rng.integers(0, 200, size=k).tolist()
    if rng.random() < 0.3:
        r[int(rng.integers(0, k))] = 0
    cases.append((r, c))
lines = [
    f"//! Golden values from SciPy {scipy.__version__} `scipy.stats.chi2_contingency` (default",
    "//! `correction=True`) on 2 x k tables, zero columns dropped. Regenerate with",
    "//! `python3 tests/data/gen_chisq_golden.py`.",
    "",
    "/// (reference counts, current counts, statistic, dof, p-value)",
    "pub(super) type Case = (&'static [u64], &'static [u64], f64, usize, f64);",
    "",
    "/// The golden cases.",
    "pub(super) const CASES: &[Case] = &[",
]
for r, c in cases:
    cols = [i for i in range(len(r)) if r[i] + c[i] > 0]
    r2, c2 = [r[i] for i in cols], [c[i] for i in cols]
    if len(cols) < 2 or sum(r2) == 0 or sum(c2) == 0:
        continue
    res = chi2_contingency(np.array([r2, c2]))
    lines.append("    (&%s, &%s, %r, %d, %r)," % (json.dumps(r), json.dumps(c), float(res.statistic), int(res.dof), float(res.pvalue)))
lines.append("];")
out = os.path.join(os.path.dirname(__file__), "..", "..", "src", "detect", "chisq_golden.rs")
with open(out, "w") as f:
    f.write("\n".join(lines) + "\n")
