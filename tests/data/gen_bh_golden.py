"""Generates bh_golden.json: golden Benjamini-Hochberg adjusted p-values from
scipy.stats.false_discovery_control(p, method='bh'), for src/multiple_tests.rs.

Run: python3 gen_bh_golden.py   (needs numpy and scipy; deterministic seed)
"""
import json

import numpy as np
import scipy
from scipy.stats import false_discovery_control

rng = np.random.default_rng(20240607)
cases = []
fixed = [
    [0.01, 0.02, 0.03, 0.04, 0.05],
    [0.5],
    [0.0, 1.0, 0.0, 1.0],
    [0.04, 0.04, 0.04, 0.04],
    [1e-300, 0.2, 0.2, 0.9, 1e-12],
]
for ps in fixed:
    cases.append(ps)
while len(cases) < 220:
    m = int(rng.integers(1, 61))
    kind = rng.integers(0, 4)
    ps = rng.uniform(0.0, 1.0, m)
    if kind >= 1:  # a share of small "signal" p-values
        k = int(rng.integers(0, m + 1))
        idx = rng.choice(m, k, replace=False)
        ps[idx] = 10.0 ** rng.uniform(-12, -1, k)
    if kind >= 2:  # rounding creates ties
        ps = np.array([float(f"{p:.2g}") for p in ps])
    else:
        ps = np.array([float(f"{p:.6g}") for p in ps])
    if kind == 3 and m > 1:  # exact duplicates
        j = rng.integers(0, m, m // 3)
        ps[j] = ps[0]
    cases.append([float(p) for p in ps])

out = {
    "scipy": scipy.__version__,
    "method": "bh",
    "cases": [
        {"p": ps, "adjusted": [float(a) for a in false_discovery_control(ps, method="bh")]}
        for ps in cases
    ],
}
with open("bh_golden.json", "w") as f:
    json.dump(out, f, separators=(",", ":"))
