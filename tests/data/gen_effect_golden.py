"""Generates tests/data/effect_golden.json: effect sizes computed by SciPy.

Numeric cases: two samples, scipy.stats.wasserstein_distance(reference,
current) and numpy's population standard deviation of the reference (the
normed distance divides the first by the second). Categorical cases: two
count tables, scipy.spatial.distance.jensenshannon(p, q, base=2) of their
frequencies. Run: python3 tests/data/gen_effect_golden.py
"""

import json
import pathlib

import numpy as np
from scipy.spatial.distance import jensenshannon
from scipy.stats import wasserstein_distance

rng = np.random.default_rng(20261205)
numeric = []
for case in range(40):
    n_ref = int(rng.integers(1, 400))
    n_cur = int(rng.integers(1, 400))
    kind = case % 4
    if kind == 0:
        ref = rng.normal(0, 1, n_ref)
        cur = rng.normal(rng.uniform(-1, 1), rng.uniform(0.5, 2), n_cur)
    elif kind == 1:  # ties
        ref = rng.integers(0, 6, n_ref).astype(float)
        cur = rng.integers(1, 8, n_cur).astype(float)
    elif kind == 2:  # skewed, large scale
        ref = rng.lognormal(3, 1, n_ref) * 1000
        cur = rng.lognormal(3.2, 1, n_cur) * 1000
    else:  # constant reference
        ref = np.full(n_ref, 2.0)
        cur = rng.normal(2, 0.1, n_cur) if case % 8 == 3 else np.full(n_cur, 2.0)
    numeric.append(
        {
            "reference": ref.tolist(),
            "current": cur.tolist(),
            "wasserstein": float(wasserstein_distance(ref, cur)),
            "reference_sd": float(np.std(ref)),
        }
    )

categorical = []
for case in range(30):
    k = int(rng.integers(1, 8))
    names = [f"c{i}" for i in range(k)]
    ref = {n: int(c) for n, c in zip(names, rng.integers(0, 50, k)) if c > 0}
    cur = {n: int(c) for n, c in zip(names, rng.integers(0, 50, k)) if c > 0}
    if case % 5 == 0:
        cur["new"] = int(rng.integers(1, 20))
    if not ref or not cur:
        continue
    keys = sorted(set(ref) | set(cur))
    p = np.array([ref.get(x, 0) for x in keys], dtype=float)
    q = np.array([cur.get(x, 0) for x in keys], dtype=float)
    categorical.append(
        {
            "reference": ref,
            "current": cur,
            "jensen_shannon": float(jensenshannon(p / p.sum(), q / q.sum(), base=2)),
        }
    )

out = pathlib.Path(__file__).with_name("effect_golden.json")
out.write_text(json.dumps({"numeric": numeric, "categorical": categorical}) + "\n")
print(f"wrote {out}: {len(numeric)} numeric, {len(categorical)} categorical cases")
