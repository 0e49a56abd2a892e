"""Prints the Rust `tests_data` module embedded in src/ks.rs (reference values from SciPy)."""
import numpy as np, random, struct
import scipy, scipy.special as sp
from scipy.stats import kstwo

def bits(x):
    return struct.unpack('<Q', struct.pack('<d', float(x)))[0]

random.seed(12345)
pairs = [(30, 25), (40, 20), (45, 21), (100, 50), (170, 60), (171, 80), (172, 80), (200, 100), (500, 123),
         (1000, 500), (1028, 514), (1029, 514), (1030, 515), (2000, 1000), (60, 59), (60, 41), (37, 19), (19, 18),
         (5000, 2500), (10050, 50), (10050, 9000), (333, 20), (334, 21), (35, 21)]
for _ in range(40):
    n = random.randint(20, 1200)
    k = random.randint(0, n)
    pairs.append((n, k))
print("    /// (n, k, bits of scipy.special.binom(n, k)), SciPy %s" % scipy.__version__)
print("    pub(super) const BINOM_BITS: &[(f64, f64, u64)] = &[")
for n, k in pairs:
    print("        (%d.0, %d.0, 0x%016x)," % (n, k, bits(sp.binom(float(n), float(k)))))
print("    ];")

pts = []
for n in [1, 2, 3, 5, 10, 50, 100, 140, 141, 200, 1000, 5000, 100000, 100001, 250000]:
    for x in [0.3/n, 0.5/n, 0.7/n, 1.0/n, 1.5/n, 0.01, 0.03, 0.05, 0.08, 0.1, 0.15, 0.2, 0.3, 0.45, 0.5, 0.6, 0.9, 1 - 0.5/n, 0.999]:
        if 0 < x < 1:
            pts.append((n, x))
    for z in [0.3, 0.5, 0.8, 1.0, 1.2, 1.5, 2.0, 3.0, 5.0]:
        x = z / np.sqrt(n)
        if 0 < x < 1:
            pts.append((n, x))
print("    /// (n, x, scipy.stats.kstwo.sf(x, n))")
print("    pub(super) const KSTWO_SF: &[(f64, f64, f64)] = &[")
for n, x in pts:
    print("        (%d.0, %r, %r)," % (n, float(x), float(kstwo.sf(x, n))))
print("    ];")

sm = []
for n in [2, 5, 10, 11, 50, 100, 1000, 20000, 2000000]:
    for x in [0.5/n, 1.0/n, 2.5/n, 0.01, 0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 0.95, 1 - 0.5/n]:
        if 0 < x < 1:
            sm.append((n, x))
print("    /// (n, x, scipy.special.smirnov(n, x))")
print("    pub(super) const SMIRNOV_SF: &[(i64, f64, f64)] = &[")
for n, x in sm:
    print("        (%d, %r, %r)," % (n, float(x), float(sp.smirnov(n, x))))
print("    ];")
